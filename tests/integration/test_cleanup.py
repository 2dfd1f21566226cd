# SPDX-License-Identifier: ISC
"""cleanup spoken to directly over private/cleanup (docs/ipc.md): the TLS
comment in Received:, local submissions (their Received: form, and the
Message-ID:, Date: and From: they lack, with content in any pieces), bad
requests, and the sweep of stale temporary files in incoming/, with
several cleanup processes at once."""
import datetime
import email.utils
import fcntl
import os
import re
import socket
import time
import unittest

import attr_wire
from tern_fixture import HELO, QID_RE, test_user, wait_for
from test_smtpd import LOCAL_RCPT, MESSAGE, MYHOSTNAME, SmtpdTestBase

MYORIGIN = "origin.example.test"
CHUNK = 64 * 1024               # the most smtpd puts in one data request


class CleanupConn:
    """One connection to private/cleanup, playing smtpd (or pickup)."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def close(self):
        self.sock.close()

    def send(self, pairs):
        self.sock.sendall(attr_wire.encode(pairs))

    def reply(self):
        return attr_wire.read(self.sock)

    def closed(self):
        """True when cleanup has hung up without another word."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


def begin_attrs(**kw):
    """smtpd's begin request; a keyword set to None leaves it out."""
    a = {"request": "begin", "proto": "cleanup/1",
         "client_name": "client.example.test", "client_addr": "127.0.0.1",
         "client_port": "40000", "helo": HELO, "protocol": "ESMTP",
         "sender": "a@example.org", "smtputf8": 0, "body": "", "ret": "",
         "envid": "", "size": 0, "nrcpt": 1}
    a.update(kw)
    return [(k, v) for k, v in a.items() if v is not None]


def local_attrs(uid=1234, **kw):
    """What pickup will send: no client, no TLS."""
    a = dict(client_name=None, client_addr=None, client_port=None,
             helo=None, protocol=None, origin="local", uid=uid)
    a.update(kw)
    return begin_attrs(**a)


RCPT = [("request", "rcpt"), ("addr", LOCAL_RCPT), ("notify", 0),
        ("orcpt_type", ""), ("orcpt", "")]


class CleanupTestBase(SmtpdTestBase):
    conf = "myorigin = %s\n" % MYORIGIN

    def setUp(self):
        super().setUp()
        self.start()

    def cleanup_conn(self):
        c = CleanupConn(os.path.join(self.t.spool, "private", "cleanup"))
        self.addCleanup(c.close)
        return c

    def submit(self, begin, chunks, expect_ok=True):
        """A whole message; returns cleanup's final reply."""
        c = self.cleanup_conn()
        c.send(begin)
        c.send(RCPT)
        r = c.reply()
        self.assertEqual(r["status"], "ok", r)
        size = 0
        for piece in chunks:
            c.send([("request", "data"), ("bytes", piece)])
            size += len(piece)
        c.send([("request", "end"), ("size", size)])
        r = c.reply()
        if expect_ok:
            self.assertEqual(r["status"], "ok", r)
        return r

    def content(self, reply):
        qid = reply["queue_id"]
        self.assertRegex(qid, "^%s$" % QID_RE)
        return self.qfile(qid)

    def assert_recent_date(self, text):
        when = email.utils.parsedate_to_datetime(text)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - when).total_seconds()), 300, text)

    def assert_refused(self, begin):
        """A bad begin: cleanup logs it and hangs up, and keeps no file."""
        before = self.t.log_count("bad request from smtpd")
        c = self.cleanup_conn()
        c.send(begin)
        self.assertTrue(c.closed())
        self.assertTrue(wait_for(lambda: self.t.log_count(
            "bad request from smtpd") == before + 1), self.t.log())
        self.assert_nothing_queued()


def pieces(data, n):
    return [data[i:i + n] for i in range(0, len(data), n)] or [b""]


class TlsReceivedTest(CleanupTestBase):
    def test_tls_protocol_and_cipher_in_received(self):
        r = self.submit(begin_attrs(protocol="ESMTPS", tls_proto="TLSv1.3",
                                    tls_cipher="TLS_AES_256_GCM_SHA384"),
                        [MESSAGE])
        q = self.content(r)
        hdr, rest = q.first_field_and_rest()
        self.assertEqual(rest, MESSAGE)
        want = ("Received: from %s (client.example.test [127.0.0.1])\r\n"
                "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
                "\tby %s (Tern) with ESMTPS id %s\r\n"
                "\tfor <%s>;\r\n\t" % (HELO, MYHOSTNAME, r["queue_id"],
                                       LOCAL_RCPT)).encode()
        self.assertTrue(hdr.startswith(want), hdr)
        self.assert_recent_date(hdr[len(want):].decode())
        # The queue file's client record says ESMTPS too.
        self.assertEqual(q.client.proto, "ESMTPS")

    def test_no_tls_when_empty_or_absent(self):
        for kw in ({}, {"tls_proto": "", "tls_cipher": ""}):
            with self.subTest(kw=kw):
                q = self.content(self.submit(begin_attrs(**kw), [MESSAGE]))
                hdr, _ = q.first_field_and_rest()
                self.assertNotIn(b"using", hdr)
                self.assertTrue(hdr.startswith(
                    b"Received: from %s (client.example.test "
                    b"[127.0.0.1])\r\n\tby " % HELO.encode()), hdr)

    def test_bad_tls_attributes_are_a_protocol_error(self):
        for kw in ({"tls_proto": "TLSv1.3\r\nX-Evil: 1",
                    "tls_cipher": "C"},
                   {"tls_proto": "TLSv1.3", "tls_cipher": "caf\u00e9"},
                   {"tls_proto": "TLSv1.3", "tls_cipher": ""},
                   {"tls_proto": "", "tls_cipher": "C"},
                   {"tls_proto": 3, "tls_cipher": "C"},
                   {"tls_proto": "TLSv1.3", "tls_cipher": "C" * 200}):
            with self.subTest(kw=kw):
                self.assert_refused(begin_attrs(**kw))


# A local submission with none of the three fields.
BARE = (b"Subject: local test\r\n"
        b"To: terntest@localhost\r\n"
        b"\r\n"
        b"body line\r\n")


class LocalSubmissionTest(CleanupTestBase):
    FIELD_RE = re.compile(
        rb"^Message-ID: <(?P<qid>%s)@(?P<host>[^>]+)>\r\n"
        rb"Date: (?P<date>[^\r\n]+)\r\n"
        rb"From: (?P<from>[^\r\n]+)\r\n$" % QID_RE.encode())

    @staticmethod
    def first_field(content, eol):
        """(the first field with its continuation lines, the rest)."""
        end = 0
        while True:
            i = content.find(eol, end)
            if i < 0:
                return content, b""
            end = i + len(eol)
            if content[end:end + 1] not in (b" ", b"\t"):
                return content[:end], content[end:]

    def split_local_received(self, q, qid, uid, eol=b"\r\n"):
        hdr, rest = self.first_field(q.content, eol)
        m = re.match(rb"^Received: by (\S+) \(Tern, from userid (\d+)\)" +
                     eol + rb"\tid (\S+); ([^\r\n]+)" + eol + rb"$", hdr)
        self.assertIsNotNone(m, hdr)
        self.assertEqual(m.group(1).decode(), MYHOSTNAME)
        self.assertEqual(int(m.group(2)), uid)
        self.assertEqual(m.group(3).decode(), qid)
        self.assert_recent_date(m.group(4).decode())
        return rest

    def check_added(self, added, qid, sender_from):
        m = self.FIELD_RE.match(added)
        self.assertIsNotNone(m, added)
        self.assertEqual(m.group("qid").decode(), qid)
        self.assertEqual(m.group("host").decode(), MYHOSTNAME)
        self.assertEqual(m.group("from").decode(), sender_from)
        self.assert_recent_date(m.group("date").decode())

    def test_missing_fields_added_before_the_empty_line(self):
        r = self.submit(local_attrs(uid=1234), [BARE])
        qid = r["queue_id"]
        q = self.content(r)
        self.assertIsNone(q.client)
        rest = self.split_local_received(q, qid, 1234)
        head = b"Subject: local test\r\nTo: terntest@localhost\r\n"
        self.assertTrue(rest.startswith(head), rest)
        self.assertTrue(rest.endswith(b"\r\nbody line\r\n"), rest)
        self.check_added(rest[len(head):-len(b"\r\nbody line\r\n")], qid,
                         "a@example.org")
        self.assertIn("%s: queued, size=%d, nrcpt=1, uid=1234" %
                      (qid, len(BARE)), self.t.log())

    def test_header_split_across_chunks(self):
        # Every piece size, down to one byte per data request: a field
        # name or a line end cut in two changes nothing.
        want = None
        for n in (1, 2, 5, 13, len(BARE)):
            with self.subTest(piece=n):
                r = self.submit(local_attrs(), pieces(BARE, n))
                rest = self.split_local_received(self.content(r),
                                                 r["queue_id"], 1234)
                got = re.sub(rb"<%s@" % QID_RE.encode(), b"<QID@", rest)
                got = re.sub(rb"Date: [^\r]+", b"Date: D", got)
                if want is None:
                    want = got
                self.assertEqual(got, want)

    def test_large_header_section_across_64k_chunks(self):
        # 80 lines of 900 bytes: the section ends in the second chunk,
        # and a line straddles the chunk boundary.
        head = b"".join(b"X-Pad-%02d: %s\r\n" % (i, b"p" * 888)
                        for i in range(80))
        msg = head + b"From: Someone <s@example.org>\r\n\r\nbody\r\n"
        r = self.submit(local_attrs(), pieces(msg, CHUNK))
        rest = self.split_local_received(self.content(r), r["queue_id"],
                                         1234)
        self.assertTrue(rest.startswith(head))
        tail = rest[len(head):]
        m = re.match(rb"^From: Someone <s@example.org>\r\n"
                     rb"Message-ID: <([^>]+)>\r\nDate: ([^\r]+)\r\n"
                     rb"\r\nbody\r\n$", tail)
        self.assertIsNotNone(m, tail[:300])
        self.assertEqual(m.group(1).decode(),
                         "%s@%s" % (r["queue_id"], MYHOSTNAME))

    def test_present_fields_are_kept_and_case_does_not_matter(self):
        msg = (b"message-id: <own@example.org>\r\n"
               b"DATE: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
               b"from: Me <me@example.org>\r\n"
               b"\r\nbody\r\n")
        r = self.submit(local_attrs(), pieces(msg, 7))
        rest = self.split_local_received(self.content(r), r["queue_id"],
                                         1234)
        self.assertEqual(rest, msg)

    def test_folded_fields(self):
        # A continuation line that looks like a field is none.
        msg = (b"Subject: one\r\n from: not a field\r\n"
               b"Date:\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n\r\nb\r\n")
        r = self.submit(local_attrs(), [msg])
        rest = self.split_local_received(self.content(r), r["queue_id"],
                                         1234)
        head = msg[:-len(b"\r\nb\r\n")]
        m = re.match(re.escape(head) + rb"Message-ID: <[^>]+>\r\n"
                     rb"From: a@example.org\r\n\r\nb\r\n$", rest)
        self.assertIsNotNone(m, rest)

    def test_body_without_empty_line_and_no_header(self):
        cases = {
            # The first line that is no field starts the body.
            b"Subject: s\r\nthis is the body\r\n":
                (b"Subject: s\r\n", b"\r\nthis is the body\r\n"),
            b"just a body\r\nmore\r\n": (b"", b"\r\njust a body\r\nmore\r\n"),
            # No body: the fields go at the end, and no empty line.
            b"Subject: s\r\n": (b"Subject: s\r\n", b""),
            # The last field without its line end gets one.
            b"Subject: s": (b"Subject: s\r\n", b""),
            b"": (b"", b""),
        }
        for msg, (head, tail) in cases.items():
            with self.subTest(msg=msg):
                r = self.submit(local_attrs(), pieces(msg, 3))
                qid = r["queue_id"]
                rest = self.split_local_received(self.content(r), qid, 1234)
                self.assertTrue(rest.startswith(head), rest)
                self.assertTrue(rest.endswith(tail), rest)
                self.check_added(rest[len(head):len(rest) - len(tail)],
                                 qid, "a@example.org")

    def test_lf_only_content_gets_lf(self):
        msg = b"Subject: s\nTo: x@example.org\n\nbody\n"
        r = self.submit(local_attrs(uid=0), [msg])
        rest = self.split_local_received(self.content(r), r["queue_id"], 0,
                                         eol=b"\n")
        self.assertNotIn(b"\r", rest)
        m = re.match(rb"^Subject: s\nTo: x@example.org\n"
                     rb"Message-ID: <[^>]+>\nDate: [^\n]+\n"
                     rb"From: a@example.org\n\nbody\n$", rest)
        self.assertIsNotNone(m, rest)

    def test_from_for_null_and_unqualified_senders(self):
        for sender, want in (("", "MAILER-DAEMON@" + MYORIGIN),
                             ("joe", "joe@" + MYORIGIN),
                             ("joe@example.org", "joe@example.org")):
            with self.subTest(sender=sender):
                r = self.submit(local_attrs(sender=sender),
                                [b"Subject: s\r\n\r\nb\r\n"])
                rest = self.content(r).content.split(b"\r\n\r\n")[0]
                self.assertIn(b"\r\nFrom: " + want.encode() + b"\r\n",
                              rest + b"\r\n")

    def test_header_section_too_large(self):
        # header_size_limit (102400) counts even before the section ends.
        line = b"X-Pad: " + b"p" * 991 + b"\r\n"
        r = self.submit(local_attrs(), pieces(line * 110, CHUNK),
                        expect_ok=False)
        self.assertEqual((r["status"], r["code"], r["enh"]),
                         ("error", 552, "5.3.4"), r)
        self.assert_nothing_queued()

    def test_hops_counted_in_local_header(self):
        msg = b"".join(b"Received: by h%d\r\n" % i for i in range(50))
        r = self.submit(local_attrs(), [msg + b"\r\nb\r\n"],
                        expect_ok=False)
        self.assertEqual((r["code"], r["enh"]), (554, "5.4.6"), r)
        self.assert_nothing_queued()

    def test_smtp_origin_is_streamed_unchanged(self):
        r = self.submit(begin_attrs(origin="smtp"), pieces(BARE, 4))
        q = self.content(r)
        self.assertEqual(self.split_received(q, r["queue_id"]), BARE)

    def test_bad_origin_or_uid_is_a_protocol_error(self):
        for attrs in (local_attrs(origin="pickup"),
                      local_attrs(uid=None),
                      local_attrs(uid=-1),
                      local_attrs(uid=1 << 32),
                      local_attrs(uid="1000"),
                      local_attrs(sender="a@b\r\nBcc: x@example.org")):
            with self.subTest(attrs=attrs):
                self.assert_refused(attrs)


def make_file(path, age, owner):
    with open(path, "wb") as f:
        f.write(b"partial")
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    t = time.time() - age
    os.utime(path, (t, t))


class StaleTempTest(CleanupTestBase):
    def incoming_path(self, name=""):
        return os.path.join(self.t.spool, "incoming", name)

    def held(self, path):
        """Open and lock path as a live cleanup would; kept till the end."""
        fd = os.open(path, os.O_RDONLY)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd

    def test_sweep_at_start_removes_only_stale_files(self):
        # cleanup starts on first use: nothing of it runs yet.
        self.assertEqual(self.t.children("cleanup"), [])
        owner = test_user()
        hour = 3600
        make_file(self.incoming_path("t.01STALE"), hour, owner)
        make_file(self.incoming_path("t.02FRESH"), 60, owner)
        make_file(self.incoming_path("t.03HELD"), hour, owner)
        self.held(self.incoming_path("t.03HELD"))
        make_file(os.path.join(self.t.dir, "elsewhere"), hour, owner)
        os.symlink(os.path.join(self.t.dir, "elsewhere"),
                   self.incoming_path("t.04LINK"))
        os.utime(self.incoming_path("t.04LINK"), (0, 0),
                 follow_symlinks=False)
        os.mkfifo(self.incoming_path("t.05FIFO"))
        os.utime(self.incoming_path("t.05FIFO"), (0, 0))

        # A message makes smtpd start a cleanup, which sweeps first.
        c = self.client()
        r = self.send_message_raw(c, MESSAGE + b".\r\n")
        qid = self.queued_id(r)
        self.assertTrue(wait_for(lambda: "removed stale temporary file"
                                 in self.t.log()), self.t.log())
        self.assertEqual(sorted(os.listdir(self.incoming_path())),
                         [qid, "t.02FRESH", "t.03HELD", "t.04LINK",
                          "t.05FIFO"])
        self.assertTrue(os.path.exists(os.path.join(self.t.dir,
                                                    "elsewhere")))
        self.assertEqual(self.t.log_count("removed stale temporary file"),
                         1)
        self.assertIn("removed stale temporary file incoming/t.01STALE",
                      self.t.log())

    def test_live_temp_file_of_another_cleanup_survives(self):
        # Process 1 writes a message and stops half-way.
        c1 = self.cleanup_conn()
        c1.send(begin_attrs())
        c1.send(RCPT)
        self.assertEqual(c1.reply()["status"], "ok")
        temps = [n for n in os.listdir(self.incoming_path())
                 if n.startswith("t.")]
        self.assertEqual(len(temps), 1)
        path = self.incoming_path(temps[0])
        # Its writer holds the lock ...
        fd = os.open(path, os.O_RDONLY)
        self.addCleanup(os.close, fd)
        with self.assertRaises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # ... so even an old-looking file is not stale.
        os.utime(path, (time.time() - 7200, time.time() - 7200))
        old = self.t.children("cleanup")
        self.assertEqual(len(old), 1)
        # A reload makes process 1 finish its client and take no more:
        # the next message goes to a new process, which sweeps.
        self.assertEqual(self.t.ternctl("reload").returncode, 0)
        self.assertTrue(wait_for(lambda: "reload" in self.t.log()))
        time.sleep(0.5)
        r = self.submit(begin_attrs(), [MESSAGE])
        self.assertTrue(set(self.t.children("cleanup")) - set(old),
                        "no second cleanup process")
        self.assertTrue(os.path.exists(path))
        self.assertNotIn("removed stale", self.t.log())
        # Process 1 finishes its message as if nothing happened.
        c1.send([("request", "data"), ("bytes", MESSAGE)])
        c1.send([("request", "end"), ("size", len(MESSAGE))])
        r1 = c1.reply()
        self.assertEqual(r1["status"], "ok", r1)
        self.assertFalse(os.path.exists(path))
        self.assertEqual(sorted(self.qfiles()),
                         sorted([r["queue_id"], r1["queue_id"]]))


if __name__ == "__main__":
    unittest.main()
