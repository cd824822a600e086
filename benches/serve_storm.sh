#!/usr/bin/env bash
# Reproduces BENCHMARKS.md section "serve after a ping storm": the resident memory of
# `hbmon serve` on a heartbeat file of N entries (default 10 000) before a storm of
# `/ping/NAME` requests, right after it, and once it has been quiet for QUIET seconds.
# The storm: CLIENTS concurrent Python clients, each pinging random names of the file as
# fast as answers come, for STORM seconds. Prints pings answered and their status codes.
#
# Usage: benches/serve_storm.sh [N [STORM_SECONDS [CLIENTS [QUIET_SECONDS]]]]   (Linux /proc)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
STORM=${2:-20}
CLIENTS=${3:-50}
QUIET=${4:-15}

[ -n "${HBMON:-}" ] || cargo build --release --quiet --bin hbmon
HBMON=${HBMON:-$PWD/target/release/hbmon}
WORK=$(mktemp -d)
SERVE=""
cleanup() {
    [ -z "$SERVE" ] || kill "$SERVE" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(( 20000 + $$ % 20000 ))
file="$WORK/heartbeat_status.json"
: > "$WORK/empty.toml"
python3 - "$file" "$N" <<'PY'
import json, os, socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
now = time.time()
procs = {f"bench-{i:05}": {"last_heartbeat": now, "pid": os.getppid(), "status": "alive",
         "interval": 86400.0, "first_heartbeat": now, "beats": 1, "errors": 0, "kind": "app",
         "host": socket.gethostname(), "additional_data": {"queue": i}} for i in range(n)}
with open(path, "w") as f:
    json.dump({"version": 1, "last_updated": now, "processes": procs}, f)
PY
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $N entries, $CLIENTS clients for ${STORM}s"
"$HBMON" serve --file "$file" --config "$WORK/empty.toml" --listen "127.0.0.1:$PORT" \
    > "$WORK/serve.log" 2>&1 &
SERVE=$!
sleep 10
echo "RSS before: $(rss_kib "$SERVE") KiB"
python3 - "$PORT" "$N" "$STORM" "$CLIENTS" <<'PY'
import collections, http.client, random, sys, threading, time
port, n, storm, clients = (int(a) for a in sys.argv[1:])
codes = collections.Counter()
lock = threading.Lock()
end = time.monotonic() + storm
def client():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < end:
        try:
            conn.request("GET", f"/ping/bench-{random.randrange(n):05}")
            resp = conn.getresponse(); resp.read(); code = resp.status
            if resp.getheader("Connection", "").lower() == "close":
                conn.close(); conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        except Exception as e:
            code = type(e).__name__
            conn.close(); conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with lock:
            codes[code] += 1
threads = [threading.Thread(target=client) for _ in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
print("pings:", sum(codes.values()), dict(codes))
PY
echo "RSS right after: $(rss_kib "$SERVE") KiB"
sleep "$QUIET"
echo "RSS after ${QUIET}s quiet: $(rss_kib "$SERVE") KiB"
