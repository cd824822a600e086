//! The history database's schema: numbered steps, the version kept in `PRAGMA user_version`,
//! migrated forward on open inside one transaction; and what an opened file is found to be.

use rusqlite::{Connection, TransactionBehavior};

/// Step `i` takes the schema from version `i` to `i + 1`. Append steps, never edit one: a
/// database in the wild may stand at any version.
pub(super) const STEPS: &[&str] = &[
    // Version 1. Beats are the bulk (a week of 200 processes at 30 s is 4 million), so they
    // name their process by a small integer and are clustered by (process, time): the
    // queries are "one process, newest first", and pruning walks each process's oldest end,
    // so no second index is needed. A beat recorded twice (a monitor restarted mid-report)
    // collapses into one row. Transitions are few and keep the name itself.
    "CREATE TABLE processes (
         id   INTEGER PRIMARY KEY,
         name TEXT NOT NULL UNIQUE
     );
     CREATE TABLE beats (
         process INTEGER NOT NULL REFERENCES processes (id),
         time    REAL NOT NULL,
         pid     INTEGER,
         status  TEXT NOT NULL,
         data    TEXT,
         PRIMARY KEY (process, time)
     ) WITHOUT ROWID;
     CREATE TABLE transitions (
         name       TEXT NOT NULL,
         time       REAL NOT NULL,
         from_state TEXT,
         to_state   TEXT NOT NULL,
         severity   TEXT NOT NULL,
         reason     TEXT NOT NULL,
         since      REAL,
         PRIMARY KEY (name, time)
     ) WITHOUT ROWID;",
    // Version 2. An active probe's verdict flips (failing after `probe_fails` runs, passing
    // again): few, like transitions, and keyed by process, time and probe (two probes of one
    // process may flip in one check).
    "CREATE TABLE probe_flips (
         name    TEXT NOT NULL,
         time    REAL NOT NULL,
         kind    TEXT NOT NULL,
         target  TEXT NOT NULL,
         failing INTEGER NOT NULL,
         ms      REAL,
         reason  TEXT,
         PRIMARY KEY (name, time, kind, target)
     ) WITHOUT ROWID;",
    // Version 3. The supervisor's restarts: which one within `restart_window` and why, as a
    // restart need not change a state (a process crashing at once stays `dead`).
    "CREATE TABLE restarts (
         name  TEXT NOT NULL,
         time  REAL NOT NULL,
         count INTEGER NOT NULL,
         cause TEXT NOT NULL,
         text  TEXT NOT NULL,
         PRIMARY KEY (name, time)
     ) WITHOUT ROWID;",
    // Version 4. Each probe's response times rolled up by the minute: a row per probe and
    // minute it ran in (a week of 1 000 probes is 10 million), so clustered, WITHOUT ROWID,
    // by what is asked of them: one process's minutes newest first (`hbmon history`), and
    // one process's last hour (a starting prober's percentiles), both a range of the
    // (name, minute) prefix. A minute written again (the open one at a stop, then whole
    // when it closes) replaces the row with the same key.
    "CREATE TABLE probe_minutes (
         name     TEXT NOT NULL,
         minute   INTEGER NOT NULL,
         kind     TEXT NOT NULL,
         target   TEXT NOT NULL,
         count    INTEGER NOT NULL,
         failures INTEGER NOT NULL,
         min_ms   REAL NOT NULL,
         p50_ms   REAL NOT NULL,
         p95_ms   REAL NOT NULL,
         max_ms   REAL NOT NULL,
         PRIMARY KEY (name, minute, kind, target)
     ) WITHOUT ROWID;",
];

/// The version `steps` bring a database to.
pub(super) fn latest(steps: &[&str]) -> i64 {
    i64::try_from(steps.len()).unwrap_or(i64::MAX)
}

/// The tables every version of the schema has (version 1's): a file at any version without
/// them was not written by hbmon.
const TABLES: [&str; 3] = ["processes", "beats", "transitions"];

/// What an opened database holds, judged by reads alone (no lock is taken, nothing written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    /// No version and no tables: a new file, or a 0-byte one; nothing in it to lose.
    Empty,
    /// At the current version.
    Current,
    /// At an older version, which [`migrate`] brings forward keeping its rows.
    Old(i64),
    /// Written by a newer hbmon.
    Newer(i64),
    /// Not one hbmon wrote (a negative version, tables of another program, a version without
    /// its tables); says what was seen.
    Foreign(String),
}

/// Looks at `conn`'s version and tables against `steps`. Reads only, so it never waits for
/// a writer and never changes a file that turns out not to be ours.
pub(super) fn inspect(conn: &Connection, steps: &[&str]) -> rusqlite::Result<Found> {
    let supported = latest(steps);
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         ORDER BY name",
    )?;
    let tables = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let listed = || {
        let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        let more = if tables.len() > 5 { ", …" } else { "" };
        format!("{}{more}", shown.join(", "))
    };
    Ok(match version {
        0 if tables.is_empty() => Found::Empty,
        0 => Found::Foreign(format!(
            "has no schema version but tables of its own ({})",
            listed()
        )),
        v if v < 0 => Found::Foreign(format!("has schema version {v}, which no hbmon writes")),
        v if v > supported => Found::Newer(v),
        v if !TABLES.iter().all(|t| tables.iter().any(|have| have == t)) => {
            Found::Foreign(format!(
                "has schema version {v} but not its tables (it has: {})",
                if tables.is_empty() {
                    "none".to_owned()
                } else {
                    listed()
                }
            ))
        }
        v if v < supported => Found::Old(v),
        _ => Found::Current,
    })
}

/// Why a database could not be brought to the current schema.
#[derive(Debug)]
pub(super) enum SchemaError {
    /// Written by a newer hbmon; migrating down could lose what it stores.
    Newer {
        found: i64,
        supported: i64,
    },
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for SchemaError {
    fn from(e: rusqlite::Error) -> Self {
        SchemaError::Sql(e)
    }
}

/// Applies the `steps` the database lacks; returns the version it was at. The check and the
/// steps share one write transaction, so two processes opening an old database at once
/// cannot both migrate it.
pub(super) fn migrate(conn: &mut Connection, steps: &[&str]) -> Result<i64, SchemaError> {
    let supported = latest(steps);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > supported {
        return Err(SchemaError::Newer { found, supported });
    }
    // A negative version is [`Found::Foreign`], never migrated; were one to reach here, it
    // would run every step rather than skip them all.
    for step in steps.iter().skip(usize::try_from(found).unwrap_or(0)) {
        tx.execute_batch(step)?;
    }
    if found < supported {
        tx.pragma_update(None, "user_version", supported)?;
    }
    tx.commit()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> usize {
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        usize::try_from(version).unwrap()
    }

    #[test]
    fn a_new_database_gets_every_step_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn, STEPS).unwrap(), 0);
        assert_eq!(version(&conn), STEPS.len());
        // Run again, it finds the latest version and applies nothing.
        assert_eq!(migrate(&mut conn, STEPS).unwrap(), latest(STEPS));
    }

    #[test]
    fn an_old_database_is_migrated_keeping_its_rows() {
        let steps = [
            "CREATE TABLE t (a INTEGER)",
            "ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'",
        ];
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &steps[..1]).unwrap();
        conn.execute("INSERT INTO t (a) VALUES (7)", []).unwrap();
        assert_eq!(migrate(&mut conn, &steps).unwrap(), 1);
        let row: (i64, String) = conn
            .query_row("SELECT a, b FROM t", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(row, (7, "x".to_owned()));
        assert_eq!(version(&conn), 2);
    }

    #[test]
    fn a_newer_database_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let err = migrate(&mut conn, STEPS).unwrap_err();
        assert!(matches!(
            err,
            SchemaError::Newer {
                found: 99,
                supported: 4
            }
        ));
        assert_eq!(version(&conn), 99);
    }

    #[test]
    fn a_failing_step_leaves_the_version_unchanged() {
        let mut conn = Connection::open_in_memory().unwrap();
        let steps = ["CREATE TABLE t (a INTEGER)", "NOT SQL"];
        assert!(matches!(
            migrate(&mut conn, &steps),
            Err(SchemaError::Sql(_))
        ));
        assert_eq!(version(&conn), 0);
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn inspect_tells_new_current_old_newer_and_foreign_apart() {
        let steps = [
            "CREATE TABLE processes (a); CREATE TABLE beats (b); CREATE TABLE transitions (c)",
            "SELECT 1",
        ];
        let found = |setup: &str| {
            let conn = Connection::open_in_memory().unwrap();
            conn.execute_batch(setup).unwrap();
            inspect(&conn, &steps).unwrap()
        };
        assert_eq!(found(""), Found::Empty);
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &steps[..1]).unwrap();
        assert_eq!(inspect(&conn, &steps).unwrap(), Found::Old(1));
        migrate(&mut conn, &steps).unwrap();
        assert_eq!(inspect(&conn, &steps).unwrap(), Found::Current);
        assert_eq!(found("PRAGMA user_version = 3"), Found::Newer(3));
        assert!(matches!(found("PRAGMA user_version = -5"), Found::Foreign(w) if w.contains("-5")));
        assert!(matches!(found("CREATE TABLE t (x)"), Found::Foreign(w) if w.contains("(t)")));
        assert!(
            matches!(found("PRAGMA user_version = 2"), Found::Foreign(w) if w.contains("none"))
        );
    }
}
