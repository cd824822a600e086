//! The one writer of a history database, as the monitor's loop sees it: it holds an
//! exclusive lock on `<database>.lock` for as long as it lives, and takes changes into a
//! bounded queue that a thread of its own writes (`writer.rs`), so a slow, locked, deleted or
//! refused database never delays a check. What happens to the database comes back as
//! [`Note`]s, for the loop to log (`hbmon serve`) or show (the live UI).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::note::{FLUSH_GRACE, Note, QUEUE_BYTES};
use super::open;
use super::writer::{Msg, Writer};
use super::{Batch, HistoryError};
use crate::changes::Changes;
use crate::fsafe;
use crate::paths::lock_path;

/// The history database's single writer.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    /// `None` once stopped.
    queue: Option<Sender<Msg>>,
    notes: Receiver<Note>,
    /// Bytes queued and not yet written (the writer subtracts what it is done with).
    waiting: Arc<AtomicUsize>,
    /// `Some` while the queue is full: the rows dropped since it filled.
    dropped: Option<usize>,
    /// Notes made here or received early, handed out before the writer's newer ones.
    held: Vec<Note>,
}

impl Recorder {
    /// Becomes the recorder of the database at `path`, keeping `keep` of history; `None`
    /// when another monitor already records it (then this one only reads). The lock is on
    /// the sidecar `<database>.lock`, because SQLite's own locks on the database last only
    /// a transaction. Waits up to `wait` for the database to be opened (so that the caller
    /// can seed its view with [`Note::Recording`]'s `seen` before its first check); the rest
    /// comes through [`Recorder::notes`].
    pub fn claim(
        path: &Path,
        keep: Duration,
        wait: Duration,
    ) -> Result<Option<Recorder>, HistoryError> {
        let Some(lock) = try_lock_sidecar(&lock_path(path))? else {
            return Ok(None);
        };
        let (queue, messages) = mpsc::channel();
        let (note_tx, notes) = mpsc::channel();
        let waiting = Arc::new(AtomicUsize::new(0));
        let writer = Writer::new(path, keep, lock, messages, note_tx, Arc::clone(&waiting));
        std::thread::Builder::new()
            .name("history writer".into())
            .spawn(move || writer.run())
            .map_err(|cause| HistoryError::Start {
                path: path.to_owned(),
                cause,
            })?;
        let mut recorder = Recorder {
            path: path.to_owned(),
            queue: Some(queue),
            notes,
            waiting,
            dropped: None,
            held: Vec::new(),
        };
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(note) = recorder.notes.recv_timeout(left) else {
                break;
            };
            let settled = matches!(
                note,
                Note::Recording { .. } | Note::Busy { .. } | Note::Failed(_)
            );
            recorder.held.push(note);
            if settled {
                break;
            }
        }
        Ok(Some(recorder))
    }

    /// Queues `changes` for the writer; never waits. A full queue drops them, said once
    /// (a [`Note::Dropping`]) and again when there is room ([`Note::Resumed`]).
    pub fn record(&mut self, changes: &Changes) {
        if changes.is_empty() {
            return;
        }
        let Some(queue) = &self.queue else {
            return;
        };
        let batch = Batch::of(changes);
        let bytes = batch.bytes();
        if self.waiting.load(Ordering::Relaxed) + bytes > QUEUE_BYTES {
            if self.dropped.is_none() {
                self.held.push(Note::Dropping {
                    path: self.path.clone(),
                });
            }
            *self.dropped.get_or_insert(0) += batch.rows();
            return;
        }
        if let Some(dropped) = self.dropped.take() {
            self.held.push(Note::Resumed { dropped });
        }
        self.waiting.fetch_add(bytes, Ordering::Relaxed);
        // The writer only ends when told to (or on a panic, which the process reports).
        let _ = queue.send(Msg::Record(batch));
    }

    /// Everything that became of the database since the last call, oldest first.
    pub fn notes(&mut self) -> Vec<Note> {
        let mut notes = std::mem::take(&mut self.held);
        notes.extend(self.notes.try_iter());
        notes
    }

    /// Stops the writer, giving it up to [`FLUSH_GRACE`] to write what waits; returns the
    /// notes not yet taken, the last a [`Note::Finished`] unless the writer ran out of time.
    /// The lock is released when the writer ends.
    pub fn finish(mut self) -> Vec<Note> {
        let mut notes = self.stop();
        notes.retain(|n| !matches!(n, Note::Finished { unwritten: 0 }));
        notes
    }

    fn stop(&mut self) -> Vec<Note> {
        if let Some(dropped) = self.dropped.take() {
            self.held.push(Note::Resumed { dropped });
        }
        let mut notes = self.notes();
        let Some(queue) = self.queue.take() else {
            return notes;
        };
        let deadline = Instant::now() + FLUSH_GRACE;
        if queue.send(Msg::Stop { deadline }).is_err() {
            return notes;
        }
        // A little past the deadline: the writer's last try may be under way.
        let patience = deadline + Duration::from_millis(500);
        while let Some(left) = patience.checked_duration_since(Instant::now()) {
            match self.notes.recv_timeout(left) {
                Ok(note) => {
                    let last = matches!(note, Note::Finished { .. });
                    notes.push(note);
                    if last {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        notes
    }
}

impl Drop for Recorder {
    /// A recorder dropped without [`Recorder::finish`] (the UI quitting) still gets its
    /// queue written, within the same grace; its notes go unread.
    fn drop(&mut self) {
        self.stop();
    }
}

/// Takes the exclusive lock on the sidecar file `lock_path` (created if missing, as private
/// as its directory and never writable by others; never through a symlink, never a FIFO)
/// when no one holds it; `None` when someone does. The lock lasts as long as the returned
/// file is open.
pub fn try_lock_sidecar(lock_path: &Path) -> Result<Option<File>, HistoryError> {
    let lock = fsafe::open_lock(lock_path, open::create_mode(fsafe::dir_of(lock_path)))?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(cause)) => Err(HistoryError::Lock {
            path: lock_path.to_owned(),
            cause,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Tracker;
    use crate::changes::tests::{report, row};
    use crate::clock::unix_now;
    use crate::health::State;
    use crate::history::Pruned;
    use crate::history::{History, Moved, OPEN_WAIT, READ_WAIT};
    use rusqlite::Connection;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    const KEEP: Duration = Duration::from_secs(3600);

    fn claim(path: &Path) -> Recorder {
        Recorder::claim(path, KEEP, OPEN_WAIT).unwrap().unwrap()
    }

    /// A recorder of a new database in a temporary directory (kept while the `TempDir`
    /// lives), once it says it records.
    fn recording() -> (tempfile::TempDir, std::path::PathBuf, Recorder) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let mut recorder = claim(&path);
        wait_note(&mut recorder, |n| matches!(n, Note::Recording { .. }));
        (dir, path, recorder)
    }

    /// Another connection holding the database's write lock until it is dropped or commits.
    fn lock_exclusively(path: &Path) -> Connection {
        let holder = Connection::open(path).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        holder
    }

    /// Takes notes until one matches `want` (15 s at most: the writer is a thread).
    fn wait_note(recorder: &mut Recorder, want: impl Fn(&Note) -> bool) -> Vec<Note> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut seen = Vec::new();
        loop {
            seen.extend(recorder.notes());
            if seen.iter().any(&want) {
                return seen;
            }
            assert!(Instant::now() < deadline, "no such note in {seen:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn beat_times(path: &Path, name: &str) -> Vec<f64> {
        History::open_existing(path, READ_WAIT)
            .and_then(|h| h.beats(name, 0.0, None))
            .map(|beats| beats.into_iter().map(|b| b.time).collect())
            .unwrap_or_default()
    }

    fn wait_beats(path: &Path, name: &str, want: impl Fn(&[f64]) -> bool) -> Vec<f64> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let times = beat_times(path, name);
            if want(&times) {
                return times;
            }
            assert!(Instant::now() < deadline, "beats of {name}: {times:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One beat of each of `names` at `time`, as the tracker sees it.
    fn beats(
        tracker: &mut Tracker,
        names: &[String],
        time: f64,
        data: &serde_json::Value,
    ) -> Changes {
        let rows = names
            .iter()
            .map(|name| {
                let mut row = row(name, State::Up, Some(time));
                row.entry_mut().additional_data = data.clone();
                row
            })
            .collect();
        tracker.observe(&report(time, rows))
    }

    #[test]
    fn only_one_recorder_at_a_time_and_the_lock_ends_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let first = Recorder::claim(&path, KEEP, Duration::ZERO).unwrap();
        assert!(first.is_some());
        assert!(lock_path(&path).exists());
        assert!(
            Recorder::claim(&path, KEEP, Duration::ZERO)
                .unwrap()
                .is_none()
        );
        drop(first);
        assert!(
            Recorder::claim(&path, KEEP, Duration::ZERO)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn changes_wait_while_the_database_is_locked_and_are_written_once_it_is_free() {
        let (_dir, path, mut recorder) = recording();
        let holder = lock_exclusively(&path);

        let now = unix_now();
        let mut tracker = Tracker::default();
        recorder.record(&beats(&mut tracker, &["a".into()], now, &json!(null)));
        let notes = wait_note(&mut recorder, |n| matches!(n, Note::Busy { .. }));
        assert!(
            notes.iter().all(|n| !matches!(n, Note::Failed(_))),
            "{notes:?}"
        );
        // Readers still read (WAL), and see nothing yet.
        assert!(beat_times(&path, "a").is_empty());

        holder.execute_batch("COMMIT").unwrap();
        let notes = wait_note(&mut recorder, |n| matches!(n, Note::Free { .. }));
        let free = notes
            .iter()
            .find(|n| matches!(n, Note::Free { .. }))
            .unwrap();
        assert!(matches!(free, Note::Free { written: 2, .. }), "{free}");
        assert_eq!(beat_times(&path, "a"), [now]);
    }

    #[test]
    fn a_full_queue_drops_new_changes_says_so_once_and_says_when_it_has_room() {
        let (_dir, path, mut recorder) = recording();
        let holder = lock_exclusively(&path);

        // 1200 processes beating with data cut to 4 KB each: 5 MB a report, so the fourth
        // and fifth do not fit in 16 MiB while the database is locked.
        let names: Vec<String> = (0..1200).map(|i| format!("p{i}")).collect();
        let data = json!("x".repeat(5000));
        let mut tracker = Tracker::default();
        let t0 = unix_now();
        for i in 0..5 {
            recorder.record(&beats(&mut tracker, &names, t0 + f64::from(i), &data));
        }
        let notes = recorder.notes();
        let dropping = notes
            .iter()
            .filter(|n| matches!(n, Note::Dropping { .. }))
            .count();
        assert_eq!(dropping, 1, "{notes:?}");

        holder.execute_batch("COMMIT").unwrap();
        wait_note(&mut recorder, |n| matches!(n, Note::Free { .. }));
        wait_beats(&path, "p0", |t| t.len() == 3);
        recorder.record(&beats(&mut tracker, &names[..1], t0 + 10.0, &data));
        let notes = recorder.notes();
        let resumed: Vec<_> = notes
            .iter()
            .filter_map(|n| match n {
                Note::Resumed { dropped } => Some(*dropped),
                _ => None,
            })
            .collect();
        assert_eq!(resumed, [2400], "{notes:?}");
        assert!(notes.iter().all(|n| !matches!(n, Note::Dropping { .. })));
        assert_eq!(wait_beats(&path, "p0", |t| t.len() == 4)[0], t0 + 10.0);
    }

    #[test]
    fn a_deleted_database_is_recreated_and_said_so() {
        let (_dir, path, mut recorder) = recording();
        let mut tracker = Tracker::default();
        let t0 = unix_now();
        recorder.record(&beats(&mut tracker, &["a".into()], t0, &json!(null)));
        wait_beats(&path, "a", |t| t == [t0]);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        recorder.record(&beats(&mut tracker, &["a".into()], t0 + 1.0, &json!(null)));
        let notes = wait_note(&mut recorder, |n| matches!(n, Note::Recording { .. }));
        let moved = notes
            .iter()
            .find(|n| matches!(n, Note::Moved { .. }))
            .unwrap_or_else(|| panic!("{notes:?}"));
        assert!(
            matches!(
                moved,
                Note::Moved {
                    moved: Moved::Deleted,
                    ..
                }
            ),
            "{moved}"
        );
        assert!(
            moved.to_string().contains("h.sqlite was deleted"),
            "{moved}"
        );
        // The beat written into the deleted file since the last look is there again.
        let times = wait_beats(&path, "a", |t| t.contains(&(t0 + 1.0)));
        assert!(times.len() <= 2, "{times:?}");
    }

    #[test]
    fn a_refused_database_is_said_once_and_what_arrives_meanwhile_is_counted_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        drop(History::open(&path).unwrap());
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o666)).unwrap();
        let mut recorder = claim(&path);
        let notes = recorder.notes();
        let [Note::Failed(e)] = &notes[..] else {
            panic!("{notes:?}");
        };
        assert!(e.to_string().contains("mode 0666"), "{e}");
        let mut tracker = Tracker::default();
        recorder.record(&beats(
            &mut tracker,
            &["a".into()],
            unix_now(),
            &json!(null),
        ));
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o600)).unwrap();
        // Tried again every few seconds, said once.
        let notes = wait_note(&mut recorder, |n| matches!(n, Note::Recording { .. }));
        assert!(
            notes.iter().all(|n| !matches!(n, Note::Failed(_))),
            "{notes:?}"
        );
        let recording = notes.last().unwrap();
        assert!(
            matches!(recording, Note::Recording { missed: 2, .. }),
            "{recording}"
        );
        assert!(
            recording
                .to_string()
                .contains("2 beats and transitions were not recorded")
        );
        assert!(beat_times(&path, "a").is_empty());
    }

    #[test]
    fn a_database_made_writable_by_others_while_recording_is_refused_from_then_on() {
        let (_dir, path, mut recorder) = recording();
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o666)).unwrap();
        let notes = wait_note(&mut recorder, |n| matches!(n, Note::Failed(_)));
        let failed = notes.iter().find(|n| matches!(n, Note::Failed(_))).unwrap();
        assert!(failed.to_string().contains("mode 0666"), "{failed}");
        let mut tracker = Tracker::default();
        recorder.record(&beats(
            &mut tracker,
            &["a".into()],
            unix_now(),
            &json!(null),
        ));
        let notes = recorder.finish();
        assert!(notes.iter().all(|n| !n.is_trouble()), "{notes:?}");
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o600)).unwrap();
        assert!(beat_times(&path, "a").is_empty());
    }

    #[test]
    fn old_rows_are_pruned_as_recording_starts_and_a_stop_says_what_it_could_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let mut tracker = Tracker::default();
        let now = unix_now();
        let (mut history, _) = History::open(&path).unwrap();
        history
            .insert(&Batch::of(&beats(
                &mut tracker,
                &["old".into()],
                now - 7200.0,
                &json!(null),
            )))
            .unwrap();
        drop(history);
        let mut recorder = claim(&path);
        let notes = wait_note(&mut recorder, |n| matches!(n, Note::Pruned { .. }));
        assert!(
            notes.iter().any(|n| matches!(
                n,
                Note::Pruned {
                    pruned: Pruned { beats: 1, .. },
                    ..
                }
            )),
            "{notes:?}"
        );

        let _holder = lock_exclusively(&path);
        recorder.record(&beats(&mut tracker, &["new".into()], now, &json!(null)));
        let notes = recorder.finish();
        let last = notes.last().unwrap();
        assert!(matches!(last, Note::Finished { unwritten: 2 }), "{notes:?}");
        assert!(last.is_trouble());
    }
}
