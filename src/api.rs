//! The HTTP API of `hbmon serve` (docs/serve.md, "HTTP API"): `/status` and `/metrics`
//! answered from the monitor's latest report — the one it alerts and records on, so the
//! API never judges differently — and `/ping/NAME` (with `/start`, `/fail` or `/CODE`),
//! written (through serve's beat sink, else the [`Store`]) as `hbmon beat NAME --no-pid` or
//! `hbmon run` writes, also
//! by healthchecks.io's `/ping/<uuid>` and `/ping/<ping-key>/<slug>` with its replies
//! (`ping/address.rs` finds the process), and Uptime Kuma's `/api/push/<token>` (`push.rs`);
//! the management API (`processes.rs`, `control.rs`), its live events (`events.rs`) and
//! the web dashboard that uses them (`web.rs`, the files of `web/`).

pub mod auth;
mod control;
mod events;
mod ping;
mod processes;
mod push;
mod rate;
mod routes;
mod starts;
mod web;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::clock::unix_now;
use crate::config::Config;
use crate::duration::format_secs;
use crate::http::{Request, Response, Session};
use crate::monitor::Feed;
use crate::paths::FileLocation;
use crate::report::{self, json};
use crate::sink::{Sink, SinkError};
use crate::store::{self, Entry, Reported, Store};
use crate::text;
use ping::address::Addresses;
use ping::{Event, Ping, PingError, address};
use starts::Starts;

/// The header of every ping reply that says how long a body the ping may have, as
/// healthchecks.io names it.
const PING_BODY_LIMIT: &str = "Ping-Body-Limit";
/// The header of a ping reply that says what hbmon made of it (`ok running "backup" (beat
/// 1)`): the body is healthchecks.io's `OK`, which clients compare.
const RESULT: &str = "X-Hbmon-Result";

/// Everything the endpoints answer from.
#[derive(Debug)]
pub struct Api {
    /// The monitor's checks: each request answers from the latest.
    feed: Feed,
    file: PathBuf,
    store: Store,
    /// The serve's beat sink, which every ping goes through (one write for all the pings
    /// of a flush); `None`: each ping writes the file itself.
    sink: Option<Arc<Sink>>,
    /// The runs it started, to measure their durations on the monotonic clock.
    starts: Arc<Starts>,
    /// Where the management API's acts apply: the file, and the config it edits.
    target: crate::manage::Target,
    /// The UUIDs, slugs and push tokens of the config it started with.
    addresses: Addresses,
    /// How many bytes of a ping's body are kept (`[serve] ping_body_limit`).
    body_limit: usize,
    /// The token the dashboard's pages write with, new on every start.
    session: Session,
    /// The `[[serve.token]]`s every request is checked against; none: the API is open.
    tokens: auth::Tokens,
    /// Each client's pings, held to `[serve] ping_rate`.
    rate: rate::Limiter,
    /// The event streams' one document per check.
    hub: Arc<events::Hub>,
}

impl Api {
    /// The API of a monitor of `location`, whose checks `feed` publishes (each names the
    /// config it was judged with); its ping URLs and body limit are `config`'s, and
    /// `config_flag` is `--config` as the monitor was given it, so that an edit through
    /// the management API changes the config the monitor reads. Pings are written through
    /// `sink` when there is one.
    pub fn new(
        feed: Feed,
        location: &FileLocation,
        config: &Config,
        config_flag: Option<&Path>,
        sink: Option<Arc<Sink>>,
    ) -> Api {
        Api {
            feed,
            file: location.path.clone(),
            store: Store::at(location),
            sink,
            starts: Arc::default(),
            target: crate::manage::Target {
                location: location.clone(),
                config_flag: config_flag.map(Path::to_owned),
            },
            addresses: Addresses::new(config),
            body_limit: config.serve.body_limit(),
            session: Session::random(),
            tokens: auth::Tokens::default(),
            rate: rate::Limiter::new(config.serve.access.ping_rate()),
            hub: Arc::default(),
        }
    }

    /// This API taking only requests with one of `tokens` (once there is any).
    #[must_use]
    pub fn with_tokens(self, tokens: auth::Tokens) -> Api {
        Api { tokens, ..self }
    }

    pub fn respond(&self, request: &Request) -> Response {
        let path: Vec<&str> = request.path.iter().map(String::as_str).collect();
        match routes::find(&path) {
            Some((route, stand_ins)) => allowed(request, route.methods, || {
                if route.need == auth::Need::Scope(crate::config::Scope::Ping)
                    && let Err(reply) = self.rate.take(request.peer)
                {
                    return reply;
                }
                match self.admit(request, route, &stand_ins) {
                    Ok(request) => (route.answer)(self, &request, &stand_ins),
                    Err(reply) => reply,
                }
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
        // Printed as `hbmon status --json` prints it, every object's keys sorted: the same
        // document byte for byte, whichever face a script reads it from.
        match json::to_sorted_pretty(&document) {
            Ok(text) => Response::ok(
                "application/json",
                String::from_utf8_lossy(&text).into_owned() + "\n",
            ),
            Err(e) => Response::line(500, format!("cannot encode the status: {e}")),
        }
    }

    /// `/ping/NAME` and `/ping/NAME/EVENT` (`event`), which are also `/ping/<uuid>[/EVENT]`
    /// when NAME is a UUID, and `/ping/<ping-key>/<slug>` when NAME is the ping key.
    fn ping(&self, first: &str, event: Option<&str>, request: &Request) -> Response {
        let reply = match (event, address::uuid_form(first)) {
            (Some(slug), _) if self.addresses.is_key(first) => self.ping_slug(slug, None, request),
            // The key alone names no check; as a name it would put the key in the file.
            (None, _) if self.addresses.is_key(first) => not_found(),
            (_, Some(uuid)) => match self.addresses.by_uuid(&uuid) {
                Some(name) => self.ping_reply(name, event, request, Create::Quietly),
                None => not_found(),
            },
            (_, None) => self.ping_reply(first, event, request, Create::Quietly),
        };
        self.with_limit(reply)
    }

    /// `/ping/<ping-key>/<slug>/EVENT`: a key that is not `[serve] ping_key` (or none set)
    /// finds no check, as healthchecks.io answers a key it does not know.
    fn ping_by_key(&self, key: &str, slug: &str, event: &str, request: &Request) -> Response {
        let reply = if self.addresses.is_key(key) {
            self.ping_slug(slug, Some(event), request)
        } else {
            not_found()
        };
        self.with_limit(reply)
    }

    /// A ping to `slug`: a configured process's, else an unconfigured entry of that name
    /// that is in the file already, or one `?create=1` creates.
    fn ping_slug(&self, slug: &str, event: Option<&str>, request: &Request) -> Response {
        match self.addresses.by_slug(slug) {
            Some(name) => self.ping_reply(name, event, request, Create::Quietly),
            // The name of a process that has a slug of its own is not a slug.
            None if self.addresses.is_configured(slug) => not_found(),
            None if (request.query.iter()).any(|(k, v)| k == "create" && v == "1") => {
                self.ping_reply(slug, event, request, Create::Announced)
            }
            None => self.ping_reply(slug, event, request, Create::Never),
        }
    }

    /// As healthchecks.io sends it on every ping reply, so that a client (runitor) cuts the
    /// body it sends to what is kept.
    fn with_limit(&self, reply: Response) -> Response {
        reply.with_header(PING_BODY_LIMIT, self.body_limit)
    }

    /// The reply to a ping of `name`, without the headers every ping reply has.
    fn ping_reply(
        &self,
        name: &str,
        event: Option<&str>,
        request: &Request,
        create: Create,
    ) -> Response {
        if let Err(refused) = request.may_write(&self.session) {
            return Response::line(refused.status(), refused);
        }
        if let Err(why) = store::parse_name(name) {
            return Response::line(400, format!("bad name: {why}"));
        }
        // `create` says how an unknown slug is taken, not what the ping reports.
        let query: Vec<(String, String)> = (request.query.iter())
            .filter(|(param, _)| param != "create")
            .cloned()
            .collect();
        let body = kept_body(request);
        let ping = event
            .map_or(Ok(Event::Beat), Event::parse)
            .and_then(|event| Ping::parse(event, &query, &body));
        let ping = match ping {
            Ok(ping) => ping,
            Err(e) => return refused(&e),
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
        let written = if ping.is_log() {
            let ping = ping.clone();
            let refused = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let refusing = Arc::clone(&refused);
            let written = self.write_entry(name, move |previous| {
                let mut entry = previous?;
                if ping.log_into(&mut entry) {
                    Some(entry)
                } else {
                    refusing.store(true, std::sync::atomic::Ordering::Relaxed);
                    None
                }
            });
            let added = !refused.load(std::sync::atomic::Ordering::Relaxed);
            // A refused log leaves the entry it found: nothing written, but not missing.
            written.map(|entry| match entry {
                None if !added => Response::line(
                    409,
                    format!("{name:?}'s data is not an object: a log has no output_tail to go in"),
                ),
                // As healthchecks.io answers a ping to a check it does not have.
                None => not_found(),
                Some(_) => Response::exact(200, "OK"),
            })
        } else {
            let may_create = create != Create::Never;
            (self.write(name, &ping, unix_now(), Instant::now(), may_create)).map(|written| {
                match written {
                    None => not_found(),
                    Some((entry, true)) if create == Create::Announced => {
                        Response::exact(201, "Created").with_header(RESULT, said(name, &entry))
                    }
                    Some((entry, _)) => {
                        Response::exact(200, "OK").with_header(RESULT, said(name, &entry))
                    }
                }
            })
        };
        match written {
            Ok(reply) => reply,
            Err(e) => {
                // The monitor's log is where a failing write is looked for.
                eprintln!("http: ping {name:?}: {}", text::escape(&e.to_string()));
                let status = if e.is_busy() { 503 } else { 500 };
                Response::line(status, e)
            }
        }
    }

    /// Writes `ping` into `name`'s entry, decided under the file's lock from the entry as it
    /// is then: whether a run is in progress, and since when. `now` is the stamp written,
    /// `at` the same instant on the monotonic clock, which the run's duration counts on. An
    /// entry that is not there yet is created only if `create`; the entry written, and
    /// whether it was created, or `None` if nothing was.
    fn write(
        &self,
        name: &str,
        ping: &Ping,
        now: f64,
        at: Instant,
        create: bool,
    ) -> Result<Option<(Entry, bool)>, SinkError> {
        let created = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let rid = ping.rid().map(str::to_owned);
        let (ping, starts, owned_name, said_created) = (
            ping.clone(),
            Arc::clone(&self.starts),
            name.to_owned(),
            Arc::clone(&created),
        );
        let entry = self.write_entry(name, move |previous| {
            if previous.is_none() {
                if !create {
                    return None;
                }
                said_created.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let since = ping.run_start(previous.as_ref());
            let took = since.and_then(|start| starts.took(&owned_name, ping.rid(), start, at));
            Some(ping.apply(previous, now, took))
        })?;
        if let Some(entry) = &entry {
            self.starts.written(name, rid.as_deref(), entry, now, at);
        }
        let created = created.load(std::sync::atomic::Ordering::Relaxed);
        Ok(entry.map(|entry| (entry, created)))
    }

    /// Sets `name`'s entry to what `change` makes of it, through the sink if there is one
    /// (it waits for the flush that writes it), else under the file's lock at once.
    fn write_entry(
        &self,
        name: &str,
        change: impl FnOnce(Option<Entry>) -> Option<Entry> + Send + 'static,
    ) -> Result<Option<Entry>, SinkError> {
        match &self.sink {
            Some(sink) => sink.write(name, change),
            None => (self.store.write_entry(name, unix_now(), change))
                .map_err(|e| SinkError::Store(Arc::new(e))),
        }
    }
}

/// The body of `request` as a ping keeps it: its first bytes up to the limit, and if it
/// was longer, a last line that says so.
fn kept_body(request: &Request) -> Cow<'_, [u8]> {
    if request.body_len <= request.body.len() {
        return Cow::Borrowed(&request.body);
    }
    let mut body = request.body.clone();
    let cut = format!(
        "\n[hbmon: body cut at {} of {} bytes]\n",
        request.body.len(),
        request.body_len
    );
    body.extend_from_slice(cut.as_bytes());
    Cow::Owned(body)
}

/// How a ping takes a name that has no entry yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    /// Creates it, answered `OK`: `/ping/NAME` as `hbmon beat NAME` does, and a configured
    /// process's UUID or slug (the check exists: it is in the config).
    Quietly,
    /// Creates it, answered `201 Created`: an unconfigured slug with `?create=1`.
    Announced,
    /// `404 not found`: an unconfigured slug without `?create=1`.
    Never,
}

/// healthchecks.io's reply to a ping of a check it does not have.
fn not_found() -> Response {
    Response::exact(404, "not found")
}

/// The 400 reply to a refused ping: healthchecks.io's words where it refuses the same (an
/// exit status over 255, a bad run id) with hbmon's in [`RESULT`]; hbmon's own otherwise.
fn refused(e: &PingError) -> Response {
    let theirs = match e {
        PingError::Event(code) if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) => {
            Some("invalid url format")
        }
        PingError::Value { param, .. } if param == "rid" => Some("invalid uuid format"),
        _ => None,
    };
    match theirs {
        Some(body) => Response::exact(400, body).with_header(RESULT, e),
        None => Response::line(400, e),
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
