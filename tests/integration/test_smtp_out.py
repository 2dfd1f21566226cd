# SPDX-License-Identifier: ISC
"""The outbound SMTP client (daemons/smtp without --lmtp), driven as the
queue manager drives it (test_lmtp.AgentConn): real queue files made by
smtpd and cleanup, delivered to real peers on loopback, with DNS answers
from an unbound.conf the test writes (dns_resolver_config: local-zone
and local-data; everything else forwarded to a closed 127.0.0.1 port).

MX hosts resolve to 127.0.0.2 and 127.0.0.3; every peer listens on the
same port there, and the next hop "domain:PORT" (MX lookup, then that
port) or "[host]:PORT" reaches them.  Peers: Python's aiosmtpd (Debian's
python3-aiosmtpd) with and without STARTTLS (tls_certs.py's test
certificates), and test_lmtp.FakeLmtp in SMTP mode for scripted replies:
a STARTTLS that fails after 220, 4xx/5xx/421 at each stage, SIZE and
SMTPUTF8.  Covered: MX order and fallback to the next MX, the A record
when there is no MX, null MX, NXDOMAIN, a temporary DNS failure, EHLO
then HELO, every reply-code path, connection reuse (one TCP connection
for several messages, counted at the peer), the TLS levels none, may,
encrypt, verify and secure, and the per-recipient log line."""
import logging
import os
import ssl
import time
import unittest

import tls_certs
from tern_fixture import free_port, wait_for
from test_lmtp import FakeLmtp, LmtpBase, plain

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP as AioSMTP
    HAVE_AIOSMTPD = True
    # The failed handshakes the tests cause are expected: no tracebacks.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
except ImportError:
    HAVE_AIOSMTPD = False

MX1, MX2 = "127.0.0.2", "127.0.0.3"
CERT_HOST = tls_certs.HOSTNAME          # mail.example.org

ZONE = """server:
	verbosity: 0
	do-not-query-localhost: no
	do-ip6: no
	local-zone: "example.test." static
	local-data: "multi.example.test. IN MX 10 mx1.example.test."
	local-data: "multi.example.test. IN MX 20 mx2.example.test."
	local-data: "mx1.example.test. IN A 127.0.0.2"
	local-data: "mx2.example.test. IN A 127.0.0.3"
	local-data: "nomx.example.test. IN A 127.0.0.2"
	local-data: "nullmx.example.test. IN MX 0 ."
	local-data: "noaddr.example.test. IN MX 10 gone.example.test."
	local-data: "wrong.example.test. IN MX 10 mx1.example.test."
	local-data: "loop.example.test. IN MX 10 client.example.test."
	local-data: "loopeq.example.test. IN MX 10 client.example.test."
	local-data: "loopeq.example.test. IN MX 10 mx1.example.test."
	local-data: "backup.example.test. IN MX 10 mx1.example.test."
	local-data: "backup.example.test. IN MX 20 CLIENT.example.test."
	local-data: "backup.example.test. IN MX 30 mx2.example.test."
	local-data: "client.example.test. IN A 127.0.0.2"
	local-data: "selfaddr.example.test. IN MX 10 alias.example.test."
	local-data: "alias.example.test. IN A 127.0.0.1"
	local-data: "selfbackup.example.test. IN MX 10 mx1.example.test."
	local-data: "selfbackup.example.test. IN MX 20 alias.example.test."
	local-data: "selfbackup.example.test. IN MX 30 mx2.example.test."
	local-data: "selfnomx.example.test. IN A 127.0.0.1"
	local-zone: "example.org." static
	local-data: "mail.example.org. IN A 127.0.0.2"
	local-data: "mail.example.org. IN MX 10 mx1.example.test."
forward-zone:
	name: "."
	forward-addr: 127.0.0.1@%d
"""


def closed_port():
    """A loopback UDP port nobody listens on: queries sent there fail."""
    return free_port()


class SmtpOutBase(LmtpBase):
    level = "none"
    conf = ""

    def setUp(self):
        self.port = free_port()
        self.peer_port = free_port()
        self.certs = tls_certs.TestCerts() if tls_certs.available() \
            else None
        if self.certs is not None:
            self.addCleanup(self.certs.cleanup)
        from tern_fixture import Tern, smtp_services
        self.t = Tern(smtp_services(self.port) +
                      "smtp-client unix private/smtp y n 10 0 - smtp\n"
                      "tlsproxy unix private/tlsproxy y n 10 0 - "
                      "tlsproxy\n")
        self.addCleanup(self.t.remove)
        zone = self.resolver_config()
        extra = ["myhostname = client.example.test",
                 "smtp_helo_name = client.example.test",
                 "dns_resolver_config = %s" % zone,
                 "smtp_tls_security_level = %s" % self.level,
                 "smtp_connect_timeout = 5s",
                 "smtp_helo_timeout = 10s",
                 "smtp_starttls_timeout = 10s"]
        if self.certs is not None:
            extra.append("smtp_tls_CAfile = %s" % self.certs.ca)
        self.t.write_conf("\n".join(extra) + "\n" + self.conf)
        self.t.start()

    def resolver_config(self):
        """The dns_resolver_config file: ZONE (subclasses give others)."""
        zone = os.path.join(self.t.dir, "unbound.conf")
        with open(zone, "w") as f:
            f.write(ZONE % closed_port())
        os.chmod(zone, 0o644)
        return zone

    def fake(self, host=MX1, **kw):
        return FakeLmtp(self, host=host, port=self.peer_port, smtp=True,
                        **kw)

    def deliver(self, q, nexthop):
        return self.agent("smtp").deliver(q, nexthop)

    def mx(self, domain="multi.example.test"):
        return "%s:%d" % (domain, self.peer_port)

    def relay(self, host, addr):
        return "%s[%s]:%d" % (host, addr, self.peer_port)


# ---- scripted peers -----------------------------------------------------------
class RoutingTest(SmtpOutBase):
    def test_first_mx_takes_it(self):
        p1, p2 = self.fake(MX1), self.fake(MX2)
        q = self.queue(["a@multi.example.test"], plain("mx"))
        [r] = self.deliver(q, self.mx())
        self.assert_result(r, "sent", "2.0.0", "250 2.0.0 Ok: queued",
                           relay=self.relay("mx1.example.test", MX1))
        self.assertEqual((len(p1.messages), p2.conns), (1, 0))
        self.assertTrue(p1.messages[0].endswith(b"Hello.\r\n"))
        self.assertIn("EHLO client.example.test", p1.lines)
        self.assert_logged(q, "a@multi.example.test",
                           self.relay("mx1.example.test", MX1), "2.0.0",
                           "sent", "250 2.0.0 Ok: queued")

    def test_second_mx_when_first_is_down(self):
        p2 = self.fake(MX2)
        q = self.queue(["a@multi.example.test"], plain("mx2"))
        [r] = self.deliver(q, self.mx())
        self.assert_result(r, "sent", "2.0.0",
                           relay=self.relay("mx2.example.test", MX2))
        self.assertEqual(len(p2.messages), 1)

    def test_5xx_greeting_moves_on_then_defers(self):
        p1 = self.fake(MX1, replies={"GREETING": "554 5.7.1 go away"})
        p2 = self.fake(MX2, replies={"GREETING": "421 4.3.2 busy"})
        q = self.queue(["a@multi.example.test"], plain("greet"))
        [r] = self.deliver(q, self.mx())
        self.assert_result(r, "deferred", "4.3.2", "421 4.3.2 busy",
                           relay=self.relay("mx2.example.test", MX2))
        self.assertEqual((p1.conns, p2.conns), (1, 1))

    def test_all_down_defers_4_4_1(self):
        q = self.queue(["a@multi.example.test"], plain("down"))
        [r] = self.deliver(q, self.mx())
        self.assert_result(r, "deferred", "4.4.1", "connect to "
                           "mx2.example.test[127.0.0.3]")

    def test_a_record_when_no_mx(self):
        p = self.fake(MX1)
        q = self.queue(["a@nomx.example.test"], plain("a"))
        [r] = self.deliver(q, self.mx("nomx.example.test"))
        self.assert_result(r, "sent", "2.0.0",
                           relay=self.relay("nomx.example.test", MX1))
        self.assertEqual(len(p.messages), 1)

    def test_null_mx_bounces(self):
        q = self.queue(["a@nullmx.example.test"], plain("null"))
        [r] = self.deliver(q, self.mx("nullmx.example.test"))
        self.assert_result(r, "bounced", "5.1.10", "null MX")

    def test_nxdomain_bounces(self):
        q = self.queue(["a@nosuch.example.test"], plain("nx"))
        [r] = self.deliver(q, self.mx("nosuch.example.test"))
        self.assert_result(r, "bounced", "5.1.2", "type=MX")

    def test_mx_without_address_bounces_5_4_4(self):
        q = self.queue(["a@noaddr.example.test"], plain("noaddr"))
        [r] = self.deliver(q, self.mx("noaddr.example.test"))
        self.assert_result(r, "bounced", "5.4.4", "gone.example.test")

    def test_dns_failure_defers(self):
        q = self.queue(["a@tempfail.example.net"], plain("temp"))
        [r] = self.deliver(q, "tempfail.example.net:%d" % self.peer_port)
        self.assert_result(r, "deferred", "4.4.3", "type=MX")

    def test_best_mx_is_myself_bounces_5_4_6(self):
        """RFC 5321 5.1: this host (myhostname) among the MX hosts cuts
        the list there; as the best MX, alone or with others of its
        preference, nothing is left: a mail loop, bounced."""
        p = self.fake(MX1)
        for domain in ("loop.example.test", "loopeq.example.test"):
            q = self.queue(["a@" + domain], plain("loop"))
            [r] = self.deliver(q, self.mx(domain))
            self.assert_result(r, "bounced", "5.4.6",
                               "mail for %s loops back to myself" % domain)
        self.assertEqual(p.conns, 0)

    def test_backup_mx_is_myself_only_better_ones_tried(self):
        """As a backup MX (preference 20, name in other case) this host
        tries only the better MX: when that one is down, the mail waits
        rather than going to the worse MX behind this host."""
        p2 = self.fake(MX2)
        q = self.queue(["a@backup.example.test"], plain("backup"))
        [r] = self.deliver(q, self.mx("backup.example.test"))
        self.assert_result(r, "deferred", "4.4.1")
        self.assertEqual(p2.conns, 0)
        p1 = self.fake(MX1)
        [r] = self.deliver(q, self.mx("backup.example.test"))
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(len(p1.messages), 1)

    def test_mx_at_my_own_address_bounces_5_4_6(self):
        """An MX host under another name whose address and port are
        this instance's smtpd listener (services.conf) is this host: as
        the best MX it is a loop, bounced; so is a domain without MX
        whose own address is that listener.  The same address on another
        port is someone else, and gets the mail."""
        for domain in ("selfaddr.example.test", "selfnomx.example.test"):
            q = self.queue(["a@" + domain], plain("self"))
            [r] = self.deliver(q, "%s:%d" % (domain, self.port))
            self.assert_result(r, "bounced", "5.4.6",
                               "mail for %s loops back to myself" % domain)
        p = self.fake("127.0.0.1")
        q = self.queue(["a@selfaddr.example.test"], plain("other port"))
        [r] = self.deliver(q, self.mx("selfaddr.example.test"))
        self.assert_result(r, "sent", "2.0.0",
                           relay=self.relay("alias.example.test",
                                            "127.0.0.1"))
        self.assertEqual(len(p.messages), 1)

    def test_backup_mx_at_my_own_address_only_better_ones_tried(self):
        """As backup MX (preference 20) by address: only the better MX
        is tried; the worse one (30) behind this host never is."""
        p2 = FakeLmtp(self, host=MX2, port=self.port, smtp=True)
        q = self.queue(["a@selfbackup.example.test"], plain("selfbackup"))
        hop = "selfbackup.example.test:%d" % self.port
        [r] = self.deliver(q, hop)
        self.assert_result(r, "deferred", "4.4.1")
        self.assertEqual(p2.conns, 0)
        self.assertTrue(wait_for(lambda: "MX host alias.example.test"
                                 "[127.0.0.1] of selfbackup.example.test is "
                                 "this host" in self.t.log()))
        p1 = FakeLmtp(self, host=MX1, port=self.port, smtp=True)
        [r] = self.deliver(q, hop)
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual((len(p1.messages), p2.conns), (1, 0))

    def test_bracketed_host_skips_mx(self):
        p = self.fake(MX2)
        q = self.queue(["a@multi.example.test"], plain("br"))
        [r] = self.deliver(q, "[%s]:%d" % (MX2, self.peer_port))
        self.assert_result(r, "sent", "2.0.0",
                           relay=self.relay(MX2, MX2))
        self.assertEqual(len(p.messages), 1)

    def test_bad_next_hops_deferred(self):
        q = self.queue(["a@multi.example.test"], plain("bad"))
        for hop in ("[127.0.0.2", "bad..domain", "multi.example.test:0",
                    "[x]:99999"):
            [r] = self.deliver(q, hop)
            self.assert_result(r, "deferred", "4.3.5", "bad SMTP next hop")


class ReplyTest(SmtpOutBase):
    RCPTS = ["a@example.net", "b@example.net", "c@example.net"]

    def run_with(self, replies, caps=("PIPELINING", "ENHANCEDSTATUSCODES",
                                      "8BITMIME", "SIZE 100000", "DSN")):
        self.p = self.fake(MX1, replies=replies, caps=caps)
        q = self.queue(self.RCPTS, plain("codes"))
        return self.deliver(q, "[%s]:%d" % (MX1, self.peer_port))

    def test_rcpt_4xx_and_5xx(self):
        rs = self.run_with({"RCPT:a@example.net": "450 4.2.0 later",
                            "RCPT:b@example.net": "550 5.1.1 no such"})
        self.assertEqual([(r["result"], r["dsn"]) for r in rs],
                         [("deferred", "4.2.0"), ("bounced", "5.1.1"),
                          ("sent", "2.0.0")])
        self.assertIn("said: 550 5.1.1 no such (in reply to RCPT TO",
                      rs[1]["text"])
        self.assertTrue(self.p.pipelined)

    def test_mail_5xx_bounces_all(self):
        rs = self.run_with({"MAIL": "553 5.1.8 bad sender"})
        for r in rs:
            self.assert_result(r, "bounced", "5.1.8", "MAIL FROM")

    def test_data_4xx_defers_all(self):
        rs = self.run_with({"DATA": "451 4.3.0 try later"})
        for r in rs:
            self.assert_result(r, "deferred", "4.3.0", "DATA command")

    def test_final_5xx_bounces_all(self):
        rs = self.run_with({"FINAL": "554 5.7.1 spam"})
        for r in rs:
            self.assert_result(r, "bounced", "5.7.1", "end of data")

    def test_421_mid_session_defers_the_rest(self):
        rs = self.run_with({"RCPT:b@example.net": "421 4.4.2 closing"})
        self.assertEqual([(r["result"], r["dsn"]) for r in rs],
                         [("deferred", "4.4.2")] * 3)
        self.assertEqual(len(self.p.messages), 0)

    def test_ehlo_5xx_falls_back_to_helo(self):
        rs = self.run_with({"EHLO": "502 5.5.2 no EHLO"})
        for r in rs:
            self.assert_result(r, "sent", "2.0.0")
        self.assertIn("HELO client.example.test", self.p.lines)
        # No extension after HELO: no parameters on MAIL.
        self.assertIn("MAIL FROM:<sender@example.org>", self.p.lines)

    def test_size_too_big_bounces_5_3_4(self):
        rs = self.run_with({}, caps=("SIZE 10",))
        for r in rs:
            self.assert_result(r, "bounced", "5.3.4", "exceeds size limit")
        self.assertEqual(self.p.count("MAIL"), 0)

    def test_smtputf8_needed_bounces_5_6_7(self):
        self.p = self.fake(MX1)
        q = self.queue(["ü@example.net"], plain("utf8"),
                       mail_params=" SMTPUTF8")
        [r] = self.deliver(q, "[%s]:%d" % (MX1, self.peer_port))
        self.assert_result(r, "bounced", "5.6.7", "SMTPUTF8 is required")

    def test_dsn_parameters_passed_on(self):
        self.p = self.fake(MX1, caps=("DSN", "SIZE 100000"))
        q = self.queue(["a@example.net"], plain("dsn"),
                       mail_params=" RET=HDRS ENVID=x1",
                       rcpt_params=" NOTIFY=SUCCESS,FAILURE")
        [r] = self.deliver(q, "[%s]:%d" % (MX1, self.peer_port))
        self.assert_result(r, "sent", "2.0.0")
        mail = [ln for ln in self.p.lines if ln.startswith("MAIL")][0]
        self.assertIn("RET=HDRS", mail)
        self.assertIn("ENVID=x1", mail)
        rcpt = [ln for ln in self.p.lines if ln.startswith("RCPT")][0]
        self.assertIn("NOTIFY=SUCCESS,FAILURE", rcpt)


class ReuseTest(SmtpOutBase):
    conf = "smtp_connection_cache_time_limit = 3s\n"

    def test_one_connection_for_several_messages(self):
        p = self.fake(MX1)
        a = self.agent("smtp")
        for i in range(3):
            q = self.queue(["a@multi.example.test"], plain("r%d" % i))
            [r] = a.deliver(q, self.mx())
            self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(p.conns, 1)
        self.assertEqual(p.count("RSET"), 2)
        self.assertEqual(len(p.messages), 3)
        # Idle past smtp_connection_cache_time_limit: QUIT, unasked.
        self.assertTrue(wait_for(lambda: p.count("QUIT") == 1, timeout=10))
        q = self.queue(["a@multi.example.test"], plain("after"))
        [r] = a.deliver(q, self.mx())
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(p.conns, 2)

    def test_other_next_hop_new_connection(self):
        p1, p2 = self.fake(MX1), self.fake(MX2)
        a = self.agent("smtp")
        q = self.queue(["a@multi.example.test"], plain("x"))
        a.deliver(q, "[%s]:%d" % (MX1, self.peer_port))
        a.deliver(q, "[%s]:%d" % (MX2, self.peer_port))
        self.assertEqual((p1.conns, p2.conns), (1, 1))
        self.assertTrue(wait_for(lambda: p1.count("QUIT") == 1))


class TimeoutTest(SmtpOutBase):
    """Per-stage timeouts: a server that goes silent is given up on after
    that stage's smtp_*_timeout.  Before MAIL the next MX gets the mail;
    after it, the recipient is deferred."""
    conf = "smtp_helo_timeout = 2s\nsmtp_rcpt_timeout = 2s\n"

    def test_silent_after_ehlo_next_mx(self):
        p1 = self.fake(MX1, replies={"EHLO": "HANG"})
        p2 = self.fake(MX2)
        q = self.queue(["a@multi.example.test"], plain("slow ehlo"))
        t0 = time.monotonic()
        [r] = self.deliver(q, self.mx())
        self.assert_result(r, "sent", "2.0.0")
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual((len(p1.messages), len(p2.messages)), (0, 1))
        self.assertIn("conversation with mx1.example.test[127.0.0.2]:%d "
                      "timed out while" % self.peer_port, self.t.log())

    def test_silent_at_rcpt_defers(self):
        p = self.fake(MX1, replies={"RCPT:a@multi.example.test": "HANG"})
        q = self.queue(["a@multi.example.test"], plain("slow rcpt"))
        t0 = time.monotonic()
        [r] = self.deliver(q, "[%s]:%d" % (MX1, self.peer_port))
        self.assertLess(time.monotonic() - t0, 15)
        self.assert_result(r, "deferred", "4.4.2", "timed out while")
        self.assertEqual(len(p.messages), 0)


# ---- TLS with scripted peers --------------------------------------------------
class MayScriptedTest(SmtpOutBase):
    level = "may"

    def test_not_offered_plaintext_logged(self):
        p = self.fake(MX1)
        q = self.queue(["a@multi.example.test"], plain("may"))
        [r] = self.deliver(q, self.mx())
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(p.count("STARTTLS"), 0)
        self.assertIn("STARTTLS not offered by mx1.example.test", self.t.log())

    def test_handshake_fails_defers_never_plaintext(self):
        """Even at may: after the server's 220 to STARTTLS a failed
        handshake drops the connection, the next MX is tried, and the
        mail is deferred -- never sent in plaintext, not even on a new
        connection."""
        p1 = self.fake(MX1, caps=("PIPELINING", "STARTTLS"),
                       replies={"STARTTLS": "BREAK"})
        p2 = self.fake(MX2, caps=("PIPELINING", "STARTTLS"),
                       replies={"STARTTLS": "BREAK"})
        q = self.queue(["a@multi.example.test"], plain("break"))
        [r] = self.deliver(q, self.mx())
        self.assert_result(r, "deferred", "4.7.5", "Cannot start TLS")
        for p in (p1, p2):
            self.assertEqual(p.conns, 1)
            self.assertEqual(p.count("STARTTLS"), 1)
            self.assertEqual(p.count("MAIL"), 0)
            self.assertEqual(len(p.messages), 0)
        self.assertNotIn("without TLS", self.t.log())


class EncryptScriptedTest(SmtpOutBase):
    level = "encrypt"

    def test_not_offered_defers_4_7_4(self):
        p1, p2 = self.fake(MX1), self.fake(MX2)
        q = self.queue(["a@multi.example.test"], plain("strip"))
        [r] = self.deliver(q, self.mx())
        self.assert_result(r, "deferred", "4.7.4", "TLS is required")
        self.assertEqual(len(p1.messages) + len(p2.messages), 0)
        self.assertEqual(p1.count("MAIL") + p2.count("MAIL"), 0)

    def test_handshake_fails_never_plaintext(self):
        p = self.fake(MX1, caps=("STARTTLS",), replies={"STARTTLS": "BREAK"})
        q = self.queue(["a@multi.example.test"], plain("break"))
        [r] = self.deliver(q, "[%s]:%d" % (MX1, self.peer_port))
        self.assert_result(r, "deferred", "4.7.5", "Cannot start TLS")
        self.assertEqual(p.conns, 1)
        self.assertEqual(p.count("MAIL"), 0)


# ---- aiosmtpd peers -------------------------------------------------------------
class Handler:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos),
                               envelope.content))
        return "250 2.0.0 Ok: stored"


class Peer:
    """aiosmtpd on host:port, with STARTTLS when certs are given; counts
    connections (its own readiness probe excepted)."""

    def __init__(self, host, port, cert=None, **kw):
        self.handler = Handler()
        self.conns = 0
        ctx = None
        if cert is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*cert)
        peer = self

        class Counting(AioSMTP):
            def connection_made(self, transport):
                peer.conns += 1
                super().connection_made(transport)

        class Ctl(Controller):
            def factory(self):
                return Counting(self.handler, tls_context=ctx,
                                hostname="peer.example.test", **kw)

        self.ctl = Ctl(self.handler, hostname=host, port=port)
        self.ctl.start()
        self.conns = 0

    def stop(self):
        self.ctl.stop()


@unittest.skipUnless(HAVE_AIOSMTPD and tls_certs.available(),
                     "python3-aiosmtpd or certtool missing (./quickstart)")
class AiosmtpdTest(SmtpOutBase):
    def peer(self, host=MX1, tls=True, cert=None, **kw):
        p = Peer(host, self.peer_port,
                 cert=(cert or self.certs.server("rsa")) if tls else None,
                 **kw)
        self.addCleanup(p.stop)
        return p

    def send(self, nexthop, rcpt="a@example.net"):
        q = self.queue([rcpt], plain("aio"))
        [r] = self.deliver(q, nexthop)
        return q, r


class AiosmtpdNoneTest(AiosmtpdTest):
    def test_plain_none(self):
        p = self.peer(tls=False)
        q, r = self.send(self.mx())
        self.assert_result(r, "sent", "2.0.0", "Ok: stored")
        self.assertEqual(len(p.handler.envelopes), 1)
        mail_from, rcpts, content = p.handler.envelopes[0]
        self.assertEqual((mail_from, rcpts),
                         ("sender@example.org", ["a@example.net"]))
        self.assertTrue(content.endswith(b"Hello.\r\n"))
        self.assertNotIn("TLS connection established", self.t.log())


class AiosmtpdMayTest(AiosmtpdTest):
    level = "may"

    def test_starttls_trusted(self):
        """The chain verifies to smtp_tls_CAfile (the test CA); the name
        is not checked at may: Trusted, not Verified."""
        p = self.peer(cert=self.certs.wrong_name)
        q, r = self.send(self.mx())
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(len(p.handler.envelopes), 1)
        self.assertRegex(self.t.log(), r"Trusted TLS connection "
                         r"established to mx1\.example\.test\[127\.0\.0\.2"
                         r"\]:\d+: TLSv1\.3 with cipher \S+")
        self.assertNotIn("Untrusted", self.t.log())


class AiosmtpdMayUntrustedTest(AiosmtpdTest):
    """No smtp_tls_CAfile: the system store, which does not hold the
    test CA."""
    level = "may"
    conf = "smtp_tls_CAfile =\n"

    def test_starttls_untrusted(self):
        p = self.peer()
        q, r = self.send(self.mx())
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(len(p.handler.envelopes), 1)
        self.assertRegex(self.t.log(), r"Untrusted TLS connection "
                         r"established to mx1\.example\.test\[127\.0\.0\.2"
                         r"\]:\d+: TLSv1\.3 with cipher \S+")

    def test_stripped_starttls_delivers(self):
        p = self.peer(tls=False)
        q, r = self.send(self.mx())
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(len(p.handler.envelopes), 1)


class AiosmtpdEncryptTest(AiosmtpdTest):
    level = "encrypt"

    def test_starttls_delivers(self):
        p = self.peer()
        q, r = self.send(self.mx())
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(len(p.handler.envelopes), 1)

    def test_stripped_starttls_defers(self):
        p = self.peer(tls=False)
        q, r = self.send(self.mx())
        self.assert_result(r, "deferred", "4.7.4", "TLS is required")
        self.assertEqual(len(p.handler.envelopes), 0)


class AiosmtpdResumeTest(AiosmtpdTest):
    """The TLS session of one delivery is resumed by the next connection
    to the same server (tlsproxy's client session cache)."""
    level = "encrypt"
    conf = "smtp_connection_cache_time_limit = 1s\n"

    def test_second_connection_resumes(self):
        p = self.peer()
        self.send(self.mx())
        time.sleep(2.5)     # idle past the limit: the next is a new one
        q, r = self.send(self.mx())
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(len(p.handler.envelopes), 2)
        lines = [ln for ln in self.t.log().splitlines()
                 if "TLS connection established" in ln]
        self.assertEqual(len(lines), 2, lines)
        self.assertNotIn("(resumed)", lines[0])
        self.assertIn("(resumed)", lines[1])


class AiosmtpdVerifyTest(AiosmtpdTest):
    level = "verify"

    def test_mx_name_matches(self):
        p = self.peer()
        q, r = self.send("[%s]:%d" % (CERT_HOST, self.peer_port))
        self.assert_result(r, "sent", "2.0.0",
                           relay=self.relay(CERT_HOST, MX1))
        self.assertEqual(len(p.handler.envelopes), 1)
        self.assertIn("Verified TLS connection established to "
                      "%s[127.0.0.2]" % CERT_HOST, self.t.log())

    def test_mx_name_mismatch_defers(self):
        p = self.peer()
        q, r = self.send(self.mx("wrong.example.test"))
        self.assert_result(r, "deferred", "4.7.5", "Cannot start TLS")
        self.assertEqual(len(p.handler.envelopes), 0)


class AiosmtpdSecureTest(AiosmtpdTest):
    level = "secure"

    def test_nexthop_domain_matches(self):
        # mail.example.org's MX is mx1.example.test: the certificate
        # covers the domain, not the MX host, and secure checks the
        # domain.
        p = self.peer()
        q, r = self.send(self.mx(CERT_HOST))
        self.assert_result(r, "sent", "2.0.0",
                           relay=self.relay("mx1.example.test", MX1))
        self.assertEqual(len(p.handler.envelopes), 1)
        self.assertIn("Verified TLS connection", self.t.log())

    def test_other_domain_defers(self):
        p = self.peer()
        q, r = self.send(self.mx("wrong.example.test"))
        self.assert_result(r, "deferred", "4.7.5")
        self.assertEqual(len(p.handler.envelopes), 0)

