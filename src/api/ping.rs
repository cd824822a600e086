//! `/ping/NAME`, `/ping/NAME/fail`, `/ping/NAME/start` and `/ping/NAME/CODE`: an HTTP
//! ping's path, query and body turned into the [`Beat`] it writes (HTTP carries no PID) —
//! the one `hbmon beat NAME --no-pid` would write, or, for a job's run, the one `hbmon run`
//! writes at the run's start and at its end.

pub mod address;

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
    #[error("{0:?} after /ping/NAME/ is not start, fail, log or an exit code from 0 to 255")]
    Event(String),
    #[error("{param}={value:?}: {why}")]
    Value {
        param: String,
        value: String,
        why: String,
    },
    #[error(
        "unknown parameter {0:?}: a ping takes interval, schedule, tz, kind, status, msg, stopped and rid"
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
    /// `/ping/NAME/log`: the body adds to the entry's log (its output tail), and nothing
    /// else changes: no beat, no state, no run.
    Log,
}

impl Event {
    /// The event named by the segment after `/ping/NAME/`.
    pub fn parse(segment: &str) -> Result<Event, PingError> {
        match segment {
            "fail" => Ok(Event::Fail),
            "start" => Ok(Event::Start),
            "log" => Ok(Event::Log),
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
            Event::Log => Some("/log".to_owned()),
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
    /// healthchecks.io's run id (`?rid=<uuid>`), hyphenated in lower case as it keeps it:
    /// the run this ping starts or ends, among others of the job in progress at once.
    rid: Option<String>,
}

impl Ping {
    /// The ping `event` with `query` and `body`.
    pub fn parse(event: Event, query: &[(String, String)], body: &[u8]) -> Result<Ping, PingError> {
        let mut interval = None;
        let mut schedule: Option<&str> = None;
        let mut tz: Option<&str> = None;
        let mut kind = None;
        let mut status: Option<(&str, Reported)> = None;
        let mut msg: Option<&str> = None;
        let mut stopped: Option<&str> = None;
        let mut rid = None;
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
                "rid" => {
                    rid = Some(store::parse_run_id(value).map_err(|why| bad(param, value, why))?);
                }
                _ => return Err(PingError::Unknown(param.clone())),
            }
        }

        let (schedule, kind) = promised_schedule(schedule, tz, interval, kind)?;
        let reported = reported(event, stopped, status)?;
        let segment = event.segment();
        if let (Event::Start | Event::Exit(_), Some(Kind::App)) = (event, kind) {
            let segment = segment.unwrap_or_default();
            return Err(bad(
                "kind",
                "app",
                format!("conflicts with {segment}: a run is a job's"),
            ));
        }
        if event == Event::Log {
            only_the_log(query, interval.is_some(), kind.is_some())?;
        }
        let failure = match event {
            Event::Exit(code) => code != 0,
            Event::Start | Event::Log => false,
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
            body: body_of(event, body)?,
            rid,
        })
    }

    /// Whether this is a `/log`, which [`Ping::log_into`] writes rather than a beat.
    pub fn is_log(&self) -> bool {
        self.event == Event::Log
    }

    /// Adds a `/log`'s body to `entry`'s output tail (`additional_data.output_tail`, as a
    /// job's end keeps it), within its last [`TAIL_BYTES`](store::TAIL_BYTES); nothing else
    /// of the entry changes. `false`, the entry as it was, if its data is neither an object
    /// nor empty: there is no tail to add to, and what a writer put there stays.
    pub fn log_into(&self, entry: &mut Entry) -> bool {
        let Some(Value::String(text)) = &self.body else {
            return true;
        };
        if entry.additional_data.is_null() {
            entry.additional_data = json!({});
        }
        let Value::Object(data) = &mut entry.additional_data else {
            return false;
        };
        let tail = match data.get("output_tail") {
            Some(Value::String(before)) => tail_text(format!("{before}{text}").as_bytes()),
            _ => text.clone(),
        };
        data.insert("output_tail".to_owned(), Value::String(tail));
        true
    }

    /// The run id this ping names (`?rid=`), if any.
    pub fn rid(&self) -> Option<&str> {
        self.rid.as_deref()
    }

    /// When the run this ping may end started, as `previous` has it: with a run id, that
    /// run's own start in `runs` (the entry's `started_at` is the newest *finished* run's
    /// then); without, the job's one unnamed run in progress, if no run with an id is.
    pub fn run_start(&self, previous: Option<&Entry>) -> Option<f64> {
        let job = previous.filter(|e| e.kind() == Kind::Job)?;
        match &self.rid {
            Some(id) => job.runs.get(id).map(|run| run.started_at),
            None if job.reported() == Reported::Running && job.runs.is_empty() => job.started_at,
            None => None,
        }
    }

    /// The beat this ping writes at `now` over the entry `previous`; `took`: the time since
    /// the start in `previous` on the monotonic clock, if the caller saw that start.
    fn beat(&self, previous: Option<&Entry>, now: f64, took: Option<Duration>) -> Beat {
        // A run is in progress while the newest beat is a job's `running` (a `/start`, or
        // the start of `hbmon run`) or, for a run id, while `runs` holds it.
        let started_at = self.run_start(previous);
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
            // tail) does not stay on show while this one runs. A run with an id shares the
            // entry with the others in progress: it leaves their data be.
            Event::Start if self.rid.is_some() => Beat::running(now, data()),
            Event::Start => Beat::running(
                now,
                DataChange::Replace(self.body.clone().unwrap_or(Value::Null)),
            ),
            // Written by `log_into`, never as a beat; as a beat it would be a plain one.
            Event::Log => Beat::alive(None),
            Event::Exit(code) => match &self.msg {
                Some(msg) => end(Some(code), msg),
                None => end(Some(code), &format!("exited with code {code}")),
            },
            // As healthchecks.io takes them after a start: a bare ping is the run's success,
            // `/fail` its failure (of no known exit code).
            Event::Beat | Event::Fail
                if started_at.is_some() && self.reported != Reported::Stopped =>
            {
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
        let beat = match &self.rid {
            Some(id) => beat.with_run_id(id.as_str()),
            None => beat,
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

/// What a ping reports: the path says what happened (`/fail`, an exit code); the query's
/// `status` and `stopped` may repeat it, never contradict it.
fn reported(
    event: Event,
    stopped: Option<&str>,
    status: Option<(&str, Reported)>,
) -> Result<Reported, PingError> {
    let segment = event.segment();
    if let (Some(segment), Some(flag)) = (&segment, stopped) {
        return Err(bad("stopped", flag, format!("conflicts with {segment}")));
    }
    let implied = match event {
        Event::Fail => Some((Reported::Error, "/fail")),
        _ => stopped.map(|_| (Reported::Stopped, "stopped")),
    };
    Ok(match (&segment, implied, status) {
        (_, Some((implied, what)), Some((value, given))) if given != implied => {
            return Err(bad("status", value, format!("conflicts with {what}")));
        }
        (Some(segment), None, Some((value, _))) => {
            return Err(bad("status", value, format!("conflicts with {segment}")));
        }
        (_, Some((implied, _)), _) => implied,
        (_, None, given) => given.map_or(Reported::Alive, |(_, r)| r),
    })
}

/// A refused `param=value`, and why.
fn bad(param: &str, value: &str, why: String) -> PingError {
    PingError::Value {
        param: param.to_owned(),
        value: value.to_owned(),
        why,
    }
}

/// What the ping `event` keeps of its body: for `/log`, text whatever it looks like (it
/// is added to the log, not put in place of the data), its last
/// [`TAIL_BYTES`](store::TAIL_BYTES); for the others, the [`data`]. `None` for none.
fn body_of(event: Event, body: &[u8]) -> Result<Option<Value>, PingError> {
    match event {
        Event::Log => Ok((!body.is_empty()).then(|| Value::String(tail_text(body)))),
        _ => data(body),
    }
}

/// A `/log` changes nothing but the log: an `interval` or `kind` it was given (`given_*`)
/// is refused, naming its value from `query`. (`status`, `stopped` and `msg` are refused
/// with every segment that contradicts them.)
fn only_the_log(
    query: &[(String, String)],
    given_interval: bool,
    given_kind: bool,
) -> Result<(), PingError> {
    let given = [("interval", given_interval), ("kind", given_kind)];
    match given.iter().find(|(_, given)| *given) {
        Some((param, _)) => Err(PingError::Value {
            param: (*param).to_owned(),
            value: (query.iter())
                .find(|(p, _)| p == param)
                .map_or_else(String::new, |(_, v)| v.clone()),
            why: "conflicts with /log, which changes nothing but the log".into(),
        }),
        None => Ok(()),
    }
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
mod tests;
