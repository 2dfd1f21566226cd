# SPDX-License-Identifier: ISC
"""tlsproxy in the client role with verify=dane (docs/ipc.md, "smtp client
-> tlsproxy"; RFC 7672): this test plays the outbound smtp client against
a Python ssl server with the test certificates, and gives tlsproxy the
TLSA records the smtp client would have found in DNS.

Covered: DANE-EE(3) matching the leaf by certificate and by public key,
with SHA-256, SHA-512 and the exact bytes, with no name or date check (an
expired certificate and unrelated names still match); a DANE-EE record
that does not match; DANE-TA(2) naming the CA the server sends in its
chain, with the name checked against the TLSA base domain or the next-hop
domain; a wrong name; a TA the server does not send; several records with
one matching (the reply says which); malformed records refused when the
request comes in; and resumption only under the same TLSA set."""
import ssl
import unittest

import tls_certs
from tern_fixture import wait_for
from test_tlsproxy import HOST, at_eof
from test_tlsproxy_client import ClientRoleTestBase, TlsServer, \
    client_request

NAMES = HOST + ":example.org"   # the TLSA base domain, the next-hop domain


def dane(records, names=NAMES, **over):
    """The attributes of a verify=dane request for these records, each
    (usage, selector, mtype, hexdata) or a ready string."""
    attrs = {"verify": "dane", "ca_file": "",
             "tlsa_count": str(len(records)), "dane_names": names}
    for i, r in enumerate(records):
        attrs["tlsa_%d" % i] = r if isinstance(r, str) else \
            "%d %d %d %s" % r
    attrs.update(over)
    return attrs


class DaneTestBase(ClientRoleTestBase):
    def record(self, usage, selector, mtype, pem=None):
        pem = pem or self.certs.server("rsa")[0]
        return (usage, selector, mtype,
                tls_certs.tlsa_data(pem, selector, mtype))

    def ta(self, selector=0, mtype=1):
        return self.record(2, selector, mtype, self.certs.ca_of("rsa"))

    def chain_server(self):
        """A server that sends its CA's certificate after its own."""
        server = TlsServer(*self.certs.server_chain("rsa"),
                           maxver=self.maxver)
        self.addCleanup(server.close)
        return server

    def dane_ok(self, records, server=None, **over):
        s = self.client(server)
        out = s.handshake(**dane(records, **over))
        self.assertEqual(out.get("status"), "ok", out)
        self.assertEqual(out["verified"], 1)
        self.assertEqual(out["verify_error"], "")
        self.assertIsInstance(s.peer, ssl.SSLSocket)
        self.assert_relays(s, 1)
        return s

    def dane_fails(self, records, text, server=None, **over):
        s = self.client(server)
        out = s.handshake(**dane(records, **over))
        self.assert_failed(s, out, "handshake failed: DANE: ")
        self.assertIn(text, out["text"])
        return s


class DaneEeTest(DaneTestBase):
    def test_ee_every_selector_and_matching_type(self):
        for sel in (0, 1):
            for mtype in (0, 1, 2):
                with self.subTest(selector=sel, mtype=mtype):
                    s = self.dane_ok([self.record(3, sel, mtype)])
                    self.assertEqual(s.outcome["dane_match"],
                                     "3 %d %d" % (sel, mtype))
                    self.assertEqual(set(s.outcome), {
                        "status", "tls_proto", "tls_cipher", "peer_fp",
                        "verified", "trusted", "verify_error",
                        "dane_match", "resumed"})
                    self.assertEqual((s.outcome["verified"],
                                      s.outcome["trusted"]), (1, 1))

    def test_ee_upper_case_hex(self):
        u, s_, m, data = self.record(3, 1, 1)
        s = self.dane_ok(["3 1 1 " + data.upper()])
        self.assertEqual(s.outcome["dane_match"], "3 1 1")

    def test_ee_checks_no_name_and_no_date(self):
        # RFC 7672 3.1.1: the key is what is trusted, not the names.
        s = self.dane_ok([self.record(3, 1, 1)], names="unrelated.example",
                         server_name="mx.unrelated.example")
        self.assertEqual(s.outcome["dane_match"], "3 1 1")
        expired = TlsServer(*self.certs.expired)
        self.addCleanup(expired.close)
        s = self.dane_ok([self.record(3, 0, 1, self.certs.expired[0])],
                         server=expired)
        self.assertEqual(s.outcome["dane_match"], "3 0 1")

    def test_ee_mismatch(self):
        other = self.record(3, 1, 1, self.certs.wrong_name[0])
        s = self.dane_fails([other], "DANE: no TLSA record matches")
        self.assertIsInstance(s.peer, Exception)
        self.assertTrue(wait_for(lambda: "TLS handshake failed with "
                                 "%s[127.0.0.1]: DANE: no TLSA record "
                                 "matches" % HOST in self.t.log()),
                        self.t.log())
        # The process goes on serving.
        self.dane_ok([self.record(3, 1, 1)])

    def test_several_records_one_matching(self):
        wrong = self.record(3, 1, 1, self.certs.wrong_name[0])
        ta_absent = self.ta()      # this server does not send its CA
        good = self.record(3, 0, 2)
        s = self.dane_ok([wrong, ta_absent, good])
        self.assertEqual(s.outcome["dane_match"], "3 0 2")

    def test_a_ta_record_needs_the_ta_in_the_chain(self):
        self.dane_fails([self.ta()], "no TLSA record matches the server's "
                        "certificate chain (1 certificates, 1 records)")


class DaneTaTest(DaneTestBase):
    def setUp(self):
        super().setUp()
        self.chained = self.chain_server()

    def test_ta_matches_the_ca_in_the_chain(self):
        for sel, mtype in ((0, 1), (1, 1), (0, 2), (1, 0), (0, 0)):
            with self.subTest(selector=sel, mtype=mtype):
                s = self.dane_ok([self.ta(sel, mtype)], server=self.chained)
                self.assertEqual(s.outcome["dane_match"],
                                 "2 %d %d" % (sel, mtype))

    def test_ta_name_is_the_next_hop_domain(self):
        # The certificate names mail.example.org: as the next-hop domain
        # (the second name) it is enough.
        s = self.dane_ok([self.ta()], server=self.chained,
                         names="mx1.example.net:" + HOST,
                         server_name="mx1.example.net")
        self.assertEqual(s.outcome["dane_match"], "2 0 1")

    def test_ta_wrong_name(self):
        s = self.dane_fails([self.ta()], "covers none of mx1.example.net, "
                            "example.net", server=self.chained,
                            names="mx1.example.net:example.net")
        self.assertIn("DANE: no TLSA record matches", s.outcome["text"])
        self.assertIn("TLSA 2 0 1 matches certificate 1", s.outcome["text"])

    def test_ta_of_another_ca(self):
        other = self.record(2, 0, 1, self.certs.ca_of("ecdsa"))
        self.dane_fails([other], "DANE: no TLSA record matches",
                        server=self.chained)

    def test_ee_still_matches_with_a_chain(self):
        s = self.dane_ok([self.record(3, 1, 1)], server=self.chained)
        self.assertEqual(s.outcome["dane_match"], "3 1 1")


class DaneRequestTest(DaneTestBase):
    def refused(self, **over):
        s = self.client()
        out = s.request(msg=client_request(self.server.port, **over))
        self.assertEqual(out["status"], "error", out)
        self.assertTrue(at_eof(s.ctl))
        self.assertTrue(at_eof(s.plain))

    def test_malformed_records_are_refused(self):
        good = self.record(3, 1, 1)
        h = good[3]
        bad = [
            dane(["1 1 1 " + h]),               # PKIX-EE: not for SMTP
            dane(["0 0 1 " + h]),               # PKIX-TA
            dane(["3 2 1 " + h]),               # selector 2
            dane(["3 1 3 " + h]),               # matching type 3
            dane(["3 1 1 " + h[:-2]]),          # SHA-256 of 31 bytes
            dane(["3 1 2 " + h]),               # SHA-512 of 32 bytes
            dane(["3 1 1 " + h[:-1] + "g"]),    # not hex
            dane(["3 1 0 abc"]),                # odd length
            dane(["3 1 0 "]),                   # no data
            dane(["3  1 1 " + h]),              # two spaces
            dane(["03 1 1 " + h]),
            dane(["3 1 0 " + "ab" * 2049]),     # over 2048 bytes
            dane([good], tlsa_count="2"),       # one record missing
            dane([good], tlsa_count="0"),
            dane([good] * 17),                  # over 16 records
            dane([good], tlsa_count="01"),
            dane([good], tlsa_5=" ".join(map(str, good))),  # stray
            dane([good], dane_names=None),
            dane([good], dane_names=""),
            dane([good], dane_names="a..b"),
            dane([good], dane_names="a.example:"),
            dane([good], dane_names="a:b:c:d:e"),
            dane([good], ca_file=self.certs.ca),  # DANE takes no CA
            dane([], tlsa_count=None),
        ]
        for attrs in bad:
            with self.subTest(attrs={k: v[:40] if v else v
                                     for k, v in attrs.items()}):
                self.refused(**attrs)
        # TLSA records with another verification.
        self.refused(**dict(dane([good]), verify="ca",
                            ca_file=self.certs.ca))
        self.refused(**dict(dane([good]), verify="none"))
        # The data of 16 records at most 8192 bytes in all.
        self.refused(**dane(["3 0 0 " + "ab" * 2048] * 5))
        self.assertTrue(wait_for(lambda: "not usable for SMTP" in
                                 self.t.log()), self.t.log())
        # Still serving.
        self.dane_ok([good])

    def test_largest_request(self):
        # 16 records, 8192 bytes of data: fits, and the last one matches.
        cert = tls_certs.cert_der(self.certs.server("rsa")[0])
        self.assertLess(len(cert), 2048)
        filler = "3 0 0 " + "ab" * 2048
        records = [filler] * 3 + ["3 1 1 " + "00" * 32] * 12
        records.append(self.record(3, 0, 0))
        s = self.dane_ok(records, names=":".join(
            ["a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61]
            * 4))
        self.assertEqual(s.outcome["dane_match"], "3 0 0")


class DaneResumptionTest(DaneTestBase):
    def first(self, records, **over):
        s = self.dane_ok(records, **over)
        self.assertEqual(s.outcome["resumed"], 0)
        s.plain.close()
        self.assertTrue(at_eof(s.peer))
        return s

    def test_resumed_under_the_same_tlsa_set(self):
        records = [self.record(3, 1, 1), self.record(3, 0, 2)]
        self.first(records)
        s = self.dane_ok(records)
        self.assertEqual(s.outcome["resumed"], 1)
        self.assertTrue(s.peer.session_reused)
        # The match is checked again on what the session remembers.
        self.assertEqual(s.outcome["dane_match"], "3 1 1")

    def test_not_resumed_under_another_set_or_mode(self):
        self.first([self.record(3, 1, 1)])
        # Another TLSA set, another record matching: a full handshake.
        s = self.dane_ok([self.record(3, 0, 1)])
        self.assertEqual(s.outcome["resumed"], 0)
        s.plain.close()
        # The same records, other names: another set too.
        s = self.dane_ok([self.record(3, 1, 1)], names=HOST)
        self.assertEqual(s.outcome["resumed"], 0)
        # verify=none never hands its sessions to DANE, nor back.
        none = self.established()
        self.assertEqual(none.outcome["resumed"], 0)
        self.assertNotIn("dane_match", none.outcome)
        self.assert_relays(none, 1)
        none.plain.close()
        s = self.dane_ok([self.record(3, 1, 2)])
        self.assertEqual(s.outcome["resumed"], 0)


class DaneResumptionTls12Test(DaneResumptionTest):
    maxver = ssl.TLSVersion.TLSv1_2


if __name__ == "__main__":
    unittest.main()
