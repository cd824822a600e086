//! The UI's reads of the history database, for the screen (the history tab, the detail
//! pane): on a connection of its own that never waits for a lock (a read that would is an
//! error shown once, and tried again), at most every few seconds. Whoever records —
//! `hbmon serve`, or this UI's own engine when no serve runs — this only reads.

use std::path::PathBuf;

use super::recent::{LOG_LINES, Recent};
use crate::history::{History, HistoryError};

/// The history on screen is at most this old (seconds)…
const READ_EVERY: f64 = 5.0;
/// …and after a change it is read again once this much has passed since the last read, so
/// a storm of beats does not turn into a query per redraw.
const READ_GAP: f64 = 1.0;

/// The database, as the screen reads it.
pub struct Reader {
    database: PathBuf,
    /// Where supervised processes' logs are (`logs/` beside the history).
    logs: PathBuf,
    /// Opened once there is a database, and again when its file was replaced.
    history: Option<History>,
    last_read: f64,
    /// The selection the last read was for.
    read_for: Option<String>,
    changed: bool,
}

impl Reader {
    pub fn new(database: PathBuf, logs: PathBuf) -> Reader {
        Reader {
            database,
            logs,
            history: None,
            last_read: f64::NEG_INFINITY,
            read_for: None,
            changed: false,
        }
    }

    /// Something changed that the history will have: read again soon.
    pub fn changed(&mut self) {
        self.changed = true;
    }

    /// A fresh read for the screen when the last one is stale, the selection moved, or
    /// something changed; `None` when the last read still stands, or there is no database
    /// yet.
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
        // Deleted or replaced (the recorder opens the new one): read that one.
        if self.history.as_ref().is_some_and(|h| h.moved().is_some()) {
            self.history = None;
        }
        if self.history.is_none() {
            match History::open_existing(&self.database, std::time::Duration::ZERO) {
                Ok(history) => self.history = Some(history),
                Err(e) if e.is_absent() => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let history = self.history.as_ref()?;
        let mut recent = Recent::read(history, selected, now);
        // The log's tail with the history: a small read from the end of a regular file
        // (never a FIFO, never through a link), at the history's pace.
        if let Ok(Recent {
            selected: Some(selected),
            ..
        }) = &mut recent
        {
            let path = crate::supervise::log::path(&self.logs, &selected.name);
            selected.log = crate::supervise::log::read::tail(&path, LOG_LINES);
        }
        Some(recent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Tracker;
    use crate::changes::tests::{report, row};
    use crate::health::State;

    fn record(path: &std::path::Path, name: &str, beat: f64) {
        let (mut history, _) = History::open(path).unwrap();
        let changes =
            Tracker::default().observe(&report(beat, vec![row(name, State::Up, Some(beat))]));
        history
            .insert(&crate::history::Batch::of(&changes))
            .unwrap();
    }

    #[test]
    fn the_screen_reads_the_history_and_a_log_tail_on_a_connection_of_its_own_even_while_another_writes()
     {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let mut reader = Reader::new(path.clone(), dir.path().join("logs"));
        assert!(reader.read(Some("a"), 100.0).is_none(), "no database yet");
        record(&path, "a", 100.0);
        // Within READ_EVERY, nothing new: the last read stands.
        assert!(reader.read(Some("a"), 101.0).is_none());
        reader.changed();
        let recent = reader.read(Some("a"), 102.0).unwrap().unwrap();
        let selected = recent.selected.unwrap();
        assert_eq!(selected.beats, [100.0]);
        assert!(selected.log.is_empty(), "no log: none shown");
        // A supervised process's log: its last lines come with the history.
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        let lines = (1..=9)
            .map(|i| format!("line {i}\n"))
            .collect::<Vec<_>>()
            .concat();
        std::fs::write(dir.path().join("logs/a.log"), lines).unwrap();
        let recent = reader.read(Some("b"), 103.0).unwrap().unwrap();
        assert!(recent.selected.unwrap().log.is_empty(), "another's log");
        let recent = reader.read(Some("a"), 104.0).unwrap().unwrap();
        let shown = recent.selected.unwrap().log;
        assert_eq!(shown.len(), LOG_LINES);
        assert_eq!(shown.last().map(String::as_str), Some("line 9"));

        // Another program holds the write lock: the screen's reads go on.
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        assert!(reader.read(None, 110.0).unwrap().is_ok());
        holder.execute_batch("COMMIT").unwrap();
    }

    #[test]
    fn a_replaced_database_is_read_anew() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        record(&path, "old", 100.0);
        let mut reader = Reader::new(path.clone(), dir.path().join("logs"));
        let first = reader.read(Some("old"), 100.0).unwrap().unwrap();
        assert!(first.selected.is_some_and(|s| s.beats == [100.0]));
        std::fs::remove_file(&path).unwrap();
        record(&path, "new", 200.0);
        let again = reader.read(Some("new"), 200.0).unwrap().unwrap();
        assert!(
            again.selected.is_some_and(|s| s.beats == [200.0]),
            "read the new file"
        );
    }
}
