# SPDX-License-Identifier: ISC
"""The queue manager, against scripted delivery agents.

Mail comes in through smtpd and cleanup; transport_maps sends each test
domain to a transport that a Python agent in this test serves on
spool/private/NAME, speaking the qmgr -> agent protocol (docs/ipc.md) and
answering each recipient as the test says.  What is checked: the request
(fd, envelope, recipients), the status bytes written back into the queue
file, the moves between incoming/, active/, deferred/ and corrupt/, the
retry times, the log lines, the bounce request, recovery after a restart.
"""
import os
import re
import smtplib
import socket
import stat
import struct
import threading
import time
import unittest

import attr_wire
import qfile_reader
from tern_fixture import (IS_ROOT, QID_RE, TEST_USER, Tern, free_port,
                          queue_files, wait_for)

QMGR_LINE = "qmgr unix private/qmgr y n 1 1 - qmgr\n"


class FakeAgent:
    """A delivery agent on spool/private/NAME.  decide(addr) returns
    (result, dsn, text); requests are recorded."""

    def __init__(self, spool, name, decide, delay=0.0):
        self.path = os.path.join(spool, "private", name)
        self.decide = decide
        self.delay = delay
        self.requests = []
        self.active = 0
        self.max_active = 0
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.conn, args=(c,),
                             daemon=True).start()

    def conn(self, c):
        c.settimeout(30)
        try:
            while True:
                msg, fds, _, _ = socket.recv_fds(c, 1, 4)
                if not msg:
                    return
                with self.lock:
                    self.active += 1
                    self.max_active = max(self.max_active, self.active)
                try:
                    self.one(c, msg, fds)
                finally:
                    with self.lock:
                        self.active -= 1
        except (OSError, EOFError):
            return
        finally:
            c.close()

    def one(self, c, msg, fds):
        assert msg == b"Q" and len(fds) == 1, (msg, fds)
        fd = fds[0]
        mode = os.fstat(fd).st_mode
        flags = __import__("fcntl").fcntl(fd, __import__("fcntl").F_GETFL)
        content = os.pread(fd, 1 << 20, 0)
        os.close(fd)
        req = attr_wire.read(c)
        rcpts = [attr_wire.read(c) for _ in range(req["nrcpt"])]
        rec = {"req": req, "rcpts": rcpts, "file": content,
               "rdonly": (flags & os.O_ACCMODE) == os.O_RDONLY,
               "regular": stat.S_ISREG(mode)}
        with self.lock:
            self.requests.append(rec)
        if self.delay:
            time.sleep(self.delay)
        for r in rcpts:
            d = self.decide(r["addr"])
            if d == "die":
                c.close()
                raise EOFError
            result, dsn, text = d
            c.sendall(attr_wire.encode([
                ("status", "rcpt"), ("index", r["index"]),
                ("result", result), ("dsn", dsn), ("relay", "fake"),
                ("text", text)]))
        c.sendall(attr_wire.encode([("status", "done")]))


class FakeBounce(FakeAgent):
    """private/bounce: records notice requests, answers ok."""

    def __init__(self, spool, answer="ok"):
        self.answer = answer
        super().__init__(spool, "bounce", None)

    def conn(self, c):
        c.settimeout(30)
        try:
            msg, fds, _, _ = socket.recv_fds(c, 1, 4)
            if not msg:
                return
            for fd in fds:
                os.close(fd)
            req = attr_wire.read(c)
            rcpts = [attr_wire.read(c) for _ in range(req["nrcpt"])]
            with self.lock:
                self.requests.append({"req": req, "rcpts": rcpts})
            if self.answer == "ok":
                c.sendall(attr_wire.encode([("status", "ok"),
                                            ("queue_id", "X")]))
            else:
                c.sendall(attr_wire.encode([("status", "error"),
                                            ("text", "test says no")]))
        except (OSError, EOFError):
            return
        finally:
            c.close()


def sent(decide_ok=True):
    return lambda addr: ("sent", "2.0.0", "delivered to test box")


class QmgrTest(unittest.TestCase):
    table = ("fake.test fake:hop1\n"
             "other.test fake:hop2\n"
             "slow.test slow:hop\n"
             "error.test error:5.1.1 no such user\n"
             "discard.test discard:\n"
             "gone.test gone:x\n")

    def setUp(self):
        self.port = free_port()
        self.t = Tern(
            services=("smtp inet 127.0.0.1:%d y n 20 1 - smtpd\n"
                      "cleanup unix private/cleanup y n 20 0 - cleanup\n"
                      % self.port) + QMGR_LINE)
        src = os.path.join(self.t.etc, "transport")
        with open(src, "w") as f:
            f.write(self.table)
        self.t.ternctl("map", "build", src, check=True)
        self.maps = "lmdb:" + src
        self.t.write_conf("transport_maps = %s\n"
                          "queue_run_delay = 1s\n"
                          "minimal_backoff_time = 1s\n"
                          "maximal_backoff_time = 2s\n"
                          "default_destination_concurrency_limit = 2\n"
                          % self.maps)
        self.agents = []

    def tearDown(self):
        for a in self.agents:
            a.close()
        log = self.t.remove()
        for bad in ("panic:", "fatal:"):
            self.assertEqual([l for l in log.splitlines() if bad in l], [])

    def agent(self, name, decide, **kw):
        a = FakeAgent(self.t.spool, name, decide, **kw)
        self.agents.append(a)
        return a

    def send(self, rcpts, sender="alice@example.org", body="hello\r\n",
             **kw):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
            s.ehlo("client.example.test")
            s.sendmail(sender, rcpts,
                       "Subject: test\r\n\r\n" + body, **kw)

    def spool(self, sub):
        """Queue IDs in spool/sub (not the lock, not temporary files)."""
        return [n for n in queue_files(self.t.spool, sub)
                if re.fullmatch(QID_RE, n)]

    def empty_queue(self, timeout=15):
        return wait_for(lambda: not any(self.spool(d) for d in (
            "incoming", "active", "deferred")), timeout)

    def test_delivered_and_removed(self):
        self.t.start()
        a = self.agent("fake", sent())
        self.send(["u1@fake.test", "u2@fake.test", "u3@other.test"])
        self.assertTrue(self.empty_queue(), self.t.log())
        # One request per next hop, recipients grouped, file read-only.
        hops = sorted((r["req"]["nexthop"], [x["addr"] for x in r["rcpts"]])
                      for r in a.requests)
        self.assertEqual(hops, [("hop1", ["u1@fake.test", "u2@fake.test"]),
                                ("hop2", ["u3@other.test"])])
        for r in a.requests:
            self.assertTrue(r["rdonly"])
            self.assertTrue(r["regular"])
            self.assertEqual(r["req"]["proto"], "deliver/1")
            self.assertEqual(r["req"]["sender"], "alice@example.org")
            q = qfile_reader.parse(r["file"])
            for x in r["rcpts"]:
                self.assertEqual(q.recipients[x["index"]].addr, x["addr"])
        log = self.t.log()
        # The agent logs each recipient's line, not qmgr (one line each).
        self.assertNotIn("status=sent", log)
        self.assertRegex(log, r"qmgr\[\d+\]: [0-9A-Z]{24}: removed")
        self.assertRegex(log, r"from=<alice@example.org>, size=\d+, "
                         r"nrcpt=3 \(queue active\)")

    def test_deferred_then_delivered(self):
        self.t.start()
        state = {"ok": False}

        def decide(addr):
            if state["ok"]:
                return ("sent", "2.0.0", "ok now")
            return ("deferred", "4.2.0", "mailbox busy")
        self.agent("fake", decide)
        self.send(["d1@fake.test"])
        self.assertTrue(wait_for(lambda: self.spool("deferred"), 10),
                        self.t.log())
        qid = self.spool("deferred")[0]
        path = os.path.join(self.t.spool, "deferred", qid)
        st = os.stat(path)
        self.assertGreater(st.st_mtime, time.time() - 1)  # retry time
        with open(path, "rb") as f:
            q = qfile_reader.parse(f.read())
        self.assertEqual(q.recipients[0].status, qfile_reader.RS_PENDING)
        with open(os.path.join(self.t.spool, "defer", qid)) as f:
            self.assertIn("mailbox busy", f.read())
        state["ok"] = True
        self.assertTrue(self.empty_queue(20), self.t.log())
        self.assertFalse(os.path.exists(os.path.join(self.t.spool, "defer",
                                                     qid)))

    def test_partial_success_not_redelivered(self):
        """A recipient delivered once is never offered again."""
        self.t.start()
        state = {"ok": False}

        def decide(addr):
            if addr.startswith("good") or state["ok"]:
                return ("sent", "2.0.0", "ok")
            return ("deferred", "4.2.0", "later")
        a = self.agent("fake", decide)
        self.send(["good@fake.test", "late@fake.test"])
        self.assertTrue(wait_for(lambda: self.spool("deferred"), 10))
        qid = self.spool("deferred")[0]
        with open(os.path.join(self.t.spool, "deferred", qid), "rb") as f:
            q = qfile_reader.parse(f.read())
        self.assertEqual([r.status for r in q.recipients],
                         [qfile_reader.RS_DONE, qfile_reader.RS_PENDING])
        state["ok"] = True
        self.assertTrue(self.empty_queue(20), self.t.log())
        offered = [x["addr"] for r in a.requests for x in r["rcpts"]]
        self.assertEqual(offered.count("good@fake.test"), 1, offered)
        self.assertEqual(offered.count("late@fake.test"), 2, offered)

    def test_bounce_asks_for_notice(self):
        self.t.start()
        b = FakeBounce(self.t.spool)
        self.agents.append(b)
        self.agent("fake", lambda addr: (
            "bounced", "5.1.1", "no such user here")
            if addr.startswith("bad") else ("sent", "2.0.0", "ok"))
        self.send(["bad@fake.test", "ok@fake.test", "x@error.test"])
        self.assertTrue(self.empty_queue(), self.t.log())
        self.assertEqual(len(b.requests), 1, b.requests)
        req = b.requests[0]
        self.assertEqual(req["req"]["kind"], "failure")
        self.assertEqual(req["req"]["proto"], "bounce/1")
        got = sorted((r["addr"], r["action"], r["dsn"], r["text"])
                     for r in req["rcpts"])
        self.assertEqual(got, [
            ("bad@fake.test", "failed", "5.1.1", "no such user here"),
            ("x@error.test", "failed", "5.0.0", "5.1.1 no such user")])
        # error: is qmgr's own answer, so qmgr logs it.
        self.assertIn("to=<x@error.test>, relay=none", self.t.log())
        self.assertIn("status=bounced (5.1.1 no such user)", self.t.log())

    def test_notify_never_and_success(self):
        self.t.start()
        b = FakeBounce(self.t.spool)
        self.agents.append(b)
        self.agent("fake", lambda addr: (
            "bounced", "5.1.1", "nope") if addr.startswith("bad")
            else ("sent", "2.0.0", "fine"))
        self.send(["bad@fake.test"], rcpt_options=["NOTIFY=NEVER"])
        self.assertTrue(self.empty_queue(), self.t.log())
        self.assertEqual(b.requests, [])
        self.send(["good@fake.test"],
                  rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
        self.assertTrue(self.empty_queue(), self.t.log())
        self.assertEqual([r["req"]["kind"] for r in b.requests],
                         ["success"])
        self.assertEqual(b.requests[0]["rcpts"][0]["action"], "delivered")

    def test_bounce_unavailable_keeps_message(self):
        self.t.start()
        self.agent("fake", lambda addr: ("bounced", "5.1.1", "no"))
        self.send(["bad@fake.test"])
        self.assertTrue(wait_for(lambda: self.spool("deferred"), 10),
                        self.t.log())
        qid = self.spool("deferred")[0]
        with open(os.path.join(self.t.spool, "deferred", qid), "rb") as f:
            q = qfile_reader.parse(f.read())
        self.assertEqual(q.recipients[0].status, qfile_reader.RS_FAILED)
        self.assertIn("failure notice not sent, will try again",
                      self.t.log())
        # The bounce service comes: the notice goes, the message leaves.
        b = FakeBounce(self.t.spool)
        self.agents.append(b)
        self.assertTrue(self.empty_queue(20), self.t.log())
        self.assertEqual(len(b.requests), 1)
        self.assertEqual(b.requests[0]["rcpts"][0]["text"], "no")

    def test_discard_and_unknown_transport(self):
        self.t.start()
        self.send(["x@discard.test"])
        self.assertTrue(self.empty_queue(), self.t.log())
        self.assertIn("relay=none", self.t.log())
        self.send(["y@gone.test"])
        self.assertTrue(wait_for(lambda: self.spool("deferred"), 10))
        self.assertIn("status=deferred (mail transport unavailable)",
                      self.t.log())
        self.assertIn("transport gone: cannot connect", self.t.log())

    def test_agent_dies(self):
        self.t.start()
        self.agent("fake", lambda addr: "die")
        self.send(["z@fake.test"])
        self.assertTrue(wait_for(lambda: self.spool("deferred"), 10),
                        self.t.log())
        self.assertIn("delivery agent fake failed", self.t.log())
        self.assertIn("status=deferred (delivery agent failed)",
                      self.t.log())

    def test_concurrency_limit_and_reuse(self):
        self.t.start()
        a = self.agent("slow", sent(), delay=0.3)
        for i in range(8):
            self.send(["s%d@slow.test" % i])
        self.assertTrue(self.empty_queue(30), self.t.log())
        self.assertEqual(len(a.requests), 8)
        self.assertLessEqual(a.max_active, 2)       # the limit in tern.conf
        self.assertGreaterEqual(a.max_active, 1)
        self.assertLess(a.connections, 8)           # connections reused

    def test_failing_destination_slowed_then_rests(self):
        """A next hop that cannot be reached gets one request at a time,
        and after three failures in a row none for a while: its mail is
        deferred without bothering the agent."""
        self.t.start()
        a = self.agent("slow", lambda addr: ("deferred", "4.4.1",
                                             "connect refused"), delay=0.2)
        for i in range(6):
            self.send(["f%d@slow.test" % i])
        self.assertTrue(wait_for(lambda: "failed 3 times in a row: "
                                 "resting for 60s" in self.t.log(), 20),
                        self.t.log())
        self.assertLessEqual(a.max_active, 2)   # the limit, then 1
        asked = len(a.requests)
        self.assertLessEqual(asked, 4)
        self.assertTrue(wait_for(lambda: "delivery temporarily suspended: "
                                 "connect refused" in self.t.log(), 10),
                        self.t.log())
        # While it rests, retries do not reach the agent.
        time.sleep(3)
        self.assertEqual(len(a.requests), asked)
        self.assertTrue(wait_for(lambda: len(self.spool("deferred")) +
                                 len(self.spool("active")) == 6, 5))

    def test_corrupt_file(self):
        self.t.start()
        name = "01JN7W803RJ000GGZZZZZZZZ"
        path = os.path.join(self.t.spool, "incoming", name)
        with open(path, "wb") as f:
            f.write(b"MXXXX garbage")
        if IS_ROOT:
            import pwd
            pw = pwd.getpwnam(TEST_USER)
            os.chown(path, pw.pw_uid, pw.pw_gid)
        self.assertTrue(wait_for(lambda: self.spool("corrupt") == [name],
                                 10), self.t.log())
        self.assertIn("%s: corrupt queue file moved to corrupt/" % name,
                      self.t.log())
        # The manager goes on working.
        self.agent("fake", sent())
        self.send(["after@fake.test"])
        self.assertTrue(self.empty_queue(), self.t.log())

    def test_restart_recovers_active(self):
        """A message left in active/ by a killed qmgr is delivered once
        the queue manager runs again."""
        self.t.start()
        self.agent("fake", lambda addr: ("deferred", "4.0.0", "not yet"))
        self.send(["r@fake.test"])
        self.assertTrue(wait_for(lambda: self.spool("deferred"), 10))
        self.t.stop()
        qid = self.spool("deferred")[0]
        os.rename(os.path.join(self.t.spool, "deferred", qid),
                  os.path.join(self.t.spool, "active", qid))
        self.agents[0].decide = lambda addr: ("sent", "2.0.0", "ok")
        self.t.start()
        self.assertTrue(self.empty_queue(), self.t.log())
        self.assertIn("1 messages left in active/ go through again",
                      self.t.log())

    def test_expired_message_bounces(self):
        self.t.write_conf("transport_maps = %s\nqueue_run_delay = 1s\n"
                          "minimal_backoff_time = 1s\n"
                          "maximal_backoff_time = 1s\n"
                          "maximal_queue_lifetime = 2s\n" % self.maps)
        self.t.start()
        b = FakeBounce(self.t.spool)
        self.agents.append(b)
        self.agent("fake", lambda addr: ("deferred", "4.4.1",
                                         "connection refused"))
        self.send(["late@fake.test"])
        self.assertTrue(self.empty_queue(20), self.t.log())
        self.assertEqual(len(b.requests), 1, self.t.log())
        r = b.requests[0]["rcpts"][0]
        self.assertEqual((r["action"], r["dsn"]), ("failed", "4.4.7"))
        self.assertIn("message expired", r["text"])

    def test_bounce_lifetime_for_mail_from_null(self):
        """Mail from <> expires after bounce_queue_lifetime, not the
        (here much longer) maximal_queue_lifetime."""
        self.t.write_conf("transport_maps = %s\nqueue_run_delay = 1s\n"
                          "minimal_backoff_time = 1s\n"
                          "maximal_backoff_time = 1s\n"
                          "maximal_queue_lifetime = 1d\n"
                          "bounce_queue_lifetime = 2s\n" % self.maps)
        self.t.start()
        b = FakeBounce(self.t.spool)
        self.agents.append(b)
        self.agent("fake", lambda addr: ("deferred", "4.4.1", "refused"))
        self.send(["n@fake.test"], sender="")
        self.send(["a@fake.test"])
        self.assertTrue(wait_for(lambda: len(b.requests) == 1, 20),
                        self.t.log())
        r = b.requests[0]["rcpts"][0]
        self.assertEqual((r["addr"], r["action"], r["dsn"]),
                         ("n@fake.test", "failed", "4.4.7"))
        # The ordinary message is still being retried.  (deferred/ and
        # active/ are listed one after the other while qmgr moves the
        # file between them: a single look may miss it.)
        time.sleep(2)
        self.assertEqual(len(b.requests), 1)
        self.assertTrue(wait_for(lambda: len(self.spool("deferred")) +
                                 len(self.spool("active")) == 1, 5))
        self.assertEqual(self.t.log_count(r"qmgr\[\d+\]: %s: removed"
                                          % QID_RE), 1)

    def test_delay_warning_once(self):
        self.t.write_conf("transport_maps = %s\nqueue_run_delay = 1s\n"
                          "minimal_backoff_time = 1s\n"
                          "maximal_backoff_time = 1s\n"
                          "delay_warning_time = 2s\n" % self.maps)
        self.t.start()
        b = FakeBounce(self.t.spool)
        self.agents.append(b)
        a = self.agent("fake", lambda addr: ("deferred", "4.2.1",
                                             "try later"))
        self.send(["w1@fake.test", "w2@fake.test"],
                  rcpt_options=[])
        self.send(["never@fake.test"], rcpt_options=["NOTIFY=FAILURE"])
        # Several passes after the warning time: one warning per message
        # whose recipients want one, none for NOTIFY=FAILURE alone.
        self.assertTrue(wait_for(lambda: len(a.requests) >= 10, 30))
        time.sleep(1)
        kinds = [r["req"]["kind"] for r in b.requests]
        self.assertEqual(kinds, ["delay"], b.requests)
        got = sorted((r["addr"], r["action"], r["dsn"], r["text"])
                     for r in b.requests[0]["rcpts"])
        self.assertEqual(got, [("w1@fake.test", "delayed", "4.2.1",
                                "try later"),
                               ("w2@fake.test", "delayed", "4.2.1",
                                "try later")])
        self.assertTrue(wait_for(lambda: self.spool("deferred") or
                                 self.spool("active"), 5))


if __name__ == "__main__":
    unittest.main()
