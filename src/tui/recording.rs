//! The UI's link to the history database: it records, as `hbmon serve` does, while it holds
//! the recorder's lock (no `serve` runs), and only reads otherwise; either way it reads the
//! history back for the screen, on a connection of its own that never waits for a lock, at
//! most every few seconds. Recording goes through the shared [`Recorder`], whose writes
//! never hold up the loop.

use std::path::PathBuf;
use std::time::Duration;

use super::recent::Recent;
use crate::changes::{Changes, Seen};
use crate::history::{self, History, HistoryError, Note, Recorder};

/// The history on screen is at most this old (seconds)…
const READ_EVERY: f64 = 5.0;
/// …and after a change it is read again once this much has passed since the last read, so
/// a storm of beats does not turn into a query per redraw.
const READ_GAP: f64 = 1.0;

/// The database, as recorder or reader.
pub struct Recording {
    database: PathBuf,
    keep: Duration,
    recorder: Option<Recorder>,
    /// For reading, recording or not: reads stay on the loop, and never wait for a lock
    /// (a read that would is an error shown once, and tried again).
    reader: Option<History>,
    last_read: f64,
    /// When a reader last tried to take over recording.
    last_connect: f64,
    /// The selection the last read was for.
    read_for: Option<String>,
    changed: bool,
}

/// What became of the history since the last [`Recording::poll`].
#[derive(Debug, Default)]
pub struct Heard {
    /// What the database knew of each process, to seed the monitor's view.
    pub seen: Vec<(String, Seen)>,
    /// What the recorder says, to show.
    pub notes: Vec<Note>,
}

impl Recording {
    /// The link to the database at `database` (keeping `keep` of history when recording);
    /// the first [`Recording::poll`] connects, waiting briefly for the database to open so
    /// that the first report already knows each process's state.
    pub fn start(database: PathBuf, keep: Duration) -> Recording {
        Recording {
            database,
            keep,
            recorder: None,
            reader: None,
            last_read: f64::NEG_INFINITY,
            last_connect: f64::NEG_INFINITY,
            read_for: None,
            changed: false,
        }
    }

    /// Keeps the link going: takes over recording when no one else records (tried every
    /// few seconds: a `serve` that stopped), opens the reader once there is a database (and
    /// again when its file was replaced), and says what became of the history meanwhile.
    pub fn poll(&mut self, now: f64) -> Result<Heard, HistoryError> {
        let mut heard = Heard::default();
        if self.recorder.is_none() && now >= self.last_connect + READ_EVERY {
            // The first try, at start, before the first report.
            let wait = if self.last_connect.is_infinite() {
                history::OPEN_WAIT
            } else {
                Duration::ZERO
            };
            self.last_connect = now;
            self.recorder = Recorder::claim(&self.database, self.keep, wait)?;
        }
        if let Some(recorder) = &mut self.recorder {
            for note in recorder.notes() {
                match note {
                    Note::Recording { seen, .. } => {
                        heard.seen.extend(seen);
                        // Perhaps a new file (the old one deleted): read that one.
                        self.reader = None;
                    }
                    other => heard.notes.push(other),
                }
            }
        }
        if self.reader.as_ref().is_some_and(|r| r.moved().is_some()) {
            self.reader = None;
        }
        if self.reader.is_none() {
            match History::open_existing(&self.database, Duration::ZERO) {
                Ok(reader) => {
                    if self.recorder.is_none() {
                        heard.seen.extend(reader.last_seen()?);
                    }
                    self.reader = Some(reader);
                }
                Err(e) if e.is_absent() => {}
                // While recording, the recorder's notes say what is wrong with the file.
                Err(_) if self.recorder.is_some() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(heard)
    }

    /// Hands `changes` to the recorder when this monitor is it; never waits.
    pub fn record(&mut self, changes: &Changes) {
        self.changed |= !changes.is_empty();
        if let Some(recorder) = &mut self.recorder {
            recorder.record(changes);
        }
    }

    /// A fresh read for the screen when the last one is stale, the selection moved, or
    /// something changed; `None` when the last read still stands.
    pub fn read(
        &mut self,
        selected: Option<&str>,
        now: f64,
    ) -> Option<Result<Recent, HistoryError>> {
        let stale = now >= self.last_read + READ_EVERY;
        let moved = self.read_for.as_deref() != selected;
        let changed = self.changed && now >= self.last_read + READ_GAP;
        if !(stale || moved || changed) {
            return None;
        }
        self.last_read = now;
        self.read_for = selected.map(str::to_owned);
        self.changed = false;
        let history = self.reader.as_ref()?;
        Some(Recent::read(history, selected, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Tracker;
    use crate::changes::tests::{report, row};
    use crate::health::State;
    use std::time::Instant;

    /// Polls until `done` says the answer is in (the recorder writes on a thread).
    fn until(recording: &mut Recording, mut done: impl FnMut(&mut Recording, &Heard) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let heard = recording.poll(crate::store::unix_now()).unwrap();
            if done(recording, &heard) {
                return;
            }
            assert!(Instant::now() < deadline, "{heard:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn the_ui_records_through_the_recorder_and_reads_on_a_connection_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let mut recording = Recording::start(path.clone(), Duration::from_secs(3600));
        let heard = recording.poll(100.0).unwrap();
        // The recorder's "recording" note becomes the seed; nothing else to show.
        assert!(heard.seen.is_empty() && heard.notes.is_empty(), "{heard:?}");
        assert!(recording.recorder.is_some());

        let now = crate::store::unix_now();
        let changes =
            Tracker::default().observe(&report(now, vec![row("a", State::Up, Some(now))]));
        recording.record(&changes);
        until(&mut recording, |recording, _| {
            recording.last_read = f64::NEG_INFINITY;
            recording
                .read(Some("a"), now)
                .and_then(Result::ok)
                .is_some_and(|recent| recent.selected.is_some_and(|s| s.beats == [now]))
        });

        // Another program locks the database: the UI is told, and its reads go on.
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        recording.record(
            &Tracker::default().observe(&report(now + 1.0, vec![row("b", State::Up, Some(now))])),
        );
        until(&mut recording, |_, heard| {
            heard
                .notes
                .iter()
                .any(|n| matches!(n, Note::Busy { .. }) && n.is_trouble())
        });
        recording.last_read = f64::NEG_INFINITY;
        assert!(recording.read(None, now).unwrap().is_ok());
        holder.execute_batch("COMMIT").unwrap();
        until(&mut recording, |_, heard| {
            heard.notes.iter().any(|n| matches!(n, Note::Free { .. }))
        });
    }

    #[test]
    fn a_ui_that_only_reads_is_seeded_from_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (mut history, _) = History::open(&path).unwrap();
        let changes =
            Tracker::default().observe(&report(5.0, vec![row("a", State::Dead, Some(4.0))]));
        history
            .insert(&crate::history::Batch::of(&changes))
            .unwrap();
        drop(history);
        // `hbmon serve` records: it holds the recorder's lock.
        let serve = crate::history::try_lock_sidecar(&crate::paths::lock_path(&path))
            .unwrap()
            .unwrap();
        let mut recording = Recording::start(path.clone(), Duration::from_secs(3600));
        let heard = recording.poll(100.0).unwrap();
        assert!(recording.recorder.is_none());
        assert_eq!(heard.seen.len(), 1, "{heard:?}");
        assert_eq!(heard.seen[0].1.state, Some(State::Dead));
        drop(serve);
    }
}
