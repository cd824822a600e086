//! `hbmon run --notify`: a command speaking systemd's readiness protocol beats through it —
//! the real `systemd-notify`, a Python script writing the datagrams by hand, a hostile
//! sender's garbage counted and ignored, and a command that stops pinging turning `late`,
//! then `hung`.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{hbmon, hbmon_std};

/// `name`'s entry; null until the run's first beat made the file.
fn entry(dir: &Path, name: &str) -> Value {
    let Ok(text) = std::fs::read_to_string(dir.join("hb.json")) else {
        return Value::Null;
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["processes"][name].clone()
}

/// A running `hbmon run`, sent SIGTERM and reaped when dropped (a failed assertion too).
struct Running(std::process::Child);

impl Running {
    /// Stops it as systemctl would, and returns how it ended.
    fn stop(mut self) -> std::process::ExitStatus {
        self.terminate();
        self.0.wait().unwrap()
    }

    fn terminate(&self) {
        // SAFETY: kill has no memory effects; the PID is our unreaped child's.
        unsafe { libc::kill(self.0.id().cast_signed(), libc::SIGTERM) };
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.terminate();
            let _ = self.0.wait();
        }
    }
}

/// The state `hbmon status --json` gives `name`.
fn state(dir: &Path, name: &str) -> String {
    let out = hbmon(dir).args(["status", "--json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map_or_else(String::new, |p| p["state"].as_str().unwrap().to_owned())
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `hbmon run --notify` of `cmd` to its end, which must be a success.
fn run_to_end(dir: &Path, name: &str, cmd: &[&str]) {
    let out = run_notify(dir, name, "10s", cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_notify(dir: &Path, name: &str, interval: &str, cmd: &[&str]) -> Command {
    let mut run = hbmon_std(dir);
    run.args([
        "run",
        name,
        "--kind",
        "app",
        "--notify",
        "--interval",
        interval,
        "--",
    ])
    .args(cmd)
    .stdin(Stdio::null());
    run
}

#[test]
fn systemd_notify_ready_watchdog_and_status_beat() {
    assert!(
        Path::new("/usr/bin/systemd-notify").exists(),
        "this test needs systemd-notify (Debian package systemd): run .ci/tools"
    );
    let dir = tempfile::tempdir().unwrap();
    let script = "systemd-notify --ready --status='warming up' \
                  && systemd-notify WATCHDOG=1 \
                  && systemd-notify STATUS=serving";
    let started = Instant::now();
    run_to_end(dir.path(), "web", &["sh", "-c", script]);
    // systemd-notify waits for the descriptor of its BARRIER=1 to be closed: hbmon closes
    // it at once, so three calls take well under its 5 s timeout each.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let e = entry(dir.path(), "web");
    let data = &e["additional_data"];
    assert_eq!(
        (&data["ready"], &data["status"]),
        (&Value::Bool(true), &"serving".into())
    );
    // The start, READY=1 with its status, WATCHDOG=1, STATUS=serving, and the end.
    assert_eq!(e["beats"], 5, "{e:#}");
    assert_eq!(e["status"], "stopped", "{e:#}");
    assert!(data.get("notify_ignored").is_none(), "{e:#}");
}

/// Speaks the protocol by hand: READY=1, then WATCHDOG=1 at half of WATCHDOG_USEC for
/// argv[1] seconds, then touches argv[2] and sleeps on without a word.
const PINGER: &str = r#"
import os, socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = os.environ["NOTIFY_SOCKET"]
every = int(os.environ["WATCHDOG_USEC"]) / 2e6
sock.sendto(b"READY=1\nSTATUS=serving", addr)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    sock.sendto(b"WATCHDOG=1", addr)
    time.sleep(every)
open(sys.argv[2], "w").close()
time.sleep(60)
"#;

#[test]
fn a_command_that_stops_pinging_turns_late_then_hung() {
    let dir = tempfile::tempdir().unwrap();
    let silent = dir.path().join("silent");
    let run = Running(
        run_notify(
            dir.path(),
            "pinger",
            "1s",
            &["python3", "-c", PINGER, "3", silent.to_str().unwrap()],
        )
        .spawn()
        .unwrap(),
    );
    wait_for("READY=1", Duration::from_secs(10), || {
        entry(dir.path(), "pinger")["additional_data"]["ready"] == true
    });
    // Pinging: up, though hbmon itself sends no keepalive.
    for _ in 0..3 {
        if silent.exists() {
            break;
        }
        assert_eq!(state(dir.path(), "pinger"), "up");
        std::thread::sleep(Duration::from_millis(500));
    }
    wait_for("the pings to stop", Duration::from_secs(10), || {
        silent.exists()
    });
    let beats = entry(dir.path(), "pinger")["beats"].as_u64().unwrap();
    assert!(beats >= 5, "{beats} beats while pinging for 3s every 0.5s");
    wait_for("late", Duration::from_secs(5), || {
        state(dir.path(), "pinger") == "late"
    });
    wait_for("hung", Duration::from_secs(10), || {
        state(dir.path(), "pinger") == "hung"
    });
    let status = run.stop();
    // Python dies by the SIGTERM passed on, and hbmon ends as it did.
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    assert_eq!(entry(dir.path(), "pinger")["status"], "stopped");
}

/// A hostile or broken sender: garbage lines, a datagram over 4096 bytes, bytes that are
/// not UTF-8, a key with a value it does not take, a flood, and a status with control
/// characters; then a proper ping.
const HOSTILE: &str = r#"
import os, socket
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = os.environ["NOTIFY_SOCKET"]
sock.sendto(b"hello\nworld", addr)
sock.sendto(b"STATUS=" + b"x" * 5000, addr)
sock.sendto(b"\xff\xfeREADY=1", addr)
sock.sendto(b"READY=maybe", addr)
for n in range(2000):
    sock.sendto(b"STATUS=flood %d" % n, addr)
sock.sendto(b"STATUS=red \x1b[31mALERT\x1b[0m\nWATCHDOG=1", addr)
"#;

#[test]
fn garbage_is_counted_and_ignored_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    run_to_end(dir.path(), "hostile", &["python3", "-c", HOSTILE]);
    let e = entry(dir.path(), "hostile");
    let data = &e["additional_data"];
    // Two lines, the oversized datagram, the non-UTF-8 one, READY=maybe.
    assert_eq!(data["notify_ignored"], 5, "{e:#}");
    assert_eq!(data["ready"], false, "READY=maybe is not READY=1: {e:#}");
    // Kept as sent in the file (JSON escapes it); every face escapes it where it shows it.
    assert_eq!(data["status"], "red \u{1b}[31mALERT\u{1b}[0m", "{e:#}");
    assert_eq!(e["status"], "stopped", "{e:#}");
}

#[test]
fn errno_and_a_watchdog_trigger_are_error_beats() {
    let dir = tempfile::tempdir().unwrap();
    // Each message waits for the test to have seen the one before.
    let script = r#"
import os, socket, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = os.environ["NOTIFY_SOCKET"]
sock.sendto(b"READY=1\nERRNO=13", addr)
while not os.path.exists("next"):
    time.sleep(0.05)
sock.sendto(b"WATCHDOG=trigger", addr)
time.sleep(60)
"#;
    let mut run = run_notify(dir.path(), "err", "30s", &["python3", "-c", script]);
    let run = Running(run.current_dir(dir.path()).spawn().unwrap());
    let last_error = || entry(dir.path(), "err")["last_error"].clone();
    wait_for("ERRNO=13", Duration::from_secs(10), || {
        last_error().is_string()
    });
    assert_eq!(last_error(), "ERRNO=13: Permission denied (os error 13)");
    assert_eq!(state(dir.path(), "err"), "error");
    std::fs::write(dir.path().join("next"), "").unwrap();
    wait_for("WATCHDOG=trigger", Duration::from_secs(10), || {
        last_error() != "ERRNO=13: Permission denied (os error 13)"
    });
    assert_eq!(
        last_error(),
        "WATCHDOG=trigger: it asked for its watchdog to fire"
    );
    assert_eq!(entry(dir.path(), "err")["errors"], 2);
    assert_eq!(state(dir.path(), "err"), "error");
    run.stop();
}
