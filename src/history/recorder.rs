//! The one writer of a history database: holds an exclusive lock on
//! `<database>.lock` for as long as it lives, records changes, and prunes old rows hourly.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::Duration;

use super::{History, HistoryError, Pruned};
use crate::changes::Changes;
use crate::paths::lock_path;

/// How often old rows are pruned.
const PRUNE_EVERY: f64 = 3600.0;

/// The history database's single writer.
#[derive(Debug)]
pub struct Recorder {
    history: History,
    /// Held, never read: the lock lasts as long as this open file.
    _lock: File,
    keep: Duration,
    next_prune: f64,
}

impl Recorder {
    /// Becomes the recorder of the database at `path`, keeping `keep` of history; `None`
    /// when another monitor already records it (then this one only reads). The lock is on
    /// the sidecar `<database>.lock`, because SQLite's own locks on the database last only
    /// a transaction.
    pub fn claim(path: &Path, keep: Duration) -> Result<Option<Recorder>, HistoryError> {
        let Some(lock) = try_lock_sidecar(&lock_path(path))? else {
            return Ok(None);
        };
        Ok(Some(Recorder {
            history: History::open(path)?,
            _lock: lock,
            keep,
            next_prune: f64::NEG_INFINITY,
        }))
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// Records `changes` seen at `now`; prunes rows older than the retention when an hour has
    /// passed since the last prune (and on the first call), returning what it pruned.
    pub fn record(&mut self, changes: &Changes, now: f64) -> Result<Option<Pruned>, HistoryError> {
        if !changes.is_empty() {
            self.history.insert(changes)?;
        }
        if now < self.next_prune {
            return Ok(None);
        }
        self.next_prune = now + PRUNE_EVERY;
        self.history.prune(now - self.keep.as_secs_f64()).map(Some)
    }
}

/// Takes the exclusive lock on the sidecar file `lock_path` (created if missing) when no one
/// holds it; `None` when someone does. The lock lasts as long as the returned file is open.
pub fn try_lock_sidecar(lock_path: &Path) -> Result<Option<File>, HistoryError> {
    let lock_error = |cause| HistoryError::Lock {
        path: lock_path.to_owned(),
        cause,
    };
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .map_err(lock_error)?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(lock_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Tracker;
    use crate::changes::tests::{report, row};
    use crate::health::State;

    #[test]
    fn only_one_recorder_at_a_time_and_the_lock_ends_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let first = Recorder::claim(&path, Duration::from_secs(60)).unwrap();
        assert!(first.is_some());
        assert!(lock_path(&path).exists());
        assert!(
            Recorder::claim(&path, Duration::from_secs(60))
                .unwrap()
                .is_none()
        );
        drop(first);
        assert!(
            Recorder::claim(&path, Duration::from_secs(60))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn prunes_on_the_first_record_then_hourly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let mut recorder = Recorder::claim(&path, Duration::from_secs(100))
            .unwrap()
            .unwrap();
        let mut tracker = Tracker::default();
        let mut record = |now: f64| {
            let changes = tracker.observe(&report(now, vec![row("a", State::Up, Some(now))]));
            recorder.record(&changes, now).unwrap()
        };
        assert_eq!(record(1000.0), Some(Pruned::default()));
        assert_eq!(record(2000.0), None);
        // An hour after the first prune: the beat at 1000 and at 2000 are past 100 s.
        let pruned = record(1000.0 + PRUNE_EVERY).unwrap();
        assert_eq!(pruned.beats, 2);
        assert_eq!(record(1001.0 + PRUNE_EVERY), None);
    }
}
