# SPDX-License-Identifier: ISC
"""End to end between two Tern instances: SMTP in to the first (the
relay) -> its cleanup and qmgr -> its SMTP client (MX lookup through an
unbound.conf the test writes, STARTTLS through tlsproxy at
smtp_tls_security_level verify) -> the second instance's smtpd (the
remote MX, STARTTLS with a test certificate for its MX host name,
which is its myhostname) -> its
cleanup, qmgr and virtual agent -> a Maildir.

Checked: the message arrives byte for byte after the two Received:
fields (the remote's "(using TLSv1.3 ...) ... with ESMTPS", the
relay's "with ESMTP"), each
naming the other instance; the relay logs the verified TLS session and
one "sent" outcome with the remote's relay= and queue ID; both queues end
empty."""
import os
import re
import unittest

import tls_certs
from tern_fixture import HELO, Tern, free_port, smtp_services, wait_for
from test_delivery import (MYHOSTNAME, SERVICES, VDOMAIN, WAIT, E2EBase,
                           lf, message, received_and_rest, vaddr)

RELAY = "relay.example.test"            # the first instance
# The remote's MX host name is its myhostname, which its certificate must
# cover for its smtpd to offer STARTTLS.
MXHOST = MYHOSTNAME
TLSPROXY = "tlsproxy unix private/tlsproxy y n 10 0 - tlsproxy\n"

ZONE = """server:
	verbosity: 0
	do-not-query-localhost: no
	do-ip6: no
	local-zone: "example.test." static
	local-data: "%s. IN MX 10 %s."
	local-data: "%s. IN A 127.0.0.1"
forward-zone:
	name: "."
	forward-addr: 127.0.0.1@%d
""" % (VDOMAIN, MXHOST, MXHOST, free_port())


@unittest.skipUnless(tls_certs.available(),
                     "certtool missing (./quickstart installs gnutls-bin)")
class TwoInstancesTest(E2EBase):
    def setUp(self):
        super().setUp()
        self.remote = self.relay = None
        self.certs = tls_certs.TestCerts(hostname=MXHOST)
        self.addCleanup(self.certs.cleanup)

    def tearDown(self):
        """Both instances removed, their logs shown when it failed."""
        failed = hasattr(self, "_outcome") and not self._outcome.success
        for name, t in (("relay", self.relay), ("remote", self.remote)):
            if t is not None:
                log = t.remove()
                if failed:
                    print("---- %s ----\n%s" % (name, log[-6000:]))
        self.t = None
        super().tearDown()

    def boot_remote(self):
        """The remote MX: smtpd with STARTTLS, virtual mailboxes."""
        cert, key = self.certs.server("rsa")

        def with_tlsproxy():
            self.t.write_services(smtp_services(self.port) +
                                  SERVICES["qmgr"] + SERVICES["bounce"] +
                                  SERVICES["virtual"] + TLSPROXY)
        self.boot(conf="smtpd_tls_cert_file = %s\n"
                       "smtpd_tls_key_file = %s\n" % (cert, key),
                  before_start=with_tlsproxy)
        self.remote, self.remote_port = self.t, self.port
        self.remote_vbase = self.vbase

    def boot_relay(self):
        """The relay: no local domain but localhost; the SMTP client."""
        self.port = free_port()
        self.t = t = Tern(smtp_services(self.port) + SERVICES["qmgr"] +
                          SERVICES["bounce"] + SERVICES["smtp-client"] +
                          TLSPROXY)
        self.relay = t
        zone = os.path.join(t.dir, "unbound.conf")
        with open(zone, "w") as f:
            f.write(ZONE)
        os.chmod(zone, 0o644)
        transport = self.build_map("transport", "%s smtp:%s:%d\n" % (
            VDOMAIN, VDOMAIN, self.remote_port))
        t.write_conf("\n".join([
            "myhostname = %s" % RELAY,
            "mydestination = localhost",
            "alias_maps =",
            "queue_run_delay = 1s",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 1s",
            "transport_maps = lmdb:%s" % transport,
            "dns_resolver_config = %s" % zone,
            "smtp_tls_security_level = verify",
            "smtp_tls_CAfile = %s" % self.certs.ca,
        ]) + "\n")
        t.start()
        self.assertTrue(wait_for(lambda: t.children("qmgr"), timeout=WAIT),
                        "no qmgr process in the relay")

    def test_relay_to_remote_instance_over_verified_tls(self):
        self.boot_remote()
        self.boot_relay()
        content = message("two instances")
        qid = self.send([vaddr("alice")], content)
        self.wait_removed(qid)
        line = self.assert_one_outcome(qid, vaddr("alice"), "sent")
        m = re.search(r"relay=%s\[127\.0\.0\.1\]:%d, .*dsn=2\.0\.0, "
                      r"status=sent \(250 2\.0\.0 Ok: queued as (\S+)\)" % (
                          re.escape(MXHOST), self.remote_port), line)
        self.assertIsNotNone(m, line)
        remote_qid = m.group(1)
        self.assertRegex(self.relay.log(), r"%s: Verified TLS connection "
                         r"established to %s\[127\.0\.0\.1\]:%d: TLSv1\.\d "
                         r"with cipher \S+" % (qid, re.escape(MXHOST),
                                               self.remote_port))
        self.assert_queue_empty()

        self.vbase = self.remote_vbase
        [got] = self.wait_vmail("alice")
        first, _, rest = got.partition(b"\n")
        self.assertEqual(first, b"Delivered-To: %s" % vaddr("alice").encode())
        outer, rest = received_and_rest(rest)
        self.assertRegex(outer.replace(b"\n\t", b" "),
                         rb"^Received: from %s \(\S+ \[127\.0\.0\.1\]\) "
                         rb"\(using TLSv1\.\d with cipher \S+\) "
                         rb"by %s \(Tern\) with ESMTPS id %s.*\n$" % (
                             re.escape(RELAY).encode(),
                             re.escape(MYHOSTNAME).encode(),
                             remote_qid.encode()))
        inner, rest = received_and_rest(rest)
        self.assertRegex(inner.replace(b"\n\t", b" "),
                         rb"^Received: from %s \(\S+ \[127\.0\.0\.1\]\) "
                         rb"by %s \(Tern\) with ESMTP id %s.*\n$" % (
                             re.escape(HELO).encode(),
                             re.escape(RELAY).encode(), qid.encode()))
        self.assertEqual(rest, lf(content))

        self.t = self.remote
        self.wait_removed(remote_qid)
        self.assert_one_outcome(remote_qid, vaddr("alice"), "sent")
        self.assert_queue_empty()


if __name__ == "__main__":
    unittest.main()
