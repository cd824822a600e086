#!/usr/bin/env python3
"""10 000 names beating every 10 s through the beat sink of `hbmon serve` (BENCHMARKS.md,
"10 000 names through the beat sink"), beside the same load through the file protocol alone,
with the terminal UI open on the file beside `htop`, in the same run.

    benches/sink_10k.py --hbmon target/release/hbmon --beat-many target/release/examples/beat_many
        [--names 10000] [--period 10] [--seconds 60] [--windows 3]
        [--processes 4] [--connections 12] [--modes sink-wait,sink-queued,file]

Each window runs every mode once, one after the other, each on a fresh 10 000-entry file:

- `sink-wait`: `hbmon serve` on the file; PROCESSES Python processes each hold CONNECTIONS
  connections to `<file>.sock` (48 in all by default: under the sink's 64 clients, and
  each busy enough never to sit idle the 10 s the sink allows). Every name belongs to one
  connection, which beats its names in turn, evenly spaced, each once per PERIOD. A request
  is `{"name", "pid", "interval", "data": {"seq": K}, "wait": true}` — as the Rust and Python
  libraries send it (reply once the beat is in the file). A connection does not wait for a
  reply before its next line (replies come in order), so a slow flush shows as latency, not
  as a lower rate.
- `sink-queued`: the same without `wait` (reply once queued; in the file within a tick).
- `file`: no serve; one `beat_many` process (hbmon's own Rust writer: lock, read, rewrite,
  rename) paced at the same 1 000 beats/s over the same names. One writer is the file
  protocol's best case: it never waits for another writer's lock.

Measured per mode: beats answered and their rate; beats lost (a name whose `seq` in the
file, one second after the last reply, is below the last one answered `ok`); latency p50 and
p99 (client side, from the line's write to its reply; for `file`, one write); the file's
freshness (the age of the newest `last_heartbeat` in the file, sampled every second); the CPU
of serve (split by thread), of the writers, and of the UI (`hbmon --file F` in a 120x30 tmux
session) beside `htop -d 10` in another tmux session of the same size started at the same
time. CPU is utime+stime from /proc over the measured window (the load's last SECONDS-10 s).
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from proc_cpu import by_thread_name, cpu_ticks, percent, thread_ticks

TMUX = f"hbmon-sink10k-{os.getpid()}"
# The first seconds of a mode are its ramp-up (connections, the UI's first read); CPU is
# measured after them.
WARMUP = 10.0


def name(i):
    return f"bench-{i:04}"


def make_file(path, names, period):
    now = time.time()
    processes = {
        name(i): {
            "last_heartbeat": now,
            "pid": None,
            "status": "alive",
            "interval": period,
            "beats": 1,
            "additional_data": {"seq": 0},
        }
        for i in range(names)
    }
    with open(path, "w") as f:
        json.dump({"version": 1, "last_updated": now, "processes": processes}, f)


def quantile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


# --- the sink's writers -----------------------------------------------------------------


async def connection(sock_path, names, period, start, stop, wait, out):
    """One connection beating `names` in turn, each once per `period`, until `stop`."""
    reader, writer = await asyncio.open_unix_connection(sock_path, limit=1 << 20)
    sent = []  # (name index, seq, send time), in order: replies come in the same order
    pid = os.getpid()
    gap = period / len(names)
    state = {"sending": True}

    async def send():
        k = 0
        while True:
            at = start + k * gap
            if at >= stop:
                break
            delay = at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            i = names[k % len(names)]
            seq = k // len(names) + 1
            line = {"name": name(i), "pid": pid, "interval": period, "data": {"seq": seq}}
            if wait:
                line["wait"] = True
            sent.append((i, seq, time.time()))
            writer.write((json.dumps(line) + "\n").encode())
            await writer.drain()
            k += 1
        state["sending"] = False

    async def receive():
        n = 0
        while state["sending"] or n < len(sent):
            try:
                reply = await asyncio.wait_for(reader.readline(), timeout=30)
            except asyncio.TimeoutError:
                break
            if not reply:
                break
            i, seq, t0 = sent[n]
            n += 1
            ok = reply.startswith(b"ok")
            out["latency"].append(time.time() - t0)
            if ok:
                out["ok"] += 1
                out["acked"][i] = max(out["acked"].get(i, 0), seq)
            else:
                why = reply.decode(errors="replace").strip()[:120]
                out["errors"][why] = out["errors"].get(why, 0) + 1
        out["unanswered"] += len(sent) - n
        out["sent"] += len(sent)

    await asyncio.gather(send(), receive())
    writer.close()


def writer_process(sock_path, groups, period, start, stop, wait, results):
    out = {"latency": [], "ok": 0, "acked": {}, "errors": {}, "unanswered": 0, "sent": 0}

    async def main():
        await asyncio.gather(
            *(connection(sock_path, g, period, start, stop, wait, out) for g in groups)
        )

    asyncio.run(main())
    results.put(out)


# --- one mode ---------------------------------------------------------------------------


def tmux_start(session, command):
    subprocess.run(
        ["tmux", "-L", TMUX, "new-session", "-d", "-x", "120", "-y", "30", "-s", session,
         f"exec {command}"],
        check=True,
    )
    out = subprocess.run(
        ["tmux", "-L", TMUX, "display-message", "-p", "-t", session, "#{pane_pid}"],
        check=True, capture_output=True, text=True,
    )
    return int(out.stdout)


def tmux_stop(session):
    subprocess.run(["tmux", "-L", TMUX, "kill-session", "-t", session], check=False)


NEWEST = re.compile(rb'"last_heartbeat":\s*([0-9.eE+]+)')


def sample_freshness(path, since, until, ages):
    """The age of the newest beat in the file, once a second from `since` (a second into
    the load) to `until`."""
    time.sleep(max(0.0, since - time.time()))
    while time.time() < until:
        try:
            with open(path, "rb") as f:
                text = f.read()
            newest = max(float(m) for m in NEWEST.findall(text))
            ages.append(time.time() - newest)
        except (OSError, ValueError):
            pass
        time.sleep(1.0)


def seqs_in_file(path):
    with open(path) as f:
        processes = json.load(f)["processes"]
    return {
        int(k.split("-")[1]): (v.get("additional_data") or {}).get("seq", 0)
        for k, v in processes.items()
    }


def run_mode(mode, args, work):
    directory = tempfile.mkdtemp(prefix=f"{mode}-", dir=work)
    path = os.path.join(directory, "hb.json")
    empty = os.path.join(directory, "empty.toml")
    open(empty, "w").close()
    make_file(path, args.names, args.period)
    env = {**os.environ, "XDG_CONFIG_HOME": os.path.join(directory, "xdg"), "HOME": directory}
    serve = None
    if mode.startswith("sink"):
        serve = subprocess.Popen(
            [args.hbmon, "--file", path, "--config", empty, "serve", "--listen", "off"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(directory, "serve.log"), "w"), env=env,
        )
        sock_path = path + ".sock"
        deadline = time.time() + 20
        while not os.path.exists(sock_path):
            if time.time() > deadline or serve.poll() is not None:
                sys.exit("serve did not open its sink:\n" + open(directory + "/serve.log").read())
            time.sleep(0.05)
    ui = tmux_start(f"ui-{mode}", f"{args.hbmon} --file {path} --config {empty}")
    htop = tmux_start(f"htop-{mode}", "htop -d 10")
    time.sleep(2)  # both drawn once before the load starts

    start = time.time() + 1.0
    stop = start + args.seconds
    loadavg_before = open("/proc/loadavg").read().split()[:3]
    ages = []
    sampler = threading.Thread(target=sample_freshness, args=(path, start + 1.0, stop, ages))
    sampler.start()
    result = {"mode": mode, "load_before": " ".join(loadavg_before)}

    if mode.startswith("sink"):
        connections = args.processes * args.connections
        groups = [list(range(c, args.names, connections)) for c in range(connections)]
        results = multiprocessing.Queue()
        procs = [
            multiprocessing.Process(
                target=writer_process,
                args=(sock_path, groups[p * args.connections:(p + 1) * args.connections],
                      args.period, start, stop, mode == "sink-wait", results),
            )
            for p in range(args.processes)
        ]
        for p in procs:
            p.start()
        watched = {"serve": serve.pid, "ui": ui, "htop": htop}
        ticks0, threads0, writers0 = measure_start(start, watched, procs)
        ticks1, threads1, writers1 = measure_end(stop, watched, procs, serve.pid)
        outs = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join()
        time.sleep(1.0)  # past one tick: every beat answered `ok` is in the file by now
        latency = [x for o in outs for x in o["latency"]]
        acked = {}
        for o in outs:
            acked.update(o["acked"])
        errors = {}
        for o in outs:
            for k, v in o["errors"].items():
                errors[k] = errors.get(k, 0) + v
        sent = sum(o["sent"] for o in outs)
        ok = sum(o["ok"] for o in outs)
        unanswered = sum(o["unanswered"] for o in outs)
        in_file = seqs_in_file(path)
        lost = sum(1 for i, seq in acked.items() if in_file.get(i, 0) < seq)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        window = args.seconds - WARMUP
        result.update(
            serve_cpu=percent(ticks1["serve"] - ticks0["serve"], window),
            serve_threads=by_thread_name(
                threads0, threads1, ticks1["serve"] - ticks0["serve"], window
            ),
            errors=errors, unanswered=unanswered,
        )
    else:
        log = os.path.join(directory, "beats.log")
        pids = os.path.join(directory, "pids")
        with open(pids, "w") as f:
            f.write(f"{os.getpid()}\n")  # alive all along: the UI checks a live PID
        writer = subprocess.Popen(
            [args.beat_many, path, str(args.names), str(args.names / args.period),
             str(args.seconds), pids, log],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(directory, "writer.log"), "w"),
        )
        watched = {"ui": ui, "htop": htop, "writer": writer.pid}
        ticks0, _, _ = measure_start(start, watched, [])
        ticks1, _, _ = measure_end(stop, watched, [], None)
        writer.wait(timeout=60)
        with open(log) as f:
            latency = [float(line.split()[1]) / 1000 for line in f]
        sent = ok = len(latency)
        # beat_many beats the names round-robin: name i's last seq follows from the count.
        acked = {i: (sent - i + args.names - 1) // args.names for i in range(min(sent, args.names))}
        in_file = seqs_in_file(path)
        lost = sum(1 for i, seq in acked.items() if in_file.get(i, 0) < seq)
        window = args.seconds - WARMUP
        writers1 = {"writer": ticks1["writer"]}
        writers0 = {"writer": ticks0["writer"]}
        result.update(errors={}, unanswered=0)
    sampler.join()
    tmux_stop(f"ui-{mode}")
    tmux_stop(f"htop-{mode}")
    result.update(
        load_after=" ".join(open("/proc/loadavg").read().split()[:3]),
        sent=sent,
        rate=sent / args.seconds,
        ok=ok,
        lost=lost,
        p50_ms=quantile(latency, 0.50) * 1000,
        p99_ms=quantile(latency, 0.99) * 1000,
        max_ms=max(latency) * 1000 if latency else float("nan"),
        fresh_median_s=statistics.median(ages) if ages else float("nan"),
        fresh_max_s=max(ages) if ages else float("nan"),
        ui_cpu=percent(ticks1["ui"] - ticks0["ui"], window),
        htop_cpu=percent(ticks1["htop"] - ticks0["htop"], window),
        writers_cpu=percent(sum(writers1.values()) - sum(writers0.values()), window),
    )
    return result


def measure_start(start, watched, procs):
    time.sleep(max(0.0, start + WARMUP - time.time()))
    ticks = {k: cpu_ticks(pid) for k, pid in watched.items()}
    threads = thread_ticks(watched["serve"]) if "serve" in watched else {}
    writers = {p.pid: cpu_ticks(p.pid) for p in procs}
    return ticks, threads, writers


def measure_end(stop, watched, procs, serve_pid):
    time.sleep(max(0.0, stop - time.time()))
    ticks = {k: cpu_ticks(pid) for k, pid in watched.items()}
    threads = thread_ticks(serve_pid) if serve_pid else {}
    writers = {p.pid: cpu_ticks(p.pid) for p in procs}
    return ticks, threads, writers


def show(r):
    ratio = r["ui_cpu"] / r["htop_cpu"] if r["htop_cpu"] else float("inf")
    line = (
        f"{r['mode']}: load {r['load_before']} -> {r['load_after']}; "
        f"{r['sent']} beats ({r['rate']:.0f}/s), {r['ok']} ok, lost {r['lost']}, "
        f"errors {sum(r['errors'].values())}, unanswered {r['unanswered']}; "
        f"latency p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms max {r['max_ms']:.1f} ms; "
        f"freshness median {r['fresh_median_s']:.3f} s max {r['fresh_max_s']:.3f} s; "
    )
    if "serve_cpu" in r:
        line += f"serve CPU {r['serve_cpu']:.2f}% {r['serve_threads']}; "
    line += (
        f"writers CPU {r['writers_cpu']:.2f}%; UI CPU {r['ui_cpu']:.2f}% "
        f"htop {r['htop_cpu']:.2f}% (UI/htop {ratio:.2f})"
    )
    if r["errors"]:
        line += f"; errors: {r['errors']}"
    print(line, flush=True)


def summary(results, modes):
    print("\nsummary: median (range) over windows")
    keys = ["rate", "lost", "p50_ms", "p99_ms", "fresh_median_s", "fresh_max_s", "serve_cpu",
            "writers_cpu", "ui_cpu", "htop_cpu"]
    for mode in modes:
        rows = [r for r in results if r["mode"] == mode]
        parts = []
        for k in keys:
            values = [r[k] for r in rows if k in r]
            if values:
                parts.append(
                    f"{k} {statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"
                )
        ratios = [r["ui_cpu"] / r["htop_cpu"] for r in rows if r["htop_cpu"]]
        if ratios:
            parts.append(f"UI/htop {statistics.median(ratios):.2f} "
                         f"({min(ratios):.2f}-{max(ratios):.2f})")
        print(f"{mode}: " + "; ".join(parts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hbmon", required=True)
    parser.add_argument("--beat-many", required=True)
    parser.add_argument("--names", type=int, default=10000)
    parser.add_argument("--period", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--connections", type=int, default=12)
    parser.add_argument("--modes", default="sink-wait,sink-queued,file")
    args = parser.parse_args()
    if args.seconds <= WARMUP:
        sys.exit(f"--seconds: {args.seconds} leaves nothing after the {WARMUP:.0f} s warm-up")
    for tool in ("tmux", "htop"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            sys.exit(f"{tool} is required")
    modes = args.modes.split(",")
    print(f"machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}; "
          f"{args.names} names every {args.period:g} s, {args.seconds:g} s per mode, "
          f"{args.processes}x{args.connections} sink connections", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as work:
        try:
            for w in range(args.windows):
                print(f"window {w + 1}: uptime {open('/proc/loadavg').read().strip()}", flush=True)
                for mode in modes:
                    r = run_mode(mode, args, work)
                    results.append(r)
                    show(r)
        finally:
            subprocess.run(["tmux", "-L", TMUX, "kill-server"], capture_output=True)
    summary(results, modes)


if __name__ == "__main__":
    main()
