//! The search for the next (or previous) fire time, walked as cronsim walks it: the month
//! rolled until it fits, then the day, the hour, the minute, the second, starting over
//! whenever a roll changed a larger field — field by field, never minute by minute over
//! years, and given up 50 years on (cronsim's bound, so an impossible schedule ends too).
//!
//! Step for step cronsim's, because its steps are what decide DST (see `docs/schedules.md`):
//! - A *fixed-time* schedule (neither minute nor hour starts with `*`) walks the naive wall
//!   clock, as Debian's cron does: a time in a spring gap fires at the first minute after the
//!   gap, a time in an autumn repeat fires once, on its first pass.
//! - Any other walks real time in the zone: every wall-clock minute that exists matches, the
//!   repeated hour twice, the skipped hour never. Moving to the start of an hour or a day
//!   keeps the fold of the time it came from, as Python's `datetime.replace` does (PEP 495:
//!   `fold = 0` reads a gap or repeat with the offset before it, `fold = 1` after it).

use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, TimeZone};

use super::field::Field;

const DAY: i64 = 86_400;
/// Rounds of the walk before it gives up however far it got: far above the ~1,300 rounds
/// 50 years of a rare schedule take, a bound for a zone whose rules could make it cycle.
const MAX_ROUNDS: usize = 100_000;

/// What a schedule matches, as the walk needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub minute: Field,
    pub hour: Field,
    pub day: Field,
    pub month: Field,
    pub weekday: Field,
    /// Day-of-month *and* day-of-week must match: one of the two fields starts with `*`
    /// (Vixie cron's rule); otherwise either one is enough.
    pub day_and: bool,
    /// Neither the minute nor the hour field starts with `*`: the walk is on the naive
    /// wall clock (Debian cron's DST handling).
    pub fixed_time: bool,
}

impl Spec {
    fn day_matches(&self, days: i64) -> bool {
        let (y, m, d) = civil(days);
        let dom = self.day.has(d)
            || (self.day.last_weekday && d == last_weekday(y, m))
            || (self.day.last && d == month_len(y, m));
        let wd = weekday(days);
        let bit = 1u8 << wd;
        let dow = self.weekday.sunday_folded() >> wd & 1 == 1
            || (self.weekday.last_of & bit != 0 && d + 7 > month_len(y, m))
            || self.weekday.nth[d.div_ceil(7) as usize] & bit != 0;
        if self.day_and { dom && dow } else { dom || dow }
    }
}

/// (year, month, day) of a day number (days since 1970-01-01), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The day number of a date: the inverse of [`civil`].
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let (m, d) = (i64::from(m), i64::from(d));
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn month_len(y: i64, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// 0 = Sunday … 6 = Saturday.
fn weekday(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32
}

/// The month's last Monday-to-Friday day.
fn last_weekday(y: i64, m: u32) -> u32 {
    let last = month_len(y, m);
    match weekday(days_from_civil(y, m, last)) {
        0 => last - 2,
        6 => last - 1,
        _ => last,
    }
}

/// A wall-clock time as Python's `datetime` holds one: the civil time (as seconds since
/// 1970-01-01 00:00 on that clock) and PEP 495's fold.
#[derive(Clone, Copy, Debug)]
struct Wall {
    secs: i64,
    fold: bool,
}

fn ambiguity(tz: &TimeZone, civil_secs: i64) -> Option<AmbiguousOffset> {
    let dt = TimeZone::UTC.to_datetime(Timestamp::from_second(civil_secs).ok()?);
    Some(tz.to_ambiguous_timestamp(dt).offset())
}

/// The instant of a wall time; a gap or repeated time is read with the offset before the
/// change (`fold = 0`) or after it (`fold = 1`), as Python does.
fn instant(tz: &TimeZone, wall: Wall) -> Option<i64> {
    let offset = match ambiguity(tz, wall.secs)? {
        AmbiguousOffset::Unambiguous { offset } => offset,
        AmbiguousOffset::Gap { before, after } | AmbiguousOffset::Fold { before, after } => {
            if wall.fold { after } else { before }
        }
    };
    Some(wall.secs - i64::from(offset.seconds()))
}

/// The wall time of an instant, with `fold` set on the second pass of a repeated time.
fn wall(tz: &TimeZone, instant: i64) -> Option<Wall> {
    let offset = tz.to_offset(Timestamp::from_second(instant).ok()?);
    let secs = instant + i64::from(offset.seconds());
    let fold = matches!(
        ambiguity(tz, secs)?,
        AmbiguousOffset::Fold { before, after } if after == offset && before != after
    );
    Some(Wall { secs, fold })
}

fn in_gap(tz: &TimeZone, civil_secs: i64) -> bool {
    matches!(ambiguity(tz, civil_secs), Some(AmbiguousOffset::Gap { .. }))
}

/// One walk from an instant, forward or back; each [`Walk::next`] is the next fire time
/// along it, as cronsim's iterator gives them (see [`super::Schedule::next_after`] for the
/// one place hbmon's answer differs).
pub struct Walk<'a> {
    spec: &'a Spec,
    tz: &'a TimeZone,
    back: bool,
    dt: Wall,
}

impl<'a> Walk<'a> {
    /// A walk that starts at `from` (Unix seconds); its first fire time is strictly after
    /// (`back`: before) it.
    pub fn new(spec: &'a Spec, tz: &'a TimeZone, from: i64, back: bool) -> Option<Walk<'a>> {
        let mut dt = wall(tz, from)?;
        // cronsim drops the zone for a fixed-time walk: a naive clock knows no fold.
        dt.fold &= !spec.fixed_time;
        Some(Walk { spec, tz, back, dt })
    }

    pub fn next(&mut self) -> Option<i64> {
        self.tick(1)?;
        if self.back {
            self.reverse()?;
        } else {
            self.advance()?;
        }
        if !self.spec.fixed_time {
            return instant(self.tz, self.dt);
        }
        // A naive time in a gap fires at the first minute the clock shows after it.
        for _ in 0..DAY / 60 {
            if !in_gap(self.tz, self.dt.secs) {
                return instant(
                    self.tz,
                    Wall {
                        secs: self.dt.secs,
                        fold: false,
                    },
                );
            }
            self.dt.secs += 60;
        }
        None
    }

    fn tick(&mut self, secs: i64) -> Option<()> {
        let secs = if self.back { -secs } else { secs };
        if self.spec.fixed_time {
            self.dt.secs += secs;
        } else {
            self.dt = wall(self.tz, instant(self.tz, self.dt)? + secs)?;
        }
        Some(())
    }

    fn days(&self) -> i64 {
        self.dt.secs.div_euclid(DAY)
    }

    fn year(&self) -> i64 {
        civil(self.days()).0
    }

    fn hour(&self) -> u32 {
        (self.dt.secs.rem_euclid(DAY) / 3600) as u32
    }

    fn minute(&self) -> u32 {
        (self.dt.secs.rem_euclid(3600) / 60) as u32
    }

    fn second(&self) -> u32 {
        self.dt.secs.rem_euclid(60) as u32
    }

    /// `datetime.replace(minute=…, second=…)`: the same hour and fold.
    fn replace(&mut self, minute: Option<u32>, second: u32) {
        let minute = minute.unwrap_or_else(|| self.minute());
        self.dt.secs = self.days() * DAY
            + i64::from(self.hour()) * 3600
            + i64::from(minute) * 60
            + i64::from(second);
    }

    /// `datetime.combine(day, 00:00:00 or 23:59:59)`: fold 0.
    fn combine(&mut self, days: i64, end_of_day: bool) {
        self.dt = Wall {
            secs: days * DAY + if end_of_day { DAY - 1 } else { 0 },
            fold: false,
        };
    }

    fn advance(&mut self) -> Option<()> {
        let start = self.year();
        for _ in 0..MAX_ROUNDS {
            self.advance_month();
            if self.year() > start + 50 {
                return None;
            }
            if self.advance_day()
                || self.advance_hour()?
                || self.advance_minute()?
                || self.advance_second()?
            {
                continue;
            }
            return Some(());
        }
        None
    }

    fn reverse(&mut self) -> Option<()> {
        if self.spec.fixed_time {
            // A step back into a gap steps back out of it first.
            for _ in 0..DAY / 60 {
                if !in_gap(self.tz, self.dt.secs) {
                    break;
                }
                self.dt.secs -= 60;
            }
        }
        let start = self.year();
        for _ in 0..MAX_ROUNDS {
            self.reverse_month();
            if self.year() < start - 50 {
                return None;
            }
            if self.reverse_day()
                || self.reverse_hour()?
                || self.reverse_minute()?
                || self.reverse_second()?
            {
                continue;
            }
            return Some(());
        }
        None
    }

    fn advance_month(&mut self) {
        let (mut y, mut m, _) = civil(self.days());
        if self.spec.month.has(m) {
            return;
        }
        while !self.spec.month.has(m) {
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        }
        self.combine(days_from_civil(y, m, 1), false);
    }

    fn reverse_month(&mut self) {
        let (mut y, mut m, _) = civil(self.days());
        if self.spec.month.has(m) {
            return;
        }
        while !self.spec.month.has(m) {
            (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
        }
        self.combine(days_from_civil(y, m, month_len(y, m)), true);
    }

    /// Rolls to the next matching day, or to the 1st of the next month (to check the month
    /// again) if this one has none left.
    fn advance_day(&mut self) -> bool {
        let mut needle = self.days();
        if self.spec.day_matches(needle) {
            return false;
        }
        loop {
            needle += 1;
            if self.spec.day_matches(needle) || civil(needle).2 == 1 {
                break;
            }
        }
        self.combine(needle, false);
        true
    }

    fn reverse_day(&mut self) -> bool {
        let mut needle = self.days();
        if self.spec.day_matches(needle) {
            return false;
        }
        let month = civil(needle).1;
        loop {
            needle -= 1;
            if self.spec.day_matches(needle) || civil(needle).1 != month {
                break;
            }
        }
        self.combine(needle, true);
        true
    }

    fn advance_hour(&mut self) -> Option<bool> {
        if self.spec.hour.has(self.hour()) {
            return Some(false);
        }
        self.replace(Some(0), 0);
        self.roll(3600, |w| w.spec.hour.has(w.hour()), |w| w.hour() == 0)?;
        Some(true)
    }

    fn reverse_hour(&mut self) -> Option<bool> {
        if self.spec.hour.has(self.hour()) {
            return Some(false);
        }
        self.replace(Some(59), 59);
        self.roll(3600, |w| w.spec.hour.has(w.hour()), |w| w.hour() == 23)?;
        Some(true)
    }

    fn advance_minute(&mut self) -> Option<bool> {
        let minute = self.minute();
        if self.spec.minute.has(minute) {
            return Some(false);
        }
        self.replace(None, 0);
        if let Some(target) = self.single_minute() {
            self.tick(i64::from((target + 60 - minute) % 60) * 60)?;
        }
        self.roll(60, |w| w.spec.minute.has(w.minute()), |w| w.minute() == 0)?;
        Some(true)
    }

    fn reverse_minute(&mut self) -> Option<bool> {
        let minute = self.minute();
        if self.spec.minute.has(minute) {
            return Some(false);
        }
        self.replace(None, 59);
        if let Some(target) = self.single_minute() {
            self.tick(i64::from((minute + 60 - target) % 60) * 60)?;
        }
        self.roll(60, |w| w.spec.minute.has(w.minute()), |w| w.minute() == 59)?;
        Some(true)
    }

    /// The seconds field is always 0: five-field expressions only.
    fn advance_second(&mut self) -> Option<bool> {
        let second = self.second();
        if second == 0 {
            return Some(false);
        }
        self.tick(i64::from(60 - second))?;
        self.roll(1, |w| w.second() == 0, |w| w.second() == 0)?;
        Some(true)
    }

    fn reverse_second(&mut self) -> Option<bool> {
        let second = self.second();
        if second == 0 {
            return Some(false);
        }
        self.tick(i64::from(second))?;
        self.roll(1, |w| w.second() == 0, |w| w.second() == 59)?;
        Some(true)
    }

    /// cronsim's jump for a minute field of one value.
    fn single_minute(&self) -> Option<u32> {
        let values = self.spec.minute.values;
        values.is_power_of_two().then(|| values.trailing_zeros())
    }

    /// Ticks by `step` while `fits` is false, stopping early where the next larger field
    /// must be checked again (`wrapped`).
    fn roll(
        &mut self,
        step: i64,
        fits: impl Fn(&Self) -> bool,
        wrapped: impl Fn(&Self) -> bool,
    ) -> Option<()> {
        // A clock ticking through a day reaches a fit or a wrap within 60 ticks; twice that
        // bounds a zone that stepped its clock across the wrap.
        for _ in 0..120 {
            if fits(self) {
                break;
            }
            self.tick(step)?;
            if wrapped(self) {
                break;
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_round_trips_and_knows_its_weekdays() {
        for days in [-719_468, -1, 0, 59, 11_016, 20_513, 2_932_896] {
            let (y, m, d) = civil(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(days_from_civil(2024, 2, 29) + 1), (2024, 3, 1));
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
        assert_eq!(month_len(2000, 2), 29);
        assert_eq!(month_len(2100, 2), 28);
        // May 2026 ends on a Sunday, Feb 2026 on a Saturday, March 2026 on a Tuesday.
        assert_eq!(last_weekday(2026, 5), 29);
        assert_eq!(last_weekday(2026, 2), 27);
        assert_eq!(last_weekday(2026, 3), 31);
    }
}
