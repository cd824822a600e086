//! When to alert: the pure decision (the clock is passed in) from successive checks of
//! every process to the notices one `[[alert]]` rule sends — at once for hard changes (into
//! or out of critical), batched into a digest for soft ones.

use std::collections::HashMap;

use serde::Serialize;

use super::group;
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
    /// `blocked`: its failure is its root cause's news, told in the root's notice.
    pub blocked: bool,
    /// What depends on it, directly or not: named in its hard notices, as what it takes
    /// down with it (or brings back).
    pub takes_down: &'a [String],
    /// The other machine its entry comes from (`None` for this one, or none said): the
    /// processes of a host that go critical together are one notice ([`group`]).
    pub host: Option<&'a str>,
}

#[cfg(test)]
impl<'a> Observation<'a> {
    /// A plain one for tests: `name` in `state`, its own severity, reason `r`, no since,
    /// not muted or blocked, nothing below it, this machine's. Tests change what they pin.
    pub(crate) fn of(name: &'a str, state: State) -> Self {
        Observation {
            name,
            state,
            severity: state.severity(),
            reason: "r",
            since: None,
            muted: false,
            blocked: false,
            takes_down: &[],
            host: None,
        }
    }
}

/// What a notice says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// A process went bad (or worse, or differently bad).
    Alert,
    /// A process that was alerted is fine again.
    Recovery,
    /// A process is still critical, `repeat` after the last notice.
    Reminder,
    /// `hbmon serve`'s supervisor restarted it; the reason says which time and why.
    Restart,
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
    /// In a hard notice: what depends on the process, directly or not (see
    /// [`Observation::takes_down`]); else empty.
    pub takes_down: Vec<String>,
}

/// What to send now.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A hard notice, sent at once.
    Now(Notice),
    /// Soft notices gathered over the digest period, sent together.
    Digest(Vec<Notice>),
    /// Hard notices of every process of one other machine at once, sent as one: the host
    /// is down (or back), not each process on it ([`group::by_host`]).
    Host { host: String, notices: Vec<Notice> },
}

impl Message {
    pub fn notices(&self) -> &[Notice] {
        match self {
            Message::Now(notice) => std::slice::from_ref(notice),
            Message::Digest(notices) | Message::Host { notices, .. } => notices,
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
    /// so a process that was dead before the restart is not alerted again; `blocked` is
    /// not taken, as it is never announced.
    pub fn remember(&mut self, name: &str, state: State, now: f64) {
        // `blocked` was never announced (its root's alert told it): remembered, it would
        // send a recovery when the process is fine again.
        if state == State::Blocked {
            return;
        }
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
        let mut out = group::by_host(out, observations);
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
        if o.blocked {
            // Neither the move into `blocked` nor out of it is news of its own: what was
            // announced stays, so it recovers quietly to that, and a failure of its own
            // left when its root recovers counts from the start.
            self.bad_checks = 0;
            return None;
        }
        let previous = self.announced;
        if o.state == State::Paused {
            // Accepted silently: a pause owes no recovery notice when it ends either.
            self.announced = Some((o.state, o.severity));
            self.bad_checks = 0;
            return None;
        }
        let was_critical = previous.is_some_and(|(_, s)| s == Severity::Critical);
        let hard = o.severity == Severity::Critical || was_critical;
        let notice = |kind| Notice {
            kind,
            name: o.name.to_owned(),
            state: o.state,
            previous: previous.map(|(state, _)| state),
            severity: o.severity,
            reason: o.reason.to_owned(),
            since: o.since,
            time: now,
            takes_down: if hard {
                o.takes_down.to_vec()
            } else {
                Vec::new()
            },
        };
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
mod tests;
