//! When to alert: the pure decision (the clock is passed in) from successive checks of
//! every process to the notices one `[[alert]]` rule sends — at once for hard changes (into
//! or out of critical), batched into a digest for soft ones.

use std::collections::HashMap;

use serde::Serialize;

use crate::config::Policy;
use crate::health::{Severity, State};

/// One process at one check, as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation<'a> {
    pub name: &'a str,
    pub state: State,
    pub severity: Severity,
    pub reason: &'a str,
    pub since: Option<f64>,
    /// `alerts = false` in its `[[process]]`: never alerted.
    pub muted: bool,
}

/// What a notice says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// A process went bad (or worse, or differently bad).
    Alert,
    /// A process that was alerted is fine again.
    Recovery,
    /// A process is still critical, `repeat` after the last notice.
    Reminder,
}

/// One thing to tell someone about one process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub name: String,
    pub state: State,
    /// The state last announced; `None` if nothing was (first sight of a process).
    pub previous: Option<State>,
    pub severity: Severity,
    pub reason: String,
    /// Since when the process is in `state`, when known.
    pub since: Option<f64>,
    /// When the decision was made.
    pub time: f64,
}

/// What to send now.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A hard notice, sent at once.
    Now(Notice),
    /// Soft notices gathered over the digest period, sent together.
    Digest(Vec<Notice>),
}

impl Message {
    pub fn notices(&self) -> &[Notice] {
        match self {
            Message::Now(notice) => std::slice::from_ref(notice),
            Message::Digest(notices) => notices,
        }
    }
}

/// The decision state of one rule across every process.
#[derive(Debug, Clone)]
pub struct Decider {
    policy: Policy,
    tracks: HashMap<String, Track>,
    digest: Vec<Notice>,
    digest_due: Option<f64>,
}

/// What one rule has told about one process.
#[derive(Debug, Clone, Copy, Default)]
struct Track {
    /// The state (and its severity) last announced, or silently accepted as normal.
    announced: Option<(State, Severity)>,
    bad_checks: u32,
    last_sent: f64,
}

impl Decider {
    pub fn new(policy: Policy) -> Self {
        Decider {
            policy,
            tracks: HashMap::new(),
            digest: Vec::new(),
            digest_due: None,
        }
    }

    /// Takes `state` as already announced at `now` (from history, when a monitor restarts),
    /// so a process that was dead before the restart is not alerted again.
    pub fn remember(&mut self, name: &str, state: State, now: f64) {
        self.tracks.insert(
            name.to_owned(),
            Track {
                announced: Some((state, state.severity())),
                bad_checks: 0,
                last_sent: now,
            },
        );
    }

    /// One check of every process at `now`: the messages to send now. Only a `counted`
    /// check (the monitor's regular one, once a second) counts toward `after`; checks in
    /// between (prompted by a write to the file) still see recoveries and new processes.
    pub fn decide(
        &mut self,
        observations: &[Observation<'_>],
        now: f64,
        counted: bool,
    ) -> Vec<Message> {
        let mut out = Vec::new();
        for o in observations {
            let track = self.tracks.entry(o.name.to_owned()).or_default();
            let Some((notice, hard)) = track.step(o, &self.policy, now, counted) else {
                continue;
            };
            if hard {
                // The hard notice says where the process is now and was: soft news of it
                // still waiting for the digest is old news.
                self.digest.retain(|n| n.name != notice.name);
                out.push(Message::Now(notice));
            } else {
                self.digest.push(notice);
                self.digest_due.get_or_insert(now + self.policy.digest);
            }
        }
        if self.digest_due.is_some_and(|due| now >= due) {
            out.extend(self.flush());
        }
        out
    }

    /// The digest gathered so far, whether due or not (when the monitor stops): one notice
    /// per process, its net change over the period ([`net_changes`]); none if nothing is.
    pub fn flush(&mut self) -> Option<Message> {
        self.digest_due = None;
        let notices = net_changes(std::mem::take(&mut self.digest));
        (!notices.is_empty()).then_some(Message::Digest(notices))
    }
}

/// Soft notices of a digest period, one per process: from the state it had before the first
/// to the state after the last, in the order processes first changed. A process back where
/// it started after one round trip (late for a second, then up) is not news — as
/// healthchecks.io would send nothing; more round trips are, as "flapped N times".
fn net_changes(notices: Vec<Notice>) -> Vec<Notice> {
    // Grouped by name in first-change order; the index keeps a digest of thousands of
    // processes linear.
    let mut by_name: Vec<Vec<Notice>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for notice in notices {
        if let Some(&i) = index.get(&notice.name) {
            by_name[i].push(notice);
        } else {
            index.insert(notice.name.clone(), by_name.len());
            by_name.push(vec![notice]);
        }
    }
    by_name
        .into_iter()
        .filter_map(|list| {
            let changes = list.len();
            let before = list[0].previous;
            let mut net = list.into_iter().next_back()?;
            let round_trips = changes / 2;
            if before == Some(net.state) && round_trips < 2 {
                return None;
            }
            net.previous = before;
            net.kind = if net.severity < Severity::Warning {
                NoticeKind::Recovery
            } else {
                NoticeKind::Alert
            };
            if round_trips > 0 {
                let times = match round_trips {
                    1 => "once".to_owned(),
                    n => format!("{n} times"),
                };
                net.reason = format!("{} (flapped {times} in this digest's period)", net.reason);
            }
            Some(net)
        })
        .collect()
}

impl Track {
    /// The notice this check calls for, and whether it is hard (into or out of critical).
    fn step(
        &mut self,
        o: &Observation<'_>,
        policy: &Policy,
        now: f64,
        counted: bool,
    ) -> Option<(Notice, bool)> {
        if o.muted {
            *self = Track::default();
            return None;
        }
        let previous = self.announced;
        if o.state == State::Paused {
            // Accepted silently: a pause owes no recovery notice when it ends either.
            self.announced = Some((o.state, o.severity));
            self.bad_checks = 0;
            return None;
        }
        let notice = |kind| Notice {
            kind,
            name: o.name.to_owned(),
            state: o.state,
            previous: previous.map(|(state, _)| state),
            severity: o.severity,
            reason: o.reason.to_owned(),
            since: o.since,
            time: now,
        };
        let was_critical = previous.is_some_and(|(_, s)| s == Severity::Critical);
        let hard = o.severity == Severity::Critical || was_critical;
        if o.severity < Severity::Warning {
            self.bad_checks = 0;
            self.announced = Some((o.state, o.severity));
            let was_bad = previous.is_some_and(|(_, s)| s >= Severity::Warning);
            return was_bad.then(|| (notice(NoticeKind::Recovery), hard));
        }
        if counted {
            self.bad_checks = self.bad_checks.saturating_add(1);
        }
        if previous.is_some_and(|(state, _)| state == o.state) {
            let remind = o.severity == Severity::Critical
                && policy
                    .repeat
                    .is_some_and(|every| now - self.last_sent >= every);
            if !remind {
                return None;
            }
            self.last_sent = now;
            return Some((notice(NoticeKind::Reminder), true));
        }
        if !counted || self.bad_checks < policy.after {
            return None;
        }
        self.announced = Some((o.state, o.severity));
        self.last_sent = now;
        Some((notice(NoticeKind::Alert), hard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one process through `checks` (time, state; `Paused` also stands for a pause,
    /// `None` for a muted check) and writes what was sent, one string per message.
    fn run(policy: Policy, checks: &[(f64, Option<State>)]) -> Vec<String> {
        let mut decider = Decider::new(policy);
        let mut sent = Vec::new();
        let mut last = State::Up;
        for &(now, state) in checks {
            let muted = state.is_none();
            let state = state.unwrap_or(last);
            last = state;
            let o = Observation {
                name: "w",
                state,
                severity: state.severity(),
                reason: "r",
                since: None,
                muted,
            };
            for message in decider.decide(&[o], now, true) {
                sent.push(describe(&message, now));
            }
        }
        if let Some(rest) = decider.flush() {
            sent.push(format!("{} at stop", describe(&rest, f64::NAN)));
        }
        sent
    }

    fn describe(message: &Message, now: f64) -> String {
        let notices: Vec<String> = message
            .notices()
            .iter()
            .map(|n| {
                let from = n.previous.map_or("-", State::as_str);
                let kind = match n.kind {
                    NoticeKind::Alert => "",
                    NoticeKind::Recovery => "recovered ",
                    NoticeKind::Reminder => "still ",
                };
                format!("{kind}{from}>{}", n.state)
            })
            .collect();
        match message {
            Message::Now(_) => format!("{now}: now {}", notices.join(" ")),
            Message::Digest(_) => format!("{now}: digest {}", notices.join(" ")),
        }
    }

    use State::{Dead, Degraded, Late, Paused, Stopped, Up};

    const fn policy(after: u32, repeat: Option<f64>, digest: f64) -> Policy {
        Policy {
            after,
            repeat,
            digest,
        }
    }

    #[test]
    fn a_digest_says_how_often_a_process_flapped() {
        let notice = |previous, state: State| Notice {
            kind: NoticeKind::Alert,
            name: "w".into(),
            state,
            previous: Some(previous),
            severity: state.severity(),
            reason: "why".into(),
            since: None,
            time: 0.0,
        };
        let net = net_changes(vec![
            notice(Up, Late),
            notice(Late, Up),
            notice(Up, Late),
            notice(Late, Up),
            notice(Up, Late),
        ]);
        assert_eq!(net.len(), 1);
        assert_eq!((net[0].previous, net[0].state), (Some(Up), Late));
        assert_eq!(
            net[0].reason,
            "why (flapped 2 times in this digest's period)"
        );
        let once = net_changes(vec![notice(Up, Late), notice(Late, Up), notice(Up, Late)]);
        assert_eq!(once[0].reason, "why (flapped once in this digest's period)");
    }

    /// What the case shows, the policy, the checks, what is sent.
    type Case = (
        &'static str,
        Policy,
        &'static [(f64, Option<State>)],
        &'static [&'static str],
    );

    const CASES: &[Case] = &[
        (
            "hard changes go at once, both ways",
            policy(1, None, 60.0),
            &[
                (0.0, Some(Up)),
                (1.0, Some(Dead)),
                (2.0, Some(Dead)),
                (3.0, Some(Up)),
            ],
            &["1: now up>dead", "3: now recovered dead>up"],
        ),
        (
            "a process first seen dead is alerted with no previous state",
            policy(1, None, 60.0),
            &[(0.0, Some(Dead))],
            &["0: now ->dead"],
        ),
        (
            "soft changes wait for one digest",
            policy(1, None, 10.0),
            &[
                (0.0, Some(Up)),
                (1.0, Some(Late)),
                (9.0, Some(Late)),
                (11.0, Some(Late)),
            ],
            &["11: digest up>late"],
        ),
        (
            "a soft change that recovered before the digest went out is no news",
            policy(1, None, 10.0),
            &[
                (0.0, Some(Up)),
                (1.0, Some(Late)),
                (1.9, Some(Up)),
                (11.0, Some(Up)),
            ],
            &[],
        ),
        (
            "the digest says the net change per process",
            policy(1, None, 10.0),
            &[
                (0.0, Some(Up)),
                (1.0, Some(Late)),
                (2.0, Some(Degraded)),
                (11.0, Some(Degraded)),
            ],
            &["11: digest up>degraded"],
        ),
        (
            "flapping back and forth is said as such, back where it started",
            policy(1, None, 10.0),
            &[
                (0.0, Some(Up)),
                (1.0, Some(Late)),
                (2.0, Some(Up)),
                (3.0, Some(Late)),
                (4.0, Some(Up)),
                (11.0, Some(Up)),
            ],
            &["11: digest recovered up>up"],
        ),
        (
            "soft news a hard alert covers is not repeated in the digest",
            policy(1, None, 10.0),
            &[
                (0.0, Some(Up)),
                (1.0, Some(Late)),
                (2.0, Some(Dead)),
                (11.0, Some(Dead)),
            ],
            &["2: now late>dead"],
        ),
        (
            "a digest of 0 sends soft changes at once",
            policy(1, None, 0.0),
            &[(0.0, Some(Up)), (1.0, Some(Late))],
            &["1: digest up>late"],
        ),
        (
            "a pending digest is sent when the monitor stops",
            policy(1, None, 3600.0),
            &[(0.0, Some(Up)), (1.0, Some(Late))],
            &["NaN: digest up>late at stop"],
        ),
        (
            "after: flapping shorter than N checks says nothing, not even a recovery",
            policy(3, None, 0.0),
            &[
                (0.0, Some(Up)),
                (1.0, Some(Late)),
                (2.0, Some(Late)),
                (3.0, Some(Up)),
                (4.0, Some(Dead)),
                (5.0, Some(Up)),
            ],
            &[],
        ),
        (
            "after: N bad checks in a row, in any bad states, alert the latest",
            policy(3, None, 0.0),
            &[
                (0.0, Some(Up)),
                (1.0, Some(Late)),
                (2.0, Some(Degraded)),
                (3.0, Some(Dead)),
                (4.0, Some(Up)),
            ],
            &["3: now up>dead", "4: now recovered dead>up"],
        ),
        (
            "getting worse after an alert is alerted at once",
            policy(2, None, 0.0),
            &[(0.0, Some(Late)), (1.0, Some(Late)), (2.0, Some(Dead))],
            &["1: digest ->late", "2: now late>dead"],
        ),
        (
            "repeat: reminders while critical, timed from the last notice",
            policy(1, Some(10.0), 60.0),
            &[
                (0.0, Some(Dead)),
                (5.0, Some(Dead)),
                (10.0, Some(Dead)),
                (15.0, Some(Dead)),
                (20.0, Some(Dead)),
                (21.0, Some(Up)),
            ],
            &[
                "0: now ->dead",
                "10: now still dead>dead",
                "20: now still dead>dead",
                "21: now recovered dead>up",
            ],
        ),
        (
            "repeat: no reminders for soft states",
            policy(1, Some(1.0), 0.0),
            &[(0.0, Some(Late)), (5.0, Some(Late))],
            &["0: digest ->late"],
        ),
        (
            "a paused process is never alerted, and owes no recovery",
            policy(1, Some(1.0), 0.0),
            &[
                (0.0, Some(Dead)),
                (1.0, Some(Paused)),
                (5.0, Some(Paused)),
                (6.0, Some(Up)),
            ],
            &["0: now ->dead"],
        ),
        (
            "a pause ending on a dead process alerts it",
            policy(1, None, 0.0),
            &[(0.0, Some(Paused)), (1.0, Some(Dead))],
            &["1: now paused>dead"],
        ),
        (
            "alerts = false mutes a process whatever its state",
            policy(1, Some(1.0), 0.0),
            &[
                (0.0, Some(Up)),
                (1.0, Some(Dead)),
                (1.0, None),
                (2.0, None),
                (3.0, Some(Up)),
            ],
            &["1: now up>dead"],
        ),
        (
            "a clean stop is no alert",
            policy(1, None, 0.0),
            &[(0.0, Some(Up)), (1.0, Some(Stopped))],
            &[],
        ),
    ];

    #[test]
    fn decisions() {
        for (what, policy, checks, expected) in CASES {
            assert_eq!(run(policy.clone(), checks), *expected, "{what}");
        }
    }

    #[test]
    fn remembered_states_are_not_alerted_again() {
        let mut decider = Decider::new(policy(1, Some(10.0), 0.0));
        decider.remember("w", Dead, 100.0);
        let dead = Observation {
            name: "w",
            state: Dead,
            severity: Severity::Critical,
            reason: "r",
            since: None,
            muted: false,
        };
        assert!(decider.decide(&[dead], 105.0, true).is_empty());
        let reminder = decider.decide(&[dead], 110.0, true);
        assert_eq!(reminder.len(), 1);
        assert_eq!(reminder[0].notices()[0].kind, NoticeKind::Reminder);
    }

    #[test]
    fn checks_between_ticks_see_good_states_but_count_no_bad_ones() {
        let mut decider = Decider::new(policy(1, None, 0.0));
        let at = |state: State| Observation {
            name: "w",
            state,
            severity: state.severity(),
            reason: "r",
            since: None,
            muted: false,
        };
        // A process first seen up between two ticks, dead at the next tick: "was up".
        assert!(decider.decide(&[at(Up)], 0.5, false).is_empty());
        assert!(decider.decide(&[at(Dead)], 0.7, false).is_empty());
        let sent = decider.decide(&[at(Dead)], 1.0, true);
        assert_eq!(describe(&sent[0], 1.0), "1: now up>dead");
        // A recovery is sent from any check.
        let sent = decider.decide(&[at(Up)], 1.2, false);
        assert_eq!(describe(&sent[0], 1.2), "1.2: now recovered dead>up");
    }

    #[test]
    fn one_digest_gathers_every_process() {
        let mut decider = Decider::new(policy(1, None, 5.0));
        let late = |name| Observation {
            name,
            state: Late,
            severity: Severity::Warning,
            reason: "r",
            since: Some(1.0),
            muted: false,
        };
        assert!(decider.decide(&[late("a")], 0.0, true).is_empty());
        assert!(
            decider
                .decide(&[late("a"), late("b")], 3.0, true)
                .is_empty()
        );
        let sent = decider.decide(&[late("a"), late("b")], 5.0, true);
        let names: Vec<_> = sent[0].notices().iter().map(|n| n.name.as_str()).collect();
        assert_eq!((sent.len(), names), (1, vec!["a", "b"]));
        assert_eq!(decider.flush(), None);
    }
}
