#!/usr/bin/env python3
"""Reproduces BENCHMARKS.md section 9: CPU of `hbmon serve` probing 1 000 local HTTP
endpoints every 10 s, beside the same checks done by a `curl` loop (1 000 curl invocations
every 10 s, 16 at a time as hbmon's 16 workers), measured one after the other in the same run
against the same server.

One Python asyncio server (keep-alive, HTTP/1.1) answers `GET /health/<i>` with `200 ok` for
the 1 000 paths; its own CPU is not counted. Each subject runs one warm-up round, then
`--rounds` rounds of 1 000 checks; its CPU is utime + stime + cutime + cstime from
/proc/<pid>/stat (the loop's curls count once waited for). serve's rounds are 10 s windows;
the loop's are read as each batch ends (its curls then waited for), a round lasting 10 s or
as long as a batch overran it on a loaded machine. Prints, for each, the CPU seconds per
round of 1 000 checks and the share of one core (median and range), and the ratio of CPU
per check.

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
    """Each of `rounds` 10 s windows (one turn of every probe) after a warm-up one: (CPU
    seconds, wall seconds)."""
    time.sleep(EVERY + 2.0)
    rounds_seen = []
    last, at = cpu_seconds(pid), time.monotonic()
    for _ in range(rounds):
        time.sleep(EVERY)
        now_cpu, now = cpu_seconds(pid), time.monotonic()
        rounds_seen.append((now_cpu - last, now - at))
        last, at = now_cpu, now
        log(f"  {rounds_seen[-1][0]:.3f} CPU s in {rounds_seen[-1][1]:.1f}s")
    return rounds_seen


def measure_cycles(loop, rounds, log):
    """Each of `rounds` cycles of the loop (one batch of 1 000 curls) after a warm-up one:
    (CPU seconds, wall seconds) between the ends of two batches, read when the loop says
    one ended, so the batch's curls are waited for and counted. A cycle is 10 s, or longer
    when a batch overran it (a loaded machine)."""
    rounds_seen = []
    loop.stdout.readline()
    last, at = cpu_seconds(loop.pid), time.monotonic()
    for _ in range(rounds):
        loop.stdout.readline()
        now_cpu, now = cpu_seconds(loop.pid), time.monotonic()
        rounds_seen.append((now_cpu - last, now - at))
        last, at = now_cpu, now
        log(f"  {rounds_seen[-1][0]:.3f} CPU s in {rounds_seen[-1][1]:.1f}s")
    return rounds_seen


def summary(rounds_seen):
    """CPU seconds per round of 1 000 checks, and as a share of one core: median (range)."""
    cpu = [c for c, _ in rounds_seen]
    share = [100.0 * c / w for c, w in rounds_seen]
    return (
        f"{statistics.median(cpu):.3f} CPU s per 1 000 checks ({min(cpu):.3f}-{max(cpu):.3f}), "
        f"{statistics.median(share):.2f}% of a core ({min(share):.2f}-{max(share):.2f})"
    )


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
            serve_rounds = measure(serve.pid, args.rounds, log)
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
            curl_rounds = measure_cycles(curl, args.rounds, log)
        finally:
            os.killpg(curl.pid, 15)
            curl.wait()

    ratio = statistics.median([c for c, _ in curl_rounds]) / max(
        statistics.median([c for c, _ in serve_rounds]), 1e-9)
    lengths = [w for _, w in curl_rounds]
    print(f"endpoints {ENDPOINTS}, every {EVERY:.0f}s, rounds {args.rounds}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"hbmon serve: {summary(serve_rounds)}")
    print(f"curl loop:   {summary(curl_rounds)}; cycles {min(lengths):.1f}-{max(lengths):.1f}s")
    print(f"ratio (CPU per check, curl / serve): {ratio:.1f}x")


if __name__ == "__main__":
    main()
