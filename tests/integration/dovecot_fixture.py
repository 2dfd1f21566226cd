# SPDX-License-Identifier: ISC
"""A private Dovecot LMTP server for tests, from Debian's dovecot-core and
dovecot-lmtpd packages (./quickstart installs them).

It runs in the foreground (`dovecot -F -c CONFIG`) with a configuration
of its own in a temporary directory: base_dir, state_dir, the log, the
users file (passwd-file: user, password, uid, gid, home) and the homes
with their Maildirs all live there, under a unique instance_name.  It
listens for LMTP on a unix socket in that directory (mode 0666, so that
Tern's unprivileged lmtp client can connect) and on 127.0.0.1 at a high
port.  With auth=True it also listens with an auth-client socket
(`auth_socket`, mode 0666, Dovecot's "service auth" unix_listener) for
SMTP AUTH tests, with PLAIN and LOGIN and the users' passwords as given
in `passwords` (stored {PLAIN} in the passwd-file).  Nothing under /etc/dovecot, /run/dovecot or /var/lib/dovecot is
read or written, and no system service is started or stopped.

As root, the mailboxes belong to the tests' unprivileged account
(tern_fixture.TEST_USER) and Dovecot's own processes run as the
package's users (dovecot, dovenull); otherwise everything runs as the
caller.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile

from tern_fixture import IS_ROOT, TEST_USER, free_port, wait_for

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOMAIN = "example.test"
HOSTNAME = "dovecot.example.test"


def available():
    return os.access(DOVECOT, os.X_OK)


class Dovecot:
    """One Dovecot instance with LMTP (and, with auth=True, an
    auth-client socket); users get Maildirs."""

    def __init__(self, users=("alice", "bob", "carol"), auth=False,
                 passwords=None):
        self.dir = tempfile.mkdtemp(prefix="tern-dovecot-")
        # Dovecot's unprivileged processes must reach base_dir in here.
        os.chmod(self.dir, 0o755)
        self.base = os.path.join(self.dir, "base")
        self.state = os.path.join(self.dir, "state")
        self.homes = os.path.join(self.dir, "home")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.socket = os.path.join(self.dir, "lmtp")
        self.auth = auth
        self.auth_socket = os.path.join(self.dir, "auth-client")
        self.passwords = dict(passwords or {})
        self.port = free_port()
        self.users = list(users)
        self.proc = None
        for d in (self.base, self.state, self.homes):
            os.makedirs(d)
        if IS_ROOT:
            pw = pwd.getpwnam(TEST_USER)
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        lines = []
        for u in self.users:
            home = self.home(u)
            os.makedirs(home)
            os.chown(home, self.uid, self.gid)
            lines.append("%s:{PLAIN}%s:%d:%d::%s::" %
                         (u, self.passwords.get(u, "unused"), self.uid,
                          self.gid, home))
        self.passwd = os.path.join(self.dir, "users")
        with open(self.passwd, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(self.conf, "w") as f:
            f.write(self.config())

    def home(self, user):
        return os.path.join(self.homes, user)

    def config(self):
        me = pwd.getpwuid(os.getuid()).pw_name
        own_users = "" if IS_ROOT else (
            "default_internal_user = %s\n"
            "default_login_user = %s\n"
            "default_internal_group = %s\n" % (me, me, me))
        return """# Written by tests/integration/dovecot_fixture.py
protocols = lmtp
instance_name = %(name)s
base_dir = %(base)s
state_dir = %(state)s
log_path = %(log)s
info_log_path = %(log)s
ssl = no
listen = 127.0.0.1
hostname = %(hostname)s
postmaster_address = postmaster@%(domain)s
auth_username_format = %%Ln
first_valid_uid = 1
mail_location = maildir:~/Maildir
%(own)s
passdb {
  driver = passwd-file
  args = %(passwd)s
}
userdb {
  driver = passwd-file
  args = %(passwd)s
}
service lmtp {
  unix_listener %(socket)s {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = %(port)d
  }
}
%(auth)s""" % {"name": os.path.basename(self.dir), "base": self.base,
       "state": self.state, "log": self.log_path, "hostname": HOSTNAME,
       "domain": DOMAIN, "passwd": self.passwd, "socket": self.socket,
       "port": self.port, "own": own_users, "auth": self.auth_config()}

    def auth_config(self):
        if not self.auth:
            return ""
        return """auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
service auth {
  unix_listener %s {
    mode = 0666
  }
}
""" % self.auth_socket

    # ---- running ---------------------------------------------------------
    def start(self, timeout=20.0):
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(
                os.path.join(self.dir, "stderr"), "wb"))
        if not wait_for(self.ready, timeout=timeout, step=0.1):
            err = self.log() + self.stderr()
            self.stop()
            raise AssertionError("dovecot did not start:\n%s" % err)

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("dovecot exited (%d):\n%s%s" % (
                self.proc.returncode, self.log(), self.stderr()))
        if not os.path.exists(self.socket):
            return False
        if self.auth and not os.path.exists(self.auth_socket):
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=2) as s:
                s.settimeout(5)
                return s.recv(100).startswith(b"220 ")
        except OSError:
            return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM the master (it ends its children), then SIGKILL."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc = None
        # The listeners go away with the master; wait until they have.
        wait_for(lambda: not self.port_open(), timeout=timeout)

    def port_open(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=1):
                return True
        except OSError:
            return False

    def remove(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- what it did -----------------------------------------------------
    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stderr(self):
        try:
            with open(os.path.join(self.dir, "stderr"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def messages(self, user):
        """The bytes of every message in user's Maildir (new/ and cur/),
        oldest name first."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.home(user), "Maildir", sub)
            try:
                names = sorted(os.listdir(d))
            except OSError:
                continue
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    out.append(f.read())
        return out

    def wait_messages(self, user, n, timeout=10.0):
        wait_for(lambda: len(self.messages(user)) >= n, timeout=timeout)
        return self.messages(user)

    def file_owners(self, user):
        """(uid, gid) of every message file of user."""
        out = set()
        for sub in ("new", "cur"):
            d = os.path.join(self.home(user), "Maildir", sub)
            for n in os.listdir(d) if os.path.isdir(d) else []:
                st = os.stat(os.path.join(d, n))
                out.add((st.st_uid, st.st_gid))
        return out

