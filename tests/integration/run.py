# SPDX-License-Identifier: ISC
"""Run every integration test (tests/integration/test_*.py) against the
build named by $TERN_BUILD and print "integration: N passed, N failed".

The test modules run side by side, TERN_TEST_JOBS at a time (default 3:
most tests wait on sockets and timers, not on the CPU), each in its own
Python process; every instance a test starts has its own temporary
directory and ports, so they do not meet.  Each module's output is
printed whole when it ends.

    run.py                  every module, in parallel
    run.py test_smtpd ...   just these modules
    run.py --one MODULE     one module in this process (what the workers run)
"""
import glob
import os
import re
import subprocess
import sys
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
SUMMARY = re.compile(r"^integration: (\d+) passed, (\d+) failed$", re.M)
MODULE_TIMEOUT = 1500       # seconds: a hung module fails, the run goes on


def run_one(name):
    suite = unittest.TestLoader().loadTestsFromName(name)
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    good = res.testsRun - bad - len(res.skipped)
    print("integration: %d passed, %d failed" % (good, bad))
    return 0 if bad == 0 else 1


def modules(names):
    if names:
        return names
    files = glob.glob(os.path.join(here, "test_*.py"))
    # Biggest first, so that the longest module does not start last.
    files.sort(key=lambda f: (-os.path.getsize(f), f))
    return [os.path.basename(f)[:-3] for f in files]


def run_all(names):
    jobs = max(1, int(os.environ.get("TERN_TEST_JOBS", "3")))
    waiting = modules(names)
    running = []
    good = bad = 0
    while waiting or running:
        while waiting and len(running) < jobs:
            name = waiting.pop(0)
            p = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--one", name],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                cwd=here)
            running.append((name, p, time.monotonic()))
        time.sleep(0.2)
        for item in list(running):
            name, p, started = item
            if p.poll() is None:
                if time.monotonic() - started < MODULE_TIMEOUT:
                    continue
                p.kill()
            out = p.communicate()[0].decode("utf-8", "replace")
            running.remove(item)
            m = SUMMARY.search(out)
            sys.stdout.write("=== %s (%.0f s)\n%s" % (
                name, time.monotonic() - started, out))
            if m is None:
                print("%s: no summary (exit %s): counted as failed"
                      % (name, p.returncode))
                bad += 1
            else:
                good += int(m.group(1))
                bad += int(m.group(2))
            sys.stdout.flush()
    print("integration: %d passed, %d failed" % (good, bad))
    return 0 if bad == 0 else 1


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--one":
        return run_one(args[1])
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
