//! One field of a cron expression, parsed as cronsim (healthchecks.io's engine) parses it:
//! `*`, lists, ranges, steps, month and weekday names, and the `L`, `LW`, `nL`, `n#k` items.
//!
//! The order of the checks is cronsim's, because it decides what an odd item means: a list
//! splits first, then (day-of-week) `L` and `#`, then a step, then a range. So `1-1/5` is
//! "from 1, every 5th" (a one-value range is a start), and `L/3` is just `L`.

/// The five fields, in the order an expression gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Minute,
    Hour,
    Day,
    Month,
    Weekday,
}

pub const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
pub const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Minute => "minute",
            Kind::Hour => "hour",
            Kind::Day => "day-of-month",
            Kind::Month => "month",
            Kind::Weekday => "day-of-week",
        }
    }

    /// The lowest and highest number the field takes (day-of-week: 0 and 7 are Sunday).
    pub fn range(self) -> (u32, u32) {
        match self {
            Kind::Minute => (0, 59),
            Kind::Hour => (0, 23),
            Kind::Day => (1, 31),
            Kind::Month => (1, 12),
            Kind::Weekday => (0, 7),
        }
    }

    /// Every value of the field, as a bit set.
    pub fn full(self) -> u64 {
        let (lo, hi) = self.range();
        (lo..=hi).fold(0, |bits, v| bits | 1 << v)
    }

    fn names(self) -> Option<(&'static [&'static str], u32)> {
        match self {
            Kind::Month => Some((&MONTHS, 1)),
            Kind::Weekday => Some((&WEEKDAYS, 0)),
            _ => None,
        }
    }
}

/// What one field matches: plain values as bits (bit `v` for value `v`), and the items only
/// a day field has. Weekday bits are kept as written (7 and 0 both Sunday); [`Field::sunday_folded`]
/// merges them for matching.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Field {
    pub values: u64,
    /// `L` (day-of-month): the month's last day.
    pub last: bool,
    /// `LW` (day-of-month): the month's last weekday (Monday to Friday).
    pub last_weekday: bool,
    /// `nL` (day-of-week): the last weekday `n` of the month, as bits 0–6.
    pub last_of: u8,
    /// `n#k` (day-of-week): `nth[k]` holds the weekdays (bits 0–6) wanted as the k-th of the
    /// month, k = 1..=5.
    pub nth: [u8; 6],
}

impl Field {
    fn values(values: u64) -> Field {
        Field {
            values,
            ..Field::default()
        }
    }

    fn union(self, other: Field) -> Field {
        let mut nth = self.nth;
        for (mine, theirs) in nth.iter_mut().zip(other.nth) {
            *mine |= theirs;
        }
        Field {
            values: self.values | other.values,
            last: self.last || other.last,
            last_weekday: self.last_weekday || other.last_weekday,
            last_of: self.last_of | other.last_of,
            nth,
        }
    }

    pub fn has(&self, v: u32) -> bool {
        self.values >> v & 1 == 1
    }

    /// The plain values, lowest first.
    pub fn list(&self) -> impl Iterator<Item = u32> + '_ {
        (0..64).filter(|&v| self.has(v))
    }

    /// Whether anything beyond plain values was asked for.
    pub fn has_extras(&self) -> bool {
        self.last || self.last_weekday || self.last_of != 0 || self.nth.iter().any(|&n| n != 0)
    }

    /// Weekday values with 7 (Sunday) folded onto 0, as cronsim matches `dow % 7`.
    pub fn sunday_folded(&self) -> u64 {
        (self.values | self.values >> 7) & 0x7f
    }
}

/// Why an item is refused; the caller names the expression and the field.
pub type Reason = String;

/// Parses field `kind` from `text`, which the caller has upper-cased (names and `L` are
/// case-insensitive, as cronsim upper-cases the whole expression).
pub fn parse(kind: Kind, text: &str) -> Result<Field, Reason> {
    if text == "*" {
        return Ok(Field::values(kind.full()));
    }
    if text.contains(',') {
        return text.split(',').try_fold(Field::default(), |acc, term| {
            Ok(acc.union(parse(kind, term)?))
        });
    }
    if kind == Kind::Weekday && text.contains('L') {
        let digits = text
            .strip_suffix('L')
            .filter(|d| !d.is_empty() && is_digits(d));
        let Some(digits) = digits else {
            return Err(format!(
                "{text:?}: L in the day-of-week field follows a weekday number (5L = the last \
                 Friday of the month)"
            ));
        };
        let day = value(kind, digits)? % 7;
        return Ok(Field {
            last_of: 1 << day,
            ..Field::default()
        });
    }
    if kind == Kind::Weekday
        && let Some((day, nth)) = text.split_once('#')
    {
        let k = number(nth)?;
        if !(1..=5).contains(&k) {
            return Err(format!(
                "{text:?}: the week in DAY#WEEK is 1-5 (MON#2 = the second Monday)"
            ));
        }
        let day = value(kind, day)? % 7;
        let mut field = Field::default();
        field.nth[k as usize] = 1 << day;
        return Ok(field);
    }
    if let Some((start, step)) = text.split_once('/') {
        let step = number(step)?;
        if step == 0 {
            return Err(format!("{text:?}: a step of 0"));
        }
        let items = parse(kind, start)?;
        if items.values == 0 {
            // `L/2`, `LW/3`: cronsim keeps the day and drops the step.
            return Ok(items);
        }
        let (_, hi) = kind.range();
        let mut from: Vec<u32> = items.list().collect();
        if let [start] = from[..] {
            from = (start..=hi).collect();
        }
        let step = usize::try_from(step).unwrap_or(usize::MAX);
        return Ok(Field::values(
            from.into_iter()
                .step_by(step)
                .fold(0, |bits, v| bits | 1 << v),
        ));
    }
    if let Some((start, end)) = text.split_once('-') {
        let (lo, hi) = (value(kind, start)?, value(kind, end)?);
        if hi < lo {
            return Err(format!("range {text:?} runs backwards"));
        }
        return Ok(Field::values((lo..=hi).fold(0, |bits, v| bits | 1 << v)));
    }
    if kind == Kind::Day && text == "LW" {
        return Ok(Field {
            last_weekday: true,
            ..Field::default()
        });
    }
    if kind == Kind::Day && text == "L" {
        return Ok(Field {
            last: true,
            ..Field::default()
        });
    }
    Ok(Field::values(1 << value(kind, text)?))
}

fn is_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// Digits only (no sign, no space), as a number; one too big for `u64` is still a number,
/// only out of every range.
fn number(text: &str) -> Result<u64, Reason> {
    if text.is_empty() {
        return Err("an empty item".to_owned());
    }
    if !is_digits(text) {
        return Err(format!("{text:?} is not a number"));
    }
    Ok(text.parse().unwrap_or(u64::MAX))
}

/// A value of the field: a number in its range, or a month or weekday name.
fn value(kind: Kind, text: &str) -> Result<u32, Reason> {
    if let Some((names, first)) = kind.names()
        && let Some(i) = names.iter().position(|n| *n == text)
    {
        return Ok(i as u32 + first);
    }
    let (lo, hi) = kind.range();
    let n = number(text).map_err(|reason| match kind.names() {
        Some((names, _)) if !text.is_empty() => format!(
            "{text:?} is not a number or a name ({}-{})",
            names[0],
            names[names.len() - 1]
        ),
        _ => reason,
    })?;
    if n < u64::from(lo) || n > u64::from(hi) {
        let shown = if n == u64::MAX {
            text.to_owned()
        } else {
            n.to_string()
        };
        return Err(format!("{shown} is out of range {lo}-{hi}"));
    }
    Ok(n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(values: &[u32]) -> u64 {
        values.iter().fold(0, |b, v| b | 1 << v)
    }

    #[test]
    fn items_mean_what_cronsim_makes_of_them() {
        let cases: &[(Kind, &str, u64)] = &[
            (Kind::Minute, "*/15", bits(&[0, 15, 30, 45])),
            (Kind::Minute, "10-40/10", bits(&[10, 20, 30, 40])),
            (Kind::Minute, "5/20", bits(&[5, 25, 45])),
            (Kind::Minute, "1-1/20", bits(&[1, 21, 41])),
            (Kind::Minute, "*/100", bits(&[0])),
            (Kind::Minute, "007", bits(&[7])),
            (Kind::Hour, "1,3-4,*/12", bits(&[0, 1, 3, 4, 12])),
            (Kind::Day, "*/10", bits(&[1, 11, 21, 31])),
            (Kind::Month, "JAN,MAR-MAY", bits(&[1, 3, 4, 5])),
            (Kind::Month, "NOV/1", bits(&[11, 12])),
            (Kind::Weekday, "*/2", bits(&[0, 2, 4, 6])),
            (Kind::Weekday, "SUN-SAT", bits(&[0, 1, 2, 3, 4, 5, 6])),
            (Kind::Weekday, "MON/3", bits(&[1, 4, 7])),
            (Kind::Weekday, "7", bits(&[7])),
        ];
        for &(kind, text, want) in cases {
            assert_eq!(parse(kind, text).map(|f| f.values), Ok(want), "{text}");
        }
    }

    #[test]
    fn day_items_beyond_values() {
        let day = parse(Kind::Day, "1,L").unwrap();
        assert!(day.last && day.has(1) && !day.last_weekday);
        assert!(parse(Kind::Day, "LW").unwrap().last_weekday);
        assert!(
            parse(Kind::Day, "L/5").unwrap().last,
            "cronsim drops the step"
        );
        assert_eq!(parse(Kind::Weekday, "5L").unwrap().last_of, 1 << 5);
        assert_eq!(
            parse(Kind::Weekday, "7L").unwrap().last_of,
            1,
            "7 is Sunday"
        );
        assert_eq!(parse(Kind::Weekday, "MON#2").unwrap().nth[2], 1 << 1);
        assert_eq!(parse(Kind::Weekday, "0#5").unwrap().nth[5], 1);
        assert_eq!(parse(Kind::Weekday, "7").unwrap().sunday_folded(), 1);
    }

    #[test]
    fn bad_items_say_why() {
        let cases: &[(Kind, &str, &str)] = &[
            (Kind::Hour, "25", "25 is out of range 0-23"),
            (Kind::Minute, "60", "60 is out of range 0-59"),
            (Kind::Day, "0", "0 is out of range 1-31"),
            (
                Kind::Minute,
                "99999999999999999999",
                "99999999999999999999 is out of range 0-59",
            ),
            (Kind::Minute, "1,,2", "an empty item"),
            (Kind::Minute, "5-", "an empty item"),
            (Kind::Minute, "-5", "an empty item"),
            (Kind::Minute, "x", "\"x\" is not a number"),
            (Kind::Minute, "+5", "\"+5\" is not a number"),
            (Kind::Minute, "*/0", "\"*/0\": a step of 0"),
            (Kind::Minute, "*/x", "\"x\" is not a number"),
            (Kind::Minute, "L", "\"L\" is not a number"),
            (Kind::Minute, "40-20", "range \"40-20\" runs backwards"),
            (Kind::Weekday, "FRI-MON", "range \"FRI-MON\" runs backwards"),
            (
                Kind::Month,
                "JANUARY",
                "\"JANUARY\" is not a number or a name (JAN-DEC)",
            ),
            (
                Kind::Weekday,
                "FUN",
                "\"FUN\" is not a number or a name (SUN-SAT)",
            ),
            (Kind::Weekday, "8", "8 is out of range 0-7"),
            (
                Kind::Weekday,
                "L",
                "\"L\": L in the day-of-week field follows a weekday number (5L = the last \
                 Friday of the month)",
            ),
            (
                Kind::Weekday,
                "FRIL",
                "\"FRIL\": L in the day-of-week field follows a weekday number (5L = the last \
                 Friday of the month)",
            ),
            (
                Kind::Weekday,
                "1#6",
                "\"1#6\": the week in DAY#WEEK is 1-5 (MON#2 = the second Monday)",
            ),
            (Kind::Weekday, "1#", "an empty item"),
            (Kind::Day, "1#2", "\"1#2\" is not a number"),
            (Kind::Day, "W", "\"W\" is not a number"),
        ];
        for &(kind, text, want) in cases {
            assert_eq!(parse(kind, text), Err(want.to_owned()), "{text}");
        }
    }
}
