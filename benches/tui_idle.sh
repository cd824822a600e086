#!/usr/bin/env bash
# Reproduces BENCHMARKS.md section 4: CPU of the live UI (idle with 200 entries, and with 200 entries
# beating once a second) beside `htop -d 10` measured in the same window on the same machine,
# resident memory with 1 000 entries, and the time from a beat to the redraw that shows it.
#
# CPU: utime+stime from /proc/<pid>/stat before and after a 60 s window, both programs in
# their own 120x30 tmux session. Latency: HBMON_TRACE_REDRAW makes hbmon append
# "<redraw time> <newest beat in the file>" after each redraw that follows a re-read.
#
# ENTRIES (default 200) sets the file's size: above 200 the file is written once with that
# many entries (a day's interval each) and the first 200 of them are the ones that beat.
# ROUNDS windows per scenario (default 1), median and range.
#
# Usage: [ENTRIES=N] [ROUNDS=N] [HBMON=bin BEAT_MANY=bin] benches/tui_idle.sh [WINDOW_SECONDS]
#        (needs tmux, htop, awk; Linux /proc; without HBMON and BEAT_MANY, builds them)
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW=${1:-60}
ENTRIES=${ENTRIES:-200}
ROUNDS=${ROUNDS:-1}
command -v htop >/dev/null || { echo "htop is required (apt-get install -y htop)" >&2; exit 1; }

if [ -z "${HBMON:-}" ] || [ -z "${BEAT_MANY:-}" ]; then
    cargo build --release --quiet --bin hbmon --example beat_many
fi
HBMON=${HBMON:-$PWD/target/release/hbmon}
BEAT_MANY=${BEAT_MANY:-$PWD/target/release/examples/beat_many}
WORK=$(mktemp -d)
SOCK=hbmon-bench-$$
SLEEPERS=()
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"  # tmux leaves its socket file behind
    [ ${#SLEEPERS[@]} -eq 0 ] || kill "${SLEEPERS[@]}" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
TICKS=$(getconf CLK_TCK)

# 200 live processes for the entries to point at, so every probe checks real PIDs.
for _ in $(seq 200); do sleep 100000 & SLEEPERS+=($!); done
printf '%s\n' "${SLEEPERS[@]}" > "$WORK/pids"
: > "$WORK/empty.toml"  # no monitored processes: every entry is "additional"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Starts CMD in a new 120x30 tmux session NAME; prints its PID (exec: the pane is CMD).
start() {
    tmux -L "$SOCK" new-session -d -x 120 -y 30 -s "$1" "exec $2"
    tmux -L "$SOCK" display-message -p -t "$1" '#{pane_pid}'
}
stop() { tmux -L "$SOCK" kill-session -t "$1"; }
percent() { awk -v t="$1" -v hz="$TICKS" -v s="$WINDOW" 'BEGIN {printf "%.2f", t / hz / s * 100}'; }
summary() { sort -n | awk '{v[NR] = $1} END {if (NR == 1) printf "%s%%", v[1]; else printf "%s%% (%s-%s%%)", v[int((NR + 1) / 2)], v[1], v[NR]}'; }
# The ENTRIES-entry file at $1: beat_many's 200 entries, or one write of ENTRIES.
seed() {
    if [ "$ENTRIES" = 200 ]; then "$BEAT_MANY" "$1" 200 0 0 "$WORK/pids"; return; fi
    python3 - "$1" "$ENTRIES" "$WORK/pids" <<'PY'
import json, socket, sys, time
path, n, pids = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read().split()
now = time.time()
procs = {f"bench-{i:04}": {"last_heartbeat": now, "pid": int(pids[i % len(pids)]), "status": "alive",
         "interval": 86400.0, "first_heartbeat": now, "beats": 1, "errors": 0, "kind": "app",
         "host": socket.gethostname(), "additional_data": {"queue": i}} for i in range(n)}
with open(path, "w") as f:
    json.dump({"version": 1, "last_updated": now, "processes": procs}, f)
PY
}
# p50 and p99 of the time from a beat to the first redraw that shows it. TRACE has
# "<redraw time> <newest beat in the file>" per redraw after a read; BEATS has each beat's
# time. A beat shows in the first redraw whose newest beat is at least as new (one writer
# writes in time order). The first trace line is the start-up read: beats before it were
# on screen from the start.
latency() {
    awk 'NR == FNR { if (FNR == 1) start = ($2 == $2 + 0) ? $2 : 0; else { r[++n] = $1; newest[n] = $2 } next }
         $1 <= start { next }
         { while (i < n && newest[i + 1] < $1) i++; if (i < n) print (r[i + 1] - $1) * 1000 }' \
        "$1" "$2" | sort -n |
        awk '{v[NR] = $1} END {
            if (NR == 0) { print "-"; exit }
            i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
            i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
            printf "p50 %.1f ms, p99 %.1f ms (%d beats)", v[i50], v[i99], NR }'
}

# measure NAME RATE: hbmon and htop side by side for ROUNDS windows of WINDOW seconds while
# 200 entries beat RATE times a second in total (0: idle).
measure() {
    local file="$WORK/$1.json"
    seed "$file"
    local writer=""
    if [ "$2" != 0 ]; then
        "$BEAT_MANY" "$file" 200 "$2" $((ROUNDS * WINDOW + 15)) "$WORK/pids" "$WORK/$1.beats" &
        writer=$!
    fi
    local hb ht
    hb=$(start "hb-$1" "env HBMON_TRACE_REDRAW=$WORK/$1.trace $HBMON --file $file --config $WORK/empty.toml")
    ht=$(start "ht-$1" "htop -d 10")
    sleep 5
    local hb0 ht0 hb_all=() ht_all=()
    for _ in $(seq "$ROUNDS"); do
        hb0=$(cpu_ticks "$hb"); ht0=$(cpu_ticks "$ht")
        sleep "$WINDOW"
        hb_all+=("$(percent $(( $(cpu_ticks "$hb") - hb0 )))")
        ht_all+=("$(percent $(( $(cpu_ticks "$ht") - ht0 )))")
    done
    : >> "$WORK/$1.beats"
    echo "| $1 | $(printf '%s\n' "${hb_all[@]}" | summary) | $(printf '%s\n' "${ht_all[@]}" | summary) | $(latency "$WORK/$1.trace" "$WORK/$1.beats") | $(cut -d' ' -f1 /proc/loadavg) |"
    stop "hb-$1"; stop "ht-$1"
    [ -z "$writer" ] || { kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null || true; }
}

echo "machine: $(nproc) cores, $(uname -sr); $ROUNDS window(s) of ${WINDOW}s; $HBMON"
echo
echo "| scenario ($ENTRIES entries) | hbmon CPU | htop -d 10 CPU | beat to redraw | load |"
echo "|---|---|---|---|---|"
measure idle 0
measure beating 200

# An isolated beat (4 a second, one entry) shows the latency without coalescing.
file="$WORK/single.json"
hb=$(start hb-single "env HBMON_TRACE_REDRAW=$WORK/single.trace $HBMON --file $file --config $WORK/empty.toml")
sleep 2
"$BEAT_MANY" "$file" 1 4 30 "$WORK/pids" "$WORK/single.beats"
stop hb-single
echo
echo "isolated beats (1 entry, 4 beats/s for 30 s): $(latency "$WORK/single.trace" "$WORK/single.beats")"

# Resident memory with 1 000 entries.
file="$WORK/thousand.json"
"$BEAT_MANY" "$file" 1000 0 0 "$WORK/pids"
hb=$(start hb-mem "$HBMON --file $file --config $WORK/empty.toml")
ht=$(start ht-mem "htop -d 10")
sleep 8
echo
echo "resident memory with 1000 entries: hbmon $(rss_kib "$hb") KiB, htop $(rss_kib "$ht") KiB"
