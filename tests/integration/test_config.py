# SPDX-License-Identifier: ISC
"""ternctl config list|get|set|--defaults|--non-default, as an
administrator runs it: set edits tern.conf byte for byte where it must and
nowhere else, checks every value and the whole new file first, and writes
all or nothing."""
import os
import stat
import subprocess
import unittest

from tern_fixture import (BUILD, IS_ROOT, TEST_USER, Tern, free_port,
                          test_user)

# The part of tern.conf these tests edit, after the fixture's own lines.
BODY = ("# Tern test configuration.\n"
        "\n"
        "mydestination = one.example,\n"
        "# a comment inside the definition\n"
        "    two.example,\n"
        "\tthree.example\n"
        "max_idle = 50s\n"
        "\n"
        "# the one in effect\n"
        "max_idle=60s\n"
        "smtpd_banner = $myhostname hello # not a comment\n"
        "# last line, no newline")


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.t = Tern("echo inet 127.0.0.1:%d y n 3 1 - testsvc\n"
                      % self.port)
        self.conf = os.path.join(self.t.etc, "tern.conf")
        with open(self.conf) as f:
            self.head = f.read()
        self.put(self.head + BODY)

    def tearDown(self):
        self.t.cleanup()

    def put(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def read(self):
        with open(self.conf, "rb") as f:
            return f.read()

    def snapshot(self):
        st = os.stat(self.conf)
        return (self.read(), st.st_mtime_ns, st.st_ino, st.st_mode,
                st.st_uid, st.st_gid)

    def others(self):
        """Files in etc/ besides the two configuration files."""
        return sorted(set(os.listdir(self.t.etc)) -
                      {"tern.conf", "services.conf"})

    def config(self, *args, **kw):
        return self.t.ternctl("config", *args, **kw)

    def test_set_keeps_comments_order_and_continuation_lines(self):
        os.chmod(self.conf, 0o640)
        if IS_ROOT:
            os.chown(self.conf, 0, test_user().pw_gid)
        before = os.stat(self.conf)
        r = self.config("set", "mydestination=new.example, other.example",
                        "max_idle = 200s", "mail_name=Tern Test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertIn("%s: max_idle = 200s\n" % self.conf, r.stdout)
        self.assertIn("ternctl reload", r.stdout)
        want = (self.head +
                "# Tern test configuration.\n"
                "\n"
                "mydestination = new.example, other.example\n"
                "# a comment inside the definition\n"
                "max_idle = 50s\n"
                "\n"
                "# the one in effect\n"
                "max_idle = 200s\n"
                "smtpd_banner = $myhostname hello # not a comment\n"
                "# last line, no newline\n"
                "mail_name = Tern Test\n")
        self.assertEqual(self.read().decode(), want)
        after = os.stat(self.conf)
        self.assertEqual((after.st_mode, after.st_uid, after.st_gid),
                         (before.st_mode, before.st_uid, before.st_gid))
        self.assertNotEqual(after.st_ino, before.st_ino)  # renamed in
        self.assertEqual(self.others(), [])
        r = self.config("get", "mydestination", "max_idle", "mail_name")
        self.assertEqual(r.stdout, "mydestination = new.example, "
                         "other.example\nmax_idle = 200s\n"
                         "mail_name = Tern Test\n")
        # The same values again: nothing to write.
        mtime = os.stat(self.conf).st_mtime_ns
        r = self.config("set", "max_idle=200s")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "%s: unchanged\n" % self.conf))
        self.assertEqual(os.stat(self.conf).st_mtime_ns, mtime)
        # An empty value.
        self.config("set", "relay_domains=", check=True)
        self.assertTrue(self.read().endswith(b"\nrelay_domains =\n"))

    def test_bad_sets_write_nothing(self):
        cases = [
            (("max_idle=forever",), 1,
             "ternctl: error: max_idle: bad time value \"forever\" for "
             "max_idle: not a number"),
            (("max_idle=0s",), 1, "out of range 1..86400"),
            (("mail_owner=bad name",), 1, "bad character in name"),
            (("nosuchparam=1",), 1,
             "ternctl: nosuchparam: unknown parameter\n"),
            (("max_idl=10s",), 1,
             "ternctl: max_idl: unknown parameter (did you mean "
             "max_idle?)"),
            (("max_idle=1s", "max_idle=2s"), 1,
             "ternctl: max_idle: given twice"),
            (("mail_name=a\nb",), 1, "line break"),
            (("queue_directory=relative",), 1, "not an absolute path"),
            # Each value is fine alone; the new file is not: the whole
            # file is checked as the master would load it.
            (("smtpd_tls_security_level=encrypt",), 1,
             "smtpd_tls_security_level = encrypt, but no certificate"),
            (("max_use=$nosuch",), 1, "not a number"),
            (("novalue",), 2, "expected name=value"),
            (("=1",), 2, "expected name=value"),
            ((), 2, "usage: ternctl"),
        ]
        before = self.snapshot()
        for args, code, msg in cases:
            r = self.config("set", *args)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            self.assertIn(msg, r.stderr, args)
            self.assertEqual(r.stdout, "", args)
            self.assertEqual(self.snapshot(), before, args)
            self.assertEqual(self.others(), [], args)
        r = self.config("set", "smtpd_tls_security_level=encrypt")
        self.assertIn("%s: not changed" % self.conf, r.stderr)

    def test_several_at_once_all_or_nothing(self):
        before = self.snapshot()
        r = self.config("set", "max_idle=30s", "mail_name=Ok",
                        "max_use=zero")
        self.assertEqual(r.returncode, 1)
        self.assertIn("max_use: bad integer value \"zero\"", r.stderr)
        self.assertEqual(self.snapshot(), before)
        r = self.config("set", "max_idle=30s", "mail_name=Ok",
                        "max_use=7")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.config("get", "max_idle", "mail_name", "max_use")
        self.assertEqual(r.stdout, "max_idle = 30s\nmail_name = Ok\n"
                         "max_use = 7\n")

    def test_value_refers_to_the_file(self):
        # $name is checked with what the file defines.
        self.put(self.head + "my_limit = 42\n")
        r = self.config("set", "max_use=$my_limit")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.config("get", "max_use").stdout,
                         "max_use = 42\n")

    def test_old_error_does_not_block_a_fix(self):
        self.put(self.head + "max_use = x\nmax_idle = y\n")
        r = self.config("set", "max_use=5")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"ternctl: warning: \(already so "
                         r"before\) .*tern\.conf:\d+: max_idle: bad time")
        self.assertNotIn("max_use", r.stderr)
        r = self.config("set", "max_idle=5s")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(self.t.ternctl("check").returncode, 0)

    def test_symlink_target_is_edited(self):
        real = os.path.join(self.t.dir, "real-tern.conf")
        os.rename(self.conf, real)
        os.symlink(real, self.conf)
        r = self.config("set", "mail_name=Linked")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.islink(self.conf))
        with open(real) as f:
            self.assertTrue(f.read().endswith("mail_name = Linked\n"))

    def test_set_then_reload(self):
        self.t.start()
        r = self.config("set", "max_idle=20s")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.t.ternctl("reload")
        self.assertEqual((r.returncode, r.stdout), (0, "tern reloaded\n"),
                         r.stderr)

    def test_list_get_defaults_non_default(self):
        names = [line.split()[2] for line in
                 self.config("-m").stdout.splitlines()
                 if line.startswith(".It Cm ")]
        self.assertGreater(len(names), 50)
        for args in (("list",), ()):
            r = self.config(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([ln.split(" = ")[0] for ln in
                              r.stdout.splitlines()], names)
            self.assertIn("max_idle = 60s\n", r.stdout)
            self.assertIn("mail_name = Tern\n", r.stdout)
        for opt in ("--defaults", "-d"):
            r = self.config(opt)
            self.assertEqual([ln.split(" = ")[0] for ln in
                              r.stdout.splitlines()], names)
            self.assertIn("max_idle = 100s\n", r.stdout)
            self.assertIn("myhostname = (computed at start-up)\n",
                          r.stdout)
        self.assertEqual(self.config("get", "--defaults", "max_idle",
                                     "smtpd_banner").stdout,
                         "max_idle = 100s\n"
                         "smtpd_banner = $myhostname ESMTP $mail_name\n")
        # Defaults come from the table: no tern.conf is needed (a
        # packager's script may ask before any configuration exists).
        empty = os.path.join(self.t.dir, "no-config-here")
        os.mkdir(empty)
        r = subprocess.run([os.path.join(BUILD, "cli", "ternctl"), "-c",
                            empty, "config", "-d", "queue_directory"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertRegex(r.stdout, r"^queue_directory = /\S+/spool/tern\n$")
        for opt in ("--non-default", "-n"):
            r = self.config(opt)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("max_idle = 60s\n", r.stdout)
            self.assertIn("queue_directory = %s\n" % self.t.spool, r.stdout)
            self.assertNotIn("mail_name", r.stdout)
            self.assertNotIn("config_directory", r.stdout)
        r = self.config("get", "max_idle", "nosuch", "mail_name")
        self.assertEqual((r.returncode, r.stdout),
                         (1, "max_idle = 60s\nmail_name = Tern\n"))
        self.assertIn("ternctl: nosuch: unknown parameter", r.stderr)
        # The old forms: names alone.
        self.assertEqual(self.config("max_idle").stdout, "max_idle = 60s\n")

    def test_usage_and_help(self):
        for args in (("get",), ("list", "max_idle"), ("-d", "-n"),
                     ("--bogus",), ("get", "-n", "max_idle"),
                     ("set", "-d", "max_idle=1s"), ("-m", "max_idle")):
            r = self.config(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("usage: ternctl", r.stderr, args)
            self.assertEqual(r.stdout, "", args)
        for args in (("--help",), ("set", "--help"), ("-h",)):
            r = self.config(*args)
            self.assertEqual((r.returncode, r.stderr), (0, ""), args)
            self.assertIn("config set name=value", r.stdout)

    def test_errors_in_file_still_list(self):
        self.put(self.head + "max_idle = never\n")
        r = self.config("get", "max_idle")
        self.assertEqual((r.returncode, r.stdout), (1, "max_idle = 100s\n"))
        self.assertRegex(r.stderr, r"tern\.conf:\d+: max_idle: bad time")

    @unittest.skipUnless(IS_ROOT, "needs root and an unprivileged user")
    def test_unprivileged_user(self):
        before = self.snapshot()
        self.assertEqual(before[4], 0)
        r = self.config("set", "max_idle=10s", user=TEST_USER)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ternctl: %s: permission denied (run as "
                         "root or as the file's owner)\n" % self.conf)
        self.assertEqual(self.snapshot(), before)
        # Reading is fine for anyone who can read the file.
        r = self.config("get", "max_idle", user=TEST_USER)
        self.assertEqual((r.returncode, r.stdout), (0, "max_idle = 60s\n"))
        # A file the user may write, in a directory it may not: still no.
        pw = test_user()
        os.chown(self.conf, pw.pw_uid, pw.pw_gid)
        r = self.config("set", "max_idle=10s", user=TEST_USER)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s: permission denied: a new tern.conf cannot be "
                      "written there" % self.t.etc, r.stderr)
        # The owner of an instance's directory may.
        os.chown(self.t.etc, pw.pw_uid, pw.pw_gid)
        r = self.config("set", "max_idle=10s", user=TEST_USER)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = os.stat(self.conf)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                         (pw.pw_uid, stat.S_IMODE(before[3])))


if __name__ == "__main__":
    unittest.main()
