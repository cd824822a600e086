//! `/api/v1/events`: the engine's checks as server-sent events, for the dashboard. On
//! connect one `snapshot` — the body `GET /api/v1/processes` answers, from the same code,
//! with the troubles the UI's banner shows — then an `update` of the same shape for each
//! check the engine publishes. The engine hands each client its update through a bounded
//! queue and never waits: a client that falls that far behind is dropped (its browser
//! reconnects, and starts from a snapshot again).

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};

use serde_json::Value;

use super::Api;
use super::processes::no_query;
use crate::http::{Next, Request, Response, event};
use crate::manage::{self, Target};
use crate::monitor::Update;

/// Updates a client may be behind before it is dropped: several seconds of checks.
const QUEUE: usize = 8;

impl Api {
    pub(super) fn events(&self, request: &Request) -> Response {
        if let Err(reply) = no_query(request, &[]) {
            return reply;
        }
        let (tx, rx) = mpsc::sync_channel::<Arc<Update>>(QUEUE);
        // On the engine's thread: a full queue (or a client gone) ends the subscription.
        let first = self
            .feed
            .subscribe(move |update| tx.try_send(Arc::clone(update)).is_ok());
        let target = self.target.clone();
        let mut first = Some(first);
        Response::events(move |wait| {
            let (name, mut update) = match first.take() {
                Some(update) => ("snapshot", update),
                None => match rx.recv_timeout(wait) {
                    Ok(update) => ("update", update),
                    Err(RecvTimeoutError::Timeout) => return Next::Idle,
                    Err(RecvTimeoutError::Disconnected) => return Next::End,
                },
            };
            // Each event is whole: only the newest of those waiting is worth sending.
            while let Ok(newer) = rx.try_recv() {
                update = newer;
            }
            Next::Event(match document(&update, &target) {
                Ok(text) => event(name, &text),
                Err(text) => event("failure", &text),
            })
        })
        .with_header("X-Accel-Buffering", "no")
    }
}

/// The `GET /api/v1/processes` body for `update`, with its troubles, on one line.
fn document(update: &Update, target: &Target) -> Result<String, String> {
    let mut value = manage::status(&update.report, target, update.config.as_deref(), None)
        .map_err(|e| e.to_string())?;
    value["troubles"] = (update.troubles.iter())
        .map(|t| serde_json::json!({"text": t.text, "error": t.error}))
        .collect::<Vec<Value>>()
        .into();
    serde_json::to_string(&value).map_err(|e| e.to_string())
}
