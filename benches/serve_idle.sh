#!/usr/bin/env bash
# Reproduces BENCHMARKS.md section "serve idle": the CPU of `hbmon serve` watching a heartbeat
# file that does not change, at 1 000 and 10 000 entries whose PIDs are 200 live processes,
# and its resident memory. Anchor in the same run: `htop -d 10` (it too asks the OS about
# every process once a second); the floor a reader cannot go below is stat()ing the file
# once a second, which costs nothing measurable.
#
# CPU: utime+stime from /proc/<pid>/stat over WINDOW seconds, after a 10 s warm-up, ROUNDS
# windows per size; median and range.
#
# HBMON may name several binaries, space-separated (a before and an after): each is measured
# in turn at each size, beside the same htop, so they share the run's load.
#
# Usage: [HBMON="before after"] benches/serve_idle.sh [WINDOW_SECONDS [ROUNDS]]
#        (needs htop, tmux, awk; Linux /proc)
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW=${1:-30}
ROUNDS=${2:-3}
command -v htop >/dev/null || { echo "htop is required (apt-get install -y htop)" >&2; exit 1; }
command -v tmux >/dev/null || { echo "tmux is required" >&2; exit 1; }

[ -n "${HBMON:-}" ] || cargo build --release --quiet --bin hbmon
HBMON=${HBMON:-$PWD/target/release/hbmon}
WORK=$(mktemp -d)
SOCK=hbmon-bench-$$
SLEEPERS=()
SERVE=""
cleanup() {
    [ -z "$SERVE" ] || kill "$SERVE" 2>/dev/null || true
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
    [ ${#SLEEPERS[@]} -eq 0 ] || kill "${SLEEPERS[@]}" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
TICKS=$(getconf CLK_TCK)
for _ in $(seq 200); do sleep 100000 & SLEEPERS+=($!); done
printf '%s\n' "${SLEEPERS[@]}" > "$WORK/pids"
: > "$WORK/empty.toml"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
percent() { awk -v t="$1" -v hz="$TICKS" -v s="$WINDOW" 'BEGIN {printf "%.2f", t / hz / s * 100}'; }
summary() { sort -n | awk '{v[NR] = $1} END {printf "median %s%%, range %s-%s%%", v[int((NR + 1) / 2)], v[1], v[NR]}'; }

tmux -L "$SOCK" new-session -d -x 120 -y 30 -s ht "exec htop -d 10"
HTOP=$(tmux -L "$SOCK" display-message -p -t ht '#{pane_pid}')

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in 1000 10000; do
    mkdir "$WORK/$n"; file="$WORK/$n/heartbeat_status.json"
    # One write of the whole file (beat_many writes it a beat at a time: quadratic at 10 000),
    # every entry a day's interval so nothing turns late within the run.
    python3 - "$file" "$n" "$WORK/pids" <<'PY'
import json, socket, sys, time
path, n, pids = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read().split()
now = time.time()
host = socket.gethostname()
procs = {f"bench-{i:05}": {"last_heartbeat": now, "pid": int(pids[i % len(pids)]), "status": "alive",
         "interval": 86400.0, "first_heartbeat": now, "beats": 1, "errors": 0, "kind": "app",
         "host": host, "additional_data": {"queue": i}} for i in range(n)}
with open(path, "w") as f:
    json.dump({"version": 1, "last_updated": now, "processes": procs}, f)
PY
    for bin in $HBMON; do
        "$bin" serve --file "$file" --config "$WORK/empty.toml" --listen 127.0.0.1:0 \
            > "$WORK/serve$n.log" 2>&1 &
        SERVE=$!
        sleep 10
        hb_all=(); ht_all=()
        for _ in $(seq "$ROUNDS"); do
            a=$(cpu_ticks "$SERVE"); b=$(cpu_ticks "$HTOP")
            sleep "$WINDOW"
            hb_all+=("$(percent $(( $(cpu_ticks "$SERVE") - a )))")
            ht_all+=("$(percent $(( $(cpu_ticks "$HTOP") - b )))")
        done
        echo "$n entries, $bin: serve $(printf '%s\n' "${hb_all[@]}" | summary)," \
            "RSS $(rss_kib "$SERVE") KiB; htop $(printf '%s\n' "${ht_all[@]}" | summary);" \
            "load $(cut -d' ' -f1 /proc/loadavg)"
        kill "$SERVE"; wait "$SERVE" 2>/dev/null || true; SERVE=""
    done
done
