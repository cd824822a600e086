"""Tests of ``import hbmon.auto``: a keepalive heartbeat from ``$HBMON_NAME`` alone, stopped
cleanly at exit and by SIGTERM, and nothing at all without the variable."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

SCRIPT = "import sys, time, hbmon.auto\nprint('up', flush=True)\ntime.sleep(float(sys.argv[1]))\n"


def run(tmp_path, seconds, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HBMON_")}
    environ.update(HBMON_FILE=str(tmp_path / "hb.json"), **env)
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(seconds)], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def entry(tmp_path, name):
    with open(tmp_path / "hb.json", encoding="utf-8") as f:
        return json.load(f)["processes"][name]


def test_hbmon_name_alone_starts_a_keepalive_heartbeat_that_stops_at_exit(tmp_path):
    child = run(tmp_path, 0.6, HBMON_NAME="legacy", HBMON_INTERVAL="200ms")
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    e = entry(tmp_path, "legacy")
    assert (e["status"], e["pid"], e["interval"]) == ("stopped", child.pid, 0.2)
    # The first beat, keepalives every interval/2 with no pulse() in the program, the stop.
    assert e["beats"] >= 4, e


def test_sigterm_ends_an_auto_heartbeat_stopped(tmp_path):
    child = run(tmp_path, 60, HBMON_NAME="legacy")
    assert child.stdout.readline() == "up\n"
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGTERM
    e = entry(tmp_path, "legacy")
    assert e["status"] == "stopped"
    assert e["additional_data"]["reason"] == "stopped by SIGTERM (signal 15)"


def test_without_hbmon_name_the_import_writes_nothing(tmp_path):
    child = run(tmp_path, 0)
    child.communicate(timeout=30)
    assert child.returncode == 0
    assert not (tmp_path / "hb.json").exists()


@pytest.mark.parametrize("interval", ["soon", "-5s", "0"])
def test_a_bad_hbmon_interval_fails_the_import_naming_it(tmp_path, interval):
    child = run(tmp_path, 0, HBMON_NAME="legacy", HBMON_INTERVAL=interval)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 1
    assert "hbmon.HbmonError: heartbeat 'legacy': interval" in err and interval in err, err
    assert not (tmp_path / "hb.json").exists()
