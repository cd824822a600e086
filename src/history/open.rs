//! Opening a history database file: never through a symlink, never one another user could
//! have written, created no more open than its directory (and never group/other-writable);
//! and what is found in it — empty, older, newer, not ours — said and handled, never silently.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::schema::{self, Found, STEPS};
use super::{HistoryError, sql_error};
use crate::{fsafe, paths};

/// Which file a path named when it was opened: a later look at the path that finds another
/// (or nothing) means the database was deleted or replaced under the open connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Identity {
    dev: u64,
    ino: u64,
}

impl Identity {
    fn of(meta: &Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// What is at `path` now, not following a symlink; `None`: nothing is.
    pub(super) fn at(path: &Path) -> Option<Identity> {
        std::fs::symlink_metadata(path)
            .ok()
            .map(|m| Identity::of(&m))
    }
}

/// What opening found in the file and did about it; each is worth a line in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The file held nothing (`was`: what it was instead of a database); a new history was
    /// started in it.
    Initialised { path: PathBuf, was: &'static str },
    /// An older schema was brought to the current one, its rows kept.
    Migrated { path: PathBuf, from: i64, to: i64 },
    /// Not a database hbmon wrote (`found`): moved to `to`, untouched, and a new one begun.
    MovedAside {
        path: PathBuf,
        found: String,
        to: PathBuf,
    },
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Repair::Initialised { path, was } => write!(
                f,
                "{} was {was}, with no history in it: started a new history there",
                path.display()
            ),
            Repair::Migrated { path, from, to } => write!(
                f,
                "{} had history schema version {from}: migrated to {to}, keeping its rows",
                path.display()
            ),
            Repair::MovedAside { path, found, to } => write!(
                f,
                "{} {found}, so it is not an hbmon history: moved it (and its -wal, if any) \
                 to {} untouched, and started a new history",
                path.display(),
                to.display()
            ),
        }
    }
}

/// An open connection and the file it is on.
#[derive(Debug)]
pub(super) struct Opened {
    pub conn: Connection,
    pub identity: Identity,
    pub repairs: Vec<Repair>,
}

/// Opens the database at `path` to record into it: created if missing, checked, repaired
/// as [`Repair`] says, and migrated to the current schema. `busy`: how long SQLite waits
/// for a lock another connection holds before giving up with [`HistoryError::is_busy`].
pub(super) fn for_recording(path: &Path, busy: Duration) -> Result<Opened, HistoryError> {
    let mut repairs = Vec::new();
    // Twice at most: a file moved aside is replaced by a new one, which is ours.
    loop {
        let (identity, created, len) = checked_or_created(path)?;
        let conn = connect(path, identity, busy)?;
        let fail = sql_error(path);
        let found = schema::inspect(&conn, STEPS).map_err(&fail)?;
        match &found {
            Found::Current => {}
            Found::Empty if created => {}
            Found::Empty => repairs.push(Repair::Initialised {
                path: path.to_owned(),
                was: if len == 0 {
                    "empty (0 bytes)"
                } else {
                    "an SQLite database with no tables"
                },
            }),
            Found::Old(from) => repairs.push(Repair::Migrated {
                path: path.to_owned(),
                from: *from,
                to: schema::latest(STEPS),
            }),
            Found::Newer(found) => return Err(newer(path, *found)),
            Found::Foreign(what) => {
                let found = what.clone();
                // Closed first: the last connection to close folds the -wal into the file,
                // so what moves aside is whole.
                drop(conn);
                let to = move_aside(path)?;
                repairs.push(Repair::MovedAside {
                    path: path.to_owned(),
                    found,
                    to,
                });
                continue;
            }
        }
        // WAL: readers never block the recorder. Asked first, as setting it takes a lock
        // even when it is already so, and a current database opens without one: a program
        // holding the write lock delays the writes, not the open.
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .map_err(&fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(&fail)?;
        }
        // NORMAL sync: a power cut may lose the last few beats, never corrupt the file —
        // fine for history, and far cheaper per beat. Per connection: no lock.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&fail)?;
        let mut conn = conn;
        if found != Found::Current {
            migrate(&mut conn, path)?;
        }
        return Ok(Opened {
            conn,
            identity,
            repairs,
        });
    }
}

/// Opens an existing database to read it, repairing nothing: [`HistoryError::Missing`] if
/// there is none, [`HistoryError::Empty`] if it holds no history yet.
pub(super) fn for_reading(path: &Path, busy: Duration) -> Result<Opened, HistoryError> {
    let Some((identity, _)) = checked(path)? else {
        return Err(HistoryError::Missing {
            path: path.to_owned(),
        });
    };
    let mut conn = connect(path, identity, busy)?;
    match schema::inspect(&conn, STEPS).map_err(sql_error(path))? {
        Found::Current => {}
        Found::Empty => {
            return Err(HistoryError::Empty {
                path: path.to_owned(),
            });
        }
        // The one write a reader makes, as before: an old schema is migrated by whoever
        // opens it first (a lock held elsewhere is waited for `busy`, no longer).
        Found::Old(_) => migrate(&mut conn, path)?,
        Found::Newer(found) => return Err(newer(path, found)),
        Found::Foreign(found) => {
            return Err(HistoryError::Foreign {
                path: path.to_owned(),
                found,
            });
        }
    }
    Ok(Opened {
        conn,
        identity,
        repairs: Vec::new(),
    })
}

/// The mode a database (and so its -wal and -shm, which SQLite gives the database's mode,
/// and its `.lock`) is created with in `dir`: as private as the directory, and never
/// writable by group or others — else the trust check would refuse our own file.
pub(super) fn create_mode(dir: &Path) -> u32 {
    fsafe::new_file_mode(dir) & !0o022
}

/// Checks `path` (see [`checked`]), creating it empty with [`create_mode`] first if it is
/// missing, so SQLite never creates it with its own 0644. Returns its identity, whether this
/// call created it, and its length.
fn checked_or_created(path: &Path) -> Result<(Identity, bool, u64), HistoryError> {
    let mut created = false;
    loop {
        if let Some((identity, len)) = checked(path)? {
            return Ok((identity, created, len));
        }
        match fsafe::create_new(path, create_mode(fsafe::dir_of(path))) {
            Ok(_) => created = true,
            // Another monitor created it a moment ago: check that one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(cause) => {
                return Err(HistoryError::Create {
                    path: path.to_owned(),
                    cause,
                });
            }
        }
    }
}

/// The database at `path` and its sidecars as hbmon will trust them: regular files, not
/// symlinks, owned by this user (or root) and writable by no one else. `None`: no database.
fn checked(path: &Path) -> Result<Option<(Identity, u64)>, HistoryError> {
    let Some(meta) = trusted_file(path)? else {
        return Ok(None);
    };
    // SQLite reads a -wal (or a -journal) it finds into the database: one planted by another
    // user would write into ours.
    for suffix in ["-wal", "-shm", "-journal"] {
        trusted_file(&sidecar(path, suffix))?;
    }
    Ok(Some((Identity::of(&meta), meta.len())))
}

/// Whether the database at `path` is still one to trust: its owner or mode may have changed
/// since it was opened. One `lstat`; no file is fine (the caller notices that apart).
pub(super) fn still_trusted(path: &Path) -> Result<(), HistoryError> {
    trusted_file(path).map(|_| ())
}

/// `path`'s metadata if it is a regular file this user can trust; `None`: no such file.
/// Looked at, not opened: a database is routinely larger than [`fsafe::MAX_FILE_SIZE`],
/// which [`fsafe::open_regular`] refuses.
fn trusted_file(path: &Path) -> Result<Option<Metadata>, HistoryError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(cause) => {
            return Err(fsafe::FileError::Io {
                path: path.to_owned(),
                cause,
            }
            .into());
        }
    };
    if !meta.file_type().is_file() {
        // fsafe names what it is instead (a symlink and its target, a FIFO, a directory),
        // without following it or blocking on it.
        fsafe::open_regular(path)?;
        return Err(HistoryError::Swapped {
            path: path.to_owned(),
        });
    }
    fsafe::check_trusted(path, &meta)?;
    Ok(Some(meta))
}

/// Opens an SQLite connection on the file [`checked`] found as `identity`, and makes sure
/// it is still that file. SQLite resolves a symlink before opening (its `NOFOLLOW` flag
/// would also refuse a symlinked directory such as a home directory), so a symlink swapped
/// in after the check is caught here, before the first statement touches the file.
fn connect(path: &Path, identity: Identity, busy: Duration) -> Result<Connection, HistoryError> {
    let fail = sql_error(path);
    // Not created here (the file exists: checked, or made by [`checked_or_created`]), and
    // no URI: the path is a file name, whatever it starts with.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(&fail)?;
    if Identity::at(path) != Some(identity) {
        return Err(HistoryError::Swapped {
            path: path.to_owned(),
        });
    }
    conn.busy_timeout(busy).map_err(&fail)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), HistoryError> {
    schema::migrate(conn, STEPS)
        .map(|_| ())
        .map_err(|e| match e {
            schema::SchemaError::Newer { found, supported } => HistoryError::Newer {
                path: path.to_owned(),
                found,
                supported,
            },
            schema::SchemaError::Sql(e) => sql_error(path)(e),
        })
}

fn newer(path: &Path, found: i64) -> HistoryError {
    HistoryError::Newer {
        path: path.to_owned(),
        found,
        supported: schema::latest(STEPS),
    }
}

/// Moves the database at `path` to `<path>.corrupt-<unix>` (the name any file hbmon moves
/// aside gets), its -wal and -shm beside it under the new name so SQLite still finds them
/// there; returns where it went.
fn move_aside(path: &Path) -> Result<PathBuf, HistoryError> {
    let secs = crate::clock::unix_now() as u64;
    let mut copy = 0;
    let mut to = paths::corrupt_path(path, secs, copy);
    while std::fs::symlink_metadata(&to).is_ok() {
        copy += 1;
        to = paths::corrupt_path(path, secs, copy);
    }
    let moved = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|cause| HistoryError::MoveAside {
            path: from.to_owned(),
            to: to.to_owned(),
            cause,
        })
    };
    moved(path, &to)?;
    for suffix in ["-wal", "-shm"] {
        let from = sidecar(path, suffix);
        if std::fs::symlink_metadata(&from).is_ok() {
            moved(&from, &sidecar(&to, suffix))?;
        }
    }
    Ok(to)
}

/// `<path><suffix>`: SQLite's names for a database's -wal, -shm and -journal.
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut os = path.as_os_str().to_owned();
    os.push(suffix);
    PathBuf::from(os)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn version(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_and_its_sidecars_are_as_private_as_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o700)).unwrap();
        let path = dir.path().join("h.sqlite");
        let opened = for_recording(&path, Duration::ZERO).unwrap();
        assert!(opened.repairs.is_empty(), "{:?}", opened.repairs);
        for file in [path.clone(), sidecar(&path, "-wal"), sidecar(&path, "-shm")] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        // An open directory: never group- or other-writable, which the trust check refuses.
        let open = tempfile::tempdir().unwrap();
        std::fs::set_permissions(open.path(), PermissionsExt::from_mode(0o777)).unwrap();
        assert_eq!(create_mode(open.path()), 0o644);
        let path = open.path().join("h.sqlite");
        drop(for_recording(&path, Duration::ZERO).unwrap());
        assert_eq!(mode(&path) & 0o022, 0);
        for_reading(&path, Duration::ZERO).unwrap();
    }

    #[test]
    fn a_zero_byte_file_is_initialised_and_said_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            for_reading(&path, Duration::ZERO),
            Err(HistoryError::Empty { .. })
        ));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "a reader wrote");
        let opened = for_recording(&path, Duration::ZERO).unwrap();
        assert_eq!(
            opened.repairs,
            [Repair::Initialised {
                path: path.clone(),
                was: "empty (0 bytes)"
            }]
        );
        let text = opened.repairs[0].to_string();
        assert!(text.contains("h.sqlite was empty (0 bytes)"), "{text}");
        drop(opened);
        assert!(
            for_recording(&path, Duration::ZERO)
                .unwrap()
                .repairs
                .is_empty()
        );
    }

    #[test]
    fn a_database_hbmon_did_not_write_is_moved_aside_untouched_and_said_so() {
        for (setup, found) in [
            (
                "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');
                 PRAGMA user_version = -5;",
                "has schema version -5, which no hbmon writes",
            ),
            (
                "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');",
                "has no schema version but tables of its own (notes)",
            ),
            (
                "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');
                 PRAGMA user_version = 1;",
                "has schema version 1 but not its tables (it has: notes)",
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("h.sqlite");
            Connection::open(&path)
                .unwrap()
                .execute_batch(setup)
                .unwrap();
            let before = version(&path);
            let err = for_reading(&path, Duration::ZERO).unwrap_err();
            assert!(err.to_string().contains(found), "{err}");
            let opened = for_recording(&path, Duration::ZERO).unwrap();
            let [
                Repair::MovedAside {
                    found: said, to, ..
                },
            ] = &opened.repairs[..]
            else {
                panic!("{:?}", opened.repairs);
            };
            assert_eq!(said, found);
            assert!(to.to_string_lossy().contains("h.sqlite.corrupt-"), "{to:?}");
            assert!(
                opened.repairs[0]
                    .to_string()
                    .contains(&to.display().to_string())
            );
            // Moved whole, rows and version as they were; a new history in its place.
            assert_eq!(version(to), before);
            let kept: String = Connection::open(to)
                .unwrap()
                .query_row("SELECT t FROM notes", [], |r| r.get(0))
                .unwrap();
            assert_eq!(kept, "mine");
            assert_eq!(version(&path), schema::latest(STEPS));
        }
    }

    #[test]
    fn a_newer_database_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE later (x); PRAGMA user_version = 9;")
            .unwrap();
        let err = for_recording(&path, Duration::ZERO).err().unwrap();
        assert!(matches!(err, HistoryError::Newer { found: 9, .. }), "{err}");
        assert_eq!(version(&path), 9);
    }

    #[test]
    fn a_database_others_could_write_or_behind_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        drop(for_recording(&path, Duration::ZERO).unwrap());
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o666)).unwrap();
        for result in [
            for_recording(&path, Duration::ZERO).err(),
            for_reading(&path, Duration::ZERO).err(),
        ] {
            let text = result.unwrap().to_string();
            assert!(
                text.contains(&format!("refusing {}", path.display()))
                    && text.contains("mode 0666"),
                "{text}"
            );
        }
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o600)).unwrap();
        // A -wal others can write would be read into the database.
        let wal = sidecar(&path, "-wal");
        std::fs::write(&wal, "").unwrap();
        std::fs::set_permissions(&wal, PermissionsExt::from_mode(0o646)).unwrap();
        let text = for_recording(&path, Duration::ZERO)
            .err()
            .unwrap()
            .to_string();
        assert!(
            text.contains("h.sqlite-wal") && text.contains("0646"),
            "{text}"
        );
        std::fs::remove_file(&wal).unwrap();

        let link = dir.path().join("link.sqlite");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        for result in [
            for_recording(&link, Duration::ZERO).err(),
            for_reading(&link, Duration::ZERO).err(),
        ] {
            let text = result.unwrap().to_string();
            assert!(text.contains("symbolic link"), "{text}");
        }
        assert!(for_recording(&path, Duration::ZERO).is_ok());
    }

    #[test]
    fn a_file_deleted_or_replaced_under_the_connection_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (history, _) = crate::history::History::open(&path).unwrap();
        assert_eq!(history.moved(), None);
        let other = dir.path().join("other");
        std::fs::write(&other, "").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(history.moved(), Some(crate::history::Moved::Replaced));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(history.moved(), Some(crate::history::Moved::Deleted));
    }
}
