//! The engine on its thread: woken by the clock, a change of the file, its face.

use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::*;
use crate::probe::{FakeProbe, Lookup, SystemInfo};
use crate::store::{Beat, Store};

fn options(file: &std::path::Path, probe: Box<dyn Probe + Send>) -> Options {
    Options {
        file: file.to_owned(),
        config: Config::default(),
        config_path: None,
        config_flag: None,
        refresh: Duration::from_secs(1),
        alerts: false,
        supervise: false,
        probe,
    }
}

/// Waits for the update `done` accepts; fails after 10 s.
fn until(rx: &mpsc::Receiver<Arc<Update>>, done: impl Fn(&Update) -> bool) -> Arc<Update> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let update = rx.recv_timeout(left).expect("the update in time");
        if done(&update) {
            return update;
        }
    }
}

#[test]
fn a_running_monitor_checks_each_second_on_a_change_and_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let engine = Engine::new(options(&file, Box::new(FakeProbe::default()))).unwrap();
    let (tx, rx) = mpsc::channel();
    let first = engine
        .feed()
        .subscribe(move |u| tx.send(Arc::clone(u)).is_ok());
    let monitor = Monitor::start(engine).unwrap();
    // The tick, with nothing new to read.
    let ticked = until(&rx, |_| true);
    assert_eq!(ticked.seq, first.seq + 1);
    // A beat: read, and its changes published.
    Store::new(&file)
        .beat("fresh", &Beat::alive(Some(std::process::id())))
        .unwrap();
    let seen = until(&rx, |u| u.report.rows.iter().any(|r| r.name == "fresh"));
    assert!(seen.read && !seen.changes.beats.is_empty());
    // Asked: read again, though nothing changed.
    monitor.refresh();
    until(&rx, |u| u.read && u.changes.is_empty());
    assert!(!monitor.failed());
    assert!(monitor.stop(Instant::now()).is_empty());
}

/// A probe that panics at its second refresh: the engine's thread dies of it.
struct Bomb(u32);

impl Probe for Bomb {
    fn refresh(&mut self, _: &[u32], _: bool) {
        self.0 += 1;
        assert!(self.0 < 2, "the probe blew up (as this test wants)");
    }
    fn process(&self, _: u32) -> Lookup {
        Lookup::Unknown
    }
    fn find(&mut self, _: &regex::Regex) -> Lookup {
        Lookup::Unknown
    }
    fn system(&self) -> Option<SystemInfo> {
        None
    }
}

#[test]
fn a_monitor_whose_engine_died_says_so_rather_than_go_on_stale() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(options(&dir.path().join("hb.json"), Box::new(Bomb(0)))).unwrap();
    let monitor = Monitor::start(engine).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !monitor.failed() {
        assert!(Instant::now() < deadline, "the engine did not die");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Stopping a dead engine returns at once, with nothing to say.
    assert!(monitor.stop(Instant::now()).is_empty());
}
