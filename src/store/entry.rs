//! One process's entry in the heartbeat file: its fields, as any writer may have written
//! them, and what they say (reported status, kind, pause).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a process *reports* about itself (its `status` field). Values this version does not
/// know are kept as written, so a newer writer's status survives an older writer's rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Reported {
    Alive,
    Error,
    Stopped,
    /// A job run has started.
    Running,
    Succeeded,
    Failed,
    Other(String),
}

impl Reported {
    pub fn as_str(&self) -> &str {
        match self {
            Reported::Alive => "alive",
            Reported::Error => "error",
            Reported::Stopped => "stopped",
            Reported::Running => "running",
            Reported::Succeeded => "succeeded",
            Reported::Failed => "failed",
            Reported::Other(s) => s,
        }
    }
}

impl From<String> for Reported {
    fn from(s: String) -> Self {
        match s.as_str() {
            "alive" => Reported::Alive,
            "error" => Reported::Error,
            "stopped" => Reported::Stopped,
            "running" => Reported::Running,
            "succeeded" => Reported::Succeeded,
            "failed" => Reported::Failed,
            _ => Reported::Other(s),
        }
    }
}

impl From<Reported> for String {
    fn from(r: Reported) -> Self {
        match r {
            Reported::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

/// Writers' schedules as parsed, by (expression, zone): every check asks every scheduled
/// entry for its schedule, and parsing it (a zone looked up, five fields) cost more than
/// judging the entry. Bounded: past [`Schedules::MAX`] distinct pairs (hostile writers
/// making up new ones) it starts over.
#[derive(Debug, Default)]
struct Schedules {
    parsed: std::collections::HashMap<(String, Option<String>), Option<crate::cron::Schedule>>,
    parses: u64,
}

impl Schedules {
    const MAX: usize = 4096;

    fn get(&mut self, expr: &str, tz: Option<&str>) -> Option<crate::cron::Schedule> {
        let key = (expr.to_owned(), tz.map(str::to_owned));
        if let Some(schedule) = self.parsed.get(&key) {
            return schedule.clone();
        }
        if self.parsed.len() >= Self::MAX {
            self.parsed.clear();
        }
        self.parses += 1;
        let schedule = crate::cron::Schedule::parse(expr, tz).ok();
        self.parsed.insert(key, schedule.clone());
        schedule
    }
}

/// `app` (long-running) or `job` (runs, exits, runs again). `ValueEnum` makes it the one
/// parser of `--kind` for every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A long-running process.
    #[default]
    App,
    /// A command that runs, exits and runs again.
    Job,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Job => "job",
        }
    }
}

/// One entry of `processes`, protocol v1. Only `last_heartbeat` is required, so the seed
/// format (`last_heartbeat`, `last_heartbeat_formatted`, `pid`, `status`, `additional_data`)
/// reads as is. Fields this version does not know are kept in `extra` and written back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Entry {
    pub last_heartbeat: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_formatted: Option<String>,
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Reported>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub additional_data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
    /// A job's cron schedule, promised by its writer as `interval` is; `tz` its zone (an
    /// IANA name; the reader's zone without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_heartbeat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beats: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
    /// The run before the newest's start: whether the newest ran when it was not due (a
    /// second run within one period of its schedule) needs both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_started_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// The runs in progress that a run id names (`hbmon run`, a ping's `?rid=`), by run id;
    /// at most [`MAX_RUNS`]. The fields above stay the newest *finished* run's.
    #[serde(
        default,
        deserialize_with = "null_as_none",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub runs: BTreeMap<String, RunInProgress>,
    /// How many runs in progress were dropped from `runs` to keep it within [`MAX_RUNS`]
    /// since the entry last had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_dropped: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How many runs in progress an entry keeps. A start beyond it drops the run that started
/// first — the newcomer itself, if it is the oldest (a keepalive of a run dropped before) —
/// and counts it in `runs_dropped`: a job whose runs never end (killed before their end
/// beat) must not grow its entry without bound.
pub const MAX_RUNS: usize = 16;

/// `runs: null` reads as no runs, as null does for every optional field.
fn null_as_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, RunInProgress>, D::Error> {
    Option::<BTreeMap<String, RunInProgress>>::deserialize(d).map(Option::unwrap_or_default)
}

/// One run in progress in an entry's `runs`. Fields this version does not know are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunInProgress {
    pub started_at: f64,
    /// The run's process, as its start said (`null` for a ping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The entry field `hbmon pause` sets: Unix seconds the pause ends, or `null` for "until
/// `hbmon resume`". Writers keep fields they do not know, so a pause survives beats.
pub const PAUSED_UNTIL: &str = "paused_until";

/// A maintenance pause: the process is shown `paused` and never alerted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pause {
    /// Until this Unix time.
    Until(f64),
    /// Until `hbmon resume`.
    Indefinite,
}

impl Entry {
    /// The schedule its writer promises, if it is one: a `schedule` or `tz` that does not
    /// parse (a writer other than hbmon's) is no promise, and the interval rules apply.
    /// Parsed once per (schedule, zone) for the life of the process (see [`Schedules`]).
    pub fn schedule(&self) -> Option<crate::cron::Schedule> {
        static SCHEDULES: std::sync::LazyLock<std::sync::Mutex<Schedules>> =
            std::sync::LazyLock::new(Default::default);
        let expr = self.schedule.as_deref()?;
        let mut schedules = SCHEDULES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        schedules.get(expr, self.tz.as_deref())
    }

    /// The pause set by `hbmon pause`, expired or not. A `paused_until` that is neither a
    /// number nor null was not written by hbmon and is ignored.
    pub fn pause(&self) -> Option<Pause> {
        match self.extra.get(PAUSED_UNTIL)? {
            Value::Null => Some(Pause::Indefinite),
            value => value.as_f64().map(Pause::Until),
        }
    }

    /// Whether a pause holds at `now`.
    pub fn paused_at(&self, now: f64) -> bool {
        match self.pause() {
            Some(Pause::Indefinite) => true,
            Some(Pause::Until(end)) => now < end,
            None => false,
        }
    }

    /// Sets (`Some`) or lifts (`None`) the pause.
    pub fn set_pause(&mut self, pause: Option<Pause>) {
        match pause {
            None => {
                self.extra.remove(PAUSED_UNTIL);
            }
            Some(Pause::Indefinite) => {
                self.extra.insert(PAUSED_UNTIL.to_owned(), Value::Null);
            }
            Some(Pause::Until(end)) => {
                self.extra.insert(PAUSED_UNTIL.to_owned(), end.into());
            }
        }
    }

    /// The reported status, `alive` when the writer left it out.
    pub fn reported(&self) -> Reported {
        self.status.clone().unwrap_or(Reported::Alive)
    }

    /// The kind, `app` when the writer left it out.
    pub fn kind(&self) -> Kind {
        self.kind.unwrap_or_default()
    }

    /// The runs in progress, the one that started first first (ties by run id).
    pub fn runs_in_progress(&self) -> Vec<(&str, &RunInProgress)> {
        let mut runs: Vec<(&str, &RunInProgress)> = self
            .runs
            .iter()
            .map(|(id, run)| (id.as_str(), run))
            .collect();
        runs.sort_by(|a, b| a.1.started_at.total_cmp(&b.1.started_at));
        runs
    }
}

/// The interval a process is taken to promise between beats when nobody states one (not
/// its writer in the entry's `interval`, not the config): what a [`Heartbeat`] writes when
/// none is set, and what the monitor judges by then.
///
/// [`Heartbeat`]: crate::Heartbeat
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// The protocol's rule for a heartbeat name (the key of its entry), as a person types it
/// (`hbmon beat NAME`, `/ping/NAME`): not blank, and no control characters, which would
/// break the table and the serve log.
pub fn parse_name(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("a heartbeat name cannot be empty".to_owned());
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{text:?} has a control character"));
    }
    Ok(text.to_owned())
}

/// How deep `additional_data` may nest, arrays and objects in one another: readers decode
/// each entry on its own with serde_json, which stops at 127 levels, and the entry's own
/// object is one of them. A writer refuses deeper data (`StoreError::Encode`); one that
/// takes data from others checks first ([`depth`]) and says why.
pub const MAX_DATA_DEPTH: usize = 126;

/// How many levels of arrays and objects `value` nests: 0 for a scalar, 1 for `[1]` or
/// `{}`. (Recursive: a `Value` serde_json parsed is at most 127 levels deep.)
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Beat;
    use serde_json::json;

    #[test]
    fn a_writers_schedule_that_is_not_one_is_no_promise() {
        // (schedule, tz, read as a schedule): another writer's garbage, a zone given as a
        // path to another file (never read as a zone), a control character.
        let cases = [
            ("0 3 * * *", Some("Europe/Berlin"), true),
            ("0 3 * * *", None, true),
            ("every night", None, false),
            ("0 3 * * *", Some("../../../../etc/passwd"), false),
            ("0 3 * * *", Some("/etc/localtime"), false),
            ("0 3 * * *", Some("Europe/../Europe/Berlin"), false),
            ("0 3 * * *", Some("Europe/Berlin\u{1b}[2J"), false),
            ("0\u{1b}[31m 3 * * *", None, false),
        ];
        for (schedule, tz, reads) in cases {
            let entry = Entry {
                schedule: Some(schedule.to_owned()),
                tz: tz.map(str::to_owned),
                ..Entry::default()
            };
            assert_eq!(entry.schedule().is_some(), reads, "{schedule:?} {tz:?}");
        }
    }

    #[test]
    fn a_schedule_is_parsed_once_per_expression_and_zone() {
        let mut schedules = Schedules::default();
        // (expression, zone, parses so far, parsed)
        let cases = [
            ("0 3 * * *", Some("Europe/Berlin"), 1, true),
            ("0 3 * * *", Some("Europe/Berlin"), 1, true),
            ("0 3 * * *", Some("Asia/Tokyo"), 2, true),
            ("0 3 * * *", None, 3, true),
            ("every night", None, 4, false),
            ("every night", None, 4, false),
        ];
        for (expr, tz, parses, parsed) in cases {
            let schedule = schedules.get(expr, tz);
            assert_eq!(schedule.is_some(), parsed, "{expr:?} {tz:?}");
            assert_eq!(schedules.parses, parses, "{expr:?} {tz:?}");
        }
        for i in 0..=Schedules::MAX {
            schedules.get(&format!("{} * * * *", i % 60), Some(&format!("x{i}")));
        }
        assert!(schedules.parsed.len() <= Schedules::MAX);
    }

    #[test]
    fn names_must_be_printable() {
        assert!(parse_name("web-1").is_ok());
        assert!(parse_name(" ").is_err());
        assert!(parse_name("a\nb").is_err());
    }

    #[test]
    fn data_max_data_depth_deep_reads_back_and_one_level_more_does_not() {
        let nested = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!([inner]));
        let reads_back = |data: Value| {
            let entry = Entry {
                last_heartbeat: 1.0,
                additional_data: data,
                ..Entry::default()
            };
            let json = crate::store::entry_json(&entry).unwrap();
            serde_json::from_str::<Entry>(&json).is_ok()
        };
        assert_eq!(depth(&nested(MAX_DATA_DEPTH)), MAX_DATA_DEPTH);
        assert!(reads_back(nested(MAX_DATA_DEPTH)));
        assert!(!reads_back(nested(MAX_DATA_DEPTH + 1)));
        assert_eq!(depth(&json!({"a": [1, {"b": {}}], "c": 2})), 4);
        assert_eq!((depth(&json!("[[[")), depth(&json!([]))), (0, 1));
    }

    #[test]
    fn seed_format_reads_as_is() {
        let seed = json!({
            "last_heartbeat": 1_703_123_456.789,
            "last_heartbeat_formatted": "2023-12-20 15:30:56",
            "pid": 12345,
            "status": "alive",
            "additional_data": "..."
        });
        let entry: Entry = serde_json::from_value(seed).unwrap();
        assert_eq!(entry.pid, Some(12345));
        assert_eq!(entry.reported(), Reported::Alive);
        assert_eq!(entry.additional_data, json!("..."));
        assert_eq!(entry.kind(), Kind::App);
    }

    #[test]
    fn unknown_fields_and_statuses_round_trip() {
        let raw = json!({
            "last_heartbeat": 5.0, "pid": null, "status": "warming-up",
            "custom": {"nested": [1, 2]}, "kind": "job"
        });
        let entry: Entry = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(entry.status, Some(Reported::Other("warming-up".into())));
        assert_eq!(serde_json::to_value(&entry).unwrap(), raw);
    }

    #[test]
    fn runs_read_as_writers_in_any_language_write_them() {
        let read = |runs: Value| {
            serde_json::from_value::<Entry>(json!({"last_heartbeat": 1, "runs": runs}))
                .map(|e| e.runs.len())
                .map_err(|e| e.to_string())
        };
        assert_eq!(read(json!(null)), Ok(0));
        assert_eq!(read(json!({})), Ok(0));
        assert_eq!(
            read(json!({"a": {"started_at": 5, "pid": null, "x": 1}})),
            Ok(1)
        );
        for bad in [
            json!([]),
            json!({"a": {}}),
            json!({"a": {"started_at": "5"}}),
            json!({"a": {"started_at": 5, "pid": -1}}),
            json!({"a": {"started_at": 5, "host": 3}}),
        ] {
            assert!(read(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_pause_survives_beats_and_restarts() {
        let mut entry = Beat::alive(Some(1)).apply(None, 10.0);
        assert_eq!(entry.pause(), None);
        entry.set_pause(Some(Pause::Indefinite));
        let text = serde_json::to_string(&entry).unwrap();
        assert!(text.contains(r#""paused_until":null"#), "{text}");
        let read: Entry = serde_json::from_str(&text).unwrap();
        let restarted = Beat::alive(Some(2)).apply(Some(read), 20.0);
        assert_eq!(restarted.pause(), Some(Pause::Indefinite));
        assert!(restarted.paused_at(1e12));

        let mut timed = restarted;
        timed.set_pause(Some(Pause::Until(100.0)));
        let after_beat = Beat::alive(Some(2)).apply(Some(timed), 30.0);
        assert!(after_beat.paused_at(99.0));
        assert!(!after_beat.paused_at(100.0));

        let mut resumed = after_beat;
        resumed.set_pause(None);
        assert_eq!(resumed.pause(), None);
        resumed.extra.insert(PAUSED_UNTIL.into(), json!("soon"));
        assert!(!resumed.paused_at(0.0));
    }
}
