//! Reading the config again while the monitor runs: where it is looked for (as at the
//! start: `--config`, `$HBMON_CONFIG`, beside the heartbeat file, the per-user directory),
//! whether it changed since the last read (its identity, size, times, mode and owner — a
//! `chmod` that makes it untrusted is a change: see [`Stamp`]), and the new config or why
//! it is refused.
//! A refused config (broken, untrusted, unreadable, gone) leaves the one in use running.

use std::path::{Path, PathBuf};

use crate::clock::format_local;
use crate::config::{Config, ConfigError};
use crate::paths::{self, ConfigSource};
use crate::watch::Stamp;

/// The config in use, and where to look for it again.
#[derive(Debug)]
pub(super) struct ConfigFile {
    /// `--config`, if given.
    flag: Option<PathBuf>,
    heartbeat_file: PathBuf,
    /// The file the config in use came from; `None`: the built-in defaults.
    path: Option<PathBuf>,
    /// The config file as it was at the last read, accepted or refused.
    stamp: Option<Stamp>,
    /// When the config in use was read (Unix seconds).
    read_at: f64,
}

/// What a look at the config found.
#[derive(Debug)]
pub(super) enum Outcome {
    Unchanged,
    /// A new config to use, read from `path` (`None`: the built-in defaults).
    Reloaded {
        config: Config,
        path: Option<PathBuf>,
    },
    /// Why the config could not be used; the one in use stays.
    Refused(String),
}

impl ConfigFile {
    /// The config read at `read_at` from `path` (found with `flag` for a monitor of
    /// `heartbeat_file`).
    pub(super) fn new(
        flag: Option<PathBuf>,
        heartbeat_file: PathBuf,
        path: Option<PathBuf>,
        read_at: f64,
    ) -> ConfigFile {
        ConfigFile {
            stamp: path.as_deref().and_then(Stamp::of),
            flag,
            heartbeat_file,
            path,
            read_at,
        }
    }

    /// Every file whose change may change the config: the one `--config` or
    /// `$HBMON_CONFIG` names, else each place it is looked for.
    /// The file the config in use came from; `None`: the built-in defaults.
    pub(super) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(super) fn watched(&self) -> Vec<PathBuf> {
        match paths::locate_config(self.flag.as_deref(), &self.heartbeat_file) {
            Some(found) if matches!(found.source, ConfigSource::Flag | ConfigSource::Env) => {
                vec![found.path]
            }
            _ => paths::config_candidates(&self.heartbeat_file)
                .into_iter()
                .map(|c| c.path)
                .collect(),
        }
    }

    /// Looks at the config again: read it if it changed since the last look (or `forced`,
    /// for SIGHUP), or if another file is now the one found. `now` is when.
    pub(super) fn check(&mut self, forced: bool, now: f64) -> Outcome {
        let found =
            paths::locate_config(self.flag.as_deref(), &self.heartbeat_file).map(|f| f.path);
        let stamp = found.as_deref().and_then(Stamp::of);
        if !forced && found == self.path && stamp == self.stamp {
            return Outcome::Unchanged;
        }
        self.stamp = stamp;
        // Deleted, or moved away: a restart would run on the built-in defaults (or fail on
        // a `--config` that is not there), more likely a slip than what was meant.
        let vanished = self
            .path
            .as_ref()
            .filter(|used| stamp.is_none() && found.as_ref().is_none_or(|f| f == *used));
        if let Some(gone) = vanished {
            return Outcome::Refused(self.keeping(&format!("{} is gone", gone.display())));
        }
        // No config then, none now.
        let Some(path) = found else {
            return Outcome::Unchanged;
        };
        match Config::read(&path) {
            Ok(config) => {
                self.path = Some(path.clone());
                self.read_at = now;
                Outcome::Reloaded {
                    config,
                    path: Some(path),
                }
            }
            Err(e) => Outcome::Refused(self.keeping(&refusal(&e))),
        }
    }

    /// `why`, and what stays in use.
    fn keeping(&self, why: &str) -> String {
        match &self.path {
            Some(_) => format!(
                "{why}; keeping the config read at {}",
                format_local(self.read_at)
            ),
            None => format!("{why}; keeping the built-in defaults"),
        }
    }
}

/// The error as one line (a TOML error's message may span several).
fn refusal(e: &ConfigError) -> String {
    crate::text::one_line(&e.to_string()).into_owned()
}
