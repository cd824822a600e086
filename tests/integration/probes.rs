//! Active probes end to end: a real HTTP server (Python's `http.server`) switched from 200
//! to 500 to a 10 s stall by a control file, `hbmon serve` probing it; a command probe that
//! fails and one that hangs; a TCP probe on a port that closes; config errors.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::hbmon;
use crate::serve::{Serve, Worker, beat, get, history_json, process, status_json, wait_for};

/// Answers GET by what the control file says: `200`, `500`, or `stall` (10 s, then 200).
const SERVER: &str = r#"
import http.server, pathlib, sys, time
control = pathlib.Path(sys.argv[1])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        mode = control.read_text().strip()
        if mode == "stall":
            time.sleep(10)
        code = 500 if mode == "500" else 200
        body = b"ok" if code == 200 else b"broken"
        try:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the probe gave up on a stall: as it should
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
pathlib.Path(sys.argv[2]).write_text(str(server.server_address[1]))
server.serve_forever()
"#;

/// The Python server, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let python = crate::test_python("http.server");
        fs::write(dir.join("mode"), "200").unwrap();
        let port_file = dir.join("port");
        let child = Command::new(python)
            .args(["-c", SERVER])
            .arg(dir.join("mode"))
            .arg(&port_file)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut port = 0;
        wait_for(
            "the test server's port",
            || {
                port = fs::read_to_string(&port_file)
                    .ok()
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(0);
                port != 0
            },
            String::new,
        );
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn row(serve: &Serve, name: &str) -> Value {
    let doc: Value = serde_json::from_str(&get(serve.addr(), "/status").body).unwrap();
    process(&doc, name).clone()
}

/// Polls `name`'s row until `done`, checking `each` on every row seen on the way.
fn wait_row(
    serve: &Serve,
    name: &str,
    done: impl Fn(&Value) -> bool,
    each: impl Fn(&Value),
) -> Value {
    let mut last = Value::Null;
    wait_for(
        &format!("{name} to change"),
        || {
            last = row(serve, name);
            each(&last);
            done(&last)
        },
        || format!("{:#}\n{}", row(serve, name), serve.log()),
    );
    last
}

/// A config of one process, `web`, probing `server` (timeout 1 s, 2 fails count) with the
/// `keys` given besides.
fn probe_web(dir: &Path, server: &Server, keys: &str) {
    fs::write(
        dir.join("hbmon.toml"),
        format!(
            "[[process]]\nname = \"web\"\nhttp = \"http://127.0.0.1:{}/health\"\n\
             probe_timeout = \"1s\"\nprobe_fails = 2\n{keys}\n",
            server.port
        ),
    )
    .unwrap();
}

/// The one probe of a row: its fails and whether the row is unhealthy.
fn fails(row: &Value) -> u64 {
    row["probes"][0]["fails"].as_u64().unwrap()
}

#[test]
fn an_http_probe_goes_unhealthy_after_exactly_probe_fails_failures_and_a_stall_delays_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    probe_web(
        dir.path(),
        &server,
        "http_expect = \"ok\"\nprobe_every = \"300ms\"",
    );
    let mut neighbour = Worker::start();
    beat(dir.path(), "neighbour", &neighbour.pid(), &[]);
    let serve = Serve::start(dir.path(), "serve.log");

    // A process with a probe and no heartbeat: judged by its probe alone.
    let up = wait_row(&serve, "web", |r| r["state"] == "up", |_| {});
    let probe = &up["probes"][0];
    assert_eq!(
        (probe["kind"].as_str(), probe["ok"].as_bool()),
        (Some("http"), Some(true))
    );
    assert!(probe["last_ms"].as_f64().unwrap() > 0.0, "{up:#}");
    assert!(probe["p50_ms"].as_f64().unwrap() <= probe["p95_ms"].as_f64().unwrap());

    // 500: one failure is tolerated, the second makes it unhealthy — never sooner.
    fs::write(dir.path().join("mode"), "500").unwrap();
    let unhealthy = wait_row(
        &serve,
        "web",
        |r| r["state"] == "unhealthy",
        |r| {
            if fails(r) < 2 {
                assert_eq!(r["state"], "up", "unhealthy before 2 failures: {r:#}");
            }
        },
    );
    assert!(fails(&unhealthy) >= 2, "{unhealthy:#}");
    assert_eq!(unhealthy["severity"], "degraded");
    assert!(
        unhealthy["reason"].as_str().unwrap().contains("HTTP 500"),
        "{unhealthy:#}"
    );

    fs::write(dir.path().join("mode"), "200").unwrap();
    wait_row(&serve, "web", |r| r["state"] == "up", |_| {});

    // A stall: the probe times out at 1 s, while the neighbour killed meanwhile is seen
    // dead as soon as the OS is asked, not after the stalled probe.
    fs::write(dir.path().join("mode"), "stall").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    neighbour.kill();
    let killed = Instant::now();
    wait_row(&serve, "neighbour", |r| r["state"] == "dead", |_| {});
    assert!(
        killed.elapsed() < Duration::from_millis(2500),
        "dead after {:?}",
        killed.elapsed()
    );
    let timed_out = wait_row(&serve, "web", |r| r["state"] == "unhealthy", |_| {});
    let error = timed_out["probes"][0]["last_error"].as_str().unwrap();
    assert!(error.contains("no answer within 1s"), "{timed_out:#}");

    // Another reader (`hbmon status`) shows serve's results without probing itself.
    let doc = status_json(dir.path());
    assert_eq!(process(&doc, "web")["state"], "unhealthy", "{doc:#}");
}

#[test]
fn a_probe_switched_200_500_200_records_two_flips_in_history_with_time_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    probe_web(dir.path(), &server, "probe_every = \"200ms\"");
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    wait_row(&serve, "web", |r| r["state"] == "up", |_| {});
    fs::write(dir.path().join("mode"), "500").unwrap();
    wait_row(&serve, "web", |r| r["state"] == "unhealthy", |_| {});
    fs::write(dir.path().join("mode"), "200").unwrap();
    wait_row(&serve, "web", |r| r["state"] == "up", |_| {});
    let flips = || history_json(dir.path(), "web")["probe_flips"].clone();
    wait_for(
        "two probe flips of web in history",
        || flips().as_array().map_or(0, Vec::len) >= 2,
        || format!("{:#}\n{}", history_json(dir.path(), "web"), serve.log()),
    );
    // More passing runs flip nothing more.
    std::thread::sleep(Duration::from_millis(600));
    let flips = flips();
    let flips = flips.as_array().unwrap();
    assert_eq!(flips.len(), 2, "{flips:#?}");
    // Newest first: passing again, then the failing that came after 2 runs of HTTP 500.
    let (back, failing) = (&flips[0], &flips[1]);
    assert_eq!(
        (back["failing"].as_bool(), failing["failing"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(
        back["time"].as_f64() > failing["time"].as_f64(),
        "{flips:#?}"
    );
    assert_eq!(failing["kind"], "http");
    assert!(
        failing["reason"].as_str().unwrap().contains("HTTP 500"),
        "{flips:#?}"
    );
    assert!(back["reason"].is_null(), "{flips:#?}");
    assert!(
        flips
            .iter()
            .all(|f| f["ms"].as_f64().is_some_and(|ms| ms > 0.0))
    );
    // The text says it among the changes of state.
    let out = crate::hbmon(dir.path())
        .args(["history", "web"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("probe ok → failing"), "{text}");
    assert!(text.contains("probe failing → ok"), "{text}");
    // And serve's log has a line for each, as for a transition.
    let log = serve.log();
    let url = format!("http://127.0.0.1:{}/health", server.port);
    assert!(
        log.contains(&format!("web: probe http {url} ok -> failing in ")),
        "{log}"
    );
    assert!(
        log.contains(&format!("web: probe http {url} failing -> ok in ")),
        "{log}"
    );
}

#[test]
fn results_a_hung_prober_left_behind_are_stale_not_trusted_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"web\"\nhttp = \"http://127.0.0.1:9/health\"\n\
         probe_every = \"10s\"\nprobe_timeout = \"5s\"\n\
         [[process]]\nname = \"db\"\ntcp = \"127.0.0.1:9\"\nprobe_every = \"10s\"\n",
    )
    .unwrap();
    let mut worker = Worker::start();
    beat(dir.path(), "db", &worker.pid(), &[]);
    // What a prober that hung while holding the lock left: a web passing and a db failing,
    // last run ten minutes ago (3 x 10 s + 5 s is the most a result may age).
    let then = hbmon::clock::unix_now() - 600.0;
    let status = |kind: &str, target: &str, ok: bool| {
        serde_json::json!({
            "kind": kind, "target": target, "ok": ok, "failing": !ok, "fails": u32::from(!ok) * 3,
            "failing_since": (!ok).then_some(then), "last_at": then, "last_ms": 1.5,
            "p50_ms": 1.5, "p95_ms": 1.5, "recent_ms": [1.5],
            "last_error": (!ok).then_some("refused"), "late": false
        })
    };
    let sidecar = serde_json::json!({
        "written_at": then,
        "results": {
            "web": [status("http", "http://127.0.0.1:9/health", true)],
            "db": [status("tcp", "127.0.0.1:9", false)],
        }
    });
    fs::write(dir.path().join("hb.json.probes.json"), sidecar.to_string()).unwrap();
    let doc = status_json(dir.path());
    let web = process(&doc, "web");
    // Judged by its probes alone, which say nothing about now: late, a warning.
    assert_eq!(web["state"], "late", "{web:#}");
    let reason = web["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("probe results are stale: http http://127.0.0.1:9/health last ran 10m"),
        "{reason}"
    );
    assert_eq!(web["probes"][0]["stale"], true, "{web:#}");
    // Its beats judge db: not unhealthy on an old failure, and the reason says why.
    let db = process(&doc, "db");
    assert_eq!(db["state"], "up", "{db:#}");
    assert!(
        db["reason"]
            .as_str()
            .unwrap()
            .contains("; probe results are stale: tcp"),
        "{db:#}"
    );
    worker.kill();
}

#[test]
fn a_failing_command_probe_and_a_hung_one_killed_at_its_timeout_are_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"fails\"\ncommand = \"sh -c 'exit 4'\"\nprobe_every = \"200ms\"\n\
         probe_critical = true\n\
         [[process]]\nname = \"hangs\"\ncommand = \"sleep 30\"\nprobe_timeout = \"300ms\"\n\
         probe_every = \"200ms\"\nprobe_fails = 1\n",
    )
    .unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let fails = wait_row(&serve, "fails", |r| r["state"] == "unhealthy", |_| {});
    assert_eq!(fails["severity"], "critical", "probe_critical: {fails:#}");
    assert_eq!(fails["probes"][0]["last_error"], "exit 4");
    let hangs = wait_row(&serve, "hangs", |r| r["state"] == "unhealthy", |_| {});
    assert_eq!(
        hangs["probes"][0]["last_error"],
        "killed: still running after 300ms"
    );
    assert!(
        hangs["probes"][0]["last_ms"].as_f64().unwrap() < 1500.0,
        "{hangs:#}"
    );
}

#[test]
fn a_tcp_probe_passes_while_the_port_listens_and_goes_unhealthy_once_it_closes() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[[process]]\nname = \"db\"\ntcp = \"127.0.0.1:{port}\"\nprobe_every = \"200ms\"\n\
             probe_timeout = \"1s\"\nprobe_fails = 2\n"
        ),
    )
    .unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    // Judged by its probe alone (no heartbeat): up while the port accepts connections.
    let up = wait_row(&serve, "db", |r| r["state"] == "up", |_| {});
    assert_eq!(up["probes"][0]["kind"], "tcp", "{up:#}");
    assert_eq!(up["probes"][0]["ok"], true, "{up:#}");

    drop(listener);
    let down = wait_row(
        &serve,
        "db",
        |r| r["state"] == "unhealthy",
        // One refused connection is tolerated (probe_fails = 2): never unhealthy before.
        |r| assert!(r["state"] != "unhealthy" || fails(r) >= 2, "{r:#}"),
    );
    assert!(fails(&down) >= 2, "{down:#}");
    assert!(
        down["probes"][0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{down:#}"
    );
}

#[test]
fn a_bad_probe_key_is_one_line_naming_file_line_and_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbmon.toml");
    let cases = [
        ("tcp = \"db\"", "tcp: \"db\" is not host:port"),
        (
            "http = \"ftp://x/\"",
            "http: \"ftp://x/\" is not an http:// or https:// URL",
        ),
        ("command = \"\"", "command: must not be empty"),
    ];
    for (key, message) in cases {
        fs::write(&config, format!("[[process]]\nname = \"x\"\n{key}\n")).unwrap();
        let out = hbmon(dir.path()).arg("config").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{key}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("{}:3: {message}", config.display())),
            "{stderr}"
        );
    }
}

#[test]
fn response_times_are_kept_by_the_minute_and_a_restarted_serve_starts_its_percentiles_from_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    probe_web(dir.path(), &server, "probe_every = \"200ms\"");
    let mut serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    wait_row(
        &serve,
        "web",
        |r| r["probes"][0]["recent_ms"].as_array().map_or(0, Vec::len) >= 5,
        |_| {},
    );
    // A clean stop writes each probe's open minute.
    assert!(serve.terminate().success(), "{}", serve.log());
    let minutes = history_json(dir.path(), "web")["probe_minutes"].clone();
    let minutes = minutes.as_array().unwrap();
    assert!(!minutes.is_empty() && minutes.len() <= 2, "{minutes:#?}");
    let url = format!("http://127.0.0.1:{}/health", server.port);
    let ms = |m: &Value, key: &str| m[key].as_f64().unwrap();
    let runs: u64 = minutes.iter().map(|m| m["count"].as_u64().unwrap()).sum();
    assert!(runs >= 5, "{minutes:#?}");
    for m in minutes {
        assert_eq!(
            (m["name"].as_str(), m["kind"].as_str()),
            (Some("web"), Some("http"))
        );
        assert_eq!(m["target"], url.as_str());
        assert_eq!(m["failures"], 0, "{m:#}");
        assert_eq!(m["minute"].as_i64().unwrap() % 60, 0, "{m:#}");
        // A local server answers in well under the probe's 1 s timeout.
        assert!(0.0 < ms(m, "min_ms") && ms(m, "max_ms") < 1000.0, "{m:#}");
        assert!(ms(m, "min_ms") <= ms(m, "p50_ms") && ms(m, "p50_ms") <= ms(m, "p95_ms"));
        assert!(ms(m, "p95_ms") <= ms(m, "max_ms"), "{m:#}");
    }
    let text = String::from_utf8(
        hbmon(dir.path())
            .args(["history", "web"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(text.contains("response times by the minute:"), "{text}");
    assert!(text.contains(&format!("http {url}  ")), "{text}");

    // Restarted while the server stalls for 10 s and the probe waits 5: for those seconds
    // no run has ended, and what the row shows of the last hour is what history kept.
    fs::write(dir.path().join("mode"), "stall").unwrap();
    fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[[process]]\nname = \"web\"\nhttp = \"{url}\"\nprobe_timeout = \"5s\"\n\
             probe_every = \"200ms\"\n"
        ),
    )
    .unwrap();
    let serve = Serve::start(dir.path(), "serve2.log");
    let seeded = row(&serve, "web")["probes"][0].clone();
    assert!(seeded["ok"].is_null(), "no run has ended: {seeded:#}");
    let lowest = minutes
        .iter()
        .map(|m| ms(m, "min_ms"))
        .fold(f64::MAX, f64::min);
    let highest = minutes.iter().map(|m| ms(m, "max_ms")).fold(0.0, f64::max);
    for key in ["p50_ms", "p95_ms"] {
        let v = seeded[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {seeded:#}"));
        assert!(
            lowest <= v && v <= highest,
            "{key} {v} not in [{lowest}, {highest}]"
        );
    }
    // One sparkline point a minute kept.
    assert_eq!(
        seeded["recent_ms"].as_array().map(Vec::len),
        Some(minutes.len())
    );
    // The management API lists the same rows as `hbmon history --json`.
    let api = get(serve.addr(), "/api/v1/processes/web/history?since=1h");
    let api: Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(
        api["probe_minutes"].as_array().map(Vec::len),
        Some(minutes.len()),
        "{api:#}"
    );
}
