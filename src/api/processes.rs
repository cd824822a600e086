//! The management API, `/api/v1/processes…`: list and get the `hbmon status --json` rows
//! (from the monitor's latest check), add, change and remove a configured process (the
//! config edited in place, which the monitor's reload then picks up), pause, resume, and
//! one process's history or the fleet's — each act the one [`crate::manage`] does for every face. Replies
//! and errors are JSON; an error names the field at fault. Writes are taken only from
//! loopback unless tokens are configured (then by the `write` scope), by the rules pings have (no web page, no browser's GET), and may be made
//! against a version of the config (`If-Match`, the `ETag` a read gave).

use serde_json::{Value, json};

use super::Api;
use crate::config::Scope;
use crate::config::edit::Fields;
use crate::http::{Request, Response};
use crate::manage::{self, Change, HISTORY_LIMIT, HISTORY_SINCE, ManageError};

impl Api {
    /// `/api/v1/processes`: `GET` lists, `POST` adds a `[[process]]`.
    pub(super) fn processes(&self, request: &Request) -> Response {
        if let Err(reply) = no_query(request, &[]) {
            return reply;
        }
        if request.method == "POST" {
            return self.manage(request, |api, expected| {
                let fields = fields(request)?;
                manage::edit(&api.target, Change::Add(&fields), expected)
                    .map(|e| (201, manage::edited_json(&e)))
            });
        }
        self.read_status(request, None)
    }

    /// `/api/v1/processes/NAME`: `GET` its row, `PATCH` its keys, `DELETE` it from the
    /// config.
    pub(super) fn process(&self, request: &Request, name: &str) -> Response {
        if let Err(reply) = no_query(request, &[]) {
            return reply;
        }
        match request.method.as_str() {
            "PATCH" => self.manage(request, |api, expected| {
                let fields = fields(request)?;
                manage::edit(&api.target, Change::Update(name, &fields), expected)
                    .map(|e| (200, manage::edited_json(&e)))
            }),
            "DELETE" => self.manage(request, |api, expected| {
                manage::edit(&api.target, Change::Remove(name), expected)
                    .map(|e| (200, manage::edited_json(&e)))
            }),
            _ => self.read_status(request, Some(name)),
        }
    }

    /// `/api/v1/processes/NAME/pause` (`?for=2h`, else until resumed) and `…/resume`.
    pub(super) fn pause(&self, request: &Request, given: &str, resume: bool) -> Response {
        let allowed: &[&str] = if resume { &[] } else { &["for"] };
        if let Err(reply) = no_query(request, allowed) {
            return reply;
        }
        self.manage(request, |api, _| {
            let name = api.target.name_for(given);
            let location = &api.target.location;
            if resume {
                let was = manage::resume(location, &name)?;
                return Ok((200, manage::resumed_json(&name, was)));
            }
            let span = query(request, "for")
                .map(|text| manage::span("for", text))
                .transpose()?;
            let entry = manage::pause(location, &name, span)?;
            Ok((200, manage::paused_json(&name, &entry)))
        })
    }

    /// `/api/v1/processes/NAME/history?since=D&limit=N`: as `hbmon history NAME --json`.
    pub(super) fn history(&self, request: &Request, given: &str) -> Response {
        if let Err(reply) = no_query(request, &["since", "limit"]) {
            return reply;
        }
        let answer = || {
            let (since, limit) = window(request)?;
            let name = self.target.name_for(given);
            manage::history(&self.target.location, &name, since, limit)
        };
        match answer() {
            Ok(document) => Response::json(200, &document),
            Err(e) => error(&e),
        }
    }

    /// `/api/v1/history?since=D&limit=N&name=NAME&state=STATE`: every process's
    /// transitions and restarts (the dashboard's History page).
    pub(super) fn fleet_history(&self, request: &Request) -> Response {
        if let Err(reply) = no_query(request, &["since", "limit", "name", "state"]) {
            return reply;
        }
        let answer = || {
            let (since, limit) = window(request)?;
            let name = query(request, "name").map(|given| self.target.name_for(given));
            let state = query(request, "state")
                .map(|text| manage::state("state", text))
                .transpose()?;
            manage::fleet_history(&self.target.location, name.as_deref(), state, since, limit)
        };
        match answer() {
            Ok(document) => Response::json(200, &document),
            Err(e) => error(&e),
        }
    }

    /// The status document (of one process), from the monitor's latest check, with the
    /// config's version as its `ETag`; for a request that may write, each configured row
    /// with the `ping_paths` it is pinged by (see [`Api::may_see_ping_paths`]).
    fn read_status(&self, request: &Request, name: Option<&str>) -> Response {
        let update = self.feed.latest();
        match manage::status(&update.report, &self.target, update.config.as_deref(), name) {
            Ok(mut document) => {
                if self.may_see_ping_paths(request) {
                    self.add_ping_paths(&mut document);
                }
                let version = document["config_version"].as_str().map(etag);
                let mut reply = Response::json(200, &document);
                reply.headers.extend(version.map(|v| ("ETag", v)));
                reply
            }
            Err(e) => error(&e),
        }
    }

    /// A write: refused unless from loopback and not from a web page, then `act` with the
    /// version the client read (`If-Match`), its reply with the new version as `ETag`.
    fn manage(
        &self,
        request: &Request,
        act: impl FnOnce(&Api, Option<&str>) -> Result<(u16, Value), ManageError>,
    ) -> Response {
        if let Err(reply) = self.may_manage(request) {
            return reply;
        }
        let expected = request
            .if_match
            .as_deref()
            .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
            .filter(|v| *v != "*");
        match act(self, expected) {
            Ok((status, body)) => {
                let version = body["config_version"].as_str().map(etag);
                let mut reply = Response::json(status, &body);
                reply.headers.extend(version.map(|v| ("ETag", v)));
                reply
            }
            Err(e) => error(&e),
        }
    }
}

impl Api {
    /// Whether `request` may see the secrets in a process's ping URLs (a UUID, the ping
    /// key, a push token): each pings without a token, so a `read` token that saw one
    /// could ping — and keep pinging after its token is revoked. As healthchecks.io omits
    /// ping URLs for read-only API keys, only a request that may write sees them: it could
    /// set them (`PATCH`) anyway. docs/security.md, "The HTTP API".
    fn may_see_ping_paths(&self, request: &Request) -> bool {
        self.tokens.grants(request, Scope::Write) && self.may_manage(request).is_ok()
    }

    /// Each configured row's `ping_paths`, as `ping/address.rs` makes them.
    fn add_ping_paths(&self, document: &mut Value) {
        let rows = document["processes"].as_array_mut().into_iter().flatten();
        for row in rows {
            let paths = row["name"]
                .as_str()
                .and_then(|n| self.addresses.paths_of(n));
            if let Some(paths) = paths {
                row["ping_paths"] = paths;
            }
        }
    }

    /// Whether `request` may write through the management API: from loopback, not from a
    /// web page (a page of this server only with the session's token); else the refusal.
    pub(super) fn may_manage(&self, request: &Request) -> Result<(), Response> {
        if let Err(refused) = request.may_write(&self.session) {
            return Err(json_error(refused.status(), &refused.to_string(), None));
        }
        match request.peer {
            Some(peer) if peer.ip().to_canonical().is_loopback() => Ok(()),
            // With tokens, the request's had the write scope checked (`auth.rs`).
            _ if self.tokens.required() => Ok(()),
            peer => {
                let from = peer.map_or_else(|| "an unknown address".to_owned(), |p| p.to_string());
                Err(json_error(
                    403,
                    &format!(
                        "refused: the management API takes writes only from this machine \
                         (loopback), and this request came from {from}"
                    ),
                    None,
                ))
            }
        }
    }
}

fn etag(version: &str) -> String {
    format!("\"{version}\"")
}

/// The body as `[[process]]` keys: a JSON object, whole (one cut at what the server keeps
/// is refused as too long, not parsed into a misleading "EOF while parsing").
fn fields(request: &Request) -> Result<Fields, ManageError> {
    let bad = |message: String| ManageError::Field {
        field: "body".to_owned(),
        message,
    };
    if request.body_len > request.body.len() {
        return Err(bad(format!(
            "{} bytes is longer than the {} this server keeps of a body ([serve] \
             ping_body_limit)",
            request.body_len,
            request.body.len()
        )));
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(other) => Err(bad(format!(
            "expected a JSON object of [[process]] keys, got {other}"
        ))),
        Err(e) => Err(bad(format!("not JSON: {e}"))),
    }
}

/// A history's `since` (default 24h) and `limit` (default 200; 0: all), as
/// `hbmon history` takes them.
fn window(request: &Request) -> Result<(std::time::Duration, Option<usize>), ManageError> {
    let since = manage::span("since", query(request, "since").unwrap_or(HISTORY_SINCE))?;
    let limit = match query(request, "limit") {
        None => HISTORY_LIMIT,
        Some(text) => text.parse().map_err(|_| ManageError::Field {
            field: "limit".to_owned(),
            message: format!("{text:?} is not a count (0: all)"),
        })?,
    };
    Ok((since, (limit > 0).then_some(limit)))
}

/// The value of query parameter `key`, if given.
fn query<'r>(request: &'r Request, key: &str) -> Option<&'r str> {
    request
        .query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Refuses a query parameter other than `allowed`, naming it.
pub(super) fn no_query(request: &Request, allowed: &[&str]) -> Result<(), Response> {
    match request
        .query
        .iter()
        .find(|(k, _)| !allowed.contains(&k.as_str()))
    {
        None => Ok(()),
        Some((key, _)) => Err(json_error(
            400,
            &format!(
                "unknown parameter{}",
                if allowed.is_empty() {
                    String::new()
                } else {
                    format!(" (this endpoint takes {})", allowed.join(", "))
                }
            ),
            Some(key),
        )),
    }
}

fn error(e: &ManageError) -> Response {
    json_error(e.status(), &e.to_string(), e.field())
}

/// `{"error": "...", "field": "..."}`: the message whole, as `hbmon` would print it, and
/// the field at fault (`null` when none is).
pub(super) fn json_error(status: u16, message: &str, field: Option<&str>) -> Response {
    Response::json(status, &json!({"error": message, "field": field}))
}
