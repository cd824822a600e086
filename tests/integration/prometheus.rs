//! Prometheus, for users who outgrow one screen: the example config, rules and their unit
//! tests in `examples/prometheus/` pass `promtool`, serve's `/metrics` passes `promtool
//! check metrics`, and a real Prometheus server scraping a real serve sees `hbmon_up` of a
//! worker go from 1 to 0 when it is killed. `promtool` and `prometheus` come from Debian's
//! `prometheus` package (`.ci/tools` installs it); missing, the tests fail, never skip.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve::{Serve, Worker, beat, get};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus")
}

/// `tool` on the PATH, or a failure saying how to get it.
fn tool(tool: &str) -> Command {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "this test needs {tool} (Debian's prometheus package): run .ci/tools once"
    );
    Command::new(tool)
}

fn promtool(args: &[&str]) -> std::process::Output {
    tool("promtool")
        .args(args)
        .current_dir(examples())
        .output()
        .unwrap()
}

#[test]
fn the_example_prometheus_config_rules_and_rule_tests_pass_promtool() {
    for args in [
        &["check", "config", "prometheus.yml"][..],
        &["check", "rules", "hbmon.rules.yml"],
        &["test", "rules", "hbmon.rules.test.yml"],
    ] {
        let out = promtool(args);
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn serves_metrics_pass_promtool_check_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let worker = Worker::start();
    beat(dir.path(), "worker", &worker.pid(), &[]);
    beat(dir.path(), "job \"quoted\"\\", &worker.pid(), &[]);
    serve.wait_log("worker: new -> up");
    let metrics = get(serve.addr(), "/metrics").body;
    assert!(metrics.contains("hbmon_up{name=\"worker\"} 1"), "{metrics}");

    let mut check = tool("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    // Lint problems are printed and make the exit non-zero.
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics:\n{}{}\n{metrics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running Prometheus server, killed when dropped.
struct Prometheus {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Prometheus {
    /// Prometheus scraping `target` every second, with its data in `dir`.
    fn start(dir: &Path, target: std::net::SocketAddr) -> Prometheus {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: hbmon\n    static_configs:\n      \
                 - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        // A free port: Prometheus takes no port 0 it would tell us of.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = dir.join("prometheus.log");
        let child = tool("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Prometheus { child, addr, log }
    }

    /// The value of the instant query `query`'s single sample, if it has one.
    fn value(&self, query: &str) -> Option<String> {
        let url = format!("http://{}/api/v1/query", self.addr);
        let mut reply = ureq::get(&url).query("query", query).call().ok()?;
        let doc: serde_json::Value =
            serde_json::from_str(&reply.body_mut().read_to_string().ok()?).ok()?;
        let result = doc["data"]["result"].as_array()?;
        match &result[..] {
            [one] => one["value"][1].as_str().map(str::to_owned),
            _ => None,
        }
    }

    /// Waits (30 s at most) for `query` to give `want`.
    fn wait_value(&self, query: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.value(query);
            if got.as_deref() == Some(want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{query} is {got:?}, not {want:?}, after 30 s; prometheus said:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scraping_serve_sees_a_killed_worker_go_down() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let mut worker = Worker::start();
    beat(dir.path(), "worker", &worker.pid(), &[]);
    serve.wait_log("worker: new -> up");

    let prometheus = Prometheus::start(dir.path(), serve.addr());
    prometheus.wait_value("up{job=\"hbmon\"}", "1");
    prometheus.wait_value("hbmon_up{name=\"worker\"}", "1");
    worker.kill();
    serve.wait_log("worker: up -> dead");
    prometheus.wait_value("hbmon_up{name=\"worker\"}", "0");
    prometheus.wait_value("hbmon_state{name=\"worker\",state=\"dead\"}", "1");
}
