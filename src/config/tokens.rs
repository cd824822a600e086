//! What lets `hbmon serve`'s API leave loopback: `[[serve.token]]` (API tokens with
//! scopes, as healthchecks.io's read-only and read-write keys), `[serve] tls_cert` and
//! `tls_key` (PEM files), and `[serve] ping_rate` (each client's pings, a token bucket).
//! Secrets in files are read when serve starts, not here ([`Secret::read`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::Fault;
use crate::fsafe::{self, FileError};

/// The shortest secret taken: 16 characters of a random token are ~95 bits; a short one
/// could be guessed over the network.
pub const MIN_SECRET: usize = 16;

/// What a token lets a request do; each route of the API needs one (`api/routes.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Status, metrics, the dashboard and its assets, events, the management API's reads.
    Read,
    /// Beats: `/ping/…` and `/api/push/…`.
    Ping,
    /// The management API's writes.
    Write,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Ping, Scope::Write];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Ping => "ping",
            Scope::Write => "write",
        }
    }

    fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Where a token's secret is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// `secret = "…"`, checked as the config is read.
    Inline(String),
    /// `secret_file = "path"`, relative to the config's directory; read when serve starts.
    File(PathBuf),
}

/// Why a secret file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot read the secret of token {name:?}: {} does not exist", path.display())]
    Missing { name: String, path: PathBuf },
    #[error("the secret of token {name:?} in {}: {why}", path.display())]
    Bad {
        name: String,
        path: PathBuf,
        why: String,
    },
}

/// One `[[serve.token]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    /// What logs call it: never the secret.
    pub name: String,
    pub secret: Secret,
    /// Sorted, each once.
    pub scopes: Vec<Scope>,
}

impl TokenConfig {
    /// The secret itself: inline, or read from its file (relative to `base`, the config's
    /// directory) through [`fsafe::read_private`] — refused when others may read it.
    pub fn read_secret(&self, base: &Path) -> Result<String, SecretError> {
        let path = match &self.secret {
            Secret::Inline(secret) => return Ok(secret.clone()),
            Secret::File(path) => base.join(path),
        };
        let bytes = fsafe::read_private(&path)?.ok_or_else(|| SecretError::Missing {
            name: self.name.clone(),
            path: path.clone(),
        })?;
        let bad = |why: String| SecretError::Bad {
            name: self.name.clone(),
            path: path.clone(),
            why,
        };
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
        // A file ends with a newline as editors and `echo` write it.
        let secret = text.trim_end_matches(['\n', '\r']);
        check_secret(secret).map_err(bad)?;
        Ok(secret.to_owned())
    }
}

/// A secret is long enough and goes in a header as written.
fn check_secret(secret: &str) -> Result<(), String> {
    if secret.chars().count() < MIN_SECRET {
        return Err(format!(
            "a secret of {} characters is too short: use at least {MIN_SECRET} (e.g. \
             `openssl rand -hex 32`)",
            secret.chars().count()
        ));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a secret is visible ASCII without spaces (it is sent in a header)".to_owned());
    }
    Ok(())
}

/// `[serve] ping_rate`: how fast one client (an IP address) may ping, as a token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PingRate {
    /// Pings a second, refilled continuously.
    pub per_sec: f64,
    /// How many may come at once after a quiet spell.
    pub burst: u32,
}

impl Default for PingRate {
    /// 20 a second, 100 at once: far over what any one machine's jobs send (a beat every
    /// few seconds each), far under what floods the heartbeat file's lock.
    fn default() -> Self {
        PingRate {
            per_sec: 20.0,
            burst: 100,
        }
    }
}

impl PingRate {
    /// `N/s`, `N/m` or `N/h`, then optionally ` burst M` (default: N a second × 5, at
    /// least 1), or `off` (`None`).
    pub fn parse(text: &str) -> Result<Option<PingRate>, String> {
        if text == "off" {
            return Ok(None);
        }
        let bad = || {
            format!(
                "{text:?} is not a rate: use N/s, N/m or N/h with an optional \"burst M\" \
                 (e.g. \"20/s burst 100\"), or \"off\""
            )
        };
        let mut words = text.split_whitespace();
        let (count, per) = words
            .next()
            .and_then(|r| r.split_once('/'))
            .ok_or_else(bad)?;
        let count: f64 = count
            .parse()
            .ok()
            .filter(|c: &f64| *c > 0.0 && c.is_finite())
            .ok_or_else(bad)?;
        let per_sec = count
            / match per {
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(bad()),
            };
        let burst = match (words.next(), words.next(), words.next()) {
            (None, _, _) => (per_sec * 5.0).ceil().max(1.0) as u32,
            (Some("burst"), Some(m), None) => m.parse().ok().filter(|&m| m >= 1).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        Ok(Some(PingRate { per_sec, burst }))
    }
}

impl std::fmt::Display for PingRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/s burst {}", self.per_sec, self.burst)
    }
}

/// The access parts of `[serve]`, parsed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Access {
    pub tokens: Vec<TokenConfig>,
    /// `tls_cert` and `tls_key`, relative to the config's directory: both or neither.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `None` in the file: the default; `Some(None)`: `off`.
    pub ping_rate: Option<Option<PingRate>>,
}

impl Access {
    /// The rate pings are held to: `ping_rate`, or [`PingRate::default`].
    pub fn ping_rate(&self) -> Option<PingRate> {
        self.ping_rate.unwrap_or(Some(PingRate::default()))
    }
}

/// One `[[serve.token]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    name: Spanned<String>,
    secret: Option<Spanned<String>>,
    secret_file: Option<Spanned<String>>,
    scopes: Spanned<Vec<Spanned<String>>>,
}

/// Checks the tokens (`at`: where the `[serve]` table is, for a token without a key),
/// TLS files and rate of `[serve]`.
pub(super) fn validate(
    tokens: Vec<Spanned<RawToken>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    ping_rate: Option<Spanned<String>>,
) -> Result<Access, Fault> {
    let mut parsed: Vec<TokenConfig> = Vec::with_capacity(tokens.len());
    for token in tokens {
        let span = token.span();
        let raw = token.into_inner();
        let name = raw.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err((
                raw.name.span(),
                "name",
                "a token needs a name (for logs)".into(),
            ));
        }
        if parsed.iter().any(|t| t.name == name) {
            return Err((
                raw.name.span(),
                "name",
                format!("{name:?} names two tokens"),
            ));
        }
        let secret = match (raw.secret, raw.secret_file) {
            (Some(secret), None) => {
                check_secret(secret.get_ref()).map_err(|why| (secret.span(), "secret", why))?;
                Secret::Inline(secret.into_inner())
            }
            (None, Some(file)) if !file.get_ref().is_empty() => {
                Secret::File(PathBuf::from(file.into_inner()))
            }
            (Some(_), Some(file)) => {
                return Err((
                    file.span(),
                    "secret_file",
                    "give secret or secret_file, not both".into(),
                ));
            }
            (None, _) => {
                return Err((
                    span,
                    "secret",
                    format!("token {name:?} needs secret or secret_file"),
                ));
            }
        };
        let mut scopes = Vec::new();
        for scope in raw.scopes.get_ref() {
            let one = Scope::parse(scope.get_ref()).ok_or_else(|| {
                (
                    scope.span(),
                    "scopes",
                    format!(
                        "{:?} is not a scope: use read, ping and write",
                        scope.get_ref()
                    ),
                )
            })?;
            scopes.push(one);
        }
        if scopes.is_empty() {
            return Err((
                raw.scopes.span(),
                "scopes",
                format!("token {name:?} has no scope: give read, ping or write"),
            ));
        }
        scopes.sort_unstable();
        scopes.dedup();
        parsed.push(TokenConfig {
            name,
            secret,
            scopes,
        });
    }
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some((
            PathBuf::from(cert.into_inner()),
            PathBuf::from(key.into_inner()),
        )),
        (None, None) => None,
        (Some(at), None) | (None, Some(at)) => {
            return Err((
                at.span(),
                "tls_cert",
                "tls_cert and tls_key go together: give both".into(),
            ));
        }
    };
    let ping_rate = match ping_rate {
        Some(text) => {
            Some(PingRate::parse(text.get_ref()).map_err(|why| (text.span(), "ping_rate", why))?)
        }
        None => None,
    };
    Ok(Access {
        tokens: parsed,
        tls,
        ping_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigError};

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("hbmon.toml"))
    }

    const SECRET: &str = "0123456789abcdef0123";

    #[test]
    fn tokens_need_a_name_a_long_secret_and_known_scopes() {
        /// A config's `[serve]` part, and its error's line, key and start of message.
        type Fault<'a> = Option<(usize, &'a str, &'a str)>;
        let token = |rest: &str| format!("[[serve.token]]\nname = \"ci\"\n{rest}");
        let cases: Vec<(String, Fault)> = vec![
            (
                token(&format!(
                    "secret = \"{SECRET}\"\nscopes = [\"read\", \"ping\"]\n"
                )),
                None,
            ),
            (
                token("secret_file = \"ci.token\"\nscopes = [\"write\"]\n"),
                None,
            ),
            (
                token("secret = \"short\"\nscopes = [\"read\"]\n"),
                Some((
                    3,
                    "secret",
                    "a secret of 5 characters is too short: use at least 16",
                )),
            ),
            (
                token("secret = \"\"\nscopes = [\"read\"]\n"),
                Some((3, "secret", "a secret of 0 characters is too short")),
            ),
            (
                token("secret = \"0123456789 abcdef\"\nscopes = [\"read\"]\n"),
                Some((3, "secret", "a secret is visible ASCII without spaces")),
            ),
            (
                token(&format!("secret = \"{SECRET}\"\nscopes = [\"admin\"]\n")),
                Some((
                    4,
                    "scopes",
                    "\"admin\" is not a scope: use read, ping and write",
                )),
            ),
            (
                token(&format!("secret = \"{SECRET}\"\nscopes = []\n")),
                Some((4, "scopes", "token \"ci\" has no scope")),
            ),
            (
                token("scopes = [\"read\"]\n"),
                Some((1, "secret", "token \"ci\" needs secret or secret_file")),
            ),
            (
                token(&format!(
                    "secret = \"{SECRET}\"\nsecret_file = \"f\"\nscopes = [\"read\"]\n"
                )),
                Some((4, "secret_file", "give secret or secret_file, not both")),
            ),
            (
                format!(
                    "{}{}",
                    token(&format!("secret = \"{SECRET}\"\nscopes = [\"read\"]\n")),
                    token(&format!("secret = \"{SECRET}x\"\nscopes = [\"read\"]\n"))
                ),
                Some((6, "name", "\"ci\" names two tokens")),
            ),
            (
                "[serve]\ntls_cert = \"c.pem\"\n".into(),
                Some((2, "tls_cert", "tls_cert and tls_key go together")),
            ),
            ("[serve]\nping_rate = \"5/m\"\n".into(), None),
            (
                "[serve]\nping_rate = \"fast\"\n".into(),
                Some((2, "ping_rate", "\"fast\" is not a rate")),
            ),
        ];
        for (text, expected) in &cases {
            match (parse(text), expected) {
                (Ok(_), None) => {}
                (
                    Err(ConfigError::Invalid {
                        line, key, message, ..
                    }),
                    Some((l, k, m)),
                ) => {
                    assert_eq!((line, key.as_deref()), (*l, Some(*k)), "{text}: {message}");
                    assert!(message.starts_with(m), "{text}: {message}");
                    assert!(!message.contains(SECRET), "{message}");
                }
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
    }

    #[test]
    fn tokens_read_back_as_shown_and_a_hidden_secret_is_no_secret() {
        let text = format!(
            "[[serve.token]]\nname = \"ci\"\nsecret = \"{SECRET}\"\n\
             scopes = [\"ping\", \"read\", \"ping\"]\n"
        );
        let config = parse(&text).unwrap();
        let shown = config.to_toml();
        assert_eq!(
            parse(&shown).unwrap().serve.access,
            config.serve.access,
            "{shown}"
        );
        let hidden = config.show(crate::config::Secrets::Hidden);
        assert!(!hidden.contains(SECRET), "{hidden}");
        assert!(
            parse(&hidden).is_err(),
            "a hidden secret is no secret: {hidden}"
        );
        assert_eq!(
            config.serve.access.tokens[0].scopes,
            [Scope::Read, Scope::Ping]
        );
    }

    #[test]
    fn ping_rates_are_a_count_a_unit_and_a_burst() {
        let cases: &[(&str, Option<(f64, u32)>)] = &[
            ("20/s burst 100", Some((20.0, 100))),
            ("20/s", Some((20.0, 100))),
            ("60/m", Some((1.0, 5))),
            ("1/h", Some((1.0 / 3600.0, 1))),
            ("0.5/s burst 2", Some((0.5, 2))),
            ("off", None),
        ];
        for &(text, want) in cases {
            let got = PingRate::parse(text).unwrap().map(|r| (r.per_sec, r.burst));
            assert_eq!(got, want, "{text}");
        }
        for bad in [
            "",
            "20",
            "20/d",
            "0/s",
            "-1/s",
            "20/s burst",
            "20/s burst 0",
            "20/s burst 1 x",
            "inf/s",
        ] {
            assert!(PingRate::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_secret_file_is_read_only_when_no_one_else_can_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let token = TokenConfig {
            name: "ci".into(),
            secret: Secret::File("ci.token".into()),
            scopes: vec![Scope::Read],
        };
        let err = token.read_secret(dir.path()).unwrap_err();
        assert!(err.to_string().contains("ci.token does not exist"), "{err}");
        let file = dir.path().join("ci.token");
        std::fs::write(&file, format!("{SECRET}\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = token.read_secret(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("ci.token") && err.contains("readable by group or others"),
            "{err}"
        );
        assert!(!err.contains(SECRET), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(token.read_secret(dir.path()).unwrap(), SECRET);
        std::fs::write(&file, "short\n").unwrap();
        let err = token.read_secret(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("token \"ci\"") && err.contains("too short"),
            "{err}"
        );
    }
}
