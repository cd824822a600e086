#!/usr/bin/env python3
"""Reproduces BENCHMARKS.md section 13 with real browser tabs: the CPU of `hbmon serve` with
no dashboard open and with TABS headless chromium windows on its dashboard, beside the
terminal UI on the same file in the same windows, and chromium's own CPU (all its processes)
for context.

The setup is `benches/web_dashboards.sh`'s: 1 000 entries (PIDs of 200 live processes, a
day's interval each), 200 of them beating once a second (examples/beat_many: one process,
200 beats a second round the 200), `hbmon serve` and the terminal UI (tmux, 160x40) on the
file. The tabs: one chromedriver, one headless chromium session, TABS windows (a window
each, so every dashboard is in view and none is throttled as a background tab), each on
`http://127.0.0.1:PORT/`. A MutationObserver counts each page's DOM changes, so the run
shows the pages really drew the updates.

CPU: utime+stime from /proc/PID/stat over WINDOW seconds, ROUNDS windows per case after a
10 s warm-up; median and range. Chromium's is the sum over chromedriver's descendants alive
at the window's end (a process that exits within a window is not counted).

    benches/web_tabs.py [--window S] [--rounds N] [--tabs N] [--hbmon BIN] [--beat-many BIN]

Needs Linux /proc, tmux, chromium and chromedriver (Debian's: `bash .ci/tools`).
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def ticks(pid: int) -> int:
    f = stat_fields(pid)
    if f is None:
        sys.exit(f"web_tabs: process {pid} is gone")
    return int(f[11]) + int(f[12])  # utime, stime (fields 14 and 15)


def descendants(root: int) -> dict[tuple[int, str], int]:
    """Every live descendant of ROOT: (pid, start time) -> utime+stime."""
    children: dict[int, list[int]] = {}
    info: dict[int, tuple[str, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        f = stat_fields(int(entry))
        if f is None:
            continue
        children.setdefault(int(f[1]), []).append(int(entry))
        info[int(entry)] = (f[19], int(f[11]) + int(f[12]))
    found, todo = {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        start, t = info[pid]
        found[(pid, start)] = t
        todo.extend(children.get(pid, []))
    return found


def percent(t: int, window: float) -> float:
    return t / TICKS / window * 100


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} %, range {min(values):.2f}-{max(values):.2f} %"


def write_file(path: Path, pids: list[int]) -> None:
    # The 1 000 entries in one write, each a day's interval: nothing turns late in the run.
    now = time.time()
    host = socket.gethostname()
    procs = {f"bench-{i:04}": {"last_heartbeat": now, "pid": pids[i % len(pids)],
                               "status": "alive", "interval": 86400.0, "first_heartbeat": now,
                               "beats": 1, "errors": 0, "kind": "app", "host": host,
                               "additional_data": {"queue": i}} for i in range(1000)}
    path.write_text(json.dumps({"version": 1, "last_updated": now, "processes": procs}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    """chromedriver's WebDriver HTTP API, one session."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, body: dict | None = None):
        data = None if method in ("GET", "DELETE") else json.dumps(body or {}).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as reply:
            return json.load(reply)["value"]

    def run(self, script: str):
        return self.call("POST", "/execute/sync", {"script": script, "args": []})


# Counts the page's DOM changes from now on (childList, text, attributes).
OBSERVE = """window.hbMutations = 0;
new MutationObserver(m => { window.hbMutations += m.length; })
  .observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
return true;"""


def open_tabs(driver: Driver, url: str, tabs: int, profile: Path) -> list[str]:
    for _ in range(200):
        try:
            if driver.call("GET", "/status")["ready"]:
                break
        except OSError:
            pass
        time.sleep(0.1)
    chromium = next(p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser")
                    if Path(p).exists())
    session = driver.call("POST", "/session", {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": chromium, "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--window-size=1280,900", f"--user-data-dir={profile}"]},
    }}})
    driver.base += f"/session/{session['sessionId']}"
    handles = [driver.call("GET", "/window")]
    for _ in range(tabs - 1):
        handles.append(driver.call("POST", "/window/new", {"type": "window"})["handle"])
    for h in handles:
        driver.call("POST", "/window", {"handle": h})
        driver.call("POST", "/url", {"url": url})
        deadline = time.time() + 30
        while not driver.run("return document.querySelectorAll('tbody tr').length >= 1000"):
            if time.time() > deadline:
                sys.exit(f"web_tabs: the dashboard did not show 1 000 rows in 30 s: "
                         f"{driver.run('return document.body.innerText')[:300]!r}")
            time.sleep(0.2)
        driver.run(OBSERVE)
    return handles


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tabs", type=int, default=5)
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--hbmon", default=str(root / "target/release/hbmon"))
    parser.add_argument("--beat-many", default=str(root / "target/release/examples/beat_many"))
    args = parser.parse_args()
    for tool in ("tmux", "chromedriver"):
        if shutil.which(tool) is None:
            sys.exit(f"web_tabs: {tool} is required (bash .ci/tools)")

    procs: list[subprocess.Popen] = []
    sock = f"hbmon-tabs-{os.getpid()}"
    work = Path(tempfile.mkdtemp())
    driver = None
    try:
        sleepers = [subprocess.Popen(["sleep", "100000"]) for _ in range(200)]
        procs += sleepers
        (work / "pids").write_text("".join(f"{p.pid}\n" for p in sleepers))
        file, config = work / "heartbeat_status.json", work / "empty.toml"
        config.write_text("")
        write_file(file, [p.pid for p in sleepers])
        port = free_port()
        log = open(work / "serve.log", "w")
        serve = subprocess.Popen([args.hbmon, "serve", "--file", str(file), "--config",
                                  str(config), "--listen", f"127.0.0.1:{port}"],
                                 stdout=log, stderr=log)
        procs.append(serve)
        subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "160", "-y", "40", "-s",
                        "ui", f"exec {args.hbmon} --file {file} --config {config}"], check=True)
        ui = int(subprocess.run(["tmux", "-L", sock, "display-message", "-p", "-t", "ui",
                                 "#{pane_pid}"], capture_output=True, text=True,
                                check=True).stdout)
        seconds = 4 * args.rounds * args.window + 180
        procs.append(subprocess.Popen([args.beat_many, str(file), "200", "200", str(seconds),
                                       str(work / "pids")]))
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        cpu = Path("/proc/cpuinfo").read_text().split("model name")[1].split(":")[1].split("\n")[0]
        print(f"machine: {os.cpu_count()} cores,{cpu}, load {load}; {args.hbmon}", flush=True)
        time.sleep(10)

        def measure(label: str, browser: int | None) -> None:
            s_all, u_all, c_all = [], [], []
            for _ in range(args.rounds):
                s, u = ticks(serve.pid), ticks(ui)
                c = descendants(browser) if browser else {}
                time.sleep(args.window)
                s_all.append(percent(ticks(serve.pid) - s, args.window))
                u_all.append(percent(ticks(ui) - u, args.window))
                if browser:
                    after = descendants(browser)
                    c_all.append(percent(sum(t - c.get(k, 0) for k, t in after.items()),
                                         args.window))
            line = f"[{label}] serve {summary(s_all)}; terminal UI {summary(u_all)}"
            if browser:
                line += f"; chromium ({len(descendants(browser))} processes) {summary(c_all)}"
            load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
            print(f"{line}; load {load}", flush=True)

        measure("no tab", None)
        dport = free_port()
        chromedriver = subprocess.Popen(["chromedriver", f"--port={dport}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(chromedriver)
        driver = Driver(dport)
        handles = open_tabs(driver, f"http://127.0.0.1:{port}/", args.tabs, work / "profile")
        time.sleep(10)
        measure(f"{args.tabs} chromium tabs", chromedriver.pid)
        for i, h in enumerate(handles):
            # A page busy drawing may not answer in chromedriver's time: say so, go on.
            try:
                driver.call("POST", "/window", {"handle": h})
                rows, changes = driver.run("return [document.querySelectorAll('tbody tr')"
                                           ".length, window.hbMutations]")
                print(f"tab {i + 1}: {rows} rows, {changes} DOM changes since it loaded")
            except urllib.error.HTTPError as e:
                print(f"tab {i + 1}: no answer: {e.read().decode(errors='replace')[:300]}")
        # No tab again, once the browser has gone: what load drift did to the first row.
        driver.call("DELETE", "")
        driver = None
        time.sleep(5)
        measure("no tab, after", None)
    finally:
        # Ending the session ends chromium: chromedriver's own end would leave it running.
        if driver is not None and "/session/" in driver.base:
            try:
                driver.call("DELETE", "")
            except OSError:
                pass
        subprocess.run(["tmux", "-L", sock, "kill-server"], stderr=subprocess.DEVNULL)
        # tmux leaves its socket file behind.
        tmpdir = os.environ.get("TMUX_TMPDIR", "/tmp")
        Path(f"{tmpdir}/tmux-{os.getuid()}/{sock}").unlink(missing_ok=True)
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
