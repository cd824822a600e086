//! A [`Report`] in the Prometheus text exposition format (version 0.0.4): what `GET /metrics`
//! of `hbmon serve` answers. docs/serve.md lists the metrics for users; the names follow
//! Prometheus's conventions: the unit as a suffix (`_seconds`, `_bytes`, `_ratio`), `_total`
//! only on counters.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Report, Row};
use crate::health::{Severity, State};

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric with one sample per process, labelled `name`.
struct PerProcess {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    /// The sample at the report's `now`; `None` leaves the process out.
    value: fn(&Row, f64) -> Option<f64>,
}

const PER_PROCESS: [PerProcess; 7] = [
    PerProcess {
        name: "hbmon_up",
        kind: "gauge",
        help: "1 when the process's severity is ok (up, or a job running), else 0; stopped, \
               paused and pending are 0 too.",
        value: |row, _| {
            Some(if row.health.severity == Severity::Ok {
                1.0
            } else {
                0.0
            })
        },
    },
    PerProcess {
        name: "hbmon_last_beat_timestamp_seconds",
        kind: "gauge",
        help: "Unix time of the process's newest beat.",
        value: |row, _| row.entry.as_ref().map(|e| e.last_heartbeat),
    },
    PerProcess {
        name: "hbmon_last_beat_age_seconds",
        kind: "gauge",
        help: "Seconds from the newest beat to the monitor's latest check (negative for a beat \
               from the future: clock skew).",
        // To the microsecond, as the file's times are: not the subtraction's float noise.
        value: |row, now| row.since_beat(now).map(|age| (age * 1e6).round() / 1e6),
    },
    PerProcess {
        name: "hbmon_beats_total",
        kind: "counter",
        help: "Beats in the process's current run; a new PID starts a new run (a counter reset).",
        value: |row, _| row.entry.as_ref()?.beats.map(|n| n as f64),
    },
    PerProcess {
        name: "hbmon_errors_total",
        kind: "counter",
        help: "Errors reported in the process's current run; a new PID starts a new run.",
        value: |row, _| row.entry.as_ref()?.errors.map(|n| n as f64),
    },
    PerProcess {
        name: "hbmon_cpu_ratio",
        kind: "gauge",
        help: "CPU use of the live process since the monitor's previous check, in cores \
               (0.5: half of one core; above 1 on several).",
        // Rounded to a millionth of a core: the f32 figure widened to f64 would print its
        // noise (15.2 % as 0.15199999809265137).
        value: |row, _| {
            let percent = f64::from(row.process.as_ref()?.cpu_percent);
            Some((percent * 1e4).round() / 1e6)
        },
    },
    PerProcess {
        name: "hbmon_resident_memory_bytes",
        kind: "gauge",
        help: "Resident memory of the live process.",
        value: |row, _| row.process.as_ref().map(|p| p.memory_bytes as f64),
    },
];

/// The whole exposition: per process `hbmon_up`, `hbmon_state` and the `PER_PROCESS`
/// figures, then the count per state and of invalid entries.
pub fn render(report: &Report) -> String {
    let rows = distinct(&report.rows);
    let mut out = String::new();
    for (i, metric) in PER_PROCESS.iter().enumerate() {
        family(&mut out, metric.name, metric.kind, metric.help);
        for row in &rows {
            if let Some(value) = (metric.value)(row, report.now) {
                sample(&mut out, metric.name, &[("name", &row.name)], value);
            }
        }
        // The state right after `hbmon_up`, which it details.
        if i == 0 {
            family(
                &mut out,
                "hbmon_state",
                "gauge",
                "The process's state and severity, as labels; always 1 (a process has one \
                 series, for its current state).",
            );
            for row in &rows {
                let labels = [
                    ("name", row.name.as_str()),
                    ("state", row.health.state.as_str()),
                    ("severity", row.health.severity.as_str()),
                ];
                sample(&mut out, "hbmon_state", &labels, 1.0);
            }
        }
    }
    probes(&mut out, &rows);
    family(
        &mut out,
        "hbmon_processes",
        "gauge",
        "Processes in each state (every state, 0 included).",
    );
    for &state in State::ALL {
        let count = rows.iter().filter(|r| r.health.state == state).count();
        sample(
            &mut out,
            "hbmon_processes",
            &[("state", state.as_str())],
            count as f64,
        );
    }
    family(
        &mut out,
        "hbmon_invalid_entries",
        "gauge",
        "Entries of the heartbeat file that are not valid entries (hbmon status lists them).",
    );
    sample(
        &mut out,
        "hbmon_invalid_entries",
        &[],
        report.invalid.len() as f64,
    );
    out
}

/// Per active probe, labelled `name`, `kind` and `target`: whether its last run passed,
/// and its response time over the last hour as a summary's quantiles.
fn probes(out: &mut String, rows: &[&Row]) {
    family(
        out,
        "hbmon_probe_success",
        "gauge",
        "1 when the probe's last run passed, 0 when it failed; none before its first run, \
         nor while its results are stale.",
    );
    let each = || {
        rows.iter().flat_map(|row| {
            row.probes.iter().map(move |p| {
                let labels = [
                    ("name", row.name.as_str()),
                    ("kind", p.kind.as_str()),
                    ("target", p.target.as_str()),
                ];
                (labels, p)
            })
        })
    };
    for (labels, p) in each() {
        // A stale result (the probing monitor stopped publishing) says nothing of now: left
        // out, the series goes stale in Prometheus too, as `absent()` can tell.
        if let Some(ok) = p.ok.filter(|_| !p.stale) {
            sample(
                out,
                "hbmon_probe_success",
                &labels,
                if ok { 1.0 } else { 0.0 },
            );
        }
    }
    family(
        out,
        "hbmon_probe_duration_seconds",
        "summary",
        "How long the probe's runs of the last hour took: the median and the 95th percentile.",
    );
    for (labels, p) in each() {
        for (quantile, ms) in [("0.5", p.p50_ms), ("0.95", p.p95_ms)] {
            if let Some(ms) = ms {
                let [a, b, c] = labels;
                let labels = [a, b, c, ("quantile", quantile)];
                sample(out, "hbmon_probe_duration_seconds", &labels, ms / 1000.0);
            }
        }
    }
}

/// One row per name, the last of duplicates (a file with a name twice) winning as readers
/// of the file take it: the same series twice would make Prometheus refuse the scrape.
fn distinct(rows: &[Row]) -> Vec<&Row> {
    let last: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (row.name.as_str(), i))
        .collect();
    rows.iter()
        .enumerate()
        .filter(|(i, row)| last.get(row.name.as_str()) == Some(i))
        .map(|(_, row)| row)
        .collect()
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `name{label="value",…} value`; a value that is not a finite number (CPU not measured
/// yet) is left out.
fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    if !value.is_finite() {
        return;
    }
    out.push_str(name);
    if !labels.is_empty() {
        let labels: Vec<String> = labels
            .iter()
            .map(|(key, value)| format!("{key}=\"{}\"", escape(value)))
            .collect();
        let _ = write!(out, "{{{}}}", labels.join(","));
    }
    let _ = writeln!(out, " {value}");
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::FakeProbe;
    use crate::report::fixture::{self, NOW};
    use crate::store::{Entry, Snapshot};

    #[test]
    fn the_fixture_at_a_fixed_instant() {
        let report = super::super::build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            NOW,
        );
        insta::assert_snapshot!(render(&report));
    }

    #[test]
    fn a_probe_is_a_success_gauge_and_a_duration_summary_in_seconds() {
        let mut report = crate::report::build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            NOW,
        );
        report.rows.truncate(1);
        report.rows[0].probes = vec![crate::checks::ProbeStatus {
            kind: "http".into(),
            target: "http://127.0.0.1:8080/health".into(),
            ok: Some(false),
            failing: false,
            fails: 1,
            failing_since: None,
            last_at: Some(NOW),
            last_ms: Some(30.0),
            p50_ms: Some(12.5),
            p95_ms: Some(250.0),
            recent_ms: vec![12.5, 30.0],
            last_error: Some("HTTP 500".into()),
            late: false,
            stale: false,
        }];
        let text = render(&report);
        let labels = "name=\"bidder\",kind=\"http\",target=\"http://127.0.0.1:8080/health\"";
        for line in [
            format!("hbmon_probe_success{{{labels}}} 0"),
            format!("hbmon_probe_duration_seconds{{{labels},quantile=\"0.5\"}} 0.0125"),
            format!("hbmon_probe_duration_seconds{{{labels},quantile=\"0.95\"}} 0.25"),
            "# TYPE hbmon_probe_duration_seconds summary".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        report.rows[0].probes[0].stale = true;
        let stale = render(&report);
        assert!(
            !stale.lines().any(|l| l.starts_with("hbmon_probe_success{")),
            "{stale}"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("plain-name_1.x"), "plain-name_1.x");
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
        assert_eq!(escape("tab\tand é"), "tab\tand é");
        let mut out = String::new();
        sample(&mut out, "m", &[("name", "say \"hi\"\n")], 0.5);
        sample(&mut out, "m", &[], f64::NAN);
        assert_eq!(out, "m{name=\"say \\\"hi\\\"\\n\"} 0.5\n");
    }

    #[test]
    fn a_name_twice_in_the_file_is_one_series() {
        let entry = |at: f64| Entry {
            last_heartbeat: at,
            ..Entry::default()
        };
        let snapshot = Snapshot {
            entries: vec![
                ("twice".into(), entry(10.0).into()),
                ("twice".into(), entry(20.0).into()),
            ],
            invalid: Vec::new(),
        };
        let report = super::super::build(
            &snapshot,
            &crate::config::Config::default(),
            &mut FakeProbe::default(),
            25.0,
        );
        let text = render(&report);
        let ages: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("hbmon_last_beat_age_seconds{"))
            .collect();
        assert_eq!(ages, ["hbmon_last_beat_age_seconds{name=\"twice\"} 5"]);
        assert!(text.contains("hbmon_processes{state=\"up\"} 1\n"), "{text}");
    }
}
