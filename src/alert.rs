//! Alerts: `[[alert]]` rules that run a command or post to a webhook when processes change
//! state. [`decide`] is when (pure), [`message`] what is said, [`send`] the delivery, and
//! [`Alerter`] runs every rule against each check of a report.

pub mod decide;
pub mod message;
pub mod send;

pub use decide::{Decider, Message, Notice, NoticeKind, Observation, Policy};
pub use send::Target;

use crate::health::State;
use crate::report::Report;

/// One `[[alert]]`: where to send, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub target: Target,
    pub policy: Policy,
}

/// Every rule's decisions and the delivery thread they share.
#[derive(Debug)]
pub struct Alerter {
    rules: Vec<(Target, Decider)>,
    sender: send::Sender,
    host: Option<String>,
}

impl Alerter {
    pub fn start(rules: &[Rule]) -> std::io::Result<Alerter> {
        Ok(Alerter {
            rules: rules
                .iter()
                .map(|r| (r.target.clone(), Decider::new(r.policy.clone())))
                .collect(),
            sender: send::Sender::start()?,
            host: crate::heartbeat::host(),
        })
    }

    /// Takes `state` as already announced (see [`Decider::remember`]).
    pub fn remember(&mut self, name: &str, state: State, now: f64) {
        for (_, decider) in &mut self.rules {
            decider.remember(name, state, now);
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
        for (target, decider) in &mut self.rules {
            for message in decider.decide(&observations, now, counted) {
                dispatch(&self.sender, target, &message, self.host.as_deref());
            }
        }
    }

    /// Sends every pending digest, delivers what is queued, and stops.
    pub fn finish(mut self) {
        for (target, decider) in &mut self.rules {
            if let Some(message) = decider.flush() {
                dispatch(&self.sender, target, &message, self.host.as_deref());
            }
        }
        self.sender.finish();
    }
}

fn dispatch(sender: &send::Sender, target: &Target, message: &Message, host: Option<&str>) {
    let what = match message {
        // The log is the monitor's own: no host prefix.
        Message::Now(_) => message::render(message, None).text,
        Message::Digest(notices) => match notices.len() {
            1 => "digest of 1 change".to_owned(),
            n => format!("digest of {n} changes"),
        },
    };
    let rendered = message::render(message, host);
    eprintln!("alert: {what} -> {}", target.describe());
    sender.send(target, rendered);
}
