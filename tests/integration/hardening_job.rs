//! Issue 10: an `hbmon run` killed outright takes its command with it; a run's duration is
//! real time when the wall clock steps (libfaketime steps hbmon's clock alone); a beat from
//! far in the future is `skewed`, not `up`.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hbmon::store::{self, Entry, Reported};
use serde_json::{Value, json};

use crate::{hbmon, hbmon_std};

/// A string no other process has in its command line: a `sleep` length, so it can be one.
fn marker(n: u32) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}.{}{nanos:09}", 1000 + n, std::process::id())
}

/// The live processes (zombies have no command line) whose command line has `marker`.
fn marked(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for dir in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = fs::read(dir.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) {
            found.push(format!("{}: {cmdline}", dir.file_name().to_string_lossy()));
        }
    }
    found
}

/// Kills whatever is left with these markers, whatever the test did.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for marker in &self.0 {
            for process in marked(marker) {
                let pid = process.split(':').next().unwrap();
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
    }
}

/// Waits until `done`, for at most `limit`; how long it took.
fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let clock = Instant::now();
    while !done() {
        assert!(clock.elapsed() < limit, "{what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    clock.elapsed()
}

fn entry(dir: &Path, name: &str) -> Option<Entry> {
    store::read(&dir.join("hb.json")).ok()?.get(name).cloned()
}

/// `hbmon run NAME -- CMD…`, started; returns once its `running` beat is written (the
/// command and its watchdog are running then).
fn start_run(dir: &Path, name: &str, command: &[&str]) -> Child {
    let child = hbmon_std(dir)
        .args(["run", name, "--"])
        .args(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("no running beat", Duration::from_secs(20), || {
        entry(dir, name).is_some_and(|e| e.reported() == Reported::Running)
    });
    child
}

/// SIGKILLs `hbmon run` and waits until nothing with `markers` runs any more.
fn kill_and_wait(mut hbmon: Child, markers: &[&str], limit: Duration) -> Duration {
    for marker in markers {
        assert!(!marked(marker).is_empty(), "{marker} never ran");
    }
    hbmon.kill().unwrap();
    hbmon.wait().unwrap();
    let clock = Instant::now();
    loop {
        let left: Vec<String> = markers.iter().flat_map(|m| marked(m)).collect();
        if left.is_empty() {
            break;
        }
        assert!(
            clock.elapsed() < limit,
            "still running {limit:?} after hbmon was killed: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = clock.elapsed();
    eprintln!("gone {took:?} after hbmon was killed");
    took
}

#[cfg(target_os = "linux")]
#[test]
fn a_command_dies_with_its_killed_hbmon_run() {
    let dir = tempfile::tempdir().unwrap();
    let sleep = marker(0);
    let _cleanup = Cleanup(vec![sleep.clone()]);
    let hbmon = start_run(dir.path(), "killed", &["sleep", &sleep]);
    kill_and_wait(hbmon, &[&sleep], Duration::from_secs(10));
}

#[cfg(target_os = "linux")]
#[test]
fn what_the_command_started_dies_with_its_killed_hbmon_run_too() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (marker(1), marker(2));
    let _cleanup = Cleanup(vec![first.clone(), second.clone()]);
    // A shell's background and foreground children: its process group, not the shell alone.
    let script = format!("sleep {first} & sleep {second}; wait");
    let hbmon = start_run(dir.path(), "group", &["sh", "-c", &script]);
    wait_until(
        "the shell never started both",
        Duration::from_secs(10),
        || {
            !marked(&format!("sleep {first}")).is_empty()
                && !marked(&format!("sleep {second}")).is_empty()
        },
    );
    kill_and_wait(hbmon, &[&first, &second], Duration::from_secs(10));
}

#[cfg(target_os = "linux")]
#[test]
fn a_command_ignoring_sigterm_is_killed_after_the_grace_when_hbmon_run_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let sleep = marker(3);
    let _cleanup = Cleanup(vec![sleep.clone()]);
    let script = format!("trap '' TERM; sleep {sleep}");
    let hbmon = start_run(dir.path(), "stubborn", &["sh", "-c", &script]);
    wait_until("sleep never started", Duration::from_secs(10), || {
        !marked(&format!("sleep {sleep}")).is_empty()
    });
    let took = kill_and_wait(hbmon, &[&sleep], Duration::from_secs(30));
    // SIGTERM is ignored: only the SIGKILL after the 5 s grace ends it.
    assert!(
        took >= Duration::from_secs(4),
        "gone after {took:?}: before the grace"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_run_that_ends_leaves_no_watchdog_and_what_it_started_running() {
    let dir = tempfile::tempdir().unwrap();
    let (run, left) = (marker(4), marker(5));
    let _cleanup = Cleanup(vec![run.clone(), left.clone()]);
    // The marker in hbmon's own command line: its watchdog, forked off it, has it too.
    let script = format!("sleep {left} > /dev/null 2>&1 & : {run}");
    let out = hbmon(dir.path())
        .args(["run", "ends", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(marked(&run), Vec::<String>::new(), "left behind");
    // As when hbmon is not killed: a background process the command left is its own.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        marked(&format!("sleep {left}")).len(),
        1,
        "the background sleep was stopped"
    );
}

/// libfaketime, which the Debian package `faketime` installs (its dependency `libfaketime`
/// holds the library).
pub(crate) fn libfaketime() -> PathBuf {
    let candidates = [
        format!(
            "/usr/lib/{}-linux-gnu/faketime/libfaketime.so.1",
            std::env::consts::ARCH
        ),
        "/usr/lib/faketime/libfaketime.so.1".to_owned(),
        "/usr/local/lib/faketime/libfaketime.so.1".to_owned(),
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "libfaketime.so.1 is not installed (looked in {candidates:?}): \
                 apt-get install faketime"
            )
        })
}

/// hbmon's wall clock, and only hbmon's (not the commands it runs, nor the test's): an
/// offset libfaketime reads from a file at every call, while the monotonic clock stays real.
struct SteppedClock {
    file: PathBuf,
}

impl SteppedClock {
    /// A clock set in `file`, real time to begin with.
    fn new(file: PathBuf) -> SteppedClock {
        let clock = SteppedClock { file };
        clock.step("+0");
        clock
    }

    /// From now on hbmon's wall clock is off by `offset` (`-2h`, `+7200`) from real time.
    fn step(&self, offset: &str) {
        fs::write(&self.file, format!("{offset}\n")).unwrap();
    }

    fn apply(&self, command: &mut Command) {
        command
            .env("LD_PRELOAD", libfaketime())
            .env("FAKETIME_TIMESTAMP_FILE", &self.file)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
}

/// The run's duration, and how far its stamps are apart.
fn spans(entry: &Entry) -> (f64, f64) {
    let stamps = entry.finished_at.unwrap() - entry.started_at.unwrap();
    (entry.duration.unwrap(), stamps)
}

#[cfg(target_os = "linux")]
#[test]
fn a_run_takes_its_real_time_when_the_wall_clock_steps_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<_> = [("back", "-2h"), ("ahead", "+2h")]
        .into_iter()
        .map(|(name, offset)| {
            let clock = SteppedClock::new(dir.path().join(format!("{name}.faketime")));
            (name, offset, clock)
        })
        .collect();
    // Side by side: one 3 s wait for both.
    let children: Vec<_> = runs
        .iter()
        .map(|(name, _, clock)| {
            let mut command = hbmon_std(dir.path());
            clock.apply(&mut command);
            // The job's own clock stays real.
            command
                .args(["run", name, "--", "env", "-u", "LD_PRELOAD", "sleep", "3"])
                .stdin(Stdio::null());
            command.spawn().unwrap()
        })
        .collect();
    for (name, offset, clock) in &runs {
        wait_until("no running beat", Duration::from_secs(20), || {
            entry(dir.path(), name).is_some_and(|e| e.reported() == Reported::Running)
        });
        clock.step(offset);
    }
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    for (name, offset, _) in &runs {
        let ended = entry(dir.path(), name).unwrap();
        let (duration, stamps) = spans(&ended);
        assert!(
            (3.0..30.0).contains(&duration),
            "{name}: a 3 s run with the clock stepped {offset} took {duration} s (stamps {stamps} s apart)"
        );
        // The stamps are wall-clock, stepped: the protocol's, as the clock said them.
        let step = if *offset == "-2h" { -7200.0 } else { 7200.0 };
        assert!(
            (stamps - step).abs() < 60.0,
            "{name}: stamps {stamps} s apart"
        );
    }
}

/// A running `hbmon serve` on a free port; killed when dropped.
struct Serve {
    child: Child,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, clock: &SteppedClock) -> Serve {
        let log = dir.join("serve.log");
        let mut command = hbmon_std(dir);
        clock.apply(&mut command);
        let child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Serve { child, log }
    }

    fn addr(&self) -> SocketAddr {
        crate::serve::listening_on(&self.log, "hbmon serve: listening on http://")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET target`: what hbmon said of a ping it took with 200 (`X-Hbmon-Result`).
fn get(addr: SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, _) = reply.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{target}: {reply}");
    (head.lines())
        .find_map(|line| line.strip_prefix("X-Hbmon-Result: "))
        .unwrap_or_else(|| panic!("{target}: {reply}"))
        .to_owned()
}

#[cfg(target_os = "linux")]
#[test]
fn a_run_over_http_takes_its_real_time_when_the_monitors_wall_clock_steps() {
    let dir = tempfile::tempdir().unwrap();
    let clock = SteppedClock::new(dir.path().join("serve.faketime"));
    let serve = Serve::start(dir.path(), &clock);
    let addr = serve.addr();
    // (name, the step between its start and its end)
    for (name, before, after) in [("back", "+0", "-2h"), ("ahead", "-2h", "+0")] {
        clock.step(before);
        get(addr, &format!("/ping/{name}/start"));
        clock.step(after);
        std::thread::sleep(Duration::from_secs(2));
        let said = get(addr, &format!("/ping/{name}/0"));
        let ended = entry(dir.path(), name).unwrap();
        let (duration, stamps) = spans(&ended);
        assert!(
            (2.0..20.0).contains(&duration),
            "{name}: a 2 s run with the clock stepped {before} -> {after} took {duration} s \
             (stamps {stamps} s apart); serve said {said}"
        );
        let step = if after == "-2h" { -7200.0 } else { 7200.0 };
        assert!(
            (stamps - step).abs() < 60.0,
            "{name}: stamps {stamps} s apart"
        );
        assert!(
            said.starts_with(&format!("OK succeeded \"{name}\" (beat 2, exit 0, took ")),
            "{said}"
        );
        assert!(
            !said.contains("took 0ms") && !said.contains("took 2h"),
            "{said}"
        );
    }
}

#[test]
fn a_beat_from_ten_years_ahead_is_skewed_not_up() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    // Ten years and half an hour: still 3650d00h when hbmon reads it a moment later.
    let ahead = now + 3650.0 * 86_400.0 + 1800.0;
    let file = json!({
        "version": 1,
        "processes": {
            "ahead": {"last_heartbeat": ahead, "pid": null, "status": "alive", "interval": 30},
            "fresh": {"last_heartbeat": now, "pid": null, "status": "alive", "interval": 30},
        }
    });
    fs::write(dir.path().join("hb.json"), file.to_string()).unwrap();

    let out = hbmon(dir.path()).args(["status"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // Warning: the Nagios convention's 1.
    assert_eq!(out.status.code(), Some(1), "{text}");
    let row = text.lines().position(|l| l.contains("ahead")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[row].contains("skewed"), "{text}");
    assert!(
        lines[row + 1].contains("last beat is 3650d00h in the future (clock skew?)"),
        "{text}"
    );

    let out = hbmon(dir.path())
        .args(["status", "--json", "ahead"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &doc["processes"][0];
    assert_eq!(
        (row["state"].as_str(), row["severity"].as_str()),
        (Some("skewed"), Some("warning")),
        "{row}"
    );
}
