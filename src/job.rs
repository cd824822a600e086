//! Running a command as a job (`hbmon run`): a `running` beat when it starts, its output
//! passed through while the tail is kept, signals passed on to its process group, an
//! optional timeout, the command stopped if hbmon is killed, and a `succeeded` or `failed`
//! beat with exit code, duration and output tail when it ends.

mod lifeline;
mod output;
mod report;
mod signals;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::duration;
use crate::store::{DEFAULT_INTERVAL, Kind, Store, TAIL_BYTES};
use report::{Beats, Reporter};

/// How long each of a run's beats waits for the file's lock: a writer stopped while holding
/// it (Ctrl-Z) delays the run's report by seconds at most, never the command.
pub const BEAT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a timed-out job has between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// How long hbmon waits, after the job exits, for its output pipes to close: a background
/// process the job started may hold them open for good, and the job's end must not wait
/// for that process's.
const DRAIN: Duration = Duration::from_secs(2);

/// The exit code of a run that timed out although the command then exited 0, as
/// `timeout(1)` uses: a run cut short did not succeed.
const TIMED_OUT_CODE: i32 = 124;

/// A command to run as a job, and how to report it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The heartbeat name.
    pub name: String,
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Written to the entry as its interval; with `keepalive`, how often to beat.
    pub interval: Option<Duration>,
    /// Stop the command after this long: SIGTERM, then SIGKILL after [`KILL_GRACE`].
    pub timeout: Option<Duration>,
    /// Beat `running` every interval (default [`DEFAULT_INTERVAL`]) while the command runs.
    /// Liveness only: hbmon cannot tell whether the command makes progress.
    pub keepalive: bool,
    pub kind: Kind,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The command's PID; `None` when it could not start.
    pub pid: Option<u32>,
    /// Shell-style: the command's exit code, 128+n when signal n killed it, 127 (not
    /// found) or 126 (not executable) when it could not start, never 0 when it timed out.
    pub exit_code: u8,
    /// Why, in words: `exited with code 3`, `timed out after 30s; killed by SIGTERM (signal 15)`.
    pub reason: String,
}

/// Runs `job` to its end, reporting its beats to `store`, and returns how it ended.
///
/// Beats are best effort: one that cannot be written is reported on stderr and the job runs
/// on, since its exit code matters more than its report. They are written on their own
/// thread, each giving up after [`BEAT_LOCK_TIMEOUT`] waiting for the lock.
///
/// The command runs in its own process group. While it runs, SIGINT, SIGTERM, SIGHUP,
/// SIGQUIT, SIGUSR1 and SIGUSR2 sent to this process are passed on to that group; one that
/// arrives after it exited is raised again at this process once the run is reported. The
/// handlers are process-wide, so run one job at a time. If this process dies before the
/// command has exited, the command's group is stopped (see `lifeline`).
pub fn run(job: &Job, store: &Store) -> Outcome {
    let store = store.clone().with_lock_timeout(BEAT_LOCK_TIMEOUT);
    let forwarding = signals::Forwarding::install();
    let mut reporter = Reporter::new(job, &store);
    let mut command = Command::new(&job.program);
    command
        .args(&job.args)
        // Its own process group, which a timeout or a signal passed on reaches whole.
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Tied to this thread, which waits for the command below until it is reaped.
    #[cfg(target_os = "linux")]
    lifeline::die_with_hbmon(&mut command);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return reporter.not_started(&e),
    };
    let pid = child.id();
    forwarding.child_started(pid);
    let watchdog = lifeline::Watchdog::start(pid)
        .inspect_err(|e| {
            eprintln!(
                "hbmon: {}: cannot start the watchdog that stops the command if hbmon is \
                 killed: {e}",
                job.name
            );
        })
        .ok();
    let clock = Instant::now();
    // Drain the pipes at once, so the child never blocks on a full pipe.
    let tail = Arc::new(output::Tail::new(TAIL_BYTES, 2));
    spawn_pump("stdout", child.stdout.take(), io::stdout(), &tail);
    spawn_pump("stderr", child.stderr.take(), io::stderr(), &tail);
    reporter.child_started(pid);
    std::thread::scope(|scope| {
        let beats = Beats::start(scope, &reporter);
        let timed_out = supervise(job, &beats, pid, clock);
        let ended = reporter.now();
        // Stop signalling before reaping, so no signal can reach a recycled PID; the
        // watchdog too: what the command left running is left to run, as when hbmon lives.
        forwarding.child_exited();
        drop(watchdog);
        let status = child.wait();
        if !tail.wait_closed(DRAIN) {
            tail.abandon();
            eprintln!(
                "hbmon: {}: the command exited, but a process it started still holds its \
                 output open; stopped passing that output on after {}",
                job.name,
                duration::format(DRAIN)
            );
        }

        let (exit_code, reason) = match status {
            Ok(status) => ending(status, timed_out, forwarding.passed_on()),
            Err(e) => (1, format!("cannot collect its exit status: {e}")),
        };
        beats.finished(exit_code, reason.clone(), tail.text(), ended);
        Outcome {
            pid: Some(pid),
            exit_code,
            reason,
        }
    })
}

/// Waits for the child to exit, meanwhile beating `running` every keepalive interval and
/// enforcing the timeout. Returns the timeout if it fired.
fn supervise(job: &Job, beats: &Beats, pid: u32, clock: Instant) -> Option<Duration> {
    let exited = spawn_waiter(pid);
    let timeout_at = job.timeout.map(|t| clock + t);
    let keepalive = job
        .keepalive
        .then(|| job.interval.unwrap_or(DEFAULT_INTERVAL));
    let mut next_beat = keepalive.map(|every| clock + every);
    let mut timed_out = false;
    let mut kill_at = None;
    loop {
        let deadline = [timeout_at.filter(|_| !timed_out), kill_at, next_beat]
            .into_iter()
            .flatten()
            .min();
        let wait = match deadline {
            Some(at) => exited.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => exited
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        // Disconnected: waitid failed, so the exit cannot be awaited without reaping;
        // `Child::wait` then waits for it.
        if !matches!(wait, Err(mpsc::RecvTimeoutError::Timeout)) {
            break;
        }
        let now = Instant::now();
        if !timed_out && timeout_at.is_some_and(|at| now >= at) {
            timed_out = true;
            kill_at = Some(now + KILL_GRACE);
            // Said at once: the beat shows it, but whoever watches the terminal or the
            // cron log should not have to look there.
            eprintln!(
                "hbmon: {}: timed out after {}; sent SIGTERM",
                job.name,
                duration::format(job.timeout.unwrap_or_default())
            );
            report_signal_error(signals::send_group(pid, libc::SIGTERM), "SIGTERM");
            // A stopped process (Ctrl-Z, or reading the terminal from the background) acts
            // on SIGTERM only once continued; as GNU timeout does.
            report_signal_error(signals::send_group(pid, libc::SIGCONT), "SIGCONT");
        } else if kill_at.is_some_and(|at| now >= at) {
            kill_at = None;
            eprintln!(
                "hbmon: {}: still running {} after SIGTERM; sent SIGKILL",
                job.name,
                duration::format(KILL_GRACE)
            );
            report_signal_error(signals::send_group(pid, libc::SIGKILL), "SIGKILL");
        }
        if let (Some(at), Some(every)) = (next_beat, keepalive)
            && now >= at
        {
            beats.still_running();
            next_beat = Some(Instant::now() + every);
        }
    }
    job.timeout.filter(|_| timed_out)
}

fn report_signal_error(result: io::Result<()>, signal: &str) {
    // ESRCH: it exited meanwhile, which the waiter is about to report.
    if let Err(e) = result
        && e.raw_os_error() != Some(libc::ESRCH)
    {
        eprintln!("hbmon: cannot send {signal} to the timed-out command: {e}");
    }
}

/// A thread that reports (once) when child `pid` has exited, without reaping it.
fn spawn_waiter(pid: u32) -> mpsc::Receiver<io::Result<()>> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("hbmon-wait".to_owned())
        .spawn(move || {
            // The receiver is gone only once the supervisor has stopped waiting.
            let _ = tx.send(signals::wait_exited(pid));
        });
    if let Err(e) = spawned {
        // The sender dropped with the closure: `supervise` sees the channel disconnected
        // and falls back to `Child::wait`, without timeout or keepalive.
        eprintln!("hbmon: cannot start a thread to watch the command: {e}");
    }
    rx
}

/// Passes one of the child's pipes through to `to` on its own thread, keeping its tail.
fn spawn_pump(
    stream: &str,
    from: Option<impl Read + Send + 'static>,
    to: impl Write + Send + 'static,
    tail: &Arc<output::Tail>,
) {
    let Some(from) = from else {
        tail.close_one();
        return;
    };
    let pump_tail = Arc::clone(tail);
    let spawned = std::thread::Builder::new()
        .name(format!("hbmon-{stream}"))
        .spawn(move || output::pump(from, to, &pump_tail));
    if let Err(e) = spawned {
        // The pipe closed with the closure; the command sees a broken pipe.
        eprintln!("hbmon: cannot start a thread to pass on the command's {stream}: {e}");
        tail.close_one();
    }
}

/// The exit code and reason of a run that ended with `status`.
fn ending(
    status: ExitStatus,
    timed_out: Option<Duration>,
    passed_on: Option<libc::c_int>,
) -> (u8, String) {
    let (mut code, mut reason) = match (status.code(), status.signal()) {
        (Some(code), _) => (code, format!("exited with code {code}")),
        (None, Some(signal)) => (
            128 + signal,
            format!("killed by {}", signals::describe(signal)),
        ),
        (None, None) => (1, format!("ended with {status}")),
    };
    if let Some(after) = timed_out {
        reason = format!("timed out after {}; {reason}", duration::format(after));
        if code == 0 {
            code = TIMED_OUT_CODE;
        }
    } else if let Some(signal) = passed_on {
        reason = format!("{} passed on; {reason}", signals::describe(signal));
    }
    (u8::try_from(code).unwrap_or(u8::MAX), reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_follow_the_shell_convention() {
        let exited = |code| ExitStatus::from_raw(code << 8);
        let killed = ExitStatus::from_raw;
        assert_eq!(
            ending(exited(0), None, None),
            (0, "exited with code 0".into())
        );
        assert_eq!(
            ending(exited(3), None, None),
            (3, "exited with code 3".into())
        );
        assert_eq!(
            ending(killed(9), None, None),
            (137, "killed by SIGKILL (signal 9)".into())
        );
        assert_eq!(
            ending(killed(15), Some(Duration::from_secs(30)), Some(15)),
            (
                143,
                "timed out after 30s; killed by SIGTERM (signal 15)".into()
            )
        );
        assert_eq!(
            ending(exited(7), None, Some(libc::SIGTERM)),
            (
                7,
                "SIGTERM (signal 15) passed on; exited with code 7".into()
            )
        );
    }

    #[test]
    fn a_timed_out_run_never_succeeds() {
        let (code, reason) = ending(ExitStatus::from_raw(0), Some(Duration::from_secs(2)), None);
        assert_eq!(code, 124);
        assert!(reason.starts_with("timed out after 2s"), "{reason}");
    }
}
