"""One beat of the Python writer in a long-lived process, at 1 000 and 10 000 entries,
beside its anchors measured in the same run: Python's `json.load` of the whole file and the
floor of a beat (flock, read, write a temp file, rename) done by plain Python.

    python3 benches/python_writer.py [--rounds N] [--cpu]     (PYTHONPATH=python/src)

A long-lived process remembers the entries it read (hbmon._scan._entries): "first of a
process" forgets them before each beat, as a process that beats once pays.

Prints, per size, the median and range (min-max) over N rounds of 20 beats each, in ms.
"""

import argparse
import fcntl
import json
import os
import statistics
import sys
import tempfile
import time

import hbmon


def fixture(path, n):
    # Entries as real writers leave them: a PID, an interval, some data.
    processes = {
        "worker-%05d" % i: {
            "last_heartbeat": 1_700_000_000.0 + i,
            "last_heartbeat_formatted": "2023-11-14 22:13:20",
            "pid": 10_000 + i,
            "status": "alive",
            "additional_data": {"queue": i % 17, "note": "processed \"batch\" %d\\ok" % i},
            "interval": 30.0,
            "first_heartbeat": 1_700_000_000.0,
            "beats": i,
            "errors": 0,
            "kind": "app",
            "host": "build-box",
        }
        for i in range(n)
    }
    with open(path, "w") as f:
        json.dump({"version": 1, "last_updated": 0, "processes": processes}, f)


# perf_counter (wall time) by default; --cpu: this process's CPU time (user + system),
# which other load on the machine disturbs less.
clock = time.perf_counter


def per_call(fn, calls):
    start = clock()
    for _ in range(calls):
        fn()
    return (clock() - start) * 1000 / calls


def floor(path):
    # What any beat must do: lock, read the file, write it whole to a temp file, rename.
    def once():
        with open(path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with open(path, "rb") as f:
                raw = f.read()
            tmp = path + ".floor-tmp"
            with open(tmp, "wb") as f:
                f.write(raw)
            os.rename(tmp, path)

    return once


def first_beat(path):
    def once():
        hbmon._scan._known = {}
        hbmon.beat("worker-00042", {"queue": 3}, file=path)

    return once


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--cpu", action="store_true", help="CPU time of this process, not wall time")
    args = parser.parse_args()
    global clock
    if args.cpu:
        clock = time.process_time
    print(
        "python %s, %d rounds of 20 calls; ms per call (%s): median (min-max)"
        % (sys.version.split()[0], args.rounds, "CPU" if args.cpu else "wall")
    )
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "heartbeat_status.json")
            fixture(path, n)
            calls = 20 if n <= 1000 else 5

            def load():
                with open(path) as f:
                    json.load(f)

            cases = {
                "hbmon.beat": lambda: hbmon.beat("worker-00042", {"queue": 3}, file=path),
                # A process's first beat: no entry remembered from a previous one.
                "hbmon.beat, first of a process": first_beat(path),
                "json.load (anchor)": load,
                "lock+read+write+rename (floor)": floor(path),
            }
            for label, fn in cases.items():
                fn()  # warm: the file cache, the imports
                times = [per_call(fn, calls) for _ in range(args.rounds)]
                print(
                    "%6d entries  %-32s %8.2f  (%.2f-%.2f)"
                    % (n, label, statistics.median(times), min(times), max(times))
                )


if __name__ == "__main__":
    main()
