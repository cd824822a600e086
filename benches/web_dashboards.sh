#!/usr/bin/env bash
# The CPU of `hbmon serve` with five dashboards open, beside the same serve with none: 1 000
# entries (PIDs of 200 live processes), ~20 beats a second from one Python writer (the
# python/ package, one long-lived process: its own cost is not serve's), and five clients
# of the dashboard's live feed, /api/v1/events, each a `curl -N` (what a dashboard tab
# holds open: the snapshot, then one update per check; a tab's own drawing is the
# browser's CPU, not serve's). Serve's CPU: utime+stime from /proc/<pid>/stat over WINDOW
# seconds after a 10 s warm-up, ROUNDS windows per case, median and range.
#
# Usage: benches/web_dashboards.sh [WINDOW_SECONDS [ROUNDS]]   (default 60 s, 3 rounds;
# $HBMON names the binary, else a release build; Linux /proc, curl, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW=${1:-60}
ROUNDS=${2:-3}
CLIENTS=5
[ -n "${HBMON:-}" ] || cargo build --release --quiet --bin hbmon
HBMON=${HBMON:-$PWD/target/release/hbmon}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
TICKS=$(getconf CLK_TCK)
SLEEPERS=()
for _ in $(seq 200); do sleep 100000 & SLEEPERS+=($!); PIDS+=($!); done
printf '%s\n' "${SLEEPERS[@]}" > "$WORK/pids"
: > "$WORK/empty.toml"
file=$WORK/heartbeat_status.json

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
percent() { awk -v t="$1" -v hz="$TICKS" -v s="$WINDOW" 'BEGIN {printf "%.2f", t / hz / s * 100}'; }
summary() { sort -n | awk '{v[NR] = $1} END {printf "median %s%%, range %s-%s%%", v[int((NR + 1) / 2)], v[1], v[NR]}'; }

# The 1 000 entries in one write, each a day's interval: nothing turns late in the run.
python3 - "$file" "$WORK/pids" <<'PY'
import json, socket, sys, time
path, pids = sys.argv[1], open(sys.argv[2]).read().split()
now = time.time()
procs = {f"bench-{i:04}": {"last_heartbeat": now, "pid": int(pids[i % len(pids)]), "status": "alive",
         "interval": 86400.0, "first_heartbeat": now, "beats": 1, "errors": 0, "kind": "app",
         "host": socket.gethostname(), "additional_data": {"queue": i}} for i in range(1000)}
with open(path, "w") as f:
    json.dump({"version": 1, "last_updated": now, "processes": procs}, f)
PY
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$HBMON" serve --file "$file" --config "$WORK/empty.toml" --listen "127.0.0.1:$PORT" \
    > "$WORK/serve.log" 2>&1 &
SERVE=$!; PIDS+=($SERVE)
# ~20 beats a second, round the entries, from one writer.
PYTHONPATH=$PWD/python/src python3 - "$file" <<'PY' &
import sys, time
import hbmon
i = 0
while True:
    hbmon.beat(f"bench-{i % 1000:04}", {"queue": i}, pid=False, file=sys.argv[1])
    i += 1
    time.sleep(0.05)
PY
PIDS+=($!)
sleep 10

measure() {
    local all=()
    for _ in $(seq "$ROUNDS"); do
        local a
        a=$(cpu_ticks "$SERVE")
        sleep "$WINDOW"
        all+=("$(percent $(( $(cpu_ticks "$SERVE") - a )))")
    done
    printf '%s\n' "${all[@]}" | summary
}

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "no client:           serve $(measure)"
CURLS=()
for c in $(seq "$CLIENTS"); do
    curl -sN "http://127.0.0.1:$PORT/api/v1/events" > "$WORK/events$c" &
    CURLS+=($!); PIDS+=($!)
done
sleep 5
echo "$CLIENTS SSE clients (curl -N): serve $(measure)"
for c in $(seq "$CLIENTS"); do
    echo "client $c: $(grep -c '^event: update' "$WORK/events$c") updates, $(wc -c < "$WORK/events$c") bytes"
done
kill "${CURLS[@]}" 2>/dev/null || true
