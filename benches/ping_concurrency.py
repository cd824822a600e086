#!/usr/bin/env python3
"""Pings under concurrency (BENCHMARKS.md, "Pings under concurrency"): N clients, each
sending one ping per new connection (no keep-alive) as fast as it is answered, for S
seconds, against an `hbmon serve` watching a file of E entries; then the same clients on
`/healthz` (answered from memory, no write: the floor of this client and server), and
`curl`'s own cost for one ping, serially.

    benches/ping_concurrency.py --hbmon target/release/hbmon [--entries 1000]
        [--clients 50] [--seconds 10]

Prints, per phase: requests, per second, status counts (503s among them), latency
median / p99 / max in ms, and serve's CPU over the phase by thread (`other`: the threads
that came and went, one per connection).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from proc_cpu import by_thread_name, cpu_ticks, thread_ticks


def make_file(path, entries):
    now = time.time()
    processes = {
        f"bench-{i}": {
            "last_heartbeat": now,
            "pid": None,
            "status": "alive",
            "interval": 3600,
            "beats": 1,
            "additional_data": {"i": i},
        }
        for i in range(entries)
    }
    with open(path, "w") as f:
        json.dump({"version": 1, "last_updated": now, "processes": processes}, f)


def start_serve(hbmon, directory):
    log = open(os.path.join(directory, "serve.log"), "w+")
    file = os.path.join(directory, "hb.json")
    proc = subprocess.Popen(
        [hbmon, "--file", file, "serve", "--listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ, "XDG_CONFIG_HOME": os.path.join(directory, "xdg"), "HOME": directory},
    )
    deadline = time.time() + 20
    while time.time() < deadline:
        log.seek(0)
        m = re.search(r"listening on http://([\d.]+):(\d+)", log.read())
        if m:
            return proc, m.group(1), int(m.group(2))
        time.sleep(0.05)
    proc.kill()
    sys.exit("serve did not start:\n" + open(log.name).read())


def hammer(host, port, clients, seconds, target):
    """`clients` threads, one request per connection, for `seconds`."""
    results = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(n):
        mine = []
        i = n
        while time.monotonic() < stop_at:
            path = target(i)
            i += clients
            t0 = time.monotonic()
            try:
                conn = http.client.HTTPConnection(host, port, timeout=30)
                conn.request("GET", path, headers={"Connection": "close"})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                conn.close()
            except OSError as e:
                status = type(e).__name__
            mine.append((time.monotonic() - t0, status))
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.monotonic() - started


def serve_cpu(pid, phase):
    """Runs `phase`; its result, and serve's CPU over it, by thread."""
    ticks, threads = cpu_ticks(pid), thread_ticks(pid)
    results, took = phase()
    split = by_thread_name(threads, thread_ticks(pid), cpu_ticks(pid) - ticks, took)
    return results, took, split


def report(label, results, took, cpu):
    latencies = sorted(r[0] * 1000 for r in results)
    statuses = {}
    for _, status in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{label}: {len(results)} requests in {took:.1f}s ({len(results) / took:.0f}/s); "
        f"status {dict(sorted(statuses.items()))}; 503s: {statuses.get('503', 0)}; "
        f"latency ms median {statistics.median(latencies):.2f} p99 {p99:.2f} "
        f"max {latencies[-1]:.2f}; serve CPU % by thread {cpu}"
    )


def curl_cost(host, port, runs=50):
    curl = shutil.which("curl")
    if not curl:
        return
    times = []
    for i in range(runs):
        t0 = time.monotonic()
        subprocess.run(
            [curl, "-s", "-o", "/dev/null", f"http://{host}:{port}/ping/bench-{i}"],
            check=True,
        )
        times.append((time.monotonic() - t0) * 1000)
    times.sort()
    print(
        f"curl, one ping at a time ({runs} runs): median {statistics.median(times):.2f} ms, "
        f"range {times[0]:.2f}-{times[-1]:.2f} ms"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hbmon", required=True)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        make_file(os.path.join(directory, "hb.json"), args.entries)
        proc, host, port = start_serve(args.hbmon, directory)
        try:
            time.sleep(1)
            entries = args.entries
            results, took, cpu = serve_cpu(proc.pid, lambda: hammer(
                host, port, args.clients, args.seconds, lambda i: f"/ping/bench-{i % entries}"
            ))
            report(f"/ping, {args.clients} clients, {entries} entries", results, took, cpu)
            results, took, cpu = serve_cpu(proc.pid, lambda: hammer(
                host, port, args.clients, args.seconds, lambda i: "/healthz"
            ))
            report(f"/healthz (no write: the floor), {args.clients} clients", results, took, cpu)
            curl_cost(host, port)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
