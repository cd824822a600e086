//! The recorder's thread: it owns the database connection and writes what the loop queues,
//! waiting out a lock another program holds (the changes wait, up to the queue's bound),
//! noticing a database deleted or replaced under it, retrying one it refused every few
//! seconds, and pruning old rows hourly — all off the monitor's loop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::note::{FLUSH_GRACE, Note, QUEUE_BYTES};
use super::{Batch, History, HistoryError, Pruned, open};
use crate::clock::unix_now;

/// How long SQLite waits, inside one call, for a lock another connection holds. Only this
/// thread waits; the loop never does.
pub(super) const BUSY_WAIT: Duration = Duration::from_millis(250);

/// While something waits to be written, how long between tries.
const RETRY: Duration = Duration::from_millis(250);

/// How often the path is looked at (one `lstat`) to notice the file deleted or replaced.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// How often a database that could not be opened (refused, or failing) is tried again.
const REOPEN_EVERY: Duration = Duration::from_secs(5);

/// How often old rows are pruned (seconds).
const PRUNE_EVERY: f64 = 3600.0;

/// What the loop sends.
pub(super) enum Msg {
    Record(Batch),
    /// Write what waits until `deadline`, then end (releasing the lock).
    Stop {
        deadline: Instant,
    },
}

/// What went wrong last, so that a lasting trouble is said once.
#[derive(Debug, PartialEq)]
enum Trouble {
    None,
    Busy,
    /// The message said.
    Failed(String),
}

pub(super) struct Writer {
    path: PathBuf,
    keep: Duration,
    /// Held, never read: the recorder's lock, released as the thread ends.
    lock: Option<File>,
    messages: Receiver<Msg>,
    notes: Sender<Note>,
    /// Bytes queued and not yet written, shared with the loop's side.
    waiting: Arc<AtomicUsize>,
    db: Option<History>,
    /// Waiting to be written, and its share of `waiting`.
    pending: Batch,
    pending_bytes: usize,
    /// Written since the file was last seen in place: written again if it turns out to
    /// have been deleted or replaced meanwhile.
    recent: Batch,
    recent_bytes: usize,
    /// The last open failed for a reason other than a lock: what arrives is not kept.
    refused: bool,
    /// Rows not kept while refused.
    missed: usize,
    trouble: Trouble,
    next_open: Instant,
    next_check: Instant,
    next_prune: f64,
}

impl Writer {
    pub(super) fn new(
        path: &Path,
        keep: Duration,
        lock: File,
        messages: Receiver<Msg>,
        notes: Sender<Note>,
        waiting: Arc<AtomicUsize>,
    ) -> Writer {
        let now = Instant::now();
        Writer {
            path: path.to_owned(),
            keep,
            lock: Some(lock),
            messages,
            notes,
            waiting,
            db: None,
            pending: Batch::default(),
            pending_bytes: 0,
            recent: Batch::default(),
            recent_bytes: 0,
            refused: false,
            missed: 0,
            trouble: Trouble::None,
            next_open: now,
            next_check: now,
            next_prune: f64::NEG_INFINITY,
        }
    }

    /// Runs until told to stop, or until the loop's side is gone.
    pub(super) fn run(mut self) {
        self.work();
        loop {
            let idle = self.pending.is_empty() && self.db.is_some();
            let stop = match self
                .messages
                .recv_timeout(if idle { CHECK_EVERY } else { RETRY })
            {
                Ok(msg) => {
                    // Everything queued meanwhile goes into one transaction.
                    std::iter::once(msg)
                        .chain(self.messages.try_iter().collect::<Vec<_>>())
                        .fold(None, |stop, msg| self.take(msg).or(stop))
                }
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Instant::now() + FLUSH_GRACE),
            };
            if let Some(deadline) = stop {
                return self.stop(deadline);
            }
            self.work();
        }
    }

    /// Takes one message; `Some(deadline)` for a stop.
    fn take(&mut self, msg: Msg) -> Option<Instant> {
        match msg {
            Msg::Record(batch) => {
                let bytes = batch.bytes();
                if self.refused {
                    self.missed += batch.rows();
                    self.waiting.fetch_sub(bytes, Ordering::Relaxed);
                } else {
                    self.pending.append(batch);
                    self.pending_bytes += bytes;
                }
                None
            }
            Msg::Stop { deadline } => Some(deadline),
        }
    }

    fn work(&mut self) {
        let now = Instant::now();
        if self.db.is_none() {
            if now >= self.next_open {
                self.open(now);
            }
        } else if now >= self.next_check {
            self.check(now);
        }
        if self.db.is_some() && !self.pending.is_empty() {
            self.write(now);
        }
        if self.db.is_some() && unix_now() >= self.next_prune {
            self.prune();
        }
    }

    fn open(&mut self, now: Instant) {
        let opened = History::open(&self.path).and_then(|(history, repairs)| {
            let seen = history.last_seen()?;
            let flips = history.last_flips()?;
            Ok((history, repairs, seen, flips))
        });
        match opened {
            Ok((history, repairs, seen, flips)) => {
                for repair in repairs {
                    self.note(Note::Repaired(repair));
                }
                self.refused = false;
                self.trouble = Trouble::None;
                let missed = std::mem::take(&mut self.missed);
                self.note(Note::Recording {
                    path: self.path.clone(),
                    keep: self.keep,
                    seen,
                    flips,
                    missed,
                });
                self.db = Some(history);
                self.next_check = now + CHECK_EVERY;
            }
            Err(e) if e.is_busy() => {
                self.busy();
                self.next_open = now + RETRY;
            }
            Err(e) => self.refuse(e, now),
        }
    }

    /// Says why the database is not to be written, and keeps nothing until it is again.
    fn refuse(&mut self, e: HistoryError, now: Instant) {
        self.failed(e);
        self.refused = true;
        self.missed += self.pending.rows();
        self.pending = Batch::default();
        self.forget_pending();
        self.next_open = now + REOPEN_EVERY;
    }

    /// Notices the file deleted or replaced under the connection: what was written into
    /// the old one since the last look is written again, into the file now at the path.
    /// A file made writable by others (or given away) since it was opened is refused from
    /// then on, as it would have been at the start.
    fn check(&mut self, now: Instant) {
        self.next_check = now + CHECK_EVERY;
        let Some(moved) = self.db.as_ref().and_then(History::moved) else {
            self.recent = Batch::default();
            self.recent_bytes = 0;
            if let Err(e) = open::still_trusted(&self.path) {
                self.db = None;
                self.refuse(e, now);
            }
            return;
        };
        self.note(Note::Moved {
            path: self.path.clone(),
            moved,
            again: self.recent.rows(),
        });
        let recent = std::mem::take(&mut self.recent);
        self.pending.append(recent);
        self.pending_bytes += self.recent_bytes;
        self.waiting.fetch_add(self.recent_bytes, Ordering::Relaxed);
        self.recent_bytes = 0;
        self.db = None;
        self.open(now);
    }

    fn write(&mut self, now: Instant) {
        let Some(db) = &mut self.db else {
            return;
        };
        match db.insert(&self.pending) {
            Ok(()) => {
                let written = self.pending.rows();
                if self.trouble == Trouble::Busy {
                    self.note(Note::Free {
                        path: self.path.clone(),
                        written,
                    });
                }
                self.trouble = Trouble::None;
                self.recent.append(std::mem::take(&mut self.pending));
                self.recent_bytes += self.pending_bytes;
                if self.recent_bytes > QUEUE_BYTES {
                    // Too much to keep for a second write: a deletion noticed now loses it.
                    self.recent = Batch::default();
                    self.recent_bytes = 0;
                }
                self.forget_pending();
            }
            Err(e) if e.is_busy() => self.busy(),
            // Kept, and tried again on a fresh connection: one that fails to open refuses
            // what waits, one that opens writes it.
            Err(e) => {
                self.failed(e);
                self.db = None;
                self.next_open = now + REOPEN_EVERY;
            }
        }
    }

    fn prune(&mut self) {
        let Some(db) = &mut self.db else {
            return;
        };
        let now = unix_now();
        match db.prune(now - self.keep.as_secs_f64()) {
            Ok(pruned) => {
                self.next_prune = now + PRUNE_EVERY;
                if self.trouble == Trouble::Busy {
                    self.trouble = Trouble::None;
                    self.note(Note::Free {
                        path: self.path.clone(),
                        written: 0,
                    });
                }
                if pruned != Pruned::default() {
                    self.note(Note::Pruned {
                        pruned,
                        keep: self.keep,
                    });
                }
            }
            Err(e) if e.is_busy() => self.busy(),
            Err(e) => {
                self.next_prune = now + PRUNE_EVERY;
                self.failed(e);
            }
        }
    }

    /// Writes what waits until `deadline`, then says how much could not be.
    fn stop(mut self, deadline: Instant) {
        while !self.pending.is_empty() && !self.refused {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if self.db.is_none() {
                self.open(now);
            }
            self.write(now);
            if !self.pending.is_empty() {
                std::thread::sleep(RETRY.min(deadline.saturating_duration_since(now)));
            }
        }
        let unwritten = self.pending.rows();
        self.forget_pending();
        // Released before saying so: whoever waits for the note may claim the lock next.
        self.db = None;
        drop(self.lock.take());
        self.note(Note::Finished { unwritten });
    }

    /// `pending` is written or given up: its bytes no longer count against the queue.
    fn forget_pending(&mut self) {
        self.waiting
            .fetch_sub(std::mem::take(&mut self.pending_bytes), Ordering::Relaxed);
    }

    fn busy(&mut self) {
        if self.trouble != Trouble::Busy {
            self.trouble = Trouble::Busy;
            self.note(Note::Busy {
                path: self.path.clone(),
            });
        }
    }

    fn failed(&mut self, e: HistoryError) {
        let message = e.to_string();
        if self.trouble != Trouble::Failed(message.clone()) {
            self.trouble = Trouble::Failed(message);
            self.note(Note::Failed(e));
        }
    }

    fn note(&self, note: Note) {
        // The loop's side may be gone (the monitor stopping): nobody to tell.
        let _ = self.notes.send(note);
    }
}
