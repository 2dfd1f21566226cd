# SPDX-License-Identifier: ISC
"""ternctl queue: list (text and --json), show, flush, delete, hold,
release and requeue, as an administrator runs them on a running
instance (smtpd, cleanup, qmgr, bounce, virtual and the SMTP client,
which still defers all remote mail, so remote mail waits in deferred/).

Besides the plain cases: addresses and reasons with quotes, UTF-8 and
control bytes (queue files written here, since smtpd refuses such
addresses), corrupt files, a message in active/ handled through a
scripted qmgr on private/qmgr (ok, absent, error), by the real qmgr
while its delivery is in flight, and with no qmgr at all, an unprivileged user refused, hold ALL / release ALL / delete over
and over while mail arrives and qmgr works (every queue ID ends in
exactly one place, delivered, or deleted by us), and a listing of 20,000
queue files whose peak memory stays that of a small queue."""
import json
import os
import pwd
import random
import re
import smtplib
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

import qfile_reader
import test_qmgr
from tern_fixture import (BUILD, HELO, IS_ROOT, QID_RE, TEST_USER, Tern,
                          free_port, smtp_services, wait_for)

VDOMAIN = "virt.example.test"
VADDR = "alice@" + VDOMAIN
VUID = 5000 if IS_ROOT else os.geteuid()
VGID = 5001 if IS_ROOT else os.getegid()
WAIT = 20.0
QUEUES = ("incoming", "active", "deferred", "hold", "corrupt")
SERVICES = ("bounce unix private/bounce y n 50 0 - bounce\n"
            "virtual unix private/virtual n n - 0 - virtual\n"
            "smtp-client unix private/smtp y n - 0 - smtp\n")
QMGR = "qmgr unix private/qmgr y n 1 1 - qmgr\n"
REMOTE_REASON = ("Host or domain name not found. Name service error for "
                 "name=remote.example type=MX: remote.example: error "
                 "answer (rcode 5)")
TERNCTL = os.path.join(BUILD, "cli", "ternctl")
VERBS = ("list", "show", "flush", "delete", "hold", "release", "requeue")

# ---- queue files written here --------------------------------------------
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def b32(n, digits):
    return "".join(CROCKFORD[(n >> (5 * (digits - 1 - i))) & 31]
                   for i in range(digits))


def make_qid(sec, usec, seq=0, pid=4242, rnd=0):
    """A valid queue ID (lib/qid.h: 8 + 4 + 2 + 6 + 4 digits)."""
    return (b32(sec, 8) + b32(usec, 4) + b32(seq, 2) + b32(pid, 6) +
            b32(rnd, 4))


_seq = [0]


def fresh_qid():
    _seq[0] += 1
    return make_qid(int(time.time()), _seq[0] % 1000000, 0, os.getpid(),
                    random.randrange(1 << 20))


def rec(t, payload):
    return t + struct.pack(">I", len(payload)) + payload


def qstr(b):
    return struct.pack(">H", len(b)) + b


def qfile_bytes(sender, rcpts, content=b"Subject: x\r\n\r\nbody\r\n",
                arrival=1700000000):
    """A queue file (docs/queue-file.md); rcpts: [(addr, status)]."""
    out = rec(b"M", b"TERNQ1") + rec(b"T", struct.pack(">QI", arrival, 5))
    out += rec(b"S", qstr(sender) + b"\0\0" + qstr(b"") +
               struct.pack(">Q", 0))
    for addr, status in rcpts:
        out += rec(b"R", qstr(addr) + b"\0" + qstr(b"") + qstr(b""))
        out += rec(b"D", bytes([status]))
    out += rec(b"B", b"") + rec(b"X", content)
    out += rec(b"E", struct.pack(">QI", len(content), len(rcpts)))
    qfile_reader.parse(out)         # well-formed, or the test is wrong
    return out


def put_file(path, data, owner=True):
    with open(path, "wb") as f:
        f.write(data)
    if IS_ROOT and owner:
        pw = pwd.getpwnam(TEST_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


# ---- the tests' base ------------------------------------------------------
class QueueBase(unittest.TestCase):
    def setUp(self):
        self.t = None
        self.port = free_port()

    def tearDown(self):
        if self.t is not None:
            log = self.t.remove()
            if hasattr(self, "_outcome") and not self._outcome.success:
                print(log[-8000:])

    def boot(self, qmgr=True, backoff="1h", start=True, extra=""):
        """An instance; remote mail is deferred for backoff."""
        self.t = Tern(self.services(qmgr))
        t = self.t
        self.vbase = os.path.join(t.dir, "vmail")
        os.makedirs(self.vbase)
        os.chmod(self.vbase, 0o700)
        if IS_ROOT:
            os.chown(self.vbase, VUID, VGID)
        t.write_conf("\n".join([
            "myhostname = mx.example.test",
            "mydestination = localhost",
            "alias_maps =",
            "virtual_mailbox_domains = %s" % VDOMAIN,
            "virtual_mailbox_base = %s" % self.vbase,
            "virtual_mailbox_maps = inline:{ %s=%s/alice/ }" % (
                VADDR, VDOMAIN),
            "virtual_uid = %d" % VUID,
            "virtual_gid = %d" % VGID,
            "queue_run_delay = 1s",
            "minimal_backoff_time = %s" % backoff,
            "maximal_backoff_time = %s" % backoff,
        ]) + "\n" + extra)
        if start:
            t.start()
            if qmgr:
                self.assertTrue(wait_for(lambda: t.children("qmgr"),
                                         timeout=WAIT), "no qmgr")

    def services(self, qmgr):
        return smtp_services(self.port) + SERVICES + (QMGR if qmgr else "")

    # ---- mail -------------------------------------------------------------
    def send(self, rcpts, sender="sender@example.org", subject="test",
             mail_opts=(), rcpt_opts=(), smtp=None):
        body = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
                "Message-ID: <%s.%f@example.org>\r\n\r\n"
                "first line\r\n.dotted\r\nlast line\r\n" % (
                    sender, rcpts[0], subject, subject.replace(" ", "-"),
                    time.time())).encode()
        s = smtp or smtplib.SMTP("127.0.0.1", self.port,
                                 local_hostname=HELO, timeout=30)
        try:
            if smtp is None:
                s.ehlo()
            code, resp = s.mail(sender, list(mail_opts))
            self.assertEqual(code, 250, resp)
            for r in rcpts:
                code, resp = s.rcpt(r, list(rcpt_opts))
                self.assertEqual(code, 250, resp)
            code, resp = s.data(body)
            self.assertEqual(code, 250, resp)
        finally:
            if smtp is None:
                s.quit()
        m = re.match(r"^2\.0\.0 Ok: queued as (%s)$" % QID_RE,
                     resp.decode())
        self.assertIsNotNone(m, resp)
        return m.group(1)

    def where(self, qid):
        return [q for q in QUEUES
                if os.path.exists(os.path.join(self.t.spool, q, qid))]

    def wait_in(self, qid, queue, timeout=WAIT):
        ok = wait_for(lambda: self.where(qid) == [queue], timeout=timeout)
        self.assertTrue(ok, "%s not in %s/ but in %r\n%s" % (
            qid, queue, self.where(qid), self.t.log()[-4000:]))

    def deferred_once(self, qid):
        """Wait until qid is in deferred/ with its defer/ log."""
        self.wait_in(qid, "deferred")
        self.assertTrue(wait_for(lambda: os.path.exists(
            os.path.join(self.t.spool, "defer", qid)), timeout=WAIT))

    def outcomes(self, qid, status="deferred"):
        return len(re.findall(r"(?m)\b%s: to=<[^>]*>, .*status=%s " % (
            qid, status), self.t.log()))

    # ---- ternctl ----------------------------------------------------------
    def q(self, *args, user=None, timeout=120):
        """ternctl queue ARGS; CompletedProcess with text output."""
        return self.t.ternctl("queue", *args, user=user, timeout=timeout)

    def qb(self, *args):
        """ternctl queue ARGS with bytes output."""
        return subprocess.run([TERNCTL, "-c", self.t.etc, "queue"] +
                              list(args), capture_output=True, timeout=60)

    def as_nobody(self, *args):
        pw = pwd.getpwnam("nobody")
        return subprocess.run(
            ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
             "--clear-groups", TERNCTL, "-c", self.t.etc, "queue"] +
            list(args), capture_output=True, text=True, timeout=60)

    def list_json(self):
        r = self.qb("list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = {}
        for line in r.stdout.decode("utf-8").splitlines():
            obj = json.loads(line)
            out[obj["queue_id"]] = obj
        return out

    def content(self, qid, queue):
        return qfile_reader.read(os.path.join(self.t.spool, queue, qid))


# ---- usage and help --------------------------------------------------------
class UsageTest(QueueBase):
    def test_help_and_usage(self):
        self.t = Tern("")
        r = self.q("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for v in VERBS:
            self.assertIn("queue %s" % v, r.stdout)
        for v in VERBS:
            r = self.q(v, "--help")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith(
                "usage: ternctl [-c config_dir] queue %s" % v), r.stdout)
        for args in [(), ("frobnicate",), ("delete",), ("hold",),
                     ("delete", "ALL", make_qid(1700000000, 0)),
                     ("list", "--frob"), ("show",), ("show", "--body"),
                     ("hold", "--deferred", "ALL"), ("flush", "now")]:
            r = self.q(*args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn("usage: ternctl", r.stderr)
        # Never started: the queue directories are not there yet.
        r = self.q("list")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ternctl: %s: no such directory (tern "
                         "creates it when it starts)\n" % self.t.spool)


# ---- list and show -----------------------------------------------------------
class ListShowTest(QueueBase):
    def test_empty_queue(self):
        self.boot()
        r = self.q("list")
        self.assertEqual((r.returncode, r.stdout), (0, "Mail queue is "
                                                       "empty\n"))
        r = self.q("list", "--json")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_list_text_and_json(self):
        self.boot()
        t = self.t
        m1 = self.send(["a@remote.example", "b@remote.example"],
                       sender="s1@example.org", subject="one")
        m2 = self.send(["c@remote.example"], sender="", subject="two")
        for m in (m1, m2):
            self.deferred_once(m)
        r = self.q("hold", m2)
        self.assertEqual(r.stdout, "ternctl: %s: held\n" % m2, r.stderr)
        # Written here: a held message with every awkward byte, its
        # last reason, and two files that do not parse.
        odd = fresh_qid()
        put_file(os.path.join(t.spool, "hold", odd), qfile_bytes(
            b'we"ird\\\x01\x7f\xff caf\xc3\xa9@example.org',
            [(b"done@example.org", 3), (b"r\xc3\xa9@example.org", 0),
             (b"tab\there@example.org", 0)]))
        put_file(os.path.join(t.spool, "defer", odd),
                 b"1\tdelayed\t4.4.1\tnone\tsaid \"no\" \x1b[31m red\n"
                 b"2\tdelayed\t4.4.2\tnone\told reason\n"
                 b"2\tdelayed\t4.4.2\tnone\tnew reason\xff\n"
                 b"9\tdelayed\t4.4.2\tnone\tno such recipient\n"
                 b"garbage line\n")
        bad1, bad2 = fresh_qid(), fresh_qid()
        put_file(os.path.join(t.spool, "hold", bad1), b"TERNQ1 garbage")
        good = qfile_bytes(b"x@example.org", [(b"y@example.org", 0)])
        put_file(os.path.join(t.spool, "corrupt", bad2), good[:-3])
        put_file(os.path.join(t.spool, "hold", "not-a-queue-id"), good)

        r = self.qb("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode("utf-8")
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("-Queue ID-"), lines[0])
        total = (len(self.content(m1, "deferred").content) +
                 len(self.content(m2, "hold").content) + 20 + 14 +
                 len(good) - 3)
        self.assertEqual(lines[-1], "-- %d Kbytes in 5 Requests." % (
            (total + 1023) // 1024))
        date = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d"
        size1 = len(self.content(m1, "deferred").content)
        i = lines.index(next(x for x in lines if x.startswith(m1)))
        self.assertRegex(lines[i], r"^%s  +%d %s  s1@example\.org$" % (
            m1, size1, date))
        # One reason line for both recipients (the same reason).
        self.assertEqual(lines[i + 1:i + 5], [
            "(%s)" % REMOTE_REASON, " " * 56 + "a@remote.example",
            " " * 56 + "b@remote.example", ""])
        i = lines.index(next(x for x in lines if x.startswith(m2)))
        self.assertRegex(lines[i], r"^%s! +\d+ %s  MAILER-DAEMON$" % (
            m2, date))
        self.assertEqual(lines[i + 1:i + 3], [
            "(%s)" % REMOTE_REASON, " " * 56 + "c@remote.example"])
        i = lines.index(next(x for x in lines if x.startswith(odd)))
        self.assertRegex(lines[i], r"^%s! +20 %s  we\"ird\\x5c\\x01"
                         r"\\x7f\\xff café@example\.org$" % (odd, date))
        self.assertEqual(lines[i + 1:i + 6], [
            '(said "no" \\x1b[31m red)', " " * 56 + "ré@example.org",
            "(new reason\\xff)", " " * 56 + "tab\\x09here@example.org", ""])
        self.assertRegex(out, r"(?m)^%s# +14 %s  \(corrupt queue file: "
                         r".+\)$" % (bad1, date))
        self.assertRegex(out, r"(?m)^%s# +%d %s  \(corrupt queue file: "
                         r".+\)$" % (bad2, len(good) - 3, date))
        self.assertNotIn("done@example.org", out)

        js = self.list_json()
        self.assertEqual(set(js), {m1, m2, odd, bad1, bad2})
        now = time.time()
        j = js[m1]
        self.assertEqual(j["queue_name"], "deferred")
        self.assertEqual(j["sender"], "s1@example.org")
        self.assertEqual(j["message_size"], size1)
        self.assertLess(abs(j["arrival_time"] - now), 300)
        self.assertEqual(j["recipients"], [
            {"address": "a@remote.example", "delay_reason": REMOTE_REASON},
            {"address": "b@remote.example", "delay_reason": REMOTE_REASON}])
        self.assertEqual((js[m2]["queue_name"], js[m2]["sender"]),
                         ("hold", ""))
        j = js[odd]
        self.assertEqual(j["queue_name"], "hold")
        self.assertEqual(j["arrival_time"], 1700000000)
        self.assertEqual(j["sender"],
                         'we"ird\\\x01\x7f\ufffd café@example.org')
        self.assertEqual(j["recipients"], [
            {"address": "ré@example.org",
             "delay_reason": 'said "no" \x1b[31m red'},
            {"address": "tab\there@example.org",
             "delay_reason": "new reason\ufffd"}])
        for bad, queue in ((bad1, "hold"), (bad2, "corrupt")):
            self.assertEqual((js[bad]["queue_name"], js[bad]["corrupt"],
                              js[bad]["recipients"]), (queue, True, []))
            self.assertTrue(js[bad]["reason"])

    def test_show(self):
        self.boot()
        m = self.send(["x@remote.example"], sender="s@example.org",
                      subject="show me",
                      mail_opts=["RET=HDRS", "ENVID=env123"],
                      rcpt_opts=["NOTIFY=SUCCESS,DELAY",
                                 "ORCPT=rfc822;orig@remote.example"])
        self.deferred_once(m)
        qf = self.content(m, "deferred")
        data = qf.content
        cut = data.index(b"\r\n\r\n")
        env = self.qb("show", m, "--envelope")
        self.assertEqual(env.returncode, 0, env.stderr)
        e = env.stdout.decode()
        self.assertIn("queue_id: %s\nqueue_name: deferred\n" % m, e)
        self.assertRegex(e, r"(?m)^arrival_time: \w{3} .* \(\d+\.\d{6}\)$")
        self.assertIn("message_size: %d\n" % len(data), e)
        self.assertRegex(e, r"(?m)^client: .*\[127\.0\.0\.1\]:\d+, "
                         r"helo=%s, protocol=ESMTP$" % re.escape(HELO))
        self.assertIn("sender: <s@example.org> RET=HDRS ENVID=env123\n", e)
        self.assertIn("recipient: <x@remote.example> NOTIFY=SUCCESS,DELAY "
                      "ORCPT=rfc822;orig@remote.example, status=pending\n"
                      "  last delay: ", e)
        self.assertIn("(%s)\n" % REMOTE_REASON, e)
        r = self.qb("show", m, "--headers")
        self.assertEqual((r.returncode, r.stdout), (0, data[:cut + 2]))
        self.assertTrue(r.stdout.startswith(b"Received: "))
        self.assertIn(b"Subject: show me\r\n", r.stdout)
        r = self.qb("show", m, "--body")
        self.assertEqual((r.returncode, r.stdout),
                         (0, b"first line\r\n.dotted\r\nlast line\r\n"))
        r = self.qb("show", m)
        self.assertEqual((r.returncode, r.stdout),
                         (0, env.stdout + b"\n" + data))
        r = self.qb("show", m, "--headers", "--body")
        self.assertEqual(r.stdout, data)
        # A held message is found too; unknown and malformed IDs fail.
        self.q("hold", m)
        r = self.qb("show", m, "--envelope")
        self.assertIn(b"queue_name: hold\n", r.stdout)
        nope = make_qid(1700000000, 1)
        r = self.q("show", nope)
        self.assertEqual((r.returncode, r.stderr), (
            1, "ternctl: %s: no such message in the queue\n" % nope))
        r = self.q("show", "../../etc/passwd")
        self.assertEqual((r.returncode, r.stderr), (
            1, "ternctl: ../../etc/passwd: not a queue ID\n"))
        # A corrupt file is named as such.
        bad = fresh_qid()
        put_file(os.path.join(self.t.spool, "hold", bad), b"TERNQ1")
        r = self.q("show", bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ternctl: %s: corrupt queue file: " % bad, r.stderr)


# ---- delete, hold, release, requeue, flush -----------------------------------
class OpsTest(QueueBase):
    def test_delete(self):
        self.boot()
        t = self.t
        m1 = self.send(["a@remote.example"])
        m2 = self.send(["b@remote.example"])
        for m in (m1, m2):
            self.deferred_once(m)
        nope = make_qid(1700000000, 2)
        r = self.q("delete", m1, nope, "nonsense")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "ternctl: %s: removed\n" % m1)
        self.assertEqual(r.stderr, "ternctl: %s: no such message in the "
                         "queue\nternctl: nonsense: not a queue ID\n" % nope)
        self.assertEqual(self.where(m1), [])
        self.assertFalse(os.path.exists(os.path.join(t.spool, "defer", m1)))
        self.assertEqual(self.where(m2), ["deferred"])
        self.assertEqual(t.log_count(r"(?m)\b%s: removed by ternctl "
                                     r"\(uid %d\)$" % (m1, os.getuid())), 1)
        # No notice to the sender, and the same ID again is unknown.
        time.sleep(1.5)
        self.assertEqual(t.log_count(r"(?m)\b%s: .*notification" % m1), 0)
        self.assertEqual(t.log_count(r"(?m): from=<>, "), 0)
        r = self.q("delete", m1)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such message in the queue", r.stderr)

    def test_delete_all_and_deferred_only(self):
        self.boot()
        ms = [self.send(["r%d@remote.example" % i]) for i in range(3)]
        for m in ms:
            self.deferred_once(m)
        self.assertEqual(self.q("hold", ms[2]).returncode, 0)
        r = self.q("delete", "--deferred", ms[2])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ternctl: %s: in hold/: delete does "
                         "not apply there\n" % ms[2])
        r = self.q("delete", "ALL", "--deferred")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.splitlines()), sorted(
            ["ternctl: %s: removed" % m for m in ms[:2]] +
            ["ternctl: 2 messages removed"]))
        self.assertEqual([self.where(m) for m in ms], [[], [], ["hold"]])
        r = self.q("delete", "ALL")
        self.assertEqual(r.stdout, "ternctl: %s: removed\n"
                         "ternctl: 1 message removed\n" % ms[2])
        self.assertEqual(self.q("list").stdout, "Mail queue is empty\n")
        r = self.q("delete", "ALL")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "ternctl: 0 messages removed\n"))

    def test_hold_release_requeue(self):
        # No qmgr at first: mail waits in incoming/.
        self.boot(qmgr=False)
        t = self.t
        mv = self.send([VADDR], subject="local")
        mr = self.send(["z@remote.example"], subject="remote")
        self.assertEqual([self.where(mv), self.where(mr)],
                         [["incoming"], ["incoming"]])
        r = self.q("hold", mv, mr)
        self.assertEqual((r.returncode, r.stdout), (0, (
            "ternctl: %s: held\nternctl: %s: held\n" % (mv, mr))))
        r = self.q("hold", mv)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "ternctl: %s: already in hold/\n" % mv))
        self.assertEqual({k: v["queue_name"] for k, v in
                          self.list_json().items()},
                         {mv: "hold", mr: "hold"})
        # qmgr comes; held mail stays where it is.
        t.write_services(self.services(True))
        self.assertEqual(t.ternctl("reload").returncode, 0)
        self.assertTrue(wait_for(lambda: t.children("qmgr"), timeout=WAIT))
        time.sleep(2.5)
        self.assertEqual([self.where(mv), self.where(mr)],
                         [["hold"], ["hold"]])
        maildir = os.path.join(self.vbase, VDOMAIN, "alice", "new")
        self.assertFalse(os.path.isdir(maildir) and os.listdir(maildir))
        # Released: delivered at once.
        r = self.q("release", mv)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "ternctl: %s: released\n" % mv))
        self.assertTrue(wait_for(lambda: os.path.isdir(maildir) and
                                 len(os.listdir(maildir)) == 1,
                                 timeout=WAIT), t.log()[-3000:])
        self.assertTrue(wait_for(lambda: t.log_count(
            r"(?m)\b%s: removed$" % mv) == 1, timeout=WAIT))
        for verb, m in (("held", mv), ("held", mr), ("released", mv)):
            self.assertEqual(t.log_count(r"(?m)\b%s: %s by ternctl "
                                         r"\(uid %d\)$" % (
                                             m, verb, os.getuid())), 1)
        r = self.q("hold", mv)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s: no such message in the queue" % mv, r.stderr)
        # Requeued from hold/: tried (and deferred) at once.
        r = self.q("requeue", mr)
        self.assertEqual(r.stdout, "ternctl: %s: requeued\n" % mr)
        self.deferred_once(mr)
        self.assertEqual(self.outcomes(mr), 1)
        r = self.q("release", mr)
        self.assertEqual((r.returncode, r.stderr), (
            1, "ternctl: %s: in deferred/: release does not apply "
            "there\n" % mr))
        r = self.q("requeue", "ALL")
        self.assertEqual(r.stdout, "ternctl: %s: requeued\n"
                         "ternctl: 1 message requeued\n" % mr)
        self.assertTrue(wait_for(lambda: self.outcomes(mr) == 2,
                                 timeout=WAIT))
        self.wait_in(mr, "deferred")
        self.assertEqual(t.log_count(r"(?m)\b%s: requeued by ternctl" % mr),
                         2)
        r = self.q("release", "ALL")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "ternctl: 0 messages released\n"))

    def test_flush(self):
        self.boot()
        t = self.t
        m = self.send(["f@remote.example"])
        self.deferred_once(m)
        self.assertEqual(self.outcomes(m), 1)
        r = self.q("flush")
        self.assertEqual((r.returncode, r.stdout), (
            0, "ternctl: flush: qmgr is trying the deferred mail now\n"))
        self.assertTrue(wait_for(lambda: self.outcomes(m) == 2,
                                 timeout=WAIT), t.log()[-3000:])
        self.assertEqual(t.log_count(r"flush of the deferred queue asked "
                                     r"for by ternctl \(uid %d\)" %
                                     os.getuid()), 1)
        self.wait_in(m, "deferred")
        # No qmgr: the deferred mail is made due for the next start.
        t.stop()
        path = os.path.join(t.spool, "deferred", m)
        self.assertGreater(os.stat(path).st_mtime, time.time() + 600)
        r = self.q("flush")
        self.assertEqual((r.returncode, r.stdout), (
            0, "ternctl: qmgr is not running: 1 deferred message due "
            "when it starts\n"))
        self.assertLess(os.stat(path).st_mtime, time.time() + 1)
        t.start()
        self.assertTrue(wait_for(lambda: self.outcomes(m) == 3,
                                 timeout=WAIT), t.log()[-3000:])


# ---- active/: a scripted qmgr, and none ------------------------------------
class FakeQmgr:
    """private/qmgr answering each request line from replies (a dict
    request -> reply line, or a callable(request) -> reply)."""

    def __init__(self, spool, replies):
        self.path = os.path.join(spool, "private", "qmgr")
        self.replies = replies
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with c:
                c.settimeout(10)
                data = b""
                while not data.endswith(b"\n") and len(data) < 200:
                    b = c.recv(200)
                    if not b:
                        break
                    data += b
                self.requests.append(data)
                req = data.decode().rstrip("\n")
                rep = self.replies(req) if callable(self.replies) else \
                    self.replies.get(req, "error unknown request")
                c.sendall(rep.encode() + b"\n")

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()
        os.unlink(self.path)


class ActiveTest(QueueBase):
    def test_active_through_qmgr_and_without(self):
        self.boot(qmgr=False)
        t = self.t
        t.stop()
        ids = [fresh_qid() for _ in range(4)]
        a1, a2, a3, a4 = ids
        for a in ids:
            put_file(os.path.join(t.spool, "active", a), qfile_bytes(
                b"s@example.org", [(b"r@remote.example", 0)]))

        def reply(req):
            if req == "delete " + a2:
                # As if qmgr had ended the pass a moment ago.
                os.rename(os.path.join(t.spool, "active", a2),
                          os.path.join(t.spool, "deferred", a2))
                return "absent"
            return {"hold " + a1: "ok", "requeue " + a1: "error busy",
                    "flush": "ok"}.get(req, "error unknown request")

        fake = FakeQmgr(t.spool, reply)
        try:
            r = self.q("hold", a1)
            self.assertEqual((r.returncode, r.stdout), (0, (
                "ternctl: %s: held (by qmgr, once its deliveries in "
                "flight end)\n" % a1)), r.stderr)
            self.assertEqual(self.where(a1), ["active"])
            r = self.q("delete", a2)
            self.assertEqual((r.returncode, r.stdout),
                             (0, "ternctl: %s: removed\n" % a2), r.stderr)
            self.assertEqual(self.where(a2), [])
            self.assertEqual(t.log_count(r"(?m)\b%s: removed by ternctl "
                                         r"\(uid %d\)$" % (a2, os.getuid())),
                             1)
            r = self.q("requeue", a1)
            self.assertEqual((r.returncode, r.stderr), (
                1, "ternctl: %s: qmgr: busy\n" % a1))
            r = self.q("release", a1)
            self.assertEqual((r.returncode, r.stderr), (
                1, "ternctl: %s: in active/: release does not apply "
                "there\n" % a1))
            self.assertEqual(self.q("flush").returncode, 0)
            self.assertEqual(fake.requests, [
                b"hold %s\n" % a1.encode(), b"delete %s\n" % a2.encode(),
                b"requeue %s\n" % a1.encode(), b"flush\n"])
        finally:
            fake.close()
        # No qmgr: ternctl moves active/ files itself ...
        r = self.q("hold", a1)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "ternctl: %s: held\n" % a1), r.stderr)
        self.assertEqual(self.where(a1), ["hold"])
        # ... unless a qmgr holds the lock on active/.lock (starting up).
        lock = os.path.join(t.spool, "active", ".lock")
        with open(lock, "w") as f:
            import fcntl
            fcntl.flock(f, fcntl.LOCK_EX)
            start = time.monotonic()
            r = self.q("delete", a3)
            took = time.monotonic() - start
            self.assertEqual(r.returncode, 1)
            self.assertIn("ternctl: %s: still moving between queues"
                          % a3, r.stderr)
            self.assertLess(took, 15)
            self.assertEqual(self.where(a3), ["active"])
        r = self.q("delete", a3, a4)
        self.assertEqual((r.returncode, r.stdout), (0, (
            "ternctl: %s: removed\nternctl: %s: removed\n" % (a3, a4))))
        self.assertEqual(self.q("list").stdout.splitlines()[-1],
                         "-- 1 Kbytes in 1 Request.")


class Gate:
    """A FakeAgent's decide(): blocks until opened, then defers."""

    def __init__(self):
        self.ev = threading.Event()
        self.seen = []

    def __call__(self, addr):
        self.seen.append(addr)
        self.ev.wait(30)
        return ("deferred", "4.2.0", "mailbox busy")


class InFlightTest(QueueBase):
    def test_hold_and_delete_while_delivering(self):
        # gate.test goes to a scripted agent that keeps each delivery in
        # flight until the test opens the gate.
        self.boot(extra="transport_maps = inline:{ gate.test=gate:hop }\n"
                  "default_destination_concurrency_limit = 2\n")
        t = self.t
        gate = Gate()
        agent = test_qmgr.FakeAgent(t.spool, "gate", gate)
        try:
            m1 = self.send(["a@gate.test"])
            m2 = self.send(["b@gate.test"])
            self.assertTrue(wait_for(lambda: len(gate.seen) == 2,
                                     timeout=WAIT), t.log()[-3000:])
            js = self.list_json()
            self.assertEqual((js[m1]["queue_name"], js[m2]["queue_name"]),
                             ("active", "active"))
            self.assertRegex(self.q("list").stdout,
                             r"(?m)^%s\* +\d+ " % m1)
            r = self.q("hold", m1)
            self.assertEqual((r.returncode, r.stdout), (0, (
                "ternctl: %s: held (by qmgr, once its deliveries in "
                "flight end)\n" % m1)), r.stderr)
            r = self.q("delete", m2)
            self.assertEqual(r.stdout, "ternctl: %s: removed (by qmgr, "
                             "once its deliveries in flight end)\n" % m2)
            time.sleep(0.5)
            self.assertEqual((self.where(m1), self.where(m2)),
                             (["active"], ["active"]))
            gate.ev.set()
            self.wait_in(m1, "hold")
            self.assertTrue(wait_for(lambda: self.where(m2) == [],
                                     timeout=WAIT))
            uid = os.getuid()
            self.assertEqual(t.log_count(r"(?m)\b%s: held by ternctl "
                                         r"\(uid %d\)$" % (m1, uid)), 1)
            self.assertEqual(t.log_count(r"(?m)\b%s: removed by ternctl "
                                         r"\(uid %d\)$" % (m2, uid)), 1)
            # Released, it is tried again (the gate is open now).
            r = self.q("release", m1)
            self.assertEqual(r.stdout, "ternctl: %s: released\n" % m1)
            self.deferred_once(m1)
            self.assertEqual(len(gate.seen), 3)
            self.assertEqual(self.list_json()[m1]["recipients"], [
                {"address": "a@gate.test", "delay_reason": "mailbox busy"}])
        finally:
            agent.close()


# ---- privilege -----------------------------------------------------------------
@unittest.skipUnless(IS_ROOT, "needs root to run as another user")
class PrivilegeTest(QueueBase):
    def test_unprivileged_user_refused(self):
        self.boot()
        t = self.t
        m = self.send(["p@remote.example"])
        self.deferred_once(m)
        path = os.path.join(t.spool, "deferred", m)
        with open(path, "rb") as f:
            before = (f.read(), os.stat(path).st_mtime_ns)
        incoming = os.path.join(t.spool, "incoming")
        # list asks showq (test_showq.py), which this instance lacks.
        for args in (("list",), ("list", "--json")):
            r = self.as_nobody(*args)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (
                69, "", "mailq: cannot list the queue: the master runs "
                "no showq service (services.conf) and %s is not readable "
                "by you\n" % t.spool), args)
        for args in (("show", m),
                     ("delete", m), ("hold", m), ("hold", "ALL"),
                     ("requeue", m), ("release", "ALL"), ("flush",),
                     ("delete", "ALL", "--deferred")):
            r = self.as_nobody(*args)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (
                1, "", "ternctl: %s: permission denied (run as root or "
                "mail_owner)\n" % incoming), args)
        with open(path, "rb") as f:
            self.assertEqual((f.read(), os.stat(path).st_mtime_ns), before)
        self.assertEqual(t.log_count(r"by ternctl"), 0)
        # mail_owner may.
        r = self.q("list", user=TEST_USER)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(m, r.stdout)
        r = self.q("hold", m, user=TEST_USER)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ternctl: %s: held\n" % m, r.stdout)
        self.assertEqual(self.where(m), ["hold"])


# ---- under load ----------------------------------------------------------------
class LoadTest(QueueBase):
    SENDERS = 3
    PER_SENDER = 150
    MIN_ROUNDS = 40

    def sender(self, n, sent, errors):
        try:
            with smtplib.SMTP("127.0.0.1", self.port, local_hostname=HELO,
                              timeout=60) as s:
                s.ehlo()
                for i in range(self.PER_SENDER):
                    local = (n + i) % 2 == 0
                    rcpt = VADDR if local else "l%d.%d@remote.example" % (
                        n, i)
                    qid = self.send([rcpt], subject="load %d %d" % (n, i),
                                    smtp=s)
                    sent[qid] = local
                    time.sleep(0.02)
        except Exception as e:          # reported by the main thread
            errors.append(repr(e))

    def removed_ids(self, out):
        return set(re.findall(r"(?m)^ternctl: (%s): removed" % QID_RE, out))

    def test_admin_verbs_under_load(self):
        self.boot(backoff="1s")
        t = self.t
        sent, errors, deleted, vanished = {}, [], set(), set()
        by_qmgr = 0
        threads = [threading.Thread(target=self.sender,
                                    args=(n, sent, errors))
                   for n in range(self.SENDERS)]
        for th in threads:
            th.start()
        end = time.monotonic() + 120
        rounds = 0
        rng = random.Random(6)
        while rounds < 300 and time.monotonic() < end and (
                rounds < self.MIN_ROUNDS or
                any(th.is_alive() for th in threads)):
            rounds += 1
            for args in (("hold", "ALL"), ("release", "ALL")):
                r = self.q(*args)
                self.assertEqual((r.returncode, r.stderr), (0, ""), args)
                by_qmgr += r.stdout.count("(by qmgr")
            if rounds % 3 == 0 and sent:
                pick = rng.sample(sorted(set(sent) - deleted),
                                  min(3, len(set(sent) - deleted)))
                r = self.q("delete", *pick)
                by_qmgr += r.stdout.count("(by qmgr")
                got = self.removed_ids(r.stdout)
                deleted |= got
                # What was not found had been delivered meanwhile.
                vanished |= set(pick) - got
                self.assertEqual(len(re.findall(
                    r"no such message", r.stderr)), len(set(pick) - got),
                    r.stderr)
            if rounds % 5 == 0:
                r = self.q("requeue", "ALL")
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                by_qmgr += r.stdout.count("(by qmgr")
            self.assertEqual(os.listdir(os.path.join(t.spool, "corrupt")),
                             [])
        for th in threads:
            th.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(sent), self.SENDERS * self.PER_SENDER)
        self.assertGreater(rounds, 10)
        # Let everything settle: release what is held, wait for the local
        # mail, then hold all remote mail (qmgr carries out the holds of
        # what it has in active/ when their passes end).
        self.assertEqual(self.q("release", "ALL").returncode, 0)
        local = [m for m, loc in sent.items() if loc and m not in deleted]
        self.assertTrue(wait_for(lambda: all(
            self.outcomes(m, "sent") or m in deleted for m in local),
            timeout=60), t.log()[-3000:])

        def all_held():
            r = self.q("hold", "ALL")
            self.assertEqual(r.returncode, 0, r.stderr)
            return not any(os.listdir(os.path.join(t.spool, q))
                           for q in ("incoming", "active", "deferred")
                           if q != "active" or
                           [n for n in os.listdir(os.path.join(
                               t.spool, q)) if n != ".lock"])
        self.assertTrue(wait_for(all_held, timeout=60, step=0.5),
                        {q: os.listdir(os.path.join(t.spool, q))
                         for q in QUEUES})
        t.stop()
        log = t.log()
        self.assertNotIn("corrupt", log)
        # qmgr never found a file moved under it.
        self.assertNotRegex(log, r"cannot (move|remove|open|read)")
        held = delivered = gone = 0
        for m, loc in sorted(sent.items()):
            places = self.where(m)
            self.assertLessEqual(len(places), 1, (m, places))
            sends = len(re.findall(r"(?m)\b%s: to=<[^>]*>, .*status=sent "
                                   % m, log))
            self.assertLessEqual(sends, 1, m)
            if m in deleted:
                self.assertEqual(places, [], m)
                self.assertEqual(len(re.findall(
                    r"(?m)\b%s: removed by ternctl \(uid \d+\)$" % m, log)),
                    1, m)
                gone += 1
            elif loc:
                self.assertEqual((places, sends), ([], 1), m)
                delivered += 1
            else:
                self.assertEqual(places, ["hold"], m)
                qf = qfile_reader.read(os.path.join(t.spool, "hold", m))
                self.assertEqual([r.status for r in qf.recipients], [0])
                held += 1
            if m in vanished:
                self.assertTrue(loc and sends == 1, m)
        self.assertEqual(held + delivered + gone, len(sent))
        self.assertEqual(sorted(os.listdir(os.path.join(t.spool, "hold"))),
                         sorted(m for m, loc in sent.items()
                                if not loc and m not in deleted))
        maildir = os.path.join(self.vbase, VDOMAIN, "alice", "new")
        self.assertEqual(len(os.listdir(maildir)), len(re.findall(
            r"(?m)\b%s: to=<%s>, .*status=sent " % (QID_RE, re.escape(
                VADDR)), log)))
        self.assertGreater(gone, 0)
        # How many went through qmgr depends on timing; InFlightTest
        # checks that path on its own.
        print("load: %d rounds, %d messages: %d delivered, %d held, "
              "%d deleted; %d changes through qmgr" % (
                  rounds, len(sent), delivered, held, gone, by_qmgr))


# ---- a big queue -----------------------------------------------------------------
MEASURE = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    rc = subprocess.run(sys.argv[2:], stdout=out).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def sanitized():
    """Whether ternctl is an AddressSanitizer build (whose quarantine
    keeps freed memory: no RSS bound there)."""
    r = subprocess.run(["ldd", TERNCTL], capture_output=True, text=True)
    return "libasan" in r.stdout


class BigQueueTest(QueueBase):
    N = 20000

    def measure(self, *args):
        """(exit status, peak RSS in KiB, output lines) of ternctl queue
        ARGS, run from a fresh process so that nothing else counts."""
        out = os.path.join(self.t.dir, "list.out")
        r = subprocess.run([sys.executable, "-c", MEASURE, out, TERNCTL,
                            "-c", self.t.etc, "queue"] + list(args),
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        rc, rss = map(int, r.stdout.split())
        with open(out, "rb") as f:
            lines = f.read().decode("utf-8").splitlines()
        return rc, rss, lines

    def test_list_20000_files_in_little_memory(self):
        self.boot(qmgr=False)
        t = self.t
        m = self.send(["big@remote.example"], subject="big")
        with open(os.path.join(t.spool, "incoming", m), "rb") as f:
            data = f.read()
        rc, rss1, lines = self.measure("list")
        self.assertEqual((rc, lines[-1]), (0, "-- 1 Kbytes in 1 Request."))
        t.stop()
        base = int(time.time()) - 86400
        deferred = os.path.join(t.spool, "deferred")
        start = time.monotonic()
        for i in range(self.N):
            qid = make_qid(base + i // 1000, (i % 1000) * 997, 0, 4242, i)
            with open(os.path.join(deferred, qid), "wb") as f:
                f.write(data)
        made = time.monotonic() - start
        start = time.monotonic()
        rc, rss2, lines = self.measure("list")
        took = time.monotonic() - start
        self.assertEqual(rc, 0)
        self.assertEqual(lines[-1], "-- %d Kbytes in %d Requests." % (
            ((self.N + 1) * len(qfile_reader.parse(data).content) + 1023)
            // 1024, self.N + 1))
        self.assertEqual(sum(1 for x in lines if re.match(QID_RE, x)),
                         self.N + 1)
        rc, rss3, lines = self.measure("list", "--json")
        self.assertEqual((rc, len(lines)), (0, self.N + 1))
        self.assertEqual(json.loads(lines[-1])["recipients"],
                         [{"address": "big@remote.example"}])
        print("list: %d files written in %.1fs, listed in %.1fs; peak RSS "
              "%d KiB for 1 message, %d KiB (text) and %d KiB (json) for "
              "%d" % (self.N, made, took, rss1, rss2, rss3, self.N + 1))
        # Streamed: the peak does not grow with the queue.
        if not sanitized():
            self.assertLess(rss2, rss1 + 2048)
            self.assertLess(rss3, rss1 + 2048)


if __name__ == "__main__":
    unittest.main()
