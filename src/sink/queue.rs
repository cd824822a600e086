//! The sink's one table of pending changes, by heartbeat name, and the thread that flushes
//! it: once per [`TICK`] at most, one lock, one read and one atomic write of the file for
//! all of them ([`Store::write_entries`]). A name's changes are applied in the order they
//! came, each to the entry the one before it made, so that a tick's beats fold into one
//! entry exactly as writing them one by one would have; the file's other entries — written
//! by anyone — are kept as they are.
//!
//! A change that waits for its entry (an HTTP ping answers with what it wrote, a request
//! with `wait`) ends the tick at once: its flush carries everything queued so far, and what
//! comes in while the file is written goes with the next (a group commit). So pings under
//! load cost one write per flush, not one per ping, and none waits for the tick.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::unix_now;
use crate::store::{Entry, Store, StoreError};

/// The longest a queued beat waits for the file: what a crash of `hbmon serve` can lose.
pub const TICK: Duration = Duration::from_millis(250);

/// How many changes may wait at once; one more is refused ([`SinkError::Busy`]) and its
/// writer writes the file itself. A file whose lock is held for long fills it.
pub const MAX_PENDING: usize = 100_000;

/// Why the sink did not take, or could not write, a change.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    #[error("the beat sink is full ({MAX_PENDING} beats waiting for the file): try again later")]
    Busy,
    #[error("hbmon serve is stopping: the beat sink takes no more beats")]
    Stopping,
    /// The flush failed: every change of the tick is told, and none is retried (its
    /// writer hears of it, as it would have from its own write).
    #[error(transparent)]
    Store(Arc<StoreError>),
}

impl SinkError {
    /// Whether trying again later may work (an API answers 503): the sink is full or
    /// stopping, or the file's lock was held past the timeout.
    pub fn is_busy(&self) -> bool {
        match self {
            SinkError::Busy | SinkError::Stopping => true,
            SinkError::Store(e) => matches!(**e, StoreError::LockTimeout { .. }),
        }
    }
}

/// What a change does to its entry: given the entry as it is, the new one, or `None` to
/// leave it.
type Apply = Box<dyn FnOnce(Option<Entry>) -> Option<Entry> + Send>;
/// Where a waiting change hears what its flush wrote.
type Done = mpsc::Sender<Result<Option<Entry>, SinkError>>;
/// Where a waiting change's writer hears what its flush wrote ([`Sink::submit`]).
pub type Flushed = mpsc::Receiver<Result<Option<Entry>, SinkError>>;

struct Change {
    apply: Apply,
    done: Option<Done>,
}

#[derive(Default)]
struct Pending {
    /// The changes by name, in the order they came; `order` has each name once, in the
    /// order its first change came (the file's new entries are appended in that order).
    by_name: HashMap<String, Vec<Change>>,
    order: Vec<String>,
    count: usize,
    /// When the oldest pending change came: the tick ends [`TICK`] after it.
    since: Option<Instant>,
    /// A change waits for its entry: flush now.
    urgent: bool,
    stopping: bool,
}

struct Shared {
    store: Store,
    pending: Mutex<Pending>,
    wake: Condvar,
}

/// The running sink: its table and the thread that flushes it. [`Sink::stop`] flushes
/// what is pending before it returns; dropping it does too.
pub struct Sink {
    shared: Arc<Shared>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("file", &self.shared.store.path())
            .finish_non_exhaustive()
    }
}

impl Sink {
    /// Starts the flushing thread of a sink writing through `store`.
    pub fn start(store: Store) -> std::io::Result<Sink> {
        let shared = Arc::new(Shared {
            store,
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
        });
        let flusher = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("hbmon-sink".into())
                .spawn(move || shared.run())?
        };
        Ok(Sink {
            shared,
            flusher: Mutex::new(Some(flusher)),
        })
    }

    /// The file it writes.
    pub fn file(&self) -> &std::path::Path {
        self.shared.store.path()
    }

    /// Queues `apply` for `name`'s entry, written within a [`TICK`]; `Ok` once queued.
    pub fn queue(
        &self,
        name: &str,
        apply: impl FnOnce(Option<Entry>) -> Option<Entry> + Send + 'static,
    ) -> Result<(), SinkError> {
        self.shared.push(name, Box::new(apply), None)
    }

    /// Queues `apply` for `name`'s entry and waits for the flush that writes it, which it
    /// hastens: the entry written, or `None` if `apply` left it.
    pub fn write(
        &self,
        name: &str,
        apply: impl FnOnce(Option<Entry>) -> Option<Entry> + Send + 'static,
    ) -> Result<Option<Entry>, SinkError> {
        heard(&self.submit(name, apply)?)
    }

    /// Queues `apply` for `name`'s entry and hastens the flush that writes it, without
    /// waiting for it: what that flush wrote comes on the receiver ([`heard`]). A client
    /// that sends many such changes at once has them all ride one flush.
    pub fn submit(
        &self,
        name: &str,
        apply: impl FnOnce(Option<Entry>) -> Option<Entry> + Send + 'static,
    ) -> Result<Flushed, SinkError> {
        let (tx, rx) = mpsc::channel();
        self.shared.push(name, Box::new(apply), Some(tx))?;
        Ok(rx)
    }

    /// Takes no more changes, writes those pending, and ends the flushing thread; returns
    /// once they are in the file (SIGTERM's flush).
    pub fn stop(&self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_all();
        let flusher = (self.flusher.lock())
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(flusher) = flusher {
            let _ = flusher.join();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Plain data, changed in whole steps: a panic elsewhere cannot leave it torn.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, name: &str, apply: Apply, done: Option<Done>) -> Result<(), SinkError> {
        let mut pending = self.lock();
        if pending.stopping {
            return Err(SinkError::Stopping);
        }
        if pending.count >= MAX_PENDING {
            return Err(SinkError::Busy);
        }
        pending.urgent |= done.is_some();
        pending.count += 1;
        pending.since.get_or_insert_with(Instant::now);
        let change = Change { apply, done };
        if let Some(changes) = pending.by_name.get_mut(name) {
            changes.push(change);
        } else {
            pending.order.push(name.to_owned());
            pending.by_name.insert(name.to_owned(), vec![change]);
        }
        drop(pending);
        self.wake.notify_all();
        Ok(())
    }

    /// The flushing thread: waits for a tick's worth of changes, writes them, and again,
    /// until stopped with nothing pending.
    fn run(&self) {
        while let Some(batch) = self.next_batch() {
            self.flush(batch);
        }
    }

    /// The changes of the tick that ends now, in order; `None` once stopping with none left.
    fn next_batch(&self) -> Option<Vec<(String, Vec<Change>)>> {
        let mut pending = self.lock();
        loop {
            match pending.since {
                None if pending.stopping => return None,
                None => {
                    pending = self
                        .wake
                        .wait(pending)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(since) => {
                    let left = (since + TICK).saturating_duration_since(Instant::now());
                    if pending.urgent || pending.stopping || left.is_zero() {
                        break;
                    }
                    pending = (self.wake.wait_timeout(pending, left))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        let taken = std::mem::take(&mut *pending);
        pending.stopping = taken.stopping;
        drop(pending);
        let mut by_name = taken.by_name;
        Some(
            (taken.order.into_iter())
                .filter_map(|name| by_name.remove(&name).map(|changes| (name, changes)))
                .collect(),
        )
    }

    /// Writes one tick's changes in one transaction, then tells each waiting change what
    /// its entry became.
    fn flush(&self, batch: Vec<(String, Vec<Change>)>) {
        let mut told: Vec<Vec<(Option<Done>, Option<Entry>)>> = Vec::with_capacity(batch.len());
        let mut writes = Vec::with_capacity(batch.len());
        for (name, changes) in batch {
            let (applies, dones): (Vec<Apply>, Vec<Option<Done>>) =
                changes.into_iter().map(|c| (c.apply, c.done)).unzip();
            told.push(dones.into_iter().map(|done| (done, None)).collect());
            writes.push((name, applies));
        }
        let changes = writes
            .into_iter()
            .zip(told.iter_mut())
            .map(|((name, applies), told)| {
                let fold = move |previous: Option<Entry>| fold(applies, previous, told);
                (name, fold)
            })
            .collect();
        match self.store.write_entries(unix_now(), changes) {
            Ok(written) => {
                for (result, told) in written.into_iter().zip(told) {
                    let refused = result.err().map(|e| SinkError::Store(Arc::new(e)));
                    tell(told, refused.as_ref());
                }
            }
            Err(e) => {
                // The monitor's log is where a failing write is looked for.
                eprintln!("sink: cannot write {}: {e}", self.store.path().display());
                let failed = SinkError::Store(Arc::new(e));
                for told in told {
                    tell(told, Some(&failed));
                }
            }
        }
    }
}

/// What the flush of a [`Sink::submit`]ted change wrote: the entry, `None` if the change
/// left it, or why it is not in the file.
pub fn heard(flushed: &Flushed) -> Result<Option<Entry>, SinkError> {
    // The flusher answers every change it takes, even when its write fails; a flusher
    // gone (it panicked) drops the sender.
    flushed.recv().unwrap_or(Err(SinkError::Stopping))
}

/// Applies a name's `applies` in order to `previous`, noting in `told` what each one made
/// of the entry (`None`: it left it); the entry after the last, if any changed it.
fn fold(
    applies: Vec<Apply>,
    previous: Option<Entry>,
    told: &mut [(Option<Done>, Option<Entry>)],
) -> Option<Entry> {
    let mut entry = previous;
    let mut changed = false;
    for (apply, (_, made)) in applies.into_iter().zip(told.iter_mut()) {
        if let Some(next) = apply(entry.clone()) {
            *made = Some(next.clone());
            entry = Some(next);
            changed = true;
        }
    }
    entry.filter(|_| changed)
}

/// Tells a name's waiting changes what their flush did: each the entry it made, or the
/// error that kept it from the file.
fn tell(told: Vec<(Option<Done>, Option<Entry>)>, failed: Option<&SinkError>) {
    for (done, made) in told {
        if let Some(done) = done {
            let _ = done.send(failed.map_or(Ok(made), |e| Err(e.clone())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Beat;

    fn temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("hb.json"));
        (dir, store)
    }

    #[test]
    fn beats_queued_in_one_tick_fold_as_if_written_one_by_one() {
        let (_dir, store) = temp();
        let direct = Store::new(store.path().with_file_name("direct.json"));
        let sink = Sink::start(store.clone()).unwrap();
        let mut error = Beat::alive(Some(4));
        error.status = crate::store::Reported::Error;
        error.error = Some("boom".into());
        let beats = [
            Beat::alive(Some(4)),
            error,
            Beat::alive(Some(4)),
            Beat::alive(Some(5)),
        ];
        for (i, beat) in beats.iter().enumerate() {
            let now = 100.0 + i as f64;
            direct.beat_at("w", beat, now).unwrap();
            let beat = beat.clone();
            sink.queue("w", move |previous| Some(beat.apply(previous, now)))
                .unwrap();
        }
        sink.stop();
        let folded = crate::store::read(store.path()).unwrap();
        let one_by_one = crate::store::read(direct.path()).unwrap();
        assert_eq!(folded.get("w"), one_by_one.get("w"));
        assert_eq!(
            folded.get("w").unwrap().beats,
            Some(1),
            "pid 5 started afresh"
        );
    }

    #[test]
    fn a_waiting_change_hears_its_entry_and_others_are_kept_byte_for_byte() {
        let (_dir, store) = temp();
        let theirs =
            r#"{"version": 1, "processes": {"theirs": {"last_heartbeat": 1, "x": [1, 2.50]}}}"#;
        std::fs::write(store.path(), theirs).unwrap();
        let sink = Sink::start(store.clone()).unwrap();
        let entry = (sink.write("mine", |p| Some(Beat::alive(None).apply(p, 9.0))))
            .unwrap()
            .unwrap();
        assert_eq!(entry.last_heartbeat, 9.0);
        let left = sink.write("mine", |_| None).unwrap();
        assert_eq!(left, None, "a change that writes nothing says so");
        drop(sink);
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(
            text.contains(r#""theirs": {"last_heartbeat": 1, "x": [1, 2.50]}"#),
            "{text}"
        );
    }

    #[test]
    fn a_failed_flush_tells_every_waiter_and_a_stopped_sink_takes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("gone").join("hb.json"));
        let sink = Sink::start(store).unwrap();
        let err = sink
            .write("w", |p| Some(Beat::alive(None).apply(p, 1.0)))
            .unwrap_err();
        assert!(err.to_string().contains("no directory"), "{err}");
        assert!(!err.is_busy());
        let shared = Arc::clone(&sink.shared);
        sink.stop();
        let refused = shared.push("w", Box::new(|_| None), None).unwrap_err();
        assert!(matches!(refused, SinkError::Stopping) && refused.is_busy());
    }
}
