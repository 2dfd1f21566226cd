# SPDX-License-Identifier: ISC
"""The manual pages, as "make install" installs them: every installed
command and daemon has its page, every page passes "mandoc -Tlint"
without a warning, and every tern.conf parameter a page or
docs/operators-guide.md names is a parameter "ternctl config -d" knows.

The lists of programs and pages are taken from what is installed, so a
program added later is held to the same rules at once."""
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

BUILD = os.environ.get("TERN_BUILD", "")
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GUIDE = os.path.join(TOP, "docs", "operators-guide.md")

# A word set in .Cm that has this shape is a parameter name; so is every
# name in a .It Cm line of a PARAMETERS section.
PARAM_SHAPE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
MACRO = re.compile(r"^[A-Z][a-z][a-z]?$|^%[A-Z]$")


def make_var(name):
    """A variable of the build's Makefile, expanded (prefix and all)."""
    r = subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", BUILD, "-f", "Makefile",
         "-f", "-", "print-" + name],
        input="print-%:\n\t@echo '$($*)'\n", capture_output=True, text=True,
        timeout=60)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError("cannot read %s from the Makefile: %s"
                           % (name, r.stderr))
    return r.stdout.strip()


def cm_words(line):
    """The words a .Cm macro sets on this mdoc line (after .Cm, up to the
    next macro; delimiters such as "," and "Ns" stop nothing else)."""
    if not line.startswith("."):
        return []
    toks = line[1:].split()
    words, on = [], False
    for t in toks:
        if t == "Cm":
            on = True
            continue
        if MACRO.match(t):
            on = False
            continue
        if on and t not in (",", ";", ":", ".", "(", ")", "|"):
            words.append(t.rstrip(",;:."))
    return words


def page_params(text):
    """(name, line number) of each parameter name a page mentions."""
    found = []
    section = None
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(".Sh "):
            section = line[4:].strip()
            continue
        words = cm_words(line)
        in_list = section == "PARAMETERS" and line.startswith(".It Cm")
        for w in words:
            if PARAM_SHAPE.match(w) or (in_list and re.match(r"^[a-z_0-9]+$",
                                                            w)):
                found.append((w, n))
    return found


def guide_params(text):
    """Parameter names in the guide's code blocks: "name = value" lines
    (tern.conf settings) and "ternctl config name ..." commands."""
    found, in_code = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if not in_code:
            continue
        m = re.match(r"^\s*([a-z][a-z0-9_]*)\s*=(?!=)", line)
        if m:
            found.append((m.group(1), n))
        m = re.search(r"ternctl(?: -c \S+)? config((?: [a-z][a-z0-9_]*)+)\s*$",
                      line)
        if m:
            found.extend((w, n) for w in m.group(1).split())
    return found


@unittest.skipUnless(BUILD, "TERN_BUILD is not set")
class DocsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tern-docs-")
        cls.dest = os.path.join(cls.tmp, "dest")
        r = subprocess.run(["make", "-s", "-C", BUILD, "install",
                            "DESTDIR=" + cls.dest],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise RuntimeError("make install DESTDIR=... failed:\n%s%s"
                               % (r.stdout, r.stderr))

        def d(var):
            return cls.dest + make_var(var)
        cls.sbin = d("sbindir")
        cls.daemons = d("pkglibexecdir")
        cls.mandir = d("mandir")
        cls.pages = {}
        for sec in sorted(os.listdir(cls.mandir)):
            if not sec.startswith("man"):
                continue
            for f in sorted(os.listdir(os.path.join(cls.mandir, sec))):
                cls.pages[f] = os.path.join(sec, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def programs(self, directory):
        out = []
        for f in sorted(os.listdir(directory)):
            p = os.path.join(directory, f)
            st = os.stat(p)         # a symbolic link counts as its target
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
                out.append(f)
        return out

    def test_install_has_pages_and_programs(self):
        self.assertIn("ternctl", self.programs(self.sbin))
        self.assertIn("master", self.programs(self.daemons))
        for p in ("ternctl.8", "tern.conf.5", "services.conf.5",
                  "master.8", "smtpd.8"):
            self.assertIn(p, self.pages)

    def test_systemd_unit_installed_and_valid(self):
        """make install puts tern.service in systemdsystemunitdir; its
        programs are the installed ones, its PIDFile the default queue's,
        and systemd-analyze verify has nothing to say about it (checked
        with its paths moved into DESTDIR, so that the programs exist)."""
        if not os.path.exists(os.path.join(BUILD, "conf", "tern.service")):
            self.skipTest("configured --with-systemdsystemunitdir=no")
        unit = os.path.join(self.dest + make_var("systemdsystemunitdir"),
                            "tern.service")
        with open(unit) as f:
            text = f.read()
        prefix = make_var("prefix")
        self.assertIn("ExecStart=%s/master\n" % make_var("pkglibexecdir"),
                      text)
        self.assertIn("ExecStop=%s/ternctl stop\n" % make_var("sbindir"),
                      text)
        queue = subprocess.run(
            [os.path.join(BUILD, "cli", "ternctl"), "config", "-d",
             "queue_directory"], capture_output=True, text=True, timeout=30)
        self.assertEqual(queue.returncode, 0, queue.stderr)
        self.assertIn("PIDFile=%s/pid/master.pid\n"
                      % queue.stdout.split(" = ", 1)[1].strip(), text)
        analyze = shutil.which("systemd-analyze")
        self.assertIsNotNone(analyze, "systemd-analyze (package systemd)")
        moved = os.path.join(self.tmp, "tern.service")
        with open(moved, "w") as f:
            f.write(text.replace(prefix + "/", self.dest + prefix + "/"))
        r = subprocess.run([analyze, "verify", "--man=no", moved],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r.stdout)

    def test_every_command_has_a_page(self):
        missing = [p for p in self.programs(self.sbin)
                   if p + ".8" not in self.pages and
                   p + ".1" not in self.pages]
        self.assertEqual(missing, [], "commands in %s without a page"
                         % self.sbin)

    def test_every_daemon_has_a_page(self):
        missing = [p for p in self.programs(self.daemons)
                   if p + ".8" not in self.pages]
        self.assertEqual(missing, [], "daemons in %s without a page"
                         % self.daemons)

    def test_pages_lint_clean(self):
        self.assertGreater(len(self.pages), 10)
        bad = []
        for name, rel in sorted(self.pages.items()):
            r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", rel],
                               cwd=self.mandir, capture_output=True,
                               text=True, timeout=60)
            if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
                bad.append("%s (exit %d):\n%s%s" % (name, r.returncode,
                                                    r.stdout, r.stderr))
        self.assertEqual(bad, [], "\n".join(bad))

    def known_params(self):
        conf = os.path.join(self.tmp, "etc")
        os.makedirs(conf, exist_ok=True)
        for f in ("tern.conf", "services.conf"):
            open(os.path.join(conf, f), "w").close()
        r = subprocess.run([os.path.join(self.sbin, "ternctl"), "-c", conf,
                            "config", "-d"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        names = {l.split(" = ", 1)[0] for l in r.stdout.splitlines()
                 if " = " in l}
        self.assertIn("queue_directory", names)
        return names

    def test_page_parameters_exist(self):
        known = self.known_params()
        installed = set(self.programs(self.sbin)) | \
            set(self.programs(self.daemons))
        bad, checked = [], 0
        for name, rel in sorted(self.pages.items()):
            prog = name.rsplit(".", 1)[0]
            # A page of a program this build does not have yet (written
            # ahead of it) names the parameters that program brings.
            if name[-2:] in (".1", ".8") and prog not in installed:
                print("%s: no installed %s yet: parameters not checked"
                      % (name, prog))
                continue
            with open(os.path.join(self.mandir, rel), encoding="utf-8") as f:
                text = f.read()
            for p, n in page_params(text):
                checked += 1
                if p not in known:
                    bad.append("%s:%d: %s" % (rel, n, p))
        self.assertGreater(checked, 100)
        self.assertEqual(bad, [], "not tern.conf parameters:\n"
                         + "\n".join(bad))

    def test_guide_parameters_exist(self):
        known = self.known_params()
        with open(GUIDE, encoding="utf-8") as f:
            found = guide_params(f.read())
        self.assertGreater(len(found), 10)
        bad = ["operators-guide.md:%d: %s" % (n, p) for p, n in found
               if p not in known]
        self.assertEqual(bad, [], "not tern.conf parameters:\n"
                         + "\n".join(bad))

    def test_checks_catch_mistakes(self):
        """The extractors see what they are meant to see."""
        self.assertEqual(
            page_params(".Sh PARAMETERS\n.It Cm myhostname , smtpd_bogus\n"
                        ".Sh FILES\n.Cm start\nText\n"
                        ".It Cm queue_directory Ns Pa /x\n"),
            [("myhostname", 2), ("smtpd_bogus", 2), ("queue_directory", 6)])
        self.assertEqual(
            guide_params("```\nmyhostname = a\n# x = y\nternctl config "
                         "mydomain relay_hots\n```\nnot = code\n"),
            [("myhostname", 2), ("mydomain", 4), ("relay_hots", 4)])


if __name__ == "__main__":
    unittest.main()
