# SPDX-License-Identifier: ISC
"""SMTP AUTH (RFC 4954) in smtpd with a private Dovecot as the back end
(dovecot_fixture.py, its auth-client socket): advertising, PLAIN and LOGIN
over STARTTLS with smtplib, swaks and a raw client, the replies for every
refusal (538, 503, 504, 501, 535, 454), relaying after AUTH and not
before, the error limit, STARTTLS forgetting AUTH, the log lines (user,
never the password) and the Received: header's ESMTPSA / ESMTPA."""
import base64
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import unittest

import dovecot_fixture
import test_starttls
import tls_certs
from tern_fixture import HELO, RawClient, Tern, free_port, wait_for

MYHOSTNAME = tls_certs.HOSTNAME
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
PASSWORDS = {"alice": "Wonder-land-77", "bob": "b0b-s3cret"}
LOCAL_RCPT = "terntest@localhost"
REMOTE_RCPT = "someone@remote.example"
MESSAGE = test_starttls.MESSAGE

CERTS = None
DOVECOT = None


def setUpModule():
    global CERTS, DOVECOT
    if not tls_certs.available():
        raise unittest.SkipTest("certtool (gnutls-bin) is not installed")
    if not dovecot_fixture.available():
        raise unittest.SkipTest("dovecot is not installed")
    CERTS = tls_certs.TestCerts()
    DOVECOT = dovecot_fixture.Dovecot(auth=True, passwords=PASSWORDS)
    try:
        DOVECOT.start()
    except Exception:
        DOVECOT.remove()
        CERTS.cleanup()
        raise


def tearDownModule():
    if DOVECOT is not None:
        DOVECOT.remove()
    if CERTS is not None:
        CERTS.cleanup()


def plain(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(CERTS.ca)
    ctx.check_hostname = True
    return ctx


class Client(RawClient):
    def starttls(self):
        r = self.cmd("STARTTLS")
        if r.code != 220:
            raise AssertionError("STARTTLS: %r" % r)
        self.sock = client_ctx().wrap_socket(self.sock,
                                             server_hostname=MYHOSTNAME)
        r = self.cmd("EHLO " + HELO)
        if r.code != 250:
            raise AssertionError("EHLO: %r" % r)
        return r


class AuthTestBase(unittest.TestCase):
    """One Tern per test with three SMTP services on Dovecot's socket:
    smtp (smtpd_tls_auth_only = yes, the default), plain (AUTH without
    TLS allowed, error limit 4) and nosock (a socket that is not there)."""

    extra_conf = ""

    def setUp(self):
        self.port = free_port()
        self.port_plain = free_port()
        self.port_nosock = free_port()
        self.clients = []
        pair = CERTS.server("rsa")
        conf = ("myhostname = %s\n" % MYHOSTNAME +
                "smtpd_tls_cert_file = %s\n" % pair[0] +
                "smtpd_tls_key_file = %s\n" % pair[1] +
                "mynetworks = [::1]/128\n"
                "smtpd_sasl_auth_enable = yes\n"
                "smtpd_sasl_type = dovecot\n"
                "smtpd_sasl_path = %s\n" % DOVECOT.auth_socket +
                "smtpd_error_sleep_time = 0\n" + self.extra_conf)
        services = (
            "smtp inet 127.0.0.1:%d y n 100 1 - smtpd\n" % self.port +
            "plain inet 127.0.0.1:%d y n 100 1 - smtpd "
            "-o smtpd_tls_auth_only=no -o smtpd_hard_error_limit=4\n"
            % self.port_plain +
            "nosock inet 127.0.0.1:%d y n 100 1 - smtpd "
            "-o smtpd_tls_auth_only=no -o smtpd_sasl_path=private/none\n"
            % self.port_nosock +
            "cleanup unix private/cleanup y n 20 0 - cleanup\n"
            "tlsproxy unix private/tlsproxy y n 10 0 - tlsproxy\n")
        self.t = Tern(services, conf)
        self.addCleanup(self.remove_instance)
        self.t.start()

    def remove_instance(self):
        for c in self.clients:
            c.close()
        log = self.t.remove()
        self.assertNotRegex(log, r"killed by signal", "a process crashed")

    def client(self, port=None):
        c = Client(port or self.port)
        self.clients.append(c)
        self.ehlo = c.greet()
        return c

    def tls_client(self):
        c = self.client()
        self.ehlo = c.starttls()
        return c

    def assert_reply(self, r, code, enh):
        self.assertEqual((r.code, r.enh), (code, enh), r)

    def auth_line(self, ehlo):
        return [l for l in ehlo.lines[1:] if l.startswith("AUTH")]

    # The same steps as test_starttls's (MAIL, RCPT, DATA; the queue
    # file's Received:; waiting for a log line).
    send_message = test_starttls.TlsTestBase.send_message
    received = test_starttls.TlsTestBase.received
    wait_log = test_starttls.TlsTestBase.wait_log


class AuthTest(AuthTestBase):

    def test_plain_success_relays_and_logs(self):
        c = self.tls_client()
        self.assertEqual(self.auth_line(self.ehlo), ["AUTH PLAIN LOGIN"])
        r = c.cmd("AUTH PLAIN " + plain("alice", PASSWORDS["alice"]))
        self.assert_reply(r, 235, "2.7.0")
        qid = self.send_message(c, REMOTE_RCPT)
        self.assertIn(" with ESMTPSA ", self.received(qid))
        self.wait_log(r"auth from [^ ]*\[127\.0\.0\.1\]: sasl_method=PLAIN, "
                      r"sasl_username=alice")
        self.wait_log(r"%s: client=[^ ]*\[127\.0\.0\.1\], sasl_method=PLAIN, "
                      r"sasl_username=alice" % qid)
        c.cmd("QUIT")
        log = self.t.log()
        self.assertNotIn(PASSWORDS["alice"], log)
        self.assertNotIn(plain("alice", PASSWORDS["alice"]), log)

    def test_relay_without_auth_denied(self):
        c = self.tls_client()
        self.assert_reply(c.cmd("MAIL FROM:<alice@example.test>"), 250,
                          "2.1.0")
        r = c.cmd("RCPT TO:<%s>" % REMOTE_RCPT)
        self.assert_reply(r, 554, "5.7.1")
        self.assertIn("Relay access denied", r.text)

    def test_smtplib_login_mechanism(self):
        s = smtplib.SMTP(timeout=10)
        s.connect("127.0.0.1", self.port)
        s._host = MYHOSTNAME        # the name starttls() verifies
        try:
            s.ehlo(HELO)
            s.starttls(context=client_ctx())
            s.ehlo(HELO)
            self.assertEqual(s.esmtp_features.get("auth", "").strip(),
                             "PLAIN LOGIN")
            s.user, s.password = "bob", PASSWORDS["bob"]
            code, _ = s.auth("LOGIN", s.auth_login)
            self.assertEqual(code, 235)
            refused = s.sendmail("bob@example.test", [REMOTE_RCPT], MESSAGE)
            self.assertEqual(refused, {})
        finally:
            s.quit()
        self.wait_log(r"sasl_method=LOGIN, sasl_username=bob")

    def test_login_without_initial_response(self):
        c = self.tls_client()
        r = c.cmd("AUTH LOGIN")
        self.assertEqual((r.code, base64.b64decode(r.text)),
                         (334, b"Username:"))
        r = c.cmd(b64("alice"))
        self.assertEqual((r.code, base64.b64decode(r.text)),
                         (334, b"Password:"))
        self.assert_reply(c.cmd(b64(PASSWORDS["alice"])), 235, "2.7.0")
        self.assert_reply(c.cmd("AUTH PLAIN " + plain("alice", "x")), 503,
                          "5.5.1")

    def test_plain_with_empty_challenge(self):
        c = self.tls_client()
        r = c.cmd("AUTH PLAIN")
        self.assertEqual(r.raw, b"334 \r\n")
        self.assert_reply(c.cmd(plain("bob", PASSWORDS["bob"])), 235,
                          "2.7.0")

    def test_wrong_password_535(self):
        c = self.tls_client()
        r = c.cmd("AUTH PLAIN " + plain("alice", "not-the-password"))
        self.assert_reply(r, 535, "5.7.8")
        self.wait_log(r"SASL PLAIN authentication failed")
        self.assertNotIn("not-the-password", self.t.log())
        # Not authenticated: no relaying; and AUTH may be tried again.
        self.assert_reply(c.cmd("AUTH PLAIN " + plain(
            "alice", PASSWORDS["alice"])), 235, "2.7.0")

    def test_before_starttls_538_and_not_advertised(self):
        c = self.client()
        self.assertEqual(self.auth_line(self.ehlo), [])
        self.assertIn("STARTTLS", self.ehlo.lines[1:])
        r = c.cmd("AUTH PLAIN " + plain("alice", PASSWORDS["alice"]))
        self.assert_reply(r, 538, "5.7.11")

    def test_cancel(self):
        c = self.tls_client()
        self.assertEqual(c.cmd("AUTH LOGIN").code, 334)
        self.assert_reply(c.cmd("*"), 501, "5.0.0")
        # The next AUTH starts afresh.
        self.assert_reply(c.cmd("AUTH PLAIN " + plain(
            "bob", PASSWORDS["bob"])), 235, "2.7.0")

    def test_unknown_and_bad_arguments(self):
        c = self.tls_client()
        self.assert_reply(c.cmd("AUTH CRAM-MD5"), 504, "5.5.4")
        self.assert_reply(c.cmd("AUTH NOT/A/MECH"), 504, "5.5.4")
        self.assert_reply(c.cmd("AUTH PLAIN !!!!"), 501, "5.5.2")
        self.assertEqual(c.cmd("AUTH LOGIN").code, 334)
        self.assert_reply(c.cmd("not base64"), 501, "5.5.2")
        self.assert_reply(c.cmd("AUTH"), 501, "5.5.4")

    def test_auth_in_transaction_503(self):
        c = self.tls_client()
        self.assert_reply(c.cmd("MAIL FROM:<alice@example.test>"), 250,
                          "2.1.0")
        r = c.cmd("AUTH PLAIN " + plain("alice", PASSWORDS["alice"]))
        self.assert_reply(r, 503, "5.5.1")

    def test_without_tls_when_allowed_esmtpa(self):
        c = self.client(self.port_plain)
        self.assertEqual(self.auth_line(self.ehlo), ["AUTH PLAIN LOGIN"])
        self.assert_reply(c.cmd("AUTH PLAIN " + plain(
            "alice", PASSWORDS["alice"])), 235, "2.7.0")
        qid = self.send_message(c, REMOTE_RCPT)
        self.assertIn(" with ESMTPA ", self.received(qid))

    def test_starttls_forgets_auth(self):
        c = self.client(self.port_plain)
        self.assert_reply(c.cmd("AUTH PLAIN " + plain(
            "alice", PASSWORDS["alice"])), 235, "2.7.0")
        c.starttls()
        self.assert_reply(c.cmd("MAIL FROM:<alice@example.test>"), 250,
                          "2.1.0")
        self.assert_reply(c.cmd("RCPT TO:<%s>" % REMOTE_RCPT), 554,
                          "5.7.1")
        self.assert_reply(c.cmd("RSET"), 250, "2.0.0")
        self.assert_reply(c.cmd("AUTH PLAIN " + plain(
            "alice", PASSWORDS["alice"])), 235, "2.7.0")

    def test_failures_count_for_hard_error_limit(self):
        c = self.client(self.port_plain)
        for _ in range(3):
            self.assert_reply(c.cmd("AUTH PLAIN " + plain("bob", "wrong")),
                              535, "5.7.8")
        c.send("AUTH PLAIN " + plain("bob", "wrong") + "\r\n")
        replies = c.replies_until_eof()
        self.assertEqual([r.code for r in replies], [535, 421])

    def test_socket_missing_454_not_advertised(self):
        c = self.client(self.port_nosock)
        self.assertEqual(self.auth_line(self.ehlo), [])
        r = c.cmd("AUTH PLAIN " + plain("alice", PASSWORDS["alice"]))
        self.assert_reply(r, 454, "4.7.0")
        self.wait_log(r"SASL: cannot connect to .*private/none")

    def test_swaks_plain_over_starttls(self):
        p = subprocess.run(
            [SWAKS, "--server", "127.0.0.1:%d" % self.port, "--tls",
             "--ehlo", HELO, "--from", "alice@example.test",
             "--to", REMOTE_RCPT, "--auth", "PLAIN", "--auth-user", "alice",
             "--auth-password", PASSWORDS["alice"], "--timeout", "20"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("235 2.7.0 Authentication successful", p.stdout)
        self.assertRegex(p.stdout, r"250 2\.0\.0 Ok: queued as")


class DisabledTest(AuthTestBase):
    extra_conf = "smtpd_sasl_auth_enable = no\n"

    def test_not_advertised_503(self):
        c = self.tls_client()
        self.assertEqual(self.auth_line(self.ehlo), [])
        r = c.cmd("AUTH PLAIN " + plain("alice", PASSWORDS["alice"]))
        self.assert_reply(r, 503, "5.5.1")


class DovecotDownTest(AuthTestBase):
    """Dovecot stopped: a new session neither sees AUTH nor gets it."""

    def test_backend_down_454(self):
        DOVECOT.stop()
        try:
            c = self.client(self.port_plain)
            self.assertEqual(self.auth_line(self.ehlo), [])
            for _ in range(2):
                r = c.cmd("AUTH PLAIN " + plain("alice", PASSWORDS["alice"]))
                self.assert_reply(r, 454, "4.7.0")
            c.cmd("QUIT")
        finally:
            DOVECOT.start()
        # Back up: a new session authenticates again.
        c = self.client(self.port_plain)
        self.assert_reply(c.cmd("AUTH PLAIN " + plain(
            "alice", PASSWORDS["alice"])), 235, "2.7.0")


class FakeAuth:
    """A scripted auth server on a unix socket: for its one connection,
    the handshake (VERSION, MECH PLAIN, DONE), then, per AUTH or CONT
    request read, the next answer of the script (a list of bytes; None,
    or the end of the script, closes the connection)."""

    def __init__(self, path, answers, handshake=None):
        self.path = path
        self.answers = list(answers)
        self.handshake = handshake if handshake is not None else (
            b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"
            b"MECH\tSECRET\tprivate\nSPID\t1\nCUID\t1\n"
            b"COOKIE\t00\nDONE\n")
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(8)
        self.sock.settimeout(20)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(20)
            try:
                conn.sendall(self.handshake)
                buf = b""
                while True:
                    while b"\n" not in buf:
                        data = conn.recv(4096)
                        if not data:
                            return
                        buf += data
                    line, _, buf = buf.partition(b"\n")
                    self.requests.append(line)
                    if not line.startswith((b"AUTH\t", b"CONT\t")):
                        continue
                    ans = self.answers.pop(0) if self.answers else None
                    if ans is None:
                        return
                    conn.sendall(ans)
            except OSError:
                return

    def close(self):
        self.sock.close()
        self.thread.join(10)
        try:
            os.unlink(self.path)
        except OSError:
            pass


class FakeAuthTest(AuthTestBase):
    """smtpd against a scripted auth server: the lines Dovecot should
    send, and ones it should not (closed connection, garbage, another
    request ID, an endless exchange)."""

    def fake(self, answers, handshake=None):
        path = os.path.join(self.t.dir, "fake-auth")
        f = FakeAuth(path, answers, handshake)
        self.addCleanup(f.close)
        # The plain service, with smtpd_sasl_path pointing at the fake.
        with open(os.path.join(self.t.etc, "tern.conf"), "a") as conf:
            conf.write("smtpd_sasl_path = %s\n" % path)
        self.t.ternctl("reload", check=True)
        return f

    def fresh_client(self):
        # After the reload: a session whose smtpd read the new path.
        def ready():
            c = Client(self.port_plain)
            try:
                e = c.greet()
            except Exception:
                c.close()
                return None
            if self.auth_line(e) == ["AUTH PLAIN"]:
                self.clients.append(c)
                return c
            c.close()
            return None
        c = wait_for(ready, timeout=15)
        self.assertTrue(c, "smtpd did not use the fake auth server")
        return c

    def test_closed_after_ehlo_454(self):
        f = self.fake([None])
        c = self.fresh_client()
        r = c.cmd("AUTH PLAIN " + plain("alice", "pw"))
        self.assert_reply(r, 454, "4.7.0")
        self.assertTrue(f.requests[-1].startswith(b"AUTH\t1\tPLAIN\t"
                                                  b"service=smtp\t"),
                        f.requests)
        self.assertIn(b"\trip=127.0.0.1\t", f.requests[-1])
        self.assertIn(b"\tresp=" + plain("alice", "pw").encode(),
                      f.requests[-1])
        self.wait_log(r"SASL: the auth server closed the connection")

    def test_garbage_and_wrong_id_454(self):
        self.fake([b"OK\tnot-a-number\tuser=x\n"])
        c = self.fresh_client()
        self.assert_reply(c.cmd("AUTH PLAIN " + plain("alice", "pw")), 454,
                          "4.7.0")
        self.wait_log(r"SASL: bad line from the auth server")

    def test_private_mech_not_offered_504(self):
        self.fake([])
        c = self.fresh_client()
        self.assert_reply(c.cmd("AUTH SECRET"), 504, "5.5.4")

    def test_endless_challenges_bounded(self):
        f = self.fake([b"CONT\t1\tYQ==\n"] * 20)
        c = self.fresh_client()
        r = c.cmd("AUTH PLAIN")
        rounds = 0
        while r.code == 334 and rounds < 20:
            rounds += 1
            r = c.cmd("YQ==")
        self.assert_reply(r, 535, "5.7.8")
        self.assertLessEqual(rounds, 9)
        conts = [l for l in f.requests if l.startswith(b"CONT")]
        self.assertEqual(conts[0], b"CONT\t1\tYQ==")
        self.assertEqual(len(conts), rounds)

    def test_fail_with_temp_454_and_user_logged(self):
        self.fake([b"FAIL\t1\tuser=al\x01ice\ttemp\n"])
        c = self.fresh_client()
        self.assert_reply(c.cmd("AUTH PLAIN " + plain("alice", "pw")), 454,
                          "4.7.0")
        self.wait_log(r"SASL PLAIN authentication failed: authentication "
                      r"failure, sasl_username=alice")


if __name__ == "__main__":
    unittest.main()
