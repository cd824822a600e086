//! Issue 11: a stop asked for by a signal is a clean `stopped`, not a crash — under
//! `hbmon run` (with a `hbmon serve` watching: no alert), in the Rust `Heartbeat`
//! (`examples/worker`) and in the Python `with hbmon.Heartbeat` — while a program's own
//! handler is kept; a job cut short says it was interrupted; an app whose command exits
//! says so at once. Real processes and real signals throughout.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use hbmon::store::{self, Entry, Reported};
use serde_json::Value;

use crate::serve::{Serve, wait_for};
use crate::{hbmon, hbmon_std};

/// `name`'s entry in `dir`'s heartbeat file, if there is one yet.
fn entry(dir: &Path, name: &str) -> Option<Entry> {
    store::read(&dir.join("hb.json")).ok()?.get(name).cloned()
}

/// Waits until `name`'s entry is `status`, and returns it.
fn wait_entry(dir: &Path, name: &str, status: &Reported) -> Entry {
    wait_for(
        &format!("{name} reported {}", status.as_str()),
        || entry(dir, name).is_some_and(|e| e.reported() == *status),
        || format!("{:?}", entry(dir, name)),
    );
    entry(dir, name).unwrap()
}

fn send(pid: u32, signal: libc::c_int) {
    let pid = i32::try_from(pid).unwrap();
    // SAFETY: kill has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
}

/// Waits at most 20 s for `child` to end.
fn wait_end(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pid {} still running 20 s after the signal", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn reason(entry: &Entry) -> &str {
    entry.additional_data["reason"].as_str().unwrap_or("")
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks.
    unsafe { libc::kill(i32::try_from(pid).unwrap(), 0) == 0 }
}

/// `hbmon run NAME ARGS…` in the background, once its `running` beat is written; returns
/// it and the command's PID.
fn start_run(dir: &Path, name: &str, args: &[&str]) -> (Child, u32) {
    let child = hbmon_std(dir)
        .args(["run", name])
        .args(args)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let running = wait_entry(dir, name, &Reported::Running);
    (child, running.pid.unwrap())
}

/// `hbmon status --json NAME`: (state, exit code).
fn judged(dir: &Path, name: &str) -> (String, Option<i32>) {
    let out = hbmon(dir)
        .args(["status", "--json", name])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let state = doc["processes"][0]["state"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    (state, out.status.code())
}

#[test]
fn sigterm_to_an_app_run_is_a_clean_stop_and_hbmon_dies_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut run, command) =
        start_run(dir.path(), "web", &["--kind", "app", "--", "sleep", "1000"]);
    send(run.id(), libc::SIGTERM);
    let status = wait_end(&mut run);
    // As if the supervisor had stopped `sleep` itself: killed by SIGTERM, not "exit 143".
    assert_eq!(
        (status.signal(), status.code()),
        (Some(libc::SIGTERM), None),
        "{status:?}"
    );
    let web = entry(dir.path(), "web").unwrap();
    assert_eq!(web.reported(), Reported::Stopped, "{web:?}");
    assert_eq!(reason(&web), "stopped by SIGTERM (signal 15)");
    assert_eq!((web.errors, web.last_error.as_deref()), (Some(0), None));
    assert_eq!(judged(dir.path(), "web"), ("stopped".to_owned(), Some(0)));
    assert!(!alive(command), "the command outlived its stop");
}

#[test]
fn an_app_whose_command_is_stopped_directly_is_stopped_too() {
    // systemd's default KillMode signals every process of the unit at once: the command
    // may be gone before hbmon's own SIGTERM comes, and nothing was passed on.
    let dir = tempfile::tempdir().unwrap();
    let (mut run, command) =
        start_run(dir.path(), "web", &["--kind", "app", "--", "sleep", "1000"]);
    send(command, libc::SIGTERM);
    let status = wait_end(&mut run);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let web = entry(dir.path(), "web").unwrap();
    assert_eq!(web.reported(), Reported::Stopped, "{web:?}");
    assert_eq!(reason(&web), "stopped by SIGTERM (signal 15)");
}

/// A config whose one alert appends `$HBMON_NAME $HBMON_STATE` to the returned file.
fn alert_to_file(dir: &Path) -> PathBuf {
    let out = dir.join("alerts.txt");
    let config = format!(
        "[[alert]]\ncommand = '''printf '%s %s\\n' \"$HBMON_NAME\" \"$HBMON_STATE\" >> \"{}\"'''\n",
        out.display()
    );
    fs::write(dir.join("hbmon.toml"), config).unwrap();
    out
}

#[test]
fn a_stopped_app_run_sends_no_alert_while_a_crashed_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = alert_to_file(dir.path());
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    let (mut web, _) = start_run(dir.path(), "web", &["--kind", "app", "--", "sleep", "1000"]);
    serve.wait_log("web: new -> up");
    send(web.id(), libc::SIGTERM);
    wait_end(&mut web);
    serve.wait_log("web: up -> stopped");
    // The control: an app that crashes is alerted, through the same rule, after the stop.
    let crash = hbmon(dir.path())
        .args(["run", "crash", "--kind", "app", "--", "sh", "-c", "exit 3"])
        .output()
        .unwrap();
    assert_eq!(crash.status.code(), Some(3));
    let read = || fs::read_to_string(&alerts).unwrap_or_default();
    wait_for("the crash's alert", || !read().is_empty(), || serve.log());
    assert_eq!(read(), "crash failed\n", "{}", serve.log());
}

#[test]
fn sigterm_to_a_job_mid_run_is_a_failed_run_that_says_it_was_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut run, _) = start_run(dir.path(), "backup", &["--", "sleep", "1000"]);
    send(run.id(), libc::SIGTERM);
    let status = wait_end(&mut run);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let backup = entry(dir.path(), "backup").unwrap();
    assert_eq!(backup.reported(), Reported::Failed);
    assert_eq!(reason(&backup), "interrupted by SIGTERM (signal 15)");
    assert_eq!(
        backup.last_error.as_deref(),
        Some("interrupted by SIGTERM (signal 15)")
    );
    assert_eq!(backup.exit_code, Some(143));
}

#[test]
fn an_app_whose_command_exits_says_so_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for (name, command, code, state) in [
        ("done", "true", 0, "stopped"),
        ("broke", "false", 1, "failed"),
    ] {
        let out = hbmon(dir.path())
            .args(["run", name, "--kind", "app", "--", command])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{name}: {out:?}");
        let e = entry(dir.path(), name).unwrap();
        assert_eq!(e.exit_code, Some(code), "{name}");
        assert_eq!(reason(&e), format!("exited with code {code}"), "{name}");
        // Judged at once, not `up` until five intervals pass.
        assert_eq!(judged(dir.path(), name).0, state, "{name}: {e:?}");
    }
    assert_eq!(
        entry(dir.path(), "done").unwrap().reported(),
        Reported::Stopped
    );
    assert_eq!(
        entry(dir.path(), "broke").unwrap().reported(),
        Reported::Failed
    );
}

/// Builds an example of this crate and returns its executable.
fn example(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    // Without what cargo sets for a test process: a build script that reads one of these
    // (ring's reads CARGO_MANIFEST_DIR) would be rerun, and the next `cargo test` rebuild
    // everything above it.
    for (var, _) in std::env::vars_os() {
        let var = var.to_string_lossy();
        if var.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
            ]
            .contains(&var.as_ref())
            || ["CARGO_PRIMARY_PACKAGE", "OUT_DIR"].contains(&var.as_ref())
        {
            build.env_remove(var.as_ref());
        }
    }
    let out = build
        .args(["build", "--quiet", "--offline", "--example", name])
        .args(["--message-format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo build --example {name} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|message| {
            (message["target"]["name"] == name)
                .then(|| message["executable"].as_str().map(PathBuf::from))
                .flatten()
        })
        .unwrap_or_else(|| panic!("cargo built no executable for example {name}"))
}

/// Starts the worker example beating into `dir`'s file, once its first beat is written.
fn start_worker(dir: &Path, args: &[&str]) -> Child {
    let child = Command::new(example("worker"))
        .args(args)
        .env("HBMON_FILE", dir.join("hb.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_entry(dir, "example-worker", &Reported::Alive);
    child
}

fn stdout_of(child: &mut Child) -> String {
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    out
}

#[test]
fn sigterm_to_a_rust_heartbeat_is_a_clean_stop_and_the_process_dies_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = start_worker(dir.path(), &[]);
    send(worker.id(), libc::SIGTERM);
    let status = wait_end(&mut worker);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let e = entry(dir.path(), "example-worker").unwrap();
    assert_eq!(e.reported(), Reported::Stopped, "{e:?}");
    assert_eq!(reason(&e), "stopped by SIGTERM (signal 15)");
    assert_eq!(judged(dir.path(), "example-worker").0, "stopped");
}

#[test]
fn a_rust_program_with_its_own_sigterm_handler_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = start_worker(dir.path(), &["--graceful"]);
    send(worker.id(), libc::SIGTERM);
    let status = wait_end(&mut worker);
    // Its handler ran: it finished the job in hand, stopped its heartbeat and exited 0.
    assert_eq!(status.code(), Some(0), "{status:?}");
    let said = stdout_of(&mut worker);
    assert!(said.contains("stopped cleanly after"), "{said:?}");
    let e = entry(dir.path(), "example-worker").unwrap();
    assert_eq!(e.reported(), Reported::Stopped);
    assert_eq!(reason(&e), "", "its own stop, not hbmon's: {e:?}");
}

fn python_module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/src")
}

/// Starts `script` in python3 with the hbmon package importable, once `name`'s first beat is written.
fn start_python(dir: &Path, script: &str, name: &str) -> Child {
    let child = Command::new("python3")
        .args(["-c", script])
        .env("PYTHONPATH", python_module_dir())
        .env("HBMON_FILE", dir.join("hb.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 cannot run ({e}): these tests need python3 on PATH"));
    wait_entry(dir, name, &Reported::Alive);
    child
}

#[test]
fn sigterm_to_a_python_with_heartbeat_is_a_clean_stop_and_python_dies_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import time, hbmon\n\
                  with hbmon.Heartbeat('py-worker', interval=1) as hb:\n\
                  \x20   while True:\n\
                  \x20       time.sleep(0.05); hb.pulse()\n";
    let mut python = start_python(dir.path(), script, "py-worker");
    send(python.id(), libc::SIGTERM);
    let status = wait_end(&mut python);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let e = entry(dir.path(), "py-worker").unwrap();
    assert_eq!(e.reported(), Reported::Stopped, "{e:?}");
    assert_eq!(reason(&e), "stopped by SIGTERM (signal 15)");
}

#[test]
fn a_python_program_with_its_own_sigterm_handler_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import signal, sys, time, hbmon\n\
                  stop = []\n\
                  signal.signal(signal.SIGTERM, lambda *_: stop.append(1))\n\
                  with hbmon.Heartbeat('py-host', interval=1) as hb:\n\
                  \x20   while not stop:\n\
                  \x20       time.sleep(0.05); hb.pulse()\n\
                  print('own handler ran'); sys.exit(4)\n";
    let mut python = start_python(dir.path(), script, "py-host");
    send(python.id(), libc::SIGTERM);
    let status = wait_end(&mut python);
    assert_eq!(status.code(), Some(4), "{status:?}");
    assert_eq!(stdout_of(&mut python), "own handler ran\n");
    let e = entry(dir.path(), "py-host").unwrap();
    assert_eq!(e.reported(), Reported::Stopped);
    assert_eq!(reason(&e), "", "its own stop, not hbmon's: {e:?}");
}
