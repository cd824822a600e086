"""Tests of AsyncHeartbeat: its awaits never block the event loop, its writes are paced, and
an ``async with`` block ends ``stopped``, cancelled or not, or ``error`` naming the exception."""

import asyncio
import fcntl
import json
import os
import time

import pytest

import hbmon


def entry(path, name):
    with open(path, encoding="utf-8") as f:
        return json.load(f)["processes"][name]


async def lags_while(work):
    """Runs ``work`` beside a ticker task; returns (work's result, the ticker's longest and
    99th-percentile waits for the loop in seconds): how long anything blocked the loop."""
    gaps, done = [], asyncio.Event()

    async def ticker():
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0)
            gaps.append(time.perf_counter() - t)

    tick = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        done.set()
        await tick
    gaps.sort()
    return result, gaps[-1], gaps[int(len(gaps) * 0.99)]


def test_a_thousand_pulses_in_a_busy_loop_write_paced_beats_and_never_block_the_loop(tmp_path):
    file = str(tmp_path / "hb.json")
    interval = 0.4  # pace: one write per 0.1 s at most

    async def service():
        async with hbmon.AsyncHeartbeat("svc", interval=interval, file=file, handle_signals=False) as hb:
            started = time.monotonic()
            for _ in range(1000):
                await hb.pulse()
                await asyncio.sleep(0.0005)
            took = time.monotonic() - started
        return took

    took, longest, p99 = asyncio.run(lags_while(service()))
    beats = entry(file, "svc")["beats"]
    # The first beat, one per elapsed period (plus one the period in progress may add) and
    # the stop: never one per pulse, and pulses did beat.
    paced_max = 1 + int(took / (interval / 4)) + 1 + 1
    assert 3 <= beats <= paced_max, (beats, took)
    assert beats < 100
    assert p99 < 0.001, "the loop waited %.2f ms at p99" % (p99 * 1000)
    # The longest wait takes the machine's scheduling (2 shared cores) too: generous, but far
    # below one blocking write, which waits for the lock and renames a file.
    assert longest < 0.05, "the loop waited %.1f ms once" % (longest * 1000)


def test_a_held_lock_delays_the_first_beat_not_the_loop(tmp_path):
    file = str(tmp_path / "hb.json")
    lock = os.open(file + ".lock", os.O_RDONLY | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)

    async def release_later():
        await asyncio.sleep(0.3)
        fcntl.flock(lock, fcntl.LOCK_UN)

    async def start():
        hb = hbmon.AsyncHeartbeat("svc", interval=30, file=file, handle_signals=False)
        releaser = asyncio.create_task(release_later())
        started = time.monotonic()
        await hb.start()
        waited = time.monotonic() - started
        await releaser
        await hb.stop()
        return waited

    try:
        waited, longest, _ = asyncio.run(lags_while(start()))
    finally:
        os.close(lock)
    assert waited >= 0.25, "start waited for the lock"
    assert longest < 0.05, "the loop kept running while it did (longest wait %.1f ms)" % (longest * 1000)
    assert entry(file, "svc")["status"] == "stopped"


@pytest.mark.parametrize(
    "body, status, error",
    [
        ("pass", "stopped", None),
        ("raise asyncio.CancelledError()", "stopped", None),
        ("raise RuntimeError('disk full')", "error", "RuntimeError: disk full"),
    ],
    ids=["clean exit", "cancelled", "exception"],
)
def test_async_with_ends_stopped_unless_an_exception_ended_it(tmp_path, body, status, error):
    file = str(tmp_path / "hb.json")
    code = "async def block(hb):\n    " + body + "\n"
    scope = {"asyncio": asyncio}
    exec(code, scope)

    async def main():
        async with hbmon.AsyncHeartbeat("svc", interval=30, file=file, handle_signals=False) as hb:
            hb.set_data({"step": 1})
            await scope["block"](hb)

    try:
        asyncio.run(main())
    except (RuntimeError, asyncio.CancelledError):
        pass
    e = entry(file, "svc")
    assert (e["status"], e.get("last_error")) == (status, error)
    assert e["additional_data"] == {"step": 1}


def test_error_and_stop_write_at_once_and_return_the_entry(tmp_path):
    file = str(tmp_path / "hb.json")

    async def main():
        hb = await hbmon.AsyncHeartbeat("svc", interval=30, file=file, handle_signals=False).start()
        failed = await hb.error("upstream 503")
        stopped = await hb.stop()
        return failed, stopped

    failed, stopped = asyncio.run(main())
    assert (failed["status"], failed["last_error"], failed["errors"]) == ("error", "upstream 503", 1)
    assert stopped == entry(file, "svc") and stopped["status"] == "stopped"


def test_a_second_start_is_refused_and_keeps_the_running_one(tmp_path):
    file = str(tmp_path / "hb.json")

    async def main():
        hb = await hbmon.AsyncHeartbeat("svc", interval=30, file=file).start()
        with pytest.raises(hbmon.HbmonError, match="already started"):
            await hb.start()
        assert hbmon._signals._live == [hb._hb], "the running heartbeat still handles stop signals"
        await hb.stop()
        assert hbmon._signals._live == []

    asyncio.run(main())
