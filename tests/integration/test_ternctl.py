# SPDX-License-Identifier: ISC
"""ternctl: start/stop/status/reload outputs and exit codes, --help, check
(configuration, programs, queue directories, lookup tables, TLS files),
config."""
import grp
import os
import time
import unittest

import tls_certs
from tern_fixture import (BUILD, IS_ROOT, TEST_GROUP, TEST_USER, Tern,
                          free_port, test_user)

VERBS = ("start", "stop", "reload", "status", "check", "config", "map")


class TernctlTest(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.t = Tern("echo inet 127.0.0.1:%d y n 3 1 - testsvc\n"
                      % self.port)

    def tearDown(self):
        self.t.cleanup()

    def test_lifecycle_messages_and_exit_codes(self):
        t = self.t
        r = t.ternctl("status")
        self.assertEqual((r.returncode, r.stdout.strip()),
                         (3, "tern is not running"))
        r = t.ternctl("start")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"tern started \(master pid \d+\)")
        st = t.status()
        self.assertEqual(st["echo"]["maxproc"], 3)
        self.assertEqual(st["echo"]["state"], "running")
        r = t.ternctl("status")
        self.assertIn("master pid %d" % t.master_pid(), r.stdout)
        self.assertEqual(t.ternctl("reload").stdout, "tern reloaded\n")
        r = t.ternctl("stop")
        self.assertEqual((r.returncode, r.stdout), (0, "tern stopped\n"))
        r = t.ternctl("stop")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "tern is not running\n"))
        r = t.ternctl("reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not running", r.stderr)

    def test_usage(self):
        r = self.t.ternctl("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: ternctl", r.stderr)
        for args in ((), ("-x", "status"), ("start", "now"),
                     ("stop", "-f"), ("reload", "x"), ("status", "x"),
                     ("check", "--all")):
            r = self.t.ternctl(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(r.stdout, "", args)
            self.assertIn("usage: ternctl", r.stderr, args)
            if args[:1] in (("start",), ("stop",), ("reload",),
                            ("status",), ("check",)):
                self.assertEqual(r.stderr, "usage: ternctl [-c config_dir] "
                                 "%s\n" % args[0])

    def test_help(self):
        for args in (("--help",), ("-h",)):
            r = self.t.ternctl(*args)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            for verb in VERBS:
                self.assertIn(verb, r.stdout)
        for verb in VERBS:
            r = self.t.ternctl(verb, "--help")
            self.assertEqual((r.returncode, r.stderr), (0, ""), verb)
            self.assertTrue(r.stdout.startswith("usage: ternctl"), verb)
            self.assertIn(verb, r.stdout)
        # --help never acts: no master was started.
        self.assertEqual(self.t.ternctl("status").returncode, 3)

    def test_check_good_configuration(self):
        self.t.start()
        r = self.t.ternctl("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no problems found", r.stdout)

    def test_check_reports_every_problem(self):
        t = self.t
        t.write_conf("myhostnam = typo.example\n"
                     "max_idle = forever\n")
        t.write_services("echo inet 127.0.0.1:%d y n 3 1 - testsvc\n"
                         "echo inet 127.0.0.1:%d y n 3 1 - testsvc\n"
                         "bad unix /abs y n 1 0 - testsvc\n"
                         "gone inet 127.0.0.1:%d y n 1 0 - nosuchprog\n"
                         % (self.port, free_port(), free_port()))
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 1)
        err = r.stderr
        self.assertIn("did you mean myhostname", err)
        self.assertRegex(err, r"tern\.conf:\d+: max_idle")
        self.assertRegex(err, r"services\.conf:2: service echo: duplicate")
        self.assertRegex(err, r"services\.conf:3: ")
        self.assertIn("nosuchprog: not an executable program", err)
        self.assertRegex(err, r"\d+ problems found")

    @unittest.skipUnless(IS_ROOT, "ownership checks need root")
    def test_check_reports_wrong_permissions(self):
        t = self.t
        t.start()
        t.stop()
        os.chmod(os.path.join(t.spool, "incoming"), 0o777)
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("incoming: mode 0777, should be 0700", r.stderr)
        # The master repairs it at start.
        t.start()
        st = os.stat(os.path.join(t.spool, "incoming"))
        self.assertEqual(st.st_mode & 0o7777, 0o700)

    @unittest.skipUnless(IS_ROOT, "ownership checks need root")
    def test_check_reports_wrong_owner(self):
        t = self.t
        t.start()
        t.stop()
        pw = test_user()
        path = os.path.join(t.spool, "deferred")
        os.chown(path, 0, 0)
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ternctl: error: %s: owned by 0:0, should be %d:%d; "
                      "run chown %d:%d %s" % (path, pw.pw_uid, pw.pw_gid,
                                              pw.pw_uid, pw.pw_gid, path),
                      r.stderr)
        t.start()
        self.assertEqual(os.stat(path).st_uid, pw.pw_uid)

    def map_conf(self, extra):
        self.t.write_conf(extra)
        return self.t.ternctl("check")

    def test_check_lookup_tables(self):
        t = self.t
        maps = os.path.join(t.dir, "maps")
        os.mkdir(maps)
        os.chmod(maps, 0o755)
        transport = os.path.join(maps, "transport")
        aliases = os.path.join(maps, "local-aliases")
        with open(transport, "w") as f:
            f.write("example.com smtp:[mx.example.com]\n")
        with open(aliases, "w") as f:
            f.write("postmaster: root\n")
        for p in (transport, aliases):
            os.chmod(p, 0o644)
        conf = ("transport_maps = lmdb:%s, inline:{ a=b }\n"
                "alias_maps = lmdb:%s\n" % (transport, aliases))
        # Sources without tables.
        r = self.map_conf(conf)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ternctl: error: transport_maps: cannot open "
                      "%s.lmdb: No such file or directory; run ternctl map "
                      "build %s\n" % (transport, transport), r.stderr)
        self.assertIn("alias_maps: cannot open %s.lmdb: No such file or "
                      "directory; run ternctl map build -a %s\n"
                      % (aliases, aliases), r.stderr)
        t.ternctl("map", "build", transport, check=True)
        t.ternctl("map", "build", "-a", aliases, check=True)
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        # A source edited after its table was built.
        earlier = time.time() - 60
        os.utime(transport + ".lmdb", (earlier, earlier))
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ternctl: error: transport_maps: %s is newer than "
                      "%s.lmdb; run ternctl map build %s\n"
                      % (transport, transport, transport), r.stderr)
        t.ternctl("map", "build", transport, check=True)
        self.assertEqual(t.ternctl("check").returncode, 0)
        # A table named that does not exist at all; a broken inline: one;
        # a type that does not exist.
        r = self.map_conf(conf + "virtual_mailbox_maps = lmdb:%s/none, "
                          "inline:{ a=1, a=2 }, hash:/etc/x\n" % maps)
        self.assertEqual(r.returncode, 1)
        self.assertIn("virtual_mailbox_maps: neither %s/none nor "
                      "%s/none.lmdb exists; write %s/none and run ternctl "
                      "map build %s/none" % (maps, maps, maps, maps),
                      r.stderr)
        self.assertIn("virtual_mailbox_maps: inline:{ a=1, a=2 }: "
                      "duplicate key", r.stderr)
        self.assertIn("virtual_mailbox_maps: hash:/etc/x: unknown map type "
                      "\"hash\"",
                      r.stderr)
        self.assertIn("3 problems found", r.stderr)
        # The default alias table may simply not exist.
        r = self.map_conf("")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("alias", r.stderr)
        if IS_ROOT:
            # smtpd and qmgr read tables as mail_owner.
            os.chmod(transport, 0o600)
            t.ternctl("map", "build", transport, check=True)
            r = self.map_conf(conf)
            self.assertEqual(r.returncode, 1)
            self.assertIn("transport_maps: %s.lmdb cannot be read by "
                          "mail_owner %s (mode 0600, owner 0:0)"
                          % (transport, TEST_USER), r.stderr)

    @unittest.skipUnless(tls_certs.available(), "needs certtool")
    def test_check_tls_files(self):
        t = self.t
        certs = tls_certs.TestCerts()
        self.addCleanup(certs.cleanup)
        cert, key = certs.server("rsa")
        os.chmod(key, 0o600)
        name = "myhostname = %s\n" % tls_certs.HOSTNAME
        t.write_conf(name + "smtpd_tls_cert_file = %s\n"
                     "smtpd_tls_key_file = %s\n" % (cert, key))
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        os.chmod(key, 0o644)
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ternctl: error: smtpd_tls_key_file: %s: private key "
                      "readable by every user (mode 0644); run chmod o-rwx "
                      "%s\n" % (key, key), r.stderr)
        os.chmod(key, 0o600)
        # One file holding both: a key file.
        both = os.path.join(certs.dir, "both.pem")
        with open(both, "w") as out:
            for p in (cert, key):
                with open(p) as f:
                    out.write(f.read())
        os.chmod(both, 0o604)
        t.write_conf(name + "smtpd_tls_cert_file = %s\n" % both)
        r = t.ternctl("check")
        self.assertIn("smtpd_tls_key_file: %s: private key readable by "
                      "every user" % both, r.stderr)
        self.assertNotIn("smtpd_tls_cert_file: %s" % both, r.stderr)
        t.write_conf(name + "smtpd_tls_cert_file = %s/nonexistent.pem\n"
                     "smtpd_tls_key_file = %s\n" % (certs.dir, key))
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ternctl: error: smtpd_tls_cert_file: "
                      "%s/nonexistent.pem: No such file or directory\n"
                      % certs.dir, r.stderr)

    @unittest.skipUnless(IS_ROOT and tls_certs.available(),
                         "needs root, an unprivileged user and certtool")
    def test_check_tls_key_unreadable_by_instance_user(self):
        # An instance run by an unprivileged user: its tlsproxy reads the
        # key as that user.
        t = self.t
        pw = test_user()
        certs = tls_certs.TestCerts()
        self.addCleanup(certs.cleanup)
        cert, key = certs.server("rsa")
        os.chown(key, 0, 0)
        os.chmod(key, 0o600)
        t.write_conf("myhostname = %s\nsmtpd_tls_cert_file = %s\n"
                     "smtpd_tls_key_file = %s\n"
                     % (tls_certs.HOSTNAME, cert, key))
        for d in (t.etc, t.libexec):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        r = t.ternctl("check", user=TEST_USER)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ternctl: error: smtpd_tls_key_file: %s: cannot be "
                      "read by uid %d: Permission denied; tlsproxy reads it "
                      "as the user the master runs as\n" % (key, pw.pw_uid),
                      r.stderr)
        os.chown(key, pw.pw_uid, pw.pw_gid)
        r = t.ternctl("check", user=TEST_USER)
        self.assertNotIn("smtpd_tls_key_file", r.stderr)

    def test_check_terndrop(self):
        t = self.t
        # Not the fixture's own sbin/, which holds a ready terndrop.
        bindir = os.path.join(t.dir, "sbin-check")
        os.mkdir(bindir)
        os.chmod(bindir, 0o755)
        drop = os.path.join(bindir, "terndrop")
        t.write_conf("command_directory = %s\n" % bindir)
        # None there: local submission is off, which is only a warning.
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ternctl: warning: %s: No such file or directory; "
                      "sendmail cannot submit mail" % drop, r.stderr)
        with open(os.path.join(BUILD, "cli", "terndrop"), "rb") as src, \
                open(drop, "wb") as dst:
            dst.write(src.read())
        os.chmod(drop, 0o644)
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ternctl: error: %s: not executable" % drop, r.stderr)
        if not IS_ROOT:
            os.chmod(drop, 0o755)
            self.assertEqual(t.ternctl("check").returncode, 0)
            return
        gid = grp.getgrnam(TEST_GROUP).gr_gid
        os.chmod(drop, 0o755)
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ternctl: error: %s: owner 0:0 mode 0755, should be "
                      "root:%s, setgid" % (drop, TEST_GROUP), r.stderr)
        self.assertIn("run chown root:%s %s && chmod 2755 %s"
                      % (TEST_GROUP, drop, drop), r.stderr)
        os.chown(drop, 0, gid)
        os.chmod(drop, 0o2755)
        r = t.ternctl("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("terndrop", r.stderr)
        os.chmod(drop, 0o2775)
        self.assertIn("%s: owner 0:%d mode 2775" % (drop, gid),
                      t.ternctl("check").stderr)

    def test_config_shows_values_and_defaults(self):
        t = self.t
        r = t.ternctl("config", "queue_directory", "mail_name")
        self.assertEqual(r.stdout, "queue_directory = %s\nmail_name = Tern\n"
                         % t.spool)
        r = t.ternctl("config", "-n")
        self.assertIn("queue_directory = %s" % t.spool, r.stdout)
        self.assertNotIn("mail_name", r.stdout)
        r = t.ternctl("config", "-d", "max_idle")
        self.assertEqual(r.stdout, "max_idle = 100s\n")
        r = t.ternctl("config", "nosuchparam")
        self.assertEqual(r.returncode, 1)
        r = t.ternctl("config", "-m")
        self.assertIn(".It Cm queue_directory", r.stdout)


if __name__ == "__main__":
    unittest.main()
