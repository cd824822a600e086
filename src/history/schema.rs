//! The history database's schema: numbered steps, the version kept in `PRAGMA user_version`,
//! migrated forward on open inside one transaction.

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
];

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
    let supported = i64::try_from(steps.len()).unwrap_or(i64::MAX);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > supported {
        return Err(SchemaError::Newer { found, supported });
    }
    for step in steps.iter().skip(found as usize) {
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
        assert_eq!(migrate(&mut conn, STEPS).unwrap(), 1);
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
                supported: 1
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
}
