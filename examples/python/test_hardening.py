"""Tests of hbmon.py against a hostile directory: planted links, FIFOs, huge files, taken
names, orphaned temp files, and the inputs that used to escape as the wrong error.

Run: python3 -m unittest discover -s examples/python -v
"""

import contextlib
import io
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hbmon  # noqa: E402
from test_hbmon import FileTest, read  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VALID = '{"version": 1, "processes": {"theirs": {"last_heartbeat": 1.0}}}'


def listing(directory):
    return sorted(os.listdir(directory))


def dead_pid():
    """The PID of a process that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


class Inputs(FileTest):
    def test_a_name_with_a_lone_surrogate_is_refused_naming_the_problem(self):
        for call in (
            lambda: hbmon.beat("bad\udcff", file=self.file),
            lambda: hbmon.Heartbeat("bad\udcff", file=self.file),
        ):
            with self.assertRaises(hbmon.HbmonError) as raised:
                call()
            self.assertIn("'bad\\udcff'", str(raised.exception))
            self.assertIn("lone surrogate", str(raised.exception))
        self.assertFalse(os.path.exists(self.file))

    def test_an_error_text_with_a_lone_surrogate_is_written_escaped(self):
        entry = hbmon.beat("a", error="cannot open b'\udcff.csv'", file=self.file)
        self.assertEqual(entry["last_error"], "cannot open b'\\udcff.csv'")
        self.assertEqual(read(self.file)["processes"]["a"]["last_error"], entry["last_error"])

    def test_an_interval_that_is_not_a_positive_number_is_refused(self):
        for bad in (0, -1, float("nan"), float("inf"), 10**400, "30", True):
            with self.subTest(interval=bad):
                with self.assertRaisesRegex(hbmon.HbmonError, "interval"):
                    hbmon.beat("a", interval=bad, file=self.file)
                with self.assertRaisesRegex(hbmon.HbmonError, "interval"):
                    hbmon.Heartbeat("a", interval=bad, file=self.file)
        self.assertFalse(os.path.exists(self.file))

    def test_a_leading_bom_is_skipped_and_not_written_back(self):
        with open(self.file, "wb") as f:
            f.write(b"\xef\xbb\xbf" + VALID.encode())
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            hbmon.beat("a", file=self.file)
        self.assertEqual(stderr.getvalue(), "")
        with open(self.file, "rb") as f:
            self.assertTrue(f.read().startswith(b'{\n  "version": 1,'))
        self.assertEqual(list(read(self.file)["processes"]), ["theirs", "a"])
        self.assertEqual(listing(self.dir.name), ["hb.json", "hb.json.lock"])

    def test_a_version_equal_to_one_is_accepted_in_any_number_form(self):
        for version in ("1", "1.0", "1e0", "10E-1", "1.000"):
            with self.subTest(version=version):
                with open(self.file, "w") as f:
                    f.write('{"version": %s, "processes": {"theirs": {"last_heartbeat": 1.0}}}' % version)
                stderr = io.StringIO()
                with contextlib.redirect_stderr(stderr):
                    hbmon.beat("a", file=self.file)
                self.assertEqual(stderr.getvalue(), "")
                self.assertEqual(read(self.file)["version"], 1)
                self.assertEqual(list(read(self.file)["processes"]), ["theirs", "a"])
        self.assertEqual(listing(self.dir.name), ["hb.json", "hb.json.lock"])

    def test_any_other_version_keeps_its_old_outcome(self):
        for n, version in enumerate(('"1"', "2.0", "1.5", "-1", "true")):
            with self.subTest(version=version):
                with open(self.file, "w") as f:
                    f.write('{"version": %s, "processes": {}}' % version)
                stderr = io.StringIO()
                with contextlib.redirect_stderr(stderr), mock.patch("time.time", return_value=3000.0 + n):
                    hbmon.beat("a", file=self.file)
                self.assertIn('"version" is not a version number', stderr.getvalue())
                self.assertTrue(os.path.exists(self.file + ".corrupt-%d" % (3000 + n)))
        with open(self.file, "w") as f:
            f.write('{"version": 2, "processes": {}}')
        with self.assertRaisesRegex(hbmon.HbmonError, "protocol version 2 is newer"):
            hbmon.beat("a", file=self.file)


if __name__ == "__main__":
    unittest.main()
