//! Turning the file into a report for the UI: `report::build` with the config and the OS
//! probe, where the OS is asked at most once per `--refresh` — except for a PID it has not
//! seen yet, so a process that just started beating never flashes as dead.

use std::collections::HashSet;

use regex::Regex;

use crate::config::Config;
use crate::probe::{Lookup, Probe, SystemInfo};
use crate::report::{self, Report};
use crate::store::Snapshot;

/// Whether a report must ask the OS afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probing {
    /// The probe timer or `r`: refresh every process.
    Fresh,
    /// The file changed: reuse what the last probe saw for known PIDs.
    Cached,
}

/// The config and probe the UI judges with.
pub struct Judge<'a> {
    config: &'a Config,
    probe: Throttled<'a>,
}

impl<'a> Judge<'a> {
    pub fn new(config: &'a Config, probe: &'a mut dyn Probe) -> Judge<'a> {
        Judge {
            config,
            probe: Throttled {
                inner: probe,
                probing: Probing::Fresh,
                seen: HashSet::new(),
            },
        }
    }

    pub fn report(&mut self, snapshot: &Snapshot, now: f64, probing: Probing) -> Report {
        self.probe.probing = probing;
        report::build(snapshot, self.config, &mut self.probe, now)
    }
}

/// A probe whose `refresh` goes through only when asked for fresh data or when a PID is new.
/// A burst of beats re-judges the file each time; without this, each would re-read `/proc`
/// for every process.
struct Throttled<'a> {
    inner: &'a mut dyn Probe,
    probing: Probing,
    /// The PIDs of the last refresh that went through.
    seen: HashSet<u32>,
}

impl Probe for Throttled<'_> {
    fn refresh(&mut self, pids: &[u32], list: bool) {
        let new_pid = pids.iter().any(|pid| !self.seen.contains(pid));
        if self.probing == Probing::Fresh || new_pid {
            self.inner.refresh(pids, list);
            self.seen = pids.iter().copied().collect();
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

    fn snapshot(pids: &[u32]) -> Snapshot {
        Snapshot {
            entries: pids
                .iter()
                .map(|&pid| (format!("p{pid}"), Beat::alive(Some(pid)).apply(None, 1.0)))
                .collect::<Vec<(String, Entry)>>(),
            invalid: Vec::new(),
        }
    }

    #[test]
    fn the_os_is_asked_on_the_timer_and_for_new_pids_only() {
        let config = Config::default();
        let mut probe = FakeProbe::default();
        let mut judge = Judge::new(&config, &mut probe);
        judge.report(&snapshot(&[10, 11]), 2.0, Probing::Cached);
        judge.report(&snapshot(&[10, 11]), 2.1, Probing::Cached);
        judge.report(&snapshot(&[11]), 2.2, Probing::Cached);
        judge.report(&snapshot(&[10, 11]), 4.0, Probing::Fresh);
        judge.report(&snapshot(&[10, 11, 12]), 4.5, Probing::Cached);
        assert_eq!(
            probe.refreshed,
            [vec![10, 11], vec![10, 11], vec![10, 11, 12]]
        );
    }
}
