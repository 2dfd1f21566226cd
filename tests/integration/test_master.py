# SPDX-License-Identifier: ISC
"""The master: pools, lazy start, supervision, throttling, reload, stop,
privilege drop, the lock against a second master."""
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from tern_fixture import (BUILD, IS_ROOT, Tern, connect, free_port,
                          hello_fields, proc_ids, readline, test_user,
                          wait_for)


class MasterTest(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.t = None

    def tearDown(self):
        if self.t is not None:
            self.t.cleanup()

    def instance(self, services, extra_conf=""):
        self.t = Tern(services, extra_conf)
        return self.t

    def svc_line(self, name, listen, maxproc=5, prefork=0, wakeup="-",
                 args="", unpriv="y", chroot="n", typ="inet"):
        return "%s %s %s %s %s %s %s %s testsvc %s\n" % (
            name, typ, listen, unpriv, chroot, maxproc, prefork, wakeup,
            ("-- " + args) if args else "")

    # ---- pools and lazy start ---------------------------------------------
    def test_prefork_pool_refilled_after_child_exits(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port,
                                        maxproc=5, prefork=2))
        t.start()
        self.assertTrue(wait_for(lambda: len(t.children("echo")) == 2))
        before = set(t.children("echo"))
        c = connect(self.port)
        hello = hello_fields(readline(c))
        served_by = int(hello["pid"])
        self.assertIn(served_by, before)
        # One is busy now: the master keeps two idle ones beside it.
        self.assertTrue(wait_for(lambda: len(t.children("echo")) == 3),
                        t.status())
        c.sendall(b"ping\n")
        self.assertEqual(readline(c), "ping\n")
        c.close()
        # The one-client process exits; the pool is two idle again.
        self.assertTrue(wait_for(
            lambda: served_by not in t.children("echo")))
        self.assertTrue(wait_for(lambda: t.status()["echo"]["idle"] == 2
                                 and t.status()["echo"]["procs"] == 2),
                        t.status())

    def test_service_overrides_and_no_tls_flag(self):
        # "-o name=value" pairs lead the arguments: the skeleton applies
        # them and leaves the rest; no TLS configured, so no -S.
        t = self.instance(
            "ov inet 127.0.0.1:%d y n 5 0 - testsvc -o max_idle=7s multi\n"
            "plain inet 127.0.0.1:%d y n 5 0 - testsvc\n"
            % (self.port, free_port()))
        t.start()
        c = connect(self.port)
        hello = hello_fields(readline(c))
        c.close()
        self.assertEqual(hello["max_idle"], "7")
        self.assertEqual(hello["mode"], "multi")
        self.assertEqual(hello["args"], "1")
        self.assertEqual(hello["tls"], "0")

    def test_bad_override_is_a_configuration_error(self):
        t = self.instance("ov inet 127.0.0.1:%d y n 5 0 - testsvc "
                          "-o max_idle=forever\n" % self.port)
        r = t.ternctl("check")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("service ov: -o max_idle=forever: bad value", r.stderr)
        r = t.ternctl("start")
        self.assertNotEqual(r.returncode, 0)

    def test_lazy_service_has_no_process_before_first_client(self):
        t = self.instance(self.svc_line("lazy", "127.0.0.1:%d" % self.port,
                                        prefork=0))
        t.start()
        time.sleep(0.5)
        self.assertEqual(t.children("lazy"), [])
        self.assertEqual(t.status()["lazy"]["procs"], 0)
        c = connect(self.port)
        hello = hello_fields(readline(c))
        self.assertEqual(hello["service"], "lazy")
        self.assertIn(int(hello["pid"]), t.children("lazy"))
        c.close()

    def test_multi_client_service_serves_many_in_one_process(self):
        t = self.instance(self.svc_line("multi", "127.0.0.1:%d" % self.port,
                                        prefork=0, args="multi"))
        t.start()
        self.assertEqual(t.children("multi"), [])
        a = connect(self.port)
        b = connect(self.port)
        ha, hb = hello_fields(readline(a)), hello_fields(readline(b))
        self.assertEqual(ha["mode"], "multi")
        self.assertEqual(ha["pid"], hb["pid"])
        a.sendall(b"one\n")
        b.sendall(b"two\n")
        self.assertEqual(readline(a), "one\n")
        self.assertEqual(readline(b), "two\n")
        # max_clients is 2 for testsvc: a third client gets a new process.
        c = connect(self.port)
        hc = hello_fields(readline(c))
        self.assertNotEqual(hc["pid"], ha["pid"])
        for s in (a, b, c):
            s.close()

    def test_multi_client_process_retires_after_max_use(self):
        t = self.instance(self.svc_line("multi", "127.0.0.1:%d" % self.port,
                                        args="multi"),
                          extra_conf="max_use = 2\n")
        t.start()
        pids = []
        for _ in range(3):
            c = connect(self.port)
            pids.append(hello_fields(readline(c))["pid"])
            c.close()
            time.sleep(0.1)
        self.assertEqual(pids[0], pids[1])
        self.assertNotEqual(pids[1], pids[2])
        self.assertTrue(wait_for(lambda: int(pids[0]) not in
                                 t.children("multi")))
        self.assertNotIn("throttling", t.log())

    def test_unix_service_and_wakeup(self):
        t = self.instance(self.svc_line("waker", "private/waker",
                                        typ="unix", wakeup=1, args="multi"))
        t.start()
        path = os.path.join(t.spool, "private", "waker")
        self.assertTrue(os.path.exists(path))
        # The master's wake-up starts the lazy service and is logged.
        self.assertTrue(wait_for(lambda: t.log_count(r"testsvc\[\d+\]: "
                                                     r"wakeup") >= 2,
                                 timeout=10), t.log())

    # ---- supervision ------------------------------------------------------
    def test_child_killed_with_sigkill_is_replaced(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port,
                                        prefork=1))
        t.start()
        self.assertTrue(wait_for(lambda: len(t.children("echo")) == 1))
        old = t.children("echo")[0]
        os.kill(old, signal.SIGKILL)
        self.assertTrue(wait_for(lambda: t.children("echo") != [] and
                                 old not in t.children("echo"), timeout=10),
                        t.log())
        self.assertIn("killed by signal 9", t.log())
        c = connect(self.port)
        self.assertEqual(hello_fields(readline(c))["service"], "echo")
        c.close()

    def test_crash_looping_service_is_throttled(self):
        other = free_port()
        t = self.instance(
            self.svc_line("crashy", "127.0.0.1:%d" % self.port, prefork=1,
                          args="crash") +
            self.svc_line("fine", "127.0.0.1:%d" % other, prefork=1))
        t.start()
        time.sleep(6)
        exits = t.log_count(r"service crashy: process \d+ exited with "
                            r"status 1")
        # Back-off 1, 2, 4 s: a handful of attempts, never a busy loop.
        self.assertGreaterEqual(exits, 2, t.log())
        self.assertLessEqual(exits, 5, t.log())
        self.assertIn("service crashy: throttling for", t.log())
        self.assertEqual(t.status()["crashy"]["state"], "throttled")
        # The master and the other services go on.
        c = connect(other)
        self.assertEqual(hello_fields(readline(c))["service"], "fine")
        c.close()

    def test_crash_while_serving_does_not_throttle(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port,
                                        prefork=1))
        t.start()
        c = connect(self.port)
        pid = int(hello_fields(readline(c))["pid"])
        os.kill(pid, signal.SIGSEGV)
        # Under ASan the crash is reported and ends in abort() instead.
        died = r"process %d (killed by signal|exited with status)" % pid
        self.assertTrue(wait_for(lambda: t.log_count(died) == 1), t.log())
        c.close()
        time.sleep(0.3)
        self.assertNotIn("throttling", t.log())
        c = connect(self.port)
        self.assertEqual(hello_fields(readline(c))["service"], "echo")
        c.close()

    # ---- reload -----------------------------------------------------------
    def test_reload_adds_and_removes_listeners(self):
        p2 = free_port()
        t = self.instance(self.svc_line("a", "127.0.0.1:%d" % self.port))
        t.start()
        busy = connect(self.port)
        hello = hello_fields(readline(busy))
        t.write_services(self.svc_line("b", "127.0.0.1:%d" % p2))
        r = t.ternctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        c = connect(p2)
        self.assertEqual(hello_fields(readline(c))["service"], "b")
        c.close()
        with self.assertRaises(ConnectionRefusedError):
            connect(self.port).close()
        # The connection accepted before the reload is untouched.
        busy.sendall(b"still here\n")
        self.assertEqual(readline(busy), "still here\n")
        self.assertIn(int(hello["pid"]), t.children())
        busy.close()
        self.assertIn("reload: service a 127.0.0.1:%d closed" % self.port,
                      t.log())
        self.assertIn("reload: service b 127.0.0.1:%d opened" % p2,
                      t.log())

    def test_sighup_reloads_and_bad_config_keeps_running_one(self):
        t = self.instance(self.svc_line("a", "127.0.0.1:%d" % self.port,
                                        prefork=1))
        t.start()
        with open(os.path.join(t.etc, "services.conf"), "a") as f:
            f.write("broken line\n")
        os.kill(t.master_pid(), signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "keeping the running "
                                 "configuration" in t.log()), t.log())
        c = connect(self.port)
        self.assertEqual(hello_fields(readline(c))["service"], "a")
        c.close()
        # A good change through SIGHUP: the process is replaced.
        old = t.children("a")
        t.write_services(self.svc_line("a", "127.0.0.1:%d" % self.port,
                                       prefork=2))
        os.kill(t.master_pid(), signal.SIGHUP)
        self.assertTrue(wait_for(lambda: len(t.children("a")) == 2 and
                                 not set(old) & set(t.children("a"))),
                        t.log())

    def test_reload_refused_with_reason_and_status_still_works(self):
        t = self.instance(self.svc_line("a", "127.0.0.1:%d" % self.port))
        t.start()
        t.write_conf("max_idle = whenever\n")
        r = t.ternctl("reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn("reload failed: configuration errors", r.stderr)
        # A broken file never keeps the administrator from the instance.
        r = t.ternctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tern is running", r.stdout)
        self.assertEqual(t.ternctl("stop").returncode, 0)
        self.assertEqual(t.our_processes(), [])

    def test_multi_crash_after_serving_does_not_throttle(self):
        t = self.instance(self.svc_line("m", "127.0.0.1:%d" % self.port,
                                        args="multi"))
        t.start()
        c = connect(self.port)
        pid = int(hello_fields(readline(c))["pid"])
        os.kill(pid, signal.SIGSEGV)
        # Under ASan the crash is reported and ends in abort() instead.
        died = r"process %d (killed by signal|exited with status)" % pid
        self.assertTrue(wait_for(lambda: t.log_count(died) == 1), t.log())
        c.close()
        time.sleep(0.3)
        self.assertNotIn("throttling", t.log())
        c = connect(self.port)
        self.assertEqual(hello_fields(readline(c))["service"], "m")
        c.close()

    def test_unknown_port_name_is_a_clear_start_error(self):
        t = self.instance(self.svc_line("a", "127.0.0.1:no-such-port"))
        r = t.ternctl("start")
        self.assertEqual(r.returncode, 1)
        self.assertIn("service a:", r.stderr)
        self.assertIn("127.0.0.1:no-such-port", r.stderr)
        self.assertNotIn("Success", r.stderr)

    # ---- one_client_fork: processes forked from a template ----------------
    def template_pids(self, t, service):
        return [int(p) for p in re.findall(
            r"service %s: template process (\d+) started" % service,
            t.log())]

    def start_time(self, pid):
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])

    def ppid(self, pid):
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])

    def test_one_client_fork_template_makes_the_processes(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port,
                                        prefork=2),
                          extra_conf="one_client_fork = yes\n"
                                     "one_client_fork_limit = 3\n")
        t.start()
        self.assertTrue(wait_for(lambda: t.status()["echo"]["idle"] == 2),
                        t.log())
        tpl = self.template_pids(t, "echo")
        self.assertEqual(len(tpl), 1, t.log())
        # The template is the master's child, but no process of the pool.
        self.assertIn(tpl[0], t.children("echo"))
        self.assertEqual(t.status()["echo"]["procs"], 2)
        c = connect(self.port)
        hello = hello_fields(readline(c))
        pid = int(hello["pid"])
        self.assertNotEqual(pid, tpl[0])
        # Made by the template, yet the master's own child.
        self.assertEqual(self.ppid(pid), t.master_pid())
        self.assertEqual(hello["service"], "echo")
        if IS_ROOT:
            u = test_user()
            self.assertEqual(proc_ids(pid)[0], [u.pw_uid] * 4)
        c.sendall(b"ping\n")
        self.assertEqual(readline(c), "ping\n")
        c.close()
        # One client, then the process exits, as an exec'd one does.
        self.assertTrue(wait_for(lambda: pid not in t.children("echo")))
        # 3 processes so far (2 preforked, 1 to refill the pool): the
        # template is spent, and the next process needs a new one.
        c = connect(self.port)
        self.assertEqual(hello_fields(readline(c))["service"], "echo")
        c.close()
        self.assertTrue(wait_for(lambda: len(self.template_pids(t, "echo"))
                                 == 2), t.log())
        self.assertTrue(wait_for(lambda: tpl[0] not in t.children()),
                        t.log())
        self.assertNotIn("did not answer", t.log())
        self.assertNotIn("warning", t.log())

    def test_one_client_fork_new_template_after_a_crash(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port,
                                        prefork=1),
                          extra_conf="one_client_fork = yes\n")
        t.start()
        self.assertTrue(wait_for(lambda: len(self.template_pids(t, "echo"))
                                 == 1), t.log())
        old = self.template_pids(t, "echo")[0]
        c = connect(self.port)
        pid = int(hello_fields(readline(c))["pid"])
        os.kill(pid, signal.SIGSEGV)
        died = r"process %d (killed by signal|exited with status)" % pid
        self.assertTrue(wait_for(lambda: t.log_count(died) == 1), t.log())
        c.close()
        # Its siblings share its layout: the template is replaced, and
        # the idle sibling the pool had is too.
        self.assertIn("new template after the failed process", t.log())
        self.assertTrue(wait_for(lambda: old not in t.children()), t.log())
        self.assertTrue(wait_for(lambda: len(self.template_pids(t, "echo"))
                                 == 2), t.log())
        new = self.template_pids(t, "echo")[1]
        self.assertTrue(wait_for(lambda: t.status()["echo"]["idle"] == 1),
                        t.log())
        c = connect(self.port)
        pid = int(hello_fields(readline(c))["pid"])
        # Made after the new template.
        self.assertGreaterEqual(self.start_time(pid), self.start_time(new))
        c.close()
        self.assertIn(new, t.children("echo"))
        self.assertNotIn("throttling", t.log())

    def test_one_client_fork_reload_stop_and_multi_services(self):
        # Per service, as an override in services.conf.  A service that
        # keeps root never gets a template.
        root_port = free_port()
        t = self.instance(
            "echo inet 127.0.0.1:%d y n 5 1 - testsvc "
            "-o one_client_fork=yes\n"
            "m unix private/m y n 5 1 - testsvc -o one_client_fork=yes "
            "multi\n"
            "r inet 127.0.0.1:%d n n 5 1 - testsvc "
            "-o one_client_fork=yes\n" % (self.port, root_port))
        t.start()
        self.assertTrue(wait_for(lambda: len(self.template_pids(t, "echo"))
                                 == 1), t.log())
        # A multi-client service has no use for one: it is executed.
        self.assertTrue(wait_for(lambda: "service m: one_client_fork "
                                 "applies only to one-client services"
                                 in t.log()), t.log())
        self.assertTrue(wait_for(lambda: t.status()["m"]["procs"] == 1),
                        t.log())
        c = connect(root_port)
        self.assertEqual(hello_fields(readline(c))["service"], "r")
        c.close()
        self.assertEqual(self.template_pids(t, "r"), [])
        old = self.template_pids(t, "echo")[0]
        # A reload replaces the template, which holds the old settings.
        self.assertEqual(t.ternctl("reload").returncode, 0, t.log())
        self.assertTrue(wait_for(lambda: len(self.template_pids(t, "echo"))
                                 == 2 and old not in t.children()),
                        t.log())
        c = connect(self.port)
        self.assertEqual(hello_fields(readline(c))["service"], "echo")
        c.close()
        r = t.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(t.our_processes(), [])

    # ---- stop and the lock ------------------------------------------------
    def test_stop_leaves_no_process_behind(self):
        t = self.instance(
            self.svc_line("echo", "127.0.0.1:%d" % self.port, prefork=3) +
            self.svc_line("m", "private/m", typ="unix", args="multi",
                          prefork=1))
        t.start()
        busy = connect(self.port)
        readline(busy)
        self.assertTrue(wait_for(lambda: len(t.children()) >= 4))
        r = t.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(t.our_processes(), [])
        self.assertFalse(os.path.exists(os.path.join(t.spool, "private",
                                                     "control")))
        self.assertFalse(os.path.exists(os.path.join(t.spool, "pid",
                                                     "master.pid")))
        busy.close()
        self.assertEqual(t.ternctl("status").returncode, 3)

    def test_second_start_is_refused(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port))
        t.start()
        pid = t.master_pid()
        r = t.ternctl("start")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already running (pid %d)" % pid, r.stderr)
        # The master itself refuses too, whoever starts it.
        m = subprocess.run([os.path.join(t.libexec, "master"), "-c", t.etc,
                            "-f"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(m.returncode, 1)
        self.assertIn("already running (pid %d)" % pid, m.stderr)
        self.assertEqual(t.master_pid(), pid)

    def test_start_failure_is_reported_with_exit_status(self):
        # Another process holds the port: start fails, loudly, at once.
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", self.port))
        holder.listen(1)
        try:
            t = self.instance(self.svc_line("echo",
                                            "127.0.0.1:%d" % self.port))
            r = t.ternctl("start")
            self.assertEqual(r.returncode, 1)
            self.assertIn("service echo", r.stderr)
            self.assertIn("Address already in use", r.stderr)
            self.assertEqual(t.our_processes(), [])
        finally:
            holder.close()

    def test_config_error_names_file_line_and_parameter(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port),
                          extra_conf="default_process_limit = lots\n")
        r = t.ternctl("start")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"tern\.conf:\d+: default_process_limit")
        self.assertEqual(t.our_processes(), [])

    # ---- the systemd unit ---------------------------------------------------
    def test_systemd_unit_commands_keep_their_contract(self):
        """conf/tern.service says Type=forking with a PIDFile: systemd
        runs ExecStart, waits for that process to exit 0, then reads the
        pid file and takes that pid as the service.  Run the built unit's
        own command lines the same way (with -c for this instance, as
        the unit's comment tells administrators to): when ExecStart has
        exited the pid file names the live master and the listener
        accepts at once; ExecReload keeps that master; ExecStop ends it."""
        unit = os.path.join(BUILD, "conf", "tern.service")
        if not os.path.exists(unit):
            self.skipTest("configured --with-systemdsystemunitdir=no")
        keys = {}
        with open(unit) as f:
            for line in f:
                m = re.match(r"^(\w+)=(.*)$", line.strip())
                if m:
                    keys.setdefault(m.group(1), m.group(2))
        self.assertEqual(keys["Type"], "forking")
        self.assertTrue(keys["PIDFile"].endswith("/pid/master.pid"))
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port,
                                        prefork=1))
        progs = {"master": os.path.join(t.libexec, "master"),
                 "ternctl": os.path.join(BUILD, "cli", "ternctl")}

        def run(key):
            argv = keys[key].split()
            prog = os.path.basename(argv[0])
            self.assertIn(prog, progs, keys[key])
            return subprocess.run([progs[prog], "-c", t.etc] + argv[1:],
                                  capture_output=True, text=True, timeout=60)

        r = run("ExecStart")
        self.assertEqual(r.returncode, 0, r.stderr)
        pidfile = os.path.join(t.spool, "pid", "master.pid")
        with open(pidfile) as f:
            pid = int(f.read().strip())
        self.assertEqual(pid, t.master_pid())
        os.kill(pid, 0)
        c = connect(self.port)
        self.assertEqual(hello_fields(readline(c))["service"], "echo")
        c.close()
        r = run("ExecReload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(t.master_pid(), pid)
        r = run("ExecStop")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRaises(ProcessLookupError, os.kill, pid, 0)
        self.assertEqual(t.our_processes(), [])

    # ---- privilege --------------------------------------------------------
    @unittest.skipUnless(IS_ROOT, "needs root for the privilege drop")
    def test_children_run_as_mail_owner(self):
        key = None
        t = self.instance("")
        key = os.path.join(t.dir, "secret.key")
        with open(key, "w") as f:
            f.write("secret\n")
        os.chmod(key, 0o600)
        t.write_services(self.svc_line("echo", "127.0.0.1:%d" % self.port,
                                       prefork=1, args="keyfile=" + key))
        t.start()
        u = test_user()
        c = connect(self.port)
        hello = hello_fields(readline(c))
        pid = int(hello["pid"])
        uids, gids, groups = proc_ids(pid)
        self.assertEqual(uids, [u.pw_uid] * 4)
        self.assertEqual(gids, [u.pw_gid] * 4)
        self.assertEqual(groups, [u.pw_gid])
        # pre_jail ran as root: the root-only file was opened before.
        self.assertEqual(hello["key"], "open")
        c.close()
        muids, _, _ = proc_ids(t.master_pid())
        self.assertEqual(muids[1], 0)
        # Queue directories belong to the right owners.
        st = os.stat(os.path.join(t.spool, "incoming"))
        self.assertEqual((st.st_uid, st.st_mode & 0o7777),
                         (u.pw_uid, 0o700))
        st = os.stat(os.path.join(t.spool, "pid"))
        self.assertEqual((st.st_uid, st.st_mode & 0o7777), (0, 0o755))

    @unittest.skipUnless(IS_ROOT, "needs root for the privilege drop")
    def test_privileged_service_keeps_root(self):
        t = self.instance(self.svc_line("rootsvc", "127.0.0.1:%d" %
                                        self.port, unpriv="n"))
        t.start()
        c = connect(self.port)
        hello = hello_fields(readline(c))
        self.assertEqual(hello["euid"], "0")
        c.close()

    @unittest.skipUnless(IS_ROOT, "needs root")
    def test_missing_mail_owner_refused_as_root(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port),
                          extra_conf="mail_owner = nosuchternuser\n")
        r = t.ternctl("start")
        self.assertEqual(r.returncode, 1)
        self.assertIn("mail_owner nosuchternuser: no such user", r.stderr)
        self.assertIn("useradd", r.stderr)
        self.assertEqual(t.our_processes(), [])

    @unittest.skipIf(IS_ROOT, "checks the unprivileged mode")
    def test_unprivileged_instance_keeps_own_uid(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port))
        t.start()
        c = connect(self.port)
        hello = hello_fields(readline(c))
        self.assertEqual(int(hello["uid"]), os.getuid())
        c.close()
        self.assertIn("not running as root: no privilege changes", t.log())

    @unittest.skipUnless(IS_ROOT, "needs root to switch users")
    def test_control_socket_refuses_other_users(self):
        t = self.instance(self.svc_line("echo", "127.0.0.1:%d" % self.port))
        t.start()
        r = t.ternctl("status", user="nobody")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("tern is running", t.ternctl("status").stdout)
        # mail_owner may use it.
        r = t.ternctl("status", user="terntest")
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
