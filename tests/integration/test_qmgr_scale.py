# SPDX-License-Identifier: ISC
"""The queue manager's memory stays flat however large the queue (issue
5: "test with 100,000 small queued messages: memory stays flat").

With the instance stopped, the test writes TERN_SCALE_MESSAGES small,
valid queue files (docs/queue-file.md) straight into spool/incoming/,
owned by mail_owner, with unique queue IDs whose time fields increase.
Their recipients are in a virtual mailbox domain: the real virtual agent
delivers them all into one Maildir, so that qmgr holds messages, jobs
and agent connections, not just a file name.  With
qmgr_message_active_limit = 1000 it may hold at most 1000 messages at a
time.  The instance starts; every second the test reads qmgr's VmRSS
from /proc/PID/status until the queue is empty (at most SCALE_TIMEOUT).

Asserted: once a tenth of the messages is done, VmRSS never grows more
than RSS_SLACK (1 MB) past its value then; every message was delivered
(one "status=sent" and one "removed" log line per queue ID, one file per
message in the Maildir), by the same qmgr process, and the queue is
empty.

Why those figures: qmgr takes in 1000 messages at its first scan, so its
in-memory set is at its largest within a second and stays so until the
last thousand; by a tenth of the way (at least the active limit) its
heap has reached its working size.  What still grows after that is kept
per message processed: a leak.  1 MB over the remaining nine tenths
catches a leak of 12 bytes a message at 100,000 messages and of about
120 bytes at the default 10,000, while a qmgr without leaks grows by a
few kB at most (malloc's own bookkeeping).  The per-job leak of a
request buffer that this test found in qmgr_deliver.c (about 290 bytes
a message) made VmRSS climb 5 MB over 18,000 messages.

TERN_SCALE_MESSAGES (default 10,000, what CI runs: about 20 s to 2 min
on 2 busy cores) sets the count, TERN_SCALE_TIMEOUT (default 600 s) the
wait; 100,000 was run by hand (figures in docs/performance.md, "Queue
manager memory").
"""
import os
import pwd
import random
import re
import struct
import subprocess
import sys
import time
import unittest

import qfile_reader
from tern_fixture import BUILD, IS_ROOT, QID_RE, TEST_USER, Tern, wait_for

MESSAGES = int(os.environ.get("TERN_SCALE_MESSAGES", "10000"))
ACTIVE_LIMIT = 1000
SCALE_TIMEOUT = int(os.environ.get("TERN_SCALE_TIMEOUT", "600"))
RSS_SLACK = 1024                # kB: see the module's comment


def sanitized():
    """Whether the qmgr under test is an AddressSanitizer build."""
    r = subprocess.run(["ldd", os.path.join(BUILD, "daemons", "qmgr",
                                            "qmgr")],
                       capture_output=True, text=True)
    return "libasan" in r.stdout
VUID = 5000 if IS_ROOT else os.geteuid()
VGID = 5001 if IS_ROOT else os.getegid()
RCPT = "sink@scale.test"
SENDER = "load@client.test"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def b32(value, digits):
    out = []
    for _ in range(digits):
        out.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


def qid(sec, usec, seq, pid, rnd):
    """A queue ID (docs/queue-file.md): 8 + 4 + 2 + 6 + 4 characters."""
    return (b32(sec, 8) + b32(usec, 4) + b32(seq, 2) + b32(pid, 6) +
            b32(rnd, 4))


def _rec(t, payload):
    return t + struct.pack(">I", len(payload)) + payload


def _str(b):
    return struct.pack(">H", len(b)) + b


def queue_file(n, arrival):
    """One small queue file: one recipient, a few lines of content."""
    content = (b"From: <%s>\r\nTo: <%s>\r\nSubject: scale %d\r\n"
               b"X-Seq: %d\r\n\r\nmessage %d\r\n" % (
                   SENDER.encode(), RCPT.encode(), n, n, n))
    return b"".join((
        _rec(b"M", b"TERNQ1"),
        _rec(b"T", struct.pack(">QI", arrival, 0)),
        _rec(b"S", _str(SENDER.encode()) + b"\0\0" + _str(b"") +
             struct.pack(">Q", 0)),
        _rec(b"R", _str(RCPT.encode()) + b"\0" + _str(b"") + _str(b"")),
        _rec(b"D", b"\0"),
        _rec(b"B", b""),
        _rec(b"X", content),
        _rec(b"E", struct.pack(">QI", len(content), 1))))


def write_queue(incoming, count, seed):
    """count queue files in incoming/; their IDs, in order."""
    rnd = random.Random(seed)
    owner = pwd.getpwnam(TEST_USER) if IS_ROOT else None
    sec = int(time.time()) - 60
    pid = rnd.randrange(1, 1 << 30)
    ids = []
    for n in range(count):
        # Time fields increase: one microsecond apart.
        q = qid(sec + n // 1000000, n % 1000000, 0, pid,
                rnd.randrange(1 << 20))
        data = queue_file(n, sec)
        if n == 0:
            qfile_reader.parse(data)    # the independent reader agrees
        fd = os.open(os.path.join(incoming, q),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            if owner is not None:
                os.fchown(fd, owner.pw_uid, owner.pw_gid)
        finally:
            os.close(fd)
        ids.append(q)
    return ids


def vmrss(pid):
    """VmRSS of pid in kB, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class QmgrScaleTest(unittest.TestCase):
    def setUp(self):
        self.t = Tern(
            "qmgr unix private/qmgr y n 1 1 - qmgr\n"
            "virtual unix private/virtual n n 20 0 - virtual\n")
        self.base = os.path.join(self.t.dir, "vmail")
        os.makedirs(self.base)
        os.chmod(self.base, 0o700)
        if IS_ROOT:
            os.chown(self.base, VUID, VGID)
        self.t.write_conf(
            "virtual_mailbox_domains = scale.test\n"
            "virtual_mailbox_base = %s\n"
            "virtual_mailbox_maps = inline:{ %s=sink/ }\n"
            "virtual_uid = %d\nvirtual_gid = %d\n"
            "qmgr_message_active_limit = %d\n"
            % (self.base, RCPT, VUID, VGID, ACTIVE_LIMIT))

    def tearDown(self):
        self.t.remove()

    def count(self, sub):
        with os.scandir(os.path.join(self.t.spool, sub)) as it:
            return sum(1 for e in it if len(e.name) == 24)

    def queued(self):
        return sum(self.count(d) for d in ("incoming", "active", "deferred"))

    def test_rss_flat(self):
        # The spool's directories exist once the instance ran once.
        self.t.start()
        self.t.stop()
        self.assertTrue(wait_for(lambda: not self.t.our_processes(), 20))
        seed = random.SystemRandom().randrange(1 << 30)
        t0 = time.monotonic()
        ids = write_queue(os.path.join(self.t.spool, "incoming"), MESSAGES,
                          seed)
        t_write = time.monotonic() - t0
        self.assertEqual(len(set(ids)), MESSAGES)
        for q in ids[:3] + ids[-3:]:
            self.assertRegex(q, "^%s$" % QID_RE)
        self.t.start()
        t1 = time.monotonic()
        pids = wait_for(lambda: self.t.children("qmgr"), 20)
        self.assertEqual(len(pids), 1)
        pid = pids[0]
        samples = []            # (seconds, messages done, VmRSS kB)
        most_active = 0
        end = t1 + SCALE_TIMEOUT
        while time.monotonic() < end:
            active = self.count("active")
            most_active = max(most_active, active)
            left = self.queued()
            rss = vmrss(pid)
            self.assertIsNotNone(rss, "qmgr %d is gone" % pid)
            # A file renamed between two listings counts twice: max().
            samples.append((time.monotonic() - t1, max(0, MESSAGES - left),
                            rss))
            if left == 0:
                break
            time.sleep(1)
        t_run = time.monotonic() - t1
        # Still the same process: it never restarted on the way.
        self.assertEqual(self.t.children("qmgr"), [pid])
        self.assertEqual(self.queued(), 0, "queue not empty after %ds"
                         % SCALE_TIMEOUT)

        # From a tenth of the way on, the largest VmRSS seen.
        after = [s for s in samples if s[1] >= MESSAGES // 10]
        self.assertTrue(after)
        base = after[0][2]
        top = max(s[2] for s in after)
        print("\nqmgr scale: %d messages written in %.1fs, processed in "
              "%.1fs (%.0f/s); VmRSS at start %d kB, at 10%% %d kB, "
              "largest after %d kB, last %d kB; at most %d in active/" % (
                  MESSAGES, t_write, t_run, MESSAGES / max(t_run, 0.1),
                  samples[0][2], base, top, samples[-1][2], most_active),
              file=sys.stderr)
        for s in samples[::max(1, len(samples) // 12)] + samples[-1:]:
            print("qmgr scale: %6.1fs %7d done %6d kB" % s, file=sys.stderr)
        # AddressSanitizer holds freed memory back (its quarantine), so
        # a sanitizer build grows whatever qmgr does: there only the rest
        # of the test counts (LeakSanitizer reports leaks at exit).
        if not sanitized():
            self.assertLessEqual(top, base + RSS_SLACK, samples)
        # qmgr_message_active_limit held, and reached: the agent is
        # slower than the scans.  Not in a sanitizer build, where qmgr's
        # own scans slow down as much as the agent (one run filled
        # active/ to 452 of 1000 only): there the limit must only hold.
        self.assertLessEqual(most_active, ACTIVE_LIMIT)
        if not sanitized():
            self.assertGreater(most_active, ACTIVE_LIMIT // 2)

        # Every message went through, once.
        log = self.t.log()
        sent = re.findall(r"virtual\[\d+\]: (%s): to=<%s>, relay=virtual, "
                          r".*status=sent" % (QID_RE, re.escape(RCPT)), log)
        removed = re.findall(r"qmgr\[\d+\]: (%s): removed" % QID_RE, log)
        self.assertEqual(sorted(sent), ids)
        self.assertEqual(sorted(removed), ids)
        new = os.path.join(self.base, "sink", "new")
        self.assertEqual(len(os.listdir(new)), MESSAGES)
        self.assertNotIn("panic:", log)
        self.assertEqual(os.listdir(os.path.join(self.t.spool, "corrupt")),
                         [])


if __name__ == "__main__":
    unittest.main()
