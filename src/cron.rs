//! Cron schedules with time zones: parsing an expression (five fields or an `@macro`), and
//! when it fires — the next time after an instant, the newest at or before one — in its zone.
//!
//! The semantics are healthchecks.io's, whose engine is `cronsim` (Debian cron's rules,
//! DST quirks included); `docs/schedules.md` is the user's page, and a differential test
//! (`tests/integration/cron.rs`) compares thousands of random expressions with cronsim.
//! Pure but for the time zone database.

mod explain;
mod field;
mod walk;
mod window;

#[cfg(test)]
mod dst_tests;

use jiff::tz::TimeZone;

pub use window::Window;

use field::Kind;
use walk::{Spec, Walk};

/// A schedule that does not parse, or a zone the database does not know: one line that
/// names the expression, the field and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "schedule {expr:?}: {count} fields; a schedule has five (minute hour day-of-month \
         month day-of-week) or is a macro such as @daily"
    )]
    FieldCount { expr: String, count: usize },
    #[error("schedule {expr:?}: {reason}")]
    Macro { expr: String, reason: &'static str },
    #[error("schedule {expr:?}: {field} field {value:?}: {reason}")]
    Field {
        expr: String,
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error(
        "time zone {name:?}: not in the time zone database (an IANA name such as Europe/Berlin)"
    )]
    Zone { name: String },
}

/// The macros, as Vixie cron expands them.
const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// The most fire times a search skips past while looking for one after an instant (or
/// checks on the way back): cronsim's walk can hand back a time at or before its start in
/// a repeated hour, at most once a minute of it.
const MAX_SKIPS: usize = 1500;

/// A parsed cron schedule in a time zone.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    expr: String,
    tz_name: String,
    tz: TimeZone,
    spec: Spec,
}

impl Schedule {
    /// `expr`: five fields or an @macro; `tz`: an IANA name, None = the machine's zone
    /// (`TZ`, else `/etc/localtime`).
    pub fn parse(expr: &str, tz: Option<&str>) -> Result<Schedule, ScheduleError> {
        let spec = parse_spec(expr)?;
        let (tz, tz_name) = if let Some(name) = tz {
            let tz = TimeZone::get(name).map_err(|_| ScheduleError::Zone {
                name: name.to_owned(),
            })?;
            (tz, name.to_owned())
        } else {
            let tz = TimeZone::system();
            let name = tz.iana_name().unwrap_or("local").to_owned();
            (tz, name)
        };
        Ok(Schedule {
            expr: expr.to_owned(),
            tz_name,
            tz,
            spec,
        })
    }

    /// The first fire time strictly after `t` (Unix seconds); None when there is none within
    /// 50 years (cronsim's horizon), or `t` is out of the calendar's range.
    ///
    /// cronsim's answer but in one case: started on the second pass of a repeated hour, a
    /// fixed-time schedule's walk returns that hour's first pass, which is already past;
    /// hbmon skips it, as cron itself would not run the job again.
    pub fn next_after(&self, t: f64) -> Option<f64> {
        let mut walk = Walk::new(&self.spec, &self.tz, whole_second(t)?, false)?;
        (0..MAX_SKIPS)
            .map_while(|_| walk.next())
            .find(|&fire| fire as f64 > t)
            .map(|fire| fire as f64)
    }

    /// The newest fire time at or before `t`: the one whose [`Schedule::next_after`] is past
    /// `t`, so the two agree wherever a walk backwards and one forwards would not (a
    /// repeated hour).
    pub fn prev_at_or_before(&self, t: f64) -> Option<f64> {
        let mut from = whole_second(t)?.checked_add(1)?;
        for _ in 0..MAX_SKIPS {
            let found = Walk::new(&self.spec, &self.tz, from, true)?.next()?;
            // The forward walk's fire time at or after what the backward walk found: the
            // backward walk can find a time the forward one never fires at.
            let mut fire = self.next_after(found as f64 - 1.0)?;
            if fire > t {
                from = found;
                continue;
            }
            for _ in 0..MAX_SKIPS {
                match self.next_after(fire) {
                    Some(next) if next <= t => fire = next,
                    _ => return Some(fire),
                }
            }
            return None;
        }
        None
    }

    /// The schedule in words: `at 03:00 every day (Europe/Berlin)`.
    pub fn explain(&self) -> String {
        format!("{} ({})", explain::explain(&self.spec), self.tz_name)
    }

    /// The expression as given.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The zone's IANA name (`local` for a machine zone that has none).
    pub fn tz_name(&self) -> &str {
        &self.tz_name
    }

    /// A fire time as the schedule's zone shows it, in RFC 3339: `2026-03-29T03:00:00+02:00`.
    pub fn rfc3339_local(&self, t: f64) -> String {
        format_in(&self.tz, t, RFC3339)
    }

    /// An instant in the schedule's zone, in a `strftime` format: `%H:%M` reads `03:00`.
    pub fn strftime_local(&self, t: f64, format: &str) -> String {
        format_in(&self.tz, t, format)
    }

    /// A fire time for reading, in the schedule's zone: `Sun 2026-03-29 03:00:00 CEST`.
    pub fn display_local(&self, t: f64) -> String {
        format_in(&self.tz, t, DISPLAY)
    }
}

const RFC3339: &str = "%Y-%m-%dT%H:%M:%S%:z";
const DISPLAY: &str = "%a %Y-%m-%d %H:%M:%S %Z";

/// An instant in UTC, in RFC 3339: `2026-03-29T01:00:00Z`.
pub fn rfc3339_utc(t: f64) -> String {
    whole_second(t)
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(String::new, |ts| ts.to_string())
}

/// An instant in UTC for reading: `Sun 2026-03-29 01:00:00 UTC`.
pub fn display_utc(t: f64) -> String {
    format_in(&TimeZone::UTC, t, DISPLAY)
}

fn format_in(tz: &TimeZone, t: f64, format: &str) -> String {
    whole_second(t)
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(String::new, |ts| {
            ts.to_zoned_datetime(tz.clone())
                .strftime(format)
                .to_string()
        })
}

/// `t`'s whole second, if it is one the calendar holds.
fn whole_second(t: f64) -> Option<i64> {
    // jiff's range is the years -9999 to 9999; anything near it has no fire times anyway.
    (t.is_finite() && t.abs() < 2.5e11).then(|| t.floor() as i64)
}

fn parse_spec(expr: &str) -> Result<Spec, ScheduleError> {
    let trimmed = expr.trim();
    let expanded = if trimmed.starts_with('@') {
        let lower = trimmed.to_ascii_lowercase();
        if lower == "@reboot" {
            return Err(ScheduleError::Macro {
                expr: expr.to_owned(),
                reason: "@reboot runs once at boot, it has no times to be due at",
            });
        }
        MACROS
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|(_, fields)| *fields)
            .ok_or_else(|| ScheduleError::Macro {
                expr: expr.to_owned(),
                reason: "not a macro (@yearly, @annually, @monthly, @weekly, @daily, \
                         @midnight, @hourly)",
            })?
    } else {
        trimmed
    };
    // cronsim upper-cases the expression: names, L and W in any case.
    let upper = expanded.to_ascii_uppercase();
    let parts: Vec<&str> = upper.split_whitespace().collect();
    let [minute, hour, day, month, weekday] = parts[..] else {
        return Err(ScheduleError::FieldCount {
            expr: expr.to_owned(),
            count: parts.len(),
        });
    };
    let field = |kind: Kind, text: &str| {
        field::parse(kind, text).map_err(|reason| ScheduleError::Field {
            expr: expr.to_owned(),
            field: kind.name(),
            value: text.to_owned(),
            reason,
        })
    };
    let spec = Spec {
        minute: field(Kind::Minute, minute)?,
        hour: field(Kind::Hour, hour)?,
        day: field(Kind::Day, day)?,
        month: field(Kind::Month, month)?,
        weekday: field(Kind::Weekday, weekday)?,
        day_and: day.starts_with('*') || weekday.starts_with('*'),
        fixed_time: !minute.starts_with('*') && !hour.starts_with('*'),
    };
    // Only the day-of-month can match then, so it must be a day some month has (cronsim's
    // check: `0 0 30 2 *` is refused, `0 0 30 2 MON` fires on Mondays).
    if spec.day_and && !spec.day.has_extras() {
        let first = spec.day.values.trailing_zeros();
        let longest = spec
            .month
            .list()
            .map(|m| [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1])
            .max()
            .unwrap_or(31);
        if first > longest {
            return Err(ScheduleError::Field {
                expr: expr.to_owned(),
                field: Kind::Day.name(),
                value: day.to_owned(),
                reason: format!("no month of the month field has a day {first}"),
            });
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(expr: &str) -> String {
        Schedule::parse(expr, Some("UTC")).unwrap_err().to_string()
    }

    #[test]
    fn bad_schedules_name_the_field_and_value_in_one_line() {
        let cases = [
            (
                "0 25 * * *",
                r#"schedule "0 25 * * *": hour field "25": 25 is out of range 0-23"#,
            ),
            (
                "0 0 30 2 *",
                r#"schedule "0 0 30 2 *": day-of-month field "30": no month of the month field has a day 30"#,
            ),
            (
                "0 0 31 4,6 *",
                r#"schedule "0 0 31 4,6 *": day-of-month field "31": no month of the month field has a day 31"#,
            ),
            (
                "* * * foo *",
                r#"schedule "* * * foo *": month field "FOO": "FOO" is not a number or a name (JAN-DEC)"#,
            ),
            (
                "*/0 * * * *",
                r#"schedule "*/0 * * * *": minute field "*/0": "*/0": a step of 0"#,
            ),
            (
                "* * * *",
                "schedule \"* * * *\": 4 fields; a schedule has five (minute hour day-of-month \
                 month day-of-week) or is a macro such as @daily",
            ),
            (
                "0 * * * * *",
                "schedule \"0 * * * * *\": 6 fields; a schedule has five (minute hour \
                 day-of-month month day-of-week) or is a macro such as @daily",
            ),
            (
                "",
                "schedule \"\": 0 fields; a schedule has five (minute hour day-of-month month \
                 day-of-week) or is a macro such as @daily",
            ),
            (
                "@reboot",
                r#"schedule "@reboot": @reboot runs once at boot, it has no times to be due at"#,
            ),
            (
                "@often",
                "schedule \"@often\": not a macro (@yearly, @annually, @monthly, @weekly, \
                 @daily, @midnight, @hourly)",
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(err(expr), want);
        }
        assert_eq!(
            Schedule::parse("0 3 * * *", Some("Mars/Olympus"))
                .unwrap_err()
                .to_string(),
            r#"time zone "Mars/Olympus": not in the time zone database (an IANA name such as Europe/Berlin)"#
        );
    }

    #[test]
    fn macros_are_their_five_fields_in_any_case() {
        for (name, fields) in MACROS {
            let by_macro = Schedule::parse(&name.to_uppercase(), Some("UTC")).unwrap();
            let by_fields = Schedule::parse(fields, Some("UTC")).unwrap();
            assert_eq!(by_macro.spec, by_fields.spec, "{name}");
            assert_eq!(by_macro.expr(), name.to_uppercase(), "kept as given");
        }
    }

    #[test]
    fn names_and_letters_are_case_insensitive() {
        let a = Schedule::parse("0 0 l jan-mar mon#2", Some("UTC")).unwrap();
        let b = Schedule::parse("0 0 L JAN-MAR MON#2", Some("UTC")).unwrap();
        assert_eq!(a.spec, b.spec);
    }

    #[test]
    fn a_day_field_starting_with_a_star_makes_both_day_fields_count() {
        // (expression, day_and): Vixie's rule looks at the first character only.
        let cases = [
            ("0 0 * * MON", true),
            ("0 0 1 * *", true),
            ("0 0 */2 * MON", true),
            ("0 0 1 * */2", true),
            ("0 0 1 * MON", false),
            ("0 0 1-31 * MON", false),
            ("0 0 1,* * 1", false),
        ];
        for (expr, day_and) in cases {
            let s = Schedule::parse(expr, Some("UTC")).unwrap();
            assert_eq!(s.spec.day_and, day_and, "{expr}");
        }
    }

    #[test]
    fn the_machine_zone_is_the_default() {
        let s = Schedule::parse("0 3 * * *", None).unwrap();
        assert!(!s.tz_name().is_empty());
        assert_eq!(s.tz, TimeZone::system());
    }

    #[test]
    fn an_instant_out_of_range_has_no_fire_time() {
        let s = Schedule::parse("* * * * *", Some("UTC")).unwrap();
        for t in [f64::NAN, f64::INFINITY, -f64::INFINITY, 1e300] {
            assert_eq!(s.next_after(t), None, "{t}");
            assert_eq!(s.prev_at_or_before(t), None, "{t}");
        }
    }
}
