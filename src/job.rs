//! Running a command as a job (`hbmon run`): a `running` beat when it starts, its output
//! passed through while the tail is kept, signals passed on to its process group, an
//! optional timeout, the command stopped if hbmon is killed, and a `succeeded` or `failed`
//! beat with exit code, duration and output tail when it ends.

pub(crate) mod lifeline;
mod output;
mod report;
pub(crate) mod signals;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::duration;
use crate::signal;
use crate::store::{DEFAULT_INTERVAL, Kind, Reported, Store, TAIL_BYTES};
use report::{Beats, FinalBeat, Reporter};

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
    /// Written to the entry as its `schedule` and `tz`: the job's period as cron has it.
    pub schedule: Option<crate::cron::Schedule>,
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
    /// Why, in words: `exited with code 3`, `stopped by SIGTERM (signal 15)`, `timed out
    /// after 30s; killed by SIGTERM (signal 15)`.
    pub reason: String,
    /// The signal that killed the command, unless hbmon sent it for a timeout: hbmon ends
    /// by it too ([`end_as`]), so that whoever runs hbmon sees the command's end.
    pub killed_by: Option<libc::c_int>,
}

/// Ends this process as the run's command ended: killed by the same signal, if a signal
/// killed it (see [`Outcome::killed_by`]); otherwise, or if that fails, returns the exit
/// code to exit with.
pub fn end_as(outcome: &Outcome) -> u8 {
    if let Some(signal) = outcome.killed_by {
        crate::signal::die_by(signal);
    }
    outcome.exit_code
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
///
/// A stop signal passed on (SIGTERM, SIGINT, SIGHUP: see [`crate::signal::STOPS`]) makes an
/// app's end a clean `stopped` if the command then ends as asked (by that signal, exit 0
/// or 128+N), and a job's reason `interrupted by …`. An app that exits 0 by itself is
/// `stopped` too: it is not running any more, and said so.
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

        let end = match status {
            Ok(status) => ending(
                job.kind,
                status,
                timed_out,
                forwarding.passed_on(),
                forwarding.stop_passed_on(),
            ),
            Err(e) => Ending {
                status: Reported::Failed,
                code: 1,
                reason: format!("cannot collect its exit status: {e}"),
                killed_by: None,
            },
        };
        beats.finished(FinalBeat {
            status: end.status,
            exit_code: end.code,
            reason: end.reason.clone(),
            output_tail: tail.text(),
            at: ended,
        });
        Outcome {
            pid: Some(pid),
            exit_code: end.code,
            reason: end.reason,
            killed_by: end.killed_by,
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
            report_signal_error(crate::signal::send_group(pid, libc::SIGTERM), "SIGTERM");
            // A stopped process (Ctrl-Z, or reading the terminal from the background) acts
            // on SIGTERM only once continued; as GNU timeout does.
            report_signal_error(crate::signal::send_group(pid, libc::SIGCONT), "SIGCONT");
        } else if kill_at.is_some_and(|at| now >= at) {
            kill_at = None;
            eprintln!(
                "hbmon: {}: still running {} after SIGTERM; sent SIGKILL",
                job.name,
                duration::format(KILL_GRACE)
            );
            report_signal_error(crate::signal::send_group(pid, libc::SIGKILL), "SIGKILL");
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
            let _ = tx.send(crate::signal::wait_exited(pid));
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

/// How a run ended: what its final beat says, and how hbmon ends.
#[derive(Debug, PartialEq, Eq)]
struct Ending {
    /// `succeeded`, `failed` or (an app) `stopped`.
    status: Reported,
    /// Shell-style, as [`Outcome::exit_code`].
    code: u8,
    reason: String,
    /// As [`Outcome::killed_by`].
    killed_by: Option<libc::c_int>,
}

/// How a run of `kind` that ended with `status` is reported. `passed_on` is the last signal
/// hbmon passed on to it, `stop` the first stop signal among them (SIGTERM, SIGINT, SIGHUP).
/// A command killed by a stop signal was asked to stop too, passed on or not: systemd's
/// default stop signals the whole unit at once, and the command may be gone before hbmon's
/// own SIGTERM arrives.
fn ending(
    kind: Kind,
    status: ExitStatus,
    timed_out: Option<Duration>,
    passed_on: Option<libc::c_int>,
    stop: Option<libc::c_int>,
) -> Ending {
    let killed_by = status.signal();
    let (code, ended) = match (status.code(), killed_by) {
        (Some(code), _) => (code, format!("exited with code {code}")),
        (None, Some(signal)) => (
            128 + signal,
            format!("killed by {}", signal::describe(signal)),
        ),
        (None, None) => (1, format!("ended with {status}")),
    };
    if let Some(after) = timed_out {
        // hbmon's own SIGTERM: hbmon exits with the code rather than die by it.
        return Ending {
            status: Reported::Failed,
            code: u8::try_from(if code == 0 { TIMED_OUT_CODE } else { code }).unwrap_or(u8::MAX),
            reason: format!("timed out after {}; {ended}", duration::format(after)),
            killed_by: None,
        };
    }
    let mut verdict = if code == 0 {
        Reported::Succeeded
    } else {
        Reported::Failed
    };
    let stop = stop.or(killed_by.filter(|&s| signal::is_stop(s)));
    let reason = if let Some(stop) = stop {
        // Ended as asked: by that signal, or by an exit a program gives for it (a handler
        // that exits 0, a shell that reports its child's end as 128+N).
        let as_asked = killed_by == Some(stop) || code == 0 || code == 128 + stop;
        let by = if killed_by == Some(stop) {
            signal::describe(stop)
        } else {
            format!("{}; {ended}", signal::describe(stop))
        };
        match kind {
            Kind::App if as_asked => {
                verdict = Reported::Stopped;
                format!("stopped by {by}")
            }
            // Asked to stop, it ended otherwise: `failed`, and the code says how.
            Kind::App => format!("asked to stop by {by}"),
            // A job cut short: its exit code decides, the reason says it was interrupted.
            Kind::Job => format!("interrupted by {by}"),
        }
    } else if let Some(signal) = passed_on {
        format!("{} passed on; {ended}", signal::describe(signal))
    } else {
        ended
    };
    // An app is not meant to end: one that exits 0 stopped, and says so at once.
    if kind == Kind::App && verdict == Reported::Succeeded {
        verdict = Reported::Stopped;
    }
    Ending {
        status: verdict,
        code: u8::try_from(code).unwrap_or(u8::MAX),
        reason,
        killed_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    fn killed(signal: i32) -> ExitStatus {
        ExitStatus::from_raw(signal)
    }

    /// (status, code, reason, killed_by) of a run's end.
    fn end(
        kind: Kind,
        status: ExitStatus,
        timed_out: Option<Duration>,
        passed_on: Option<libc::c_int>,
    ) -> (Reported, u8, String, Option<libc::c_int>) {
        let stop = passed_on.filter(|&s| signal::is_stop(s));
        let e = ending(kind, status, timed_out, passed_on, stop);
        (e.status, e.code, e.reason, e.killed_by)
    }

    #[test]
    fn endings_follow_the_shell_convention() {
        use Reported::{Failed, Succeeded};
        let job = |status, passed_on| end(Kind::Job, status, None, passed_on);
        assert_eq!(
            job(exited(0), None),
            (Succeeded, 0, "exited with code 0".into(), None)
        );
        assert_eq!(
            job(exited(3), None),
            (Failed, 3, "exited with code 3".into(), None)
        );
        assert_eq!(
            job(killed(9), None),
            (
                Failed,
                137,
                "killed by SIGKILL (signal 9)".into(),
                Some(libc::SIGKILL)
            )
        );
        assert_eq!(
            job(exited(7), Some(libc::SIGUSR1)),
            (
                Failed,
                7,
                "SIGUSR1 (signal 10) passed on; exited with code 7".into(),
                None
            )
        );
    }

    #[test]
    fn a_timed_out_run_never_succeeds_and_hbmon_does_not_die_by_its_own_signal() {
        let after = Some(Duration::from_secs(30));
        assert_eq!(
            end(Kind::Job, killed(15), after, None),
            (
                Reported::Failed,
                143,
                "timed out after 30s; killed by SIGTERM (signal 15)".into(),
                None
            )
        );
        let (status, code, reason, _) = end(Kind::App, exited(0), after, None);
        assert_eq!((status, code), (Reported::Failed, 124));
        assert!(reason.starts_with("timed out after 30s"), "{reason}");
    }

    #[test]
    fn an_app_asked_to_stop_that_stops_is_stopped_not_failed() {
        let app = |status, passed_on| end(Kind::App, status, None, passed_on);
        let term = Some(libc::SIGTERM);
        assert_eq!(
            app(killed(libc::SIGTERM), term),
            (
                Reported::Stopped,
                143,
                "stopped by SIGTERM (signal 15)".into(),
                Some(libc::SIGTERM)
            )
        );
        // A handler that exits 0, a shell reporting its child's end: as asked too.
        for (status, code) in [(exited(0), 0), (exited(143), 143)] {
            let (reported, got, reason, killed_by) = app(status, term);
            assert_eq!((reported, got, killed_by), (Reported::Stopped, code, None));
            assert_eq!(
                reason,
                format!("stopped by SIGTERM (signal 15); exited with code {code}")
            );
        }
        assert_eq!(
            app(killed(libc::SIGINT), Some(libc::SIGINT)).0,
            Reported::Stopped
        );
        assert_eq!(
            app(exited(3), term),
            (
                Reported::Failed,
                3,
                "asked to stop by SIGTERM (signal 15); exited with code 3".into(),
                None
            )
        );
        // SIGQUIT asks for a core dump, not a stop.
        assert_eq!(
            app(killed(libc::SIGQUIT), Some(libc::SIGQUIT)).0,
            Reported::Failed
        );
        // Signalled by someone else first (systemd stops a whole unit at once).
        assert_eq!(
            app(killed(libc::SIGTERM), None),
            (
                Reported::Stopped,
                143,
                "stopped by SIGTERM (signal 15)".into(),
                Some(libc::SIGTERM)
            )
        );
        assert_eq!(app(killed(libc::SIGKILL), None).0, Reported::Failed);
    }

    #[test]
    fn an_app_that_exits_by_itself_is_stopped_or_failed_at_once() {
        let (status, _, reason, _) = end(Kind::App, exited(0), None, None);
        assert_eq!(
            (status, reason.as_str()),
            (Reported::Stopped, "exited with code 0")
        );
        assert_eq!(end(Kind::App, exited(1), None, None).0, Reported::Failed);
    }

    #[test]
    fn a_job_asked_to_stop_says_it_was_interrupted() {
        assert_eq!(
            end(Kind::Job, killed(libc::SIGTERM), None, Some(libc::SIGTERM)),
            (
                Reported::Failed,
                143,
                "interrupted by SIGTERM (signal 15)".into(),
                Some(libc::SIGTERM)
            )
        );
        assert_eq!(
            end(Kind::Job, exited(7), None, Some(libc::SIGHUP)).2,
            "interrupted by SIGHUP (signal 1); exited with code 7"
        );
    }
}
