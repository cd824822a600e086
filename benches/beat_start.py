#!/usr/bin/env python3
"""Reproduces BENCHMARKS.md section "`hbmon beat` start-up": the wall time of one `hbmon beat`
process, spawned and waited for, into a 100-entry file, without a serve and with one
answering on `<file>.sock`, beside `true` spawned the same way in the same run (the cost of
starting any process here: the anchor).

Each binary given is measured the same way, interleaved case by case so that load moves every
case alike: compare build options by passing one binary per option.

    benches/beat_start.py [--runs N] [--entries N] [LABEL=BINARY ...]

Without a binary, target/release/hbmon (built if missing). Spawned with os.posix_spawn (no
fork of the Python interpreter, no shell) and reaped with waitpid; stdout and stderr to
/dev/null. Prints the median and the min-max range per case, in ms, and the load average.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_file(path: Path, n: int) -> None:
    now = time.time()
    host = socket.gethostname()
    procs = {
        f"bench-{i:05}": {"last_heartbeat": now, "pid": os.getpid(), "status": "alive",
                          "interval": 30.0, "first_heartbeat": now - 3600, "beats": 1,
                          "errors": 0, "kind": "app", "host": host,
                          "additional_data": {"queue": i, "state": "ok"}}
        for i in range(n)
    }
    path.write_text(json.dumps({"version": 1, "last_updated": now, "processes": procs}))


def spawn_ms(argv: list[str], devnull: int) -> float:
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    t = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    ms = (time.perf_counter() - t) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"beat_start: {argv} exited {os.waitstatus_to_exitcode(status)}")
    return ms


def wait_for_socket(sock: Path, serve: subprocess.Popen) -> None:
    for _ in range(200):
        if sock.exists():
            return
        if serve.poll() is not None:
            sys.exit(f"beat_start: hbmon serve exited {serve.returncode}")
        time.sleep(0.05)
    sys.exit(f"beat_start: no {sock} after 10 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=201)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("binaries", nargs="*", metavar="LABEL=BINARY")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    binaries = [b.split("=", 1) for b in args.binaries]
    if not binaries:
        release = root / "target/release/hbmon"
        if not release.exists():
            subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "hbmon"],
                           cwd=root, check=True)
        binaries = [("release", str(release))]
    true = subprocess.run(["sh", "-c", "command -v true"], capture_output=True,
                          text=True, check=True).stdout.strip()
    if not true.startswith("/"):
        true = "/bin/true"

    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        alone = work / "alone" / "heartbeat_status.json"
        served = work / "served" / "heartbeat_status.json"
        config = work / "empty.toml"
        config.write_text("")
        for f in (alone, served):
            f.parent.mkdir()
            write_file(f, args.entries)
        # One serve (of the first binary) for every binary's "with serve" case: what is
        # measured is the beating process, not the serve.
        serve = subprocess.Popen(
            [binaries[0][1], "serve", "--file", str(served), "--config", str(config),
             "--listen", "off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_socket(Path(f"{served}.sock"), serve)
            cases = {"spawn `true` (anchor)": [true]}
            for label, binary in binaries:
                for where, f in (("no serve", alone), ("serve's sink", served)):
                    cases[f"{label}: hbmon beat, {where}"] = [
                        binary, "--file", str(f), "beat", "-q", "bench-00050", "--pid", "4242"]
            times = {name: [] for name in cases}
            devnull = os.open(os.devnull, os.O_WRONLY)
            for i in range(args.runs + 10):
                for name, argv in cases.items():
                    ms = spawn_ms(argv, devnull)
                    if i >= 10:
                        times[name].append(ms)
        finally:
            serve.terminate()
            serve.wait()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"machine: {os.cpu_count()} cores, load {' '.join(load)}; {args.entries} entries, "
          f"{args.runs} runs per case after 10 untimed")
    anchor = statistics.median(times["spawn `true` (anchor)"])
    print(f"| case | median | min – max | × `true` |\n|---|---:|---:|---:|")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"| {name} | {m:.2f} ms | {min(ts):.2f} – {max(ts):.2f} ms | {m / anchor:.2f} |")


if __name__ == "__main__":
    main()
