//! One attempt at one delivery, in flight while its lane goes on taking alerts. An alert
//! command runs in a process group of its own, and a thread waits for its exit (without
//! reaping it, so the group's ID cannot be reused while it may still be signalled); a
//! webhook is posted from a thread of its own. Either reports its end once, through the
//! callback it was started with. The lane calls [`Attempt::tick`] when [`Attempt::wake_at`]
//! comes: past its timeout a command's whole group gets SIGTERM, then SIGKILL.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::super::message::Rendered;
use super::KILL_GRACE;
use crate::config::Target;
use crate::duration;
use crate::signal;

/// How much longer than its own timeout a webhook's thread is waited for: ureq enforces the
/// timeout itself; this only bounds a call that somehow overran it.
const WEBHOOK_SLACK: Duration = Duration::from_secs(1);

/// How an attempt ended, as its thread reports it.
#[derive(Debug)]
pub enum Ended {
    /// The command exited (it is not reaped yet), or it could not be waited for.
    Exited(io::Result<()>),
    /// The webhook answered with a success status, or failed.
    Answered(Result<(), String>),
}

/// A target, ready to deliver to: a webhook's lane keeps one HTTP agent (and its
/// connection pool) for all its attempts.
#[derive(Debug)]
pub enum Via {
    Command(String),
    Webhook { url: String, agent: ureq::Agent },
}

impl Via {
    pub fn new(target: &Target) -> Via {
        match target {
            Target::Command(cmd) => Via::Command(cmd.clone()),
            Target::Webhook(url) => Via::Webhook {
                url: url.clone(),
                agent: ureq::Agent::config_builder()
                    .user_agent(concat!("hbmon/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .into(),
            },
        }
    }
}

/// Why an attempt was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    TimedOut,
    Stopping,
}

/// Where an attempt is, and when it next has to act.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Delivering, until then, when it is cut short `because`.
    Running { until: Instant, because: Cut },
    /// A command's group has had SIGTERM; SIGKILL then.
    Terminating { kill_at: Instant },
    /// A command's group has had SIGKILL; it is given up then if its exit is not seen.
    Killed { give_up_at: Instant },
}

#[derive(Debug)]
enum Running {
    Command { child: Child, group: u32 },
    Webhook,
}

/// A delivery in flight.
#[derive(Debug)]
pub struct Attempt {
    running: Running,
    timeout: Duration,
    step: Step,
    /// Set once the attempt is cut short: whatever it ends with, it failed.
    cut: Option<Cut>,
    /// The command's exit, seen but not yet reaped.
    exited: Option<io::Result<()>>,
    /// The lane's name for the target, for the log.
    name: String,
}

impl Attempt {
    /// Starts delivering `message` via `via`, for at most `timeout` (and, once the lane
    /// stops, until `stop_by` — see [`Attempt::stop_by`]). `report` is called once, from
    /// another thread, when it ends; an `Err` is an attempt that failed at once.
    pub fn start(
        via: &Via,
        name: &str,
        message: &Rendered,
        timeout: Duration,
        stop_by: Option<Instant>,
        report: impl FnOnce(Ended) + Send + 'static,
    ) -> Result<Attempt, String> {
        let started = Instant::now();
        let (running, until) = match via {
            Via::Command(cmd) => (spawn_command(cmd, message, report)?, started + timeout),
            Via::Webhook { url, agent } => {
                let (agent, url, body) = (agent.clone(), url.clone(), message.json.to_string());
                thread::Builder::new()
                    .name("hbmon-webhook".to_owned())
                    .spawn(move || report(Ended::Answered(post(&agent, &url, body, timeout))))
                    .map_err(|e| format!("cannot start a thread to post it: {e}"))?;
                (Running::Webhook, started + timeout + WEBHOOK_SLACK)
            }
        };
        let mut attempt = Attempt {
            running,
            timeout,
            step: Step::Running {
                until,
                because: Cut::TimedOut,
            },
            cut: None,
            exited: None,
            name: name.to_owned(),
        };
        if let Some(at) = stop_by {
            attempt.stop_by(at);
        }
        Ok(attempt)
    }

    /// When [`Attempt::tick`] has something to do.
    pub fn wake_at(&self) -> Instant {
        match self.step {
            Step::Running { until, .. } => until,
            Step::Terminating { kill_at } => kill_at,
            Step::Killed { give_up_at } => give_up_at,
        }
    }

    /// The lane stops at `deadline`: an attempt still going [`KILL_GRACE`] before it is cut
    /// short then — a command's group gets SIGTERM, and SIGKILL at the deadline.
    pub fn stop_by(&mut self, deadline: Instant) {
        let term_at = deadline.checked_sub(KILL_GRACE).unwrap_or(deadline);
        self.step = match self.step {
            Step::Running { until, .. } if term_at < until => Step::Running {
                until: term_at,
                because: Cut::Stopping,
            },
            Step::Terminating { kill_at } => Step::Terminating {
                kill_at: kill_at.min(deadline),
            },
            step => step,
        };
    }

    /// Acts on the clock at `now`: signals a command's group whose time is up. `Some` with
    /// the result once the attempt is over (the lane drops it then).
    pub fn tick(&mut self, now: Instant) -> Option<Result<(), String>> {
        if now < self.wake_at() {
            return None;
        }
        if let Step::Running { because, .. } = self.step {
            self.cut = Some(because);
        }
        let Running::Command { group, .. } = self.running else {
            // A webhook's time is up: its thread is left to end on its own.
            return Some(Err(format!("no answer {}", self.when())));
        };
        match self.step {
            Step::Running { .. } => {
                self.signal(group, libc::SIGTERM);
                // A stopped process (SIGSTOP) acts on SIGTERM only once continued.
                self.signal(group, libc::SIGCONT);
                self.step = Step::Terminating {
                    kill_at: now + KILL_GRACE,
                };
                None
            }
            Step::Terminating { .. } => {
                // Also when the shell is gone: whatever it started may not have gone.
                self.signal(group, libc::SIGKILL);
                if self.exited.is_some() {
                    return Some(self.reap());
                }
                self.step = Step::Killed {
                    give_up_at: now + KILL_GRACE,
                };
                None
            }
            // Unkillable for now (stuck in the kernel): left unreaped, as a zombie at worst.
            Step::Killed { .. } => Some(Err(format!(
                "still running {}; killed, but still there {} after SIGKILL: left behind",
                self.when(),
                duration::format(KILL_GRACE)
            ))),
        }
    }

    /// Takes the end its thread reported. `Some` with the result once the attempt is over;
    /// `None` while what a cut-short command started still has its grace: the shell stays
    /// unreaped until then, so its group can still be signalled.
    pub fn ended(&mut self, ended: Ended) -> Option<Result<(), String>> {
        match ended {
            // A webhook cut short is over at once (see `tick`): this is its answer in time.
            Ended::Answered(answer) => Some(answer),
            Ended::Exited(waited) => {
                self.exited = Some(waited);
                match self.step {
                    Step::Terminating { .. } => None,
                    Step::Running { .. } | Step::Killed { .. } => Some(self.reap()),
                }
            }
        }
    }

    /// Collects the exited command's status.
    fn reap(&mut self) -> Result<(), String> {
        let cut = self
            .cut
            .map(|_| format!("still running {}; killed", self.when()));
        let (Running::Command { child, group }, Some(waited)) =
            (&mut self.running, self.exited.take())
        else {
            return Err("reaped before it exited".to_owned());
        };
        let status = match waited {
            Ok(()) => child.wait(),
            // waitid failed (it does not for a child of ours): whatever the state, nothing
            // of the group may outlive the attempt.
            Err(e) => {
                let _ = signal::send_group(*group, libc::SIGKILL);
                child
                    .try_wait()
                    .and_then(|s| s.ok_or(e))
                    .map_err(|e| io::Error::other(format!("cannot wait for it: {e}")))
            }
        };
        match (cut, status) {
            (Some(why), _) => Err(why),
            (None, Ok(status)) if status.success() => Ok(()),
            (None, Ok(status)) => Err(status.to_string()),
            (None, Err(e)) => Err(e.to_string()),
        }
    }

    /// When it was cut short: `after 30s`, `at the stop`.
    fn when(&self) -> String {
        match self.cut {
            Some(Cut::Stopping) => "at the stop".to_owned(),
            Some(Cut::TimedOut) | None => format!("after {}", duration::format(self.timeout)),
        }
    }

    fn signal(&self, group: u32, signal: libc::c_int) {
        // ESRCH: the whole group is gone already, which its waiter is about to report.
        if let Err(e) = signal::send_group(group, signal)
            && e.raw_os_error() != Some(libc::ESRCH)
        {
            eprintln!(
                "alert: {}: cannot send {} to its process group: {e}",
                self.name,
                signal::describe(signal)
            );
        }
    }
}

/// Runs `cmd` with `sh -c` in a new process group, the message in its environment, and a
/// thread that calls `report` when it exits.
fn spawn_command(
    cmd: &str,
    message: &Rendered,
    report: impl FnOnce(Ended) + Send + 'static,
) -> Result<Running, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .envs(message.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        // The command's own errors belong in the monitor's log; its chatter does not.
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        // Its own group, which a timeout reaches whole: the shell and what it started.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let group = child.id();
    let waiter = thread::Builder::new()
        .name("hbmon-alert-wait".to_owned())
        .spawn(move || report(Ended::Exited(signal::wait_exited(group))));
    if let Err(e) = waiter {
        // Unwatched, it could not be timed out: it does not run at all. Just started, it
        // dies at once, so the wait is short.
        let _ = signal::send_group(group, libc::SIGKILL);
        let _ = child.wait();
        return Err(format!("cannot start a thread to wait for it: {e}"));
    }
    Ok(Running::Command { child, group })
}

fn post(agent: &ureq::Agent, url: &str, body: String, timeout: Duration) -> Result<(), String> {
    agent
        .post(url)
        .config()
        .timeout_global(Some(timeout))
        .build()
        .header("Content-Type", "application/json")
        .send(body)
        .map(drop)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::COMMAND_TIMEOUT;
    use serde_json::json;
    use std::sync::mpsc;

    fn message() -> Rendered {
        Rendered {
            text: "t".into(),
            env: vec![
                ("HBMON_NAME", "worker".into()),
                ("HBMON_STATE", "dead".into()),
            ],
            json: json!({}),
        }
    }

    /// Runs one attempt to its end as a lane would, ticking it on its clock.
    fn run(cmd: &str, timeout: Duration) -> Result<(), String> {
        run_via(&Via::Command(cmd.to_owned()), timeout)
    }

    fn run_via(via: &Via, timeout: Duration) -> Result<(), String> {
        let (tx, rx) = mpsc::channel();
        let mut attempt = Attempt::start(via, "test", &message(), timeout, None, move |e| {
            tx.send(e).unwrap();
        })?;
        loop {
            let wait = attempt.wake_at().saturating_duration_since(Instant::now());
            if let Ok(ended) = rx.recv_timeout(wait)
                && let Some(result) = attempt.ended(ended)
            {
                return result;
            }
            if let Some(result) = attempt.tick(Instant::now()) {
                return result;
            }
        }
    }

    /// Whether `pid` is a live process (a zombie is not).
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit(") ")
                .next()
                .is_some_and(|s| !s.starts_with('Z'))
        })
    }

    #[test]
    fn a_command_gets_the_message_in_its_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let cmd = format!("echo \"$HBMON_NAME $HBMON_STATE\" > '{}'", out.display());
        run(&cmd, COMMAND_TIMEOUT).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "worker dead\n");
        let err = run("exit 3", COMMAND_TIMEOUT).unwrap_err();
        assert!(err.contains('3'), "{err}");
    }

    /// Runs `cmd` (which writes the PIDs of what it starts into `$PIDS`) past a short
    /// timeout, and checks that it failed so and that nothing it started is left.
    fn assert_killed_whole(cmd: &str) {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let cmd = format!("PIDS='{}'; {cmd}", pids.display());
        let err = run(&cmd, Duration::from_millis(300)).unwrap_err();
        assert_eq!(err, "still running after 300ms; killed");
        let pids = std::fs::read_to_string(&pids).unwrap();
        let pids: Vec<&str> = pids.lines().collect();
        assert_eq!(pids.len(), 2, "{pids:?}");
        // Killed, then reparented and reaped by init: bounded, not instant.
        let deadline = Instant::now() + Duration::from_secs(10);
        while pids.iter().any(|p| alive(p)) {
            if Instant::now() > deadline {
                // Not left behind by a failing test either.
                for pid in &pids {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
                panic!("still alive: {pids:?}");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_command_past_its_timeout_is_killed_with_what_it_started() {
        // Two children and a shell that ignore SIGTERM (the children inherit that): only
        // SIGKILL to the whole group ends all three.
        assert_killed_whole(
            "trap '' TERM; sleep 1000 & echo $! > \"$PIDS\"; sleep 1000 & echo $! >> \"$PIDS\"; wait",
        );
    }

    #[test]
    fn what_a_timed_out_command_started_is_killed_though_the_shell_obeyed_sigterm() {
        // The shell dies on SIGTERM; its children ignore it, and would outlive it.
        assert_killed_whole(
            "(trap '' TERM; exec sleep 1000) & echo $! > \"$PIDS\"; \
             (trap '' TERM; exec sleep 1000) & echo $! >> \"$PIDS\"; wait",
        );
    }

    #[test]
    fn a_webhook_that_does_not_answer_fails_at_its_own_timeout() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", silent.local_addr().unwrap());
        // Taken (by the backlog), never answered; straight, whatever proxy the environment
        // names.
        let via = Via::Webhook {
            url,
            agent: ureq::Agent::config_builder().proxy(None).build().into(),
        };
        let err = run_via(&via, Duration::from_millis(300)).unwrap_err();
        // ureq gave up, at the timeout, before the lane's slack ran out.
        assert!(err.contains("timeout"), "{err}");
        drop(silent);
    }

    #[test]
    fn a_command_done_before_the_stop_deadline_succeeded() {
        let (tx, rx) = mpsc::channel();
        let via = Via::Command("exit 0".to_owned());
        let far = Instant::now() + Duration::from_secs(60);
        let mut attempt =
            Attempt::start(&via, "test", &message(), COMMAND_TIMEOUT, None, move |e| {
                tx.send(e).unwrap();
            })
            .unwrap();
        // The stop shortens its time, but it ends within that: not cut short.
        attempt.stop_by(far);
        assert!(attempt.wake_at() <= far);
        let ended = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(attempt.ended(ended), Some(Ok(())));
    }
}
