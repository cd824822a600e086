//! The scheduler and its workers. Each probe has a slot: when its turn comes and it is not
//! running, the scheduler queues a run for the [`super::WORKERS`] workers; a run that is
//! still going at the next turn marks the slot late instead of starting another; one still
//! going past its timeout (and a second's slack: a runner that overran its own bound) is
//! recorded failed, and its answer, when it comes, ignored. Results go into the slots,
//! which [`Checks::results`] copies under a short lock: no reader ever waits for a probe.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::rollup::{OpenMinute, ProbeMinute, Rollup};
use super::stats::Samples;
use super::{ProbeStatus, Results, Spec, WORKERS};
use crate::clock::unix_now;
use crate::config::ProbeKind;

/// Past its timeout, a run the runner itself did not end gets this long before the pool
/// records it failed.
const SLACK: Duration = Duration::from_secs(1);
/// The scheduler looks at the slots at least this often.
const TICK: Duration = Duration::from_millis(100);
/// Closed minutes kept for the history at most, until the monitor takes them: a thousand
/// probes' minutes of almost an hour while this monitor does not record (another does, or
/// the database is refused), and a bound on their memory meanwhile.
const MAX_CLOSED: usize = 50_000;

/// One probe between runs.
#[derive(Debug)]
struct Slot {
    spec: Spec,
    next_at: Instant,
    /// The run in flight, if any.
    run: Option<Run>,
    /// Runs so far, to tell a run's answer from an older one's.
    runs: u64,
    samples: Samples,
    /// The runs of the minute being filled, for the history.
    minute: OpenMinute,
    status: ProbeStatus,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    id: u64,
    /// When a worker took it up (queued runs wait for a free worker, not counted).
    started: Option<Instant>,
    /// Recorded failed at the pool's deadline; its late answer is ignored.
    given_up: bool,
}

/// A run for a worker.
struct Job {
    slot: usize,
    id: u64,
    kind: ProbeKind,
    timeout: Duration,
}

#[derive(Debug, Default)]
struct Shared {
    slots: Vec<Slot>,
    /// Minutes closed and not yet taken ([`Checks::minutes`]), oldest first.
    closed: Vec<ProbeMinute>,
    stopping: bool,
}

impl Shared {
    /// Keeps slot `i`'s minute that `closed`, if any, for the history.
    fn keep(&mut self, i: usize, closed: Option<Rollup>) {
        let (Some(rollup), Some(slot)) = (closed, self.slots.get(i)) else {
            return;
        };
        self.closed.push(slot.named(rollup));
        if self.closed.len() > MAX_CLOSED {
            let over = self.closed.len() - MAX_CLOSED;
            self.closed.drain(..over);
        }
    }
}

type State = Arc<(Mutex<Shared>, Condvar)>;

fn lock(state: &State) -> MutexGuard<'_, Shared> {
    // A panicking probe leaves plain data behind, still good to read.
    state.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The probes at work; stopped when dropped.
#[derive(Debug)]
pub struct Checks {
    state: State,
    threads: Vec<JoinHandle<()>>,
}

impl Checks {
    /// Starts the scheduler and the workers, running `specs`.
    pub fn start(specs: Vec<Spec>) -> std::io::Result<Checks> {
        let state: State = Arc::default();
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut checks = Checks {
            state: Arc::clone(&state),
            threads: Vec::with_capacity(WORKERS + 1),
        };
        checks.configure(specs);
        let agent = super::http::agent();
        for _ in 0..WORKERS {
            let (state, rx, agent) = (Arc::clone(&state), Arc::clone(&rx), agent.clone());
            checks.threads.push(
                std::thread::Builder::new()
                    .name("hbmon-probe".into())
                    .spawn(move || work(&state, &rx, &agent))?,
            );
        }
        let scheduler = Arc::clone(&state);
        checks.threads.push(
            std::thread::Builder::new()
                .name("hbmon-probes".into())
                .spawn(move || schedule(&scheduler, &tx))?,
        );
        Ok(checks)
    }

    /// Runs `specs` from now on: a probe that was already configured (same process, kind
    /// and target) keeps its results and its history; a new one runs at once.
    pub fn configure(&mut self, specs: Vec<Spec>) {
        let mut shared = lock(&self.state);
        // The same again (the monitor says so once a second) changes nothing: runs in
        // flight stay theirs.
        if shared.slots.len() == specs.len()
            && shared
                .slots
                .iter()
                .zip(&specs)
                .all(|(slot, spec)| slot.spec == *spec)
        {
            return;
        }
        let mut old = std::mem::take(&mut shared.slots);
        let now = Instant::now();
        shared.slots = specs
            .into_iter()
            .map(|spec| {
                let same = |s: &Slot| s.spec.name == spec.name && s.spec.kind == spec.kind;
                match old.iter().position(same) {
                    Some(i) => {
                        let mut slot = old.swap_remove(i);
                        // A run in flight answers into an index that may have moved.
                        slot.run = None;
                        slot.runs += 1;
                        slot.spec = spec;
                        slot
                    }
                    None => Slot {
                        status: ProbeStatus {
                            kind: spec.kind.name().to_owned(),
                            target: spec.kind.target().to_owned(),
                            ok: None,
                            failing: false,
                            fails: 0,
                            failing_since: None,
                            last_at: None,
                            last_ms: None,
                            p50_ms: None,
                            p95_ms: None,
                            recent_ms: Vec::new(),
                            last_error: None,
                            late: false,
                            stale: false,
                        },
                        spec,
                        next_at: now,
                        run: None,
                        runs: 0,
                        samples: Samples::default(),
                        minute: OpenMinute::default(),
                    },
                }
            })
            .collect();
        drop(shared);
        self.state.1.notify_all();
    }

    /// Takes `minutes` (from the history, of any probes) as the runs before this pool's:
    /// each probe's median, 95th percentile and sparkline of the last hour start from its
    /// own, not empty, after a restart.
    pub fn seed(&self, minutes: &[ProbeMinute]) {
        let now = unix_now();
        // Grouped once: a thousand probes' hour is 60 000 minutes, and each slot looking
        // through all of them would be 60 million comparisons on the engine's thread.
        let mut by_probe: HashMap<(&str, &str, &str), Vec<_>> = HashMap::new();
        for m in minutes {
            (by_probe.entry((&m.name, &m.kind, &m.target)).or_default()).push(m.rollup);
        }
        let mut shared = lock(&self.state);
        for slot in &mut shared.slots {
            let (kind, target) = (slot.spec.kind.name(), slot.spec.kind.target());
            let own = (by_probe.get(&(slot.spec.name.as_str(), kind, target)))
                .cloned()
                .unwrap_or_default();
            slot.samples.seed(own, now);
            slot.refresh(now);
        }
    }

    /// The minutes that closed by `now` since the last call, oldest first, for the
    /// history; with `open`, each probe's minute still open as it stands too (a monitor
    /// stopping: its last minute is written, and written again whole if a monitor after it
    /// closes it).
    pub fn minutes(&self, now: f64, open: bool) -> Vec<ProbeMinute> {
        let mut shared = lock(&self.state);
        for i in 0..shared.slots.len() {
            let closed = shared.slots[i].minute.close_before(now);
            shared.keep(i, closed);
        }
        let mut minutes = std::mem::take(&mut shared.closed);
        if open {
            minutes.extend(
                shared
                    .slots
                    .iter()
                    .filter_map(|slot| Some(slot.named(slot.minute.so_far()?))),
            );
        }
        minutes
    }

    /// The latest result of every probe, copied: never waits for one.
    pub fn results(&self) -> Results {
        let shared = lock(&self.state);
        let mut results = Results::new();
        for slot in &shared.slots {
            results
                .entry(slot.spec.name.clone())
                .or_default()
                .push(slot.status.clone());
        }
        results
    }
}

impl Drop for Checks {
    /// Stops the scheduler; workers end once their run does (a command's within its
    /// timeout), without being waited for.
    fn drop(&mut self) {
        lock(&self.state).stopping = true;
        self.state.1.notify_all();
        // The scheduler ends at once; dropping its sender ends idle workers.
        if let Some(scheduler) = self.threads.pop() {
            let _ = scheduler.join();
        }
    }
}

/// The scheduler's loop: starts what is due, gives up what overran, sleeps until the next
/// turn (or a reconfiguration).
fn schedule(state: &State, tx: &Sender<Job>) {
    let mut shared = lock(state);
    while !shared.stopping {
        let now = Instant::now();
        let mut wake = now + TICK;
        let mut closed = Vec::new();
        for (i, slot) in shared.slots.iter_mut().enumerate() {
            if let Some(run) = &mut slot.run
                && let Some(started) = run.started
                && !run.given_up
                && now >= started + slot.spec.timeout + SLACK
            {
                run.given_up = true;
                let ms = (now - started).as_secs_f64() * 1000.0;
                let why = format!("no answer within {}", super::http::secs(slot.spec.timeout));
                closed.push((i, record(slot, ms, Err(why))));
            }
            if now >= slot.next_at {
                slot.next_at = now + slot.spec.every;
                if slot.run.is_some() {
                    slot.status.late = true;
                } else {
                    slot.runs += 1;
                    slot.run = Some(Run {
                        id: slot.runs,
                        started: None,
                        given_up: false,
                    });
                    let job = Job {
                        slot: i,
                        id: slot.runs,
                        kind: slot.spec.kind.clone(),
                        timeout: slot.spec.timeout,
                    };
                    if tx.send(job).is_err() {
                        return;
                    }
                }
            }
            wake = wake.min(slot.next_at);
        }
        for (i, minute) in closed {
            shared.keep(i, minute);
        }
        let wait = wake.saturating_duration_since(Instant::now());
        shared = state
            .1
            .wait_timeout(shared, wait)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// A worker's loop: takes a run, marks it started, runs it outside the lock, records it.
fn work(state: &State, rx: &Mutex<Receiver<Job>>, agent: &ureq::Agent) {
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(PoisonError::into_inner);
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let started = Instant::now();
        {
            let mut shared = lock(state);
            if shared.stopping {
                return;
            }
            match shared.slots.get_mut(job.slot).and_then(|s| s.run.as_mut()) {
                Some(run) if run.id == job.id => run.started = Some(started),
                // Reconfigured meanwhile: the run is no one's.
                _ => continue,
            }
        }
        let outcome = match &job.kind {
            ProbeKind::Http { url, expect } => {
                super::http::run(agent, url, expect.as_deref(), job.timeout)
            }
            ProbeKind::Tcp { addr } => super::tcp::run(addr, job.timeout),
            ProbeKind::Command { argv, .. } => super::command::run(argv, job.timeout),
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut shared = lock(state);
        let Some(slot) = shared.slots.get_mut(job.slot) else {
            continue;
        };
        match slot.run {
            Some(run) if run.id == job.id => {
                slot.run = None;
                slot.status.late = false;
                if !run.given_up {
                    let closed = record(slot, ms, outcome);
                    shared.keep(job.slot, closed);
                }
            }
            _ => {}
        }
    }
}

impl Slot {
    /// `rollup`, a minute of this probe's, named.
    fn named(&self, rollup: Rollup) -> ProbeMinute {
        ProbeMinute {
            name: self.spec.name.clone(),
            kind: self.spec.kind.name().to_owned(),
            target: self.spec.kind.target().to_owned(),
            rollup,
        }
    }

    /// The status's percentiles and sparkline from the samples as they are at `now`.
    fn refresh(&mut self, now: f64) {
        self.status.p50_ms = self.samples.quantile(0.5, now);
        self.status.p95_ms = self.samples.quantile(0.95, now);
        self.status.recent_ms = self.samples.recent();
    }
}

/// Records a run's end in its slot; the minute it closed, if any.
fn record(slot: &mut Slot, ms: f64, outcome: Result<(), String>) -> Option<Rollup> {
    let now = unix_now();
    slot.samples.push(now, ms);
    let closed = slot.minute.push(now, ms, outcome.is_err());
    slot.refresh(now);
    let status = &mut slot.status;
    status.last_at = Some(now);
    status.last_ms = Some(ms);
    match outcome {
        Ok(()) => {
            status.ok = Some(true);
            status.fails = 0;
            status.failing = false;
            status.failing_since = None;
        }
        Err(why) => {
            status.ok = Some(false);
            status.fails = status.fails.saturating_add(1);
            status.last_error = Some(why);
            if status.fails >= slot.spec.fails && !status.failing {
                status.failing = true;
                status.failing_since = Some(now);
            }
        }
    }
    closed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: ProbeKind, timeout_ms: u64) -> Spec {
        Spec {
            name: "svc".into(),
            kind,
            timeout: Duration::from_millis(timeout_ms),
            every: Duration::from_millis(50),
            fails: 2,
        }
    }

    /// Waits (at most 5 s) until the first probe's status passes `test`.
    fn until(checks: &Checks, test: impl Fn(&ProbeStatus) -> bool) -> ProbeStatus {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let status = checks.results()["svc"][0].clone();
            if test(&status) {
                return status;
            }
            assert!(Instant::now() < deadline, "{status:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_port_that_closes_fails_after_probe_fails_runs_and_passes_again_when_it_opens() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let tcp = ProbeKind::Tcp {
            addr: addr.to_string(),
        };
        let checks = Checks::start(vec![spec(tcp, 500)]).unwrap();
        let up = until(&checks, |s| s.ok == Some(true));
        assert!(!up.failing && up.last_ms.is_some() && up.p95_ms.is_some());
        drop(listener);
        let one = until(&checks, |s| s.fails >= 1);
        assert!(
            !one.failing || one.fails >= 2,
            "one failure is tolerated: {one:?}"
        );
        let down = until(&checks, |s| s.failing);
        assert!(down.fails >= 2 && down.failing_since.is_some(), "{down:?}");
        assert!(down.last_error.unwrap().contains("refused"));
        let _again = std::net::TcpListener::bind(addr).unwrap();
        let back = until(&checks, |s| s.ok == Some(true));
        assert!(!back.failing && back.fails == 0);
    }

    #[test]
    fn a_stalled_probe_is_late_then_failed_at_its_timeout_and_never_blocks_a_reader() {
        // Accepts connections (the backlog) and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let http = ProbeKind::Http {
            url: format!("http://{}/health", listener.local_addr().unwrap()),
            expect: None,
        };
        let checks = Checks::start(vec![spec(http, 400)]).unwrap();
        let late = until(&checks, |s| s.late);
        assert_eq!(late.ok, None, "not failed before its timeout: {late:?}");
        let read = Instant::now();
        let _ = checks.results();
        assert!(read.elapsed() < Duration::from_millis(50));
        let failed = until(&checks, |s| s.ok == Some(false));
        assert!(failed.last_ms.unwrap() >= 400.0, "{failed:?}");
        assert!(failed.last_error.unwrap().contains("400ms"));
    }

    #[test]
    fn each_run_is_in_its_minute_handed_on_once_closed_and_the_open_one_only_when_asked() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = ProbeKind::Tcp {
            addr: listener.local_addr().unwrap().to_string(),
        };
        let checks = Checks::start(vec![spec(tcp, 500)]).unwrap();
        until(&checks, |s| s.ok == Some(true));
        let now = unix_now();
        let open = checks.minutes(now, true);
        let closed_yet = checks.minutes(now, false);
        // Unless a minute turned meanwhile, only the open one is there, and only when asked.
        if closed_yet.is_empty() {
            assert_eq!(open.len(), 1, "{open:?}");
            let m = &open[0];
            assert_eq!((m.name.as_str(), m.kind.as_str()), ("svc", "tcp"));
            assert_eq!(m.rollup.minute, super::super::rollup::minute_of(now));
            assert!(m.rollup.count >= 1 && m.rollup.failures == 0, "{m:?}");
            assert!(m.rollup.min_ms <= m.rollup.p50_ms && m.rollup.p95_ms <= m.rollup.max_ms);
        }
        // A minute on, the clock closes it: handed on once, then gone.
        let later = checks.minutes(now + 60.0, false);
        assert!(!later.is_empty());
        assert!(
            later
                .iter()
                .all(|m| m.rollup.minute < super::super::rollup::minute_of(now + 60.0))
        );
        assert!(checks.minutes(now + 60.0, false).is_empty());
    }

    #[test]
    fn seeded_minutes_give_percentiles_and_a_sparkline_before_the_first_run_ends() {
        // Never answers within the test: the status shows only what was seeded.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/health", listener.local_addr().unwrap());
        let http = ProbeKind::Http {
            url: url.clone(),
            expect: None,
        };
        let checks = Checks::start(vec![spec(http, 30_000)]).unwrap();
        let minute = |name: &str, target: &str, p50| ProbeMinute {
            name: name.into(),
            kind: "http".into(),
            target: target.into(),
            rollup: Rollup {
                minute: super::super::rollup::minute_of(unix_now()) - 120,
                count: 6,
                failures: 0,
                min_ms: 1.0,
                p50_ms: p50,
                p95_ms: 40.0,
                max_ms: 50.0,
            },
        };
        // Another process's minute, and another target's, are not this probe's.
        checks.seed(&[
            minute("svc", &url, 12.0),
            minute("other", &url, 99.0),
            minute("svc", "http://elsewhere/", 99.0),
        ]);
        let status = until(&checks, |s| s.p50_ms.is_some());
        assert_eq!(status.ok, None, "not run yet: {status:?}");
        assert_eq!(
            (status.p50_ms, status.p95_ms, status.recent_ms.as_slice()),
            (Some(12.0), Some(40.0), &[12.0][..])
        );
    }
}
