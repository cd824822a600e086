//! The write side of the database: a [`Batch`] of rows ready to store (data already cut to
//! [`DATA_CAP`], so a batch waiting in the recorder's queue has a known size), how it is
//! stored, and how old rows are pruned.

use rusqlite::{Connection, TransactionBehavior, params};
use serde_json::Value;

use super::{DATA_CAP, History, HistoryError, Pruned, sql_error};
use crate::changes::{Changes, ProbeFlip, Restart, Transition};
use crate::checks::rollup::ProbeMinute;
use crate::health::State;
use crate::store::Reported;

/// Beats, transitions, probe flips, restarts and probes' minutes to store together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    beats: Vec<BeatRow>,
    transitions: Vec<Transition>,
    flips: Vec<ProbeFlip>,
    restarts: Vec<Restart>,
    minutes: Vec<ProbeMinute>,
}

/// A beat as stored: its data as capped JSON text.
#[derive(Debug, Clone, PartialEq)]
struct BeatRow {
    name: String,
    time: f64,
    pid: Option<u32>,
    status: Reported,
    data: Option<String>,
}

/// What a row costs in memory beyond its strings (its times, pids, states, and vectors'
/// slack), for [`Batch::bytes`].
const ROW_OVERHEAD: usize = 96;

impl Batch {
    /// `changes` as rows to store.
    pub fn of(changes: &Changes) -> Batch {
        Batch {
            beats: changes
                .beats
                .iter()
                .map(|b| BeatRow {
                    name: b.name.clone(),
                    time: b.time,
                    pid: b.pid,
                    status: b.status.clone(),
                    data: capped_json(&b.data),
                })
                .collect(),
            transitions: changes.transitions.clone(),
            flips: changes.flips.clone(),
            restarts: changes.restarts.clone(),
            minutes: changes.minutes.clone(),
        }
    }

    /// Beats plus transitions plus flips plus restarts plus minutes.
    pub fn rows(&self) -> usize {
        self.beats.len()
            + self.transitions.len()
            + self.flips.len()
            + self.restarts.len()
            + self.minutes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows() == 0
    }

    /// About how much memory the batch holds: what the recorder's queue is bounded by
    /// (names and reasons come from the heartbeat file, so they are counted, not assumed
    /// short).
    pub fn bytes(&self) -> usize {
        let beats: usize = self
            .beats
            .iter()
            .map(|b| ROW_OVERHEAD + b.name.len() + b.data.as_ref().map_or(0, String::len))
            .sum();
        let transitions: usize = self
            .transitions
            .iter()
            .map(|t| ROW_OVERHEAD + t.name.len() + t.reason.len())
            .sum();
        let flips: usize = self
            .flips
            .iter()
            .map(|f| {
                ROW_OVERHEAD
                    + f.name.len()
                    + f.target.len()
                    + f.reason.as_ref().map_or(0, String::len)
            })
            .sum();
        let restarts: usize = self
            .restarts
            .iter()
            .map(|r| ROW_OVERHEAD + r.name.len() + r.cause.len() + r.text.len())
            .sum();
        let minutes: usize = self
            .minutes
            .iter()
            .map(|m| ROW_OVERHEAD + m.name.len() + m.target.len())
            .sum();
        beats + transitions + flips + restarts + minutes
    }

    /// Adds `other`'s rows after these.
    pub fn append(&mut self, mut other: Batch) {
        self.beats.append(&mut other.beats);
        self.transitions.append(&mut other.transitions);
        self.flips.append(&mut other.flips);
        self.restarts.append(&mut other.restarts);
        self.minutes.append(&mut other.minutes);
    }
}

impl History {
    /// Stores `batch` in one transaction. A beat or transition already stored (same name
    /// and time) is kept as it is, so a batch stored twice is stored once; a probe's minute
    /// stored again replaces the one before (it was the minute still open).
    pub fn insert(&mut self, batch: &Batch) -> Result<(), HistoryError> {
        let result = self.insert_rows(batch);
        if result.is_err() {
            // The rolled-back transaction may have added processes whose ids are cached.
            self.ids.clear();
        }
        result
    }

    fn insert_rows(&mut self, batch: &Batch) -> Result<(), HistoryError> {
        let fail = sql_error(&self.path);
        // IMMEDIATE: a lock held elsewhere is met here, before any work, not mid-batch.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        {
            let mut beat = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO beats (process, time, pid, status, data)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(&fail)?;
            for b in &batch.beats {
                let id = if let Some(&id) = self.ids.get(&b.name) {
                    id
                } else {
                    let id = process_id(&tx, &b.name).map_err(&fail)?;
                    self.ids.insert(b.name.clone(), id);
                    id
                };
                beat.execute(params![id, b.time, b.pid, b.status.as_str(), b.data])
                    .map_err(&fail)?;
            }
            let mut transition = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO transitions
                         (name, time, from_state, to_state, severity, reason, since)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(&fail)?;
            for t in &batch.transitions {
                transition
                    .execute(params![
                        t.name,
                        t.time,
                        t.from.map(State::as_str),
                        t.to.as_str(),
                        t.severity.as_str(),
                        t.reason,
                        t.since
                    ])
                    .map_err(&fail)?;
            }
            let mut flip = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO probe_flips
                         (name, time, kind, target, failing, ms, reason)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(&fail)?;
            for f in &batch.flips {
                flip.execute(params![
                    f.name, f.time, f.kind, f.target, f.failing, f.ms, f.reason
                ])
                .map_err(&fail)?;
            }
            let mut restart = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO restarts (name, time, count, cause, text)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(&fail)?;
            for r in &batch.restarts {
                restart
                    .execute(params![r.name, r.time, r.count, r.cause, r.text])
                    .map_err(&fail)?;
            }
            let mut minute = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO probe_minutes (name, minute, kind, target,
                         count, failures, min_ms, p50_ms, p95_ms, max_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(&fail)?;
            for m in &batch.minutes {
                let r = &m.rollup;
                minute
                    .execute(params![
                        m.name, r.minute, m.kind, m.target, r.count, r.failures, r.min_ms,
                        r.p50_ms, r.p95_ms, r.max_ms
                    ])
                    .map_err(&fail)?;
            }
        }
        tx.commit().map_err(fail)
    }

    /// Deletes beats, transitions, probe flips, restarts and probes' minutes older than
    /// `before` (a minute by its end), except each process's newest transition: a process
    /// dead for longer than the retention is still known to be dead.
    pub fn prune(&mut self, before: f64) -> Result<Pruned, HistoryError> {
        let fail = sql_error(&self.path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        let mut beats = 0;
        {
            // Per process, each delete a range at the front of its (process, time) key.
            let mut ids = tx.prepare("SELECT id FROM processes").map_err(&fail)?;
            let ids = ids
                .query_map([], |row| row.get::<_, i64>(0))
                .map_err(&fail)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(&fail)?;
            let mut delete = tx
                .prepare("DELETE FROM beats WHERE process = ?1 AND time < ?2")
                .map_err(&fail)?;
            for id in ids {
                beats += delete.execute(params![id, before]).map_err(&fail)?;
            }
        }
        let transitions = tx
            .execute(
                "DELETE FROM transitions AS t WHERE time < ?1
                 AND time < (SELECT max(time) FROM transitions WHERE name = t.name)",
                [before],
            )
            .map_err(&fail)?;
        let flips = tx
            .execute("DELETE FROM probe_flips WHERE time < ?1", [before])
            .map_err(&fail)?;
        let restarts = tx
            .execute("DELETE FROM restarts WHERE time < ?1", [before])
            .map_err(&fail)?;
        let minutes = tx
            .execute(
                "DELETE FROM probe_minutes WHERE minute + 60 <= ?1",
                [before],
            )
            .map_err(&fail)?;
        tx.commit().map_err(fail)?;
        Ok(Pruned {
            beats,
            transitions,
            flips,
            restarts,
            minutes,
        })
    }
}

/// The id of process `name`, added to `processes` if new.
fn process_id(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.execute("INSERT OR IGNORE INTO processes (name) VALUES (?1)", [name])?;
    conn.query_row("SELECT id FROM processes WHERE name = ?1", [name], |row| {
        row.get(0)
    })
}

/// `data` as JSON text, cut to [`DATA_CAP`] bytes (at a character boundary, marked `…`);
/// `None` for no data.
fn capped_json(data: &Value) -> Option<String> {
    if data.is_null() {
        return None;
    }
    let mut text = data.to_string();
    if text.len() > DATA_CAP {
        let mut end = DATA_CAP - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Tracker;
    use crate::changes::tests::{report, row};
    use crate::history::read_json;
    use crate::history::tests::temp;
    use serde_json::json;

    #[test]
    fn recording_the_same_beat_twice_keeps_one_row() {
        let (_dir, mut history) = temp();
        let changes =
            Tracker::default().observe(&report(5.0, vec![row("a", State::Up, Some(4.0))]));
        history.insert(&Batch::of(&changes)).unwrap();
        history.insert(&Batch::of(&changes)).unwrap();
        assert_eq!(history.beats("a", 0.0, None).unwrap().len(), 1);
        assert_eq!(history.transitions(None, 0.0, None).unwrap().len(), 1);
    }

    #[test]
    fn data_is_capped_and_cut_data_reads_as_a_string() {
        assert_eq!(capped_json(&Value::Null), None);
        assert_eq!(capped_json(&json!({"a": 1})).unwrap(), r#"{"a":1}"#);
        let big = json!("é".repeat(DATA_CAP));
        let capped = capped_json(&big).unwrap();
        assert!(capped.len() <= DATA_CAP && capped.ends_with('…'));
        assert!(read_json(capped).is_string());
        assert_eq!(read_json("[1,2]".to_owned()), json!([1, 2]));
    }

    #[test]
    fn a_batch_counts_its_rows_and_its_memory_with_data_cut() {
        let mut tracker = Tracker::default();
        let mut a = Batch::of(&tracker.observe(&report(5.0, vec![row("a", State::Up, Some(4.0))])));
        assert_eq!(a.rows(), 2);
        let small = a.bytes();
        let mut big = report(6.0, vec![row("a", State::Up, Some(5.5))]);
        big.rows[0].entry_mut().additional_data = json!("x".repeat(1 << 20));
        let b = Batch::of(&tracker.observe(&big));
        assert_eq!(b.rows(), 1);
        assert!(b.bytes() <= ROW_OVERHEAD + 1 + DATA_CAP, "{}", b.bytes());
        a.append(b);
        assert_eq!(a.rows(), 3);
        assert!(a.bytes() > small);
    }

    #[test]
    fn a_failed_insert_forgets_the_process_ids_it_cached() {
        let (dir, mut history) = temp();
        let changes =
            Tracker::default().observe(&report(5.0, vec![row("a", State::Up, Some(4.0))]));
        // A beat stored, then the transitions table gone: the next insert of a new process
        // fails after caching its id in a transaction that is rolled back. Kept, that id
        // would fail every later batch holding the process on its foreign key.
        history.insert(&Batch::of(&changes)).unwrap();
        let other = Connection::open(dir.path().join("h.sqlite")).unwrap();
        other
            .execute_batch("ALTER TABLE transitions RENAME TO t2")
            .unwrap();
        let b = Tracker::default().observe(&report(6.0, vec![row("b", State::Up, Some(5.0))]));
        assert!(history.insert(&Batch::of(&b)).is_err());
        other
            .execute_batch("ALTER TABLE t2 RENAME TO transitions")
            .unwrap();
        history.insert(&Batch::of(&b)).unwrap();
        assert_eq!(history.beats("b", 0.0, None).unwrap().len(), 1);
    }

    #[test]
    fn prune_keeps_recent_rows_and_each_newest_transition() {
        let (_dir, mut history) = temp();
        let mut tracker = Tracker::default();
        for (now, a, b) in [
            (100.0, State::Up, State::Up),
            (200.0, State::Dead, State::Up),
            (300.0, State::Dead, State::Late),
        ] {
            let mut changes = tracker.observe(&report(
                now,
                vec![row("a", a, Some(now - 1.0)), row("b", b, Some(now - 1.0))],
            ));
            changes.restarts.push(crate::changes::Restart {
                name: "a".into(),
                time: now,
                count: 1,
                cause: "exited with code 1".into(),
                text: "restarted a (1st time in 10m00s): exited with code 1".into(),
            });
            history.insert(&Batch::of(&changes)).unwrap();
        }
        let pruned = history.prune(250.0).unwrap();
        // a: up@100 goes, dead@200 is its newest and stays. b: up@100 goes, late@300 stays.
        assert_eq!(
            pruned,
            Pruned {
                beats: 4,
                transitions: 2,
                flips: 0,
                restarts: 2,
                minutes: 0,
            }
        );
        let restarts = history.restarts(None, 0.0, None).unwrap();
        assert_eq!(restarts.iter().map(|r| r.time).collect::<Vec<_>>(), [300.0]);
        let left: Vec<_> = history
            .transitions(None, 0.0, None)
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.to))
            .collect();
        assert_eq!(
            left,
            [("b".to_owned(), State::Late), ("a".to_owned(), State::Dead)]
        );
        assert_eq!(history.beats("a", 0.0, None).unwrap().len(), 1);
    }
}
