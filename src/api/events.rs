//! `/api/v1/events`: the engine's checks as server-sent events, for the dashboard. On
//! connect one `snapshot` (the `GET /api/v1/processes` body with the troubles the UI's
//! banner shows, its rows thinned of what only counts time, `delta.rs`), then for each
//! check the engine publishes an `update` of what changed since the one before: the rows
//! changed, the rows removed, the header if it changed. Each event has a `seq`, each
//! update the `base` it applies to: a stream that skipped a document (it fell behind, or
//! the document could not be built) gets the newest whole `snapshot` instead. A check's
//! events are built once, on a thread of its own ([`Hub`]), whatever the number of
//! streams (five streams each building their own cost a debug serve 166 % of a core at
//! 1 000 entries, BENCHMARKS §13); the snapshot only when a stream needs one. The engine
//! hands that thread each check without waiting.

mod delta;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::Value;

use self::delta::Built;
use super::Api;
use super::processes::no_query;
use crate::http::{Next, Request, Response, event};
use crate::manage::{self, Target};
use crate::monitor::{Feed, Update};

/// The newest check's events, built once for every stream.
#[derive(Debug, Default)]
pub(super) struct Hub {
    newest: Mutex<Newest>,
    changed: Condvar,
    /// Streams open: with none, no document is built.
    streams: AtomicUsize,
    /// The building thread's queue, to hand it the latest check when a stream opens
    /// while it holds no document (none was built with no stream open).
    queue: OnceLock<SyncSender<Arc<Update>>>,
}

#[derive(Debug, Default)]
struct Newest {
    /// One more per document published.
    seq: u64,
    /// `None` before the first document, and while no stream is open (a document kept
    /// from then would be old news to a stream opening later).
    published: Option<Arc<Published>>,
}

/// One check's events.
#[derive(Debug)]
enum Published {
    Document {
        built: Built,
        /// The `snapshot` event, written the first time a stream needs it.
        snapshot: OnceLock<Arc<String>>,
        /// The `update` event from the document before (`seq - 1`), if there was one.
        update: Option<Arc<String>>,
    },
    /// The `failure` event saying why the document could not be built.
    Failure(Arc<String>),
}

impl Published {
    /// The event for a stream that has sent document `seen` (`None`: nothing yet), this
    /// being document `seq`: the update when it applies to what the stream sent, else the
    /// whole snapshot.
    fn for_stream(&self, seq: u64, seen: Option<u64>) -> Arc<String> {
        match self {
            Published::Failure(event) => Arc::clone(event),
            Published::Document {
                update: Some(update),
                ..
            } if seen == Some(seq - 1) => Arc::clone(update),
            Published::Document {
                built, snapshot, ..
            } => Arc::clone(
                snapshot.get_or_init(|| Arc::new(event("snapshot", &built.snapshot(seq)))),
            ),
        }
    }
}

impl Hub {
    /// Starts the building thread once: it takes each check the engine publishes (the
    /// newest of those waiting) and, while a stream is open, builds its events.
    fn start(self: &Arc<Self>, feed: &Feed, target: &Target) {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::sync_channel::<Arc<Update>>(1);
            let engine = tx.clone();
            // On the engine's thread: never waits (a full channel holds a newer check
            // than the thread has taken; it takes the newest when it gets there).
            feed.subscribe(move |update| {
                !matches!(
                    engine.try_send(Arc::clone(update)),
                    Err(TrySendError::Disconnected(_))
                )
            });
            let (hub, target) = (Arc::clone(self), target.clone());
            let spawned = std::thread::Builder::new()
                .name("hbmon-events".into())
                .spawn(move || {
                    let mut before: Option<Arc<Published>> = None;
                    while let Ok(mut update) = rx.recv() {
                        while let Ok(newer) = rx.try_recv() {
                            update = newer;
                        }
                        // While no stream is open, nothing is built.
                        let open = hub.streams.load(Ordering::SeqCst) > 0;
                        let document = open.then(|| document(&update, &target));
                        before = hub.publish(document, before.as_deref());
                    }
                });
            if let Err(e) = spawned {
                eprintln!("http: cannot start the event streams' thread: {e}");
            }
            tx
        });
    }

    /// Publishes the events of `document` (`None`: no stream is open, so none was built;
    /// the last is forgotten), its update event from `before`, the one published last.
    fn publish(
        &self,
        document: Option<Result<Value, String>>,
        before: Option<&Published>,
    ) -> Option<Arc<Published>> {
        let Some(document) = document else {
            self.newest
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .published = None;
            return None;
        };
        let seq = self.seq() + 1;
        let published = Arc::new(match document.and_then(Built::new) {
            Ok(built) => {
                let update = match before {
                    Some(Published::Document { built: last, .. }) => {
                        Some(Arc::new(event("update", &built.update(last, seq))))
                    }
                    _ => None,
                };
                Published::Document {
                    built,
                    snapshot: OnceLock::new(),
                    update,
                }
            }
            Err(text) => Published::Failure(Arc::new(event("failure", &text))),
        });
        let mut newest = self.newest.lock().unwrap_or_else(PoisonError::into_inner);
        newest.seq = seq;
        newest.published = Some(Arc::clone(&published));
        drop(newest);
        self.changed.notify_all();
        Some(published)
    }

    /// The event after document `seen` (`None`: the stream has sent nothing) and the
    /// number of the document it is of, waiting at most `wait` for one.
    fn after(&self, seen: Option<u64>, wait: Duration) -> Option<(u64, Arc<String>)> {
        let newest = self.newest.lock().unwrap_or_else(PoisonError::into_inner);
        let waiting = |n: &mut Newest| n.published.is_none() || seen.is_some_and(|s| n.seq <= s);
        let (mut newest, _) = self
            .changed
            .wait_timeout_while(newest, wait, waiting)
            .unwrap_or_else(PoisonError::into_inner);
        if waiting(&mut newest) {
            return None;
        }
        let (seq, published) = (newest.seq, newest.published.clone()?);
        drop(newest);
        Some((seq, published.for_stream(seq, seen)))
    }

    fn seq(&self) -> u64 {
        self.newest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seq
    }

    /// Hands the building thread `latest` if it holds no document for streams to start
    /// from (a full queue already holds a newer check).
    fn wake(&self, latest: Arc<Update>) {
        let idle = (self.newest.lock().unwrap_or_else(PoisonError::into_inner))
            .published
            .is_none();
        if let (true, Some(queue)) = (idle, self.queue.get()) {
            let _ = queue.try_send(latest);
        }
    }
}

/// One open stream, counted while it lives.
struct Open(Arc<Hub>);

impl Open {
    fn new(hub: &Arc<Hub>) -> Open {
        hub.streams.fetch_add(1, Ordering::SeqCst);
        Open(Arc::clone(hub))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Api {
    pub(super) fn events(&self, request: &Request) -> Response {
        if let Err(reply) = no_query(request, &[]) {
            return reply;
        }
        self.hub.start(&self.feed, &self.target);
        // Counted before the wake: the thread builds for an open stream.
        let open = Open::new(&self.hub);
        self.hub.wake(self.feed.latest());
        // The document this stream has sent the events of: none yet, so the first is
        // a snapshot.
        let mut seen = None;
        Response::events(move |wait| match open.0.after(seen, wait) {
            Some((seq, event)) => {
                seen = Some(seq);
                Next::Event(event.as_str().to_owned())
            }
            None => Next::Idle,
        })
        .with_header("X-Accel-Buffering", "no")
    }
}

/// The `GET /api/v1/processes` body of `update` with its troubles.
fn document(update: &Update, target: &Target) -> Result<Value, String> {
    let mut value = manage::status(&update.report, target, update.config.as_deref(), None)
        .map_err(|e| e.to_string())?;
    value["troubles"] = (update.troubles.iter())
        .map(|t| serde_json::json!({"text": t.text, "error": t.error}))
        .collect::<Vec<Value>>()
        .into();
    Ok(value)
}
