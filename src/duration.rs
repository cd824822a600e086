//! Human time spans: parsing `30s`, `5m`, `1h30m`, `250ms`, `7d` and printing them back.

use std::time::Duration;

/// A time span that failed to parse, with the text that was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {why} (use e.g. 30s, 5m, 1h30m, 250ms, 7d)")]
pub struct ParseDurationError {
    pub input: String,
    pub why: &'static str,
}

/// The longest span hbmon takes anywhere (an interval, a timeout, a pause): past a year a
/// span is a typo (`100000000000d`), and every span must stay exact in an `f64` of seconds.
pub const MAX: Duration = Duration::from_secs(366 * 86_400);

/// The units, largest first: a span names them in this order, each at most once.
const UNITS: [(&[&str], f64); 6] = [
    (&["w"], 604_800.0),
    (&["d", "day", "days"], 86_400.0),
    (&["h", "hr", "hrs"], 3600.0),
    (&["m", "min", "mins"], 60.0),
    (&["s", "sec", "secs"], 1.0),
    (&["ms"], 0.001),
];

/// Parses `1h30m`, `90s`, `1.5s`, `250ms`, `2d`, `5m30` (a number after the last unit is
/// the next smaller one: `5m30s`); a bare number means seconds. One rule for every span
/// hbmon reads — flags, the config, HTTP queries: digits with an optional fraction, units
/// largest first and each once, no sign or exponent, at most [`MAX`].
pub fn parse(input: &str) -> Result<Duration, ParseDurationError> {
    let fail = |why| ParseDurationError {
        input: input.to_owned(),
        why,
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(fail("empty"));
    }
    if text.starts_with('-') {
        return Err(fail("must not be negative"));
    }
    let mut total = 0.0_f64;
    let mut rest = text;
    // Index into UNITS of the next unit allowed: only smaller ones after each.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(fail("expected a number"));
        }
        let digits = &rest[..number_len];
        if digits.starts_with('.') || digits.ends_with('.') || digits.matches('.').count() > 1 {
            return Err(fail("not a number"));
        }
        let value: f64 = digits.parse().map_err(|_| fail("not a number"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let index = if unit.is_empty() {
            // A bare number: seconds alone, else the unit after the last one given.
            if total == 0.0 && next_unit == 0 {
                4
            } else if next_unit < UNITS.len() {
                next_unit
            } else {
                return Err(fail("nothing is smaller than ms"));
            }
        } else {
            let index = UNITS
                .iter()
                .position(|(names, _)| names.contains(&unit))
                .ok_or_else(|| fail("unknown unit"))?;
            if index < next_unit {
                return Err(fail(
                    "units go largest first, each once (1h30m, not 30m1h or 1h1h)",
                ));
            }
            index
        };
        total += value * UNITS[index].1;
        next_unit = index + 1;
        rest = &rest[unit_len..];
    }
    within_bounds(total).ok_or_else(|| fail("out of range: at most 366d"))
}

/// A number of seconds as a span, under the rule [`parse`] applies (a config may give a
/// bare TOML number): `None` when negative, not finite or over [`MAX`].
pub fn within_bounds(secs: f64) -> Option<Duration> {
    let span = Duration::try_from_secs_f64(secs).ok()?;
    (span <= MAX).then_some(span)
}

/// [`parse`] for a span that must be more than zero: a zero interval promises nothing (the
/// monitor would judge by its default instead) and, as a keepalive, would beat in a busy
/// loop; a zero timeout would kill at once.
pub fn parse_positive(input: &str) -> Result<Duration, ParseDurationError> {
    let span = parse(input)?;
    if span.is_zero() {
        return Err(ParseDurationError {
            input: input.to_owned(),
            why: "must be more than zero",
        });
    }
    Ok(span)
}

/// Compact span for tables: `850ms`, `42s`, `4m12s`, `3h05m`, `2d04h`.
pub fn format_secs(secs: f64) -> String {
    if !secs.is_finite() {
        return "-".to_owned();
    }
    if secs < 1.0 {
        return format!("{}ms", (secs * 1000.0).round() as u64);
    }
    let total = secs.floor() as u64;
    let (d, h, m, s) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

/// A run's length where tenths of a second matter (a run shorter than it should be):
/// `0.4s`, `29.7s` under a minute, else as [`format_secs`].
pub fn format_tenths(secs: f64) -> String {
    if secs.is_finite() && secs < 60.0 {
        format!("{:.1}s", secs.max(0.0))
    } else {
        format_secs(secs)
    }
}

/// A span [`parse`] reads back to the same value, for files people edit: `1h30m`, `45s`,
/// `250ms`, `1m30s500ms`. Whole milliseconds; anything finer is rounded.
pub fn format_exact(secs: f64) -> String {
    let millis = (secs.max(0.0) * 1000.0).round() as u64;
    if millis == 0 {
        return "0s".to_owned();
    }
    let parts = [
        (millis / 86_400_000, "d"),
        (millis % 86_400_000 / 3_600_000, "h"),
        (millis % 3_600_000 / 60_000, "m"),
        (millis % 60_000 / 1000, "s"),
        (millis % 1000, "ms"),
    ];
    let mut out = String::new();
    for (n, unit) in parts.iter().filter(|(n, _)| *n > 0) {
        out.push_str(&n.to_string());
        out.push_str(unit);
    }
    out
}

/// [`format_secs`] for a [`Duration`].
pub fn format(duration: Duration) -> String {
    format_secs(duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("30s", 30.0),
            ("5m", 300.0),
            ("1h30m", 5400.0),
            ("250ms", 0.25),
            ("7d", 604_800.0),
            ("1.5s", 1.5),
            ("45", 45.0),
            (" 2m ", 120.0),
            ("1d2h3m4s", 93_784.0),
            ("5m30", 330.0),
            ("1h30", 5400.0),
            ("2s500", 2.5),
            ("366d", 366.0 * 86_400.0),
            ("1w2d", 777_600.0),
        ];
        for (text, secs) in cases {
            assert_eq!(parse(text).unwrap().as_secs_f64(), secs, "{text}");
        }
    }

    #[test]
    fn rejects_bad_input_naming_it() {
        for (text, why) in [
            ("", "empty"),
            ("abc", "expected a number"),
            ("5x", "unknown unit"),
            ("m5", "expected a number"),
            ("-3s", "must not be negative"),
            ("-5", "must not be negative"),
            ("1..2s", "not a number"),
            (".5s", "not a number"),
            ("inf", "expected a number"),
            ("NaN", "expected a number"),
            ("s", "expected a number"),
            ("1e9", "unknown unit"),
            (
                "1h1h",
                "units go largest first, each once (1h30m, not 30m1h or 1h1h)",
            ),
            (
                "30m1h",
                "units go largest first, each once (1h30m, not 30m1h or 1h1h)",
            ),
            ("5ms3", "nothing is smaller than ms"),
            ("100000000000d", "out of range: at most 366d"),
            ("367d", "out of range: at most 366d"),
            ("+5s", "expected a number"),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!((err.input.as_str(), err.why), (text, why));
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
        }
    }

    #[test]
    fn positive_spans_refuse_zero_naming_it() {
        assert_eq!(parse_positive("250ms").unwrap(), Duration::from_millis(250));
        for text in ["0s", "0", "0ms"] {
            let err = parse_positive(text).unwrap_err();
            assert_eq!(err.why, "must be more than zero", "{text}");
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
        }
        assert_eq!(parse_positive("5x").unwrap_err().why, "unknown unit");
    }

    #[test]
    fn exact_format_reads_back() {
        let cases = [
            (0.0, "0s"),
            (0.25, "250ms"),
            (45.0, "45s"),
            (90.5, "1m30s500ms"),
            (5400.0, "1h30m"),
            (93_784.0, "1d2h3m4s"),
        ];
        for (secs, text) in cases {
            assert_eq!(format_exact(secs), text);
            assert_eq!(parse(text).unwrap().as_secs_f64(), secs, "{text}");
        }
    }

    #[test]
    fn formats_compactly() {
        let cases = [
            (0.25, "250ms"),
            (42.9, "42s"),
            (252.0, "4m12s"),
            (3600.0 * 3.0 + 300.0, "3h05m"),
            (86_400.0 * 2.0 + 3600.0 * 4.0, "2d04h"),
            (f64::NAN, "-"),
        ];
        for (secs, text) in cases {
            assert_eq!(format_secs(secs), text);
        }
    }

    #[test]
    fn run_lengths_keep_tenths_under_a_minute() {
        let cases = [
            (0.04, "0.0s"),
            (0.4, "0.4s"),
            (29.74, "29.7s"),
            (59.94, "59.9s"),
            (60.0, "1m00s"),
            (90.0, "1m30s"),
        ];
        for (secs, text) in cases {
            assert_eq!(format_tenths(secs), text, "{secs}");
        }
    }
}
