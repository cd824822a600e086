//! Runs of one job at once (issue 13): two `hbmon run` of one name tracked apart by their
//! run ids, each end with its own exit code and duration; "2 running" in `status`;
//! `max_runtime` naming the oldest of two runs; `overlap = "warn"`; `min_runtime`.
//! Each run waits for a flag file the test creates, so no step depends on timing.

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::serve::wait_for;
use crate::{hbmon, hbmon_std};
use hbmon::store::{self, Entry, Reported};

/// `hbmon run NAME` of a command that waits for the file `flag` in `dir`, then exits `code`.
fn waiting_run(dir: &Path, name: &str, flag: &str, code: u8) -> Child {
    let script = format!("until [ -e {flag} ]; do sleep 0.02; done; exit {code}");
    hbmon_std(dir)
        .args(["run", name, "--", "sh", "-c", &script])
        .current_dir(dir)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn entry(dir: &Path, name: &str) -> Entry {
    store::read(&dir.join("hb.json"))
        .unwrap()
        .get(name)
        .cloned()
        .unwrap_or_default()
}

/// `hbmon status --json NAME`'s row.
fn status(dir: &Path, name: &str) -> Value {
    let out = hbmon(dir)
        .args(["status", "--json", name])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["processes"][0].clone()
}

/// Waits until `name` has `n` runs in progress in the file.
fn wait_runs(dir: &Path, name: &str, n: usize) {
    wait_for(
        &format!("{n} runs of {name} in progress"),
        || entry(dir, name).runs.len() == n,
        || format!("{:?}", entry(dir, name)),
    );
}

fn finish(dir: &Path, flag: &str, run: Child) -> Option<i32> {
    fs::write(dir.join(flag), "").unwrap();
    run.wait_with_output().unwrap().status.code()
}

/// A run's duration is its own: from its start to its end, as the stamps say too.
fn assert_own_duration(entry: &Entry, started_at: f64) {
    assert_eq!(entry.started_at, Some(started_at), "{entry:?}");
    let duration = entry.duration.unwrap();
    let stamps = entry.finished_at.unwrap() - started_at;
    assert!((duration - stamps).abs() < 0.05, "{duration} vs {stamps}");
}

#[test]
fn two_runs_of_one_name_at_once_are_tracked_apart() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let long = waiting_run(dir, "etl", "long-go", 0);
    wait_runs(dir, "etl", 1);
    let short = waiting_run(dir, "etl", "short-go", 3);
    wait_runs(dir, "etl", 2);

    let row = status(dir, "etl");
    assert_eq!(row["state"], "running", "{row}");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .starts_with("2 running, the oldest for "),
        "{row}"
    );
    let runs = row["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{row}");
    let (long_pid, short_pid) = (runs[0]["pid"].as_u64(), runs[1]["pid"].as_u64());
    assert!(
        long_pid.is_some() && short_pid.is_some() && long_pid != short_pid,
        "{row}"
    );
    assert_ne!(runs[0]["run_id"], runs[1]["run_id"]);
    let (long_start, short_start) = (
        runs[0]["started_at"].as_f64().unwrap(),
        runs[1]["started_at"].as_f64().unwrap(),
    );
    let table = hbmon(dir).args(["status", "etl"]).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("2 running"), "{table}");

    // The run that started second ends first, failed: the other runs on.
    assert_eq!(finish(dir, "short-go", short), Some(3));
    let after_short = entry(dir, "etl");
    assert_eq!(after_short.reported(), Reported::Failed);
    assert_eq!(after_short.exit_code, Some(3));
    assert_own_duration(&after_short, short_start);
    assert_eq!(after_short.runs.len(), 1, "{after_short:?}");
    let other = after_short.runs.values().next().unwrap().started_at;
    assert!((other - long_start).abs() < 1e-6, "{other} vs {long_start}");
    let row = status(dir, "etl");
    assert_eq!(
        (row["state"].as_str(), row["runs"].as_array().map(Vec::len)),
        (Some("failed"), Some(1)),
        "{row}"
    );

    assert_eq!(finish(dir, "long-go", long), Some(0));
    let done = entry(dir, "etl");
    assert_eq!(done.reported(), Reported::Succeeded);
    assert_eq!(done.exit_code, Some(0));
    assert_own_duration(&done, long_start);
    assert!(
        done.duration.unwrap() > after_short.duration.unwrap(),
        "the first run started before the second and ended after it: {done:?}"
    );
    assert!(done.runs.is_empty(), "{done:?}");
    let row = status(dir, "etl");
    assert_eq!(row["state"], "up", "{row}");
    assert_eq!(row["runs"], Value::Array(Vec::new()));
}

#[test]
fn a_run_over_max_runtime_is_hung_and_named_among_two() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    fs::write(
        dir.join("hbmon.toml"),
        "[[process]]\nname = \"etl\"\nkind = \"job\"\nmax_runtime = \"1s\"\n",
    )
    .unwrap();
    let first = waiting_run(dir, "etl", "go", 0);
    wait_runs(dir, "etl", 1);
    let second = waiting_run(dir, "etl", "go", 0);
    wait_runs(dir, "etl", 2);
    let oldest_pid = entry(dir, "etl").runs_in_progress()[0].1.pid.unwrap();
    wait_for(
        "etl hung",
        || status(dir, "etl")["state"] == "hung",
        || status(dir, "etl").to_string(),
    );
    let reason = status(dir, "etl")["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains(&format!("(pid {oldest_pid}) running for ")),
        "{reason}"
    );
    assert!(
        reason.ends_with("over its max_runtime of 1s (2 running)"),
        "{reason}"
    );
    assert_eq!(finish(dir, "go", first), Some(0));
    assert_eq!(second.wait_with_output().unwrap().status.code(), Some(0));
    assert_eq!(status(dir, "etl")["state"], "up");
}

#[test]
fn overlap_warn_makes_two_runs_at_once_an_error_naming_both_pids() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    fs::write(
        dir.join("hbmon.toml"),
        "[[process]]\nname = \"backup\"\nkind = \"job\"\noverlap = \"warn\"\n",
    )
    .unwrap();
    let first = waiting_run(dir, "backup", "go", 0);
    wait_runs(dir, "backup", 1);
    assert_eq!(
        status(dir, "backup")["state"],
        "running",
        "one run is no overlap"
    );
    let second = waiting_run(dir, "backup", "go", 0);
    wait_runs(dir, "backup", 2);
    let row = status(dir, "backup");
    assert_eq!(
        (row["state"].as_str(), row["severity"].as_str()),
        (Some("error"), Some("warning")),
        "{row}"
    );
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("2 runs at once, with overlap = \"warn\": run "),
        "{reason}"
    );
    for run in row["runs"].as_array().unwrap() {
        assert!(
            reason.contains(&format!("(pid {})", run["pid"])),
            "{reason} lacks {run}"
        );
    }
    let out = hbmon(dir).args(["status", "backup"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a warning");
    assert_eq!(finish(dir, "go", first), Some(0));
    assert_eq!(second.wait_with_output().unwrap().status.code(), Some(0));
    assert_eq!(status(dir, "backup")["state"], "up");
}

#[test]
fn a_run_that_succeeds_sooner_than_min_runtime_is_failed() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    fs::write(
        dir.join("hbmon.toml"),
        "[[process]]\nname = \"backup\"\nkind = \"job\"\nmin_runtime = \"30s\"\n",
    )
    .unwrap();
    hbmon(dir)
        .args(["run", "backup", "--", "true"])
        .assert()
        .success();
    let row = status(dir, "backup");
    assert_eq!(row["state"], "failed", "{row}");
    let reason = row["reason"].as_str().unwrap();
    assert!(reason.starts_with("last run ran 0."), "{reason}");
    assert!(reason.contains("s, expected ≥ 30s ("), "{reason}");
    assert_eq!(row["rules"]["min_runtime"], 30.0);
    let out = hbmon(dir).args(["status", "backup"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "failed is critical");
}
