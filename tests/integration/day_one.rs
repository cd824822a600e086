//! A first day of real use (issue 11): what a new user trips over in the first hour.

use serde_json::Value;

use crate::hbmon;

fn entry(dir: &std::path::Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join("hb.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["processes"][name].clone()
}

#[test]
fn a_restarted_process_does_not_keep_its_predecessors_data() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args(["beat", "w", "--pid", "4242", "--set", "n=70", "-q"])
        .assert()
        .success();
    assert_eq!(entry(dir.path(), "w")["additional_data"]["n"], 70);
    hbmon(dir.path())
        .args(["beat", "w", "--pid", "4243", "-q"])
        .assert()
        .success();
    assert_eq!(entry(dir.path(), "w")["additional_data"], Value::Null);
    hbmon(dir.path())
        .args(["beat", "w", "--pid", "4243", "--set", "m=1", "-q"])
        .assert()
        .success();
    assert_eq!(
        entry(dir.path(), "w")["additional_data"],
        serde_json::json!({"m": 1})
    );
}

#[test]
fn an_explicit_file_in_a_missing_directory_is_an_error_not_a_new_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo").join("hb.json");
    let out = hbmon(dir.path())
        .args(["beat", "w", "-q", "--file"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no directory") && err.contains("typo"),
        "{err}"
    );
    assert!(!dir.path().join("typo").exists());
    // The same through $HBMON_FILE.
    hbmon(dir.path())
        .env("HBMON_FILE", &missing)
        .args(["beat", "w", "-q"])
        .assert()
        .code(2);
    assert!(!dir.path().join("typo").exists());
}

#[test]
fn a_label_works_wherever_a_name_does_and_rm_takes_several() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"bidder\"\nlabel = \"Bidder Script\"\n",
    )
    .unwrap();
    for name in ["bidder", "a", "b"] {
        hbmon(dir.path())
            .args(["beat", name, "-q"])
            .assert()
            .success();
    }
    hbmon(dir.path())
        .args(["pause", "Bidder Script"])
        .assert()
        .success()
        .stdout(predicates::str::contains("paused \"bidder\""));
    assert!(entry(dir.path(), "bidder").get("paused_until").is_some());
    hbmon(dir.path())
        .args(["resume", "Bidder Script"])
        .assert()
        .success()
        .stdout(predicates::str::contains("resumed \"bidder\""));
    // Several at once, quietly; a missing one is named and makes the exit 1, the others go.
    hbmon(dir.path())
        .args(["rm", "-q", "a", "nosuch", "Bidder Script"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains("no entry \"nosuch\""));
    assert_eq!(entry(dir.path(), "a"), Value::Null);
    assert_eq!(entry(dir.path(), "bidder"), Value::Null);
    assert!(entry(dir.path(), "b").is_object());
}

#[test]
fn an_empty_file_is_as_unknown_as_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let missing = hbmon(dir.path()).arg("status").output().unwrap();
    std::fs::write(&file, "").unwrap();
    let empty = hbmon(dir.path()).arg("status").output().unwrap();
    assert_eq!(missing.status.code(), Some(3));
    assert_eq!(empty.status.code(), Some(3));
    let err = String::from_utf8_lossy(&empty.stderr);
    assert!(
        err.contains("no heartbeats in") && err.contains("hb.json"),
        "{err}"
    );
}

#[test]
fn status_json_of_an_unknown_name_is_still_a_document_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args(["beat", "w", "-q"])
        .assert()
        .success();
    let out = hbmon(dir.path())
        .args(["status", "--json", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["exit_code"], 3);
    assert_eq!(doc["processes"], serde_json::json!([]));
    assert!(
        doc["unknown"]
            .as_str()
            .unwrap()
            .contains("no process \"nosuch\""),
        "{doc}"
    );
    // And a missing file, with --json, too.
    let other = tempfile::tempdir().unwrap();
    let out = hbmon(other.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["unknown"]
            .as_str()
            .unwrap()
            .contains("no heartbeat file at")
    );
}

#[test]
fn a_flap_that_recovered_within_the_digest_window_sends_nothing() {
    use crate::serve::{Serve, wait_for};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.txt");
    std::fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[[alert]]\ncommand = '''echo \"$HBMON_KIND $HBMON_NAME\" >> \"{}\"'''\ndigest = \"4s\"\n",
            out.display()
        ),
    )
    .unwrap();
    let me = std::process::id().to_string();
    let beat = |extra: &[&str]| {
        hbmon(dir.path())
            .args(["beat", "w", "--pid", &me, "--interval", "1s", "-q"])
            .args(extra)
            .assert()
            .success();
    };
    beat(&[]);
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("w: new -> up");
    // No beat for a while: late (a soft change, for the digest)…
    wait_for(
        "w to be late",
        || serve.log().contains("w: up -> late"),
        || serve.log(),
    );
    // …and up again at once.
    beat(&[]);
    serve.wait_log("w: late -> up");
    // The digest's window (4 s) passes, w beating steadily: nothing to say.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(6);
    while std::time::Instant::now() < until {
        beat(&[]);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert_eq!(
        serve.log().matches("w: up -> late").count(),
        1,
        "{}",
        serve.log()
    );
    let sent = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(sent, "", "{}", serve.log());
}
