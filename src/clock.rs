//! The one clock: the wall-clock now as the protocol's Unix seconds, and an instant as
//! people read it (local time). Spans hbmon measures itself use `Instant` instead, so a
//! stepped clock changes no duration.

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
}
