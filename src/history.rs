//! The history database: every beat and state transition, in SQLite beside the heartbeat file
//! (`heartbeat_history.sqlite`, WAL). One [`Recorder`] writes it at a time, on a thread of
//! its own so a slow or locked database never delays a check; any number of readers
//! ([`History::open_existing`]) query it. Files are opened as `open.rs` says: no symlink,
//! nothing another user could have written, nothing unexpected handled silently.

mod batch;
mod note;
mod open;
mod recorder;
mod schema;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use serde_json::Value;

pub use batch::Batch;
pub use note::{FLUSH_GRACE, Note, QUEUE_BYTES};
pub use open::Repair;
pub use recorder::{Recorder, try_lock_sidecar};

use crate::changes::{ProbeFlip, Restart, Seen, SeenBeat, Transition};
use crate::checks::rollup::{ProbeMinute, Rollup};
use crate::fsafe::FileError;
use crate::health::{Severity, State};
use crate::store::Reported;

/// A beat's `additional_data` is stored up to this many bytes of JSON; longer data is cut
/// (and reads back as a string), so one chatty process cannot bloat the database.
pub const DATA_CAP: usize = 4096;

/// How long a starting monitor waits for its recorder to open the database, so that its
/// first check already knows each process's state from before; a database that takes longer
/// (locked for a migration, a slow disk) is carried on without, never waited for again.
pub const OPEN_WAIT: Duration = Duration::from_secs(1);

/// How long a reader that is not a monitor (`hbmon history`) waits for a lock another
/// connection holds; a monitor's own reads wait for nothing (`Duration::ZERO`), so they
/// never hold up its loop.
pub const READ_WAIT: Duration = Duration::from_secs(5);

/// A failure of the history database; every variant names its path. The SQLite or I/O
/// error is part of the message (`cause`, not a chained source, which would repeat it).
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("no history database at {} (hbmon serve records one beside the heartbeat file)", path.display())]
    Missing { path: PathBuf },
    #[error("{} holds no history yet (an empty database, which the recorder initialises)", path.display())]
    Empty { path: PathBuf },
    #[error(
        "{} is not a valid history database ({cause}); it was left as is: move it aside and a new one is started",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error(
        "{} has history schema version {found}, newer than this hbmon understands ({supported}); it was left as is: use a newer hbmon",
        path.display()
    )]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "{} {found}, so it is not an hbmon history; it was left as is (a recording monitor moves it aside)",
        path.display()
    )]
    Foreign { path: PathBuf, found: String },
    /// The database, or its -wal, -shm or -journal, is a symlink, not a regular file, or
    /// not to be trusted ([`crate::fsafe::check_trusted`]).
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{} changed while it was being opened; trying again later", path.display())]
    Swapped { path: PathBuf },
    #[error("cannot create {}: {cause}", path.display())]
    Create {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot move {} aside to {}: {cause}", path.display(), to.display())]
    MoveAside {
        path: PathBuf,
        to: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot start the writer of {}: {cause}", path.display())]
    Start {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot lock {}: {cause}", path.display())]
    Lock {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("history database {}: {cause}", path.display())]
    Sql {
        path: PathBuf,
        cause: rusqlite::Error,
    },
}

impl HistoryError {
    /// Another connection holds a lock this one needs: worth retrying, not a fault.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            HistoryError::Sql { cause, .. } if matches!(
                cause.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            )
        )
    }

    /// There is no history to read yet (no database, or an empty one).
    pub fn is_absent(&self) -> bool {
        matches!(
            self,
            HistoryError::Missing { .. } | HistoryError::Empty { .. }
        )
    }
}

/// What became of an open database's file at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// Nothing is at the path: connections write to an unlinked file nobody will read.
    Deleted,
    /// Another file is at the path.
    Replaced,
}

/// An open history database.
#[derive(Debug)]
pub struct History {
    conn: Connection,
    path: PathBuf,
    /// The file opened, to notice it deleted or replaced under the connection.
    identity: open::Identity,
    /// Process ids by name, as recorded in `processes`.
    ids: HashMap<String, i64>,
}

impl History {
    /// Opens the database at `path` to record into it, creating it if missing (as private
    /// as its directory) and migrating it to the current schema; with what was found in the
    /// file and done about it, for the log.
    pub fn open(path: &Path) -> Result<(History, Vec<Repair>), HistoryError> {
        let opened = open::for_recording(path, writer::BUSY_WAIT)?;
        Ok((
            History::from(path, opened.conn, opened.identity),
            opened.repairs,
        ))
    }

    /// Opens an existing database to read it, waiting at most `busy` for a lock another
    /// connection holds; [`HistoryError::Missing`] if there is none, and
    /// [`HistoryError::Empty`] if it holds nothing yet.
    pub fn open_existing(path: &Path, busy: Duration) -> Result<History, HistoryError> {
        let opened = open::for_reading(path, busy)?;
        Ok(History::from(path, opened.conn, opened.identity))
    }

    fn from(path: &Path, conn: Connection, identity: open::Identity) -> History {
        History {
            conn,
            path: path.to_owned(),
            identity,
            ids: HashMap::new(),
        }
    }

    /// Whether the path no longer names the file this connection is on: `None` while it
    /// does. One `lstat`.
    pub fn moved(&self) -> Option<Moved> {
        match open::Identity::at(&self.path) {
            None => Some(Moved::Deleted),
            Some(identity) if identity != self.identity => Some(Moved::Replaced),
            Some(_) => None,
        }
    }

    /// The rows `sql` gives for `params`, each made a `T` by `row_of`: one prepared
    /// (cached) statement, every error naming the database.
    fn query<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row_of: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, HistoryError> {
        let fail = sql_error(&self.path);
        let mut stmt = self.conn.prepare_cached(sql).map_err(&fail)?;
        let rows = stmt.query_map(params, row_of).map_err(&fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }

    /// `name`'s beats at or after `since`, newest first, at most `limit`.
    pub fn beats(
        &self,
        name: &str,
        since: f64,
        limit: Option<usize>,
    ) -> Result<Vec<SeenBeat>, HistoryError> {
        self.query(
            "SELECT b.time, b.pid, b.status, b.data
             FROM beats AS b JOIN processes AS p ON p.id = b.process
             WHERE p.name = ?1 AND b.time >= ?2 ORDER BY b.time DESC LIMIT ?3",
            params![name, since, sql_limit(limit)],
            |row| {
                Ok(SeenBeat {
                    name: name.to_owned(),
                    time: row.get(0)?,
                    pid: row.get(1)?,
                    status: Reported::from(row.get::<_, String>(2)?),
                    data: row
                        .get::<_, Option<String>>(3)?
                        .map_or(Value::Null, read_json),
                })
            },
        )
    }

    /// The times of `name`'s beats at or after `since`, newest first: what a summary of
    /// them needs (a day of a busy process is tens of thousands of rows, its data up to
    /// 4 KB each, none of which is read here).
    pub fn beat_times(&self, name: &str, since: f64) -> Result<Vec<f64>, HistoryError> {
        self.query(
            "SELECT b.time FROM beats AS b JOIN processes AS p ON p.id = b.process
             WHERE p.name = ?1 AND b.time >= ?2 ORDER BY b.time DESC",
            params![name, since],
            |row| row.get(0),
        )
    }

    /// Transitions at or after `since` (of `name`, or of every process), newest first, at
    /// most `limit`.
    pub fn transitions(
        &self,
        name: Option<&str>,
        since: f64,
        limit: Option<usize>,
    ) -> Result<Vec<Transition>, HistoryError> {
        self.query(
            "SELECT name, time, from_state, to_state, severity, reason, since
             FROM transitions WHERE (?1 IS NULL OR name = ?1) AND time >= ?2
             ORDER BY time DESC LIMIT ?3",
            params![name, since, sql_limit(limit)],
            transition_of,
        )
    }

    /// `name`'s newest transition before `since`: the state it held as a range starting
    /// at `since` begins, which [`History::transitions`] of that range does not hold.
    pub fn transition_before(
        &self,
        name: &str,
        since: f64,
    ) -> Result<Option<Transition>, HistoryError> {
        let fail = sql_error(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, time, from_state, to_state, severity, reason, since
                 FROM transitions WHERE name = ?1 AND time < ?2
                 ORDER BY time DESC LIMIT 1",
            )
            .map_err(&fail)?;
        stmt.query_row(params![name, since], transition_of)
            .optional()
            .map_err(fail)
    }

    /// Probe verdict flips at or after `since` (of `name`, or of every process), newest
    /// first, at most `limit`.
    pub fn probe_flips(
        &self,
        name: Option<&str>,
        since: f64,
        limit: Option<usize>,
    ) -> Result<Vec<ProbeFlip>, HistoryError> {
        self.query(
            "SELECT name, time, kind, target, failing, ms, reason
             FROM probe_flips WHERE (?1 IS NULL OR name = ?1) AND time >= ?2
             ORDER BY time DESC LIMIT ?3",
            params![name, since, sql_limit(limit)],
            flip_of,
        )
    }

    /// The supervisor's restarts at or after `since` (of `name`, or of every process),
    /// newest first, at most `limit`.
    pub fn restarts(
        &self,
        name: Option<&str>,
        since: f64,
        limit: Option<usize>,
    ) -> Result<Vec<Restart>, HistoryError> {
        self.query(
            "SELECT name, time, count, cause, text
             FROM restarts WHERE (?1 IS NULL OR name = ?1) AND time >= ?2
             ORDER BY time DESC LIMIT ?3",
            params![name, since, sql_limit(limit)],
            |row| {
                Ok(Restart {
                    name: row.get(0)?,
                    time: row.get(1)?,
                    count: row.get(2)?,
                    cause: row.get(3)?,
                    text: row.get(4)?,
                })
            },
        )
    }

    /// `name`'s probes' minutes of response times that end after `since` (all of its
    /// probes, newest minute first), at most `limit`: a range of the table's key.
    pub fn probe_minutes(
        &self,
        name: &str,
        since: f64,
        limit: Option<usize>,
    ) -> Result<Vec<ProbeMinute>, HistoryError> {
        self.query(
            "SELECT name, minute, kind, target, count, failures,
                    min_ms, p50_ms, p95_ms, max_ms
             FROM probe_minutes WHERE name = ?1 AND minute > ?2 - 60
             ORDER BY minute DESC, kind, target LIMIT ?3",
            params![name, since, sql_limit(limit)],
            |row| {
                Ok(ProbeMinute {
                    name: row.get(0)?,
                    kind: row.get(2)?,
                    target: row.get(3)?,
                    rollup: Rollup {
                        minute: row.get(1)?,
                        count: row.get(4)?,
                        failures: row.get(5)?,
                        min_ms: row.get(6)?,
                        p50_ms: row.get(7)?,
                        p95_ms: row.get(8)?,
                        max_ms: row.get(9)?,
                    },
                })
            },
        )
    }

    /// Each probe's newest flip (what it was last known to say), to seed a
    /// [`crate::changes::Tracker`]: a monitor restarted while a probe fails neither records
    /// the failure again nor misses its recovery.
    pub fn last_flips(&self) -> Result<Vec<ProbeFlip>, HistoryError> {
        self.query(
            "SELECT name, time, kind, target, failing, ms, reason FROM probe_flips AS f
             WHERE time = (SELECT max(time) FROM probe_flips
                           WHERE name = f.name AND kind = f.kind AND target = f.target)",
            [],
            flip_of,
        )
    }

    /// How many beats each process recorded in each whole minute (`minute`: Unix seconds
    /// of its start) from the minute holding `since` on, by name then minute. One grouped
    /// query for every process: the UI's history tab shows them all at once.
    pub fn beats_per_minute(&self, since: f64) -> Result<Vec<MinuteBeats>, HistoryError> {
        let start = (since / 60.0).floor() * 60.0;
        self.query(
            "SELECT p.name, CAST(b.time / 60 AS INTEGER) * 60 AS minute, count(*)
             FROM beats AS b JOIN processes AS p ON p.id = b.process
             WHERE b.time >= ?1 GROUP BY p.name, minute ORDER BY p.name, minute",
            [start],
            |row| {
                Ok(MinuteBeats {
                    name: row.get(0)?,
                    minute: row.get(1)?,
                    beats: row.get(2)?,
                })
            },
        )
    }

    /// The newest state and beat of every process in the database, to seed a
    /// [`crate::changes::Tracker`] so a restarted monitor carries on where it stopped.
    pub fn last_seen(&self) -> Result<Vec<(String, Seen)>, HistoryError> {
        let fail = sql_error(&self.path);
        let mut names = self
            .conn
            .prepare("SELECT name FROM processes UNION SELECT name FROM transitions")
            .map_err(&fail)?;
        let names = names
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(&fail)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&fail)?;
        let mut state = self
            .conn
            .prepare("SELECT to_state FROM transitions WHERE name = ?1 ORDER BY time DESC LIMIT 1")
            .map_err(&fail)?;
        let mut beat = self
            .conn
            .prepare(
                "SELECT max(time) FROM beats
                 WHERE process = (SELECT id FROM processes WHERE name = ?1)",
            )
            .map_err(&fail)?;
        names
            .into_iter()
            .map(|name| {
                let state = state
                    .query_row([&name], |row| parse_state(&row.get::<_, String>(0)?))
                    .optional()?;
                let last_beat = beat.query_row([&name], |row| row.get(0))?;
                Ok((name, Seen { state, last_beat }))
            })
            .collect::<Result<_, rusqlite::Error>>()
            .map_err(fail)
    }
}

/// One process's beat count in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteBeats {
    pub name: String,
    /// The minute's start, Unix seconds (a multiple of 60).
    pub minute: i64,
    pub beats: u32,
}

/// What a prune deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    pub beats: usize,
    pub transitions: usize,
    pub flips: usize,
    pub restarts: usize,
    pub minutes: usize,
}

/// Maps an SQLite error on `path` to a [`HistoryError`]: a file that is not a database (or
/// a damaged one) is [`HistoryError::Corrupt`], anything else [`HistoryError::Sql`].
fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
    move |cause| match cause.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => HistoryError::Corrupt {
            path: path.to_owned(),
            cause,
        },
        _ => HistoryError::Sql {
            path: path.to_owned(),
            cause,
        },
    }
}

/// A `transitions` row, its columns in table order.
fn transition_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Transition> {
    Ok(Transition {
        name: row.get(0)?,
        time: row.get(1)?,
        from: row
            .get::<_, Option<String>>(2)?
            .as_deref()
            .map(parse_state)
            .transpose()?,
        to: parse_state(&row.get::<_, String>(3)?)?,
        severity: parse_severity(&row.get::<_, String>(4)?)?,
        reason: row.get(5)?,
        since: row.get(6)?,
    })
}

/// A `probe_flips` row, its columns in table order.
fn flip_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<ProbeFlip> {
    Ok(ProbeFlip {
        name: row.get(0)?,
        time: row.get(1)?,
        kind: row.get(2)?,
        target: row.get(3)?,
        failing: row.get(4)?,
        ms: row.get(5)?,
        reason: row.get(6)?,
    })
}

/// SQLite reads a negative `LIMIT` as "no limit".
fn sql_limit(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Stored data back as JSON; data that was cut is no longer JSON and reads as a string.
fn read_json(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn parse_state(text: &str) -> rusqlite::Result<State> {
    text.parse().map_err(|_| unknown_value("state", text))
}

fn parse_severity(text: &str) -> rusqlite::Result<Severity> {
    text.parse().map_err(|_| unknown_value("severity", text))
}

fn unknown_value(what: &str, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {what} {text:?}").into(),
    )
}

#[cfg(test)]
mod tests;
