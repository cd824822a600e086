//! When a job is due (rule 6's `overdue`, and `next_due`): one period after its last start,
//! the period being its cron schedule or its interval; and the `[[maintenance]]` windows
//! that pause a process while they are open.

use super::{Health, Rules, SKEW_TOLERANCE, State};
use crate::duration::format_secs;
use crate::store::{Entry, Kind};

/// The newest start an entry tells of: a run in progress's, else the newest finished run's,
/// else its last beat (a job that pings only at its end: its success is its start).
fn last_start(entry: &Entry) -> f64 {
    let newest = entry.started_at.unwrap_or(entry.last_heartbeat);
    entry
        .runs
        .values()
        .map(|run| run.started_at)
        .fold(newest, f64::max)
}

/// When a job is next expected to start (Unix seconds): the first fire time of its
/// schedule after its last start, else its last start plus its own period; for a job that
/// never ran, counted from when hbmon learned of it ([`Rules::known_since`]). `None` for an
/// app, a job with neither a schedule nor a period of its own, or a schedule that never
/// fires again.
pub fn next_due(entry: Option<&Entry>, rules: &Rules) -> Option<f64> {
    if rules.kind != Kind::Job {
        return None;
    }
    let from = match entry {
        Some(entry) => last_start(entry),
        None => rules.known_since?,
    };
    match &rules.schedule.0 {
        Some(schedule) => schedule.next_after(from),
        None => rules
            .interval_from
            .is_own()
            .then_some(from + rules.interval),
    }
}

/// `overdue` once the due start plus the grace has passed without a start — strictly: at
/// exactly due + grace it is not yet.
pub(super) fn overdue(entry: Option<&Entry>, rules: &Rules, now: f64) -> Option<Health> {
    let due = next_due(entry, rules)?;
    let overdue_at = due + rules.grace;
    if now <= overdue_at {
        return None;
    }
    let reason = match (entry, &rules.schedule.0) {
        (None, Some(schedule)) => format!(
            "never ran; its first run was due {} (schedule {:?}, grace {})",
            schedule.display_local(due),
            schedule.expr(),
            format_secs(rules.grace)
        ),
        (Some(entry), Some(schedule)) => format!(
            "missed its run due {} (schedule {:?}, grace {}); last run started {} ago",
            schedule.display_local(due),
            schedule.expr(),
            format_secs(rules.grace),
            format_secs((now - last_start(entry)).max(0.0))
        ),
        (None, None) => format!(
            "never ran in the {} since it was configured (period {})",
            format_secs((now - (due - rules.interval)).max(0.0)),
            format_secs(rules.interval)
        ),
        (Some(entry), None) => format!(
            "no run for {} (period {})",
            format_secs((now - last_start(entry)).max(0.0)),
            format_secs(rules.interval)
        ),
    };
    Some(Health::new(State::Overdue, reason, Some(overdue_at)))
}

/// `error` for a finished run of a scheduled job that started when it was not due: no fire
/// time of its schedule came between the start of the run before it and its own (it ran
/// early, or twice in one period). A warning, as an overlap under `overlap = "warn"` is:
/// the job did run, but not as its schedule says. Cleared by the next run on schedule.
pub(super) fn not_due(entry: &Entry, rules: &Rules) -> Option<Health> {
    let schedule = rules.schedule.0.as_ref()?;
    let (started, previous) = (entry.started_at?, entry.previous_started_at?);
    if previous >= started {
        return None;
    }
    // A writer's clock a little ahead must not make an on-time start early.
    let fire = schedule.prev_at_or_before(started + SKEW_TOLERANCE);
    if fire.is_some_and(|fire| fire > previous) {
        return None;
    }
    let next = schedule
        .next_after(previous)
        .map_or_else(|| "never".to_owned(), |t| schedule.display_local(t));
    Some(Health::new(
        State::Error,
        format!(
            "ran when it was not due: started {} after the run before, with no fire time of \
             {:?} between; next due {next}",
            format_secs(started - previous),
            schedule.expr(),
        ),
        Some(started),
    ))
}

/// `paused` while one of the process's `[[maintenance]]` windows is open (the one that
/// closes last named), its reason keeping the state underneath as `hbmon pause`'s does.
pub(super) fn in_maintenance(rules: &Rules, now: f64, underneath: &Health) -> Option<Health> {
    let (window, until) = rules
        .maintenance
        .iter()
        .filter_map(|w| Some((w, w.open_until(now)?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(Health::new(
        State::Paused,
        format!(
            "maintenance window {:?} for {} ({}) until {}; underneath: {} ({})",
            window.schedule.expr(),
            format_secs(window.duration),
            window.schedule.tz_name(),
            window.schedule.display_local(until),
            underneath.state,
            underneath.reason
        ),
        Some(until - window.duration),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::{Os, Probed, Scheduled, evaluate};
    use super::*;
    use crate::cron::{Schedule, Window};
    use crate::store::Reported;

    fn unix(rfc3339: &str) -> f64 {
        rfc3339.parse::<jiff::Timestamp>().unwrap().as_second() as f64
    }

    fn scheduled(tz: &str, expr: &str, grace: f64) -> Rules {
        Rules {
            kind: Kind::Job,
            grace,
            monitored: true,
            schedule: Scheduled(Some(Schedule::parse(expr, Some(tz)).unwrap())),
            ..Rules::default()
        }
    }

    /// A run that started at `started` and succeeded a minute later.
    fn ran(started: f64) -> Entry {
        Entry {
            last_heartbeat: started + 60.0,
            started_at: Some(started),
            finished_at: Some(started + 60.0),
            status: Some(Reported::Succeeded),
            kind: Some(Kind::Job),
            ..Entry::default()
        }
    }

    #[test]
    fn a_scheduled_job_turns_overdue_just_after_its_due_time_plus_grace_across_dst() {
        // (zone, schedule, grace, last start, the next due time): overdue strictly after
        // due + grace; the due time is the engine's first fire time after the last start.
        let cases = [
            // Spring forward: 02:30 does not exist, cron runs it at 03:00 CEST.
            (
                "Europe/Berlin",
                "30 2 * * *",
                3600.0,
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
            ),
            // Fall back: 02:30 comes twice, the job runs on the first pass only.
            (
                "Europe/Berlin",
                "30 2 * * *",
                600.0,
                "2026-10-24T02:30:00+02:00",
                "2026-10-25T02:30:00+02:00",
            ),
            (
                "America/New_York",
                "30 2 * * *",
                60.0,
                "2026-03-07T02:30:00-05:00",
                "2026-03-08T03:00:00-04:00",
            ),
            (
                "America/New_York",
                "0 * * * *",
                60.0,
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:00:00-05:00",
            ),
            (
                "Australia/Sydney",
                "0 3 * * *",
                900.0,
                "2026-04-04T03:00:00+11:00",
                "2026-04-05T03:00:00+10:00",
            ),
            (
                "Australia/Sydney",
                "30 2 * * SUN",
                900.0,
                "2026-09-27T02:30:00+10:00",
                "2026-10-04T03:00:00+11:00",
            ),
            // Only the end is pinged: a success is the start the schedule is counted from.
            (
                "UTC",
                "*/15 * * * *",
                120.0,
                "2026-01-01T10:14:00Z",
                "2026-01-01T10:15:00Z",
            ),
        ];
        for (tz, expr, grace, started, due) in cases {
            let rules = scheduled(tz, expr, grace);
            let entry = if expr.starts_with("*/15") {
                Entry {
                    started_at: None,
                    ..ran(unix(started) - 60.0)
                }
            } else {
                ran(unix(started))
            };
            let due = unix(due);
            assert_eq!(next_due(Some(&entry), &rules), Some(due), "{tz} {expr}");
            let at = |now: f64| evaluate(Some(&entry), &rules, now, Os::Gone, &Probed::None);
            assert_eq!(
                at(due + grace).state,
                State::Up,
                "{tz} {expr}: at due + grace"
            );
            let late = at(due + grace + 0.001);
            assert_eq!(late.state, State::Overdue, "{tz} {expr}: just after");
            assert_eq!(late.since, Some(due + grace), "{tz} {expr}");
            assert!(
                late.reason.contains(&format!("{expr:?}")),
                "{}",
                late.reason
            );
        }
    }

    #[test]
    fn a_scheduled_job_that_never_ran_is_due_at_its_first_fire_time_after_it_was_configured() {
        let rules = Rules {
            known_since: Some(unix("2026-06-01T12:00:00+02:00")),
            ..scheduled("Europe/Berlin", "0 3 * * *", 3600.0)
        };
        let due = unix("2026-06-02T03:00:00+02:00");
        assert_eq!(next_due(None, &rules), Some(due));
        let at = |now: f64| evaluate(None, &rules, now, Os::Unknown, &Probed::None);
        assert_eq!(at(due + 3600.0).state, State::Pending);
        let missed = at(due + 3600.5);
        assert_eq!(missed.state, State::Overdue);
        assert_eq!(
            missed.reason,
            "never ran; its first run was due Tue 2026-06-02 03:00:00 CEST \
             (schedule \"0 3 * * *\", grace 1h00m)"
        );
    }

    #[test]
    fn next_due_while_running_is_the_fire_time_after_the_runs_start() {
        let rules = scheduled("UTC", "0 * * * *", 300.0);
        let entry = Entry {
            status: Some(Reported::Running),
            started_at: Some(unix("2026-01-01T10:00:02Z")),
            last_heartbeat: unix("2026-01-01T10:00:02Z"),
            kind: Some(Kind::Job),
            ..Entry::default()
        };
        assert_eq!(
            next_due(Some(&entry), &rules),
            Some(unix("2026-01-01T11:00:00Z"))
        );
        let app = Rules {
            kind: Kind::App,
            ..rules
        };
        assert_eq!(next_due(Some(&entry), &app), None, "an app is never due");
    }

    #[test]
    fn a_run_with_no_fire_time_since_the_run_before_it_is_flagged_not_due() {
        // (zone, schedule, the previous run's start, this run's start, flagged)
        let cases = [
            (
                "UTC",
                "0 3 * * *",
                "2026-01-01T03:00:01Z",
                "2026-01-02T03:00:00Z",
                false,
            ),
            (
                "UTC",
                "0 3 * * *",
                "2026-01-01T03:00:01Z",
                "2026-01-02T02:59:59.5Z",
                false,
            ),
            (
                "UTC",
                "0 3 * * *",
                "2026-01-01T03:00:01Z",
                "2026-01-02T02:00:00Z",
                true,
            ),
            (
                "UTC",
                "0 3 * * *",
                "2026-01-02T03:00:00Z",
                "2026-01-02T03:05:00Z",
                true,
            ),
            (
                "UTC",
                "0 3 * * *",
                "2026-01-01T03:00:00Z",
                "2026-01-03T03:00:00Z",
                false,
            ),
            // The spring-forward day: 02:30 is run at 03:00 CEST, on time.
            (
                "Europe/Berlin",
                "30 2 * * *",
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                false,
            ),
            (
                "Europe/Berlin",
                "30 2 * * *",
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T02:59:00+02:00",
                true,
            ),
            // The fall-back day: 02:30 fires once; a run on the second pass is a second run.
            (
                "Europe/Berlin",
                "30 2 * * *",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:30:00+01:00",
                true,
            ),
            (
                "America/New_York",
                "0 * * * *",
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:00:00-05:00",
                false,
            ),
            (
                "Australia/Sydney",
                "0 3 * * *",
                "2026-04-04T03:00:00+11:00",
                "2026-04-05T03:00:00+10:00",
                false,
            ),
        ];
        for (tz, expr, previous, started, flagged) in cases {
            let rules = scheduled(tz, expr, 3600.0);
            let entry = Entry {
                previous_started_at: Some(unix(previous)),
                ..ran(unix(started))
            };
            let now = unix(started) + 120.0;
            let health = evaluate(Some(&entry), &rules, now, Os::Gone, &Probed::None);
            let want = if flagged { State::Error } else { State::Up };
            assert_eq!(
                health.state, want,
                "{tz} {expr}: {previous} then {started}: {}",
                health.reason
            );
            if flagged {
                assert!(
                    health
                        .reason
                        .starts_with("ran when it was not due: started "),
                    "{}",
                    health.reason
                );
                assert_eq!(health.since, Some(unix(started)));
            }
        }
    }

    #[test]
    fn a_not_due_reason_says_how_soon_after_the_run_before_and_when_it_is_due() {
        let entry = Entry {
            previous_started_at: Some(unix("2026-01-02T03:00:00Z")),
            ..ran(unix("2026-01-02T03:05:00Z"))
        };
        let rules = scheduled("UTC", "0 3 * * *", 3600.0);
        let health = evaluate(
            Some(&entry),
            &rules,
            unix("2026-01-02T03:10:00Z"),
            Os::Gone,
            &Probed::None,
        );
        assert_eq!(
            health.reason,
            "ran when it was not due: started 5m00s after the run before, with no fire time \
             of \"0 3 * * *\" between; next due Sat 2026-01-03 03:00:00 UTC"
        );
    }

    #[test]
    fn a_maintenance_window_pauses_from_its_opening_to_just_before_its_end() {
        let window = Window {
            schedule: Schedule::parse("0 2 * * SUN", Some("Europe/Berlin")).unwrap(),
            duration: 7200.0,
        };
        let rules = Rules {
            maintenance: vec![window],
            ..Rules::default()
        };
        let dead = Entry {
            last_heartbeat: unix("2026-01-03T12:00:00Z"),
            pid: Some(42),
            ..Entry::default()
        };
        let opens = unix("2026-01-04T02:00:00+01:00");
        let at = |now: f64| evaluate(Some(&dead), &rules, now, Os::Gone, &Probed::None);
        // (instant, state): the window is [opening, opening + 2h).
        for (now, state) in [
            (opens - 1.0, State::Dead),
            (opens, State::Paused),
            (opens + 7199.0, State::Paused),
            (opens + 7200.0, State::Dead),
        ] {
            assert_eq!(at(now).state, state, "at {}", now - opens);
        }
        let paused = at(opens);
        assert_eq!(paused.severity, crate::health::Severity::None);
        assert_eq!(paused.since, Some(opens));
        assert!(
            paused.reason.starts_with(
                "maintenance window \"0 2 * * SUN\" for 2h00m (Europe/Berlin) until \
                 Sun 2026-01-04 04:00:00 CET; underneath: dead (pid 42 is gone)"
            ),
            "{}",
            paused.reason
        );
    }
}
