//! The rules one process is judged by ([`Rules`]), after the config's defaults and the
//! entry's promises are applied, and the kinds of their parts.

use serde::Serialize;

use crate::cron::{Schedule, Window};
use crate::store::{DEFAULT_INTERVAL, Kind};

/// The thresholds for one process, after config defaults are applied. All in seconds,
/// except the `*_after` counts, which are in missed intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rules {
    /// `I`: config, else the entry's `interval`, else 30 s.
    pub interval: f64,
    /// `G`: config, else `[defaults]`, else `I / 2` (for a schedule: 1 h, as
    /// healthchecks.io's default grace).
    pub grace: f64,
    pub late_after: f64,
    pub degraded_after: f64,
    pub dead_after: f64,
    pub kind: Kind,
    /// A job's maximum run time before a `running` job counts as stuck.
    pub max_runtime: Option<f64>,
    /// A job's minimum run time: a run reported succeeded that ended sooner is `failed`.
    pub min_runtime: Option<f64>,
    /// Whether two runs of the job at once are flagged.
    pub overlap: Overlap,
    /// Listed in the config (only monitored processes can be `pending` or `silent`).
    pub monitored: bool,
    /// `false` caps the severity at `warning` (config `critical = false`).
    pub critical: bool,
    /// `unhealthy` is critical, not degraded (config `probe_critical = true`).
    pub probe_critical: bool,
    /// Where `interval` came from.
    pub interval_from: IntervalSource,
    /// Since when hbmon knows of the process (Unix seconds; the config file's modification
    /// time): the first period of a job that never ran counts from it. `None`: unknown,
    /// and such a job stays `pending`.
    pub known_since: Option<f64>,
    /// A job's cron schedule: the config's, else its writer's. While set, the job's period
    /// is the schedule, not `interval`. Written as `rules.schedule` and `rules.tz`.
    #[serde(flatten)]
    pub schedule: Scheduled,
    /// The `[[maintenance]]` windows that name the process: `paused` while one is open.
    #[serde(skip)]
    pub maintenance: Vec<Window>,
}

/// A job's cron schedule, if it has one: in JSON the two fields `schedule` (the
/// expression) and `tz` (its zone's name), `null` without one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scheduled(pub Option<Schedule>);

impl Serialize for Scheduled {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("schedule", &self.0.as_ref().map(Schedule::expr))?;
        map.serialize_entry("tz", &self.0.as_ref().map(Schedule::tz_name))?;
        map.end()
    }
}

/// What two runs of one job in progress at once are (config `overlap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// Nothing to flag: runs of the job may overlap.
    #[default]
    Allow,
    /// `error` while they do, naming them: a job that must not run twice at once.
    Warn,
}

impl Overlap {
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Allow => "allow",
            Overlap::Warn => "warn",
        }
    }
}

/// Where a process's interval came from, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntervalSource {
    /// Its `[[process]]` in the config.
    Config,
    /// The `interval` its writer promises in the entry.
    Entry,
    /// The config's `[defaults]`.
    Defaults,
    /// Nobody said: the built-in 30 s.
    Builtin,
}

impl IntervalSource {
    /// A job's period must be stated for it, by the config or by its writer: a general
    /// default (meant for apps) would make every job overdue soon after it ran.
    pub fn is_own(self) -> bool {
        matches!(self, IntervalSource::Config | IntervalSource::Entry)
    }
}

impl Default for Rules {
    /// The rules of a process nobody configured, with the default 30 s interval.
    fn default() -> Self {
        Rules {
            interval: DEFAULT_INTERVAL.as_secs_f64(),
            grace: DEFAULT_INTERVAL.as_secs_f64() / 2.0,
            late_after: 1.0,
            degraded_after: 3.0,
            dead_after: 5.0,
            kind: Kind::App,
            max_runtime: None,
            min_runtime: None,
            overlap: Overlap::Allow,
            monitored: false,
            critical: true,
            probe_critical: false,
            interval_from: IntervalSource::Builtin,
            known_since: None,
            schedule: Scheduled(None),
            maintenance: Vec::new(),
        }
    }
}

impl Rules {
    /// The instant `missed` intervals (plus the grace) after `from`.
    pub(super) fn deadline(&self, from: f64, missed: f64) -> f64 {
        from + missed * self.interval + self.grace
    }
}
