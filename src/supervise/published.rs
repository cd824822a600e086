//! `<file>.supervise.json`: what only the supervising serve knows of its processes — given
//! up on, stopped by hand, restarts within the window, a backoff's end — published as a
//! [`crate::sidecar`] so that every other face (the live UI, `hbmon status`, a serve
//! standing by) marks its report as the supervising serve marks its own ([`mark`], the one
//! mapping both use). The supervisor writes it when it changes and at least every
//! [`REWRITE`]; a document older than [`STALE`], or whose writer's PID is gone, is no
//! news: that serve stopped (or hangs), and what it said no longer holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::policy::{Phase, Then};
use crate::changes::Restart;
use crate::health::{Health, State};
use crate::report::Report;
use crate::sidecar;

/// The supervisor rewrites an unchanged document this often, so readers can tell it lives.
pub const REWRITE: f64 = 2.0;
/// A document older than this is from a supervisor that stopped or hangs.
pub const STALE: f64 = 10.0;

/// `<file>.supervise.json`.
pub fn path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".supervise.json");
    PathBuf::from(name)
}

/// Where one supervised process stands, for the faces that do not supervise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stand {
    Waiting,
    Starting,
    Running,
    /// Killed for a failure, to be restarted.
    Restarting,
    Backoff,
    Exited,
    /// Stopped by hand, or being restarted by hand: a death then is no crash.
    StoppedByHand,
    GaveUp,
}

/// One supervised process, as its supervisor sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub stand: Stand,
    /// Why it was given up on, or why it waits for a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Since when it is given up on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<f64>,
    /// The restarts made within its `restart_window`.
    pub restarts: u32,
    /// When its backoff ends (the restart is made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_until: Option<f64>,
}

impl Unit {
    /// What `phase` shows; `gave_up_at`: since when it is given up on.
    pub fn of(phase: &Phase, restarts: usize, gave_up_at: Option<f64>) -> Unit {
        let (stand, why, backoff_until) = match phase {
            Phase::Waiting => (Stand::Waiting, None, None),
            Phase::Starting { .. } => (Stand::Starting, None, None),
            Phase::Running => (Stand::Running, None, None),
            Phase::Stopping {
                then: Then::Restart(why),
            } => (Stand::Restarting, Some(why.clone()), None),
            Phase::Stopping {
                then: Then::Stay | Then::Start,
            }
            | Phase::Stopped => (Stand::StoppedByHand, None, None),
            Phase::Backoff { until, why } => (Stand::Backoff, Some(why.clone()), Some(*until)),
            Phase::Exited => (Stand::Exited, None, None),
            Phase::GaveUp { why } => (Stand::GaveUp, Some(why.clone()), None),
        };
        Unit {
            stand,
            why,
            since: gave_up_at.filter(|_| stand == Stand::GaveUp),
            restarts: u32::try_from(restarts).unwrap_or(u32::MAX),
            backoff_until,
        }
    }
}

/// The whole document's body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Units {
    /// The supervising serve's PID: gone, the document is stale.
    pub pid: u32,
    pub units: BTreeMap<String, Unit>,
    /// The restarts made within [`RECENT`], oldest first: whichever monitor records the
    /// history hands them to it (a restart twice is one row: see [`Restarted::key`]).
    #[serde(default)]
    pub restarts: Vec<Restarted>,
}

/// How long a restart stays in the published list: long past a handover of the history
/// role (within a second), so the monitor that takes it over finds the restarts made
/// meanwhile.
pub const RECENT: f64 = 60.0;
/// At most this many restarts are published.
pub const RECENT_MAX: usize = 64;

/// One restart as published: its time in whole milliseconds, so that the supervisor's own
/// copy and one read back from the document are the same row of the history, to the bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restarted {
    pub name: String,
    pub at_ms: u64,
    pub count: u32,
    pub cause: String,
    pub text: String,
}

impl Restarted {
    pub fn of(restart: &Restart) -> Restarted {
        Restarted {
            name: restart.name.clone(),
            at_ms: millis(restart.time),
            count: restart.count,
            cause: restart.cause.clone(),
            text: restart.text.clone(),
        }
    }

    pub fn restart(&self) -> Restart {
        Restart {
            name: self.name.clone(),
            time: at(self.at_ms),
            count: self.count,
            cause: self.cause.clone(),
            text: self.text.clone(),
        }
    }

    /// What makes it one row of the history (its primary key).
    pub fn key(&self) -> (String, u64) {
        (self.name.clone(), self.at_ms)
    }
}

/// `time` in whole milliseconds.
fn millis(time: f64) -> u64 {
    // Saturating: a negative or absurd time is no Unix time of a restart anyway.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = (time * 1000.0).round().max(0.0) as u64;
    ms
}

fn at(ms: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let time = ms as f64 / 1000.0;
    time
}

/// `now` to the millisecond, as a restart's time: what it reads back as from the document.
pub fn restart_time(now: f64) -> f64 {
    at(millis(now))
}

/// Marks each process given up on `gave-up` in `report`, and one stopped by hand (or being
/// restarted by hand) `stopped` while its PID is gone but its end not yet written: a stop
/// asked for is not a death to alert on.
pub fn mark(report: &mut Report, units: &BTreeMap<String, Unit>, now: f64) {
    for row in &mut report.rows {
        let Some(unit) = units.get(&row.name) else {
            continue;
        };
        let own = &row.health;
        match unit.stand {
            Stand::GaveUp => {
                let why = unit.why.as_deref().unwrap_or("gave up");
                let reason = format!("{why} (now {}: {})", own.state, own.reason);
                row.health = Health::new(State::GaveUp, reason, Some(unit.since.unwrap_or(now)));
            }
            Stand::StoppedByHand if own.state == State::Dead => {
                let reason = format!("stopped by hand ({})", own.reason);
                row.health = Health::new(State::Stopped, reason, own.since);
            }
            _ => {}
        }
    }
}

/// Publishes `units` beside `file`.
pub fn write(file: &Path, units: &Units, now: f64) -> std::io::Result<()> {
    sidecar::write(&path(file), units, now)
}

/// What the supervisor of `file` publishes, if it is fresh at `now` (see [`STALE`]) and
/// its writer runs; `None` otherwise, or when it is not a file to trust.
pub fn read(file: &Path, now: f64) -> Option<Units> {
    let published = sidecar::read::<Units>(&path(file))?;
    let fresh = (now - published.written_at).abs() <= STALE;
    (fresh && alive(published.body.pid)).then_some(published.body)
}

/// Marks `report` as the supervisor of `file` publishes (nothing when none does), and
/// returns what it published.
pub fn apply(report: &mut Report, file: &Path, now: f64) -> Option<Units> {
    let units = read(file, now)?;
    mark(report, &units.units, now);
    Some(units)
}

/// Whether a process `pid` exists (one of another user's counts: it is not gone).
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only asks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests;
