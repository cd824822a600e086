//! What a writer reports in one beat ([`Beat`]), the beats every writer builds alike — a
//! plain `alive`, a job run's start and end (`hbmon run` and `/ping/NAME/start|CODE`), and
//! the output tail an end keeps — and the rules a beat follows to change an entry.

use std::time::Duration;

use serde_json::{Map, Value};

use super::entry::{Entry, Kind, Reported};
use crate::clock::format_local;

mod runs;

pub use runs::parse_run_id;

/// How much of a job's output its final beat keeps: the last 10 KiB (stdout and stderr
/// together, in order of arrival, for `hbmon run`; the body, for a ping).
pub const TAIL_BYTES: usize = 10 * 1024;

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
    /// The run's id: healthchecks.io's `?rid=<uuid>`, or the one each `hbmon run` makes.
    /// Runs of one job with different ids overlap and are tracked apart; `None`: the job's
    /// one unnamed run, as before ids existed.
    pub run_id: Option<String>,
}

/// What a writer reports in one beat. [`Beat::apply`] turns it into the new entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    pub status: Reported,
    pub pid: Option<u32>,
    pub interval: Option<f64>,
    /// A job's cron schedule, promised as `interval` is: written as `schedule` and `tz`.
    pub schedule: Option<crate::cron::Schedule>,
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
            schedule: None,
            data: DataChange::Keep,
            error: None,
            kind: None,
            job: None,
            host: None,
        }
    }

    /// The beat of a run started at `started_at`: `running`, with the job fields. The first
    /// one starts the run; one with the same `started_at` is a keepalive of it. Whoever
    /// writes it sets the PID, interval, kind (job, unless said otherwise) and host.
    pub fn running(started_at: f64, data: DataChange) -> Beat {
        let job = JobRun {
            started_at: Some(started_at),
            ..JobRun::default()
        };
        Beat::of_run(Reported::Running, job, data)
    }

    /// The beat that ends a run started at `started_at` (`None`: a start nobody reported):
    /// `succeeded` for exit code 0, else `failed` with `reason` as its error — also when
    /// there is no exit code at all (a failure reported without one). Whoever writes it sets
    /// the PID, interval, kind and host.
    ///
    /// `took` is the run's duration on the writer's monotonic clock, when the writer saw the
    /// start itself; `None` leaves the duration to the wall-clock stamps, which a clock
    /// stepped during the run would stretch or cancel.
    pub fn finished(
        started_at: Option<f64>,
        finished_at: f64,
        took: Option<Duration>,
        exit_code: Option<u8>,
        reason: &str,
        data: DataChange,
    ) -> Beat {
        let status = if exit_code == Some(0) {
            Reported::Succeeded
        } else {
            Reported::Failed
        };
        Beat::ended(
            status,
            started_at,
            finished_at,
            took,
            exit_code,
            reason,
            data,
        )
    }

    /// The beat that ends a run as `status` says (`succeeded`, `failed`, or `stopped` for an
    /// app asked to stop), with the job fields of [`Beat::finished`]; only a `failed` one
    /// carries `reason` as its error (a clean stop is not one).
    pub fn ended(
        status: Reported,
        started_at: Option<f64>,
        finished_at: f64,
        took: Option<Duration>,
        exit_code: Option<u8>,
        reason: &str,
        data: DataChange,
    ) -> Beat {
        let job = JobRun {
            started_at,
            exit_code: exit_code.map(i32::from),
            finished_at: Some(finished_at),
            // A run whose start nobody reported has no duration, measured or not.
            duration: started_at.and(took).map(|took| took.as_secs_f64()),
            run_id: None,
        };
        Beat {
            error: (status == Reported::Failed).then(|| reason.to_owned()),
            ..Beat::of_run(status, job, data)
        }
    }

    /// A beat carrying `job`'s fields, with no PID, interval, kind or host yet.
    fn of_run(status: Reported, job: JobRun, data: DataChange) -> Beat {
        Beat {
            status,
            job: Some(job),
            data,
            ..Beat::alive(None)
        }
    }

    /// The entry after this beat at `now`. A new PID starts a new run: `first_heartbeat`,
    /// `beats`, `errors`, the last error and the data reset (a restarted process showing its
    /// predecessor's `n=70` would be lying; it sends its own). A `running` beat with a new `started_at`
    /// starts a new job run; one with the same `started_at` is a keepalive of the same run.
    pub fn apply(&self, previous: Option<Entry>, now: f64) -> Entry {
        let mut entry = previous.unwrap_or_default();
        let new_job_run = match self.run_id() {
            None => {
                self.status == Reported::Running
                    && self.job.as_ref().and_then(|job| job.started_at) != entry.started_at
            }
            Some(id) => self.status == Reported::Running && !entry.runs.contains_key(id),
        };
        // Another writer's entry may lack `first_heartbeat`: its counts start here, but the
        // data it had is the same process's. While runs named by an id are in progress the
        // entry is theirs together: one's beat does not reset what another's wrote.
        let new_process = !self.shares_runs(&entry) && (entry.pid != self.pid || new_job_run);
        let status_kept = self.keeps_status(&entry).then(|| entry.status.clone());
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
        if let Some(schedule) = &self.schedule {
            entry.schedule = Some(schedule.expr().to_owned());
            // The machine's zone without a name: a reader here takes its own zone.
            entry.tz = Some(schedule.tz_name())
                .filter(|tz| *tz != "local")
                .map(str::to_owned);
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
            match &job.run_id {
                None => set_newest_run(&mut entry, job, job.started_at),
                Some(id) => self.track_run(&mut entry, id, job, now),
            }
        }
        if let Some(status) = status_kept {
            entry.status = status;
        }
        entry
    }
}

/// Sets the entry's run fields to `job`'s, the run started at `started_at`; a new start
/// keeps the one it replaces as `previous_started_at`.
fn set_newest_run(entry: &mut Entry, job: &JobRun, started_at: Option<f64>) {
    if started_at.is_some() && entry.started_at.is_some() && started_at != entry.started_at {
        entry.previous_started_at = entry.started_at;
    }
    entry.started_at = started_at;
    entry.finished_at = job.finished_at;
    entry.exit_code = job.exit_code;
    // Rounded to the microsecond like the times it comes from, so the file shows
    // 1.000853 rather than the subtraction's 1.0008530616760254.
    entry.duration = job
        .duration
        .or_else(|| {
            job.finished_at
                .zip(started_at)
                .map(|(end, start)| end - start)
        })
        .map(|took| (took.max(0.0) * 1e6).round() / 1e6);
}

/// This machine's host name, written into each entry (`host`).
pub fn host() -> Option<String> {
    static HOST: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    HOST.get_or_init(|| sysinfo::System::host_name().ok())
        .clone()
}

/// The last [`TAIL_BYTES`] of `output` as text, as a job's final beat keeps them: for an
/// output that came whole (an HTTP ping's body) rather than through pipes.
pub fn tail_text(output: &[u8]) -> String {
    let start = output.len().saturating_sub(TAIL_BYTES);
    kept_text(&output[start..], start > 0)
}

/// The kept end of an output as text. Invalid UTF-8 becomes U+FFFD, except, when the bytes
/// are the end of a longer output (`cut_short`), a character cut in half at the start,
/// which is dropped.
pub fn kept_text(bytes: &[u8], cut_short: bool) -> String {
    let cut = if cut_short {
        // UTF-8 continuation bytes are 0b10xxxxxx; a character has at most three.
        bytes
            .iter()
            .take(3)
            .take_while(|b| *b & 0xC0 == 0x80)
            .count()
    } else {
        0
    };
    String::from_utf8_lossy(&bytes[cut..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            ..JobRun::default()
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
            ..JobRun::default()
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
                ..JobRun::default()
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

    #[test]
    fn a_run_starts_running_and_ends_by_its_exit_code() {
        let start = Beat::running(100.0, DataChange::Keep);
        assert_eq!(start.status, Reported::Running);
        assert_eq!(start.job.as_ref().and_then(|j| j.started_at), Some(100.0));
        assert_eq!(
            (start.pid, start.kind, start.host.as_deref()),
            (None, None, None)
        );
        let took = Some(Duration::from_millis(2500));
        let ok = Beat::finished(Some(100.0), 103.0, took, Some(0), "", DataChange::Keep);
        assert_eq!((ok.status, ok.error), (Reported::Succeeded, None));
        assert_eq!(ok.job.and_then(|j| j.duration), Some(2.5));
        let failed = Beat::finished(None, 103.0, took, None, "no code", DataChange::Keep);
        assert_eq!(failed.status, Reported::Failed);
        assert_eq!(failed.error.as_deref(), Some("no code"));
        let job = failed.job.unwrap_or_default();
        assert_eq!(
            (job.started_at, job.duration),
            (None, None),
            "no start, no duration"
        );
    }
}
