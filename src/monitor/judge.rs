//! Turning the file into a report: `report::build` with the config and the OS probe, where
//! the OS is asked afresh only when the engine says so (its probe cadence, the UI's `r`) —
//! and for a PID it has not seen yet, so a process that just started beating never flashes
//! as dead. A re-read of the file in between reuses what the last probe found.

use std::collections::HashSet;

use regex::Regex;

use crate::config::Config;
use crate::probe::{Lookup, Probe, SystemInfo};
use crate::report::{self, Report};
use crate::store::Snapshot;

/// Whether a report must ask the OS afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probing {
    /// The probe's cadence or `r`: refresh every process.
    Fresh,
    /// The file changed, or the clock ticked: reuse what the last probe saw for known PIDs.
    Cached,
}

/// The probe the engine judges with, and the PIDs of its last refresh.
pub struct Judge {
    probe: Box<dyn Probe + Send>,
    seen: HashSet<u32>,
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Judge")
            .field("seen", &self.seen.len())
            .finish_non_exhaustive()
    }
}

impl Judge {
    pub fn new(probe: Box<dyn Probe + Send>) -> Judge {
        Judge {
            probe,
            seen: HashSet::new(),
        }
    }

    pub fn report(
        &mut self,
        snapshot: &Snapshot,
        config: &Config,
        now: f64,
        probing: Probing,
        results: &crate::checks::Results,
    ) -> Report {
        let mut throttled = Throttled {
            inner: self.probe.as_mut(),
            probing,
            seen: &mut self.seen,
        };
        report::build_probed(snapshot, config, &mut throttled, now, results)
    }
}

/// A probe whose `refresh` goes through only when asked for fresh data or when a PID is new.
/// A burst of beats re-judges the file each time; without this, each would re-read `/proc`
/// for every process.
struct Throttled<'a> {
    inner: &'a mut (dyn Probe + Send),
    probing: Probing,
    /// The PIDs of the last refresh that went through.
    seen: &'a mut HashSet<u32>,
}

impl Probe for Throttled<'_> {
    fn refresh(&mut self, pids: &[u32], list: bool) {
        let new_pid = pids.iter().any(|pid| !self.seen.contains(pid));
        if self.probing == Probing::Fresh || new_pid {
            self.inner.refresh(pids, list);
            *self.seen = pids.iter().copied().collect();
        }
    }

    fn process(&self, pid: u32) -> Lookup {
        self.inner.process(pid)
    }

    fn find(&mut self, pattern: &Regex) -> Lookup {
        self.inner.find(pattern)
    }

    fn system(&self) -> Option<SystemInfo> {
        self.inner.system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::FakeProbe;
    use crate::store::{Beat, Entry};
    use std::sync::{Arc, Mutex};

    fn snapshot(pids: &[u32]) -> Snapshot {
        Snapshot {
            entries: pids
                .iter()
                .map(|&pid| {
                    let entry: Entry = Beat::alive(Some(pid)).apply(None, 1.0);
                    (format!("p{pid}"), entry.into())
                })
                .collect(),
            invalid: Vec::new(),
        }
    }

    /// A fake probe the test keeps a hold on, to read what was asked.
    struct Shared(Arc<Mutex<FakeProbe>>);

    impl Probe for Shared {
        fn refresh(&mut self, pids: &[u32], list: bool) {
            self.0.lock().unwrap().refresh(pids, list);
        }
        fn process(&self, pid: u32) -> Lookup {
            self.0.lock().unwrap().process(pid)
        }
        fn find(&mut self, pattern: &Regex) -> Lookup {
            self.0.lock().unwrap().find(pattern)
        }
        fn system(&self) -> Option<SystemInfo> {
            self.0.lock().unwrap().system()
        }
    }

    #[test]
    fn the_os_is_asked_on_the_timer_and_for_new_pids_only() {
        let config = Config::default();
        let probe = Arc::new(Mutex::new(FakeProbe::default()));
        let mut judge = Judge::new(Box::new(Shared(Arc::clone(&probe))));
        judge.report(
            &snapshot(&[10, 11]),
            &config,
            2.0,
            Probing::Cached,
            &crate::checks::Results::new(),
        );
        judge.report(
            &snapshot(&[10, 11]),
            &config,
            2.1,
            Probing::Cached,
            &crate::checks::Results::new(),
        );
        judge.report(
            &snapshot(&[11]),
            &config,
            2.2,
            Probing::Cached,
            &crate::checks::Results::new(),
        );
        judge.report(
            &snapshot(&[10, 11]),
            &config,
            4.0,
            Probing::Fresh,
            &crate::checks::Results::new(),
        );
        judge.report(
            &snapshot(&[10, 11, 12]),
            &config,
            4.5,
            Probing::Cached,
            &crate::checks::Results::new(),
        );
        assert_eq!(
            probe.lock().unwrap().refreshed,
            [vec![10, 11], vec![10, 11], vec![10, 11, 12]]
        );
    }
}
