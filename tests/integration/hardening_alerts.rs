//! `hbmon serve` against alert targets that hang: a hanging command delays no other
//! target, is killed with its whole process group at its timeout, and does not hold up the
//! stop on SIGTERM. Reads `/proc` (Linux) to find what a command left running.

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::serve::{Serve, Worker, beat, lines, wait_for, webhook_listener};

/// Processes of a hanging alert command, found by a marker in their command lines; any
/// still alive when the test ends (it failed) are killed, so none outlives it.
pub(crate) struct Hang {
    marker: String,
}

impl Hang {
    /// A marker no other test or process has: the fraction of a 1000 s sleep, so that the
    /// sleeps show it in their own command lines, not only the shell that started them.
    pub(crate) fn new() -> Hang {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Hang {
            marker: format!("1000.{}{nanos:09}", std::process::id()),
        }
    }

    /// A command that hangs: a shell waiting for two sleeps, one started in the background.
    pub(crate) fn command(&self) -> String {
        format!("sleep {0} & sleep {0}; wait", self.marker)
    }

    /// The PIDs of live processes whose command line has the marker (a zombie's is empty).
    pub(crate) fn alive(&self) -> Vec<String> {
        let Ok(procs) = fs::read_dir("/proc") else {
            panic!("this test reads /proc (Linux) to find processes")
        };
        procs
            .flatten()
            .filter(|p| {
                let cmdline = fs::read(p.path().join("cmdline")).unwrap_or_default();
                String::from_utf8_lossy(&cmdline).contains(&self.marker)
            })
            .map(|p| p.file_name().to_string_lossy().into_owned())
            .collect()
    }
}

impl Drop for Hang {
    fn drop(&mut self) {
        for pid in self.alive() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
}

/// A worker is seen up, then killed: every `[[alert]]` fires at once.
fn a_worker_dies(dir: &Path, serve: &Serve) -> Instant {
    let mut worker = Worker::start();
    beat(dir, "worker", &worker.pid(), &[]);
    serve.wait_log("worker: new -> up");
    worker.kill();
    Instant::now()
}

#[test]
fn a_hanging_alert_command_delays_neither_another_command_nor_a_webhook() {
    let hang = Hang::new();
    let (port, webhook) = webhook_listener();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.txt");
    // The hanging rule first: with one delivery queue, everything would wait behind it.
    fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[[alert]]\ncommand = '{}'\n\n\
             [[alert]]\ncommand = '''printf '%s\\n' \"$HBMON_STATE\" >> \"{}\"'''\n\n\
             [[alert]]\nwebhook = \"http://127.0.0.1:{port}/hook\"\n",
            hang.command(),
            out.display()
        ),
    )
    .unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    let died = a_worker_dies(dir.path(), &serve);

    // Well within the hanging command's 30 s timeout, on a loaded machine.
    let within = Duration::from_secs(10);
    let (request_line, _) = webhook
        .recv_timeout(within)
        .unwrap_or_else(|_| panic!("no webhook call within {within:?}:\n{}", serve.log()));
    assert!(request_line.starts_with("POST /hook "), "{request_line}");
    let webhook_after = died.elapsed();
    while lines(&out).is_empty() {
        assert!(
            died.elapsed() < within,
            "no command alert within {within:?}:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(lines(&out), ["dead"]);
    eprintln!(
        "death -> webhook {webhook_after:?}, -> command alert {:?}",
        died.elapsed()
    );
    // The hanging command was running all the while.
    assert!(!hang.alive().is_empty(), "{}", serve.log());
}

#[test]
fn a_timed_out_alert_command_leaves_no_process_of_its_group() {
    let hang = Hang::new();
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("tried");
    // The first attempt hangs, ignoring SIGTERM (and so do the sleeps, which inherit
    // that): only SIGKILL to the whole group ends it. The retry finds the flag and succeeds.
    fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[[alert]]\ncommand = '''test -e \"{0}\" && exit 0; touch \"{0}\"; trap \"\" TERM; {1}'''\n\
             timeout = \"1s\"\n",
            flag.display(),
            hang.command()
        ),
    )
    .unwrap();
    let mut serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    a_worker_dies(dir.path(), &serve);
    wait_for("the hanging command", || flag.exists(), || serve.log());
    serve.wait_log("failed: still running after 1s; killed; retrying in 5s");
    serve.wait_log("delivered on attempt 2");
    assert_eq!(hang.alive(), Vec::<String>::new(), "{}", serve.log());
    // Its group was killed, not the monitor's own.
    assert!(serve.terminate().success(), "{}", serve.log());
}

#[test]
fn sigterm_stops_serve_within_seconds_while_alerts_hang_and_kills_their_commands() {
    let hang = Hang::new();
    // A webhook that takes the connection and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (called, calls) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
            let _ = called.send(());
        }
    });
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[[alert]]\ncommand = '{}'\n\n[[alert]]\nwebhook = \"http://127.0.0.1:{port}/\"\n",
            hang.command()
        ),
    )
    .unwrap();
    let mut serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    a_worker_dies(dir.path(), &serve);
    wait_for(
        "the hanging command",
        || hang.alive().len() >= 3,
        || serve.log(),
    );
    calls
        .recv_timeout(Duration::from_secs(15))
        .unwrap_or_else(|_| panic!("no webhook call:\n{}", serve.log()));

    let asked = Instant::now();
    let status = serve.terminate();
    let took = asked.elapsed();
    eprintln!("SIGTERM -> exit {took:?}");
    assert!(status.success(), "{status}\n{}", serve.log());
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} to stop:\n{}",
        serve.log()
    );
    let log = serve.log();
    assert!(
        log.contains("alert: stopped with 2 alerts not delivered: 1 to command `sleep 1000.",)
            && log.contains(&format!(", 1 to webhook http://127.0.0.1:{port}/…")),
        "{log}"
    );
    // Signalled before serve exited; gone (or a zombie, awaiting init) a moment later.
    wait_for(
        "the hanging command's processes to die",
        || hang.alive().is_empty(),
        || format!("{:?}\n{log}", hang.alive()),
    );
}
