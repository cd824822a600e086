//! `hbmon pause` / `hbmon resume`: the pause lives in the entry and survives beats.

use std::path::Path;

use crate::hbmon;
use hbmon::clock::unix_now;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::Value;

fn entry(file: &Path, name: &str) -> Value {
    let doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    doc["processes"][name].clone()
}

#[test]
fn pause_survives_beats_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    hbmon(dir.path())
        .args(["beat", "web", "--pid", "1", "-q"])
        .assert()
        .success();

    let before = unix_now();
    hbmon(dir.path())
        .args(["pause", "web", "--for", "1h"])
        .assert()
        .success()
        .stdout(contains("paused \"web\" until").and(contains("(1h00m)")));
    let until = entry(&file, "web")["paused_until"].as_f64().unwrap();
    assert!(
        until >= before + 3600.0 && until < before + 3700.0,
        "{until}"
    );

    hbmon(dir.path())
        .args(["beat", "web", "--pid", "2", "-q"])
        .assert()
        .success();
    assert_eq!(entry(&file, "web")["paused_until"].as_f64(), Some(until));

    hbmon(dir.path()).args(["pause", "web"]).assert().success();
    let web = entry(&file, "web");
    assert!(web["paused_until"].is_null() && web.get("paused_until").is_some());

    hbmon(dir.path())
        .args(["resume", "web"])
        .assert()
        .success()
        .stdout(contains("resumed \"web\""));
    assert!(entry(&file, "web").get("paused_until").is_none());
    hbmon(dir.path())
        .args(["resume", "web"])
        .assert()
        .success()
        .stdout(contains("was not paused"));
}

#[test]
fn pausing_an_unknown_process_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    hbmon(dir.path())
        .args(["pause", "ghost"])
        .assert()
        .code(1)
        .stderr(contains("no entry \"ghost\"").and(contains("hb.json")));
    hbmon(dir.path())
        .args(["resume", "ghost"])
        .assert()
        .code(1)
        .stderr(contains("to resume\n").and(contains("paused").not()));
    assert!(!file.exists());
}

#[test]
fn a_paused_dead_process_shows_paused_and_exits_ok() {
    let dir = tempfile::tempdir().unwrap();
    // A PID above Linux's pid_max: certainly not running.
    hbmon(dir.path())
        .args(["beat", "web", "--pid", "4194305", "-q"])
        .assert()
        .success();
    hbmon(dir.path()).args(["status"]).assert().code(2);
    hbmon(dir.path()).args(["pause", "web"]).assert().success();
    let out = hbmon(dir.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let web = &doc["processes"][0];
    assert_eq!(web["state"], "paused");
    assert!(
        web["reason"].as_str().unwrap().contains("underneath: dead"),
        "{web}"
    );
}
