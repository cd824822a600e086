//! The one clock: the wall-clock now as the protocol's Unix seconds, an instant as people
//! read it (local time), and one they type (RFC 3339). Spans hbmon measures itself use
//! `Instant` instead, so a stepped clock changes no duration.

/// The current time as Unix seconds, rounded to the microsecond so the file stays readable.
pub fn unix_now() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_secs_f64() * 1e6).round() / 1e6
}

/// The whole second `unix` falls in, in local time; `None` for one the time zone skips or
/// that is out of range.
pub fn local(unix: f64) -> Option<chrono::DateTime<chrono::Local>> {
    use chrono::TimeZone;
    chrono::Local.timestamp_opt(unix.floor() as i64, 0).single()
}

/// `YYYY-MM-DD HH:MM:SS` in local time, the protocol's `last_heartbeat_formatted`.
pub fn format_local(unix: f64) -> String {
    local(unix).map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// A time typed as RFC 3339 that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid time {input:?}: use RFC 3339 with an offset, e.g. 2026-03-29T00:00:00Z or 2026-03-29T02:00:00+02:00"
)]
pub struct ParseTimeError {
    pub input: String,
}

/// An RFC 3339 time (`2026-03-29T00:00:00Z`, `…+02:00`) as the protocol's Unix seconds.
pub fn parse_rfc3339(input: &str) -> Result<f64, ParseTimeError> {
    input
        .trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second() as f64 + f64::from(t.subsec_nanosecond()) / 1e9)
        .map_err(|_| ParseTimeError {
            input: input.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_microseconds_and_reads_back_in_local_time() {
        let now = unix_now();
        assert_eq!((now * 1e6).round() / 1e6, now);
        let shown = format_local(now);
        assert_eq!(shown.len(), "2026-12-02 05:20:00".len(), "{shown}");
        assert_eq!(
            format_local(86_400.5),
            format_local(86_400.0),
            "whole seconds"
        );
    }

    #[test]
    fn rfc3339_times_read_as_unix_seconds() {
        let cases = [
            ("2026-03-29T00:00:00Z", Some(1_774_742_400.0)),
            ("2026-03-29T02:00:00+02:00", Some(1_774_742_400.0)),
            ("2026-03-29T00:00:00.5Z", Some(1_774_742_400.5)),
            ("2026-03-29T00:00:00", None),
            ("2026-03-29", None),
            ("yesterday", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_rfc3339(input).ok(), want, "{input}");
        }
        assert_eq!(
            parse_rfc3339("soon").unwrap_err().to_string(),
            "invalid time \"soon\": use RFC 3339 with an offset, e.g. 2026-03-29T00:00:00Z or \
             2026-03-29T02:00:00+02:00"
        );
    }
}
