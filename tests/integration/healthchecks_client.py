"""healthchecks.io's Python client (PyPI `healthchecks-io`) pinging a real `hbmon serve`.

Usage: healthchecks_client.py BASE_URL PING_KEY UUID UNKNOWN_UUID. Only the base URL and
the ping key change from a healthchecks.io set-up. Runs a job by its UUID (start, then its
exit code with its output), a job by its slug (start, then fail with a message), and pings a
UUID hbmon does not know, and prints one line per call: what the client returned, or the
name of the exception it raised. The Rust test checks the lines and what hbmon wrote.
"""

import sys
import time

from healthchecks_io import Client, CheckNotFoundError

base, ping_key, uuid, unknown = sys.argv[1:5]
client = Client(ping_key=ping_key, ping_url=f"{base}/ping/")


def call(what, ping, **kwargs):
    try:
        ok, text = ping(**kwargs)
        print(f"{what}: {ok} {text}")
    except Exception as e:  # the test reads which one
        print(f"{what}: {type(e).__name__}")


call("uuid start", client.start_ping, uuid=uuid)
time.sleep(0.2)
call("uuid exit", client.exit_code_ping, exit_code=0, uuid=uuid, data="copied 12 files\n")
call("slug start", client.start_ping, slug="dump")
time.sleep(0.2)
call("slug fail", client.fail_ping, slug="dump", data="pg_dump: connection refused\n")
call("unknown", client.success_ping, uuid=unknown)
try:
    client.success_ping(uuid=unknown)
except CheckNotFoundError:
    print("unknown raises CheckNotFoundError")
