//! Supervision: the processes `hbmon serve` starts, restarts and stops — a `[[process]]`
//! with `run`, or one managed elsewhere with `restart_command`. A part of the one monitor
//! engine (`crate::monitor`), run by whichever monitor holds `<file>.supervise.lock`: the
//! first `hbmon serve` for the file; a second one stands by, and the live UI never acts.
//!
//! At each check the engine hands it the report: it decides, per process, by its policy
//! ([`policy`]), and orders the one thread that spawns and reaps ([`worker`]); it never
//! waits for a child. Then it marks the processes it gave up on `gave-up` in the report,
//! before anything records or alerts from it, and publishes that mark ([`published`]) for
//! the faces that do not supervise.
//!
//! A child that never beats is still judged: serve writes a beat for it, by its PID, at
//! twice an interval, until the child beats itself (a beat under its name that serve did not
//! write) — so it is `up` while it runs and `dead` the moment it ends, though `hung` can
//! only be seen of a process that beats. Its stdout and stderr go to [`log`]; `hbmon
//! start|stop|restart` reach [`Supervisor::control`] through serve's [`control`] socket.

pub mod control;
pub mod log;
pub mod policy;
pub mod published;
mod worker;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::changes::Restart;
use crate::config::{Config, ProcessConfig, Supervision};
use crate::health::State;
use crate::report::{Report, Row};
use policy::{Action, Exit, Phase, Seen, Unit};
use worker::{Event, Launch, Order, Worker};

/// What a user asks of supervised processes (`hbmon start|stop|restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// Start one that is stopped, given up on or not started; `stop` keeps it stopped.
    Start,
    Stop,
    Restart,
}

/// `<file>.supervise.lock`: held by the one monitor that supervises this file's processes.
pub fn lock_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".supervise.lock");
    PathBuf::from(name)
}

/// What serve knows of one supervised process's child.
#[derive(Debug)]
struct Child {
    /// 0 until the thread says it started.
    pid: u32,
    /// The time of the last beat serve wrote for it; `None` once it beats itself.
    ours: Option<f64>,
    next_beat: f64,
}

#[derive(Debug)]
struct Supervised {
    unit: Unit,
    child: Option<Child>,
    /// When it went `gave-up`.
    gave_up_at: Option<f64>,
}

/// The supervisor of one heartbeat file's processes, while this monitor holds the role.
#[derive(Debug)]
pub struct Supervisor {
    file: PathBuf,
    _lock: File,
    orders: Option<Sender<Order>>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
    units: HashMap<String, Supervised>,
    /// What was published last, and when: written again when it changes, or is due.
    published: Option<(f64, published::Units)>,
    /// The restarts made within [`published::RECENT`], oldest first.
    recent: std::collections::VecDeque<published::Restarted>,
}

/// How claiming the role went.
pub enum Claim {
    Held(Box<Supervisor>),
    /// Another monitor supervises (it holds the lock).
    Taken,
    Failed(String),
}

impl Supervisor {
    /// Takes the role for `file` if it is free, starting the spawning thread.
    pub fn claim(file: &Path) -> Claim {
        let lock = match crate::history::try_lock_sidecar(&lock_path(file)) {
            Ok(Some(lock)) => lock,
            Ok(None) => return Claim::Taken,
            Err(e) => return Claim::Failed(e.to_string()),
        };
        let (orders, inbox) = mpsc::channel();
        let (events_tx, events) = mpsc::channel();
        let worker = Worker::new(file.to_owned(), events_tx);
        let thread = match std::thread::Builder::new()
            .name("hbmon-supervise".into())
            .spawn(move || worker.run(&inbox))
        {
            Ok(thread) => thread,
            Err(e) => return Claim::Failed(format!("cannot start its thread: {e}")),
        };
        Claim::Held(Box::new(Supervisor {
            file: file.to_owned(),
            _lock: lock,
            orders: Some(orders),
            events,
            thread: Some(thread),
            units: HashMap::new(),
            published: None,
            recent: std::collections::VecDeque::new(),
        }))
    }

    /// One check: what the thread reported, then each supervised process of `config` as
    /// `report` judges it; then the processes given up on are marked so in `report`.
    /// Returns the lines for the log, and the restarts the policies made (for the history
    /// and the alert rules).
    pub fn step(
        &mut self,
        report: &mut Report,
        config: &Config,
        now: f64,
    ) -> (Vec<String>, Vec<Restart>) {
        let mut news = Vec::new();
        let mut restarts = Vec::new();
        self.events(config, now, &mut news);
        // A process no longer supervised (the config changed) is stopped, not orphaned.
        let dropped: Vec<String> = self
            .units
            .keys()
            .filter(|name| config.process(name).is_none_or(|p| p.supervise.is_none()))
            .cloned()
            .collect();
        for name in dropped {
            if self.units.remove(&name).is_some_and(|u| u.child.is_some()) {
                news.push(format!(
                    "stopping {name}: no longer supervised by the config"
                ));
                self.send(Order::Stop {
                    name,
                    timeout: crate::config::STOP_TIMEOUT,
                    clean: true,
                });
            }
        }
        for p in &config.processes {
            let Some(policy) = &p.supervise else { continue };
            let row = report.rows.iter().find(|r| r.name == p.name);
            let deps_up = p.depends_on.iter().all(|d| {
                report
                    .rows
                    .iter()
                    .any(|r| r.name == *d && matches!(r.health.state, State::Up | State::Running))
            });
            let unit = self
                .units
                .entry(p.name.clone())
                .or_insert_with(|| Supervised {
                    unit: Unit::new(policy.run.is_none()),
                    child: None,
                    gave_up_at: None,
                });
            let seen = Seen {
                state: row.map_or(State::Pending, |r| r.health.state),
                since: row.and_then(|r| r.health.since),
                deps_up,
                child: unit.child.is_some(),
            };
            let decision = unit.unit.observe(&p.name, policy, seen, now);
            if let (Some((count, cause)), Some(text)) = (decision.restart, &decision.news) {
                let restart = Restart {
                    name: p.name.clone(),
                    time: published::restart_time(now),
                    count,
                    cause,
                    text: text.clone(),
                };
                self.recent.push_back(published::Restarted::of(&restart));
                restarts.push(restart);
            }
            news.extend(decision.news);
            if let Some(action) = decision.action {
                let interval = row.map_or(crate::store::DEFAULT_INTERVAL.as_secs_f64(), |r| {
                    r.rules.interval
                });
                if let (Some(order), Some(orders)) = (
                    order(&self.file, p, policy, &action, interval),
                    &self.orders,
                ) {
                    // A child from the order on: a stop asked before the thread said it
                    // started reaches it (the thread takes orders in turn).
                    if matches!(order, Order::Start { .. }) {
                        unit.child = Some(Child {
                            pid: 0,
                            ours: None,
                            next_beat: now,
                        });
                    }
                    let _ = orders.send(order);
                }
            }
            if let Some(row) = row {
                beat_for(unit, row, now, self.orders.as_ref());
            }
        }
        self.mark(report, now);
        (news, restarts)
    }

    /// What the thread reported since the last check.
    fn events(&mut self, config: &Config, now: f64, news: &mut Vec<String>) {
        while let Ok(event) = self.events.try_recv() {
            let (name, exit) = match event {
                Event::Started { name, pid, beat } => {
                    if let Some(unit) = self.units.get_mut(&name) {
                        unit.child = Some(Child {
                            pid,
                            ours: beat,
                            next_beat: now,
                        });
                    }
                    continue;
                }
                Event::Beaten { name, at } => {
                    if let Some(child) = self.units.get_mut(&name).and_then(|u| u.child.as_mut()) {
                        child.ours = Some(at);
                    }
                    continue;
                }
                Event::Ran { result: Ok(()), .. } => continue,
                Event::Ran {
                    name,
                    result: Err(why),
                } => (name, failed(format!("restart_command failed: {why}"))),
                Event::NotStarted { name, why } => (name, failed(why)),
                Event::Exited { name, exit } => (name, exit),
            };
            let (Some(unit), Some(policy)) = (
                self.units.get_mut(&name),
                config.process(&name).and_then(|p| p.supervise.as_ref()),
            ) else {
                continue;
            };
            unit.child = None;
            let decision = unit.unit.exited(&name, policy, &exit, now);
            news.extend(decision.news);
            if matches!(unit.unit.phase, Phase::GaveUp { .. }) {
                unit.gave_up_at.get_or_insert(now);
            }
        }
    }

    /// Marks `report` as [`published::mark`] does from what this supervisor knows, and
    /// publishes that for the faces that do not supervise (when it changed, and every
    /// [`published::REWRITE`] so they can tell it lives).
    fn mark(&mut self, report: &mut Report, now: f64) {
        let horizon = published::restart_time(now - published::RECENT);
        while self.recent.front().is_some_and(|r| {
            r.restart().time < horizon || self.recent.len() > published::RECENT_MAX
        }) {
            self.recent.pop_front();
        }
        let units = published::Units {
            pid: std::process::id(),
            restarts: self.recent.iter().cloned().collect(),
            units: self
                .units
                .iter()
                .map(|(name, u)| {
                    let shown = published::Unit::of(&u.unit.phase, u.unit.restarts(), u.gave_up_at);
                    (name.clone(), shown)
                })
                .collect(),
        };
        published::mark(report, &units.units, now);
        let due = self
            .published
            .as_ref()
            .is_none_or(|(at, last)| *last != units || now - at >= published::REWRITE);
        // A failed write is tried again at the next check; this serve's own view is right.
        if due && published::write(&self.file, &units, now).is_ok() {
            self.published = Some((now, units));
        }
    }

    /// The restarts made within [`published::RECENT`], oldest first, as published.
    pub fn recent(&self) -> Vec<published::Restarted> {
        self.recent.iter().cloned().collect()
    }

    /// What a user asked of `name`: the line to answer, `Err` if it cannot be done.
    pub fn control(&mut self, verb: Verb, name: &str, config: &Config) -> Result<String, String> {
        let Some(policy) = config.process(name).and_then(|p| p.supervise.as_ref()) else {
            return Err(format!(
                "{name:?} is not supervised: its [[process]] has no run or restart_command"
            ));
        };
        let unit = self
            .units
            .entry(name.to_owned())
            .or_insert_with(|| Supervised {
                unit: Unit::new(policy.run.is_none()),
                child: None,
                gave_up_at: None,
            });
        let child = unit.child.is_some();
        let (kill, text) = match verb {
            Verb::Stop => (unit.unit.stop(child), format!("stopping {name}")),
            Verb::Start
                if child
                    || matches!(
                        unit.unit.phase,
                        Phase::Running | Phase::Starting { .. } | Phase::Backoff { .. }
                    ) =>
            {
                return Ok(format!("{name} is already running"));
            }
            Verb::Start => {
                unit.unit.start();
                (None, format!("starting {name}"))
            }
            Verb::Restart => (unit.unit.restart(child), format!("restarting {name}")),
        };
        unit.gave_up_at = None;
        if kill.is_some() {
            self.send(Order::Stop {
                name: name.to_owned(),
                timeout: policy.stop_timeout,
                clean: verb == Verb::Stop,
            });
        }
        Ok(text)
    }

    fn send(&self, order: Order) {
        if let Some(orders) = &self.orders {
            let _ = orders.send(order);
        }
    }

    /// Stops every child, dependents before what they depend on (the reverse of the
    /// start order), each SIGTERM then SIGKILL after its `stop_timeout`, and ends the
    /// thread. Returns the lines for the log.
    pub fn finish(mut self, config: &Config) -> Vec<String> {
        let mut news = Vec::new();
        for name in stop_order(config) {
            let Some(policy) = config.process(&name).and_then(|p| p.supervise.as_ref()) else {
                continue;
            };
            if self.units.get(&name).is_none_or(|u| u.child.is_none()) {
                continue;
            }
            self.send(Order::Stop {
                name: name.clone(),
                timeout: policy.stop_timeout,
                clean: true,
            });
            let until = Instant::now() + policy.stop_timeout + Duration::from_secs(2);
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match self.events.recv_timeout(left) {
                    Ok(Event::Exited { name: ended, exit }) if ended == name => {
                        news.push(format!("stopped {name}: {}", exit.text));
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        // The thread stops whatever is left, and ends.
        self.orders = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // No supervisor from now on: nothing to mark (and no stale word to judge by age).
        let _ = std::fs::remove_file(published::path(&self.file));
        news
    }
}

/// Beats for `unit`'s child by its PID twice an interval, until it beats itself: a beat in
/// `row` newer than the last serve wrote.
fn beat_for(unit: &mut Supervised, row: &Row, now: f64, orders: Option<&Sender<Order>>) {
    let Some(child) = &mut unit.child else {
        return;
    };
    let Some(ours) = child.ours else {
        return;
    };
    if row
        .entry
        .as_ref()
        .is_some_and(|e| e.last_heartbeat > ours + 1e-3)
    {
        child.ours = None;
        return;
    }
    if now >= child.next_beat {
        // Twice an interval: a check's jitter must not make it late.
        child.next_beat = now + row.rules.interval / 2.0;
        if let Some(orders) = orders {
            let _ = orders.send(Order::Beat {
                name: row.name.clone(),
                pid: child.pid,
                interval: row.rules.interval,
            });
        }
    }
}

/// The order that carries out `action` for `p`.
fn order(
    file: &Path,
    p: &ProcessConfig,
    policy: &Supervision,
    action: &Action,
    interval: f64,
) -> Option<Order> {
    Some(match action {
        Action::Kill => Order::Stop {
            name: p.name.clone(),
            timeout: policy.stop_timeout,
            clean: false,
        },
        Action::Start => match (&policy.run, &policy.restart_command) {
            (Some(run), _) => Order::Start {
                name: p.name.clone(),
                launch: Box::new(Launch {
                    command: run.clone(),
                    cwd: policy.cwd.clone(),
                    env: policy.env.clone(),
                    user: policy.user.as_ref().map(|u| (u.uid, u.gid)),
                    interval,
                    log: log::path(&log::dir(file), &p.name),
                    log_size: policy.log_size,
                    log_keep: policy.log_keep,
                }),
            },
            (None, Some(command)) => Order::Run {
                name: p.name.clone(),
                command: command.clone(),
                timeout: policy.start_timeout,
            },
            (None, None) => return None,
        },
    })
}

fn failed(text: String) -> Exit {
    Exit {
        success: false,
        stop_signal: false,
        text,
    }
}

/// The supervised processes, dependents first: the reverse of an order that starts each
/// after what it depends on.
fn stop_order(config: &Config) -> Vec<String> {
    let mut started: Vec<String> = Vec::new();
    // The config has no cycle: each pass places at least one more.
    while started.len() < config.processes.len() {
        let before = started.len();
        for p in &config.processes {
            if !started.contains(&p.name) && p.depends_on.iter().all(|d| started.contains(d)) {
                started.push(p.name.clone());
            }
        }
        if started.len() == before {
            break;
        }
    }
    started.retain(|n| config.process(n).is_some_and(|p| p.supervise.is_some()));
    started.reverse();
    started
}

#[cfg(test)]
mod tests;
