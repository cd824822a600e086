//! `hbmon history NAME`: one process's transitions and probe verdict flips from the history
//! database, newest first, its probes' response times by the minute, and its beats summed
//! up in a line (`--beats` lists them), as text or JSON.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::changes::{ProbeFlip, Restart, SeenBeat, Transition};
use crate::checks::rollup::ProbeMinute;
use crate::history::{self, History};
use crate::paths::{self, FileLocation};
use crate::report::columns;

use crate::clock::format_local;
use crate::{duration, health::State, text};

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The heartbeat name or its configured label.
    pub name: String,
    /// How far back, e.g. 1h, 7d.
    #[arg(long, allow_hyphen_values = true, value_parser = duration::parse, value_name = "D", default_value = "24h")]
    pub since: Duration,
    /// Show at most this many events (0: all).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub limit: usize,
    /// Print JSON: {"name", "database", "since", "transitions": [...], "before" (the
    /// newest transition before `since`, or null), "probe_flips": [...], "restarts": [...],
    /// "probe_minutes": [...], "beats": [...]}.
    #[arg(long)]
    pub json: bool,
    /// List the beats too, after the transitions (else one line sums them up).
    #[arg(long)]
    pub beats: bool,
}

/// `name`: the heartbeat name (a label the user gave is already turned into it).
pub fn history(
    location: &FileLocation,
    name: &str,
    args: &HistoryArgs,
) -> anyhow::Result<ExitCode> {
    let limit = (args.limit > 0).then_some(args.limit);
    if args.json {
        let doc = crate::manage::history(location, name, args.since, limit)?;
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    let path = paths::history_path(&location.path);
    let db = History::open_existing(&path, history::READ_WAIT)?;
    let since = crate::clock::unix_now() - args.since.as_secs_f64();
    let transitions = db.transitions(Some(name), since, limit)?;
    let flips = db.probe_flips(Some(name), since, limit)?;
    let restarts = db.restarts(Some(name), since, limit)?;
    let minutes = db.probe_minutes(name, since, limit)?;
    // A listing stops at the limit; the summary needs only the newest beat, and the
    // times of all of them.
    let beats = db.beats(name, since, if args.beats { limit } else { Some(1) })?;
    if transitions.is_empty()
        && flips.is_empty()
        && restarts.is_empty()
        && minutes.is_empty()
        && beats.is_empty()
    {
        eprintln!(
            "hbmon: nothing recorded for {name:?} in the last {} in {}",
            duration::format_exact(args.since.as_secs_f64()),
            path.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{} — last {}, newest first ({})",
        text::escape(name),
        duration::format_exact(args.since.as_secs_f64()),
        path.display()
    );
    // The few changes of state, and of the probes' verdicts, are what a reader came
    // for: first, never buried under the hundreds of beats between them.
    if transitions.is_empty() && flips.is_empty() && restarts.is_empty() {
        println!("no change of state");
    }
    for line in merge(&transitions, &flips, &restarts, &[], None) {
        println!("{line}");
    }
    if limit.is_some_and(|n| transitions.len() >= n || flips.len() >= n || restarts.len() >= n) {
        println!(
            "(newest {} changes, {} probe flips and {} restarts shown; --limit 0 shows all)",
            transitions.len(),
            flips.len(),
            restarts.len()
        );
    }
    if !minutes.is_empty() {
        println!();
        println!("response times by the minute:");
        for minute in &minutes {
            println!("{}", minute_line(minute));
        }
        if limit.is_some_and(|n| minutes.len() >= n) {
            println!(
                "(newest {} probe minutes shown; --limit 0 shows all)",
                minutes.len()
            );
        }
    }
    if args.beats {
        println!();
        for line in merge(&[], &[], &[], &beats, None) {
            println!("{line}");
        }
        if limit.is_some_and(|n| beats.len() >= n) {
            println!("(newest {} beats shown; --limit 0 shows all)", beats.len());
        }
    } else {
        if !minutes.is_empty() {
            println!();
        }
        println!(
            "{}",
            beats_summary(beats.first(), &db.beat_times(name, since)?)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `412 beats, every 2.0s, the last 3s ago (pid 7, alive); --beats lists them`: the beats
/// in one line from the newest and every beat's time (newest first), their typical spacing
/// the median gap.
fn beats_summary(newest: Option<&SeenBeat>, times: &[f64]) -> String {
    let Some(newest) = newest else {
        return "no beats".to_owned();
    };
    let count = times.len();
    let mut gaps: Vec<f64> = times.windows(2).map(|w| w[0] - w[1]).collect();
    gaps.sort_by(f64::total_cmp);
    let every = gaps.get(gaps.len() / 2).map_or_else(String::new, |gap| {
        let gap = if *gap < 60.0 {
            format!("{gap:.1}s")
        } else {
            duration::format_secs(*gap)
        };
        format!(", every {gap}")
    });
    let pid = newest
        .pid
        .map_or_else(|| "no pid".to_owned(), |p| format!("pid {p}"));
    format!(
        "{count} beat{}{every}, the last at {} ({pid}, {}); --beats lists them",
        if count == 1 { "" } else { "s" },
        format_local(newest.time),
        newest.status.as_str()
    )
}

/// `2026-12-04 18:31  http http://…/health  12 runs, 1 failed  min 1.2ms  p50 3.4ms  p95
/// 9.8ms  max 12ms`: one probe's minute, its target escaped.
fn minute_line(m: &ProbeMinute) -> String {
    let r = &m.rollup;
    let local = format_local(r.minute as f64);
    // The minute's start: its seconds are always :00.
    let at = local.strip_suffix(":00").unwrap_or(&local);
    let ms = |v| columns::millis(Some(v));
    format!(
        "{at}  {} {}  {} run{}, {} failed  min {}  p50 {}  p95 {}  max {}",
        m.kind,
        text::escape(&m.target),
        r.count,
        if r.count == 1 { "" } else { "s" },
        r.failures,
        ms(r.min_ms),
        ms(r.p50_ms),
        ms(r.p95_ms),
        ms(r.max_ms)
    )
}

/// Transitions, probe flips, restarts and beats as table lines, interleaved newest first, at most
/// `limit`; what writers chose (reasons quote their errors, data, a probe's target)
/// escaped ([`text`]).
fn merge(
    transitions: &[Transition],
    flips: &[ProbeFlip],
    restarts: &[Restart],
    beats: &[SeenBeat],
    limit: Option<usize>,
) -> Vec<String> {
    let mut events: Vec<(f64, String)> = transitions
        .iter()
        .map(|t| {
            let from = t.from.map_or("new", State::as_str);
            let change = format!("{from} → {}", t.to);
            (t.time, format!("{change:<20} {}", text::escape(&t.reason)))
        })
        .chain(flips.iter().map(|f| (f.time, f.summary())))
        .chain(restarts.iter().map(|r| {
            let what = format!("restart #{}", r.count);
            (r.time, format!("{what:<20} {}", text::escape(&r.text)))
        }))
        .chain(beats.iter().map(|b| {
            let what = format!("beat ({})", b.status.as_str());
            let pid = b
                .pid
                .map_or_else(|| "no pid".to_owned(), |p| format!("pid {p}"));
            let data = columns::truncate(&columns::summarize(&b.data), 60);
            (
                b.time,
                format!("{what:<20} {pid}  {data}").trim_end().to_owned(),
            )
        }))
        .collect();
    events.sort_by(|a, b| b.0.total_cmp(&a.0));
    events
        .into_iter()
        .take(limit.unwrap_or(usize::MAX))
        .map(|(time, text)| format!("{}  {text}", format_local(time)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Severity;
    use crate::store::Reported;
    use serde_json::json;

    #[test]
    fn events_interleave_newest_first_within_the_limit() {
        let transitions = [Transition {
            name: "a".into(),
            time: 20.0,
            from: Some(State::Up),
            to: State::Dead,
            severity: Severity::Critical,
            reason: "pid 7 is gone".into(),
            since: None,
        }];
        let beat = |time| SeenBeat {
            name: "a".into(),
            time,
            pid: Some(7),
            status: Reported::Alive,
            data: json!({"queue": 3}),
        };
        let beats = [beat(30.0), beat(10.0)];
        let lines = merge(&transitions, &[], &[], &beats, Some(2));
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].ends_with("beat (alive)         pid 7  queue=3"),
            "{lines:?}"
        );
        assert!(
            lines[1].ends_with("up → dead            pid 7 is gone"),
            "{lines:?}"
        );
    }

    #[test]
    fn probe_flips_interleave_with_transitions_saying_time_and_reason_escaped() {
        let flip = |time, failing: bool, reason: Option<&str>| ProbeFlip {
            name: "web".into(),
            time,
            kind: "http".into(),
            target: "http://127.0.0.1:8080/health\u{1b}[2J".into(),
            failing,
            ms: Some(3.25),
            reason: reason.map(str::to_owned),
        };
        let transitions = [Transition {
            name: "web".into(),
            time: 20.0,
            from: Some(State::Up),
            to: State::Unhealthy,
            severity: Severity::Degraded,
            reason: "http failed 2 times in a row".into(),
            since: None,
        }];
        let flips = [flip(30.0, false, None), flip(19.5, true, Some("HTTP 500"))];
        let lines = merge(&transitions, &flips, &[], &[], None);
        let tails: Vec<&str> = lines
            .iter()
            .map(|l| l.split_once("  ").unwrap().1)
            .collect();
        assert_eq!(
            tails,
            [
                r"probe failing → ok   http http://127.0.0.1:8080/health\u{1b}[2J in 3.2ms",
                "up → unhealthy       http failed 2 times in a row",
                r"probe ok → failing   http http://127.0.0.1:8080/health\u{1b}[2J in 3.2ms: HTTP 500",
            ]
        );
    }

    #[test]
    fn beats_are_summed_up_in_one_line() {
        let beat = |time| SeenBeat {
            name: "a".into(),
            time,
            pid: Some(7),
            status: Reported::Alive,
            data: json!(null),
        };
        let beats: Vec<SeenBeat> = (0..412).rev().map(|i| beat(f64::from(i) * 2.0)).collect();
        let times: Vec<f64> = beats.iter().map(|b| b.time).collect();
        let line = beats_summary(beats.first(), &times);
        assert!(
            line.starts_with("412 beats, every 2.0s, the last at "),
            "{line}"
        );
        assert!(
            line.ends_with("(pid 7, alive); --beats lists them"),
            "{line}"
        );
        assert_eq!(beats_summary(None, &[]), "no beats");
        assert!(beats_summary(Some(&beat(5.0)), &[5.0]).starts_with("1 beat, the last"));
    }

    #[test]
    fn reasons_and_data_are_escaped() {
        let transitions = [Transition {
            name: "a".into(),
            time: 20.0,
            from: None,
            to: State::Error,
            severity: Severity::Warning,
            reason: "reported an error: \u{1b}]0;pwned\u{7}\nforged".into(),
            since: None,
        }];
        let beats = [SeenBeat {
            name: "a".into(),
            time: 10.0,
            pid: None,
            status: Reported::Error,
            data: json!("x\u{2028}y\u{202e}"),
        }];
        let lines = merge(&transitions, &[], &[], &beats, None);
        assert!(
            lines[0].ends_with(r"reported an error: \u{1b}]0;pwned\u{7}\nforged"),
            "{lines:?}"
        );
        assert!(lines[1].ends_with(r"x\u{2028}y\u{202e}"), "{lines:?}");
    }

    #[test]
    fn a_probe_minute_is_one_line_with_its_counts_and_times_its_target_escaped() {
        let minute = ProbeMinute {
            name: "web".into(),
            kind: "http".into(),
            target: "http://x/\u{1b}[2J".into(),
            rollup: crate::checks::rollup::Rollup {
                minute: 1_800_000_060,
                count: 12,
                failures: 1,
                min_ms: 1.24,
                p50_ms: 3.4,
                p95_ms: 9.8,
                max_ms: 12.4,
            },
        };
        let line = minute_line(&minute);
        let (at, rest) = line.split_once("  ").unwrap();
        assert_eq!(at, &format_local(1_800_000_060.0)[..16]);
        assert_eq!(
            rest,
            r"http http://x/\u{1b}[2J  12 runs, 1 failed  min 1.2ms  p50 3.4ms  p95 9.8ms  max 12ms"
        );
    }
}
