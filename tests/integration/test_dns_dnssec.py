# SPDX-License-Identifier: ISC
"""lib/dns against real DNSSEC answers: NSD serves zones that ldns signed
(dns_zone.py), libunbound recurses to it through stub zones and
validates with the test's own trust anchor, and tests/integration/dnsq
prints what lib/dns made of each answer.

Covered: MX, A/AAAA and TLSA in a signed zone are secure (TLSA also in
an answer too big for UDP), and so are a proven NXDOMAIN and NODATA
there; the same in an unsigned child (a
delegation without DS under the signed parent) are insecure, never
bogus; a zone whose records were altered after signing and one whose
signatures have expired give TEMPFAIL with bogus set, for MX, addresses
and TLSA alike; a forged AAAA beside a good A leaves the A addresses,
still secure; CNAMEs: signed to signed stays secure (TLSA through a
CNAME too), signed to unsigned and unsigned to signed are insecure,
signed to bogus is bogus; the trust anchor is what makes answers secure
(without it nothing is, with a wrong one everything under it is bogus);
a name outside the test zones goes to the closed forwarder and fails
within the timeout; and the server stopped gives TEMPFAIL, not bogus.

dnssec_validation in the system setup (dns_open_system through dnsq -s:
an unbound.conf forwarding "." to NSD stands in for resolv.conf, which
cannot name a port, and the test's anchor file and probe name for the
root's): auto with an anchor the forwarder's answers carry signatures
for validates (secure); auto with an anchor for the zone NSD serves
unsigned, a resolver that "strips", logs exactly one warning and answers
insecure; yes with that anchor gives bogus TEMPFAIL (mail defers); no
gives insecure answers even from the signed zone; auto with a forwarder
that does not answer, or refuses the probe, keeps validating, without a
warning."""
import os
import re
import subprocess
import time
import unittest

import dns_zone
import tls_certs
from tern_fixture import BUILD

DNSQ = os.path.join(BUILD, "tests", "integration", "dnsq")
TIMEOUT_MS = 3000           # one lookup, in dnsq (dns_set_timeout)

TLSA1 = "3 1 1 " + "a1" * 32
TLSA2 = "2 0 1 " + "b2" * 32
TLSA_PKIX = "1 1 1 " + "c3" * 32


def zone_records(last_octet):
    """The same records in every zone, addresses told apart."""
    return ["@ MX 10 mx", "@ MX 20 mx2",
            "mx A 127.0.0.%d" % last_octet,
            "mx AAAA ::ffff:127.0.0.%d" % last_octet,
            "mx2 A 127.0.1.%d" % last_octet,
            "_25._tcp.mx TLSA " + TLSA1,
            "_25._tcp.mx TLSA " + TLSA2,
            "_25._tcp.mx TLSA " + TLSA_PKIX,
            "only4 A 127.0.2.%d" % last_octet]


ZONES = {
    "signed.test": zone_records(1) + [
        "to-signed CNAME mx",
        "_25._tcp.alias CNAME _25._tcp.mx",
        "to-unsigned CNAME mx.unsigned.test.",
        "to-bogus CNAME mx.bogus.test.",
        "_25._tcp.to-unsigned CNAME _25._tcp.mx.unsigned.test."] + [
        # Too big for UDP (libunbound asks for 1232 octets): over TCP.
        "_25._tcp.big TLSA 3 0 0 " + ("%02x" % i) * 700 for i in range(4)],
    "unsigned.test": zone_records(2) + ["to-signed CNAME mx.signed.test."],
    "bogus.test": zone_records(3),
    "expired.test": zone_records(4),
    # Signed, then only the AAAA of mx altered: one forged answer.
    "half.test": zone_records(5),
}
KINDS = {"unsigned.test": "unsigned", "bogus.test": "bogus",
         "expired.test": "expired", "half.test": "bogus"}
ALTER = {"half.test": ["mx AAAA"]}


class Answer:
    """dnsq's output: the result line's fields, why, and the records."""

    def __init__(self, out):
        lines = out.splitlines()
        if not lines or not lines[0].startswith("result="):
            raise AssertionError("dnsq printed no result:\n" + out)
        self.fields = dict(f.split("=", 1) for f in lines[0].split())
        self.result = self.fields["result"]
        self.secure = self.fields["secure"] == "1"
        self.bogus = self.fields["bogus"] == "1"
        self.canon = self.fields["canon"]
        self.why = ""
        self.records = []
        for line in lines[1:]:
            kind, _, rest = line.partition(" ")
            if kind == "why":
                self.why = rest
            elif kind != "skipped":
                self.records.append(rest)
        self.out = out


def dnsq(config, *args, timeout_ms=TIMEOUT_MS, opts=(), log=None):
    """One lookup; opts go before CONFIG (-d, -s); log, a list, gets
    what dnsq logged (its standard error) when given."""
    p = subprocess.run([DNSQ, "-t", str(timeout_ms)] + list(opts) +
                       [config] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout_ms / 1000 * 3 + 30)
    if p.returncode != 0:
        raise AssertionError("dnsq %s: exit %d: %s" % (
            " ".join(args), p.returncode, p.stderr.decode(errors="replace")))
    if log is not None:
        log.extend(p.stderr.decode(errors="replace").splitlines())
    return Answer(p.stdout.decode())


def tlsa_hex(rdata):
    return rdata.split()[3]


@unittest.skipUnless(dns_zone.available(),
                     "nsd or ldnsutils are not installed "
                     "(./quickstart installs them)")
class DnssecTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(DNSQ, os.X_OK):
            raise unittest.SkipTest("%s is not built (make check builds it)"
                                    % DNSQ)
        cls.z = dns_zone.DnsZones(ZONES, kinds=KINDS, alter=ALTER)
        cls.addClassCleanup(cls.z.close)

    def q(self, *args, **kw):
        return dnsq(self.z.config_path, *args, **kw)

    def assertSecure(self, a, result="ok"):
        self.assertEqual((a.result, a.secure, a.bogus), (result, True, False),
                         a.out)

    def assertInsecure(self, a, result="ok"):
        self.assertEqual((a.result, a.secure, a.bogus),
                         (result, False, False), a.out)

    def assertBogus(self, a):
        self.assertEqual((a.result, a.secure, a.bogus),
                         ("tempfail", False, True), a.out)
        self.assertRegex(a.why, r"^DNSSEC validation failed for \S+: ")
        self.assertEqual(a.records, [])

    # ---- the signed zone ---------------------------------------------------

    def test_signed_mx_secure(self):
        a = self.q("mx", "signed.test")
        self.assertSecure(a)
        self.assertEqual(a.records, ["10 mx.signed.test", "20 mx2.signed.test"])

    def test_signed_addr_secure(self):
        a = self.q("addr", "mx.signed.test")
        self.assertSecure(a)
        self.assertEqual(a.records, ["::ffff:127.0.0.1", "127.0.0.1"])
        self.assertSecure(self.q("addr", "mx.signed.test", "ipv4"))
        self.assertSecure(self.q("addr", "mx.signed.test", "ipv6"))

    def test_signed_addr_one_family_secure(self):
        # AAAA is a proven NODATA (NSEC): the whole answer stays secure.
        a = self.q("addr", "only4.signed.test")
        self.assertSecure(a)
        self.assertEqual(a.records, ["127.0.2.1"])
        self.assertSecure(self.q("addr", "only4.signed.test", "ipv6"),
                          "nodata")

    def test_signed_tlsa_secure(self):
        a = self.q("tlsa", "mx.signed.test", "25")
        self.assertSecure(a)
        self.assertEqual(sorted(a.records), sorted([
            "%s usable=1" % TLSA1, "%s usable=1" % TLSA2,
            "%s usable=0" % TLSA_PKIX]))

    def test_signed_tlsa_large_answer(self):
        # Four records of 700 octets and their signature: the UDP answer
        # is truncated and libunbound asks NSD again over TCP.
        a = self.q("tlsa", "big.signed.test", "25")
        self.assertSecure(a)
        self.assertEqual(sorted(a.records), [
            "3 0 0 %s usable=1" % (("%02x" % i) * 700) for i in range(4)])

    def test_signed_denials_secure(self):
        # NSEC proves these: a DANE client may rely on "no TLSA".
        self.assertSecure(self.q("mx", "nope.signed.test"), "nxdomain")
        self.assertSecure(self.q("mx", "mx.signed.test"), "nodata")
        self.assertSecure(self.q("tlsa", "mx.signed.test", "587"),
                          "nxdomain")
        self.assertSecure(self.q("tlsa", "mx2.signed.test", "25"),
                          "nxdomain")

    # ---- the unsigned zone ------------------------------------------------

    def test_unsigned_insecure(self):
        a = self.q("mx", "unsigned.test")
        self.assertInsecure(a)
        self.assertEqual(a.records,
                         ["10 mx.unsigned.test", "20 mx2.unsigned.test"])
        a = self.q("addr", "mx.unsigned.test")
        self.assertInsecure(a)
        self.assertEqual(a.records, ["::ffff:127.0.0.2", "127.0.0.2"])

    def test_unsigned_tlsa_insecure(self):
        # Records come back, but not secure: no DANE from them.
        a = self.q("tlsa", "mx.unsigned.test", "25")
        self.assertInsecure(a)
        self.assertEqual(len(a.records), 3)

    def test_unsigned_denials_insecure(self):
        self.assertInsecure(self.q("mx", "nope.unsigned.test"), "nxdomain")
        self.assertInsecure(self.q("tlsa", "mx.unsigned.test", "587"),
                            "nxdomain")
        self.assertInsecure(self.q("mx", "mx.unsigned.test"), "nodata")

    # ---- bogus zones -------------------------------------------------------

    def test_bogus_altered_tempfail(self):
        for args in (("mx", "bogus.test"), ("addr", "mx.bogus.test"),
                     ("addr", "mx.bogus.test", "ipv4"),
                     ("tlsa", "mx.bogus.test", "25")):
            with self.subTest(args=args):
                self.assertBogus(self.q(*args))

    def test_bogus_expired_tempfail(self):
        for args in (("mx", "expired.test"), ("addr", "mx.expired.test"),
                     ("tlsa", "mx.expired.test", "25")):
            with self.subTest(args=args):
                a = self.q(*args)
                self.assertBogus(a)
        self.assertIn("expired", self.q("mx", "expired.test").why)

    def test_one_family_bogus(self):
        # A forged AAAA beside a good A: the A addresses are used, and
        # stay secure (DANE still applies to the host: a forged answer
        # for one family must not turn it off); the AAAA alone is bogus.
        a = self.q("addr", "mx.half.test")
        self.assertSecure(a)
        self.assertEqual(a.records, ["127.0.0.5"])
        self.assertRegex(a.why, r"^DNSSEC validation failed for "
                         r"mx\.half\.test: .*AAAA")
        self.assertBogus(self.q("addr", "mx.half.test", "ipv6"))
        self.assertSecure(self.q("addr", "mx.half.test", "ipv4"))
        self.assertSecure(self.q("mx", "half.test"))
        self.assertSecure(self.q("tlsa", "mx.half.test", "25"))

    def test_config_readable_keys_private(self):
        # An unprivileged Tern service reads the resolver file; nobody
        # but the owner reads the zones' private keys.
        self.assertEqual(os.stat(self.z.dir).st_mode & 0o005, 0o005)
        self.assertEqual(os.stat(self.z.config_path).st_mode & 0o004, 0o004)
        keys = [f for f in os.listdir(self.z.dir) if f.endswith(".private")]
        # Every zone but unsigned.test has a key, and so has test.
        self.assertEqual(len(keys), len(ZONES))
        for f in keys:
            mode = os.stat(os.path.join(self.z.dir, f)).st_mode
            self.assertEqual(mode & 0o077, 0, f)

    def test_bogus_altered_data_served(self):
        # The server really hands out the altered data (not an error):
        # it is the validation that refuses it.
        z = self.z
        path = os.path.join(z.dir, z.zones["bogus.test."][1])
        with open(path) as f:
            text = f.read()
        self.assertRegex(text, r"mx\.bogus\.test\.\s+300\s+IN\s+A\s+"
                         r"127\.0\.0\.4\n")
        self.assertRegex(text, r"RRSIG\s+A ")

    # ---- CNAMEs ------------------------------------------------------------

    def test_cname_signed_to_signed_secure(self):
        a = self.q("addr", "to-signed.signed.test")
        self.assertSecure(a)
        self.assertEqual(a.canon, "mx.signed.test")
        self.assertEqual(a.records, ["::ffff:127.0.0.1", "127.0.0.1"])
        a = self.q("tlsa", "alias.signed.test", "25")
        self.assertSecure(a)
        self.assertEqual(a.canon, "_25._tcp.mx.signed.test")
        self.assertEqual(len(a.records), 3)

    def test_cname_signed_to_unsigned_insecure(self):
        a = self.q("addr", "to-unsigned.signed.test")
        self.assertInsecure(a)
        self.assertEqual(a.canon, "mx.unsigned.test")
        self.assertEqual(a.records, ["::ffff:127.0.0.2", "127.0.0.2"])
        a = self.q("tlsa", "to-unsigned.signed.test", "25")
        self.assertInsecure(a)
        self.assertEqual(len(a.records), 3)

    def test_cname_unsigned_to_signed_insecure(self):
        a = self.q("addr", "to-signed.unsigned.test")
        self.assertInsecure(a)
        self.assertEqual(a.canon, "mx.signed.test")
        self.assertEqual(a.records, ["::ffff:127.0.0.1", "127.0.0.1"])

    def test_cname_signed_to_bogus(self):
        self.assertBogus(self.q("addr", "to-bogus.signed.test"))

    # ---- the trust anchor --------------------------------------------------

    def conf_variant(self, name, anchor_line):
        with open(self.z.config_path) as f:
            text = f.read()
        text, n = re.subn(r"(?m)^\ttrust-anchor: .*\n", anchor_line, text)
        self.assertEqual(n, 1)
        path = os.path.join(self.z.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_without_anchor_nothing_secure(self):
        path = self.conf_variant("noanchor.conf", "")
        for args in (("mx", "signed.test"), ("tlsa", "mx.signed.test", "25")):
            with self.subTest(args=args):
                a = dnsq(path, *args)
                self.assertInsecure(a)
                self.assertTrue(a.records)
        # Without validation the altered records pass unnoticed.
        a = dnsq(path, "addr", "mx.bogus.test", "ipv4")
        self.assertInsecure(a)
        self.assertEqual(a.records, ["127.0.0.4"])

    def test_wrong_anchor_bogus(self):
        name, ttl, cls, typ, tag, alg, dtype, digest = self.z.anchor.split()
        wrong = " ".join([name, ttl, cls, typ, tag, alg, dtype,
                          "%02x" % (int(digest[:2], 16) ^ 1) + digest[2:]])
        path = self.conf_variant("wronganchor.conf",
                                 '\ttrust-anchor: "%s"\n' % wrong)
        for args in (("mx", "signed.test"), ("mx", "unsigned.test"),
                     ("tlsa", "mx.signed.test", "25")):
            with self.subTest(args=args):
                self.assertBogus(dnsq(path, *args))

    # ---- dnssec_validation in the system setup ------------------------------

    def system_files(self, anchor_zone, port=None):
        """A forwarder file ("." to NSD, or to port) in place of
        resolv.conf, and a trust anchor file for anchor_zone with the
        DS of the test's anchor (right for "test.", a DS without a
        DNSKEY to match for a zone NSD serves unsigned)."""
        z = self.z
        tag = "%s-%s" % (anchor_zone.strip(".") or "root", port or z.port)
        fwd = os.path.join(z.dir, "fwd-%s.conf" % tag)
        with open(fwd, "w") as f:
            f.write('server:\n\tdo-not-query-localhost: no\n'
                    '\tdo-ip6: no\n\tlocal-zone: "test." nodefault\n'
                    'forward-zone:\n\tname: "."\n'
                    '\tforward-addr: 127.0.0.1@%d\n' % (port or z.port))
        ds = z.anchor.split()
        key = os.path.join(z.dir, "anchor-%s.key" % tag)
        with open(key, "w") as f:
            f.write("%s 300 IN DS %s\n" % (
                anchor_zone, " ".join(ds[ds.index("DS") + 1:])))
        return fwd, "-s", "%s,%s" % (key, anchor_zone)

    def sysq(self, anchor_zone, mode, *args, port=None, log=None):
        fwd, s_opt, s_arg = self.system_files(anchor_zone, port)
        return dnsq(fwd, *args, opts=("-d", mode, s_opt, s_arg), log=log)

    def assertStartLine(self, log, text):
        lines = [l for l in log if "DNS: system resolver" in l]
        self.assertEqual(len(lines), 1, log)
        self.assertIn(text, lines[0])

    def test_system_auto_signed_secure(self):
        log = []
        self.assertSecure(self.sysq("test.", "auto", "mx", "signed.test",
                                    log=log))
        self.assertStartLine(log, "DNSSEC validation on, root trust anchor "
                             "(dnssec_validation = auto)")
        self.assertEqual([l for l in log if "warning" in l], [], log)
        self.assertBogus(self.sysq("test.", "auto", "mx", "bogus.test"))

    def test_system_auto_stripped_warns_once(self):
        log = []
        a = self.sysq("unsigned.test.", "auto", "mx", "unsigned.test",
                      log=log)
        self.assertInsecure(a)
        self.assertEqual(a.records,
                         ["10 mx.unsigned.test", "20 mx2.unsigned.test"])
        warnings = [l for l in log if "warning:" in l]
        self.assertEqual(len(warnings), 1, log)
        self.assertRegex(warnings[0], r"DNSSEC validation through the "
                         r"system resolver \(.*\) fails \(.*DNSKEY.*\): "
                         r"it strips DNSSEC records; DNSSEC and DANE are "
                         r"off; set dnssec_validation = yes")
        self.assertStartLine(log, "DNSSEC validation off "
                             "(dnssec_validation = auto, the resolver "
                             "strips DNSSEC)")
        # Everything else is insecure too: no DANE, but mail flows.
        self.assertInsecure(self.sysq("unsigned.test.", "auto", "tlsa",
                                      "mx.unsigned.test", "25"))

    def test_system_yes_stripped_bogus(self):
        log = []
        a = self.sysq("unsigned.test.", "yes", "mx", "unsigned.test",
                      log=log)
        self.assertBogus(a)
        self.assertEqual([l for l in log if "warning" in l], [], log)
        self.assertStartLine(log, "DNSSEC validation on, root trust anchor "
                             "(dnssec_validation = yes)")

    def test_system_no_insecure_when_signed(self):
        log = []
        a = self.sysq("test.", "no", "mx", "signed.test", log=log)
        self.assertInsecure(a)
        self.assertEqual(a.records, ["10 mx.signed.test", "20 mx2.signed.test"])
        self.assertInsecure(self.sysq("test.", "no", "tlsa", "mx.signed.test",
                                      "25"))
        self.assertStartLine(log, "DNSSEC validation off "
                             "(dnssec_validation = no)")

    def test_system_auto_offline_keeps_validating(self):
        log = []
        start = time.monotonic()
        a = self.sysq("test.", "auto", "mx", "signed.test",
                      port=self.z.closed_port, log=log)
        self.assertEqual((a.result, a.bogus), ("tempfail", False), a.out)
        self.assertStartLine(log, "DNSSEC validation on, root trust anchor "
                             "(dnssec_validation = auto")
        self.assertEqual([l for l in log if "warning" in l], [], log)
        self.assertLess(time.monotonic() - start, 30)

    def test_system_auto_refused_keeps_validating(self):
        # NSD refuses "other.": a resolver that is up but cannot answer
        # the probe now is an outage, not a stripper.
        log = []
        a = self.sysq("other.", "auto", "mx", "signed.test", log=log)
        self.assertInsecure(a)
        self.assertStartLine(log, "DNSSEC validation on, root trust anchor "
                             "(dnssec_validation = auto")
        self.assertEqual([l for l in log if "warning" in l], [], log)

    # ---- failures ------------------------------------------------------------

    def test_outside_test_zones_tempfail(self):
        # Forwarded to a closed port on loopback: nothing answers.
        start = time.monotonic()
        a = self.q("mx", "example.com", timeout_ms=1500)
        self.assertEqual((a.result, a.secure, a.bogus),
                         ("tempfail", False, False), a.out)
        self.assertLess(time.monotonic() - start, 10)


@unittest.skipUnless(dns_zone.available(),
                     "nsd or ldnsutils are not installed "
                     "(./quickstart installs them)")
class ServerStoppedTest(unittest.TestCase):
    def setUp(self):
        if not os.access(DNSQ, os.X_OK):
            self.skipTest("%s is not built (make check builds it)" % DNSQ)
        self.z = dns_zone.DnsZones({"signed.test": ["mx A 127.0.0.1"]})
        self.addCleanup(self.z.close)

    def test_stopped_tempfail(self):
        a = dnsq(self.z.config_path, "addr", "mx.signed.test", "ipv4")
        self.assertEqual((a.result, a.secure), ("ok", True), a.out)
        self.z.stop()
        self.assertFalse(dns_zone.soa_query(self.z.port, "test."))
        start = time.monotonic()
        a = dnsq(self.z.config_path, "addr", "mx.signed.test", "ipv4",
                 timeout_ms=2000)
        self.assertEqual((a.result, a.secure, a.bogus),
                         ("tempfail", False, False), a.out)
        self.assertEqual(a.records, [])
        self.assertLess(time.monotonic() - start, 10)
        # Back again: answers as before.
        self.z.start()
        a = dnsq(self.z.config_path, "mx", "signed.test")
        self.assertEqual((a.result, a.secure), ("nodata", True), a.out)


@unittest.skipUnless(dns_zone.available() and tls_certs.available(),
                     "nsd, ldnsutils or certtool are not installed "
                     "(./quickstart installs them)")
class TlsaRdataTest(unittest.TestCase):
    """dns_zone.tlsa_rdata, which DANE tests use to publish a server's
    certificate, agrees with certtool's digests."""

    def test_digests(self):
        certs = tls_certs.TestCerts()
        self.addCleanup(certs.cleanup)
        cert, _ = certs.server("ecdsa")
        self.assertEqual(dns_zone.tlsa_rdata(cert, 3, 0, 1),
                         "3 0 1 " + certs.fingerprint(cert))
        info = subprocess.run(
            [tls_certs.CERTTOOL, "-i", "--infile", cert],
            stdout=subprocess.PIPE, check=True, timeout=30).stdout.decode()
        m = re.search(r"Public Key ID:\s+(?:sha1:[0-9a-f]+\s+)?"
                      r"sha256:([0-9a-f]{64})", info)
        self.assertIsNotNone(m, info)
        self.assertEqual(dns_zone.tlsa_rdata(cert), "3 1 1 " + m.group(1))
        full = dns_zone.tlsa_rdata(cert, 2, 1, 0).split()
        self.assertEqual(full[:3], ["2", "1", "0"])
        self.assertGreater(len(full[3]), 64)


if __name__ == "__main__":
    unittest.main()
