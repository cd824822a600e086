//! The history database's own tests: reading back what was stored, probe flips, the
//! schema's upgrade of an old file, and the files it refuses.

use super::*;
use crate::changes::Tracker;
use crate::changes::tests::{report, row};

pub(super) fn temp() -> (tempfile::TempDir, History) {
    let dir = tempfile::tempdir().unwrap();
    let (history, repairs) = History::open(&dir.path().join("h.sqlite")).unwrap();
    assert!(repairs.is_empty(), "{repairs:?}");
    (dir, history)
}

#[test]
fn beats_and_transitions_read_back_newest_first() {
    let (_dir, mut history) = temp();
    let mut tracker = Tracker::default();
    for (now, state, beat) in [
        (10.0, State::Up, 9.0),
        (40.0, State::Up, 39.0),
        (200.0, State::Dead, 39.0),
    ] {
        let changes = tracker.observe(&report(now, vec![row("a", state, Some(beat))]));
        history.insert(&Batch::of(&changes)).unwrap();
    }
    let beats = history.beats("a", 0.0, None).unwrap();
    let times: Vec<f64> = beats.iter().map(|b| b.time).collect();
    assert_eq!(times, [39.0, 9.0]);
    assert_eq!(beats[0].pid, Some(42));
    assert_eq!(beats[0].status, Reported::Alive);
    let transitions = history.transitions(Some("a"), 0.0, None).unwrap();
    let steps: Vec<_> = transitions.iter().map(|t| (t.from, t.to, t.time)).collect();
    assert_eq!(
        steps,
        [
            (Some(State::Up), State::Dead, 200.0),
            (None, State::Up, 10.0)
        ]
    );
    assert_eq!(transitions[0].severity, Severity::Critical);
    assert_eq!(history.beats("a", 20.0, None).unwrap().len(), 1);
    assert_eq!(history.beats("a", 0.0, Some(1)).unwrap()[0].time, 39.0);
    assert!(history.beats("b", 0.0, None).unwrap().is_empty());
}

#[test]
fn the_transition_before_a_range_is_the_newest_one_strictly_before_its_start() {
    let (_dir, mut history) = temp();
    let mut tracker = Tracker::default();
    // a: up at 10, dead at 200, up at 300; b: up at 10 only.
    for (now, state) in [(10.0, State::Up), (200.0, State::Dead), (300.0, State::Up)] {
        let changes = tracker.observe(&report(
            now,
            vec![row("a", state, Some(9.0)), row("b", State::Up, Some(9.0))],
        ));
        history.insert(&Batch::of(&changes)).unwrap();
    }
    for (name, since, held) in [
        ("a", 250.0, Some((State::Dead, 200.0))),
        ("a", 1000.0, Some((State::Up, 300.0))),
        // One at the range's start is in the range, not before it.
        ("a", 200.0, Some((State::Up, 10.0))),
        ("a", 10.0, None),
        ("a", 5.0, None),
        ("b", 250.0, Some((State::Up, 10.0))),
        ("nobody", 250.0, None),
    ] {
        let before = history.transition_before(name, since).unwrap();
        assert_eq!(
            before.as_ref().map(|t| (t.to, t.time)),
            held,
            "{name} before {since}: {before:?}"
        );
        assert!(before.is_none_or(|t| t.name == name));
    }
}

#[test]
fn beats_are_counted_per_process_and_whole_minute() {
    let (_dir, mut history) = temp();
    let mut tracker = Tracker::default();
    // Minute 600..660 gets a at 601, 630, 659.5 and b at 640; minute 660 gets a at 660.
    for (now, a, b) in [
        (590.0, 590.0, 590.0),
        (601.0, 601.0, 590.0),
        (630.0, 630.0, 590.0),
        (640.0, 630.0, 640.0),
        (659.5, 659.5, 640.0),
        (660.0, 660.0, 640.0),
    ] {
        let changes = tracker.observe(&report(
            now,
            vec![row("a", State::Up, Some(a)), row("b", State::Up, Some(b))],
        ));
        history.insert(&Batch::of(&changes)).unwrap();
    }
    let counts: Vec<(String, i64, u32)> = history
        .beats_per_minute(610.0)
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.minute, m.beats))
        .collect();
    assert_eq!(
        counts,
        [
            ("a".to_owned(), 600, 3),
            ("a".to_owned(), 660, 1),
            ("b".to_owned(), 600, 1),
        ]
    );
    assert!(history.beats_per_minute(720.0).unwrap().is_empty());
}

#[test]
fn last_seen_gives_each_process_its_newest_state_and_beat() {
    let (_dir, mut history) = temp();
    let mut tracker = Tracker::default();
    for now in [10.0, 20.0] {
        let state = if now > 15.0 { State::Late } else { State::Up };
        let changes = tracker.observe(&report(
            now,
            vec![
                row("b", state, Some(now - 1.0)),
                row("a", State::Pending, None),
            ],
        ));
        history.insert(&Batch::of(&changes)).unwrap();
    }
    let seen = history.last_seen().unwrap();
    assert_eq!(
        seen,
        [
            (
                "a".to_owned(),
                Seen {
                    state: Some(State::Pending),
                    last_beat: None
                }
            ),
            (
                "b".to_owned(),
                Seen {
                    state: Some(State::Late),
                    last_beat: Some(19.0)
                }
            ),
        ]
    );
}

#[test]
fn probe_flips_read_back_newest_first_and_prune_with_the_rest() {
    use crate::checks::ProbeStatus;
    let (_dir, mut history) = temp();
    let mut tracker = Tracker::default();
    for (now, ok, fails) in [
        (10.0, Some(true), 0),
        (20.0, Some(false), 2),
        (30.0, Some(true), 0),
    ] {
        let mut r = row("web", State::Up, Some(now));
        r.probes = vec![ProbeStatus::sample(
            "http",
            "http://x/",
            ok,
            fails,
            &[2.5],
            now,
        )];
        history
            .insert(&Batch::of(&tracker.observe(&report(now, vec![r]))))
            .unwrap();
    }
    let flips = history.probe_flips(Some("web"), 0.0, None).unwrap();
    let seen: Vec<(f64, bool, Option<f64>)> =
        flips.iter().map(|f| (f.time, f.failing, f.ms)).collect();
    assert_eq!(seen, [(30.0, false, Some(2.5)), (20.0, true, Some(2.5))]);
    assert_eq!(
        flips[1].reason.as_deref(),
        Some("HTTP 500 Internal Server Error")
    );
    assert!(
        history
            .probe_flips(Some("db"), 0.0, None)
            .unwrap()
            .is_empty()
    );
    assert_eq!(history.probe_flips(None, 25.0, None).unwrap().len(), 1);
    let last: Vec<(f64, bool)> = history
        .last_flips()
        .unwrap()
        .iter()
        .map(|f| (f.time, f.failing))
        .collect();
    assert_eq!(last, [(30.0, false)]);
    assert_eq!(history.prune(25.0).unwrap().flips, 1);
    assert_eq!(history.probe_flips(None, 0.0, None).unwrap().len(), 1);
}

#[test]
fn restarts_read_back_newest_first_by_name_and_since_with_their_count_and_cause() {
    let (_dir, mut history) = temp();
    for (name, time, count) in [("bidder", 10.0, 1), ("other", 15.0, 1), ("bidder", 20.0, 2)] {
        let changes = crate::changes::Changes {
            restarts: vec![crate::changes::Restart {
                name: name.into(),
                time,
                count,
                cause: "was hung 42s".into(),
                text: format!("restarted {name}: was hung 42s"),
            }],
            ..crate::changes::Changes::default()
        };
        history.insert(&Batch::of(&changes)).unwrap();
    }
    let seen: Vec<(f64, u32)> = (history.restarts(Some("bidder"), 0.0, None).unwrap())
        .iter()
        .map(|r| (r.time, r.count))
        .collect();
    assert_eq!(seen, [(20.0, 2), (10.0, 1)]);
    let newest = history.restarts(None, 12.0, Some(1)).unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(
        (newest[0].name.as_str(), newest[0].cause.as_str()),
        ("bidder", "was hung 42s")
    );
}

#[test]
fn a_version_1_database_is_upgraded_on_open_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    {
        // What an hbmon before probe flips left: version 1, one transition.
        let mut conn = Connection::open(&path).unwrap();
        schema::migrate(&mut conn, &schema::STEPS[..1]).unwrap();
        conn.execute(
            "INSERT INTO transitions (name, time, to_state, severity, reason)
             VALUES ('a', 5.0, 'dead', 'critical', 'pid 7 is gone')",
            [],
        )
        .unwrap();
    }
    // A reader opens it first: it migrates (its one write), then reads both tables.
    let reader = History::open_existing(&path, READ_WAIT).unwrap();
    assert_eq!(
        reader.transitions(Some("a"), 0.0, None).unwrap()[0].to,
        State::Dead
    );
    assert!(reader.probe_flips(None, 0.0, None).unwrap().is_empty());
    assert!(reader.restarts(None, 0.0, None).unwrap().is_empty());
    drop(reader);
    let (_history, repairs) = History::open(&path).unwrap();
    assert!(repairs.is_empty(), "already current: {repairs:?}");
    let version: i64 = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, schema::latest(schema::STEPS));
}

#[test]
fn a_version_3_database_is_upgraded_on_open_keeping_its_rows_and_gains_probe_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    {
        // What an hbmon before probe minutes left: version 3, a row in each of its tables.
        let mut conn = Connection::open(&path).unwrap();
        schema::migrate(&mut conn, &schema::STEPS[..3]).unwrap();
        conn.execute_batch(
            "INSERT INTO processes (id, name) VALUES (1, 'web');
             INSERT INTO beats (process, time, status) VALUES (1, 4.0, 'alive');
             INSERT INTO transitions (name, time, to_state, severity, reason)
                 VALUES ('web', 5.0, 'up', 'ok', 'beating');
             INSERT INTO probe_flips (name, time, kind, target, failing, ms, reason)
                 VALUES ('web', 6.0, 'http', 'http://x/', 1, 2.5, 'HTTP 500');
             INSERT INTO restarts (name, time, count, cause, text)
                 VALUES ('web', 7.0, 1, 'exited', 'restarted web');",
        )
        .unwrap();
    }
    let (mut history, repairs) = History::open(&path).unwrap();
    assert!(
        matches!(repairs[..], [Repair::Migrated { from: 3, to: 4, .. }]),
        "{repairs:?}"
    );
    assert_eq!(history.beats("web", 0.0, None).unwrap().len(), 1);
    assert_eq!(history.transitions(None, 0.0, None).unwrap().len(), 1);
    assert_eq!(history.probe_flips(None, 0.0, None).unwrap().len(), 1);
    assert_eq!(history.restarts(None, 0.0, None).unwrap().len(), 1);
    assert!(history.probe_minutes("web", 0.0, None).unwrap().is_empty());
    history
        .insert(&Batch::of(&minutes(&[("web", 60, 3)])))
        .unwrap();
    assert_eq!(history.probe_minutes("web", 0.0, None).unwrap().len(), 1);
}

/// `web`'s probe minutes ending after `since`, newest first: (minute, runs).
fn web_minutes(history: &History, since: f64, limit: Option<usize>) -> Vec<(i64, u32)> {
    let rows = history.probe_minutes("web", since, limit).unwrap();
    rows.iter()
        .map(|m| (m.rollup.minute, m.rollup.count))
        .collect()
}

/// Changes holding one minute of an `http` probe for each (name, minute start, runs).
fn minutes(rows: &[(&str, i64, u32)]) -> crate::changes::Changes {
    let minutes = rows
        .iter()
        .map(|&(name, minute, count)| ProbeMinute {
            name: name.into(),
            kind: "http".into(),
            target: "http://x/".into(),
            rollup: Rollup {
                minute,
                count,
                failures: 1,
                min_ms: 1.0,
                p50_ms: 2.0,
                p95_ms: 3.0,
                max_ms: 4.0,
            },
        })
        .collect();
    crate::changes::Changes {
        minutes,
        ..crate::changes::Changes::default()
    }
}

#[test]
fn probe_minutes_read_back_newest_first_replace_their_own_row_and_prune_by_their_end() {
    let (_dir, mut history) = temp();
    history
        .insert(&Batch::of(&minutes(&[
            ("web", 60, 3),
            ("web", 120, 2),
            ("db", 120, 9),
            ("web", 180, 1),
        ])))
        .unwrap();
    // The open minute written at a stop, then whole: one row, the later one.
    history
        .insert(&Batch::of(&minutes(&[("web", 180, 6)])))
        .unwrap();
    assert_eq!(
        web_minutes(&history, 0.0, None),
        [(180, 6), (120, 2), (60, 3)]
    );
    // A minute is in while any of it is: 60..120 ends after 119.5.
    assert_eq!(
        web_minutes(&history, 119.5, None),
        [(180, 6), (120, 2), (60, 3)]
    );
    assert_eq!(web_minutes(&history, 120.0, None), [(180, 6), (120, 2)]);
    assert_eq!(web_minutes(&history, 0.0, Some(1)), [(180, 6)]);
    let m = &history.probe_minutes("db", 0.0, None).unwrap()[0];
    assert_eq!(
        (
            m.kind.as_str(),
            m.target.as_str(),
            m.rollup.failures,
            m.rollup.p95_ms
        ),
        ("http", "http://x/", 1, 3.0)
    );
    // Pruned once a minute has wholly passed the cut.
    assert_eq!(history.prune(180.0).unwrap().minutes, 3);
    assert_eq!(web_minutes(&history, 0.0, None), [(180, 6)]);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    let junk = "this is not sqlite, but someone's notes".repeat(100);
    std::fs::write(&path, &junk).unwrap();
    let err = History::open(&path).unwrap_err();
    assert!(matches!(err, HistoryError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), junk);
}

#[test]
fn a_newer_schema_is_refused_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 42)
        .unwrap();
    let err = History::open_existing(&path, READ_WAIT).unwrap_err();
    assert!(
        matches!(err, HistoryError::Newer { found: 42, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()) && text.contains("42"));
    assert!(path.exists());
}

#[test]
fn readers_do_not_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite");
    assert!(matches!(
        History::open_existing(&path, READ_WAIT),
        Err(HistoryError::Missing { .. })
    ));
    assert!(!path.exists());
}
