//! The `hbmon status --json` document: every computed field of a [`Report`], in a shape
//! documented in README ("hbmon status --json") and versioned by [`SCHEMA`].

mod sorted;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{Report, Row};
use crate::health::{Rules, Severity, State};
use crate::probe::{ProcessInfo, SystemInfo};
use crate::store::Entry;

pub use sorted::{Error as PrettyError, to_vec as to_sorted_pretty};

/// Bumped when a field changes meaning or goes away; new fields do not bump it.
pub const SCHEMA: u32 = 1;

/// The whole document. Each struct's fields are in key order, as the document prints them
/// (`sorted`): written as they come, with nothing to reorder.
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    /// The config file used; `null` for the built-in defaults.
    pub config: Option<&'a Path>,
    /// How many processes are in each state; states with none are left out.
    pub counts: BTreeMap<State, usize>,
    /// What `hbmon status` exits with.
    pub exit_code: u8,
    /// The heartbeat file read.
    pub file: &'a Path,
    /// Entries of the file that are not valid entries.
    pub invalid: Vec<Invalid<'a>>,
    /// The instant judged, Unix seconds.
    pub now: f64,
    pub processes: Vec<Process<'a>>,
    pub schema: u32,
    pub system: Option<&'a SystemInfo>,
    /// Why there is nothing to judge, when `exit_code` is 3 for that reason (no heartbeat
    /// file yet and nothing configured: `hbmon serve`'s `/status`); else `null`.
    pub unknown: Option<String>,
    /// The worst severity among `processes` (`none` when empty).
    pub worst: Severity,
}

/// One row.
#[derive(Debug, Serialize)]
pub struct Process<'a> {
    /// While it is `blocked`: the root causes, the critical processes its failure is
    /// blamed on; else empty.
    pub blocked_by: &'a [String],
    /// The configured processes it needs (`depends_on`).
    pub depends_on: &'a [String],
    /// The label if configured, else the name.
    pub display_name: &'a str,
    /// The entry as parsed and written out again, not the file's bytes: protocol v1
    /// fields (`pid` always, `null` when none; other absent fields left out) and unknown
    /// fields kept.
    pub entry: Option<&'a Entry>,
    /// The machine it runs on, once several are shown (`hbmon status --remote`); left
    /// out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
    pub label: Option<&'a str>,
    pub last_heartbeat: Option<f64>,
    /// Listed in the config (else an additional heartbeat process).
    pub monitored: bool,
    pub name: &'a str,
    /// A job's next expected start (Unix seconds): the first fire time of its schedule, or
    /// its period, after its last start — the missed one while it is overdue; `null` for
    /// an app or a job with no period of its own.
    pub next_due: Option<f64>,
    /// The live process's PID, else the entry's.
    pub pid: Option<u32>,
    /// Its active probes (`http`, `tcp`, `command`): each one's last verdict, response
    /// times (last, p50 and p95 over the last hour, in ms), failures in a row, last error.
    pub probes: &'a [crate::checks::ProbeStatus],
    /// What the OS says about the process; `null` when it does not run, was not asked, or
    /// its PID now belongs to another process.
    pub process: Option<&'a ProcessInfo>,
    pub reason: &'a str,
    /// The thresholds it was judged by.
    pub rules: &'a Rules,
    /// The runs in progress that run ids name (the entry's `runs`), the oldest first.
    pub runs: Vec<Run<'a>>,
    /// Seconds the live process has run.
    pub runtime: Option<f64>,
    pub severity: Severity,
    /// Since when it is in this state, if known (Unix seconds).
    pub since: Option<f64>,
    /// Seconds since the last beat; negative for a beat from the future (clock skew).
    pub since_beat: Option<f64>,
    pub state: State,
}

/// One run in progress.
#[derive(Debug, Serialize)]
pub struct Run<'a> {
    pub host: Option<&'a str>,
    pub pid: Option<u32>,
    pub run_id: &'a str,
    /// Seconds since it started (0 for a start from the future).
    pub running_for: f64,
    pub started_at: f64,
}

#[derive(Debug, Serialize)]
pub struct Invalid<'a> {
    pub error: &'a str,
    pub name: &'a str,
}

impl<'a> Document<'a> {
    /// The document for `report`, read from `file` with the config at `config`.
    /// `exit_code` is passed in: it also depends on what was asked (unknown names).
    pub fn new(
        report: &'a Report,
        file: &'a Path,
        config: Option<&'a Path>,
        exit_code: u8,
    ) -> Self {
        Document {
            schema: SCHEMA,
            now: report.now,
            file,
            config,
            worst: report.worst(),
            exit_code,
            unknown: None,
            counts: report.counts().into_iter().collect(),
            system: report.system.as_ref(),
            processes: report
                .rows
                .iter()
                .map(|row| Process::new(row, report.now))
                .collect(),
            invalid: report
                .invalid
                .iter()
                .map(|(name, error)| Invalid { error, name })
                .collect(),
        }
    }
}

impl<'a> Process<'a> {
    fn new(row: &'a Row, now: f64) -> Self {
        Process {
            host: row.host.as_deref(),
            name: &row.name,
            label: row.label.as_deref(),
            display_name: row.display_name(),
            monitored: row.monitored,
            state: row.health.state,
            severity: row.health.severity,
            reason: &row.health.reason,
            since: row.health.since,
            pid: row.pid(),
            last_heartbeat: row.entry.as_ref().map(|e| e.last_heartbeat),
            since_beat: row.since_beat(now),
            runtime: row.runtime(now),
            next_due: crate::health::next_due(row.entry.as_deref(), &row.rules),
            runs: row.entry.as_ref().map_or_else(Vec::new, |entry| {
                entry
                    .runs_in_progress()
                    .into_iter()
                    .map(|(run_id, run)| Run {
                        run_id,
                        started_at: run.started_at,
                        running_for: (now - run.started_at).max(0.0),
                        pid: run.pid,
                        host: run.host.as_deref(),
                    })
                    .collect()
            }),
            probes: &row.probes,
            entry: row.entry.as_deref(),
            process: row.process.as_ref(),
            rules: &row.rules,
            depends_on: &row.depends_on,
            blocked_by: &row.blocked_by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ProbeStatus;
    use crate::report::fixture::{self, NOW};
    use crate::store::Entry;

    /// What `hbmon status --json` printed before it wrote its document itself: the
    /// document as a `Value` tree (every map's keys sorted), printed pretty.
    fn through_a_value(value: &impl Serialize) -> String {
        serde_json::to_string_pretty(&serde_json::to_value(value).unwrap()).unwrap()
    }

    #[test]
    fn the_fixture_document_is_the_golden_and_what_its_value_tree_printed() {
        let mut report = crate::report::build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            NOW,
        );
        report.rows[0].probes = vec![ProbeStatus::sample(
            "http",
            "http://127.0.0.1:8080/health",
            Some(false),
            3,
            &[12.5, 80.25],
            NOW,
        )];
        // Fields a writer of another version added: kept, and among the known ones in order.
        let mut entry = Entry::clone(report.rows[1].entry.as_deref().unwrap());
        entry.extra.insert(
            "zone".into(),
            serde_json::json!({"b": 1, "a": [true, null]}),
        );
        entry
            .extra
            .insert("Agent \"x\"\n".into(), serde_json::json!("v2"));
        entry
            .extra
            .insert("errorz".into(), serde_json::json!(1.5e300));
        report.rows[1].entry = Some(entry.into());
        let mut document = Document::new(
            &report,
            Path::new("/srv/hb.json"),
            Some(Path::new("hbmon.toml")),
            2,
        );
        document.unknown = Some("tab\there".into());
        let text = String::from_utf8(to_sorted_pretty(&document).unwrap()).unwrap();
        assert_eq!(text, through_a_value(&document));
        insta::assert_snapshot!(text);
    }
}
