# SPDX-License-Identifier: ISC
"""STARTTLS and implicit TLS through tlsproxy, with real clients (Python's
smtplib and ssl, gnutls-cli, swaks) and certificates made at test time
(tls_certs.py): the hand-off and its replies, lazy start and privilege of
tlsproxy, broken set-ups, command injection (CVE-2011-0411), garbage
instead of a ClientHello, smtpd_tls_security_level = encrypt, TLS versions
and priorities, RSA beside ECDSA, session resumption and tickets, client
certificates, tlsproxy's idle exit, and one failed handshake beside a
healthy session."""
import hashlib
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import qfile_reader
import tls_certs
from tern_fixture import (HELO, IS_ROOT, QUEUED_RE, TEST_USER, RawClient,
                          Tern, free_port, proc_ids, queue_files, test_user,
                          wait_for)

MYHOSTNAME = tls_certs.HOSTNAME          # what the test certificates cover
LOCAL_RCPT = "terntest@localhost"
GNUTLS_CLI = shutil.which("gnutls-cli") or "/usr/bin/gnutls-cli"
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
ESTABLISHED_RE = (r"TLS connection established from [^\s\[]*\[127\.0\.0\.1\]"
                  r": %s with cipher \S+")
NOT_AVAILABLE = "454 4.7.0 TLS not available due to temporary reason"
MUST_STARTTLS = "5.7.0 Must issue a STARTTLS command first"

MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: Bob <terntest@localhost>\r\n"
           b"Subject: TLS integration test\r\n"
           b"Message-ID: <tls@example.org>\r\n"
           b"\r\n"
           b"Sent over TLS, or not.\r\n")

CERTS = None


def setUpModule():
    global CERTS
    if not tls_certs.available():
        raise unittest.SkipTest("certtool (gnutls-bin) is not installed")
    CERTS = tls_certs.TestCerts()


def tearDownModule():
    if CERTS is not None:
        CERTS.cleanup()


class Client(RawClient):
    """SMTP over a socket that can be switched to TLS, so that a test
    controls every byte it sends, before and after the hand-off."""

    def tls(self, ctx, hostname=MYHOSTNAME, session=None):
        """Run the client side of the handshake on the socket."""
        if self.buf:
            raise AssertionError("bytes after 220: %r" % self.buf)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=hostname,
                                    session=session)
        return self.sock

    def quiet_for(self, seconds):
        """True when nothing arrives for that long (no reply, no EOF)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(4096)
        except (socket.timeout, TimeoutError):
            return True
        finally:
            self.sock.settimeout(old)
        self.buf += data
        return False

    def until_eof(self, limit=1 << 20):
        """Everything until the peer closes (bounded by the socket's
        time-out); a reset counts as a close."""
        data = b""
        try:
            while len(data) < limit:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
        return self.buf + data


def client_ctx(version=None, cert=None, session_tickets=True):
    """A verifying client context: the test CAs, the host name checked."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(CERTS.ca)
    ctx.check_hostname = True
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if cert is not None:
        ctx.load_cert_chain(cert[0], cert[1])
    if not session_tickets:
        ctx.options |= ssl.OP_NO_TICKET
    return ctx


class TlsTestBase(unittest.TestCase):

    def setUp(self):
        self.port = free_port()
        self.port2 = free_port()
        self.t = None
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    # ---- the instance -----------------------------------------------------
    def services(self, tlsproxy=True, smtps=False):
        s = ("smtp inet 127.0.0.1:%d y n 100 1 - smtpd\n"
             "cleanup unix private/cleanup y n 20 0 - cleanup\n" % self.port)
        if tlsproxy:
            s += "tlsproxy unix private/tlsproxy y n 10 0 - tlsproxy\n"
        if smtps:
            s += ("smtps inet 127.0.0.1:%d y n 100 1 - smtpd "
                  "-o smtpd_tls_wrappermode=yes\n" % self.port2)
        return s

    @staticmethod
    def tls_conf(pair=None, ecpair=None):
        lines = []
        if pair is not None:
            lines += ["smtpd_tls_cert_file = %s" % pair[0],
                      "smtpd_tls_key_file = %s" % pair[1]]
        if ecpair is not None:
            lines += ["smtpd_tls_eccert_file = %s" % ecpair[0],
                      "smtpd_tls_eckey_file = %s" % ecpair[1]]
        return "".join(l + "\n" for l in lines)

    def make(self, extra_conf="", pair="rsa", ecpair=None, tlsproxy=True,
             smtps=False):
        """A Tern that is removed whatever happens; not started yet."""
        if pair == "rsa":
            pair = CERTS.server("rsa")
        conf = ("myhostname = %s\n" % MYHOSTNAME +
                self.tls_conf(pair, ecpair) + extra_conf)
        self.t = t = Tern(self.services(tlsproxy, smtps), conf)
        self.addCleanup(self.remove_instance, t)
        return t

    def start(self, extra_conf="", **kw):
        t = self.make(extra_conf, **kw)
        t.start()
        return t

    # Signals a test itself sends to a process of the instance.
    expected_signals = ()

    def remove_instance(self, t):
        """Stop and remove the instance; then fail if any process of it
        died of a signal the test did not send (a crash, a sanitizer's
        abort)."""
        log = t.remove()
        crashes = [l for l in log.splitlines()
                   if re.search(r"killed by signal (\d+)", l) and
                   int(re.search(r"killed by signal (\d+)", l).group(1))
                   not in self.expected_signals]
        self.assertEqual(crashes, [], "processes crashed")

    # ---- clients ----------------------------------------------------------
    def client(self, port=None, ehlo=HELO, timeout=10.0):
        c = Client(self.port if port is None else port, timeout=timeout)
        self.clients.append(c)
        if ehlo is not False:
            self.last_ehlo = c.greet(ehlo)
        return c

    def starttls(self, c, ctx=None, session=None):
        """STARTTLS on an EHLO'd client, then the handshake."""
        r = c.cmd("STARTTLS")
        self.assertEqual(r.raw, b"220 2.0.0 Ready to start TLS\r\n")
        c.tls(ctx or client_ctx(), session=session)
        return c

    def tls_client(self, ctx=None, session=None, timeout=10.0):
        """A client in TLS that has said EHLO again."""
        c = self.client(timeout=timeout)
        self.assertIn("STARTTLS", self.last_ehlo.lines[1:])
        self.starttls(c, ctx, session)
        r = c.cmd("EHLO " + HELO)
        self.assertEqual(r.code, 250, r)
        self.assertNotIn("STARTTLS", r.lines[1:])
        return c

    def assert_reply(self, reply, code, enh):
        self.assertEqual((reply.code, reply.enh), (code, enh), reply)

    def send_message(self, c, rcpt=LOCAL_RCPT):
        """MAIL, RCPT, DATA on an EHLO'd client; the queue ID."""
        self.assert_reply(c.cmd("MAIL FROM:<alice@example.org>"), 250,
                          "2.1.0")
        self.assert_reply(c.cmd("RCPT TO:<%s>" % rcpt), 250, "2.1.5")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(MESSAGE + b".\r\n")
        r = c.reply()
        self.assertEqual(r.code, 250, r)
        m = QUEUED_RE.match(r.text)
        self.assertIsNotNone(m, r)
        return m.group(1)

    def received(self, qid):
        """The queue file's first header (cleanup's Received:), unfolded,
        after checking that the message follows it unchanged."""
        q = qfile_reader.read(os.path.join(self.t.spool, "incoming", qid))
        hdr, rest = q.first_field_and_rest()
        self.assertEqual(rest, MESSAGE)
        self.assertTrue(hdr.startswith(b"Received: "), hdr)
        return re.sub(rb"\r\n[ \t]+", b" ", hdr).decode("utf-8", "replace")

    def assert_tls_received(self, qid, proto="TLSv1.3"):
        hdr = self.received(qid)
        self.assertIn(" with ESMTPS ", hdr)
        self.assertRegex(hdr, r"\(using %s with cipher \S+" %
                         re.escape(proto))
        self.assertIn(" by %s " % MYHOSTNAME, hdr)
        return hdr

    def wait_log(self, pattern, timeout=10):
        """The first match of pattern in the maillog, waiting for it."""
        m = wait_for(lambda: re.search(pattern, self.t.log()),
                     timeout=timeout)
        self.assertTrue(m, "no %r in the maillog:\n%s" % (
            pattern, self.t.log()[-4000:]))
        return m

    def log_line_with(self, *patterns):
        """A maillog line that matches every pattern, or None."""
        for line in self.t.log().splitlines():
            if all(re.search(p, line) for p in patterns):
                return line
        return None

    def tlsproxies(self):
        return self.t.children("tlsproxy")

    def gnutls_cli(self, port=None, priority=None, starttls=True,
                   extra=(), stdin=b"", timeout=30):
        """gnutls-cli against the instance; (returncode, output)."""
        cmd = [GNUTLS_CLI, "--port", str(port or self.port),
               "--x509cafile", CERTS.ca, "--verify-hostname", MYHOSTNAME,
               "--sni-hostname", MYHOSTNAME]
        if starttls:
            cmd.append("--starttls-proto=smtp")
        if priority is not None:
            cmd.append("--priority=" + priority)
        cmd += list(extra) + ["127.0.0.1"]
        r = subprocess.run(cmd, input=stdin, capture_output=True,
                           timeout=timeout)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        return r.returncode, out

    @staticmethod
    def handshake_done(out):
        return "Handshake was completed" in out

    @staticmethod
    def described_version(out):
        m = re.search(r"- Description: \((TLS1\.\d)", out)
        return m.group(1) if m else None


# ---- 1: a whole STARTTLS session -------------------------------------------
class StarttlsSessionTest(TlsTestBase):

    def test_starttls_with_smtplib_queues_with_tls_received(self):
        self.start()
        s = smtplib.SMTP("127.0.0.1", self.port, local_hostname=HELO,
                         timeout=15)
        self.addCleanup(s.close)
        code, _ = s.ehlo()
        self.assertEqual(code, 250)
        self.assertTrue(s.has_extn("starttls"), s.esmtp_features)
        # smtplib names the server 127.0.0.1: verify the chain here and
        # the name from the certificate below.
        ctx = client_ctx()
        ctx.check_hostname = False
        code, text = s.starttls(context=ctx)
        self.assertEqual((code, text), (220, b"2.0.0 Ready to start TLS"))
        self.assertIsInstance(s.sock, ssl.SSLSocket)
        self.assertEqual(s.sock.version(), "TLSv1.3")
        san = s.sock.getpeercert().get("subjectAltName", ())
        self.assertIn(("DNS", MYHOSTNAME), san)
        # RFC 3207 4.2: everything before is forgotten; EHLO again first.
        code, text = s.mail("alice@example.org")
        self.assertEqual(code, 503, text)
        self.assertTrue(text.startswith(b"5.5.1 "), text)
        code, _ = s.ehlo()
        self.assertEqual(code, 250)
        self.assertFalse(s.has_extn("starttls"), s.esmtp_features)
        self.assertEqual(s.mail("alice@example.org")[0], 250)
        self.assertEqual(s.rcpt(LOCAL_RCPT)[0], 250)
        code, text = s.data(MESSAGE)
        self.assertEqual(code, 250, text)
        m = QUEUED_RE.match(text.decode())
        self.assertIsNotNone(m, text)
        self.assertEqual(queue_files(self.t.spool), [m.group(1)])
        self.assert_tls_received(m.group(1))
        self.assertEqual(s.quit()[0], 221)
        self.wait_log(ESTABLISHED_RE % r"TLSv1\.3")

    def test_raw_client_sees_every_reply_of_the_hand_off(self):
        self.start()
        c = self.client()
        self.assertIn("STARTTLS", self.last_ehlo.lines[1:])
        self.starttls(c)
        # Before the new EHLO: MAIL, RCPT, DATA refused; HELO state gone.
        self.assert_reply(c.cmd("MAIL FROM:<a@example.org>"), 503, "5.5.1")
        r = c.cmd("EHLO " + HELO)
        self.assertEqual(r.code, 250)
        self.assertEqual(r.lines[0], MYHOSTNAME)
        self.assertNotIn("STARTTLS", r.lines[1:])
        self.assertIn("PIPELINING", r.lines[1:])
        qid = self.send_message(c)
        self.assert_tls_received(qid)
        self.assertEqual(c.cmd("QUIT").raw, b"221 2.0.0 Bye\r\n")
        self.assertEqual(c.until_eof(), b"")


# ---- 2: tlsproxy is lazy, unprivileged, and alone with the key -------------
class TlsproxyProcessTest(TlsTestBase):

    def test_tlsproxy_starts_on_first_starttls_unprivileged(self):
        t = self.start()
        st = t.status()
        self.assertIn("tlsproxy", st)
        self.assertEqual(st["tlsproxy"]["procs"], 0, st)
        self.assertEqual(self.tlsproxies(), [])
        # A plaintext session does not start it either.
        c = self.client()
        self.assertEqual(c.cmd("NOOP").code, 250)
        c.cmd("QUIT")
        time.sleep(0.3)
        self.assertEqual(self.tlsproxies(), [])
        c = self.tls_client()
        self.assertTrue(wait_for(lambda: len(self.tlsproxies()) == 1),
                        t.status())
        pid = self.tlsproxies()[0]
        self.assertEqual(t.status()["tlsproxy"]["procs"], 1)
        if IS_ROOT:
            uids, gids, groups = proc_ids(pid)
            self.assertEqual(set(uids), {test_user().pw_uid}, uids)
            self.assertEqual(set(gids), {test_user().pw_gid}, gids)
            self.assertNotIn(0, groups)
        # A second session is served by the same process.
        c2 = self.tls_client()
        self.assertEqual(self.tlsproxies(), [pid])
        self.send_message(c)
        self.send_message(c2)

    @unittest.skipUnless(IS_ROOT, "needs root: the key belongs to root")
    def test_mail_owner_cannot_read_the_key(self):
        key = CERTS.server("rsa")[1]
        st = os.stat(key)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600))
        r = subprocess.run(
            ["setpriv", "--reuid=%s" % TEST_USER, "--regid=%s" % TEST_USER,
             "--clear-groups", "/usr/bin/python3", "-c",
             "import sys\n"
             "try:\n"
             "    open(sys.argv[1]).close()\n"
             "except PermissionError:\n"
             "    sys.exit(13)\n", key],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 13, r)
        # ... and yet tlsproxy, running as that user, offers TLS with it.
        self.start()
        c = self.tls_client()
        self.assertEqual(c.sock.version(), "TLSv1.3")
        pid = wait_for(lambda: self.tlsproxies())[0]
        self.assertEqual(set(proc_ids(pid)[0]), {test_user().pw_uid})

    @staticmethod
    def socket_inode(server_port, client_port):
        """The inode of the server end of a loopback TCP connection."""
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                lport = int(fields[1].split(":")[1], 16)
                rport = int(fields[2].split(":")[1], 16)
                if (lport, rport) == (server_port, client_port):
                    return int(fields[9])
        return None

    @staticmethod
    def fd_targets(pid):
        d = "/proc/%d/fd" % pid
        out = []
        try:
            for fd in os.listdir(d):
                try:
                    out.append(os.readlink(os.path.join(d, fd)))
                except OSError:
                    pass
        except OSError:
            pass
        return out

    def holders(self, service, target):
        return [p for p in self.t.children(service)
                if target in self.fd_targets(p)]

    def test_smtpd_gives_the_client_socket_away_and_holds_no_key(self):
        self.start()
        c = self.client()
        inode = self.socket_inode(self.port, c.sock.getsockname()[1])
        self.assertIsNotNone(inode)
        target = "socket:[%d]" % inode
        self.assertEqual(len(self.holders("smtp", target)), 1)
        self.starttls(c)
        self.assertEqual(c.cmd("EHLO " + HELO).code, 250)
        # After the hand-off only tlsproxy holds the client's socket.
        self.assertEqual(self.holders("smtp", target), [])
        self.assertEqual(len(self.holders("tlsproxy", target)), 1)
        key = os.path.realpath(CERTS.server("rsa")[1])
        for pid in self.t.children("smtp"):
            self.assertNotIn(key, self.fd_targets(pid))
        self.send_message(c)


# ---- 3: the replies to STARTTLS ---------------------------------------------
class StarttlsRepliesTest(TlsTestBase):

    def test_starttls_with_a_parameter_is_a_syntax_error(self):
        self.start()
        c = self.client()
        # (A trailing space alone is not a parameter: "STARTTLS " starts TLS,
        # as in Postfix.)
        for arg in (" foo", " TLS=1.3", " foo bar"):
            r = c.cmd("STARTTLS" + arg)
            self.assertEqual(r.raw[:10], b"501 5.5.4 ", r)
        # The session goes on in plaintext, and STARTTLS still works.
        self.assertEqual(c.cmd("NOOP").code, 250)
        self.starttls(c)
        self.assertEqual(c.cmd("EHLO " + HELO).code, 250)
        self.send_message(c)

    def test_no_certificate_no_starttls(self):
        self.start(pair=None)
        c = self.client()
        self.assertNotIn("STARTTLS", self.last_ehlo.lines[1:])
        r = c.cmd("STARTTLS")
        self.assert_reply(r, 502, "5.5.1")
        # No tlsproxy was asked.
        self.assertEqual(self.tlsproxies(), [])
        self.send_message(c)

    def test_security_level_none_does_not_offer_starttls(self):
        self.start("smtpd_tls_security_level = none\n")
        c = self.client()
        self.assertNotIn("STARTTLS", self.last_ehlo.lines[1:])
        self.assert_reply(c.cmd("STARTTLS"), 502, "5.5.1")
        self.send_message(c)

    def test_starttls_inside_tls(self):
        self.start()
        c = self.tls_client()
        r = c.cmd("STARTTLS")
        self.assert_reply(r, 503, "5.5.1")
        # Also before the new EHLO.
        c2 = self.client()
        self.starttls(c2)
        self.assert_reply(c2.cmd("STARTTLS"), 503, "5.5.1")
        # The sessions go on in TLS.
        self.send_message(c)
        self.assertEqual(c2.cmd("EHLO " + HELO).code, 250)
        self.send_message(c2)

    def test_starttls_before_ehlo(self):
        # RFC 3207 lets a client start TLS without EHLO when it knows the
        # server; either way never 250.
        self.start()
        c = self.client(ehlo=None)
        r = c.cmd("STARTTLS")
        self.assertNotEqual(r.code, 250, r)
        if r.code == 220:
            c.tls(client_ctx())
            self.assertEqual(c.cmd("EHLO " + HELO).code, 250)
            self.send_message(c)
        else:
            self.assert_reply(r, 503, "5.5.1")


# ---- 4: broken set-ups ------------------------------------------------------
class BrokenSetupTest(TlsTestBase):

    def check_broken(self, pair, path, reason):
        """STARTTLS is not offered, the maillog and ternctl check name the
        file and the reason."""
        t = self.start(pair=pair)
        c = self.client()
        self.assertNotIn("STARTTLS", self.last_ehlo.lines[1:])
        self.assert_reply(c.cmd("STARTTLS"), 502, "5.5.1")
        self.send_message(c)
        self.assertTrue(
            wait_for(lambda: self.log_line_with(re.escape(path), reason)),
            "no line naming %s and %r in the maillog:\n%s" % (
                path, reason, t.log()[-4000:]))
        r = t.ternctl("check")
        out = r.stdout + r.stderr
        line = [l for l in out.splitlines()
                if path in l and re.search(reason, l)]
        self.assertTrue(line, "ternctl check (exit %d) does not name %s "
                        "and %r:\n%s" % (r.returncode, path, reason, out))
        return r

    def test_expired_certificate(self):
        self.check_broken(CERTS.expired, CERTS.expired[0], r"(?i)expired")

    def test_certificate_not_covering_myhostname(self):
        self.check_broken(CERTS.wrong_name, CERTS.wrong_name[0],
                          r"(?i)not cover.*%s" % re.escape(MYHOSTNAME))

    def test_key_not_matching_certificate(self):
        self.check_broken(CERTS.mismatch, CERTS.mismatch[1],
                          r"(?i)does not match")

    def test_missing_key_file(self):
        missing = os.path.join(CERTS.dir, "no-such.key")
        self.check_broken((CERTS.server("rsa")[0], missing), missing,
                          r"(?i)no such file|not found|cannot (open|read)"
                          r"|missing|does not exist")

    def test_unreadable_key_file(self):
        # Root reads any file: a directory in place of the key is what
        # "cannot read" looks like then.
        d = tempfile.mkdtemp(prefix="tern-key-", dir=CERTS.dir)
        self.check_broken((CERTS.server("rsa")[0], d), d,
                          r"(?i)directory|regular file|cannot (open|read)")

    def test_encrypt_with_broken_certificate_refuses_to_start(self):
        t = self.make("smtpd_tls_security_level = encrypt\n",
                      pair=CERTS.expired)
        r = t.ternctl("start")
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIsNone(t.status(), "the master runs")
        out = r.stdout + r.stderr + t.log()
        self.assertIn(CERTS.expired[0], out)
        self.assertRegex(out, r"(?i)expired")
        self.assertNotEqual(t.ternctl("check").returncode, 0)

    def test_encrypt_without_certificate_refuses_to_start(self):
        t = self.make("smtpd_tls_security_level = encrypt\n", pair=None)
        r = t.ternctl("start")
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIsNone(t.status(), "the master runs")


class ReloadTest(TlsTestBase):
    """The master checks the certificates again on reload, and tlsproxy
    serves the new ones."""

    def ehlo_offers_starttls(self):
        c = self.client()
        offered = "STARTTLS" in self.last_ehlo.lines[1:]
        c.cmd("QUIT")
        c.close()
        return offered

    def rewrite(self, pair, ecpair=None):
        self.t.write_conf("myhostname = %s\n" % MYHOSTNAME +
                          self.tls_conf(pair, ecpair))

    def reload(self):
        r = self.t.ternctl("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_reload_fixes_and_breaks_tls(self):
        t = self.start(pair=CERTS.expired)
        self.assertFalse(self.ehlo_offers_starttls())
        self.rewrite(CERTS.server("rsa"))
        self.reload()
        self.assertTrue(wait_for(self.ehlo_offers_starttls, timeout=15),
                        t.log()[-3000:])
        self.send_message(self.tls_client())
        self.rewrite(CERTS.wrong_name)
        self.reload()
        self.assertTrue(wait_for(lambda: not self.ehlo_offers_starttls(),
                                 timeout=15), t.log()[-3000:])
        self.assertTrue(wait_for(lambda: self.log_line_with(
            re.escape(CERTS.wrong_name[0]), r"(?i)not cover")))

    def test_reload_new_certificate_reaches_tlsproxy(self):
        self.start()
        c = self.tls_client()
        fp = hashlib.sha256(c.sock.getpeercert(True)).hexdigest()
        self.assertEqual(fp, CERTS.fingerprint(CERTS.server("rsa")[0]))
        c.cmd("QUIT")
        c.close()
        self.rewrite(None, CERTS.server("ecdsa"))
        self.reload()
        want = CERTS.fingerprint(CERTS.server("ecdsa")[0])

        def presented():
            c = self.tls_client()
            fp = hashlib.sha256(c.sock.getpeercert(True)).hexdigest()
            c.cmd("QUIT")
            c.close()
            return fp == want
        self.assertTrue(wait_for(presented, timeout=15, step=0.5),
                        self.t.log()[-3000:])


# ---- 5: no tlsproxy: 454, the session goes on -------------------------------
class TlsproxyUnavailableTest(TlsTestBase):

    def test_no_tlsproxy_service_gives_454_and_plaintext_goes_on(self):
        self.start(tlsproxy=False)
        c = self.client(timeout=40)
        self.assertIn("STARTTLS", self.last_ehlo.lines[1:])
        r = c.cmd("STARTTLS")
        self.assertEqual(r.raw, (NOT_AVAILABLE + "\r\n").encode())
        # Still plaintext, still the same session: no new EHLO needed.
        qid = self.send_message(c)
        hdr = self.received(qid)
        self.assertIn(" with ESMTP ", hdr)
        self.assertNotIn("using TLS", hdr)
        # Asking again gives the same answer.
        self.assertEqual(c.cmd("STARTTLS").raw,
                         (NOT_AVAILABLE + "\r\n").encode())
        self.assertEqual(c.cmd("QUIT").code, 221)
        self.wait_log(r"TLS: cannot reach tlsproxy|TLS not available")

    def test_tlsproxy_that_cannot_load_the_key_gives_454(self):
        # The master checked the key at start; it is gone when tlsproxy
        # starts (lazily, on the first STARTTLS).
        d = tempfile.mkdtemp(prefix="tern-vanish-", dir=CERTS.dir)
        cert, key = (os.path.join(d, "cert.pem"), os.path.join(d, "key.pem"))
        shutil.copy(CERTS.server("rsa")[0], cert)
        shutil.copy(CERTS.server("rsa")[1], key)
        os.chmod(key, 0o600)
        self.start("smtpd_starttls_timeout = 5s\n", pair=(cert, key))
        os.unlink(key)
        c = self.client(timeout=30)
        self.assertIn("STARTTLS", self.last_ehlo.lines[1:])
        t0 = time.monotonic()
        r = c.cmd("STARTTLS")
        self.assertEqual(r.raw, (NOT_AVAILABLE + "\r\n").encode())
        self.assertLess(time.monotonic() - t0, 15)
        qid = self.send_message(c)
        self.assertIn(" with ESMTP ", self.received(qid))
        self.wait_log(re.escape(key))


# ---- 6: command injection (CVE-2011-0411) -----------------------------------
class CommandInjectionTest(TlsTestBase):

    def test_pipelined_rset_after_starttls_is_discarded(self):
        self.start()
        c = self.client()
        c.send(b"STARTTLS\r\nRSET\r\n")
        r = c.reply()
        self.assertEqual(r.raw, b"220 2.0.0 Ready to start TLS\r\n")
        c.tls(client_ctx())
        # No reply to the injected RSET, neither in plaintext (the
        # handshake would have failed) nor inside TLS.
        self.assertTrue(c.quiet_for(1.5), "unexpected %r" % c.buf)
        r = c.cmd("EHLO " + HELO)
        self.assertEqual(r.code, 250, r)
        self.assertEqual(r.lines[0], MYHOSTNAME)
        self.assertGreater(len(r.lines), 1)
        self.send_message(c)
        self.wait_log(r"(?i)discard")

    def test_pipelined_mail_after_starttls_is_not_executed(self):
        self.start()
        c = self.client()
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@example.net>\r\n")
        self.assertEqual(c.reply().raw, b"220 2.0.0 Ready to start TLS\r\n")
        c.tls(client_ctx())
        self.assertTrue(c.quiet_for(1.5), "unexpected %r" % c.buf)
        self.assertEqual(c.cmd("EHLO " + HELO).code, 250)
        # Had MAIL been carried over, RCPT would be accepted.
        self.assert_reply(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 503, "5.5.1")
        qid = self.send_message(c)
        q = qfile_reader.read(os.path.join(self.t.spool, "incoming", qid))
        self.assertEqual(q.sender, "alice@example.org")
        self.wait_log(r"(?i)discard")
        self.assertNotIn("evil@example.net", self.t.log())


# ---- 7: garbage instead of a ClientHello -----------------------------------
class GarbageAfter220Test(TlsTestBase):

    def test_plaintext_after_220_closes_the_connection(self):
        self.start()
        c = self.client(timeout=20)
        self.assertEqual(c.cmd("STARTTLS").code, 220)
        c.send(b"EHLO garbage.example\r\nMAIL FROM:<x@example.net>\r\n")
        t0 = time.monotonic()
        data = c.until_eof()
        self.assertLess(time.monotonic() - t0, 15)
        # At most a TLS alert, never an SMTP reply.
        self.assertFalse(re.match(rb"\d{3}[ -]", data), data)
        if data:
            self.assertEqual(data[:1], b"\x15", data)   # alert record
        self.wait_log(r"(?i)handshake failed")
        # Everyone else is still served, TLS included.
        c2 = self.tls_client()
        self.send_message(c2)

    def test_client_gone_after_220(self):
        self.start()
        c = self.client()
        self.assertEqual(c.cmd("STARTTLS").code, 220)
        c.close()
        c2 = self.tls_client()
        self.send_message(c2)

    def test_starttls_timeout_closes_silent_client(self):
        self.start("smtpd_starttls_timeout = 2s\n")
        c = self.client(timeout=30)
        self.assertEqual(c.cmd("STARTTLS").code, 220)
        t0 = time.monotonic()
        data = c.until_eof()
        took = time.monotonic() - t0
        self.assertFalse(re.match(rb"\d{3}[ -]", data), data)
        self.assertGreater(took, 1.0)
        self.assertLess(took, 15)


# ---- 8: smtpd_tls_security_level = encrypt ----------------------------------
class EncryptLevelTest(TlsTestBase):

    def test_mail_rcpt_data_need_starttls_first(self):
        self.start("smtpd_tls_security_level = encrypt\n")
        c = self.client()
        self.assertIn("STARTTLS", self.last_ehlo.lines[1:])
        for cmd in ("MAIL FROM:<alice@example.org>",
                    "RCPT TO:<%s>" % LOCAL_RCPT, "DATA"):
            r = c.cmd(cmd)
            self.assertEqual((r.code, r.text), (530, MUST_STARTTLS), r)
        # NOOP, RSET, EHLO stay allowed.
        self.assertEqual(c.cmd("NOOP").code, 250)
        self.assertEqual(c.cmd("RSET").code, 250)
        self.assertEqual(c.cmd("EHLO " + HELO).code, 250)
        self.starttls(c)
        self.assertEqual(c.cmd("EHLO " + HELO).code, 250)
        qid = self.send_message(c)
        self.assert_tls_received(qid)

    def test_encrypt_with_smtplib(self):
        self.start("smtpd_tls_security_level = encrypt\n")
        s = smtplib.SMTP("127.0.0.1", self.port, local_hostname=HELO,
                         timeout=15)
        self.addCleanup(s.close)
        s.ehlo()
        with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
            s.sendmail("alice@example.org", [LOCAL_RCPT], MESSAGE)
        self.assertEqual(cm.exception.smtp_code, 530)
        ctx = client_ctx()
        ctx.check_hostname = False
        s.starttls(context=ctx)
        s.ehlo()
        self.assertEqual(s.sendmail("alice@example.org", [LOCAL_RCPT],
                                    MESSAGE), {})


# ---- 9: implicit TLS --------------------------------------------------------
class ImplicitTlsTest(TlsTestBase):

    def test_smtps_greets_inside_tls(self):
        self.start(smtps=True)
        c = Client(self.port2, timeout=10)
        self.clients.append(c)
        c.tls(client_ctx())
        self.assertEqual(c.sock.version(), "TLSv1.3")
        r = c.reply()
        self.assertEqual(r.code, 220, r)
        self.assertTrue(r.text.startswith(MYHOSTNAME + " "), r)
        r = c.cmd("EHLO " + HELO)
        self.assertEqual(r.code, 250)
        self.assertNotIn("STARTTLS", r.lines[1:])
        self.assert_reply(c.cmd("STARTTLS"), 503, "5.5.1")
        qid = self.send_message(c)
        self.assert_tls_received(qid)
        self.wait_log(ESTABLISHED_RE % r"TLSv1\.3")
        # The plain service of the same instance still offers STARTTLS.
        c2 = self.client()
        self.assertIn("STARTTLS", self.last_ehlo.lines[1:])

    def test_smtps_satisfies_encrypt(self):
        self.start("smtpd_tls_security_level = encrypt\n", smtps=True)
        c = Client(self.port2, timeout=10)
        self.clients.append(c)
        c.tls(client_ctx())
        self.assertEqual(c.reply().code, 220)
        self.assertEqual(c.cmd("EHLO " + HELO).code, 250)
        self.assert_tls_received(self.send_message(c))
        # The plain port of the same instance still insists.
        c2 = self.client()
        r = c2.cmd("MAIL FROM:<alice@example.org>")
        self.assertEqual((r.code, r.text), (530, MUST_STARTTLS), r)

    def test_smtps_with_smtplib(self):
        self.start(smtps=True)
        ctx = client_ctx()
        ctx.check_hostname = False
        s = smtplib.SMTP_SSL("127.0.0.1", self.port2, local_hostname=HELO,
                             context=ctx, timeout=15)
        self.addCleanup(s.close)
        s.ehlo()
        self.assertFalse(s.has_extn("starttls"))
        self.assertEqual(s.sendmail("alice@example.org", [LOCAL_RCPT],
                                    MESSAGE), {})
        s.quit()
        self.assertEqual(len(queue_files(self.t.spool)), 1)

    def test_smtps_plaintext_client_is_dropped(self):
        self.start(smtps=True)
        c = Client(self.port2, timeout=20)
        self.clients.append(c)
        c.send(b"EHLO plain.example\r\n")
        data = c.until_eof()
        self.assertFalse(re.match(rb"\d{3}[ -]", data), data)
        # The service still works for a TLS client.
        c2 = Client(self.port2, timeout=10)
        self.clients.append(c2)
        c2.tls(client_ctx())
        self.assertEqual(c2.reply().code, 220)

    def test_swaks_starttls_and_implicit_tls(self):
        self.start(smtps=True)
        for port, flag in ((self.port, "--tls"), (self.port2, "--tlsc")):
            with self.subTest(flag=flag):
                r = subprocess.run(
                    [SWAKS, "--server", "127.0.0.1:%d" % port, flag,
                     "--from", "alice@example.org", "--to", LOCAL_RCPT,
                     "--helo", HELO, "--timeout", "20",
                     "--body", "swaks over TLS"],
                    capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertRegex(r.stdout, r"250 2\.0\.0 Ok: queued as ")
        self.assertEqual(len(queue_files(self.t.spool)), 2)


    def test_openssl_s_client_starttls(self):
        # OpenSSL as the client: the chain verifies against the test CA
        # for myhostname, and a message goes through inside TLS.
        self.start()
        # -crlf: s_client turns each LF into CR LF.
        script = ("EHLO %s\nMAIL FROM:<alice@example.org>\n"
                  "RCPT TO:<%s>\nDATA\n" % (HELO, LOCAL_RCPT) +
                  "Subject: openssl\n\nvia s_client\n.\nQUIT\n")
        r = subprocess.run(
            ["openssl", "s_client", "-starttls", "smtp", "-crlf",
             "-connect", "127.0.0.1:%d" % self.port,
             "-servername", MYHOSTNAME, "-verify_hostname", MYHOSTNAME,
             "-CAfile", CERTS.ca, "-verify_return_error", "-ign_eof",
             "-nocommands"],
            input=script, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Verify return code: 0 (ok)", r.stdout)
        self.assertRegex(r.stdout, r"250 2\.0\.0 Ok: queued as ")
        self.assertEqual(len(queue_files(self.t.spool)), 1)


# ---- 10: protocol versions and smtpd_tls_priority ---------------------------
class VersionsTest(TlsTestBase):

    def test_tls12_and_tls13_with_python(self):
        self.start()
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                              (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with self.subTest(version=name):
                c = self.tls_client(client_ctx(version))
                self.assertEqual(c.sock.version(), name)
                qid = self.send_message(c)
                self.assert_tls_received(qid, name)
                self.wait_log(ESTABLISHED_RE % re.escape(name))

    def test_gnutls_cli_versions(self):
        self.start()
        for vers, want in (("TLS1.2", "TLS1.2"), ("TLS1.3", "TLS1.3")):
            with self.subTest(vers=vers):
                rc, out = self.gnutls_cli(
                    priority="NORMAL:-VERS-ALL:+VERS-" + vers,
                    stdin=b"EHLO gnutls.example\r\nQUIT\r\n")
                self.assertTrue(self.handshake_done(out), out)
                self.assertEqual(self.described_version(out), want, out)
        for vers in ("TLS1.1:+VERS-TLS1.0", "TLS1.0"):
            with self.subTest(vers=vers):
                rc, out = self.gnutls_cli(
                    priority="NORMAL:-VERS-ALL:+VERS-" + vers)
                self.assertFalse(self.handshake_done(out), out)
                self.assertNotEqual(rc, 0, out)
                # Refused by the server (an alert), not by the client.
                self.assertRegex(out, r"(?i)alert", out)
        # The server kept serving.
        c = self.tls_client()
        self.send_message(c)

    def test_priority_tls13_only_refuses_tls12_client(self):
        self.start("smtpd_tls_priority = NORMAL:-VERS-ALL:+VERS-TLS1.3\n")
        rc, out = self.gnutls_cli(priority="NORMAL:-VERS-ALL:+VERS-TLS1.2")
        self.assertFalse(self.handshake_done(out), out)
        c = self.client()
        self.assertEqual(c.cmd("STARTTLS").code, 220)
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            c.tls(client_ctx(ssl.TLSVersion.TLSv1_2))
        rc, out = self.gnutls_cli(priority="NORMAL:-VERS-ALL:+VERS-TLS1.3")
        self.assertTrue(self.handshake_done(out), out)
        self.assertEqual(self.described_version(out), "TLS1.3")
        c = self.tls_client(client_ctx(ssl.TLSVersion.TLSv1_3))
        self.send_message(c)

    def test_priority_tls12_only(self):
        self.start("smtpd_tls_priority = NORMAL:-VERS-ALL:+VERS-TLS1.2\n")
        c = self.tls_client()
        self.assertEqual(c.sock.version(), "TLSv1.2")
        qid = self.send_message(c)
        self.assert_tls_received(qid, "TLSv1.2")

    def test_bad_priority_is_reported(self):
        t = self.make("smtpd_tls_priority = NORMAL:+NO-SUCH-THING\n")
        r = t.ternctl("check")
        out = r.stdout + r.stderr
        self.assertRegex(out, r"smtpd_tls_priority")
        self.assertNotEqual(r.returncode, 0, out)


# ---- 11: RSA and ECDSA side by side -----------------------------------------
class DualCertificateTest(TlsTestBase):

    def presented(self, priority):
        """SHA-256 of the certificate gnutls-cli was shown."""
        fd, path = tempfile.mkstemp(prefix="tern-peer-", suffix=".pem")
        os.close(fd)
        self.addCleanup(os.unlink, path)
        rc, out = self.gnutls_cli(priority=priority,
                                  extra=["--save-cert=" + path])
        self.assertTrue(self.handshake_done(out), out)
        return CERTS.fingerprint(path)

    def test_ecdsa_client_gets_ecdsa_rsa_client_gets_rsa(self):
        self.start(ecpair=CERTS.server("ecdsa"))
        rsa_fp = CERTS.fingerprint(CERTS.server("rsa")[0])
        ec_fp = CERTS.fingerprint(CERTS.server("ecdsa")[0])
        ec_only = ("NORMAL:-SIGN-ALL:+SIGN-ECDSA-SECP256R1-SHA256"
                   ":+SIGN-ECDSA-SHA256")
        rsa_only = ("NORMAL:-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA256"
                    ":+SIGN-RSA-PSS-RSAE-SHA384:+SIGN-RSA-SHA256"
                    ":+SIGN-RSA-SHA384")
        for vers in ("TLS1.3", "TLS1.2"):
            with self.subTest(vers=vers):
                v = ":-VERS-ALL:+VERS-" + vers
                self.assertEqual(self.presented(ec_only + v), ec_fp)
                self.assertEqual(self.presented(rsa_only + v), rsa_fp)

    def test_ecdsa_certificate_alone(self):
        self.start(pair=None, ecpair=CERTS.server("ecdsa"))
        c = self.tls_client()
        der = c.sock.getpeercert(binary_form=True)
        self.assertEqual(hashlib.sha256(der).hexdigest(),
                         CERTS.fingerprint(CERTS.server("ecdsa")[0]))
        self.send_message(c)


# ---- 12: session resumption and tickets ------------------------------------
class ResumptionTest(TlsTestBase):

    def first_session(self, ctx):
        c = self.tls_client(ctx)
        # TLS 1.3 tickets come after the handshake: a round trip later.
        self.assertEqual(c.cmd("NOOP").code, 250)
        sess = c.sock.session
        self.assertEqual(c.cmd("QUIT").code, 221)
        c.close()
        return sess

    def test_python_resumes_with_tickets(self):
        self.start()
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            with self.subTest(version=version.name):
                ctx = client_ctx(version)
                sess = self.first_session(ctx)
                self.assertTrue(sess.has_ticket, "no session ticket")
                c = self.tls_client(ctx, session=sess)
                self.assertTrue(c.sock.session_reused)
                self.send_message(c)

    def test_gnutls_cli_resume(self):
        self.start()
        rc, out = self.gnutls_cli(extra=["--resume"])
        self.assertTrue(self.handshake_done(out), out)
        self.assertRegex(out, r"(?i)this is a resumed session")

    def test_no_tickets_still_tls(self):
        self.start("smtpd_tls_session_tickets = no\n")
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            with self.subTest(version=version.name):
                ctx = client_ctx(version)
                sess = self.first_session(ctx)
                self.assertFalse(sess.has_ticket, "a ticket was issued")
                c = self.tls_client(ctx, session=sess)
                qid = self.send_message(c)
                self.assert_tls_received(qid, "TLSv1.3" if version ==
                                         ssl.TLSVersion.TLSv1_3
                                         else "TLSv1.2")
        rc, out = self.gnutls_cli()
        self.assertTrue(self.handshake_done(out), out)


# ---- 13: client certificates ------------------------------------------------
class ClientCertificateTest(TlsTestBase):

    @staticmethod
    def fp_in(fp, log):
        flat = log.replace(":", "").lower()
        return fp in flat

    def test_ask_ccert_logs_fingerprint(self):
        self.start("smtpd_tls_ask_ccert = yes\n")
        for name, pair in (("ca-signed", CERTS.client),
                           ("self-signed", CERTS.client_self_signed)):
            for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
                with self.subTest(cert=name, version=version.name):
                    fp = CERTS.fingerprint(pair[0])
                    c = self.tls_client(client_ctx(version, cert=pair))
                    self.send_message(c)
                    c.cmd("QUIT")
                    self.assertTrue(
                        wait_for(lambda: self.fp_in(fp, self.t.log())),
                        "fingerprint %s not logged:\n%s" % (
                            fp, self.t.log()[-3000:]))
                    line = self.log_line_with(r"TLS connection established")
                    self.assertIsNotNone(line)
        # The fingerprint is on the TLS line itself.
        fp = CERTS.fingerprint(CERTS.client[0])
        lines = [l for l in self.t.log().splitlines()
                 if "TLS connection established" in l and
                 self.fp_in(fp, l)]
        self.assertTrue(lines, self.t.log()[-3000:])

    def test_ask_ccert_without_client_certificate(self):
        self.start("smtpd_tls_ask_ccert = yes\n")
        c = self.tls_client()
        qid = self.send_message(c)
        self.assert_tls_received(qid)

    def test_no_ask_ccert_no_fingerprint(self):
        self.start()
        fp = CERTS.fingerprint(CERTS.client[0])
        c = self.tls_client(client_ctx(cert=CERTS.client))
        self.send_message(c)
        c.cmd("QUIT")
        self.wait_log(ESTABLISHED_RE % r"TLSv1\.3")
        self.assertFalse(self.fp_in(fp, self.t.log()))

    def test_gnutls_cli_client_certificate(self):
        self.start("smtpd_tls_ask_ccert = yes\n")
        fp = CERTS.fingerprint(CERTS.client[0])
        rc, out = self.gnutls_cli(extra=[
            "--x509certfile", CERTS.client[0],
            "--x509keyfile", CERTS.client[1]],
            stdin=b"EHLO gnutls.example\r\nQUIT\r\n")
        self.assertTrue(self.handshake_done(out), out)
        self.assertTrue(wait_for(lambda: self.fp_in(fp, self.t.log())),
                        self.t.log()[-3000:])


# ---- 14: tlsproxy's idle exit -----------------------------------------------
class IdleExitTest(TlsTestBase):

    def test_tlsproxy_exits_when_idle_and_comes_back(self):
        self.start("max_idle = 2s\n")
        c = self.tls_client()
        self.send_message(c)
        pid = wait_for(lambda: self.tlsproxies())
        self.assertEqual(len(pid), 1)
        pid = pid[0]
        # Busy with a session: no idle exit while it lasts.
        time.sleep(3.5)
        self.assertIn(pid, self.tlsproxies())
        self.assertEqual(c.cmd("NOOP").code, 250)
        c.cmd("QUIT")
        c.close()
        self.assertTrue(wait_for(lambda: pid not in self.tlsproxies(),
                                 timeout=20), self.t.status())
        self.assertEqual(self.tlsproxies(), [])
        c = self.tls_client()
        self.send_message(c)
        now = self.tlsproxies()
        self.assertEqual(len(now), 1)
        self.assertNotEqual(now[0], pid)


# ---- 15: one bad handshake beside a good session ----------------------------
class ConcurrencyTest(TlsTestBase):

    def test_failed_handshake_does_not_disturb_other_session(self):
        self.start()
        good = self.tls_client()
        pids = wait_for(lambda: self.tlsproxies())
        self.assertEqual(len(pids), 1)
        # A garbage ClientHello, a truncated one, and a client that goes
        # away mid-handshake, all through the same tlsproxy.
        # (A ClientHello of a bad length would only make tlsproxy wait for
        # the rest, up to smtpd_starttls_timeout: not a failure.)
        bad_inputs = (b"\x16\x03\x01\x00\x20\x01\x00\x00\x1c" + b"\xff" * 28,
                      b"\x17\x03\x03\x00\x05hello",
                      b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                      b"GET / HTTP/1.0\r\n\r\n")
        for data in bad_inputs:
            with self.subTest(data=data[:8]):
                bad = self.client(timeout=20)
                self.assertEqual(bad.cmd("STARTTLS").code, 220)
                bad.send(data)
                if data.startswith(b"\x16\x03\x01\x02"):
                    # Truncated: the client leaves in the middle.
                    bad.close()
                else:
                    self.assertFalse(re.match(rb"\d{3}[ -]",
                                              bad.until_eof()))
                # The good session still works, through the same process.
                self.assertEqual(good.cmd("NOOP").code, 250)
        qid = self.send_message(good)
        self.assert_tls_received(qid)
        self.assertEqual(self.tlsproxies(), pids)
        another = self.tls_client()
        self.send_message(another)

    def test_stalled_handshake_does_not_block_others(self):
        self.start()
        stalled = []
        for _ in range(3):
            c = self.client(timeout=30)
            self.assertEqual(c.cmd("STARTTLS").code, 220)
            stalled.append(c)
        # Half a ClientHello on one of them.
        stalled[0].send(b"\x16\x03\x01\x02\x00\x01")
        t0 = time.monotonic()
        good = [self.tls_client() for _ in range(3)]
        for c in good:
            self.send_message(c)
        self.assertLess(time.monotonic() - t0, 10)

    def test_replies_larger_than_the_buffers(self):
        # Thousands of pipelined NOOPs, read only at the end: replies pile
        # up past tlsproxy's buffers both ways (back-pressure, no loss).
        self.start()
        c = self.tls_client(timeout=30)
        n = 4000
        c.send(b"NOOP\r\n" * n)
        for i in range(n):
            r = c.reply()
            self.assertEqual(r.code, 250, (i, r))
        self.send_message(c)

    def test_client_gone_mid_transaction_in_tls(self):
        self.start()
        c = self.tls_client()
        self.assert_reply(c.cmd("MAIL FROM:<alice@example.org>"), 250,
                          "2.1.0")
        self.assert_reply(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250, "2.1.5")
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(b"Subject: half\r\n\r\nonly half a message")
        c.sock.close()
        self.wait_log(r"lost connection after DATA")
        self.assertEqual(queue_files(self.t.spool), [])
        self.send_message(self.tls_client())

    def test_tlsproxy_killed_mid_session(self):
        self.expected_signals = (signal.SIGKILL,)
        self.start()
        c = self.tls_client(timeout=20)
        pid = wait_for(lambda: self.tlsproxies())[0]
        os.kill(pid, signal.SIGKILL)
        # The session ends: the client sees EOF (or a reset), soon.
        t0 = time.monotonic()
        try:
            c.send(b"NOOP\r\n")
            c.until_eof()
        except (OSError, ssl.SSLError):
            pass
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(queue_files(self.t.spool), [])

        # TLS comes back (the master may throttle the restart a while:
        # meanwhile 454 and plaintext).
        def tls_again():
            c = self.client()
            r = c.cmd("STARTTLS")
            if r.code == 454:
                c.cmd("QUIT")
                return False
            self.assertEqual(r.code, 220, r)
            c.tls(client_ctx())
            self.assertEqual(c.cmd("EHLO " + HELO).code, 250)
            self.send_message(c)
            return True
        self.assertTrue(wait_for(tls_again, timeout=30, step=1),
                        self.t.log()[-3000:])
        self.assertNotIn(pid, self.tlsproxies())

    def test_many_sessions_at_once(self):
        self.start()
        cs = [self.tls_client() for _ in range(8)]
        for c in cs:
            self.assert_reply(c.cmd("MAIL FROM:<alice@example.org>"), 250,
                              "2.1.0")
        for c in cs:
            self.assert_reply(c.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250,
                              "2.1.5")
        for c in cs:
            self.assertEqual(c.cmd("DATA").code, 354)
        # A message larger than tlsproxy's 16 KiB buffers.
        body = b"".join(b"line %06d of a long message over TLS\r\n" % i
                        for i in range(3000))
        for c in cs:
            c.send(MESSAGE + body + b".\r\n")
        qids = []
        for c in cs:
            r = c.reply()
            self.assertEqual(r.code, 250, r)
            qids.append(QUEUED_RE.match(r.text).group(1))
        self.assertEqual(sorted(qids), queue_files(self.t.spool))
        q = qfile_reader.read(os.path.join(self.t.spool, "incoming",
                                           qids[0]))
        self.assertTrue(q.content.endswith(body), "content altered")


if __name__ == "__main__":
    unittest.main()
