# SPDX-License-Identifier: ISC
"""Local submission: sendmail(1) (also as mailq and newaliases), the
setgid terndrop helper, maildrop/ and the pickup daemon, end to end into
virtual Maildirs.

Every flag as a program would call it (-t with Bcc: removed, -f, -F, a
lone "." with and without -i/-oi, -bs with an unknown command, -oX
warnings, -bp/-q/mailq through ternctl, newaliases/-bi), as root and, as
root, as a throwaway unprivileged account (setpriv): the user submits,
the mail arrives with Received: naming the uid and Date:, Message-ID:
and From: added; submission while the master is stopped (the file waits
in maildrop/); the user cannot read maildrop/ or another's file nor
write into maildrop/ directly; a malformed maildrop file goes to
corrupt/ and is logged; terndrop refuses oversize or malformed input and
a configuration a user could have written."""
import os
import pwd
import re
import stat
import subprocess
import unittest

import tern_fixture
from tern_fixture import BUILD, IS_ROOT, QID_RE, TEST_GROUP, Tern, wait_for

MYHOSTNAME = "mx.example.test"
VDOMAIN = "virt.example.test"
VUID = 5000 if IS_ROOT else os.geteuid()
VGID = 5001 if IS_ROOT else os.getegid()
SIZE_LIMIT = 200000
WAIT = 20.0
SERVICES = ("cleanup unix private/cleanup y n 20 0 - cleanup\n"
            "qmgr unix private/qmgr y n 1 1 - qmgr\n"
            "bounce unix private/bounce y n 50 0 - bounce\n"
            "virtual unix private/virtual n n - 0 - virtual\n"
            "pickup unix public/pickup y n 1 1 - pickup\n")
USERS = ("alice", "bob", "carol", "dave")

ACCOUNTS = tern_fixture.ModuleAccount("tsm")
ACCOUNT = None          # a throwaway local user (root only)


def setUpModule():
    global ACCOUNT
    ACCOUNT = ACCOUNTS.create()


def tearDownModule():
    ACCOUNTS.remove()


def vaddr(user):
    return "%s@%s" % (user, VDOMAIN)


class Sendmail(unittest.TestCase):
    t = None

    @classmethod
    def setUpClass(cls):
        t = cls.t = Tern(SERVICES)
        cls.vbase = os.path.join(t.dir, "vmail")
        os.makedirs(cls.vbase)
        os.chmod(cls.vbase, 0o700)
        if IS_ROOT:
            os.chown(cls.vbase, VUID, VGID)
        maps = ", ".join("%s=%s/%s/" % (vaddr(u), VDOMAIN, u)
                         for u in USERS)
        cls.aliases = os.path.join(t.etc, "aliases")
        with open(cls.aliases, "w") as f:
            f.write("postmaster: root\nwebmaster: alice@%s\n" % VDOMAIN)
        t.write_conf("\n".join([
            "myhostname = %s" % MYHOSTNAME,
            "myorigin = %s" % MYHOSTNAME,
            "mydestination = localhost",
            "virtual_mailbox_domains = %s" % VDOMAIN,
            "virtual_mailbox_base = %s" % cls.vbase,
            "virtual_mailbox_maps = inline:{ %s }" % maps,
            "virtual_uid = %d" % VUID,
            "virtual_gid = %d" % VGID,
            "alias_maps = lmdb:%s" % cls.aliases,
            "message_size_limit = %d" % SIZE_LIMIT,
            "queue_run_delay = 1s",
        ]) + "\n")
        t.start()
        if not wait_for(lambda: t.children("pickup"), timeout=WAIT):
            t.remove()
            raise AssertionError("no pickup process")

    @classmethod
    def tearDownClass(cls):
        if cls.t is not None:
            cls.t.remove()

    def tearDown(self):
        if hasattr(self, "_outcome") and not self._outcome.success:
            print(self.t.log()[-6000:])

    # ---- helpers ------------------------------------------------------
    def run_cmd(self, name, *args, data=b"", user=None, env=None,
                config=True):
        """$command_directory/name with -C etc/ (unless config is
        False), as root or as user (an account name)."""
        cmd = [os.path.join(self.t.sbin, name)]
        if config:
            cmd += ["-C", self.t.etc]
        cmd += list(args)
        if user is not None:
            cmd = ["setpriv", "--reuid=%s" % user, "--regid=%s" % user,
                   "--init-groups", "--"] + cmd
        e = dict(os.environ)
        e.pop("TERN_CONFIG_DIR", None)
        if env:
            e.update(env)
        return subprocess.run(cmd, input=data, capture_output=True,
                              timeout=60, env=e)

    def sendmail(self, *args, **kw):
        return self.run_cmd("sendmail", *args, **kw)

    def mailbox(self, user):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.vbase, VDOMAIN, user, sub)
            for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                with open(os.path.join(d, n), "rb") as f:
                    out.append(f.read())
        return out

    def wait_mail(self, user, marker):
        """The one message in user's Maildir that holds marker."""
        def look():
            found = [m for m in self.mailbox(user) if marker in m]
            return found[0] if found else None
        m = wait_for(look, timeout=WAIT)
        self.assertIsNotNone(m, "no message with %r for %s" % (marker, user))
        return m

    def headers(self, msg):
        head = msg.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
        return head.decode("utf-8", "replace")

    def assert_ok(self, r):
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def maildrop(self):
        return sorted(os.listdir(os.path.join(self.t.spool, "maildrop")))

    # ---- submission ---------------------------------------------------
    def check_local_submission(self, user, uid):
        marker = b"user-submission-%d-%d" % (uid, os.getpid())
        r = self.sendmail(vaddr("alice"), user=user,
                          data=b"Subject: hello\n\n" + marker + b"\n")
        self.assert_ok(r)
        msg = self.wait_mail("alice", marker)
        h = self.headers(msg)
        self.assertRegex(h, r"Received: by %s \(Tern, from userid %d\)"
                         % (re.escape(MYHOSTNAME), uid))
        self.assertRegex(h, r"(?m)^Date: ")
        self.assertRegex(h, r"(?m)^Message-ID: <%s@%s>"
                         % (QID_RE, re.escape(MYHOSTNAME)))
        login = user if user is not None else \
            pwd.getpwuid(os.getuid()).pw_name
        self.assertRegex(h, r"(?m)^From: %s@%s$"
                         % (re.escape(login), re.escape(MYHOSTNAME)))
        self.assertIn("Subject: hello", h)
        self.assertTrue(wait_for(lambda: re.search(
            r"%s: uid=%d from=<%s> maildrop=%s" % (QID_RE, uid, login,
                                                  QID_RE), self.t.log())))

    def test_submit_as_root(self):
        self.check_local_submission(None, os.getuid())

    @unittest.skipUnless(IS_ROOT, "needs root for another account")
    def test_submit_as_user(self):
        self.check_local_submission(ACCOUNT.pw_name, ACCOUNT.pw_uid)

    def test_extract_recipients_bcc_removed(self):
        marker = b"extract-%d" % os.getpid()
        msg = (b"From: Someone <someone@example.org>\n"
               b"To: Alice <%s>,\n\t\"Doe, Bob\" <%s>\n"
               b"Cc: team: %s (Carol);\n"
               b"Bcc: %s\n"
               b"Subject: -t\n\n%s\n" % (
                   vaddr("alice").encode(), vaddr("bob").encode(),
                   vaddr("carol").encode(), vaddr("dave").encode(),
                   marker))
        user = ACCOUNT.pw_name if IS_ROOT else None
        self.assert_ok(self.sendmail("-t", "-i", data=msg, user=user))
        for u in USERS:
            got = self.wait_mail(u, marker)
            self.assertNotIn("Bcc:", self.headers(got), u)
            self.assertIn("To: Alice <%s>" % vaddr("alice"),
                          self.headers(got))

    def test_extract_without_recipients(self):
        r = self.sendmail("-t", data=b"Subject: nobody\n\nbody\n")
        self.assertEqual(r.returncode, 65)
        self.assertIn(b"no recipients", r.stderr)

    def test_sender_and_full_name(self):
        marker = b"f-and-F-%d" % os.getpid()
        r = self.sendmail("-f", "jane@example.org", "-F", "Jane Q. Doe",
                          vaddr("bob"), data=b"Subject: f\n\n" + marker)
        self.assert_ok(r)
        h = self.headers(self.wait_mail("bob", marker))
        self.assertRegex(h, r'(?m)^From: "Jane Q\. Doe" <jane@example\.org>$')
        self.assertRegex(self.t.log(), r"uid=\d+ from=<jane@example\.org>")
        # A From: of the message's own stays; a UTF-8 name is encoded.
        marker = b"F-utf8-%d" % os.getpid()
        r = self.sendmail("-F", "J\u00f6rg", "-f", "<jorg@example.org>",
                          vaddr("bob"), data=b"Subject: g\n\n" + marker)
        self.assert_ok(r)
        h = self.headers(self.wait_mail("bob", marker))
        self.assertIn("From: =?UTF-8?B?SsO2cmc=?= <jorg@example.org>", h)
        marker = b"F-own-from-%d" % os.getpid()
        r = self.sendmail("-F", "Ignored", vaddr("bob"),
                          data=b"From: Own <own@example.org>\n\n" + marker)
        self.assert_ok(r)
        h = self.headers(self.wait_mail("bob", marker))
        self.assertIn("From: Own <own@example.org>", h)
        self.assertNotIn("Ignored", h)

    def test_lone_dot(self):
        m1 = b"dot-ends-%d" % os.getpid()
        r = self.sendmail(vaddr("carol"),
                          data=b"Subject: d\n\n%s\n.\nafter the dot\n" % m1)
        self.assert_ok(r)
        got = self.wait_mail("carol", m1)
        self.assertNotIn(b"after the dot", got)
        self.assertTrue(got.endswith(m1 + b"\n"), got[-60:])
        for flag in ("-i", "-oi"):
            m2 = ("dot-kept%s-%d" % (flag, os.getpid())).encode()
            r = self.sendmail(flag, vaddr("carol"),
                              data=b"Subject: d\n\n%s\n.\n..\nafter\n" % m2)
            self.assert_ok(r)
            got = self.wait_mail("carol", m2)
            self.assertTrue(got.endswith(m2 + b"\n.\n..\nafter\n"),
                            got[-60:])

    def test_bm_dashdash_and_ox_warning(self):
        marker = b"bm-%d" % os.getpid()
        r = self.sendmail("-bm", "-oem", "-odb", "-i", "--", vaddr("dave"),
                          data=b"Subject: o\n\n" + marker + b"\n")
        self.assert_ok(r)
        err = r.stderr.decode()
        self.assertIn("-oem: option ignored", err)
        self.assertIn("-odb: option ignored", err)
        self.wait_mail("dave", marker)

    def test_usage_errors(self):
        r = self.sendmail(data=b"x")
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"no recipients", r.stderr)
        r = self.sendmail("-X", vaddr("alice"), data=b"x")
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"usage:", r.stderr)
        r = self.sendmail("bad address@@", data=b"x")
        self.assertEqual(r.returncode, 65)
        r = self.sendmail("-f", "a b c", vaddr("alice"), data=b"x")
        self.assertEqual(r.returncode, 65)
        r = self.sendmail(vaddr("alice"), data=b"x" * (SIZE_LIMIT + 10))
        self.assertEqual(r.returncode, 65)
        self.assertIn(b"too big", r.stderr)
        r = self.run_cmd("sendmail", vaddr("alice"), config=False,
                         env={"TERN_CONFIG_DIR": "/nonexistent"}, data=b"x")
        self.assertEqual(r.returncode, 78)

    def test_bs_dialogue(self):
        marker = b"bs-%d" % os.getpid()
        dialogue = (b"EHLO client.example.test\r\n"
                    b"FOO bar\r\n"
                    b"VRFY alice\r\n"
                    b"MAIL FROM:<bs@example.org>\r\n"
                    b"RCPT TO:<%s>\r\n"
                    b"NOOP\r\n"
                    b"DATA\r\n"
                    b"Subject: bs\r\n\r\n%s\r\n..leading dot\r\n.\r\n"
                    b"RSET\r\n"
                    b"DATA\r\n"
                    b"QUIT\r\n" % (vaddr("alice").encode(), marker))
        user = ACCOUNT.pw_name if IS_ROOT else None
        r = self.sendmail("-bs", data=dialogue, user=user)
        self.assert_ok(r)
        lines = r.stdout.decode().split("\r\n")
        codes = [l[:4] for l in lines if l]
        self.assertTrue(lines[0].startswith("220 "), lines)
        self.assertEqual(codes, ["220 ", "250-", "250-", "250-", "250 ",
                                 "500 ", "502 ", "250 ", "250 ", "250 ",
                                 "354 ", "250 ", "250 ", "503 ", "221 "],
                         lines)
        self.assertIn("500 5.5.2", r.stdout.decode())
        got = self.wait_mail("alice", marker)
        self.assertIn(b"\n.leading dot\n", got.replace(b"\r\n", b"\n"))
        self.assertRegex(self.t.log(), r"from=<bs@example\.org>")
        # Before EHLO, nothing but an error.
        r = self.sendmail("-bs", data=b"MAIL FROM:<a@b>\r\nQUIT\r\n")
        self.assertIn(b"503 5.5.1", r.stdout)

    # ---- mailq, -bp, -q, newaliases -----------------------------------
    def fake_ternctl(self):
        """A command_directory whose ternctl records its arguments."""
        d = os.path.join(self.t.dir, "fake-sbin")
        os.makedirs(d, exist_ok=True)
        rec = os.path.join(d, "args")
        with open(os.path.join(d, "ternctl"), "w") as f:
            f.write("#!/bin/sh\necho \"$@\" > %s\necho fake listing\n"
                    "exit 0\n" % rec)
        os.chmod(os.path.join(d, "ternctl"), 0o755)
        etc = os.path.join(self.t.dir, "etc-fake")
        os.makedirs(etc, exist_ok=True)
        with open(os.path.join(self.t.etc, "tern.conf")) as f:
            conf = f.read()
        with open(os.path.join(etc, "tern.conf"), "w") as f:
            f.write(conf + "command_directory = %s\n" % d)
        return etc, rec

    def test_bp_q_mailq_through_ternctl(self):
        etc, rec = self.fake_ternctl()
        prog = os.path.join(BUILD, "cli", "sendmail")
        link = os.path.join(self.t.dir, "fake-sbin", "mailq")
        if not os.path.exists(link):
            os.symlink(prog, link)
        for argv, want in (([prog, "-C", etc, "-bp"], "queue list"),
                           ([prog, "-C", etc, "-q"], "queue flush"),
                           ([link, "-C", etc], "queue list")):
            r = subprocess.run(argv, capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"fake listing\n")
            with open(rec) as f:
                self.assertEqual(f.read(), "-c %s %s\n" % (etc, want))
        # TERN_CONFIG_DIR picks the configuration too.
        r = subprocess.run([prog, "-bp"], capture_output=True, timeout=30,
                           env=dict(os.environ, TERN_CONFIG_DIR=etc))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(rec) as f:
            self.assertEqual(f.read(), "-c %s queue list\n" % etc)
        r = subprocess.run([prog, "-C", etc, "-bp", "extra"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 64)

    def test_bp_real_ternctl(self):
        """With the real ternctl: whatever it answers to "queue list",
        sendmail -bp and mailq answer the same."""
        want = self.t.ternctl("queue", "list")
        for name, args in (("sendmail", ["-bp"]), ("mailq", [])):
            r = self.run_cmd(name, *args)
            self.assertEqual(r.returncode, want.returncode, r.stderr)
            if want.returncode == 0:
                self.assertEqual(r.stdout.decode(), want.stdout)

    def test_q_and_bp_real_ternctl(self):
        """sendmail -q asks the running qmgr to flush; an unprivileged
        user cannot flush, and lists the queue only through showq, which
        this instance does not run (test_showq.py has it)."""
        r = self.sendmail("-q")
        self.assert_ok(r)
        self.assertTrue(wait_for(lambda: re.search(
            r"flush of the deferred queue asked for by ternctl \(uid %d\)"
            % os.getuid(), self.t.log())), self.t.log()[-3000:])
        if not IS_ROOT:
            return
        r = self.sendmail("-q", user=ACCOUNT.pw_name)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"permission denied (run as root or mail_owner)",
                      r.stderr)
        for name, args in (("sendmail", ["-bp"]), ("mailq", [])):
            r = self.run_cmd(name, *args, user=ACCOUNT.pw_name)
            self.assertEqual((r.returncode, r.stdout), (69, b""), name)
            self.assertIn(b"mailq: cannot list the queue: the master runs "
                          b"no showq service", r.stderr)

    def test_newaliases(self):
        lmdb = self.aliases + ".lmdb"
        if os.path.exists(lmdb):
            os.unlink(lmdb)
        r = self.run_cmd("newaliases")
        self.assert_ok(r)
        self.assertIn(b"aliases.lmdb: 2 aliases", r.stdout)
        self.assertTrue(os.path.exists(lmdb))
        q = self.t.ternctl("map", "query", "lmdb:" + self.aliases,
                           "webmaster")
        self.assertIn(vaddr("alice"), q.stdout)
        os.unlink(lmdb)
        self.assert_ok(self.sendmail("-bi"))
        self.assertTrue(os.path.exists(lmdb))

    # ---- the master stopped ------------------------------------------
    def test_master_stopped(self):
        marker = b"while-stopped-%d" % os.getpid()
        self.t.stop()
        try:
            user = ACCOUNT.pw_name if IS_ROOT else None
            r = self.sendmail(vaddr("dave"), user=user,
                              data=b"Subject: s\n\n" + marker)
            self.assert_ok(r)
            names = self.maildrop()
            self.assertEqual(len(names), 1, names)
            self.assertRegex(names[0], "^%s$" % QID_RE)
            st = os.stat(os.path.join(self.t.spool, "maildrop", names[0]))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
            if IS_ROOT:
                self.assertEqual(st.st_uid, ACCOUNT.pw_uid)
                self.check_user_access(names[0])
        finally:
            self.t.start()
        self.wait_mail("dave", marker)
        self.assertTrue(wait_for(lambda: self.maildrop() == []))

    def check_user_access(self, name):
        """The account can neither list maildrop/, nor read a file in
        it, nor create one there itself."""
        d = os.path.join(self.t.spool, "maildrop")
        st = os.stat(d)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o1730)
        code = ("import os, sys\n"
                "d = sys.argv[1]\n"
                "for f in (lambda: os.listdir(d),\n"
                "          lambda: open(os.path.join(d, sys.argv[2])),\n"
                "          lambda: open(os.path.join(d, 'mine'), 'w')):\n"
                "    try:\n"
                "        f()\n"
                "        print('allowed')\n"
                "    except PermissionError:\n"
                "        print('denied')\n")
        r = subprocess.run(
            ["setpriv", "--reuid=%s" % ACCOUNT.pw_name,
             "--regid=%s" % ACCOUNT.pw_name, "--init-groups",
             "/usr/bin/python3", "-c", code, d, name],
            capture_output=True, timeout=30)
        self.assertEqual(r.stdout.decode().split(), ["denied"] * 3,
                         r.stderr)

    # ---- hostile input ------------------------------------------------
    def test_malformed_file_to_corrupt(self):
        qid = "0" * 14 + "2" * 10
        path = os.path.join(self.t.spool, "maildrop", qid)
        with open(path, "wb") as f:
            f.write(b"TERNDROP1\nS root\nR %s\nL 99\nshort\n"
                    % vaddr("alice").encode())
        corrupt = os.path.join(self.t.spool, "corrupt", qid)
        self.assertTrue(wait_for(lambda: os.path.exists(corrupt),
                                 timeout=WAIT))
        self.assertFalse(os.path.exists(path))
        self.assertTrue(wait_for(lambda: re.search(
            r"%s: malformed maildrop file from uid %d: truncated content: "
            r"moved to corrupt/" % (qid, os.getuid()), self.t.log())))

    def terndrop(self, data, user=None, etc=None):
        cmd = [os.path.join(self.t.sbin, "terndrop"), "-C",
               etc or self.t.etc]
        if user is not None:
            cmd = ["setpriv", "--reuid=%s" % user, "--regid=%s" % user,
                   "--init-groups", "--"] + cmd
        return subprocess.run(cmd, input=data, capture_output=True,
                              timeout=60)

    def test_terndrop_refuses(self):
        user = ACCOUNT.pw_name if IS_ROOT else None
        before = self.maildrop()
        head = b"TERNDROP1\nS u\nR %s\n" % vaddr("alice").encode()
        big = b"x" * (SIZE_LIMIT + 1)
        r = self.terndrop(head + b"L %d\n" % len(big) + big, user=user)
        self.assertEqual(r.returncode, 65)
        self.assertIn(b"bad content length", r.stderr)
        r = self.terndrop(head + b"L 1\n" + b"x" * (6 << 20), user=user)
        self.assertEqual(r.returncode, 65)
        self.assertIn(b"too big", r.stderr)
        r = self.terndrop(b"TERNDROP1\nS u\nL 1\nx", user=user)
        self.assertEqual(r.returncode, 65)
        self.assertIn(b"no recipients", r.stderr)
        r = self.terndrop(b"From: x\n\nhello\n", user=user)
        self.assertEqual(r.returncode, 65)
        self.assertIn(b"bad magic", r.stderr)
        self.assertEqual(self.maildrop(), before)

    @unittest.skipUnless(IS_ROOT, "needs root for another account")
    def test_terndrop_untrusted_config(self):
        """A tern.conf the caller owns is refused by the setgid program."""
        etc = os.path.join(ACCOUNT.pw_dir, "etc")
        os.makedirs(etc, exist_ok=True)
        os.chown(etc, ACCOUNT.pw_uid, ACCOUNT.pw_gid)
        conf = os.path.join(etc, "tern.conf")
        with open(conf, "w") as f:
            f.write("queue_directory = %s\nmessage_size_limit = 0\n"
                    % self.t.spool)
        os.chown(conf, ACCOUNT.pw_uid, ACCOUNT.pw_gid)
        data = b"TERNDROP1\nS u\nR %s\nL 1\nx" % vaddr("alice").encode()
        r = self.terndrop(data, user=ACCOUNT.pw_name, etc=etc)
        self.assertEqual(r.returncode, 77, r.stderr)
        self.assertIn(b"refused for a setgid program", r.stderr)
        # The same file owned by root is fine.
        os.chown(conf, 0, 0)
        self.t.stop()
        try:
            r = self.terndrop(data, user=ACCOUNT.pw_name, etc=etc)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout.decode(), r"^maildrop/%s\n$" % QID_RE)
        finally:
            self.t.start()
        self.assertTrue(wait_for(lambda: self.maildrop() == [],
                                 timeout=WAIT))

    @unittest.skipUnless(IS_ROOT, "the setgid copy is made as root")
    def test_terndrop_is_setgid(self):
        st = os.stat(os.path.join(self.t.sbin, "terndrop"))
        import grp
        self.assertEqual(st.st_gid, grp.getgrnam(TEST_GROUP).gr_gid)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o2755)
        # pickup keeps the group as a supplementary one.
        pid = self.t.children("pickup")[0]
        _, _, groups = tern_fixture.proc_ids(pid)
        self.assertIn(st.st_gid, groups)


if __name__ == "__main__":
    unittest.main()
