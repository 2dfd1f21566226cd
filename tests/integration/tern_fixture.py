# SPDX-License-Identifier: ISC
"""A whole Tern instance in a temporary directory, on 127.0.0.1 high ports.

Run as root (as CI is), the instance uses the real unprivileged accounts
that ./quickstart test creates (terntest, group terntestdrop), so the
privilege drop is exercised for real; as another user, it runs with no
privilege changes.

Also the tests' shared SMTP client (RawClient, with its Reply), which
controls every byte it sends, and the constants that go with it.
"""
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILD = os.environ.get("TERN_BUILD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
BUILD = os.path.abspath(BUILD)
TEST_USER = "terntest"
TEST_GROUP = "terntestdrop"
IS_ROOT = os.geteuid() == 0
HELO = "client.example.test"        # what the test clients say in EHLO
QID_RE = r"[0-9A-HJKMNP-TV-Z]{24}"
QUEUED_RE = re.compile(r"^2\.0\.0 Ok: queued as (%s)$" % QID_RE)
ENH_RE = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}( |$)")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=10.0, step=0.05):
    """Poll cond() until it is true or timeout passes; return its value."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def readline(sock, limit=4096):
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        c = sock.recv(1)
        if not c:
            break
        data += c
    return data.decode("utf-8", "replace")


def hello_fields(line):
    return dict(kv.split("=", 1) for kv in line.split())


# ---- SMTP clients that control every byte ---------------------------------
class Reply:
    """One SMTP reply: code, the text of each line, the raw bytes."""

    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines
        self.raw = raw

    @property
    def text(self):
        return self.lines[-1]

    @property
    def enh(self):
        """The enhanced status code of the last line, or None."""
        m = ENH_RE.match(self.text)
        return m.group(0).strip() if m else None

    def __repr__(self):
        return "Reply(%r)" % self.raw


class RawClient:
    """SMTP over a plain socket, so a test controls every byte it sends."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self, limit=8192):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise AssertionError("reply line too long: %r" % self.buf)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("connection closed; unread %r" % self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def reply(self):
        """Read one (possibly multi-line) reply."""
        raw = b""
        lines = []
        for _ in range(100):
            line = self._line()
            raw += line
            if not line.endswith(b"\r\n") or len(line) < 5 or \
                    not line[:3].isdigit() or line[3:4] not in b" -":
                raise AssertionError("malformed reply line %r" % line)
            lines.append(line[4:-2].decode("utf-8", "replace"))
            if line[3:4] == b" ":
                return Reply(int(line[:3]), lines, raw)
        raise AssertionError("endless multi-line reply: %r" % raw)

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def replies_until_eof(self, limit=50):
        """Every reply until the server closes (bounded)."""
        out = []
        for _ in range(limit):
            try:
                out.append(self.reply())
            except (EOFError, ConnectionResetError):
                return out
        raise AssertionError("too many replies: %r" % out)

    def at_eof(self):
        """True when the server has closed (after any unread bytes)."""
        try:
            return self.sock.recv(1) == b"" and self.buf == b""
        except ConnectionResetError:
            return True

    def greet(self, ehlo=HELO):
        """The 220 greeting, then EHLO unless ehlo is None; the last
        reply."""
        r = self.reply()
        if r.code != 220:
            raise AssertionError("greeting: %r" % r)
        if ehlo is not None:
            r = self.cmd("EHLO " + ehlo)
            if r.code != 250:
                raise AssertionError("EHLO: %r" % r)
        return r


# Every program the master may run, each built as daemons/NAME/NAME.
DAEMONS = ("master", "smtpd", "cleanup", "tlsproxy", "qmgr", "local",
           "virtual", "lmtp", "smtp", "bounce", "pickup", "showq")


class Tern:
    """One instance: config in etc/, queue in spool/, log in maillog."""

    def __init__(self, services="", extra_conf=""):
        self.dir = tempfile.mkdtemp(prefix="tern-test-")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.libexec = os.path.join(self.dir, "libexec")
        self.maillog = os.path.join(self.dir, "maillog")
        for d in (self.etc, self.libexec):
            os.makedirs(d)
        progs = [(d, "daemons/%s/%s" % (d, d)) for d in DAEMONS]
        progs.append(("testsvc", "tests/integration/testsvc"))
        for prog, path in progs:
            # Daemons not built yet are left out; a test that needs one
            # fails when the master cannot execute it.
            if os.path.exists(os.path.join(BUILD, path)):
                os.symlink(os.path.join(BUILD, path),
                           os.path.join(self.libexec, prog))
        self.make_commands()
        self.write_conf(extra_conf)
        self.write_services(services)

    def make_commands(self):
        """command_directory (sbin/): sendmail, mailq, newaliases and
        ternctl as links to the build, and a copy of terndrop that, as
        root, is setgid TEST_GROUP (mode 2755) as make install makes it."""
        self.sbin = os.path.join(self.dir, "sbin")
        os.makedirs(self.sbin)
        for name, path in (("sendmail", "cli/sendmail"),
                           ("mailq", "cli/sendmail"),
                           ("newaliases", "cli/sendmail"),
                           ("ternctl", "cli/ternctl")):
            if os.path.exists(os.path.join(BUILD, path)):
                os.symlink(os.path.join(BUILD, path),
                           os.path.join(self.sbin, name))
        src = os.path.join(BUILD, "cli", "terndrop")
        if os.path.exists(src):
            dst = os.path.join(self.sbin, "terndrop")
            shutil.copy(src, dst)
            if IS_ROOT:
                os.chown(dst, 0, grp.getgrnam(TEST_GROUP).gr_gid)
                os.chmod(dst, 0o2755)

    def write_conf(self, extra=""):
        lines = [
            "queue_directory = %s" % self.spool,
            "daemon_directory = %s" % self.libexec,
            "command_directory = %s" % self.sbin,
            "maillog_file = %s" % self.maillog,
            "service_throttle_time = 8s",
            "shutdown_timeout = 5s",
            "master_start_timeout = 20s",
        ]
        if IS_ROOT:
            lines += ["mail_owner = %s" % TEST_USER,
                      "setgid_group = %s" % TEST_GROUP]
        if "dns_resolver_config" not in extra:
            # No DNS query ever leaves the machine: every name is refused
            # at once (the SMTP client defers remote mail, 4.4.3).  Tests
            # of DNS give their own file.
            dns = os.path.join(self.dir, "dns-refuse.conf")
            with open(dns, "w") as f:
                f.write('server:\n    local-zone: "." refuse\n')
            os.chmod(dns, 0o644)
            lines.append("dns_resolver_config = %s" % dns)
        with open(os.path.join(self.etc, "tern.conf"), "w") as f:
            f.write("\n".join(lines) + "\n" + extra)

    def write_services(self, text):
        with open(os.path.join(self.etc, "services.conf"), "w") as f:
            f.write(text)

    # ---- ternctl ----------------------------------------------------------
    def ternctl(self, *args, check=False, timeout=60, user=None):
        cmd = [os.path.join(BUILD, "cli", "ternctl"), "-c", self.etc]
        cmd += list(args)
        if user is not None:
            cmd = ["setpriv", "--reuid=%s" % user, "--regid=%s" % user,
                   "--clear-groups"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("ternctl %s failed (%d):\n%s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def start(self):
        return self.ternctl("start", check=True)

    def stop(self):
        return self.ternctl("stop")

    def status(self):
        """{service: {"procs", "idle", "state"}} or None if not running."""
        r = self.ternctl("status")
        if r.returncode != 0:
            return None
        out = {}
        for line in r.stdout.splitlines()[2:]:
            f = line.split()
            if len(f) == 8:
                out[f[0]] = {"procs": int(f[3]), "idle": int(f[4]),
                             "maxproc": int(f[5]), "state": f[7]}
        return out

    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def children(self, service=None):
        """pids of processes whose parent is the master (by service)."""
        mpid = self.master_pid()
        pids = []
        if mpid is None:
            return pids
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % p) as f:
                    stat = f.read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid != mpid:
                    continue
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    argv = f.read().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if service is not None:
                try:
                    i = argv.index(b"-n")
                except ValueError:
                    continue
                if argv[i + 1].decode() != service:
                    continue
            pids.append(int(p))
        return pids

    def our_processes(self):
        """Every process still running from this instance's directory."""
        found = []
        key = self.etc.encode()
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    if key in f.read():
                        found.append(int(p))
            except OSError:
                pass
        return found

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_count(self, pattern):
        return len(re.findall(pattern, self.log()))

    def kill_processes(self):
        """SIGKILL every process still running from this instance."""
        for pid in self.our_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def cleanup(self):
        """Stop the instance, end what is left of it and remove its
        directory; return the maillog as it was once stopped."""
        if self.master_pid() and self.ternctl("status").returncode == 0:
            self.stop()
        log = self.log()
        self.kill_processes()
        shutil.rmtree(self.dir, ignore_errors=True)
        return log

    def remove(self):
        """cleanup(), even when ternctl itself fails (say, mid-rebuild):
        then end this instance's own processes, found by its directory,
        remove it, and let the error go on."""
        try:
            return self.cleanup()
        except Exception:
            self.kill_processes()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise


def smtp_services(port, prefork=1, maxproc=100):
    """services.conf lines for SMTP on 127.0.0.1:port with its cleanup."""
    return ("smtp inet 127.0.0.1:%d y n %d %d - smtpd\n"
            "cleanup unix private/cleanup y n 20 0 - cleanup\n"
            % (port, maxproc, prefork))


def queue_files(spool, sub="incoming"):
    """Names of the complete queue files in spool/sub (no temp files)."""
    d = os.path.join(spool, sub)
    try:
        return sorted(n for n in os.listdir(d) if not n.startswith("t."))
    except OSError:
        return []


def proc_ids(pid):
    """(uids, gids, groups) of a process from /proc/PID/status."""
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                ids[k] = [int(x) for x in v.split()]
    return ids.get("Uid"), ids.get("Gid"), ids.get("Groups")


def test_user():
    return pwd.getpwnam(TEST_USER) if IS_ROOT else None


# ---- throwaway accounts (root only) ----------------------------------------
def make_user(name, home):
    """As root: a new account NAME (with its own group) whose home is HOME,
    made here, mode 0755, owned by it; returns its pwd entry.  The caller
    removes it with remove_user().  useradd is retried a few times: another
    test may hold the password database lock for a moment."""
    if not IS_ROOT:
        raise AssertionError("make_user needs root")
    os.makedirs(home, exist_ok=True)
    cmd = ["useradd", "--user-group", "--no-create-home", "--home-dir", home,
           "--shell", "/usr/sbin/nologin", name]
    for _ in range(20):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            break
        time.sleep(0.25)
    else:
        raise AssertionError("useradd %s: %s" % (name, r.stderr))
    pw = pwd.getpwnam(name)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    os.chmod(home, 0o755)
    return pw


def remove_user(name):
    """Remove an account made by make_user() (its home is the caller's)."""
    for _ in range(20):
        try:
            pwd.getpwnam(name)
        except KeyError:
            return
        r = subprocess.run(["userdel", name], capture_output=True,
                           text=True, timeout=30)
        if r.returncode == 0:
            return
        time.sleep(0.25)


class ModuleAccount:
    """A throwaway account for a whole test module, as root (None
    otherwise): create() in setUpModule, remove() in tearDownModule.
    Its home is in a temporary directory of its own."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.pw = None
        self.home = None

    def create(self):
        if not IS_ROOT:
            return None
        self.home = tempfile.mkdtemp(prefix="tern-%s-home-" % self.prefix)
        os.chmod(self.home, 0o755)
        name = "%s%d" % (self.prefix, os.getpid() % 100000)
        self.pw = make_user(name, os.path.join(self.home, name))
        return self.pw

    def remove(self):
        if self.pw is not None:
            remove_user(self.pw.pw_name)
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
