//! `hbmon status`: states judged against real processes, exit codes, JSON, the seed file.

use std::process::{Child, Command};
use std::thread::sleep;
use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::{hbmon, hbmon_std};

/// A `sleep 30` to beat for; killed and reaped on drop.
struct Sleeper(Child);

impl Sleeper {
    /// Returns once it runs `sleep` (right after `fork` it still looks like this test).
    fn start() -> Self {
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let cmdline = format!("/proc/{}/cmdline", child.id());
        for _ in 0..500 {
            if std::fs::read(&cmdline).is_ok_and(|c| c == b"sleep\x0030\x00") {
                break;
            }
            sleep(Duration::from_millis(10));
        }
        Sleeper(child)
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    /// Kills it and waits, so no zombie keeps the PID.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.kill();
    }
}

fn beat(dir: &std::path::Path, args: &[&str]) {
    hbmon(dir).arg("beat").args(args).assert().success();
}

/// `hbmon status --json`: the document and the exit code.
fn status_json(dir: &std::path::Path) -> (Value, i32) {
    let out = hbmon(dir).args(["status", "--json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (doc, out.status.code().unwrap())
}

fn state<'a>(doc: &'a Value, name: &str) -> (&'a str, &'a str) {
    let row = doc["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {doc:#}"));
    (
        row["state"].as_str().unwrap(),
        row["reason"].as_str().unwrap(),
    )
}

#[test]
fn a_live_process_is_up_then_late_then_hung_and_dead_the_moment_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut sleeper = Sleeper::start();
    let pid = sleeper.pid();
    // "late" must outlast the wait below on a busy machine: push its later thresholds out.
    std::fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"late\"\ndegraded_after = 20\ndead_after = 30\n",
    )
    .unwrap();
    beat(dir.path(), &["up", "--pid", &pid, "--interval", "1m"]);
    beat(dir.path(), &["late", "--pid", &pid, "--interval", "0.2s"]);
    beat(dir.path(), &["hung", "--pid", &pid, "--interval", "0.2s"]);
    let (doc, _) = status_json(dir.path());
    assert_eq!(state(&doc, "up").0, "up");

    // Past I + G = 0.3 s for "late"; past 5 I + G = 1.1 s for "hung".
    sleep(Duration::from_millis(1300));
    let (doc, code) = status_json(dir.path());
    assert_eq!(state(&doc, "up").0, "up");
    let (late, why) = state(&doc, "late");
    assert_eq!(late, "late", "{why}");
    assert!(
        why.starts_with("no beat for ") && why.ends_with(" intervals)"),
        "{why}"
    );
    let (hung, why) = state(&doc, "hung");
    assert_eq!(hung, "hung", "{why}");
    assert!(why.ends_with(&format!("pid {pid} is alive")), "{why}");
    assert_eq!(code, 2);

    sleeper.kill();
    let (doc, code) = status_json(dir.path());
    for name in ["up", "late", "hung"] {
        assert_eq!(
            state(&doc, name),
            ("dead", format!("pid {pid} is gone").as_str())
        );
    }
    assert_eq!(code, 2);
    hbmon(dir.path())
        .args(["status", "up"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("dead"))
        .stdout(predicate::str::contains(format!("-> pid {pid} is gone")));
}

#[test]
fn a_clean_stop_is_stopped_and_alerts_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let mut sleeper = Sleeper::start();
    beat(dir.path(), &["svc", "--pid", &sleeper.pid(), "--stopped"]);
    sleeper.kill();
    let (doc, code) = status_json(dir.path());
    assert_eq!(state(&doc, "svc").0, "stopped");
    assert_eq!(code, 0);
    // The table hides clean stops of unconfigured processes unless --all.
    hbmon(dir.path())
        .arg("status")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("svc").not())
        .stdout(predicate::str::contains(
            "1 additional process stopped cleanly",
        ));
    hbmon(dir.path())
        .args(["status", "--all"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("svc"))
        .stdout(predicate::str::contains("stopped"));
    // Asked for by name, it is shown.
    hbmon(dir.path())
        .args(["status", "svc"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("svc"))
        .stdout(predicate::str::contains("stopped"))
        .stdout(predicate::str::contains("not shown").not());
}

#[test]
fn exit_codes_follow_the_nagios_convention() {
    let dir = tempfile::tempdir().unwrap();
    let sleeper = Sleeper::start();
    let pid = sleeper.pid();
    // No file yet and nothing configured: nothing to judge (a mistyped path, perhaps).
    hbmon(dir.path())
        .arg("status")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "no heartbeat file at {} yet",
            dir.path().join("hb.json").display()
        )));
    beat(dir.path(), &["ok", "--pid", &pid, "--interval", "1m"]);
    hbmon(dir.path()).arg("status").assert().code(0);
    beat(dir.path(), &["oops", "--pid", &pid, "--error", "disk full"]);
    hbmon(dir.path())
        .arg("status")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("reported an error"));
    beat(dir.path(), &["gone", "--pid", "999999999"]);
    hbmon(dir.path()).arg("status").assert().code(2);
    // Only the named processes count.
    hbmon(dir.path()).args(["status", "ok"]).assert().code(0);
    hbmon(dir.path())
        .args(["status", "ok", "oops"])
        .assert()
        .code(1);
    hbmon(dir.path())
        .args(["status", "nobody"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no process \"nobody\""));
}

#[test]
fn a_named_process_does_not_hide_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"planned\"\n",
    )
    .unwrap();
    beat(dir.path(), &["extra", "--no-pid"]);
    // The config lists a process, so its empty section must not say none is configured.
    hbmon(dir.path())
        .args(["status", "extra"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "MONITORED PROCESSES\n  none named\n",
        ))
        .stdout(predicate::str::contains("none configured").not());
}

#[test]
fn nothing_to_judge_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    std::fs::write(&file, "{ not json").unwrap();
    hbmon(dir.path())
        .arg("status")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("not a valid heartbeat file"));
    // A directory where the file should be: not a file to read.
    hbmon(dir.path())
        .args(["status", "--file"])
        .arg(dir.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "is a directory, not a regular file",
        ));
    std::fs::write(&file, "{}").unwrap();
    std::fs::write(dir.path().join("hbmon.toml"), "[defaults]\nintervl = 3\n").unwrap();
    hbmon(dir.path())
        .arg("status")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "hbmon.toml:2: intervl: unknown key",
        ));
}

#[test]
fn the_seed_example_file_reads_as_is() {
    let dir = tempfile::tempdir().unwrap();
    // Verbatim from the original heartbeat system's documentation.
    let seed = r#"{
  "last_updated": 1703123456.789,
  "processes": {
    "process-name": {
      "last_heartbeat": 1703123456.789,
      "last_heartbeat_formatted": "2023-12-20 15:30:56",
      "pid": 12345,
      "status": "alive",
      "additional_data": "..."
    }
  }
}"#;
    std::fs::write(dir.path().join("hb.json"), seed).unwrap();
    let (doc, code) = status_json(dir.path());
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["processes"].as_array().unwrap().len(), 1);
    let row = &doc["processes"][0];
    assert_eq!(row["name"], "process-name");
    assert_eq!(row["monitored"], false);
    assert_eq!(row["pid"], 12345);
    assert_eq!(row["entry"]["additional_data"], "...");
    assert_eq!(row["rules"]["interval"], 30.0);
    // Whether or not some process has PID 12345 here, it is not the one that beat in 2023.
    assert_eq!(row["state"], "dead");
    assert_eq!((doc["worst"].as_str(), code), (Some("critical"), 2));
    hbmon(dir.path())
        .arg("status")
        .assert()
        .code(2)
        .stdout(predicate::str::contains("ADDITIONAL HEARTBEAT PROCESSES"))
        .stdout(predicate::str::contains("process-name"))
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn configured_processes_are_found_by_match_before_they_beat() {
    let dir = tempfile::tempdir().unwrap();
    let _sleeper = Sleeper::start();
    std::fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"sleepy\"\nlabel = \"The Sleeper\"\nmatch = \"^sleep 30$\"\n\n\
         [[process]]\nname = \"absent\"\nmatch = \"no such command line\"\n",
    )
    .unwrap();
    let (doc, code) = status_json(dir.path());
    let (state_, reason) = state(&doc, "sleepy");
    // It only just started: it gets its first interval to beat before it counts as silent.
    assert_eq!(state_, "pending", "{reason}");
    assert!(reason.contains("matches; no beat yet"), "{reason}");
    assert_eq!(state(&doc, "absent"), ("pending", "never beat"));
    assert_eq!(code, 0);
    hbmon(dir.path())
        .arg("status")
        .assert()
        .stdout(predicate::str::contains("MONITORED PROCESSES"))
        .stdout(predicate::str::contains("The Sleeper"));
}

#[test]
fn a_configured_job_that_never_ran_becomes_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbmon.toml");
    std::fs::write(
        &config,
        "[[process]]\nname = \"nightly\"\nkind = \"job\"\ninterval = \"1h\"\n",
    )
    .unwrap();
    // Just configured, and no file yet: it is judged, and gets its first period to run.
    assert!(!dir.path().join("hb.json").exists());
    let (doc, code) = status_json(dir.path());
    assert_eq!(state(&doc, "nightly"), ("pending", "never ran yet"));
    assert_eq!(code, 0);
    // Configured 2 h ago (the config's mtime) and never ran: its cron line is broken.
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&config)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let (doc, code) = status_json(dir.path());
    let (state_, reason) = state(&doc, "nightly");
    assert_eq!(state_, "overdue", "{reason}");
    assert!(
        reason.starts_with("never ran in the 2h00m since"),
        "{reason}"
    );
    assert_eq!(code, 2);
}

#[test]
fn match_finds_the_command_not_the_hbmon_run_wrapping_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"sleeper\"\nmatch = \"sleep 31\\\\.7\"\n",
    )
    .unwrap();
    // Under another name, so "sleeper" has no entry and its process is found by `match`.
    let mut wrapper = hbmon_std(dir.path())
        .args(["run", "wrapper", "--", "sleep", "31.7"])
        .spawn()
        .unwrap();
    let found = |doc: &Value| {
        let row = doc["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "sleeper")
            .unwrap()
            .clone();
        row["process"]["name"].as_str().map(str::to_owned)
    };
    let mut seen = None;
    // Until the child has exec'd `sleep` (before that nothing but the wrapper matches).
    for _ in 0..100 {
        seen = found(&status_json(dir.path()).0);
        if seen.as_deref() == Some("sleep") {
            break;
        }
        sleep(Duration::from_millis(50));
    }
    // SIGTERM, which `hbmon run` passes on to the sleep.
    Command::new("kill")
        .arg(wrapper.id().to_string())
        .status()
        .unwrap();
    wrapper.wait().unwrap();
    assert_eq!(seen.as_deref(), Some("sleep"));
}
