# SPDX-License-Identifier: ISC
"""The virtual delivery agent, driven directly through the qmgr -> agent
protocol (docs/ipc.md): this module plays qmgr on private/virtual, with
queue files written by its own small writer (checked by qfile_reader).

Maildir and mbox delivery byte for byte (Delivered-To: first, From line
and >From quoting), address extensions and the catch-all, unknown users,
loops (Delivered-To:, hop count), domains that are not virtual, several
recipients and several requests on one connection, table failures,
protocol errors (the connection is closed, the process exits and is
reaped), mailboxes that cannot be written and a full disk (deferred,
never bounced).  As root, mailboxes belong to virtual_uid and the agent
is never uid 0 while it delivers; virtual_uid 0 is refused."""
import fcntl
import os
import re
import socket
import stat
import struct
import subprocess
import time
import unittest

import attr_wire
import qfile_reader
from tern_fixture import IS_ROOT, QID_RE, Tern, proc_ids, wait_for

VUID = 5000 if IS_ROOT else os.geteuid()   # virtual_uid: a bare number
VGID = 5001 if IS_ROOT else os.getegid()
SENDER = "sender@example.org"
QID = "0" * 14 + "1" * 10
MAPS = ("inline:{ alice@example.com=example.com/alice/, "
        "bob@example.com=example.com/bob.mbox, "
        "ro@example.com=readonly/ro/, robox@example.com=readonly/ro.mbox, "
        "full@example.com=full/f/, "
        "dotdot@example.com=../escape/, "
        "@example.net=catchall/ }")
CONTENT = (b"Received: from client.example.test (localhost [127.0.0.1])\r\n"
           b"\tby mx.example.test (Tern) with ESMTP id X;\r\n"
           b"\tMon, 1 Jan 2024 00:00:00 +0000\r\n"
           b"From: Sender <sender@example.org>\r\n"
           b"Subject: test\r\n"
           b"\r\n"
           b"From the start of a line\r\n"
           b">From already quoted\r\n"
           b"8-bit \xc3\xa9 and a lone \r in a line\r\n"
           b"last line without an end")


# ---- queue files --------------------------------------------------------
def _rec(t, payload):
    return t + struct.pack(">I", len(payload)) + payload


def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">H", len(b)) + b


def qfile_bytes(sender, rcpts, content, arrival=None, chunk=65536):
    """A complete queue file (docs/queue-file.md): rcpts are addresses."""
    sec, usec = arrival or (int(time.time()), 0)
    out = _rec(b"M", b"TERNQ1") + _rec(b"T", struct.pack(">QI", sec, usec))
    out += _rec(b"S", _str(sender) + b"\0\0" + _str("") +
                struct.pack(">Q", 0))
    for r in rcpts:
        out += _rec(b"R", _str(r) + b"\0" + _str("") + _str(""))
        out += _rec(b"D", b"\0")
    out += _rec(b"B", b"")
    for i in range(0, len(content), chunk):
        out += _rec(b"X", content[i:i + chunk])
    out += _rec(b"E", struct.pack(">QI", len(content), len(rcpts)))
    q = qfile_reader.parse(out)     # the independent reader agrees
    assert q.content == content and q.rcpt_addrs == list(rcpts)
    return out


class AgentConn:
    """One connection to private/virtual, playing qmgr."""

    def __init__(self, path, timeout=20.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def close(self):
        self.sock.close()

    def send_fd(self, fd, byte=b"Q"):
        socket.send_fds(self.sock, [byte], [fd])

    def send(self, pairs):
        self.sock.sendall(attr_wire.encode(pairs))

    def request(self, qfd, rcpts, sender=SENDER, qid=QID):
        """rcpts: (index, addr) or (index, addr, orcpt); the replies."""
        self.send_request(qfd, rcpts, sender, qid)
        return self.replies(len(rcpts))

    def send_request(self, qfd, rcpts, sender=SENDER, qid=QID):
        self.send_fd(qfd)
        self.send([("request", "deliver"), ("proto", "deliver/1"),
                   ("queue_id", qid), ("nexthop", "example.com"),
                   ("sender", sender), ("nrcpt", len(rcpts))])
        for r in rcpts:
            orcpt = r[2] if len(r) > 2 else ""
            self.send([("request", "rcpt"), ("index", r[0]),
                       ("addr", r[1]),
                       ("orcpt_type", "rfc822" if orcpt else ""),
                       ("orcpt", orcpt), ("notify", 0)])

    def replies(self, n):
        replies = [attr_wire.read(self.sock) for _ in range(n)]
        done = attr_wire.read(self.sock)
        assert done == {"status": "done"}, done
        return replies

    def closed(self):
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


def lf(content):
    return content.replace(b"\r\n", b"\n")


class VirtualBase(unittest.TestCase):
    """One instance per class; each test gets fresh mailboxes."""
    conf = ""

    @classmethod
    def conf_lines(cls, base):
        return ("virtual_mailbox_domains = example.com, example.net\n"
                "virtual_mailbox_base = %s\n"
                "virtual_mailbox_maps = %s\n"
                "virtual_uid = %d\nvirtual_gid = %d\n"
                "recipient_delimiter = +\n"
                "hopcount_limit = 5\n" % (base, MAPS, VUID, VGID) + cls.conf)

    @classmethod
    def setUpClass(cls):
        t = Tern("virtual unix private/virtual n n - 0 - virtual\n")
        cls.t = t
        cls.base = os.path.join(t.dir, "vmail")
        t.write_conf(cls.conf_lines(cls.base))
        try:
            t.start()
        except Exception:
            t.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.t.remove()

    def setUp(self):
        subprocess.run(["rm", "-rf", self.base], check=True)
        os.makedirs(self.base)
        os.chmod(self.base, 0o700)
        if IS_ROOT:
            os.chown(self.base, VUID, VGID)
        self.conns = []
        self.fds = []
        self.log_start = len(self.t.log())

    def tearDown(self):
        for c in self.conns:
            c.close()
        for fd in self.fds:
            os.close(fd)

    # ---- helpers ----------------------------------------------------------
    def conn(self):
        c = AgentConn(os.path.join(self.t.spool, "private", "virtual"))
        self.conns.append(c)
        return c

    def qfile(self, rcpts, content=CONTENT, sender=SENDER, **kw):
        """A queue file open read-only (the path is gone already)."""
        path = os.path.join(self.t.dir, "qf.%d" % len(self.fds))
        with open(path, "wb") as f:
            f.write(qfile_bytes(sender, rcpts, content, **kw))
        fd = os.open(path, os.O_RDONLY)
        os.unlink(path)
        self.fds.append(fd)
        return fd

    def deliver(self, rcpts, content=CONTENT, sender=SENDER, conn=None):
        """One request for every recipient of a fresh queue file."""
        fd = self.qfile(rcpts, content, sender)
        c = conn or self.conn()
        return c.request(fd, list(enumerate(rcpts)), sender=sender)

    def assert_result(self, r, index, result, dsn, text=None):
        self.assertEqual(r["status"], "rcpt", r)
        self.assertEqual(r["index"], index, r)
        self.assertEqual(r["result"], result, r)
        self.assertEqual(r["dsn"], dsn, r)
        self.assertEqual(r["relay"], "virtual", r)
        if text is not None:
            self.assertRegex(r["text"], text)

    def maildir_messages(self, rel):
        """{name: bytes} in base/rel/new; tmp/ must be empty."""
        md = os.path.join(self.base, rel)
        self.assertEqual(os.listdir(os.path.join(md, "tmp")), [])
        out = {}
        for n in os.listdir(os.path.join(md, "new")):
            with open(os.path.join(md, "new", n), "rb") as f:
                out[n] = f.read()
        return out

    def one_message(self, rel):
        msgs = self.maildir_messages(rel)
        self.assertEqual(len(msgs), 1, msgs)
        return list(msgs.values())[0]

    def new_log(self):
        """What the instance logged since this test began."""
        return self.t.log()[self.log_start:]

    def log_line(self, addr, status):
        """The agent's last record for addr with this status in this
        test (waits for it)."""
        pat = re.compile(r"tern/virtual\[(\d+)\]: (%s): to=<%s>, .*"
                         r"status=%s \((.*)\)$" % (
                             QID_RE, re.escape(addr), status), re.M)
        wait_for(lambda: pat.search(self.new_log()), timeout=5)
        found = list(pat.finditer(self.new_log()))
        self.assertTrue(found, self.new_log())
        return found[-1]

    def agent_pids(self):
        return self.t.children("virtual")


class VirtualDeliveryTest(VirtualBase):
    def test_maildir_delivery_byte_for_byte(self):
        (r,) = self.deliver(["alice@example.com"])
        self.assert_result(r, 0, "sent", "2.0.0", r"^delivered to maildir$")
        got = self.one_message("example.com/alice")
        self.assertEqual(got, b"Delivered-To: alice@example.com\n" +
                         lf(CONTENT))
        md = os.path.join(self.base, "example.com", "alice")
        name = os.listdir(os.path.join(md, "new"))[0]
        self.assertRegex(name, r"^\d+\.M\d+P\d+Q\d+R[0-9a-f]+\..+,S=%d$"
                         % len(got))
        for d in ("", "tmp", "new", "cur"):
            st = os.stat(os.path.join(md, d))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o700, d)
            self.assertEqual((st.st_uid, st.st_gid), (VUID, VGID), d)
        st = os.stat(os.path.join(md, "new", name))
        self.assertEqual((st.st_uid, st.st_gid), (VUID, VGID))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        m = self.log_line("alice@example.com", "sent")
        self.assertEqual(m.group(2), QID)
        self.assertRegex(m.group(0), r": to=<alice@example.com>, "
                         r"relay=virtual, delay=\d+\.\d\d, dsn=2\.0\.0, "
                         r"status=sent \(delivered to maildir\)$")

    def test_lf_only_content(self):
        content = b"Subject: lf\n\nbody\nFrom x\n"
        (r,) = self.deliver(["alice@example.com"], content)
        self.assert_result(r, 0, "sent", "2.0.0")
        self.assertEqual(self.one_message("example.com/alice"),
                         b"Delivered-To: alice@example.com\n" + content)

    def test_big_message_in_many_records(self):
        body = b"".join(b"line %06d %s\r\n" % (i, b"x" * 60)
                        for i in range(20000))
        content = b"Subject: big\r\n\r\n" + body
        (r,) = self.deliver(["alice@example.com"], content)
        self.assert_result(r, 0, "sent", "2.0.0")
        self.assertEqual(self.one_message("example.com/alice"),
                         b"Delivered-To: alice@example.com\n" + lf(content))

    def test_mbox_delivery(self):
        os.makedirs(os.path.join(self.base, "example.com"))
        if IS_ROOT:
            os.chown(os.path.join(self.base, "example.com"), VUID, VGID)
        for _ in range(2):
            (r,) = self.deliver(["bob@example.com"])
            self.assert_result(r, 0, "sent", "2.0.0",
                               r"^delivered to mailbox$")
        (r,) = self.deliver(["bob@example.com"], sender="")
        self.assert_result(r, 0, "sent", "2.0.0")
        path = os.path.join(self.base, "example.com", "bob.mbox")
        with open(path, "rb") as f:
            mbox = f.read()
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_gid), (VUID, VGID))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        quoted = lf(CONTENT).replace(b"\nFrom the", b"\n>From the").replace(
            b"\n>From already", b"\n>>From already")
        msg = b"Delivered-To: bob@example.com\n" + quoted + b"\n\n"
        parts = re.split(rb"^From (\S+) (\w{3} \w{3} [ \d]\d "
                         rb"\d\d:\d\d:\d\d \d{4})\n", mbox, flags=re.M)
        self.assertEqual(parts[0], b"")
        self.assertEqual(parts[1::3], [SENDER.encode()] * 2 +
                         [b"MAILER-DAEMON"])
        self.assertEqual(parts[3::3], [msg] * 3)
        self.assertFalse(os.path.exists(path + ".lock"))

    def test_unknown_user(self):
        (r,) = self.deliver(["zed@example.com"])
        self.assert_result(r, 0, "bounced", "5.1.1",
                           r'^unknown user: "zed@example.com"$')
        m = self.log_line("zed@example.com", "bounced")
        self.assertIn("dsn=5.1.1", m.group(0))
        self.assertEqual(os.listdir(self.base), [])

    def test_extension_and_catch_all(self):
        rcpts = ["alice+tag@example.com", "Alice@Example.COM",
                 "anyone@example.net", "alice+@example.com",
                 "+alice@example.com"]
        rs = self.deliver(rcpts)
        for i in range(4):
            self.assert_result(rs[i], i, "sent", "2.0.0")
        self.assert_result(rs[4], 4, "bounced", "5.1.1")
        msgs = sorted(self.maildir_messages("example.com/alice").values())
        self.assertEqual(msgs, sorted(
            b"Delivered-To: %s\n" % a.encode() + lf(CONTENT)
            for a in rcpts[:2] + rcpts[3:4]))
        self.assertEqual(self.one_message("catchall"),
                         b"Delivered-To: anyone@example.net\n" + lf(CONTENT))

    def test_domain_not_virtual(self):
        (r,) = self.deliver(["alice@example.org"])
        self.assert_result(r, 0, "deferred", "4.3.5",
                           "example.org is not in virtual_mailbox_domains")
        self.log_line("alice@example.org", "deferred")

    def test_path_outside_the_base(self):
        (r,) = self.deliver(["dotdot@example.com"])
        self.assert_result(r, 0, "deferred", "4.3.5", r'"\.\." in the')
        self.assertFalse(os.path.exists(os.path.join(self.t.dir, "escape")))

    def test_loop_by_delivered_to(self):
        looped = b"Delivered-To: ALICE@example.com\r\n" + CONTENT
        other = b"Delivered-To: bob@example.com\r\n" + CONTENT
        rs = self.deliver(["alice@example.com"], looped)
        self.assert_result(rs[0], 0, "bounced", "5.4.6",
                           r"^mail forwarding loop for alice@example.com$")
        self.assertEqual(os.listdir(self.base), [])
        # Another recipient's Delivered-To:, or one in the body, is fine.
        body = CONTENT + b"\r\nDelivered-To: alice@example.com\r\n"
        for content in (other, body):
            (r,) = self.deliver(["alice@example.com"], content)
            self.assert_result(r, 0, "sent", "2.0.0")
        self.assertEqual(len(self.maildir_messages("example.com/alice")), 2)

    def test_hop_count(self):
        rcv = b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        (r,) = self.deliver(["alice@example.com"], rcv * 5 + b"\r\nbody")
        self.assert_result(r, 0, "sent", "2.0.0")
        (r,) = self.deliver(["alice@example.com"], rcv * 6 + b"\r\nbody")
        self.assert_result(r, 0, "bounced", "5.4.6", r"too many hops \(6 ")
        self.assertEqual(len(self.maildir_messages("example.com/alice")), 1)

    def test_several_recipients_in_one_request(self):
        fd = self.qfile(["x@example.org", "alice@example.com",
                         "zed@example.com", "anyone@example.net"])
        rs = self.conn().request(fd, [(3, "anyone@example.net", "Any@x"),
                                      (2, "zed@example.com"),
                                      (1, "alice@example.com")])
        self.assert_result(rs[0], 3, "sent", "2.0.0")
        self.assert_result(rs[1], 2, "bounced", "5.1.1")
        self.assert_result(rs[2], 1, "sent", "2.0.0")
        m = self.log_line("anyone@example.net", "sent")
        self.assertIn("to=<anyone@example.net>, orig_to=<Any@x>, "
                      "relay=virtual", m.group(0))
        self.one_message("example.com/alice")
        self.one_message("catchall")

    def test_several_requests_on_one_connection(self):
        c = self.conn()
        for i in range(5):
            (r,) = self.deliver(["alice@example.com"],
                                b"Subject: %d\r\n\r\nbody\r\n" % i, conn=c)
            self.assert_result(r, 0, "sent", "2.0.0")
        (r,) = self.deliver(["zed@example.com"], conn=c)
        self.assert_result(r, 0, "bounced", "5.1.1")
        self.assertEqual(len(self.maildir_messages("example.com/alice")), 5)
        # One process served them all.
        pids = set(re.findall(r"tern/virtual\[(\d+)\]: %s: to=" % QID,
                              self.new_log()))
        self.assertEqual(len(pids), 1, pids)
        self.assertIn(int(pids.pop()), self.agent_pids())

    def test_protocol_error_closes_the_connection(self):
        before = self.t.log_count("bad request from the queue manager")
        for bad in ("no fd", "wrong rcpt"):
            c = self.conn()
            if bad == "no fd":
                c.sock.sendall(b"Q")
                c.send([("request", "deliver")])
            else:
                fd = self.qfile(["alice@example.com"])
                c.send_fd(fd)
                c.send([("request", "deliver"), ("proto", "deliver/1"),
                        ("queue_id", QID), ("nexthop", "example.com"),
                        ("sender", SENDER), ("nrcpt", 1)])
                c.send([("request", "rcpt"), ("index", 0),
                        ("addr", "bob@example.com"), ("orcpt_type", ""),
                        ("orcpt", ""), ("notify", 0)])
            self.assertTrue(c.closed())
        self.assertTrue(wait_for(lambda: self.t.log_count(
            "bad request from the queue manager") == before + 2),
            self.t.log())
        self.assertIn("recipient does not match the queue file",
                      self.t.log())
        # The processes exit and the master reaps them: no zombie.
        self.assertTrue(wait_for(lambda: self.agent_pids() == []),
                        self.agent_pids())
        self.assertEqual(os.listdir(self.base), [])
        # The service goes on: the next connection gets a new process.
        (r,) = self.deliver(["alice@example.com"])
        self.assert_result(r, 0, "sent", "2.0.0")

    def test_unwritable_mailbox_defers(self):
        ro = os.path.join(self.base, "readonly")
        os.makedirs(ro)
        if IS_ROOT:
            os.chown(ro, 0, 0)           # root's, 0755: not virtual_uid's
            os.chmod(ro, 0o755)
        else:
            os.chmod(ro, 0o500)
        rs = self.deliver(["ro@example.com", "robox@example.com"])
        self.assert_result(rs[0], 0, "deferred", "4.3.0",
                           r"^maildir delivery failed: .*/readonly/ro/: .*"
                           r"Permission denied$")
        self.assert_result(rs[1], 1, "deferred", "4.3.0",
                           r"^mailbox delivery failed: .*/readonly/ro\.mbox: "
                           r".*Permission denied$")
        self.log_line("ro@example.com", "deferred")
        self.assertEqual(os.listdir(ro), [])
        os.chmod(ro, 0o700)

    @unittest.skipUnless(IS_ROOT, "mounting a small file system needs root")
    def test_full_disk_defers(self):
        full = os.path.join(self.base, "full")
        os.makedirs(full)
        subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=256k,uid=%d,gid=%d,mode=0700" % (VUID, VGID),
                        "tmpfs", full], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", full])
        big = b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 1000
        (r,) = self.deliver(["full@example.com"], big)
        self.assert_result(r, 0, "deferred", "4.3.1",
                           r"No space left on device$")
        self.log_line("full@example.com", "deferred")
        # Nothing half-written is left; a message that fits goes in.
        self.assertEqual(self.maildir_messages("full/f"), {})
        (r,) = self.deliver(["full@example.com"])
        self.assert_result(r, 0, "sent", "2.0.0")
        self.one_message("full/f")

    @unittest.skipUnless(IS_ROOT, "ids change only when run as root")
    def test_agent_is_never_root(self):
        # The test holds the mbox's fcntl lock, so the agent waits inside
        # the delivery, its file open: look at it then.
        d = os.path.join(self.base, "example.com")
        os.makedirs(d)
        os.chown(d, VUID, VGID)
        path = os.path.join(d, "bob.mbox")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.fds.append(fd)
        os.chown(path, VUID, VGID)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        c = self.conn()
        c.send_request(self.qfile(["bob@example.com"]),
                       [(0, "bob@example.com")])

        def holder():
            for pid in self.agent_pids():
                try:
                    fds = os.listdir("/proc/%d/fd" % pid)
                    if any(os.readlink("/proc/%d/fd/%s" % (pid, f)) == path
                           for f in fds):
                        return pid
                except OSError:
                    pass
            return None
        pid = wait_for(holder, timeout=5)
        self.assertIsNotNone(pid)
        uids, gids, groups = proc_ids(pid)
        fcntl.lockf(fd, fcntl.LOCK_UN)
        self.assertEqual(uids, [VUID] * 4)
        self.assertEqual(gids, [VGID] * 4)
        self.assertEqual(groups, [VGID])
        (r,) = c.replies(1)
        self.assert_result(r, 0, "sent", "2.0.0")
        self.assertEqual(int(self.log_line("bob@example.com",
                                           "sent").group(1)), pid)
        # A Maildir delivery by the same process: the files are its.
        (r,) = self.deliver(["alice@example.com"], conn=c)
        self.assert_result(r, 0, "sent", "2.0.0")
        md = os.path.join(self.base, "example.com", "alice")
        for sub in ("", "new", "tmp", "cur"):
            st = os.stat(os.path.join(md, sub))
            self.assertEqual((st.st_uid, st.st_gid), (VUID, VGID))
        for n in os.listdir(os.path.join(md, "new")):
            st = os.stat(os.path.join(md, "new", n))
            self.assertEqual((st.st_uid, st.st_gid), (VUID, VGID))


class VirtualLmdbTest(VirtualBase):
    """An lmdb: table, read after the drop to virtual_uid."""

    @classmethod
    def conf_lines(cls, base):
        table = os.path.join(os.path.dirname(base), "vmaps")
        with open(table, "w") as f:
            f.write("carol@example.com  example.com/carol/\n"
                    "@example.net       net/\n")
        os.chmod(table, 0o644)
        return super().conf_lines(base).replace(
            "virtual_mailbox_maps = %s" % MAPS,
            "virtual_mailbox_maps = lmdb:%s, lmdb:%s.missing" % (table,
                                                                  table))

    def test_lmdb_table(self):
        table = os.path.join(self.t.dir, "vmaps")
        self.t.ternctl("map", "build", table, check=True)
        # The second table does not exist yet: every lookup defers.
        c = self.conn()
        (r,) = self.deliver(["carol@example.com"], conn=c)
        self.assert_result(r, 0, "deferred", "4.3.0",
                           r"^virtual_mailbox_maps: cannot open "
                           r".*vmaps\.missing\.lmdb")
        with open(table + ".missing", "w") as f:
            f.write("dave@example.com example.com/dave/\n")
        os.chmod(table + ".missing", 0o644)
        self.t.ternctl("map", "build", table + ".missing", check=True)
        # Now both open, at the next request of the same process.
        rs = self.deliver(["carol@example.com", "x@example.net",
                           "dave@example.com", "erin@example.com"], conn=c)
        self.assert_result(rs[0], 0, "sent", "2.0.0")
        self.assert_result(rs[1], 1, "sent", "2.0.0")
        self.assert_result(rs[2], 2, "sent", "2.0.0")
        self.assert_result(rs[3], 3, "bounced", "5.1.1")
        self.one_message("example.com/carol")
        self.one_message("example.com/dave")
        self.one_message("net")


class VirtualNoBaseTest(VirtualBase):
    """virtual_mailbox_base empty: defer, and say why in the log."""

    @classmethod
    def conf_lines(cls, base):
        return super().conf_lines("")

    def test_base_not_set(self):
        (r,) = self.deliver(["alice@example.com"])
        self.assert_result(r, 0, "deferred", "4.3.5",
                           "virtual_mailbox_base must be an absolute")
        self.assertIn("virtual_mailbox_base is empty", self.t.log())
        self.assertEqual(os.listdir(self.base), [])


@unittest.skipUnless(IS_ROOT, "the refusal of uid 0 needs root")
class VirtualRootRefusedTest(VirtualBase):
    @classmethod
    def conf_lines(cls, base):
        return super().conf_lines(base).replace(
            "virtual_uid = %d" % VUID, "virtual_uid = root")

    def test_uid_0_refused(self):
        # The process started for this connection exits before it
        # accepts it; the master throttles the service.
        c = self.conn()
        c.send_fd(self.qfile(["alice@example.com"]))
        self.assertTrue(wait_for(lambda: "virtual_uid is 0 (root)" in
                                 self.t.log()), self.t.log())
        self.assertIn("will not deliver", self.t.log())
        self.assertEqual(os.listdir(self.base), [])


if __name__ == "__main__":
    unittest.main()
