# SPDX-License-Identifier: ISC
"""ternctl: start/stop/status/reload outputs and exit codes, check, config."""
import os
import unittest

from tern_fixture import IS_ROOT, Tern, free_port


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
