//! `hbmon run`: exit codes, the beats it writes, timeouts, output pass-through and tail,
//! commands that cannot start, and signals passed on to the command.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use hbmon::store::{self, Entry, Kind, Reported};

const HBMON: &str = env!("CARGO_BIN_EXE_hbmon");

struct Sandbox {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        Sandbox { _dir: dir, file }
    }

    /// `hbmon --file <sandbox> run <args>`; `HBMON_FILE` is set too, for scripts that read it.
    fn run(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(HBMON);
        cmd.arg("--file")
            .arg(&self.file)
            .arg("run")
            .args(args)
            .env("HBMON_FILE", &self.file)
            .stdin(Stdio::null());
        cmd
    }

    fn entry(&self, name: &str) -> Entry {
        store::read(&self.file)
            .unwrap()
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no entry {name:?} in {}", self.file.display()))
    }
}

fn reason(entry: &Entry) -> &str {
    entry.additional_data["reason"].as_str().unwrap()
}

#[test]
fn exit_codes_pass_through() {
    let sandbox = Sandbox::new();
    for (name, script, code, status) in [
        ("zero", "exit 0", 0, Reported::Succeeded),
        ("three", "exit 3", 3, Reported::Failed),
        ("killed", "kill -KILL $$", 137, Reported::Failed),
    ] {
        let out = sandbox
            .run(&[name, "--", "sh", "-c", script])
            .output()
            .unwrap();
        // hbmon ends as the command did: killed by the same signal, or with its code.
        let ended = out.status.code().or(out.status.signal().map(|s| 128 + s));
        assert_eq!(ended, Some(code), "{name}: {out:?}");
        assert_eq!(out.status.signal().is_some(), code > 128, "{name}: {out:?}");
        let entry = sandbox.entry(name);
        assert_eq!(entry.reported(), status, "{name}");
        assert_eq!(entry.exit_code, Some(code), "{name}");
        assert_eq!(
            entry.beats,
            Some(2),
            "{name}: a running beat, then the result"
        );
    }
    assert_eq!(reason(&sandbox.entry("three")), "exited with code 3");
    assert_eq!(
        reason(&sandbox.entry("killed")),
        "killed by SIGKILL (signal 9)"
    );
}

#[test]
fn beats_running_with_the_child_pid_then_the_result() {
    let sandbox = Sandbox::new();
    // The command waits until it sees its own running beat, prints the file and its PID.
    let script = r#"until grep -qs '"running"' "$HBMON_FILE"; do sleep 0.02; done
        cat "$HBMON_FILE"; echo "pid $$" >&2; sleep 0.3"#;
    let started = hbmon::clock::unix_now();
    let out = sandbox
        .run(&["nightly", "--timeout", "20s", "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let pid: u32 = stderr.trim().strip_prefix("pid ").unwrap().parse().unwrap();

    let seen = store::Snapshot::parse(std::str::from_utf8(&out.stdout).unwrap()).unwrap();
    let running = seen.get("nightly").unwrap();
    assert_eq!(running.reported(), Reported::Running);
    assert_eq!(running.pid, Some(pid));
    assert_eq!(running.kind(), Kind::Job);
    assert_eq!((running.exit_code, running.finished_at), (None, None));
    // The run is in progress under this invocation's own run id, with its start and PID.
    assert_eq!(running.runs.len(), 1, "{:?}", running.runs);
    let (run_id, run) = running.runs.iter().next().unwrap();
    assert_eq!(run_id.len(), 36, "UUID-shaped: {run_id}");
    assert_eq!(run.pid, Some(pid));
    let command = running.additional_data["command"].as_str().unwrap();
    assert!(
        command.starts_with("sh -c 'until grep -qs '\\''"),
        "{command}"
    );

    let done = sandbox.entry("nightly");
    assert_eq!(done.reported(), Reported::Succeeded);
    assert_eq!(done.pid, Some(pid));
    assert_eq!(done.exit_code, Some(0));
    assert_eq!(done.started_at, Some(run.started_at));
    assert!(done.runs.is_empty(), "the run ended: {:?}", done.runs);
    assert!(done.started_at.unwrap() >= started);
    let duration = done.duration.unwrap();
    assert!(duration >= 0.3, "duration {duration}");
    // Measured on the monotonic clock; the stamps are the wall clock's, read beside it.
    let stamps = done.finished_at.unwrap() - done.started_at.unwrap();
    assert!((duration - stamps).abs() < 0.01, "{duration} vs {stamps}");
    assert_eq!(done.beats, Some(2));
    assert_eq!(done.errors, Some(0));
    assert_eq!(reason(&done), "exited with code 0");
    assert_eq!(
        done.additional_data["command"],
        running.additional_data["command"]
    );
}

#[test]
fn a_timeout_kills_the_command_and_says_so() {
    let sandbox = Sandbox::new();
    let clock = Instant::now();
    let out = sandbox
        .run(&["slow", "--timeout", "500ms", "--", "sleep", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128 + 15), "{out:?}");
    assert!(clock.elapsed().as_secs() < 25, "sleep 30 was not cut short");
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "hbmon: slow: timed out after 500ms; sent SIGTERM\n"
    );
    let entry = sandbox.entry("slow");
    assert_eq!(entry.reported(), Reported::Failed);
    assert_eq!(entry.exit_code, Some(143));
    assert_eq!(
        reason(&entry),
        "timed out after 500ms; killed by SIGTERM (signal 15)"
    );
    assert_eq!(entry.last_error.as_deref(), Some(reason(&entry)));
}

/// Whether process `pid` is gone (or a zombie: exited, not yet reaped by its new parent).
fn gone(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(") ").next().unwrap().starts_with('Z')
    })
}

#[cfg(target_os = "linux")]
#[test]
fn a_timeout_stops_what_the_command_started_too() {
    let sandbox = Sandbox::new();
    let pid_file = sandbox.file.with_file_name("sleep.pid");
    let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
    let out = sandbox
        .run(&["grp", "--timeout", "500ms", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128 + 15), "{out:?}");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    let clock = Instant::now();
    while !gone(pid) {
        assert!(
            clock.elapsed().as_secs() < 5,
            "sleep 30 ({pid}) outlived the timed-out command"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_background_process_holding_the_output_does_not_hold_hbmon() {
    let sandbox = Sandbox::new();
    let script = "(for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do echo tick $i; sleep 0.5; done) & exit 0";
    let clock = Instant::now();
    let out = sandbox
        .run(&["linger", "--", "sh", "-c", script])
        .output()
        .unwrap();
    let took = clock.elapsed();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        took.as_secs() < 6,
        "hbmon waited {took:?} for the background loop"
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("tick 1\n")
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "hbmon: linger: the command exited, but a process it started still holds its output \
         open; stopped passing that output on after 2s\n"
    );
    assert_eq!(sandbox.entry("linger").reported(), Reported::Succeeded);
}

#[test]
fn a_timeout_ends_with_sigkill_when_sigterm_is_ignored() {
    let sandbox = Sandbox::new();
    let script = "trap '' TERM; exec sleep 30";
    let out = sandbox
        .run(&["stubborn", "--timeout", "200ms", "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128 + 9), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "hbmon: stubborn: timed out after 200ms; sent SIGTERM\n\
         hbmon: stubborn: still running 5s after SIGTERM; sent SIGKILL\n"
    );
    let entry = sandbox.entry("stubborn");
    assert_eq!(
        reason(&entry),
        "timed out after 200ms; killed by SIGKILL (signal 9)"
    );
    assert!(
        entry.duration.unwrap() >= 5.0,
        "SIGKILL came before the grace"
    );
}

#[test]
fn output_passes_through_whole_and_the_tail_keeps_the_last_10_kib() {
    let sandbox = Sandbox::new();
    let script = "echo starting >&2; seq -f 'line %05g of the job output' 1 3000";
    let out = sandbox
        .run(&["chatty", "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let expected = (1..=3000).fold(String::new(), |mut text, n| {
        writeln!(text, "line {n:05} of the job output").unwrap();
        text
    });
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    assert_eq!(out.stderr, b"starting\n");

    let entry = sandbox.entry("chatty");
    let tail = entry.additional_data["output_tail"].as_str().unwrap();
    assert_eq!(tail.len(), 10 * 1024);
    // stderr's line came first, so the tail is the end of stdout, unless a very late
    // stderr pump put that line among the last 10 KiB.
    assert!(
        expected.ends_with(&tail.replacen("starting\n", "", 1)),
        "the tail is not the end of the output: {tail}"
    );
}

#[test]
fn a_command_that_cannot_start_fails_like_in_a_shell() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .run(&["missing", "--", "/no/such/command", "--flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "hbmon: cannot run `/no/such/command`: command not found\n"
    );
    let entry = sandbox.entry("missing");
    assert_eq!(entry.reported(), Reported::Failed);
    assert_eq!((entry.pid, entry.exit_code), (None, Some(127)));
    assert_eq!(entry.additional_data["command"], "/no/such/command --flag");

    let script = sandbox.file.with_file_name("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let out = sandbox
        .run(&["noexec", "--", script.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("permission denied")
    );
    assert_eq!(sandbox.entry("noexec").exit_code, Some(126));
}

#[test]
fn keepalive_beats_running_without_starting_a_new_run() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .run(&[
            "long",
            "--interval",
            "100ms",
            "--keepalive",
            "--",
            "sleep",
            "1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let entry = sandbox.entry("long");
    assert!(entry.beats.unwrap() >= 3, "beats = {:?}", entry.beats);
    assert_eq!(entry.interval, Some(0.1));
    assert!(entry.first_heartbeat.unwrap() - entry.started_at.unwrap() < 0.5);

    let quiet = sandbox
        .run(&["short", "--interval", "100ms", "--", "sleep", "0.5"])
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert_eq!(
        sandbox.entry("short").beats,
        Some(2),
        "no keepalive asked for"
    );

    // An app runs for good: without keepalive beats it would turn hung while it serves.
    let app = sandbox
        .run(&[
            "server",
            "--kind",
            "app",
            "--interval",
            "100ms",
            "--",
            "sleep",
            "1",
        ])
        .output()
        .unwrap();
    assert!(app.status.success(), "{app:?}");
    let entry = sandbox.entry("server");
    assert_eq!(entry.kind(), Kind::App);
    assert!(
        entry.beats.unwrap() >= 3,
        "--kind app did not keep alive: beats = {:?}",
        entry.beats
    );
}

#[test]
fn a_beat_that_cannot_be_written_does_not_change_the_exit_code() {
    // Root cannot create files under /proc/self either.
    let out = Command::new(HBMON)
        .args(["--file", "/proc/self/hbmon/hb.json", "run", "x", "--"])
        .args(["sh", "-c", "echo work; exit 3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout, b"work\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("cannot record the running beat"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot record the failed beat"), "{stderr}");
    assert!(stderr.contains("/proc/self/hbmon"), "{stderr}");
}

/// Starts a job that traps `signal`, waits until it is ready, and sends `signal` to hbmon.
fn signal_hbmon(sandbox: &Sandbox, signal: &str, wrapper: &[&str]) -> (Option<i32>, String) {
    let script = format!(
        "trap 'echo got {signal}; exit 7' {signal}; echo ready; \
         i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; echo survived"
    );
    let mut cmd = Command::new(wrapper.first().copied().unwrap_or(HBMON));
    if !wrapper.is_empty() {
        cmd.args(&wrapper[1..]).arg(HBMON);
    }
    let mut child = cmd
        .args([
            "--file",
            sandbox.file.to_str().unwrap(),
            "run",
            signal,
            "--",
        ])
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let kill = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    (child.wait().unwrap().code(), rest)
}

/// Whether this test process was started with `signal` ignored (then so is every child,
/// and `sh` cannot trap it).
fn ignored_here(signal: u32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

#[test]
fn stop_signals_sent_to_hbmon_reach_the_command() {
    let sandbox = Sandbox::new();
    // The whole group gets it, the script's `sleep` too: the shell may say on stderr how
    // that ended ("Terminated") before its trap runs; the tail has it.
    for (signal, number) in [
        ("TERM", libc::SIGTERM),
        ("HUP", libc::SIGHUP),
        ("INT", libc::SIGINT),
        ("QUIT", libc::SIGQUIT),
        ("USR1", libc::SIGUSR1),
        ("USR2", libc::SIGUSR2),
    ] {
        if ignored_here(number.unsigned_abs()) {
            eprintln!("skipping SIG{signal}: this test process was started with it ignored");
            continue;
        }
        let (code, rest) = signal_hbmon(&sandbox, signal, &[]);
        // The whole group gets it, the script's `sleep` too: the shell may say how that
        // ended ("Terminated") before its trap runs.
        assert!(
            rest.ends_with(&format!("got {signal}\n")),
            "SIG{signal}: {rest:?}"
        );
        assert!(!rest.contains("survived"), "SIG{signal}: {rest:?}");
        assert_eq!(code, Some(7), "SIG{signal}");
        let entry = sandbox.entry(signal);
        assert_eq!(entry.reported(), Reported::Failed);
        // A stop signal interrupts the job; the others are only passed on.
        let how = if matches!(signal, "TERM" | "HUP" | "INT") {
            format!("interrupted by SIG{signal} (signal {number}); exited with code 7")
        } else {
            format!("SIG{signal} (signal {number}) passed on; exited with code 7")
        };
        assert_eq!(reason(&entry), how);
        let tail = entry.additional_data["output_tail"].as_str().unwrap();
        assert!(
            tail.starts_with("ready\n") && tail.contains(&rest),
            "{tail:?}"
        );
    }
}

#[test]
fn a_signal_ignored_under_nohup_stays_ignored() {
    let sandbox = Sandbox::new();
    let (code, rest) = signal_hbmon(&sandbox, "HUP", &["nohup"]);
    assert_eq!(rest, "survived\n");
    assert_eq!(code, Some(0));
    assert_eq!(sandbox.entry("HUP").reported(), Reported::Succeeded);
}

/// Counts SIGINTs for 1.5 s while busy (so a signal is delivered at once, and a second one
/// arriving during the slow handler is delivered after it, not merged), then writes the count.
#[cfg(target_os = "linux")]
const SIGINT_COUNTER: &str = "
import signal, sys, time
count = 0
def handler(sig, frame):
    global count
    count += 1
    time.sleep(0.3)
signal.signal(signal.SIGINT, handler)
open(sys.argv[1] + '.ready', 'w').close()
end = time.time() + 1.5
while time.time() < end:
    pass
open(sys.argv[1], 'w').write(str(count))
";

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_in_a_terminal_reaches_the_command_once() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipping: tmux is not on PATH");
        return;
    }
    let sandbox = Sandbox::new();
    let count = sandbox.file.with_file_name("sigints");
    let socket = sandbox.file.with_file_name("tmux.sock");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-f")
            .arg("/dev/null")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .status()
            .unwrap()
    };
    // A real terminal: Ctrl-C goes to its whole foreground process group, the job included.
    let job = format!(
        "{HBMON} --file {} run ctrlc -- python3 -c \"$0\" {}; sleep 30",
        sandbox.file.display(),
        count.display()
    );
    let started = tmux(&[
        "new-session",
        "-d",
        "-x",
        "80",
        "-y",
        "10",
        "sh",
        "-c",
        &job,
        SIGINT_COUNTER,
    ]);
    assert!(started.success());
    let ready = count.with_extension("ready");
    let clock = Instant::now();
    while !ready.exists() {
        assert!(clock.elapsed().as_secs() < 20, "the job never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(tmux(&["send-keys", "C-c"]).success());
    while !count.exists() {
        assert!(clock.elapsed().as_secs() < 30, "the job never finished");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    tmux(&["kill-server"]);
    let seen = std::fs::read_to_string(&count).unwrap();
    assert_eq!(seen, "1", "the command saw Ctrl-C {seen} times");
}

#[test]
fn a_beat_waiting_for_the_lock_does_not_hold_the_command_up() {
    let sandbox = Sandbox::new();
    let lock = std::fs::File::create(hbmon::paths::lock_path(&sandbox.file)).unwrap();
    lock.lock().unwrap();
    let done = sandbox.file.with_file_name("done");
    let output = std::fs::File::create(sandbox.file.with_file_name("out")).unwrap();
    // 400 KB of output, far more than a pipe holds, while the running beat waits for the lock.
    let script = format!("seq 1 60000 >/dev/stdout; touch {}", done.display());
    let mut hbmon = sandbox
        .run(&["blocked", "--", "sh", "-c", &script])
        .stdout(output)
        .spawn()
        .unwrap();
    let clock = Instant::now();
    while !done.exists() {
        assert!(
            clock.elapsed().as_secs() < 20,
            "the command was held up by the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !sandbox.file.exists(),
        "nothing can be written while the lock is held"
    );
    lock.unlock().unwrap();
    assert!(hbmon.wait().unwrap().success());
    let entry = sandbox.entry("blocked");
    assert_eq!(
        (entry.reported(), entry.beats),
        (Reported::Succeeded, Some(2))
    );
    let out = std::fs::read_to_string(sandbox.file.with_file_name("out")).unwrap();
    assert_eq!(out.lines().count(), 60000);
}

#[test]
fn a_lock_held_for_good_delays_neither_the_command_nor_its_timeout() {
    let sandbox = Sandbox::new();
    // Another writer stopped (Ctrl-Z) while holding the lock, for the whole run.
    let lock_path = hbmon::paths::lock_path(&sandbox.file);
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let mut hbmon = sandbox
        .run(&["stuck", "--timeout", "1s", "--", "sleep", "30"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let clock = Instant::now();
    let status = loop {
        if let Some(status) = hbmon.try_wait().unwrap() {
            break status;
        }
        if clock.elapsed().as_secs() >= 25 {
            hbmon.kill().unwrap();
            panic!("hbmon run was held up by the lock");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(128 + 15));
    let mut stderr = String::new();
    hbmon
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let gave_up = format!(
        "timed out after 5s waiting for the lock on {} (held by another writer)",
        lock_path.display()
    );
    assert_eq!(
        stderr,
        format!(
            "hbmon: stuck: timed out after 1s; sent SIGTERM\n\
             hbmon: cannot record the running beat of \"stuck\": {gave_up}\n\
             hbmon: cannot record the failed beat of \"stuck\": {gave_up}\n"
        )
    );
    assert!(!sandbox.file.exists());
}

#[test]
fn a_signal_after_the_command_exited_stops_hbmon_once_it_has_reported() {
    let sandbox = Sandbox::new();
    // The lock keeps hbmon busy reporting for seconds after the command has exited.
    let lock = std::fs::File::create(hbmon::paths::lock_path(&sandbox.file)).unwrap();
    lock.lock().unwrap();
    let mut hbmon = sandbox
        .run(&["late", "--", "sh", "-c", "echo ready; exit 3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(hbmon.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let kill = Command::new("kill")
        .args(["-TERM", &hbmon.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let clock = Instant::now();
    let status = loop {
        if let Some(status) = hbmon.try_wait().unwrap() {
            break status;
        }
        assert!(clock.elapsed().as_secs() < 25, "hbmon never ended");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(
        status.signal(),
        Some(libc::SIGTERM),
        "the SIGTERM was swallowed: {status:?}"
    );
}
