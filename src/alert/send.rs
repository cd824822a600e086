//! Delivery: alert commands (`sh -c`) and webhooks (HTTP POST of JSON), run on a worker
//! thread so a slow target never stalls the monitor; failures are logged and retried with
//! back-off, never fatal.

use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::message::Rendered;

/// A webhook gets this long per attempt.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// An alert command gets this long per attempt before it is killed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Waits before the 2nd, 3rd and 4th attempt; after the 4th the alert is given up (logged).
pub const RETRY_AFTER: [Duration; 3] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
];

/// Where an `[[alert]]` rule sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Run with `sh -c`, the message in `HBMON_*` variables.
    Command(String),
    /// POST the JSON message to this URL.
    Webhook(String),
}

impl Target {
    /// How the log names the target. A webhook shows only its scheme and host: the rest of
    /// a Slack-style URL is a secret.
    pub fn describe(&self) -> String {
        match self {
            Target::Command(cmd) => {
                let short: String = cmd.chars().take(40).collect();
                let cut = if short.len() < cmd.len() { "…" } else { "" };
                format!("command `{short}{cut}`")
            }
            Target::Webhook(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
                let host = rest.split(['/', '?']).next().unwrap_or_default();
                format!("webhook {scheme}://{host}/…")
            }
        }
    }
}

/// One delivery: a message for a target, and how many attempts it has had.
#[derive(Debug, Clone)]
struct Job {
    target: Target,
    message: Rendered,
    attempts: u32,
}

/// Deliveries waiting for their next attempt.
#[derive(Debug)]
struct Outbox<T> {
    waiting: Vec<(Instant, T)>,
}

impl<T> Outbox<T> {
    fn new() -> Self {
        Outbox {
            waiting: Vec::new(),
        }
    }

    /// Schedules another attempt after a failed `attempt` (1-based) at `now` and says how
    /// long it waits; `None` when the attempts are used up.
    fn retry(&mut self, item: T, attempt: u32, now: Instant) -> Option<Duration> {
        let wait = *RETRY_AFTER.get(attempt as usize - 1)?;
        self.waiting.push((now + wait, item));
        Some(wait)
    }

    /// Takes the deliveries due at `now`.
    fn due(&mut self, now: Instant) -> Vec<T> {
        let (due, later) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.waiting = later;
        due.into_iter().map(|(_, item)| item).collect()
    }

    fn next_due(&self) -> Option<Instant> {
        self.waiting.iter().map(|(at, _)| *at).min()
    }
}

/// The delivery worker. Dropping the [`Sender`] without [`Sender::finish`] detaches it.
#[derive(Debug)]
pub struct Sender {
    jobs: mpsc::Sender<Job>,
    worker: JoinHandle<()>,
}

impl Sender {
    pub fn start() -> std::io::Result<Sender> {
        let (jobs, inbox) = mpsc::channel();
        let worker = thread::Builder::new()
            .name("hbmon-alerts".to_owned())
            .spawn(move || work(&inbox))?;
        Ok(Sender { jobs, worker })
    }

    /// Queues `message` for `target`.
    pub fn send(&self, target: &Target, message: Rendered) {
        // The worker only stops once every Sender is gone, so this cannot fail.
        let _ = self.jobs.send(Job {
            target: target.clone(),
            message,
            attempts: 0,
        });
    }

    /// Delivers what is queued (one attempt each for what waits on a retry) and stops.
    pub fn finish(self) {
        drop(self.jobs);
        if self.worker.join().is_err() {
            eprintln!("alert: the delivery thread panicked; some alerts may be lost");
        }
    }
}

fn work(inbox: &mpsc::Receiver<Job>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(WEBHOOK_TIMEOUT))
        .user_agent(concat!("hbmon/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut outbox = Outbox::new();
    loop {
        let received = match outbox.next_due() {
            Some(at) => inbox.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(job) => attempt(&agent, job, &mut outbox, true),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                // Stopping: one last attempt for each waiting retry, no more waiting.
                for job in std::mem::take(&mut outbox.waiting) {
                    attempt(&agent, job.1, &mut outbox, false);
                }
                return;
            }
        }
        for job in outbox.due(Instant::now()) {
            attempt(&agent, job, &mut outbox, true);
        }
    }
}

/// One attempt; logs the outcome and schedules a retry when it fails and `may_retry`.
fn attempt(agent: &ureq::Agent, mut job: Job, outbox: &mut Outbox<Job>, may_retry: bool) {
    job.attempts += 1;
    let target = job.target.describe();
    let Err(why) = deliver(agent, &job.target, &job.message) else {
        if job.attempts > 1 {
            eprintln!("alert: {target}: delivered on attempt {}", job.attempts);
        }
        return;
    };
    let attempts = job.attempts;
    let retry = if may_retry {
        outbox.retry(job, attempts, Instant::now())
    } else {
        None
    };
    match retry {
        Some(wait) => eprintln!(
            "alert: {target} failed: {why}; retrying in {}",
            crate::duration::format(wait)
        ),
        None => eprintln!("alert: {target} failed: {why}; giving up after {attempts} attempts"),
    }
}

fn deliver(agent: &ureq::Agent, target: &Target, message: &Rendered) -> Result<(), String> {
    match target {
        Target::Command(cmd) => run_command(cmd, message),
        Target::Webhook(url) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(message.json.to_string())
            .map(drop)
            .map_err(|e| e.to_string()),
    }
}

fn run_command(cmd: &str, message: &Rendered) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .envs(message.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        // The command's own errors belong in the monitor's log; its chatter does not.
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(status.to_string()),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "still running after {}; killed",
                    crate::duration::format(COMMAND_TIMEOUT)
                ));
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retries_back_off_then_give_up() {
        let start = Instant::now();
        let mut outbox = Outbox::new();
        let waits: Vec<_> = (1..=4).map(|n| outbox.retry(n, n, start)).collect();
        assert_eq!(
            waits,
            [
                Some(RETRY_AFTER[0]),
                Some(RETRY_AFTER[1]),
                Some(RETRY_AFTER[2]),
                None
            ]
        );
        assert_eq!(outbox.next_due(), Some(start + RETRY_AFTER[0]));
        assert!(outbox.due(start).is_empty());
        assert_eq!(outbox.due(start + RETRY_AFTER[1]), [1, 2]);
        assert_eq!(outbox.next_due(), Some(start + RETRY_AFTER[2]));
    }

    #[test]
    fn logs_name_a_webhook_by_host_only() {
        let hook = Target::Webhook("https://hooks.example.com/services/T0/B0/SECRET".into());
        assert_eq!(hook.describe(), "webhook https://hooks.example.com/…");
        let cmd = Target::Command("x".repeat(50));
        assert_eq!(cmd.describe(), format!("command `{}…`", "x".repeat(40)));
    }

    #[test]
    fn a_command_gets_the_message_in_its_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let message = Rendered {
            text: "t".into(),
            env: vec![
                ("HBMON_NAME", "worker".into()),
                ("HBMON_STATE", "dead".into()),
            ],
            json: json!({}),
        };
        let cmd = format!("echo \"$HBMON_NAME $HBMON_STATE\" > '{}'", out.display());
        run_command(&cmd, &message).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "worker dead\n");
        let err = run_command("exit 3", &message).unwrap_err();
        assert!(err.contains('3'), "{err}");
    }
}
