//! `hbmon history`: reading the history database a monitor recorded.

use crate::hbmon;
use hbmon::changes::{Changes, SeenBeat, Transition};
use hbmon::clock::unix_now;
use hbmon::health::{Severity, State};
use hbmon::history::{Batch, History};
use hbmon::store::Reported;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::{Value, json};

#[test]
fn lists_transitions_and_beats_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let now = unix_now();
    let (mut history, _) = History::open(&dir.path().join("hb_history.sqlite")).unwrap();
    let beat = |time, status| SeenBeat {
        name: "worker".into(),
        time,
        pid: Some(4242),
        status,
        data: json!({"queue": 3}),
    };
    history
        .insert(&Batch::of(&Changes {
            transitions: vec![Transition {
                name: "worker".into(),
                time: now - 60.0,
                from: Some(State::Up),
                to: State::Dead,
                severity: Severity::Critical,
                reason: "pid 4242 is gone".into(),
                since: Some(now - 65.0),
            }],
            beats: vec![
                beat(now - 120.0, Reported::Alive),
                beat(now - 90.0, Reported::Error),
                // Older than the --since window below.
                beat(now - 7200.0, Reported::Alive),
            ],
            flips: Vec::new(),
            restarts: Vec::new(),
            minutes: Vec::new(),
        }))
        .unwrap();

    let out = hbmon(dir.path())
        .args(["history", "worker", "--since", "1h", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["transitions"][0]["to"], "dead");
    assert_eq!(doc["transitions"][0]["from"], "up");
    let statuses: Vec<&str> = doc["beats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["error", "alive"]);
    assert_eq!(doc["beats"][0]["data"]["queue"], 3);

    // The changes of state first; the beats summed up in a line (issue 11: 200 beats
    // buried the 4 transitions)…
    let table = hbmon(dir.path())
        .args(["history", "worker", "--since", "1h"])
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("hb_history.sqlite"), "{text}");
    assert!(lines[1].contains("up → dead") && lines[1].contains("pid 4242 is gone"));
    assert!(
        lines[2].starts_with("2 beats, every 30.0s, the last at ")
            && lines[2].ends_with("(pid 4242, error); --beats lists them"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
    // …and listed, after them, with --beats.
    let table = hbmon(dir.path())
        .args(["history", "worker", "--since", "1h", "--beats"])
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("up → dead"), "{text}");
    assert_eq!(lines[2], "", "{text}");
    assert!(lines[3].contains("beat (error)"), "{text}");
    assert!(lines[4].contains("beat (alive)") && lines[4].contains("queue=3"));
    assert_eq!(lines.len(), 5, "{text}");

    hbmon(dir.path())
        .args(["history", "nobody"])
        .assert()
        .code(1)
        .stderr(contains("nothing recorded for \"nobody\""));
}

#[test]
fn without_a_database_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args(["history", "worker"])
        .assert()
        .code(2)
        .stderr(contains("no history database at").and(contains("hb_history.sqlite")));
    assert!(!dir.path().join("hb_history.sqlite").exists());
}
