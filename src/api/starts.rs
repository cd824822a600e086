//! The job runs whose start this monitor wrote (`/ping/NAME/start`, with its `?rid=` if
//! given: runs of one job with ids are remembered apart), each with the instant
//! it wrote it on the monotonic clock: the run's end then measures its duration on that
//! clock, which a wall clock stepped in between (NTP, a suspend, `date -s`) does not move.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::store::{Entry, Kind, Reported};

/// How many starts are remembered at most. Anyone who reaches the API can start runs of
/// made-up names; past this, the oldest start is forgotten, and its run's duration falls back
/// to the wall-clock stamps, as for a start this monitor did not write.
const MAX_STARTS: usize = 10_000;

/// Two stamps this close are the same: stamps are whole microseconds, and one read back
/// from the file may be a unit in the last place off the one written.
const SAME_STAMP: f64 = 0.5e-6;

/// The starts in progress, by heartbeat name and run id, shared by the HTTP threads.
#[derive(Debug, Default)]
pub struct Starts(Mutex<HashMap<Key, Start>>);

/// A run: its heartbeat name, and its run id (`None`: the job's one unnamed run).
type Key = (String, Option<String>);

#[derive(Debug, Clone, Copy)]
struct Start {
    /// The run's `started_at`, as written to its entry.
    stamp: f64,
    at: Instant,
}

impl Starts {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Start>> {
        // Plain values: a panic elsewhere cannot leave the map half-changed.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long the run `rid` of `name` that started at `stamp` (as its entry has it) has
    /// taken at `now`, if this monitor wrote that start; `None` for a start written by
    /// someone else (`hbmon run`, another monitor, this one before a restart).
    pub fn took(
        &self,
        name: &str,
        rid: Option<&str>,
        stamp: f64,
        now: Instant,
    ) -> Option<Duration> {
        let key = (name.to_owned(), rid.map(str::to_owned));
        let start = *self.lock().get(&key)?;
        ((start.stamp - stamp).abs() < SAME_STAMP).then(|| now.saturating_duration_since(start.at))
    }

    /// Notes what a ping of the run `rid` written at `stamp` and `at` made of `name`'s
    /// entry: a start it wrote is remembered; anything else (the run's end) forgets the
    /// start it had. A run with an id is in `runs` while it runs; the entry's own run
    /// fields are the newest finished run's then, and say nothing of it.
    pub fn written(&self, name: &str, rid: Option<&str>, entry: &Entry, stamp: f64, at: Instant) {
        let key = (name.to_owned(), rid.map(str::to_owned));
        let mut starts = self.lock();
        let started = entry.kind() == Kind::Job
            && match rid {
                Some(id) => entry.runs.get(id).map(|run| run.started_at) == Some(stamp),
                None => entry.reported() == Reported::Running && entry.started_at == Some(stamp),
            };
        if !started {
            starts.remove(&key);
            return;
        }
        if starts.len() >= MAX_STARTS
            && !starts.contains_key(&key)
            && let Some(oldest) = starts
                .iter()
                .min_by_key(|(_, start)| start.at)
                .map(|(key, _)| key.clone())
        {
            starts.remove(&oldest);
        }
        starts.insert(key, Start { stamp, at });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Beat, DataChange};

    fn started(stamp: f64) -> Entry {
        Beat::running(stamp, DataChange::Keep).apply(None, stamp)
    }

    #[test]
    fn a_start_it_wrote_is_measured_on_the_monotonic_clock() {
        let starts = Starts::default();
        let t0 = Instant::now();
        starts.written("backup", None, &started(1000.0), 1000.0, t0);
        let later = t0 + Duration::from_secs(3);
        assert_eq!(
            starts.took("backup", None, 1000.0, later),
            Some(Duration::from_secs(3))
        );
        // Read back from the file a unit in the last place off: the same start.
        assert_eq!(
            starts.took("backup", None, 1_000.000_000_1, later),
            Some(Duration::from_secs(3))
        );
        // A start written by someone else since, or another name.
        assert_eq!(starts.took("backup", None, 1_000.000_001, later), None);
        assert_eq!(starts.took("other", None, 1000.0, later), None);
    }

    #[test]
    fn a_start_is_forgotten_when_its_run_ends_or_is_stopped() {
        let starts = Starts::default();
        let t0 = Instant::now();
        starts.written("backup", None, &started(1000.0), 1000.0, t0);
        let ended = Beat::finished(Some(1000.0), 1003.0, None, Some(0), "", DataChange::Keep)
            .apply(Some(started(1000.0)), 1003.0);
        starts.written("backup", None, &ended, 1003.0, t0);
        assert_eq!(starts.took("backup", None, 1000.0, t0), None);

        starts.written("backup", None, &started(1000.0), 1000.0, t0);
        // A plain beat over the run, as `/ping/NAME?stopped` writes.
        let stopped = Entry {
            status: Some(Reported::Stopped),
            ..started(1000.0)
        };
        starts.written("backup", None, &stopped, 1002.0, t0);
        assert_eq!(starts.took("backup", None, 1000.0, t0), None);
    }

    #[test]
    fn runs_with_ids_of_one_name_are_remembered_apart_from_each_other_and_the_unnamed_run() {
        let starts = Starts::default();
        let t0 = Instant::now();
        let (a, b) = (Some("a"), Some("b"));
        // Two runs by id, as their starts leave the entry: each in `runs`, the entry's
        // own run fields still the unnamed run's.
        let one = Beat::running(1000.0, DataChange::Keep)
            .with_run_id("a")
            .apply(None, 1000.0);
        starts.written("backup", a, &one, 1000.0, t0);
        let two = Beat::running(1001.0, DataChange::Keep)
            .with_run_id("b")
            .apply(Some(one), 1001.0);
        starts.written("backup", b, &two, 1001.0, t0 + Duration::from_secs(1));
        let later = t0 + Duration::from_secs(5);
        assert_eq!(
            starts.took("backup", a, 1000.0, later),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            starts.took("backup", b, 1001.0, later),
            Some(Duration::from_secs(4))
        );
        assert_eq!(starts.took("backup", None, 1000.0, later), None);
        // `a` ends: `b` is still remembered.
        let ended = Beat::finished(None, 1005.0, None, Some(0), "", DataChange::Keep)
            .with_run_id("a")
            .apply(Some(two), 1005.0);
        starts.written("backup", a, &ended, 1005.0, later);
        assert_eq!(starts.took("backup", a, 1000.0, later), None);
        assert!(starts.took("backup", b, 1001.0, later).is_some());
    }

    #[test]
    fn starts_of_made_up_names_cannot_grow_it_without_bound() {
        let starts = Starts::default();
        let t0 = Instant::now();
        for i in 0..=MAX_STARTS {
            let at = t0 + Duration::from_millis(i as u64);
            starts.written(&format!("job{i}"), None, &started(1000.0), 1000.0, at);
        }
        assert_eq!(starts.lock().len(), MAX_STARTS);
        assert_eq!(
            starts.took("job0", None, 1000.0, t0),
            None,
            "the oldest goes"
        );
        assert!(
            starts
                .took(&format!("job{MAX_STARTS}"), None, 1000.0, t0)
                .is_some()
        );
    }
}
