//! A job's verdict (rule 6 of the module docs) and its run rules: the runs in progress
//! that run ids name (`running`; `hung` past `max_runtime`, naming the oldest such run;
//! `error` while two overlap under `overlap = "warn"`), and a run that ended sooner than
//! `min_runtime` (`failed`, as rule 4 judges a failed run).

use super::{Health, Rules, State, error};
use crate::duration::{format_secs, format_tenths};
use crate::store::{Entry, MAX_RUNS, Reported, RunInProgress};

/// `failed` for a run reported succeeded that took less than the job's `min_runtime`: a
/// backup that "succeeds" in 0.4 s did not back anything up. `age`: since the last beat.
pub(super) fn too_short(entry: &Entry, rules: &Rules, age: f64) -> Option<Health> {
    let min = rules.min_runtime?;
    let took = entry.duration?;
    (entry.reported() == Reported::Succeeded && took < min).then(|| {
        Health::new(
            State::Failed,
            format!(
                "last run ran {}, expected ≥ {} ({} ago)",
                format_tenths(took),
                format_secs(min),
                format_secs(age)
            ),
            Some(entry.finished_at.unwrap_or(entry.last_heartbeat)),
        )
    })
}

pub(super) fn judge_job(entry: &Entry, rules: &Rules, now: f64, age: f64) -> Health {
    if !entry.runs.is_empty() {
        return runs_in_progress(entry, rules, now);
    }
    let reported = entry.reported();
    if reported == Reported::Running {
        let started = entry
            .started_at
            .or(entry.first_heartbeat)
            .unwrap_or(entry.last_heartbeat);
        let running_for = (now - started).max(0.0);
        return match rules.max_runtime {
            Some(max) if running_for > max => Health::new(
                State::Hung,
                format!(
                    "running for {}, over its max_runtime of {}",
                    format_secs(running_for),
                    format_secs(max)
                ),
                Some(started + max),
            ),
            _ => Health::new(
                State::Running,
                format!("running for {}", format_secs(running_for)),
                Some(started),
            ),
        };
    }
    let last_start = entry.started_at.unwrap_or(entry.last_heartbeat);
    let due = rules.deadline(last_start, 1.0);
    if rules.interval_from.is_own() && now > due {
        return Health::new(
            State::Overdue,
            format!(
                "no run for {} (period {})",
                format_secs((now - last_start).max(0.0)),
                format_secs(rules.interval)
            ),
            Some(due),
        );
    }
    if reported == Reported::Error {
        return error(entry, age);
    }
    let outcome = match (entry.exit_code, entry.duration) {
        (Some(code), Some(took)) => format!(" (exit {code}, took {})", format_secs(took)),
        (Some(code), None) => format!(" (exit {code})"),
        _ => String::new(),
    };
    Health::new(
        State::Up,
        format!("last run {} ago{outcome}", format_secs(age)),
        Some(entry.finished_at.unwrap_or(entry.last_heartbeat)),
    )
}

/// A job with runs in progress that run ids name: `hung` if one has run past
/// `max_runtime` (the oldest such run named), else `error` while two or more overlap
/// under `overlap = "warn"` (named from the oldest, [`MAX_RUNS`] at most), else `running`.
fn runs_in_progress(entry: &Entry, rules: &Rules, now: f64) -> Health {
    let runs = entry.runs_in_progress();
    let count = runs.len();
    let dropped = entry.runs_dropped.map_or_else(String::new, |n| {
        format!("; {n} more dropped from the file, which keeps {MAX_RUNS} at most")
    });
    let all = if count > 1 {
        format!(" ({count} running)")
    } else {
        String::new()
    };
    if let Some(max) = rules.max_runtime
        && let Some((id, run)) = runs.iter().find(|(_, run)| now - run.started_at > max)
    {
        return Health::new(
            State::Hung,
            format!(
                "{}, over its max_runtime of {}{all}{dropped}",
                describe(id, run, now),
                format_secs(max)
            ),
            Some(run.started_at + max),
        );
    }
    if rules.overlap == Overlap::Warn && count > 1 {
        // At most as many as a writer keeps: a file another writer filled with thousands
        // of runs must not make a reason (shown, alerted, recorded each change) that long.
        let mut named: Vec<String> = runs
            .iter()
            .take(MAX_RUNS)
            .map(|(id, run)| describe(id, run, now))
            .collect();
        if count > MAX_RUNS {
            named.push(format!("and {} more", count - MAX_RUNS));
        }
        return Health::new(
            State::Error,
            format!(
                "{count} runs at once, with overlap = \"warn\": {}{dropped}",
                named.join(", ")
            ),
            // The overlap began when the second run started.
            Some(runs[1].1.started_at),
        );
    }
    let oldest = runs[0].1;
    let running_for = format_secs((now - oldest.started_at).max(0.0));
    let reason = if count == 1 {
        format!("running for {running_for}")
    } else {
        format!("{count} running, the oldest for {running_for}")
    };
    Health::new(State::Running, reason + &dropped, Some(oldest.started_at))
}

/// `run 3f2a9c1d… (pid 4242) running for 2m10s`: a run by the start of its id, its PID and
/// how long it has run.
fn describe(id: &str, run: &RunInProgress, now: f64) -> String {
    let id = if id.chars().count() > 12 {
        format!("{}…", id.chars().take(8).collect::<String>())
    } else {
        id.to_owned()
    };
    let pid = run
        .pid
        .map_or_else(String::new, |pid| format!(" (pid {pid})"));
    let running_for = format_secs((now - run.started_at).max(0.0));
    format!("run {id}{pid} running for {running_for}")
}

/// What two runs of one job in progress at once are (config `overlap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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
