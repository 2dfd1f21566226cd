# SPDX-License-Identifier: ISC
"""Requests from ternctl to the queue manager (docs/ipc.md, "ternctl ->
qmgr"): flush, and delete, hold or requeue of a message qmgr holds in
active/.  Spoken here on spool/private/qmgr as ternctl speaks it, against
the scripted delivery agents of test_qmgr, with a gate that keeps a
delivery in flight for as long as a test needs."""
import os
import socket
import threading
import time
import unittest

import qfile_reader
from tern_fixture import wait_for
import test_qmgr


def ask(spool, line, timeout=10):
    """One request line, one reply line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(os.path.join(spool, "private", "qmgr"))
        s.sendall(line)
        data = b""
        while True:
            b = s.recv(256)
            if not b:
                return data
            data += b


class Gate:
    """decide() for a FakeAgent that blocks until opened."""

    def __init__(self, answer=("sent", "2.0.0", "delivered")):
        self.ev = threading.Event()
        self.answer = answer
        self.seen = []

    def __call__(self, addr):
        self.seen.append(addr)
        self.ev.wait(30)
        return self.answer


class QmgrCtlTest(test_qmgr.QmgrTest):
    def conf(self, extra=""):
        self.t.write_conf("transport_maps = %s\n"
                          "queue_run_delay = 1s\n"
                          "minimal_backoff_time = 1h\n"
                          "maximal_backoff_time = 2h\n"
                          "default_destination_concurrency_limit = 1\n"
                          % self.maps + extra)

    def only(self, sub):
        ids = self.spool(sub)
        self.assertEqual(len(ids), 1, (sub, ids, self.t.log()))
        return ids[0]

    def status(self, sub, qid):
        with open(os.path.join(self.t.spool, sub, qid), "rb") as f:
            return [r.status for r in qfile_reader.parse(f.read()).recipients]

    def test_flush_takes_deferred_mail_now(self):
        self.conf()
        self.t.start()
        state = {"ok": False}
        a = self.agent("fake", lambda addr: ("sent", "2.0.0", "ok")
                       if state["ok"] else ("deferred", "4.2.0", "busy"))
        self.send(["f@fake.test"])
        self.assertTrue(wait_for(lambda: self.spool("deferred"), 10),
                        self.t.log())
        qid = self.only("deferred")
        # Due in an hour: no scan takes it before then.
        self.assertGreater(os.stat(os.path.join(
            self.t.spool, "deferred", qid)).st_mtime, time.time() + 3000)
        time.sleep(2.5)
        self.assertEqual(len(a.requests), 1)
        state["ok"] = True
        self.assertEqual(ask(self.t.spool, b"flush\n"), b"ok\n")
        # Counted at the agent: a look at deferred/ then active/ can miss
        # the file while qmgr moves it from one to the other.
        self.assertTrue(wait_for(lambda: len(a.requests) == 2, 10),
                        self.t.log())
        self.assertTrue(self.empty_queue(10), self.t.log())
        self.assertRegex(self.t.log(), r"flush of the deferred queue "
                         r"asked for by ternctl \(uid %d\)" % os.getuid())

    def test_flush_revives_resting_destination(self):
        self.conf()
        self.t.start()
        state = {"ok": False}
        a = self.agent("slow", lambda addr: ("sent", "2.0.0", "ok")
                       if state["ok"] else ("deferred", "4.4.1", "refused"),
                       delay=0.3)
        for i in range(4):
            self.send(["r%d@slow.test" % i])
        self.assertTrue(wait_for(lambda: "resting for 60s" in self.t.log(),
                                 20), self.t.log())
        self.assertTrue(wait_for(lambda: len(self.spool("deferred")) == 4,
                                 10), self.t.log())
        state["ok"] = True
        self.assertEqual(ask(self.t.spool, b"flush\n"), b"ok\n")
        self.assertTrue(self.empty_queue(15), self.t.log())
        self.assertNotIn("delivery temporarily suspended",
                         self.t.log().split("flush of the deferred")[1])
        self.assertGreaterEqual(len(a.requests), 4)

    def test_hold_in_flight_waits_for_the_agent(self):
        self.conf()
        self.t.start()
        gate = Gate()
        self.agent("fake", gate)
        self.send(["h1@fake.test", "h2@other.test"])
        self.assertTrue(wait_for(lambda: gate.seen, 10), self.t.log())
        qid = self.only("active")
        self.assertEqual(ask(self.t.spool, ("hold %s\n" % qid).encode()),
                         b"ok\n")
        # The deliveries in flight (one per next hop) are not cut short.
        time.sleep(0.5)
        self.assertEqual(self.spool("active"), [qid])
        gate.ev.set()
        self.assertTrue(wait_for(lambda: self.spool("hold") == [qid], 10),
                        self.t.log())
        self.assertEqual(self.spool("active"), [])
        # What was delivered is recorded: never delivered again.
        st = self.status("hold", qid)
        self.assertIn(qfile_reader.RS_DONE, st)
        self.assertRegex(self.t.log(), r"%s: held by ternctl \(uid %d\)"
                         % (qid, os.getuid()))
        # qmgr leaves hold/ alone.
        time.sleep(2.5)
        self.assertEqual(self.spool("hold"), [qid])

    def test_delete_drops_waiting_jobs_at_once(self):
        self.conf()
        self.t.start()
        gate = Gate()
        a = self.agent("fake", gate)
        self.send(["first@fake.test"])
        self.assertTrue(wait_for(lambda: gate.seen, 10), self.t.log())
        first = self.only("active")
        self.send(["second@fake.test"])   # waits: concurrency limit 1
        self.assertTrue(wait_for(lambda: len(self.spool("active")) == 2,
                                 10), self.t.log())
        second = [q for q in self.spool("active") if q != first][0]
        self.assertEqual(ask(self.t.spool, ("delete %s\n" %
                                            second).encode()), b"ok\n")
        # Removed before the agent frees up: its job had not started.
        self.assertTrue(wait_for(lambda: self.spool("active") == [first],
                                 5), self.t.log())
        self.assertRegex(self.t.log(), r"%s: removed by ternctl \(uid %d\)"
                         % (second, os.getuid()))
        gate.ev.set()
        self.assertTrue(self.empty_queue(10), self.t.log())
        offered = [x["addr"] for r in a.requests for x in r["rcpts"]]
        self.assertEqual(offered, ["first@fake.test"])
        for d in ("bounce", "defer"):
            self.assertFalse(os.path.exists(os.path.join(self.t.spool, d,
                                                         second)))

    def test_delete_wins_over_hold(self):
        self.conf()
        self.t.start()
        gate = Gate(("deferred", "4.2.0", "later"))
        self.agent("fake", gate)
        self.send(["dw@fake.test"])
        self.assertTrue(wait_for(lambda: gate.seen, 10), self.t.log())
        qid = self.only("active")
        for verb in (b"delete ", b"hold "):
            self.assertEqual(ask(self.t.spool, verb + qid.encode() +
                                 b"\n"), b"ok\n")
        gate.ev.set()
        self.assertTrue(self.empty_queue(10), self.t.log())
        self.assertEqual(self.spool("hold"), [])
        self.assertIn("%s: removed by ternctl" % qid, self.t.log())

    def test_requeue_retries_at_once(self):
        self.conf()
        self.t.start()
        gate = Gate(("deferred", "4.2.0", "later"))
        a = self.agent("fake", gate)
        self.send(["rq@fake.test"])
        self.assertTrue(wait_for(lambda: gate.seen, 10), self.t.log())
        qid = self.only("active")
        self.assertEqual(ask(self.t.spool, ("requeue %s\n" %
                                            qid).encode()), b"ok\n")
        gate.ev.set()
        # Not deferred for an hour: back through incoming/ at once.
        self.assertTrue(wait_for(lambda: len(a.requests) >= 2, 10),
                        self.t.log())
        self.assertIn("%s: requeued by ternctl" % qid, self.t.log())
        self.assertTrue(wait_for(lambda: self.spool("deferred") == [qid],
                                 10), self.t.log())

    def test_absent_and_bad_requests(self):
        self.conf()
        self.t.start()
        sp = self.t.spool
        self.assertEqual(ask(sp, b"delete 01JN7W803RJ000GGZZZZZZZZ\n"),
                         b"absent\n")
        self.assertEqual(ask(sp, b"hold ../../etc/passwd\n"),
                         b"error not a queue ID\n")
        self.assertEqual(ask(sp, b"launch\n"), b"error unknown request\n")
        self.assertEqual(ask(sp, b"flush\x01\n"),
                         b"error bad byte in request\n")
        self.assertEqual(ask(sp, b"d" * 300), b"error request too long\n")
        # A request in pieces is one request.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(os.path.join(sp, "private", "qmgr"))
            s.sendall(b"fl")
            time.sleep(0.3)
            s.sendall(b"ush\n")
            self.assertEqual(s.recv(64), b"ok\n")
        # Wake-ups still work beside requests, and qmgr is still there.
        self.agent("fake", lambda addr: ("sent", "2.0.0", "ok"))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as w:
            w.connect(os.path.join(sp, "private", "qmgr"))
            w.sendall(b"W")
            self.send(["after@fake.test"])
            self.assertTrue(self.empty_queue(10), self.t.log())

    def test_silent_client_is_closed(self):
        self.conf()
        self.t.start()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(20)
            s.connect(os.path.join(self.t.spool, "private", "qmgr"))
            s.sendall(b"hol")
            t0 = time.monotonic()
            self.assertEqual(s.recv(64), b"")
            self.assertLess(time.monotonic() - t0, 15)
        self.assertIn("a ternctl request did not arrive in 10s",
                      self.t.log())


# The QmgrTest cases run in test_qmgr already.
for _name in [n for n in dir(test_qmgr.QmgrTest) if n.startswith("test_")]:
    if _name not in QmgrCtlTest.__dict__:
        setattr(QmgrCtlTest, _name, None)

if __name__ == "__main__":
    unittest.main()
