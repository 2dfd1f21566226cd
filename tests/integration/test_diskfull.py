# SPDX-License-Identifier: ISC
"""A full disk under the queue: 452 4.3.1, no partial file, the client may
retry, and a message that fits is still queued."""
import os
import subprocess
import unittest

from tern_fixture import IS_ROOT, Tern, smtp_services
from test_smtpd import MESSAGE, SmtpdTestBase


@unittest.skipUnless(IS_ROOT, "mounting a small file system needs root")
class DiskFullTest(SmtpdTestBase):
    def test_full_disk_is_a_temporary_error(self):
        # The instance's queue on a 1 MiB tmpfs, made before it starts.
        t = self.start_on_tmpfs()
        c = self.client()
        big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 3000
        r = self.send_message_raw(c, big + b".\r\n")
        self.assert_enh(r, 452, "4.3.1")
        self.assert_nothing_queued()
        self.assertIn("No space left on device", t.log())
        # The same session goes on, and a small message fits.
        r = self.send_message_raw(c, MESSAGE + b".\r\n")
        qid = self.queued_id(r)
        self.assertEqual(self.qfiles(), [qid])

    def start_on_tmpfs(self):
        t = Tern(smtp_services(self.port),
                 "myhostname = mx.example.test\n")
        os.makedirs(t.spool)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                        t.spool], check=True)
        # Cleanups run last first: stop the instance, then unmount.
        self.addCleanup(subprocess.run, ["umount", "-l", t.spool])
        self.addCleanup(t.remove)
        self.t = t
        t.start()
        return t


if __name__ == "__main__":
    unittest.main()
