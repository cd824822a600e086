//! The optional config file, `hbmon.toml`: which processes are *monitored*, with their
//! thresholds, the defaults for everything else, and what `hbmon serve` does: `[history]`,
//! `[[alert]]`, `[serve]` and `[[remote]]`. Parsing, validation with errors that
//! name the file, line and key, and [`Config::rules_for`], which turns it into [`Rules`].
//! Changing it from a program (the management API, `hbmon mcp`) is [`edit`].

mod alert;
mod depends;
pub mod edit;
mod ping;
mod probes;
mod process;
mod remote;
mod schedule;
mod show;
mod supervise;
mod tokens;
mod values;

pub use alert::{COMMAND_TIMEOUT, MAX_TIMEOUT, Policy, Rule, Target, WEBHOOK_TIMEOUT};
pub use ping::{PingIds, ServeConfig};
pub use probes::{MAX_PROBE_TIMEOUT, PROBE_FAILS, PROBE_TIMEOUT, ProbeKind, Probes};
pub use process::ProcessConfig;
pub use remote::{RemoteConfig, RemoteToken};
pub use schedule::{Maintenance, SCHEDULE_GRACE};
pub use show::Secrets;
pub use supervise::{Command, Restart, STOP_TIMEOUT, Supervision, User, check_user};
pub use tokens::{Access, MIN_SECRET, PingRate, Scope, Secret, SecretError, TokenConfig};

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::cron::Schedule;
use crate::health::{IntervalSource, Overlap, Rules, Scheduled};
use crate::paths;
use crate::store::{DEFAULT_INTERVAL, Entry};
use process::RawProcess;
use values::{Count, Span};

/// Why a config file could not be used. `Invalid` reads `file:line: key: message`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// Not a regular file, too big, or writable by someone else: it names commands to run.
    #[error(transparent)]
    Unsafe(#[from] crate::fsafe::FileError),
    #[error("{}:{line}: {}{message}", path.display(), key.as_ref().map(|k| format!("{k}: ")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// The key at fault, when there is one.
        key: Option<String>,
        message: String,
    },
}

/// The whole config. `Config::default()` is what hbmon uses without a config file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub defaults: Defaults,
    /// Monitored processes, in file order.
    pub processes: Vec<ProcessConfig>,
    pub history: HistoryConfig,
    /// `[[alert]]` rules, in file order.
    pub alerts: Vec<Rule>,
    /// Boxed: a config is moved whole (a reload's), and `[serve]` is most of it.
    pub serve: Box<ServeConfig>,
    /// `[[maintenance]]` windows, in file order.
    pub maintenance: Vec<Maintenance>,
    /// `[[remote]]` serves `hbmon status` also shows, in file order.
    pub remotes: Vec<RemoteConfig>,
    /// Since when hbmon knows the configured processes (Unix seconds): the config file's
    /// last modification, so a configured job that never ran is due one period after it
    /// was added. `None` for a config not read from a file.
    pub known_since: Option<f64>,
}

/// How long the history keeps beats and transitions unless `[history] keep` says.
pub const DEFAULT_KEEP: Duration = Duration::from_secs(7 * 86_400);

/// `[history]`: the database `hbmon serve` records beside the heartbeat file.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryConfig {
    /// Seconds of beats and transitions kept (`keep`, default 7 days).
    pub keep: f64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            keep: DEFAULT_KEEP.as_secs_f64(),
        }
    }
}

/// `[defaults]`: applied to every process, configured or not, that does not set its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// Seconds; `None`: the entry's own `interval`, else 30 s.
    pub interval: Option<f64>,
    /// Seconds; `None`: half the interval.
    pub grace: Option<f64>,
    pub late_after: f64,
    pub degraded_after: f64,
    pub dead_after: f64,
}

impl Default for Defaults {
    fn default() -> Self {
        let rules = Rules::default();
        Defaults {
            interval: None,
            grace: None,
            late_after: rules.late_after,
            degraded_after: rules.degraded_after,
            dead_after: rules.dead_after,
        }
    }
}

impl Config {
    /// The config `hbmon` uses: found by [`paths::locate_config`] (`explicit` is
    /// `--config`). Returns it and the file it came from; no file found means the built-in
    /// defaults and `None`.
    pub fn load(
        explicit: Option<&Path>,
        heartbeat_file: &Path,
    ) -> Result<(Config, Option<PathBuf>), ConfigError> {
        match paths::locate_config(explicit, heartbeat_file) {
            None => Ok((Config::default(), None)),
            Some(found) => Ok((Config::read(&found.path)?, Some(found.path))),
        }
    }

    /// Reads and validates one config file.
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let read_error = |cause| ConfigError::Read {
            path: path.to_owned(),
            cause,
        };
        // A config says which commands to run as this user ([[alert]] command): one that
        // another user could have written is refused, as ssh refuses such a config.
        let (bytes, meta) = crate::fsafe::read_trusted(path)?
            .ok_or_else(|| read_error(std::io::ErrorKind::NotFound.into()))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        let mut config = Config::parse(&text, path)?;
        // A filesystem without modification times leaves never-run jobs `pending`, as
        // they were before there was an anchor.
        config.known_since = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64());
        Ok(config)
    }

    /// Parses and validates config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| invalid_from_toml(text, path, &e))?;
        raw.validate()
            .map_err(|(span, key, message)| ConfigError::Invalid {
                path: path.to_owned(),
                line: line_of(text, span.start),
                key: Some(key.to_owned()),
                message,
            })
    }

    /// Whether `hbmon serve` may alert about `name`: every process may, unless its
    /// `[[process]]` says `alerts = false`.
    pub fn alerts_for(&self, name: &str) -> bool {
        self.process(name).is_none_or(|p| p.alerts)
    }

    /// The configured process called `name`, if any.
    pub fn process(&self, name: &str) -> Option<&ProcessConfig> {
        self.processes.iter().find(|p| p.name == name)
    }

    /// The heartbeat name a user meant by `given`: a heartbeat name as it is, or a
    /// configured label ("Bidder Script") for its process's name. A name wins over a label.
    pub fn name_for<'a>(&'a self, given: &'a str) -> &'a str {
        if self.process(given).is_some() {
            return given;
        }
        self.processes
            .iter()
            .find(|p| p.label.as_deref() == Some(given))
            .map_or(given, |p| p.name.as_str())
    }

    /// The rules for `name`. The interval is the process's config, else the entry's own
    /// (a writer's promise is more specific than a global default), else `[defaults]`,
    /// else 30 s; the grace is the process's, else `[defaults]`, else half the interval.
    pub fn rules_for(&self, name: &str, entry: Option<&Entry>) -> Rules {
        let process = self.process(name);
        let entry_interval = entry
            .and_then(|e| e.interval)
            .filter(|i| i.is_finite() && *i > 0.0);
        let (interval, interval_from) = [
            (process.and_then(|p| p.interval), IntervalSource::Config),
            (entry_interval, IntervalSource::Entry),
            (self.defaults.interval, IntervalSource::Defaults),
        ]
        .into_iter()
        .find_map(|(i, from)| Some((i?, from)))
        .unwrap_or((DEFAULT_INTERVAL.as_secs_f64(), IntervalSource::Builtin));
        // The config's period wins over the writer's, whichever form either has.
        let schedule = match process {
            Some(p) if p.schedule.is_some() || p.interval.is_some() => p.schedule.clone(),
            _ => entry.and_then(Entry::schedule),
        };
        let grace = process
            .and_then(|p| p.grace)
            .or(self.defaults.grace)
            .unwrap_or(if schedule.is_some() {
                SCHEDULE_GRACE
            } else {
                interval / 2.0
            });
        Rules {
            interval,
            grace,
            late_after: process
                .and_then(|p| p.late_after)
                .unwrap_or(self.defaults.late_after),
            degraded_after: process
                .and_then(|p| p.degraded_after)
                .unwrap_or(self.defaults.degraded_after),
            dead_after: process
                .and_then(|p| p.dead_after)
                .unwrap_or(self.defaults.dead_after),
            kind: process
                .and_then(|p| p.kind)
                .or_else(|| entry.map(Entry::kind))
                .unwrap_or_default(),
            max_runtime: process.and_then(|p| p.max_runtime),
            min_runtime: process.and_then(|p| p.min_runtime),
            overlap: process.map_or(Overlap::Allow, |p| p.overlap),
            monitored: process.is_some(),
            critical: process.is_none_or(|p| p.critical),
            probe_critical: process
                .and_then(|p| p.probes.as_ref())
                .is_some_and(|p| p.critical),
            interval_from,
            known_since: process.and(self.known_since),
            schedule: Scheduled(schedule),
            maintenance: self
                .maintenance
                .iter()
                .filter(|m| m.names(name))
                .map(|m| m.window.clone())
                .collect(),
        }
    }
}

/// A commented starter config, written by `hbmon init` (`config/hbmon.starter.toml`, a
/// real file so that editors and TOML tools check it). It parses as is (everything but
/// `[defaults]` is commented out); the tests also parse it uncommented.
pub const STARTER: &str = include_str!("config/hbmon.starter.toml");

// ---- parsing ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    process: Vec<RawProcess>,
    #[serde(default)]
    history: RawHistory,
    #[serde(default)]
    alert: Vec<Spanned<alert::RawAlert>>,
    #[serde(default)]
    serve: ping::RawServe,
    #[serde(default)]
    maintenance: Vec<Spanned<schedule::RawMaintenance>>,
    #[serde(default)]
    remote: Vec<remote::RawRemote>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistory {
    keep: Option<Spanned<Span>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    interval: Option<Spanned<Span>>,
    grace: Option<Spanned<Span>>,
    late_after: Option<Spanned<Count>>,
    degraded_after: Option<Spanned<Count>>,
    dead_after: Option<Spanned<Count>>,
}

/// A validation failure: where, which key, what.
type Fault = (Range<usize>, &'static str, String);

impl RawConfig {
    fn validate(self) -> Result<Config, Fault> {
        let d = self.defaults;
        let interval = positive("interval", d.interval.as_ref())?;
        let defaults = Defaults {
            interval,
            grace: d.grace.map(|g| g.into_inner().0),
            late_after: d.late_after.as_ref().map_or(1.0, |c| c.get_ref().0),
            degraded_after: d.degraded_after.as_ref().map_or(3.0, |c| c.get_ref().0),
            dead_after: d.dead_after.as_ref().map_or(5.0, |c| c.get_ref().0),
        };
        ordered(
            [&d.late_after, &d.degraded_after, &d.dead_after],
            [
                defaults.late_after,
                defaults.degraded_after,
                defaults.dead_after,
            ],
        )?;
        let mut processes: Vec<ProcessConfig> = Vec::with_capacity(self.process.len());
        // Where each process's `depends_on` names each dependency, for errors.
        let mut named_at: Vec<Vec<Range<usize>>> = Vec::with_capacity(self.process.len());
        for p in self.process {
            named_at.push(p.depends_on.iter().map(Spanned::span).collect());
            let process = p.validate(&defaults, &processes)?;
            processes.push(process);
        }
        depends::check(&processes, &named_at)?;
        let history = HistoryConfig {
            keep: positive("keep", self.history.keep.as_ref())?
                .unwrap_or(HistoryConfig::default().keep),
        };
        let alerts = self
            .alert
            .into_iter()
            .map(alert::RawAlert::validate)
            .collect::<Result<_, _>>()?;
        let serve = self.serve.validate()?;
        let maintenance = self
            .maintenance
            .into_iter()
            .map(schedule::RawMaintenance::validate)
            .collect::<Result<_, _>>()?;
        let remotes = (self.remote.into_iter())
            .map(remote::RawRemote::validate)
            .collect::<Result<_, _>>()?;
        Ok(Config {
            defaults,
            processes,
            history,
            alerts,
            serve: Box::new(serve),
            maintenance,
            remotes,
            known_since: None,
        })
    }
}

/// A span that must not be zero (an interval of 0 s would make everything late at once).
fn positive(key: &'static str, value: Option<&Spanned<Span>>) -> Result<Option<f64>, Fault> {
    match value {
        Some(v) if v.get_ref().0 <= 0.0 => {
            Err((v.span(), key, "must be greater than zero".to_owned()))
        }
        other => Ok(other.map(|v| v.get_ref().0)),
    }
}

/// `late_after <= degraded_after <= dead_after`, as effective after defaults; the fault
/// points at whichever of the pair was written in this table.
fn ordered(written: [&Option<Spanned<Count>>; 3], effective: [f64; 3]) -> Result<(), Fault> {
    const KEYS: [&str; 3] = ["late_after", "degraded_after", "dead_after"];
    for i in 0..2 {
        if effective[i] > effective[i + 1] {
            let (at, key) = match (written[i + 1], written[i]) {
                (Some(s), _) => (s.span(), KEYS[i + 1]),
                (None, Some(s)) => (s.span(), KEYS[i]),
                (None, None) => (0..0, KEYS[i + 1]),
            };
            return Err((
                at,
                key,
                format!(
                    "{} ({}) must not exceed {} ({})",
                    KEYS[i],
                    effective[i],
                    KEYS[i + 1],
                    effective[i + 1]
                ),
            ));
        }
    }
    Ok(())
}

fn invalid_from_toml(text: &str, path: &Path, err: &toml::de::Error) -> ConfigError {
    let start = err.span().map_or(0, |s| s.start);
    let message = err.message().trim().replace("unknown field", "unknown key");
    ConfigError::Invalid {
        path: path.to_owned(),
        line: line_of(text, start),
        key: key_of(text, start, &message),
        message: message.replace('\n', " "),
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .split(|&b| b == b'\n')
        .count()
}

/// The key an error is about: the one a serde message names (`unknown key `x``), else the
/// `key = ` of the line the error points into, else the `[table]` header there.
fn key_of(text: &str, offset: usize, message: &str) -> Option<String> {
    if let Some(rest) = message.split_once('`').map(|(_, r)| r)
        && (message.contains("key `") || message.contains("field `"))
        && let Some((key, _)) = rest.split_once('`')
    {
        return Some(key.to_owned());
    }
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[start..end].trim();
    if let Some((key, _)) = line.split_once('=') {
        return Some(key.trim().to_owned());
    }
    let header = line.trim_matches(|c| c == '[' || c == ']').trim();
    (!header.is_empty()).then(|| header.to_owned())
}

#[cfg(test)]
mod tests;
