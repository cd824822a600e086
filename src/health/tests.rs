//! The rules of the module docs, case by case, and everything about each state.

use super::*;

/// I = 10 s, G = 5 s: late past 15 s, degraded past 35 s, dead/hung past 55 s.
fn rules() -> Rules {
    Rules {
        interval: 10.0,
        grace: 5.0,
        monitored: true,
        ..Rules::default()
    }
}

fn job(max_runtime: Option<f64>) -> Rules {
    Rules {
        kind: Kind::Job,
        max_runtime,
        interval_from: IntervalSource::Config,
        ..rules()
    }
}

/// Last beat at 1000, this run's first at 900, from pid 42.
fn beat(status: Reported) -> Entry {
    Entry {
        last_heartbeat: 1000.0,
        first_heartbeat: Some(900.0),
        pid: Some(42),
        status: Some(status),
        ..Entry::default()
    }
}

fn no_pid(status: Reported) -> Entry {
    Entry {
        pid: None,
        ..beat(status)
    }
}

fn errored() -> Entry {
    Entry {
        last_error: Some("disk full".into()),
        last_error_at: Some(999.0),
        ..beat(Reported::Error)
    }
}

fn run(status: Reported, exit_code: Option<i32>) -> Entry {
    Entry {
        kind: Some(Kind::Job),
        started_at: Some(1000.0),
        finished_at: exit_code.map(|_| 1012.0),
        duration: exit_code.map(|_| 12.0),
        exit_code,
        ..beat(status)
    }
}

/// A job whose runs with ids `(id, started_at, pid)` are in progress; its newest report
/// `status`, its newest finished run `run(status, exit_code)`'s.
fn runs(status: Reported, exit_code: Option<i32>, ids: &[(&str, f64, u32)]) -> Entry {
    let mut entry = run(status, exit_code);
    for &(id, started_at, pid) in ids {
        let run = crate::store::RunInProgress {
            started_at,
            pid: Some(pid),
            ..Default::default()
        };
        entry.runs.insert(id.to_owned(), run);
    }
    entry
}

fn runs_of(ids: &[(&str, f64, u32)]) -> Entry {
    runs(Reported::Running, None, ids)
}

fn warn(rules: &Rules) -> Rules {
    Rules {
        overlap: Overlap::Warn,
        ..rules.clone()
    }
}

fn min_runtime(min: f64) -> Rules {
    Rules {
        min_runtime: Some(min),
        ..job(None)
    }
}

/// A beat paused until `end` (`None`: until resumed).
fn paused(end: Option<f64>) -> Entry {
    let mut entry = beat(Reported::Alive);
    entry.set_pause(Some(end.map_or(Pause::Indefinite, Pause::Until)));
    entry
}

fn process(pid: u32, start_time: u64) -> ProcessInfo {
    ProcessInfo {
        pid,
        name: "worker".into(),
        cmd: "python worker.py".into(),
        start_time,
        cpu_percent: 0.0,
        memory_bytes: 1 << 20,
    }
}

enum Seen {
    Unknown,
    Gone,
    Alive(ProcessInfo),
}
use Seen::{Alive, Gone, Unknown};

struct Case {
    what: &'static str,
    entry: Option<Entry>,
    rules: Rules,
    now: f64,
    os: Seen,
    state: State,
    reason: &'static str,
    since: Option<f64>,
    probed: Probed,
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use Reported::{Alive as Beat, Failed, Running, Stopped, Succeeded};
    let alive = || Alive(process(42, 800));
    let c = |what, entry, rules, now, os, state, reason, since| Case {
        what,
        entry,
        rules,
        now,
        os,
        state,
        reason,
        since,
        probed: Probed::None,
    };
    let failing = || Probed::Failing { reason: "tcp db:5432 failed 2 times in a row: refused".into(), since: Some(990.0) };
    let probed = |case: Case| Case { probed: failing(), ..case };
    vec![
        probed(c("a beating process whose probe fails is unhealthy", Some(beat(Beat)), rules(), 1000.0, alive(), State::Unhealthy, "tcp db:5432 failed 2 times", Some(990.0))),
        probed(c("a dead process with a failing probe is dead", Some(beat(Beat)), rules(), 1000.0, Gone, State::Dead, "pid 42 is gone", None)),
        probed(c("paused, unhealthy underneath", Some(paused(None)), rules(), 1000.0, alive(), State::Paused, "underneath: unhealthy", None)),
        c("fresh beat", Some(beat(Beat)), rules(), 1000.0, alive(), State::Up, "beat 0ms ago", Some(900.0)),
        c("exactly at I+G is up", Some(beat(Beat)), rules(), 1015.0, alive(), State::Up, "beat 15s ago", Some(900.0)),
        c("just past I+G is late", Some(beat(Beat)), rules(), 1015.001, alive(), State::Late, "no beat for 15s (1 interval)", Some(1015.0)),
        c("exactly at 3I+G is late", Some(beat(Beat)), rules(), 1035.0, alive(), State::Late, "(3 intervals)", Some(1015.0)),
        c("just past 3I+G is degraded", Some(beat(Beat)), rules(), 1035.001, alive(), State::Degraded, "no beat for 35s (3 intervals)", Some(1035.0)),
        c("exactly at 5I+G is degraded", Some(beat(Beat)), rules(), 1055.0, alive(), State::Degraded, "(5 intervals)", Some(1035.0)),
        c("past 5I+G with a live pid is hung", Some(beat(Beat)), rules(), 1055.001, alive(), State::Hung, "no beat for 55s (5 intervals); pid 42 is alive", Some(1055.0)),
        c("past 5I+G without a pid is dead", Some(no_pid(Beat)), rules(), 1055.001, Unknown, State::Dead, "no beat for 55s (5 intervals)", Some(1055.0)),
        c("4m12s of silence", Some(no_pid(Beat)), Rules { interval: 50.0, grace: 1.0, ..rules() }, 1252.0, Unknown, State::Dead, "no beat for 4m12s (5 intervals)", Some(1251.0)),
        c("pid gone: dead at once", Some(beat(Beat)), rules(), 1000.5, Gone, State::Dead, "pid 42 is gone", None),
        c("pid reused by a newer process", Some(beat(Beat)), rules(), 1001.0, Alive(process(42, 903)), State::Dead, "pid 42 now belongs to another process (worker, started ", None),
        c("start within the slack is the same process", Some(beat(Beat)), rules(), 1001.0, Alive(process(42, 902)), State::Up, "beat 1s ago", Some(900.0)),
        c("seed entry: reuse judged from the last beat", Some(Entry { first_heartbeat: None, ..beat(Beat) }), rules(), 1001.0, Alive(process(42, 1003)), State::Dead, "now belongs to another process", None),
        c("custom late_after", Some(beat(Beat)), Rules { late_after: 2.0, ..rules() }, 1025.0, alive(), State::Up, "beat 25s ago", Some(900.0)),
        c("custom late_after, just past", Some(beat(Beat)), Rules { late_after: 2.0, ..rules() }, 1025.001, alive(), State::Late, "(2 intervals)", Some(1025.0)),
        c("error report", Some(errored()), rules(), 1001.0, alive(), State::Error, "reported an error 1s ago: disk full", Some(999.0)),
        c("an error hides lateness", Some(errored()), rules(), 1020.0, alive(), State::Error, "disk full", Some(999.0)),
        c("degraded hides an error", Some(errored()), rules(), 1040.0, alive(), State::Degraded, "(4 intervals)", Some(1035.0)),
        c("an erroring process whose pid is gone is dead", Some(errored()), rules(), 1001.0, Gone, State::Dead, "pid 42 is gone", None),
        c("clean stop, pid gone", Some(beat(Stopped)), rules(), 1001.0, Gone, State::Stopped, "stopped cleanly 1s ago", Some(1000.0)),
        c("clean stop long ago", Some(beat(Stopped)), rules(), 9000.0, Gone, State::Stopped, "stopped cleanly 2h13m ago", Some(1000.0)),
        c("never beat, nothing matches", None, rules(), 1000.0, Gone, State::Pending, "never beat", None),
        c("never beat, no pattern", None, rules(), 1000.0, Unknown, State::Pending, "never beat", None),
        c("matching process started exactly I+G ago", None, rules(), 1015.0, Alive(process(7, 1000)), State::Pending, "pid 7 (worker) matches; no beat yet", Some(1000.0)),
        c("matching process past I+G is silent", None, rules(), 1015.001, Alive(process(7, 1000)), State::Silent, "pid 7 (worker) matches, runs for 15s, but never beat", Some(1015.0)),
        c("a configured job that never ran, within its first period", None, Rules { known_since: Some(985.0), ..job(None) }, 1000.0, Gone, State::Pending, "never ran yet", Some(985.0)),
        c("a configured job that never ran, past its first period", None, Rules { known_since: Some(985.0), ..job(None) }, 1000.001, Unknown, State::Overdue, "never ran in the 15s since it was configured (period 10s)", Some(1000.0)),
        c("a never-run job without a known start stays pending", None, job(None), 99_000.0, Unknown, State::Pending, "never beat", None),
        c("a never-run job's period is never a default", None, Rules { known_since: Some(985.0), interval_from: IntervalSource::Defaults, ..job(None) }, 99_000.0, Unknown, State::Pending, "never beat", None),
        c("only monitored processes can be silent", None, Rules { monitored: false, ..rules() }, 5000.0, Alive(process(7, 1000)), State::Pending, "never beat", None),
        c("job running", Some(run(Running, None)), job(Some(60.0)), 1030.0, alive(), State::Running, "running for 30s", Some(1000.0)),
        c("job exactly at max_runtime", Some(run(Running, None)), job(Some(60.0)), 1060.0, alive(), State::Running, "running for 1m00s", Some(1000.0)),
        c("job just past max_runtime is hung", Some(run(Running, None)), job(Some(60.0)), 1060.001, alive(), State::Hung, "running for 1m00s, over its max_runtime of 1m00s", Some(1060.0)),
        c("job without max_runtime runs on", Some(run(Running, None)), job(None), 99_000.0, alive(), State::Running, "running for 1d03h", Some(1000.0)),
        c("one run with an id is running", Some(runs_of(&[("a", 1000.0, 42)])), job(Some(60.0)), 1030.0, alive(), State::Running, "running for 30s", Some(1000.0)),
        c("two runs at once: the count and the oldest", Some(runs_of(&[("b", 1020.0, 43), ("a", 1000.0, 42)])), job(None), 1030.0, alive(), State::Running, "2 running, the oldest for 30s", Some(1000.0)),
        c("a run past max_runtime is hung, the oldest such named", Some(runs_of(&[("a", 1000.0, 41), ("b", 1002.0, 42), ("c", 1020.0, 43)])), job(Some(25.0)), 1030.0, alive(), State::Hung, "run a (pid 41) running for 30s, over its max_runtime of 25s (3 running)", Some(1025.0)),
        c("a long run id is named by its start", Some(runs_of(&[("3f2a9c1d-0000-4000-8000-000000000000", 1000.0, 42)])), job(Some(25.0)), 1030.0, alive(), State::Hung, "run 3f2a9c1d… (pid 42) running for 30s, over", Some(1025.0)),
        c("overlap = warn: two runs at once are an error naming both", Some(runs_of(&[("a", 1000.0, 41), ("b", 1020.0, 42)])), warn(&job(None)), 1030.0, alive(), State::Error, "2 runs at once, with overlap = \"warn\": run a (pid 41) running for 30s, run b (pid 42) running for 10s", Some(1020.0)),
        c("overlap = warn: one run is running", Some(runs_of(&[("a", 1000.0, 42)])), warn(&job(None)), 1030.0, alive(), State::Running, "running for 30s", Some(1000.0)),
        c("hung outranks an overlap", Some(runs_of(&[("a", 1000.0, 41), ("b", 1020.0, 42)])), warn(&job(Some(20.0))), 1030.0, alive(), State::Hung, "run a (pid 41) running for 30s", Some(1020.0)),
        c("overlapping runs are allowed by default", Some(runs_of(&[("a", 1000.0, 41), ("b", 1020.0, 42)])), job(None), 1030.0, alive(), State::Running, "2 running", Some(1000.0)),
        c("a run that succeeded while another runs: running", Some(runs(Succeeded, Some(0), &[("b", 1005.0, 43)])), job(None), 1013.0, Gone, State::Running, "running for 8s", Some(1005.0)),
        c("a run that failed while another runs: failed", Some(runs(Failed, Some(2), &[("b", 1005.0, 43)])), job(None), 1013.0, Gone, State::Failed, "last run failed (exit 2)", Some(1012.0)),
        c("runs dropped past the bound are said", Some(Entry { runs_dropped: Some(3), ..runs_of(&[("a", 1000.0, 42)]) }), job(None), 1030.0, alive(), State::Running, "running for 30s; 3 more dropped from the file, which keeps 16 at most", Some(1000.0)),
        c("a success shorter than min_runtime is failed", Some(run(Succeeded, Some(0))), min_runtime(30.0), 1013.0, Gone, State::Failed, "last run ran 12.0s, expected ≥ 30s (13s ago)", Some(1012.0)),
        c("a success of exactly min_runtime is up", Some(run(Succeeded, Some(0))), min_runtime(12.0), 1013.0, Gone, State::Up, "last run 13s ago (exit 0, took 12s)", Some(1012.0)),
        c("min_runtime does not judge a run in progress", Some(run(Running, None)), min_runtime(30.0), 1001.0, alive(), State::Running, "running for 1s", Some(1000.0)),
        c("running job whose pid is gone", Some(run(Running, None)), job(None), 1001.0, Gone, State::Dead, "pid 42 is gone", None),
        c("failed run", Some(run(Failed, Some(3))), job(None), 1013.0, Gone, State::Failed, "last run failed (exit 3) 13s ago", Some(1012.0)),
        c("succeeded run, pid gone as it should be", Some(run(Succeeded, Some(0))), job(None), 1013.0, Gone, State::Up, "last run 13s ago (exit 0, took 12s)", Some(1012.0)),
        c("next run due exactly at start + I + G", Some(run(Succeeded, Some(0))), job(None), 1015.0, Gone, State::Up, "last run 15s ago", Some(1012.0)),
        c("no run within the period plus grace", Some(run(Succeeded, Some(0))), job(None), 1015.001, Gone, State::Overdue, "no run for 15s (period 10s)", Some(1015.0)),
        c("a job's period is never a default", Some(run(Succeeded, Some(0))), Rules { interval_from: IntervalSource::Defaults, ..job(None) }, 9000.0, Gone, State::Up, "last run 2h13m ago", Some(1012.0)),
        c("a failed job stays failed, not overdue", Some(run(Failed, Some(1))), job(None), 5000.0, Gone, State::Failed, "exit 1", Some(1012.0)),
        c("a job's error report", Some(Entry { kind: Some(Kind::Job), ..errored() }), job(None), 1001.0, Gone, State::Error, "disk full", Some(999.0)),
        c("failed reported by an app", Some(run(Failed, None)), rules(), 1001.0, alive(), State::Failed, "unknown exit code", Some(1000.0)),
        c("unknown status counts as a beat", Some(beat(Reported::Other("warming-up".into()))), rules(), 1001.0, alive(), State::Up, "beat 1s ago", Some(900.0)),
        c("beat from the future", Some(beat(Beat)), rules(), 990.0, alive(), State::Up, "beat 0ms ago (last beat is 10s in the future: clock skew?)", Some(900.0)),
        c("paused until resumed hides a death", Some(paused(None)), rules(), 5000.0, Gone, State::Paused, "paused until hbmon resume; underneath: dead (pid 42 is gone)", None),
        c("paused until a time ahead", Some(paused(Some(2000.0))), rules(), 1999.0, alive(), State::Paused, "underneath: hung", None),
        c("a pause that ended no longer holds", Some(paused(Some(1001.0))), rules(), 1001.0, alive(), State::Up, "beat 1s ago", Some(900.0)),
        c("a hair in the future is no skew", Some(beat(Beat)), rules(), 999.5, alive(), State::Up, "beat 0ms ago", Some(900.0)),
        c("exactly I+G in the future is still judged", Some(beat(Beat)), rules(), 985.0, alive(), State::Up, "beat 0ms ago (last beat is 15s in the future: clock skew?)", Some(900.0)),
        c("just past I+G in the future is skewed", Some(beat(Beat)), rules(), 984.999, alive(), State::Skewed, "last beat is 15s in the future (clock skew?)", None),
        c("ten years ahead is skewed, never up", Some(beat(Beat)), rules(), 1000.0 - 3650.0 * 86_400.0, alive(), State::Skewed, "last beat is 3650d00h in the future (clock skew?)", None),
        c("a silent writer ahead is skewed, not dead", Some(no_pid(Beat)), rules(), 1000.0 - 3650.0 * 86_400.0, Unknown, State::Skewed, "3650d00h in the future (clock skew?)", None),
        c("an error from the future is skewed", Some(errored()), rules(), 900.0, alive(), State::Skewed, "last beat is 1m40s in the future (clock skew?)", None),
        c("a job running from the future is skewed, not running", Some(run(Running, None)), job(Some(60.0)), 900.0, alive(), State::Skewed, "1m40s in the future", None),
        c("a job's run from the future is skewed, not up", Some(run(Succeeded, Some(0))), job(None), 900.0, Gone, State::Skewed, "1m40s in the future", None),
        c("a pid gone is dead, however far ahead", Some(beat(Beat)), rules(), 900.0, Gone, State::Dead, "pid 42 is gone (last beat is 1m40s in the future: clock skew?)", None),
        c("a failed run from the future stays failed", Some(run(Failed, Some(3))), job(None), 900.0, Gone, State::Failed, "last run failed (exit 3) 0ms ago (last beat is 1m40s", Some(1012.0)),
        c("a clean stop from the future stays stopped", Some(beat(Stopped)), rules(), 900.0, Gone, State::Stopped, "stopped cleanly 0ms ago (last beat", Some(1000.0)),
        c("paused, skewed underneath", Some(paused(None)), rules(), 900.0, alive(), State::Paused, "underneath: skewed (last beat is 1m40s in the future (clock skew?))", None),
    ]
}

#[test]
fn every_state_and_boundary() {
    for case in cases() {
        let os = match &case.os {
            Unknown => Os::Unknown,
            Gone => Os::Gone,
            Alive(p) => Os::Alive(p),
        };
        let health = evaluate(case.entry.as_ref(), &case.rules, case.now, os, &case.probed);
        let what = case.what;
        assert_eq!(health.state, case.state, "{what}: {health:?}");
        assert_eq!(health.severity, case.state.severity(), "{what}");
        assert!(
            health.reason.contains(case.reason),
            "{what}: {:?} lacks {:?}",
            health.reason,
            case.reason
        );
        assert_eq!(health.since, case.since, "{what}: {health:?}");
    }
}

/// Every symbol is one cell wide (a two-cell `⏰` shifted every column after it) and
/// drawn by the stock fonts: DejaVu Sans Mono (Linux terminals' default, checked with
/// `fc-list ":charset=HEX"`) and Menlo, derived from it, which macOS terminals fall back
/// to when SF Mono lacks a symbol. Each glyph and why it is safe:
/// - `●` U+25CF, `◔` U+25D4, `◑` U+25D1, `◎` U+25CE, `◷` U+25F7, `■` U+25A0, `▶` U+25B6,
///   `◌` U+25CC:
///   Geometric Shapes, a block DejaVu Sans Mono (and so Menlo) covers whole;
/// - `✖` U+2716, `✗` U+2717: Dingbats that DejaVu Sans Mono has (text presentation, not
///   emoji: no variation selector is written);
/// - `»` U+00BB: Latin-1; `…` U+2026, `‖` U+2016: General Punctuation;
/// - `!`, `?`: ASCII.
///
/// `⧗` (U+29D7) and `⏰` (U+23F0) were in none of them; `⏰` is also an emoji, two cells.
/// Width is `unicode-width`'s (East Asian Ambiguous as narrow, as every non-CJK locale).
#[test]
fn every_symbol_is_one_cell_wide_and_in_the_stock_fonts_blocks() {
    use unicode_width::UnicodeWidthStr;
    let safe_blocks = [
        0x21..=0x7e,     // ASCII
        0xa0..=0xff,     // Latin-1
        0x2010..=0x2027, // General Punctuation (dashes, ‖, …)
        0x25a0..=0x25ff, // Geometric Shapes
        0x2713..=0x2718, // Dingbats: the check and cross marks
    ];
    let mut seen = std::collections::HashSet::new();
    for &state in State::ALL {
        let symbol = state.symbol();
        assert_eq!(symbol.width(), 1, "{state}: {symbol:?} is not one cell");
        assert_eq!(symbol.chars().count(), 1, "{state}: {symbol:?}");
        let c = u32::from(symbol.chars().next().unwrap());
        assert!(
            safe_blocks.iter().any(|b| b.contains(&c)),
            "{state}: {symbol:?} (U+{c:04X}) is outside the blocks the stock fonts draw"
        );
        assert!(seen.insert(symbol), "{state}: {symbol:?} is used twice");
        assert!(state.letter().is_ascii_graphic(), "{state}");
    }
}

#[test]
fn every_state_has_a_case() {
    let covered: std::collections::HashSet<State> = cases().iter().map(|c| c.state).collect();
    // `blocked` needs every row: the report's pass judges it (report/blocked.rs tests);
    // `gave-up` is the supervisor's (supervise/policy.rs tests).
    for &state in State::ALL
        .iter()
        .filter(|&&s| s != State::Blocked && s != State::GaveUp)
    {
        assert!(covered.contains(&state), "{state} has no case");
    }
}

#[test]
fn non_critical_processes_cap_at_warning() {
    let relaxed = Rules {
        critical: false,
        ..rules()
    };
    let dead = evaluate(
        Some(&beat(Reported::Alive)),
        &relaxed,
        1000.0,
        Os::Gone,
        &Probed::None,
    );
    assert_eq!(
        (dead.state, dead.severity),
        (State::Dead, Severity::Warning)
    );
    let up = evaluate(
        Some(&beat(Reported::Alive)),
        &relaxed,
        1000.0,
        Os::Unknown,
        &Probed::None,
    );
    assert_eq!(up.severity, Severity::Ok);
}

#[test]
fn severities_order_as_designed() {
    assert!(Severity::Critical > Severity::Degraded);
    assert!(Severity::Degraded > Severity::Warning);
    assert!(Severity::Warning > Severity::Ok);
    assert!(Severity::Ok > Severity::None);
}

#[test]
fn an_overlap_reason_names_at_most_as_many_runs_as_a_writer_keeps() {
    // Another writer filled the entry with far more runs than hbmon ever keeps.
    let ids: Vec<(String, f64, u32)> = (0..1000u32)
        .map(|i| (format!("r{i:04}"), 1000.0 + f64::from(i) / 100.0, 5000 + i))
        .collect();
    let ids: Vec<(&str, f64, u32)> = ids
        .iter()
        .map(|(id, at, pid)| (id.as_str(), *at, *pid))
        .collect();
    let entry = runs_of(&ids);
    let process = process(42, 800);
    let health = evaluate(
        Some(&entry),
        &warn(&job(None)),
        1030.0,
        Os::Alive(&process),
        &Probed::None,
    );
    assert_eq!(health.state, State::Error);
    assert!(
        health.reason.starts_with("1000 runs at once"),
        "{}",
        health.reason
    );
    assert_eq!(
        health.reason.matches("(pid ").count(),
        crate::store::MAX_RUNS,
        "{}",
        health.reason
    );
    assert!(
        health.reason.ends_with(", and 984 more"),
        "{}",
        health.reason
    );
}
