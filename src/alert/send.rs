//! Delivery: alert commands (`sh -c`, in a process group of their own) and webhooks (HTTP
//! POST of JSON). Each distinct target has a lane of its own — a worker thread with its own
//! backlog and retries — so a target that hangs delays only itself, never the monitor or
//! another target. Failures are logged and retried with back-off, never fatal; a stop
//! delivers what it can by a deadline and kills what still runs.

mod attempt;
mod backlog;
mod lane;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::message::Rendered;

/// A webhook gets this long per attempt, unless its `[[alert]]` says `timeout`.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// An alert command gets this long per attempt before its process group is killed, unless
/// its `[[alert]]` says `timeout`.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `timeout` an `[[alert]]` may have: a target that takes longer is down.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
/// Between SIGTERM and SIGKILL for a command's group that ran out of time.
pub const KILL_GRACE: Duration = Duration::from_secs(1);
/// How long a stopping monitor takes for its alerts, from the signal: deliveries get all
/// but [`KILL_GRACE`] of it, then what still runs is cut short (a command's group gets
/// SIGTERM, and SIGKILL at the end).
pub const STOP_WITHIN: Duration = Duration::from_secs(3);
/// Alerts a target holds undelivered (new, or waiting for a retry); past that the oldest
/// is dropped.
pub const BACKLOG_LIMIT: usize = 100;
/// Waits before the 2nd, 3rd and 4th attempt; after the 4th the alert is given up (logged).
pub const RETRY_AFTER: [Duration; 3] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
];

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

/// One delivery: a message, how long each attempt gets, and how many it has had.
#[derive(Debug, Clone)]
struct Job {
    message: Rendered,
    timeout: Duration,
    attempts: u32,
}

/// Where a rule's alerts go in: the lane of its target.
#[derive(Debug, Clone)]
pub struct Lane {
    jobs: mpsc::Sender<lane::Event>,
}

impl Lane {
    /// Queues `message`, each attempt at it getting `timeout`.
    pub fn send(&self, message: Rendered, timeout: Duration) {
        // A lane stops only on `Sender::finish`, which takes the Sender and so every rule.
        let _ = self.jobs.send(lane::Event::Deliver(Job {
            message,
            timeout,
            attempts: 0,
        }));
    }
}

/// Every target's lane. Dropping it without [`Sender::finish`] leaves the lanes idle until
/// the process ends.
#[derive(Debug, Default)]
pub struct Sender {
    lanes: Vec<(Target, Lane, JoinHandle<usize>)>,
}

impl Sender {
    pub fn new() -> Sender {
        Sender::default()
    }

    /// The lane of `target`, started the first time it is asked for: rules with the same
    /// target share it.
    pub fn lane(&mut self, target: &Target) -> std::io::Result<Lane> {
        if let Some((_, lane, _)) = self.lanes.iter().find(|(t, _, _)| t == target) {
            return Ok(lane.clone());
        }
        let (jobs, worker) = lane::spawn(target)?;
        let lane = Lane { jobs };
        self.lanes.push((target.clone(), lane.clone(), worker));
        Ok(lane)
    }

    /// Delivers what can be by `deadline` (one attempt each for what waits on a retry),
    /// kills the commands still running then, logs what was not delivered, and stops.
    pub fn finish(self, deadline: Instant) {
        for (_, lane, _) in &self.lanes {
            let _ = lane.jobs.send(lane::Event::Stop(deadline));
        }
        let mut lost = Vec::new();
        for (target, _, worker) in self.lanes {
            match worker.join() {
                Ok(0) => {}
                Ok(n) => lost.push((n, target.describe())),
                Err(_) => lost.push((0, format!("{} (its thread panicked)", target.describe()))),
            }
        }
        if !lost.is_empty() {
            let total: usize = lost.iter().map(|(n, _)| n).sum();
            let each: Vec<String> = lost.iter().map(|(n, t)| format!("{n} to {t}")).collect();
            eprintln!(
                "alert: stopped with {total} alert{} not delivered: {}",
                if total == 1 { "" } else { "s" },
                each.join(", ")
            );
        }
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
