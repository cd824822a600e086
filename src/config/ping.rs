//! The keys by which the ping API finds a process besides its name: `[serve] ping_key` and
//! `ping_body_limit`, and a `[[process]]`'s `uuid`, `slug` (healthchecks.io's two forms)
//! and `push_token` (Uptime Kuma's push URL), each checked and unique across processes;
//! and serve's own beat to an outside dead-man's switch, `heartbeat_url` and
//! `heartbeat_every`.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::tokens::{self, Access, RawToken};
use super::values::Span;
use super::{Fault, ProcessConfig};
use crate::http::{DEFAULT_BODY_KEEP, Listen, MAX_BODY};

/// `[serve]`: the HTTP API of `hbmon serve`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServeConfig {
    /// Where it listens (`listen`, `"off"` for none); `None` when the file does not say,
    /// and the default `127.0.0.1:4266` applies.
    pub listen: Option<Listen>,
    /// How many bytes of a ping's body are kept (`ping_body_limit`); `None`: 100 000, as
    /// healthchecks.io keeps.
    pub ping_body_limit: Option<usize>,
    /// The key of `/ping/KEY/SLUG` URLs (`ping_key`); `None`: those URLs are refused.
    pub ping_key: Option<String>,
    /// An outside dead-man's switch serve GETs while its loop is healthy
    /// (`heartbeat_url`), so that a dead hbmon is noticed too.
    pub heartbeat_url: Option<String>,
    /// Seconds between those pings (`heartbeat_every`); `None`: [`HEARTBEAT_EVERY`].
    pub heartbeat_every: Option<f64>,
    /// Tokens, TLS and the ping rate (`config/tokens.rs`).
    pub access: Access,
}

/// How often serve pings `heartbeat_url` unless `heartbeat_every` says.
pub const HEARTBEAT_EVERY: f64 = 60.0;

impl ServeConfig {
    /// The bytes of a ping's body kept: `ping_body_limit` or the default.
    pub fn body_limit(&self) -> usize {
        self.ping_body_limit.unwrap_or(DEFAULT_BODY_KEEP)
    }

    /// The seconds between pings of `heartbeat_url`.
    pub fn heartbeat_every(&self) -> f64 {
        self.heartbeat_every.unwrap_or(HEARTBEAT_EVERY)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    listen: Option<Spanned<String>>,
    ping_body_limit: Option<Spanned<i64>>,
    ping_key: Option<Spanned<String>>,
    heartbeat_url: Option<Spanned<String>>,
    heartbeat_every: Option<Spanned<Span>>,
    #[serde(default)]
    token: Vec<Spanned<RawToken>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    ping_rate: Option<Spanned<String>>,
}

impl RawServe {
    pub(super) fn validate(self) -> Result<ServeConfig, Fault> {
        let listen = match self.listen {
            Some(text) => Some(
                Listen::parse(text.get_ref())
                    .map_err(|message| (text.span(), "listen", message))?,
            ),
            None => None,
        };
        let ping_body_limit = match self.ping_body_limit {
            Some(limit) => Some(
                usize::try_from(*limit.get_ref())
                    .ok()
                    .filter(|bytes| (1..=MAX_BODY).contains(bytes))
                    .ok_or_else(|| {
                        (
                            limit.span(),
                            "ping_body_limit",
                            format!(
                                "{} is not a number of bytes from 1 to {MAX_BODY} (the most \
                                 the server reads of a body)",
                                limit.get_ref()
                            ),
                        )
                    })?,
            ),
            None => None,
        };
        let ping_key = match self.ping_key {
            Some(key) => Some(token("ping_key", key)?),
            None => None,
        };
        let heartbeat_url = match self.heartbeat_url {
            Some(url)
                if !url.get_ref().starts_with("http://")
                    && !url.get_ref().starts_with("https://") =>
            {
                return Err((
                    url.span(),
                    "heartbeat_url",
                    format!("{:?} is not an http:// or https:// URL", url.get_ref()),
                ));
            }
            other => other.map(Spanned::into_inner),
        };
        let heartbeat_every = match self.heartbeat_every {
            Some(every) if every.get_ref().0 < 1.0 => {
                return Err((
                    every.span(),
                    "heartbeat_every",
                    "must be at least 1s".to_owned(),
                ));
            }
            other => other.map(|every| every.get_ref().0),
        };
        let access = tokens::validate(self.token, self.tls_cert, self.tls_key, self.ping_rate)?;
        Ok(ServeConfig {
            listen,
            ping_body_limit,
            ping_key,
            heartbeat_url,
            heartbeat_every,
            access,
        })
    }
}

/// How the ping API finds one `[[process]]` besides `/ping/NAME`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PingIds {
    /// `uuid`: `/ping/<uuid>`, hyphenated in lower case whatever the spelling.
    pub uuid: Option<String>,
    /// `slug`: `/ping/<ping-key>/<slug>`; `None`: the name is the slug.
    pub slug: Option<String>,
    /// `push_token`: `/api/push/<token>`.
    pub push_token: Option<String>,
}

/// The raw `uuid`, `slug` and `push_token` of one `[[process]]` (serde cannot flatten
/// them into its table, which refuses unknown keys).
#[derive(Debug, Default)]
pub(super) struct RawPingIds {
    pub(super) uuid: Option<Spanned<String>>,
    pub(super) slug: Option<Spanned<String>>,
    pub(super) push_token: Option<Spanned<String>>,
}

impl RawPingIds {
    /// Checked for the process `name` (written at `name_at`): each well-formed, none
    /// another process's already (`earlier`), the error naming both.
    pub(super) fn validate(
        self,
        name: &str,
        name_at: Range<usize>,
        earlier: &[ProcessConfig],
    ) -> Result<PingIds, Fault> {
        let uuid = match self.uuid {
            Some(text) => {
                let id = uuid::Uuid::try_parse(text.get_ref()).map_err(|_| {
                    (
                        text.span(),
                        "uuid",
                        format!(
                            "{:?} is not a UUID (e.g. 5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15)",
                            text.get_ref()
                        ),
                    )
                })?;
                let id = id.hyphenated().to_string();
                unique(&text, "uuid", &id, earlier, |p| p.ping.uuid.clone())?;
                Some(id)
            }
            None => None,
        };
        let slug = if let Some(text) = self.slug {
            let slug = token("slug", text.clone())?;
            unique(&text, "slug", &slug, earlier, |p| Some(p.slug().to_owned()))?;
            Some(slug)
        } else {
            // The name is the slug: no other process may have taken it as its own.
            if let Some(other) = earlier.iter().find(|p| p.slug() == name) {
                return Err((
                    name_at,
                    "slug",
                    format!(
                        "{name:?} is {:?}'s slug, and also {name:?}'s name, its slug by \
                         default: give one of them another slug",
                        other.name
                    ),
                ));
            }
            None
        };
        let push_token = match self.push_token {
            Some(text) => {
                let push_token = token("push_token", text.clone())?;
                unique(&text, "push_token", &push_token, earlier, |p| {
                    p.ping.push_token.clone()
                })?;
                Some(push_token)
            }
            None => None,
        };
        Ok(PingIds {
            uuid,
            slug,
            push_token,
        })
    }
}

/// `value` of `key`, unless an `earlier` process has it as its `of`.
fn unique(
    at: &Spanned<String>,
    key: &'static str,
    value: &str,
    earlier: &[ProcessConfig],
    of: impl Fn(&ProcessConfig) -> Option<String>,
) -> Result<(), Fault> {
    match earlier.iter().find(|p| of(p).as_deref() == Some(value)) {
        Some(other) => Err((
            at.span(),
            key,
            format!(
                "{value:?} is also {:?}'s {key}: each must be one process's",
                other.name
            ),
        )),
        None => Ok(()),
    }
}

/// A key, slug or token: one URL path segment of letters, digits, `-`, `_` and `.`
/// (what healthchecks.io and Uptime Kuma make them of), so that it is sent as written.
fn token(key: &'static str, text: Spanned<String>) -> Result<String, Fault> {
    let span = text.span();
    let value = text.into_inner();
    let fine = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if value.is_empty() || !value.bytes().all(fine) || value == "." || value == ".." {
        return Err((
            span,
            key,
            format!("{value:?}: use letters, digits, '-', '_' and '.', at least one"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, std::path::Path::new("hbmon.toml"))
    }

    #[test]
    fn ping_ids_are_well_formed_and_each_one_processs() {
        /// The line, key and start of the message of a config's error.
        type Fault<'a> = Option<(usize, &'a str, &'a str)>;
        // A config, and its error (`None`: it is taken).
        let cases: &[(&str, Fault)] = &[
            (
                "[[process]]\nname = \"a\"\nuuid = \"{5D8E1B0C-7A3F-4C92-8E61-0F2B9D4A7C15}\"\n",
                None,
            ),
            (
                "[[process]]\nname = \"a\"\nuuid = \"5d8e1b0c\"\n",
                Some((3, "uuid", "\"5d8e1b0c\" is not a UUID")),
            ),
            (
                "[[process]]\nname = \"a\"\nuuid = \"5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15\"\n\
                 [[process]]\nname = \"b\"\nuuid = \"5D8E1B0C7A3F4C928E610F2B9D4A7C15\"\n",
                Some((
                    6,
                    "uuid",
                    "\"5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15\" is also \"a\"'s uuid",
                )),
            ),
            (
                "[[process]]\nname = \"a\"\nslug = \"b\"\n[[process]]\nname = \"b\"\n",
                Some((5, "slug", "\"b\" is \"a\"'s slug, and also \"b\"'s name")),
            ),
            (
                "[[process]]\nname = \"a\"\n[[process]]\nname = \"b\"\nslug = \"a\"\n",
                Some((5, "slug", "\"a\" is also \"a\"'s slug")),
            ),
            (
                "[[process]]\nname = \"a\"\nslug = \"a b\"\n",
                Some((3, "slug", "\"a b\": use letters, digits")),
            ),
            (
                "[[process]]\nname = \"a\"\npush_token = \"t1\"\n\
                 [[process]]\nname = \"b\"\npush_token = \"t1\"\n",
                Some((6, "push_token", "\"t1\" is also \"a\"'s push_token")),
            ),
            (
                "[[process]]\nname = \"a\"\npush_token = \"\"\n",
                Some((3, "push_token", "\"\": use letters")),
            ),
            (
                "[serve]\nping_key = \"a/b\"\n",
                Some((2, "ping_key", "\"a/b\": use")),
            ),
            ("[serve]\nping_body_limit = 1\n", None),
            (
                "[serve]\nping_body_limit = 0\n",
                Some((
                    2,
                    "ping_body_limit",
                    "0 is not a number of bytes from 1 to 67108864",
                )),
            ),
            (
                "[serve]\nping_body_limit = 67108865\n",
                Some((2, "ping_body_limit", "67108865 is not a number of bytes")),
            ),
            (
                "[serve]\nping_body_limit = \"100k\"\n",
                Some((2, "ping_body_limit", "invalid type: string \"100k\"")),
            ),
        ];
        crate::config::tests::refusals(cases);
        let config =
            parse("[[process]]\nname = \"a\"\nuuid = \"{5D8E1B0C-7A3F-4C92-8E61-0F2B9D4A7C15}\"\n")
                .unwrap();
        assert_eq!(
            config.processes[0].ping.uuid.as_deref(),
            Some("5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15"),
            "kept as healthchecks.io writes it"
        );
    }

    #[test]
    fn shown_ping_ids_and_serve_keys_read_back() {
        let config = parse(
            "[serve]\nping_key = \"k3y\"\nping_body_limit = 500\n\
             [[process]]\nname = \"a\"\nuuid = \"5D8E1B0C-7A3F-4C92-8E61-0F2B9D4A7C15\"\n\
             slug = \"a-job\"\npush_token = \"t0k\"\n[[process]]\nname = \"b\"\n",
        )
        .unwrap();
        let again = parse(&config.to_toml()).unwrap();
        assert_eq!(again.serve.ping_key.as_deref(), Some("k3y"));
        assert_eq!(again.serve.body_limit(), 500);
        let ids = |c: &Config| {
            c.processes
                .iter()
                .map(|p| p.ping.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&again), ids(&config));
        assert_eq!(again.processes[0].slug(), "a-job");
        assert_eq!(again.processes[1].slug(), "b");
    }
}
