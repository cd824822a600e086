//! A report: every process's row (entry, health, live OS data) at one instant, and the
//! column texts that `hbmon status` and the terminal UI both show.

pub mod json;
pub mod table;

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::duration;
use crate::probe::{Probe, ProcessInfo, SystemInfo};
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
    /// The live process (the entry's PID, or the one found by `match`), if it runs.
    pub process: Option<ProcessInfo>,
    pub rules: Rules,
}

/// Every row at one instant, plus what the header needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The instant the report judges (Unix seconds).
    pub now: f64,
    pub rows: Vec<Row>,
    /// Entries in the file that are not valid entries: name and why.
    pub invalid: Vec<(String, String)>,
    pub system: Option<SystemInfo>,
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

    /// The worst severity of any row (`None` for an empty report).
    pub fn worst(&self) -> Severity {
        self.rows
            .iter()
            .map(|r| r.health.severity)
            .max()
            .unwrap_or(Severity::None)
    }
}

/// Judges every process at `now`: one row per configured process (config order), then one
/// per other entry in the file (file order), asking `probe` about every PID once.
pub fn build(snapshot: &Snapshot, config: &Config, probe: &mut dyn Probe, now: f64) -> Report {
    refresh(snapshot, config, probe);
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
        let process = match entry.and_then(|e| e.pid) {
            Some(pid) => probe.process(pid),
            None => p.pattern.as_ref().and_then(|re| probe.find(re)),
        };
        // Without a PID or a pattern there is nothing to ask the OS.
        let asked = entry.is_some_and(|e| e.pid.is_some()) || p.pattern.is_some();
        rows.push(row(
            &p.name,
            p.label.clone(),
            entry,
            config,
            process,
            asked,
            now,
        ));
    }
    for (name, entry) in &snapshot.entries {
        if configured.contains(name.as_str()) {
            continue;
        }
        let process = entry.pid.and_then(|pid| probe.process(pid));
        let asked = entry.pid.is_some();
        rows.push(row(name, None, Some(entry), config, process, asked, now));
    }
    Report {
        now,
        rows,
        invalid: snapshot.invalid.clone(),
        system: probe.system(),
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
    process: Option<ProcessInfo>,
    asked: bool,
    now: f64,
) -> Row {
    let rules = config.rules_for(name, entry);
    let os = match (&process, asked) {
        (Some(p), _) => Os::Alive(p),
        (None, true) => Os::Gone,
        (None, false) => Os::Unknown,
    };
    let health = status::evaluate(entry, &rules, now, os);
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

    /// How long the live process has run.
    pub fn runtime(&self, now: f64) -> Option<f64> {
        self.process
            .as_ref()
            .map(|p| (now - p.start_time as f64).max(0.0))
    }
}

/// Column texts, shared by the status table and the terminal UI.
pub mod columns {
    use super::{Row, Value, duration};

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

    pub fn runtime(row: &Row, now: f64) -> String {
        row.runtime(now)
            .map_or_else(|| "-".to_owned(), duration::format_secs)
    }

    /// The last beat as a local clock time, `HH:MM:SS`.
    pub fn last_beat(row: &Row) -> String {
        row.entry.as_ref().map_or_else(
            || "-".to_owned(),
            |e| {
                let full = crate::store::format_local(e.last_heartbeat);
                full.get(11..).unwrap_or(&full).to_owned()
            },
        )
    }

    /// Time since the last beat: `42s ago`, or `in 3s` for a beat from the future.
    pub fn since_beat(row: &Row, now: f64) -> String {
        match row.since_beat(now) {
            None => "never".to_owned(),
            Some(age) if age < -1.0 => format!("in {}", duration::format_secs(-age)),
            Some(age) => format!("{} ago", duration::format_secs(age.max(0.0))),
        }
    }

    pub fn interval(row: &Row) -> String {
        duration::format_secs(row.rules.interval)
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

    /// `k=v k=v` for an object, the text of a string, JSON for anything else.
    pub fn summarize(data: &Value) -> String {
        match data {
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
        }
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

#[cfg(test)]
mod tests {
    use super::columns::*;
    use serde_json::json;

    #[test]
    fn summaries_are_one_line() {
        assert_eq!(
            summarize(&json!({"port": 8080, "mode": "live"})),
            "mode=live port=8080"
        );
        assert_eq!(summarize(&json!("...")), "...");
        assert_eq!(summarize(&json!([1, 2])), "[1,2]");
        assert_eq!(summarize(&json!(null)), "");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(45 * 1024 * 1024 + 600 * 1024), "45.6M");
    }
}
