//! `/api/v1/events`: the engine's checks as server-sent events, for the dashboard. On
//! connect one `snapshot` — the body `GET /api/v1/processes` answers, from the same code,
//! with the troubles the UI's banner shows — then an `update` of the same shape for each
//! check the engine publishes. The document of a check is built once, on a thread of its
//! own ([`Hub`]), whatever the number of streams: each stream only copies it out (five
//! streams each building their own cost a debug serve 166 % of a core at 1 000 entries,
//! BENCHMARKS §13). The engine hands that thread each check without waiting, and a
//! stream that falls behind skips to the newest document: each event is whole.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, TrySendError};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::Value;

use super::Api;
use super::processes::no_query;
use crate::http::{Next, Request, Response, event};
use crate::manage::{self, Target};
use crate::monitor::{Feed, Update};

/// The newest check's `update` event, built once for every stream.
#[derive(Debug, Default)]
pub(super) struct Hub {
    newest: Mutex<Newest>,
    changed: Condvar,
    /// Streams open: with none, no document is built.
    streams: AtomicUsize,
    started: OnceLock<()>,
}

#[derive(Debug, Default)]
struct Newest {
    /// One more per document built.
    seq: u64,
    event: Arc<String>,
}

impl Hub {
    /// Starts the building thread once: it takes each check the engine publishes (the
    /// newest of those waiting) and, while a stream is open, builds its event.
    fn start(self: &Arc<Self>, feed: &Feed, target: &Target) {
        self.started.get_or_init(|| {
            let (tx, rx) = mpsc::sync_channel::<Arc<Update>>(1);
            // On the engine's thread: never waits (a full channel holds a newer check
            // than the thread has taken; it takes the newest when it gets there).
            feed.subscribe(move |update| {
                !matches!(
                    tx.try_send(Arc::clone(update)),
                    Err(TrySendError::Disconnected(_))
                )
            });
            let (hub, target) = (Arc::clone(self), target.clone());
            let spawned = std::thread::Builder::new()
                .name("hbmon-events".into())
                .spawn(move || {
                    while let Ok(mut update) = rx.recv() {
                        while let Ok(newer) = rx.try_recv() {
                            update = newer;
                        }
                        if hub.streams.load(Ordering::SeqCst) == 0 {
                            continue;
                        }
                        let event = Arc::new(as_event("update", &update, &target));
                        let mut newest = hub.newest.lock().unwrap_or_else(PoisonError::into_inner);
                        newest.seq += 1;
                        newest.event = event;
                        drop(newest);
                        hub.changed.notify_all();
                    }
                });
            if let Err(e) = spawned {
                eprintln!("http: cannot start the event streams' thread: {e}");
            }
        });
    }

    /// The newest event after `seen` (and its number), waiting at most `wait` for one.
    fn after(&self, seen: u64, wait: Duration) -> Option<(u64, Arc<String>)> {
        let newest = self.newest.lock().unwrap_or_else(PoisonError::into_inner);
        let (newest, _) = self
            .changed
            .wait_timeout_while(newest, wait, |n| n.seq <= seen)
            .unwrap_or_else(PoisonError::into_inner);
        (newest.seq > seen).then(|| (newest.seq, Arc::clone(&newest.event)))
    }

    fn seq(&self) -> u64 {
        self.newest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seq
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
        let open = Open::new(&self.hub);
        // What this stream has sent: the snapshot is of the latest check, so only the
        // documents built after it are news.
        let mut seen = self.hub.seq();
        let mut snapshot = Some(as_event("snapshot", &self.feed.latest(), &self.target));
        Response::events(move |wait| {
            if let Some(first) = snapshot.take() {
                return Next::Event(first);
            }
            match open.0.after(seen, wait) {
                Some((seq, event)) => {
                    seen = seq;
                    Next::Event(event.as_str().to_owned())
                }
                None => Next::Idle,
            }
        })
        .with_header("X-Accel-Buffering", "no")
    }
}

/// The event `name` of `update`: the `GET /api/v1/processes` body with its troubles, on
/// one line (a `failure` event saying why it could not be built).
fn as_event(name: &str, update: &Update, target: &Target) -> String {
    match document(update, target) {
        Ok(text) => event(name, &text),
        Err(text) => event("failure", &text),
    }
}

fn document(update: &Update, target: &Target) -> Result<String, String> {
    let mut value = manage::status(&update.report, target, update.config.as_deref(), None)
        .map_err(|e| e.to_string())?;
    value["troubles"] = (update.troubles.iter())
        .map(|t| serde_json::json!({"text": t.text, "error": t.error}))
        .collect::<Vec<Value>>()
        .into();
    serde_json::to_string(&value).map_err(|e| e.to_string())
}
