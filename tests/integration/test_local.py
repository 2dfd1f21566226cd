# SPDX-License-Identifier: ISC
"""The local delivery agent, driven as qmgr drives it (docs/ipc.md, "qmgr
-> delivery agents"): queue files made by a real cleanup, handed over
private/local with their descriptor, one result per recipient read back.

Covers mailboxes (mbox in a spool directory, Maildir under the home),
unknown users, aliases (several users, chains, loops, "\\user", the
extension of user+ext), :include: files, |commands and /files allowed and
refused, the Delivered-To: and hop count loop checks, a mailbox that
cannot be written, mail for uid 0, forwarding to remote addresses through
cleanup, and the log lines.

As root the agent really becomes each user: the module makes throwaway
accounts through the fixture and checks who owns what was written and
which uid ran the commands.  As another user every delivery runs as that
user, and the tests that need several accounts are skipped."""
import os
import pwd
import re
import shutil
import socket
import stat
import tempfile
import unittest

import attr_wire
import qfile_reader
import tern_fixture
from tern_fixture import IS_ROOT, QID_RE, Tern, queue_files, wait_for

SENDER = "sender@example.org"
MESSAGE = (b"From: Sender <sender@example.org>\r\n"
           b"To: someone@localhost\r\n"
           b"Subject: local delivery test\r\n"
           b"\r\n"
           b"first body line\r\n"
           b"From the start of a line\r\n"
           b"last line\r\n")

# Accounts: as root, made for this module; otherwise, ourselves.
ACCOUNTS = {}
HOMES = None


def setUpModule():
    global HOMES
    HOMES = tempfile.mkdtemp(prefix="tern-local-homes-")
    os.chmod(HOMES, 0o755)
    if not IS_ROOT:
        me = pwd.getpwuid(os.getuid())
        for k in ("u1", "u2", "u3"):
            ACCOUNTS[k] = me
        return
    for k in ("u1", "u2", "u3"):
        name = "tl%d%s" % (os.getpid() % 100000, k)
        try:
            ACCOUNTS[k] = tern_fixture.make_user(
                name, os.path.join(HOMES, name))
        except Exception:
            tearDownModule()
            raise


def tearDownModule():
    if IS_ROOT:
        for pw in ACCOUNTS.values():
            tern_fixture.remove_user(pw.pw_name)
    ACCOUNTS.clear()
    if HOMES is not None:
        shutil.rmtree(HOMES, ignore_errors=True)


def name(k):
    return ACCOUNTS[k].pw_name


def uid(k):
    return ACCOUNTS[k].pw_uid


def nobody_uid():
    return pwd.getpwnam("nobody").pw_uid if IS_ROOT else os.getuid()


class LocalConn:
    """One qmgr connection to a local service."""

    def __init__(self, path, timeout=60.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def close(self):
        self.sock.close()

    def request(self, qfile, qid, sender, rcpts, nexthop="localhost"):
        """rcpts: [(index, addr)]; returns the replies, by request order."""
        fd = os.open(qfile, os.O_RDONLY)
        try:
            socket.send_fds(self.sock, [b"Q"], [fd])
        finally:
            os.close(fd)
        self.sock.sendall(attr_wire.encode([
            ("request", "deliver"), ("proto", "deliver/1"),
            ("queue_id", qid), ("nexthop", nexthop), ("sender", sender),
            ("nrcpt", len(rcpts))]))
        for index, addr in rcpts:
            self.sock.sendall(attr_wire.encode([
                ("request", "rcpt"), ("index", index), ("addr", addr),
                ("orcpt_type", ""), ("orcpt", ""), ("notify", 0)]))
        out = [attr_wire.read(self.sock) for _ in rcpts]
        done = attr_wire.read(self.sock)
        if done != {"status": "done"}:
            raise AssertionError("no done: %r" % done)
        return out


def submit(spool, rcpts, content=MESSAGE, sender=SENDER, origin=None):
    """A message through private/cleanup; returns its queue ID."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(os.path.join(spool, "private", "cleanup"))
    try:
        begin = [("request", "begin"), ("proto", "cleanup/1"),
                 ("client_name", "client.example.test"),
                 ("client_addr", "127.0.0.1"), ("client_port", "40000"),
                 ("helo", "client.example.test"), ("protocol", "ESMTP"),
                 ("sender", sender), ("smtputf8", 0), ("body", ""),
                 ("ret", ""), ("envid", ""), ("size", 0),
                 ("nrcpt", len(rcpts))]
        s.sendall(attr_wire.encode(begin))
        for r in rcpts:
            s.sendall(attr_wire.encode([
                ("request", "rcpt"), ("addr", r), ("notify", 0),
                ("orcpt_type", ""), ("orcpt", "")]))
        r = attr_wire.read(s)
        if r.get("status") != "ok":
            raise AssertionError("cleanup: %r" % r)
        s.sendall(attr_wire.encode([("request", "data"),
                                    ("bytes", content)]))
        s.sendall(attr_wire.encode([("request", "end"),
                                    ("size", len(content))]))
        r = attr_wire.read(s)
        if r.get("status") != "ok":
            raise AssertionError("cleanup: %r" % r)
        return r["queue_id"]
    finally:
        s.close()


def cleanup_takes_internal(spool):
    """Does this cleanup accept origin=internal (docs/ipc.md)?"""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(os.path.join(spool, "private", "cleanup"))
    try:
        s.sendall(attr_wire.encode([
            ("request", "begin"), ("proto", "cleanup/1"),
            ("origin", "internal"), ("sender", SENDER), ("smtputf8", 0),
            ("body", ""), ("ret", ""), ("envid", ""), ("size", 0),
            ("nrcpt", 1)]))
        s.sendall(attr_wire.encode([
            ("request", "rcpt"), ("addr", "probe@remote.example"),
            ("notify", 0), ("orcpt_type", ""), ("orcpt", "")]))
        try:
            r = attr_wire.read(s)
        except (EOFError, ConnectionResetError):
            return False
        return r.get("status") == "ok"
    finally:
        s.close()


class LocalTestBase(unittest.TestCase):
    """One instance per class: cleanup, and several local services that
    differ by -o overrides."""

    def setUp(self):
        self.t = Tern()
        self.addCleanup(self.finish)
        d = self.t.dir
        self.mail = os.path.join(d, "mail")          # the spool directory
        self.mail_ro = os.path.join(d, "mail-ro")
        self.out = os.path.join(d, "out")            # commands write here
        self.inc = os.path.join(d, "inc")            # :include: files
        for p in (self.mail, self.mail_ro, self.out):
            os.makedirs(p)
            os.chmod(p, 0o1777)
        os.makedirs(self.inc)
        os.chmod(self.inc, 0o755)
        etc = self.t.etc
        self.aliases = os.path.join(etc, "aliases")
        self.aliases_u1 = os.path.join(etc, "aliases_u1")
        self.aliases_self = os.path.join(etc, "aliases_self")
        self.write_aliases()
        self.t.write_conf(
            "mydestination = localhost, example.test\n"
            "recipient_delimiter = +\n"
            "mail_spool_directory = %s\n"
            "alias_maps = lmdb:%s, lmdb:%s\n"
            "command_time_limit = 5s\n"
            % (self.mail, self.aliases, self.aliases_u1))
        self.t.write_services(
            "cleanup unix private/cleanup y n 20 0 - cleanup\n"
            "local unix private/local n n 10 0 - local\n"
            "localstrict unix private/localstrict n n 10 0 - local"
            " -o allow_mail_to_commands=forward"
            " -o allow_mail_to_files=forward -o hopcount_limit=3\n"
            "localmd unix private/localmd n n 10 0 - local"
            " -o home_mailbox=Maildir/\n"
            "localro unix private/localro n n 10 0 - local"
            " -o mail_spool_directory=%s\n"
            "localself unix private/localself n n 10 0 - local"
            " -o alias_maps=lmdb:%s,lmdb:%s\n"
            % (self.mail_ro, self.aliases, self.aliases_self))
        self.t.start()

    def finish(self):
        log = self.t.remove()
        if hasattr(self, "_outcome") and not self._outcome.success:
            print(log[-6000:])

    def write_aliases(self):
        u1, u2, u3 = name("u1"), name("u2"), name("u3")
        inc_list = os.path.join(self.inc, "list")
        inc_cmd = os.path.join(self.inc, "cmdlist")
        inc_private = os.path.join(self.inc, "private")
        inc_loop = os.path.join(self.inc, "loop")
        self.write(inc_list, "# the members\n%s\n\n  chain3  \n" % u1)
        self.write(inc_cmd, "|touch %s/from-include\n" % self.out)
        self.write(inc_private, "%s\n" % u1, mode=0o600, owner="u1")
        self.write(inc_loop, ":include:%s\n" % inc_loop)
        self.write(self.aliases, "\n".join([
            "# test aliases",
            "team: %s, %s" % (u1, u2),
            "chain1: chain2",
            "chain2: Chain3",
            "chain3: %s" % u1,
            "loopa: loopb",
            "loopb: loopc",
            "loopc: loopa",
            "deep0: deep1",
        ] + ["deep%d: deep%d" % (i, i + 1) for i in range(1, 30)] + [
            "deep30: %s" % u1,
            "bs: \\%s" % u1,
            "inc: :include:%s" % inc_list,
            "inccmd: :include:%s" % inc_cmd,
            "incprivate: :include:%s" % inc_private,
            "incloop: :include:%s" % inc_loop,
            "incmissing: :include:%s/none" % self.inc,
            "cmdnobody: \"|id -u > %s/nobody.uid\"" % self.out,
            "tofile: %s/file.mbox" % self.out,
            "tomaildir: %s/md/" % self.out,
            "devnull: /dev/null",
            "cmdfail: \"|echo oops, no such thing; exit 67\"",
            "cmdtemp: \"|echo try later; exit 75\"",
            "cmdslow: \"|sleep 60\"",
            "mixed: %s, \"|exit 75\"" % u1,
            "bounced: %s, nosuchuser4711" % u1,
            "extal: %s" % u1,
            "fwd: someone@remote.example, %s, other@remote.example" % u1,
            "fwdlocal: %s@example.test" % u1,
            "toroot: root",
            "dup: %s, chain1, team" % u1,
            "",
        ]))
        self.write(self.aliases_u1, "\n".join([
            "cmdu1: \"|id -u > %s/u1.uid; cat > %s/u1.msg\"" % (
                self.out, self.out),
            "cmdenv: \"|env > %s/env\"" % self.out,
            "fileu1: %s/u1.mbox" % self.out,
            "",
        ]), owner="u1")
        # Not root: u2 and u3 are the same account, so one line only.
        self.write(self.aliases_self,
                   "%s: \\%s, %s/selfcopy\n" % (u3, u3, self.out) +
                   ("%s: %s, %s/selfcopy2\n" % (u2, u2, self.out)
                    if IS_ROOT else ""))
        for src in (self.aliases, self.aliases_u1, self.aliases_self):
            self.t.ternctl("map", "build", "-a", src, check=True)

    def write(self, path, text, mode=0o644, owner=None):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        if owner is not None and IS_ROOT:
            os.chown(path, uid(owner), ACCOUNTS[owner].pw_gid)

    # ---- driving the agent ------------------------------------------------
    def deliver(self, rcpts, service="local", content=MESSAGE,
                sender=SENDER):
        """Queue a message for rcpts and have service deliver it all;
        returns ({addr: reply}, queue ID)."""
        qid = submit(self.t.spool, rcpts, content=content, sender=sender)
        c = LocalConn(os.path.join(self.t.spool, "private", service))
        try:
            replies = c.request(
                os.path.join(self.t.spool, "incoming", qid), qid, sender,
                list(enumerate(rcpts)))
        finally:
            c.close()
        for i, r in enumerate(replies):
            self.assertEqual(r["status"], "rcpt", r)
            self.assertEqual(r["index"], i, r)
            self.assertEqual(r["relay"], "local", r)
        return dict(zip(rcpts, replies)), qid

    def one(self, rcpt, **kw):
        replies, qid = self.deliver([rcpt], **kw)
        return replies[rcpt], qid

    def assert_result(self, r, result, dsn, text=None):
        self.assertEqual((r["result"], r["dsn"]), (result, dsn), r)
        if text is not None:
            self.assertRegex(r["text"], text)

    def mbox(self, k, spool=None):
        p = os.path.join(spool or self.mail, name(k))
        try:
            with open(p, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def assert_in_mbox(self, k, rcpt, count=1, spool=None):
        box = self.mbox(k, spool)
        self.assertEqual(box.count(b"Subject: local delivery test\n"), count,
                         box)
        self.assertIn(b"Delivered-To: %s\n" % rcpt.encode(), box)
        st = os.stat(os.path.join(spool or self.mail, name(k)))
        self.assertEqual(st.st_uid, uid(k))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def log_lines(self, qid):
        return [ln for ln in self.t.log().splitlines()
                if "local[" in ln and qid + ": to=<" in ln]

    def read_out(self, fname):
        with open(os.path.join(self.out, fname)) as f:
            return f.read()


class MailboxTest(LocalTestBase):
    def test_mbox_in_the_spool_directory(self):
        rcpt = "%s@localhost" % name("u1")
        r, qid = self.one(rcpt)
        self.assert_result(r, "sent", "2.0.0", r"^delivered to mailbox$")
        box = self.mbox("u1")
        self.assertTrue(box.startswith(b"From sender@example.org "), box)
        head, _, rest = box.partition(b"\n")
        self.assertEqual(rest.split(b"\n")[:2], [
            b"Return-Path: <sender@example.org>",
            b"Delivered-To: " + rcpt.encode()])
        self.assertIn(b"\nReceived: from client.example.test", box)
        # LF line ends, the From line quoted, a blank line at the end.
        self.assertIn(b"first body line\n>From the start of a line\n"
                      b"last line\n\n", box)
        self.assertNotIn(b"\r", box)
        self.assert_in_mbox("u1", rcpt)
        lines = self.log_lines(qid)
        self.assertEqual(lines, [ln for ln in lines if re.search(
            r"%s: to=<%s>, relay=local, delay=\d+\.\d\d, dsn=2\.0\.0, status=sent "
            r"\(delivered to mailbox\)$" % (qid, re.escape(rcpt)), ln)])
        self.assertEqual(len(lines), 1, self.t.log())

    def test_local_part_is_case_insensitive_and_second_message_appends(self):
        rcpt = "%s@LocalHost" % name("u1").upper()
        for _ in range(2):
            r, _ = self.one(rcpt)
            self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(self.mbox("u1").count(b"\nFrom sender@example"), 1)
        self.assert_in_mbox("u1", rcpt, count=2)

    @unittest.skipUnless(IS_ROOT, "a home directory of our own needs root")
    def test_maildir_under_the_home(self):
        rcpt = "%s@localhost" % name("u1")
        r, _ = self.one(rcpt, service="localmd")
        self.assert_result(r, "sent", "2.0.0", r"^delivered to maildir$")
        md = os.path.join(ACCOUNTS["u1"].pw_dir, "Maildir")
        new = os.listdir(os.path.join(md, "new"))
        self.assertEqual(len(new), 1, new)
        p = os.path.join(md, "new", new[0])
        st = os.stat(p)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                         (uid("u1"), 0o600))
        for sub in ("", "tmp", "new", "cur"):
            self.assertEqual(os.stat(os.path.join(md, sub)).st_uid,
                             uid("u1"))
        with open(p, "rb") as f:
            msg = f.read()
        self.assertTrue(msg.startswith(
            b"Return-Path: <sender@example.org>\nDelivered-To: %s\n"
            % rcpt.encode()), msg)
        self.assertIn(b"\nFrom the start of a line\n", msg)
        self.assertTrue(new[0].endswith(",S=%d" % len(msg)), new[0])
        self.assertEqual(os.listdir(os.path.join(md, "tmp")), [])

    def test_unknown_user_bounces(self):
        r, qid = self.one("nosuchuser4711@localhost")
        self.assert_result(r, "bounced", "5.1.1",
                           r'^unknown user: "nosuchuser4711"$')
        self.assertEqual(len(self.log_lines(qid)), 1)
        self.assertRegex(self.log_lines(qid)[0], r"status=bounced")

    def test_recipient_delimiter(self):
        rcpt = "%s+folder@localhost" % name("u1")
        r, qid = self.one(rcpt)
        self.assert_result(r, "sent", "2.0.0")
        self.assert_in_mbox("u1", rcpt)
        # An alias is looked up with its extension, then without.
        r, _ = self.one("extal+anything@localhost")
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(self.mbox("u1").count(b"Subject: local"), 2)

    def test_domain_not_ours_defers(self):
        r, _ = self.one("%s@elsewhere.example" % name("u1"))
        self.assert_result(r, "deferred", "4.3.5", "not in mydestination")
        self.assertEqual(self.mbox("u1"), b"")

    def test_uid_0_is_never_delivered_as_root(self):
        for rcpt in ("root@localhost", "toroot@localhost"):
            r, _ = self.one(rcpt)
            self.assert_result(r, "deferred", "4.3.5", r"uid 0")
        self.assertFalse(os.path.exists(os.path.join(self.mail, "root")))

    def test_read_only_mailbox_defers(self):
        p = os.path.join(self.mail_ro, name("u1"))
        with open(p, "wb") as f:
            f.write(b"old\n")
        os.chmod(p, 0o400)
        if IS_ROOT:
            os.chown(p, uid("u1"), ACCOUNTS["u1"].pw_gid)
        r, _ = self.one("%s@localhost" % name("u1"), service="localro")
        self.assert_result(r, "deferred", "4.2.0",
                           r"^cannot deliver to mailbox .*Permission denied")
        with open(p, "rb") as f:
            self.assertEqual(f.read(), b"old\n")

    def test_several_recipients_in_one_request(self):
        rcpts = ["%s@localhost" % name("u1"), "nosuchuser4711@localhost",
                 "root@localhost"]
        replies, qid = self.deliver(rcpts)
        self.assertEqual([replies[r]["result"] for r in rcpts],
                         ["sent", "bounced", "deferred"])
        self.assertEqual(len(self.log_lines(qid)), 3)


class LoopTest(LocalTestBase):
    def test_delivered_to_loop_bounces(self):
        rcpt = "%s@localhost" % name("u1")
        content = b"Delivered-To: %s\r\n" % rcpt.upper().encode() + MESSAGE
        r, _ = self.one(rcpt, content=content)
        self.assert_result(r, "bounced", "5.4.6", "mail forwarding loop")
        self.assertEqual(self.mbox("u1"), b"")
        # Another recipient's Delivered-To: is no loop.
        content = b"Delivered-To: other@localhost\r\n" + MESSAGE
        r, _ = self.one(rcpt, content=content)
        self.assert_result(r, "sent", "2.0.0")

    def test_hop_count(self):
        rcpt = "%s@localhost" % name("u1")
        hops = b"".join(b"Received: from hop%d by x; date\r\n" % i
                        for i in range(3))
        # cleanup adds one: 4 > hopcount_limit = 3 on localstrict.
        r, _ = self.one(rcpt, service="localstrict", content=hops + MESSAGE)
        self.assert_result(r, "bounced", "5.4.6", "too many hops")
        r, _ = self.one(rcpt, content=hops + MESSAGE)
        self.assert_result(r, "sent", "2.0.0")


class AliasTest(LocalTestBase):
    @unittest.skipUnless(IS_ROOT, "several accounts need root")
    def test_alias_to_several_users(self):
        r, qid = self.one("team@localhost")
        self.assert_result(r, "sent", "2.0.0",
                           r"^delivered to 2 alias targets$")
        self.assert_in_mbox("u1", "team@localhost")
        self.assert_in_mbox("u2", "team@localhost")
        lines = self.log_lines(qid)
        self.assertEqual(len(lines), 2, lines)
        for k, ln in zip(("u1", "u2"), lines):
            self.assertRegex(ln, r"to=<%s@localhost>, orig_to=<team@"
                             r"localhost>, relay=local, delay=\d+\.\d\d, dsn=2\.0\.0, "
                             r"status=sent \(delivered to mailbox\)" %
                             name(k))

    def test_alias_chain(self):
        r, qid = self.one("chain1@localhost")
        self.assert_result(r, "sent", "2.0.0", r"^delivered to mailbox$")
        self.assert_in_mbox("u1", "chain1@localhost")
        self.assertRegex(self.log_lines(qid)[0], r"orig_to=<chain1@")

    def test_targets_reached_twice_get_one_copy(self):
        r, _ = self.one("dup@localhost")
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(self.mbox("u1").count(b"Subject: local"), 1)
        if IS_ROOT:
            self.assertEqual(self.mbox("u2").count(b"Subject: local"), 1)

    def test_alias_loop_bounces(self):
        r, _ = self.one("loopa@localhost")
        self.assert_result(r, "bounced", "5.4.6",
                           r"alias loop: loopa expands to itself through "
                           r"loopc")
        r, _ = self.one("deep0@localhost")
        self.assert_result(r, "bounced", "5.4.6", "nested too deeply")
        self.assertEqual(self.mbox("u1"), b"")

    def test_backslash_user_and_self_reference(self):
        r, _ = self.one("bs@localhost")
        self.assert_result(r, "sent", "2.0.0", r"^delivered to mailbox$")
        self.assert_in_mbox("u1", "bs@localhost")
        # "u3: \u3, /file": u3's mailbox and the file, no loop.
        rcpt = "%s@localhost" % name("u3")
        r, _ = self.one(rcpt, service="localself")
        self.assert_result(r, "sent", "2.0.0",
                           r"^delivered to 2 alias targets$")
        self.assertIn(b"Delivered-To: %s\n" % rcpt.encode(), self.mbox("u3"))
        self.assertIn("Subject: local delivery test",
                      self.read_out("selfcopy"))
        if not IS_ROOT:
            return
        # "u2: u2, /file": the same, as aliases(5) writes it.
        rcpt = "%s@localhost" % name("u2")
        r, _ = self.one(rcpt, service="localself")
        self.assert_result(r, "sent", "2.0.0")
        self.assertIn(b"Delivered-To: %s\n" % rcpt.encode(), self.mbox("u2"))
        self.assertIn("Subject: local delivery test",
                      self.read_out("selfcopy2"))

    def test_fan_out_deferred_wins_then_bounced(self):
        r, qid = self.one("mixed@localhost")
        self.assert_result(r, "deferred", "4.3.0",
                           r"^1 of 2 alias targets deferred: temporary "
                           r"failure, command exited 75")
        # The mailbox target was delivered all the same.
        self.assert_in_mbox("u1", "mixed@localhost")
        self.assertEqual(len(self.log_lines(qid)), 2)
        r, _ = self.one("bounced@localhost")
        self.assert_result(r, "bounced", "5.1.1",
                           r'^1 of 2 alias targets failed: unknown user: '
                           r'"nosuchuser4711"$')

    def test_alias_to_our_own_domain_is_local(self):
        r, _ = self.one("fwdlocal@localhost")
        self.assert_result(r, "sent", "2.0.0", r"^delivered to mailbox$")
        self.assert_in_mbox("u1", "fwdlocal@localhost")


class IncludeTest(LocalTestBase):
    def test_include_file(self):
        r, _ = self.one("inc@localhost")
        # u1 and chain3 (-> u1) are one target.
        self.assert_result(r, "sent", "2.0.0", r"^delivered to mailbox$")
        self.assert_in_mbox("u1", "inc@localhost")

    def test_commands_in_include_files_are_refused_by_default(self):
        r, _ = self.one("inccmd@localhost")
        self.assert_result(r, "bounced", "5.7.1",
                           r"mail to command is restricted \(include")
        self.assertFalse(os.path.exists(os.path.join(self.out,
                                                     "from-include")))

    @unittest.skipUnless(IS_ROOT, "read rights need root")
    def test_include_is_read_as_the_table_owner(self):
        # The table is root's: the file is read as nobody, who may not.
        r, _ = self.one("incprivate@localhost")
        self.assert_result(r, "deferred", "4.3.0",
                           r"cannot open: Permission denied \(as nobody\)")
        self.assertEqual(self.mbox("u1"), b"")

    def test_include_loop_and_missing_file(self):
        r, _ = self.one("incloop@localhost")
        self.assert_result(r, "bounced", "5.4.6", "include loop")
        r, _ = self.one("incmissing@localhost")
        self.assert_result(r, "deferred", "4.3.0",
                           r"cannot open: No such file")


class CommandFileTest(LocalTestBase):
    def test_command_runs_as_the_table_owner(self):
        r, qid = self.one("cmdu1@localhost")
        self.assert_result(r, "sent", "2.0.0",
                           r"^delivered to command: id -u")
        self.assertEqual(self.read_out("u1.uid").strip(), str(uid("u1")))
        self.assertEqual(os.stat(os.path.join(self.out, "u1.msg")).st_uid,
                         uid("u1"))
        msg = self.read_out("u1.msg")
        self.assertTrue(msg.startswith(
            "Return-Path: <sender@example.org>\n"
            "Delivered-To: cmdu1@localhost\nReceived: "), msg)
        self.assertIn("\nFrom the start of a line\n", msg)
        self.assertNotIn("\r", msg)
        self.assertRegex(self.log_lines(qid)[0],
                         r"to=<\|id -u .*>, orig_to=<cmdu1@localhost>")

    def test_command_in_a_root_table_runs_as_default_privs(self):
        r, _ = self.one("cmdnobody@localhost")
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(self.read_out("nobody.uid").strip(),
                         str(nobody_uid()))

    def test_command_environment(self):
        r, _ = self.one("cmdenv+ext@example.test")
        self.assert_result(r, "sent", "2.0.0")
        env = dict(ln.split("=", 1) for ln in
                   self.read_out("env").splitlines() if "=" in ln)
        self.assertEqual(env["PATH"], "/usr/bin:/bin")
        self.assertEqual(env["SENDER"], SENDER)
        self.assertEqual(env["RECIPIENT"], "cmdenv+ext@example.test")
        self.assertEqual(env["LOCAL"], "cmdenv+ext")
        self.assertEqual(env["EXTENSION"], "ext")
        self.assertEqual(env["DOMAIN"], "example.test")
        self.assertEqual(env["USER"], name("u1"))
        self.assertEqual(env["HOME"], ACCOUNTS["u1"].pw_dir)
        for k in ("SHELL", "LOGNAME"):
            self.assertIn(k, env)
        self.assertFalse(set(env) - {"PATH", "SENDER", "RECIPIENT", "LOCAL",
                                     "EXTENSION", "DOMAIN", "USER", "HOME",
                                     "SHELL", "LOGNAME", "PWD", "SHLVL",
                                     "_"}, env)

    def test_command_exit_status(self):
        r, _ = self.one("cmdfail@localhost")
        self.assert_result(r, "bounced", "5.1.1",
                           r'^command died with status 67: ".*": oops, no '
                           r'such thing$')
        r, _ = self.one("cmdtemp@localhost")
        self.assert_result(r, "deferred", "4.3.0",
                           r"exited 75: .*: try later$")

    def test_command_time_limit(self):
        # command_time_limit is 5s in this instance.
        r, _ = self.one("cmdslow@localhost")
        self.assert_result(r, "deferred", "4.3.0",
                           r"^command time limit exceeded")

    def test_commands_and_files_refused(self):
        for rcpt, what in (("cmdu1@localhost", "command"),
                           ("tofile@localhost", "file")):
            r, _ = self.one(rcpt, service="localstrict")
            self.assert_result(r, "bounced", "5.7.1",
                               r"^mail to %s is restricted \(alias in "
                               r"allow_mail_to_%ss\)$" % (what, what))
        self.assertEqual(os.listdir(self.out), [])

    def test_file_as_mbox_and_maildir(self):
        r, _ = self.one("tofile@localhost")
        self.assert_result(r, "sent", "2.0.0",
                           r"^delivered to file: .*/out/file\.mbox$")
        p = os.path.join(self.out, "file.mbox")
        self.assertEqual(os.stat(p).st_uid, nobody_uid())
        with open(p, "rb") as f:
            box = f.read()
        self.assertTrue(box.startswith(b"From sender@example.org "), box)
        self.assertIn(b"Delivered-To: tofile@localhost\n", box)
        r, _ = self.one("tomaildir@localhost")
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(len(os.listdir(os.path.join(self.out, "md",
                                                     "new"))), 1)
        r, _ = self.one("devnull@localhost")
        self.assert_result(r, "sent", "2.0.0", "/dev/null")
        r, _ = self.one("fileu1@localhost")
        self.assert_result(r, "sent", "2.0.0")
        self.assertEqual(os.stat(os.path.join(self.out, "u1.mbox")).st_uid,
                         uid("u1"))


class ForwardTest(LocalTestBase):
    def test_remote_targets_are_forwarded(self):
        if not cleanup_takes_internal(self.t.spool):
            self.skipTest("cleanup does not take origin=internal yet")
        before = set(queue_files(self.t.spool))
        r, qid = self.one("fwd@localhost")
        self.assert_result(r, "sent", "2.0.0",
                           r"^delivered to 2 alias targets$")
        self.assert_in_mbox("u1", "fwd@localhost")
        new = set(queue_files(self.t.spool)) - before - {qid}
        self.assertEqual(len(new), 1, new)
        fqid = new.pop()
        q = qfile_reader.read(os.path.join(self.t.spool, "incoming", fqid))
        self.assertEqual(q.sender, SENDER)
        self.assertIsNone(q.client)
        self.assertEqual([x.addr for x in q.recipients],
                         ["someone@remote.example", "other@remote.example"])
        self.assertEqual([(x.orcpt_type, x.orcpt) for x in q.recipients],
                         [("rfc822", "fwd@localhost")] * 2)
        self.assertRegex(q.content.decode(),
                         r"^Received: by \S+ \(Tern\)\r\n\tid %s; .*\r\n"
                         r"Delivered-To: fwd@localhost\r\n"
                         r"Received: from client" % fqid)
        self.assertTrue(q.content.endswith(MESSAGE))
        self.assertTrue(wait_for(lambda: re.search(
            r"%s: forwarded for <fwd@localhost> as %s" % (qid, fqid),
            self.t.log())), self.t.log())
        lines = self.log_lines(qid)
        self.assertEqual(len(lines), 3, lines)
        for rcpt in ("someone@remote.example", "other@remote.example"):
            self.assertTrue(any(re.search(
                r"to=<%s>, orig_to=<fwd@localhost>, relay=local, "
                r"delay=\d+\.\d\d, dsn=2\.0\.0, status=sent \(forwarded as %s\)" % (
                    re.escape(rcpt), fqid), ln) for ln in lines), lines)


if __name__ == "__main__":
    unittest.main()
