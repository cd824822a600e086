//! Issue 10: a run's duration is real time when the wall clock steps (libfaketime steps
//! hbmon's clock alone).

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hbmon::store::{self, Entry, Reported};

use crate::hbmon_std;

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

/// libfaketime, which the Debian package `faketime` installs (its dependency `libfaketime`
/// holds the library).
fn libfaketime() -> PathBuf {
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
        const LISTENING: &str = "hbmon serve: listening on http://";
        let mut addr = None;
        wait_until("serve never listened", Duration::from_secs(20), || {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            addr = log
                .lines()
                .find_map(|l| l.strip_prefix(LISTENING))
                .map(|a| a.parse().unwrap());
            addr.is_some()
        });
        addr.unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET target`: the body of a 200 reply.
fn get(addr: SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{target}: {reply}");
    body.to_owned()
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
