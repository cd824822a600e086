//! The `[[alert]]` rules at work on the engine's reports: each rule's decisions
//! ([`alert::Decider`]) fed every check, and what they decide rendered and handed to the
//! lane of the rule's target. A reloaded config keeps the state of every rule it still has.

use std::time::Instant;

use crate::alert::{self, Decider, Message, Notice, NoticeKind, Observation, send};
use crate::changes::Restart;
use crate::config::Rule;
use crate::deps;
use crate::health::State;
use crate::report::Report;

/// A rule at work: its decisions, and the lane of its target.
#[derive(Debug)]
struct Armed {
    rule: Rule,
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
        let mut alerter = Alerter {
            rules: Vec::new(),
            sender: send::Sender::new(),
            host: crate::heartbeat::host(),
        };
        alerter.reload(rules, &[], 0.0)?;
        Ok(alerter)
    }

    /// Takes `rules` as the rules from now on. A rule the alerter already has (the same
    /// target, timeout and policy) keeps its state — what it announced, its `after` count,
    /// its digest — so a reload alerts nothing again. A new rule starts from `known` (each
    /// process's state, as if announced at `now`), as a restarted monitor starts from the
    /// history: it alerts what changes from then on.
    pub fn reload(
        &mut self,
        rules: &[Rule],
        known: &[(String, State)],
        now: f64,
    ) -> std::io::Result<()> {
        let mut old = std::mem::take(&mut self.rules);
        for rule in rules {
            let armed = if let Some(at) = old.iter().position(|a| a.rule == *rule) {
                old.remove(at)
            } else {
                let mut decider = Decider::new(rule.policy.clone());
                for (name, state) in known {
                    decider.remember(name, *state, now);
                }
                Armed {
                    rule: rule.clone(),
                    lane: self.sender.lane(&rule.target)?,
                    decider,
                }
            };
            self.rules.push(armed);
        }
        // A rule that is gone sends its digest now rather than never; its lane delivers
        // what it holds and stays open (idle) until the stop.
        for mut gone in old {
            if let Some(message) = gone.decider.flush() {
                dispatch(&gone, &message, self.host.as_deref());
            }
        }
        Ok(())
    }

    /// Takes `state` as already announced (see [`Decider::remember`]).
    pub fn remember(&mut self, name: &str, state: State, now: f64) {
        for rule in &mut self.rules {
            rule.decider.remember(name, state, now);
        }
    }

    /// One check of `report` at `now` (`counted`: see [`Decider::decide`]); processes for
    /// which `muted` says so are never alerted. Sends what the rules decide; returns one log
    /// line per message.
    pub fn check(
        &mut self,
        report: &Report,
        muted: &dyn Fn(&str) -> bool,
        now: f64,
        counted: bool,
    ) -> Vec<String> {
        let takes_down = takes_down(report);
        let here = self.host.as_deref();
        let observations: Vec<Observation<'_>> = report
            .rows
            .iter()
            .zip(&takes_down)
            .map(|(row, takes_down)| Observation {
                name: &row.name,
                state: row.health.state,
                severity: row.health.severity,
                reason: &row.health.reason,
                since: row.health.since,
                muted: muted(&row.name),
                blocked: row.health.state == State::Blocked,
                takes_down,
                // Processes of this machine are never "a host down": the monitor runs here.
                host: row
                    .entry
                    .as_ref()
                    .and_then(|e| e.host.as_deref())
                    .filter(|&h| Some(h) != here),
            })
            .collect();
        let mut logged = Vec::new();
        for rule in &mut self.rules {
            for message in rule.decider.decide(&observations, now, counted) {
                logged.push(dispatch(rule, &message, self.host.as_deref()));
            }
        }
        logged
    }

    /// Each restart the supervisor made, as a notice of its own to every rule, at once (a
    /// restart is an act, not a state the rules may wait `after` checks for); processes
    /// `muted` are left out. Returns one log line per message.
    pub fn restarted(
        &mut self,
        report: &Report,
        restarts: &[Restart],
        muted: &dyn Fn(&str) -> bool,
        now: f64,
    ) -> Vec<String> {
        let mut logged = Vec::new();
        for restart in restarts.iter().filter(|r| !muted(&r.name)) {
            let row = report.rows.iter().find(|row| row.name == restart.name);
            let state = row.map_or(State::Pending, |row| row.health.state);
            let message = Message::Now(Notice {
                kind: NoticeKind::Restart,
                name: restart.name.clone(),
                state,
                previous: None,
                severity: state.severity(),
                reason: restart.text.clone(),
                since: row.and_then(|row| row.health.since),
                time: now,
                takes_down: Vec::new(),
            });
            for rule in &self.rules {
                logged.push(dispatch(rule, &message, self.host.as_deref()));
            }
        }
        logged
    }

    /// Sends every pending digest, delivers what can be by `deadline` (see
    /// [`send::Sender::finish`]), and stops; returns the log lines of the digests.
    pub fn finish(mut self, deadline: Instant) -> Vec<String> {
        let mut logged = Vec::new();
        for rule in &mut self.rules {
            if let Some(message) = rule.decider.flush() {
                logged.push(dispatch(rule, &message, self.host.as_deref()));
            }
        }
        self.sender.finish(deadline);
        logged
    }
}

/// For each row, what depends on it, directly or not ([`deps::dependents`]): named in its
/// hard notices. Nothing without a `depends_on` anywhere, the common case, costs nothing.
fn takes_down(report: &Report) -> Vec<Vec<String>> {
    if report.rows.iter().all(|r| r.depends_on.is_empty()) {
        return vec![Vec::new(); report.rows.len()];
    }
    let nodes: Vec<(&str, &[String])> = report
        .rows
        .iter()
        .map(|r| (r.name.as_str(), r.depends_on.as_slice()))
        .collect();
    deps::dependents(&nodes)
}

/// Hands `message` to the rule's lane; returns its log line.
fn dispatch(armed: &Armed, message: &Message, host: Option<&str>) -> String {
    let what = match message {
        // The log is the monitor's own: no host prefix.
        Message::Now(_) => alert::message::render(message, None).text,
        Message::Digest(notices) => match notices.len() {
            1 => "digest of 1 change".to_owned(),
            n => format!("digest of {n} changes"),
        },
        Message::Host { .. } => alert::message::render(message, None)
            .text
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    let rendered = alert::message::render(message, host);
    armed.lane.send(rendered, armed.rule.timeout);
    format!("alert: {what} -> {}", armed.rule.target.describe())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::tests::{report, row};
    use crate::config::{Policy, Target};
    use std::time::Duration;

    fn rule(command: &str) -> Rule {
        Rule {
            target: Target::Command(command.into()),
            timeout: Duration::from_secs(5),
            policy: Policy {
                digest: 0.0,
                ..Policy::default()
            },
        }
    }

    #[test]
    fn a_reload_keeps_what_an_unchanged_rule_announced_and_a_new_rule_starts_from_now() {
        // `true`: a command that delivers instantly and says nothing.
        let mut alerter = Alerter::start(&[rule("true")]).unwrap();
        let dead = report(10.0, vec![row("w", State::Dead, Some(1.0))]);
        let quiet = |_: &str| false;
        assert_eq!(alerter.check(&dead, &quiet, 10.0, true).len(), 1);
        assert!(alerter.check(&dead, &quiet, 11.0, true).is_empty());

        // The same rule again, and a new one: neither alerts the process that was dead.
        let known = [("w".to_owned(), State::Dead)];
        alerter
            .reload(&[rule("true"), rule(": new")], &known, 12.0)
            .unwrap();
        assert_eq!(alerter.rules.len(), 2);
        assert!(alerter.check(&dead, &quiet, 12.0, true).is_empty());
        // Both hear its recovery.
        let up = report(13.0, vec![row("w", State::Up, Some(13.0))]);
        assert_eq!(alerter.check(&up, &quiet, 13.0, true).len(), 2);

        // A rule dropped and added back is a new rule: it starts from what is known now.
        alerter.reload(&[rule(": new")], &[], 14.0).unwrap();
        assert_eq!(alerter.rules.len(), 1);
        alerter.finish(Instant::now() + Duration::from_secs(2));
    }
}
