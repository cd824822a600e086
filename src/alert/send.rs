//! Delivery: alert commands (`sh -c`, in a process group of their own) and webhooks (HTTP
//! POST of JSON). Each distinct target has a lane of its own — a worker thread with its own
//! backlog and retries — so a target that hangs delays only itself, never the monitor or
//! another target. Failures are logged and retried with back-off, never fatal; a stop
//! delivers what it can by a deadline and kills what still runs.

mod attempt;
mod backlog;
mod lane;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::message::Rendered;
use crate::config::Target;

/// Between SIGTERM and SIGKILL for a command's group that ran out of time.
pub const KILL_GRACE: Duration = Duration::from_secs(1);
/// How long a stopping monitor takes for its alerts, from the signal: deliveries get all
/// but [`KILL_GRACE`] of it, then what still runs is cut short (a command's group gets
/// SIGTERM, and SIGKILL at the end).
pub const STOP_WITHIN: Duration = Duration::from_secs(3);
/// Alerts a target holds undelivered (new, or waiting for a retry); past that the oldest
/// is dropped.
pub const BACKLOG_LIMIT: usize = 100;
/// Waits before the 2nd, 3rd and 4th attempt; after the 4th the alert is given up (logged).
pub const RETRY_AFTER: [Duration; 3] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
];

/// One delivery: a message, how long each attempt gets, and how many it has had.
#[derive(Debug, Clone)]
struct Job {
    message: Rendered,
    timeout: Duration,
    attempts: u32,
}

/// Where a rule's alerts go in: the lane of its target.
#[derive(Debug, Clone)]
pub struct Lane {
    jobs: mpsc::Sender<lane::Event>,
}

impl Lane {
    /// Queues `message`, each attempt at it getting `timeout`.
    pub fn send(&self, message: Rendered, timeout: Duration) {
        // A lane stops only on `Sender::finish`, which takes the Sender and so every rule.
        let _ = self.jobs.send(lane::Event::Deliver(Job {
            message,
            timeout,
            attempts: 0,
        }));
    }
}

/// Every target's lane. Dropping it without [`Sender::finish`] leaves the lanes idle until
/// the process ends.
#[derive(Debug, Default)]
pub struct Sender {
    lanes: Vec<(Target, Lane, JoinHandle<usize>)>,
}

impl Sender {
    pub fn new() -> Sender {
        Sender::default()
    }

    /// The lane of `target`, started the first time it is asked for: rules with the same
    /// target share it.
    pub fn lane(&mut self, target: &Target) -> std::io::Result<Lane> {
        if let Some((_, lane, _)) = self.lanes.iter().find(|(t, _, _)| t == target) {
            return Ok(lane.clone());
        }
        let (jobs, worker) = lane::spawn(target)?;
        let lane = Lane { jobs };
        self.lanes.push((target.clone(), lane.clone(), worker));
        Ok(lane)
    }

    /// Delivers what can be by `deadline` (one attempt each for what waits on a retry),
    /// kills the commands still running then, logs what was not delivered, and stops.
    pub fn finish(self, deadline: Instant) {
        for (_, lane, _) in &self.lanes {
            let _ = lane.jobs.send(lane::Event::Stop(deadline));
        }
        let mut lost = Vec::new();
        for (target, _, worker) in self.lanes {
            match worker.join() {
                Ok(0) => {}
                Ok(n) => lost.push((n, target.describe())),
                Err(_) => lost.push((0, format!("{} (its thread panicked)", target.describe()))),
            }
        }
        if !lost.is_empty() {
            let total: usize = lost.iter().map(|(n, _)| n).sum();
            let each: Vec<String> = lost.iter().map(|(n, t)| format!("{n} to {t}")).collect();
            eprintln!(
                "alert: stopped with {total} alert{} not delivered: {}",
                if total == 1 { "" } else { "s" },
                each.join(", ")
            );
        }
    }
}
