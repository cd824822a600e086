//! The UI's link to the history database: it records, as `hbmon serve` does, while it holds
//! the recorder's lock (no `serve` runs), and only reads otherwise; either way it reads the
//! history back for the screen at most every few seconds.

use std::path::PathBuf;
use std::time::Duration;

use super::recent::Recent;
use crate::changes::{Changes, Seen};
use crate::history::{History, HistoryError, Recorder};

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
    reader: Option<History>,
    last_read: f64,
    /// When a reader last tried to take over recording.
    last_connect: f64,
    /// The selection the last read was for.
    read_for: Option<String>,
    changed: bool,
}

impl Recording {
    /// Opens the database at `database` (keeping `keep` of history when recording) and
    /// returns what it last knew of each process.
    pub fn start(
        database: PathBuf,
        keep: Duration,
    ) -> (Recording, Result<Vec<(String, Seen)>, HistoryError>) {
        let mut recording = Recording {
            database,
            keep,
            recorder: None,
            reader: None,
            last_read: f64::NEG_INFINITY,
            last_connect: f64::NEG_INFINITY,
            read_for: None,
            changed: false,
        };
        let seen = recording.connect().and_then(|()| {
            recording
                .history()
                .map_or(Ok(Vec::new()), History::last_seen)
        });
        (recording, seen)
    }

    /// Becomes the recorder if the lock is free, else a reader of whatever exists.
    fn connect(&mut self) -> Result<(), HistoryError> {
        if self.recorder.is_some() {
            return Ok(());
        }
        if let Some(recorder) = Recorder::claim(&self.database, self.keep)? {
            self.recorder = Some(recorder);
            self.reader = None;
            return Ok(());
        }
        if self.reader.is_none() {
            self.reader = match History::open_existing(&self.database) {
                Ok(history) => Some(history),
                // `serve` holds the lock but has not created the database yet.
                Err(HistoryError::Missing { .. }) => None,
                Err(e) => return Err(e),
            };
        }
        Ok(())
    }

    fn history(&self) -> Option<&History> {
        self.recorder
            .as_ref()
            .map(Recorder::history)
            .or(self.reader.as_ref())
    }

    /// Records `changes` seen at `now` when this monitor is the recorder.
    pub fn record(&mut self, changes: &Changes, now: f64) -> Result<(), HistoryError> {
        self.changed |= !changes.is_empty();
        match &mut self.recorder {
            Some(recorder) => recorder.record(changes, now).map(|_| ()),
            None => Ok(()),
        }
    }

    /// A reader tries, every few seconds, to take over recording once the recorder (a
    /// `serve` that stopped) is gone.
    pub fn keep_recording(&mut self, now: f64) -> Result<(), HistoryError> {
        if self.recorder.is_some() || now < self.last_connect + READ_EVERY {
            return Ok(());
        }
        self.last_connect = now;
        self.connect()
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
        let history = self.history()?;
        Some(Recent::read(history, selected, now))
    }
}
