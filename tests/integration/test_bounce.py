# SPDX-License-Identifier: ISC
"""bounce (docs/ipc.md, "qmgr -> bounce"), driven the way the queue
manager drives it: the test sends a message through smtpd and cleanup,
takes its queue file from incoming/, hands the file's descriptor and a
notify request to private/bounce, and reads the notice bounce queued
through cleanup (origin=internal) back from incoming/: its envelope, its
Received: header, its MIME structure (with Python's email package, an
independent parser), the delivery-status fields per recipient, what of
the original it returns, bounces of bounces, double bounces, bad
requests, and a cleanup that cannot be reached."""
import email
import email.policy
import email.utils
import os
import re
import socket
import time
import unittest

import attr_wire
import qfile_reader
from tern_fixture import (QID_RE, QUEUED_RE, RawClient, Tern, free_port,
                          queue_files, wait_for)

MYHOSTNAME = "mx.example.test"
MYORIGIN = "origin.example.test"
SENDER = "alice@example.org"
RCPT1 = "bob@example.net"
RCPT2 = "carol@example.net"
MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: Bob <bob@example.net>\r\n"
           b"Subject: lunch\r\n"
           b"Message-ID: <lunch-1@example.org>\r\n"
           b"\r\n"
           b"Shall we have lunch?\r\n"
           b"-- \r\nAlice\r\n")
REMOTE = "mx.example.net[192.0.2.9]:25"
REPLY_550 = ("550 5.1.1 <bob@example.net>: Recipient address rejected: "
             "User unknown in virtual mailbox table")
BOUNCE_SIZE_LIMIT = 2000


def services(port, bounce=True, cleanup=True):
    s = "smtp inet 127.0.0.1:%d y n 20 1 - smtpd\n" % port
    if cleanup:
        s += "cleanup unix private/cleanup y n 20 0 - cleanup\n"
    if bounce:
        s += "bounce unix private/bounce y n 20 0 - bounce\n"
    return s


CONF = ("myhostname = %s\nmyorigin = %s\nbounce_size_limit = %d\n"
        "ipc_timeout = 3s\n" % (MYHOSTNAME, MYORIGIN, BOUNCE_SIZE_LIMIT))


def split_head(content):
    """(header section with its last CRLF, body) of a message."""
    i = content.find(b"\r\n\r\n")
    assert i >= 0, content
    return content[:i + 2], content[i + 4:]


def unfold(value):
    return re.sub(r"\r\n[ \t]", " ", value)


class BounceTestBase(unittest.TestCase):
    conf = CONF

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.t = Tern(services(cls.port), cls.conf)
        try:
            cls.t.start()
        except Exception:
            cls.t.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.t.remove()

    # ---- the original message -------------------------------------------
    def send(self, sender=SENDER, rcpts=((RCPT1, ""),), data=MESSAGE,
             mail_params=""):
        """Queue a message through smtpd; its queue ID.  rcpts: (address,
        RCPT parameters)."""
        c = RawClient(self.port)
        self.addCleanup(c.close)
        c.greet()
        r = c.cmd(("MAIL FROM:<%s>%s" % (sender, mail_params)).encode())
        self.assertEqual(r.code, 250, r)
        for addr, params in rcpts:
            r = c.cmd(("RCPT TO:<%s>%s" % (addr, params)).encode())
            self.assertEqual(r.code, 250, r)
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(data + b".\r\n")
        r = c.reply()
        self.assertEqual(r.code, 250, r)
        m = QUEUED_RE.match(r.text)
        self.assertIsNotNone(m, r.text)
        c.cmd("QUIT")
        return m.group(1)

    def path(self, qid):
        return os.path.join(self.t.spool, "incoming", qid)

    def qfile(self, qid):
        return qfile_reader.read(self.path(qid))

    # ---- playing qmgr ----------------------------------------------------
    def bounce_sock(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(os.path.join(self.t.spool, "private", "bounce"))
        self.addCleanup(s.close)
        return s

    @staticmethod
    def rcpt_attrs(q, index, action="failed", dsn="5.1.1", relay=REMOTE,
                   text=REPLY_550, **extra):
        r = q.recipients[index]
        a = [("request", "rcpt"), ("index", index), ("addr", r.addr),
             ("orcpt_type", r.orcpt_type), ("orcpt", r.orcpt),
             ("action", action), ("dsn", dsn), ("relay", relay),
             ("text", text)]
        a += list(extra.items())
        return a

    def notify(self, qid, kind, rcpts, notify_extra=(), fd_path=None,
               nrcpt=None):
        """One request as qmgr sends it; bounce's answer."""
        s = self.bounce_sock()
        fd = os.open(fd_path or self.path(qid), os.O_RDONLY)
        try:
            socket.send_fds(s, [b"Q"], [fd])
        finally:
            os.close(fd)
        s.sendall(attr_wire.encode(
            [("request", "notify"), ("proto", "bounce/1"),
             ("queue_id", qid), ("kind", kind),
             ("nrcpt", len(rcpts) if nrcpt is None else nrcpt)] +
            list(notify_extra)))
        for r in rcpts:
            s.sendall(attr_wire.encode(r))
        return attr_wire.read(s)

    def fail_one(self, qid, **kw):
        q = self.qfile(qid)
        r = self.notify(qid, "failure", [self.rcpt_attrs(q, 0, **kw)])
        self.assertEqual(r["status"], "ok", r)
        return r["queue_id"]

    # ---- the notice ------------------------------------------------------
    def notice(self, nqid, env_sender="", rcpt=SENDER):
        """The notice's queue file, checked: envelope, Received:, line
        ends and lengths, the header fields every notice has.  Returns
        (queue file, email.message.Message)."""
        self.assertRegex(nqid, "^%s$" % QID_RE)
        q = self.qfile(nqid)
        self.assertEqual(q.sender, env_sender)
        self.assertEqual(q.rcpt_addrs, [rcpt])
        self.assertIsNone(q.client)           # origin=internal
        self.assertEqual(q.record_types[:3], b"MTS")
        c = q.content
        for line in c.split(b"\r\n")[:-1]:
            self.assertNotIn(b"\n", line)
            self.assertNotIn(b"\r", line)
            self.assertLessEqual(len(line), 998)
        self.assertTrue(c.endswith(b"\r\n"))
        hdr, rest = q.first_field_and_rest()
        self.assertRegex(hdr.decode(), r"^Received: by %s \(Tern\)\r\n"
                         r"\tid %s; [^\r\n]+\r\n$" % (re.escape(MYHOSTNAME),
                                                      nqid))
        m = email.message_from_bytes(rest, policy=email.policy.compat32)
        self.assertEqual(m["From"],
                         "Mail Delivery System <MAILER-DAEMON@%s>" % MYORIGIN)
        self.assertEqual(m["To"], "<%s>" % rcpt)
        self.assertEqual(m["Message-ID"], "<%s@%s>" % (nqid, MYHOSTNAME))
        self.assertEqual(m["Auto-Submitted"], "auto-replied")
        self.assertEqual(m["MIME-Version"], "1.0")
        self.assertIsNotNone(email.utils.parsedate_to_datetime(m["Date"]))
        self.assertEqual(m.get_content_type(), "multipart/report")
        self.assertTrue(m.is_multipart())
        self.assertFalse(m.defects, m.defects)
        return q, m

    @staticmethod
    def report(m):
        """(per-message fields, [per-recipient fields]) of part 2."""
        part = m.get_payload()[1]
        groups = part.get_payload()
        return groups[0], groups[1:]

    def assert_log(self, pattern):
        self.assertTrue(wait_for(lambda: self.t.log_count(pattern) >= 1),
                        "no %r in\n%s" % (pattern, self.t.log()))


class FailureTest(BounceTestBase):
    def test_non_delivery_notice(self):
        qid = self.send()
        nqid = self.fail_one(qid)
        _, m = self.notice(nqid)
        self.assertEqual(m["Subject"], "Undelivered Mail Returned to Sender")
        self.assertEqual(m.get_param("report-type"), "delivery-status")
        parts = m.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status",
                          "text/rfc822-headers"])
        # Part 1 names the recipient and what the server said.
        text = unfold(parts[0].get_payload().replace("\r\n    ", " "))
        self.assertIn("This is the mail system at host %s." % MYHOSTNAME,
                      text)
        self.assertIn("<%s>: host mx.example.net said: %s" %
                      (RCPT1, REPLY_550), text)
        # Part 2, per message and per recipient.
        msg, rcpts = self.report(m)
        self.assertEqual(msg["Reporting-MTA"], "dns; %s" % MYHOSTNAME)
        self.assertEqual(msg["X-Tern-Queue-ID"], qid)
        self.assertEqual(msg["X-Tern-Sender"], "rfc822; %s" % SENDER)
        self.assertTrue(msg["Received-From-MTA"].startswith("dns; "))
        self.assertIsNotNone(
            email.utils.parsedate_to_datetime(msg["Arrival-Date"]))
        self.assertIsNone(msg["Original-Envelope-Id"])
        self.assertEqual(len(rcpts), 1)
        r = rcpts[0]
        self.assertEqual(r["Final-Recipient"], "rfc822; %s" % RCPT1)
        self.assertIsNone(r["Original-Recipient"])
        self.assertEqual(r["Action"], "failed")
        self.assertEqual(r["Status"], "5.1.1")
        self.assertEqual(r["Remote-MTA"], "dns; mx.example.net")
        self.assertEqual(unfold(r["Diagnostic-Code"]), "smtp; " + REPLY_550)
        self.assertIsNotNone(
            email.utils.parsedate_to_datetime(r["Last-Attempt-Date"]))
        # Part 3: the original header section, exactly, cleanup's
        # Received: included.
        orig = self.qfile(qid).content
        head, _ = split_head(orig)
        got = parts[2].get_payload()
        self.assertEqual(got.encode(), head)
        self.assertNotIn("Shall we have lunch", got)
        self.assert_log(r"%s: sender non-delivery notification: %s" %
                        (qid, nqid))
        self.assert_log(r"%s: queued, size=\d+, nrcpt=1, origin=internal" %
                        nqid)

    def test_several_recipients_orcpt_and_local_reasons(self):
        qid = self.send(rcpts=((RCPT1, ""),
                               (RCPT2, " NOTIFY=FAILURE "
                                "ORCPT=rfc822;list+2Bcarol@example.net")),
                        mail_params=" ENVID=env+2Bid+3D1")
        q = self.qfile(qid)
        self.assertEqual(q.recipients[1].orcpt, "list+carol@example.net")
        r = self.notify(qid, "failure", [
            self.rcpt_attrs(q, 1, dsn="5.2.2", relay="",
                            text="mailbox full"),
            self.rcpt_attrs(q, 0, dsn="4.4.7", relay="",
                            text="message expired: connect to "
                            "mx.example.net: Connection refused"),
        ])
        self.assertEqual(r["status"], "ok", r)
        _, m = self.notice(r["queue_id"])
        msg, rcpts = self.report(m)
        self.assertEqual(msg["Original-Envelope-Id"], "env+id=1")
        self.assertEqual([x["Final-Recipient"] for x in rcpts],
                         ["rfc822; " + RCPT2, "rfc822; " + RCPT1])
        self.assertEqual(rcpts[0]["Original-Recipient"],
                         "rfc822; list+carol@example.net")
        self.assertEqual(rcpts[0]["Diagnostic-Code"], "x-unix; mailbox full")
        self.assertIsNone(rcpts[0]["Remote-MTA"])
        self.assertEqual(rcpts[1]["Status"], "4.4.7")
        self.assertEqual(rcpts[1]["Action"], "failed")
        self.assertIsNone(rcpts[1]["Original-Recipient"])
        text = m.get_payload()[0].get_payload().replace("\r\n    ", " ")
        self.assertIn("<%s> (originally list+carol@example.net): mailbox "
                      "full" % RCPT2, text)

    def test_diag_type_given(self):
        qid = self.send()
        nqid = self.fail_one(qid, text="550 looks like a reply",
                             diag_type="x-unix")
        _, m = self.notice(nqid)
        _, rcpts = self.report(m)
        self.assertEqual(rcpts[0]["Diagnostic-Code"],
                         "x-unix; 550 looks like a reply")

    def test_long_and_hostile_diagnostic(self):
        qid = self.send()
        text = ("550-5.1.1 first line\r\n550 5.1.1 " + "word " * 300 +
                "x" * 1500 + "\r\nX-Injected: yes")
        nqid = self.fail_one(qid, text=text)
        q, m = self.notice(nqid)          # line lengths checked there
        _, rcpts = self.report(m)
        diag = unfold(rcpts[0]["Diagnostic-Code"])
        self.assertTrue(diag.startswith("smtp; 550-5.1.1 first line 550 "
                                        "5.1.1 word word"), diag)
        self.assertTrue(diag.endswith("..."), diag)
        self.assertIsNone(rcpts[0]["X-Injected"])
        self.assertNotIn(b"\r\nX-Injected", q.content)

    def test_ret_full_returns_the_message(self):
        qid = self.send(mail_params=" RET=FULL")
        nqid = self.fail_one(qid)
        _, m = self.notice(nqid)
        part = m.get_payload()[2]
        self.assertEqual(part.get_content_type(), "message/rfc822")
        self.assertEqual(part["Content-Description"], "Undelivered Message")
        inner = part.get_payload()[0]
        self.assertEqual(inner["Subject"], "lunch")
        self.assertEqual(inner.get_payload(), "Shall we have lunch?\r\n"
                         "-- \r\nAlice\r\n")
        # Byte for byte: the original as queued.
        raw = self.qfile(nqid).content
        self.assertIn(self.qfile(qid).content, raw)

    def test_ret_full_too_big_returns_headers(self):
        body = b"".join(b"line %04d of a long message\r\n" % i
                        for i in range(200))
        data = MESSAGE + body
        self.assertGreater(len(data), BOUNCE_SIZE_LIMIT)
        qid = self.send(mail_params=" RET=FULL", data=data)
        nqid = self.fail_one(qid)
        _, m = self.notice(nqid)
        parts = m.get_payload()
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        self.assertIn("Subject: lunch", parts[2].get_payload())
        self.assertNotIn("line 0001", parts[2].get_payload())
        self.assertIn("larger than %d bytes" % BOUNCE_SIZE_LIMIT,
                      parts[0].get_payload().replace("\r\n    ", " "))

    def test_8bit_original(self):
        data = (b"Subject: caf\xc3\xa9\r\n\r\nd\xc3\xa9j\xc3\xa0 vu\r\n")
        qid = self.send(mail_params=" BODY=8BITMIME RET=FULL", data=data)
        nqid = self.fail_one(qid)
        q, m = self.notice(nqid)
        self.assertEqual(q.flags, qfile_reader.EIGHTBITMIME)
        self.assertEqual(m["Content-Transfer-Encoding"], "8bit")
        part = m.get_payload()[2]
        self.assertEqual(part["Content-Transfer-Encoding"], "8bit")
        self.assertIn(data, q.content)

    def test_smtputf8_original(self):
        sender = "j\u00f6rg@example.org"
        rcpt = "b\u00fcro@example.net"
        data = ("From: %s\r\nSubject: gr\u00fc\u00dfe\r\n\r\nhallo\r\n" %
                sender).encode()
        qid = self.send(sender=sender, rcpts=((rcpt, ""),), data=data,
                        mail_params=" SMTPUTF8 BODY=8BITMIME")
        nqid = self.fail_one(qid, relay="", text="no such mailbox: "
                             "b\u00fcro")
        q = self.qfile(nqid)
        self.assertEqual(q.sender, "")
        self.assertEqual(q.rcpt_addrs, [sender])
        self.assertTrue(q.flags & qfile_reader.SMTPUTF8)
        self.assertTrue(q.flags & qfile_reader.EIGHTBITMIME)
        c = q.content
        self.assertIn(b"report-type=global-delivery-status;", c)
        self.assertIn(b"Content-Type: message/global-delivery-status\r\n", c)
        self.assertIn(b"Content-Type: message/global-headers\r\n", c)
        self.assertIn(("Final-Recipient: utf-8; %s\r\n" % rcpt).encode(), c)
        self.assertIn(("X-Tern-Sender: utf-8; %s\r\n" % sender).encode(), c)
        self.assertIn("Subject: gr\u00fc\u00dfe\r\n".encode(), c)
        self.assertIn(("To: <%s>\r\n" % sender).encode(), c)


class KindsTest(BounceTestBase):
    def test_delay_notice(self):
        qid = self.send()
        q = self.qfile(qid)
        r = self.notify(qid, "delay", [self.rcpt_attrs(
            q, 0, action="delayed", dsn="4.4.1", relay="",
            text="connect to mx.example.net: Connection refused")])
        self.assertEqual(r["status"], "ok", r)
        _, m = self.notice(r["queue_id"])
        self.assertEqual(m["Subject"], "Delayed Mail (still being retried)")
        _, rcpts = self.report(m)
        self.assertEqual(rcpts[0]["Action"], "delayed")
        self.assertEqual(rcpts[0]["Status"], "4.4.1")
        until = email.utils.parsedate_to_datetime(
            rcpts[0]["Will-Retry-Until"]).timestamp()
        # maximal_queue_lifetime (5d) after the arrival.
        self.assertAlmostEqual(until, q.arrival[0] + 5 * 86400, delta=2)
        self.assertEqual(m.get_payload()[2].get_content_type(),
                         "text/rfc822-headers")
        self.assert_log(r"%s: sender delay notification: %s" %
                        (qid, r["queue_id"]))

    def test_success_notice(self):
        qid = self.send(rcpts=((RCPT1, " NOTIFY=SUCCESS"),),
                        mail_params=" RET=FULL")
        q = self.qfile(qid)
        r = self.notify(qid, "success", [self.rcpt_attrs(
            q, 0, action="relayed", dsn="2.0.0",
            text="250 2.0.0 Ok: queued as 12345")])
        self.assertEqual(r["status"], "ok", r)
        _, m = self.notice(r["queue_id"])
        self.assertEqual(m["Subject"], "Successful Mail Delivery Report")
        _, rcpts = self.report(m)
        self.assertEqual(rcpts[0]["Action"], "relayed")
        self.assertIsNone(rcpts[0]["Will-Retry-Until"])
        # RET=FULL is for failures: a success has the headers only.
        self.assertEqual(m.get_payload()[2].get_content_type(),
                         "text/rfc822-headers")
        self.assert_log(r"%s: sender delivery status notification: %s" %
                        (qid, r["queue_id"]))

    def test_kind_is_honoured(self):
        qid = self.send()
        q = self.qfile(qid)
        before = queue_files(self.t.spool)
        for kind, action, dsn in (("failure", "delayed", "4.4.1"),
                                  ("delay", "failed", "5.1.1"),
                                  ("success", "failed", "5.1.1"),
                                  ("delay", "delayed", "5.1.1"),
                                  ("success", "delivered", "4.0.0")):
            with self.subTest(kind=kind, action=action):
                r = self.notify(qid, kind, [self.rcpt_attrs(
                    q, 0, action=action, dsn=dsn)])
                self.assertEqual(r["status"], "error", r)
        self.assertEqual(queue_files(self.t.spool), before)


class DoubleBounceTest(BounceTestBase):
    def test_bounce_of_a_bounce_goes_to_postmaster(self):
        qid = self.send()
        n1 = self.fail_one(qid)
        # The notice itself cannot be delivered to the sender.
        q1 = self.qfile(n1)
        r = self.notify(n1, "failure", [self.rcpt_attrs(
            q1, 0, text="550 5.1.1 no such user alice")])
        self.assertEqual(r["status"], "ok", r)
        n2 = r["queue_id"]
        q2, m = self.notice(n2, env_sender="double-bounce@" + MYORIGIN,
                            rcpt="postmaster@" + MYORIGIN)
        msg, rcpts = self.report(m)
        self.assertIsNone(msg["X-Tern-Sender"])       # it was <>
        self.assertEqual(rcpts[0]["Final-Recipient"], "rfc822; " + SENDER)
        self.assert_log(r"%s: postmaster non-delivery notification: %s" %
                        (n1, n2))

        # And when that fails too: nothing, ever.
        before = queue_files(self.t.spool)
        r = self.notify(n2, "failure", [self.rcpt_attrs(
            q2, 0, text="550 5.1.1 no postmaster here")])
        self.assertEqual(r["status"], "skipped", r)
        self.assertIn("double-bounce", r["text"])
        self.assertEqual(queue_files(self.t.spool), before)
        self.assert_log(r"%s: no non-delivery notification: message from "
                        r"the double-bounce sender" % n2)

    def test_null_sender_delay_and_postmaster_are_skipped(self):
        before_files = None
        qid = self.send(sender="", rcpts=(("postmaster@" + MYORIGIN, ""),
                                          (RCPT1, "")))
        q = self.qfile(qid)
        before_files = queue_files(self.t.spool)
        r = self.notify(qid, "delay", [self.rcpt_attrs(
            q, 1, action="delayed", dsn="4.4.1")])
        self.assertEqual(r["status"], "skipped", r)
        r = self.notify(qid, "failure", [self.rcpt_attrs(q, 0)])
        self.assertEqual(r["status"], "skipped", r)
        self.assertIn("bounce notice recipient", r["text"])
        self.assertEqual(queue_files(self.t.spool), before_files)
        # The other recipient's failure does go to the postmaster.
        r = self.notify(qid, "failure", [self.rcpt_attrs(q, 1)])
        self.assertEqual(r["status"], "ok", r)
        self.notice(r["queue_id"], env_sender="double-bounce@" + MYORIGIN,
                    rcpt="postmaster@" + MYORIGIN)


class BadRequestTest(BounceTestBase):
    def setUp(self):
        self.qid = self.send(rcpts=((RCPT1, ""), (RCPT2, "")))
        self.q = self.qfile(self.qid)
        self.before = queue_files(self.t.spool)

    def assert_error(self, r):
        self.assertEqual(r["status"], "error", r)
        self.assertTrue(r["text"])
        self.assertEqual(queue_files(self.t.spool), self.before)

    def test_recipients_checked_against_the_file(self):
        q = self.q
        cases = {
            "index out of range": [self.rcpt_attrs(q, 0)[:2] +
                                   [("index", 2)] +
                                   self.rcpt_attrs(q, 0)[3:]],
            "address differs": [[(k, "eve@example.net" if k == "addr"
                                  else v) for k, v in self.rcpt_attrs(q, 0)]],
            "orcpt differs": [[(k, "rfc822" if k == "orcpt_type" else
                                "x@y" if k == "orcpt" else v)
                               for k, v in self.rcpt_attrs(q, 0)]],
            "index twice": [self.rcpt_attrs(q, 1), self.rcpt_attrs(q, 1)],
            "bad dsn": [self.rcpt_attrs(q, 0, dsn="5.1")],
            "bad diag_type": [self.rcpt_attrs(q, 0, diag_type="x400")],
            "missing text": [[a for a in self.rcpt_attrs(q, 0)
                              if a[0] != "text"]],
            "not a rcpt": [[("request", "data")] + self.rcpt_attrs(q, 0)[1:]],
        }
        for what, rcpts in cases.items():
            with self.subTest(what=what):
                self.assert_error(self.notify(self.qid, "failure", rcpts))
        self.assertGreaterEqual(self.t.log_count(
            r"%s: bad request from the queue manager" % self.qid),
            len(cases))

    def test_bad_notify(self):
        q = self.q
        rc = [self.rcpt_attrs(q, 0)]
        for what, extra, kw in (
                ("kind", (), {"kind": "bogus"}),
                ("queue_id", (), {"qid": "../../etc/passwd"}),
                ("nrcpt 0", (), {"nrcpt": 0}),
                ("nrcpt too many", (), {"nrcpt": 100001})):
            with self.subTest(what=what):
                s = self.bounce_sock()
                fd = os.open(self.path(self.qid), os.O_RDONLY)
                socket.send_fds(s, [b"Q"], [fd])
                os.close(fd)
                s.sendall(attr_wire.encode(
                    [("request", "notify"), ("proto", "bounce/1"),
                     ("queue_id", kw.get("qid", self.qid)),
                     ("kind", kw.get("kind", "failure")),
                     ("nrcpt", kw.get("nrcpt", 1))]))
                for r in rc:
                    s.sendall(attr_wire.encode(r))
                self.assert_error(attr_wire.read(s))
        r = self.notify(self.qid, "failure", rc,
                        notify_extra=())
        self.assertEqual(r["status"], "ok")      # the same, well formed
        self.before = queue_files(self.t.spool)
        # Another protocol version.
        s = self.bounce_sock()
        fd = os.open(self.path(self.qid), os.O_RDONLY)
        socket.send_fds(s, [b"Q"], [fd])
        os.close(fd)
        s.sendall(attr_wire.encode(
            [("request", "notify"), ("proto", "bounce/2"),
             ("queue_id", self.qid), ("kind", "failure"), ("nrcpt", 1)]))
        self.assert_error(attr_wire.read(s))

    def test_no_descriptor_or_not_a_queue_file(self):
        s = self.bounce_sock()
        s.sendall(b"Q")
        self.assert_error(attr_wire.read(s))
        junk = os.path.join(self.t.dir, "junk")
        with open(junk, "wb") as f:
            f.write(b"From: not a queue file\r\n\r\nhi\r\n")
        r = self.notify(self.qid, "failure", [self.rcpt_attrs(self.q, 0)],
                        fd_path=junk)
        self.assert_error(r)
        self.assertIn("queue file", r["text"])

    def test_silent_client_times_out(self):
        s = self.bounce_sock()
        t0 = time.monotonic()
        r = attr_wire.read(s)       # after ipc_timeout (3 s)
        self.assertEqual(r["status"], "error")
        self.assertIn("timeout", r["text"])
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(s.recv(1), b"")


class InternalOriginTest(BounceTestBase):
    """cleanup's origin=internal, spoken to directly, as bounce does."""
    conf = CONF + "message_size_limit = 20000\n"

    def cleanup(self, begin, content, rcpt="x@example.net"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(os.path.join(self.t.spool, "private", "cleanup"))
        self.addCleanup(s.close)
        s.sendall(attr_wire.encode(begin))
        s.sendall(attr_wire.encode(
            [("request", "rcpt"), ("addr", rcpt), ("notify", 0),
             ("orcpt_type", ""), ("orcpt", "")]))
        r = attr_wire.read(s)
        if r["status"] != "ok":
            return r
        for i in range(0, len(content), 65536):
            s.sendall(attr_wire.encode([("request", "data"),
                                        ("bytes", content[i:i + 65536])]))
        s.sendall(attr_wire.encode([("request", "end"),
                                    ("size", len(content))]))
        return attr_wire.read(s)

    @staticmethod
    def begin(**kw):
        a = {"request": "begin", "proto": "cleanup/1", "origin": "internal",
             "sender": "", "smtputf8": 0, "body": "", "ret": "",
             "envid": "", "size": 0, "nrcpt": 1}
        a.update(kw)
        return [(k, v) for k, v in a.items() if v is not None]

    def test_nothing_added_and_no_client(self):
        content = b"Subject: made here\r\n\r\nno From, Date or Message-ID\r\n"
        r = self.cleanup(self.begin(), content)
        self.assertEqual(r["status"], "ok", r)
        q = self.qfile(r["queue_id"])
        self.assertIsNone(q.client)
        self.assertEqual(q.sender, "")
        hdr, rest = q.first_field_and_rest()
        self.assertRegex(hdr.decode(), r"^Received: by %s \(Tern\)\r\n"
                         r"\tid %s; [^\r\n]+\r\n$" %
                         (re.escape(MYHOSTNAME), r["queue_id"]))
        self.assertEqual(rest, content)
        self.assert_log(r"%s: queued, size=%d, nrcpt=1, origin=internal" %
                        (r["queue_id"], len(content)))

    def test_client_attributes_ignored(self):
        r = self.cleanup(self.begin(client_name="evil", client_addr="1.2.3.4",
                                    client_port="1", helo="h",
                                    protocol="ESMTP", uid=5,
                                    sender="double-bounce@" + MYORIGIN),
                         b"Subject: x\r\n\r\nx\r\n")
        self.assertEqual(r["status"], "ok", r)
        q = self.qfile(r["queue_id"])
        self.assertIsNone(q.client)
        self.assertEqual(q.sender, "double-bounce@" + MYORIGIN)
        self.assertNotIn(b"evil", q.content)
        self.assertNotIn(b"userid", q.content)

    def test_not_bound_by_message_size_limit(self):
        big = b"Subject: big\r\n\r\n" + b"x" * 998 + b"\r\n"
        big = big * 30
        r = self.cleanup(self.begin(), big)
        self.assertEqual(r["status"], "ok", r)
        # The same content from SMTP is refused.
        r = self.cleanup(self.begin(origin=None, client_name="c",
                                    client_addr="127.0.0.1",
                                    client_port="1", helo="h",
                                    protocol="ESMTP"), big)
        self.assertEqual(r["status"], "error", r)
        self.assertEqual(r["code"], 552)

    def test_control_character_in_sender_refused(self):
        before = queue_files(self.t.spool)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(os.path.join(self.t.spool, "private", "cleanup"))
        self.addCleanup(s.close)
        s.sendall(attr_wire.encode(self.begin(sender="a\r\nb@c")))
        self.assertEqual(s.recv(1), b"")
        self.assertEqual(queue_files(self.t.spool), before)


class CleanupDownTest(BounceTestBase):
    def test_cleanup_unreachable_is_an_error(self):
        qid = self.send()
        q = self.qfile(qid)
        # Take cleanup away (its socket goes with it), keep bounce.
        self.t.write_services(services(self.port, cleanup=False))
        self.t.ternctl("reload", check=True)
        sock = os.path.join(self.t.spool, "private", "cleanup")
        self.assertTrue(wait_for(lambda: not os.path.exists(sock)))
        before = queue_files(self.t.spool)
        r = self.notify(qid, "failure", [self.rcpt_attrs(q, 0)])
        self.assertEqual(r["status"], "error", r)
        self.assertIn("cleanup", r["text"])
        self.assertEqual(queue_files(self.t.spool), before)
        self.assert_log(r"%s: cannot send a non-delivery notification: "
                        r"cannot connect to cleanup" % qid)
        # Back again: the same request now succeeds.
        self.t.write_services(services(self.port))
        self.t.ternctl("reload", check=True)
        self.assertTrue(wait_for(lambda: os.path.exists(sock)))
        r = self.notify(qid, "failure", [self.rcpt_attrs(q, 0)])
        self.assertEqual(r["status"], "ok", r)


if __name__ == "__main__":
    unittest.main()
