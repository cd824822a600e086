#!/usr/bin/env bash
# Reproduces BENCHMARKS.md section 4's resident memory: the live UI's VmRSS 8 s after start
# on a file of 1 and of 1 000 entries (their PIDs 200 live processes, empty config), beside
# `htop -d 10` started at the same time in a tmux session of the same size, ROUNDS times;
# and where the UI's memory is (/proc/PID/smaps_rollup: anonymous, that is the heap and
# thread stacks, against file-backed pages of the binary and libraries).
#
# Usage: benches/tui_rss.sh [ROUNDS]   (needs tmux, htop; Linux /proc; HBMON=binary)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
command -v htop >/dev/null || { echo "htop is required (apt-get install -y htop)" >&2; exit 1; }
[ -n "${HBMON:-}" ] || cargo build --release --quiet --bin hbmon
HBMON=${HBMON:-$PWD/target/release/hbmon}
WORK=$(mktemp -d)
SOCK=hbmon-rss-$$
SLEEPERS=()
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
    [ ${#SLEEPERS[@]} -eq 0 ] || kill "${SLEEPERS[@]}" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 200); do sleep 100000 & SLEEPERS+=($!); done
printf '%s\n' "${SLEEPERS[@]}" > "$WORK/pids"
: > "$WORK/empty.toml"
for n in 1 1000; do
    mkdir "$WORK/$n"
    python3 - "$WORK/$n/heartbeat_status.json" "$n" "$WORK/pids" <<'PY'
import json, socket, sys, time
path, n, pids = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read().split()
now = time.time()
host = socket.gethostname()
procs = {f"bench-{i:05}": {"last_heartbeat": now, "pid": int(pids[i % len(pids)]), "status": "alive",
         "interval": 86400.0, "first_heartbeat": now, "beats": 1, "errors": 0, "kind": "app",
         "host": host, "additional_data": {"queue": i, "state": "ok"}} for i in range(n)}
with open(path, "w") as f:
    json.dump({"version": 1, "last_updated": now, "processes": procs}, f)
PY
done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
split() { awk '/^Rss:/ {r=$2} /^Anonymous:/ {a=$2} END {printf "anon %d, file %d", a, r - a}' "/proc/$1/smaps_rollup"; }
start() {
    tmux -L "$SOCK" new-session -d -x 120 -y 30 -s "$1" "exec $2"
    tmux -L "$SOCK" display-message -p -t "$1" '#{pane_pid}'
}
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $HBMON"
for round in $(seq "$ROUNDS"); do
    line="round $round:"
    for n in 1 1000; do
        rm -f "$WORK/$n"/*.db*
        hb=$(start "hb$n" "$HBMON --file $WORK/$n/heartbeat_status.json --config $WORK/empty.toml")
        [ "$n" = 1000 ] && ht=$(start ht "htop -d 10")
        sleep 8
        line="$line $n entries: hbmon $(rss "$hb") KiB ($(split "$hb"));"
        tmux -L "$SOCK" kill-session -t "hb$n"
    done
    echo "$line htop $(rss "$ht") KiB"
    tmux -L "$SOCK" kill-session -t ht
done
