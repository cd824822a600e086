//! A report: every process's row (entry, health, live OS data) at one instant, and the
//! column texts that `hbmon status` and the terminal UI both show.

pub mod json;
pub mod metrics;
pub mod table;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::duration;
use crate::probe::{Lookup, Probe, ProcessInfo, SystemInfo};
use crate::status::{self, Health, Os, Rules, Severity, State};
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
    pub entry: Option<Entry>,
    pub health: Health,
    /// The live process (the entry's PID, or the one found by `match`), if it runs — and
    /// is the one that beat, not a newer one that reuses its PID.
    pub process: Option<ProcessInfo>,
    pub rules: Rules,
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

/// Judges every process at `now`: one row per configured process (config order), then one
/// per other entry in the file (file order), asking `probe` about every PID once.
pub fn build(snapshot: &Snapshot, config: &Config, probe: &mut dyn Probe, now: f64) -> Report {
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
    let entries: HashMap<&str, &Entry> = snapshot
        .entries
        .iter()
        .map(|(name, entry)| (name.as_str(), entry))
        .collect();
    let configured: HashSet<&str> = config.processes.iter().map(|p| p.name.as_str()).collect();

    let mut rows: Vec<Row> = Vec::with_capacity(config.processes.len() + snapshot.entries.len());
    for p in &config.processes {
        let entry = entries.get(p.name.as_str()).copied();
        // The entry's PID, else the process the `match` finds; `None`: nothing to ask.
        let seen = match entry {
            Some(e) if !local(e) => Lookup::Unknown,
            Some(Entry { pid: Some(pid), .. }) => probe.process(*pid),
            _ => p
                .pattern
                .as_ref()
                .map_or(Lookup::Unknown, |re| probe.find(re)),
        };
        rows.push(row(&p.name, p.label.clone(), entry, config, seen, now));
    }
    for (name, entry) in &snapshot.entries {
        if configured.contains(name.as_str()) {
            continue;
        }
        let seen = match entry.pid {
            Some(pid) if local(entry) => probe.process(pid),
            _ => Lookup::Unknown,
        };
        rows.push(row(name, None, Some(entry), config, seen, now));
    }
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
    entry: Option<&Entry>,
    config: &Config,
    seen: Lookup,
    now: f64,
) -> Row {
    let rules = config.rules_for(name, entry);
    let os = match &seen {
        Lookup::Alive(p) => Os::Alive(p),
        Lookup::Gone => Os::Gone,
        Lookup::Unknown => Os::Unknown,
    };
    let health = status::evaluate(entry, &rules, now, os);
    // A stranger that now holds the PID is not this process: its CPU, memory and runtime
    // would be shown as if they were.
    let process = seen
        .alive()
        .filter(|p| !entry.is_some_and(|e| status::pid_reused(e, p)));
    Row {
        name: name.to_owned(),
        label,
        monitored: rules.monitored,
        entry: entry.cloned(),
        health,
        process,
        rules,
    }
}

impl Row {
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
    pub fn since_beat(&self, now: f64) -> Option<f64> {
        self.entry.as_ref().map(|e| now - e.last_heartbeat)
    }

    /// Whether the last beat is from the future beyond [`status::SKEW_TOLERANCE`]: the
    /// writer's clock is ahead of ours.
    pub fn skewed(&self, now: f64) -> bool {
        self.since_beat(now)
            .is_some_and(|age| age < -status::SKEW_TOLERANCE)
    }

    /// How long the live process has run.
    pub fn runtime(&self, now: f64) -> Option<f64> {
        self.process
            .as_ref()
            .map(|p| (now - p.start_time as f64).max(0.0))
    }
}

/// Column texts, shared by the status table and the terminal UI.
pub mod columns {
    use std::borrow::Cow;

    use super::{Row, Value, duration};
    use crate::store::Kind;
    use crate::text;

    /// The name shown: the label if configured, else the heartbeat name; escaped
    /// ([`text::escape`]), as everything a writer chose.
    pub fn name(row: &Row) -> Cow<'_, str> {
        text::escape(row.display_name())
    }

    /// Why the row is in its state (it may quote a writer's error), escaped.
    pub fn reason(row: &Row) -> Cow<'_, str> {
        text::escape(&row.health.reason)
    }

    pub fn pid(row: &Row) -> String {
        row.pid().map_or_else(|| "-".to_owned(), |p| p.to_string())
    }

    pub fn cpu(row: &Row) -> String {
        row.process
            .as_ref()
            .filter(|p| p.cpu_percent.is_finite())
            .map_or_else(|| "-".to_owned(), |p| format!("{:.1}%", p.cpu_percent))
    }

    pub fn memory(row: &Row) -> String {
        row.process
            .as_ref()
            .map_or_else(|| "-".to_owned(), |p| bytes(p.memory_bytes))
    }

    /// Whole seconds: start times are whole seconds, so anything finer is noise.
    pub fn runtime(row: &Row, now: f64) -> String {
        match row.runtime(now).map(f64::round) {
            None => "-".to_owned(),
            Some(secs) if secs < 1.0 => "0s".to_owned(),
            Some(secs) => duration::format_secs(secs),
        }
    }

    /// The last beat in local time, in at most 8 cells: `HH:MM:SS` today, else `Nov 22`
    /// within half a year, else `Nov 2025`. A bare clock time for a beat days old would read
    /// as minutes ago; the exact age is in the next column.
    pub fn last_beat(row: &Row, now: f64) -> String {
        row.entry
            .as_ref()
            .map_or_else(|| "-".to_owned(), |e| local_stamp(e.last_heartbeat, now))
    }

    /// A Unix time in local time, dated only when it is not today (see [`last_beat`]).
    pub fn local_stamp(at: f64, now: f64) -> String {
        use chrono::{Local, TimeZone};
        let local = |t: f64| Local.timestamp_opt(t.floor() as i64, 0).single();
        let (Some(at_local), Some(now_local)) = (local(at), local(now)) else {
            return "-".to_owned();
        };
        let format = if at_local.date_naive() == now_local.date_naive() {
            "%H:%M:%S"
        } else if (now - at).abs() < 183.0 * 86_400.0 {
            "%b %e"
        } else {
            "%b %Y"
        };
        at_local.format(format).to_string()
    }

    /// Time since the last beat: `42s ago`, or `in 3s` for a beat from the future.
    pub fn since_beat(row: &Row, now: f64) -> String {
        match row.since_beat(now) {
            None => "never".to_owned(),
            Some(age) if row.skewed(now) => format!("in {}", duration::format_secs(-age)),
            Some(age) => format!("{} ago", duration::format_secs(age.max(0.0))),
        }
    }

    /// The interval; `-` for a job without a period of its own, which is never overdue
    /// (showing the default would suggest it is checked against it).
    pub fn interval(row: &Row) -> String {
        let rules = &row.rules;
        if rules.kind == Kind::Job && !rules.interval_from.is_own() {
            return "-".to_owned();
        }
        duration::format_secs(rules.interval)
    }

    pub fn beats(row: &Row) -> String {
        row.entry
            .as_ref()
            .and_then(|e| e.beats)
            .map_or_else(|| "-".to_owned(), |b| b.to_string())
    }

    /// `additional_data` on one line, cut to `width` characters with `…`.
    pub fn data(row: &Row, width: usize) -> String {
        let text = row
            .entry
            .as_ref()
            .map_or_else(String::new, |e| summarize(&e.additional_data));
        truncate(&text, width)
    }

    /// `k=v k=v` for an object, the text of a string, JSON for anything else, on one line:
    /// line breaks and tabs (a job's output tail has them) become single spaces, other
    /// control characters are escaped ([`text::one_line`]).
    pub fn summarize(data: &Value) -> String {
        let text = match data {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        };
        text::one_line(&text).into_owned()
    }

    /// Cuts `text` to at most `width` characters, ending in `…` when cut.
    pub fn truncate(text: &str, width: usize) -> String {
        if text.chars().count() <= width {
            return text.to_owned();
        }
        let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }

    /// `512B`, `12.3K`, `45.6M`, `1.2G` (binary units, as htop shows).
    pub fn bytes(n: u64) -> String {
        const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
        let mut value = n as f64;
        let mut unit = 0;
        while value >= 1024.0 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            format!("{n}B")
        } else {
            format!("{value:.1}{}", UNITS[unit])
        }
    }
}

/// A report with one process in (nearly) every state, for this module's tests and the
/// table's snapshots: the seed's processes and a few more.
#[cfg(test)]
pub(crate) mod fixture {
    use serde_json::json;

    use crate::config::Config;
    use crate::probe::{FakeProbe, ProcessInfo, SystemInfo};
    use crate::store::{Entry, Kind, Reported, Snapshot};

    /// 2023-11-14 22:13:20 UTC.
    pub const NOW: f64 = 1_700_000_000.0;

    pub const CONFIG: &str = r#"
[[process]]
name = "bidder"
label = "Bidder Script"
match = "python .*bidder\\.py"
interval = "60s"

[[process]]
name = "websocket-reader"
label = "WebSocket Reader"

[[process]]
name = "vue-dev-server"
label = "Dev Server (npm run dev)"
match = "npm run dev"

[[process]]
name = "vue-serve"
label = "Vue Frontend (npm run serve)"
match = "npm run serve"

[[process]]
name = "nightly"
kind = "job"
interval = "1h"
max_runtime = "20m"

[[process]]
name = "backup"
kind = "job"
interval = "1d"
critical = false
"#;

    fn entry(age: f64, pid: Option<u32>, interval: f64) -> Entry {
        Entry {
            last_heartbeat: NOW - age,
            pid,
            status: Some(Reported::Alive),
            interval: Some(interval),
            first_heartbeat: Some(NOW - age - 60.0),
            beats: Some(120),
            ..Entry::default()
        }
    }

    fn process(pid: u32, cmd: &str, age: f64, cpu: f32, mib: u64) -> ProcessInfo {
        ProcessInfo {
            pid,
            name: cmd.split(' ').next().unwrap_or(cmd).to_owned(),
            cmd: cmd.to_owned(),
            start_time: (NOW - age) as u64,
            cpu_percent: cpu,
            memory_bytes: mib << 20,
        }
    }

    pub fn config() -> Config {
        Config::parse(CONFIG, std::path::Path::new("hbmon.toml")).unwrap()
    }

    pub fn snapshot() -> Snapshot {
        let mut entries = vec![
            (
                "bidder",
                Entry {
                    additional_data: json!({"status": "bidding", "offset": 40, "seen_projects": 1200}),
                    ..entry(23.0, Some(12345), 60.0)
                },
            ),
            ("websocket-reader", entry(100.0, Some(12346), 30.0)),
            (
                "nightly",
                Entry {
                    status: Some(Reported::Running),
                    kind: Some(Kind::Job),
                    started_at: Some(NOW - 300.0),
                    first_heartbeat: Some(NOW - 300.0),
                    ..entry(300.0, Some(12400), 3600.0)
                },
            ),
            (
                "backup",
                Entry {
                    status: Some(Reported::Failed),
                    kind: Some(Kind::Job),
                    started_at: Some(NOW - 4000.0),
                    finished_at: Some(NOW - 3990.0),
                    exit_code: Some(2),
                    duration: Some(10.0),
                    ..entry(3990.0, None, 86_400.0)
                },
            ),
            (
                "vue-frontend",
                Entry {
                    additional_data: json!("..."),
                    ..entry(8.0, Some(5002), 30.0)
                },
            ),
            ("test-process-1", entry(45.0, Some(12347), 30.0)),
            ("hung-worker", entry(60.0, Some(12348), 5.0)),
            (
                "old-run",
                Entry {
                    status: Some(Reported::Stopped),
                    ..entry(7200.0, Some(12349), 30.0)
                },
            ),
            (
                "errors",
                Entry {
                    status: Some(Reported::Error),
                    last_error: Some("disk full".into()),
                    last_error_at: Some(NOW - 2.0),
                    ..entry(2.0, None, 10.0)
                },
            ),
            ("skewed", entry(-30.0, None, 10.0)),
            (
                "elsewhere",
                Entry {
                    host: Some("otherbox".into()),
                    ..entry(5.0, Some(12347), 30.0)
                },
            ),
        ];
        // The seed's own entry: no interval, no counters.
        entries.push((
            "seed",
            Entry {
                last_heartbeat: NOW - 15.0,
                last_heartbeat_formatted: Some("2023-11-14 22:13:05".into()),
                pid: None,
                status: Some(Reported::Alive),
                additional_data: json!("..."),
                ..Entry::default()
            },
        ));
        Snapshot {
            entries: entries
                .into_iter()
                .map(|(n, e)| (n.to_owned(), e))
                .collect(),
            invalid: vec![(
                "broken".to_owned(),
                "missing field `last_heartbeat`".to_owned(),
            )],
        }
    }

    pub fn probe() -> FakeProbe {
        FakeProbe {
            processes: vec![
                process(12345, "python3 python bidder.py", 252.0, 1.5, 45),
                process(12346, "node reader.js", 4000.0, f32::NAN, 80),
                process(7777, "npm run dev", 600.0, 0.0, 120),
                process(12400, "bash nightly.sh", 300.0, 99.5, 3),
                process(5002, "node server/index.js", 9000.0, 2.25, 61),
                process(12348, "python worker.py", 3600.0, 0.0, 30),
            ],
            system: Some(SystemInfo {
                host: "devbox".into(),
                cpu_percent: 15.2,
                memory_used: 7 << 30,
                memory_total: 16 << 30,
                disk_used: 45 << 30,
                disk_total: 125 << 30,
            }),
            refreshed: Vec::new(),
            blind: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::columns::*;
    use super::fixture::{self, NOW};
    use super::*;
    use crate::probe::FakeProbe;
    use serde_json::json;

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
                },
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
        let job = |period: Option<f64>| {
            let entry = Entry {
                last_heartbeat: NOW - 5.0,
                kind: Some(crate::store::Kind::Job),
                interval: period,
                ..Entry::default()
            };
            let snapshot = Snapshot {
                entries: vec![("cron".to_owned(), entry)],
                invalid: Vec::new(),
            };
            let report = build(
                &snapshot,
                &Config::default(),
                &mut FakeProbe::default(),
                NOW,
            );
            interval(&report.rows[0])
        };
        assert_eq!(job(None), "-");
        assert_eq!(job(Some(3600.0)), "1h00m");
        // An app is judged by the default interval, so it shows it.
        let report = build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            NOW,
        );
        let seed = report.rows.iter().find(|r| r.name == "seed").unwrap();
        assert_eq!(interval(seed), "30s");
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
                },
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

    #[test]
    fn summaries_are_one_line() {
        assert_eq!(
            summarize(&json!({"port": 8080, "mode": "live"})),
            "mode=live port=8080"
        );
        assert_eq!(summarize(&json!("...")), "...");
        assert_eq!(summarize(&json!([1, 2])), "[1,2]");
        assert_eq!(summarize(&json!(null)), "");
        assert_eq!(
            summarize(&json!({"output_tail": "copying\nfailed: disk full\n"})),
            "output_tail=copying failed: disk full"
        );
        // Escaped, not dropped: what the writer sent stays readable, and harmless.
        assert_eq!(
            summarize(&json!({"msg": "\u{1b}]0;pwned\u{7}\u{2028}ok"})),
            r"msg=\u{1b}]0;pwned\u{7}\u{2028}ok"
        );
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    #[test]
    fn old_beats_show_their_date() {
        use chrono::{Local, TimeZone};
        let noon = Local
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .unwrap()
            .timestamp() as f64;
        let cases = [
            (noon - 3600.0, "11:00:00"),
            (noon - 86_400.0 * 3.0, "Nov 20"),
            (noon - 86_400.0 * 20.0, "Nov  3"),
            (noon - 86_400.0 * 400.0, "Oct 2025"),
        ];
        for (at, text) in cases {
            assert_eq!(local_stamp(at, noon), text);
        }
    }

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(45 * 1024 * 1024 + 600 * 1024), "45.6M");
    }
}
