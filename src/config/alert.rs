//! The data of an `[[alert]]` rule — where it sends, how long an attempt may take, when it
//! alerts — and its parsing. The config owns these types; `crate::alert` decides and
//! delivers with them.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Fault, Span, positive};
use crate::duration;

/// A webhook gets this long per attempt, unless its `[[alert]]` says `timeout`.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// An alert command gets this long per attempt before its process group is killed, unless
/// its `[[alert]]` says `timeout`.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `timeout` an `[[alert]]` may have: a target that takes longer is down.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// One `[[alert]]`: where to send, how long each attempt may take, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub target: Target,
    /// Per attempt; past it a command's process group is killed, a webhook given up.
    pub timeout: Duration,
    pub policy: Policy,
}

/// Where an `[[alert]]` rule sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Run with `sh -c`, the message in `HBMON_*` variables.
    Command(String),
    /// POST the JSON message to this URL.
    Webhook(String),
}

impl Target {
    /// How long an attempt gets when its `[[alert]]` does not say.
    pub fn default_timeout(&self) -> Duration {
        match self {
            Target::Command(_) => COMMAND_TIMEOUT,
            Target::Webhook(_) => WEBHOOK_TIMEOUT,
        }
    }

    /// How the log names the target. A webhook shows only its scheme and host: the rest of
    /// a Slack-style URL is a secret.
    pub fn describe(&self) -> String {
        match self {
            Target::Command(cmd) => {
                let short: String = cmd.chars().take(40).collect();
                let cut = if short.len() < cmd.len() { "…" } else { "" };
                // A multi-line ''' command must not break the log's one line per event.
                format!("command `{}{cut}`", crate::text::escape(&short))
            }
            Target::Webhook(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
                let host = rest.split(['/', '?']).next().unwrap_or_default();
                format!(
                    "webhook {}://{}/…",
                    crate::text::escape(scheme),
                    crate::text::escape(host)
                )
            }
        }
    }
}

/// How one `[[alert]]` rule decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Consecutive bad checks before alerting: a process that is late for one check and
    /// then fine again (flapping) is not news.
    pub after: u32,
    /// Seconds between reminders while a process stays critical; `None`: no reminders.
    pub repeat: Option<f64>,
    /// Seconds soft notices wait to be sent together in one digest; 0 sends them at once.
    pub digest: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            after: 1,
            repeat: None,
            digest: 3600.0,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlert {
    command: Option<Spanned<String>>,
    webhook: Option<Spanned<String>>,
    after: Option<Spanned<u32>>,
    repeat: Option<Spanned<Span>>,
    digest: Option<Spanned<Span>>,
    timeout: Option<Spanned<Span>>,
}

impl RawAlert {
    pub(super) fn validate(raw: Spanned<Self>) -> Result<Rule, Fault> {
        let table = raw.span();
        let a = raw.into_inner();
        let target = match (a.command, a.webhook) {
            (Some(_), Some(hook)) => {
                return Err((
                    hook.span(),
                    "webhook",
                    "an [[alert]] has command or webhook, not both: use one [[alert]] each"
                        .to_owned(),
                ));
            }
            (None, None) => {
                return Err((
                    table,
                    "alert",
                    "needs command = \"...\" or webhook = \"https://...\"".to_owned(),
                ));
            }
            (Some(cmd), None) if cmd.get_ref().trim().is_empty() => {
                return Err((cmd.span(), "command", "must not be empty".to_owned()));
            }
            (Some(cmd), None) => Target::Command(cmd.into_inner()),
            (None, Some(hook)) => {
                let url = hook.get_ref();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err((
                        hook.span(),
                        "webhook",
                        format!("{url:?} is not an http:// or https:// URL"),
                    ));
                }
                Target::Webhook(hook.into_inner())
            }
        };
        let defaults = Policy::default();
        let after = match a.after {
            Some(n) if *n.get_ref() == 0 => {
                return Err((n.span(), "after", "must be at least 1".to_owned()));
            }
            Some(n) => n.into_inner(),
            None => defaults.after,
        };
        let timeout = match a.timeout {
            Some(t) if t.get_ref().0 > MAX_TIMEOUT.as_secs_f64() => {
                return Err((
                    t.span(),
                    "timeout",
                    format!(
                        "{} is too long: at most {}",
                        duration::format_exact(t.get_ref().0),
                        duration::format_exact(MAX_TIMEOUT.as_secs_f64())
                    ),
                ));
            }
            t => positive("timeout", t.as_ref())?
                .map_or_else(|| target.default_timeout(), Duration::from_secs_f64),
        };
        Ok(Rule {
            target,
            timeout,
            policy: Policy {
                after,
                repeat: positive("repeat", a.repeat.as_ref())?,
                digest: a.digest.map_or(defaults.digest, |d| d.into_inner().0),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_name_a_webhook_by_host_only() {
        let hook = Target::Webhook("https://hooks.example.com/services/T0/B0/SECRET".into());
        assert_eq!(hook.describe(), "webhook https://hooks.example.com/…");
        let multi = Target::Command("printf a\nprintf b".into());
        assert_eq!(multi.describe(), "command `printf a\\nprintf b`");
        let cmd = Target::Command("x".repeat(50));
        assert_eq!(cmd.describe(), format!("command `{}…`", "x".repeat(40)));
    }
}
