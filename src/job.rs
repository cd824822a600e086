//! Running a command as a job (`hbmon run`): a `running` beat when it starts, its output
//! passed through while the tail is kept, signals passed on to its process group, an
//! optional timeout, the command stopped if hbmon is killed, and a `succeeded` or `failed`
//! beat with exit code, duration and output tail when it ends.

mod ending;
pub(crate) mod lifeline;
#[cfg(target_os = "linux")]
pub mod notified;
mod output;
mod report;
pub(crate) mod signals;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::duration;
use crate::store::{DEFAULT_INTERVAL, Kind, Reported, Store, TAIL_BYTES};
use ending::{Ending, ending};
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
    /// Give the command a `NOTIFY_SOCKET` and beat for what it says there (`sd_notify`;
    /// Linux): see `notified`.
    pub notify: bool,
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
    let socket = match notify_socket(job) {
        Ok(socket) => socket,
        Err(reason) => return reporter.not_run(1, reason),
    };
    #[cfg(target_os = "linux")]
    if let Some(socket) = &socket {
        notified::give(
            &mut command,
            socket,
            job.interval.unwrap_or(DEFAULT_INTERVAL),
        );
    }
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
        let (timed_out, notified) = supervise(job, &beats, pid, clock, socket);
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
            notified,
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

/// What the supervising loop hears of the command.
enum Event {
    /// It exited (or can only be awaited by reaping it).
    Exited,
    /// It said this on its notify socket.
    #[cfg(target_os = "linux")]
    Heard(crate::notify::Message),
}

#[cfg(target_os = "linux")]
type Socket = crate::notify::NotifySocket;
/// No notify socket where there is no `SO_PASSCRED`.
#[cfg(not(target_os = "linux"))]
type Socket = std::convert::Infallible;

/// The notify socket `job` asks for, or why there is none.
fn notify_socket(job: &Job) -> Result<Option<Socket>, String> {
    if !job.notify {
        return Ok(None);
    }
    #[cfg(target_os = "linux")]
    return Socket::bind()
        .map(Some)
        .map_err(|e| format!("cannot give the command a notify socket: {e}"));
    #[cfg(not(target_os = "linux"))]
    Err("--notify needs Linux (sender credentials on a datagram socket)".to_owned())
}

/// Waits for the child to exit, meanwhile beating `running` every keepalive interval,
/// beating for what it says on its notify `socket`, and enforcing the timeout. Returns the
/// timeout if it fired, and the data of notify beats the command's end overtook.
fn supervise(
    job: &Job,
    beats: &Beats,
    pid: u32,
    clock: Instant,
    socket: Option<Socket>,
) -> (Option<Duration>, serde_json::Map<String, serde_json::Value>) {
    let (events, heard) = mpsc::channel();
    spawn_waiter(pid, events.clone());
    #[cfg(target_os = "linux")]
    let listener = socket.and_then(|socket| {
        notified::listen(socket, events, Event::Heard)
            .inspect_err(|e| {
                eprintln!(
                    "hbmon: {}: cannot start a thread to hear the command's notify socket: {e}",
                    job.name
                );
            })
            .ok()
    });
    #[cfg(not(target_os = "linux"))]
    drop((socket, events));
    #[cfg(target_os = "linux")]
    let mut notes = notified::Notifications::default();
    let timeout_at = job.timeout.map(|t| clock + t);
    let keepalive = job
        .keepalive
        .then(|| job.interval.unwrap_or(DEFAULT_INTERVAL));
    let mut next_beat = keepalive.map(|every| clock + every);
    let mut timed_out = false;
    let mut kill_at = None;
    loop {
        #[cfg(target_os = "linux")]
        let retry = notes.retry_at();
        #[cfg(not(target_os = "linux"))]
        let retry = None;
        let deadline = [timeout_at.filter(|_| !timed_out), kill_at, next_beat, retry]
            .into_iter()
            .flatten()
            .min();
        let event = match deadline {
            Some(at) => heard.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => heard
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match event {
            // Disconnected: every sender is gone, the waiter with it; `Child::wait` waits.
            Ok(Event::Exited) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            #[cfg(target_os = "linux")]
            Ok(Event::Heard(message)) => notes.heard(&message),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
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
        #[cfg(target_os = "linux")]
        notes.hand_over(beats);
    }
    let timed_out = job.timeout.filter(|_| timed_out);
    #[cfg(target_os = "linux")]
    {
        // What it said just before it exited (`STOPPING=1`, a last status) counts too.
        drop(listener);
        while let Ok(event) = heard.try_recv() {
            if let Event::Heard(message) = event {
                notes.heard(&message);
            }
        }
        (timed_out, notes.leftover())
    }
    #[cfg(not(target_os = "linux"))]
    (timed_out, serde_json::Map::new())
}

fn report_signal_error(result: io::Result<()>, signal: &str) {
    // ESRCH: it exited meanwhile, which the waiter is about to report.
    if let Err(e) = result
        && e.raw_os_error() != Some(libc::ESRCH)
    {
        eprintln!("hbmon: cannot send {signal} to the timed-out command: {e}");
    }
}

/// A thread that reports (once) on `events` when child `pid` has exited, without reaping it.
fn spawn_waiter(pid: u32, events: mpsc::Sender<Event>) {
    let fallback = events.clone();
    let spawned = std::thread::Builder::new()
        .name("hbmon-wait".to_owned())
        .spawn(move || {
            // Exited or not awaitable (waitid failed): `Child::wait` reaps it either way.
            let _ = crate::signal::wait_exited(pid);
            // The receiver is gone only once the supervisor has stopped waiting.
            let _ = events.send(Event::Exited);
        });
    if let Err(e) = spawned {
        // `supervise` then falls back to `Child::wait`, without timeout or keepalive.
        eprintln!("hbmon: cannot start a thread to watch the command: {e}");
        let _ = fallback.send(Event::Exited);
    }
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
