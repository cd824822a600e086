//! Runs named by a run id (`hbmon run`'s own, a ping's `?rid=`): several runs of one job
//! in progress at once, each in the entry's `runs` from its start to its end, while the
//! entry's own run fields stay the newest finished run's.

use serde_json::Map;

use super::{Beat, JobRun, set_newest_run};
use crate::store::entry::{Entry, MAX_RUNS, Reported, RunInProgress};

/// A run id as healthchecks.io takes it, hyphenated in lower case: any form Python's
/// `UUID()` reads (hyphens or not, braces, `urn:uuid:`), one run whatever the spelling.
/// (A ping's `?rid=`, `hbmon beat --run-id`.)
pub fn parse_run_id(value: &str) -> Result<String, String> {
    let id = uuid::Uuid::try_parse(value).map_err(|_| "invalid uuid format".to_owned())?;
    Ok(id.hyphenated().to_string())
}

impl Beat {
    /// This beat as the beat of the run `id` (its start, a keepalive or its end).
    #[must_use]
    pub fn with_run_id(mut self, id: impl Into<String>) -> Beat {
        if let Some(job) = &mut self.job {
            job.run_id = Some(id.into());
        }
        self
    }

    pub(super) fn run_id(&self) -> Option<&str> {
        self.job.as_ref()?.run_id.as_deref()
    }

    /// Whether this is a beat of a run with an id while such runs are in progress: the
    /// entry is theirs together then.
    pub(super) fn shares_runs(&self, entry: &Entry) -> bool {
        self.run_id().is_some() && !entry.runs.is_empty()
    }

    /// A keepalive of a run in progress leaves the newest report as it is: a run's start
    /// or end decides it, so another run's `failed` stays on show while this one runs.
    pub(super) fn keeps_status(&self, entry: &Entry) -> bool {
        self.status == Reported::Running
            && self.run_id().is_some_and(|id| entry.runs.contains_key(id))
            && matches!(
                entry.reported(),
                Reported::Succeeded | Reported::Failed | Reported::Stopped
            )
    }

    /// A start or keepalive adds the run `id` to `runs` (if it is not there yet); an end
    /// takes it out and becomes the newest finished run, its duration counted from its own
    /// start. The end of a run that is not in progress is a run reported only at its end,
    /// as without an id.
    pub(super) fn track_run(&self, entry: &mut Entry, id: &str, job: &JobRun, now: f64) {
        if self.status == Reported::Running {
            if !entry.runs.contains_key(id) {
                let run = RunInProgress {
                    started_at: job.started_at.unwrap_or(now),
                    pid: self.pid,
                    host: self.host.clone(),
                    extra: Map::new(),
                };
                add_run(entry, id, run);
            }
            return;
        }
        let started_at = entry
            .runs
            .remove(id)
            .map_or(job.started_at, |run| Some(run.started_at));
        set_newest_run(entry, job, started_at);
        if entry.runs.is_empty() {
            entry.runs_dropped = None;
        }
    }
}

/// Adds `run` as `id` to `entry.runs`, within [`MAX_RUNS`]: past it the run that started
/// first goes (this one, if it is the oldest), counted in `runs_dropped`.
fn add_run(entry: &mut Entry, id: &str, run: RunInProgress) {
    if entry.runs.len() >= MAX_RUNS {
        let oldest = entry
            .runs_in_progress()
            .first()
            .filter(|(_, first)| first.started_at <= run.started_at)
            .map(|(oldest, _)| (*oldest).to_owned());
        entry.runs_dropped = Some(entry.runs_dropped.unwrap_or(0) + 1);
        match oldest {
            Some(oldest) => {
                entry.runs.remove(&oldest);
            }
            None => return,
        }
    }
    entry.runs.insert(id.to_owned(), run);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::store::DataChange;

    fn start(id: Option<&str>, at: f64, pid: u32) -> Beat {
        let beat = Beat {
            pid: Some(pid),
            ..Beat::running(at, DataChange::Keep)
        };
        match id {
            Some(id) => beat.with_run_id(id),
            None => beat,
        }
    }

    /// The end at `at` of a run whose start the writer gives as `started_at`, measured to
    /// have taken `took` seconds if given.
    fn end(
        id: Option<&str>,
        started_at: Option<f64>,
        at: f64,
        code: u8,
        took: Option<f64>,
    ) -> Beat {
        let took = took.map(Duration::from_secs_f64);
        let beat = Beat::finished(started_at, at, took, Some(code), "exit", DataChange::Keep);
        match id {
            Some(id) => beat.with_run_id(id),
            None => beat,
        }
    }

    struct Case {
        what: &'static str,
        beats: Vec<(f64, Beat)>,
        runs: &'static [&'static str],
        status: Reported,
        /// The newest finished run: started_at, finished_at, exit_code, duration.
        newest: (Option<f64>, Option<f64>, Option<i32>, Option<f64>),
    }

    #[rustfmt::skip]
    fn cases() -> Vec<Case> {
        use Reported::{Failed, Running, Succeeded};
        let (a, b) = (Some("a"), Some("b"));
        vec![
            Case { what: "a start with an id adds a run; the newest finished run stays",
                beats: vec![(10.0, end(None, Some(5.0), 10.0, 0, None)), (20.0, start(a, 20.0, 1))],
                runs: &["a"], status: Running, newest: (Some(5.0), Some(10.0), Some(0), Some(5.0)) },
            Case { what: "a keepalive is the same run",
                beats: vec![(20.0, start(a, 20.0, 1)), (30.0, start(a, 20.0, 1))],
                runs: &["a"], status: Running, newest: (None, None, None, None) },
            Case { what: "an end takes its own run's start, not the writer's",
                beats: vec![(20.0, start(a, 20.0, 1)), (25.0, start(b, 25.0, 2)), (27.0, end(b, Some(20.0), 27.0, 0, None))],
                runs: &["a"], status: Succeeded, newest: (Some(25.0), Some(27.0), Some(0), Some(2.0)) },
            Case { what: "both overlapping runs end with their own code and duration",
                beats: vec![(20.0, start(a, 20.0, 1)), (25.0, start(b, 25.0, 2)), (27.0, end(b, None, 27.0, 0, None)), (40.0, end(a, None, 40.0, 3, None))],
                runs: &[], status: Failed, newest: (Some(20.0), Some(40.0), Some(3), Some(20.0)) },
            Case { what: "an end whose id is unknown is a run reported only at its end",
                beats: vec![(20.0, start(a, 20.0, 1)), (50.0, end(Some("x"), None, 50.0, 0, None))],
                runs: &["a"], status: Succeeded, newest: (None, Some(50.0), Some(0), None) },
            Case { what: "a keepalive does not hide another run's failure",
                beats: vec![(20.0, start(a, 20.0, 1)), (21.0, start(b, 21.0, 2)), (22.0, end(b, None, 22.0, 1, None)), (30.0, start(a, 20.0, 1))],
                runs: &["a"], status: Failed, newest: (Some(21.0), Some(22.0), Some(1), Some(1.0)) },
            Case { what: "a new start does replace the newest report",
                beats: vec![(20.0, start(a, 20.0, 1)), (22.0, end(a, None, 22.0, 1, None)), (30.0, start(b, 30.0, 2))],
                runs: &["b"], status: Running, newest: (Some(20.0), Some(22.0), Some(1), Some(2.0)) },
            Case { what: "a measured duration wins over the stamps",
                beats: vec![(20.0, start(a, 20.0, 1)), (30.0, end(a, Some(20.0), 30.0, 0, Some(9.5)))],
                runs: &[], status: Succeeded, newest: (Some(20.0), Some(30.0), Some(0), Some(9.5)) },
            Case { what: "beats without an id are the one unnamed run, as ever",
                beats: vec![(20.0, start(None, 20.0, 1)), (30.0, end(None, Some(20.0), 30.0, 0, None))],
                runs: &[], status: Succeeded, newest: (Some(20.0), Some(30.0), Some(0), Some(10.0)) },
            Case { what: "an unnamed start leaves the runs with ids alone",
                beats: vec![(20.0, start(a, 20.0, 1)), (30.0, start(None, 30.0, 2))],
                runs: &["a"], status: Running, newest: (Some(30.0), None, None, None) },
        ]
    }

    #[test]
    fn runs_with_ids_start_keep_alive_and_end_apart() {
        for case in cases() {
            let entry = case
                .beats
                .iter()
                .fold(None, |entry, (now, beat)| Some(beat.apply(entry, *now)))
                .unwrap();
            let what = case.what;
            let runs: Vec<&str> = entry.runs.keys().map(String::as_str).collect();
            assert_eq!(runs, case.runs, "{what}");
            assert_eq!(entry.reported(), case.status, "{what}");
            let newest = (
                entry.started_at,
                entry.finished_at,
                entry.exit_code,
                entry.duration,
            );
            assert_eq!(newest, case.newest, "{what}");
        }
    }

    #[test]
    fn a_run_keeps_its_start_pid_and_host() {
        let beat = Beat {
            host: Some("box".into()),
            ..start(Some("a"), 20.0, 7)
        };
        let entry = beat.apply(None, 21.0);
        let run = &entry.runs["a"];
        assert_eq!(
            (run.started_at, run.pid, run.host.as_deref()),
            (20.0, Some(7), Some("box"))
        );
        let text = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            text["runs"],
            json!({"a": {"started_at": 20.0, "pid": 7, "host": "box"}})
        );
        assert_eq!(serde_json::from_value::<Entry>(text).unwrap(), entry);
    }

    #[test]
    fn overlapping_runs_share_the_entry_without_resetting_it() {
        let with_data = |beat: Beat, data: Value| Beat {
            data: DataChange::Replace(data),
            ..beat
        };
        let a = with_data(start(Some("a"), 20.0, 1), json!({"command": "a"}));
        let b = with_data(start(Some("b"), 21.0, 2), json!({"command": "b"}));
        let mut tail = Map::new();
        tail.insert("output_tail".into(), json!("done"));
        let end_a = Beat {
            data: DataChange::Merge(tail),
            ..end(Some("a"), None, 30.0, 0, None)
        };
        let entry = [(20.0, a), (21.0, b), (30.0, end_a)]
            .into_iter()
            .fold(None, |entry, (now, beat)| Some(beat.apply(entry, now)))
            .unwrap();
        assert_eq!(
            entry.additional_data,
            json!({"command": "b", "output_tail": "done"})
        );
        assert_eq!((entry.first_heartbeat, entry.beats), (Some(20.0), Some(3)));
    }

    #[test]
    fn past_max_runs_the_oldest_run_is_dropped_and_counted() {
        let mut entry = None;
        for i in 0..=MAX_RUNS {
            let at = 100.0 + i as f64;
            entry = Some(start(Some(&format!("r{i:02}")), at, 1).apply(entry, at));
        }
        let entry = entry.unwrap();
        assert_eq!(entry.runs.len(), MAX_RUNS);
        assert!(!entry.runs.contains_key("r00"), "the oldest went");
        assert!(entry.runs.contains_key(&format!("r{MAX_RUNS:02}")));
        assert_eq!(entry.runs_dropped, Some(1));
        // A keepalive of the dropped run is older than every run kept: it is not taken back.
        let entry = start(Some("r00"), 100.0, 1).apply(Some(entry), 200.0);
        assert!(!entry.runs.contains_key("r00"));
        assert_eq!((entry.runs.len(), entry.runs_dropped), (MAX_RUNS, Some(2)));
        let ids: Vec<String> = entry.runs.keys().cloned().collect();
        let ended = ids.iter().fold(entry, |entry, id| {
            end(Some(id), None, 300.0, 0, None).apply(Some(entry), 300.0)
        });
        assert!(ended.runs.is_empty());
        assert_eq!(ended.runs_dropped, None, "the count ends with the runs");
    }
}

#[cfg(test)]
mod previous_start_tests {
    use super::*;
    use crate::store::DataChange;

    fn start(id: Option<&str>, at: f64) -> Beat {
        let beat = Beat::running(at, DataChange::Keep);
        match id {
            Some(id) => beat.with_run_id(id),
            None => beat,
        }
    }

    fn end(id: Option<&str>, started_at: f64, at: f64) -> Beat {
        let beat = Beat::finished(
            Some(started_at),
            at,
            None,
            Some(0),
            "exit",
            DataChange::Keep,
        );
        match id {
            Some(id) => beat.with_run_id(id),
            None => beat,
        }
    }

    #[test]
    fn a_new_runs_start_keeps_the_one_it_replaces_as_the_previous_start() {
        // (run id or none): the same sequence, named and unnamed runs alike.
        for id in [None, Some("a")] {
            let mut entry = None;
            for (at, beat) in [
                (10.0, start(id, 10.0)),
                (11.0, end(id, 10.0, 11.0)),
                (20.0, start(id, 20.0)),
                (25.0, start(id, 20.0)),
                (30.0, end(id, 20.0, 30.0)),
            ] {
                entry = Some(beat.apply(entry, at));
            }
            let entry = entry.unwrap();
            assert_eq!(
                (entry.started_at, entry.previous_started_at),
                (Some(20.0), Some(10.0)),
                "{id:?}"
            );
        }
    }
}
