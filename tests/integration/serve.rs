//! `hbmon serve` end to end: real processes beating, dying and coming back; command and
//! webhook alerts; history; two monitors on one file; a clean stop on SIGTERM; the HTTP
//! API (pings, /status, /metrics, errors) with a plain `TcpStream` client.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{hbmon, hbmon_std};

/// A running `hbmon serve`, its stderr going to a file; killed when dropped, whatever the
/// test did.
pub(crate) struct Serve {
    child: Child,
    log: PathBuf,
}

impl Serve {
    /// With its HTTP API on a free loopback port ([`Serve::addr`]): tests run in parallel.
    pub(crate) fn start(dir: &Path, log_name: &str) -> Serve {
        Serve::start_listening(dir, log_name, "127.0.0.1:0")
    }

    fn start_listening(dir: &Path, log_name: &str, listen: &str) -> Serve {
        let mut cmd = hbmon_std(dir);
        cmd.args(["serve", "--listen", listen]);
        Serve::spawn(cmd, dir, log_name)
    }

    /// `cmd` (an `hbmon serve` as [`hbmon_std`] sets it up, or a shell that runs one),
    /// logging to `log_name` in `dir`.
    pub(crate) fn spawn(mut cmd: Command, dir: &Path, log_name: &str) -> Serve {
        let log = dir.join(log_name);
        let child = cmd
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

    /// The serve process's PID, to read its threads and descriptors from /proc.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has `text`.
    pub(crate) fn wait_log(&self, text: &str) {
        wait_for(
            &format!("{text:?} in the serve log"),
            || self.log().contains(text),
            || self.log(),
        );
    }

    /// The address the HTTP API is bound to, from the log.
    pub(crate) fn addr(&self) -> SocketAddr {
        listening_on(&self.log, "hbmon serve: listening on http://")
    }

    /// Waits for the exit of a serve killed by the test.
    pub(crate) fn wait_exit(&mut self) {
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
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
pub(crate) struct Worker(Child);

impl Worker {
    pub(crate) fn start() -> Worker {
        Worker(Command::new("sleep").arg("300").spawn().unwrap())
    }

    pub(crate) fn pid(&self) -> String {
        self.0.id().to_string()
    }

    pub(crate) fn kill(&mut self) {
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
pub(crate) fn wait_for(what: &str, mut done: impl FnMut() -> bool, context: impl Fn() -> String) {
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

/// What `hbmon serve` with `dir`'s `hbmon.toml` says when it refuses to start (exit 2, the
/// test fails otherwise): its stderr.
pub(crate) fn refused_start(dir: &Path) -> String {
    let out = hbmon(dir)
        .arg("--config")
        .arg(dir.join("hbmon.toml"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `hbmon history NAME --json` as a document (`null` if it printed none).
pub(crate) fn history_json(dir: &Path, name: &str) -> Value {
    let out = hbmon(dir)
        .args(["history", name, "--json"])
        .output()
        .unwrap();
    serde_json::from_slice::<Value>(&out.stdout).unwrap_or_default()
}

/// `hbmon history NAME --json` once it holds `transitions` transitions: the monitor logs a
/// change as it sees it, and its recorder writes it a moment later, on a thread of its own.
pub(crate) fn history_with(dir: &Path, name: &str, transitions: usize, serve: &Serve) -> Value {
    let read = || history_json(dir, name);
    wait_for(
        &format!("{transitions} transitions of {name} in history"),
        || read()["transitions"].as_array().map_or(0, Vec::len) >= transitions,
        || format!("{}\n{}", read(), serve.log()),
    );
    read()
}

pub(crate) fn beat(dir: &Path, name: &str, pid: &str, extra: &[&str]) {
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

    let history = history_with(dir.path(), "worker", 2, &serve);
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

/// A webhook receiver on a free loopback port: the request line and body of the one call
/// it expects come out of the channel.
pub(crate) fn webhook_listener() -> (u16, mpsc::Receiver<(String, Vec<u8>)>) {
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
    (port, rx)
}

#[test]
fn a_webhook_gets_the_alert_as_json_with_a_text_field() {
    let (port, rx) = webhook_listener();
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

    let history = history_with(dir.path(), "worker", 2, &second);
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

// ---- the HTTP API ----

/// An HTTP reply, as a plain client sees it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` as is and reads the reply to the end (the server closes).
pub(crate) fn send(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    // A reply to a refused request may end in a reset: keep what came.
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no reply head in {raw:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    Reply {
        status: status_line[9..12].parse().unwrap(),
        headers: lines
            .map(|l| {
                let (n, v) = l.split_once(": ").unwrap();
                (n.to_owned(), v.to_owned())
            })
            .collect(),
        body: body.to_owned(),
    }
}

pub(crate) fn call(addr: SocketAddr, method: &str, target: &str, body: &str) -> Reply {
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    send(addr, request.as_bytes())
}

pub(crate) fn get(addr: SocketAddr, target: &str) -> Reply {
    call(addr, "GET", target, "")
}

/// `hbmon status --json --file FILE`, as a document.
pub(crate) fn status_json(dir: &Path) -> Value {
    let out = hbmon(dir)
        .args(["status", "--json", "--file"])
        .arg(dir.join("hb.json"))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The names a status document (`/status`, `status --json`, `/api/v1/processes`) lists,
/// in its order.
pub(crate) fn names(doc: &Value) -> Vec<String> {
    doc["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn process<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name:?} in {doc:#}"))
}

/// Polls `/status` until every one of `names` is in it.
fn wait_status(serve: &Serve, names: &[&str]) -> Value {
    let mut doc = Value::Null;
    wait_for(
        &format!("{names:?} in /status"),
        || {
            doc = serde_json::from_str(&get(serve.addr(), "/status").body).unwrap();
            names.iter().all(|name| {
                doc["processes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == *name)
            })
        },
        || serve.log(),
    );
    doc
}

#[test]
fn pings_over_http_are_beats_without_a_pid() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();

    let reply = get(addr, "/ping/backup?interval=1h&kind=job");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(crate::ping::said(&reply), "OK alive \"backup\" (beat 1)");
    let reply = call(addr, "POST", "/ping/etl", "{\"rows\": 1200}");
    assert_eq!(
        crate::ping::said(&reply),
        "OK alive \"etl\" (beat 1)",
        "{reply:?}"
    );
    // Seen up before the error comes: two pings in one burst are one check.
    serve.wait_log("etl: new -> up");
    let reply = get(addr, "/ping/etl/fail?msg=exit+3");
    assert_eq!(
        crate::ping::said(&reply),
        "OK error \"etl\" (beat 2)",
        "{reply:?}"
    );
    let reply = get(addr, "/ping/my%20job?stopped");
    assert_eq!(
        crate::ping::said(&reply),
        "OK stopped \"my job\" (beat 1)",
        "{reply:?}"
    );

    let doc = status_json(dir.path());
    let backup = process(&doc, "backup");
    assert_eq!(backup["state"], "up");
    assert_eq!(backup["entry"]["pid"], Value::Null);
    assert_eq!(backup["entry"]["kind"], "job");
    assert_eq!(backup["entry"]["interval"], 3600.0);
    let etl = process(&doc, "etl");
    assert_eq!(etl["state"], "error");
    assert_eq!(etl["entry"]["additional_data"]["rows"], 1200);
    assert_eq!(etl["entry"]["last_error"], "exit 3");
    assert_eq!(process(&doc, "my job")["state"], "stopped");
    // The monitor saw the pings as beats: logged and recorded.
    serve.wait_log("etl: up -> error");
}

#[test]
fn a_cron_job_between_start_and_exit_code_pings_is_a_run_with_a_duration() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    // The healthchecks.io wrapper: `curl URL/start; job.sh; curl --data-binary @log URL/$?`.
    for (name, job) in [("nightly", "sleep 0.1"), ("backup", "sleep 0.1; exit 3")] {
        let reply = get(addr, &format!("/ping/{name}/start?interval=1d"));
        assert_eq!(
            crate::ping::said(&reply),
            format!("OK running \"{name}\" (beat 1)")
        );
        let code = Command::new("sh").args(["-c", job]).status().unwrap();
        let code = code.code().unwrap();
        let reply = call(addr, "POST", &format!("/ping/{name}/{code}"), "tar: done\n");
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(
            crate::ping::said(&reply).contains(&format!("\"{name}\" (beat 2, exit {code}, took ")),
            "{reply:?}"
        );
    }
    serve.wait_log(" -> failed (last run failed (exit 3) ");

    let doc = status_json(dir.path());
    let nightly = process(&doc, "nightly");
    assert_eq!(nightly["state"], "up", "{nightly:#}");
    assert_eq!(nightly["entry"]["status"], "succeeded");
    assert_eq!(nightly["entry"]["exit_code"], 0);
    let backup = process(&doc, "backup");
    assert_eq!(
        (&backup["state"], &backup["severity"]),
        (&Value::from("failed"), &Value::from("critical")),
        "{backup:#}"
    );
    let entry = &backup["entry"];
    assert_eq!(
        (&entry["status"], &entry["exit_code"], &entry["kind"]),
        (&Value::from("failed"), &Value::from(3), &Value::from("job"))
    );
    assert_eq!(entry["pid"], Value::Null);
    assert_eq!(entry["additional_data"]["output_tail"], "tar: done\n");
    assert_eq!(entry["last_error"], "exited with code 3");
    for run in [nightly, backup] {
        let entry = &run["entry"];
        // The job slept 0.1 s between the two pings.
        assert!(entry["duration"].as_f64().unwrap() >= 0.1, "{entry:#}");
        // Measured on serve's monotonic clock; the stamps are the wall clock's, read beside it.
        let duration = entry["duration"].as_f64().unwrap();
        let stamps = entry["finished_at"].as_f64().unwrap() - entry["started_at"].as_f64().unwrap();
        assert!((duration - stamps).abs() < 0.01, "{duration} vs {stamps}");
    }
    hbmon(dir.path()).arg("status").assert().code(2);
}

#[test]
fn status_over_http_is_what_hbmon_status_json_prints() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"worker\"\nlabel = \"Worker\"\n\n[[process]]\nname = \"never\"\n",
    )
    .unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    beat(dir.path(), "worker", &std::process::id().to_string(), &[]);
    assert_eq!(get(addr, "/ping/cron?interval=1h").status, 200);
    let over_http = wait_status(&serve, &["worker", "cron"]);
    let printed = status_json(dir.path());

    // Equal but for what depends on the instant and the CPU sample.
    let timeless = |mut doc: Value| {
        let object = doc.as_object_mut().unwrap();
        object.remove("now");
        object.remove("system");
        for p in object["processes"].as_array_mut().unwrap() {
            for field in ["since_beat", "runtime", "reason", "process"] {
                p.as_object_mut().unwrap().remove(field);
            }
        }
        doc
    };
    assert_eq!(timeless(over_http.clone()), timeless(printed));
    assert_eq!(
        over_http["config"],
        dir.path().join("hbmon.toml").to_str().unwrap()
    );
    assert_eq!(process(&over_http, "never")["state"], "pending");

    let one = get(addr, "/status/Worker");
    assert_eq!(one.header("Content-Type"), Some("application/json"));
    let one: Value = serde_json::from_str(&one.body).unwrap();
    let names: Vec<&str> = one["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["worker"]);
    let missing = get(addr, "/status/nobody");
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.starts_with("no process \"nobody\""),
        "{missing:?}"
    );
}

#[test]
fn metrics_parse_as_the_prometheus_text_format() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    // A name with a quote and a backslash: escaped in the label.
    assert_eq!(get(addr, "/ping/we%22ird%5C").status, 200);
    get(addr, "/ping/plain/fail");
    wait_status(&serve, &["we\"ird\\", "plain"]);

    let reply = get(addr, "/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let sample = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (\S+)$"#,
    )
    .unwrap();
    let mut typed: Vec<String> = Vec::new();
    for line in reply.body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(rest.split_once(' ').is_some(), "{line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter", "summary"].contains(&kind), "{line}");
            assert!(!typed.iter().any(|t| t == name), "{name} typed twice");
            typed.push(name.to_owned());
        } else {
            let caps = sample
                .captures(line)
                .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
            // Each sample belongs to the family typed last: families are not interleaved.
            assert_eq!(Some(&caps[1]), typed.last().map(String::as_str), "{line}");
            assert!(caps[3].parse::<f64>().is_ok(), "{line}");
        }
    }
    for expected in [
        "hbmon_up{name=\"we\\\"ird\\\\\"} 1",
        "hbmon_up{name=\"plain\"} 0",
        "hbmon_state{name=\"plain\",state=\"error\",severity=\"warning\"} 1",
        "hbmon_errors_total{name=\"plain\"} 1",
        "hbmon_processes{state=\"up\"} 1",
    ] {
        assert!(
            reply.body.lines().any(|l| l == expected),
            "{expected}\n{}",
            reply.body
        );
    }
}

#[test]
fn bad_requests_get_the_right_status_and_a_silent_client_blocks_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    // Holds a connection without sending a byte, through all of the below.
    let _silent = TcpStream::connect(addr).unwrap();

    let health = call(addr, "HEAD", "/healthz", "");
    assert_eq!((health.status, health.body.as_str()), (200, ""));
    assert_eq!(health.header("Content-Length"), Some("3"));
    assert_eq!(health.header("Connection"), Some("close"));
    assert_eq!(get(addr, "/healthz").body, "ok\n");

    let unknown = get(addr, "/nope");
    assert_eq!(unknown.status, 404);
    let wrong = call(addr, "DELETE", "/status", "");
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("Allow"), Some("GET, HEAD"));
    let wrong = call(addr, "PUT", "/ping/x", "");
    assert_eq!(wrong.header("Allow"), Some("GET, POST, HEAD"));

    let bad = get(addr, "/ping/x?interval=soon");
    assert_eq!(bad.status, 400);
    assert!(bad.body.starts_with("interval=\"soon\": "), "{bad:?}");
    assert_eq!(bad.body.lines().count(), 1, "{bad:?}");
    for code in ["abc", "256", "-1"] {
        let bad = get(addr, &format!("/ping/x/{code}"));
        assert_eq!(bad.status, 400);
        let named = format!("{code:?} after /ping/NAME/ is not start, fail, log or an exit code");
        // An exit status over 255 is answered in healthchecks.io's words, hbmon's in a header.
        let why = bad.header("X-Hbmon-Result").unwrap_or(&bad.body);
        assert!(why.starts_with(&named), "{bad:?}");
    }
    let malformed = send(addr, b"GET /status\r\n\r\n");
    assert_eq!(malformed.status, 400, "{malformed:?}");
    let too_big = send(
        addr,
        b"POST /ping/x HTTP/1.1\r\nContent-Length: 67108865\r\n\r\n{}",
    );
    assert_eq!(too_big.status, 413, "{too_big:?}");
    let from_a_page = send(
        addr,
        b"GET /ping/x?stopped HTTP/1.1\r\nOrigin: https://example.com\r\n\r\n",
    );
    assert_eq!(from_a_page.status, 403, "{from_a_page:?}");
    // A page whose own name was pointed at 127.0.0.1 (DNS rebinding) still sends that name.
    for request in [
        "GET /ping/x?stopped HTTP/1.1\r\nHost: attacker.example:4266\r\n\r\n",
        "POST /ping/x HTTP/1.1\r\nHost: attacker.example\r\nContent-Length: 2\r\n\r\n{}",
    ] {
        let rebound = send(addr, request.as_bytes());
        assert_eq!(rebound.status, 403, "{rebound:?}");
        assert_eq!(rebound.body.lines().count(), 1, "{rebound:?}");
        assert!(
            rebound
                .body
                .starts_with("refused: the request is for host \"attacker.example"),
            "{rebound:?}"
        );
    }
    // None of the refused pings wrote anything.
    assert!(!dir.path().join("hb.json").exists());
    // So there is nothing to judge, and /status says so as `hbmon status` does (exit 3).
    hbmon(dir.path()).arg("status").assert().code(3);
    let status: Value = serde_json::from_str(&get(addr, "/status").body).unwrap();
    assert_eq!(status["exit_code"], 3, "{status:#}");
    let missing = format!(
        "no heartbeat file at {} yet",
        dir.path().join("hb.json").display()
    );
    assert_eq!(status["unknown"], missing.as_str());
}

#[test]
fn a_taken_or_bad_address_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = hbmon(dir.path())
        .args(["serve", "--listen", &addr])
        .timeout(Duration::from_secs(15))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("hbmon: cannot listen on {addr}: ")),
        "{stderr}"
    );

    let out = hbmon(dir.path())
        .args(["serve", "--listen", "4266"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("hbmon: --listen: \"4266\" is not an address"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    fs::write(
        dir.path().join("hbmon.toml"),
        "[serve]\nlisten = \"nowhere\"\n",
    )
    .unwrap();
    let out = hbmon(dir.path()).arg("serve").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("hbmon.toml:2: listen: \"nowhere\""),
        "{stderr}"
    );
}

#[test]
fn listen_off_serves_nothing_and_a_wide_address_takes_any_host() {
    let dir = tempfile::tempdir().unwrap();
    let mut off = Serve::start_listening(dir.path(), "off.log", "off");
    off.wait_log("hbmon serve: HTTP API off");
    off.wait_log("history: recording");
    assert!(!off.log().contains("listening on"), "{}", off.log());
    assert!(off.terminate().success());

    // A wide address needs a token (tokens.rs); with one, nothing is warned.
    let config = dir.path().join("hbmon.toml");
    fs::write(
        &config,
        "[[serve.token]]\nname = \"t\"\nsecret = \"0123456789abcdef\"\nscopes = [\"read\"]\n",
    )
    .unwrap();
    fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut cmd = hbmon_std(dir.path());
    cmd.arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "0.0.0.0:0"]);
    let wide = Serve::spawn(cmd, dir.path(), "wide.log");
    let addr = wide.addr();
    wide.wait_log("needs a token");
    assert_eq!(wide.log().matches("warning").count(), 0, "{}", wide.log());
    let port = addr.port();
    let loopback = SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(get(loopback, "/healthz").status, 200);
    // Served wide, any name is taken: the user chose to be reached, by whatever name.
    let named = send(
        loopback,
        b"GET /healthz HTTP/1.1\r\nHost: monitor.example\r\n\r\n",
    );
    assert_eq!(named.status, 200, "{named:?}");
}

/// The Node package, with `HBMON_URL` naming a serve, beats through its `/ping` API: the
/// beats, a stop and both ends of a job run arrive as serve writes them, nothing refused.
#[test]
fn the_node_package_beats_and_runs_jobs_through_serve_when_hbmon_url_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let script = "
        const { beat, Heartbeat, job } = require(process.argv[1]);
        (async () => {
          await beat('etl', { rows: 1200 }, { interval: 60 });
          const hb = await new Heartbeat('web', { interval: 0.4, handleSignals: false }).start();
          hb.pulse();
          await new Promise((r) => setTimeout(r, 300));
          await hb.stop();
          await job('nightly', async () => 1, { interval: 86400 });
          await job('backup', () => { throw new Error('disk full'); }).catch(() => {});
        })().catch((e) => { console.error(e.message); process.exit(1); });
    ";
    let out = Command::new("node")
        .args(["-e", script])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("node/index.js"))
        .env("HBMON_URL", format!("http://{}", serve.addr()))
        .env("HBMON_BIN", "/nonexistent/hbmon: HTTP only")
        .output()
        .expect("node is needed for this test (as for .ci/run)");
    assert!(out.status.success(), "{out:?}");

    let doc = status_json(dir.path());
    let etl = &process(&doc, "etl")["entry"];
    assert_eq!(
        (
            &etl["additional_data"]["rows"],
            &etl["interval"],
            &etl["pid"]
        ),
        (&Value::from(1200), &Value::from(60.0), &Value::Null)
    );
    let web = &process(&doc, "web")["entry"];
    assert_eq!(web["status"], "stopped");
    assert!(web["beats"].as_u64().unwrap() >= 3, "{web:#}");
    let nightly = &process(&doc, "nightly")["entry"];
    assert_eq!(
        (&nightly["status"], &nightly["exit_code"], &nightly["kind"]),
        (
            &Value::from("succeeded"),
            &Value::from(0),
            &Value::from("job")
        )
    );
    let backup = &process(&doc, "backup")["entry"];
    assert_eq!(
        (
            &backup["status"],
            &backup["exit_code"],
            &backup["last_error"]
        ),
        (
            &Value::from("failed"),
            &Value::from(1),
            &Value::from("Error: disk full")
        )
    );
}

/// The address a serve logging to `log` says it listens on, after `prefix`: waited for
/// as a whole line, its newline too, because stderr is unbuffered, so a line may reach
/// the log in more than one write, and a loaded machine reads between them.
pub(crate) fn listening_on(log: &Path, prefix: &str) -> SocketAddr {
    let read = || fs::read_to_string(log).unwrap_or_default();
    let whole = |log: &str| {
        log.split_inclusive('\n')
            .find(|l| l.starts_with(prefix) && l.ends_with('\n'))
            .map(|l| l[prefix.len()..].trim_end().to_owned())
    };
    wait_for(
        &format!("{prefix:?} in {}", log.display()),
        || whole(&read()).is_some(),
        read,
    );
    let addr = whole(&read()).unwrap();
    addr.parse()
        .unwrap_or_else(|e| panic!("{addr:?} in {}: {e}", log.display()))
}
