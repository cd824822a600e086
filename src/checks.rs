//! Active health probes: each configured process's `http`, `tcp` and `command` probes run
//! on their own cadence in a bounded pool of worker threads ([`pool`]), every run bounded
//! by its timeout, and the latest results read at any time without waiting
//! ([`Checks::results`]) — so a thousand slow probes never stall a check of the file. A
//! probe still running when its next turn comes is *late*: not started twice, and not
//! counted failed until its own timeout.
//!
//! - [`pool`]: the scheduler and the workers,
//! - [`http`], [`tcp`], [`command`]: one run of each kind,
//! - [`sidecar`]: the results published beside the heartbeat file for other monitors,
//! - [`stats`]: the last hour of runs of one probe: p50, p95, the recent ones,
//! - [`rollup`]: a probe's runs by the minute, for the history.

pub mod command;
pub mod http;
pub mod pool;
pub mod rollup;
pub mod sidecar;
pub mod stats;
pub mod tcp;

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, ProbeKind, Probes, ProcessConfig};
use crate::health::Probed;

pub use pool::Checks;

/// How many probes run at once, at most: enough for a thousand quick endpoints every ten
/// seconds, few enough that hung ones cannot exhaust the machine's threads.
pub const WORKERS: usize = 16;

/// What one probe of one process says now, as `status --json` and the sidecar carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeStatus {
    /// `http`, `tcp` or `command`.
    pub kind: String,
    /// The URL, the address, the command line, as configured.
    pub target: String,
    /// The last run passed; `None` before the first run ends.
    pub ok: Option<bool>,
    /// The probe counts as failing: `fails` reached the process's `probe_fails`.
    pub failing: bool,
    /// Consecutive failed runs, up to the last one.
    pub fails: u32,
    /// Since when it counts as failing (Unix seconds): the run that made it so.
    pub failing_since: Option<f64>,
    /// When the last run ended (Unix seconds).
    pub last_at: Option<f64>,
    /// How long the last run took, in milliseconds.
    pub last_ms: Option<f64>,
    /// The median and the 95th percentile of the runs of the last hour, milliseconds.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    /// The last runs' times, oldest first (the detail pane's sparkline).
    pub recent_ms: Vec<f64>,
    /// Why the last failed run failed.
    pub last_error: Option<String>,
    /// A run is still going past the probe's next turn.
    pub late: bool,
    /// Read from another monitor's `<file>.probes.json` and older than the probe's cadence
    /// allows ([`sidecar::read`]): that monitor stopped publishing, so what it last said is
    /// not what the probe says now.
    #[serde(default)]
    pub stale: bool,
}

/// The latest results of every process's probes, by heartbeat name, each process's in its
/// config order.
pub type Results = HashMap<String, Vec<ProbeStatus>>;

/// One probe as the pool runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The process's heartbeat name.
    pub name: String,
    pub kind: ProbeKind,
    pub timeout: Duration,
    pub every: Duration,
    pub fails: u32,
}

/// Every probe `config` asks for; `every` defaults to the process's interval.
pub fn specs(config: &Config) -> Vec<Spec> {
    config
        .processes
        .iter()
        .filter_map(|p| Some((p, p.probes.as_ref()?)))
        .flat_map(|(p, probes)| {
            let every = every(config, p, probes);
            probes.kinds.iter().map(move |kind| Spec {
                name: p.name.clone(),
                kind: kind.clone(),
                timeout: probes.timeout,
                every,
                fails: probes.fails,
            })
        })
        .collect()
}

/// How often `p` (with `probes`) is probed: `probe_every`, else its interval.
pub fn every(config: &Config, p: &ProcessConfig, probes: &Probes) -> Duration {
    probes
        .every
        .unwrap_or_else(|| Duration::from_secs_f64(config.rules_for(&p.name, None).interval))
}

/// How old a probe's last result may be, in seconds, before a reader of another monitor's
/// results calls it stale: three missed turns and a run's timeout. A prober at work ends a
/// run (or gives it up) at least every `every + timeout`.
pub fn stale_after(every: Duration, timeout: Duration) -> f64 {
    3.0 * every.as_secs_f64() + timeout.as_secs_f64()
}

/// What `statuses` (one process's probes) say for its judgment at `now`: failing if any
/// fresh one is, naming each failing one; stale if one's results are
/// ([`ProbeStatus::stale`]); waiting until one has run.
pub fn verdict(statuses: Option<&[ProbeStatus]>, now: f64) -> Probed {
    let Some(statuses) = statuses.filter(|s| !s.is_empty()) else {
        return Probed::None;
    };
    let failing: Vec<&ProbeStatus> = statuses.iter().filter(|s| s.failing && !s.stale).collect();
    if !failing.is_empty() {
        let reason = failing
            .iter()
            .map(|s| {
                format!(
                    "{} {} failed {} time{} in a row: {}",
                    s.kind,
                    crate::text::escape(&s.target),
                    s.fails,
                    if s.fails == 1 { "" } else { "s" },
                    crate::text::escape(s.last_error.as_deref().unwrap_or("no reason"))
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let since = failing
            .iter()
            .filter_map(|s| s.failing_since)
            .reduce(f64::min);
        return Probed::Failing { reason, since };
    }
    if let Some(stale) = statuses.iter().find(|s| s.stale) {
        let ran = stale.last_at.map_or_else(
            || "has not run".to_owned(),
            |at| {
                format!(
                    "last ran {} ago",
                    crate::duration::format_secs((now - at).max(0.0))
                )
            },
        );
        return Probed::Stale {
            reason: format!(
                "probe results are stale: {} {} {ran}, and the monitor that runs the probes \
                 has stopped publishing them",
                stale.kind,
                crate::text::escape(&stale.target)
            ),
        };
    }
    if statuses.iter().all(|s| s.ok.is_none()) {
        Probed::Waiting
    } else {
        Probed::Passing
    }
}

#[cfg(test)]
impl ProbeStatus {
    /// A probe's status as the pool leaves it, for tests: its runs took `recent` ms (the
    /// last one is its last run, at `at`), failing once `fails` reached 2.
    pub(crate) fn sample(
        kind: &str,
        target: &str,
        ok: Option<bool>,
        fails: u32,
        recent: &[f64],
        at: f64,
    ) -> ProbeStatus {
        ProbeStatus {
            kind: kind.into(),
            target: target.into(),
            ok,
            failing: fails >= 2,
            fails,
            failing_since: (fails >= 2).then_some(at),
            last_at: ok.map(|_| at),
            last_ms: recent.last().copied(),
            p50_ms: recent.first().copied(),
            p95_ms: recent.iter().copied().reduce(f64::max),
            recent_ms: recent.to_vec(),
            last_error: (ok == Some(false)).then(|| "HTTP 500 Internal Server Error".into()),
            late: false,
            stale: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_results_are_no_failure_and_say_how_old_they_are_and_a_fresh_failure_wins() {
        let now = 1000.0;
        let passing = ProbeStatus::sample("tcp", "db:5432", Some(true), 0, &[1.0], now - 2.0);
        let failing = ProbeStatus::sample("http", "http://x/", Some(false), 2, &[3.0], now - 300.0);
        let mut stale_failing = failing.clone();
        stale_failing.stale = true;
        let reason = |p: Probed| match p {
            Probed::Stale { reason } | Probed::Failing { reason, .. } => reason,
            other => format!("{other:?}"),
        };
        let stale = verdict(Some(&[passing.clone(), stale_failing.clone()]), now);
        assert!(matches!(stale, Probed::Stale { .. }), "{stale:?}");
        assert_eq!(
            reason(stale),
            "probe results are stale: http http://x/ last ran 5m00s ago, and the monitor that \
             runs the probes has stopped publishing them"
        );
        let mut fresh_failing = failing.clone();
        fresh_failing.last_at = Some(now - 1.0);
        let both = verdict(Some(&[fresh_failing, stale_failing]), now);
        assert!(matches!(both, Probed::Failing { .. }), "{both:?}");
        assert_eq!(verdict(Some(&[passing]), now), Probed::Passing);
        assert_eq!(verdict(Some(&[]), now), Probed::None);
    }
}
