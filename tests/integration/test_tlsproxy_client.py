# SPDX-License-Identifier: ISC
"""tlsproxy in the client role (docs/ipc.md, "smtp client -> tlsproxy"):
this test plays the outbound smtp client.  It connects a TCP socket to a
TLS server (Python's ssl, in a thread, with the test certificates), hands
it to tlsproxy with request=client and one end of a socketpair, and then
speaks plaintext over the socketpair.

Covered: verify=none; verify=ca with the test CA (verified=1, the server's
fingerprint); a wrong name and an untrusted CA (status=error, connection
closed, never plaintext); a ca_file that does not load; data both ways;
resumption on the second connection to the same server (TLS 1.3 and
1.2), and not across servers or verification modes; bad client requests;
and the client role with no server certificate configured."""
import os
import queue
import socket
import ssl
import threading
import unittest

import attr_wire
import tls_certs
from attr_wire import recv_exact
from tern_fixture import wait_for
from test_tlsproxy import HOST, TlsproxyTestBase, at_eof


def client_request(port, **over):
    attrs = [("request", "client"), ("proto", "tlsproxy/1"),
             ("server_name", HOST), ("server_addr", "127.0.0.1"),
             ("server_port", str(port)), ("service", "smtp"),
             ("verify", "none"), ("ca_file", "")]
    attrs = [(k, over.pop(k, v)) for k, v in attrs]
    attrs += list(over.items())
    return attr_wire.encode([(k, v) for k, v in attrs if v is not None])


class TlsServer:
    """A TLS server on 127.0.0.1: every connection accepted is handshaken
    in a thread; the result (an SSLSocket or the exception) is queued for
    that connection."""

    def __init__(self, cert, key, maxver=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        if maxver is not None:
            self.ctx.maximum_version = maxver
        self.lsn = socket.socket()
        self.lsn.bind(("127.0.0.1", 0))
        self.lsn.listen(16)
        self.port = self.lsn.getsockname()[1]
        self.socks = []

    def connect(self):
        """A TCP connection to the server, and the queue where the
        server's side of it will be; its handshake runs aside."""
        tcp = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        conn, _ = self.lsn.accept()
        conn.settimeout(15)
        self.socks.append(conn)
        result = queue.Queue()
        threading.Thread(target=self._handshake, args=(conn, result),
                         daemon=True).start()
        return tcp, result

    def _handshake(self, conn, result):
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
            self.socks.append(tls)
            result.put(tls)
        except (OSError, ssl.SSLError) as e:
            result.put(e)

    def close(self):
        for s in self.socks + [self.lsn]:
            try:
                s.close()
            except OSError:
                pass


class ClientSession:
    """One hand-off: this test is the smtp client (ctl, plain)."""

    def __init__(self, t, server):
        self.server = server
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.settimeout(15)
        self.ctl.connect(os.path.join(t.spool, "private", "tlsproxy"))
        self.tcp, self.result = server.connect()
        self.plain, self.plain_peer = socket.socketpair()
        self.plain.settimeout(15)
        self.outcome = None
        self.peer = None        # the server's SSLSocket, or its exception

    def request(self, msg=None, **over):
        if msg is None:
            msg = client_request(self.server.port, **over)
        socket.send_fds(self.ctl, [msg],
                        [self.tcp.fileno(), self.plain_peer.fileno()])
        # As the smtp client will: only tlsproxy holds them now.
        self.tcp.close()
        self.plain_peer.close()
        return attr_wire.read(self.ctl)

    def handshake(self, **over):
        r = self.request(**over)
        if r.get("status") != "ready":
            return r
        self.ctl.sendall(attr_wire.encode([("request", "start")]))
        self.outcome = attr_wire.read(self.ctl)
        self.peer = self.result.get(timeout=20)
        return self.outcome

    def close(self):
        for s in (self.ctl, self.plain, self.plain_peer, self.tcp):
            try:
                s.close()
            except OSError:
                pass


@unittest.skipUnless(tls_certs.available(), "certtool is not installed")
class ClientRoleTestBase(TlsproxyTestBase):
    server_conf = True      # configure a server certificate too
    maxver = None

    def setUp(self):
        super().setUp()
        if self.server_conf:
            self.instance()
        else:
            self.instance(conf="myhostname = %s\n" % HOST)
        self.server = TlsServer(*self.certs.server("rsa"),
                                maxver=self.maxver)
        self.addCleanup(self.server.close)

    def client(self, server=None):
        s = ClientSession(self.t, server or self.server)
        self.sessions.append(s)
        return s

    def established(self, **over):
        s = self.client()
        out = s.handshake(**over)
        self.assertEqual(out.get("status"), "ok", out)
        self.assertIsInstance(s.peer, ssl.SSLSocket)
        return s

    def assert_relays(self, s, n=2):
        """Data both ways: the server greets, the client says EHLO."""
        for i in range(n):
            line = b"250-%s %d\r\n250 SIZE 0\r\n" % (HOST.encode(), i)
            s.peer.sendall(line)
            self.assertEqual(recv_exact(s.plain, len(line)), line)
            cmd = b"EHLO client.example.test %d\r\n" % i
            s.plain.sendall(cmd)
            self.assertEqual(recv_exact(s.peer, len(cmd)), cmd)

    def assert_failed(self, s, out, text):
        self.assertEqual(out.get("status"), "error", out)
        self.assertIn(text, out.get("text", ""))
        self.assertTrue(at_eof(s.ctl))
        self.assertTrue(at_eof(s.plain))     # never plaintext after asking
        if isinstance(s.peer, ssl.SSLSocket):
            self.assertTrue(at_eof(s.peer))


class ClientHandshakeTest(ClientRoleTestBase):
    def test_verify_none(self):
        s = self.established()
        out = s.outcome
        self.assertEqual(set(out), {"status", "tls_proto", "tls_cipher",
                                    "peer_fp", "verified", "trusted",
                                    "verify_error", "resumed"})
        self.assertEqual(out["tls_proto"], "TLSv1.3")
        self.assertEqual(out["tls_proto"], s.peer.version())
        self.assertEqual(out["tls_cipher"], s.peer.cipher()[0])
        self.assertEqual(out["peer_fp"], self.certs.fingerprint(
            self.certs.server("rsa")[0]))
        self.assertEqual(out["verified"], 0)
        self.assertEqual(out["trusted"], 0)     # the test CA: not system
        self.assertEqual(out["verify_error"], "")
        self.assertEqual(out["resumed"], 0)
        self.assertTrue(at_eof(s.ctl))
        self.assert_relays(s)

    def test_verify_none_reports_trust(self):
        """verify=none never fails on the chain, but says whether it
        verifies to ca_file (else the system store), the name unchecked:
        the smtp client's "Trusted" log line."""
        for ca_file, want in ((self.certs.ca, 1),
                              (self.certs.path("ca-ecdsa.pem"), 0),
                              ("", 0)):
            s = self.established(verify="none", ca_file=ca_file,
                                 server_name="mx.elsewhere.example")
            self.assertEqual(s.outcome["trusted"], want, ca_file)
            self.assertEqual(s.outcome["verified"], 0)
            self.assert_relays(s)
        # With verify=ca, trusted is verified.
        s = self.established(verify="ca", ca_file=self.certs.ca)
        self.assertEqual((s.outcome["verified"], s.outcome["trusted"]),
                         (1, 1))

    def test_sni_is_sent(self):
        names = []
        self.server.ctx.sni_callback = \
            lambda sock, name, ctx: names.append(name)
        self.assert_relays(self.established())
        self.assertEqual(names, [HOST])

    def test_verify_ca(self):
        s = self.established(verify="ca", ca_file=self.certs.ca)
        self.assertEqual(s.outcome["verified"], 1)
        self.assertEqual(s.outcome["verify_error"], "")
        self.assert_relays(s)

    def test_wrong_name_fails(self):
        s = self.client()
        out = s.handshake(verify="ca", ca_file=self.certs.ca,
                          server_name="other.example.net")
        self.assert_failed(s, out, "handshake failed")
        self.assertIn("does not match", out["text"])
        self.assertIsInstance(s.peer, Exception)
        self.assertTrue(wait_for(lambda: "TLS handshake failed with "
                                 "other.example.net[127.0.0.1]" in
                                 self.t.log()), self.t.log())

    def test_ca_names(self):
        # server_name is then SNI only; the leaf covers one of the names.
        for names in ("other.example.net:%s" % HOST, ".example.org",
                      ".example.net:" + HOST.upper()):
            s = self.established(verify="ca", ca_file=self.certs.ca,
                                 server_name="mx.elsewhere.example",
                                 ca_names=names)
            self.assertEqual(s.outcome["verified"], 1)
            self.assertEqual(s.outcome["verify_error"], "")
            self.assert_relays(s)

    def test_wildcard_left_most_label_only(self):
        """RFC 6125 6.4.3 as GnuTLS applies it: "*.example.net" covers
        one label in the left-most place, nothing more, nothing less; a
        wildcard elsewhere covers nothing."""
        for cert_name, server_name, ok in (
                ("*.example.net", "mx.example.net", True),
                ("*.example.net", "MX.Example.NET", True),
                ("*.example.net", "a.mx.example.net", False),
                ("*.example.net", "example.net", False),
                ("mx.*.example.net", "mx.a.example.net", False)):
            server = TlsServer(*self.certs.server_for(cert_name))
            self.addCleanup(server.close)
            s = self.client(server)
            out = s.handshake(verify="ca", ca_file=self.certs.ca,
                              server_name=server_name)
            if ok:
                self.assertEqual(out.get("status"), "ok",
                                 (cert_name, server_name, out))
                self.assertEqual(s.outcome["verified"], 1)
                self.assert_relays(s)
            else:
                self.assert_failed(s, out, "handshake failed")

    def test_ca_names_none_covered_fails(self):
        s = self.client()
        out = s.handshake(verify="ca", ca_file=self.certs.ca,
                          ca_names="other.example.net:.example.net:"
                                   "example.org")
        self.assert_failed(s, out, "handshake failed: the server "
                           "certificate covers none of other.example.net, "
                           ".example.net, example.org")

    def test_ca_names_still_check_the_chain(self):
        s = self.client()
        out = s.handshake(verify="ca",
                          ca_file=self.certs.path("ca-ecdsa.pem"),
                          ca_names=".example.org")
        self.assert_failed(s, out, "NOT trusted")

    def test_untrusted_ca_fails(self):
        s = self.client()
        out = s.handshake(verify="ca",
                          ca_file=self.certs.path("ca-ecdsa.pem"))
        self.assert_failed(s, out, "handshake failed")
        self.assertIn("NOT trusted", out["text"])
        self.assertFalse(out["text"].endswith(" "))
        self.assertIsInstance(s.peer, Exception)

    def test_system_store_does_not_trust_the_test_ca(self):
        s = self.client()
        out = s.handshake(verify="ca")
        self.assertEqual(out["status"], "error", out)
        self.assertTrue(at_eof(s.plain))

    def test_ca_file_that_does_not_load(self):
        s = self.client()
        out = s.request(verify="ca",
                        ca_file=self.certs.path("no-such-ca.pem"))
        self.assertEqual(out["status"], "error", out)
        self.assertIn("no-such-ca.pem", out["text"])
        self.assertTrue(at_eof(s.ctl))
        self.assertTrue(at_eof(s.plain))
        # The process goes on serving.
        self.assert_relays(self.established())

    def test_server_closes_first(self):
        s = self.established()
        self.assert_relays(s, 1)
        s.peer.sendall(b"221 2.0.0 Bye\r\n")
        # close_notify; unwrap waits for the one tlsproxy sends back
        # once the smtp client closed its end too.
        bye = threading.Thread(target=s.peer.unwrap, daemon=True)
        bye.start()
        self.assertEqual(recv_exact(s.plain, 15), b"221 2.0.0 Bye\r\n")
        self.assertTrue(at_eof(s.plain))
        s.plain.close()
        bye.join(15)
        self.assertFalse(bye.is_alive())

    def test_bad_client_requests(self):
        port = self.server.port
        for msg in (client_request(port, verify="maybe"),
                    client_request(port, verify=None),
                    client_request(port, ca_file="relative.pem"),
                    client_request(port, ca_file=None),
                    client_request(port, server_name="two words"),
                    client_request(port, server_port="0"),
                    client_request(port, client_name="x"),
                    client_request(port, proto="tlsproxy/2"),
                    client_request(port, ca_names=HOST),
                    client_request(port, verify="ca", ca_names=""),
                    client_request(port, verify="ca", ca_names="a..b"),
                    client_request(port, verify="ca", ca_names="a:"),
                    client_request(port, verify="ca", ca_names="..a"),
                    client_request(port, verify="ca",
                                   ca_names=":".join(["a"] * 9))):
            s = self.client()
            out = s.request(msg=msg)
            self.assertEqual(out["status"], "error", out)
            self.assertTrue(at_eof(s.plain))
        self.assert_relays(self.established())


class ClientResumptionTest(ClientRoleTestBase):
    def resume(self, **over):
        first = self.established(**over)
        self.assertEqual(first.outcome["resumed"], 0)
        # The server's tickets (TLS 1.3) come before this data.
        self.assert_relays(first, 1)
        first.plain.close()
        self.assertTrue(at_eof(first.peer))
        second = self.established(**over)
        self.assert_relays(second, 1)
        return first, second

    def test_second_connection_resumes(self):
        first, second = self.resume()
        self.assertEqual(second.outcome["resumed"], 1)
        self.assertTrue(second.peer.session_reused)
        self.assertEqual(second.outcome["tls_proto"], "TLSv1.3")

    def test_resumed_with_verification(self):
        first, second = self.resume(verify="ca", ca_file=self.certs.ca)
        self.assertEqual(second.outcome["resumed"], 1)
        self.assertEqual(second.outcome["verified"], 1)

    def test_not_across_verification_modes_or_servers(self):
        first = self.established()
        self.assert_relays(first, 1)
        first.plain.close()
        # verify=ca never resumes a session made without verification.
        s = self.established(verify="ca", ca_file=self.certs.ca)
        self.assertEqual(s.outcome["resumed"], 0)
        self.assertEqual(s.outcome["verified"], 1)
        # Another server name: another cache entry.
        s = self.established(server_name="mx2.example.org")
        self.assertEqual(s.outcome["resumed"], 0)


    def test_ca_names_resume_only_under_the_same_names(self):
        first, second = self.resume(verify="ca", ca_file=self.certs.ca,
                                    ca_names=".example.org")
        self.assertEqual(second.outcome["resumed"], 1)
        self.assertEqual(second.outcome["verified"], 1)
        s = self.client()
        out = s.handshake(verify="ca", ca_file=self.certs.ca,
                          ca_names="other.example.net")
        self.assert_failed(s, out, "covers none of other.example.net")


class ClientResumptionTls12Test(ClientResumptionTest):
    maxver = ssl.TLSVersion.TLSv1_2

    def test_second_connection_resumes(self):
        first, second = self.resume()
        self.assertEqual(second.outcome["tls_proto"], "TLSv1.2")
        self.assertEqual(second.outcome["resumed"], 1)
        self.assertTrue(second.peer.session_reused)


class NoServerCertTest(ClientRoleTestBase):
    """No smtpd_tls_cert_file: server requests are refused, the client
    role works."""
    server_conf = False

    def test_client_role_without_server_keys(self):
        s = self.established(verify="ca", ca_file=self.certs.ca)
        self.assertEqual(s.outcome["verified"], 1)
        self.assert_relays(s)
        # A server request is still refused.
        from test_tlsproxy import Session
        srv = Session(self.t)
        self.sessions.append(srv)
        out = srv.ready()
        self.assertEqual(out["status"], "error")
        self.assertIn("no usable key", out["text"])


if __name__ == "__main__":
    unittest.main()
