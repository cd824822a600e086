//! A `[[process]]`'s cron `schedule` and `tz`, and the `[[maintenance]]` windows: their
//! data and their parsing. The config owns these types; `crate::health` judges with them.

use serde::Deserialize;
use toml::Spanned;

use super::process::RawProcess;
use super::{Fault, Span, positive};
use crate::cron::{Schedule, ScheduleError, Window};
use crate::store::Kind;

/// A scheduled job's grace when neither its `[[process]]` nor `[defaults]` gives one:
/// healthchecks.io's default, so a check moved from there keeps its behaviour.
pub const SCHEDULE_GRACE: f64 = 3600.0;

/// One `[[maintenance]]`: the processes it names are `paused` while its window is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Maintenance {
    pub window: Window,
    /// Heartbeat names or globs (`db-*`), as written.
    pub processes: Vec<glob::Pattern>,
}

impl Maintenance {
    /// Whether the window is about the heartbeat `name`.
    pub fn names(&self, name: &str) -> bool {
        self.processes.iter().any(|p| p.matches(name))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMaintenance {
    schedule: Option<Spanned<String>>,
    tz: Option<Spanned<String>>,
    duration: Option<Spanned<Span>>,
    processes: Option<Spanned<Vec<Spanned<String>>>>,
}

impl RawMaintenance {
    pub(super) fn validate(raw: Spanned<Self>) -> Result<Maintenance, Fault> {
        let table = raw.span();
        let m = raw.into_inner();
        let needs = |key: &'static str, example: &str| {
            (
                table.clone(),
                key,
                format!("a [[maintenance]] needs {key} = {example}"),
            )
        };
        let schedule = m
            .schedule
            .ok_or_else(|| needs("schedule", "\"0 2 * * SUN\""))?;
        let schedule = parse(&schedule, m.tz.as_ref())?;
        let duration = positive("duration", m.duration.as_ref())?
            .ok_or_else(|| needs("duration", "\"2h\""))?;
        let list = m
            .processes
            .ok_or_else(|| needs("processes", "[\"backup\", \"db-*\"]"))?;
        if list.get_ref().is_empty() {
            return Err((
                list.span(),
                "processes",
                "names no process: list heartbeat names or globs such as \"db-*\"".to_owned(),
            ));
        }
        let processes = list
            .into_inner()
            .into_iter()
            .map(|p| {
                glob::Pattern::new(p.get_ref()).map_err(|e| {
                    (
                        p.span(),
                        "processes",
                        format!("{:?} is not a glob: {e}", p.get_ref()),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Maintenance {
            window: Window { schedule, duration },
            processes,
        })
    }
}

/// A `[[process]]`'s schedule, and its kind: a schedule is a job's period, so it makes
/// the process a job unless it says `kind = "app"` (refused), and it is the period
/// instead of an interval, never beside one.
pub(super) fn process_schedule(p: &RawProcess) -> Result<(Option<Schedule>, Option<Kind>), Fault> {
    let kind = p.kind.as_ref().map(|k| *k.get_ref());
    let Some(text) = &p.schedule else {
        return match &p.tz {
            Some(tz) => Err((tz.span(), "tz", "applies only with a schedule".to_owned())),
            None => Ok((None, kind)),
        };
    };
    if let Some(interval) = &p.interval {
        return Err((
            interval.span(),
            "interval",
            "a job has a schedule or an interval, not both: remove interval (the \
             schedule is the period)"
                .to_owned(),
        ));
    }
    if let Some(app) = p.kind.as_ref().filter(|k| *k.get_ref() == Kind::App) {
        return Err((
            app.span(),
            "kind",
            "a schedule is a job's: use kind = \"job\" or leave kind out".to_owned(),
        ));
    }
    Ok((Some(parse(text, p.tz.as_ref())?), Some(Kind::Job)))
}

/// `schedule` in `tz` (the machine's zone without one); a bad zone points at `tz`.
pub(super) fn parse(
    schedule: &Spanned<String>,
    tz: Option<&Spanned<String>>,
) -> Result<Schedule, Fault> {
    Schedule::parse(schedule.get_ref(), tz.map(|t| t.get_ref().as_str())).map_err(|e| match e {
        ScheduleError::Zone { .. } => (
            tz.map_or_else(|| schedule.span(), Spanned::span),
            "tz",
            e.to_string(),
        ),
        _ => (schedule.span(), "schedule", e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_errors, parse};
    use crate::store::{Entry, Kind};

    #[test]
    fn bad_schedules_and_windows_name_the_line_and_key() {
        let cases: &[(&str, usize, &str, &str)] = &[
            (
                "[[process]]\nname = \"a\"\nschedule = \"0 25 * * *\"\n",
                3,
                "schedule",
                "schedule \"0 25 * * *\": hour field \"25\": 25 is out of range 0-23",
            ),
            (
                "[[process]]\nname = \"a\"\nschedule = \"@daily\"\ntz = \"Mars/Base\"\n",
                4,
                "tz",
                "time zone \"Mars/Base\": not in the time zone database",
            ),
            (
                "[[process]]\nname = \"a\"\ninterval = \"1h\"\nschedule = \"@daily\"\n",
                3,
                "interval",
                "a job has a schedule or an interval, not both: remove interval",
            ),
            (
                "[[process]]\nname = \"a\"\ntz = \"UTC\"\n",
                3,
                "tz",
                "applies only with a schedule",
            ),
            (
                "[[process]]\nname = \"a\"\nkind = \"app\"\nschedule = \"@daily\"\n",
                3,
                "kind",
                "a schedule is a job's",
            ),
            (
                "[[maintenance]]\nduration = \"2h\"\nprocesses = [\"a\"]\n",
                1,
                "schedule",
                "a [[maintenance]] needs schedule = \"0 2 * * SUN\"",
            ),
            (
                "[[maintenance]]\nschedule = \"0 2 * * SUN\"\nprocesses = [\"a\"]\n",
                1,
                "duration",
                "needs duration",
            ),
            (
                "[[maintenance]]\nschedule = \"0 2 * * SUN\"\nduration = \"0s\"\n",
                3,
                "duration",
                "greater than zero",
            ),
            (
                "[[maintenance]]\nschedule = \"0 2 * * SUN\"\nduration = \"2h\"\nprocesses = []\n",
                4,
                "processes",
                "names no process",
            ),
            (
                "[[maintenance]]\nschedule = \"0 2 * * SUN\"\nduration = \"2h\"\n\
                 processes = [\"ok\",\n  \"db-[\"]\n",
                5,
                "processes",
                "\"db-[\" is not a glob",
            ),
            (
                "[[maintenance]]\nschedule = \"0 2 * * *\"\ntz = \"Nowhere\"\nduration = \"1h\"\nprocesses = [\"a\"]\n",
                3,
                "tz",
                "not in the time zone database",
            ),
            (
                "[[maintenance]]\nschedule = \"0 2 * *\"\nduration = \"1h\"\nprocesses = [\"a\"]\n",
                2,
                "schedule",
                "4 fields",
            ),
            (
                "[[maintenance]]\nschedule = \"0 2 * * *\"\nduration = \"1h\"\nprocess = [\"a\"]\n",
                4,
                "process",
                "unknown key",
            ),
        ];
        assert_errors(cases);
    }

    #[test]
    fn the_configs_period_wins_over_the_writers_in_either_form() {
        let entry = Entry {
            kind: Some(Kind::Job),
            schedule: Some("*/5 * * * *".into()),
            tz: Some("UTC".into()),
            interval: Some(60.0),
            ..Entry::default()
        };
        let config = parse(
            "[[process]]\nname = \"s\"\nschedule = \"0 3 * * *\"\ntz = \"Asia/Tokyo\"\n\
             [[process]]\nname = \"i\"\nkind = \"job\"\ninterval = \"1h\"\n\
             [[process]]\nname = \"k\"\nkind = \"job\"\n",
        )
        .unwrap();
        let schedule = |name: &str| {
            config
                .rules_for(name, Some(&entry))
                .schedule
                .0
                .map(|s| format!("{} {}", s.expr(), s.tz_name()))
        };
        // (process, schedule it is judged by)
        let cases = [
            ("s", Some("0 3 * * * Asia/Tokyo")),
            ("i", None),
            ("k", Some("*/5 * * * * UTC")),
            ("unlisted", Some("*/5 * * * * UTC")),
        ];
        for (name, want) in cases {
            assert_eq!(schedule(name).as_deref(), want, "{name}");
        }
        // A writer's schedule that does not parse is no promise.
        let garbage = Entry {
            schedule: Some("every day".into()),
            ..entry.clone()
        };
        assert_eq!(config.rules_for("k", Some(&garbage)).schedule.0, None);
        assert_eq!(
            config.rules_for("k", Some(&entry)).grace,
            super::SCHEDULE_GRACE
        );
    }

    #[test]
    fn a_window_names_processes_by_glob_and_reads_back() {
        let config = parse(
            "[[maintenance]]\nschedule = \"0 2 * * SUN\"\ntz = \"Europe/Berlin\"\n\
             duration = \"2h\"\nprocesses = [\"backup\", \"db-*\"]\n",
        )
        .unwrap();
        // (name, windows)
        for (name, count) in [("backup", 1), ("db-main", 1), ("db", 0), ("backups", 0)] {
            assert_eq!(
                config.rules_for(name, None).maintenance.len(),
                count,
                "{name}"
            );
        }
        let again = parse(&config.to_toml()).unwrap();
        assert_eq!(again.maintenance, config.maintenance);
    }
}
