//! The HTTP API of `hbmon serve` (docs/serve.md, "HTTP API"): `/status` and `/metrics`
//! answered from the monitor's latest report — the one it alerts and records on, so the
//! API never judges differently — and `/ping/NAME` (with `/start`, `/fail` or `/CODE`),
//! written through the [`Store`] as `hbmon beat NAME --no-pid` or `hbmon run` writes.

mod ping;
mod processes;
mod routes;
mod starts;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::clock::unix_now;
use crate::duration::format_secs;
use crate::http::{Request, Response};
use crate::monitor::Feed;
use crate::paths::FileLocation;
use crate::report::{self, json};
use crate::store::{self, Entry, Reported, Store, StoreError};
use crate::text;
use ping::{Event, Ping};
use starts::Starts;

/// The header of every ping reply that says how long a body the ping may have, as
/// healthchecks.io names it.
const PING_BODY_LIMIT: &str = "Ping-Body-Limit";

/// Everything the endpoints answer from.
#[derive(Debug)]
pub struct Api {
    /// The monitor's checks: each request answers from the latest.
    feed: Feed,
    file: PathBuf,
    store: Store,
    /// The runs it started, to measure their durations on the monotonic clock.
    starts: Starts,
    /// Where the management API's acts apply: the file, and the config it edits.
    target: crate::manage::Target,
}

impl Api {
    /// The API of a monitor of `location`, whose checks `feed` publishes (each names the
    /// config it was judged with); `config_flag` is `--config` as the monitor was given it,
    /// so that an edit changes the config the monitor reads.
    pub fn new(feed: Feed, location: &FileLocation, config_flag: Option<&Path>) -> Api {
        Api {
            feed,
            file: location.path.clone(),
            store: Store::at(location),
            starts: Starts::default(),
            target: crate::manage::Target {
                location: location.clone(),
                config_flag: config_flag.map(Path::to_owned),
            },
        }
    }

    pub fn respond(&self, request: &Request) -> Response {
        let path: Vec<&str> = request.path.iter().map(String::as_str).collect();
        match routes::find(&path) {
            Some((route, stand_ins)) => allowed(request, route.methods, || {
                (route.answer)(self, request, &stand_ins)
            }),
            None => routes::no_endpoint(&path),
        }
    }

    /// The `hbmon status --json` document, of every process or of the one called `name`
    /// (heartbeat name or label).
    fn status(&self, name: Option<&str>) -> Response {
        let update = self.feed.latest();
        let latest = &update.report;
        let one;
        let report = match name {
            None => latest.as_ref(),
            Some(name) => match latest.select(&[name.to_owned()]) {
                Ok(selected) => {
                    one = selected;
                    &one
                }
                Err(_) => {
                    return Response::line(
                        404,
                        format!(
                            "no process {name:?} in {} or the config",
                            self.file.display()
                        ),
                    );
                }
            },
        };
        let mut document = json::Document::new(
            report,
            &self.file,
            update.config.as_deref(),
            report.exit_code(),
        );
        // What `hbmon status` exits 3 on; said in the document rather than by the HTTP status,
        // which, as for a critical process, tells only whether the API answered.
        if let Some(why) = report::nothing_to_judge(&self.file, latest) {
            document.exit_code = report::UNKNOWN_EXIT_CODE;
            document.unknown = Some(why);
        }
        match serde_json::to_string_pretty(&document) {
            Ok(text) => Response::ok("application/json", text + "\n"),
            Err(e) => Response::line(500, format!("cannot encode the status: {e}")),
        }
    }

    /// `/ping/NAME`, or `/ping/NAME/EVENT` with the `event` segment.
    fn ping(&self, name: &str, event: Option<&str>, request: &Request) -> Response {
        let mut reply = self.ping_reply(name, event, request);
        // As healthchecks.io sends it, so that a client (runitor) cuts the body it sends to
        // what is taken: the HTTP layer refuses a longer one.
        reply
            .headers
            .push((PING_BODY_LIMIT, crate::http::MAX_BODY.to_string()));
        reply
    }

    /// The reply to a ping, without the headers every ping reply has.
    fn ping_reply(&self, name: &str, event: Option<&str>, request: &Request) -> Response {
        if let Err(refused) = request.may_write() {
            return Response::line(refused.status(), refused);
        }
        if let Err(why) = store::parse_name(name) {
            return Response::line(400, format!("bad name: {why}"));
        }
        let ping = event
            .map_or(Ok(Event::Beat), Event::parse)
            .and_then(|event| Ping::parse(event, &request.query, &request.body));
        let ping = match ping {
            Ok(ping) => ping,
            Err(e) => return Response::line(400, e),
        };
        // Another process holds the file's lock past a write's timeout, and still does: a
        // ping now would tie up a connection and a thread for another timeout and fail the
        // same way, so it is refused at once, and the client retries later.
        if let Some(held) = self.store.lock_stuck() {
            return Response::line(
                503,
                format!(
                    "{} is locked by another process (stuck for {}): try again later",
                    crate::paths::lock_path(&self.file).display(),
                    crate::duration::format(held)
                ),
            );
        }
        let mut added = true;
        let written = if ping.is_log() {
            self.store
                .update(name, |entry| added = ping.log_into(entry))
                .map(|entry| match entry {
                    // As healthchecks.io answers a ping to a check it does not have.
                    None => Response::line(404, "not found"),
                    Some(_) if !added => Response::line(
                        409,
                        format!(
                            "{name:?}'s data is not an object: a log has no output_tail to go in"
                        ),
                    ),
                    Some(_) => Response::line(200, "OK"),
                })
        } else {
            self.write(name, &ping, unix_now(), Instant::now())
                .map(|entry| Response::line(200, said(name, &entry)))
        };
        match written {
            Ok(reply) => reply,
            Err(e) => {
                // The monitor's log is where a failing write is looked for.
                eprintln!("http: ping {name:?}: {}", text::escape(&e.to_string()));
                let status = match e {
                    StoreError::LockTimeout { .. } => 503,
                    _ => 500,
                };
                Response::line(status, e)
            }
        }
    }

    /// Writes `ping` into `name`'s entry, decided under the file's lock from the entry as it
    /// is then: whether a run is in progress, and since when. `now` is the stamp written,
    /// `at` the same instant on the monotonic clock, which the run's duration counts on.
    fn write(&self, name: &str, ping: &Ping, now: f64, at: Instant) -> Result<Entry, StoreError> {
        let entry = self.store.write_entry(name, now, |previous| {
            let since = ping.run_start(previous.as_ref());
            let took = since.and_then(|start| self.starts.took(name, ping.rid(), start, at));
            ping.apply(previous, now, took)
        })?;
        self.starts.written(name, ping.rid(), &entry, now, at);
        Ok(entry)
    }
}

/// The reply to a ping: what was written, and for the end of a run, how it ended.
fn said(name: &str, entry: &Entry) -> String {
    let status = entry.reported();
    let mut what = vec![format!("beat {}", entry.beats.unwrap_or(1))];
    if matches!(status, Reported::Succeeded | Reported::Failed) {
        what.extend(entry.exit_code.map(|code| format!("exit {code}")));
        what.extend(
            entry
                .duration
                .map(|took| format!("took {}", format_secs(took))),
        );
    }
    format!("OK {} {name:?} ({})", status.as_str(), what.join(", "))
}

/// `respond()` if the request's method is one of `allow`, else 405.
fn allowed(request: &Request, allow: &'static str, respond: impl FnOnce() -> Response) -> Response {
    if allow.split(", ").any(|m| m == request.method) {
        respond()
    } else {
        Response::method_not_allowed(&request.method, allow)
    }
}

#[cfg(test)]
mod tests;
