"""Tests of hbmon.job: each call or block one run, reported as hbmon run reports a command
(running with a run id, then succeeded or failed with start, end, duration, exit code and
reason), overlapping runs kept apart, and the work's own result or exception untouched."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import hbmon


@pytest.fixture
def file(tmp_path):
    return str(tmp_path / "hb.json")


def entry(file, name):
    with open(file, encoding="utf-8") as f:
        return json.load(f)["processes"][name]


def boom(message):
    raise ValueError(message)


@pytest.mark.parametrize(
    "body, status, code, reason",
    [
        (lambda: 42, "succeeded", 0, "returned"),
        (lambda: boom("bad row 7"), "failed", 1, "ValueError: bad row 7"),
        (lambda: sys.exit(3), "failed", 3, "exited with code 3"),
        (lambda: sys.exit(0), "succeeded", 0, "exited with code 0"),
        (lambda: sys.exit("no input"), "failed", 1, "exited: no input"),
        (lambda: (_ for _ in ()).throw(KeyboardInterrupt), "failed", 130, "interrupted by SIGINT (signal 2)"),
    ],
    ids=["returns", "raises", "exits 3", "exits 0", "exits with a message", "ctrl-c"],
)
def test_a_decorated_function_reports_how_its_run_ended(file, body, status, code, reason):
    @hbmon.job("nightly", interval="1d", file=file)
    def nightly():
        running = entry(file, "nightly")
        assert running["status"] == "running" and running["kind"] == "job"
        assert list(running["runs"]) and running["runs"][next(iter(running["runs"]))]["pid"] == os.getpid()
        return body()

    try:
        assert nightly() == 42
    except (ValueError, SystemExit, KeyboardInterrupt):
        assert code != 0 or status == "succeeded"
    e = entry(file, "nightly")
    assert (e["status"], e["exit_code"], e["additional_data"]["reason"]) == (status, code, reason)
    assert e["interval"] == 86400.0 and "runs" not in e
    assert e["finished_at"] >= e["started_at"] and 0 <= e["duration"] < 5
    assert e.get("last_error") == (None if code == 0 else reason)
    assert nightly.__name__ == "nightly", "functools.wraps keeps the function's name"


def test_the_exception_goes_on_unchanged(file):
    error = ValueError("mine")
    with pytest.raises(ValueError) as raised:
        with hbmon.job("nightly", file=file):
            raise error
    assert raised.value is error


def test_overlapping_runs_are_kept_apart_by_run_id(file):
    first_in, second_done, raised = threading.Event(), threading.Event(), []

    def first():
        try:
            with hbmon.job("sync", file=file):
                first_in.set()
                second_done.wait(10)
                raise RuntimeError("upstream 503")
        except RuntimeError as e:
            raised.append(e)

    t = threading.Thread(target=first)
    t.start()
    assert first_in.wait(10)
    with hbmon.job("sync", file=file):
        both = entry(file, "sync")["runs"]
        assert len(both) == 2 and all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", r) for r in both)
    after_second = entry(file, "sync")
    assert (after_second["status"], len(after_second["runs"])) == ("succeeded", 1)
    second_done.set()
    t.join()
    assert len(raised) == 1
    e = entry(file, "sync")
    assert (e["status"], e["exit_code"], e["last_error"]) == ("failed", 1, "RuntimeError: upstream 503")
    assert "runs" not in e
    assert e["duration"] > after_second["duration"], "its duration counts from its own start"


def test_an_async_job_reports_off_the_loop(file):
    @hbmon.job("fetch", file=file, pid=False)
    async def fetch(n):
        await asyncio.sleep(0.01)
        return n * 2

    assert asyncio.run(fetch(21)) == 42
    e = entry(file, "fetch")
    assert (e["status"], e["exit_code"], e["pid"]) == ("succeeded", 0, None)
    assert e["duration"] >= 0.01


def test_a_start_that_cannot_be_written_runs_no_work(tmp_path):
    ran = []
    (tmp_path / "not-a-dir").write_text("")

    @hbmon.job("nightly", file=str(tmp_path / "not-a-dir" / "hb.json"))
    def nightly():
        ran.append(1)

    with pytest.raises(hbmon.HbmonError):
        nightly()
    assert ran == []


def test_a_bad_name_or_kind_is_refused_at_once(file):
    with pytest.raises(hbmon.HbmonError, match="kind"):
        hbmon.job("x", kind="cron", file=file)
    with pytest.raises(hbmon.HbmonError):
        hbmon.job("", file=file)


def run_child(file, script):
    """A Python process running ``script``, once it printed ``in`` (its run has started)."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), file], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "in\n"
    return child


@pytest.mark.parametrize(
    "kind, status, reason",
    [("job", "failed", "interrupted by SIGTERM (signal 15)"), ("app", "stopped", "stopped by SIGTERM (signal 15)")],
)
@pytest.mark.parametrize("face", ["with", "async with"])
def test_sigterm_ends_the_run_as_hbmon_run_reports_it_then_the_process(file, kind, status, reason, face):
    script = """
        import asyncio, sys, time, hbmon
        run = hbmon.job("nightly", kind=%r, file=sys.argv[1])
        if %r == "with":
            with run:
                print("in", flush=True)
                time.sleep(60)
        else:
            async def main():
                async with run:
                    print("in", flush=True)
                    await asyncio.sleep(60)
            asyncio.run(main())
    """ % (kind, face)
    child = run_child(file, script)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=20) == -signal.SIGTERM, "the process ends by the signal, as without hbmon"
    child.stdout.close()
    e = entry(file, "nightly")
    assert (e["status"], e["exit_code"], e["additional_data"]["reason"]) == (status, 143, reason)
    assert e.get("last_error") == (reason if status == "failed" else None)
    assert "runs" not in e, "the run is over, not left in progress"
    assert e["finished_at"] >= e["started_at"]


def test_a_program_with_its_own_sigterm_handler_keeps_it_and_the_run_ends_as_it_says(file):
    script = """
        import signal, sys, time, hbmon
        def own(signum, frame):
            sys.exit(4)
        signal.signal(signal.SIGTERM, own)
        with hbmon.job("nightly", file=sys.argv[1]):
            assert signal.getsignal(signal.SIGTERM) is own
            print("in", flush=True)
            time.sleep(60)
    """
    child = run_child(file, script)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=20) == 4
    child.stdout.close()
    e = entry(file, "nightly")
    assert (e["status"], e["exit_code"], e["additional_data"]["reason"]) == ("failed", 4, "exited with code 4")


def test_a_job_without_signal_handling_installs_nothing(file):
    with hbmon.job("nightly", file=file, handle_signals=False):
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    with hbmon.job("nightly", file=file):
        assert signal.getsignal(signal.SIGTERM) is hbmon._signals._on_stop_signal
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "put back once the run is over"
