//! `hbmon import`: what people already run under pm2, supervisord or systemd, turned into
//! `[[process]]` blocks to paste into hbmon.toml. Each source is read into [`Imported`]
//! (`pm2.rs`, `supervisor.rs`, `systemd.rs`), then written as TOML by one renderer, every
//! value through the `toml` crate's own escaping, and what does not map said in comments
//! rather than dropped silently.

mod pm2;
mod supervisor;
mod systemd;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use pm2::from_jlist;
pub use supervisor::from_ini;
pub use systemd::from_unit;

/// Why a source cannot be imported: where (file and line, when there is one) and what.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}:{line}: {message}", file.display())]
    At {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", file.display())]
    In { file: PathBuf, message: String },
}

impl ImportError {
    fn at(file: &Path, line: usize, message: impl Into<String>) -> ImportError {
        ImportError::At {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }

    fn whole(file: &Path, message: impl Into<String>) -> ImportError {
        ImportError::In {
            file: file.to_owned(),
            message: message.into(),
        }
    }
}

/// When to restart, in the words of the config's `restart` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    Always,
    OnFailure,
    Never,
}

impl Restart {
    fn as_str(self) -> &'static str {
        match self {
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::Never => "never",
        }
    }
}

/// One process as another tool runs it, in the config's terms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Imported {
    /// Where it came from, for the block's first comment: `pm2 app "api"`.
    pub source: String,
    pub name: String,
    /// The command as argv: each word exactly as the other tool would pass it.
    pub run: Vec<String>,
    pub cwd: Option<String>,
    pub env: BTreeMap<String, String>,
    pub user: Option<String>,
    pub restart: Option<Restart>,
    pub stop_timeout: Option<Duration>,
    pub start_timeout: Option<Duration>,
    /// How often it must beat: systemd's `WatchdogSec`.
    pub interval: Option<Duration>,
    /// What the source says that no key takes, one comment line each.
    pub notes: Vec<String>,
}

impl Imported {
    /// The `[[process]]` block, with a comment for where it came from and one for each
    /// thing that does not map. A `user` that `user_ok` refuses (not a user here, or this
    /// hbmon not root: [`crate::config::check_user`]) is written commented out with why,
    /// so the block pastes into a config that parses, and the user is not lost.
    pub fn render(&self, user_ok: &dyn Fn(&str) -> Result<(), String>) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# {}", comment(&self.source));
        out.push_str("[[process]]\n");
        let mut key = |name: &str, value: toml::Value| {
            let _ = writeln!(out, "{name} = {value}");
        };
        key("name", self.name.clone().into());
        key(
            "run",
            toml::Value::Array(self.run.iter().cloned().map(toml::Value::from).collect()),
        );
        if let Some(cwd) = &self.cwd {
            key("cwd", cwd.clone().into());
        }
        if !self.env.is_empty() {
            let table: toml::Table = self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), toml::Value::from(v.clone())))
                .collect();
            key("env", toml::Value::Table(table));
        }
        let mut refused_user = None;
        if let Some(user) = &self.user {
            match user_ok(user) {
                Ok(()) => key("user", user.clone().into()),
                Err(why) => refused_user = Some((toml::Value::from(user.clone()), why)),
            }
        }
        if let Some(restart) = self.restart {
            key("restart", restart.as_str().into());
        }
        for (name, span) in [
            ("stop_timeout", self.stop_timeout),
            ("start_timeout", self.start_timeout),
            ("interval", self.interval),
        ] {
            if let Some(span) = span {
                key(
                    name,
                    crate::duration::format_exact(span.as_secs_f64()).into(),
                );
            }
        }
        if let Some((user, why)) = refused_user {
            let _ = writeln!(out, "# user = {user}  ({})", comment(&why));
        }
        for note in &self.notes {
            let _ = writeln!(out, "# {}", comment(note));
        }
        out
    }
}

/// Every block, a blank line apart (`user_ok`: see [`Imported::render`]).
pub fn render_all(imported: &[Imported], user_ok: &dyn Fn(&str) -> Result<(), String>) -> String {
    imported
        .iter()
        .map(|i| i.render(user_ok))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text for a comment line: control characters (a newline would end the comment and
/// start TOML) escaped.
fn comment(text: &str) -> String {
    crate::text::escape(text).into_owned()
}

/// A name as the config takes it: the other tool's, with whitespace and control
/// characters made `-` (hbmon's names are one word on screen).
fn name_of(raw: &str) -> String {
    let name: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .collect();
    if name.is_empty() {
        "unnamed".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests;
