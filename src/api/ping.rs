//! `/ping/NAME`, `/ping/NAME/fail`, `/ping/NAME/start` and `/ping/NAME/CODE`: an HTTP
//! ping's path, query and body turned into the [`Beat`] it writes (HTTP carries no PID) —
//! the one `hbmon beat NAME --no-pid` would write, or, for a job's run, the one `hbmon run`
//! writes at the run's start and at its end.

use std::time::Duration;

use clap::ValueEnum;
use serde_json::{Value, json};

use crate::cron::{Schedule, ScheduleError};
use crate::duration;
use crate::heartbeat::host;
use crate::store::{self, Beat, DataChange, Entry, Kind, MAX_DATA_DEPTH, Reported, tail_text};

/// The error message of an error ping that gave none (`/fail`, `status=error`): the error
/// is counted and shown, so it needs some text.
pub const NO_MESSAGE: &str = "reported over HTTP without a message";

/// Why a ping was refused (400); each names the parameter or path segment and its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PingError {
    #[error("{0:?} after /ping/NAME/ is not start, fail or an exit code from 0 to 255")]
    Event(String),
    #[error("{param}={value:?}: {why}")]
    Value {
        param: String,
        value: String,
        why: String,
    },
    #[error(
        "unknown parameter {0:?}: a ping takes interval, schedule, tz, kind, status, msg and stopped"
    )]
    Unknown(String),
    #[error("parameter {0:?} is given twice")]
    Twice(String),
    /// The heartbeat file's readers could not decode the entry (`store::MAX_DATA_DEPTH`).
    #[error(
        "the body is JSON nested more than {MAX_DATA_DEPTH} levels deep, deeper than the \
         heartbeat file's readers go"
    )]
    TooDeep,
}

/// What a ping's path says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `/ping/NAME`: alive; for a job with a run in progress, the run's success.
    Beat,
    /// `/ping/NAME/fail`: an error; for a job with a run in progress, the run's failure.
    Fail,
    /// `/ping/NAME/start`: a job's run starts.
    Start,
    /// `/ping/NAME/CODE`: a job's run ended with this exit code.
    Exit(u8),
}

impl Event {
    /// The event named by the segment after `/ping/NAME/`.
    pub fn parse(segment: &str) -> Result<Event, PingError> {
        match segment {
            "fail" => Ok(Event::Fail),
            "start" => Ok(Event::Start),
            // Digits only: `u8`'s parser would also take `+3`.
            code if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) => code
                .parse()
                .map(Event::Exit)
                .map_err(|_| PingError::Event(segment.to_owned())),
            _ => Err(PingError::Event(segment.to_owned())),
        }
    }

    /// The path segment, for messages; `None` for a bare `/ping/NAME`.
    fn segment(self) -> Option<String> {
        match self {
            Event::Beat => None,
            Event::Fail => Some("/fail".to_owned()),
            Event::Start => Some("/start".to_owned()),
            Event::Exit(code) => Some(format!("/{code}")),
        }
    }
}

/// A ping, checked: what it says, waiting for the entry it changes (see [`Ping::beat`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Ping {
    event: Event,
    /// For `/ping/NAME` and `/fail`: `alive`, `error` or `stopped`.
    reported: Reported,
    msg: Option<String>,
    interval: Option<f64>,
    /// `?schedule=EXPR&tz=TZ`: the job's cron schedule, promised as `interval` is.
    schedule: Option<Schedule>,
    kind: Option<Kind>,
    /// The body as the data: JSON as is, anything else as `{"output_tail": …}`.
    body: Option<Value>,
}

impl Ping {
    /// The ping `event` with `query` and `body`.
    pub fn parse(event: Event, query: &[(String, String)], body: &[u8]) -> Result<Ping, PingError> {
        let bad = |param: &str, value: &str, why: String| PingError::Value {
            param: param.to_owned(),
            value: value.to_owned(),
            why,
        };
        let mut interval = None;
        let mut schedule: Option<&str> = None;
        let mut tz: Option<&str> = None;
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
                    let span = duration::parse_positive(value).map_err(|e| {
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
                "schedule" => schedule = Some(value),
                "tz" => tz = Some(value),
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

        let (schedule, kind) = promised_schedule(schedule, tz, interval, kind)?;
        // The path says what happened; the query may repeat it, never contradict it.
        let segment = event.segment();
        if let (Some(segment), Some(flag)) = (&segment, stopped) {
            return Err(bad("stopped", flag, format!("conflicts with {segment}")));
        }
        let implied = match event {
            Event::Fail => Some((Reported::Error, "/fail")),
            _ => stopped.map(|_| (Reported::Stopped, "stopped")),
        };
        let reported = match (&segment, implied, status) {
            (_, Some((implied, what)), Some((value, given))) if given != implied => {
                return Err(bad("status", value, format!("conflicts with {what}")));
            }
            (Some(segment), None, Some((value, _))) => {
                return Err(bad("status", value, format!("conflicts with {segment}")));
            }
            (_, Some((implied, _)), _) => implied,
            (_, None, given) => given.map_or(Reported::Alive, |(_, r)| r),
        };
        if let (Event::Start | Event::Exit(_), Some(Kind::App)) = (event, kind) {
            let segment = segment.unwrap_or_default();
            return Err(bad(
                "kind",
                "app",
                format!("conflicts with {segment}: a run is a job's"),
            ));
        }
        let failure = match event {
            Event::Exit(code) => code != 0,
            Event::Start => false,
            Event::Beat | Event::Fail => reported == Reported::Error,
        };
        if let Some(text) = msg
            && !failure
        {
            return Err(bad(
                "msg",
                text,
                "goes with status=error, /fail or a non-zero exit code".into(),
            ));
        }
        Ok(Ping {
            event,
            reported,
            msg: msg.map(str::to_owned),
            interval,
            schedule,
            kind,
            body: data(body)?,
        })
    }

    /// The beat this ping writes at `now` over the entry `previous`; `took`: the time since
    /// the start in `previous` on the monotonic clock, if the caller saw that start.
    fn beat(&self, previous: Option<&Entry>, now: f64, took: Option<Duration>) -> Beat {
        // A run is in progress while the newest beat is a job's `running`: a `/start`, or
        // the start of `hbmon run`.
        let run = previous.filter(|e| e.kind() == Kind::Job && e.reported() == Reported::Running);
        let started_at = run.and_then(|e| e.started_at);
        let data = || {
            self.body
                .clone()
                .map_or(DataChange::Keep, DataChange::Replace)
        };
        // A run that ends with no `/start` before it has no start time and no duration,
        // rather than made-up ones (healthchecks.io shows no duration then either); a start
        // left from an earlier run goes too: the period (`overdue`) counts from this end.
        let end = |exit_code: Option<u8>, reason: &str| {
            Beat::finished(started_at, now, took, exit_code, reason, data())
        };
        let beat = match self.event {
            // A new run starts afresh, as under `hbmon run`: the last run's data (its output
            // tail) does not stay on show while this one runs.
            Event::Start => Beat::running(
                now,
                DataChange::Replace(self.body.clone().unwrap_or(Value::Null)),
            ),
            Event::Exit(code) => match &self.msg {
                Some(msg) => end(Some(code), msg),
                None => end(Some(code), &format!("exited with code {code}")),
            },
            // As healthchecks.io takes them after a start: a bare ping is the run's success,
            // `/fail` its failure (of no known exit code).
            Event::Beat | Event::Fail if run.is_some() && self.reported != Reported::Stopped => {
                let succeeded = self.reported == Reported::Alive;
                end(
                    succeeded.then_some(0),
                    self.msg.as_deref().unwrap_or(NO_MESSAGE),
                )
            }
            Event::Beat | Event::Fail => {
                let error = (self.reported == Reported::Error)
                    .then(|| self.msg.clone().unwrap_or_else(|| NO_MESSAGE.to_owned()));
                Beat {
                    status: self.reported.clone(),
                    data: data(),
                    error,
                    ..Beat::alive(None)
                }
            }
        };
        Beat {
            pid: None,
            interval: self.interval,
            schedule: self.schedule.clone(),
            kind: self.kind,
            host: host(),
            ..beat
        }
    }

    /// The entry after this ping at `now`, over the entry `previous` (`took`: see `beat`).
    pub fn apply(&self, previous: Option<Entry>, now: f64, took: Option<Duration>) -> Entry {
        self.beat(previous.as_ref(), now, took).apply(previous, now)
    }
}

/// `?schedule=EXPR&tz=TZ`, checked: a job's period instead of an interval (so never beside
/// one, nor with `kind=app`), which makes the ping a job's.
fn promised_schedule(
    schedule: Option<&str>,
    tz: Option<&str>,
    interval: Option<f64>,
    kind: Option<Kind>,
) -> Result<(Option<Schedule>, Option<Kind>), PingError> {
    let bad = |param: &str, value: &str, why: String| PingError::Value {
        param: param.to_owned(),
        value: value.to_owned(),
        why,
    };
    let Some(expr) = schedule else {
        return match tz {
            Some(zone) => Err(bad("tz", zone, "goes with schedule=".into())),
            None => Ok((None, kind)),
        };
    };
    if interval.is_some() {
        return Err(bad(
            "schedule",
            expr,
            "a job has a schedule or an interval, not both".into(),
        ));
    }
    if kind == Some(Kind::App) {
        return Err(bad(
            "kind",
            "app",
            "conflicts with schedule: a schedule is a job's".into(),
        ));
    }
    let parsed = Schedule::parse(expr, tz).map_err(|e| match e {
        ScheduleError::Zone { .. } => bad("tz", tz.unwrap_or_default(), e.to_string()),
        _ => bad("schedule", expr, e.to_string()),
    })?;
    Ok((Some(parsed), Some(Kind::Job)))
}

/// The body as the data: JSON as is, if the file can keep it. Not refused when it is not
/// JSON: healthchecks.io users send a log as the body (`curl --data-binary @log.txt`); it
/// is kept as `hbmon run` keeps a job's output. `None` for no body.
fn data(body: &[u8]) -> Result<Option<Value>, PingError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) if store::depth(&value) > MAX_DATA_DEPTH => Err(PingError::TooDeep),
        Ok(value) => Ok(Some(value)),
        // JSON deeper than serde_json's own limit is JSON too, not a log (serde_json
        // names this error only in its message).
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => Err(PingError::TooDeep),
        Err(_) => Ok(Some(json!({ "output_tail": tail_text(body) }))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TAIL_BYTES;
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

    /// The ping at `path` (`""`, `/fail`, `/start`, `/3`) with `text` as its query.
    fn ping(path: &str, text: &str, body: &str) -> Result<Ping, PingError> {
        let event = match path.strip_prefix('/') {
            None => Event::Beat,
            Some(segment) => Event::parse(segment)?,
        };
        Ping::parse(event, &query(text), body.as_bytes())
    }

    #[test]
    fn path_segments_name_an_event_or_are_refused_by_value() {
        let cases: &[(&str, Result<Event, &str>)] = &[
            ("fail", Ok(Event::Fail)),
            ("start", Ok(Event::Start)),
            ("0", Ok(Event::Exit(0))),
            ("3", Ok(Event::Exit(3))),
            ("255", Ok(Event::Exit(255))),
            ("007", Ok(Event::Exit(7))),
            (
                "256",
                Err("\"256\" after /ping/NAME/ is not start, fail or an exit code"),
            ),
            ("-1", Err("\"-1\" after")),
            ("+3", Err("\"+3\" after")),
            ("abc", Err("\"abc\" after")),
            ("Start", Err("\"Start\" after")),
            ("", Err("\"\" after")),
            ("3.0", Err("\"3.0\" after")),
            (
                "99999999999999999999",
                Err("\"99999999999999999999\" after"),
            ),
        ];
        for (segment, expected) in cases {
            match (Event::parse(segment), expected) {
                (Ok(event), Ok(want)) => assert_eq!(event, *want, "{segment}"),
                (Err(e), Err(message)) => {
                    assert!(e.to_string().starts_with(message), "{segment}: {e}");
                }
                (got, _) => panic!("{segment:?}: {got:?}"),
            }
        }
    }

    /// What a beat says, in one line: status, error, interval, kind (the PID is always none).
    fn said(beat: &Beat) -> String {
        assert_eq!(beat.pid, None);
        let mut said = vec![beat.status.as_str().to_owned()];
        said.extend(beat.error.as_ref().map(|e| format!("error {e:?}")));
        said.extend(beat.interval.map(|i| format!("interval {i}")));
        said.extend(beat.kind.map(|k| format!("kind {}", k.as_str())));
        said.join(", ")
    }

    #[test]
    fn parameters_mirror_hbmon_beat() {
        let no_message = format!("error {NO_MESSAGE:?}");
        let no_message = no_message.as_str();
        // (path, query, the beat of a ping to a name not in the file)
        let cases: &[(&str, &str, &[&str])] = &[
            ("", "", &["alive"]),
            ("", "interval=30s", &["alive", "interval 30"]),
            (
                "",
                "interval=1h30m&kind=job",
                &["alive", "interval 5400", "kind job"],
            ),
            ("", "kind=app", &["alive", "kind app"]),
            ("", "status=alive", &["alive"]),
            (
                "",
                "status=error&msg=disk full",
                &["error", "error \"disk full\""],
            ),
            ("", "status=error", &["error", no_message]),
            ("/fail", "", &["error", no_message]),
            ("/fail", "msg=exit 3", &["error", "error \"exit 3\""]),
            ("/fail", "status=error", &["error", no_message]),
            ("", "stopped", &["stopped"]),
            ("", "stopped=1", &["stopped"]),
            ("", "stopped=true&status=stopped", &["stopped"]),
            ("", "status=stopped", &["stopped"]),
            ("/start", "interval=1d", &["running", "interval 86400"]),
            ("/start", "kind=job", &["running", "kind job"]),
            ("/0", "", &["succeeded"]),
            ("/3", "", &["failed", "error \"exited with code 3\""]),
            ("/3", "msg=disk full", &["failed", "error \"disk full\""]),
            (
                "/255",
                "interval=1h",
                &["failed", "error \"exited with code 255\"", "interval 3600"],
            ),
        ];
        for (path, text, expected) in cases {
            let beat = ping(path, text, "")
                .unwrap_or_else(|e| panic!("{path}?{text}: {e}"))
                .beat(None, 10.0, None);
            assert_eq!(said(&beat), expected.join(", "), "{path}?{text}");
        }
    }

    #[test]
    fn bad_parameters_name_themselves_and_their_value() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "",
                "interval=soon",
                "interval=\"soon\": expected a number (use e.g. 30s",
            ),
            ("", "interval=-5", "interval=\"-5\": must not be negative"),
            (
                "",
                "interval=1h1h",
                "interval=\"1h1h\": units go largest first",
            ),
            ("", "interval=0s", "interval=\"0s\": must be more than zero"),
            ("/start", "interval=x", "interval=\"x\": expected a number"),
            ("", "kind=cron", "kind=\"cron\": use app or job"),
            (
                "",
                "status=ok",
                "status=\"ok\": use alive, error or stopped",
            ),
            ("", "stopped=no", "stopped=\"no\": a flag"),
            (
                "",
                "msg=hi",
                "msg=\"hi\": goes with status=error, /fail or a non-zero exit code",
            ),
            ("", "status=alive&msg=hi", "msg=\"hi\": goes with"),
            ("/0", "msg=hi", "msg=\"hi\": goes with"),
            ("/start", "msg=hi", "msg=\"hi\": goes with"),
            (
                "/fail",
                "status=alive",
                "status=\"alive\": conflicts with /fail",
            ),
            (
                "",
                "status=error&stopped",
                "status=\"error\": conflicts with stopped",
            ),
            ("/fail", "stopped", "stopped=\"\": conflicts with /fail"),
            ("/start", "stopped", "stopped=\"\": conflicts with /start"),
            ("/3", "stopped=1", "stopped=\"1\": conflicts with /3"),
            (
                "/start",
                "status=alive",
                "status=\"alive\": conflicts with /start",
            ),
            ("/0", "status=error", "status=\"error\": conflicts with /0"),
            (
                "/start",
                "kind=app",
                "kind=\"app\": conflicts with /start: a run is a job's",
            ),
            ("/7", "kind=app", "kind=\"app\": conflicts with /7"),
            ("", "pid=42", "unknown parameter \"pid\""),
            ("/start", "every=1d", "unknown parameter \"every\""),
            (
                "",
                "interval=1s&interval=2s",
                "parameter \"interval\" is given twice",
            ),
        ];
        for (path, text, message) in cases {
            let err = ping(path, text, "").unwrap_err().to_string();
            assert!(err.starts_with(message), "{path}?{text}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    /// Pings `(path, query, at)` in turn.
    type Pings<'a> = &'a [(&'a str, &'a str, f64)];

    /// The entry after `pings`, each over the one before.
    fn after(pings: Pings) -> Option<Entry> {
        pings.iter().fold(None, |entry, (path, text, at)| {
            Some(ping(path, text, "").unwrap().apply(entry, *at, None))
        })
    }

    /// A finished or running entry in one line: status, exit code, start, duration, error.
    fn run_of(entry: &Entry) -> String {
        assert_eq!(entry.pid, None);
        let mut said = vec![entry.reported().as_str().to_owned()];
        said.extend(entry.exit_code.map(|c| format!("exit {c}")));
        said.extend(entry.started_at.map(|t| format!("from {t}")));
        said.extend(entry.duration.map(|d| format!("took {d}")));
        said.extend(entry.last_error.as_ref().map(|e| format!("error {e:?}")));
        said.join(", ")
    }

    #[test]
    fn a_run_ends_as_hbmon_run_ends_it_with_a_duration_from_its_start() {
        let started: Pings = &[("/start", "", 100.0)];
        let succeeded: Pings = &[("/start", "", 50.0), ("/0", "", 60.0)];
        let no_message = format!("failed, from 100, took 30, error {NO_MESSAGE:?}");
        let error = format!("error, error {NO_MESSAGE:?}");
        // (pings before, the ping at 130, the entry after it)
        let cases: &[(Pings, &str, &str, &str)] = &[
            (started, "/0", "", "succeeded, exit 0, from 100, took 30"),
            (
                started,
                "/3",
                "",
                "failed, exit 3, from 100, took 30, error \"exited with code 3\"",
            ),
            (
                started,
                "/3",
                "msg=disk full",
                "failed, exit 3, from 100, took 30, error \"disk full\"",
            ),
            // healthchecks.io's habits: a bare ping ends the run well, /fail badly.
            (started, "", "", "succeeded, exit 0, from 100, took 30"),
            (started, "/fail", "", &no_message),
            (started, "", "stopped", "stopped, from 100"),
            // No /start: the start is unknown, and so is the duration.
            (
                &[],
                "/3",
                "",
                "failed, exit 3, error \"exited with code 3\"",
            ),
            // A start from an earlier run is not this run's.
            (succeeded, "/0", "", "succeeded, exit 0"),
            // Nothing in progress: today's beats.
            (succeeded, "", "", "alive, exit 0, from 50, took 10"),
            (&[], "/fail", "", &error),
        ];
        for (before, path, text, expected) in cases {
            let entry = ping(path, text, "")
                .unwrap()
                .apply(after(before), 130.0, None);
            let what = format!("{before:?} then {path}?{text}");
            assert_eq!(run_of(&entry), *expected, "{what}");
            if matches!(entry.reported(), Reported::Succeeded | Reported::Failed) {
                assert_eq!(entry.kind, Some(Kind::Job), "{what}");
                assert_eq!(entry.finished_at, Some(130.0), "{what}");
            }
        }
        // `hbmon run --kind app` supervising a service: not a job's run, so a ping is a beat.
        let service = Beat {
            kind: Some(Kind::App),
            ..Beat::running(90.0, DataChange::Keep)
        }
        .apply(None, 90.0);
        let entry = ping("", "", "").unwrap().apply(Some(service), 130.0, None);
        assert_eq!(entry.status, Some(Reported::Alive));
    }

    #[test]
    fn a_start_is_a_running_job_and_a_new_run() {
        let first = after(&[("/start", "interval=1d", 100.0)]).unwrap();
        assert_eq!(first.status, Some(Reported::Running));
        assert_eq!(
            (first.kind, first.started_at),
            (Some(Kind::Job), Some(100.0))
        );
        assert_eq!(first.interval, Some(86_400.0));
        let again = after(&[
            ("/start", "", 100.0),
            ("/1", "", 110.0),
            ("/start", "", 200.0),
        ])
        .unwrap();
        assert_eq!(
            (again.started_at, again.first_heartbeat),
            (Some(200.0), Some(200.0))
        );
        assert_eq!(
            (again.exit_code, again.duration, again.beats),
            (None, None, Some(1))
        );
        assert_eq!((again.errors, again.last_error), (Some(0), None));
    }

    #[test]
    fn a_body_nested_deeper_than_the_file_keeps_is_refused() {
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        let kept = ping("", "", &nested(MAX_DATA_DEPTH)).unwrap();
        assert_eq!(kept.body.as_ref().map(store::depth), Some(MAX_DATA_DEPTH));
        // One level more than the file keeps, then past serde_json's own limit.
        for levels in [MAX_DATA_DEPTH + 1, 127, 128, 200, 20_000] {
            let refused = ping("", "", &nested(levels)).unwrap_err();
            assert_eq!(refused, PingError::TooDeep, "{levels}");
            assert_eq!(
                refused.to_string(),
                "the body is JSON nested more than 126 levels deep, deeper than the heartbeat \
                 file's readers go"
            );
        }
        // Brackets that do not balance within serde_json's limit are no JSON: a log.
        let log = ping("", "", &format!("{} oops", "[".repeat(100))).unwrap();
        assert!(log.body.unwrap()["output_tail"].is_string());
    }

    #[test]
    fn a_body_is_the_data_json_as_is_and_text_as_the_output_tail() {
        let data = |path: &str, body: &str, previous: Option<Entry>| {
            ping(path, "", body)
                .unwrap()
                .apply(previous, 10.0, None)
                .additional_data
        };
        assert_eq!(data("", "{\"rows\": 1200}\n", None), json!({"rows": 1200}));
        assert_eq!(data("", "\"text\"", None), json!("text"));
        assert_eq!(
            data("/3", "backup: disk full\n", None),
            json!({"output_tail": "backup: disk full\n"})
        );
        assert_eq!(
            data("", "{\"rows\": ", None),
            json!({"output_tail": "{\"rows\": "})
        );
        let long = format!("{}end", "x".repeat(2 * TAIL_BYTES));
        let tail = data("/0", &long, None);
        assert_eq!(tail["output_tail"].as_str().map(str::len), Some(TAIL_BYTES));
        assert!(tail["output_tail"].as_str().unwrap().ends_with("xend"));

        let with_data = Some(ping("", "", "{\"a\": 1}").unwrap().apply(None, 1.0, None));
        assert_eq!(
            data("", " \r\n", with_data.clone()),
            json!({"a": 1}),
            "no body keeps it"
        );
        assert_eq!(data("/3", "", with_data.clone()), json!({"a": 1}));
        assert_eq!(
            data("/start", "", with_data.clone()),
            Value::Null,
            "a run starts afresh"
        );
        assert_eq!(data("/start", "{\"b\": 2}", with_data), json!({"b": 2}));
    }
}
