# SPDX-License-Identifier: ISC
"""tlsproxy on its own, driven the way smtpd drives it (docs/ipc.md,
"smtpd -> tlsproxy"): this test plays smtpd (a socketpair and the client's
TCP socket passed with SCM_RIGHTS, ready, start, the outcome) and a real
TLS client (Python's ssl) on the other end of the TCP connection.

Covered: the handshake and its outcome, data and end of file both ways,
plaintext instead of a ClientHello, bogus requests (no descriptor leaks,
the process keeps serving), keys that do not load (status=error, no crash
loop), session resumption (TLS 1.2 and 1.3, tickets on and off), client
certificates asked for, RSA and ECDSA side by side, concurrent sessions,
large transfers and back-pressure both ways, the time-outs, a second
process past 100 sessions, reload, and the privilege drop."""
import hashlib
import os
import select
import socket
import ssl
import subprocess
import threading
import time
import unittest

import attr_wire
import tls_certs
from attr_wire import recv_exact
from tern_fixture import IS_ROOT, TEST_USER, Tern, test_user, wait_for

SERVICES = "tlsproxy unix private/tlsproxy y n 10 0 - tlsproxy\n"
HOST = tls_certs.HOSTNAME
CLIENT_NAME = "client.example.test"


# ---- smtpd's requests -------------------------------------------------------
def server_request(port="25000", **over):
    attrs = [("request", "server"), ("proto", "tlsproxy/1"),
             ("client_name", CLIENT_NAME), ("client_addr", "127.0.0.1"),
             ("client_port", port), ("service", "smtp")]
    attrs = [(k, over.pop(k, v)) for k, v in attrs]
    attrs += list(over.items())
    return attr_wire.encode([(k, v) for k, v in attrs if v is not None])


def at_eof(sock, timeout=10.0):
    """True when the peer closed (end of file or reset) within timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            if sock.recv(65536) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (socket.timeout, ssl.SSLError):
        return False


class Session:
    """One STARTTLS hand-off: this test is smtpd (ctl, plain) and holds the
    client's end of the TCP connection (tcp, then tls)."""

    def __init__(self, t):
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.settimeout(15)
        self.ctl.connect(os.path.join(t.spool, "private", "tlsproxy"))
        with socket.socket() as lsn:
            lsn.bind(("127.0.0.1", 0))
            lsn.listen(1)
            self.tcp = socket.create_connection(lsn.getsockname(),
                                                timeout=15)
            self.server_side, _ = lsn.accept()
        self.plain, self.plain_peer = socket.socketpair()
        self.plain.settimeout(15)
        self.tls = None
        self.raw = None     # the TCP socket under tls, for raw bytes
        self.outcome = None

    def request(self, msg=None, fds=None):
        """Step 1 (the two descriptors, unless fds says otherwise); then
        smtpd's copies are closed, as smtpd closes them."""
        if msg is None:
            msg = server_request(str(self.tcp.getsockname()[1]))
        if fds is None:
            fds = [self.server_side.fileno(), self.plain_peer.fileno()]
        socket.send_fds(self.ctl, [msg], fds)
        self.server_side.close()
        self.plain_peer.close()

    def ready(self):
        """Steps 1 and 2: the answer to a good request."""
        self.request()
        return attr_wire.read(self.ctl)

    def start(self):
        self.ctl.sendall(attr_wire.encode([("request", "start")]))

    def handshake(self, ctx=None, session=None, sni=HOST):
        """Steps 3 and 4 with a real TLS client; returns the outcome."""
        r = self.ready()
        if r.get("status") != "ready":
            raise AssertionError("not ready: %r" % r)
        self.start()
        if ctx is None:
            ctx = client_ctx()
        self.raw = socket.socket(fileno=os.dup(self.tcp.fileno()))
        self.tls = ctx.wrap_socket(self.tcp, server_hostname=sni,
                                   session=session)
        self.outcome = attr_wire.read(self.ctl)
        return self.outcome

    def close(self):
        for s in (self.tls, self.raw, self.tcp, self.ctl, self.plain,
                  self.server_side, self.plain_peer):
            try:
                if s is not None:
                    s.close()
            except OSError:
                pass


def client_ctx(ca=None, maxver=None, cert=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca or TlsproxyTestBase.certs.ca)
    if maxver is not None:
        ctx.maximum_version = maxver
    if cert is not None:
        ctx.load_cert_chain(*cert)
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


def proc_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


@unittest.skipUnless(tls_certs.available(), "certtool is not installed")
class TlsproxyTestBase(unittest.TestCase):
    certs = None
    conf = ""           # extra tern.conf lines for the class's instance

    @classmethod
    def setUpClass(cls):
        TlsproxyTestBase.certs = tls_certs.TestCerts()

    @classmethod
    def tearDownClass(cls):
        TlsproxyTestBase.certs.cleanup()

    def setUp(self):
        self.sessions = []
        self.t = None

    def tearDown(self):
        for s in self.sessions:
            s.close()

    def tls_conf(self, kinds=("rsa",)):
        lines = ["myhostname = %s" % HOST]
        if "rsa" in kinds:
            cert, key = self.certs.server("rsa")
            lines += ["smtpd_tls_cert_file = %s" % cert,
                      "smtpd_tls_key_file = %s" % key]
        if "ecdsa" in kinds:
            cert, key = self.certs.server("ecdsa")
            lines += ["smtpd_tls_eccert_file = %s" % cert,
                      "smtpd_tls_eckey_file = %s" % key]
        return "\n".join(lines) + "\n"

    def instance(self, conf=None, kinds=("rsa",)):
        if conf is None:
            conf = self.tls_conf(kinds) + self.conf
        self.t = t = Tern(SERVICES, conf)
        self.addCleanup(self.remove_instance, t)
        t.start()
        return t

    @staticmethod
    def remove_instance(t):
        try:
            t.cleanup()
        except Exception:
            t.kill_processes()

    def session(self):
        s = Session(self.t)
        self.sessions.append(s)
        return s

    def established(self, **kw):
        s = self.session()
        out = s.handshake(**kw)
        self.assertEqual(out.get("status"), "ok", out)
        return s

    def proxies(self):
        return self.t.children("tlsproxy")

    def one_proxy(self):
        pids = self.proxies()
        self.assertEqual(len(pids), 1, pids)
        return pids[0]

    def assert_relays(self, s, n=3):
        """Data both ways through an established session."""
        for i in range(n):
            line = b"EHLO %s %d\r\n" % (CLIENT_NAME.encode(), i)
            s.tls.sendall(line)
            self.assertEqual(recv_exact(s.plain, len(line)), line)
            reply = b"250-%s\r\n250 SIZE %d\r\n" % (HOST.encode(), i)
            s.plain.sendall(reply)
            self.assertEqual(recv_exact(s.tls, len(reply)), reply)


class HandshakeTest(TlsproxyTestBase):
    def setUp(self):
        super().setUp()
        self.instance()

    def test_lazy_start_handshake_outcome_and_relay(self):
        self.assertEqual(self.proxies(), [])    # lazy: none yet
        s = self.established()
        out = s.outcome
        self.assertEqual(out["tls_proto"], "TLSv1.3")
        self.assertEqual(out["tls_proto"], s.tls.version())
        self.assertEqual(out["tls_cipher"], s.tls.cipher()[0])
        self.assertEqual(out["sni"], HOST)
        self.assertEqual(out["peer_fp"], "")
        self.assertEqual(out["resumed"], 0)
        self.assertEqual(set(out), {"status", "tls_proto", "tls_cipher",
                                    "sni", "peer_fp", "resumed"})
        # tlsproxy closes the control connection after the outcome.
        self.assertTrue(at_eof(s.ctl))
        self.assert_relays(s)
        self.one_proxy()

    def test_no_sni_and_tls12(self):
        ctx = client_ctx(maxver=ssl.TLSVersion.TLSv1_2)
        ctx.check_hostname = False
        s = self.established(ctx=ctx, sni=None)
        self.assertEqual(s.outcome["tls_proto"], "TLSv1.2")
        self.assertEqual(s.outcome["sni"], "")
        self.assertTrue(s.outcome["tls_cipher"])
        self.assert_relays(s)

    def test_smtpd_closes_first(self):
        # smtpd's last reply reaches the client, then close_notify.
        s = self.established()
        s.tls.sendall(b"QUIT\r\n")
        self.assertEqual(recv_exact(s.plain, 6), b"QUIT\r\n")
        s.plain.sendall(b"221 2.0.0 Bye\r\n")
        s.plain.close()
        self.assertEqual(recv_exact(s.tls, 15), b"221 2.0.0 Bye\r\n")
        s.tls.settimeout(10)
        self.assertEqual(s.tls.recv(100), b"")    # close_notify
        self.assertTrue(at_eof(s.raw))             # and the TCP end

    def test_client_close_notify_reaches_smtpd_as_eof(self):
        s = self.established()
        s.tls.sendall(b"QUIT\r\n")
        # unwrap() sends close_notify and waits for ours.
        done = []
        th = threading.Thread(target=lambda: done.append(s.tls.unwrap()))
        th.start()
        self.assertEqual(recv_exact(s.plain, 6), b"QUIT\r\n")
        s.plain.settimeout(10)
        self.assertEqual(s.plain.recv(100), b"")   # end of file passed on
        s.plain.close()                              # smtpd exits
        th.join(15)
        self.assertFalse(th.is_alive())
        self.assertEqual(len(done), 1)
        self.assertTrue(at_eof(done[0]))

    def test_client_drops_tcp_without_close_notify(self):
        s = self.established()
        s.tls.sendall(b"NOOP\r\n")
        self.assertEqual(recv_exact(s.plain, 6), b"NOOP\r\n")
        pid = self.one_proxy()
        before = proc_fds(pid)
        s.tls.close()
        s.raw.close()
        self.assertTrue(at_eof(s.plain))
        # smtpd goes: the session is gone, with its two descriptors.
        s.plain.close()
        self.assertTrue(wait_for(lambda: proc_fds(pid) == before - 2),
                        (proc_fds(pid), before))

    def test_plaintext_instead_of_client_hello(self):
        s = self.session()
        self.assertEqual(s.ready()["status"], "ready")
        s.start()
        s.tcp.sendall(b"EHLO " + CLIENT_NAME.encode() + b"\r\n")
        out = attr_wire.read(s.ctl)
        self.assertEqual(out["status"], "error")
        self.assertTrue(out["text"].startswith("handshake failed: "), out)
        self.assertTrue(at_eof(s.ctl))
        self.assertTrue(at_eof(s.tcp))
        self.assertTrue(at_eof(s.plain))
        self.assertTrue(wait_for(lambda: "TLS handshake failed from "
                                 "%s[127.0.0.1]: " % CLIENT_NAME
                                 in self.t.log()), self.t.log())
        # The process goes on serving everyone else.
        pid = self.one_proxy()
        self.assert_relays(self.established())
        self.assertEqual(self.proxies(), [pid])

    def test_garbage_after_handshake_ends_that_session_only(self):
        other = self.established()
        s = self.established()
        os.write(s.raw.fileno(), b"\x17\x03\x03\x00\x20" + b"\x00" * 32)
        self.assertTrue(at_eof(s.plain))
        self.assertTrue(at_eof(s.raw))
        self.assert_relays(other)

    def test_two_concurrent_sessions(self):
        a = self.established()
        b = self.established()
        for i in range(5):
            a.tls.sendall(b"a%d\r\n" % i)
            b.tls.sendall(b"b%d\r\n" % i)
            b.plain.sendall(b"to b %d\r\n" % i)
            a.plain.sendall(b"to a %d\r\n" % i)
            self.assertEqual(recv_exact(b.plain, 4), b"b%d\r\n" % i)
            self.assertEqual(recv_exact(a.plain, 4), b"a%d\r\n" % i)
            self.assertEqual(recv_exact(a.tls, 8), b"to a %d\r\n" % i)
            self.assertEqual(recv_exact(b.tls, 8), b"to b %d\r\n" % i)
        a.plain.close()
        self.assertTrue(at_eof(a.tls))
        self.assert_relays(b)
        self.one_proxy()


class BadRequestTest(TlsproxyTestBase):
    """Whatever smtpd sends, tlsproxy closes that connection and every
    descriptor it received, and goes on serving."""

    def setUp(self):
        super().setUp()
        self.instance()
        self.assert_relays(self.established())     # the process runs
        self.pid = self.one_proxy()
        self.base_fds = proc_fds(self.pid)

    def assert_refused(self, s, reply_expected=True):
        """The answer is status=error (or just the close), and both
        descriptors were closed by tlsproxy."""
        try:
            r = attr_wire.read(s.ctl)
            self.assertEqual(r.get("status"), "error", r)
        except (EOFError, ConnectionResetError):
            if reply_expected:
                raise
        self.assertTrue(at_eof(s.ctl))
        self.assertTrue(at_eof(s.plain))
        self.assertTrue(at_eof(s.tcp))

    def assert_still_serving(self):
        self.assert_relays(self.established())
        self.assertEqual(self.proxies(), [self.pid])

    def test_wrong_number_of_descriptors(self):
        for fds in ([], "one", "three"):
            s = self.session()
            if fds == "one":
                fds = [s.server_side.fileno()]
            elif fds == "three":
                fds = [s.server_side.fileno(), s.plain_peer.fileno(),
                       s.server_side.fileno()]
            s.request(fds=fds)
            if fds:
                self.assert_refused(s, reply_expected=len(fds) != 3)
            else:
                self.assertEqual(attr_wire.read(s.ctl)["status"], "error")
                self.assertTrue(at_eof(s.ctl))
        self.assertTrue(wait_for(
            lambda: "bad request from %s[127.0.0.1]: not sent with exactly "
            "two descriptors" % CLIENT_NAME in self.t.log()), self.t.log())
        self.assertIn("bad request from smtpd: unexpected descriptors",
                      self.t.log())
        self.assert_still_serving()

    def test_bad_attributes(self):
        bad = [
            server_request(request="client"),
            server_request(proto="tlsproxy/2"),
            server_request(proto=None),
            server_request(client_name=None),
            server_request(client_name="bad name"),
            server_request(client_name="evil\x1b[31m"),
            server_request(client_addr=""),
            server_request(client_port="0"),
            server_request(client_port="65536"),
            server_request(client_port="25x"),
            server_request(client_port=25),              # an int, not a str
            server_request(service=None),
            server_request(extra="x"),
            attr_wire.encode([("request", "start")]),
            attr_wire.encode([]),
        ]
        for msg in bad:
            s = self.session()
            s.request(msg=msg)
            self.assert_refused(s)
        self.assertNotIn("\x1b", self.t.log())
        self.assert_still_serving()

    def test_malformed_bytes(self):
        for raw in (b"\xff\xff\xff\xff", b"\x00\x00\x10\x00" + b"x" * 4096,
                    b"\x00\x00\x00\x05\x09\x01a\x00\x00",
                    b"\x00\x00\x00\x03abc"):
            s = self.session()
            s.request(msg=raw)
            self.assert_refused(s)
        self.assert_still_serving()

    def test_descriptors_that_are_not_sockets(self):
        r, w = os.pipe()
        try:
            s = self.session()
            s.request(fds=[r, w])
            self.assert_refused(s)
        finally:
            os.close(r)
            os.close(w)
        self.assert_still_serving()

    def test_smtpd_gives_up_before_start(self):
        s = self.session()
        self.assertEqual(s.ready()["status"], "ready")
        s.ctl.close()
        self.assertTrue(at_eof(s.plain))
        self.assertTrue(at_eof(s.tcp))
        self.assert_still_serving()

    def test_bad_second_message(self):
        for second in (attr_wire.encode([("request", "server")]),
                       attr_wire.encode([("request", "start"), ("x", "y")]),
                       attr_wire.encode([("request", "start")]) + b"\x00"):
            s = self.session()
            self.assertEqual(s.ready()["status"], "ready")
            s.ctl.sendall(second)
            self.assert_refused(s)
        # Descriptors with the start message are refused and closed.
        s = self.session()
        self.assertEqual(s.ready()["status"], "ready")
        a, b = socket.socketpair()
        socket.send_fds(s.ctl, [attr_wire.encode([("request", "start")])],
                        [a.fileno()])
        a.close()
        self.assert_refused(s)
        self.assertTrue(at_eof(b))
        b.close()
        self.assert_still_serving()

    def test_no_descriptor_leak(self):
        for _ in range(5):
            s = self.session()
            s.request(fds=[s.server_side.fileno()])
            self.assert_refused(s)
            s = self.session()
            s.ready()
            s.start()
            # A ClientHello cut short inside its one record.
            s.tcp.sendall(b"\x16\x03\x01\x00\x06\x01\x00\x00\x02\x03\x03")
            self.assertEqual(attr_wire.read(s.ctl)["status"], "error")
            s.close()
        for s in self.sessions:
            s.close()
        self.assertTrue(wait_for(
            lambda: proc_fds(self.pid) <= self.base_fds, timeout=10),
            (proc_fds(self.pid), self.base_fds))


class KeyFailureTest(TlsproxyTestBase):
    def test_key_that_cannot_be_read(self):
        cert, key = self.certs.server("rsa")
        gone = os.path.join(self.certs.dir, "gone.key")
        with open(key, "rb") as f, open(gone, "wb") as g:
            g.write(f.read())
        os.chmod(gone, 0o600)
        conf = ("myhostname = %s\nsmtpd_tls_cert_file = %s\n"
                "smtpd_tls_key_file = %s\n" % (HOST, cert, gone))
        self.instance(conf=conf)
        # The master found it fine; the key goes before tlsproxy starts.
        os.unlink(gone)
        pids = set()
        for _ in range(3):
            s = self.session()
            out = s.ready()
            self.assertEqual(out["status"], "error")
            self.assertIn("no usable key", out["text"])
            self.assertTrue(at_eof(s.ctl))
            self.assertTrue(at_eof(s.plain))
            self.assertTrue(at_eof(s.tcp))
            pids.update(self.proxies())
        # One process, still running: no crash loop.
        self.assertEqual(len(pids), 1, pids)
        self.assertEqual(self.proxies(), list(pids))
        log = self.t.log()
        self.assertIn("tlsproxy", log)
        self.assertRegex(log, r"error: TLS is not available: .*%s" %
                         gone.replace(".", r"\."))
        self.assertEqual(log.count("error: TLS is not available"), 1, log)

    def test_bad_priority_string(self):
        self.instance(conf=self.tls_conf() +
                      "smtpd_tls_priority = NORMAL:+NOSUCHTHING\n")
        s = self.session()
        out = s.ready()
        self.assertEqual(out["status"], "error")
        self.assertIn("smtpd_tls_priority", self.t.log())


class ResumptionTest(TlsproxyTestBase):
    def setUp(self):
        super().setUp()
        self.instance()

    def resume(self, maxver):
        ctx = client_ctx(maxver=maxver)
        first = self.established(ctx=ctx)
        self.assertEqual(first.outcome["resumed"], 0)
        # TLS 1.3 tickets arrive after the handshake: read something.
        self.assert_relays(first, 1)
        sess = first.tls.session
        self.assertIsNotNone(sess)
        first.plain.close()
        self.assertTrue(at_eof(first.tls))
        second = self.established(ctx=ctx, session=sess)
        self.assert_relays(second, 1)
        return first, second

    def test_resumption_tls13(self):
        first, second = self.resume(None)
        self.assertEqual(second.outcome["tls_proto"], "TLSv1.3")
        self.assertTrue(second.tls.session_reused)
        self.assertEqual(second.outcome["resumed"], 1)
        self.one_proxy()

    def test_resumption_tls12(self):
        first, second = self.resume(ssl.TLSVersion.TLSv1_2)
        self.assertEqual(second.outcome["tls_proto"], "TLSv1.2")
        self.assertTrue(second.tls.session_reused)
        self.assertEqual(second.outcome["resumed"], 1)


class NoTicketsTest(TlsproxyTestBase):
    conf = "smtpd_tls_session_tickets = no\n"

    def test_no_resumption_without_tickets(self):
        self.instance()
        for maxver in (None, ssl.TLSVersion.TLSv1_2):
            ctx = client_ctx(maxver=maxver)
            first = self.established(ctx=ctx)
            self.assert_relays(first, 1)
            sess = first.tls.session
            first.plain.close()
            second = self.established(ctx=ctx, session=sess)
            self.assert_relays(second, 1)
            self.assertFalse(second.tls.session_reused)
            self.assertEqual(second.outcome["resumed"], 0)


class ClientCertTest(TlsproxyTestBase):
    conf = "smtpd_tls_ask_ccert = yes\n"

    def setUp(self):
        super().setUp()
        self.instance()

    def test_fingerprint_of_client_certificate(self):
        for maxver in (None, ssl.TLSVersion.TLSv1_2):
            for cert in (self.certs.client, self.certs.client_self_signed):
                s = self.established(ctx=client_ctx(maxver=maxver,
                                                    cert=cert))
                self.assertEqual(s.outcome["peer_fp"],
                                 self.certs.fingerprint(cert[0]))
                self.assert_relays(s, 1)

    def test_no_client_certificate_is_fine(self):
        s = self.established()
        self.assertEqual(s.outcome["peer_fp"], "")
        self.assert_relays(s, 1)


class KeyTypesTest(TlsproxyTestBase):
    def test_rsa_and_ecdsa_side_by_side(self):
        self.instance(kinds=("rsa", "ecdsa"))
        for kind, suite in (("rsa", "ECDHE-RSA-AES128-GCM-SHA256"),
                            ("ecdsa", "ECDHE-ECDSA-AES128-GCM-SHA256")):
            s = self.established(ctx=client_ctx(
                maxver=ssl.TLSVersion.TLSv1_2, ciphers=suite))
            der = s.tls.getpeercert(binary_form=True)
            self.assertEqual(hashlib.sha256(der).hexdigest(),
                             self.certs.fingerprint(
                                 self.certs.server(kind)[0]), kind)
            self.assert_relays(s, 1)


class TransferTest(TlsproxyTestBase):
    SIZE = 8 * 1024 * 1024

    def setUp(self):
        super().setUp()
        self.instance()

    @staticmethod
    def pump_out(sock, data, sent):
        view = memoryview(data)
        for off in range(0, len(data), 16384):
            sock.sendall(view[off:off + 16384])
            sent[0] = off + len(view[off:off + 16384])

    @staticmethod
    def tls_duplex(tls, out, nin, timeout=120):
        """Write out and read nin bytes at once on one TLS socket, from one
        thread (OpenSSL does not allow SSL_read and SSL_write on the same
        connection from two threads at a time)."""
        tls.setblocking(False)
        got = bytearray()
        off = 0
        end = time.monotonic() + timeout
        while off < len(out) or len(got) < nin:
            if time.monotonic() > end:
                raise AssertionError("stuck: sent %d, got %d" %
                                     (off, len(got)))
            rl = [tls] if len(got) < nin else []
            wl = [tls] if off < len(out) else []
            if not tls.pending():
                rl, wl, _ = select.select(rl, wl, [], 1.0)
            if rl or tls.pending():
                try:
                    chunk = tls.recv(65536)
                    if not chunk:
                        raise EOFError("closed after %d bytes" % len(got))
                    got += chunk
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
            if wl:
                try:
                    off += tls.send(out[off:off + 16384])
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
        tls.setblocking(True)
        return bytes(got)

    def test_large_transfer_both_ways_at_once(self):
        s = self.established()
        up = os.urandom(self.SIZE)
        down = os.urandom(self.SIZE)
        s.plain.settimeout(60)
        got = {}
        # The smtpd side: a socketpair end, one thread each way.
        ths = [threading.Thread(target=self.pump_out,
                                args=(s.plain, down, [0])),
               threading.Thread(target=lambda: got.__setitem__(
                   "up", recv_exact(s.plain, len(up))))]
        for th in ths:
            th.start()
        got["down"] = self.tls_duplex(s.tls, up, len(down))
        for th in ths:
            th.join(120)
        self.assertEqual(hashlib.sha256(got["up"]).digest(),
                         hashlib.sha256(up).digest())
        self.assertEqual(hashlib.sha256(got["down"]).digest(),
                         hashlib.sha256(down).digest())

    def stalled(self, writer, reader, data):
        """writer writes data while nobody reads reader: it must stall
        (back-pressure), then everything arrives once reader reads."""
        sent = [0]
        writer.settimeout(60)
        th = threading.Thread(target=self.pump_out, args=(writer, data,
                                                          sent))
        th.start()
        last = -1
        for _ in range(50):             # until it stops moving
            time.sleep(0.2)
            if sent[0] == last:
                break
            last = sent[0]
        self.assertTrue(th.is_alive())
        # Socket buffers hold a few MiB; tlsproxy itself 16 KiB each way.
        self.assertLess(sent[0], len(data) // 2)
        reader.settimeout(60)
        got = recv_exact(reader, len(data))
        th.join(60)
        self.assertEqual(hashlib.sha256(got).digest(),
                         hashlib.sha256(data).digest())

    def test_back_pressure_smtpd_not_reading(self):
        s = self.established()
        self.stalled(s.tls, s.plain, os.urandom(32 * 1024 * 1024))
        self.assert_relays(s, 1)

    def test_back_pressure_client_not_reading(self):
        s = self.established()
        self.stalled(s.plain, s.tls, os.urandom(32 * 1024 * 1024))
        self.assert_relays(s, 1)


class TimeoutTest(TlsproxyTestBase):
    conf = ("smtpd_starttls_timeout = 2s\nipc_timeout = 2s\n"
            "smtpd_timeout = 2s\n")

    def setUp(self):
        super().setUp()
        self.instance()

    def test_silent_client_in_handshake(self):
        s = self.session()
        s.ready()
        s.start()
        t0 = time.monotonic()
        out = attr_wire.read(s.ctl)
        self.assertEqual(out["status"], "error")
        self.assertEqual(out["text"], "handshake failed: timed out")
        self.assertGreater(time.monotonic() - t0, 1.0)
        self.assertTrue(at_eof(s.tcp))
        self.assertTrue(at_eof(s.plain))

    def test_smtpd_silent_before_start(self):
        s = self.session()
        self.assertEqual(s.ready()["status"], "ready")
        self.assertTrue(at_eof(s.plain, timeout=10))
        self.assertTrue(at_eof(s.tcp))

    def test_idle_session_is_closed(self):
        s = self.established()
        self.assert_relays(s, 1)
        t0 = time.monotonic()
        self.assertTrue(at_eof(s.plain, timeout=10))
        self.assertGreater(time.monotonic() - t0, 1.0)
        self.assertTrue(at_eof(s.tls))
        self.assertIn("idle for 2s, closed", self.t.log())


class ProcessTest(TlsproxyTestBase):
    conf = "max_idle = 2s\n"

    def setUp(self):
        super().setUp()
        self.instance()

    def test_exits_when_idle(self):
        s = self.established()
        pid = self.one_proxy()
        self.assert_relays(s, 1)
        s.plain.close()
        self.assertTrue(at_eof(s.tls))
        self.assertTrue(wait_for(lambda: self.proxies() == [], timeout=10))
        self.assertTrue(wait_for(
            lambda: not os.path.exists("/proc/%d" % pid)))

    def test_a_second_process_past_100_sessions(self):
        # Each waits for "start": a full process says BUSY, and the master
        # starts another.
        for _ in range(100):
            self.assertEqual(self.session().ready()["status"], "ready")
        self.assertEqual(len(self.proxies()), 1)
        s = self.established()
        self.assertEqual(len(self.proxies()), 2)
        self.assert_relays(s, 1)

    def test_reload_lets_sessions_finish(self):
        s = self.established()
        pid = self.one_proxy()
        self.t.ternctl("reload", check=True)
        time.sleep(0.5)
        self.assert_relays(s)
        self.assertIn(pid, self.proxies())
        # A new request goes to a new process.
        other = self.established()
        self.assert_relays(other, 1)
        s.plain.close()
        self.assertTrue(at_eof(s.tls))
        self.assertTrue(wait_for(lambda: pid not in self.proxies()))
        self.assert_relays(other, 1)


@unittest.skipUnless(IS_ROOT, "needs root for the privilege drop")
class PrivilegeTest(TlsproxyTestBase):
    def test_runs_as_mail_owner_and_cannot_read_the_key(self):
        self.instance()
        self.assert_relays(self.established(), 1)
        pid = self.one_proxy()
        uid = test_user().pw_uid
        with open("/proc/%d/status" % pid) as f:
            ids = dict(line.split(":", 1) for line in f)
        self.assertEqual([int(x) for x in ids["Uid"].split()], [uid] * 4)
        self.assertNotIn(0, [int(x) for x in ids["Gid"].split()])
        key = self.certs.server("rsa")[1]
        st = os.stat(key)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600))
        r = subprocess.run(["setpriv", "--reuid=%s" % TEST_USER,
                            "--regid=%s" % TEST_USER, "--clear-groups",
                            "cat", key], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Permission denied", r.stderr)


if __name__ == "__main__":
    unittest.main()
