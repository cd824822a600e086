//! One supervised process's restart policy, pure: what it is doing (its [`Phase`]), and
//! what to do next given how its row is judged and how its child ended. Time is Unix
//! seconds, passed in, so that tests step it.
//!
//! - A failure — an exit the policy restarts on, `hung`, `unhealthy` with
//!   `restart_on_probe`, a (re)start not `up` within `start_timeout` — restarts it after a
//!   backoff: 1 s, doubling up to `backoff_max`, back to 1 s once it has been healthy for
//!   `stable_after`.
//! - The restarts within `restart_window` are counted: one past `max_restarts` is not made,
//!   and it is `gave-up` until a manual start.

use std::collections::VecDeque;

use crate::config::{Restart, Supervision};
use crate::duration::format_secs;
use crate::health::State;

/// The first backoff, doubled at each restart in a row.
pub const FIRST_BACKOFF: f64 = 1.0;

/// Where a supervised process stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Not started: its dependencies are not all `up` yet.
    Waiting,
    /// Started (or its `restart_command` run) at `since`: to be `up` within `start_timeout`.
    Starting { since: f64 },
    /// Up, or at least not failing in a way that restarts it.
    Running,
    /// Asked to stop (its group signalled): what follows its exit.
    Stopping { then: Then },
    /// To be started again at `until`, after `why`.
    Backoff { until: f64, why: String },
    /// Ended and, by its `restart` policy, left so.
    Exited,
    /// Stopped by hand (`hbmon stop`): never restarted until started by hand.
    Stopped,
    /// Restarted too often: left alone until started by hand.
    GaveUp { why: String },
}

/// What follows an exit that was asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    /// A restart, for `why` (a failure it was killed for).
    Restart(String),
    /// Nothing: stopped.
    Stay,
    /// A start afresh: a restart by hand.
    Start,
}

/// What the supervisor must do for the process.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start it (`run`), or run its `restart_command`.
    Start,
    /// Stop its process group: SIGTERM, SIGKILL after `stop_timeout`.
    Kill,
}

/// How its child ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// Exit code 0.
    pub success: bool,
    /// Killed by one of the signals that ask a process to stop (a stop, not a crash).
    pub stop_signal: bool,
    /// "exited with code 1", "killed by SIGSEGV (signal 11)".
    pub text: String,
}

/// The policy's state for one process.
#[derive(Debug, Clone)]
pub struct Unit {
    pub phase: Phase,
    /// When each restart within the window was made.
    restarts: VecDeque<f64>,
    /// The next backoff, seconds.
    backoff: f64,
    /// Since when it has been healthy in this run, for `stable_after`.
    healthy_since: Option<f64>,
}

/// What one look at the process decided: an action, and a line for the log.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    pub action: Option<Action>,
    pub news: Option<String>,
    /// A restart made by the policy (not by hand): which one within the window, and why.
    pub restart: Option<(u32, String)>,
}

impl Decision {
    fn act(action: Action, news: Option<String>) -> Decision {
        Decision {
            action: Some(action),
            news,
            restart: None,
        }
    }
}

impl Unit {
    /// A process hbmon runs waits for its dependencies; one managed elsewhere runs already.
    pub fn new(managed: bool) -> Unit {
        Unit {
            phase: if managed {
                Phase::Running
            } else {
                Phase::Waiting
            },
            restarts: VecDeque::new(),
            backoff: FIRST_BACKOFF,
            healthy_since: None,
        }
    }

    /// One look at the process, judged `state` since `since`: `deps_up` when every
    /// dependency is `up`; `child` whether a child of serve's runs for it.
    pub fn observe(&mut self, name: &str, policy: &Supervision, seen: Seen, now: f64) -> Decision {
        let healthy = matches!(seen.state, State::Up | State::Running);
        match self.phase.clone() {
            Phase::Waiting if seen.deps_up => {
                self.phase = Phase::Starting { since: now };
                Decision::act(Action::Start, Some(format!("started {name}")))
            }
            Phase::Starting { .. } if healthy => {
                self.phase = Phase::Running;
                self.healthy_since = Some(now);
                Decision::default()
            }
            Phase::Starting { since } if now - since > policy.start_timeout.as_secs_f64() => {
                let why = format!(
                    "not up within start_timeout {} (it is {})",
                    format_secs(policy.start_timeout.as_secs_f64()),
                    seen.state
                );
                self.fail(name, policy, why, seen.child, now)
            }
            Phase::Running => {
                if healthy {
                    let since = *self.healthy_since.get_or_insert(now);
                    if now - since >= policy.stable_after.as_secs_f64() {
                        self.backoff = FIRST_BACKOFF;
                    }
                    return Decision::default();
                }
                self.healthy_since = None;
                let lasted = seen
                    .since
                    .map(|s| format!(" {}", format_secs((now - s).max(0.0))))
                    .unwrap_or_default();
                let failing = match seen.state {
                    State::Hung => true,
                    State::Unhealthy => policy.restart_on_probe,
                    // A child of serve's that ended says so itself ([`Unit::exited`]).
                    State::Dead => !seen.child && policy.run.is_none(),
                    _ => false,
                };
                if failing {
                    let why = format!("was {}{lasted}", seen.state);
                    return self.fail(name, policy, why, seen.child, now);
                }
                Decision::default()
            }
            Phase::Backoff { until, why } if now >= until => {
                self.phase = Phase::Starting { since: now };
                let n = self.restarts.len();
                let window = format_secs(policy.restart_window.as_secs_f64());
                Decision {
                    restart: Some((u32::try_from(n).unwrap_or(u32::MAX), why.clone())),
                    ..Decision::act(
                        Action::Start,
                        Some(format!(
                            "restarted {name} ({} time in {window}): {why}",
                            ordinal(n)
                        )),
                    )
                }
            }
            _ => Decision::default(),
        }
    }

    /// Its child ended as `exit` says.
    pub fn exited(&mut self, name: &str, policy: &Supervision, exit: &Exit, now: f64) -> Decision {
        self.healthy_since = None;
        match self.phase.clone() {
            Phase::Stopping { then: Then::Stay } | Phase::Stopped => {
                self.phase = Phase::Stopped;
                Decision {
                    news: Some(format!("stopped {name}: {}", exit.text)),
                    ..Decision::default()
                }
            }
            Phase::Stopping {
                then: Then::Restart(why),
            } => self.schedule(name, policy, why, now),
            Phase::Stopping { then: Then::Start } => {
                self.start();
                Decision::default()
            }
            Phase::GaveUp { .. } | Phase::Exited => Decision::default(),
            _ => {
                let clean = exit.success || exit.stop_signal;
                let restart = match policy.restart {
                    Restart::Always => true,
                    Restart::OnFailure => !clean,
                    Restart::Never => false,
                };
                if restart {
                    self.schedule(name, policy, exit.text.clone(), now)
                } else {
                    self.phase = Phase::Exited;
                    Decision {
                        news: Some(format!(
                            "{name} {} (restart = \"{}\": left so)",
                            exit.text,
                            policy.restart.as_str()
                        )),
                        ..Decision::default()
                    }
                }
            }
        }
    }

    /// How many restarts were made within the window (at the last one's count).
    pub fn restarts(&self) -> usize {
        self.restarts.len()
    }

    /// A stop by hand: kept stopped until started by hand.
    pub fn stop(&mut self, child: bool) -> Option<Action> {
        if child {
            self.phase = Phase::Stopping { then: Then::Stay };
            Some(Action::Kill)
        } else {
            self.phase = Phase::Stopped;
            None
        }
    }

    /// A restart by hand: its child stopped first if it runs, then a start afresh.
    pub fn restart(&mut self, child: bool) -> Option<Action> {
        if child {
            self.phase = Phase::Stopping { then: Then::Start };
            Some(Action::Kill)
        } else {
            self.start();
            None
        }
    }

    /// A start by hand: whatever it was (stopped, gave up), it starts afresh, the count of
    /// restarts and the backoff too.
    pub fn start(&mut self) {
        self.restarts.clear();
        self.backoff = FIRST_BACKOFF;
        self.phase = Phase::Waiting;
    }

    /// A failure: its child killed first if it runs, then a restart after the backoff.
    fn fail(
        &mut self,
        name: &str,
        policy: &Supervision,
        why: String,
        child: bool,
        now: f64,
    ) -> Decision {
        if child {
            self.phase = Phase::Stopping {
                then: Then::Restart(why.clone()),
            };
            return Decision::act(Action::Kill, Some(format!("stopping {name}: {why}")));
        }
        self.schedule(name, policy, why, now)
    }

    /// A restart after the backoff — or none, past `max_restarts` within the window.
    fn schedule(&mut self, name: &str, policy: &Supervision, why: String, now: f64) -> Decision {
        let window = policy.restart_window.as_secs_f64();
        while self.restarts.front().is_some_and(|&t| now - t >= window) {
            self.restarts.pop_front();
        }
        if self.restarts.len() >= policy.max_restarts as usize {
            let why = format!(
                "gave up on {name} after {} restarts in {}: {why}",
                self.restarts.len(),
                format_secs(window)
            );
            self.phase = Phase::GaveUp { why: why.clone() };
            return Decision {
                news: Some(why),
                ..Decision::default()
            };
        }
        self.restarts.push_back(now);
        let until = now + self.backoff;
        self.backoff = (self.backoff * 2.0).min(policy.backoff_max.as_secs_f64());
        self.phase = Phase::Backoff { until, why };
        Decision::default()
    }
}

/// What the supervisor sees of a process at one look.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub state: State,
    pub since: Option<f64>,
    pub deps_up: bool,
    pub child: bool,
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`.
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests;
