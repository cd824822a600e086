#!/usr/bin/env bash
# The CPU of `hbmon serve` with five dashboards open, beside the same serve with none and
# beside the terminal UI on the same file in the same run: 1 000 entries (PIDs of 200 live
# processes), 200 of them beating once a second (examples/beat_many: one process, 200
# beats a second round the 200; its own cost is neither serve's nor the UI's), and five
# clients of the dashboard's live feed, /api/v1/events, each a `curl -N` (what a
# dashboard tab holds open: the snapshot, then one update per check; a tab's own drawing
# is the browser's CPU, not serve's). CPU: utime+stime from /proc/<pid>/stat over WINDOW
# seconds after a 10 s warm-up, ROUNDS windows per case, median and range.
#
# Usage: benches/web_dashboards.sh [WINDOW_SECONDS [ROUNDS]]   (default 60 s, 3 rounds)
# $HBMONS: the binaries to compare, `label=path` each, one after the other in this run
# (default: `release=target/release/hbmon`); $BEAT_MANY: the beat_many example (default
# target/release/examples/beat_many). Linux /proc, curl, python3, tmux (for the UI).
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW=${1:-60}
ROUNDS=${2:-3}
CLIENTS=5
if [ -z "${HBMONS:-}" ] || [ -z "${BEAT_MANY:-}" ]; then
    cargo build --release --quiet --bin hbmon --example beat_many
fi
HBMONS=${HBMONS:-release=$PWD/target/release/hbmon}
BEAT_MANY=${BEAT_MANY:-$PWD/target/release/examples/beat_many}
WORK=$(mktemp -d)
SOCK=hbmon-dash-$$
PIDS=()
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"  # tmux leaves its socket file behind
    [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
TICKS=$(getconf CLK_TCK)
SLEEPERS=()
for _ in $(seq 200); do sleep 100000 & SLEEPERS+=($!); PIDS+=($!); done
printf '%s\n' "${SLEEPERS[@]}" > "$WORK/pids"
: > "$WORK/empty.toml"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
percent() { awk -v t="$1" -v hz="$TICKS" -v s="$WINDOW" 'BEGIN {printf "%.2f", t / hz / s * 100}'; }
summary() { sort -n | awk '{v[NR] = $1} END {printf "median %s%%, range %s-%s%%", v[int((NR + 1) / 2)], v[1], v[NR]}'; }

# ROUNDS windows of serve's and the UI's CPU at once: "serve: …; UI: …".
measure() {
    local serve=() ui=()
    for _ in $(seq "$ROUNDS"); do
        local s u
        s=$(cpu_ticks "$SERVE"); u=$(cpu_ticks "$UI")
        sleep "$WINDOW"
        serve+=("$(percent $(( $(cpu_ticks "$SERVE") - s )))")
        ui+=("$(percent $(( $(cpu_ticks "$UI") - u )))")
    done
    echo "serve $(printf '%s\n' "${serve[@]}" | summary); terminal UI $(printf '%s\n' "${ui[@]}" | summary)"
}

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
for pair in $HBMONS; do
    label=${pair%%=*} HBMON=${pair#*=}
    file=$WORK/$label.json
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
    tmux -L "$SOCK" new-session -d -x 160 -y 40 -s "ui-$label" \
        "exec $HBMON --file $file --config $WORK/empty.toml"
    UI=$(tmux -L "$SOCK" display-message -p -t "ui-$label" '#{pane_pid}')
    # 200 of the entries beat once a second: 200 beats a second round them, for the run.
    "$BEAT_MANY" "$file" 200 200 $(( 2 * ROUNDS * WINDOW + 60 )) "$WORK/pids" &
    WRITER=$!; PIDS+=($WRITER)
    sleep 10
    echo "[$label] no client:              $(measure)"
    CURLS=()
    for c in $(seq "$CLIENTS"); do
        curl -sN "http://127.0.0.1:$PORT/api/v1/events" > "$WORK/events$c" &
        CURLS+=($!); PIDS+=($!)
    done
    sleep 5
    echo "[$label] $CLIENTS SSE clients (curl -N): $(measure)"
    for c in $(seq "$CLIENTS"); do
        echo "[$label] client $c: $(grep -c '^event: snapshot' "$WORK/events$c") snapshots, $(grep -c '^event: update' "$WORK/events$c") updates, $(wc -c < "$WORK/events$c") bytes"
    done
    kill "${CURLS[@]}" "$WRITER" "$SERVE" 2>/dev/null || true
    tmux -L "$SOCK" kill-session -t "ui-$label"
    echo "[$label] load after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
