//! Alerts: `[[alert]]` rules that run a command or post to a webhook when processes change
//! state. [`decide`] is when (pure), [`message`] what is said, [`send`] the delivery, and
//! [`Alerter`] runs every rule against each check of a report.

pub mod decide;
pub mod message;
pub mod send;

pub use decide::{Decider, Message, Notice, NoticeKind, Observation};
pub use send::STOP_WITHIN;

use std::time::{Duration, Instant};

use crate::config::{Rule, Target};
use crate::report::Report;
use crate::status::State;

/// A rule at work: its decisions, and the lane of its target.
#[derive(Debug)]
struct Armed {
    target: Target,
    timeout: Duration,
    lane: send::Lane,
    decider: Decider,
}

/// Every rule's decisions, and the delivery lanes of their targets (one per target).
#[derive(Debug)]
pub struct Alerter {
    rules: Vec<Armed>,
    sender: send::Sender,
    host: Option<String>,
}

impl Alerter {
    pub fn start(rules: &[Rule]) -> std::io::Result<Alerter> {
        let mut sender = send::Sender::new();
        let rules = rules
            .iter()
            .map(|r| {
                Ok(Armed {
                    target: r.target.clone(),
                    timeout: r.timeout,
                    lane: sender.lane(&r.target)?,
                    decider: Decider::new(r.policy.clone()),
                })
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Alerter {
            rules,
            sender,
            host: crate::heartbeat::host(),
        })
    }

    /// Takes `state` as already announced (see [`Decider::remember`]).
    pub fn remember(&mut self, name: &str, state: State, now: f64) {
        for rule in &mut self.rules {
            rule.decider.remember(name, state, now);
        }
    }

    /// One check of `report` at `now` (`counted`: see [`Decider::decide`]); processes for
    /// which `muted` says so are never alerted. Sends what the rules decide and logs one line
    /// per message.
    pub fn check(
        &mut self,
        report: &Report,
        muted: &dyn Fn(&str) -> bool,
        now: f64,
        counted: bool,
    ) {
        let observations: Vec<Observation<'_>> = report
            .rows
            .iter()
            .map(|row| Observation {
                name: &row.name,
                state: row.health.state,
                severity: row.health.severity,
                reason: &row.health.reason,
                since: row.health.since,
                muted: muted(&row.name),
            })
            .collect();
        for rule in &mut self.rules {
            for message in rule.decider.decide(&observations, now, counted) {
                dispatch(rule, &message, self.host.as_deref());
            }
        }
    }

    /// Sends every pending digest, delivers what can be by `deadline` (see
    /// [`send::Sender::finish`]), and stops.
    pub fn finish(mut self, deadline: Instant) {
        for rule in &mut self.rules {
            if let Some(message) = rule.decider.flush() {
                dispatch(rule, &message, self.host.as_deref());
            }
        }
        self.sender.finish(deadline);
    }
}

fn dispatch(rule: &Armed, message: &Message, host: Option<&str>) {
    let what = match message {
        // The log is the monitor's own: no host prefix.
        Message::Now(_) => message::render(message, None).text,
        Message::Digest(notices) => match notices.len() {
            1 => "digest of 1 change".to_owned(),
            n => format!("digest of {n} changes"),
        },
    };
    let rendered = message::render(message, host);
    eprintln!("alert: {what} -> {}", rule.target.describe());
    rule.lane.send(rendered, rule.timeout);
}
