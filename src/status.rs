//! Health: the states a process can be in, their severities, and the pure
//! [`evaluate`] that judges one process from its entry, its rules, the clock and the OS.

use serde::Serialize;

use crate::probe::ProcessInfo;
use crate::store::Kind;

/// A computed health state (DESIGN.md, "Health states").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Up,
    Running,
    Late,
    Error,
    Silent,
    Degraded,
    Hung,
    Dead,
    Failed,
    Overdue,
    Stopped,
    Pending,
    Paused,
}

/// How much a state matters. Ordered: `None < Ok < Warning < Degraded < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    None,
    Ok,
    Warning,
    Degraded,
    Critical,
}

impl State {
    pub const ALL: [State; 13] = [
        State::Up,
        State::Running,
        State::Late,
        State::Error,
        State::Silent,
        State::Degraded,
        State::Hung,
        State::Dead,
        State::Failed,
        State::Overdue,
        State::Stopped,
        State::Pending,
        State::Paused,
    ];

    pub fn severity(self) -> Severity {
        match self {
            State::Up | State::Running => Severity::Ok,
            State::Late | State::Error | State::Silent => Severity::Warning,
            State::Degraded => Severity::Degraded,
            State::Hung | State::Dead | State::Failed | State::Overdue => Severity::Critical,
            State::Stopped | State::Pending | State::Paused => Severity::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Running => "running",
            State::Late => "late",
            State::Error => "error",
            State::Silent => "silent",
            State::Degraded => "degraded",
            State::Hung => "hung",
            State::Dead => "dead",
            State::Failed => "failed",
            State::Overdue => "overdue",
            State::Stopped => "stopped",
            State::Pending => "pending",
            State::Paused => "paused",
        }
    }

    /// A one-cell symbol that tells states apart without colour (the word goes beside it).
    pub fn symbol(self) -> &'static str {
        match self {
            State::Up => "●",
            State::Running => "▶",
            State::Late => "◔",
            State::Error => "!",
            State::Silent => "?",
            State::Degraded => "◑",
            State::Hung => "⧗",
            State::Dead => "✖",
            State::Failed => "✗",
            State::Overdue => "⏰",
            State::Stopped => "■",
            State::Pending => "…",
            State::Paused => "‖",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Degraded => "degraded",
            Severity::Critical => "critical",
        }
    }
}

/// The verdict on one process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub state: State,
    pub severity: Severity,
    /// Why, for a person: "no beat for 4m12s (5 intervals)", "pid 4242 is gone".
    pub reason: String,
    /// Since when the process is in this state, if known (Unix seconds).
    pub since: Option<f64>,
}

impl Health {
    pub fn new(state: State, reason: impl Into<String>, since: Option<f64>) -> Self {
        Health {
            state,
            severity: state.severity(),
            reason: reason.into(),
            since,
        }
    }
}

/// The thresholds for one process, after config defaults are applied. All in seconds,
/// except the `*_after` counts, which are in missed intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rules {
    /// `I`: config, else the entry's `interval`, else 30 s.
    pub interval: f64,
    /// `G`: config, else `I / 2`.
    pub grace: f64,
    pub late_after: f64,
    pub degraded_after: f64,
    pub dead_after: f64,
    pub kind: Kind,
    /// A job's maximum run time before a `running` job counts as stuck.
    pub max_runtime: Option<f64>,
    /// Listed in the config (only monitored processes can be `pending` or `silent`).
    pub monitored: bool,
}

/// What the OS says about a process, for [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Os<'a> {
    /// The entry names no PID, or there is no entry and no `match`.
    Unknown,
    /// The PID (or the `match`) is a live process.
    Alive(&'a ProcessInfo),
    /// The entry's PID does not exist (or nothing matched `match`).
    Gone,
}
