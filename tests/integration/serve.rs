//! `hbmon serve` end to end: real processes beating, dying and coming back; command and
//! webhook alerts; history; two monitors on one file; a clean stop on SIGTERM.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{hbmon, hbmon_std};

/// A running `hbmon serve`, its stderr going to a file; killed when dropped, whatever the
/// test did.
struct Serve {
    child: Child,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, log_name: &str) -> Serve {
        let log = dir.join(log_name);
        let child = hbmon_std(dir)
            .arg("serve")
            // A webhook to 127.0.0.1 must not go through a proxy from the environment.
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Serve { child, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has `text`.
    fn wait_log(&self, text: &str) {
        wait_for(
            &format!("{text:?} in the serve log"),
            || self.log().contains(text),
            || self.log(),
        );
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve ignored SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process that beats (via `hbmon beat --pid`) and can be killed; killed when dropped.
struct Worker(Child);

impl Worker {
    fn start() -> Worker {
        Worker(Command::new("sleep").arg("300").spawn().unwrap())
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    fn kill(&mut self) {
        self.0.kill().unwrap();
        // Reaped, so its PID is gone rather than a zombie.
        self.0.wait().unwrap();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `done` for up to 15 s; on timeout fails showing `context()`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool, context: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn beat(dir: &Path, name: &str, pid: &str, extra: &[&str]) {
    hbmon(dir)
        .args(["beat", name, "--pid", pid, "--interval", "60s", "-q"])
        .args(extra)
        .assert()
        .success();
}

/// A config whose one alert appends `FORMAT` (a printf format over the HBMON_* variables
/// named in `vars`) to `alerts.txt`.
fn command_alert(dir: &Path, format: &str, vars: &str, more: &str) -> PathBuf {
    let out = dir.join("alerts.txt");
    let config = format!(
        "[[alert]]\ncommand = '''printf '{format}\\n' {vars} >> \"{}\"'''\n{more}",
        out.display()
    );
    fs::write(dir.join("hbmon.toml"), config).unwrap();
    out
}

/// A worker beats, is seen up, and is killed; returns the alert lines once the first lands.
fn a_worker_dies(dir: &Path, serve: &Serve, alerts: &Path) -> Vec<String> {
    let mut worker = Worker::start();
    beat(dir, "worker", &worker.pid(), &[]);
    serve.wait_log("worker: new -> up");
    worker.kill();
    wait_for(
        "the dead alert",
        || !lines(alerts).is_empty(),
        || serve.log(),
    );
    lines(alerts)
}

#[test]
fn a_death_is_alerted_once_recorded_and_its_recovery_follows() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = command_alert(
        dir.path(),
        "%s %s %s %s",
        "\"$HBMON_KIND\" \"$HBMON_NAME\" \"$HBMON_STATE\" \"$HBMON_PREVIOUS\"",
        "",
    );
    let mut serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    let first = a_worker_dies(dir.path(), &serve, &alerts);
    assert_eq!(first, ["alert worker dead up"], "{}", serve.log());
    assert!(
        serve.log().contains("worker: up -> dead (pid "),
        "{}",
        serve.log()
    );

    let out = hbmon(dir.path())
        .args(["history", "worker", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<(String, String)> = history["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["from"].to_string(), t["to"].to_string()))
        .collect();
    assert_eq!(
        steps,
        [
            ("\"up\"".to_owned(), "\"dead\"".to_owned()),
            ("null".to_owned(), "\"up\"".to_owned())
        ]
    );
    assert_eq!(history["beats"].as_array().unwrap().len(), 1);

    // Back, as a new process: the test itself, which stays alive.
    beat(dir.path(), "worker", &std::process::id().to_string(), &[]);
    wait_for("the recovery", || lines(&alerts).len() >= 2, || serve.log());
    assert_eq!(
        lines(&alerts),
        ["alert worker dead up", "recovery worker up dead"]
    );

    let status = serve.terminate();
    assert!(status.success(), "{status}");
    let log = serve.log();
    assert!(
        log.contains("stopping (SIGTERM)") && log.ends_with("hbmon serve: stopped\n"),
        "{log}"
    );
}

#[test]
fn soft_changes_arrive_together_in_one_digest() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = command_alert(
        dir.path(),
        "%s %s %s",
        "\"$HBMON_KIND\" \"$HBMON_COUNT\" \"$(echo $HBMON_NAME)\"",
        "digest = \"2s\"\n",
    );
    // Both erring before the monitor starts, so its first check sees them together however
    // slow the machine is.
    let me = std::process::id().to_string();
    for name in ["a", "b"] {
        beat(dir.path(), name, &me, &["--error", "disk full"]);
    }
    let serve = Serve::start(dir.path(), "serve.log");
    wait_for("the digest", || !lines(&alerts).is_empty(), || serve.log());
    // Nothing else is due: one digest, naming both.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lines(&alerts), ["digest 2 a b"], "{}", serve.log());
    assert!(
        serve.log().contains("alert: digest of 2 changes"),
        "{}",
        serve.log()
    );
}

#[test]
fn a_webhook_gets_the_alert_as_json_with_a_text_field() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Bounded: the one request this test expects.
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut length = 0;
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if header.trim().is_empty() {
                break;
            }
            if let Some((key, value)) = header.split_once(':')
                && key.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        tx.send((request_line, body)).unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hbmon.toml"),
        format!("[[alert]]\nwebhook = \"http://127.0.0.1:{port}/hooks/secret-token\"\n"),
    )
    .unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    let mut worker = Worker::start();
    beat(dir.path(), "worker", &worker.pid(), &[]);
    serve.wait_log("worker: new -> up");
    worker.kill();

    let (request_line, body) = rx
        .recv_timeout(Duration::from_secs(15))
        .unwrap_or_else(|_| panic!("no webhook call:\n{}", serve.log()));
    assert!(
        request_line.starts_with("POST /hooks/secret-token "),
        "{request_line}"
    );
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["name"], "worker");
    assert_eq!(json["state"], "dead");
    assert_eq!(json["previous"], "up");
    assert_eq!(json["severity"], "critical");
    assert!(
        json["text"]
            .as_str()
            .unwrap()
            .contains("worker is dead (was up)"),
        "{json}"
    );
    // The log names the webhook's host, never its secret path.
    serve.wait_log("-> webhook http://127.0.0.1:");
    assert!(!serve.log().contains("secret-token"), "{}", serve.log());
}

#[test]
fn two_monitors_record_once_and_the_second_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Serve::start(dir.path(), "first.log");
    first.wait_log("history: recording");
    let second = Serve::start(dir.path(), "second.log");
    second.wait_log("alerts: another hbmon serve sends them");
    second.wait_log("history: another monitor records");

    let me = std::process::id().to_string();
    beat(dir.path(), "worker", &me, &[]);
    first.wait_log("worker: new -> up");
    second.wait_log("worker: new -> up");
    assert!(first.terminate().success());
    second.wait_log("history: recording");
    beat(dir.path(), "worker", &me, &["--error", "oops"]);
    second.wait_log("worker: up -> error");

    let out = hbmon(dir.path())
        .args(["history", "worker", "--json"])
        .output()
        .unwrap();
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    let to: Vec<&str> = history["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    // One "up" (recorded by the first only), one "error" (by the second, after taking over).
    assert_eq!(to, ["error", "up"], "{}\n{}", first.log(), second.log());
    assert_eq!(history["beats"].as_array().unwrap().len(), 2);
}

#[test]
fn a_ui_recording_history_does_not_hold_back_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = command_alert(dir.path(), "%s %s", "\"$HBMON_NAME\" \"$HBMON_STATE\"", "");
    // The live UI records history when no serve runs: hold the lock it would hold.
    let database = hbmon::paths::history_path(&dir.path().join("hb.json"));
    let ui_lock = fs::File::create(hbmon::paths::lock_path(&database)).unwrap();
    ui_lock.lock().unwrap();

    let mut serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("alerts: sent from this monitor");
    serve.wait_log("history: another monitor records");
    let first = a_worker_dies(dir.path(), &serve, &alerts);
    assert_eq!(first, ["worker dead"], "{}", serve.log());

    // The UI quits: serve records from then on.
    drop(ui_lock);
    serve.wait_log("history: recording");
    assert!(serve.terminate().success());
}
