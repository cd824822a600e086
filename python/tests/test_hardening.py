"""Tests of the hbmon package against a hostile directory: planted links, FIFOs, huge files, taken
names, orphaned temp files, and the inputs that used to escape as the wrong error.

Run: pip install ./python pytest && pytest python/tests
"""

import contextlib
import fcntl
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

import hbmon
from test_hbmon import FileTest, read, wait_until  # noqa: E402

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


class Bounded:
    """Runs ``fn`` on a thread; a call still blocked after ``timeout`` is unblocked with
    ``unblock`` and reported as a failure, so a regression fails instead of hanging."""

    def __init__(self, test, fn, unblock, timeout=10.0):
        self.value = self.error = None
        thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            unblock()
            thread.join(timeout)
            test.fail("still blocked after %gs" % timeout)

    def _run(self, fn):
        try:
            self.value = fn()
        except BaseException as e:  # handed to the test
            self.error = e


class TempFile(FileTest):
    def test_the_temp_file_has_a_random_name_beside_the_file(self):
        with mock.patch("os.replace", wraps=os.replace) as replace:
            hbmon.beat("a", file=self.file)
            hbmon.beat("a", file=self.file)
        temps = [call.args[0] for call in replace.call_args_list]
        pattern = r"\.hb\.json\.%d\.[0-9a-f]{16}\.tmp" % os.getpid()
        for temp in temps:
            self.assertEqual(os.path.dirname(temp), self.dir.name)
            self.assertRegex(os.path.basename(temp), r"\A%s\Z" % pattern)
        self.assertNotEqual(temps[0], temps[1], "the name is random, not per PID")

    def plant_victim(self):
        victim = os.path.join(self.dir.name, "bashrc")
        with open(victim, "w") as f:
            f.write("echo hi\n")
        os.chmod(victim, 0o600)
        hbmon.beat("a", file=self.file)
        os.chmod(self.file, 0o666)
        return victim

    def assert_victim_untouched(self, victim):
        with open(victim) as f:
            self.assertEqual(f.read(), "echo hi\n")
        self.assertEqual(mode_of(victim), 0o600)
        self.assertFalse(os.path.islink(self.file))
        self.assertEqual(mode_of(self.file), 0o666)
        self.assertEqual(read(self.file)["processes"]["a"]["beats"], 2)

    def test_a_link_planted_at_the_old_temp_name_is_neither_followed_nor_chmodded(self):
        victim = self.plant_victim()
        planted = os.path.join(self.dir.name, ".hb.json.%d.tmp" % os.getpid())
        os.symlink(victim, planted)
        hbmon.beat("a", file=self.file)
        self.assert_victim_untouched(victim)
        self.assertTrue(os.path.islink(planted))

    def test_a_temp_name_already_taken_is_retried_with_a_new_one(self):
        victim = self.plant_victim()
        guessed = os.path.join(self.dir.name, ".hb.json.%d.%s.tmp" % (os.getpid(), "0" * 16))
        os.symlink(victim, guessed)
        with mock.patch.object(hbmon._store, "_random_suffix", side_effect=["0" * 16, "1" * 16]), mock.patch(
            "os.replace", wraps=os.replace
        ) as replace:
            hbmon.beat("a", file=self.file)
        self.assertEqual(os.path.basename(replace.call_args.args[0]), ".hb.json.%d.%s.tmp" % (os.getpid(), "1" * 16))
        self.assert_victim_untouched(victim)
        self.assertTrue(os.path.islink(guessed))

    def test_the_mode_is_set_on_the_descriptor_never_by_path(self):
        hbmon.beat("a", file=self.file)
        os.chmod(self.file, 0o640)
        with mock.patch("os.chmod", side_effect=AssertionError("chmod by path")), mock.patch(
            "os.fchmod", wraps=os.fchmod
        ) as fchmod:
            hbmon.beat("a", file=self.file)
        fchmod.assert_called_once()
        self.assertEqual(fchmod.call_args.args[1], 0o640)
        self.assertEqual(mode_of(self.file), 0o640)

    def test_a_new_file_is_as_private_as_its_directory(self):
        for dir_mode, mask, expected in [(0o700, 0o022, 0o600), (0o755, 0o022, 0o644), (0o775, 0o002, 0o664)]:
            with self.subTest(dir_mode=oct(dir_mode), umask=oct(mask)):
                directory = os.path.join(self.dir.name, "d%o" % dir_mode)
                os.mkdir(directory)
                os.chmod(directory, dir_mode)
                path = os.path.join(directory, "hb.json")
                with umask(mask):
                    hbmon.beat("a", file=path)
                self.assertEqual(mode_of(path), expected)
                self.assertEqual(mode_of(path + ".lock"), expected)

    def test_a_temp_name_that_stays_taken_gives_up_naming_the_file(self):
        taken = os.path.join(self.dir.name, ".hb.json.%d.%s.tmp" % (os.getpid(), "0" * 16))
        open(taken, "w").close()
        with mock.patch.object(hbmon._store, "_random_suffix", return_value="0" * 16):
            with self.assertRaisesRegex(hbmon.HbmonError, "temporary file beside " + re.escape(self.file)):
                hbmon.beat("a", file=self.file)
        self.assertFalse(os.path.exists(self.file))


class Links(FileTest):
    def assert_untouched(self, before):
        self.assertEqual(listing(self.dir.name), before, "nothing moved aside or created")

    def test_a_symlink_at_the_heartbeat_path_is_refused_naming_its_target(self):
        victim = os.path.join(self.dir.name, "victim.json")
        with open(victim, "w") as f:
            f.write(VALID)
        os.symlink(victim, self.file)
        open(self.file + ".lock", "w").close()
        before = listing(self.dir.name)
        with self.assertRaises(hbmon.HbmonError) as raised:
            hbmon.beat("a", file=self.file)
        self.assertEqual(
            str(raised.exception),
            "%s is a symbolic link to %s: hbmon does not follow links beside the heartbeat file "
            "(another user may have planted it); pass the resolved path instead" % (self.file, victim),
        )
        self.assertTrue(os.path.islink(self.file))
        with open(victim) as f:
            self.assertEqual(f.read(), VALID)
        self.assert_untouched(before)

    def test_a_dangling_symlink_at_the_heartbeat_path_is_refused(self):
        os.symlink("/nonexistent/elsewhere.json", self.file)
        with self.assertRaisesRegex(hbmon.HbmonError, "symbolic link to /nonexistent/elsewhere.json"):
            hbmon.beat("a", file=self.file)
        self.assertTrue(os.path.islink(self.file))

    def test_a_symlink_at_the_lock_path_is_refused_and_creates_nothing(self):
        target = os.path.join(self.dir.name, "authorized_keys")
        os.symlink(target, self.file + ".lock")
        with self.assertRaisesRegex(hbmon.HbmonError, re.escape(self.file + ".lock is a symbolic link to " + target)):
            hbmon.beat("a", file=self.file)
        self.assertEqual(listing(self.dir.name), ["hb.json.lock"])

    def test_a_control_character_in_a_link_target_is_shown_escaped(self):
        os.symlink("/tmp/x\x1b]0;owned\x07\udcff", self.file)
        with self.assertRaises(hbmon.HbmonError) as raised:
            hbmon.beat("a", file=self.file)
        message = str(raised.exception)
        self.assertIn("/tmp/x\\x1b]0;owned\\x07\\xff:", message)
        self.assertFalse(any(ord(c) < 32 or 0xD800 <= ord(c) < 0xE000 for c in message), repr(message))

    def test_a_lock_file_this_user_cannot_write_still_locks(self):
        # flock needs no write access: a lock file another user created (read-only to us)
        # must still lock. As root, permissions do not bind: the writer runs as nobody.
        hbmon.beat("a", file=self.file)
        os.chmod(self.file + ".lock", 0o444)
        if os.geteuid() != 0:
            hbmon.beat("a", file=self.file)
        else:
            os.chmod(self.dir.name, 0o777)
            os.chmod(self.file, 0o666)
            child = os.fork()
            if child == 0:  # pragma: no cover (the child reports through its exit code)
                code = 1
                try:
                    os.setgid(65534)
                    os.setuid(65534)
                    hbmon.beat("b", file=self.file)
                    code = 0
                except BaseException as e:
                    os.write(2, ("as nobody: %s\n" % e).encode("utf-8", "backslashreplace"))
                finally:
                    os._exit(code)
            self.assertEqual(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]), 0, "a beat as nobody failed")
        self.assertEqual(len(read(self.file)["processes"]), 2 if os.geteuid() == 0 else 1)
        self.assertEqual(read(self.file)["processes"]["a"]["beats"], 1 if os.geteuid() == 0 else 2)


class NotARegularFile(FileTest):
    def test_a_fifo_at_the_heartbeat_path_is_refused_without_blocking(self):
        os.mkfifo(self.file)

        def unblock():  # the blocked reader gets EOF
            os.close(os.open(self.file, os.O_WRONLY | os.O_NONBLOCK))

        run = Bounded(self, lambda: hbmon.beat("a", file=self.file), unblock)
        self.assertIsInstance(run.error, hbmon.HbmonError)
        self.assertEqual(str(run.error), "%s is a FIFO, not a regular file" % self.file)
        self.assertTrue(stat.S_ISFIFO(os.lstat(self.file).st_mode))
        self.assertEqual(listing(self.dir.name), ["hb.json", "hb.json.lock"])

    def test_a_fifo_at_the_lock_path_is_refused_without_blocking(self):
        os.mkfifo(self.file + ".lock")
        readers = []

        def unblock():  # the blocked writer-open gets its reader
            readers.append(os.open(self.file + ".lock", os.O_RDONLY | os.O_NONBLOCK))

        run = Bounded(self, lambda: hbmon.beat("a", file=self.file), unblock)
        for fd in readers:
            os.close(fd)
        self.assertIsInstance(run.error, hbmon.HbmonError)
        self.assertIn("%s.lock is a FIFO, not a regular file" % self.file, str(run.error))
        self.assertEqual(listing(self.dir.name), ["hb.json.lock"])

    def test_a_directory_or_socket_is_refused_naming_its_kind(self):
        os.mkdir(self.file)
        with self.assertRaisesRegex(hbmon.HbmonError, re.escape("%s is a directory, not a regular file" % self.file)):
            hbmon.beat("a", file=self.file)
        os.rmdir(self.file)
        os.unlink(self.file + ".lock")
        os.mkdir(self.file + ".lock")
        lock_is_a_directory = re.escape("%s.lock is a directory, not a regular file" % self.file)
        with self.assertRaisesRegex(hbmon.HbmonError, lock_is_a_directory):
            hbmon.beat("a", file=self.file)
        os.rmdir(self.file + ".lock")
        server = socket.socket(socket.AF_UNIX)
        self.addCleanup(server.close)
        server.bind(self.file)
        with self.assertRaisesRegex(hbmon.HbmonError, re.escape("%s is a socket, not a regular file" % self.file)):
            hbmon.beat("a", file=self.file)
        self.assertTrue(stat.S_ISSOCK(os.lstat(self.file).st_mode))

    def test_a_file_over_64_mib_is_refused_not_moved_aside(self):
        with open(self.file, "wb") as f:
            f.truncate(64 * 1024 * 1024 + 1)
        with self.assertRaises(hbmon.HbmonError) as raised:
            hbmon.beat("a", file=self.file)
        self.assertEqual(str(raised.exception), "%s is 67108865 bytes, over the 64 MiB limit hbmon reads" % self.file)
        self.assertEqual(os.path.getsize(self.file), 67108865)
        self.assertEqual(listing(self.dir.name), ["hb.json", "hb.json.lock"])

    def test_a_file_that_grows_past_the_limit_after_its_size_was_checked_is_refused(self):
        with open(self.file, "w") as f:
            f.write(VALID + " " * (1 << 20))
        real = os.fstat

        def before_it_grew(fd):  # fstat says 0 bytes; the read finds over 1 MiB
            st = real(fd)
            return os.stat_result(st[:6] + (0,) + st[7:])

        with mock.patch.object(hbmon._store, "MAX_FILE_SIZE", 1 << 20), mock.patch("os.fstat", before_it_grew):
            with self.assertRaises(hbmon.HbmonError) as raised:
                hbmon.beat("a", file=self.file)
        size = re.fullmatch(r".*/hb\.json is (\d+) bytes, over the 1 MiB limit hbmon reads", str(raised.exception))
        self.assertTrue(size and int(size.group(1)) > 1 << 20, str(raised.exception))
        with open(self.file) as f:
            self.assertEqual(f.read(), VALID + " " * (1 << 20))
        self.assertEqual(listing(self.dir.name), ["hb.json", "hb.json.lock"])


class CorruptCopies(FileTest):
    def test_a_planted_link_or_file_at_the_corrupt_name_is_never_overwritten(self):
        elsewhere = os.path.join(self.dir.name, "elsewhere")
        os.symlink(elsewhere, self.file + ".corrupt-1000")
        with open(self.file + ".corrupt-1000.1", "w") as f:
            f.write("an earlier copy")
        with open(self.file, "w") as f:
            f.write("{ broken")
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), mock.patch("time.time", return_value=1000.0):
            hbmon.beat("a", file=self.file)
        self.assertIn("moved it to %s.corrupt-1000.2" % self.file, stderr.getvalue())
        self.assertEqual(os.readlink(self.file + ".corrupt-1000"), elsewhere)
        self.assertFalse(os.path.exists(elsewhere))
        with open(self.file + ".corrupt-1000.1") as f:
            self.assertEqual(f.read(), "an earlier copy")
        with open(self.file + ".corrupt-1000.2") as f:
            self.assertEqual(f.read(), "{ broken")
        self.assertEqual(list(read(self.file)["processes"]), ["a"])

    def test_where_a_hard_link_is_refused_the_copy_is_written_anew_never_over_a_file(self):
        # A file system without hard links, or protected_hardlinks for another user's file.
        broken = b"\xef\xbb\xbf{ broken"
        with open(self.file, "wb") as f:
            f.write(broken)
        with open(self.file + ".corrupt-1000", "w") as f:
            f.write("an earlier copy")
        refused = PermissionError(1, "Operation not permitted")
        with contextlib.redirect_stderr(io.StringIO()), mock.patch("time.time", return_value=1000.0), mock.patch(
            "os.link", side_effect=refused
        ):
            hbmon.beat("a", file=self.file)
        with open(self.file + ".corrupt-1000") as f:
            self.assertEqual(f.read(), "an earlier copy")
        with open(self.file + ".corrupt-1000.1", "rb") as f:
            self.assertEqual(f.read(), broken, "byte for byte, the byte order mark too")
        self.assertEqual(mode_of(self.file + ".corrupt-1000.1"), 0o600)
        self.assertEqual(list(read(self.file)["processes"]), ["a"])


class Orphans(FileTest):
    def temp(self, pid, suffix=".0123456789abcdef"):
        path = os.path.join(self.dir.name, ".hb.json.%s%s.tmp" % (pid, suffix))
        with open(path, "w") as f:
            f.write("{")
        return path

    def test_a_writer_killed_mid_write_leaves_a_temp_file_the_next_writer_removes(self):
        script = (
            "import os, sys, time; import hbmon\n"
            "def stuck(src, dst):\n"
            "    print(src, flush=True); time.sleep(600)\n"
            "os.replace = stuck\n"
            "hbmon.beat('victim', file=sys.argv[1])\n"
        )
        child = subprocess.Popen([sys.executable, "-c", script, self.file], stdout=subprocess.PIPE, text=True)
        self.addCleanup(child.wait)
        self.addCleanup(child.stdout.close)
        temp = child.stdout.readline().strip()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        self.assertRegex(os.path.basename(temp), r"\A\.hb\.json\.%d\.[0-9a-f]{16}\.tmp\Z" % child.pid)
        self.assertTrue(os.path.exists(temp), "kill -9 left the temp file")
        hbmon.beat("next", file=self.file)
        self.assertEqual(listing(self.dir.name), ["hb.json", "hb.json.lock"])

    def test_only_temp_files_of_processes_that_are_gone_are_removed(self):
        live = subprocess.Popen(["sleep", "600"])
        self.addCleanup(live.wait)
        self.addCleanup(live.kill)
        gone = dead_pid()
        victim = os.path.join(self.dir.name, "victim")
        with open(victim, "w") as f:
            f.write("keep")
        removed = [self.temp(gone), self.temp(gone, suffix=""), self.temp(2**40)]
        os.symlink(victim, os.path.join(self.dir.name, ".hb.json.%d.fedcba9876543210.tmp" % gone))
        kept = [
            self.temp(live.pid),
            self.temp(os.getpid()),
            os.path.join(self.dir.name, ".hb.json2.%d.0123456789abcdef.tmp" % gone),
            os.path.join(self.dir.name, ".hb.json.%d.0123456789abcdef.tmp.keep" % gone),
            os.path.join(self.dir.name, "hb.json.%d.0123456789abcdef.tmp" % gone),
            os.path.join(self.dir.name, ".hb.json.x%d.tmp" % gone),
        ]
        for path in kept[2:]:
            open(path, "w").close()
        os.mkdir(os.path.join(self.dir.name, ".hb.json.%d.0000000000000000.tmp" % gone))
        hbmon.beat("a", file=self.file)
        names = listing(self.dir.name)
        for path in removed:
            self.assertNotIn(os.path.basename(path), names)
        self.assertNotIn(".hb.json.%d.fedcba9876543210.tmp" % gone, names, "the link itself is removed")
        with open(victim) as f:
            self.assertEqual(f.read(), "keep", "not what it pointed to")
        for path in kept:
            self.assertIn(os.path.basename(path), names)
        self.assertIn(".hb.json.%d.0000000000000000.tmp" % gone, names, "a directory is not unlinked")

    def test_the_directory_is_swept_at_most_once_a_minute(self):
        gone = dead_pid()
        first = self.temp(gone)
        hbmon.beat("a", file=self.file)
        self.assertFalse(os.path.exists(first))
        second = self.temp(gone, ".1111111111111111")
        hbmon.beat("a", file=self.file)
        self.assertTrue(os.path.exists(second), "swept again within the minute")
        later = time.monotonic() + hbmon.ORPHAN_SWEEP_INTERVAL + 1
        with mock.patch("time.monotonic", return_value=later):
            hbmon.beat("a", file=self.file)
        self.assertFalse(os.path.exists(second))


class LockWait(FileTest):
    def test_a_writer_locking_in_a_loop_does_not_starve_a_waiting_one(self):
        # A peer that takes the lock again the moment it lets go (a writer beating in a
        # loop on a loaded machine): a waiter that polls finds it free only by luck.
        script = (
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_CREAT)\n"
            "print('locking', flush=True)\n"
            "while True:\n"
            "    fcntl.flock(fd, fcntl.LOCK_EX); time.sleep(0.005); fcntl.flock(fd, fcntl.LOCK_UN)\n"
        )
        peer = subprocess.Popen([sys.executable, "-c", script, self.file + ".lock"], stdout=subprocess.PIPE, text=True)
        self.addCleanup(peer.wait)
        self.addCleanup(peer.kill)
        self.addCleanup(peer.stdout.close)
        self.assertEqual(peer.stdout.readline(), "locking\n")
        time.sleep(0.1)
        with mock.patch.object(hbmon._store, "LOCK_TIMEOUT", 10.0):
            for n in range(3):
                hbmon.beat("waiter", {"n": n}, file=self.file)
        self.assertEqual(read(self.file)["processes"]["waiter"]["beats"], 3)

    def test_a_lock_held_for_ever_costs_one_waiting_thread_not_one_per_beat(self):
        held = os.open(self.file + ".lock", os.O_RDONLY | os.O_CREAT)
        fcntl.flock(held, fcntl.LOCK_EX)
        waiting = lambda: [t for t in threading.enumerate() if t.name == "hbmon-lock"]  # noqa: E731
        with mock.patch.object(hbmon._store, "LOCK_TIMEOUT", 0.2):
            for _ in range(3):
                with self.assertRaisesRegex(hbmon.HbmonError, "timed out after 0.2s"):
                    hbmon.beat("a", file=self.file)
        self.assertLessEqual(len(waiting()), 1)
        os.close(held)  # the waiter given up on takes the lock late, and lets it go
        self.assertTrue(wait_until(lambda: not waiting()))
        hbmon.beat("a", file=self.file)
        self.assertEqual(read(self.file)["processes"]["a"]["beats"], 1)


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
        for bad in (0, -1, float("nan"), float("inf"), 10**400, 367 * 86400, "5x", "1h1h", "-5s", "367d", "0s", True):
            with self.subTest(interval=bad):
                with self.assertRaisesRegex(hbmon.HbmonError, "interval"):
                    hbmon.beat("a", interval=bad, file=self.file)
                with self.assertRaisesRegex(hbmon.HbmonError, "interval"):
                    hbmon.Heartbeat("a", interval=bad, file=self.file)
        self.assertFalse(os.path.exists(self.file))

    def test_an_interval_follows_the_one_rule_of_hbmons_spans(self):
        # As `hbmon beat --interval`: a number of seconds, or hbmon's notation.
        for given, seconds in ((30, 30.0), ("30", 30.0), ("5m30", 330.0), ("1h30m", 5400.0), ("250ms", 0.25)):
            with self.subTest(interval=given):
                entry = hbmon.beat("a", interval=given, file=self.file)
                self.assertEqual(entry["interval"], seconds)
        with self.assertRaises(hbmon.HbmonError) as raised:
            hbmon.beat("a", interval="1h1h", file=self.file)
        self.assertEqual(
            str(raised.exception),
            "heartbeat 'a': interval: invalid duration \"1h1h\": units go largest first, each once"
            " (1h30m, not 30m1h or 1h1h) (use e.g. 30s, 5m, 1h30m, 250ms, 7d)",
        )

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
