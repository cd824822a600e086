//! `hbmon serve` supervising real child processes: a crash restarted after its backoff, a
//! process that crashes at once given up on, a SIGSTOPped one found hung, killed and
//! restarted, a dependency chain started in order and stopped in reverse with nothing left
//! running, output captured into logs that rotate at their cap, the control socket of a
//! serve that took supervision over.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::serve::{Serve, wait_for};

/// Serve with `config` beside the heartbeat file in `dir`.
fn serve(dir: &Path, config: &str) -> Serve {
    fs::write(dir.join("hbmon.toml"), config).unwrap();
    Serve::start(dir, "serve.log")
}

/// The entry `name` of the heartbeat file, `Null` if none.
fn entry(dir: &Path, name: &str) -> Value {
    let text = fs::read_to_string(dir.join("hb.json")).unwrap_or_default();
    let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    doc["processes"][name].clone()
}

fn pid_of(dir: &Path, name: &str) -> u64 {
    entry(dir, name)["pid"].as_u64().unwrap_or(0)
}

/// Whether any process is in one of the process groups `groups`.
fn alive_in_groups(groups: &[u64]) -> Vec<String> {
    let mut found = Vec::new();
    for dir in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = fs::read_to_string(dir.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if let Some(pgrp) = fields.get(2).and_then(|g| g.parse::<u64>().ok())
            && groups.contains(&pgrp)
            && fields[0] != "Z"
        {
            found.push(stat);
        }
    }
    found
}

#[test]
fn a_crash_is_restarted_once_after_its_backoff_and_is_up_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The first run crashes a moment after it starts; the second stays.
    let config = format!(
        "[[process]]\nname = \"crashy\"\ninterval = \"1s\"\n\
         run = [\"sh\", \"-c\", \"if [ -e {m} ]; then exec sleep 300; fi; touch {m}; sleep 0.5; exit 3\"]\n",
        m = d.join("marker").display()
    );
    let mut serve = serve(d, &config);
    serve.wait_log("supervise: started crashy");
    wait_for("the first run", || pid_of(d, "crashy") != 0, || serve.log());
    let first = pid_of(d, "crashy");
    serve.wait_log("supervise: restarted crashy (1st time in 10m00s): exited with code 3");
    // Seen dead (the PID gone) before it was restarted (after the 1 s backoff).
    let log = serve.log();
    let dead = log.find("-> dead (pid").unwrap_or(usize::MAX);
    assert!(dead < log.find("restarted crashy").unwrap(), "{log}");
    wait_for(
        "the second run up",
        || pid_of(d, "crashy") != first && serve.log().contains("crashy: dead -> up"),
        || serve.log(),
    );
    std::thread::sleep(Duration::from_secs(2));
    let log = serve.log();
    assert_eq!(log.matches("restarted crashy").count(), 1, "{log}");
    let second = pid_of(d, "crashy");
    serve.terminate();
    assert!(alive_in_groups(&[first, second]).is_empty());
}

#[test]
fn a_process_that_crashes_at_once_is_given_up_on_after_max_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut serve = serve(
        d,
        "[[process]]\nname = \"broken\"\ninterval = \"1s\"\nrun = \"false\"\n\
         max_restarts = 2\nrestart_window = \"1m\"\n",
    );
    serve.wait_log("supervise: restarted broken (1st time in 1m00s): exited with code 1");
    serve.wait_log("supervise: restarted broken (2nd time in 1m00s): exited with code 1");
    serve.wait_log("supervise: gave up on broken after 2 restarts in 1m00s: exited with code 1");
    serve.wait_log("-> gave-up (gave up on broken");
    std::thread::sleep(Duration::from_secs(3));
    let log = serve.log();
    assert!(!log.contains("3rd time"), "{log}");
    // Critical: the process stays gave-up, not judged back to dead.
    assert!(!log.contains("broken: gave-up ->"), "{log}");
    serve.terminate();
}

#[test]
fn a_stopped_process_is_hung_then_killed_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let beat_loop = format!(
        "while :; do {} beat \"$HBMON_NAME\" || exit 9; sleep 0.2; done",
        env!("CARGO_BIN_EXE_hbmon")
    );
    let config = format!(
        "[[process]]\nname = \"stuck\"\ninterval = \"1s\"\ngrace = \"0.5s\"\ndegraded_after = 2\ndead_after = 2\n\
         stop_timeout = \"1s\"\nrun = [\"sh\", \"-c\", {beat_loop:?}]\n"
    );
    let mut serve = serve(d, &config);
    serve.wait_log("stuck: pending -> up");
    // Long enough for serve to see the child beat itself (every 0.2 s), after which it no
    // longer beats for it: from then on only the child's own beats keep it up.
    std::thread::sleep(Duration::from_millis(1500));
    let first = pid_of(d, "stuck");
    assert!(first > 0);
    let group = format!("-{first}");
    assert!(
        std::process::Command::new("kill")
            .args(["-STOP", "--", &group])
            .status()
            .unwrap()
            .success()
    );
    serve.wait_log("-> hung");
    serve.wait_log("supervise: stopping stuck: was hung");
    serve.wait_log("supervise: restarted stuck (1st time in 10m00s): was hung");
    wait_for(
        "a new run beating",
        || pid_of(d, "stuck") != first && serve.log().contains("stuck: dead -> up"),
        || serve.log(),
    );
    assert!(
        alive_in_groups(&[first]).is_empty(),
        "the hung group is gone"
    );
    let second = pid_of(d, "stuck");
    serve.terminate();
    assert!(alive_in_groups(&[second]).is_empty());
}

#[test]
fn a_dependency_chain_starts_in_order_and_stops_in_reverse_leaving_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let order = d.join("order");
    let script = format!(
        "echo \"start $HBMON_NAME $$\" >> {o}; \
         trap 'echo \"stop $HBMON_NAME\" >> {o}; exit 0' TERM; \
         sleep 300 & wait",
        o = order.display()
    );
    let mut config = String::new();
    for (name, needs) in [("web", "\"api\""), ("api", "\"db\""), ("db", "")] {
        let _ = write!(
            config,
            "[[process]]\nname = \"{name}\"\ninterval = \"1s\"\ndepends_on = [{needs}]\n\
             run = [\"sh\", \"-c\", {script:?}]\n"
        );
    }
    let mut serve = serve(d, &config);
    wait_for(
        "all three started",
        || {
            fs::read_to_string(&order)
                .unwrap_or_default()
                .lines()
                .count()
                == 3
        },
        || serve.log(),
    );
    serve.wait_log("web: pending -> up");
    let started = fs::read_to_string(&order).unwrap();
    let groups: Vec<u64> = started
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(serve.terminate().success());
    let said: Vec<String> = fs::read_to_string(&order)
        .unwrap()
        .lines()
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        said,
        [
            "start db",
            "start api",
            "start web",
            "stop web",
            "stop api",
            "stop db"
        ]
    );
    // Each run's `sleep` too: its whole group is gone.
    let left = alive_in_groups(&groups);
    assert!(left.is_empty(), "left running: {left:?}");
    for name in ["web", "api", "db"] {
        assert_eq!(entry(d, name)["status"], "stopped", "{name}");
    }
}

#[test]
fn output_goes_to_a_log_that_rotates_at_its_cap() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut serve = serve(
        d,
        "[[process]]\nname = \"chatty\"\ninterval = \"1s\"\nlog_size = \"2KB\"\nlog_keep = 2\n\
         run = [\"sh\", \"-c\", \"i=0; while [ $i -lt 80 ]; do echo line-$i-of-output; \
         echo err-$i >&2; i=$((i+1)); done; exec sleep 300\"]\n",
    );
    let logs = d.join("logs");
    let all = || {
        ["chatty.log.2", "chatty.log.1", "chatty.log"]
            .iter()
            .map(|n| fs::read_to_string(logs.join(n)).unwrap_or_default())
            .collect::<String>()
    };
    wait_for(
        "the last lines of both streams in the logs",
        || all().contains("line-79-of-output") && all().contains("err-79\n"),
        || serve.log(),
    );
    for n in ["chatty.log", "chatty.log.1", "chatty.log.2"] {
        let size = fs::metadata(logs.join(n)).unwrap().len();
        assert!(size > 0 && size <= 2000, "{n}: {size} bytes");
    }
    assert!(!logs.join("chatty.log.3").exists(), "log_keep = 2");
    // ~6 KB written (with the stamps), at most 3 x 2 KB kept: the oldest lines are gone,
    // and stderr is captured as stdout is.
    let kept = all();
    assert!(
        !(kept.contains(" line-0-of") && kept.contains(" err-0\n")),
        "{kept}"
    );
    // Each line stamped with the time it was written.
    let stamped =
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (line|err)-\d+").unwrap();
    assert!(kept.lines().all(|l| stamped.is_match(l)), "{kept}");
    assert!(kept.contains(" err-"), "stderr is captured too: {kept}");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        (mode(&logs), mode(&logs.join("chatty.log"))),
        (0o700, 0o600)
    );
    serve.terminate();
}

#[test]
fn hbmon_logs_prints_the_last_lines_escaped_and_follows_across_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut serve = serve(
        d,
        "[[process]]\nname = \"ticker\"\ninterval = \"1s\"\nlog_size = \"1KB\"\nlog_keep = 9\n\
         run = [\"sh\", \"-c\", \"printf 'evil \\\\033[2J\\\\n'; i=0; while :; do echo tick-$i; \
         i=$((i+1)); sleep 0.02; done\"]\n",
    );
    let logs = d.join("logs").join("ticker.log");
    wait_for(
        "ticks in the log",
        || {
            fs::read_to_string(&logs)
                .unwrap_or_default()
                .contains("tick-10\n")
        },
        || serve.log(),
    );
    let out = crate::hbmon(d)
        .args(["logs", "ticker", "-n", "3"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().all(|l| l.contains(" tick-")), "{text}");
    // From the first line on, through the rotated files: the escape sequence escaped.
    let out = crate::hbmon(d)
        .args(["logs", "ticker", "-n", "100000"])
        .output()
        .unwrap();
    let all = String::from_utf8(out.stdout).unwrap();
    assert!(all.contains("evil \\u{1b}[2J"), "{all}");
    assert!(!all.contains('\u{1b}'));
    // Following: every tick from where it starts, in order, none lost at a rotation (a
    // 1KB log rotates every ~30 ticks).
    let mut follow = crate::hbmon_std(d)
        .args(["logs", "ticker", "-f", "-n", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let reader = std::io::BufReader::new(follow.stdout.take().unwrap());
    let mut ticks = Vec::new();
    for line in std::io::BufRead::lines(reader) {
        let line = line.unwrap();
        if let Some(n) = line
            .rsplit_once(" tick-")
            .and_then(|(_, n)| n.parse::<u64>().ok())
        {
            ticks.push(n);
        }
        if ticks.len() >= 150 {
            break;
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();
    let expected: Vec<u64> = (ticks[0]..ticks[0] + 150).collect();
    assert_eq!(ticks, expected);
    assert!(
        logs.with_extension("log.3").exists(),
        "it rotated meanwhile"
    );
    serve.terminate();
    let out = crate::hbmon(d).args(["logs", "nosuch"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no log for \"nosuch\""), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn hbmon_stop_from_another_process_keeps_it_stopped_until_hbmon_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Without a serve: one line saying so, non-zero.
    let out = crate::hbmon(d).args(["start", "svc"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no hbmon serve supervises"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let mut serve = serve(
        d,
        "[[process]]\nname = \"svc\"\nlabel = \"The Service\"\ninterval = \"1s\"\n\
         restart = \"always\"\nrun = \"sleep 300\"\n[[process]]\nname = \"plain\"\n",
    );
    serve.wait_log("svc: pending -> up");
    let first = pid_of(d, "svc");
    // Only its user may reach the socket.
    let socket = d.join("hb.json.control").join("socket");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        (mode(socket.parent().unwrap()), mode(&socket)),
        (0o700, 0o600)
    );
    let out = crate::hbmon(d)
        .args(["stop", "The Service"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "stopping svc\n");
    serve.wait_log("svc: up -> stopped");
    std::thread::sleep(Duration::from_secs(3));
    let log = serve.log();
    assert!(
        !log.contains("restarted svc"),
        "restart = always, yet stopped stays: {log}"
    );
    assert!(alive_in_groups(&[first]).is_empty());
    // A name that is not supervised is refused, saying why.
    let out = crate::hbmon(d).args(["restart", "plain"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("\"plain\" is not supervised"), "{err}");
    let out = crate::hbmon(d).args(["start", "svc"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    serve.wait_log("svc: stopped -> up");
    let second = pid_of(d, "svc");
    assert_ne!(first, second);
    let out = crate::hbmon(d).args(["restart", "svc"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    wait_for(
        "a third run",
        || ![0, second].contains(&pid_of(d, "svc")),
        || format!("{second} {}\n{}", entry(d, "svc"), serve.log()),
    );
    let third = pid_of(d, "svc");
    serve.terminate();
    assert!(!socket.exists(), "the socket goes with serve");
    assert!(alive_in_groups(&[second, third]).is_empty());
}

#[test]
fn a_process_managed_elsewhere_is_restarted_by_its_restart_command_when_dead() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hbmon = env!("CARGO_BIN_EXE_hbmon");
    // The "manager": starts the service in a session of its own, as systemd would, and
    // the service's first beat says its PID.
    let restart = format!(
        "setsid sleep 301 & {hbmon} beat ext --pid $! --interval 1s; echo restarted >> {}",
        d.join("restarts").display()
    );
    let mut worker = crate::serve::Worker::start();
    crate::hbmon(d)
        .args(["beat", "ext", "--interval", "1s", "--pid", &worker.pid()])
        .assert()
        .success();
    let mut serve = serve(
        d,
        &format!(
            "[[process]]\nname = \"ext\"\ninterval = \"1s\"\nshell = true\n\
             restart_command = {restart:?}\nstart_timeout = \"5s\"\n"
        ),
    );
    serve.wait_log("ext: new -> up");
    worker.kill();
    serve.wait_log("ext: up -> dead");
    serve.wait_log("supervise: restarted ext (1st time in 10m00s): was dead");
    serve.wait_log("ext: dead -> up");
    let service = pid_of(d, "ext");
    assert_ne!(service.to_string(), worker.pid());
    assert_eq!(
        fs::read_to_string(d.join("restarts")).unwrap(),
        "restarted\n"
    );
    serve.terminate();
    // Not serve's to stop: it runs on, as a systemd unit would.
    assert!(Path::new(&format!("/proc/{service}")).exists());
    let _ = std::process::Command::new("kill")
        .arg(service.to_string())
        .status();
}

#[test]
fn hbmon_logs_refuses_a_log_that_is_no_log_of_its_own_names_why_and_never_reads_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    fs::set_permissions(&logs, fs::Permissions::from_mode(0o700)).unwrap();
    let fifo = logs.join("piped.log");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    fs::write(dir.path().join("secret"), "s3cret\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret"), logs.join("linked.log")).unwrap();
    // A log anyone may write: its lines could be anyone's, shown as the process's own.
    let open = logs.join("open.log");
    fs::write(&open, "2026-01-01T00:00:00.000Z s3cret forged\n").unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o666)).unwrap();
    for (name, why) in [
        ("piped", "not a regular file"),
        ("linked", "symbolic links"),
        ("open", "writable by group or others"),
    ] {
        let out = crate::hbmon(dir.path())
            .args(["logs", name])
            .timeout(Duration::from_secs(10))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains("cannot read the log at"),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(why), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cret"));
    }
}

#[test]
fn a_serve_that_takes_over_supervision_opens_the_control_socket_and_obeys_hbmon_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = serve(
        d,
        "[[process]]\nname = \"svc\"\ninterval = \"1s\"\nrun = \"sleep 300\"\n",
    );
    first.wait_log("svc: pending -> up");
    let original = pid_of(d, "svc");
    let mut second = Serve::start(d, "second.log");
    second.wait_log("supervise: another monitor supervises the processes");
    assert!(!second.log().contains("control socket"), "{}", second.log());
    // Killed outright: its socket is left behind, and its child goes with it.
    drop(first);
    second.wait_log("supervise: started and restarted from this monitor");
    second.wait_log("supervise: control socket");
    wait_for(
        "svc started by the second",
        || ![0, original].contains(&pid_of(d, "svc")),
        || second.log(),
    );
    let before = pid_of(d, "svc");
    let out = crate::hbmon(d).args(["restart", "svc"]).output().unwrap();
    assert!(out.status.success(), "{out:?}\n{}", second.log());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "restarting svc\n");
    wait_for(
        "a run after the restart",
        || ![0, before].contains(&pid_of(d, "svc")),
        || second.log(),
    );
    let after = pid_of(d, "svc");
    second.terminate();
    assert!(alive_in_groups(&[original, before, after]).is_empty());
}

#[test]
fn a_supervised_process_speaking_sd_notify_with_systemd_notify_beats_and_its_silence_is_hung() {
    assert!(
        Path::new("/usr/bin/systemd-notify").exists(),
        "this test needs systemd-notify (Debian package systemd): run .ci/tools"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pings = d.join("pings");
    // READY=1 with a status, then WATCHDOG=1 pings at half of WATCHDOG_USEC while the
    // file `pings` is there: removed, it falls silent yet runs on.
    fs::write(&pings, "").unwrap();
    let script = format!(
        "[ \"$WATCHDOG_USEC\" = 2000000 ] || exit 9; \
         systemd-notify --ready --status=serving; \
         while [ -e {p} ]; do systemd-notify WATCHDOG=1; sleep 0.5; done; exec sleep 300",
        p = pings.display()
    );
    let mut serve = serve(
        d,
        &format!(
            "[[process]]\nname = \"daemon\"\ninterval = \"2s\"\ndegraded_after = 2\ndead_after = 2\n\
             restart = \"never\"\nrun = [\"sh\", \"-c\", {script:?}]\n"
        ),
    );
    serve.wait_log("daemon: pending -> up");
    wait_for(
        "READY=1 and its status in the entry",
        || {
            let data = &entry(d, "daemon")["additional_data"];
            data["ready"] == true && data["status"] == "serving"
        },
        || format!("{}\n{}", entry(d, "daemon"), serve.log()),
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(!serve.log().contains("daemon: up ->"), "{}", serve.log());
    fs::remove_file(&pings).unwrap();
    serve.wait_log("-> hung");
    serve.terminate();
}
