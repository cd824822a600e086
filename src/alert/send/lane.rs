//! A lane: the worker thread of one target. It takes alerts, keeps them in its
//! [`Backlog`], and delivers them one at a time; while an attempt is in flight it goes on
//! taking alerts and watches the attempt's clock, so a hanging command is cut off on time
//! and a stop is heard at once. Everything reaches it as an [`Event`] on one channel: new
//! alerts, the ends of attempts (from their threads), the stop.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use super::attempt::{Attempt, Ended, Via};
use super::backlog::Backlog;
use super::{BACKLOG_LIMIT, Job, KILL_GRACE};
use crate::config::Target;
use crate::duration;

#[derive(Debug)]
pub enum Event {
    Deliver(Job),
    /// Attempt `seq` ended.
    Ended {
        seq: u64,
        ended: Ended,
    },
    /// Deliver what can be by then, and return.
    Stop(Instant),
}

/// Starts the lane of `target`. Its thread returns, after [`Event::Stop`], how many alerts
/// it did not deliver.
pub fn spawn(target: &Target) -> std::io::Result<(mpsc::Sender<Event>, JoinHandle<usize>)> {
    let (tx, inbox) = mpsc::channel();
    let lane = Lane {
        via: Via::new(target),
        name: target.describe(),
        me: tx.clone(),
        backlog: Backlog::new(BACKLOG_LIMIT),
        current: None,
        seq: 0,
        stop: None,
        lost: 0,
    };
    let worker = thread::Builder::new()
        .name("hbmon-alerts".to_owned())
        .spawn(move || lane.run(&inbox))?;
    Ok((tx, worker))
}

/// The attempt in flight, and the delivery it is for.
struct Current {
    seq: u64,
    age: u64,
    job: Job,
    attempt: Attempt,
}

struct Lane {
    via: Via,
    name: String,
    /// For the threads of attempts to report their ends. It keeps the channel open, so the
    /// lane ends on [`Event::Stop`] only.
    me: mpsc::Sender<Event>,
    backlog: Backlog<Job>,
    current: Option<Current>,
    seq: u64,
    stop: Option<Instant>,
    /// Alerts given up at the stop.
    lost: usize,
}

impl Lane {
    fn run(mut self, inbox: &mpsc::Receiver<Event>) -> usize {
        loop {
            let now = Instant::now();
            if self.current.is_none() {
                if let Some(stop) = self.stop {
                    // Attempts start while there is time to deliver, before the grace
                    // that cuts them short (see `Attempt::stop_by`).
                    let last_start = stop.checked_sub(KILL_GRACE).unwrap_or(stop);
                    if self.backlog.is_empty() || now >= last_start {
                        return self.lost + self.backlog.len();
                    }
                }
                if self.start_next(now) {
                    continue;
                }
            }
            let wake = match &self.current {
                Some(current) => Some(current.attempt.wake_at()),
                None => self.backlog.next_due(),
            };
            let event = match wake {
                Some(at) => inbox.recv_timeout(at.saturating_duration_since(now)),
                None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match event {
                Ok(Event::Deliver(job)) => {
                    for _ in self.backlog.push(job) {
                        eprintln!(
                            "alert: {}: {BACKLOG_LIMIT} alerts already waiting; dropped the oldest",
                            self.name
                        );
                    }
                }
                Ok(Event::Stop(deadline)) => {
                    self.stop.get_or_insert(deadline);
                    if let Some(current) = &mut self.current {
                        current.attempt.stop_by(deadline);
                    }
                }
                Ok(Event::Ended { seq, ended }) => {
                    if let Some(current) = self.current.as_mut().filter(|c| c.seq == seq)
                        && let Some(result) = current.attempt.ended(ended)
                    {
                        self.finish_current(result);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                // Not while `me` lives; were it to happen, there is nothing left to hear.
                Err(RecvTimeoutError::Disconnected) => return self.lost + self.backlog.len(),
            }
            if let Some(current) = &mut self.current
                && let Some(result) = current.attempt.tick(Instant::now())
            {
                self.finish_current(result);
            }
        }
    }

    /// The attempt in flight is over with `result`.
    fn finish_current(&mut self, result: Result<(), String>) {
        if let Some(current) = self.current.take() {
            self.settle(current.age, current.job, result);
        }
    }

    /// Starts the next delivery, if one is due (at the stop: any, oldest first); true if it
    /// took one, started or failed at once.
    fn start_next(&mut self, now: Instant) -> bool {
        let next = match self.stop {
            Some(_) => self.backlog.take_oldest(),
            None => self.backlog.next(now),
        };
        let Some((age, mut job)) = next else {
            return false;
        };
        job.attempts += 1;
        self.seq += 1;
        let seq = self.seq;
        let me = self.me.clone();
        let started = Attempt::start(
            &self.via,
            &self.name,
            &job.message,
            job.timeout,
            self.stop,
            move |ended| {
                // The lane is gone only once it has stopped listening for this.
                let _ = me.send(Event::Ended { seq, ended });
            },
        );
        match started {
            Ok(attempt) => {
                self.current = Some(Current {
                    seq,
                    age,
                    job,
                    attempt,
                });
            }
            Err(why) => self.settle(age, job, Err(why)),
        }
        true
    }

    /// Logs how an attempt went; a failure waits for its retry, unless its attempts are
    /// used up or the lane is stopping.
    fn settle(&mut self, age: u64, job: Job, result: Result<(), String>) {
        let attempts = job.attempts;
        let name = &self.name;
        let Err(why) = result else {
            if attempts > 1 {
                eprintln!("alert: {name}: delivered on attempt {attempts}");
            }
            return;
        };
        if self.stop.is_some() {
            self.lost += 1;
            eprintln!("alert: {name} failed: {why}; not retried: stopping");
            return;
        }
        match self.backlog.retry(job, age, attempts, Instant::now()) {
            Ok(wait) => eprintln!(
                "alert: {name} failed: {why}; retrying in {}",
                duration::format(wait)
            ),
            Err(_) => eprintln!("alert: {name} failed: {why}; giving up after {attempts} attempts"),
        }
    }
}
