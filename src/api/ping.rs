//! `/ping/NAME`: an HTTP ping's query and body turned into the [`Beat`] that
//! `hbmon beat NAME --no-pid` would write (HTTP carries no PID).

use clap::ValueEnum;
use serde_json::Value;

use crate::duration;
use crate::heartbeat::host;
use crate::store::{Beat, DataChange, Kind, Reported};

/// The error message of an error ping that gave none (`/fail`, `status=error`): the error
/// is counted and shown, so it needs some text.
pub const NO_MESSAGE: &str = "reported over HTTP without a message";

/// Why a ping was refused (400); each names the parameter and its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PingError {
    #[error("{param}={value:?}: {why}")]
    Value {
        param: String,
        value: String,
        why: String,
    },
    #[error("unknown parameter {0:?}: a ping takes interval, kind, status, msg and stopped")]
    Unknown(String),
    #[error("parameter {0:?} is given twice")]
    Twice(String),
    #[error("the body is not JSON ({0}); send text as a JSON string: '\"text\"'")]
    Body(String),
}

/// The beat for a ping with `query` and `body`; `fail` for `/ping/NAME/fail`.
pub fn beat(query: &[(String, String)], body: &[u8], fail: bool) -> Result<Beat, PingError> {
    let bad = |param: &str, value: &str, why: String| PingError::Value {
        param: param.to_owned(),
        value: value.to_owned(),
        why,
    };
    let mut interval = None;
    let mut kind = None;
    let mut status: Option<(&str, Reported)> = None;
    let mut msg: Option<&str> = None;
    let mut stopped: Option<&str> = None;
    for (i, (param, value)) in query.iter().enumerate() {
        if query[..i].iter().any(|(earlier, _)| earlier == param) {
            return Err(PingError::Twice(param.clone()));
        }
        match param.as_str() {
            "interval" => {
                let span = duration::parse(value).map_err(|e| {
                    bad(param, value, format!("{} (use e.g. 30s, 5m, 1h30m)", e.why))
                })?;
                interval = Some(span.as_secs_f64());
            }
            // Kind's `ValueEnum` is the one parser of `--kind` too.
            "kind" => {
                let parsed = Kind::from_str(value, false)
                    .map_err(|_| bad(param, value, "use app or job".to_owned()))?;
                kind = Some(parsed);
            }
            "status" => {
                let reported = match value.as_str() {
                    "alive" => Reported::Alive,
                    "error" => Reported::Error,
                    "stopped" => Reported::Stopped,
                    _ => return Err(bad(param, value, "use alive, error or stopped".into())),
                };
                status = Some((value, reported));
            }
            "msg" => msg = Some(value),
            "stopped" => {
                if !matches!(value.as_str(), "" | "1" | "true") {
                    return Err(bad(param, value, "a flag: write ?stopped".into()));
                }
                stopped = Some(value);
            }
            _ => return Err(PingError::Unknown(param.clone())),
        }
    }

    if fail && let Some(flag) = stopped {
        return Err(bad("stopped", flag, "conflicts with /fail".into()));
    }
    let implied = if fail {
        Some((Reported::Error, "/fail"))
    } else {
        stopped.map(|_| (Reported::Stopped, "stopped"))
    };
    let reported = match (implied, status) {
        (Some((implied, what)), Some((value, given))) if given != implied => {
            return Err(bad("status", value, format!("conflicts with {what}")));
        }
        (Some((implied, _)), _) => implied,
        (None, given) => given.map_or(Reported::Alive, |(_, r)| r),
    };
    let error = match (reported == Reported::Error, msg) {
        (true, msg) => Some(msg.unwrap_or(NO_MESSAGE).to_owned()),
        (false, None) => None,
        (false, Some(text)) => {
            return Err(bad("msg", text, "goes with status=error or /fail".into()));
        }
    };
    let data = if body.iter().all(u8::is_ascii_whitespace) {
        DataChange::Keep
    } else {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| PingError::Body(e.to_string()))?;
        DataChange::Replace(value)
    };
    Ok(Beat {
        status: reported,
        pid: None,
        interval,
        data,
        error,
        kind,
        job: None,
        host: host(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(text: &str) -> Vec<(String, String)> {
        text.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    fn ping(text: &str, body: &str, fail: bool) -> Result<Beat, PingError> {
        beat(&query(text), body.as_bytes(), fail)
    }

    #[test]
    fn parameters_mirror_hbmon_beat() {
        // (query, fail, reported, error, interval, kind)
        type Case<'a> = (
            &'a str,
            bool,
            Reported,
            Option<&'a str>,
            Option<f64>,
            Option<Kind>,
        );
        let cases: &[Case] = &[
            ("", false, Reported::Alive, None, None, None),
            (
                "interval=30s",
                false,
                Reported::Alive,
                None,
                Some(30.0),
                None,
            ),
            (
                "interval=1h30m&kind=job",
                false,
                Reported::Alive,
                None,
                Some(5400.0),
                Some(Kind::Job),
            ),
            (
                "kind=app",
                false,
                Reported::Alive,
                None,
                None,
                Some(Kind::App),
            ),
            ("status=alive", false, Reported::Alive, None, None, None),
            (
                "status=error&msg=disk full",
                false,
                Reported::Error,
                Some("disk full"),
                None,
                None,
            ),
            (
                "status=error",
                false,
                Reported::Error,
                Some(NO_MESSAGE),
                None,
                None,
            ),
            ("", true, Reported::Error, Some(NO_MESSAGE), None, None),
            (
                "msg=exit 3",
                true,
                Reported::Error,
                Some("exit 3"),
                None,
                None,
            ),
            (
                "status=error",
                true,
                Reported::Error,
                Some(NO_MESSAGE),
                None,
                None,
            ),
            ("stopped", false, Reported::Stopped, None, None, None),
            ("stopped=1", false, Reported::Stopped, None, None, None),
            (
                "stopped=true&status=stopped",
                false,
                Reported::Stopped,
                None,
                None,
                None,
            ),
            ("status=stopped", false, Reported::Stopped, None, None, None),
        ];
        for (text, fail, reported, error, interval, kind) in cases {
            let beat = ping(text, "", *fail).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(&beat.status, reported, "{text}");
            assert_eq!(beat.error.as_deref(), *error, "{text}");
            assert_eq!(beat.interval, *interval, "{text}");
            assert_eq!(beat.kind, *kind, "{text}");
            assert_eq!((beat.pid, &beat.data), (None, &DataChange::Keep), "{text}");
        }
    }

    #[test]
    fn bad_parameters_name_themselves_and_their_value() {
        let cases: &[(&str, bool, &str)] = &[
            (
                "interval=soon",
                false,
                "interval=\"soon\": expected a number (use e.g. 30s",
            ),
            ("interval=-5", false, "interval=\"-5\": must be a finite"),
            ("kind=cron", false, "kind=\"cron\": use app or job"),
            (
                "status=ok",
                false,
                "status=\"ok\": use alive, error or stopped",
            ),
            ("stopped=no", false, "stopped=\"no\": a flag"),
            (
                "msg=hi",
                false,
                "msg=\"hi\": goes with status=error or /fail",
            ),
            ("status=alive&msg=hi", false, "msg=\"hi\": goes with"),
            (
                "status=alive",
                true,
                "status=\"alive\": conflicts with /fail",
            ),
            (
                "status=error&stopped",
                false,
                "status=\"error\": conflicts with stopped",
            ),
            ("stopped", true, "stopped=\"\": conflicts with /fail"),
            ("pid=42", false, "unknown parameter \"pid\""),
            (
                "interval=1s&interval=2s",
                false,
                "parameter \"interval\" is given twice",
            ),
        ];
        for (text, fail, message) in cases {
            let err = ping(text, "", *fail).unwrap_err().to_string();
            assert!(err.starts_with(message), "{text}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn a_body_is_the_json_data() {
        let beat = ping("", "{\"rows\": 1200}\n", false).unwrap();
        assert_eq!(beat.data, DataChange::Replace(json!({"rows": 1200})));
        let beat = ping("", "\"text\"", false).unwrap();
        assert_eq!(beat.data, DataChange::Replace(json!("text")));
        assert_eq!(ping("", " \r\n", false).unwrap().data, DataChange::Keep);
        let err = ping("", "backup done", false).unwrap_err().to_string();
        assert!(
            err.starts_with("the body is not JSON (expected value"),
            "{err}"
        );
    }
}
