//! The sink's line protocol: one JSON object per line with the fields `hbmon beat` takes
//! ([`Request`]), checked into the [`Beat`] it writes — the one conversion `hbmon beat`
//! uses on both of its paths, socket and file — and the reply line.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cron::Schedule;
use crate::store::{self, Beat, DataChange, Entry, Kind, MAX_DATA_DEPTH, Reported};

/// The longest request line taken, newline included: a beat's data, not a log (a longer
/// line is answered with an error and the connection closed).
pub const MAX_LINE: usize = 64 * 1024;

/// One beat as a line of the sink's protocol, and as `hbmon beat` builds it from its flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The heartbeat name.
    pub name: String,
    /// The PID that beats; absent or `null`: none (a script that exits, a remote check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The interval promised between beats, in seconds (> 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
    /// A job's cron schedule, instead of `interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The IANA zone of `schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// Replaces `additional_data` (`--data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Sets these keys of `additional_data`, keeping the others (`--set`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub set: Map<String, Value>,
    /// An error beat with this message (`--error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A clean stop (`--stopped`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The host written; absent: the machine's name, as every writer here has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Reply once the beat is in the file, with the entry written (`ok {…}`), rather than
    /// `ok` once it is queued: for a writer that returns the entry (the library).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait: bool,
}

/// Why a request line was refused; the reply is `error: ` and this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("not a beat request: {0}")]
    Json(String),
    #[error("name: {0}")]
    Name(String),
    #[error("{field}: {why}")]
    Field { field: &'static str, why: String },
    #[error("{0} and {1} conflict: give one")]
    Conflict(&'static str, &'static str),
}

impl Request {
    /// Parses one line (its newline, if any, left on).
    pub fn parse(line: &[u8]) -> Result<Request, RequestError> {
        serde_json::from_slice(line).map_err(|e| RequestError::Json(e.to_string()))
    }

    /// The beat this request writes, checked as `hbmon beat` checks its flags.
    pub fn beat(&self) -> Result<Beat, RequestError> {
        store::parse_name(&self.name).map_err(RequestError::Name)?;
        if self.data.is_some() && !self.set.is_empty() {
            return Err(RequestError::Conflict("data", "set"));
        }
        if self.error.is_some() && self.stopped {
            return Err(RequestError::Conflict("error", "stopped"));
        }
        if self.schedule.is_some() && self.interval.is_some() {
            return Err(RequestError::Conflict("schedule", "interval"));
        }
        if let Some(seconds) = self.interval
            && !(seconds.is_finite() && seconds > 0.0)
        {
            return Err(field(
                "interval",
                format!("{seconds} is not a number of seconds > 0"),
            ));
        }
        let schedule = match (&self.schedule, &self.tz) {
            (None, Some(_)) => return Err(field("tz", "goes with schedule".to_owned())),
            (None, None) => None,
            (Some(expr), tz) => Some(
                Schedule::parse(expr, tz.as_deref())
                    .map_err(|e| field("schedule", e.to_string()))?,
            ),
        };
        let data = match (&self.data, self.set.is_empty()) {
            (Some(value), _) => DataChange::Replace(value.clone()),
            (None, true) => DataChange::Keep,
            (None, false) => DataChange::Merge(self.set.clone()),
        };
        let too_deep = match &data {
            DataChange::Keep => false,
            DataChange::Replace(value) => store::depth(value) > MAX_DATA_DEPTH,
            DataChange::Merge(pairs) => pairs.values().any(|v| store::depth(v) >= MAX_DATA_DEPTH),
        };
        if too_deep {
            return Err(field(
                "data",
                format!("nested more than {MAX_DATA_DEPTH} levels deep"),
            ));
        }
        let status = if self.stopped {
            Reported::Stopped
        } else if self.error.is_some() {
            Reported::Error
        } else {
            Reported::Alive
        };
        Ok(Beat {
            status,
            pid: self.pid,
            interval: self.interval,
            // A schedule is a job's period.
            kind: self.kind.or(schedule.as_ref().map(|_| Kind::Job)),
            schedule,
            data,
            error: self.error.clone(),
            job: None,
            host: self.host.clone().or_else(crate::store::host),
        })
    }
}

fn field(field: &'static str, why: String) -> RequestError {
    RequestError::Field { field, why }
}

/// The reply line (without its newline) to a request: `ok`, `ok ENTRY` (the entry written,
/// as JSON, for a request that waited), or `error: WHY`, escaped to one line.
pub fn reply(outcome: &Result<Option<Entry>, String>) -> String {
    match outcome {
        Ok(None) => "ok".to_owned(),
        Ok(Some(entry)) => match serde_json::to_string(entry) {
            Ok(json) => format!("ok {json}"),
            Err(e) => format!("error: {}", crate::text::escape(&e.to_string())),
        },
        Err(why) => format!("error: {}", crate::text::escape(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn beat_of(line: &str) -> Result<Beat, RequestError> {
        Request::parse(line.as_bytes())?.beat()
    }

    #[test]
    fn a_line_becomes_the_beat_hbmon_beat_would_write() {
        let beat = beat_of(r#"{"name": "w", "pid": 7, "interval": 30, "set": {"n": 3}}"#).unwrap();
        assert_eq!(
            (beat.status, beat.pid, beat.interval),
            (Reported::Alive, Some(7), Some(30.0))
        );
        assert_eq!(
            beat.data,
            DataChange::Merge(Map::from_iter([("n".to_owned(), json!(3))]))
        );
        let beat = beat_of(r#"{"name": "j", "schedule": "@daily", "tz": "UTC"}"#).unwrap();
        assert_eq!((beat.kind, beat.pid), (Some(Kind::Job), None));
        let beat = beat_of(r#"{"name": "e", "error": "disk full\n"}"#).unwrap();
        assert_eq!(beat.status, Reported::Error);
        assert_eq!(beat.error.as_deref(), Some("disk full\n"));
        let beat = beat_of(r#"{"name": "s", "stopped": true, "data": [1]}"#).unwrap();
        assert_eq!(
            (beat.status, beat.data),
            (Reported::Stopped, DataChange::Replace(json!([1])))
        );
    }

    #[test]
    fn refused_lines_say_which_field_and_why() {
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let deep_line = json!({"name": "d", "data": deep}).to_string();
        let cases = [
            ("not json", "not a beat request: expected ident"),
            (r#"{"name": "w", "colour": 1}"#, "unknown field `colour`"),
            (r#"{"pid": 1}"#, "missing field `name`"),
            (
                r#"{"name": "a\u0007"}"#,
                "name: \"a\\u{7}\" has a control character",
            ),
            (r#"{"name": "w", "pid": -1}"#, "invalid value"),
            (
                r#"{"name": "w", "interval": 0}"#,
                "interval: 0 is not a number of seconds > 0",
            ),
            (
                r#"{"name": "w", "data": 1, "set": {"a": 1}}"#,
                "data and set conflict",
            ),
            (
                r#"{"name": "w", "error": "x", "stopped": true}"#,
                "error and stopped conflict",
            ),
            (r#"{"name": "w", "tz": "UTC"}"#, "tz: goes with schedule"),
            (r#"{"name": "w", "schedule": "99 * * * *"}"#, "schedule: "),
            (
                r#"{"name": "w", "schedule": "@daily", "tz": "Mars/Base"}"#,
                "schedule: ",
            ),
            (r#"{"name": "w", "kind": "cron"}"#, "unknown variant `cron`"),
            (deep_line.as_str(), "recursion limit"),
        ];
        for (line, says) in cases {
            let err = beat_of(line).unwrap_err().to_string();
            assert!(err.contains(says), "{line}: {err}");
        }
        let nested = json!({"name": "d", "data": {"a": {"b": 1}}}).to_string();
        assert!(beat_of(&nested).is_ok());
    }

    #[test]
    fn a_request_written_by_hbmon_beat_reads_back_the_same() {
        let request = Request {
            name: "w".into(),
            pid: Some(9),
            interval: Some(1.5),
            set: Map::from_iter([("k".to_owned(), json!("v"))]),
            ..Request::default()
        };
        let line = serde_json::to_string(&request).unwrap();
        assert_eq!(
            line,
            r#"{"name":"w","pid":9,"interval":1.5,"set":{"k":"v"}}"#
        );
        assert_eq!(Request::parse(line.as_bytes()).unwrap(), request);
    }

    #[test]
    fn replies_are_one_line() {
        assert_eq!(reply(&Ok(None)), "ok");
        assert_eq!(reply(&Err("bad\nline".to_owned())), "error: bad\\nline");
        let entry = Beat::alive(Some(1)).apply(None, 5.0);
        let line = reply(&Ok(Some(entry.clone())));
        let json = line.strip_prefix("ok ").unwrap();
        assert!(!json.contains('\n'));
        assert_eq!(serde_json::from_str::<Entry>(json).unwrap(), entry);
    }
}
