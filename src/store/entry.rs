//! One process's entry in the heartbeat file, and the rules a beat follows to change it.

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
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
}

/// How a beat changes `additional_data`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DataChange {
    /// Keep what the entry has (a plain pulse).
    #[default]
    Keep,
    /// Replace it with this value (`--data JSON`).
    Replace(Value),
    /// Set these keys in the entry's object, keeping its other keys (`--set k=v`).
    Merge(Map<String, Value>),
}

/// Job fields carried by a `running`, `succeeded` or `failed` beat.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobRun {
    /// When the run started; `None` for a run reported only at its end (a ping of its exit
    /// code with no start before it), which then has no duration either.
    pub started_at: Option<f64>,
    pub exit_code: Option<i32>,
    pub finished_at: Option<f64>,
    /// How long the run took, seconds, as its writer measured it on a monotonic clock; `None`:
    /// the span between `started_at` and `finished_at`. Those are wall-clock stamps (the
    /// protocol's), which a clock stepped during the run (NTP, a suspend, `date -s`) moves
    /// apart or together: a 3 s run stepped back 2 h would read 0 s.
    pub duration: Option<f64>,
}

/// What a writer reports in one beat. [`Beat::apply`] turns it into the new entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    pub status: Reported,
    pub pid: Option<u32>,
    pub interval: Option<f64>,
    pub data: DataChange,
    /// The message of an `error` beat.
    pub error: Option<String>,
    pub kind: Option<Kind>,
    pub job: Option<JobRun>,
    pub host: Option<String>,
}

impl Beat {
    /// A plain `alive` beat from `pid`.
    pub fn alive(pid: Option<u32>) -> Self {
        Beat {
            status: Reported::Alive,
            pid,
            interval: None,
            data: DataChange::Keep,
            error: None,
            kind: None,
            job: None,
            host: None,
        }
    }

    /// The entry after this beat at `now`. A new PID starts a new run: `first_heartbeat`,
    /// `beats`, `errors`, the last error and the data reset (a restarted process showing its
    /// predecessor's `n=70` would be lying; it sends its own). A `running` beat with a new `started_at`
    /// starts a new job run; one with the same `started_at` is a keepalive of the same run.
    pub fn apply(&self, previous: Option<Entry>, now: f64) -> Entry {
        let mut entry = previous.unwrap_or_default();
        let new_job_run = self.status == Reported::Running
            && self.job.as_ref().and_then(|job| job.started_at) != entry.started_at;
        // Another writer's entry may lack `first_heartbeat`: its counts start here, but the
        // data it had is the same process's.
        let new_process = entry.pid != self.pid || new_job_run;
        if new_process {
            entry.additional_data = Value::Null;
        }
        if new_process || entry.first_heartbeat.is_none() {
            entry.first_heartbeat = Some(now);
            entry.beats = Some(0);
            entry.errors = Some(0);
            entry.last_error = None;
            entry.last_error_at = None;
        }
        entry.last_heartbeat = now;
        entry.last_heartbeat_formatted = Some(format_local(now));
        entry.pid = self.pid;
        entry.status = Some(self.status.clone());
        entry.beats = Some(entry.beats.unwrap_or(0) + 1);
        if let Some(message) = &self.error {
            entry.errors = Some(entry.errors.unwrap_or(0) + 1);
            entry.last_error = Some(message.clone());
            entry.last_error_at = Some(now);
        }
        if self.interval.is_some() {
            entry.interval = self.interval;
        }
        if self.kind.is_some() {
            entry.kind = self.kind;
        }
        if self.host.is_some() {
            entry.host.clone_from(&self.host);
        }
        match &self.data {
            DataChange::Keep => {}
            DataChange::Replace(value) => entry.additional_data = value.clone(),
            DataChange::Merge(pairs) => {
                if !entry.additional_data.is_object() {
                    entry.additional_data = Value::Object(Map::new());
                }
                if let Value::Object(object) = &mut entry.additional_data {
                    object.extend(pairs.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        if let Some(job) = &self.job {
            // Job fields mean `job` unless the writer said otherwise: `hbmon run --kind app`
            // supervises a long-running process with the same start/exit reporting.
            entry.kind = Some(self.kind.unwrap_or(Kind::Job));
            entry.started_at = job.started_at;
            entry.finished_at = job.finished_at;
            entry.exit_code = job.exit_code;
            // Rounded to the microsecond like the times it comes from, so the file shows
            // 1.000853 rather than the subtraction's 1.0008530616760254.
            entry.duration = job
                .duration
                .or_else(|| {
                    job.finished_at
                        .zip(job.started_at)
                        .map(|(end, start)| end - start)
                })
                .map(|took| (took.max(0.0) * 1e6).round() / 1e6);
        }
        entry
    }
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

/// `YYYY-MM-DD HH:MM:SS` in local time, the protocol's `last_heartbeat_formatted`.
pub fn format_local(unix: f64) -> String {
    use chrono::TimeZone;
    let secs = unix.floor() as i64;
    chrono::Local
        .timestamp_opt(secs, 0)
        .single()
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn a_new_pid_starts_a_new_run() {
        let first = Beat::alive(Some(10)).apply(None, 100.0);
        assert_eq!((first.first_heartbeat, first.beats), (Some(100.0), Some(1)));
        let mut error = Beat::alive(Some(10));
        error.status = Reported::Error;
        error.error = Some("disk full".into());
        let second = error.apply(Some(first), 110.0);
        assert_eq!((second.beats, second.errors), (Some(2), Some(1)));
        assert_eq!(second.last_error.as_deref(), Some("disk full"));
        assert_eq!(second.first_heartbeat, Some(100.0));
        let mut second = second;
        second.additional_data = json!({"n": 70});
        let restarted = Beat::alive(Some(11)).apply(Some(second.clone()), 120.0);
        assert_eq!(restarted.first_heartbeat, Some(120.0));
        assert_eq!((restarted.beats, restarted.errors), (Some(1), Some(0)));
        assert_eq!(restarted.last_error, None);
        assert_eq!(
            restarted.additional_data,
            Value::Null,
            "the old run's data is gone"
        );
        let mut with_data = Beat::alive(Some(12));
        with_data.data = DataChange::Merge(Map::from_iter([("m".into(), json!(1))]));
        let restarted = with_data.apply(Some(second), 130.0);
        assert_eq!(
            restarted.additional_data,
            json!({"m": 1}),
            "merged into nothing"
        );
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

    #[test]
    fn data_is_kept_replaced_or_merged() {
        let mut beat = Beat::alive(Some(1));
        beat.data = DataChange::Replace(json!({"a": 1, "b": 2}));
        let e = beat.apply(None, 1.0);
        let kept = Beat::alive(Some(1)).apply(Some(e), 2.0);
        assert_eq!(kept.additional_data, json!({"a": 1, "b": 2}));
        let mut merge = Beat::alive(Some(1));
        merge.data = DataChange::Merge(Map::from_iter([("b".to_owned(), json!(3))]));
        let merged = merge.apply(Some(kept), 3.0);
        assert_eq!(merged.additional_data, json!({"a": 1, "b": 3}));
    }

    #[test]
    fn job_beats_fill_the_run_fields() {
        let mut start = Beat::alive(Some(7));
        start.status = Reported::Running;
        start.job = Some(JobRun {
            started_at: Some(50.0),
            ..JobRun::default()
        });
        let running = start.apply(None, 50.0);
        assert_eq!(running.kind, Some(Kind::Job));
        assert_eq!(running.finished_at, None);
        let mut end = start.clone();
        end.status = Reported::Failed;
        end.job = Some(JobRun {
            started_at: Some(50.0),
            exit_code: Some(3),
            finished_at: Some(62.5),
            duration: None,
        });
        let keepalive = start.apply(Some(running), 56.0);
        assert_eq!(keepalive.first_heartbeat, Some(50.0));
        assert_eq!(keepalive.beats, Some(2));
        let failed = end.apply(Some(keepalive), 62.5);
        assert_eq!(failed.exit_code, Some(3));
        assert_eq!(failed.duration, Some(12.5));
        assert_eq!(failed.beats, Some(3));
        let mut next_run = start.clone();
        next_run.job = Some(JobRun {
            started_at: Some(70.0),
            ..JobRun::default()
        });
        let rerun = next_run.apply(Some(failed), 70.0);
        assert_eq!((rerun.first_heartbeat, rerun.beats), (Some(70.0), Some(1)));
        assert_eq!((rerun.exit_code, rerun.duration), (None, None));
    }

    #[test]
    fn durations_are_whole_microseconds() {
        let mut end = Beat::alive(Some(7));
        end.status = Reported::Succeeded;
        end.job = Some(JobRun {
            started_at: Some(1_795_440_160.102_015),
            exit_code: Some(0),
            finished_at: Some(1_795_440_161.102_868),
            duration: None,
        });
        assert_eq!(end.apply(None, 2.0).duration, Some(1.000_853));
    }

    #[test]
    fn a_measured_duration_wins_over_stamps_a_stepped_clock_moved() {
        let mut end = Beat::alive(Some(7));
        end.status = Reported::Succeeded;
        // A 3 s run whose wall clock was stepped back 2 h while it ran, and one stepped on.
        for (finished_at, measured) in [(93.0 - 7200.0, 3.000_000_4), (7203.0 + 90.0, 3.0)] {
            end.job = Some(JobRun {
                started_at: Some(90.0),
                exit_code: Some(0),
                finished_at: Some(finished_at),
                duration: Some(measured),
            });
            let entry = end.apply(None, finished_at);
            assert_eq!(entry.duration, Some(3.0), "finished at {finished_at}");
            assert_eq!(
                entry.finished_at,
                Some(finished_at),
                "the stamp stays wall-clock"
            );
        }
    }

    #[test]
    fn job_fields_keep_an_explicit_kind() {
        let mut start = Beat::alive(Some(7));
        start.status = Reported::Running;
        start.kind = Some(Kind::App);
        start.job = Some(JobRun::default());
        assert_eq!(start.apply(None, 1.0).kind, Some(Kind::App));
    }
}
