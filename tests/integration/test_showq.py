# SPDX-License-Identifier: ISC
"""showq: the queue listing for local users who cannot read the queue.

As root, a throwaway unprivileged account (setpriv) runs mailq, sendmail
-bp, ternctl queue list and --json (which ask public/showq through the
setgid terndrop -q): the output is byte for byte root's, which reads the
queue itself, with a held and a deferred message (and its delay reason)
in it.  authorized_mailq_users = root refuses the account with a clear
message and exit 1 (logged), naming the account lets it in, and root is
always allowed; with the master stopped the account gets "the master is
not running" and exit 69.  The protocol itself over the socket: a bad or
oversized request line gets an error line, "json" one JSON object a
line.  Run by an ordinary user (everything is that user's), terndrop -q
and the socket give the same listing as ternctl."""
import json
import os
import socket
import subprocess
import unittest

import tern_fixture
import test_queue
from tern_fixture import IS_ROOT, Tern, wait_for

SERVICES = "showq unix public/showq y n - 0 - showq\n"
REASON = "connect to mx.remote.example: Connection refused"

ACCOUNTS = tern_fixture.ModuleAccount("tsq")
ACCOUNT = None          # a throwaway local user (root only)


def setUpModule():
    global ACCOUNT
    ACCOUNT = ACCOUNTS.create()


def tearDownModule():
    ACCOUNTS.remove()


class ShowqBase(unittest.TestCase):
    extra_conf = ""

    def setUp(self):
        self.t = Tern(SERVICES)
        self.t.write_conf(self.extra_conf)
        self.t.start()
        self.held = self.plant("hold", b"held@local.example",
                               [(b"h1@remote.example", 0)])
        self.deferred = self.plant("deferred", b"",
                                   [(b"d1@remote.example", 3),
                                    (b"d2@remote.example", 0)])
        test_queue.put_file(os.path.join(self.t.spool, "defer",
                                         self.deferred),
                            ("1\tdelayed\t4.4.1\tmx.remote.example\t%s\n"
                             % REASON).encode())

    def tearDown(self):
        log = self.t.remove()
        if hasattr(self, "_outcome") and not self._outcome.success:
            print(log[-6000:])

    def plant(self, queue, sender, rcpts):
        qid = test_queue.fresh_qid()
        test_queue.put_file(os.path.join(self.t.spool, queue, qid),
                            test_queue.qfile_bytes(sender, rcpts))
        return qid

    def run_cmd(self, name, *args, user=None, config=("-C",)):
        """$command_directory/NAME [-C etc/] ARGS, as root or user."""
        cmd = [os.path.join(self.t.sbin, name)]
        if config:
            cmd += [config[0], self.t.etc]
        cmd += list(args)
        if user is not None:
            cmd = ["setpriv", "--reuid=%s" % user, "--regid=%s" % user,
                   "--init-groups", "--"] + cmd
        e = dict(os.environ)
        e.pop("TERN_CONFIG_DIR", None)
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=60, env=e)

    def ternctl(self, *args, user=None):
        return self.run_cmd("ternctl", "queue", *args, user=user,
                            config=("-c",))

    def ask(self, request):
        """request to public/showq (as whoever runs the test); the
        whole answer."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        try:
            s.connect(os.path.join(self.t.spool, "public", "showq"))
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
            out = b""
            while len(out) < 1 << 20:
                c = s.recv(65536)
                if not c:
                    break
                out += c
            return out
        finally:
            s.close()

    def root_listing(self, *args):
        r = self.ternctl("list", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout


class ProtocolTest(ShowqBase):
    def test_list_and_json_over_the_socket(self):
        text = self.root_listing()
        self.assertIn(self.held + "!", text)
        self.assertIn(self.deferred + " ", text)
        self.assertIn("(%s)\n" % REASON, text)
        self.assertIn("-- 1 Kbytes in 2 Requests.\n", text)
        self.assertEqual(self.ask(b"list\n").decode(), "ok\n" + text)
        js = self.root_listing("--json")
        out = self.ask(b"json\n").decode()
        self.assertEqual(out, "ok\n" + js)
        objs = [json.loads(line) for line in js.splitlines()]
        self.assertEqual(sorted((o["queue_name"], o["queue_id"])
                                for o in objs),
                         sorted([("hold", self.held),
                                 ("deferred", self.deferred)]))

    def test_bad_requests(self):
        for req in (b"LIST\n", b"list", b"list \n", b"json\r\n",
                    b"x" * 200, b"\n", b""):
            out = self.ask(req)
            self.assertEqual(
                out, b'error bad request: expected "list" or "json"\n',
                req)
        self.assertTrue(wait_for(
            lambda: self.t.log_count(r"showq.*bad request") >= 7))

    def test_terndrop_q(self):
        """terndrop -q as whoever runs the test: the same listing."""
        for arg, flag in (("list", ()), ("json", ("--json",))):
            r = self.run_cmd("terndrop", "-q", arg)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, self.root_listing(*flag))
        r = self.run_cmd("terndrop", "-q", "frob")
        self.assertEqual(r.returncode, 64)
        self.assertIn("usage: terndrop", r.stderr)

    def test_master_stopped(self):
        self.t.stop()
        r = self.run_cmd("terndrop", "-q", "list")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (
            69, "", "mailq: cannot list the queue: the master is not "
            "running and %s is not readable by you\n" % self.t.spool))


@unittest.skipUnless(IS_ROOT, "needs root to run as another user")
class UserTest(ShowqBase):
    def test_user_sees_roots_listing(self):
        user = ACCOUNT.pw_name
        # The account really cannot read the queue itself.
        r = subprocess.run(["setpriv", "--reuid=%s" % user,
                            "--regid=%s" % user, "--init-groups", "--",
                            "ls", os.path.join(self.t.spool, "hold")],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        text = self.root_listing()
        js = self.root_listing("--json")
        for name, args, want in (
                ("mailq", (), text),
                ("sendmail", ("-bp",), text),
                ("ternctl", ("queue", "list"), text),
                ("ternctl", ("queue", "list", "--json"), js)):
            r = self.run_cmd(name, *args, user=user,
                             config=("-c",) if name == "ternctl"
                             else ("-C",))
            self.assertEqual((r.returncode, r.stderr), (0, ""), name)
            self.assertEqual(r.stdout, want, (name, args))
        self.assertIn(self.held, text)
        self.assertIn(self.deferred, text)
        self.assertTrue(wait_for(lambda: self.t.log_count(
            r"showq.*uid %d: queue listed" % ACCOUNT.pw_uid) >= 4))

    def test_master_stopped(self):
        self.t.stop()
        for name, args in (("mailq", ()), ("sendmail", ("-bp",))):
            r = self.run_cmd(name, *args, user=ACCOUNT.pw_name)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (
                69, "", "mailq: cannot list the queue: the master is not "
                "running and %s is not readable by you\n" % self.t.spool),
                name)
        r = self.ternctl("list", user=ACCOUNT.pw_name)
        self.assertEqual(r.returncode, 69)
        self.assertIn("the master is not running", r.stderr)


@unittest.skipUnless(IS_ROOT, "needs root to run as another user")
class AuthorizedTest(ShowqBase):
    extra_conf = "authorized_mailq_users = root\n"

    def test_refused_then_allowed(self):
        user = ACCOUNT.pw_name
        for name, args in (("mailq", ()), ("sendmail", ("-bp",))):
            r = self.run_cmd(name, *args, user=user)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (
                1, "", "mailq: cannot list the queue: permission denied "
                "(authorized_mailq_users)\n"), name)
        r = self.ternctl("list", "--json", user=user)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("permission denied", r.stderr)
        self.assertTrue(wait_for(lambda: self.t.log_count(
            r"showq.*uid %d: permission denied" % ACCOUNT.pw_uid) >= 3))
        # Root is always allowed, whatever the list says.
        self.assertEqual(self.ask(b"list\n").decode(),
                         "ok\n" + self.root_listing())
        # Naming the account lets it in (a new showq reads tern.conf).
        self.t.write_conf("authorized_mailq_users = root, %s\n" % user)
        self.t.ternctl("reload", check=True)
        r = self.run_cmd("mailq", user=user)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(r.stdout, self.root_listing())


if __name__ == "__main__":
    unittest.main()
