# SPDX-License-Identifier: ISC
"""The lmtp client delivery agent (daemons/smtp with --lmtp), driven as the
queue manager drives it (docs/ipc.md, "qmgr -> delivery agents"): real
queue files made by smtpd and cleanup, passed read-only over
private/lmtp, delivered to a real Dovecot (dovecot_fixture.py) over its
unix socket and over TCP, and to a scripted LMTP server in this file for
what Dovecot will not do: 421, 4xx replies, mixed replies after DATA,
no PIPELINING, SIZE, SMTPUTF8, DSN, BDAT, multi-line and malformed
replies, and a server that never answers."""
import os
import re
import socket
import threading
import time
import unittest

import attr_wire
import dovecot_fixture
import qfile_reader
from tern_fixture import (IS_ROOT, QUEUED_RE, RawClient, Tern, free_port,
                          smtp_services, test_user, wait_for)

SENDER = "sender@example.org"
DOMAIN = dovecot_fixture.DOMAIN
LMTP_SERVICE = "lmtp unix private/lmtp y n 10 0 - smtp --lmtp\n"
SMTP_SERVICE = "relay unix private/relay y n 10 0 - smtp\n"

# A message with lines that need dot-stuffing, as its sender meant it.
DOTS = (b"From: <sender@example.org>\r\n"
        b"Subject: dots\r\n"
        b"\r\n"
        b".leading dot\r\n"
        b"..two dots\r\n"
        b".\r\n"
        b"between\r\n"
        b". space\r\n"
        b"last line\r\n")


def stuff(content):
    """SMTP dot-stuffing, as a sending client does it."""
    return re.sub(rb"(?m)^\.", b"..", content)


def plain(subject="test"):
    return ("From: <%s>\r\nSubject: %s\r\n\r\nHello.\r\n" %
            (SENDER, subject)).encode()


class AgentConn:
    """One queue manager connection to a delivery agent's socket."""

    def __init__(self, path, timeout=60.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def close(self):
        self.sock.close()

    def deliver(self, qpath, nexthop, indexes=None):
        """One request for the queue file at qpath (recipients by index,
        all by default); the agent's results, in request order."""
        q = qfile_reader.read(qpath)
        if indexes is None:
            indexes = range(len(q.recipients))
        indexes = list(indexes)
        fd = os.open(qpath, os.O_RDONLY)
        try:
            socket.send_fds(self.sock, [b"Q"], [fd])
        finally:
            os.close(fd)
        out = attr_wire.encode([
            ("request", "deliver"), ("proto", "deliver/1"),
            ("queue_id", os.path.basename(qpath)), ("nexthop", nexthop),
            ("sender", q.sender), ("nrcpt", len(indexes))])
        for i in indexes:
            r = q.recipients[i]
            out += attr_wire.encode([
                ("request", "rcpt"), ("index", i), ("addr", r.addr),
                ("orcpt_type", r.orcpt_type), ("orcpt", r.orcpt),
                ("notify", r.notify)])
        self.sock.sendall(out)
        results = [attr_wire.read(self.sock) for _ in indexes]
        done = attr_wire.read(self.sock)
        if done != {"status": "done"}:
            raise AssertionError("expected done, got %r" % done)
        for i, r in zip(indexes, results):
            if r.get("status") != "rcpt" or r.get("index") != i:
                raise AssertionError("bad result %r for %d" % (r, i))
        return results


class LmtpBase(unittest.TestCase):
    conf = ""           # extra tern.conf lines

    def setUp(self):
        self.port = free_port()
        self.t = Tern(smtp_services(self.port) + LMTP_SERVICE +
                      SMTP_SERVICE, "myhostname = mx.example.test\n" +
                      "lmtp_lhlo_name = client.example.test\n" + self.conf)
        self.addCleanup(self.t.remove)
        self.t.start()

    def queue(self, rcpts, content, sender=SENDER, mail_params="",
              rcpt_params="", bdat=False):
        """Send a message through smtpd; the path of its queue file."""
        c = RawClient(self.port)
        self.addCleanup(c.close)
        c.greet()
        r = c.cmd("MAIL FROM:<%s>%s" % (sender, mail_params))
        self.assertEqual(r.code, 250, r)
        for a in rcpts:
            r = c.cmd("RCPT TO:<%s>%s" % (a, rcpt_params))
            self.assertEqual(r.code, 250, r)
        if bdat:
            c.send(b"BDAT %d LAST\r\n" % len(content) + content)
        else:
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(stuff(content) + b".\r\n")
        r = c.reply()
        m = QUEUED_RE.match(r.text)
        self.assertIsNotNone(m, r)
        c.cmd("QUIT")
        path = os.path.join(self.t.spool, "incoming", m.group(1))
        self.assertTrue(os.path.exists(path))
        return path

    def agent(self, service="lmtp"):
        a = AgentConn(os.path.join(self.t.spool, "private", service))
        self.addCleanup(a.close)
        return a

    def content(self, qpath):
        return qfile_reader.read(qpath).content

    def assert_result(self, r, result, dsn, text=None, relay=None):
        self.assertEqual((r["result"], r["dsn"]), (result, dsn), r)
        if text is not None:
            self.assertIn(text, r["text"], r)
        if relay is not None:
            self.assertEqual(r["relay"], relay, r)

    def assert_logged(self, qpath, rcpt, relay, dsn, status, text):
        pat = re.compile(r"%s: to=<%s>, relay=%s, delay=\d+\.\d\d, "
                         r"dsn=%s, status=%s \(%s" % tuple(map(re.escape, (
                             os.path.basename(qpath), rcpt, relay, dsn,
                             status, text))))
        self.assertTrue(wait_for(lambda: pat.search(self.t.log()),
                                 timeout=5),
                        "no %r in\n%s" % (pat.pattern, self.t.log()))


# ---- against Dovecot ----------------------------------------------------------
@unittest.skipUnless(dovecot_fixture.available(),
                     "dovecot is not installed (./quickstart installs it)")
class DovecotTest(LmtpBase):
    @classmethod
    def setUpClass(cls):
        cls.dc = dovecot_fixture.Dovecot()
        cls.addClassCleanup(cls.dc.remove)
        cls.dc.start()

    def unix(self):
        return "unix:" + self.dc.socket

    def inet(self, host="127.0.0.1"):
        return "inet:%s:%d" % (host, self.dc.port)

    def check_landed(self, user, qpath, before):
        """The message is user's newest, its content behind Dovecot's
        own header lines, with LF line ends as Dovecot stores them."""
        msgs = self.dc.wait_messages(user, before + 1)
        self.assertEqual(len(msgs), before + 1)
        want = self.content(qpath).replace(b"\r\n", b"\n")
        self.assertTrue(any(m.endswith(want) for m in msgs),
                        "%r not in %r" % (want, msgs))
        self.assertIn(b"Return-Path: <%s>\n" % SENDER.encode(), msgs[-1])
        if IS_ROOT:
            pw = test_user()
            self.assertEqual(self.dc.file_owners(user),
                             {(pw.pw_uid, pw.pw_gid)})
        return msgs[-1]

    def test_unix_socket_delivery_with_dot_stuffing(self):
        before = len(self.dc.messages("alice"))
        q = self.queue(["alice@" + DOMAIN], DOTS)
        self.assertTrue(self.content(q).endswith(DOTS))
        [r] = self.agent().deliver(q, self.unix())
        self.assert_result(r, "sent", "2.0.0", relay=self.dc.socket)
        self.assertRegex(r["text"], r"^250 2\.0\.0 <alice@example\.test> "
                         r"\S+ Saved$")
        msg = self.check_landed("alice", q, before)
        self.assertTrue(msg.endswith(DOTS.replace(b"\r\n", b"\n")))
        self.assert_logged(q, "alice@" + DOMAIN, self.dc.socket, "2.0.0",
                           "sent", "250 2.0.0 <alice@%s> " % DOMAIN)

    def test_inet_delivery(self):
        before = len(self.dc.messages("bob"))
        q = self.queue(["bob@" + DOMAIN], plain("inet"))
        [r] = self.agent().deliver(q, self.inet())
        relay = "127.0.0.1[127.0.0.1]:%d" % self.dc.port
        self.assert_result(r, "sent", "2.0.0", "Saved", relay)
        self.check_landed("bob", q, before)
        self.assert_logged(q, "bob@" + DOMAIN, relay, "2.0.0", "sent",
                           "250 2.0.0 <bob@%s> " % DOMAIN)

    def test_inet_by_name_tries_each_address(self):
        # localhost may name ::1 first, where Dovecot does not listen.
        before = len(self.dc.messages("carol"))
        q = self.queue(["carol@" + DOMAIN], plain("name"))
        [r] = self.agent().deliver(q, self.inet("localhost"))
        self.assert_result(r, "sent", "2.0.0", "Saved",
                           "localhost[127.0.0.1]:%d" % self.dc.port)
        self.check_landed("carol", q, before)

    def test_unknown_user_bounced_with_dovecots_text(self):
        q = self.queue(["nobody@" + DOMAIN], plain("unknown"))
        [r] = self.agent().deliver(q, self.unix())
        self.assert_result(r, "bounced", "5.1.1", relay=self.dc.socket)
        self.assertEqual(
            r["text"], "host %s said: 550 5.1.1 <nobody@%s> User doesn't "
            "exist: nobody@%s (in reply to RCPT TO command)" %
            (self.dc.socket, DOMAIN, DOMAIN))
        self.assert_logged(q, "nobody@" + DOMAIN, self.dc.socket, "5.1.1",
                           "bounced", "host %s said: 550 5.1.1" %
                           self.dc.socket)

    def test_mixed_recipients(self):
        before = {u: len(self.dc.messages(u)) for u in ("alice", "bob")}
        q = self.queue(["alice@" + DOMAIN, "nobody@" + DOMAIN,
                        "bob@" + DOMAIN], plain("mixed"))
        rs = self.agent().deliver(q, self.inet())
        self.assertEqual([r["result"] for r in rs],
                         ["sent", "bounced", "sent"], rs)
        self.assertIn("<alice@%s>" % DOMAIN, rs[0]["text"])
        self.assertIn("<bob@%s>" % DOMAIN, rs[2]["text"])
        self.assertIn("User doesn't exist", rs[1]["text"])
        for u in ("alice", "bob"):
            self.check_landed(u, q, before[u])

    def test_some_recipients_of_a_file(self):
        q = self.queue(["alice@" + DOMAIN, "bob@" + DOMAIN],
                       plain("subset"))
        before = len(self.dc.messages("bob"))
        [r] = self.agent().deliver(q, self.unix(), indexes=[1])
        self.assertEqual(r["index"], 1)
        self.assert_result(r, "sent", "2.0.0", "<bob@%s>" % DOMAIN)
        self.check_landed("bob", q, before)

    def connects(self, what):
        return self.dc.log().count("Connect from %s" % what)

    def test_requests_on_one_connection_reuse_the_session(self):
        q1 = self.queue(["alice@" + DOMAIN], plain("first"))
        q2 = self.queue(["bob@" + DOMAIN], plain("second"))
        q3 = self.queue(["carol@" + DOMAIN], plain("third"))
        local, tcp = self.connects("local"), self.connects("127.0.0.1")
        a = self.agent()
        self.assertEqual(a.deliver(q1, self.unix())[0]["result"], "sent")
        self.assertEqual(a.deliver(q2, self.unix())[0]["result"], "sent")
        self.assertEqual(self.connects("local"), local + 1,
                         self.dc.log())
        # Another next hop: QUIT on the old session, a new connection.
        self.assertEqual(a.deliver(q3, self.inet())[0]["result"], "sent")
        self.assertTrue(wait_for(
            lambda: self.dc.log().count("Disconnect from local: "
                                        "Logged out") >= 1, timeout=5))
        self.assertEqual(self.connects("127.0.0.1"), tcp + 1)
        a.close()
        self.assertEqual(self.connects("local"), local + 1)

    def test_bad_next_hop_deferred(self):
        q = self.queue(["alice@" + DOMAIN], plain("bad hop"))
        a = self.agent()
        for hop in ("dovecot", "unix:relative/path", "inet:host:99999",
                    "inet:[::1:24"):
            [r] = a.deliver(q, hop)
            self.assert_result(r, "deferred", "4.3.5", "bad LMTP next hop")

    def test_smtp_mode_is_smtp(self):
        # Without --lmtp the agent speaks SMTP (test_smtp_out.py): a
        # closed port defers every recipient, never LMTP's next hops.
        q = self.queue(["alice@" + DOMAIN, "bob@" + DOMAIN], plain("smtp"))
        port = free_port()
        rs = self.agent("relay").deliver(q, "[127.0.0.1]:%d" % port)
        for r in rs:
            self.assert_result(r, "deferred", "4.4.1",
                               "connect to 127.0.0.1[127.0.0.1]:%d" % port)
        self.assert_logged(q, "bob@" + DOMAIN, "127.0.0.1[127.0.0.1]:%d" %
                           port, "4.4.1", "deferred", "connect to")


@unittest.skipUnless(dovecot_fixture.available(),
                     "dovecot is not installed (./quickstart installs it)")
class DovecotDownTest(LmtpBase):
    def test_server_down_deferred_4_4_1(self):
        dc = dovecot_fixture.Dovecot()
        self.addCleanup(dc.remove)
        dc.start()
        q1 = self.queue(["alice@" + DOMAIN], plain("up"))
        q2 = self.queue(["alice@" + DOMAIN, "bob@" + DOMAIN], plain("down"))
        a = self.agent()
        self.assertEqual(a.deliver(q1, "unix:" + dc.socket)[0]["result"],
                         "sent")
        dc.stop()
        # The kept session is dead: found out at RSET, then a new
        # connection is refused.
        for hop, relay in (("unix:" + dc.socket, dc.socket),
                           ("inet:127.0.0.1:%d" % dc.port,
                            "127.0.0.1[127.0.0.1]:%d" % dc.port)):
            rs = a.deliver(q2, hop)
            for r in rs:
                self.assert_result(r, "deferred", "4.4.1", "connect to ",
                                   relay)
        self.assert_logged(q2, "bob@" + DOMAIN, relay, "4.4.1", "deferred",
                           "connect to %s: Connection refused" % relay)
        self.assertEqual(dc.messages("bob"), [])


# ---- against a scripted server ---------------------------------------------------
class FakeLmtp:
    """An LMTP server on 127.0.0.1 that answers as told.  replies maps
    "GREETING", "LHLO", "MAIL", "RCPT:<addr>", "DATA", "FINAL:<addr>"
    (the reply for addr after the content), "RSET" to a reply (lines
    separated by CRLF), or to "HANG" (say nothing until stopped) or
    "CLOSE" (hang up).  A reply that starts with 421 is followed by a
    hang-up.  With smtp=True it is an SMTP server (test_smtp_out.py):
    "EHLO", "HELO" and "STARTTLS" replies ("BREAK": 220, then a TLS
    alert instead of a handshake), and one "FINAL" reply after the
    content."""

    def __init__(self, testcase, caps=("PIPELINING", "ENHANCEDSTATUSCODES",
                                       "8BITMIME"), replies=None,
                 host="127.0.0.1", port=0, smtp=False):
        self.smtp = smtp
        self.host = host
        self.caps = caps
        self.replies = replies or {}
        self.lines = []             # every command line received
        self.messages = []          # content of each DATA/BDAT, unstuffed
        self.raw = []               # the same, as sent
        self.pipelined = False      # a command came with more behind it
        self.conns = 0
        self.stopping = threading.Event()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.threads = [threading.Thread(target=self.accept, daemon=True)]
        self.threads[0].start()
        testcase.addCleanup(self.stop)

    def hop(self):
        return "inet:127.0.0.1:%d" % self.port

    def relay(self):
        return "127.0.0.1[127.0.0.1]:%d" % self.port

    def stop(self):
        self.stopping.set()
        for t in list(self.threads):
            t.join(10)
        self.lsock.close()

    def accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns += 1
            t = threading.Thread(target=self.serve, args=(conn,),
                                 daemon=True)
            self.threads.append(t)
            t.start()

    # -- one connection -----------------------------------------------------
    def serve(self, conn):
        conn.settimeout(0.2)
        self.buf = b""
        try:
            self.session(conn)
        except (EOFError, OSError):
            pass
        finally:
            conn.close()

    def recv(self, conn):
        deadline = time.monotonic() + 30
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise EOFError
            return data
        raise EOFError

    def line(self, conn, command=True):
        while b"\n" not in self.buf:
            self.buf += self.recv(conn)
        line, _, self.buf = self.buf.partition(b"\n")
        if self.buf and command:
            self.pipelined = True
        return line.rstrip(b"\r")

    def exact(self, conn, n):
        while len(self.buf) < n:
            self.buf += self.recv(conn)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def say(self, conn, key, default):
        """Send the reply for key; False when the session is over."""
        r = self.replies.get(key, default)
        if r == "HANG":
            self.stopping.wait(30)
            raise EOFError
        if r == "CLOSE":
            raise EOFError
        conn.sendall(r.encode() + b"\r\n")
        return not r.startswith("421")

    def session(self, conn):
        if not self.say(conn, "GREETING", "220 fake.example.test LMTP"):
            return
        rcpts = []
        while True:
            line = self.line(conn)
            self.lines.append(line.decode("utf-8", "replace"))
            verb = line[:4].upper()
            if verb in (b"LHLO", b"EHLO"):
                lhlo = "\r\n".join(["250-fake.example.test"] +
                                   ["250-" + c for c in self.caps])
                lhlo = lhlo[::-1].replace("-052", " 052", 1)[::-1]
                if not self.say(conn, verb.decode(), lhlo):
                    return
            elif verb == b"HELO":
                if not self.say(conn, "HELO", "250 fake.example.test"):
                    return
            elif line.upper() == b"STARTTLS":
                if self.replies.get("STARTTLS") == "BREAK":
                    conn.sendall(b"220 2.0.0 Go ahead\r\n")
                    self.recv(conn)     # the ClientHello
                    conn.sendall(b"\x15\x03\x03\x00\x02\x02\x28")
                    return
                if not self.say(conn, "STARTTLS", "454 4.7.0 No TLS"):
                    return
            elif verb == b"MAIL":
                rcpts = []
                if not self.say(conn, "MAIL", "250 2.1.0 Ok"):
                    return
            elif verb == b"RCPT":
                addr = line.split(b"<", 1)[1].split(b">", 1)[0].decode()
                key = "RCPT:" + addr
                if self.replies.get(key, "250").startswith("2"):
                    rcpts.append(addr)
                if not self.say(conn, key, "250 2.1.5 Ok"):
                    return
            elif verb == b"DATA":
                if not rcpts:
                    self.say(conn, "", "503 5.5.1 No valid recipients")
                    continue
                if not self.say(conn, "DATA", "354 Go ahead"):
                    return
                raw = b""
                while True:
                    ln = self.line(conn, False) + b"\r\n"
                    if ln == b".\r\n":
                        break
                    raw += ln
                self.raw.append(raw)
                self.messages.append(re.sub(rb"(?m)^\.", b"", raw))
                if not self.finals(conn, rcpts):
                    return
            elif verb == b"BDAT":
                n = int(line.split()[1])
                self.messages.append(self.exact(conn, n))
                if not self.finals(conn, rcpts):
                    return
            elif verb == b"RSET":
                rcpts = []
                if not self.say(conn, "RSET", "250 2.0.0 Ok"):
                    return
            elif verb == b"QUIT":
                self.say(conn, "", "221 2.0.0 Bye")
                return
            else:
                self.say(conn, "", "500 5.5.2 What?")

    def finals(self, conn, rcpts):
        if self.smtp:
            return self.say(conn, "FINAL", "250 2.0.0 Ok: queued")
        for a in rcpts:
            if not self.say(conn, "FINAL:" + a, "250 2.0.0 <%s> Saved" % a):
                return False
        return True

    def count(self, verb):
        return sum(1 for ln in self.lines if ln.upper().startswith(verb))


RCPTS = ["a@example.net", "b@example.net", "c@example.net"]


class FakeServerTest(LmtpBase):
    def fake(self, **kw):
        return FakeLmtp(self, **kw)

    def results(self, rs):
        return [(r["result"], r["dsn"]) for r in rs]

    def test_pipelined_transaction_and_parameters(self):
        f = self.fake(caps=("PIPELINING", "ENHANCEDSTATUSCODES", "SIZE 0",
                            "8BITMIME", "DSN"))
        body = plain("params").replace(b"Hello.", "H\u00e9llo.".encode())
        q = self.queue(RCPTS[:2], body,
                       mail_params=" BODY=8BITMIME RET=HDRS ENVID=id+2Bx",
                       rcpt_params=" NOTIFY=SUCCESS,FAILURE "
                       "ORCPT=rfc822;orig+2B@example.net")
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [("sent", "2.0.0")] * 2)
        self.assertEqual(rs[0]["relay"], f.relay())
        self.assertEqual(rs[0]["text"], "250 2.0.0 <a@example.net> Saved")
        size = len(self.content(q))
        self.assertEqual(f.lines[1], "MAIL FROM:<%s> SIZE=%d BODY=8BITMIME "
                         "RET=HDRS ENVID=id+2Bx" % (SENDER, size))
        self.assertEqual(f.lines[2], "RCPT TO:<a@example.net> "
                         "NOTIFY=SUCCESS,FAILURE "
                         "ORCPT=rfc822;orig+2B@example.net")
        self.assertTrue(f.pipelined)
        self.assertEqual(f.messages, [self.content(q)])

    def test_parameters_left_out_when_not_offered(self):
        f = self.fake(caps=("PIPELINING",))
        q = self.queue(RCPTS[:1], plain("none"),
                       mail_params=" BODY=8BITMIME RET=FULL SIZE=10",
                       rcpt_params=" NOTIFY=NEVER")
        [r] = self.agent().deliver(q, f.hop())
        self.assertEqual(r["result"], "sent")
        self.assertEqual(f.lines[1], "MAIL FROM:<%s>" % SENDER)
        self.assertEqual(f.lines[2], "RCPT TO:<a@example.net>")

    def test_no_pipelining_one_command_at_a_time(self):
        f = self.fake(caps=("ENHANCEDSTATUSCODES",),
                      replies={"RCPT:b@example.net": "550 5.1.1 No such"})
        q = self.queue(RCPTS, plain("lockstep"))
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [
            ("sent", "2.0.0"), ("bounced", "5.1.1"), ("sent", "2.0.0")])
        self.assertFalse(f.pipelined, f.lines)
        self.assertEqual(f.count("DATA"), 1)

    def test_no_data_when_every_recipient_fails(self):
        f = self.fake(caps=("ENHANCEDSTATUSCODES",), replies={
            "RCPT:a@example.net": "550 5.1.1 No such user",
            "RCPT:b@example.net": "452 4.2.2 Over quota"})
        q = self.queue(RCPTS[:2], plain("nobody"))
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [("bounced", "5.1.1"),
                                            ("deferred", "4.2.2")])
        self.assertEqual(f.count("DATA"), 0)

    def test_4xx_on_rcpt_defers_that_recipient(self):
        f = self.fake(replies={"RCPT:b@example.net":
                               "450 4.2.1 Mailbox busy, try later"})
        q = self.queue(RCPTS, plain("busy"))
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [
            ("sent", "2.0.0"), ("deferred", "4.2.1"), ("sent", "2.0.0")])
        self.assertEqual(
            rs[1]["text"], "host %s said: 450 4.2.1 Mailbox busy, try "
            "later (in reply to RCPT TO command)" % f.relay())
        self.assert_logged(q, "b@example.net", f.relay(), "4.2.1",
                           "deferred", "host %s said: 450" % f.relay())

    def test_per_recipient_replies_after_data(self):
        f = self.fake(replies={
            "FINAL:b@example.net": "452 4.2.2 <b@example.net> Over quota",
            "FINAL:c@example.net": "552 5.2.2 <c@example.net> Too big"})
        q = self.queue(RCPTS, plain("finals"))
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [
            ("sent", "2.0.0"), ("deferred", "4.2.2"), ("bounced", "5.2.2")])
        self.assertIn("(in reply to end of data)", rs[2]["text"])

    def test_codes_without_enhanced_status_codes(self):
        f = self.fake(caps=("PIPELINING",), replies={
            "RCPT:a@example.net": "550 No such user",
            "FINAL:b@example.net": "451 Try later",
            "FINAL:c@example.net": "250 Delivered"})
        q = self.queue(RCPTS, plain("plain codes"))
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [
            ("bounced", "5.0.0"), ("deferred", "4.0.0"), ("sent", "2.0.0")])

    def test_421_mid_session_defers_the_rest(self):
        f = self.fake(replies={"RCPT:b@example.net":
                               "421 4.3.2 Shutting down"})
        q1 = self.queue(RCPTS, plain("421"))
        a = self.agent()
        rs = a.deliver(q1, f.hop())
        self.assertEqual(self.results(rs), [("deferred", "4.3.2")] * 3)
        for r in rs:
            self.assertIn("421 4.3.2 Shutting down", r["text"])
        self.assertEqual(f.messages, [])
        # The session is gone: the next request connects again.
        f.replies = {}
        q2 = self.queue(RCPTS[:1], plain("after 421"))
        self.assertEqual(a.deliver(q2, f.hop())[0]["result"], "sent")
        self.assertEqual(f.conns, 2)

    def test_421_after_data_keeps_earlier_results(self):
        f = self.fake(replies={"FINAL:b@example.net":
                               "421 4.4.2 Timeout, bye"})
        q = self.queue(RCPTS, plain("421 late"))
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [
            ("sent", "2.0.0"), ("deferred", "4.4.2"), ("deferred", "4.4.2")])

    def test_mail_rejected(self):
        for reply, result, dsn in (("550 5.7.1 Sender refused", "bounced",
                                    "5.7.1"),
                                   ("451 4.3.0 Try later", "deferred",
                                    "4.3.0")):
            f = self.fake(replies={"MAIL": reply})
            q = self.queue(RCPTS[:2], plain("mail"))
            rs = self.agent().deliver(q, f.hop())
            self.assertEqual(self.results(rs), [(result, dsn)] * 2)
            self.assertIn("(in reply to MAIL FROM command)", rs[0]["text"])
            self.assertEqual(f.messages, [])

    def test_greeting_refused(self):
        f = self.fake(replies={"GREETING": "554 5.3.2 Not accepting mail"})
        q = self.queue(RCPTS[:1], plain("greeting"))
        [r] = self.agent().deliver(q, f.hop())
        self.assert_result(r, "bounced", "5.3.2", "Not accepting mail")
        f2 = self.fake(replies={"LHLO": "421 4.3.2 Busy"})
        [r] = self.agent().deliver(q, f2.hop())
        self.assert_result(r, "deferred", "4.3.2", "in reply to LHLO")

    def test_size_too_big_bounced(self):
        f = self.fake(caps=("PIPELINING", "SIZE 100"))
        q = self.queue(RCPTS[:2], plain("big") + b"x" * 200 + b"\r\n")
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [("bounced", "5.3.4")] * 2)
        self.assertIn("exceeds size limit 100 of server", rs[0]["text"])
        self.assertEqual(f.count("MAIL"), 0)

    def test_smtputf8_needed_but_not_offered(self):
        f = self.fake()
        q = self.queue(["b@example.net"], plain("utf8"),
                       sender="s\u00e9nder@example.org",
                       mail_params=" SMTPUTF8")
        [r] = self.agent().deliver(q, f.hop())
        self.assert_result(r, "bounced", "5.6.7",
                           "SMTPUTF8 is required, but was not offered")
        self.assertEqual(f.count("MAIL"), 0)
        # One recipient needs it, the other does not.
        q = self.queue(["\u00fcser@example.net", "b@example.net"],
                       plain("utf8 rcpt"), mail_params=" SMTPUTF8")
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [("bounced", "5.6.7"),
                                            ("sent", "2.0.0")])
        self.assertEqual(f.lines[-3:], ["MAIL FROM:<%s>" % SENDER,
                                        "RCPT TO:<b@example.net>", "DATA"])

    def test_smtputf8_offered(self):
        f = self.fake(caps=("PIPELINING", "SMTPUTF8", "8BITMIME"))
        q = self.queue(["\u00fcser@example.net"], plain("utf8"),
                       sender="s\u00e9nder@example.org",
                       mail_params=" SMTPUTF8")
        [r] = self.agent().deliver(q, f.hop())
        self.assertEqual(r["result"], "sent", r)
        self.assertEqual(f.lines[1], "MAIL FROM:<s\u00e9nder@example.org> "
                         "SMTPUTF8")

    def test_multi_line_replies(self):
        f = self.fake(replies={
            "RCPT:a@example.net": "250-2.1.5 first\r\n250 2.1.5 second",
            "RCPT:b@example.net":
                "550-5.1.1 The user does not exist\r\n"
                "550-5.1.1 check the address\r\n550 5.1.1 and try again",
            "FINAL:a@example.net": "250-2.0.0 saved\r\n250 2.0.0 really"})
        q = self.queue(RCPTS[:2], plain("multi"))
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [("sent", "2.0.0"),
                                            ("bounced", "5.1.1")])
        self.assertEqual(rs[0]["text"], "250 2.0.0 saved really")
        self.assertIn("550 5.1.1 The user does not exist check the address "
                      "and try again", rs[1]["text"])

    def test_malformed_reply_defers(self):
        f = self.fake(replies={"RCPT:a@example.net":
                               "250-2.1.5 ok\r\n550 5.1.1 mixed codes"})
        q = self.queue(RCPTS[:2], plain("malformed"))
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [("deferred", "4.4.2")] * 2)
        self.assertIn("malformed reply", rs[0]["text"])

    def test_lost_connection_during_data(self):
        f = self.fake(replies={"FINAL:a@example.net": "CLOSE"})
        q = self.queue(RCPTS[:2], plain("lost"))
        rs = self.agent().deliver(q, f.hop())
        self.assertEqual(self.results(rs), [("deferred", "4.4.2")] * 2)
        self.assertIn("lost connection with %s while receiving the replies "
                      "after the end of data" % f.relay(), rs[0]["text"])

    def test_session_reused_with_rset(self):
        f = self.fake()
        a = self.agent()
        for i in range(3):
            q = self.queue(RCPTS[:1], plain("reuse %d" % i))
            self.assertEqual(a.deliver(q, f.hop())[0]["result"], "sent")
        self.assertEqual(f.conns, 1)
        self.assertEqual((f.count("LHLO"), f.count("RSET")), (1, 2))
        a.close()
        self.assertTrue(wait_for(lambda: f.count("QUIT") == 1, timeout=10))

    def test_rset_refused_opens_a_new_session(self):
        f = self.fake(replies={"RSET": "421 4.4.2 Idle too long"})
        a = self.agent()
        for i in range(2):
            q = self.queue(RCPTS[:1], plain("rset %d" % i))
            self.assertEqual(a.deliver(q, f.hop())[0]["result"], "sent")
        self.assertEqual(f.conns, 2)

    def test_unterminated_last_line_gets_crlf(self):
        f = self.fake(caps=("PIPELINING", "CHUNKING"))
        content = b"Subject: no end\r\n\r\n.dot\r\nno line end"
        q = self.queue(RCPTS[:1], content, bdat=True)
        self.assertTrue(self.content(q).endswith(b"no line end"))
        [r] = self.agent().deliver(q, f.hop())
        self.assertEqual(r["result"], "sent")
        self.assertTrue(f.raw[0].endswith(b"\r\n..dot\r\nno line end\r\n"),
                        f.raw)

    def test_binarymime(self):
        content = b"Subject: bin\r\n\r\n\x00\x01.\r\n.\r\nbare\nlf\rcr"
        f = self.fake(caps=("PIPELINING", "CHUNKING"))
        q = self.queue(RCPTS[:1], content, bdat=True,
                       mail_params=" BODY=BINARYMIME")
        [r] = self.agent().deliver(q, f.hop())
        self.assert_result(r, "bounced", "5.6.3", "BINARYMIME")
        f2 = self.fake(caps=("PIPELINING", "CHUNKING", "BINARYMIME"))
        [r] = self.agent().deliver(q, f2.hop())
        self.assertEqual(r["result"], "sent", r)
        self.assertEqual(f2.messages, [self.content(q)])
        self.assertIn("BODY=BINARYMIME", f2.lines[1])


class TimeoutTest(LmtpBase):
    conf = ("lmtp_lhlo_timeout = 2s\n"
            "lmtp_data_done_timeout = 2s\n")

    def test_server_never_answers(self):
        f = FakeLmtp(self, replies={"GREETING": "HANG"})
        q = self.queue(RCPTS[:2], plain("silent"))
        start = time.monotonic()
        rs = self.agent().deliver(q, f.hop())
        took = time.monotonic() - start
        self.assertEqual([(r["result"], r["dsn"]) for r in rs],
                         [("deferred", "4.4.2")] * 2)
        self.assertIn("conversation with %s timed out while receiving the "
                      "initial server greeting" % f.relay(), rs[0]["text"])
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 10)

    def test_no_reply_after_data(self):
        f = FakeLmtp(self, replies={"FINAL:b@example.net": "HANG"})
        q = self.queue(RCPTS[:2], plain("silent end"))
        start = time.monotonic()
        rs = self.agent().deliver(q, f.hop())
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual([(r["result"], r["dsn"]) for r in rs],
                         [("sent", "2.0.0"), ("deferred", "4.4.2")])
        self.assertIn("timed out", rs[1]["text"])


if __name__ == "__main__":
    unittest.main()
