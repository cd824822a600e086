//! The event stream's diff (`delta.rs`) and the hub's choice between an update and a
//! snapshot for each stream.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::delta::Built;
use super::{Hub, Open};
use crate::duration::format_secs;
use crate::report::columns;

const NOW: f64 = 1_000_000.25;

/// A row as the document has it at `now`: beat `age` seconds before it, its process
/// started 100.5 s before the first check, `beats` beats.
fn row(name: &str, now: f64, beat_at: f64, beats: u64) -> Value {
    let (age, runtime) = (now - beat_at, now - (NOW - 100.0).floor());
    json!({
        "name": name,
        "state": "up",
        "reason": format!("beat {} ago", format_secs(age)),
        "last_heartbeat": beat_at,
        "since_beat": age,
        "runtime": runtime,
        "process": {"start_time": (NOW - 100.0).floor(), "pid": 7},
        "entry": {"beats": beats},
        "runs": [{"run_id": "r1", "started_at": beat_at, "running_for": age}],
        "view": {
            "cells": [name, "● up", columns::runtime_text(Some(runtime)), columns::age_text(Some(age)), beats.to_string()],
            "ranks": [0, 0, 0, 0, 0],
            "symbol": "●",
        },
    })
}

/// A document at `now` of `rows`, ranked in the order given, with `up` counted.
fn document(now: f64, rows: Vec<Value>, up: usize, cpu: f64) -> Value {
    let rows: Vec<Value> = (rows.into_iter().enumerate())
        .map(|(place, mut row)| {
            row["view"]["ranks"] = json!([place, place, place, place, place]);
            row
        })
        .collect();
    json!({
        "columns": [{"title": "NAME"}, {"title": "STATE"}, {"title": "RUNTIME"}, {"title": "LAST BEAT"}, {"title": "BEATS"}],
        "counts": {"up": up},
        "system": {"cpu_percent": cpu},
        "now": now,
        "processes": rows,
        "troubles": [],
    })
}

fn built(document: Value) -> Built {
    Built::new(document).expect("a document")
}

fn update(before: Value, after: Value) -> Value {
    let text = built(after).update(&built(before), 8);
    serde_json::from_str(&text).expect("the update is JSON")
}

fn names(update: &Value, field: &str) -> Vec<String> {
    (update[field].as_array().into_iter().flatten())
        .map(|r| {
            r.as_str()
                .or(r["name"].as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// A case, the document after, the rows changed, the rows removed, the fields present
/// beside them.
type Case = (
    &'static str,
    Value,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

#[test]
fn an_update_carries_only_what_changed_since_the_check_before() {
    let later = NOW + 1.5;
    let two = |now: f64| vec![row("a", now, NOW - 3.0, 4), row("b", now, NOW - 9.0, 2)];
    let before = || document(NOW, two(NOW), 2, 1.0);
    let cases: Vec<Case> = vec![
        (
            "only time passed",
            document(later, two(later), 2, 1.0),
            &[],
            &[],
            &[],
        ),
        (
            "a row beat",
            document(
                later,
                vec![row("a", later, later, 5), row("b", later, NOW - 9.0, 2)],
                2,
                1.0,
            ),
            &["a"],
            &[],
            &[],
        ),
        (
            "a row was added",
            document(
                later,
                [two(later), vec![row("c", later, later, 1)]].concat(),
                3,
                1.0,
            ),
            &["c"],
            &[],
            &["head", "names", "ranks"],
        ),
        (
            "a row was removed",
            document(later, vec![row("b", later, NOW - 9.0, 2)], 1, 1.0),
            &[],
            &["a"],
            &["head", "names", "ranks"],
        ),
        (
            "the rows' order changed",
            document(later, two(later).into_iter().rev().collect(), 2, 1.0),
            &[],
            &[],
            // Ranks go by place in `names`: the same ranks of the new order say it.
            &["names"],
        ),
        (
            "the host's CPU changed",
            document(later, two(later), 2, 55.0),
            &[],
            &[],
            &["system"],
        ),
    ];
    for (case, after, changed, removed, present) in cases {
        let update = update(before(), after);
        assert_eq!(update["seq"], 8, "{case}");
        assert_eq!(update["base"], 7, "{case}");
        assert_eq!(update["now"], later, "{case}");
        assert_eq!(names(&update, "changed"), changed, "{case}");
        assert_eq!(names(&update, "removed"), removed, "{case}");
        for field in ["head", "system", "names", "ranks"] {
            let sent = update.get(field).is_some();
            assert_eq!(
                sent,
                present.contains(&field),
                "{case}: {field} sent: {sent}"
            );
        }
    }
}

#[test]
fn a_check_in_which_only_time_passed_is_a_tiny_update() {
    let rows = |now: f64| -> Vec<Value> {
        (0..1000)
            .map(|i| row(&format!("worker-{i:04}"), now, NOW - f64::from(i), 7))
            .collect()
    };
    let before = built(document(NOW, rows(NOW), 1000, 3.0));
    let after = built(document(NOW + 61.0, rows(NOW + 61.0), 1000, 3.0));
    let snapshot = after.snapshot(9);
    let update = after.update(&before, 9);
    assert!(snapshot.len() > 200_000, "{}", snapshot.len());
    assert!(update.len() < 100, "{update}");
}

#[test]
fn rows_leave_out_only_the_ages_the_page_counts_exactly_as_they_are() {
    let at = NOW - 3.0;
    let plain = row("a", NOW, at, 4);
    let mut remote = row("b", NOW, at, 4);
    // A row aged to another instant (a remote's): not what the page would count.
    remote["since_beat"] = json!(99.0);
    remote["view"]["cells"][3] = json!("1m39s ago");
    let mut quoted = row("c", NOW, at, 4);
    quoted["reason"] = json!("pid 7 is gone");
    let mut inside = row("d", NOW, at, 4);
    inside["reason"] = json!("reported an error 3s ago: 13s of 3s");
    let snapshot = built(document(NOW, vec![plain, remote, quoted, inside], 4, 1.0)).snapshot(1);
    let doc: Value = serde_json::from_str(&snapshot).expect("the snapshot is JSON");
    assert_eq!(doc["seq"], 1);
    assert_eq!(doc["now"], NOW);
    assert_eq!(doc["counts"]["up"], 4);
    assert_eq!(doc["ranks"], json!(vec![[0, 1, 2, 3]; 5]));
    let rows = doc["processes"].as_array().expect("rows");
    let (a, b, c, d) = (&rows[0], &rows[1], &rows[2], &rows[3]);
    for counted in ["since_beat", "runtime", "reason"] {
        assert!(a.get(counted).is_none(), "{counted} in {a}");
    }
    assert!(a["runs"][0].get("running_for").is_none());
    assert_eq!(a["reason_ago"], json!(["beat ", " ago"]));
    assert_eq!(a["view"]["cells"], json!(["a", "● up", null, null, "4"]));
    assert!(a["view"].get("ranks").is_none());
    assert_eq!(b["since_beat"], 99.0);
    assert_eq!(b["view"]["cells"][3], "1m39s ago");
    assert_eq!(b["view"]["cells"][2], Value::Null);
    assert_eq!(c["reason"], "pid 7 is gone");
    assert!(c.get("reason_ago").is_none());
    // The age as a word of its own, not inside `13s`.
    assert_eq!(
        d["reason_ago"],
        json!(["reported an error ", " ago: 13s of 3s"])
    );
}

#[test]
fn a_document_that_is_not_the_status_document_is_refused_by_what_it_lacks() {
    let cases = [
        (json!([]), "no `now`"),
        (json!({"now": 1.0}), "no `processes`"),
        (
            json!({"now": 1.0, "processes": [{"state": "up"}]}),
            "no `name`",
        ),
    ];
    for (document, says) in cases {
        let error = Built::new(document).expect_err(says);
        assert!(error.contains(says), "{error}");
    }
}

/// The event a stream that has sent `seen` gets next, and its name.
fn next(hub: &Hub, seen: Option<u64>) -> Option<(u64, String)> {
    let (seq, event) = hub.after(seen, Duration::ZERO)?;
    Some((seq, event.lines().next().unwrap_or_default().to_owned()))
}

#[test]
fn a_stream_gets_an_update_only_when_it_applies_and_a_snapshot_when_it_fell_behind() {
    let hub = Arc::new(Hub::default());
    let doc = |now: f64| Some(Ok(document(now, vec![row("a", now, NOW, 1)], 1, 1.0)));
    let _open = Open::new(&hub);
    assert_eq!(next(&hub, None), None, "nothing before the first document");
    let first = hub.publish(doc(NOW), None);
    assert_eq!(next(&hub, None), Some((1, "event: snapshot".into())));
    let second = hub.publish(doc(NOW + 1.0), first.as_deref());
    assert_eq!(next(&hub, Some(1)), Some((2, "event: update".into())));
    assert_eq!(next(&hub, Some(2)), None, "nothing new");
    let third = hub.publish(doc(NOW + 2.0), second.as_deref());
    let fourth = hub.publish(doc(NOW + 3.0), third.as_deref());
    assert_eq!(
        next(&hub, Some(2)),
        Some((4, "event: snapshot".into())),
        "it skipped 3"
    );
    assert_eq!(next(&hub, Some(3)), Some((4, "event: update".into())));
    assert_eq!(
        next(&hub, None),
        Some((4, "event: snapshot".into())),
        "a new stream"
    );
    let failed = hub.publish(Some(Err("cannot read".into())), fourth.as_deref());
    assert_eq!(next(&hub, Some(4)), Some((5, "event: failure".into())));
    hub.publish(doc(NOW + 4.0), failed.as_deref());
    assert_eq!(
        next(&hub, Some(5)),
        Some((6, "event: snapshot".into())),
        "after a failure"
    );
}

#[test]
fn with_no_stream_open_the_hub_forgets_its_document_and_a_new_stream_waits_for_a_fresh_one() {
    let hub = Arc::new(Hub::default());
    let doc = Some(Ok(document(NOW, vec![row("a", NOW, NOW, 1)], 1, 1.0)));
    let first = hub.publish(doc.clone(), None);
    assert!(first.is_some());
    assert!(hub.publish(None, first.as_deref()).is_none());
    let _open = Open::new(&hub);
    assert_eq!(next(&hub, None), None, "the old document is not sent");
    hub.publish(doc, None);
    assert_eq!(next(&hub, None), Some((2, "event: snapshot".into())));
}
