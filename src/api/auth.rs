//! Who may use the API: the `[[serve.token]]`s and their scopes. Without a token configured
//! every request is taken, as before tokens existed (the API then stays on loopback: serve
//! refuses a wider address). With one, every request needs a token whose scopes hold what
//! its route needs (`routes.rs`, [`Need`]), on loopback too — but `/healthz`, which says
//! only that the API answers (a load balancer's or a proxy's probe carries no secret), and a
//! ping by a URL that is itself a long secret: healthchecks.io's `/ping/<uuid>` and
//! `/ping/<ping-key>/<slug>`, Uptime Kuma's `/api/push/<token>`. Those clients send no
//! header (a cron line's `curl URL`), and whoever has such a URL can ping that check and
//! nothing else, which is what the `ping` scope gives. A token comes as `Authorization:
//! Bearer TOKEN` or `?token=TOKEN` (taken off the query before an endpoint or a log sees
//! it), and is compared with every secret in constant time.

use std::borrow::Cow;
use std::path::Path;

use subtle::ConstantTimeEq;

use super::Api;
use super::routes::Route;
use crate::config::{Access, MIN_SECRET, Scope, SecretError};
use crate::http::{Request, Response};
use crate::text;

/// The query parameter a token may come in, for clients that cannot send a header.
const PARAM: &str = "token";

/// What a route needs of a request's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: `/healthz`.
    Nothing,
    /// The one scope.
    Scope(Scope),
    /// `read` to `GET` or `HEAD`, `write` for any other method: the management API.
    ReadOrWrite,
}

impl Need {
    /// The scope a request by `method` needs, if any.
    pub fn scope(self, method: &str) -> Option<Scope> {
        match self {
            Need::Nothing => None,
            Need::Scope(scope) => Some(scope),
            Need::ReadOrWrite if matches!(method, "GET" | "HEAD") => Some(Scope::Read),
            Need::ReadOrWrite => Some(Scope::Write),
        }
    }

    /// As docs/serve.md's table of endpoints says it.
    pub fn describe(self) -> &'static str {
        match self {
            Need::Nothing => "none",
            Need::Scope(scope) => scope.as_str(),
            Need::ReadOrWrite => "read; write to change",
        }
    }
}

/// One token, its secret read.
#[derive(Debug, Clone)]
struct Token {
    name: String,
    secret: String,
    scopes: Vec<Scope>,
}

/// The tokens serve takes; none: the API is open (to loopback).
#[derive(Debug, Clone, Default)]
pub struct Tokens(Vec<Token>);

impl Tokens {
    /// The tokens of `access`, their secret files read relative to `base` (the config's
    /// directory): an unreadable, short or exposed one is an error naming its file.
    pub fn load(access: &Access, base: &Path) -> Result<Tokens, SecretError> {
        (access.tokens.iter())
            .map(|token| {
                Ok(Token {
                    name: token.name.clone(),
                    secret: token.read_secret(base)?,
                    scopes: token.scopes.clone(),
                })
            })
            .collect::<Result<_, _>>()
            .map(Tokens)
    }

    /// Whether any token is configured, and so every request needs one.
    pub fn required(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `request` (as [`Api::admit`] let it through) holds `scope`: always when no
    /// token is configured (the API is open, to loopback), else when its token has it.
    pub fn grants(&self, request: &Request, scope: Scope) -> bool {
        !self.required()
            || (request.bearer.as_deref())
                .and_then(|secret| self.find(secret))
                .is_some_and(|token| token.scopes.contains(&scope))
    }

    /// The token whose secret is `presented`. Every secret is compared, each in constant
    /// time, whether or not one matched: the time taken says nothing about which is close.
    fn find(&self, presented: &str) -> Option<&Token> {
        let mut found = None;
        for token in &self.0 {
            let same: bool = token.secret.as_bytes().ct_eq(presented.as_bytes()).into();
            if same && found.is_none() {
                found = Some(token);
            }
        }
        found
    }
}

impl Api {
    /// `request` as its endpoint sees it — without `?token=` — if it may have what its
    /// route `need`s (`stand_ins`: the route's segments, where a ping's URL secret is), else
    /// the 401 or 403 that says which scope it needs.
    pub(super) fn admit<'r>(
        &self,
        sent: &'r Request,
        route: &Route,
        stand_ins: &[&str],
    ) -> Result<Cow<'r, Request>, Response> {
        let from_query = (sent.query.iter()).find(|(k, _)| k == PARAM);
        let request = if let Some((_, token)) = from_query {
            let mut stripped = sent.clone();
            stripped.query.retain(|(k, _)| k != PARAM);
            // Where an endpoint looks for the token it was sent ([`Tokens::grants`]);
            // a header, when both came, is the one that counts, as below.
            stripped.bearer = stripped.bearer.or_else(|| Some(token.clone()));
            Cow::Owned(stripped)
        } else {
            Cow::Borrowed(sent)
        };
        let Some(scope) = route.need.scope(&request.method) else {
            return Ok(request);
        };
        if !self.tokens.required() {
            return Ok(request);
        }
        let presented = request.bearer.as_deref();
        let refusal = match presented.map(|secret| self.tokens.find(secret)) {
            None if scope == Scope::Ping && self.url_is_secret(route, stand_ins) => {
                return Ok(request);
            }
            None => Refusal::Missing,
            Some(None) => Refusal::Wrong,
            Some(Some(token)) if token.scopes.contains(&scope) => return Ok(request),
            Some(Some(token)) => Refusal::Scope(&token.name),
        };
        let from = (sent.peer).map_or_else(|| "an unknown address".to_owned(), |p| p.to_string());
        let line = format!(
            "http: {} {} from {from}: {}",
            sent.method,
            logged_target(sent),
            refusal.why(scope)
        );
        eprintln!("{}", text::escape(&line));
        Err(refusal.reply(scope))
    }

    /// Whether a ping route's URL holds a secret of its own, long enough to stand for a
    /// token: the ping key before a slug, a configured UUID, a configured push token.
    fn url_is_secret(&self, route: &Route, stand_ins: &[&str]) -> bool {
        let long = |secret: &str| secret.len() >= MIN_SECRET;
        match stand_ins {
            [token] if route.path.starts_with("/api/push/") => {
                self.addresses.by_push_token(token).is_some() && long(token)
            }
            [key, _, ..] if self.addresses.is_key(key) => long(key),
            [first, ..] => super::address::uuid_form(first)
                .is_some_and(|uuid| self.addresses.by_uuid(&uuid).is_some()),
            [] => false,
        }
    }
}

/// Why a request was refused.
enum Refusal<'t> {
    Missing,
    Wrong,
    /// The token of this name lacks the scope.
    Scope(&'t str),
}

impl Refusal<'_> {
    fn why(&self, scope: Scope) -> String {
        let scope = scope.as_str();
        match self {
            Refusal::Missing => format!(
                "this needs a token with the {scope} scope: send Authorization: Bearer TOKEN \
                 or ?token=TOKEN"
            ),
            Refusal::Wrong => format!(
                "the token is none of [[serve.token]]'s; this needs one with the {scope} scope"
            ),
            Refusal::Scope(name) => {
                format!("token {name:?} does not have the {scope} scope this needs")
            }
        }
    }

    /// 401 for no token or a wrong one, 403 for a token without the scope, with the
    /// `WWW-Authenticate` challenge of RFC 6750.
    fn reply(&self, scope: Scope) -> Response {
        let (status, error) = match self {
            Refusal::Missing => (401, None),
            Refusal::Wrong => (401, Some("invalid_token")),
            Refusal::Scope(_) => (403, Some("insufficient_scope")),
        };
        let error = error
            .map(|e| format!(", error=\"{e}\""))
            .unwrap_or_default();
        Response::line(status, self.why(scope)).with_header(
            "WWW-Authenticate",
            format!(
                "Bearer realm=\"hbmon\", scope=\"{}\"{error}",
                scope.as_str()
            ),
        )
    }
}

/// The request's target as a log shows it: a `?token=` value hidden.
fn logged_target(request: &Request) -> String {
    let path = format!("/{}", request.path.join("/"));
    let query: Vec<String> = (request.query.iter())
        .map(|(k, v)| {
            if k == PARAM {
                format!("{k}=…(hidden)")
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[cfg(test)]
mod tests;
