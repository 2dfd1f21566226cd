# SPDX-License-Identifier: ISC
"""smtpd and cleanup with real clients (smtplib, raw sockets, swaks): whole
transactions down to the queue file's bytes, pipelining, every error reply,
time-outs and error limits, SMTP smuggling, 8-bit and SMTPUTF8, BDAT, many
clients at once, size limits, lost clients, and the log lines."""
import datetime
import email.utils
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import qfile_reader
from tern_fixture import (HELO, IS_ROOT, QID_RE, QUEUED_RE, RawClient, Tern,
                          free_port, queue_files, smtp_services, test_user,
                          wait_for)

MYHOSTNAME = "mx.example.test"
LOCAL_RCPT = "terntest@localhost"   # the fixture's account: a real user
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"


class SmtpdTestBase(unittest.TestCase):
    conf = ""           # extra tern.conf lines for the class's instance

    def setUp(self):
        self.port = free_port()
        self.t = None
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    # ---- the instance -----------------------------------------------------
    def instance(self, services, conf):
        """A Tern that is stopped and removed whatever happens, even when
        setUp fails half-way (cleanups run then; tearDown does not)."""
        self.t = t = Tern(services, conf)
        self.addCleanup(t.remove)
        t.start()
        return t

    def start(self, extra_conf="", prefork=1, maxproc=100):
        return self.instance(
            smtp_services(self.port, prefork=prefork, maxproc=maxproc),
            "myhostname = %s\n" % MYHOSTNAME + self.conf + extra_conf)

    def client(self, ehlo=HELO, timeout=10.0):
        c = RawClient(self.port, timeout=timeout)
        self.clients.append(c)
        c.greet(ehlo)
        return c

    def smtplib(self, timeout=15):
        s = smtplib.SMTP("127.0.0.1", self.port, local_hostname=HELO,
                         timeout=timeout)
        self.addCleanup(s.close)
        return s

    # ---- the queue --------------------------------------------------------
    def incoming(self):
        """Every name in incoming/, temporary files included."""
        return sorted(os.listdir(os.path.join(self.t.spool, "incoming")))

    def qfiles(self):
        return queue_files(self.t.spool)

    def qfile(self, qid):
        return qfile_reader.read(os.path.join(self.t.spool, "incoming",
                                              qid))

    def queued_id(self, reply):
        """The queue ID from "250 2.0.0 Ok: queued as ID"."""
        if isinstance(reply, tuple):            # smtplib's (code, bytes)
            code, text = reply[0], reply[1].decode()
        else:
            code, text = reply.code, reply.text
        self.assertEqual(code, 250, text)
        m = QUEUED_RE.match(text)
        self.assertIsNotNone(m, "not a queued reply: %r" % text)
        return m.group(1)

    def split_received(self, q, qid, helo=HELO, proto="ESMTP"):
        """Check cleanup's Received: header at the very top of the content
        and return what follows it: the client's message."""
        hdr, rest = q.first_field_and_rest()
        unfolded = re.sub(rb"\r\n[ \t]+", b" ", hdr)
        m = re.match(
            rb"^Received: from (?P<helo>\S+) \((?P<name>\S+) "
            rb"\[127\.0\.0\.1\]\) by (?P<by>\S+) \(Tern\) with "
            rb"(?P<proto>\S+) id (?P<id>\S+)(?: for <(?P<for>[^>]*)>)?; "
            rb"(?P<date>[^\r\n]+)\r\n$", unfolded)
        self.assertIsNotNone(m, "bad Received: header %r" % hdr)
        self.assertEqual(m.group("helo").decode(), helo)
        self.assertEqual(m.group("by").decode(), MYHOSTNAME)
        self.assertEqual(m.group("proto").decode(), proto)
        self.assertEqual(m.group("id").decode(), qid)
        when = email.utils.parsedate_to_datetime(m.group("date").decode())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - when).total_seconds()), 300,
                        m.group("date"))
        self.m_received = m
        return rest

    def assert_nothing_queued(self):
        """No queue file, now; and cleanup's temporary file, if it made
        one, removed soon (smtpd replies as it hangs up on cleanup, which
        then removes the file: the two race)."""
        self.assertEqual(self.qfiles(), [])
        self.assertTrue(wait_for(lambda: self.incoming() == [], timeout=5),
                        "left in incoming/: %r" % self.incoming())

    def assert_enh(self, reply, code, enh):
        self.assertEqual((reply.code, reply.enh), (code, enh), reply)

    def send_message_raw(self, c, content, sender="<a@example.org>",
                         rcpts=("<%s>" % LOCAL_RCPT,), mail_params=""):
        """MAIL, RCPT..., DATA, content (already dot-stuffed and ended)."""
        self.assert_enh(c.cmd("MAIL FROM:%s%s" % (sender, mail_params)),
                        250, "2.1.0")
        for r in rcpts:
            self.assert_enh(c.cmd("RCPT TO:%s" % r), 250, "2.1.5")
        r = c.cmd("DATA")
        self.assertEqual(r.code, 354, r)
        c.send(content)
        return c.reply()


# A small message, CRLF throughout.
MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: Bob <terntest@localhost>\r\n"
           b"Subject: integration test\r\n"
           b"Message-ID: <1@example.org>\r\n"
           b"\r\n"
           b"Hello,\r\n"
           b"\r\n"
           b"this is the body.\r\n")


class QfileReaderTest(unittest.TestCase):
    """The tests' own reader against docs/queue-file.md and the C reader's
    fuzz corpus, so that its verdicts can be trusted."""

    # docs/queue-file.md, "Example".
    EXAMPLE = bytes.fromhex(
        "4d00000006" "5445524e5131"
        "540000000c" "0000000000000001" "00000002"
        "530000000e" "0000" "00" "00" "0000" "0000000000000000"
        "520000000a" "0003" "614062" "00" "0000" "0000"
        "4400000001" "00"
        "4200000000"
        "5800000002" "6869"
        "450000000c" "0000000000000002" "00000001")

    def test_documented_example(self):
        q = qfile_reader.parse(self.EXAMPLE)
        self.assertEqual(q.arrival, (1, 2))
        self.assertIsNone(q.client)
        self.assertEqual((q.sender, q.flags, q.ret, q.envid, q.size),
                         ("", 0, 0, "", 0))
        self.assertEqual(q.recipients, [qfile_reader.Recipient(
            "a@b", 0, "", "", qfile_reader.RS_PENDING)])
        self.assertEqual(q.content, b"hi")
        self.assertEqual(q.record_types, b"MTSRDBXE")

    def test_malformed_files_are_refused(self):
        ex = self.EXAMPLE
        bad = {
            "missing end record": ex[:-17],
            "data after end record": ex + b"\0",
            "truncated record": ex[:-3],
            "unsupported queue file version": ex[:10] + b"2" + ex[11:],
            "bad magic": b"X" + ex[1:],
            "unknown record type": ex[:-17] + b"Z\0\0\0\0" + ex[-17:],
            "recipient count mismatch": ex[:-1] + b"\2",
            "content size mismatch": ex[:-5] + b"\3" + ex[-4:],
            "empty content record": ex[:-17] + b"X\0\0\0\0" + ex[-17:],
        }
        for why, data in bad.items():
            with self.subTest(why=why):
                with self.assertRaises(qfile_reader.QfileError) as cm:
                    qfile_reader.parse(data)
                self.assertIn(why, str(cm.exception))

    def test_fuzz_corpus_verdicts_match_the_c_reader(self):
        d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                         "fuzz", "corpus", "qfile")
        if not os.path.isdir(d):
            self.skipTest("no corpus at %s" % d)
        invalid = {"bad_count": "recipient count mismatch",
                   "incomplete": "missing end record",
                   "no_status": "recipient without status record",
                   "version2": "unsupported queue file version"}
        for name in sorted(os.listdir(d)):
            with self.subTest(name=name):
                path = os.path.join(d, name)
                if name in invalid:
                    with self.assertRaises(qfile_reader.QfileError) as cm:
                        qfile_reader.read(path)
                    self.assertIn(invalid[name], str(cm.exception))
                else:
                    q = qfile_reader.read(path)
                    self.assertEqual(q.record_types[-1:], b"E")


class TransactionTest(SmtpdTestBase):
    """Whole transactions, checked down to the queue file."""

    def setUp(self):
        super().setUp()
        self.start()

    def test_ehlo_advertises_extensions(self):
        c = RawClient(self.port)
        self.clients.append(c)
        greeting = c.reply()
        self.assertEqual(greeting.code, 220)
        self.assertTrue(greeting.text.startswith(MYHOSTNAME + " "),
                        greeting)
        r = c.cmd("EHLO " + HELO)
        self.assertEqual(r.code, 250)
        self.assertEqual(r.lines[0], MYHOSTNAME)
        for ext in ("PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES",
                    "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"):
            self.assertIn(ext, r.lines[1:])
        self.assertEqual(c.cmd("QUIT").raw, b"221 2.0.0 Bye\r\n")
        self.assertTrue(c.at_eof())

    def test_full_transaction_with_smtplib(self):
        s = self.smtplib()
        s.ehlo()
        self.assertEqual(s.mail("alice@example.org")[0], 250)
        self.assertEqual(s.rcpt(LOCAL_RCPT)[0], 250)
        self.assertEqual(s.rcpt("postmaster@localhost")[0], 250)
        before = time.time()
        qid = self.queued_id(s.data(MESSAGE))
        # 250 means the file is durably in incoming/: no waiting.
        self.assertEqual(self.qfiles(), [qid])
        self.assertEqual(self.incoming(), [qid])
        st = os.stat(os.path.join(self.t.spool, "incoming", qid))
        self.assertEqual(st.st_mode & 0o7777, 0o600)
        if IS_ROOT:
            self.assertEqual(st.st_uid, test_user().pw_uid)
        q = self.qfile(qid)
        self.assertEqual(q.record_types, b"MTCSRDRDB" +
                         b"X" * len(q.content_records) + b"E")
        self.assertEqual(q.sender, "alice@example.org")
        self.assertEqual(q.rcpt_addrs, [LOCAL_RCPT, "postmaster@localhost"])
        for r in q.recipients:
            self.assertEqual((r.notify, r.orcpt_type, r.orcpt, r.status),
                             (0, "", "", qfile_reader.RS_PENDING))
        self.assertEqual((q.flags, q.ret, q.envid, q.size),
                         (0, qfile_reader.RET_NONE, "", 0))
        self.assertEqual(q.client.addr, "127.0.0.1")
        self.assertEqual(q.client.port, s.sock.getsockname()[1])
        self.assertEqual(q.client.helo, HELO)
        self.assertEqual(q.client.proto, "ESMTP")
        self.assertLessEqual(abs(q.arrival[0] - before), 60)
        self.assertEqual(self.split_received(q, qid), MESSAGE)
        # Two recipients: no "for <...>" clause.
        self.assertIsNone(self.m_received.group("for"))
        self.assertEqual(s.quit()[0], 221)

    def test_received_names_the_single_recipient(self):
        s = self.smtplib()
        s.ehlo()
        s.mail("alice@example.org")
        s.rcpt(LOCAL_RCPT)
        qid = self.queued_id(s.data(MESSAGE))
        q = self.qfile(qid)
        self.assertEqual(self.split_received(q, qid), MESSAGE)
        self.assertEqual(self.m_received.group("for"), LOCAL_RCPT.encode())
        s.quit()

    def test_dot_stuffing_round_trip_with_smtplib(self):
        # smtplib dot-stuffs; smtpd must give back exactly the original.
        msg = (b"Subject: dots\r\n\r\n.\r\n..\r\n.leading dot\r\n"
               b"..two dots\r\n...\r\nmiddle . dot\r\n. \r\n.\r\nend\r\n")
        s = self.smtplib()
        s.ehlo()
        s.mail("alice@example.org")
        s.rcpt(LOCAL_RCPT)
        qid = self.queued_id(s.data(msg))
        self.assertEqual(self.split_received(self.qfile(qid), qid), msg)
        s.quit()

    def test_dot_unstuffing_byte_for_byte(self):
        c = self.client()
        sent = (b"Subject: stuffed\r\n\r\n"
                b"..\r\n"               # a stuffed lone dot
                b"..leading\r\n"        # a stuffed ".leading"
                b"...three\r\n"         # a stuffed "..three"
                b"not.at.start.\r\n"
                b".unstuffed\r\n"       # not stuffed by the client: RFC 5321
                                        # 4.5.2 still drops the first dot
                b". \r\n"               # dot and space: not the end
                b"last\r\n.\r\n")
        want = (b"Subject: stuffed\r\n\r\n.\r\n.leading\r\n..three\r\n"
                b"not.at.start.\r\nunstuffed\r\n \r\nlast\r\n")
        qid = self.queued_id(self.send_message_raw(c, sent))
        self.assertEqual(self.split_received(self.qfile(qid), qid), want)

    def test_empty_message_and_message_without_final_crlf(self):
        c = self.client()
        qid = self.queued_id(self.send_message_raw(c, b".\r\n"))
        self.assertEqual(self.split_received(self.qfile(qid), qid), b"")
        # smtplib adds the CRLF a message lacks; on the wire it is there.
        s = self.smtplib()
        s.ehlo()
        s.mail("alice@example.org")
        s.rcpt(LOCAL_RCPT)
        qid = self.queued_id(s.data(b"Subject: x\r\n\r\nno newline"))
        self.assertEqual(self.split_received(self.qfile(qid), qid),
                         b"Subject: x\r\n\r\nno newline\r\n")
        s.quit()

    def test_null_sender_and_postmaster(self):
        c = self.client()
        r = self.send_message_raw(
            c, MESSAGE + b".\r\n", sender="<>",
            rcpts=("<postmaster>", "<PostMaster>",
                   "<postmaster@localhost>"))
        qid = self.queued_id(r)
        q = self.qfile(qid)
        self.assertEqual(q.sender, "")
        self.assertEqual(q.rcpt_addrs, ["postmaster", "postmaster",
                                        "postmaster@localhost"])
        self.assertEqual(self.split_received(q, qid), MESSAGE)

    def test_two_messages_on_one_connection(self):
        c = self.client()
        qid1 = self.queued_id(self.send_message_raw(c, MESSAGE + b".\r\n"))
        # After a message the transaction is reset: MAIL is not nested.
        qid2 = self.queued_id(self.send_message_raw(
            c, b"Subject: two\r\n\r\n2\r\n.\r\n", sender="<b@example.org>"))
        self.assertNotEqual(qid1, qid2)
        self.assertEqual(self.qfiles(), sorted([qid1, qid2]))
        self.assertEqual(self.qfile(qid2).sender, "b@example.org")
        # RSET forgets a transaction under way.
        self.assert_enh(c.cmd("MAIL FROM:<c@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RSET"), 250, "2.0.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 503, "5.5.1")
        self.assertEqual(c.cmd("QUIT").code, 221)
        self.assertEqual(len(self.qfiles()), 2)

    def test_ehlo_resets_the_transaction(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assertEqual(c.cmd("EHLO " + HELO).code, 250)
        self.assertIn(c.cmd("DATA").code, (503, 554))
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 503, "5.5.1")
        self.assert_enh(c.cmd("MAIL FROM:<b@example.org>"), 250, "2.1.0")

    def test_helo_gives_plain_smtp(self):
        c = RawClient(self.port)
        self.clients.append(c)
        self.assertEqual(c.reply().code, 220)
        r = c.cmd("HELO " + HELO)
        self.assertEqual((r.code, r.text), (250, MYHOSTNAME))
        qid = self.queued_id(self.send_message_raw(c, MESSAGE + b".\r\n"))
        q = self.qfile(qid)
        self.assertEqual(q.client.proto, "SMTP")
        self.assertEqual(self.split_received(q, qid, proto="SMTP"), MESSAGE)

    def test_dsn_and_size_parameters_are_stored(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org> SIZE=%d RET=HDRS "
                              "ENVID=env+2Bid+3D1" % len(MESSAGE)),
                        250, "2.1.0")
        for line in ("RCPT TO:<%s> NOTIFY=SUCCESS,FAILURE "
                     "ORCPT=rfc822;bob+40example.org" % LOCAL_RCPT,
                     "RCPT TO:<postmaster@localhost> NOTIFY=NEVER",
                     "RCPT TO:<postmaster> NOTIFY=DELAY"):
            self.assert_enh(c.cmd(line), 250, "2.1.5")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(MESSAGE + b".\r\n")
        qid = self.queued_id(c.reply())
        q = self.qfile(qid)
        self.assertEqual(q.ret, qfile_reader.RET_HDRS)
        self.assertEqual(q.envid, "env+id=1")
        self.assertEqual(q.size, len(MESSAGE))
        R = qfile_reader
        self.assertEqual(
            [(r.addr, r.notify, r.orcpt_type, r.orcpt) for r in q.recipients],
            [(LOCAL_RCPT, R.NOTIFY_SUCCESS | R.NOTIFY_FAILURE, "rfc822",
              "bob@example.org"),
             ("postmaster@localhost", R.NOTIFY_NEVER, "", ""),
             ("postmaster", R.NOTIFY_DELAY, "", "")])

    def test_8bitmime_stored_byte_for_byte(self):
        body = bytes(b for b in range(0x80, 0x100)) + b"\r\n"
        msg = (b"Subject: 8bit\r\nContent-Type: text/plain; "
               b"charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n"
               b"\r\n" + body + b"caf\xe9 \xff\xfe\r\n")
        c = self.client()
        qid = self.queued_id(self.send_message_raw(
            c, msg + b".\r\n", mail_params=" BODY=8BITMIME"))
        q = self.qfile(qid)
        self.assertEqual(q.flags, qfile_reader.EIGHTBITMIME)
        self.assertEqual(self.split_received(q, qid), msg)

    def test_smtputf8_accepted_and_stored(self):
        sender = "δοκιμή@παράδειγμα.δοκιμή"
        rcpt = "用户@例子.测试"       # foreign: relayed for 127.0.0.1
        local = "Pöstmaster@localhost"
        msg = ("From: %s\r\nTo: %s\r\nSubject: ünïcödé\r\n\r\n"
               "Grüße, 你好\r\n" % (sender, rcpt)).encode()
        c = self.client()
        self.assert_enh(c.cmd(("MAIL FROM:<%s> SMTPUTF8 BODY=8BITMIME" %
                               sender).encode()), 250, "2.1.0")
        self.assert_enh(c.cmd(("RCPT TO:<%s>" % rcpt).encode()),
                        250, "2.1.5")
        # A non-ASCII local user that does not exist is still unknown.
        self.assert_enh(c.cmd(("RCPT TO:<%s>" % local).encode()),
                        550, "5.1.1")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(msg + b".\r\n")
        qid = self.queued_id(c.reply())
        q = self.qfile(qid)
        self.assertEqual(q.sender, sender)
        self.assertEqual(q.rcpt_addrs, [rcpt])
        self.assertEqual(q.flags, qfile_reader.SMTPUTF8 |
                         qfile_reader.EIGHTBITMIME)
        self.assertEqual(q.client.proto, "UTF8SMTP")
        self.assertEqual(self.split_received(q, qid, proto="UTF8SMTP"), msg)

    def test_large_message_content_records(self):
        line = b"x" * 998 + b"\r\n"
        msg = b"Subject: big\r\n\r\n" + line * 300      # ~300 KB
        s = self.smtplib()
        s.ehlo()
        s.mail("alice@example.org")
        s.rcpt(LOCAL_RCPT)
        qid = self.queued_id(s.data(msg))
        q = self.qfile(qid)
        self.assertEqual(self.split_received(q, qid), msg)
        # Every content record but the last is exactly 64 KiB.
        self.assertTrue(all(n == qfile_reader.REC_MAX
                            for n in q.content_records[:-1]),
                        q.content_records)
        s.quit()

    def test_long_line_is_kept_whole(self):
        # Longer than line_length_limit (2048): split for reading only.
        line = bytes(ord("a") + i % 26 for i in range(10000))
        msg = b"Subject: long\r\n\r\n" + line + b"\r\n.x\r\n"
        c = self.client()
        qid = self.queued_id(self.send_message_raw(
            c, b"Subject: long\r\n\r\n" + line + b"\r\n..x\r\n.\r\n"))
        self.assertEqual(self.split_received(self.qfile(qid), qid), msg)


class PipeliningTest(SmtpdTestBase):
    def setUp(self):
        super().setUp()
        self.start()

    def test_whole_transaction_pipelined(self):
        c = self.client()
        # RFC 2920: DATA ends a command group.
        c.send("MAIL FROM:<a@example.org>\r\n"
               "RCPT TO:<%s>\r\n"
               "RCPT TO:<postmaster@localhost>\r\n"
               "DATA\r\n" % LOCAL_RCPT)
        self.assert_enh(c.reply(), 250, "2.1.0")
        self.assert_enh(c.reply(), 250, "2.1.5")
        self.assert_enh(c.reply(), 250, "2.1.5")
        self.assertEqual(c.reply().code, 354)
        c.send(MESSAGE + b".\r\nQUIT\r\n")
        replies = c.replies_until_eof()
        self.assertEqual(len(replies), 2, replies)
        qid = self.queued_id(replies[0])
        self.assertEqual(replies[1].raw, b"221 2.0.0 Bye\r\n")
        q = self.qfile(qid)
        self.assertEqual(q.rcpt_addrs, [LOCAL_RCPT, "postmaster@localhost"])
        self.assertEqual(self.split_received(q, qid), MESSAGE)

    def test_pipelined_group_with_a_rejected_recipient(self):
        c = self.client()
        c.send("MAIL FROM:<a@example.org>\r\n"
               "RCPT TO:<nosuchuser@localhost>\r\n"
               "RCPT TO:<%s>\r\n"
               "DATA\r\n" % LOCAL_RCPT)
        self.assert_enh(c.reply(), 250, "2.1.0")
        self.assert_enh(c.reply(), 550, "5.1.1")
        self.assert_enh(c.reply(), 250, "2.1.5")
        self.assertEqual(c.reply().code, 354)
        c.send(MESSAGE + b".\r\n")
        qid = self.queued_id(c.reply())
        self.assertEqual(self.qfile(qid).rcpt_addrs, [LOCAL_RCPT])

    def test_everything_after_ehlo_in_one_write(self):
        # A client that does not wait for 354 (not allowed, but common):
        # the content is not lost and no command is read as content.
        c = self.client()
        c.send(("MAIL FROM:<a@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" %
                LOCAL_RCPT).encode() + MESSAGE + b".\r\nQUIT\r\n")
        replies = c.replies_until_eof()
        self.assertEqual([r.code for r in replies], [250, 250, 354, 250,
                                                     221], replies)
        qid = self.queued_id(replies[3])
        self.assertEqual(self.split_received(self.qfile(qid), qid), MESSAGE)


class ErrorReplyTest(SmtpdTestBase):
    """Every bad command gets the right reply, and nothing is queued."""
    # Many errors per session here: no tar-pit delays past the soft limit.
    conf = "smtpd_error_sleep_time = 0\n"

    def setUp(self):
        super().setUp()
        self.start()

    def test_unknown_command(self):
        c = self.client()
        for line in ("FOO", "MAILX FROM:<a@example.org>", "EHLOO x",
                     "GET / HTTP/1.0", ""):
            r = c.cmd(line)
            self.assert_enh(r, 500, "5.5.2")
        # Still in business.
        self.assert_enh(c.cmd("NOOP"), 250, "2.0.0")
        self.assert_nothing_queued()

    def test_mail_before_ehlo(self):
        c = self.client(ehlo=None)
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 503, "5.5.1")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 503, "5.5.1")
        self.assertIn(c.cmd("DATA").code, (503, 554))

    def test_rcpt_before_mail(self):
        c = self.client()
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 503, "5.5.1")

    def test_data_without_recipients(self):
        c = self.client()
        r = c.cmd("DATA")
        self.assertIn(r.code, (503, 554), r)
        self.assertEqual(r.enh, "5.5.1")
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<nosuchuser@localhost>"),
                        550, "5.1.1")
        r = c.cmd("DATA")
        self.assertIn(r.code, (503, 554), r)
        self.assertTrue(r.enh.startswith("5.5."), r)
        # The "message" that follows is read as commands, and refused.
        self.assert_enh(c.cmd("Subject: x"), 500, "5.5.2")
        self.assert_nothing_queued()

    def test_nested_mail(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("MAIL FROM:<b@example.org>"), 503, "5.5.1")
        # The first transaction stands.
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(MESSAGE + b".\r\n")
        qid = self.queued_id(c.reply())
        self.assertEqual(self.qfile(qid).sender, "a@example.org")

    def test_bad_address_syntax(self):
        c = self.client()
        for bad in ("<a@@example.org>", "<a@example..org>", "<a b@example.org>",
                    "<@example.org>", "<a@example.org", "a@example.org"):
            self.assert_enh(c.cmd("MAIL FROM:" + bad), 501, "5.1.7")
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        for bad in ("<a@@localhost>", "<terntest@local..host>",
                    "<terntest@>", "<a@localhost", "<>"):
            self.assert_enh(c.cmd("RCPT TO:" + bad), 501, "5.1.3")
        self.assert_enh(c.cmd("MAIL"), 501, "5.5.4")
        self.assert_enh(c.cmd("RCPT"), 501, "5.5.4")

    def test_unknown_mail_parameter(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org> FOO=BAR"),
                        555, "5.5.4")
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org> XYZZY"),
                        555, "5.5.4")
        # NOTIFY belongs to RCPT.
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org> NOTIFY=NEVER"),
                        555, "5.5.4")
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s> FOO=BAR" % LOCAL_RCPT),
                        555, "5.5.4")

    def test_parameters_need_ehlo(self):
        # After HELO no extension is in force: BODY=8BITMIME is unknown.
        c = self.client(ehlo=None)
        self.assertEqual(c.cmd("HELO " + HELO).code, 250)
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org> BODY=8BITMIME"),
                        555, "5.5.4")

    def test_data_with_parameter(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assert_enh(c.cmd("DATA now"), 501, "5.5.4")
        self.assert_enh(c.cmd("QUIT now"), 501, "5.5.4")
        self.assert_enh(c.cmd("RSET x"), 501, "5.5.4")
        self.assert_nothing_queued()

    def test_size_over_limit_at_mail(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org> SIZE=10240001"),
                        552, "5.3.4")
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org> SIZE=10240000"),
                        250, "2.1.0")

    def test_non_ascii_address_needs_smtputf8(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<δοκιμή@example.org>".encode()),
                        553, "5.6.7")
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<用户@example.com>".encode()),
                        553, "5.6.7")
        # Bytes that are not UTF-8 at all are a syntax error.
        self.assert_enh(c.cmd(b"RCPT TO:<\xff\xfe@example.com>"),
                        501, "5.1.3")

    def test_unknown_local_user(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        r = c.cmd("RCPT TO:<nosuchuser@localhost>")
        self.assert_enh(r, 550, "5.1.1")
        self.assertIn("nosuchuser@localhost", r.text)
        r = c.cmd("RCPT TO:<nosuchuser@%s>" % MYHOSTNAME)
        self.assert_enh(r, 550, "5.1.1")
        self.assert_enh(c.cmd("RCPT TO:<postmaster@localhost>"),
                        250, "2.1.5")
        self.assert_enh(c.cmd("RCPT TO:<postmaster>"), 250, "2.1.5")
        self.assert_enh(c.cmd("RCPT TO:<TernTest@LocalHost>"), 250, "2.1.5")
        self.assertTrue(wait_for(lambda: re.search(
            r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 550 5\.1\.1 "
            r"<nosuchuser@localhost>: .*from=<a@example\.org> "
            r"to=<nosuchuser@localhost>", self.t.log()), timeout=5),
            self.t.log())

    def test_every_reply_has_an_enhanced_status_code(self):
        c = RawClient(self.port)
        self.clients.append(c)
        self.assertEqual(c.reply().code, 220)       # greeting: exempt
        self.assertEqual(c.cmd("EHLO " + HELO).code, 250)  # exempt
        lines = [
            "NOOP", "NOOP anything", "HELP", "VRFY postmaster", "RSET",
            "EXPN list", "STARTTLS", "AUTH PLAIN", "FOO", "", "DATA",
            "RCPT TO:<%s>" % LOCAL_RCPT, "MAIL FROM:<a@example.org> X=Y",
            "MAIL FROM:<a@@b>", "MAIL FROM:<a@example.org> SIZE=99999999999",
            "MAIL FROM:<a@example.org>", "MAIL FROM:<a@example.org>",
            "RCPT TO:<nosuchuser@localhost>", "RCPT TO:<a@@b>",
            "RCPT TO:<%s>" % LOCAL_RCPT, "BDAT x", "DATA x", "RSET",
            "BDAT 3 LAST",
        ]
        seen = []
        for line in lines:
            c.send(line + "\r\n")
            if line == "BDAT 3 LAST":
                c.send("abc")
            r = c.reply()
            seen.append((line, r))
            self.assertIsNotNone(r.enh, "%r -> %r" % (line, r.raw))
            # The class digit of the enhanced code matches the reply.
            self.assertEqual(r.enh[0], str(r.code)[0], (line, r))
        self.assertEqual(c.cmd("QUIT").raw, b"221 2.0.0 Bye\r\n")
        self.assert_nothing_queued()

    def test_line_too_long(self):
        # line_length_limit is 2048: a longer command gets its own reply
        # at once (the client waits for it), and its tail is no command.
        for n in (2100, 5000):
            with self.subTest(length=n):
                c = self.client(timeout=5)
                c.send("NOOP " + "x" * n + "\r\n")
                try:
                    r = c.reply()
                except socket.timeout:
                    self.fail("no reply to a %d-byte command line within "
                              "5 s" % (n + 5))
                self.assertEqual(r.code, 500, r)
                self.assertIsNotNone(r.enh, r)
                self.assert_enh(c.cmd("NOOP"), 250, "2.0.0")

    def test_line_too_long_pipelined(self):
        # The same, with the next command already sent: both answered.
        c = self.client(timeout=5)
        c.send("NOOP " + "x" * 5000 + "\r\nNOOP\r\n")
        self.assertEqual(c.reply().code, 500)
        self.assert_enh(c.reply(), 250, "2.0.0")


class RelayTest(SmtpdTestBase):
    conf = "mynetworks = 192.0.2.0/24\n"

    def setUp(self):
        super().setUp()
        self.start()

    def test_relay_denied_outside_mynetworks(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        r = c.cmd("RCPT TO:<someone@example.com>")
        self.assert_enh(r, 554, "5.7.1")
        self.assertIn("someone@example.com", r.text)
        # Local mail is still accepted from anywhere.
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(MESSAGE + b".\r\n")
        qid = self.queued_id(c.reply())
        self.assertEqual(self.qfile(qid).rcpt_addrs, [LOCAL_RCPT])
        self.assertTrue(wait_for(lambda: re.search(
            r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 5\.7\.1 "
            r".*to=<someone@example\.com>", self.t.log()), timeout=5),
            self.t.log())

    def test_relay_domains_accepted(self):
        self.t.write_conf("myhostname = %s\n%srelay_domains = example.net\n"
                          % (MYHOSTNAME, self.conf))
        # Each smtpd process reads tern.conf when it starts: reload.
        self.assertEqual(self.t.ternctl("reload").returncode, 0)
        time.sleep(0.5)
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<x@sub.example.net>"), 250, "2.1.5")
        self.assert_enh(c.cmd("RCPT TO:<x@example.com>"), 554, "5.7.1")


class RecipientTableTest(SmtpdTestBase):
    """Unknown recipients are refused at RCPT when their table is known:
    virtual_mailbox_maps for virtual domains, accounts and alias_maps for
    mydestination (no accepted mail bounced later: no backscatter)."""

    def setUp(self):
        super().setUp()
        self.src = None

    def begin(self, extra):
        self.start(extra)
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        return c

    def test_virtual_table(self):
        c = self.begin("virtual_mailbox_domains = v.test\n"
                       "recipient_delimiter = +\n"
                       "virtual_mailbox_maps = inline:{ alice@v.test=a/ }\n")
        self.assert_enh(c.cmd("RCPT TO:<alice@v.test>"), 250, "2.1.5")
        self.assert_enh(c.cmd("RCPT TO:<Alice+tag@V.test>"), 250, "2.1.5")
        r = c.cmd("RCPT TO:<bob@v.test>")
        self.assert_enh(r, 550, "5.1.1")
        self.assertIn("User unknown in virtual mailbox table", r.text)

    def test_virtual_without_table_accepts(self):
        c = self.begin("virtual_mailbox_domains = v.test\n")
        self.assert_enh(c.cmd("RCPT TO:<anyone@v.test>"), 250, "2.1.5")

    def test_aliases_are_recipients(self):
        c = self.begin("alias_maps = inline:{ team=root, sales=x@y }\n")
        self.assert_enh(c.cmd("RCPT TO:<team@localhost>"), 250, "2.1.5")
        self.assert_enh(c.cmd("RCPT TO:<SALES@localhost>"), 250, "2.1.5")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assert_enh(c.cmd("RCPT TO:<nosuchuser@localhost>"), 550,
                        "5.1.1")

    def test_default_alias_table_is_in_the_config_directory(self):
        """alias_maps left at its default, lmdb:$config_directory/aliases:
        $config_directory is the directory the instance runs from (the
        master's -c), not the one compiled in."""
        self.start()
        src = os.path.join(self.t.etc, "aliases")
        with open(src, "w") as f:
            f.write("team: root\n")
        os.chmod(src, 0o644)
        self.t.ternctl("map", "build", "-a", src, check=True)
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<team@localhost>"), 250, "2.1.5")
        self.assert_enh(c.cmd("RCPT TO:<nosuchuser@localhost>"), 550,
                        "5.1.1")

    def test_unbuilt_alias_table_is_temporary(self):
        """The aliases source exists but was never built: a name that is
        not an account may be an alias, so 451, not 550."""
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        src = os.path.join(d, "aliases")
        with open(src, "w") as f:
            f.write("team: root\n")
        os.chmod(src, 0o644)
        c = self.begin("alias_maps = lmdb:%s\n" % src)
        self.assert_enh(c.cmd("RCPT TO:<team@localhost>"), 451, "4.3.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assertTrue(wait_for(lambda: "recipient lookup failed: "
                                 "alias_maps" in self.t.log(), 5),
                        self.t.log())


class RecipientLimitTest(SmtpdTestBase):
    conf = "smtpd_recipient_limit = 3\n"

    def setUp(self):
        super().setUp()
        self.start()

    def test_too_many_recipients(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        for r in ("<postmaster>", "<postmaster@localhost>",
                  "<%s>" % LOCAL_RCPT):
            self.assert_enh(c.cmd("RCPT TO:" + r), 250, "2.1.5")
        self.assert_enh(c.cmd("RCPT TO:<postmaster@%s>" % MYHOSTNAME),
                        452, "4.5.3")
        self.assert_enh(c.cmd("RCPT TO:<postmaster@%s>" % MYHOSTNAME),
                        452, "4.5.3")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(MESSAGE + b".\r\n")
        qid = self.queued_id(c.reply())
        self.assertEqual(self.qfile(qid).rcpt_addrs,
                         ["postmaster", "postmaster@localhost", LOCAL_RCPT])


class TimeoutTest(SmtpdTestBase):
    conf = "smtpd_timeout = 2s\n"

    def setUp(self):
        super().setUp()
        self.start()

    def test_silent_client_gets_421_and_is_closed(self):
        c = RawClient(self.port, timeout=10)
        self.clients.append(c)
        self.assertEqual(c.reply().code, 220)
        t0 = time.monotonic()
        r = c.reply()
        elapsed = time.monotonic() - t0
        self.assert_enh(r, 421, "4.4.2")
        self.assertGreater(elapsed, 1.0)
        self.assertLess(elapsed, 8.0)
        self.assertTrue(c.at_eof())

    def test_client_silent_in_data_gets_421_and_nothing_is_queued(self):
        c = self.client(timeout=10)
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(b"Subject: half\r\n\r\nhalf a messa")
        self.assert_enh(c.reply(), 421, "4.4.2")
        self.assertTrue(c.at_eof())
        self.assertTrue(wait_for(lambda: self.incoming() == [], timeout=5),
                        self.incoming())
        self.assertIn("timeout after DATA", self.t.log())

    def test_client_silent_in_bdat_gets_421_and_nothing_is_queued(self):
        c = self.client(timeout=10)
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        c.send(b"BDAT 100 LAST\r\nonly twenty bytes...")
        self.assert_enh(c.reply(), 421, "4.4.2")
        self.assertTrue(c.at_eof())
        self.assertTrue(wait_for(lambda: self.incoming() == [], timeout=5),
                        self.incoming())


class ErrorLimitTest(SmtpdTestBase):
    conf = "smtpd_hard_error_limit = 3\n"

    def setUp(self):
        super().setUp()
        self.start()

    def test_hard_error_limit(self):
        c = self.client()
        self.assert_enh(c.cmd("NOOP"), 250, "2.0.0")
        self.assert_enh(c.cmd("BOGUS 1"), 500, "5.5.2")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 503, "5.5.1")
        self.assert_enh(c.cmd("BOGUS 3"), 500, "5.5.2")
        # The third error was one too many: 421 and the door.
        r = c.reply()
        self.assert_enh(r, 421, "4.7.0")
        self.assertTrue(r.text.startswith("4.7.0 " + MYHOSTNAME), r)
        self.assertTrue(c.at_eof())
        self.assertTrue(wait_for(lambda: "too many errors" in self.t.log(),
                                 timeout=5))

    def test_pipelined_errors_stop_at_the_limit(self):
        c = self.client()
        c.send("BOGUS\r\n" * 10 + "NOOP\r\n")
        replies = c.replies_until_eof()
        self.assertEqual([(r.code, r.enh) for r in replies],
                         [(500, "5.5.2")] * 3 + [(421, "4.7.0")], replies)


# The smuggling sequences: each would end DATA in some server that takes a
# bare LF or CR for a line end.  Each is followed by a whole second
# transaction, ended by the real <CRLF>.<CRLF>.
SMUGGLE = [
    # (sequence, what normalize stores in its place)
    (b"\n.\n", b"\r\n.\r\n"),
    (b"\r\n.\n", b"\r\n.\r\n"),
    (b"\n.\r\n", b"\r\n.\r\n"),        # ".\r\n" after a bare-LF line
    (b"\r.\r", b"\r\n.\r\n"),
    (b"\r.\r\n", b"\r\n.\r\n"),
    (b"\r\n.\r", b"\r\n.\r\n"),        # ".<CR>MAIL...": the bare CR ends the
    (b"\n.\r", b"\r\n.\r\n"),          # line ".", whose dot is kept
    (b"\r\n.\n\r\n", b"\r\n.\r\n\r\n"),
    (b"\n\n.\n\n", b"\r\n\r\n.\r\n\r\n"),
]
EVIL = (b"MAIL FROM:<evil@example.com>\r\n"
        b"RCPT TO:<postmaster@localhost>\r\n"
        b"DATA\r\n"
        b"From: evil@example.com\r\n"
        b"Subject: smuggled\r\n"
        b"\r\n"
        b"smuggled body\r\n")
SMUGGLE_HEAD = b"From: a@example.org\r\nSubject: innocent\r\n\r\nbody"


class SmugglingMixin:
    """Shared by the reject (default) and the normalize instances."""

    def smuggle(self, seq):
        """One transaction with seq and EVIL in DATA; replies till EOF."""
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(SMUGGLE_HEAD + seq + EVIL + b".\r\nQUIT\r\n")
        return c.replies_until_eof()

    def test_nul_before_dot_is_one_message(self):
        # Some servers drop NUL bytes and then see <CRLF>.<CRLF>.
        replies = self.smuggle(b"\r\n\0.\r\n")
        self.assertEqual(len(replies), 2, replies)
        self.assertEqual(replies[1].code, 221)
        files = self.qfiles()
        self.assertLessEqual(len(files), 1)
        if replies[0].code == 250:
            qid = self.queued_id(replies[0])
            q = self.qfile(qid)
            self.assertEqual(q.sender, "a@example.org")
            self.assertEqual(q.rcpt_addrs, [LOCAL_RCPT])
            self.assertEqual(self.split_received(q, qid),
                             SMUGGLE_HEAD + b"\r\n\0.\r\n" + EVIL)
        else:
            self.assertEqual(replies[0].code // 100, 5, replies)
            self.assertEqual(files, [])

    def test_bare_lf_in_bdat_is_content(self):
        # BDAT is counted: nothing in it can end it, bare LF is just data.
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        chunk = SMUGGLE_HEAD + b"\n.\n" + EVIL + b".\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk + b"QUIT\r\n")
        replies = c.replies_until_eof()
        self.assertEqual([r.code for r in replies], [250, 221], replies)
        qid = self.queued_id(replies[0])
        self.assertEqual(self.qfiles(), [qid])
        q = self.qfile(qid)
        self.assertEqual(q.rcpt_addrs, [LOCAL_RCPT])
        self.assertEqual(self.split_received(q, qid), chunk)


class SmugglingRejectTest(SmugglingMixin, SmtpdTestBase):
    def setUp(self):
        super().setUp()
        self.start()

    def test_smuggling_is_rejected_by_default(self):
        for seq, _ in SMUGGLE:
            with self.subTest(seq=seq):
                replies = self.smuggle(seq)
                self.assertEqual([(r.code, r.enh) for r in replies],
                                 [(550, "5.5.2"), (221, "2.0.0")], replies)
                self.assert_nothing_queued()
        self.assertNotIn("evil@example.com", self.t.log())
        self.assertTrue(wait_for(lambda: self.t.log_count(
            r"(NOQUEUE|%s): reject: DATA from \S+\[127\.0\.0\.1\]: bare "
            % QID_RE) == len(SMUGGLE), timeout=5), self.t.log())

    def test_after_a_rejected_message_the_session_goes_on(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(SMUGGLE_HEAD + b"\n.\n" + EVIL + b".\r\n")
        self.assert_enh(c.reply(), 550, "5.5.2")
        # The transaction is over (not nested), and a clean one works.
        qid = self.queued_id(self.send_message_raw(c, MESSAGE + b".\r\n"))
        self.assertEqual(self.qfiles(), [qid])
        self.assertEqual(self.split_received(self.qfile(qid), qid), MESSAGE)

    def test_lone_bare_lf_or_cr_is_rejected(self):
        for content in (b"Subject: x\r\n\r\nbare\nLF\r\n",
                        b"Subject: x\r\n\r\nbare\rCR\r\n",
                        b"Subject: x\n\r\nbody\r\n"):
            with self.subTest(content=content):
                c = self.client()
                r = self.send_message_raw(c, content + b".\r\n")
                self.assert_enh(r, 550, "5.5.2")
                self.assert_nothing_queued()


class SmugglingNormalizeTest(SmugglingMixin, SmtpdTestBase):
    conf = "smtpd_forbid_bare_newline = normalize\n"

    def setUp(self):
        super().setUp()
        self.start()

    def test_smuggling_is_one_normalized_message(self):
        for seq, stored in SMUGGLE:
            with self.subTest(seq=seq):
                before = set(self.qfiles())
                replies = self.smuggle(seq)
                self.assertEqual([r.code for r in replies], [250, 221],
                                 replies)
                qid = self.queued_id(replies[0])
                self.assertEqual(set(self.qfiles()) - before, {qid})
                q = self.qfile(qid)
                self.assertEqual(q.sender, "a@example.org")
                self.assertEqual(q.rcpt_addrs, [LOCAL_RCPT])
                self.assertEqual(self.split_received(q, qid),
                                 SMUGGLE_HEAD + stored + EVIL)
        self.assertEqual(len(self.qfiles()), len(SMUGGLE))
        self.assertNotIn("from=<evil@example.com>", self.t.log())

    def test_bare_lf_and_cr_become_crlf(self):
        c = self.client()
        qid = self.queued_id(self.send_message_raw(
            c, b"Subject: mixed\nX-A: 1\r\n\nline1\nline2\rline3\r\n"
               b"\n..dot after bare LF\r\n.\r\n"))
        self.assertEqual(
            self.split_received(self.qfile(qid), qid),
            b"Subject: mixed\r\nX-A: 1\r\n\r\nline1\r\nline2\r\nline3\r\n"
            b"\r\n.dot after bare LF\r\n")


class BdatTest(SmtpdTestBase):
    def setUp(self):
        super().setUp()
        self.start()
        self.c = self.client()

    def mail_rcpt(self, params=""):
        self.assert_enh(self.c.cmd("MAIL FROM:<a@example.org>" + params),
                        250, "2.1.0")
        self.assert_enh(self.c.cmd("RCPT TO:<%s>" % LOCAL_RCPT),
                        250, "2.1.5")

    def bdat(self, data, last=False):
        self.c.send(b"BDAT %d%s\r\n" % (len(data), b" LAST" if last else b"")
                    + data)
        return self.c.reply()

    def test_chunks_then_bdat_0_last(self):
        self.mail_rcpt()
        parts = [MESSAGE[:10], MESSAGE[10:57], MESSAGE[57:]]
        for p in parts:
            r = self.bdat(p)
            self.assert_enh(r, 250, "2.0.0")
            self.assertIn("%d octets" % len(p), r.text)
        qid = self.queued_id(self.bdat(b"", last=True))
        q = self.qfile(qid)
        self.assertEqual(self.split_received(q, qid), MESSAGE)
        self.assertEqual(q.rcpt_addrs, [LOCAL_RCPT])

    def test_bdat_last_in_one_go(self):
        self.mail_rcpt(" BODY=BINARYMIME")
        data = bytes(range(256)) * 40 + b"\r\n.\r\n..\r\n"
        qid = self.queued_id(self.bdat(data, last=True))
        q = self.qfile(qid)
        self.assertEqual(q.flags, qfile_reader.BINARYMIME)
        self.assertEqual(self.split_received(q, qid), data)

    def test_last_line_without_crlf_is_stored_exactly(self):
        self.mail_rcpt()
        data = b"Subject: x\r\n\r\nline\nbare LF\rbare CR\r\n..no unstuffing"
        self.assert_enh(self.bdat(data[:20]), 250, "2.0.0")
        qid = self.queued_id(self.bdat(data[20:], last=True))
        self.assertEqual(self.split_received(self.qfile(qid), qid), data)

    def test_pipelined_bdat_chunks(self):
        parts = [b"Subje", b"ct: x\r\n", b"\r\nbody"]
        self.c.send(("MAIL FROM:<a@example.org>\r\nRCPT TO:<%s>\r\n" %
                     LOCAL_RCPT).encode() +
                    b"BDAT %d\r\n%s" % (len(parts[0]), parts[0]) +
                    b"BDAT %d\r\n%s" % (len(parts[1]), parts[1]) +
                    b"BDAT %d LAST\r\n%s" % (len(parts[2]), parts[2]) +
                    b"QUIT\r\n")
        replies = self.c.replies_until_eof()
        self.assertEqual([r.code for r in replies],
                         [250, 250, 250, 250, 250, 221], replies)
        qid = self.queued_id(replies[4])
        self.assertEqual(self.split_received(self.qfile(qid), qid),
                         b"Subject: x\r\n\r\nbody")

    def test_large_bdat_chunks(self):
        self.mail_rcpt(" BODY=BINARYMIME")
        # A header first: content starting with a space or tab would
        # read as a continuation of cleanup's Received: header.
        data = b"Subject: random\r\n\r\n" + os.urandom(300000)
        self.assert_enh(self.bdat(data[:150001]), 250, "2.0.0")
        self.assert_enh(self.bdat(data[150001:299999]), 250, "2.0.0")
        qid = self.queued_id(self.bdat(data[299999:], last=True))
        self.assertGreater(len(data), 299999)
        q = self.qfile(qid)
        self.assertEqual(self.split_received(q, qid), data)

    def test_rset_drops_a_bdat_transaction(self):
        self.mail_rcpt()
        self.assert_enh(self.bdat(b"Subject: x\r\n" * 5000), 250, "2.0.0")
        self.assert_enh(self.c.cmd("RSET"), 250, "2.0.0")
        self.assert_nothing_queued()
        r = self.bdat(b"more", last=True)
        self.assert_enh(r, 503, "5.5.1")
        self.assert_nothing_queued()

    def test_bdat_without_mail_discards_the_chunk(self):
        chunk = b"MAIL FROM:<evil@example.com>\r\nRSET\r\n"
        r = self.bdat(chunk)
        self.assert_enh(r, 503, "5.5.1")
        # The chunk was read and thrown away, not taken as commands.
        self.assert_enh(self.c.cmd("NOOP"), 250, "2.0.0")
        r = self.bdat(chunk, last=True)
        self.assert_enh(r, 503, "5.5.1")
        self.assert_enh(self.c.cmd("NOOP"), 250, "2.0.0")
        self.assert_nothing_queued()
        # And the session still works.
        self.mail_rcpt()
        qid = self.queued_id(self.bdat(MESSAGE, last=True))
        self.assertEqual(self.qfiles(), [qid])

    def test_bdat_without_recipients_discards_the_chunk(self):
        self.assert_enh(self.c.cmd("MAIL FROM:<a@example.org>"),
                        250, "2.1.0")
        r = self.bdat(b"NOOP\r\n", last=True)
        self.assertIn(r.code, (503, 554), r)
        self.assert_enh(self.c.cmd("NOOP"), 250, "2.0.0")
        self.assert_nothing_queued()

    def test_data_after_bdat(self):
        self.mail_rcpt()
        self.assert_enh(self.bdat(b"Subject: x\r\n"), 250, "2.0.0")
        self.assert_enh(self.c.cmd("DATA"), 503, "5.5.1")
        self.assert_enh(self.c.cmd("RCPT TO:<postmaster>"), 503, "5.5.1")
        # The BDAT transaction can still be finished.
        qid = self.queued_id(self.bdat(b"\r\nbody\r\n", last=True))
        self.assertEqual(self.split_received(self.qfile(qid), qid),
                         b"Subject: x\r\n\r\nbody\r\n")

    def test_bad_bdat_syntax(self):
        self.mail_rcpt()
        for line in ("BDAT", "BDAT x", "BDAT 1 FIRST", "BDAT -1",
                     "BDAT 1234567890123456789"):
            self.assert_enh(self.c.cmd(line), 501, "5.5.4")
        self.assert_enh(self.c.cmd("NOOP"), 250, "2.0.0")


class SizeLimitTest(SmtpdTestBase):
    conf = "message_size_limit = 10000\n"

    def setUp(self):
        super().setUp()
        self.start()

    def test_ehlo_advertises_the_limit(self):
        c = RawClient(self.port)
        self.clients.append(c)
        c.reply()
        self.assertIn("SIZE 10000", c.cmd("EHLO " + HELO).lines)

    def test_oversize_data_is_refused_and_nothing_queued(self):
        c = self.client()
        big = b"Subject: big\r\n\r\n" + (b"y" * 98 + b"\r\n") * 200
        self.assertGreater(len(big), 20000)
        r = self.send_message_raw(c, big + b".\r\n")
        self.assert_enh(r, 552, "5.3.4")
        self.assert_nothing_queued()
        # The session goes on: a message under the limit is taken.
        qid = self.queued_id(self.send_message_raw(c, MESSAGE + b".\r\n"))
        self.assertEqual(self.qfiles(), [qid])
        self.assertTrue(wait_for(lambda: re.search(
            r"NOQUEUE: reject: DATA from \S+: message too big|"
            r"%s: reject: DATA from \S+: message too big" % QID_RE,
            self.t.log()), timeout=5), self.t.log())

    def test_oversize_with_smtplib(self):
        s = self.smtplib()
        s.ehlo()
        s.mail("alice@example.org")
        s.rcpt(LOCAL_RCPT)
        code, text = s.data(b"Subject: big\r\n\r\n" + b"z" * 20000 + b"\r\n")
        self.assertEqual(code, 552, text)
        self.assertTrue(text.startswith(b"5.3.4 "), text)
        self.assert_nothing_queued()

    def test_oversize_bdat(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        data = b"w" * 20000
        c.send(b"BDAT %d LAST\r\n" % len(data) + data)
        self.assert_enh(c.reply(), 552, "5.3.4")
        self.assert_enh(c.cmd("NOOP"), 250, "2.0.0")
        self.assert_nothing_queued()

    def test_exactly_at_the_limit_is_accepted(self):
        c = self.client()
        head = b"Subject: fits\r\n\r\n"
        msg = head + b"f" * (10000 - len(head) - 2) + b"\r\n"
        self.assertEqual(len(msg), 10000)
        qid = self.queued_id(self.send_message_raw(c, msg + b".\r\n"))
        self.assertEqual(self.split_received(self.qfile(qid), qid), msg)


class NoSizeLimitTest(SmtpdTestBase):
    conf = "message_size_limit = 0\n"

    def setUp(self):
        super().setUp()
        self.start()

    def test_zero_means_no_limit(self):
        c = RawClient(self.port)
        self.clients.append(c)
        c.reply()
        self.assertIn("SIZE", c.cmd("EHLO " + HELO).lines)
        msg = b"Subject: unlimited\r\n\r\n" + (b"u" * 98 + b"\r\n") * 100
        qid = self.queued_id(self.send_message_raw(c, msg + b".\r\n"))
        self.assertEqual(self.split_received(self.qfile(qid), qid), msg)


class CleanupLimitTest(SmtpdTestBase):
    conf = "header_size_limit = 2048\nhopcount_limit = 3\n"

    def setUp(self):
        super().setUp()
        self.start()

    def test_header_section_limit(self):
        c = self.client()
        pad = b"".join(b"X-Pad-%02d: %s\r\n" % (i, b"p" * 80)
                       for i in range(10))
        # About 1 KB of header and 30 KB of body: accepted.
        msg = b"Subject: ok\r\n" + pad + b"\r\n" + b"b" * 30000 + b"\r\n"
        qid = self.queued_id(self.send_message_raw(c, msg + b".\r\n"))
        self.assertEqual(self.split_received(self.qfile(qid), qid), msg)
        # About 3 KB of header: refused.
        msg = b"Subject: big header\r\n" + pad * 3 + b"\r\nbody\r\n"
        r = self.send_message_raw(c, msg + b".\r\n")
        self.assert_enh(r, 552, "5.3.4")
        self.assertEqual(self.qfiles(), [qid])

    def test_hop_count_limit(self):
        c = self.client()
        hops = b"".join(b"Received: from h%d.example by h%d.example; "
                        b"Sat, 1 Jan 2000 00:00:00 +0000\r\n" % (i, i + 1)
                        for i in range(4))
        msg = hops[:len(hops) // 2] + b"Subject: 2 hops\r\n\r\nbody\r\n"
        qid = self.queued_id(self.send_message_raw(c, msg + b".\r\n"))
        self.assertEqual(self.split_received(self.qfile(qid), qid), msg)
        msg = hops + b"Subject: 4 hops\r\n\r\nbody\r\n"
        r = self.send_message_raw(c, msg + b".\r\n")
        self.assert_enh(r, 554, "5.4.6")
        # Received: in the body is no hop.
        msg = b"Subject: quoted\r\n\r\n" + hops * 3
        qid2 = self.queued_id(self.send_message_raw(c, msg + b".\r\n"))
        self.assertEqual(self.qfiles(), sorted([qid, qid2]))


class NoCleanupTest(SmtpdTestBase):
    def test_cleanup_unreachable_is_a_temporary_error(self):
        self.instance("smtp inet 127.0.0.1:%d y n 100 1 - smtpd\n"
                      % self.port, "myhostname = %s\n" % MYHOSTNAME)
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        r = c.cmd("DATA")
        self.assertEqual(r.code, 451, r)
        self.assertEqual(r.enh, "4.3.0")
        # No 354: whatever the client sends next is a command.
        self.assert_enh(c.cmd("NOOP"), 250, "2.0.0")
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        c.send(b"BDAT 6 LAST\r\nNOOP\r\n")
        self.assert_enh(c.reply(), 451, "4.3.0")
        self.assert_enh(c.cmd("NOOP"), 250, "2.0.0")
        self.assertEqual(self.qfiles(), [])
        self.assertIn("cannot hand a message", self.t.log())


class LostClientTest(SmtpdTestBase):
    def setUp(self):
        super().setUp()
        self.start()

    def test_disconnect_mid_data(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assertEqual(c.cmd("DATA").code, 354)
        # Enough that cleanup has a temporary file on disk.
        c.send(b"Subject: lost\r\n\r\n" + (b"l" * 98 + b"\r\n") * 2000)
        time.sleep(0.3)
        c.close()
        self.assertTrue(wait_for(
            lambda: "lost connection after DATA" in self.t.log(),
            timeout=10), self.t.log())
        self.assertTrue(wait_for(lambda: self.incoming() == [], timeout=10),
                        self.incoming())
        self.assertTrue(wait_for(lambda: re.search(
            r"disconnect from \S+\[127\.0\.0\.1\] .*commands=\d+",
            self.t.log()), timeout=5), self.t.log())
        # The next client is served.
        s = self.smtplib()
        s.ehlo()
        s.mail("alice@example.org")
        s.rcpt(LOCAL_RCPT)
        qid = self.queued_id(s.data(MESSAGE))
        self.assertEqual(self.incoming(), [qid])
        s.quit()

    def test_disconnect_mid_bdat(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        c.send(b"BDAT 100000\r\n" + b"b" * 70000)
        time.sleep(0.3)
        c.close()
        self.assertTrue(wait_for(
            lambda: "lost connection after BDAT" in self.t.log(),
            timeout=10), self.t.log())
        self.assertTrue(wait_for(lambda: self.incoming() == [], timeout=10),
                        self.incoming())
        s = self.smtplib()
        s.ehlo()
        s.mail("alice@example.org")
        s.rcpt(LOCAL_RCPT)
        self.queued_id(s.data(MESSAGE))
        s.quit()

    def test_disconnect_between_commands(self):
        c = self.client()
        self.assert_enh(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        c.close()
        self.assertTrue(wait_for(lambda: re.search(
            r"disconnect from \S+\[127\.0\.0\.1\] ehlo=1 mail=1 commands=2",
            self.t.log()), timeout=10), self.t.log())
        self.assert_nothing_queued()


class ConcurrencyTest(SmtpdTestBase):
    def setUp(self):
        super().setUp()
        self.start()

    def test_fifty_concurrent_clients(self):
        n = 50
        results = [None] * n
        barrier = threading.Barrier(n, timeout=60)

        def one(i):
            try:
                try:
                    s = smtplib.SMTP("127.0.0.1", self.port,
                                     local_hostname="c%d.example.test" % i,
                                     timeout=60)
                except Exception:
                    barrier.abort()     # do not keep the others waiting
                    raise
                try:
                    barrier.wait()
                    s.ehlo()
                    s.mail("sender%d@example.org" % i)
                    s.rcpt(LOCAL_RCPT)
                    body = b"Subject: client %d\r\n\r\n" % i + \
                        (b"%d\r\n" % i) * (i * 50 + 1)
                    code, text = s.data(body)
                    results[i] = (code, text.decode(), body)
                    s.quit()
                finally:
                    s.close()
            except Exception as e:      # reported below, per client
                results[i] = ("error", repr(e), None)

        threads = [threading.Thread(target=one, args=(i,), daemon=True)
                   for i in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        self.assertFalse(any(th.is_alive() for th in threads))
        qids = {}
        for i, (code, text, body) in enumerate(results):
            self.assertEqual(code, 250, "client %d: %s" % (i, text))
            m = QUEUED_RE.match(text)
            self.assertIsNotNone(m, text)
            qids[m.group(1)] = (i, body)
        self.assertEqual(len(qids), n)
        self.assertEqual(sorted(qids), self.qfiles())
        self.assertEqual(self.incoming(), self.qfiles())
        for qid, (i, body) in qids.items():
            q = self.qfile(qid)
            self.assertEqual(q.sender, "sender%d@example.org" % i)
            self.assertEqual(self.split_received(
                q, qid, helo="c%d.example.test" % i), body)


class SwaksTest(SmtpdTestBase):
    def setUp(self):
        super().setUp()
        if not os.access(SWAKS, os.X_OK):
            self.skipTest("swaks is not installed")
        self.start()

    def swaks(self, *args):
        cmd = [SWAKS, "--server", "127.0.0.1:%d" % self.port,
               "--from", "swaks@example.org", "--ehlo", HELO,
               "--timeout", "20"] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=60)

    def test_swaks(self):
        r = self.swaks("--to", LOCAL_RCPT, "--header", "Subject: from swaks",
                       "--body", "Hello from swaks.\n.dot line\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = re.search(r"^<-  250 2\.0\.0 Ok: queued as (%s)$" % QID_RE,
                      r.stdout, re.M)
        self.assertIsNotNone(m, r.stdout)
        qid = m.group(1)
        self.assertEqual(self.qfiles(), [qid])
        q = self.qfile(qid)
        self.assertEqual(q.sender, "swaks@example.org")
        self.assertEqual(q.rcpt_addrs, [LOCAL_RCPT])
        content = self.split_received(q, qid)
        self.assertIn(b"\r\nSubject: from swaks\r\n", content)
        self.assertIn(b"\r\n\r\nHello from swaks.\r\n.dot line\r\n", content)

    def test_swaks_pipelining_to_postmaster(self):
        r = self.swaks("--to", "postmaster@localhost,%s" % LOCAL_RCPT,
                       "--pipeline")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(self.qfiles()), 1)
        q = self.qfile(self.qfiles()[0])
        self.assertEqual(q.rcpt_addrs, ["postmaster@localhost", LOCAL_RCPT])

    def test_swaks_unknown_user_fails(self):
        r = self.swaks("--to", "nosuchuser@localhost")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("550 5.1.1", r.stdout)
        self.assert_nothing_queued()


class LogTest(SmtpdTestBase):
    def setUp(self):
        super().setUp()
        self.start()

    def test_log_lines(self):
        c = self.client()
        qid = self.queued_id(self.send_message_raw(c, MESSAGE + b".\r\n"))
        self.assert_enh(c.cmd("MAIL FROM:<b@example.org>"), 250, "2.1.0")
        self.assert_enh(c.cmd("RCPT TO:<nosuchuser@localhost>"),
                        550, "5.1.1")
        self.assert_enh(c.cmd("BOGUS"), 500, "5.5.2")
        self.assertEqual(c.cmd("QUIT").code, 221)
        self.assertTrue(c.at_eof())
        pat = r"disconnect from \S+\[127\.0\.0\.1\] .*commands=(\d+)"
        self.assertTrue(wait_for(lambda: re.search(pat, self.t.log()),
                                 timeout=5), self.t.log())
        log = self.t.log()
        lines = log.splitlines()

        def line_index(regex):
            for i, line in enumerate(lines):
                if re.search(regex, line):
                    return i
            self.fail("no line matches %r in:\n%s" % (regex, log))

        order = [
            line_index(r"tern/smtpd\[\d+\]: connect from \S+"
                       r"\[127\.0\.0\.1\]$"),
            line_index(r"tern/smtpd\[\d+\]: %s: client=\S+"
                       r"\[127\.0\.0\.1\]$" % qid),
            line_index(r"tern/smtpd\[\d+\]: %s: from=<a@example\.org>, "
                       r"size=%d, nrcpt=1,? queued$" % (qid, len(MESSAGE))),
            line_index(r"tern/smtpd\[\d+\]: NOQUEUE: reject: RCPT from \S+"
                       r"\[127\.0\.0\.1\]: 550 5\.1\.1 .*from=<b@example\.org>"
                       r" to=<nosuchuser@localhost>"),
            line_index(pat),
        ]
        self.assertEqual(order, sorted(order), log)
        # EHLO, MAIL x2, RCPT x2, DATA, BOGUS, QUIT.
        self.assertEqual(re.search(pat, log).group(1), "8", log)
        self.assertRegex(log, r"disconnect from .* ehlo=1 mail=2 rcpt=1/2 "
                              r"data=1 quit=1 unknown=0/1 commands=8")
        # Client text in the log is made safe.
        self.assertNotIn("\r", log)



class UnofferedCommandTest(SmtpdTestBase):
    """Known commands of extensions not offered: an error, never 250."""

    def setUp(self):
        super().setUp()
        self.start()

    def test_starttls_expn_auth_without_the_extension(self):
        c = self.client()
        self.assert_enh(c.cmd("STARTTLS"), 502, "5.5.1")
        self.assert_enh(c.cmd("EXPN staff"), 502, "5.5.1")
        self.assert_enh(c.cmd("AUTH PLAIN"), 503, "5.5.1")
        # The session is unharmed: a transaction still works.
        qid = self.queued_id(self.send_message_raw(c, MESSAGE + b".\r\n"))
        self.assertEqual(self.qfiles(), [qid])


if __name__ == "__main__":
    unittest.main()
