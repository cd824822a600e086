//! The typed values of the config's keys, checked as they are parsed so that a bad one
//! points at its line: a duration ([`Span`]), a count of missed intervals ([`Count`]), a
//! `match` regex ([`Pattern`]), a size in bytes ([`Size`]).

use regex::Regex;
use serde::Deserialize;

use crate::duration;

/// A duration: `"30s"` or a bare number of seconds.
#[derive(Debug)]
pub(super) struct Span(pub(super) f64);

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Text(String),
            Number(f64),
        }
        let secs = match Text::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a duration like \"30s\" or a number of seconds")
        })? {
            Text::Text(text) => duration::parse(&text)
                .map_err(serde::de::Error::custom)?
                .as_secs_f64(),
            // A bare TOML number is seconds, under the same rule and bound as "30s".
            Text::Number(n) => duration::parse(&n.to_string())
                .map_err(serde::de::Error::custom)?
                .as_secs_f64(),
        };
        Ok(Span(secs))
    }
}

/// A number of missed intervals: positive, fractions allowed.
#[derive(Debug)]
pub(super) struct Count(pub(super) f64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = f64::deserialize(d)?;
        if n.is_finite() && n > 0.0 {
            Ok(Count(n))
        } else {
            Err(serde::de::Error::custom(format!(
                "{n} is not a positive number of missed intervals"
            )))
        }
    }
}

/// `match`: compiled while parsing so a bad regex points at its line.
#[derive(Debug)]
pub(super) struct Pattern(pub(super) Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Regex::new(&text)
            .map(Pattern)
            .map_err(|e| serde::de::Error::custom(format!("invalid regex {text:?}: {e}")))
    }
}

/// A size in bytes: a bare number, or one with `KB`/`MB`/`GB` (powers of 1000) or
/// `KiB`/`MiB`/`GiB` (of 1024), as `log_size = "10MB"`.
#[derive(Debug)]
pub(super) struct Size(pub(super) u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Text(String),
            Number(u64),
        }
        let bad = || serde::de::Error::custom("expected a size like \"10MB\" or a number of bytes");
        let text = match Text::deserialize(d).map_err(|_| bad())? {
            Text::Number(n) => return Ok(Size(n)),
            Text::Text(text) => text,
        };
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let unit_bytes: u64 = match unit.trim() {
            "" | "B" => 1,
            "KB" | "kB" => 1000,
            "MB" => 1000 * 1000,
            "GB" => 1000 * 1000 * 1000,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            _ => return Err(bad()),
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit_bytes))
            .map(Size)
            .ok_or_else(bad)
    }
}
