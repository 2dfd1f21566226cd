# SPDX-License-Identifier: ISC
"""ternctl map build / query, run the way an administrator runs them."""
import os
import subprocess
import threading
import unittest

from tern_fixture import BUILD, IS_ROOT, TEST_USER, Tern, test_user


class MapTest(unittest.TestCase):
    def setUp(self):
        self.t = Tern()
        self.dir = os.path.join(self.t.dir, "maps")
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o755)

    def tearDown(self):
        self.t.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text, mode=0o644):
        with open(self.path(name), "w") as f:
            f.write(text)
        os.chmod(self.path(name), mode)
        return self.path(name)

    def query(self, name, key, **kw):
        return self.t.ternctl("map", "query", name, key, **kw)

    def test_aliases_build_and_query(self):
        src = self.write("aliases",
                         "# system aliases\n"
                         "Postmaster: root\n"
                         "root: admin@example.org,\n"
                         "    \"|/usr/bin/filter -x\"\n"
                         "\"Foo Bar\": foo\n")
        r = self.t.ternctl("map", "build", src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "%s.lmdb: 3 entries\n" % src)
        self.assertEqual(r.stderr, "")
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["aliases", "aliases.lmdb"])
        name = "lmdb:" + src
        r = self.query(name, "POSTMASTER")
        self.assertEqual((r.returncode, r.stdout), (0, "root\n"))
        r = self.query(name, "root")
        self.assertEqual(r.stdout,
                         "admin@example.org, \"|/usr/bin/filter -x\"\n")
        self.assertEqual(self.query(name, "foo bar").stdout, "foo\n")
        r = self.query(name, "nobody")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (1, "", ""))

    def test_table_and_dash_a(self):
        src = self.write("virtual", "Example.COM  OK\n"
                         "user@example.com  box/user/\n")
        r = self.t.ternctl("map", "build", src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.query("lmdb:" + src, "USER@example.com")
                         .stdout, "box/user/\n")
        # The same file read as aliases: no colon, so every line is bad.
        r = self.t.ternctl("map", "build", "-a", src)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:1: missing \":\" after alias name" % src,
                      r.stderr)
        self.assertIn("%s:2: " % src, r.stderr)
        other = self.write("local-aliases", "a: b\n")
        r = self.t.ternctl("map", "build", "-a", other)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.query("lmdb:" + other, "A").stdout, "b\n")

    def test_errors_name_file_and_line_and_write_nothing(self):
        src = self.write("transport", "example.com smtp:[old]\n")
        self.t.ternctl("map", "build", src, check=True)
        self.write("transport", "example.com smtp:[new]\n"
                   "nothing\n"
                   "\"unclosed x\n"
                   "EXAMPLE.com dup\n")
        r = self.t.ternctl("map", "build", src)
        self.assertEqual(r.returncode, 1)
        err = r.stderr.splitlines()
        self.assertIn("ternctl: error: %s:2: no value for key \"nothing\""
                      % src, err)
        self.assertIn("ternctl: error: %s:3: missing closing quote" % src,
                      err)
        self.assertIn("ternctl: error: %s:4: duplicate key \"example.com\" "
                      "(first at line 1)" % src, err)
        self.assertEqual(err[-1], "ternctl: %s: not built" % src)
        self.assertEqual(r.stdout, "")
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["transport", "transport.lmdb"])
        self.assertEqual(self.query("lmdb:" + src, "example.com").stdout,
                         "smtp:[old]\n")

    def test_query_errors(self):
        r = self.query("lmdb:" + self.path("missing"), "x")
        self.assertEqual(r.returncode, 3)
        self.assertEqual(r.stderr, "ternctl: lmdb:%s: cannot open %s.lmdb: "
                         "No such file or directory\n"
                         % (self.path("missing"), self.path("missing")))
        r = self.query("hash:/etc/aliases", "x")
        self.assertEqual(r.returncode, 3)
        self.assertIn("unknown map type \"hash\"", r.stderr)
        r = self.query("inline:{ a=1, a=2 }", "a")
        self.assertEqual(r.returncode, 3)
        self.assertIn("inline:{ a=1, a=2 }: duplicate key \"a\"", r.stderr)
        r = self.t.ternctl("map", "build", self.path("missing"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s: cannot open: No such file or directory"
                      % self.path("missing"), r.stderr)

    def test_usage(self):
        for args in (("map",), ("map", "frob"), ("map", "build"),
                     ("map", "build", "-x", "f"), ("map", "query", "x"),
                     ("map", "query", "a", "b", "c")):
            r = self.t.ternctl(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("usage: ternctl map", r.stderr)

    def test_inline_and_static(self):
        r = self.query("inline:{ a=1, { Key = two words, and } }", "KEY")
        self.assertEqual((r.returncode, r.stdout), (0, "two words, and\n"))
        r = self.query("inline:{ a=1 }", "b")
        self.assertEqual(r.returncode, 1)
        r = self.query("static:{ relay:[mx.example.net] }", "anything")
        self.assertEqual(r.stdout, "relay:[mx.example.net]\n")

    def test_mode_follows_source(self):
        src = self.write("secret", "k v\n", 0o640)
        self.t.ternctl("map", "build", src, check=True)
        st = os.stat(src + ".lmdb")
        self.assertEqual(st.st_mode & 0o7777, 0o640)
        self.assertEqual(st.st_gid, os.stat(src).st_gid)
        os.chmod(src, 0o600)
        self.t.ternctl("map", "build", src, check=True)
        self.assertEqual(os.stat(src + ".lmdb").st_mode & 0o7777, 0o600)

    @unittest.skipUnless(IS_ROOT, "ownership needs root")
    def test_root_build_keeps_owner_and_reader_needs_no_write_access(self):
        pw = test_user()
        src = self.write("virtual", "a@example.org box\n")
        os.chown(src, pw.pw_uid, pw.pw_gid)
        self.t.ternctl("map", "build", src, check=True)
        st = os.stat(src + ".lmdb")
        self.assertEqual((st.st_uid, st.st_gid), (pw.pw_uid, pw.pw_gid))
        # A reader that cannot write the directory: no lock file needed.
        os.chmod(self.dir, 0o555)
        r = self.query("lmdb:" + src, "A@EXAMPLE.ORG", user=TEST_USER)
        self.assertEqual((r.returncode, r.stdout), (0, "box\n"), r.stderr)
        self.assertFalse(os.path.exists(src + ".lmdb-lock"))

    def test_rebuild_while_queried(self):
        keys = ["k%d" % i for i in range(50)]
        src = self.path("t")

        def version(c):
            self.write("t", "".join("%s %s\n" % (k, c * 300) for k in keys))

        version("a")
        self.t.ternctl("map", "build", src, check=True)
        stop = threading.Event()
        bad = []

        def reader():
            n = 0
            while not stop.is_set() or n == 0:
                r = self.query("lmdb:" + src, keys[n % len(keys)])
                v = r.stdout.strip()
                if r.returncode != 0 or v not in ("a" * 300, "b" * 300):
                    bad.append((r.returncode, r.stdout[:40], r.stderr))
                n += 1

        th = threading.Thread(target=reader)
        th.start()
        try:
            for i in range(10):
                version("b" if i % 2 == 0 else "a")
                self.t.ternctl("map", "build", src, check=True)
        finally:
            stop.set()
            th.join()
        self.assertEqual(bad, [])
        self.assertEqual(sorted(os.listdir(self.dir)), ["t", "t.lmdb"])

    def test_path_and_stdin_forms(self):
        src = self.write("virtual", "a@example.org box-a\n"
                         "b@example.org box-b\n")
        self.t.ternctl("map", "build", src, check=True)
        # A path alone is the lmdb: table built from it.
        r = self.query(src, "A@example.org")
        self.assertEqual((r.returncode, r.stdout), (0, "box-a\n"))
        # "-": a key per line of standard input.
        r = subprocess.run([os.path.join(BUILD, "cli", "ternctl"), "map",
                            "query", "lmdb:" + src, "-"], text=True,
                           input="b@example.org\nnone\na@example.org\n",
                           capture_output=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "b@example.org\tbox-b\n"
                          "a@example.org\tbox-a\n", ""))
        r = subprocess.run([os.path.join(BUILD, "cli", "ternctl"), "map",
                            "query", src, "-"], text=True, input="x\n",
                           capture_output=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        for args in (("map", "--help"), ("map", "build", "--help"),
                     ("map", "query", "--help")):
            r = self.t.ternctl(*args)
            self.assertEqual((r.returncode, r.stderr), (0, ""), args)
            self.assertIn("ternctl map query map key | -", r.stdout)

    def test_open_reader_during_rebuild_and_failed_build(self):
        """A reader that holds the table open keeps reading it while a
        rebuild writes the next one, then sees the new one; a failed
        build leaves the old table, byte for byte."""
        src = self.write("t", "k old\n")
        table = src + ".lmdb"
        self.t.ternctl("map", "build", src, check=True)
        reader = subprocess.Popen(
            [os.path.join(BUILD, "cli", "ternctl"), "map", "query",
             "lmdb:" + src, "-"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(reader.kill)

        def ask():
            reader.stdin.write("k\n")
            reader.stdin.flush()
            return reader.stdout.readline()

        self.assertEqual(ask(), "k\told\n")
        # The file the reader has open is never written: a rebuild makes
        # a new file and renames it over the name.
        held = os.open(table, os.O_RDONLY)
        self.addCleanup(os.close, held)
        old_bytes = os.pread(held, 1 << 20, 0)
        old_ino = os.fstat(held).st_ino
        self.write("t", "k new\n")
        self.t.ternctl("map", "build", src, check=True)
        self.assertEqual(os.pread(held, 1 << 20, 0), old_bytes)
        self.assertEqual(os.fstat(held).st_nlink, 0)
        self.assertNotEqual(os.stat(table).st_ino, old_ino)
        self.assertEqual(ask(), "k\tnew\n")
        # A failed build: the table in place stays, and so do answers.
        before = os.stat(table)
        with open(table, "rb") as f:
            new_bytes = f.read()
        self.write("t", "k newer\nbroken\n")
        r = self.t.ternctl("map", "build", src)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s: not built" % src, r.stderr)
        after = os.stat(table)
        self.assertEqual((after.st_ino, after.st_mtime_ns),
                         (before.st_ino, before.st_mtime_ns))
        with open(table, "rb") as f:
            self.assertEqual(f.read(), new_bytes)
        self.assertEqual(ask(), "k\tnew\n")
        self.assertEqual(sorted(os.listdir(self.dir)), ["t", "t.lmdb"])
        reader.stdin.close()
        self.assertEqual(reader.wait(timeout=10), 0)
        self.assertEqual(reader.stderr.read(), "")


if __name__ == "__main__":
    unittest.main()
