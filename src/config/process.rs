//! One `[[process]]`: its typed form and the raw table it is checked from, key by key.

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::ping::{PingIds, RawPingIds};
use super::supervise::{RawCommand, RawSupervision, Restart, Supervision};
use super::values::{Count, Pattern, Size, Span};
use super::{Defaults, Fault, Probes, ordered, positive, probes, schedule, supervise};
use crate::cron::Schedule;
use crate::duration;
use crate::health::Overlap;
use crate::store::Kind;

/// One `[[process]]`.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// The heartbeat name.
    pub name: String,
    pub label: Option<String>,
    /// `match`: a regex on the command line, to find the process's PID.
    pub pattern: Option<Regex>,
    pub interval: Option<f64>,
    /// A job's cron schedule (`schedule`, `tz`): its period instead of an interval.
    pub schedule: Option<Schedule>,
    pub grace: Option<f64>,
    /// `None`: the entry's kind, else `app` (a `schedule` makes it a job).
    pub kind: Option<Kind>,
    /// `false` caps the process's severity at warning.
    pub critical: bool,
    pub late_after: Option<f64>,
    pub degraded_after: Option<f64>,
    pub dead_after: Option<f64>,
    /// Jobs only: how long a run may take before it counts as `hung`.
    pub max_runtime: Option<f64>,
    /// Jobs only: a run that succeeds sooner is judged `failed`.
    pub min_runtime: Option<f64>,
    /// Jobs only: whether two runs at once are flagged.
    pub overlap: Overlap,
    /// `false`: never alerted (`alerts = false`), though still shown and recorded.
    pub alerts: bool,
    /// The configured processes it needs (`depends_on`), in file order: while one is
    /// critical, a failure of this one is `blocked` ([`crate::deps`]).
    pub depends_on: Vec<String>,
    /// `http`, `tcp`, `command` and their keys; `None`: the process is only listened to.
    pub probes: Option<Probes>,
    /// `run` or `restart_command` and their policy: `hbmon serve` starts and restarts it.
    pub supervise: Option<Supervision>,
    /// `uuid`, `slug`, `push_token`: how the ping API finds it besides by name.
    pub ping: PingIds,
}

impl ProcessConfig {
    /// Its slug in `/ping/<ping-key>/<slug>`: `slug`, else its name.
    pub fn slug(&self) -> &str {
        self.ping.slug.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProcess {
    // Only what config/schedule.rs and the graph check in config.rs read is open to them.
    name: Spanned<String>,
    label: Option<String>,
    #[serde(rename = "match")]
    pattern: Option<Pattern>,
    pub(super) interval: Option<Spanned<Span>>,
    pub(super) schedule: Option<Spanned<String>>,
    pub(super) tz: Option<Spanned<String>>,
    grace: Option<Spanned<Span>>,
    pub(super) kind: Option<Spanned<Kind>>,
    critical: Option<bool>,
    late_after: Option<Spanned<Count>>,
    degraded_after: Option<Spanned<Count>>,
    dead_after: Option<Spanned<Count>>,
    max_runtime: Option<Spanned<Span>>,
    min_runtime: Option<Spanned<Span>>,
    overlap: Option<Spanned<Overlap>>,
    alerts: Option<bool>,
    #[serde(default)]
    pub(super) depends_on: Vec<Spanned<String>>,
    http: Option<Spanned<String>>,
    http_expect: Option<Spanned<String>>,
    tcp: Option<Spanned<String>>,
    command: Option<Spanned<String>>,
    command_shell: Option<Spanned<bool>>,
    probe_timeout: Option<Spanned<Span>>,
    probe_every: Option<Spanned<Span>>,
    probe_fails: Option<Spanned<u32>>,
    probe_critical: Option<Spanned<bool>>,
    run: Option<Spanned<RawCommand>>,
    restart_command: Option<Spanned<RawCommand>>,
    shell: Option<Spanned<bool>>,
    cwd: Option<Spanned<String>>,
    env: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    user: Option<Spanned<String>>,
    restart: Option<Spanned<Restart>>,
    restart_on_probe: Option<Spanned<bool>>,
    backoff_max: Option<Spanned<Span>>,
    stable_after: Option<Spanned<Span>>,
    max_restarts: Option<Spanned<u32>>,
    restart_window: Option<Spanned<Span>>,
    start_timeout: Option<Spanned<Span>>,
    stop_timeout: Option<Spanned<Span>>,
    log_size: Option<Spanned<Size>>,
    log_keep: Option<Spanned<u32>>,
    uuid: Option<Spanned<String>>,
    slug: Option<Spanned<String>>,
    push_token: Option<Spanned<String>>,
}

impl RawProcess {
    /// Its probe keys, for `config/probes.rs` to check.
    fn probes(&mut self) -> probes::RawProbes {
        probes::RawProbes {
            http: self.http.take(),
            http_expect: self.http_expect.take(),
            tcp: self.tcp.take(),
            command: self.command.take(),
            command_shell: self.command_shell.take(),
            probe_timeout: self.probe_timeout.take(),
            probe_every: self.probe_every.take(),
            probe_fails: self.probe_fails.take(),
            probe_critical: self.probe_critical.take(),
        }
    }

    /// Its supervision keys, for `config/supervise.rs` to check.
    fn supervision(&mut self) -> RawSupervision {
        RawSupervision {
            run: self.run.take(),
            restart_command: self.restart_command.take(),
            shell: self.shell.take(),
            cwd: self.cwd.take(),
            env: self.env.take(),
            user: self.user.take(),
            restart: self.restart.take(),
            restart_on_probe: self.restart_on_probe.take(),
            backoff_max: self.backoff_max.take(),
            stable_after: self.stable_after.take(),
            max_restarts: self.max_restarts.take(),
            restart_window: self.restart_window.take(),
            start_timeout: self.start_timeout.take(),
            stop_timeout: self.stop_timeout.take(),
            log_size: self.log_size.take(),
            log_keep: self.log_keep.take(),
        }
    }

    /// This `[[process]]` checked, under `defaults`, after the `earlier` ones.
    pub(super) fn validate(
        self,
        defaults: &Defaults,
        earlier: &[ProcessConfig],
    ) -> Result<ProcessConfig, Fault> {
        let mut p = self;
        let probes = p.probes().validate()?;
        let supervise = p.supervision().validate(supervise::is_root())?;
        let (schedule, kind) = schedule::process_schedule(&p)?;
        let name_span = p.name.span();
        let name = p.name.into_inner();
        if name.trim().is_empty() {
            return Err((name_span, "name", "must not be empty".to_owned()));
        }
        if earlier.iter().any(|q| q.name == name) {
            return Err((name_span, "name", format!("{name:?} is configured twice")));
        }
        let ids = RawPingIds {
            uuid: p.uuid.take(),
            slug: p.slug.take(),
            push_token: p.push_token.take(),
        };
        let ping = ids.validate(&name, name_span, earlier)?;
        let (max_runtime, min_runtime) = job_rules(
            kind,
            p.max_runtime.as_ref(),
            p.min_runtime.as_ref(),
            p.overlap.as_ref(),
        )?;
        let thresholds = [
            p.late_after
                .as_ref()
                .map_or(defaults.late_after, |c| c.get_ref().0),
            p.degraded_after
                .as_ref()
                .map_or(defaults.degraded_after, |c| c.get_ref().0),
            p.dead_after
                .as_ref()
                .map_or(defaults.dead_after, |c| c.get_ref().0),
        ];
        ordered(
            [&p.late_after, &p.degraded_after, &p.dead_after],
            thresholds,
        )?;
        Ok(ProcessConfig {
            probes,
            supervise,
            interval: positive("interval", p.interval.as_ref())?,
            schedule,
            grace: p.grace.map(|g| g.into_inner().0),
            max_runtime,
            min_runtime,
            overlap: p.overlap.map_or(Overlap::Allow, Spanned::into_inner),
            name,
            label: p.label,
            pattern: p.pattern.map(|m| m.0),
            kind,
            critical: p.critical.unwrap_or(true),
            late_after: p.late_after.map(|c| c.into_inner().0),
            degraded_after: p.degraded_after.map(|c| c.into_inner().0),
            dead_after: p.dead_after.map(|c| c.into_inner().0),
            alerts: p.alerts.unwrap_or(true),
            depends_on: p.depends_on.into_iter().map(Spanned::into_inner).collect(),
            ping,
        })
    }
}

/// A `[[process]]`'s run rules, `(max_runtime, min_runtime)`: jobs only, each positive,
/// the minimum no more than the maximum (`overlap` is checked for being a job's).
fn job_rules(
    kind: Option<Kind>,
    max: Option<&Spanned<Span>>,
    min: Option<&Spanned<Span>>,
    overlap: Option<&Spanned<Overlap>>,
) -> Result<(Option<f64>, Option<f64>), Fault> {
    let job_only = [
        ("max_runtime", max.map(Spanned::span)),
        ("min_runtime", min.map(Spanned::span)),
        ("overlap", overlap.map(Spanned::span)),
    ];
    if kind != Some(Kind::Job)
        && let Some((key, Some(at))) = job_only.into_iter().find(|(_, at)| at.is_some())
    {
        return Err((
            at,
            key,
            "applies only to jobs: add kind = \"job\"".to_owned(),
        ));
    }
    let (max_runtime, min_runtime) = (positive("max_runtime", max)?, positive("min_runtime", min)?);
    if let (Some(max), Some(min), Some(at)) = (max_runtime, min_runtime, min)
        && min > max
    {
        return Err((
            at.span(),
            "min_runtime",
            format!(
                "{} is more than max_runtime ({}): no run could pass both",
                duration::format_exact(min),
                duration::format_exact(max)
            ),
        ));
    }
    Ok((max_runtime, min_runtime))
}
