# SPDX-License-Identifier: ISC
"""DANE (RFC 7672) and smtp_tls_policy_maps in the outbound SMTP client,
against aiosmtpd peers on 127.0.0.2, with DNS from DNSSEC-signed test
zones served by NSD on loopback (dns_zone.DnsZones: signed.test secure,
unsigned.test provably insecure, bogus.test with a forged TLSA answer).

The client is driven as the queue manager drives it (test_smtp_out's
SmtpOutBase).  The certificates come from tls_certs (mail.example.org,
signed by the test CA); the TLSA records are made from them at class
set-up: DANE-EE(3) of the server's public key, DANE-TA(2) of the CA
of a second set made for the next-hop domain ta.signed.test (the peer
then sends its chain, and the leaf covers a name of dane_names), a record of another key, a PKIX-EE(1)
record (unusable for SMTP).

Covered: a matching EE and TA record deliver with "Verified TLS" and the
record that matched in the log; a non-matching record defers 4.7.5 and
the peer never sees MAIL; a peer that strips STARTTLS defers 4.7.4 when
a usable TLSA exists; records that exist but none usable require TLS
(encrypt); no TLSA, an unsigned zone: may (plaintext when the peer has
no STARTTLS); a bogus TLSA answer defers 4.7.5 and the next MX is tried;
a CNAME'd MX host whose TLSA is at the CNAME target (RFC 7672 2.2.2);
per-destination policy from smtp_tls_policy_maps, match= lists of
several names and ".domain" (tlsproxy's ca_names), and a table value
that does not parse deferring."""
import os
import unittest

import dns_zone
import tls_certs
from tern_fixture import free_port
from test_lmtp import plain
from test_smtp_out import HAVE_AIOSMTPD, MX1, Peer, SmtpOutBase

MX2 = "127.0.0.3"


def zones(port, certs, ta_certs):
    ee = dns_zone.tlsa_rdata(certs.server("rsa")[0], 3, 1, 1)
    ta = dns_zone.tlsa_rdata(ta_certs.ca_of("rsa"), 2, 0, 1)
    wrong = dns_zone.tlsa_rdata(certs.wrong_name[0], 3, 1, 1)
    pkix = dns_zone.tlsa_rdata(certs.server("rsa")[0], 1, 1, 1)
    t = "_%d._tcp." % port
    signed = [
        "ee MX 10 mxee", "mxee A %s" % MX1, t + "mxee TLSA " + ee,
        "ta MX 10 mxta", "mxta A %s" % MX1, t + "mxta TLSA " + ta,
        "bad MX 10 mxbad", "mxbad A %s" % MX1, t + "mxbad TLSA " + wrong,
        "pkix MX 10 mxpkix", "mxpkix A %s" % MX1,
        t + "mxpkix TLSA " + pkix,
        "none MX 10 mxnone", "mxnone A %s" % MX1,
        "cn MX 10 mxcn", "mxcn CNAME mxee",
        # The first MX's TLSA answer is forged (bogus.test), the
        # second's is good.
        "two MX 10 mx.bogus.test.", "two MX 20 mxtwo",
        "mxtwo A %s" % MX2, t + "mxtwo TLSA " + ee,
    ]
    return dns_zone.DnsZones(
        zones={"signed.test": signed,
               "unsigned.test": ["@ MX 10 mx", "mx A %s" % MX1,
                                 t + "mx TLSA " + wrong],
               "bogus.test": ["@ MX 10 mx", "mx A %s" % MX1,
                              t + "mx TLSA " + ee]},
        kinds={"unsigned.test": "unsigned", "bogus.test": "bogus"},
        alter={"bogus.test": [t + "mx TLSA"]})


@unittest.skipUnless(HAVE_AIOSMTPD and tls_certs.available() and
                     dns_zone.available(),
                     "python3-aiosmtpd, certtool, nsd or ldnsutils missing "
                     "(./quickstart installs them)")
class DaneBase(SmtpOutBase):
    level = "dane"

    @classmethod
    def setUpClass(cls):
        cls.PEER_PORT = free_port()
        cls.class_certs = tls_certs.TestCerts()
        cls.addClassCleanup(cls.class_certs.cleanup)
        # Its own CA, and a leaf for the next-hop domain (dane_names).
        cls.ta_certs = tls_certs.TestCerts(hostname="ta.signed.test")
        cls.addClassCleanup(cls.ta_certs.cleanup)
        cls.z = zones(cls.PEER_PORT, cls.class_certs, cls.ta_certs)
        cls.addClassCleanup(cls.z.close)

    def resolver_config(self):
        return self.z.config_path

    def setUp(self):
        super().setUp()
        self.peer_port = self.PEER_PORT

    def peer(self, host=MX1, tls=True, cert=None, **kw):
        p = Peer(host, self.peer_port,
                 cert=(cert or self.class_certs.server("rsa"))
                 if tls else None, **kw)
        self.addCleanup(p.stop)
        return p

    def send(self, domain, rcpt="a@example.net"):
        q = self.queue([rcpt], plain("dane"))
        [r] = self.deliver(q, "%s:%d" % (domain, self.peer_port))
        return q, r

    def relay(self, host, addr=MX1):
        return "%s[%s]:%d" % (host, addr, self.peer_port)

    def assert_sent_to(self, p, r, host, addr=MX1):
        self.assert_result(r, "sent", "2.0.0", "Ok: stored",
                           relay=self.relay(host, addr))
        self.assertEqual(len(p.handler.envelopes), 1)
        self.assertTrue(p.handler.envelopes[0][2].endswith(b"Hello.\r\n"))


class DaneTest(DaneBase):
    def test_ee_record_matches(self):
        p = self.peer()
        q, r = self.send("ee.signed.test")
        self.assert_sent_to(p, r, "mxee.signed.test")
        self.assertRegex(self.t.log(), r"Verified TLS connection "
                         r"established to mxee\.signed\.test\[127\.0\.0\.2"
                         r"\]:\d+: TLSv1\.\d with cipher \S+ .*"
                         r"\(DANE TLSA 3 1 1\)")
        self.assertIn("DANE: mxee.signed.test: 1 usable TLSA record at "
                      "_%d._tcp.mxee.signed.test: TLS required"
                      % self.peer_port, self.t.log())

    def test_ta_record_matches_the_chain(self):
        p = self.peer(cert=self.ta_certs.server_chain("rsa"))
        q, r = self.send("ta.signed.test")
        self.assert_sent_to(p, r, "mxta.signed.test")
        self.assertIn("(DANE TLSA 2 0 1)", self.t.log())

    def test_ta_record_without_the_chain_defers(self):
        # The server does not send the CA the record names: not found.
        p = self.peer(cert=self.ta_certs.server("rsa"))
        q, r = self.send("ta.signed.test")
        self.assert_result(r, "deferred", "4.7.5", "Cannot start TLS")
        self.assertEqual(p.handler.envelopes, [])

    def test_non_matching_record_defers_before_mail(self):
        p = self.peer()
        q, r = self.send("bad.signed.test")
        self.assert_result(r, "deferred", "4.7.5", "Cannot start TLS",
                           relay=self.relay("mxbad.signed.test"))
        self.assertIn("DANE", r["text"])
        self.assertEqual(p.handler.envelopes, [])
        self.assertNotIn("TLS connection established", self.t.log())

    def test_stripped_starttls_with_usable_tlsa_defers(self):
        p = self.peer(tls=False)
        q, r = self.send("ee.signed.test")
        self.assert_result(r, "deferred", "4.7.4", "TLS is required")
        self.assertEqual(p.handler.envelopes, [])

    def test_cname_target_tlsa(self):
        # mxcn is a CNAME for mxee: the TLSA records at the target.
        p = self.peer()
        q, r = self.send("cn.signed.test")
        self.assert_sent_to(p, r, "mxcn.signed.test")
        self.assertIn("_%d._tcp.mxee.signed.test" % self.peer_port,
                      self.t.log())
        self.assertIn("(DANE TLSA 3 1 1)", self.t.log())

    def test_unusable_records_require_tls(self):
        p = self.peer(tls=False)
        q, r = self.send("pkix.signed.test")
        self.assert_result(r, "deferred", "4.7.4", "TLS is required")
        self.assertEqual(p.handler.envelopes, [])
        self.assertIn("none usable: TLS required, no certificate check "
                      "(encrypt)", self.t.log())

    def test_unusable_records_encrypt_delivers(self):
        p = self.peer()
        q, r = self.send("pkix.signed.test")
        self.assert_sent_to(p, r, "mxpkix.signed.test")
        self.assertIn("Untrusted TLS connection established to "
                      "mxpkix.signed.test", self.t.log())

    def test_no_tlsa_falls_back_to_may(self):
        p = self.peer(tls=False)
        q, r = self.send("none.signed.test")
        self.assert_sent_to(p, r, "mxnone.signed.test")
        self.assertIn("no TLSA records for _%d._tcp.mxnone.signed.test: "
                      "opportunistic TLS (may)" % self.peer_port,
                      self.t.log())
        self.assertIn("STARTTLS not offered", self.t.log())

    def test_unsigned_zone_falls_back_to_may(self):
        # Its TLSA record would not match: insecure, so not used.
        p = self.peer()
        q, r = self.send("unsigned.test")
        self.assert_sent_to(p, r, "mx.unsigned.test")
        self.assertIn("not DNSSEC-validated: opportunistic TLS (may)",
                      self.t.log())
        self.assertIn("Untrusted TLS connection established",
                      self.t.log())

    def test_unsigned_zone_plaintext_without_starttls(self):
        p = self.peer(tls=False)
        q, r = self.send("unsigned.test")
        self.assert_sent_to(p, r, "mx.unsigned.test")

    def test_bogus_tlsa_defers(self):
        p = self.peer()
        q, r = self.send("bogus.test")
        self.assert_result(r, "deferred", "4.7.5", "TLSA lookup of _%d."
                           "_tcp.mx.bogus.test failed DNSSEC validation"
                           % self.peer_port)
        self.assertEqual((p.conns, p.handler.envelopes), (0, []))

    def test_bogus_tlsa_host_skipped_for_next_mx(self):
        p1 = self.peer(MX1)
        p2 = self.peer(MX2)
        q, r = self.send("two.signed.test")
        self.assert_sent_to(p2, r, "mxtwo.signed.test", MX2)
        self.assertEqual(p1.conns, 0)
        self.assertIn("DANE: mx.bogus.test: TLSA lookup", self.t.log())


class PolicyMapTest(DaneBase):
    level = "may"

    @property
    def conf(self):
        p = self.PEER_PORT
        return ("smtp_tls_policy_maps = inline:{ "
                "{ bad.signed.test:%d = dane }, "
                "{ none.signed.test:%d = encrypt }, "
                "{ [127.0.0.2]:%d = secure match=a.example:%s }, "
                "{ [127.0.0.3]:%d = secure match=.example.org }, "
                "{ pkix.signed.test:%d = verify match=hostname:"
                ".example.net }, "
                "{ ee.signed.test:%d = nonsense } }\n"
                % (p, p, p, tls_certs.HOSTNAME, p, p, p))

    def own_ca_peer(self, host):
        """A peer whose certificate (mail.example.org) chains to
        smtp_tls_CAfile."""
        return self.peer(host, cert=self.certs.server("rsa"))

    def test_dane_for_one_destination(self):
        p = self.peer()
        q, r = self.send("bad.signed.test")
        self.assert_result(r, "deferred", "4.7.5", "Cannot start TLS")
        self.assertEqual(p.handler.envelopes, [])
        self.assertIn("%s: TLS policy for bad.signed.test:%d: dane "
                      "(smtp_tls_policy_maps, key bad.signed.test:%d)" % (
                          os.path.basename(q), self.peer_port,
                          self.peer_port), self.t.log())

    def test_default_may_elsewhere(self):
        # ta.signed.test is not in the table: may, the TLSA ignored.
        p = self.peer()
        q, r = self.send("ta.signed.test")
        self.assert_sent_to(p, r, "mxta.signed.test")
        self.assertIn("Untrusted TLS connection", self.t.log())

    def test_encrypt_for_one_destination(self):
        p = self.peer(tls=False)
        q, r = self.send("none.signed.test")
        self.assert_result(r, "deferred", "4.7.4", "TLS is required")
        self.assertEqual(p.handler.envelopes, [])

    def test_match_list_one_name_covered(self):
        p = self.own_ca_peer(MX1)
        q = self.queue(["a@example.net"], plain("pol"))
        [r] = self.deliver(q, "[%s]:%d" % (MX1, self.peer_port))
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(len(p.handler.envelopes), 1)
        self.assertIn("Verified TLS connection established to "
                      "127.0.0.2[127.0.0.2]", self.t.log())

    def test_match_dot_domain(self):
        p = self.own_ca_peer(MX2)
        q = self.queue(["a@example.net"], plain("pol"))
        [r] = self.deliver(q, "[%s]:%d" % (MX2, self.peer_port))
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(len(p.handler.envelopes), 1)

    def test_match_list_none_covered_defers(self):
        # hostname is the MX host, mxpkix.signed.test; the certificate
        # names mail.example.org.
        p = self.own_ca_peer(MX1)
        q, r = self.send("pkix.signed.test")
        self.assert_result(r, "deferred", "4.7.5", "covers none of "
                           "mxpkix.signed.test, .example.net")
        self.assertEqual(p.handler.envelopes, [])

    def test_bad_table_value_defers(self):
        p = self.peer()
        q, r = self.send("ee.signed.test")
        self.assert_result(r, "deferred", "4.7.5", "smtp_tls_policy_maps: "
                           "bad policy for \"ee.signed.test:%d\""
                           % self.peer_port)
        self.assertEqual(p.conns, 0)


if __name__ == "__main__":
    unittest.main()
