//! The detail pane's lines from the heartbeat file: this run, its beats and errors, the
//! last job run, the runs in progress.

use ratatui::text::{Line, Span};

use super::{label, output_tail, when};
use crate::cron::Schedule;
use crate::duration::format_secs;
use crate::health::Severity;
use crate::report::Row;
use crate::report::columns;
use crate::store::{Entry, Reported};
use crate::tui::ui::theme::Theme;

/// How many fire times of a scheduled job the pane lists.
const NEXT_RUNS: usize = 5;

/// What the heartbeat file says: this run, its beats and errors, the last job run.
pub(super) fn entry_lines(row: &Row, entry: &Entry, now: f64, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(first) = entry.first_heartbeat {
        // "Alive" only while it runs: a dead process's first beat is when this run began.
        let name = if row.process.is_some() {
            "Alive since"
        } else {
            "First beat"
        };
        lines.push(Line::from(vec![
            label(name, theme),
            Span::raw(when(first, now)),
        ]));
    }
    if let Some(schedule) = row.rules.schedule.0.as_ref() {
        lines.extend(schedule_lines(row, schedule, entry, now, theme));
    } else {
        lines.push(Line::from(vec![
            label("Last beat", theme),
            Span::raw(format!(
                "{}, every {} (grace {})",
                when(entry.last_heartbeat, now),
                format_secs(row.rules.interval),
                format_secs(row.rules.grace)
            )),
        ]));
    }
    let host = entry
        .host
        .as_ref()
        .map_or_else(String::new, |h| format!("  host {h}"));
    lines.push(Line::from(vec![
        label("Beats", theme),
        Span::raw(format!(
            "{}  errors {}  reported {}  kind {}{host}",
            columns::beats(row),
            entry
                .errors
                .map_or_else(|| "-".to_owned(), |e| e.to_string()),
            entry.reported().as_str(),
            entry.kind().as_str(),
        )),
    ]));
    // A failed run's own words (its output's last line) say more than "exit code 2".
    let said = (entry.reported() == Reported::Failed)
        .then(|| {
            output_tail(row)?
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
        })
        .flatten();
    if entry.last_error.is_some() || said.is_some() {
        let error = match (said, &entry.last_error) {
            (Some(line), Some(error)) => format!("{line} ({error})"),
            (Some(line), None) => line.to_owned(),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        };
        let at = entry
            .last_error_at
            .map_or_else(String::new, |t| format!(" at {}", when(t, now)));
        lines.push(Line::from(vec![
            label("Last error", theme),
            Span::styled(format!("{error}{at}"), theme.severity(Severity::Warning)),
        ]));
    }
    let mut job = match (entry.started_at, entry.finished_at) {
        (Some(started), finished) => {
            let mut job = vec![format!("started {}", when(started, now))];
            job.extend(finished.map(|f| format!("finished after {}", format_secs(f - started))));
            job
        }
        // A run reported only at its end (an HTTP ping of its exit code, no `/start`).
        (None, Some(finished)) => vec![format!(
            "finished {}, start not reported",
            when(finished, now)
        )],
        (None, None) => Vec::new(),
    };
    if !job.is_empty() {
        job.extend(entry.exit_code.map(|code| format!("exit code {code}")));
        lines.push(Line::from(vec![
            label("Last run", theme),
            Span::raw(job.join(", ")),
        ]));
    }
    lines.extend(run_lines(entry, now, theme));
    lines
}

/// The runs in progress that run ids name, the oldest first: id, start, age, PID.
fn run_lines(entry: &Entry, now: f64, theme: &Theme) -> Vec<Line<'static>> {
    let runs = entry.runs_in_progress();
    if runs.is_empty() {
        return Vec::new();
    }
    let dropped = entry.runs_dropped.map_or_else(String::new, |n| {
        format!(" ({n} more dropped from the file: too many at once)")
    });
    let mut lines = vec![Line::from(vec![
        label("Running", theme),
        Span::raw(format!("{} in progress{dropped}", runs.len())),
    ])];
    lines.extend(runs.into_iter().map(|(id, run)| {
        let pid = run
            .pid
            .map_or_else(String::new, |pid| format!("  pid {pid}"));
        // The host only when it is not the entry's (shown above): a run from elsewhere.
        let host = run
            .host
            .as_ref()
            .filter(|host| entry.host.as_ref() != Some(*host))
            .map_or_else(String::new, |host| format!("  host {host}"));
        Line::from(vec![
            Span::raw(format!("  {id}  ")),
            Span::styled(
                format!("started {}", when(run.started_at, now)),
                theme.dim(),
            ),
            Span::raw(format!("{pid}{host}")),
        ])
    }));
    lines
}

/// A scheduled job's last beat, its schedule in words, and its next [`NEXT_RUNS`] fire
/// times in the schedule's zone, from the one due (the missed one while it is overdue).
fn schedule_lines(
    row: &Row,
    schedule: &Schedule,
    entry: &Entry,
    now: f64,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let first = crate::health::next_due(Some(entry), &row.rules);
    let next: Vec<String> = std::iter::successors(first, |&t| schedule.next_after(t))
        .take(NEXT_RUNS)
        .map(|t| schedule.strftime_local(t, "%a %m-%d %H:%M"))
        .collect();
    let next = if next.is_empty() {
        "none within 50 years".to_owned()
    } else {
        next.join(", ")
    };
    vec![
        Line::from(vec![
            label("Last beat", theme),
            Span::raw(when(entry.last_heartbeat, now)),
        ]),
        Line::from(vec![
            label("Schedule", theme),
            Span::raw(format!(
                "{:?}: {} (grace {})",
                schedule.expr(),
                schedule.explain(),
                format_secs(row.rules.grace)
            )),
        ]),
        Line::from(vec![label("Next runs", theme), Span::raw(next)]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::State;

    const NOW: f64 = 1_750_000_000.0;

    #[test]
    fn a_run_reported_only_at_its_end_shows_its_end_and_exit_code() {
        let text = |entry: &Entry| -> Vec<String> {
            let row = crate::tui::fixtures::row("backup", State::Failed, 60.0);
            entry_lines(&row, entry, NOW, &Theme::new(false))
                .iter()
                .map(ToString::to_string)
                .filter(|line| line.starts_with("Last run"))
                .collect()
        };
        let mut entry = Entry {
            last_heartbeat: NOW - 60.0,
            finished_at: Some(NOW - 60.0),
            exit_code: Some(3),
            ..Entry::default()
        };
        let shown = text(&entry);
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].contains("start not reported, exit code 3"),
            "{shown:?}"
        );
        entry.started_at = Some(NOW - 90.0);
        let shown = text(&entry);
        assert!(
            shown[0].contains("finished after 30s, exit code 3"),
            "{shown:?}"
        );
    }
}
