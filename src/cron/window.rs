//! A recurring window: a schedule's fire times, each opening a window of a fixed length
//! (`[[maintenance]] schedule = "0 2 * * SUN"`, `duration = "2h"`).

use super::Schedule;

/// A window that opens at each fire time of `schedule` and lasts `duration` seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub schedule: Schedule,
    /// Seconds, more than zero.
    pub duration: f64,
}

impl Window {
    /// When the window holding `t` closes, if one does: a window is open from its fire time
    /// (included) to its fire time plus the duration (excluded). Only the newest fire time
    /// at or before `t` needs a look: every window lasts as long, so an older one closes
    /// sooner — even where windows overlap (longer than the gap between fire times).
    pub fn open_until(&self, t: f64) -> Option<f64> {
        let end = self.schedule.prev_at_or_before(t)? + self.duration;
        (end > t).then_some(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(rfc3339: &str) -> f64 {
        rfc3339.parse::<jiff::Timestamp>().unwrap().as_second() as f64
    }

    /// (zone, schedule, duration, instant, when the window holding it ends)
    const CASES: &[(&str, &str, f64, &str, Option<&str>)] = &[
        // Sunday 02:00 for 2h, Berlin: edges in winter.
        (
            "Europe/Berlin",
            "0 2 * * SUN",
            7200.0,
            "2026-01-04T01:59:59+01:00",
            None,
        ),
        (
            "Europe/Berlin",
            "0 2 * * SUN",
            7200.0,
            "2026-01-04T02:00:00+01:00",
            Some("2026-01-04T04:00:00+01:00"),
        ),
        (
            "Europe/Berlin",
            "0 2 * * SUN",
            7200.0,
            "2026-01-04T03:59:59+01:00",
            Some("2026-01-04T04:00:00+01:00"),
        ),
        (
            "Europe/Berlin",
            "0 2 * * SUN",
            7200.0,
            "2026-01-04T04:00:00+01:00",
            None,
        ),
        // The spring-forward Sunday: 02:00 does not exist, cron fires at 03:00 CEST,
        // and the window lasts two real hours from then.
        (
            "Europe/Berlin",
            "0 2 * * SUN",
            7200.0,
            "2026-03-29T01:59:59+01:00",
            None,
        ),
        (
            "Europe/Berlin",
            "0 2 * * SUN",
            7200.0,
            "2026-03-29T03:00:00+02:00",
            Some("2026-03-29T05:00:00+02:00"),
        ),
        (
            "Europe/Berlin",
            "0 2 * * SUN",
            7200.0,
            "2026-03-29T05:00:00+02:00",
            None,
        ),
        // The fall-back Sunday: 02:00 fires on the first pass only; two real hours
        // from 02:00 CEST end at 03:00 CET.
        (
            "Europe/Berlin",
            "0 2 * * SUN",
            7200.0,
            "2026-10-25T02:30:00+01:00",
            Some("2026-10-25T03:00:00+01:00"),
        ),
        (
            "Europe/Berlin",
            "0 2 * * SUN",
            7200.0,
            "2026-10-25T03:00:00+01:00",
            None,
        ),
        // New York's spring gap, and a window longer than the gap between its fire
        // times: the older window still holds.
        (
            "America/New_York",
            "30 2 * * *",
            3600.0,
            "2026-03-08T03:30:00-04:00",
            Some("2026-03-08T04:00:00-04:00"),
        ),
        (
            "UTC",
            "0 * * * *",
            5400.0,
            "2026-01-01T10:20:00Z",
            Some("2026-01-01T11:30:00Z"),
        ),
        // Sydney falls back at 03:00 AEDT to 02:00 AEST: the window opens on the first
        // 02:00 and its hour is over when the second 02:00 begins.
        (
            "Australia/Sydney",
            "0 2 * * SUN",
            3600.0,
            "2026-04-05T02:30:00+11:00",
            Some("2026-04-05T02:00:00+10:00"),
        ),
        (
            "Australia/Sydney",
            "0 2 * * SUN",
            3600.0,
            "2026-04-05T02:30:00+10:00",
            None,
        ),
    ];

    #[test]
    fn a_window_holds_from_its_fire_time_to_before_its_end_across_dst() {
        for (tz, expr, duration, at, want) in CASES {
            let window = Window {
                schedule: Schedule::parse(expr, Some(tz)).unwrap(),
                duration: *duration,
            };
            assert_eq!(
                window.open_until(unix(at)),
                want.map(unix),
                "{tz} {expr} for {duration}s at {at}"
            );
        }
    }
}
