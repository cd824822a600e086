//! `--remote`: other machines' `hbmon serve`s, read over HTTP(S) (`GET /status`, the
//! `hbmon status --json` document) and merged with this machine's rows under a host
//! column. A remote judged its own rows: they are shown as it judged them, their ages
//! counted to its `now`, so a clock that differs from ours changes nothing.

mod parse;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::clock::unix_now;
use crate::config::{Config, RemoteToken};
use crate::report::columns::local_stamp;
use crate::report::{Report, Row};
use crate::text;

pub use parse::parse;

/// How long one remote may take, connecting and answering: a dead one must not hold up
/// the others, nor a script for long.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// The most of a reply read: a status document of 10 000 processes is ~15 MB; a bigger
/// reply is refused rather than read whole.
pub const MAX_REPLY: u64 = 32 * 1024 * 1024;
/// How many remotes are asked at once, one thread each.
const AT_ONCE: usize = 16;

/// One remote serve to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Its rows' host column: the config's `name`, else the URL's host.
    pub name: String,
    /// The serve's base URL (`https://box2:4266`); `/status` is read under it.
    pub url: String,
    /// Sent as `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
}

/// Why a remote's rows are not shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    #[error("{url:?} is not an http:// or https:// URL with a host")]
    BadUrl { url: String },
    #[error("{0}")]
    Unreachable(String),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("a reply over {} MB", MAX_REPLY >> 20)]
    TooBig,
    #[error("not an hbmon status document: {0}")]
    NotTheDocument(String),
}

/// Why the config's `[[remote]]`s cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfiguredError {
    #[error("[[remote]] {0}")]
    Url(#[from] RemoteError),
    #[error(transparent)]
    Unsafe(#[from] crate::fsafe::FileError),
    #[error("[[remote]] token_file {}: no such file", path.display())]
    Missing { path: PathBuf },
    #[error(
        "refusing the token file {}: mode {mode:04o} lets others read it (chmod 600 it)",
        path.display()
    )]
    Readable { path: PathBuf, mode: u32 },
    #[error("the token file {} holds no token on its first line", path.display())]
    Empty { path: PathBuf },
}

/// What a remote said: its rows as it judged them.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The instant it judged (its clock).
    pub now: f64,
    /// Its `hbmon status` exit code.
    pub exit_code: u8,
    /// Its rows, each with the remote's name as host and its `now` as `judged_at`.
    pub rows: Vec<Row>,
    /// Its processes as it wrote them, each with `host` added, for `--json`.
    pub processes: Vec<Value>,
}

/// One remote's answer, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub name: String,
    pub url: String,
    /// When it was asked (our clock).
    pub at: f64,
    pub result: Result<Judged, RemoteError>,
}

impl Remote {
    /// A remote of `url` named after its host (`https://box2:4266` is `box2`).
    pub fn from_url(url: &str, token: Option<String>) -> Result<Remote, RemoteError> {
        let bad = || RemoteError::BadUrl {
            url: text::escape(url).into_owned(),
        };
        let uri: ureq::http::Uri = url.parse().map_err(|_| bad())?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(bad());
        }
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(bad)?;
        Ok(Remote {
            name: host.to_owned(),
            url: url.to_owned(),
            token,
        })
    }
}

/// The config's `[[remote]]`s; a relative `token_file` is under `dir`, the config's
/// directory. A token file is read through [`crate::fsafe`] (no planted link, this
/// user's or root's) and refused if its group or others may read it, as ssh refuses a key.
pub fn configured(config: &Config, dir: &Path) -> Result<Vec<Remote>, ConfiguredError> {
    config
        .remotes
        .iter()
        .map(|r| {
            let token = match &r.token {
                None => None,
                Some(RemoteToken::Inline(token)) => Some(token.clone()),
                Some(RemoteToken::File(file)) => Some(token_file(&dir.join(file))?),
            };
            let mut remote = Remote::from_url(&r.url, token)?;
            if let Some(name) = &r.name {
                remote.name.clone_from(name);
            }
            Ok(remote)
        })
        .collect()
}

/// The warning for inline `token`s in a config others may read (group or other read
/// bits), naming the file and those remotes; `None` when there is none to give. The
/// config is not refused: it was readable before it held a token, and `hbmon config`
/// hides them; `token_file` is the private place (refused unless it is private).
pub fn readable_token_warning(config: &Config, path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let inline: Vec<String> = (config.remotes.iter())
        .filter(|r| matches!(r.token, Some(RemoteToken::Inline(_))))
        .map(|r| text::escape(r.name.as_deref().unwrap_or(&r.url)).into_owned())
        .collect();
    if inline.is_empty() {
        return None;
    }
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    (mode & 0o044 != 0).then(|| {
        format!(
            "warning: {} holds the token of [[remote]] {} and others may read it (mode \
             {mode:04o}): chmod 600 it, or give the remote token_file",
            text::escape(&path.display().to_string()),
            inline.join(", ")
        )
    })
}

fn token_file(path: &Path) -> Result<String, ConfiguredError> {
    use std::os::unix::fs::PermissionsExt as _;
    let (bytes, meta) =
        crate::fsafe::read_trusted(path)?.ok_or_else(|| ConfiguredError::Missing {
            path: path.to_owned(),
        })?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(ConfiguredError::Readable {
            path: path.to_owned(),
            mode,
        });
    }
    let text = String::from_utf8_lossy(&bytes);
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(ConfiguredError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(token.to_owned())
}

/// The HTTP client remotes are asked with: every request bounded by [`TIMEOUT`], an
/// error status an answer rather than an error (it is shown as one).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .user_agent(concat!("hbmon/", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Asks one remote, bounded by [`TIMEOUT`] and [`MAX_REPLY`].
pub fn fetch_one(agent: &ureq::Agent, remote: &Remote) -> Fetched {
    let at = unix_now();
    Fetched {
        name: remote.name.clone(),
        url: remote.url.clone(),
        at,
        result: fetch(agent, remote),
    }
}

/// Asks every remote at once (at most [`AT_ONCE`] threads at a time), each bounded by
/// [`TIMEOUT`]; answers in the order given.
pub fn fetch_all(remotes: &[Remote]) -> Vec<Fetched> {
    let agent = agent();
    let mut out = Vec::with_capacity(remotes.len());
    for chunk in remotes.chunks(AT_ONCE) {
        std::thread::scope(|scope| {
            let asked: Vec<_> = chunk
                .iter()
                .map(|remote| {
                    let agent = &agent;
                    let at = unix_now();
                    let thread = std::thread::Builder::new()
                        .name("hbmon-remote".into())
                        .spawn_scoped(scope, move || fetch_one(agent, remote));
                    (remote, at, thread)
                })
                .collect();
            for (remote, at, thread) in asked {
                let failed = |why: String| Fetched {
                    name: remote.name.clone(),
                    url: remote.url.clone(),
                    at,
                    result: Err(RemoteError::Unreachable(why)),
                };
                out.push(match thread {
                    Ok(thread) => thread
                        .join()
                        .unwrap_or_else(|_| failed("its reader panicked".into())),
                    Err(e) => failed(format!("cannot start a thread: {e}")),
                });
            }
        });
    }
    out
}

/// One remote's `/status`, parsed.
fn fetch(agent: &ureq::Agent, remote: &Remote) -> Result<Judged, RemoteError> {
    let url = format!("{}/status", remote.url.trim_end_matches('/'));
    let mut request = agent.get(&url);
    if let Some(token) = &remote.token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.call().map_err(|e| match e {
        ureq::Error::Timeout(_) => RemoteError::Unreachable(format!(
            "no answer within {}",
            crate::duration::format_secs(TIMEOUT.as_secs_f64())
        )),
        other => RemoteError::Unreachable(other.to_string()),
    })?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(RemoteError::Status(status));
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_REPLY)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => RemoteError::TooBig,
            ureq::Error::Timeout(_) => RemoteError::Unreachable(format!(
                "the reply took over {}",
                crate::duration::format_secs(TIMEOUT.as_secs_f64())
            )),
            other => RemoteError::Unreachable(format!("reading the reply: {other}")),
        })?;
    parse(&remote.name, &body)
}

/// The line that stands for a remote without rows: `box2: unreachable since 14:02:11
/// (connection refused)`, escaped (the reason may quote the remote). `since`: when it
/// first failed in this run of failures; `now`: the instant shown.
pub fn unreachable_line(name: &str, since: f64, now: f64, why: &RemoteError) -> String {
    format!(
        "{}: unreachable since {} ({})",
        text::escape(name),
        local_stamp(since, now),
        text::escape(&why.to_string())
    )
}

/// This machine's name in the host column: the probe's host name, else `localhost`.
pub fn local_host(report: &Report) -> String {
    (report.system.as_ref().map(|s| s.host.clone()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Makes every remote's name distinct, so each host column value is one serve: two
/// unnamed remotes on one host (`http://box2:4266`, `http://box2:4267`) are named
/// `box2:4266` and `box2:4267`; a name still shared (two `name = "db"`) gets ` (2)`,
/// ` (3)`, in order. Names that are already distinct are left as they are.
pub fn distinct(remotes: &mut [Remote]) {
    let shared =
        |remotes: &[Remote], name: &str| remotes.iter().filter(|r| r.name == name).count() > 1;
    let renames: Vec<Option<String>> = remotes
        .iter()
        .map(|r| {
            let uri: ureq::http::Uri = r.url.parse().ok()?;
            let host = uri.host()?;
            (r.name == host && shared(remotes, &r.name)).then(|| {
                let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
                    Some("https") => 443,
                    _ => 80,
                });
                format!("{host}:{port}")
            })
        })
        .collect();
    for (remote, rename) in remotes.iter_mut().zip(renames) {
        if let Some(name) = rename {
            remote.name = name;
        }
    }
    // The first holder of a name keeps it; a later one counts on from ` (2)` to the first
    // name nobody has or will have (`db`, `db`, `db (2)` are `db`, `db (3)`, `db (2)`).
    let mut taken: HashSet<String> = HashSet::new();
    for i in 0..remotes.len() {
        let base = remotes[i].name.clone();
        if taken.insert(base.clone()) {
            continue;
        }
        let free = |name: &String, taken: &HashSet<String>| {
            !taken.contains(name) && !remotes[i + 1..].iter().any(|r| r.name == *name)
        };
        // There are fewer names than numbers tried, so one of them is free.
        let name = (2..=remotes.len() + 2)
            .map(|n| format!("{base} ({n})"))
            .find(|name| free(name, &taken))
            .expect("more numbers than names");
        taken.insert(name.clone());
        remotes[i].name = name;
    }
}

/// Gives this machine's rows the host column (`host`), then adds every remote's rows.
pub fn merge(report: &mut Report, host: &str, fetched: &[Fetched]) {
    for row in &mut report.rows {
        row.host = Some(host.to_owned());
    }
    for f in fetched {
        if let Ok(judged) = &f.result {
            report.rows.extend(judged.rows.iter().cloned());
        }
    }
}

/// The exit code with remotes: the worst of ours and theirs (0 ok, 1 warning, 2
/// critical), and 3 (unknown) when a remote could not be read and nothing is critical —
/// a dead box must not pass for a green one, nor hide a critical process.
pub fn exit_code(local: u8, fetched: &[Fetched]) -> u8 {
    let judged = fetched
        .iter()
        .filter_map(|f| f.result.as_ref().ok())
        .map(|j| j.exit_code)
        .fold(local, u8::max);
    let unreachable = fetched.iter().any(|f| f.result.is_err());
    if unreachable && judged < 2 { 3 } else { judged }
}

/// The remotes' processes as they wrote them (with `host`), by host and name: what
/// `--json` says of a remote row.
pub fn raw_processes(fetched: &[Fetched]) -> HashMap<(&str, &str), &Value> {
    fetched
        .iter()
        .filter_map(|f| f.result.as_ref().ok().map(|j| (f.name.as_str(), j)))
        .flat_map(|(host, j)| {
            j.processes.iter().filter_map(move |p| {
                let name = p.get("name")?.as_str()?;
                Some(((host, name), p))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
