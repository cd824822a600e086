#!/usr/bin/env python3
"""Reproduces BENCHMARKS.md section 7: CPU of `hbmon serve` probing 1 000 local HTTP
endpoints every 10 s, beside the same checks done by a `curl` loop (1 000 curl invocations
every 10 s, 16 at a time as hbmon's 16 workers), measured one after the other in the same run
against the same server.

One Python asyncio server (keep-alive, HTTP/1.1) answers `GET /health/<i>` with `200 ok` for
the 1 000 paths; its own CPU is not counted. Each subject runs for a warm-up cycle, then
`--rounds` cycles of 10 s; its CPU is read from /proc/<pid>/stat at each cycle boundary
(utime + stime, plus cutime + cstime: the loop's curls once waited for), so every round is
one cycle's CPU as a share of one core; the loop's is read as each batch ends (its curls
then waited for and counted), a cycle lasting 10 s or as long as a batch overran it. Prints the median and range of each and the ratio.

Usage: python3 benches/probes_cpu.py [--rounds 6] [--bin target/release/hbmon]
(Linux /proc, curl; build first: cargo build --release --locked)
"""

import argparse
import asyncio
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ENDPOINTS = 1000
EVERY = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def serve_forever(ready):
    """The endpoints: `200 ok` to any GET, connections kept alive."""

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        ready.append(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def cpu_seconds(pid):
    """utime + stime + cutime + cstime of `pid`, in seconds."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command's closing parenthesis: field 3 is fields[0]; utime is field 14.
    return sum(int(f) for f in fields[11:15]) / TICKS


def measure(pid, rounds, log):
    """Each of `rounds` cycles' CPU as a percentage of one core, after one warm-up cycle."""
    time.sleep(EVERY + 2.0)
    shares = []
    last, at = cpu_seconds(pid), time.monotonic()
    for _ in range(rounds):
        time.sleep(EVERY)
        now_cpu, now = cpu_seconds(pid), time.monotonic()
        shares.append(100.0 * (now_cpu - last) / (now - at))
        last, at = now_cpu, now
        log(f"  {shares[-1]:.2f}%")
    return shares


def measure_cycles(loop, rounds, log):
    """Each of `rounds` cycles of the loop as a percentage of one core, after one warm-up
    cycle: its CPU between the ends of two batches (read when it says one ended, so the
    batch's curls are waited for and counted) over the time between them (10 s, or longer
    if a batch overran its cycle). Also the cycles' lengths."""
    shares, lengths = [], []
    loop.stdout.readline()
    last, at = cpu_seconds(loop.pid), time.monotonic()
    for _ in range(rounds):
        loop.stdout.readline()
        now_cpu, now = cpu_seconds(loop.pid), time.monotonic()
        shares.append(100.0 * (now_cpu - last) / (now - at))
        lengths.append(now - at)
        last, at = now_cpu, now
        log(f"  {shares[-1]:.2f}% (cycle {lengths[-1]:.1f}s)")
    return shares, lengths


def summary(shares):
    return f"{statistics.median(shares):.2f}% ({min(shares):.2f}-{max(shares):.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--bin", default="target/release/hbmon")
    args = parser.parse_args()
    hbmon = pathlib.Path(args.bin).resolve()
    if not hbmon.is_file():
        sys.exit(f"no {hbmon}: cargo build --release --locked first")
    if shutil.which("curl") is None:
        sys.exit("curl is required")
    log = lambda text: print(text, file=sys.stderr, flush=True)

    ready = []
    threading.Thread(target=serve_forever, args=(ready,), daemon=True).start()
    while not ready:
        time.sleep(0.01)
    port = ready[0]
    urls = [f"http://127.0.0.1:{port}/health/{i}" for i in range(ENDPOINTS)]

    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        config = "".join(
            f'[[process]]\nname = "ep-{i:04}"\nhttp = "{url}"\n'
            f'probe_every = "{EVERY:.0f}s"\nprobe_timeout = "5s"\n\n'
            for i, url in enumerate(urls)
        )
        (work / "hbmon.toml").write_text(config + '[history]\nkeep = "1h"\n')
        env = dict(os.environ, HBMON_FILE=str(work / "hb.json"),
                   HBMON_CONFIG=str(work / "hbmon.toml"), HOME=str(work))
        for proxy in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
            env.pop(proxy, None)

        log(f"hbmon serve probing {ENDPOINTS} endpoints every {EVERY:.0f}s:")
        with open(work / "serve.log", "w") as err:
            serve = subprocess.Popen([str(hbmon), "serve", "--listen", "off"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=err)
        try:
            serve_shares = measure(serve.pid, args.rounds, log)
        finally:
            serve.terminate()
            serve.wait()
        probed = (work / "hb.json.probes.json")
        if not probed.exists() or probed.read_text().count('"ok":true') < ENDPOINTS:
            log((work / "serve.log").read_text())
            sys.exit("serve did not probe every endpoint successfully")

        log(f"a curl loop doing the same (xargs -P 16 curl, every {EVERY:.0f}s):")
        (work / "urls").write_text("\n".join(urls) + "\n")
        loop = (
            "while :; do start=$(date +%s.%N); "
            f"xargs -P 16 -n 1 curl -s -o /dev/null -m 5 --noproxy '*' < {work / 'urls'}; "
            "echo done; "
            "sleep $(awk -v s=$start -v n=$(date +%s.%N) "
            f"'BEGIN {{ d = {EVERY} - (n - s); print (d > 0 ? d : 0) }}'); done"
        )
        curl = subprocess.Popen(["bash", "-c", loop], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        try:
            curl_shares, lengths = measure_cycles(curl, args.rounds, log)
        finally:
            os.killpg(curl.pid, 15)
            curl.wait()

    ratio = statistics.median(curl_shares) / max(statistics.median(serve_shares), 1e-9)
    print(f"endpoints {ENDPOINTS}, every {EVERY:.0f}s, rounds {args.rounds} (one core = 100%)")
    print(f"hbmon serve: {summary(serve_shares)}")
    print(f"curl loop:   {summary(curl_shares)}, cycles {min(lengths):.1f}-{max(lengths):.1f}s")
    print(f"ratio:       {ratio:.1f}x")


if __name__ == "__main__":
    main()
