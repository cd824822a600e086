//! A report: every process's row (entry, health, live OS data) at one instant; its
//! [`columns`] are what `hbmon status` and the terminal UI both show of a row.

mod blocked;
pub mod columns;
pub mod json;
pub mod metrics;
pub mod table;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::checks::{self, ProbeStatus, Results};
use crate::config::Config;
use crate::health::{self, Health, Os, Rules, Severity, State};
use crate::probe::{Lookup, Probe, ProcessInfo, SystemInfo};
use crate::store::{Entry, Snapshot};

/// One process: configured (`monitored`) or an *additional heartbeat process*.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The heartbeat name.
    pub name: String,
    /// The config's display name, if any.
    pub label: Option<String>,
    /// Listed in the config.
    pub monitored: bool,
    /// The entry in the heartbeat file; `None` for a configured process that never beat.
    /// Shared with the snapshot it was judged from (and the next ones, while unchanged).
    pub entry: Option<Arc<Entry>>,
    pub health: Health,
    /// The live process (the entry's PID, or the one found by `match`), if it runs — and
    /// is the one that beat, not a newer one that reuses its PID.
    pub process: Option<ProcessInfo>,
    pub rules: Rules,
    /// The configured processes it needs (`depends_on`), in config order.
    pub depends_on: Vec<String>,
    /// The root causes its failure is blamed on while it is `blocked` ([`crate::deps`]);
    /// empty otherwise.
    pub blocked_by: Vec<String>,
    /// Its active probes' latest results, in config order (none without probes).
    pub probes: Vec<ProbeStatus>,
    /// The machine it runs on, once rows of several are shown together (`--remote`): the
    /// host column; `None` (no column) while only this machine is watched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The instant another machine judged it at (its serve's `now`), when it is a remote's
    /// row: its ages count to that, not to our clock, which may differ from its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judged_at: Option<f64>,
}

/// Every row at one instant, plus what the header needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The instant the report judges (Unix seconds).
    pub now: f64,
    pub rows: Vec<Row>,
    /// Entries in the file that are not valid entries: name and why.
    pub invalid: Vec<(String, String)>,
    pub system: Option<SystemInfo>,
    /// Whether [`Report::select`] kept only the processes a user named: an empty section of
    /// the table then means none of them is in it, not that none is configured.
    pub named: bool,
}

impl Report {
    /// How many rows are in each state, in [`State::ALL`] order, zero counts left out.
    pub fn counts(&self) -> Vec<(State, usize)> {
        State::ALL
            .iter()
            .map(|&s| (s, self.rows.iter().filter(|r| r.health.state == s).count()))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    /// `hbmon status`'s exit code ([`Severity::exit_code`]): the worst row's, and at least
    /// a warning when the file holds invalid entries.
    pub fn exit_code(&self) -> u8 {
        let floor = if self.invalid.is_empty() {
            Severity::None
        } else {
            Severity::Warning
        };
        self.worst().max(floor).exit_code()
    }

    /// A report of only the rows (and invalid entries) named in `names`, by heartbeat name
    /// or label (`hbmon status NAME…`, `GET /status/NAME`), copying only those; all of
    /// them for no names. `Err` with a name that matched nothing.
    pub fn select(&self, names: &[String]) -> Result<Report, String> {
        let calls =
            |n: &String, name: &str, label: Option<&str>| n == name || Some(n.as_str()) == label;
        let wanted = |name: &str, label: Option<&str>| {
            names.is_empty() || names.iter().any(|n| calls(n, name, label))
        };
        if let Some(missing) = names.iter().find(|n| {
            !self
                .rows
                .iter()
                .any(|r| calls(n, &r.name, r.label.as_deref()))
                && !self.invalid.iter().any(|(name, _)| name == *n)
        }) {
            return Err(missing.clone());
        }
        Ok(Report {
            now: self.now,
            rows: self
                .rows
                .iter()
                .filter(|r| wanted(&r.name, r.label.as_deref()))
                .cloned()
                .collect(),
            invalid: self
                .invalid
                .iter()
                .filter(|(name, _)| wanted(name, None))
                .cloned()
                .collect(),
            system: self.system.clone(),
            named: !names.is_empty(),
        })
    }

    /// The worst severity of any row (`None` for an empty report).
    pub fn worst(&self) -> Severity {
        self.rows
            .iter()
            .map(|r| r.health.severity)
            .max()
            .unwrap_or(Severity::None)
    }
}

/// `hbmon status`'s exit code when there is nothing to judge: the Nagios plugin's "unknown".
pub const UNKNOWN_EXIT_CODE: u8 = 3;

/// Why there is nothing to judge in `report` (of `file`), if so: no row and no invalid
/// entry — no heartbeat file yet, or one with no heartbeats (0 bytes, every entry removed),
/// and no process configured. As a check, that would read as "no processes, all well": a
/// mistyped path would be silently green. Both say so the same way (exit 3, unknown).
pub fn nothing_to_judge(file: &Path, report: &Report) -> Option<String> {
    if !report.rows.is_empty() || !report.invalid.is_empty() {
        return None;
    }
    Some(if file.exists() {
        format!("no heartbeats in {} yet", file.display())
    } else {
        format!("no heartbeat file at {} yet", file.display())
    })
}

/// Judges every process at `now` as [`build_probed`] does, with no probe results yet.
pub fn build(snapshot: &Snapshot, config: &Config, probe: &mut dyn Probe, now: f64) -> Report {
    build_probed(snapshot, config, probe, now, &Results::new())
}

/// Judges every process at `now`: one row per configured process (config order), then one
/// per other entry in the file (file order), asking `probe` about every PID once, and
/// taking what the active probes last said from `results`.
pub fn build_probed(
    snapshot: &Snapshot,
    config: &Config,
    probe: &mut dyn Probe,
    now: f64,
    results: &Results,
) -> Report {
    refresh(snapshot, config, probe);
    let system = probe.system();
    // A PID is only meaningful on the machine that wrote it (a file shared between hosts or
    // containers): for an entry from elsewhere the OS here is not asked.
    let here = system
        .as_ref()
        .map(|s| s.host.as_str())
        .filter(|h| !h.is_empty());
    let local = |e: &Entry| match (e.host.as_deref(), here) {
        (Some(there), Some(here)) => there == here,
        _ => true,
    };
    // By name, the last of duplicates winning as in `Snapshot::get`; a map because there may
    // be thousands of entries and configured processes.
    let entries: HashMap<&str, &Arc<Entry>> = snapshot
        .entries
        .iter()
        .map(|(name, entry)| (name.as_str(), entry))
        .collect();
    let configured: HashSet<&str> = config.processes.iter().map(|p| p.name.as_str()).collect();

    let mut rows: Vec<Row> = Vec::with_capacity(config.processes.len() + snapshot.entries.len());
    for p in &config.processes {
        let entry = entries.get(p.name.as_str()).copied();
        // The entry's PID, else the process the `match` finds; `None`: nothing to ask.
        let seen = match entry.map(|e| (local(e), e.pid)) {
            Some((false, _)) => Lookup::Unknown,
            Some((true, Some(pid))) => probe.process(pid),
            _ => p
                .pattern
                .as_ref()
                .map_or(Lookup::Unknown, |re| probe.find(re)),
        };
        let mut row = row(&p.name, p.label.clone(), entry, config, seen, now, results);
        row.depends_on.clone_from(&p.depends_on);
        rows.push(row);
    }
    for (name, entry) in &snapshot.entries {
        if configured.contains(name.as_str()) {
            continue;
        }
        let seen = match entry.pid {
            Some(pid) if local(entry) => probe.process(pid),
            _ => Lookup::Unknown,
        };
        rows.push(row(name, None, Some(entry), config, seen, now, results));
    }
    blocked::judge(&mut rows);
    Report {
        now,
        rows,
        invalid: snapshot.invalid.clone(),
        system,
        named: false,
    }
}

/// Refreshes `probe` for everything a report on `snapshot` asks: the entries' PIDs, and the
/// whole process list if the config finds processes by `match`. [`build`] calls it; call it
/// once more beforehand to prime CPU measurements.
pub fn refresh(snapshot: &Snapshot, config: &Config, probe: &mut dyn Probe) {
    let mut pids: Vec<u32> = snapshot.entries.iter().filter_map(|(_, e)| e.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    let by_pattern = config.processes.iter().any(|p| p.pattern.is_some());
    probe.refresh(&pids, by_pattern);
}

fn row(
    name: &str,
    label: Option<String>,
    shared: Option<&Arc<Entry>>,
    config: &Config,
    seen: Lookup,
    now: f64,
    results: &Results,
) -> Row {
    let entry = shared.map(|e| &**e);
    let rules = config.rules_for(name, entry);
    let os = match &seen {
        Lookup::Alive(p) => Os::Alive(p),
        Lookup::Gone => Os::Gone,
        Lookup::Unknown => Os::Unknown,
    };
    let probes = if rules.monitored {
        results.get(name).cloned().unwrap_or_default()
    } else {
        Vec::new()
    };
    let health = health::evaluate(entry, &rules, now, os, &checks::verdict(Some(&probes), now));
    // A stranger that now holds the PID is not this process: its CPU, memory and runtime
    // would be shown as if they were.
    let process = seen
        .alive()
        .filter(|p| !entry.is_some_and(|e| health::pid_reused(e, p)));
    Row {
        name: name.to_owned(),
        label,
        monitored: rules.monitored,
        entry: shared.cloned(),
        health,
        process,
        rules,
        depends_on: Vec::new(),
        blocked_by: Vec::new(),
        probes,
        host: None,
        judged_at: None,
    }
}

impl Row {
    /// The entry to change in place (a test's fixture): unshared first if shared.
    #[cfg(test)]
    pub fn entry_mut(&mut self) -> &mut Entry {
        Arc::make_mut(self.entry.as_mut().expect("a row with an entry"))
    }

    /// How many runs of the job are in progress that run ids name (the entry's `runs`).
    pub fn runs_in_progress(&self) -> usize {
        self.entry.as_ref().map_or(0, |e| e.runs.len())
    }

    /// The label if configured, else the heartbeat name.
    pub fn display_name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }

    /// The PID shown: the live process's, else the entry's.
    pub fn pid(&self) -> Option<u32> {
        self.process
            .as_ref()
            .map(|p| p.pid)
            .or_else(|| self.entry.as_ref().and_then(|e| e.pid))
    }

    /// Seconds since the last beat; negative when the beat is from the future (clock skew).
    /// The instant its ages count to: a remote's own `now` ([`Row::judged_at`]), else
    /// `now`, the report's.
    pub fn judged(&self, now: f64) -> f64 {
        self.judged_at.unwrap_or(now)
    }

    pub fn since_beat(&self, now: f64) -> Option<f64> {
        self.entry.as_ref().map(|e| now - e.last_heartbeat)
    }

    /// Whether the last beat is from the future beyond [`health::SKEW_TOLERANCE`]: the
    /// writer's clock is ahead of ours.
    pub fn skewed(&self, now: f64) -> bool {
        self.since_beat(now)
            .is_some_and(|age| age < -health::SKEW_TOLERANCE)
    }

    /// An additional (unconfigured) process that stopped cleanly: it needs no attention, and
    /// one-off runs pile up, so `hbmon status` and the UI hide it unless asked (`--all`, `a`).
    pub fn stopped_additional(&self) -> bool {
        !self.monitored && self.health.state == State::Stopped
    }

    /// How long the live process has run.
    pub fn runtime(&self, now: f64) -> Option<f64> {
        self.process
            .as_ref()
            .map(|p| (now - p.start_time as f64).max(0.0))
    }
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests {
    use super::columns::*;
    use super::fixture::{self, NOW};
    use super::*;
    use crate::probe::FakeProbe;

    #[test]
    fn names_select_by_name_or_label() {
        let full = build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            NOW,
        );
        let r = full
            .select(&["Bidder Script".into(), "seed".into()])
            .unwrap();
        let names: Vec<_> = r.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["bidder", "seed"]);
        assert!(r.invalid.is_empty());
        let r = full.select(&["broken".into()]).unwrap();
        assert!(r.rows.is_empty());
        assert_eq!(r.invalid.len(), 1);
        // (Compared by name: a NaN CPU figure is not equal to itself.)
        let names = |r: &Report| -> Vec<String> { r.rows.iter().map(|r| r.name.clone()).collect() };
        assert_eq!(
            full.select(&["seed".into(), "zzz".into()]).err(),
            Some("zzz".into())
        );
        let r = full.select(&[]).unwrap();
        assert_eq!((names(&r), r.invalid.len()), (names(&full), 1));
    }

    #[test]
    fn rows_follow_config_order_then_file_order() {
        let mut probe = fixture::probe();
        let report = build(&fixture::snapshot(), &fixture::config(), &mut probe, NOW);
        let names: Vec<_> = report
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.monitored, r.health.state))
            .collect();
        assert_eq!(
            names,
            [
                ("bidder", true, State::Up),
                ("websocket-reader", true, State::Late),
                ("vue-dev-server", true, State::Silent),
                ("vue-serve", true, State::Pending),
                ("nightly", true, State::Running),
                ("backup", true, State::Failed),
                ("vue-frontend", false, State::Up),
                ("test-process-1", false, State::Dead),
                ("hung-worker", false, State::Hung),
                ("old-run", false, State::Stopped),
                ("errors", false, State::Error),
                ("skewed", false, State::Skewed),
                ("elsewhere", false, State::Up),
                ("seed", false, State::Up),
            ]
        );
        assert_eq!(report.invalid.len(), 1);
        assert_eq!(report.system.as_ref().unwrap().host, "devbox");
        // One refresh, for every entry's PID once, sorted.
        assert_eq!(
            probe.refreshed,
            [vec![5002, 12345, 12346, 12347, 12348, 12349, 12400]]
        );
    }

    #[test]
    fn the_process_comes_from_the_pid_else_the_pattern() {
        let report = build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            NOW,
        );
        let row = |name: &str| report.rows.iter().find(|r| r.name == name).unwrap();
        assert_eq!(row("bidder").pid(), Some(12345));
        assert_eq!(row("vue-dev-server").pid(), Some(7777));
        assert_eq!(row("test-process-1").pid(), Some(12347));
        assert!(row("test-process-1").process.is_none());
        // The same PID written on another host is not checked here.
        assert_eq!(row("elsewhere").health.state, State::Up);
        assert_eq!(row("backup").health.severity, Severity::Warning);
        assert_eq!(row("seed").rules.interval, 30.0);
        assert_eq!(report.worst(), Severity::Critical);
        assert_eq!(report.exit_code(), 2);
    }

    #[test]
    fn a_reused_pid_shows_no_stranger_figures() {
        let snapshot = Snapshot {
            entries: vec![(
                "worker".to_owned(),
                Entry {
                    last_heartbeat: NOW - 5.0,
                    first_heartbeat: Some(NOW - 600.0),
                    pid: Some(4242),
                    ..Entry::default()
                }
                .into(),
            )],
            invalid: Vec::new(),
        };
        let stranger = ProcessInfo {
            pid: 4242,
            name: "cc1".into(),
            cmd: "cc1 main.c".into(),
            start_time: (NOW - 60.0) as u64,
            cpu_percent: 99.0,
            memory_bytes: 1 << 30,
        };
        let mut probe = FakeProbe::new(vec![stranger]);
        let report = build(&snapshot, &Config::default(), &mut probe, NOW);
        let row = &report.rows[0];
        assert_eq!(row.health.state, State::Dead, "{row:?}");
        assert!(row.health.reason.contains("now belongs to another process"));
        assert_eq!(row.process, None);
        assert_eq!(row.pid(), Some(4242));
        assert_eq!(
            (cpu(row), memory(row), runtime(row, NOW)),
            ("-".into(), "-".into(), "-".into())
        );
    }

    #[test]
    fn a_job_without_a_period_shows_no_interval() {
        let job = |period: Option<f64>, schedule: Option<&str>| {
            let entry = Entry {
                last_heartbeat: NOW - 5.0,
                kind: Some(crate::store::Kind::Job),
                interval: period,
                schedule: schedule.map(str::to_owned),
                tz: Some("UTC".to_owned()),
                ..Entry::default()
            };
            let snapshot = Snapshot {
                entries: vec![("cron".to_owned(), entry.into())],
                invalid: Vec::new(),
            };
            let report = build(
                &snapshot,
                &Config::default(),
                &mut FakeProbe::default(),
                NOW,
            );
            interval(&report.rows[0], NOW)
        };
        assert_eq!(job(None, None), "-");
        assert_eq!(job(Some(3600.0), None), "1h00m");
        // A scheduled job shows when it is due instead, in the schedule's zone.
        assert_eq!(job(None, Some("0 3 * * *")), "due 03:00 (in 4h46m)");
        assert_eq!(job(None, Some("0 3 * * MON")), "due Mon 03:00 (in 5d04h)");
        // An app is judged by the default interval, so it shows it.
        let report = build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            NOW,
        );
        let seed = report.rows.iter().find(|r| r.name == "seed").unwrap();
        assert_eq!(interval(seed, NOW), "30s");
    }

    #[test]
    fn runtime_is_whole_seconds() {
        let snapshot = Snapshot {
            entries: vec![(
                "fresh".to_owned(),
                Entry {
                    last_heartbeat: NOW,
                    pid: Some(7),
                    ..Entry::default()
                }
                .into(),
            )],
            invalid: Vec::new(),
        };
        let mut probe = FakeProbe::new(vec![ProcessInfo {
            pid: 7,
            name: "fresh".into(),
            cmd: "fresh".into(),
            start_time: NOW as u64,
            cpu_percent: 0.0,
            memory_bytes: 0,
        }]);
        let mut at = |now: f64| {
            let report = build(&snapshot, &Config::default(), &mut probe, now);
            runtime(&report.rows[0], now)
        };
        assert_eq!(at(NOW + 0.667), "1s");
        assert_eq!(at(NOW + 0.3), "0s");
        assert_eq!(at(NOW + 61.5), "1m02s");
    }

    #[test]
    fn an_os_that_cannot_be_read_kills_nobody() {
        let mut blind = FakeProbe {
            blind: true,
            ..fixture::probe()
        };
        let report = build(&fixture::snapshot(), &fixture::config(), &mut blind, NOW);
        let row = |name: &str| report.rows.iter().find(|r| r.name == name).unwrap();
        // Its PID exists nowhere in the probe, but the probe cannot tell: not "gone".
        assert_eq!(row("test-process-1").health.state, State::Up);
        assert!(report.rows.iter().all(|r| r.process.is_none()));
        assert!(
            report
                .rows
                .iter()
                .all(|r| !r.health.reason.contains("gone")),
            "{report:#?}"
        );
    }
}
