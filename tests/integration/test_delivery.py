# SPDX-License-Identifier: ISC
"""End to end: mail through the whole path, SMTP in -> smtpd -> cleanup ->
qmgr -> delivery agent -> mailbox, with nothing scripted in between.

Each test starts a whole instance (smtpd on a free 127.0.0.1 port,
cleanup, qmgr, bounce and the agents it needs) with a short retry cycle
(queue_run_delay, minimal_backoff_time and maximal_backoff_time of 1s),
sends mail with Python's smtplib (and swaks once), and checks what
arrives where: a virtual Maildir byte for byte, a local mbox and a
Maildir under a user's home, an alias that fans out to two users and a
virtual address, LMTP into a real Dovecot, an unknown user (refused at
RCPT when smtpd can tell; else bounced, the RFC 3464 notice parsed with
the email package), a message deferred then delivered once its mailbox
comes back, one that expires, hold/ and corrupt/, mail loops, remote
mail that stays deferred while the SMTP client's DNS lookups fail,
and DSN NOTIFY=SUCCESS and NOTIFY=NEVER.  Besides the mailboxes, the
queue (empty afterwards) and the log (one outcome per recipient,
"removed").

As root the local tests use throwaway accounts (tern_fixture.make_user);
as another user they are skipped."""
import email
import email.policy
import os
import re
import shutil
import smtplib
import stat
import subprocess
import tempfile
import time
import unittest

import dovecot_fixture
import tern_fixture
from tern_fixture import (HELO, IS_ROOT, QID_RE, Tern, free_port,
                          queue_files, smtp_services, wait_for)

SWAKS = "/usr/bin/swaks"
MYHOSTNAME = "mx.example.test"
VDOMAIN = "virt.example.test"          # a virtual mailbox domain
VUID = 5000 if IS_ROOT else os.geteuid()
VGID = 5001 if IS_ROOT else os.getegid()
VUSERS = ("alice", "bob", "carol", "dave")
WAIT = 20.0                            # seconds for any one delivery

SERVICES = {
    "qmgr": "qmgr unix private/qmgr y n 1 1 - qmgr\n",
    "bounce": "bounce unix private/bounce y n 50 0 - bounce\n",
    "virtual": "virtual unix private/virtual n n - 0 - virtual\n",
    "local": "local unix private/local n n - 0 - local\n",
    "lmtp": "lmtp unix private/lmtp y n - 0 - smtp --lmtp\n",
    # As conf/services.conf ships it: the SMTP client is still to come.
    "smtp-client": "smtp-client unix private/smtp y n - 0 - smtp\n",
}
# Every queue directory a message or its logs may sit in.
QUEUE_DIRS = ("incoming", "active", "deferred", "hold", "bounce", "defer")

# Accounts for the local tests (root only), made for this module.
ACCOUNTS = {}
HOMES = None


def setUpModule():
    global HOMES
    if not IS_ROOT:
        return
    HOMES = tempfile.mkdtemp(prefix="tern-e2e-homes-")
    os.chmod(HOMES, 0o755)
    for k in ("u1", "u2"):
        name = "te%d%s" % (os.getpid() % 100000, k)
        try:
            ACCOUNTS[k] = tern_fixture.make_user(
                name, os.path.join(HOMES, name))
        except Exception:
            tearDownModule()
            raise


def tearDownModule():
    for pw in ACCOUNTS.values():
        tern_fixture.remove_user(pw.pw_name)
    ACCOUNTS.clear()
    if HOMES is not None:
        shutil.rmtree(HOMES, ignore_errors=True)


def vaddr(user):
    return "%s@%s" % (user, VDOMAIN)


def lf(content):
    return content.replace(b"\r\n", b"\n")


def message(subject, sender="sender@example.org", extra=b"", body=None):
    """A message with CRLF line ends, as smtplib sends it."""
    if body is None:
        body = (b"first body line\r\n"
                b"From the start of a line\r\n"
                b".a line with a leading dot\r\n"
                b"8-bit \xc3\xa9\r\n"
                b"last line\r\n")
    return (b"From: Sender <%s>\r\n"
            b"To: Someone <someone@example.test>\r\n"
            b"Subject: %s\r\n"
            b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            b"Message-ID: <%s.%d@example.org>\r\n"
            b"%s"
            b"\r\n" % (sender.encode(), subject.encode(),
                       subject.replace(" ", "-").encode(), os.getpid(),
                       extra)) + body


def received_and_rest(data):
    """Split LF text that starts with cleanup's Received: field (folded)
    into that field and what follows."""
    m = re.match(rb"(Received: [^\n]*\n(?:[ \t][^\n]*\n)*)", data)
    if m is None:
        raise AssertionError("no Received: field at %r" % data[:200])
    return m.group(1), data[m.end():]


def parse_notice(data):
    return email.message_from_bytes(data, policy=email.policy.compat32)


class E2EBase(unittest.TestCase):
    """Per test: one instance, started by boot() with what the test
    needs."""

    def setUp(self):
        self.t = None
        self.dc = None
        self.port = free_port()

    def tearDown(self):
        if self.dc is not None:
            self.dc.remove()
        if self.t is not None:
            log = self.t.remove()
            if hasattr(self, "_outcome") and not self._outcome.success:
                print(log[-8000:])

    # ---- the instance -----------------------------------------------------
    def boot(self, agents=("virtual",), conf="", vmaps=None, aliases=None,
             transports=None, before_start=None, agent_opts=None):
        """Start an instance with smtpd, cleanup, qmgr, bounce and the
        agents named (agent_opts: {agent: "-o name=value ..."}).  vmaps:
        {address: Maildir path} (default: VUSERS); aliases: aliases(5)
        text; transports: {domain: transport}; the tables are built with
        "ternctl map build"."""
        services = smtp_services(self.port) + SERVICES["qmgr"] + \
            SERVICES["bounce"]
        for a in agents:
            line = SERVICES[a]
            if agent_opts and a in agent_opts:
                line = line[:-1] + " " + agent_opts[a] + "\n"
            services += line
        self.t = Tern(services)
        t = self.t
        self.vbase = os.path.join(t.dir, "vmail")
        os.makedirs(self.vbase)
        os.chmod(self.vbase, 0o700)
        if IS_ROOT:
            os.chown(self.vbase, VUID, VGID)
        self.spool_mail = os.path.join(t.dir, "mail")
        os.makedirs(self.spool_mail)
        os.chmod(self.spool_mail, 0o1777)
        if vmaps is None:
            vmaps = {vaddr(u): "%s/%s/" % (VDOMAIN, u) for u in VUSERS}
        lines = [
            "myhostname = %s" % MYHOSTNAME,
            "mydestination = localhost",
            "virtual_mailbox_domains = %s" % VDOMAIN,
            "virtual_mailbox_base = %s" % self.vbase,
            "virtual_mailbox_maps = lmdb:%s" % self.build_map(
                "vmailbox", "".join("%s %s\n" % kv for kv in
                                    sorted(vmaps.items()))),
            "virtual_uid = %d" % VUID,
            "virtual_gid = %d" % VGID,
            "mail_spool_directory = %s" % self.spool_mail,
            "queue_run_delay = 1s",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 1s",
        ]
        if aliases is not None:
            lines.append("alias_maps = lmdb:%s" % self.build_map(
                "aliases", aliases, "-a"))
        else:
            lines.append("alias_maps =")
        if transports is not None:
            lines.append("transport_maps = lmdb:%s" % self.build_map(
                "transport", "".join("%s %s\n" % kv for kv in
                                     sorted(transports.items()))))
        t.write_conf("\n".join(lines) + "\n" + conf)
        if before_start is not None:
            before_start()
        t.start()
        self.assertTrue(wait_for(lambda: t.children("qmgr"), timeout=WAIT),
                        "no qmgr process")

    def build_map(self, name, text, *flags):
        path = os.path.join(self.t.etc, name)
        with open(path, "w") as f:
            f.write(text)
        self.t.ternctl("map", "build", *flags, path, check=True)
        return path

    # ---- sending ----------------------------------------------------------
    def send(self, rcpts, content, sender="sender@example.org",
             mail_opts=(), rcpt_opts=()):
        """One message through smtpd with smtplib; its queue ID."""
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname=HELO,
                          timeout=30) as s:
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            code, resp = s.mail(sender, list(mail_opts))
            self.assertEqual(code, 250, resp)
            for r in rcpts:
                code, resp = s.rcpt(r, list(rcpt_opts))
                self.assertEqual(code, 250, resp)
            code, resp = s.data(content)
            self.assertEqual(code, 250, resp)
            m = re.match(r"^2\.0\.0 Ok: queued as (%s)$" % QID_RE,
                         resp.decode())
            self.assertIsNotNone(m, resp)
            return m.group(1)

    # ---- the log ----------------------------------------------------------
    def wait_log(self, pattern, what, timeout=WAIT):
        """The first match of pattern in the log, waited for."""
        rx = re.compile(pattern, re.M)
        m = wait_for(lambda: rx.search(self.t.log()), timeout=timeout,
                     step=0.1)
        self.assertTrue(m, "no %s (%r) in the log:\n%s" % (
            what, pattern, self.t.log()[-6000:]))
        return m

    def outcomes(self, qid, addr, status):
        """The log lines that give addr in qid this status."""
        return re.findall(r"^.*\b%s: to=<%s>, .*status=%s \(.*$" % (
            qid, re.escape(addr), status), self.t.log(), re.M)

    def wait_removed(self, qid, timeout=WAIT):
        self.wait_log(r"\b%s: removed$" % qid, "%s removed" % qid, timeout)

    def assert_one_outcome(self, qid, addr, status):
        lines = self.outcomes(qid, addr, status)
        self.assertEqual(len(lines), 1, "%s %s: %r" % (addr, status, lines))
        return lines[0]

    def assert_queue_empty(self):
        left = {d: [n for n in queue_files(self.t.spool, d)
                    if re.match(r"^%s$" % QID_RE, n)] for d in QUEUE_DIRS}
        self.assertEqual({d: f for d, f in left.items() if f}, {})

    # ---- mailboxes --------------------------------------------------------
    def maildir(self, path):
        """Every message in the Maildir at path (new/ and cur/), by
        name; tmp/ must be empty when there is one."""
        out = []
        tmp = os.path.join(path, "tmp")
        if os.path.isdir(tmp):
            self.assertEqual(os.listdir(tmp), [], path)
        for sub in ("new", "cur"):
            d = os.path.join(path, sub)
            for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                with open(os.path.join(d, n), "rb") as f:
                    out.append(f.read())
        return out

    def vmaildir(self, user):
        return self.maildir(os.path.join(self.vbase, VDOMAIN, user))

    def wait_vmail(self, user, n=1, timeout=WAIT):
        wait_for(lambda: len(self.vmaildir(user)) >= n, timeout=timeout,
                 step=0.1)
        msgs = self.vmaildir(user)
        self.assertEqual(len(msgs), n, "%s: %r\n%s" % (
            user, msgs, self.t.log()[-4000:]))
        return msgs

    def notice(self, data, to, rcpt_count=1):
        """Parse a delivery status notification to the address to and
        check its shape (RFC 3464, RFC 6522); (message, per-recipient
        field blocks, part 3)."""
        msg = parse_notice(data)
        self.assertEqual(msg["From"], "Mail Delivery System "
                         "<MAILER-DAEMON@%s>" % MYHOSTNAME)
        self.assertEqual(msg["To"], "<%s>" % to)
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        parts = msg.get_payload()
        self.assertEqual(len(parts), 3, [p.get_content_type()
                                         for p in parts])
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        self.assertEqual(parts[1].get_content_type(),
                         "message/delivery-status")
        self.assertIn(parts[2].get_content_type(),
                      ("text/rfc822-headers", "message/rfc822"))
        # message/delivery-status: the per-message block, then one per
        # recipient; the email package parses each block as a message.
        blocks = parts[1].get_payload()
        self.assertIsInstance(blocks, list)
        self.assertEqual(len(blocks), 1 + rcpt_count, blocks)
        self.assertRegex(blocks[0]["Reporting-MTA"],
                         r"^dns; %s$" % re.escape(MYHOSTNAME))
        return msg, blocks[1:], parts[2]

    def original_headers(self, part):
        """The original header section carried in part 3."""
        if part.get_content_type() == "message/rfc822":
            return part.get_payload()[0]
        return email.message_from_string(part.get_payload(),
                                         policy=email.policy.compat32)

    def notice_sender(self, notice_qid):
        m = self.wait_log(r"\b%s: from=<([^>]*)>, " % notice_qid,
                          "the notice's envelope")
        return m.group(1)

    def notice_qid(self, qid, kind="non-delivery"):
        m = self.wait_log(r"\b%s: sender %s notification: (%s)$" % (
            qid, kind, QID_RE), "a %s notice for %s" % (kind, qid))
        return m.group(1)


# ---- 1. SMTP in -> virtual Maildir ---------------------------------------
class VirtualMaildirTest(E2EBase):
    def test_smtp_to_virtual_maildir(self):
        self.boot()
        content = message("to virtual")
        qid = self.send([vaddr("alice"), vaddr("bob")], content)
        self.wait_removed(qid)
        for user in ("alice", "bob"):
            [got] = self.wait_vmail(user)
            first, _, rest = got.partition(b"\n")
            self.assertEqual(first, b"Delivered-To: %s" %
                             vaddr(user).encode())
            received, rest = received_and_rest(rest)
            self.assertRegex(received.replace(b"\n\t", b" "),
                             rb"^Received: from %s \(\S+ \[127\.0\.0\.1\]\)"
                             rb" by %s \(Tern\) with ESMTP id %s.*\n$" % (
                                 re.escape(HELO).encode(),
                                 re.escape(MYHOSTNAME).encode(),
                                 qid.encode()))
            self.assertEqual(rest, lf(content))
            line = self.assert_one_outcome(qid, vaddr(user), "sent")
            self.assertIn("relay=virtual, ", line)
            self.assertIn("dsn=2.0.0, ", line)
        self.assertEqual(self.t.log_count(r"(?m)\b%s: removed$" % qid), 1)
        self.assertEqual(self.t.log_count(
            r"(?m)\b%s: from=<sender@example.org>, size=\d+, nrcpt=2 "
            r"\(queue active\)$" % qid), 1)
        self.assert_queue_empty()

    @unittest.skipUnless(os.access(SWAKS, os.X_OK), "swaks is not installed")
    def test_swaks_to_virtual_maildir(self):
        self.boot()
        r = subprocess.run(
            [SWAKS, "--server", "127.0.0.1:%d" % self.port,
             "--from", "swaks@example.org", "--ehlo", HELO,
             "--to", vaddr("carol"), "--header", "Subject: from swaks",
             "--body", "Hello from swaks.\n.dot line\n", "--timeout", "20"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = re.search(r"^<-  250 2\.0\.0 Ok: queued as (%s)$" % QID_RE,
                      r.stdout, re.M)
        self.assertIsNotNone(m, r.stdout)
        qid = m.group(1)
        self.wait_removed(qid)
        [got] = self.wait_vmail("carol")
        self.assertTrue(got.startswith(b"Delivered-To: %s\nReceived: " %
                                       vaddr("carol").encode()), got)
        self.assertIn(b"\nSubject: from swaks\n", got)
        # swaks ends the body with a blank line of its own.
        self.assertTrue(got.rstrip(b"\n").endswith(
            b"\n\nHello from swaks.\n.dot line"), got)
        self.assert_one_outcome(qid, vaddr("carol"), "sent")
        self.assert_queue_empty()


# ---- 2. SMTP in -> local mbox and Maildir --------------------------------
def account(k):
    return ACCOUNTS[k]


@unittest.skipUnless(IS_ROOT, "local accounts of our own need root")
class LocalMailboxTest(E2EBase):
    def mbox(self, k):
        try:
            with open(os.path.join(self.spool_mail, account(k).pw_name),
                      "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def mbox_messages(self, k):
        """[(From line sender, message)] of user k's mbox."""
        parts = re.split(rb"^From (\S+) \w{3} \w{3} [ \d]\d "
                         rb"\d\d:\d\d:\d\d \d{4}\n", self.mbox(k), flags=re.M)
        self.assertEqual(parts[0], b"")
        return list(zip(parts[1::2], parts[2::2]))

    def check_local_copy(self, data, rcpt, content, qid=None):
        """Return-Path:, Delivered-To: rcpt (the address before any alias
        expansion), cleanup's Received:, the content (LF line ends) as
        sent."""
        head = b"Return-Path: <sender@example.org>\nDelivered-To: %s\n" % (
            rcpt.encode())
        self.assertTrue(data.startswith(head), data[:300])
        received, rest = received_and_rest(data[len(head):])
        if qid is not None:
            self.assertIn(b" id %s" % qid.encode(), received)
        self.assertEqual(rest, lf(content))

    def test_smtp_to_local_mbox(self):
        self.boot(agents=("local",))
        rcpt = "%s@localhost" % account("u1").pw_name
        content = message("to mbox")
        qid = self.send([rcpt], content)
        self.wait_removed(qid)
        [(frm, data)] = self.mbox_messages("u1")
        self.assertEqual(frm, b"sender@example.org")
        # mbox: the body's From line quoted, a blank line at the end.
        self.assertTrue(data.endswith(b"\n\n"), data)
        quoted = content.replace(b"\r\nFrom the", b"\r\n>From the")
        self.check_local_copy(data[:-1], rcpt, quoted, qid)
        st = os.stat(os.path.join(self.spool_mail, account("u1").pw_name))
        self.assertEqual(st.st_uid, account("u1").pw_uid)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertIn("relay=local, ",
                      self.assert_one_outcome(qid, rcpt, "sent"))
        self.assert_queue_empty()

    def test_smtp_to_home_maildir(self):
        pw = account("u2")
        md = os.path.join(pw.pw_dir, "Maildir")
        shutil.rmtree(md, ignore_errors=True)
        self.boot(agents=("local",), conf="home_mailbox = Maildir/\n")
        rcpt = "%s@localhost" % pw.pw_name
        content = message("to home maildir")
        qid = self.send([rcpt], content)
        self.wait_removed(qid)
        [data] = self.maildir(md)
        self.check_local_copy(data, rcpt, content, qid)
        for n in os.listdir(os.path.join(md, "new")):
            st = os.stat(os.path.join(md, "new", n))
            self.assertEqual((st.st_uid, st.st_gid),
                             (pw.pw_uid, pw.pw_gid))
        self.assertFalse(os.path.exists(os.path.join(self.spool_mail,
                                                     pw.pw_name)))
        self.assert_one_outcome(qid, rcpt, "sent")
        self.assert_queue_empty()

    # ---- 3. alias fan-out -------------------------------------------------
    def test_alias_fan_out(self):
        u1, u2 = account("u1").pw_name, account("u2").pw_name
        self.boot(agents=("local", "virtual"),
                  aliases="# e2e\nteam: %s, %s, %s\n" % (
                      u1, u2, vaddr("carol")))
        content = message("to the team")
        qid = self.send(["team@localhost"], content)
        self.wait_removed(qid)
        for k in ("u1", "u2"):
            [(_, data)] = self.mbox_messages(k)
            quoted = content.replace(b"\r\nFrom the", b"\r\n>From the")
            self.check_local_copy(data[:-1], "team@localhost",
                                  quoted, qid)
            # One line per alias target, with the original recipient.
            target = "%s@localhost" % account(k).pw_name
            line = self.assert_one_outcome(qid, target, "sent")
            self.assertIn("orig_to=<team@localhost>, relay=local, ",
                          line)
        # The virtual address: forwarded through cleanup as a new message.
        m = self.wait_log(r"\b%s: to=<%s>, orig_to=<team@localhost>, "
                          r".*status=sent \(forwarded as (%s)\)$" % (
                              qid, re.escape(vaddr("carol")), QID_RE),
                          "the forwarding")
        fwd = m.group(1)
        self.wait_removed(fwd)
        [data] = self.wait_vmail("carol")
        self.assertTrue(data.startswith(
            b"Delivered-To: %s\n" % vaddr("carol").encode()), data[:300])
        self.assertIn(b"\nDelivered-To: team@localhost\n", data)
        self.assertTrue(data.endswith(lf(content)), data)
        self.assert_one_outcome(fwd, vaddr("carol"), "sent")
        self.assertEqual(self.t.log_count(
            r"(?m)\b%s: from=<sender@example.org>, " % fwd), 1)
        self.assert_queue_empty()


# ---- 4. LMTP into Dovecot -----------------------------------------------
@unittest.skipUnless(dovecot_fixture.available(),
                     "dovecot is not installed (./quickstart installs it)")
class DovecotTest(E2EBase):
    def test_lmtp_into_dovecot(self):
        self.dc = dovecot_fixture.Dovecot()
        self.dc.start()
        dom = dovecot_fixture.DOMAIN
        self.boot(agents=("lmtp",),
                  transports={dom: "lmtp:unix:%s" % self.dc.socket})
        content = message("to dovecot")
        qid = self.send(["alice@" + dom, "bob@" + dom], content)
        self.wait_removed(qid)
        for user in ("alice", "bob"):
            [got] = self.dc.wait_messages(user, 1)
            self.assertTrue(got.endswith(lf(content)), got)
            self.assertIn(b"\nReceived: from %s " % HELO.encode(), got)
            self.assertIn(b" id %s" % qid.encode(), got)
            self.assertIn(b"Return-Path: <sender@example.org>\n", got)
            line = self.assert_one_outcome(qid, "%s@%s" % (user, dom),
                                           "sent")
            self.assertIn("relay=%s, " % self.dc.socket, line)
        self.assert_queue_empty()

    def test_deferred_until_dovecot_comes(self):
        self.dc = dovecot_fixture.Dovecot()     # not started yet
        dom = dovecot_fixture.DOMAIN
        self.boot(agents=("lmtp",),
                  transports={dom: "lmtp:unix:%s" % self.dc.socket})
        content = message("waits for dovecot")
        qid = self.send(["carol@" + dom], content)
        self.assertTrue(wait_for(lambda: queue_files(
            self.t.spool, "deferred") == [qid], timeout=WAIT),
            self.t.log())
        with open(os.path.join(self.t.spool, "defer", qid)) as f:
            self.assertRegex(f.read(), r"^0\tdelayed\t4\.4\.1\t%s\t"
                             r"connect to %s: " % (self.dc.socket,
                                                   self.dc.socket))
        self.assertEqual(self.dc.messages("carol"), [])
        self.dc.start()
        # A destination that failed QMGR_DEAD_AFTER times in a row rests
        # for a minute: allow for that.
        self.wait_removed(qid, timeout=90)
        [got] = self.dc.wait_messages("carol", 1)
        self.assertTrue(got.endswith(lf(content)), got)
        time.sleep(2)       # a retry would come within a second or two
        self.assertEqual(len(self.dc.messages("carol")), 1)
        self.assert_one_outcome(qid, "carol@" + dom, "sent")
        self.assertGreaterEqual(
            len(self.outcomes(qid, "carol@" + dom, "deferred")), 1)
        self.assert_queue_empty()


# ---- 5. unknown user: refused at RCPT, or a bounce ----------------------
class BounceTest(E2EBase):
    def test_unknown_virtual_user_refused_at_rcpt(self):
        """smtpd knows virtual_mailbox_maps: no bounce is made (no
        backscatter), the client has the error."""
        self.boot()
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname=HELO,
                          timeout=30) as s:
            s.ehlo()
            self.assertEqual(s.mail(vaddr("alice"))[0], 250)
            code, resp = s.rcpt(vaddr("nobody"))
        self.assertEqual(code, 550, resp)
        self.assertEqual(resp, b"5.1.1 <%s>: Recipient address rejected: "
                         b"User unknown in virtual mailbox table"
                         % vaddr("nobody").encode())
        self.assertEqual(self.t.log_count(r"(?m)\(queue active\)$"), 0)
        self.assert_queue_empty()

    def test_unknown_virtual_user_bounces(self):
        """An address smtpd cannot check: an alias that forwards to an
        unknown virtual user.  The virtual agent bounces it and the
        notice comes back to the sender's own virtual Maildir."""
        self.boot(agents=("local", "virtual"),
                  aliases="moved: %s\n" % vaddr("nobody"))
        content = message("to nobody", sender=vaddr("alice"))
        qid = self.send(["moved@localhost"], content, sender=vaddr("alice"))
        m = self.wait_log(r"\b%s: to=<%s>, orig_to=<moved@localhost>, "
                          r".*status=sent \(forwarded as (%s)\)$" % (
                              qid, re.escape(vaddr("nobody")), QID_RE),
                          "the forwarding")
        fwd = m.group(1)
        nqid = self.notice_qid(fwd)
        self.wait_removed(qid)
        self.wait_removed(fwd)
        self.wait_removed(nqid)
        [data] = self.wait_vmail("alice")
        self.assertTrue(data.startswith(b"Delivered-To: %s\n" %
                                        vaddr("alice").encode()))
        msg, [r], orig = self.notice(data, vaddr("alice"))
        self.assertEqual(msg["Subject"], "Undelivered Mail Returned to "
                         "Sender")
        self.assertEqual(r["Final-Recipient"], "rfc822; " + vaddr("nobody"))
        self.assertEqual(r["Action"], "failed")
        self.assertEqual(r["Status"], "5.1.1")
        h = self.original_headers(orig)
        self.assertEqual(h["Subject"], "to nobody")
        self.assertEqual(h["Message-ID"], "<to-nobody.%d@example.org>"
                         % os.getpid())
        self.assertEqual(h["Delivered-To"], "moved@localhost")
        # cleanup's Received: of the forwarded copy, then of the original.
        received = h.get_all("Received")
        self.assertEqual(len(received), 2, received)
        self.assertRegex(received[0], r"^by %s \(Tern\)\s+id %s;" % (
            re.escape(MYHOSTNAME), fwd))
        self.assertRegex(received[1], r"\sid %s\s" % qid)
        # The notice comes from the null sender.
        self.assertEqual(self.notice_sender(nqid), "")
        line = self.assert_one_outcome(fwd, vaddr("nobody"), "bounced")
        self.assertIn("relay=virtual, ", line)
        self.assertIn("dsn=5.1.1, ", line)
        self.assert_one_outcome(nqid, vaddr("alice"), "sent")
        self.assertEqual(self.vmaildir("nobody"), [])
        self.assert_queue_empty()


# ---- 6. deferred, then delivered ---------------------------------------
def unwritable_domain_dir(test):
    """The virtual domain's directory, made read-only: its Maildirs
    cannot be created until the test makes it writable."""
    d = os.path.join(test.vbase, VDOMAIN)
    os.makedirs(d)
    if IS_ROOT:
        os.chown(d, VUID, VGID)
    os.chmod(d, 0o500)
    return d


class DeferTest(E2EBase):
    def test_deferred_then_delivered_once(self):
        self.boot(before_start=lambda: unwritable_domain_dir(self))
        d = os.path.join(self.vbase, VDOMAIN)
        content = message("deferred first")
        qid = self.send([vaddr("dave")], content)
        self.assertTrue(wait_for(lambda: queue_files(
            self.t.spool, "deferred") == [qid], timeout=WAIT),
            self.t.log())
        with open(os.path.join(self.t.spool, "defer", qid)) as f:
            reason = f.read()
        self.assertRegex(reason, r"^0\tdelayed\t4\.\d+\.\d+\tvirtual\t"
                         r".*Permission denied\n")
        self.assertIn("Permission denied",
                      self.outcomes(qid, vaddr("dave"), "deferred")[0])
        os.chmod(d, 0o700)
        self.wait_removed(qid)
        [got] = self.wait_vmail("dave")
        self.assertTrue(got.endswith(lf(content)))
        self.assert_one_outcome(qid, vaddr("dave"), "sent")
        time.sleep(2)       # a retry would come within a second or two
        self.assertEqual(len(self.vmaildir("dave")), 1)
        self.assert_one_outcome(qid, vaddr("dave"), "sent")
        self.assert_queue_empty()


# ---- 7. lifetime expiry -------------------------------------------------
class ExpiryTest(E2EBase):
    def test_lifetime_expiry_bounce(self):
        closed = free_port()
        self.boot(agents=("virtual", "lmtp"),
                  conf="maximal_queue_lifetime = 3s\n",
                  transports={"dead.example.test":
                              "lmtp:inet:127.0.0.1:%d" % closed})
        content = message("never arrives", sender=vaddr("alice"))
        qid = self.send(["x@dead.example.test"], content,
                        sender=vaddr("alice"))
        self.wait_log(r"\b%s: to=<x@dead\.example\.test>, .*"
                      r"status=deferred " % qid, "a deferral")
        nqid = self.notice_qid(qid)
        self.wait_removed(qid)
        self.wait_removed(nqid)
        [data] = self.wait_vmail("alice")
        msg, [r], orig = self.notice(data, vaddr("alice"))
        self.assertEqual(r["Final-Recipient"], "rfc822; x@dead.example.test")
        self.assertEqual(r["Action"], "failed")
        self.assertEqual(r["Status"], "4.4.7")
        self.assertEqual(self.original_headers(orig)["Subject"],
                         "never arrives")
        line = self.assert_one_outcome(qid, "x@dead.example.test", "bounced")
        self.assertIn("dsn=4.4.7, ", line)
        self.assertIn("message expired", line)
        self.assertEqual(self.notice_sender(nqid), "")
        self.assert_queue_empty()


# ---- 8. hold/ and corrupt/ -----------------------------------------------
class HoldCorruptTest(E2EBase):
    def move(self, qid, src, dst, timeout=WAIT):
        """Move a queue file between spool directories; the queue manager
        may have it in active/ for a moment, so try until it is back."""
        a = os.path.join(self.t.spool, src, qid)
        b = os.path.join(self.t.spool, dst, qid)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                os.rename(a, b)
                return
            except FileNotFoundError:
                time.sleep(0.02)
        self.fail("%s never in %s/:\n%s" % (qid, src, self.t.log()))

    def test_hold(self):
        self.boot(before_start=lambda: unwritable_domain_dir(self))
        d = os.path.join(self.vbase, VDOMAIN)
        qid = self.send([vaddr("dave")], message("held"))
        self.move(qid, "deferred", "hold")
        os.chmod(d, 0o700)      # deliverable now, but held
        passes = self.t.log_count(r"(?m)\b%s: from=<" % qid)
        time.sleep(4)           # several queue runs
        self.assertEqual(queue_files(self.t.spool, "hold"), [qid])
        self.assertEqual(self.t.log_count(r"(?m)\b%s: from=<" % qid), passes)
        self.assertEqual(self.vmaildir("dave"), [])
        self.move(qid, "hold", "incoming")
        self.wait_removed(qid)
        self.assertEqual(len(self.wait_vmail("dave")), 1)
        self.assert_one_outcome(qid, vaddr("dave"), "sent")
        self.assert_queue_empty()

    def test_corrupt(self):
        self.boot()
        qmgr_pids = self.t.children("qmgr")
        bad = "0" * 24
        tmp = os.path.join(self.t.spool, "incoming", "t.garbage")
        with open(tmp, "wb") as f:
            f.write(b"this is not a queue file\n" * 10)
        if IS_ROOT:
            pw = tern_fixture.test_user()
            os.chown(tmp, pw.pw_uid, pw.pw_gid)
        os.rename(tmp, os.path.join(self.t.spool, "incoming", bad))
        self.wait_log(r"\b%s: corrupt queue file moved to corrupt/" % bad,
                      "the corrupt file's line")
        self.assertEqual(queue_files(self.t.spool, "corrupt"), [bad])
        qid = self.send([vaddr("alice")], message("after the garbage"))
        self.wait_removed(qid)
        self.assertEqual(len(self.wait_vmail("alice")), 1)
        self.assertEqual(self.t.children("qmgr"), qmgr_pids)
        self.assert_queue_empty()


# ---- 9. mail loops ------------------------------------------------------
class LoopTest(E2EBase):
    def test_delivered_to_loop_bounces(self):
        self.boot()
        content = message("loop", sender=vaddr("bob"),
                          extra=b"Delivered-To: %s\r\n" %
                          vaddr("alice").encode())
        qid = self.send([vaddr("alice")], content, sender=vaddr("bob"))
        nqid = self.notice_qid(qid)
        self.wait_removed(qid)
        self.wait_removed(nqid)
        [data] = self.wait_vmail("bob")
        _, [r], orig = self.notice(data, vaddr("bob"))
        self.assertEqual(r["Final-Recipient"], "rfc822; " + vaddr("alice"))
        self.assertEqual(r["Action"], "failed")
        self.assertEqual(r["Status"], "5.4.6")
        self.assertEqual(self.original_headers(orig)["Subject"], "loop")
        self.assertEqual(self.vmaildir("alice"), [])
        self.assert_one_outcome(qid, vaddr("alice"), "bounced")
        self.assert_queue_empty()

    def hops(self, n):
        return b"".join(b"Received: from hop%d.example.org by hop%d."
                        b"example.org; Mon, 1 Jan 2024 00:00:0%d +0000\r\n"
                        % (i, i + 1, i) for i in range(n))

    def test_too_many_received_fields_refused_at_smtp_time(self):
        limit = 5
        self.boot(conf="hopcount_limit = %d\n" % limit)
        content = self.hops(limit + 1) + message("hops", sender=vaddr("bob"))
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname=HELO,
                          timeout=30) as s:
            s.ehlo()
            self.assertEqual(s.mail(vaddr("bob"))[0], 250)
            self.assertEqual(s.rcpt(vaddr("alice"))[0], 250)
            code, resp = s.data(content)
        # cleanup counts the Received: fields (with its own) and refuses:
        # the sending client has the error, nothing is queued.
        self.assertEqual(code, 554, resp)
        self.assertEqual(resp, b"5.4.6 Error: too many hops "
                         b"(Received: headers)")
        time.sleep(1)
        self.assertEqual(self.t.log_count(r"(?m)\(queue active\)$"), 0)
        self.assertEqual(self.vmaildir("alice"), [])
        self.assertEqual(self.vmaildir("bob"), [])
        self.assert_queue_empty()

    def test_too_many_received_fields_bounced_by_the_agent(self):
        # The agent's limit is below cleanup's: cleanup takes the message
        # (4 Received: fields and its own), the agent finds 5 > 3.
        self.boot(conf="hopcount_limit = 6\n",
                  agent_opts={"virtual": "-o hopcount_limit=3"})
        content = self.hops(4) + message("hops", sender=vaddr("bob"))
        qid = self.send([vaddr("alice")], content, sender=vaddr("bob"))
        nqid = self.notice_qid(qid)
        self.wait_removed(qid)
        self.wait_removed(nqid)
        [data] = self.wait_vmail("bob")
        _, [r], orig = self.notice(data, vaddr("bob"))
        self.assertEqual(r["Final-Recipient"], "rfc822; " + vaddr("alice"))
        self.assertEqual(r["Action"], "failed")
        self.assertEqual(r["Status"], "5.4.6")
        self.assertEqual(len(self.original_headers(orig).get_all(
            "Received")), 5)
        self.assertEqual(self.vmaildir("alice"), [])
        line = self.assert_one_outcome(qid, vaddr("alice"), "bounced")
        self.assertIn("dsn=5.4.6, ", line)
        self.assert_queue_empty()


# ---- 10. remote mail waits while DNS cannot answer -------------------------
class RemoteTest(E2EBase):
    def test_remote_recipient_stays_deferred(self):
        """The fixture's resolver refuses every name (no query leaves the
        machine): the SMTP client defers, and the message waits."""
        self.boot(agents=("virtual", "smtp-client"))
        qid = self.send(["someone@remote.example"], message("remote"))
        self.assertTrue(wait_for(lambda: queue_files(
            self.t.spool, "deferred") == [qid], timeout=WAIT),
            self.t.log())
        with open(os.path.join(self.t.spool, "defer", qid)) as f:
            text = f.read()
        self.assertIn("\tdelayed\t4.4.3\t", text)
        self.assertIn("name=remote.example type=MX", text)
        first = len(self.outcomes(qid, "someone@remote.example",
                                  "deferred"))
        time.sleep(3)           # more attempts: still waiting, not lost
        self.assertGreater(len(self.outcomes(
            qid, "someone@remote.example", "deferred")), first)
        self.assertEqual(self.outcomes(qid, "someone@remote.example",
                                       "bounced"), [])
        self.assertIn(qid, queue_files(self.t.spool, "deferred") +
                      queue_files(self.t.spool, "active"))
        self.assertEqual(self.t.log_count(r"(?m)\b%s: removed" % qid), 0)
        self.assertEqual(self.t.log_count(
            r"(?m)\b%s: .*notification" % qid), 0)


# ---- 11. DSN NOTIFY ------------------------------------------------------
class NotifyTest(E2EBase):
    def test_notify_success(self):
        self.boot()
        qid = self.send([vaddr("alice")], message("tell me",
                                                  sender=vaddr("bob")),
                        sender=vaddr("bob"), rcpt_opts=["NOTIFY=SUCCESS"])
        nqid = self.notice_qid(qid, "delivery status")
        self.wait_removed(qid)
        self.wait_removed(nqid)
        self.assertEqual(len(self.wait_vmail("alice")), 1)
        [data] = self.wait_vmail("bob")
        msg, [r], orig = self.notice(data, vaddr("bob"))
        self.assertEqual(msg["Subject"], "Successful Mail Delivery Report")
        self.assertEqual(r["Final-Recipient"], "rfc822; " + vaddr("alice"))
        self.assertEqual(r["Action"], "delivered")
        self.assertEqual(r["Status"], "2.0.0")
        self.assertEqual(self.original_headers(orig)["Subject"], "tell me")
        self.assertEqual(self.notice_sender(nqid), "")
        self.assert_queue_empty()

    def test_notify_never(self):
        # As in BounceTest: an alias forwards to an unknown virtual user;
        # the new message keeps the recipient's NOTIFY=NEVER.
        self.boot(agents=("local", "virtual"),
                  aliases="moved: %s\n" % vaddr("nobody"))
        qid = self.send(["moved@localhost"], message("do not tell",
                                                     sender=vaddr("bob")),
                        sender=vaddr("bob"), rcpt_opts=["NOTIFY=NEVER"])
        m = self.wait_log(r"\b%s: to=<%s>, .*status=sent \(forwarded as "
                          r"(%s)\)$" % (qid, re.escape(vaddr("nobody")),
                                        QID_RE), "the forwarding")
        fwd = m.group(1)
        self.wait_removed(qid)
        self.wait_removed(fwd)
        self.assert_one_outcome(fwd, vaddr("nobody"), "bounced")
        time.sleep(2)
        self.assertEqual(self.vmaildir("bob"), [])
        for q in (qid, fwd):
            self.assertEqual(self.t.log_count(
                r"(?m)\b%s: .*notification" % q), 0)
        self.assertEqual(self.t.log_count(r"(?m): from=<>, "), 0)
        self.assert_queue_empty()
