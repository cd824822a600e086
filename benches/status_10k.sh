#!/usr/bin/env bash
# Reproduces BENCHMARKS.md section "`hbmon status` at 10 000 entries": the wall time of one
# `hbmon status` (table, `--cpu never`; and `--json`) on a 10 000-entry file whose PIDs are
# 200 live processes, beside, in the same run, `python3 -c 'json.load(...)'` of the same
# file (the issue's anchor: the whole process, and json.load alone inside it) and `cat`.
# RUNS runs of each, interleaved, after one warm-up; median and range in ms. With
# HBMON_BEFORE=binary, that binary's `--json` too, in the same run (a change's before).
#
# Usage: benches/status_10k.sh [RUNS [N]]   (Linux; python3)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-21}
N=${2:-10000}
[ -n "${HBMON:-}" ] || cargo build --release --quiet --bin hbmon
HBMON=${HBMON:-$PWD/target/release/hbmon}
WORK=$(mktemp -d)
SLEEPERS=()
cleanup() {
    [ ${#SLEEPERS[@]} -eq 0 ] || kill "${SLEEPERS[@]}" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 200); do sleep 100000 & SLEEPERS+=($!); done
printf '%s\n' "${SLEEPERS[@]}" > "$WORK/pids"
: > "$WORK/empty.toml"
file="$WORK/heartbeat_status.json"
python3 - "$file" "$N" "$WORK/pids" <<'PY'
import json, socket, sys, time
path, n, pids = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read().split()
now = time.time()
host = socket.gethostname()
procs = {f"bench-{i:05}": {"last_heartbeat": now - i % 200, "pid": int(pids[i % len(pids)]),
         "status": "alive", "interval": 30.0, "first_heartbeat": now - 3600, "beats": 1,
         "errors": 0, "kind": "app", "host": host, "additional_data": {"queue": i}}
         for i in range(n)}
with open(path, "w") as f:
    json.dump({"version": 1, "last_updated": now, "processes": procs}, f)
PY
echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg); $N entries, $(stat -c %s "$file") bytes"
python3 - "$RUNS" "$HBMON" "$file" "$WORK/empty.toml" "${HBMON_BEFORE:-}" <<'PY'
import statistics, subprocess, sys, time
runs, hbmon, path, config, before = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
cases = {
    "cat FILE": ["cat", path],
    "python3 -c json.load (process)": ["python3", "-c", f"import json; json.load(open({path!r}))"],
    "hbmon status --cpu never": [hbmon, "status", "--file", path, "--config", config, "--cpu", "never"],
    "hbmon status --json": [hbmon, "status", "--file", path, "--config", config, "--json"],
}
if before:
    cases["before: hbmon status --json"] = [before, "status", "--file", path, "--config", config, "--json"]
times = {name: [] for name in cases}
for i in range(runs + 1):
    for name, argv in cases.items():
        t = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i:
            times[name].append((time.perf_counter() - t) * 1000)
import json
inner = []
for _ in range(runs):
    with open(path) as f:
        t = time.perf_counter(); json.load(f); inner.append((time.perf_counter() - t) * 1000)
times["json.load alone (in-process)"] = inner
anchor = statistics.median(times["python3 -c json.load (process)"])
for name, ts in times.items():
    m = statistics.median(ts)
    print(f"{name:34} median {m:7.1f} ms  range {min(ts):6.1f}-{max(ts):6.1f}  ratio to python process {m / anchor:4.2f}")
PY
