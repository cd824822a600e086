"""Tests of the hbmon package's stop signals: SIGTERM, SIGHUP and SIGINT (each where it has its
default action) end a running Heartbeat ``stopped`` and then the process by that signal; a
program's own handler is kept; the default comes back after the last stop.

Run: pip install ./python pytest && pytest python/tests
"""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest
from unittest import mock

import hbmon
from test_hbmon import FileTest, wait_until  # noqa: E402



class InAChildProcess(unittest.TestCase):
    """Real signals to a real Python process running a script."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.file = os.path.join(self.dir.name, "hb.json")

    def entry(self, name):
        try:
            return hbmon._entry._own_entry(hbmon._scan._parse(open(self.file).read())[0][name])[0]
        except (OSError, KeyError):
            return None

    def run_until_beating(self, script, name, data=None):
        env = dict(os.environ, HBMON_FILE=self.file)
        child = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)], env=env, stdout=subprocess.PIPE, text=True
        )
        self.addCleanup(child.stdout.close)
        self.addCleanup(lambda: child.poll() is None and child.kill())
        def beating():
            entry = self.entry(name) or {}
            return entry.get("pid") == child.pid and (data is None or entry.get("additional_data") == data)

        self.assertTrue(wait_until(beating), "%s never beat" % name)
        return child

    def test_a_stop_signal_ends_a_with_block_stopped_and_the_process_by_that_signal(self):
        script = """
            import time, hbmon
            with hbmon.Heartbeat("worker", interval=1) as hb:
                hb.set_data({"done": 3})
                while True:
                    time.sleep(0.02)
                    hb.pulse()
        """
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with self.subTest(signal=signum.name):
                child = self.run_until_beating(script, "worker", data={"done": 3})
                os.kill(child.pid, signum)
                self.assertEqual(child.wait(timeout=20), -signum)
                entry = self.entry("worker")
                self.assertEqual(entry["status"], "stopped")
                self.assertEqual(
                    entry["additional_data"], {"done": 3, "reason": "stopped by %s (signal %d)" % (signum.name, signum)}
                )

    def test_a_program_with_its_own_sigterm_handler_keeps_it(self):
        script = """
            import signal, sys, time, hbmon
            stop = []
            signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
            with hbmon.Heartbeat("host", interval=1) as hb:
                while not stop:
                    time.sleep(0.02)
                    hb.pulse()
            print("own handler ran")
            sys.exit(4)
        """
        child = self.run_until_beating(script, "host")
        os.kill(child.pid, signal.SIGTERM)
        self.assertEqual(child.wait(timeout=20), 4)
        self.assertEqual(child.stdout.read(), "own handler ran\n")
        entry = self.entry("host")
        self.assertEqual(entry["status"], "stopped")
        self.assertNotIn("reason", entry.get("additional_data") or {})

    def test_without_signal_handling_sigterm_ends_it_unreported(self):
        script = """
            import time, hbmon
            with hbmon.Heartbeat("bare", interval=1, handle_signals=False) as hb:
                while True:
                    time.sleep(0.02)
        """
        child = self.run_until_beating(script, "bare")
        os.kill(child.pid, signal.SIGTERM)
        self.assertEqual(child.wait(timeout=20), -signal.SIGTERM)
        self.assertEqual(self.entry("bare")["status"], "alive")


class InThisProcess(FileTest):
    """What is installed when, seen from the main thread (unittest runs tests there, one at a
    time); no signal here ends the process."""

    def setUp(self):
        super().setUp()
        for signum in hbmon.STOP_SIGNALS:
            previous = signal.signal(signum, signal.SIG_DFL)
            self.addCleanup(signal.signal, signum, previous)

    def test_the_default_action_comes_back_after_the_last_stop(self):
        first = hbmon.Heartbeat("a", file=self.file).start()
        second = hbmon.Heartbeat("b", file=self.file).start()
        for signum in hbmon.STOP_SIGNALS:
            self.assertIs(signal.getsignal(signum), hbmon._signals._on_stop_signal)
        first.stop()
        self.assertIs(signal.getsignal(signal.SIGTERM), hbmon._signals._on_stop_signal, "b still runs")
        second.stop()
        for signum in hbmon.STOP_SIGNALS:
            self.assertEqual(signal.getsignal(signum), signal.SIG_DFL)

    def test_a_handler_or_an_ignore_already_there_is_left_alone(self):
        ran = []

        def host(signum, frame):
            ran.append(signum)

        signal.signal(signal.SIGTERM, host)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        hb = hbmon.Heartbeat("kept", file=self.file).start()
        self.assertIs(signal.getsignal(signal.SIGTERM), host)
        self.assertEqual(signal.getsignal(signal.SIGHUP), signal.SIG_IGN)
        self.assertIs(signal.getsignal(signal.SIGINT), signal.default_int_handler)
        os.kill(os.getpid(), signal.SIGTERM)
        self.assertTrue(wait_until(lambda: ran), "the host's handler never ran")
        self.assertEqual(self.entry("kept")["status"], "alive")
        hb.stop()
        self.assertIs(signal.getsignal(signal.SIGTERM), host)

    def test_handle_signals_false_installs_nothing(self):
        hb = hbmon.Heartbeat("bare", file=self.file, handle_signals=False).start()
        self.assertEqual(signal.getsignal(signal.SIGTERM), signal.SIG_DFL)
        hb.stop()

    def test_a_signal_while_the_main_thread_holds_the_lock_waits_for_it(self):
        # The handler runs in the main thread, maybe mid-write with the file's lock held;
        # the stop must wait until the write is done, not lock against itself.
        self.addCleanup(self.forget_the_stop)
        hb = hbmon.Heartbeat("deferred", file=self.file).start()
        ends = []
        with mock.patch("os.kill", lambda pid, signum: ends.append(signum)), mock.patch(
            "os._exit", lambda code: ends.append(code)
        ):
            with hbmon._signals._section():
                hbmon._signals._on_stop_signal(signal.SIGTERM, None)
                self.assertEqual(self.entry("deferred")["status"], "alive")
                self.assertEqual(ends, [])
            self.assertEqual(ends, [signal.SIGTERM, 128 + signal.SIGTERM])
        entry = self.entry("deferred")
        self.assertEqual(entry["status"], "stopped")
        self.assertEqual(entry["additional_data"], {"reason": "stopped by SIGTERM (signal 15)"})
        self.assertEqual(signal.getsignal(signal.SIGTERM), signal.SIG_DFL, "the default, for the signal again")
        self.assertIsNone(hb._thread)

    def test_a_signal_while_a_heartbeat_starts_waits_for_its_writer_thread(self):
        # Between the first beat and the writer thread's start, a stop must not try to
        # join a thread that is not running yet.
        self.addCleanup(self.forget_the_stop)
        ends = []

        class SignalledAtStart(threading.Thread):
            def start(self):
                hbmon._signals._on_stop_signal(signal.SIGTERM, None)
                super().start()

        with mock.patch("os.kill", lambda pid, signum: ends.append(signum)), mock.patch(
            "os._exit", lambda code: ends.append(code)
        ), mock.patch.object(hbmon._writer.threading, "Thread", SignalledAtStart):
            hbmon.Heartbeat("starting", file=self.file).start()
        self.assertEqual(ends, [signal.SIGTERM, 128 + signal.SIGTERM])
        entry = self.entry("starting")
        self.assertEqual((entry["status"], entry["beats"]), ("stopped", 2))

    def test_a_forked_child_gets_the_default_action_and_leaves_the_entry_alone(self):
        hb = hbmon.Heartbeat("parent", file=self.file).start()
        self.addCleanup(hb.stop)
        child = os.fork()
        if child == 0:  # the child: what multiprocessing's fork start method runs
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                signal.pthread_sigmask(signal.SIG_BLOCK, set())  # where a Python handler would run
            finally:
                os._exit(3)  # only if SIGTERM did not end it
        _, status = os.waitpid(child, 0)
        self.assertTrue(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status)
        entry = self.entry("parent")
        self.assertEqual((entry["status"], entry["pid"]), ("alive", os.getpid()))

    def forget_the_stop(self):
        del hbmon._signals._ending[:], hbmon._signals._deferred[:], hbmon._signals._live[:], hbmon._signals._installed[:]

    def test_a_restarted_process_starts_with_no_data(self):
        # A stop's reason must not outlive the run it was about.
        hbmon.beat("w", {"reason": "stopped by SIGTERM (signal 15)"}, stopped=True, pid=1, file=self.file)
        entry = hbmon.beat("w", file=self.file)
        self.assertNotIn("additional_data", entry)
        self.assertEqual(hbmon.beat("w", {"n": 1}, file=self.file)["additional_data"], {"n": 1})
        self.assertEqual(hbmon.beat("w", file=self.file)["additional_data"], {"n": 1})


if __name__ == "__main__":
    unittest.main()
