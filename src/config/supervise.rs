//! A `[[process]]` that `hbmon serve` starts and restarts (`run`), or restarts through a
//! command of the service manager that runs it (`restart_command`): the keys of its policy
//! and their parsing. The config owns these types; `crate::supervise` acts on them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::values::{Size, Span};
use super::{Fault, positive};

/// The longest wait for a restart's first `up` unless `start_timeout` says.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// SIGTERM to SIGKILL unless `stop_timeout` says (Docker's `stop` waits as long).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest backoff between restarts unless `backoff_max` says.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Healthy this long after a restart, the backoff starts again at 1 s.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);
/// Restarts allowed within `restart_window` before `gave-up` (systemd's StartLimitBurst).
pub const MAX_RESTARTS: u32 = 5;
pub const RESTART_WINDOW: Duration = Duration::from_secs(600);
/// A log file rotates past this many bytes unless `log_size` says (10 MB, as pm2-logrotate).
pub const LOG_SIZE: u64 = 10 * 1000 * 1000;
/// Rotated log files kept (`NAME.log.1` ...) unless `log_keep` says.
pub const LOG_KEEP: u32 = 3;

/// When a process that ended is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Restart {
    /// Unless it exited 0 or was stopped by a stop signal; `hung` and a failed start count.
    #[default]
    OnFailure,
    Always,
    /// Started once; what happens to it after is only watched.
    Never,
}

impl Restart {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A command to run: its argv, run without a shell (with `shell = true`: `sh -c LINE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// As written (a line, or the array joined by spaces), for messages.
    pub line: String,
    pub argv: Vec<String>,
    pub shell: bool,
}

/// What `hbmon serve` does for a supervised process, and by which policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Supervision {
    /// `run`: started by serve, its output captured. Exactly one of `run` and
    /// `restart_command` is set.
    pub run: Option<Command>,
    /// `restart_command`: a process managed elsewhere, restarted by this command.
    pub restart_command: Option<Command>,
    pub cwd: Option<PathBuf>,
    /// Added to serve's environment, in key order.
    pub env: Vec<(String, String)>,
    /// `user`: run as this user's uid and gid (serve must be root).
    pub user: Option<User>,
    pub restart: Restart,
    /// A failing probe (`unhealthy`) restarts it too.
    pub restart_on_probe: bool,
    pub backoff_max: Duration,
    pub stable_after: Duration,
    pub max_restarts: u32,
    pub restart_window: Duration,
    pub start_timeout: Duration,
    pub stop_timeout: Duration,
    pub log_size: u64,
    pub log_keep: u32,
}

/// A user to run a process as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// `run` and `restart_command` as written: a line split like a shell, or an argv.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawCommand {
    Line(String),
    Argv(Vec<String>),
}

/// The supervision keys of a `[[process]]` as read (declared in its raw table, which
/// refuses unknown keys and so cannot flatten this in).
#[derive(Debug, Default)]
pub(super) struct RawSupervision {
    pub run: Option<Spanned<RawCommand>>,
    pub restart_command: Option<Spanned<RawCommand>>,
    pub shell: Option<Spanned<bool>>,
    pub cwd: Option<Spanned<String>>,
    pub env: Option<Spanned<BTreeMap<String, String>>>,
    pub user: Option<Spanned<String>>,
    pub restart: Option<Spanned<Restart>>,
    pub restart_on_probe: Option<Spanned<bool>>,
    pub backoff_max: Option<Spanned<Span>>,
    pub stable_after: Option<Spanned<Span>>,
    pub max_restarts: Option<Spanned<u32>>,
    pub restart_window: Option<Spanned<Span>>,
    pub start_timeout: Option<Spanned<Span>>,
    pub stop_timeout: Option<Spanned<Span>>,
    pub log_size: Option<Spanned<Size>>,
    pub log_keep: Option<Spanned<u32>>,
}

impl RawSupervision {
    /// `None` without `run` or `restart_command`; the other keys without one are refused
    /// (they would do nothing, silently). `root`: whether this hbmon runs as root, the only
    /// one that may run a process as another `user`.
    pub(super) fn validate(mut self, root: bool) -> Result<Option<Supervision>, Fault> {
        if self.run.is_none() && self.restart_command.is_none() {
            return self.unsupervised();
        }
        let shell = self.shell.as_ref().is_some_and(|s| *s.get_ref());
        let run = self
            .run
            .take()
            .map(|c| command("run", c, shell))
            .transpose()?;
        let restart_command = self
            .restart_command
            .take()
            .map(|c| command("restart_command", c, shell))
            .transpose()?;
        if run.is_some()
            && let Some((_, at)) = &restart_command
        {
            return Err((
                at.clone(),
                "restart_command",
                "cannot go with run: hbmon serve restarts what it runs itself".into(),
            ));
        }
        let at = run
            .as_ref()
            .or(restart_command.as_ref())
            .map(|(_, at)| at.clone())
            .unwrap_or_default();
        // The keys of a process hbmon runs.
        let run_only = self
            .spans()
            .into_iter()
            .filter(|(key, _)| ["cwd", "env", "user", "log_size", "log_keep"].contains(key));
        if run.is_none()
            && let Some((key, Some(at))) = run_only.into_iter().find(|(_, at)| at.is_some())
        {
            return Err((
                at,
                key,
                "applies only to a process hbmon runs: add run = \"...\"".into(),
            ));
        }
        let cwd = match self.cwd {
            Some(dir) if !std::path::Path::new(dir.get_ref()).is_absolute() => {
                return Err((
                    dir.span(),
                    "cwd",
                    format!("{:?} is not an absolute path", dir.get_ref()),
                ));
            }
            other => other.map(|d| PathBuf::from(d.into_inner())),
        };
        let env = self.env.map(env).transpose()?.unwrap_or_default();
        let user = self.user.map(|u| user(&u, root)).transpose()?;
        let span = |key, value: Option<Spanned<Span>>, default: Duration| {
            positive(key, value.as_ref()).map(|s| s.map_or(default, Duration::from_secs_f64))
        };
        let (max_restarts, log_keep, log_size) =
            limits(self.max_restarts, self.log_keep, self.log_size)?;
        let restart = self.restart.map_or(Restart::default(), Spanned::into_inner);
        if restart == Restart::Never && restart_command.is_some() {
            return Err((
                at,
                "restart_command",
                "would never run with restart = \"never\"".into(),
            ));
        }
        Ok(Some(Supervision {
            run: run.map(|(c, _)| c),
            restart_command: restart_command.map(|(c, _)| c),
            cwd,
            env,
            user,
            restart,
            restart_on_probe: self.restart_on_probe.is_some_and(Spanned::into_inner),
            backoff_max: span("backoff_max", self.backoff_max, BACKOFF_MAX)?,
            stable_after: span("stable_after", self.stable_after, STABLE_AFTER)?,
            max_restarts,
            restart_window: span("restart_window", self.restart_window, RESTART_WINDOW)?,
            start_timeout: span("start_timeout", self.start_timeout, START_TIMEOUT)?,
            stop_timeout: span("stop_timeout", self.stop_timeout, STOP_TIMEOUT)?,
            log_size,
            log_keep,
        }))
    }

    /// Where each key but `run` and `restart_command` was written, if it was.
    fn spans(&self) -> [(&'static str, Option<std::ops::Range<usize>>); 14] {
        fn at<T>(value: Option<&Spanned<T>>) -> Option<std::ops::Range<usize>> {
            value.map(Spanned::span)
        }
        [
            ("shell", at(self.shell.as_ref())),
            ("cwd", at(self.cwd.as_ref())),
            ("env", at(self.env.as_ref())),
            ("user", at(self.user.as_ref())),
            ("restart", at(self.restart.as_ref())),
            ("restart_on_probe", at(self.restart_on_probe.as_ref())),
            ("backoff_max", at(self.backoff_max.as_ref())),
            ("stable_after", at(self.stable_after.as_ref())),
            ("max_restarts", at(self.max_restarts.as_ref())),
            ("restart_window", at(self.restart_window.as_ref())),
            ("start_timeout", at(self.start_timeout.as_ref())),
            ("stop_timeout", at(self.stop_timeout.as_ref())),
            ("log_size", at(self.log_size.as_ref())),
            ("log_keep", at(self.log_keep.as_ref())),
        ]
    }

    /// No `run`, no `restart_command`: the first other key of theirs is refused.
    fn unsupervised(self) -> Result<Option<Supervision>, Fault> {
        let keys = self.spans();
        match keys.into_iter().find_map(|(key, at)| Some((key, at?))) {
            Some((key, at)) => Err((
                at,
                key,
                "applies only to a supervised process: add run = \"...\" or restart_command".into(),
            )),
            None => Ok(None),
        }
    }
}

/// A command's argv: a line split as a shell would (quotes, escapes) but run without one,
/// `sh -c LINE` with `shell = true`, or an array as it is. Returned with where it was written.
fn command(
    key: &'static str,
    raw: Spanned<RawCommand>,
    shell: bool,
) -> Result<(Command, std::ops::Range<usize>), Fault> {
    let at = raw.span();
    let bad = |why: String| Err((at.clone(), key, why));
    let command = match raw.into_inner() {
        RawCommand::Line(line) if line.trim().is_empty() => return bad("must not be empty".into()),
        RawCommand::Line(line) if shell => Command {
            argv: vec!["sh".to_owned(), "-c".to_owned(), line.clone()],
            line,
            shell,
        },
        RawCommand::Line(line) => match shlex::split(&line) {
            Some(argv) if !argv.is_empty() => Command { line, argv, shell },
            _ => return bad(format!("{line:?} has an unclosed quote or a trailing \\")),
        },
        RawCommand::Argv(_) if shell => {
            return bad("an array runs without a shell: write one line for shell = true".into());
        }
        RawCommand::Argv(argv) if argv.first().is_none_or(String::is_empty) => {
            return bad("must name a program first".into());
        }
        RawCommand::Argv(argv) => Command {
            line: argv.join(" "),
            argv,
            shell,
        },
    };
    if command.argv.iter().any(|a| a.contains('\0')) {
        return bad("cannot hold a NUL".into());
    }
    Ok((command, at))
}

/// `env`: variable names a shell accepts, values without a NUL.
fn env(env: Spanned<BTreeMap<String, String>>) -> Result<Vec<(String, String)>, Fault> {
    let at = env.span();
    let env = env.into_inner();
    if let Some(key) = env.keys().find(|k| !valid_env_name(k)) {
        return Err((at, "env", format!("{key:?} is not a variable name")));
    }
    if let Some((key, _)) = env.iter().find(|(_, v)| v.contains('\0')) {
        return Err((at, "env", format!("{key:?}: a value cannot hold a NUL")));
    }
    Ok(env.into_iter().collect())
}

/// `(max_restarts, log_keep, log_size)`, each in its bounds, else its default.
fn limits(
    max_restarts: Option<Spanned<u32>>,
    log_keep: Option<Spanned<u32>>,
    log_size: Option<Spanned<Size>>,
) -> Result<(u32, u32, u64), Fault> {
    let max_restarts = match max_restarts {
        Some(n) if *n.get_ref() == 0 => {
            return Err((
                n.span(),
                "max_restarts",
                "must be at least 1 (restart = \"never\" for none)".into(),
            ));
        }
        other => other.map_or(MAX_RESTARTS, Spanned::into_inner),
    };
    let log_keep = match log_keep {
        Some(n) if *n.get_ref() == 0 || *n.get_ref() > 100 => {
            return Err((n.span(), "log_keep", "must be from 1 to 100".into()));
        }
        other => other.map_or(LOG_KEEP, Spanned::into_inner),
    };
    let log_size = match log_size {
        Some(s) if s.get_ref().0 < 1000 => {
            return Err((s.span(), "log_size", "must be at least 1KB".into()));
        }
        other => other.map_or(LOG_SIZE, |s| s.into_inner().0),
    };
    Ok((max_restarts, log_keep, log_size))
}

/// What a shell accepts as a variable name: a letter or `_`, then letters, digits, `_`.
fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `user`: a user of this machine, and only for a root hbmon (another one cannot switch).
fn user(name: &Spanned<String>, root: bool) -> Result<User, Fault> {
    resolve_user(name.get_ref(), root).map_err(|why| (name.span(), "user", why))
}

/// `user`'s rule: `name` as a user of this machine that a hbmon running as root (`root`),
/// or as that user, can run a process as; `Err` says why not.
fn resolve_user(name: &str, root: bool) -> Result<User, String> {
    let Some(user) = lookup_user(name) else {
        return Err(format!("{name:?} is not a user of this machine"));
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !root && user.uid != me {
        return Err(format!(
            "running as {name:?} needs hbmon serve to run as root"
        ));
    }
    Ok(user)
}

/// Whether a `user = NAME` would be taken by this hbmon as it runs now; `Err` says why not
/// (for `hbmon import`, which comments out a `user` the config would refuse).
pub fn check_user(name: &str) -> Result<(), String> {
    resolve_user(name, is_root()).map(drop)
}

#[cfg(unix)]
fn lookup_user(name: &str) -> Option<User> {
    let c_name = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam_r writes into the buffers given, of the sizes given.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            c_name.as_ptr(),
            &raw mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &raw mut found,
        );
        (rc == 0 && !found.is_null()).then(|| User {
            name: name.to_owned(),
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
        })
    }
}

#[cfg(not(unix))]
fn lookup_user(_name: &str) -> Option<User> {
    None
}

/// Whether this process runs as root.
pub(super) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl Supervision {
    /// Its keys as [`super::Config::to_toml`] writes them, reading back to the same.
    pub(super) fn to_toml(&self, out: &mut String) {
        use super::show::{line, quote, secs};
        let argv = |c: &Command| {
            if c.shell {
                quote(&c.line)
            } else {
                let parts: Vec<String> = c.argv.iter().map(|a| quote(a)).collect();
                format!("[{}]", parts.join(", "))
            }
        };
        if let Some(run) = &self.run {
            line(out, "run", &argv(run));
        }
        if let Some(cmd) = &self.restart_command {
            line(out, "restart_command", &argv(cmd));
        }
        if self
            .run
            .as_ref()
            .or(self.restart_command.as_ref())
            .is_some_and(|c| c.shell)
        {
            line(out, "shell", "true");
        }
        if let Some(cwd) = &self.cwd {
            line(out, "cwd", &quote(&cwd.to_string_lossy()));
        }
        if !self.env.is_empty() {
            let pairs: Vec<String> = self
                .env
                .iter()
                .map(|(k, v)| format!("{k} = {}", quote(v)))
                .collect();
            line(out, "env", &format!("{{ {} }}", pairs.join(", ")));
        }
        if let Some(user) = &self.user {
            line(out, "user", &quote(&user.name));
        }
        line(out, "restart", &quote(self.restart.as_str()));
        line(out, "restart_on_probe", &self.restart_on_probe.to_string());
        line(out, "backoff_max", &secs(self.backoff_max.as_secs_f64()));
        line(out, "stable_after", &secs(self.stable_after.as_secs_f64()));
        line(out, "max_restarts", &self.max_restarts.to_string());
        line(
            out,
            "restart_window",
            &secs(self.restart_window.as_secs_f64()),
        );
        line(
            out,
            "start_timeout",
            &secs(self.start_timeout.as_secs_f64()),
        );
        line(out, "stop_timeout", &secs(self.stop_timeout.as_secs_f64()));
        if self.run.is_some() {
            line(out, "log_size", &self.log_size.to_string());
            line(out, "log_keep", &self.log_keep.to_string());
        }
    }
}

#[cfg(test)]
mod tests;
