"""Tests of the hbmon package: the five writer rules, the counter rules, file resolution, Heartbeat.

Run: pip install ./python pytest && pytest python/tests
"""

import contextlib
import fcntl
import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from unittest import mock

import hbmon


def read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def wait_until(condition, timeout=10.0):
    """Polls ``condition`` until true; False if it never became true within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


class FileTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.file = os.path.join(self.dir.name, "hb.json")

    def entry(self, name):
        return read(self.file)["processes"][name]


class WriterRules(FileTest):
    def test_a_first_beat_creates_the_document_and_the_lock(self):
        entry = hbmon.beat("nightly", {"rows": 3}, interval=60, kind="job", file=self.file)
        doc = read(self.file)
        self.assertEqual(doc["version"], 1)
        self.assertIsInstance(doc["last_updated"], float)
        self.assertEqual(doc["processes"]["nightly"], entry)
        self.assertEqual(entry["pid"], os.getpid())
        self.assertEqual(entry["status"], "alive")
        self.assertEqual(entry["additional_data"], {"rows": 3})
        self.assertEqual((entry["interval"], entry["kind"]), (60.0, "job"))
        self.assertEqual((entry["beats"], entry["errors"]), (1, 0))
        self.assertEqual(entry["first_heartbeat"], entry["last_heartbeat"])
        self.assertEqual(
            entry["last_heartbeat_formatted"],
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(entry["last_heartbeat"]))),
        )
        self.assertTrue(os.path.exists(self.file + ".lock"))
        self.assertEqual(sorted(os.listdir(self.dir.name)), ["hb.json", "hb.json.lock"])

    def test_counters_reset_when_the_pid_changes(self):
        hbmon.beat("w", file=self.file, pid=10)
        failed = hbmon.beat("w", error="disk full", file=self.file, pid=10)
        self.assertEqual((failed["beats"], failed["errors"]), (2, 1))
        self.assertEqual(failed["status"], "error")
        self.assertEqual(failed["last_error"], "disk full")
        self.assertEqual(failed["last_error_at"], failed["last_heartbeat"])
        first = failed["first_heartbeat"]
        again = hbmon.beat("w", file=self.file, pid=10)
        self.assertEqual((again["beats"], again["first_heartbeat"]), (3, first))
        restarted = hbmon.beat("w", file=self.file, pid=11)
        self.assertEqual((restarted["beats"], restarted["errors"]), (1, 0))
        self.assertNotIn("last_error", restarted)
        self.assertNotIn("last_error_at", restarted)
        self.assertGreaterEqual(restarted["first_heartbeat"], first)
        stopped = hbmon.beat("w", stopped=True, file=self.file, pid=11)
        self.assertEqual((stopped["status"], stopped["beats"]), ("stopped", 2))

    def test_pid_false_records_no_pid(self):
        entry = hbmon.beat("cron-report", pid=False, kind="job", interval=3600, file=self.file)
        self.assertIn("pid", entry)
        self.assertIsNone(entry["pid"])
        self.assertIsNone(self.entry("cron-report")["pid"])
        for bad in (0, -1, True, "12"):
            with self.assertRaises(hbmon.HbmonError):
                hbmon.beat("cron-report", pid=bad, file=self.file)

    def test_a_schedule_is_promised_as_an_interval_is_and_makes_a_job(self):
        entry = hbmon.beat("backup", pid=False, schedule="0 3 * * *", tz="Europe/Berlin", file=self.file)
        self.assertEqual((entry["schedule"], entry["tz"], entry["kind"]), ("0 3 * * *", "Europe/Berlin", "job"))
        # Kept by a beat that says nothing of it, as an interval is.
        again = hbmon.beat("backup", pid=False, file=self.file)
        self.assertEqual((again["schedule"], again["tz"]), ("0 3 * * *", "Europe/Berlin"))
        # A new schedule without a zone drops the old zone: the reader's applies.
        daily = hbmon.beat("backup", pid=False, schedule="@daily", file=self.file)
        self.assertEqual(daily["schedule"], "@daily")
        self.assertNotIn("tz", daily)
        for bad in [
            dict(schedule="0 3 * *"),
            dict(schedule="@reboot"),
            dict(schedule=""),
            dict(schedule=5),
            dict(schedule="@daily", tz="Mars/Base"),
            dict(tz="UTC"),
            dict(schedule="@daily", interval=60),
            dict(schedule="@daily", kind="app"),
        ]:
            with self.assertRaises(hbmon.HbmonError, msg=bad):
                hbmon.beat("backup", pid=False, file=self.file, **bad)
        self.assertEqual(self.entry("backup")["schedule"], "@daily", "nothing written by a refused beat")

    def test_the_file_has_one_line_per_entry_as_hbmon_writes_it(self):
        hbmon.beat("a", {"city": "Zürich"}, file=self.file, pid=False)
        hbmon.beat("b", file=self.file, pid=False)
        with open(self.file, encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[:2], ["{", '  "version": 1,'])
        self.assertTrue(lines[2].startswith('  "last_updated": '))
        self.assertEqual(lines[3], '  "processes": {')
        self.assertEqual(lines[6:], ["  }", "}"])
        for line, name in zip(lines[4:6], "ab"):
            key, _, value = line.strip().rstrip(",").partition(": ")
            self.assertEqual((json.loads(key), json.loads(value)), (name, self.entry(name)))
        self.assertIn("Zürich", lines[4])

    def test_unknown_fields_and_entries_are_kept(self):
        theirs = {"last_heartbeat": 1.0, "pid": 5, "custom": {"deep": [1, None]}}
        with open(self.file, "w") as f:
            json.dump(
                {
                    "version": 1,
                    "last_updated": 1.0,
                    "owner": "ops",
                    "processes": {"theirs": theirs, "mine": {"last_heartbeat": 1.0, "pid": 6, "note": "keep me"}},
                },
                f,
            )
        hbmon.beat("mine", file=self.file, pid=6)
        doc = read(self.file)
        self.assertEqual(doc["owner"], "ops")
        self.assertEqual(doc["processes"]["theirs"], theirs)
        self.assertEqual(doc["processes"]["mine"]["note"], "keep me")
        self.assertEqual(list(doc)[:3], ["version", "last_updated", "processes"])

    def test_runs_in_progress_survive_a_python_beat(self):
        # Two `hbmon run` of one job in progress, then a beat from this writer in between.
        runs = {
            "0b5c3a4e-9d2f-4c1e-8a7b-6f5e4d3c2b1a": {"started_at": 10.5, "pid": 101, "host": "box"},
            "f00dfeed-1234-4abc-9def-0123456789ab": {"started_at": 11.0, "pid": 102, "future": [1]},
        }
        own = {"last_heartbeat": 12.0, "pid": 102, "status": "running", "kind": "job", "runs": runs, "runs_dropped": 2}
        with open(self.file, "w") as f:
            json.dump({"version": 1, "processes": {"etl": own}}, f)
        hbmon.beat("etl", {"note": "from python"}, file=self.file, pid=102)
        entry = self.entry("etl")
        self.assertEqual((entry["runs"], entry["runs_dropped"]), (runs, 2))
        self.assertEqual(entry["beats"], 1)

    def test_an_own_entry_with_runs_hbmon_cannot_read_is_replaced(self):
        for runs in ([], {"r": {}}, {"r": {"started_at": "soon"}}, {"r": {"started_at": 1, "pid": -1}}):
            with open(self.file, "w") as f:
                json.dump({"processes": {"a": {"last_heartbeat": 1.0, "runs": runs}}}, f)
            with contextlib.redirect_stderr(io.StringIO()) as stderr:
                entry = hbmon.beat("a", file=self.file)
            self.assertIn("invalid `runs`", stderr.getvalue(), runs)
            self.assertNotIn("runs", entry, runs)

    def test_data_is_kept_replaced_or_merged(self):
        hbmon.beat("d", {"a": 1, "b": 2}, file=self.file)
        self.assertEqual(hbmon.beat("d", file=self.file)["additional_data"], {"a": 1, "b": 2})
        merged = hbmon.beat("d", {"b": 3}, merge=True, file=self.file)
        self.assertEqual(merged["additional_data"], {"a": 1, "b": 3})
        self.assertEqual(hbmon.beat("d", "just text", file=self.file)["additional_data"], "just text")
        self.assertEqual(hbmon.beat("d", {"x": 1}, merge=True, file=self.file)["additional_data"], {"x": 1})

    def test_a_corrupt_file_is_moved_aside_with_a_warning(self):
        broken = [
            b"{ not json",
            b"[]",
            b'{"processes": []}',
            b'{"processes": {"a": {"last_heartbeat": 1',
            b'{"processes": {"a": [1}}}',
            b'{"processes": {}, "owner": NaN}',
            b"\xff\xfe",
        ]
        for n, bad in enumerate(broken):
            with self.subTest(bad=bad):
                with open(self.file, "wb") as f:
                    f.write(bad)
                stderr = io.StringIO()
                with contextlib.redirect_stderr(stderr), mock.patch("time.time", return_value=1000.0 + n / 10):
                    hbmon.beat("a", file=self.file)
                self.assertIn("was not a valid heartbeat file", stderr.getvalue())
                aside = self.file + ".corrupt-1000" + ("" if n == 0 else ".%d" % n)
                self.assertIn(aside, stderr.getvalue())
                with open(aside, "rb") as f:
                    self.assertEqual(f.read(), bad)
                self.assertEqual(list(read(self.file)["processes"]), ["a"])

    def test_an_entry_that_is_not_json_is_that_entrys_problem_not_the_files(self):
        broken = '"broken": {"last_heartbeat": 1e, "pid": 01, "x": NaN, "s": "}]"}'
        nan = '"nan": NaN'
        with open(self.file, "w") as f:
            f.write('{"processes": {%s, %s, "ok": {"last_heartbeat": 1.0}}}' % (broken, nan))
        hbmon.beat("mine", file=self.file, pid=False)
        with open(self.file) as f:
            text = f.read()
        self.assertIn("    %s,\n    %s,\n" % (broken, nan), text)
        self.assertEqual([n for n in os.listdir(self.dir.name) if "corrupt" in n], [])
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            hbmon.beat("broken", file=self.file, pid=False)
            hbmon.beat("nan", file=self.file, pid=False)
        self.assertIn("entry 'broken'", stderr.getvalue())
        self.assertIn("not valid JSON", stderr.getvalue())
        self.assertEqual(list(read(self.file)["processes"]), ["broken", "nan", "ok", "mine"])

    def test_entries_it_does_not_own_are_never_decoded_only_kept(self):
        # Valid to the structure, unreadable to a decoder: a lone surrogate, an out-of-range
        # number, nesting deeper than hbmon's readers go. None of them may stop this writer.
        others = [
            '"s": {"last_heartbeat": 1e9, "x": "\\ud800"}',
            '"f": {"last_heartbeat": 1e400}',
            '"d": {"last_heartbeat": 1, "x": %s}' % ("[" * 3000 + "]" * 3000),
            '"e": "\\x"',
        ]
        with open(self.file, "w") as f:
            f.write('{"processes": {%s}}' % ", ".join(others))
        hbmon.beat("mine", file=self.file, pid=False)
        with open(self.file) as f:
            text = f.read()
        self.assertIn("".join("    %s,\n" % other for other in others), text)
        self.assertEqual([n for n in os.listdir(self.dir.name) if n != "hb.json"], ["hb.json.lock"])

    def test_broken_structure_moves_the_file_aside(self):
        for n, bad in enumerate([
            '{"processes": {"a": {"x": "runs on},\n "b": {"last_heartbeat": 1}}}',
            '{"processes": {"\\ud800": {"last_heartbeat": 1}}}',
        ]):
            with self.subTest(bad=bad):
                with open(self.file, "w") as f:
                    f.write(bad)
                with contextlib.redirect_stderr(io.StringIO()), mock.patch("time.time", return_value=2000.0 + n):
                    hbmon.beat("a", file=self.file)
                with open(self.file + ".corrupt-%d" % (2000 + n)) as f:
                    self.assertEqual(f.read(), bad)

    def test_data_nested_deeper_than_readers_go_is_refused(self):
        deep = []
        for _ in range(hbmon.MAX_DATA_DEPTH):
            deep = [deep]
        with self.assertRaisesRegex(hbmon.HbmonError, "deeper than 100 levels"):
            hbmon.beat("deep", {"x": deep}, file=self.file)
        self.assertFalse(os.path.exists(self.file))
        hbmon.beat("shallow", {"x": [[[]]]}, file=self.file)

    def test_a_newer_protocol_version_is_refused_not_rewritten(self):
        newer = '{"version": 2, "processes": {}}'
        with open(self.file, "w") as f:
            f.write(newer)
        with self.assertRaisesRegex(hbmon.HbmonError, "version 2"):
            hbmon.beat("a", file=self.file)
        with open(self.file) as f:
            self.assertEqual(f.read(), newer)

    def test_an_invalid_own_entry_is_replaced_with_a_warning(self):
        with open(self.file, "w") as f:
            json.dump({"processes": {"a": {"pid": "twelve"}, "b": {"beats": -1}}}, f)
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            entry = hbmon.beat("a", file=self.file)
        self.assertIn("'a'", stderr.getvalue())
        self.assertIn("last_heartbeat", stderr.getvalue())
        self.assertEqual((entry["pid"], entry["beats"]), (os.getpid(), 1))
        self.assertEqual(read(self.file)["processes"]["b"], {"beats": -1}, "others' entries stay as they are")

    def test_empty_file_is_an_empty_document(self):
        open(self.file, "w").close()
        hbmon.beat("a", file=self.file)
        self.assertEqual(list(read(self.file)["processes"]), ["a"])

    def test_the_lock_is_the_sidecar_file(self):
        lock = os.open(self.file + ".lock", os.O_WRONLY | os.O_CREAT)
        self.addCleanup(os.close, lock)
        fcntl.flock(lock, fcntl.LOCK_EX)
        writer = threading.Thread(target=hbmon.beat, args=("a",), kwargs={"file": self.file})
        writer.start()
        writer.join(0.3)
        self.assertTrue(writer.is_alive(), "the beat did not wait for the lock")
        self.assertFalse(os.path.exists(self.file))
        fcntl.flock(lock, fcntl.LOCK_UN)
        writer.join()
        self.assertIn("a", read(self.file)["processes"])

    def test_a_lock_held_too_long_gives_up_naming_it(self):
        lock = os.open(self.file + ".lock", os.O_WRONLY | os.O_CREAT)
        self.addCleanup(os.close, lock)
        fcntl.flock(lock, fcntl.LOCK_EX)
        with mock.patch.object(hbmon._store, "LOCK_TIMEOUT", 0.2):
            with self.assertRaises(hbmon.HbmonError) as raised:
                hbmon.beat("a", file=self.file)
        self.assertIn("timed out after 0.2s waiting for the lock on " + self.file + ".lock", str(raised.exception))
        self.assertFalse(os.path.exists(self.file))

    def test_the_file_keeps_its_mode(self):
        hbmon.beat("a", file=self.file)
        os.chmod(self.file, 0o664)
        hbmon.beat("a", file=self.file)
        self.assertEqual(stat.S_IMODE(os.stat(self.file).st_mode), 0o664)

    def test_bad_input_is_refused_naming_it(self):
        for kwargs, message in [
            (dict(name=""), "empty"),
            (dict(name="a\nb"), "control"),
            (dict(name="a", kind="cron"), "cron"),
            (dict(name="a", data=float("nan")), "JSON"),
            (dict(name="a", data={1, 2}), "JSON"),
            (dict(name="a", data=[1], merge=True), "dict"),
            (dict(name="a", error="x", stopped=True), "not both"),
        ]:
            with self.subTest(kwargs=kwargs), self.assertRaisesRegex(hbmon.HbmonError, message):
                hbmon.beat(file=self.file, **kwargs)
        self.assertFalse(os.path.exists(self.file))

    def test_an_unwritable_place_raises_naming_the_file(self):
        with self.assertRaisesRegex(hbmon.HbmonError, "/proc/self/hbmon-cannot-exist"):
            hbmon.beat("a", file="/proc/self/hbmon-cannot-exist/hb.json")

    def test_concurrent_processes_lose_nothing(self):
        script = (
            "import sys; import hbmon\n"
            "for i in range(40): hbmon.beat(sys.argv[1], {'seq': i}, file=sys.argv[2])\n"
        )
        procs = [
            subprocess.Popen([sys.executable, "-c", script, "p%d" % n, self.file]) for n in range(6)
        ]
        self.assertEqual([p.wait() for p in procs], [0] * 6)
        processes = read(self.file)["processes"]
        for n in range(6):
            entry = processes["p%d" % n]
            self.assertEqual((entry["beats"], entry["additional_data"]), (40, {"seq": 39}))


class Extents(unittest.TestCase):
    """Where each entry ends: found by the json module's C scanner for a valid one, the
    per-string walk (_value_end) kept for what the scanner refuses; both must agree."""

    VALUES = [
        '{}',
        r'{"a": 1, "b": [1, 2, {"c": "}]"}], "d": "\\"}',
        r'[1, "x\"y", {"z": []}]',
        '{"x": NaN}',
        r'{"last_heartbeat": 1e400, "s": "\ud800"}',
        '[' * 3000 + ']' * 3000,
        '{"last_heartbeat": 1e, "pid": 01}',
        '{"a": tru}',
        '{"a" 1}',
        '"a string"',
        '12.5e3',
        'nul',
    ]

    def test_the_scanner_and_the_walk_agree_on_every_value(self):
        for value in self.VALUES:
            with self.subTest(value=value[:40]):
                text = value + ', "next": {}'
                self.assertEqual(hbmon._scan._extent(text, 0), hbmon._scan._value_end(text, 0))
                self.assertEqual(hbmon._scan._extent(text, 0), len(value))

    def test_valid_entries_are_never_walked_string_by_string(self):
        entries = ", ".join('"w%d": {"last_heartbeat": %d, "additional_data": {"s": "a\\"b}"}}' % (i, i) for i in range(50))
        text = '{"version": 1, "processes": {%s}}' % entries
        walk = hbmon._scan._value_end

        def scalars_only(text, i):
            # Scalars (the version) are one regex match; no array or object is walked.
            self.assertNotIn(text[i], "{[", "walked the value at %d" % i)
            return walk(text, i)

        with mock.patch.object(hbmon._scan, "_value_end", side_effect=scalars_only):
            processes, _ = hbmon._scan._parse(text)
        self.assertEqual(len(processes), 50)
        self.assertEqual(processes["w7"], '{"last_heartbeat": 7, "additional_data": {"s": "a\\"b}"}}')

    def test_an_entry_whose_text_did_not_change_is_not_scanned_again(self):
        def doc(b):
            return '{"processes": {\n    "a": {"last_heartbeat": 1},\n    "b": %s,\n    "c": [1, "]"]\n  }}' % b

        hbmon._scan._parse(doc('{"last_heartbeat": 2}'))
        scan = hbmon._scan._extent
        scanned = []

        def recording(text, i):
            scanned.append(text[i:scan(text, i)])
            return scan(text, i)

        with mock.patch.object(hbmon._scan, "_extent", side_effect=recording):
            processes, _ = hbmon._scan._parse(doc('{"last_heartbeat": 3}'))
        self.assertEqual(scanned, ['{"last_heartbeat": 3}'], "only the entry that changed")
        self.assertEqual(processes, {"a": '{"last_heartbeat": 1}', "b": '{"last_heartbeat": 3}', "c": '[1, "]"]'})

    def test_a_remembered_entry_counts_only_where_its_bytes_are_all_there(self):
        # The same name with other text, a text cut short, a text moved under another name:
        # each is scanned as what it is now, never taken for what was there before.
        hbmon._scan._parse('{"processes": {"a": {"x": "}"}, "b": {"y": 1}}}')
        for text, expected in [
            ('{"processes": {"a": {"x": "}}"}, "b": {"y": 2}}}', {"a": '{"x": "}}"}', "b": '{"y": 2}'}),
            ('{"processes": {"b": {"x": "}"}, "a": {"y": 1}}}', {"b": '{"x": "}"}', "a": '{"y": 1}'}),
        ]:
            with self.subTest(text=text):
                self.assertEqual(hbmon._scan._parse(text)[0], expected)
        hbmon._scan._parse('{"processes": {"a": {"x": "}"}}}')
        with self.assertRaises(ValueError):
            hbmon._scan._parse('{"processes": {"a": {"x": "}"')

    def test_an_entry_the_scanner_refuses_is_walked_and_kept_as_it_was(self):
        broken = '{"last_heartbeat": 1e, "x": "}"}'
        processes, _ = hbmon._scan._parse('{"processes": {"a": %s, "b": {}}}' % broken)
        self.assertEqual(processes, {"a": broken, "b": "{}"})


class Resolution(unittest.TestCase):
    def test_first_match_wins(self):
        env = {"HBMON_FILE": "/env/hb.json", "XDG_STATE_HOME": "/xdg", "HOME": "/home/u"}
        with mock.patch.dict(os.environ, env, clear=True):
            self.assertEqual(hbmon.resolve_file("/flag/hb.json"), "/flag/hb.json")
            self.assertEqual(hbmon.resolve_file(), "/env/hb.json")
            os.environ["HBMON_FILE"] = ""
            self.assertEqual(hbmon.resolve_file(), "/xdg/hbmon/heartbeat_status.json")
            del os.environ["XDG_STATE_HOME"]
            if sys.platform != "darwin":
                self.assertEqual(hbmon.resolve_file(), "/home/u/.local/state/hbmon/heartbeat_status.json")

    def test_the_default_directory_is_private(self):
        with tempfile.TemporaryDirectory() as state, mock.patch.dict(
            os.environ, {"XDG_STATE_HOME": state}, clear=True
        ):
            hbmon.beat("a")
            directory = os.path.join(state, "hbmon")
            self.assertEqual(stat.S_IMODE(os.stat(directory).st_mode), 0o700)
            self.assertIn("a", read(os.path.join(directory, "heartbeat_status.json"))["processes"])


class HeartbeatTest(FileTest):
    def test_many_pulses_within_a_period_write_nothing_until_stop(self):
        hb = hbmon.Heartbeat("hot", interval=3600, file=self.file).start()
        for _ in range(100_000):
            hb.pulse()
        self.assertEqual(self.entry("hot")["beats"], 1)
        stopped = hb.stop()
        self.assertEqual((stopped["beats"], stopped["status"]), (2, "stopped"))
        self.assertEqual(stopped["interval"], 3600.0)

    def test_a_pulse_becomes_a_beat_in_the_background(self):
        hb = hbmon.Heartbeat("bg", interval=0.08, file=self.file).start()
        self.addCleanup(hb.stop)
        hb.set_data({"queue": 3})
        hb.pulse()
        self.assertTrue(wait_until(lambda: self.entry("bg")["beats"] >= 2))
        self.assertEqual(self.entry("bg")["additional_data"], {"queue": 3})

    def test_no_pulse_no_beat(self):
        hb = hbmon.Heartbeat("idle", interval=0.04, file=self.file).start()
        time.sleep(0.2)  # five periods without a pulse
        self.assertEqual(self.entry("idle")["beats"], 1)
        hb.stop()

    def test_errors_and_data_are_recorded(self):
        hb = hbmon.Heartbeat("w", file=self.file).start()
        hb.set_data({"queue": 3})
        entry = hb.error("timeout talking to db")
        self.assertEqual((entry["errors"], entry["last_error"]), (1, "timeout talking to db"))
        self.assertEqual(entry["additional_data"], {"queue": 3})
        self.assertEqual(entry["pid"], os.getpid())
        hb.stop()
        with self.assertRaisesRegex(hbmon.HbmonError, "JSON"):
            hb.set_data(object())

    def test_a_clean_with_block_ends_stopped(self):
        with hbmon.Heartbeat("ok", file=self.file, kind="job") as hb:
            hb.pulse()
        entry = self.entry("ok")
        self.assertEqual((entry["status"], entry["kind"]), ("stopped", "job"))

    def test_an_exception_ends_in_an_error_not_a_stop(self):
        with self.assertRaises(RuntimeError):
            with hbmon.Heartbeat("boom", file=self.file):
                raise RuntimeError("queue vanished")
        entry = self.entry("boom")
        self.assertEqual(entry["status"], "error")
        self.assertEqual(entry["last_error"], "RuntimeError: queue vanished")

    def test_start_fails_loudly_on_an_unwritable_path(self):
        hb = hbmon.Heartbeat("x", file="/proc/self/hbmon-cannot-exist/hb.json")
        with self.assertRaisesRegex(hbmon.HbmonError, "/proc/self/hbmon-cannot-exist"):
            hb.start()

    def test_bad_settings_are_refused(self):
        for kwargs in [dict(interval=0), dict(interval="30x"), dict(kind="daemon")]:
            with self.subTest(kwargs=kwargs), self.assertRaises(hbmon.HbmonError):
                hbmon.Heartbeat("x", file=self.file, **kwargs)


if __name__ == "__main__":
    unittest.main()
