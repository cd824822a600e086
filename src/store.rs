//! The heartbeat file protocol (v1): read the whole file without a lock, and change one entry
//! under the five writer rules — lock `<file>.lock`, read, change only that entry, write a
//! temp file and `rename` it over, unlock.

mod beat;
mod decoded;
mod document;
mod entry;
mod files;
mod lock;
mod scan;
mod snapshot;

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use beat::{Beat, DataChange, JobRun, TAIL_BYTES, host, kept_text, parse_run_id, tail_text};
pub use decoded::Decoded;
pub use document::{ParseError, RawDocument, VERSION, entry_json};
pub use entry::{
    DEFAULT_INTERVAL, Entry, Kind, MAX_DATA_DEPTH, MAX_RUNS, PAUSED_UNTIL, Pause, Reported,
    RunInProgress, depth, parse_name,
};
/// The atomic replace every rewrite of the heartbeat file uses, for the config's editor too.
pub use files::replace as replace_file;
pub use snapshot::{Snapshot, read};

use crate::clock::unix_now;
use crate::fsafe::{self, FileError};
use crate::paths;

/// A failure of the file protocol; every variant names the path involved. The I/O cause is
/// part of the message (`cause`, not a chained `source`), so `{:#}` does not print it twice.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create directory {}: {cause}", path.display())]
    CreateDir { path: PathBuf, cause: io::Error },
    #[error(
        "no directory {} for {}: hbmon creates only its per-user default directory (mkdir it, or check the path)",
        dir.display(),
        file.display()
    )]
    NoDirectory { dir: PathBuf, file: PathBuf },
    #[error("cannot lock {}: {cause}", path.display())]
    Lock { path: PathBuf, cause: io::Error },
    #[error(
        "timed out after {} waiting for the lock on {} (held by another writer)",
        crate::duration::format(*after),
        path.display()
    )]
    LockTimeout { path: PathBuf, after: Duration },
    #[error("cannot read {}: {cause}", path.display())]
    Read { path: PathBuf, cause: io::Error },
    #[error("cannot write {}: {cause}", path.display())]
    Write { path: PathBuf, cause: io::Error },
    #[error("{} is not a valid heartbeat file: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: ParseError },
    /// A symlink, a FIFO or device, or a file over the size cap where a file was expected.
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot encode entry {name:?} for {}: {cause}", path.display())]
    Encode {
        path: PathBuf,
        name: String,
        cause: serde_json::Error,
    },
}

/// How long a write waits for `<file>.lock` unless told otherwise. A writer stopped while
/// holding it (Ctrl-Z) must not hang every other writer: failing loudly is better.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// A writer of one heartbeat file.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    /// The per-user default location: its directory is created (0700) when missing.
    default_dir: bool,
    lock_timeout: Duration,
}

impl Store {
    /// A store at `path`, a path the user chose: a missing directory is an error.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Store {
            path: path.into(),
            default_dir: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// A store at a resolved location; the per-user default directory is created 0700.
    pub fn at(location: &paths::FileLocation) -> Self {
        Store {
            path: location.path.clone(),
            default_dir: location.private_dir(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// Gives up on a write that waited `timeout` for the lock ([`StoreError::LockTimeout`])
    /// instead of [`DEFAULT_LOCK_TIMEOUT`].
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long the lock on this file has been held by someone else past a write's lock
    /// timeout, and still is: a writer can then refuse at once (an API answers 503) rather
    /// than wait out another timeout. `None`: not known to be stuck.
    pub fn lock_stuck(&self) -> Option<Duration> {
        lock::stuck_for(&paths::lock_path(&self.path))
    }

    /// Records `beat` for `name` now; returns the entry as written.
    pub fn beat(&self, name: &str, beat: &Beat) -> Result<Entry, StoreError> {
        self.beat_at(name, beat, unix_now())
    }

    /// Records `beat` for `name` at `now`.
    pub fn beat_at(&self, name: &str, beat: &Beat, now: f64) -> Result<Entry, StoreError> {
        self.transaction(now, |doc| {
            let previous = doc.get(name).and_then(|raw| self.own_entry(name, raw));
            let entry = beat.apply(previous, now);
            self.put(doc, name, &entry)?;
            Ok((true, entry))
        })
    }

    /// Sets `name`'s entry to what `change` makes of the one it had (`None`: no valid entry
    /// yet), all under one lock, at `now`; returns the entry as written, or `None` (file
    /// untouched) if `change` wrote none. For a writer whose beat depends on the entry as it
    /// is (the HTTP API's job pings, and its pings that may not create an entry).
    pub fn write_entry(
        &self,
        name: &str,
        now: f64,
        change: impl FnOnce(Option<Entry>) -> Option<Entry>,
    ) -> Result<Option<Entry>, StoreError> {
        self.transaction(now, |doc| {
            let previous = doc.get(name).and_then(|raw| self.own_entry(name, raw));
            let Some(entry) = change(previous) else {
                return Ok((false, None));
            };
            self.put(doc, name, &entry)?;
            Ok((true, Some(entry)))
        })
    }

    /// [`Store::write_entry`] for many names under one lock and one write (the beat sink's
    /// tick): each `change` is given its name's entry as it is in the file and returns the
    /// new one, or `None` to leave it. What comes back, item by item: the entry written (or
    /// `None`), or why that one entry was refused (its readers could not decode it) — the
    /// others are written all the same. Entries no change names are kept byte for byte.
    pub fn write_entries<F>(
        &self,
        now: f64,
        changes: Vec<(String, F)>,
    ) -> Result<Vec<Result<Option<Entry>, StoreError>>, StoreError>
    where
        F: FnOnce(Option<Entry>) -> Option<Entry>,
    {
        self.transaction(now, |doc| {
            // Past a few names, one pass to index the entries costs less than a pass each.
            if changes.len() > 8 {
                doc.index();
            }
            let mut wrote = false;
            let written = changes
                .into_iter()
                .map(|(name, change)| {
                    let previous = doc.get(&name).and_then(|raw| self.own_entry(&name, raw));
                    let Some(entry) = change(previous) else {
                        return Ok(None);
                    };
                    self.put(doc, &name, &entry)?;
                    wrote = true;
                    Ok(Some(entry))
                })
                .collect();
            Ok((wrote, written))
        })
    }

    /// Changes `name`'s entry with `change` and writes it back; returns the entry as written,
    /// or `None` (file untouched) if there is no valid entry of that name.
    pub fn update(
        &self,
        name: &str,
        change: impl FnOnce(&mut Entry),
    ) -> Result<Option<Entry>, StoreError> {
        self.transaction(unix_now(), |doc| {
            let Some(mut entry) = doc.get(name).and_then(|raw| self.own_entry(name, raw)) else {
                return Ok((false, None));
            };
            change(&mut entry);
            self.put(doc, name, &entry)?;
            Ok((true, Some(entry)))
        })
    }

    /// Removes `name`'s entry; false if there was none (and the file is left untouched). A
    /// missing file has nothing to remove: no directory or lock file is created for it.
    pub fn remove(&self, name: &str) -> Result<bool, StoreError> {
        if !self.path.exists() {
            return Ok(false);
        }
        self.transaction(unix_now(), |doc| {
            let removed = doc.remove(name);
            Ok((removed, removed))
        })
    }

    /// Removes every entry for which `drop` says so; returns their names. Entries that do
    /// not parse are kept: nothing a user wrote is dropped on a guess.
    pub fn remove_where(
        &self,
        mut drop: impl FnMut(&str, &Entry) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        if !self.path.exists() {
            return Ok(Vec::new());
        }
        self.transaction(unix_now(), |doc| {
            let mut removed = Vec::new();
            doc.retain(|name, raw| {
                let gone = serde_json::from_str::<Entry>(raw).is_ok_and(|e| drop(name, &e));
                if gone {
                    removed.push(name.to_string());
                }
                !gone
            });
            Ok((!removed.is_empty(), removed))
        })
    }

    /// Encodes `entry` and sets it as `name`'s in `doc` — if it reads back: an entry its
    /// readers could not decode (data nested deeper than they go) is refused here, at the
    /// writer that can say why, rather than shown invalid everywhere else.
    fn put(&self, doc: &mut RawDocument<'_>, name: &str, entry: &Entry) -> Result<(), StoreError> {
        let encode_error = |cause| StoreError::Encode {
            path: self.path.clone(),
            name: name.to_owned(),
            cause,
        };
        let json = entry_json(entry).map_err(encode_error)?;
        serde_json::from_str::<Entry>(&json).map_err(encode_error)?;
        doc.set(name, json);
        Ok(())
    }

    /// A writer's own previous entry. If it is not a valid entry the beat starts afresh,
    /// but says so: that entry's fields are about to be replaced.
    fn own_entry(&self, name: &str, raw: &str) -> Option<Entry> {
        match serde_json::from_str(raw) {
            Ok(entry) => Some(entry),
            Err(e) => {
                // serde quotes an unknown variant as written: the writer's text, escaped.
                eprintln!(
                    "hbmon: warning: entry {name:?} in {} was not a valid entry ({}); replacing it",
                    self.path.display(),
                    crate::text::escape(&e.to_string())
                );
                None
            }
        }
    }

    /// Runs `change` on the document under the lock; writes it back when `change` says it
    /// changed something.
    fn transaction<T>(
        &self,
        now: f64,
        change: impl FnOnce(&mut RawDocument<'_>) -> Result<(bool, T), StoreError>,
    ) -> Result<T, StoreError> {
        let lock_path = paths::lock_path(&self.path);
        let mode = fsafe::new_file_mode(fsafe::dir_of(&self.path));
        // The directory exists but for the first beat: create it only when it is missing.
        let lock = match fsafe::open_lock(&lock_path, mode) {
            Err(FileError::Io { cause, .. }) if cause.kind() == ErrorKind::NotFound => {
                self.ensure_dir()?;
                fsafe::open_lock(&lock_path, mode)
            }
            opened => opened,
        }
        .map_err(|e| match e {
            FileError::Io { path, cause } => StoreError::Lock { path, cause },
            other => StoreError::File(other),
        })?;
        lock::acquire(&lock, &lock_path, self.lock_timeout)?;
        // The lock is released when `lock` drops, on every path out of this function.
        files::sweep_orphans(&self.path, &lock);
        let (bytes, permissions) = files::read_locked(&self.path)?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                files::move_aside(&self.path, now, &e.to_string())?;
                String::new()
            }
        };
        let mut doc = match RawDocument::parse(&text) {
            Ok(doc) => doc,
            Err(reason @ ParseError::Version(_)) => {
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    reason,
                });
            }
            Err(ParseError::Syntax(reason)) => {
                files::move_aside(&self.path, now, &reason)?;
                RawDocument::default()
            }
        };
        let (changed, result) = change(&mut doc)?;
        if changed {
            files::replace(&self.path, &doc.pieces(now), permissions)?;
        }
        drop(lock);
        Ok(result)
    }

    /// Creates the heartbeat file's directory if it is missing and is the per-user default
    /// (0700), for a reader that must watch it before anyone has written. A directory the
    /// user named (`--file`, `$HBMON_FILE`) is never created: a typo there must not become
    /// a new directory that nothing else reads.
    pub fn ensure_dir(&self) -> Result<(), StoreError> {
        let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) else {
            return Ok(());
        };
        if dir.is_dir() {
            return Ok(());
        }
        if !self.default_dir {
            return Err(StoreError::NoDirectory {
                dir: dir.to_owned(),
                file: self.path.clone(),
            });
        }
        std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700)
            .create(dir)
            .map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                cause: source,
            })
    }
}

#[cfg(test)]
mod tests;
