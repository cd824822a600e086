//! `/api/v1/events` of a real `hbmon serve` after its snapshot: each check's `update`
//! carries only what changed — the beaten row alone after a beat, the name of a row
//! removed, nothing but `now` when only time passed — each applying to the one before.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::dashboard::Events;
use crate::hbmon;
use crate::serve::{Serve, names};

/// The names a field of an update lists: rows (`changed`) or names (`removed`).
fn listed(update: &Value, field: &str) -> Vec<String> {
    (update[field].as_array().unwrap().iter())
        .map(|r| r.as_str().or(r["name"].as_str()).unwrap().to_owned())
        .collect()
}

/// A serve of three entries that record no PID (a live one's CPU would change each
/// check), and its stream past the snapshot.
fn three() -> (tempfile::TempDir, Serve, Events, u64) {
    let dir = tempfile::tempdir().unwrap();
    for name in ["alpha", "beta", "gamma"] {
        hbmon(dir.path())
            .args(["beat", name, "--no-pid"])
            .assert()
            .success();
    }
    let serve = Serve::start(dir.path(), "serve.log");
    let (mut events, _) = Events::open(serve.addr());
    let (name, snapshot) = events.next();
    assert_eq!(name, "snapshot");
    assert_eq!(names(&snapshot), ["alpha", "beta", "gamma"]);
    let seq = snapshot["seq"].as_u64().unwrap();
    (dir, serve, events, seq)
}

/// The updates until one that `done` says is it (within `within`), each checked to
/// apply to the one before.
fn until(
    events: &mut Events,
    seq: &mut u64,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        assert!(start.elapsed() < within, "not within {within:?}: {seen:?}");
        let (name, update) = events.next();
        assert_eq!(name, "update", "{update}");
        assert_eq!(update["base"].as_u64(), Some(*seq), "{update}");
        *seq = update["seq"].as_u64().unwrap();
        let stop = done(&update);
        seen.push(update);
        if stop {
            return seen;
        }
    }
}

#[test]
fn after_a_beat_the_update_carries_the_beaten_row_alone_and_a_quiet_check_no_row() {
    let (dir, _serve, mut events, mut seq) = three();
    // Checks in which only time passed: no row, no header.
    let quiet = until(&mut events, &mut seq, Duration::from_secs(10), |_| true);
    let quiet = &quiet[0];
    assert_eq!(listed(quiet, "changed"), Vec::<String>::new(), "{quiet}");
    assert!(quiet.get("head").is_none(), "{quiet}");
    assert!(quiet.to_string().len() < 600, "{quiet}");
    hbmon(dir.path())
        .args(["beat", "beta", "--no-pid"])
        .assert()
        .success();
    let seen = until(&mut events, &mut seq, Duration::from_secs(3), |u| {
        !listed(u, "changed").is_empty()
    });
    let update = seen.last().unwrap();
    assert_eq!(listed(update, "changed"), ["beta"], "{update}");
    assert_eq!(listed(update, "removed"), Vec::<String>::new());
    let row = &update["changed"][0];
    assert_eq!(row["entry"]["beats"], 2, "{row}");
    // Its age is the page's to count from `now`.
    assert!(row.get("since_beat").is_none(), "{row}");
    assert_eq!(row["reason_ago"][0], "beat ", "{row}");
}

#[test]
fn a_row_removed_from_the_file_is_named_in_the_update_with_the_new_order() {
    let (dir, _serve, mut events, mut seq) = three();
    hbmon(dir.path()).args(["rm", "alpha"]).assert().success();
    let seen = until(&mut events, &mut seq, Duration::from_secs(3), |u| {
        !listed(u, "removed").is_empty()
    });
    let update = seen.last().unwrap();
    assert_eq!(listed(update, "removed"), ["alpha"], "{update}");
    assert_eq!(listed(update, "changed"), Vec::<String>::new(), "{update}");
    assert_eq!(
        update["names"],
        serde_json::json!(["beta", "gamma"]),
        "{update}"
    );
    assert_eq!(update["head"]["counts"]["up"], 2, "{update}");
}
