//! The one long-lived thread that starts, beats for, stops and reaps the processes `hbmon
//! serve` supervises, so the engine's loop never waits on a fork, a lock or a child. It
//! spawns every child itself because the kernel's parent-death signal (`PR_SET_PDEATHSIG`,
//! see `job/lifeline.rs`) is tied to the thread that forked: a child spawned on a thread
//! that ends would be sent SIGTERM then. Each child runs in its own process group with a
//! watchdog that stops that group if serve dies outright; its output goes to its log.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::log::Log;
use super::log::read::{self, Stamper};
use super::policy::Exit;
use crate::config::Command;
use crate::job::lifeline::{self, Watchdog};
#[cfg(target_os = "linux")]
use crate::job::notified;
use crate::signal;
use crate::store::{Beat, Reported, Store};

/// How often the thread looks for children that ended and deadlines that passed.
const POLL: Duration = Duration::from_millis(50);
/// How long a beat on a child's behalf waits for the file's lock.
const BEAT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// How to start one process.
#[derive(Debug, Clone)]
pub struct Launch {
    pub command: Command,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    /// `(uid, gid)` to run as.
    pub user: Option<(u32, u32)>,
    /// Its interval, given as `HBMON_INTERVAL` and to the beats written on its behalf.
    pub interval: f64,
    pub log: PathBuf,
    pub log_size: u64,
    pub log_keep: u32,
}

/// What the thread is asked to do.
#[derive(Debug)]
pub enum Order {
    Start {
        name: String,
        launch: Box<Launch>,
    },
    /// SIGTERM to its group, SIGKILL after `timeout`; `clean`: a stop asked for (by hand,
    /// or serve's own), so its end is a `stopped` beat, not a crash.
    Stop {
        name: String,
        timeout: Duration,
        clean: bool,
    },
    /// A beat for it, by its PID, while it does not beat itself.
    Beat {
        name: String,
        pid: u32,
        interval: f64,
    },
    /// Its `restart_command`, bounded by `timeout` (its group killed past it).
    Run {
        name: String,
        command: Command,
        timeout: Duration,
    },
}

/// What the thread reports back.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Started as `pid`; `beat`: the time of the beat written for it, if one was.
    Started {
        name: String,
        pid: u32,
        beat: Option<f64>,
    },
    NotStarted {
        name: String,
        why: String,
    },
    Exited {
        name: String,
        exit: Exit,
    },
    /// A beat was written for it at this time.
    Beaten {
        name: String,
        at: f64,
    },
    /// Its `restart_command` ended: `Err` says how it failed.
    Ran {
        name: String,
        result: Result<(), String>,
    },
}

/// A child of the thread's.
struct Running {
    child: Child,
    /// Stops its group should serve die outright; dropped once the child is reaped.
    _watchdog: Option<Watchdog>,
    /// Hears its notify socket; dropped (the socket removed) once the child is reaped.
    #[cfg(target_os = "linux")]
    _heard: Option<crate::notify::Listener>,
    /// SIGKILL for the group at this instant (set by a stop).
    kill_at: Option<Instant>,
    /// Whether it was asked to stop cleanly (its end is then a `stopped` beat).
    clean_stop: bool,
    /// A `restart_command`, whose end is an [`Event::Ran`]: killed past this instant,
    /// `None` once its end was reported (a timeout).
    #[allow(clippy::option_option)]
    command: Option<Option<Instant>>,
}

/// The thread's state.
pub struct Worker {
    file: PathBuf,
    events: Sender<Event>,
    children: HashMap<String, Running>,
}

impl Worker {
    pub fn new(file: PathBuf, events: Sender<Event>) -> Worker {
        Worker {
            file,
            events,
            children: HashMap::new(),
        }
    }

    /// The thread's whole life: orders until the channel closes, then every child still
    /// running stopped (the supervisor stops them in order before closing it).
    pub fn run(mut self, orders: &Receiver<Order>) {
        loop {
            match orders.recv_timeout(POLL) {
                Ok(order) => self.obey(order),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.reap();
        }
        let names: Vec<String> = self.children.keys().cloned().collect();
        for name in names {
            self.stop(&name, Duration::from_secs(1), true);
        }
        while !self.children.is_empty() {
            std::thread::sleep(POLL);
            self.reap();
        }
    }

    fn obey(&mut self, order: Order) {
        match order {
            Order::Start { name, launch } => self.start(name, &launch),
            Order::Stop {
                name,
                timeout,
                clean,
            } => self.stop(&name, timeout, clean),
            Order::Beat {
                name,
                pid,
                interval,
            } => {
                if let Some(at) = self.beat(&name, Beat::alive(Some(pid)), interval) {
                    let _ = self.events.send(Event::Beaten { name, at });
                }
            }
            Order::Run {
                name,
                command,
                timeout,
            } => self.run_command(name, &command, timeout),
        }
    }

    fn start(&mut self, name: String, launch: &Launch) {
        if self.children.contains_key(&name) {
            return;
        }
        let log = match Log::open(&launch.log, launch.log_size, launch.log_keep) {
            Ok(log) => Arc::new(Mutex::new(log)),
            Err(e) => {
                let _ = self.events.send(Event::NotStarted {
                    name,
                    why: e.to_string(),
                });
                return;
            }
        };
        let mut command = self.command(&name, &launch.command);
        command
            .env("HBMON_INTERVAL", format!("{}s", launch.interval))
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cwd) = &launch.cwd {
            command.current_dir(cwd);
        }
        if let Some((uid, gid)) = launch.user {
            command.uid(uid).gid(gid);
        }
        // Its own NOTIFY_SOCKET (and WATCHDOG_USEC, its interval): a daemon that speaks
        // systemd's protocol beats with no code change. None to be had: it runs without.
        #[cfg(target_os = "linux")]
        let socket = crate::notify::NotifySocket::bind().ok().inspect(|socket| {
            let interval = Duration::from_secs_f64(launch.interval.max(0.001));
            notified::give(&mut command, socket, interval);
        });
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                let why = format!("cannot start {:?}: {e}", launch.command.argv[0]);
                let _ = self.events.send(Event::NotStarted { name, why });
                return;
            }
        };
        let pid = child.id();
        pump(child.stdout.take(), &log);
        pump(child.stderr.take(), &log);
        let beat = self.beat(&name, Beat::alive(Some(pid)), launch.interval);
        #[cfg(target_os = "linux")]
        let heard = socket.and_then(|socket| self.hear(&name, pid, launch.interval, socket));
        self.children.insert(
            name.clone(),
            Running {
                child,
                _watchdog: Watchdog::start(pid).ok(),
                #[cfg(target_os = "linux")]
                _heard: heard,
                kill_at: None,
                clean_stop: false,
                command: None,
            },
        );
        let _ = self.events.send(Event::Started { name, pid, beat });
    }

    /// Listens on `name`'s notify socket: each message the beat [`notified::Notified::beat`] maps
    /// it to (as `hbmon run --notify` does), by its PID, written on the listener's thread.
    /// Only `WATCHDOG=1` is the process beating itself (serve's beats for it stop, and a
    /// silence is then `late`, then `hung`, as systemd's watchdog judges it); a beat for
    /// `READY=1`, `STATUS=…` is said to the supervisor as one of its own.
    #[cfg(target_os = "linux")]
    fn hear(
        &self,
        name: &str,
        pid: u32,
        interval: f64,
        socket: crate::notify::NotifySocket,
    ) -> Option<crate::notify::Listener> {
        let (file, name, events) = (self.file.clone(), name.to_owned(), self.events.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let listener = notified::listen(socket, tx, std::convert::identity).ok()?;
        let _ = std::thread::Builder::new()
            .name("hbmon-notified".into())
            .spawn(move || {
                let mut notes = notified::Notifications::default();
                // Ends when the listener does (its child reaped).
                for message in rx {
                    notes.heard(&message);
                    while let Some(note) = notes.take_next() {
                        let beat = note.beat(Beat::alive(Some(pid)), Beat::alive(Some(pid)));
                        let Some(at) = write_beat(&file, &name, beat, interval) else {
                            continue;
                        };
                        if !message.watchdog {
                            let _ = events.send(Event::Beaten {
                                name: name.clone(),
                                at,
                            });
                        }
                    }
                }
            });
        Some(listener)
    }

    /// The command for `name`: its own process group, dying with serve, told who it is.
    fn command(&self, name: &str, cmd: &Command) -> std::process::Command {
        let mut command = std::process::Command::new(&cmd.argv[0]);
        command
            .args(&cmd.argv[1..])
            .process_group(0)
            .stdin(Stdio::null())
            .env("HBMON_NAME", name)
            .env("HBMON_FILE", &self.file);
        // Tied to this thread, which lives as long as serve supervises.
        #[cfg(target_os = "linux")]
        lifeline::die_with_hbmon(&mut command);
        command
    }

    fn run_command(&mut self, name: String, cmd: &Command, timeout: Duration) {
        if self.children.contains_key(&name) {
            return;
        }
        let mut command = self.command(&name, cmd);
        command.stdout(Stdio::null()).stderr(Stdio::null());
        match command.spawn() {
            Ok(child) => {
                let pid = child.id();
                self.children.insert(
                    name,
                    Running {
                        child,
                        _watchdog: Watchdog::start(pid).ok(),
                        #[cfg(target_os = "linux")]
                        _heard: None,
                        kill_at: None,
                        clean_stop: false,
                        command: Some(Some(Instant::now() + timeout)),
                    },
                );
            }
            Err(e) => {
                let result = Err(format!("cannot run {:?}: {e}", cmd.argv[0]));
                let _ = self.events.send(Event::Ran { name, result });
            }
        }
    }

    fn stop(&mut self, name: &str, timeout: Duration, clean: bool) {
        let Some(running) = self.children.get_mut(name) else {
            return;
        };
        if running.kill_at.is_some() {
            return;
        }
        running.clean_stop = clean;
        running.kill_at = Some(Instant::now() + timeout);
        let group = running.child.id();
        let _ = signal::send_group(group, libc::SIGTERM);
        // A stopped (SIGSTOP) process acts on SIGTERM only once continued.
        let _ = signal::send_group(group, libc::SIGCONT);
    }

    /// Collects every child that ended, kills what is past its deadline.
    fn reap(&mut self) {
        let now = Instant::now();
        let mut ended = Vec::new();
        for (name, running) in &mut self.children {
            let group = running.child.id();
            if let Ok(Some(status)) = running.child.try_wait() {
                ended.push((name.clone(), status));
                continue;
            }
            if running.kill_at.is_some_and(|at| now >= at) {
                let _ = signal::send_group(group, libc::SIGKILL);
            }
            if let Some(Some(at)) = running.command
                && now >= at
            {
                running.command = Some(None);
                running.kill_at = Some(now);
                let _ = signal::send_group(group, libc::SIGKILL);
                let _ = self.events.send(Event::Ran {
                    name: name.clone(),
                    result: Err("restart_command timed out: killed".into()),
                });
            }
        }
        for (name, status) in ended {
            let Some(running) = self.children.remove(&name) else {
                continue;
            };
            // What it left in its group (a shell's pipeline, a worker it forked) goes with
            // it: a restart must not find the old one's helpers still running.
            let _ = signal::send_group(running.child.id(), libc::SIGKILL);
            let exit = exit_of(status);
            match running.command {
                Some(Some(_)) => {
                    let result = if exit.success { Ok(()) } else { Err(exit.text) };
                    let _ = self.events.send(Event::Ran { name, result });
                    continue;
                }
                // Its timeout was reported.
                Some(None) => continue,
                None => {}
            }
            if running.clean_stop {
                // Asked to stop: a clean stop, whether or not it said so itself.
                let mut beat = Beat::alive(Some(running.child.id()));
                beat.status = Reported::Stopped;
                let _ = self.beat(&name, beat, 0.0);
            }
            let _ = self.events.send(Event::Exited { name, exit });
        }
    }

    /// Writes `beat` for `name` (with `interval` if positive); the beat's time, if written.
    fn beat(&self, name: &str, beat: Beat, interval: f64) -> Option<f64> {
        write_beat(&self.file, name, beat, interval)
    }
}

/// Writes `beat` for `name` into `file` (with `interval` if positive); the beat's time, if
/// written.
fn write_beat(file: &std::path::Path, name: &str, mut beat: Beat, interval: f64) -> Option<f64> {
    if interval > 0.0 {
        beat.interval = Some(interval);
    }
    Store::new(file)
        .with_lock_timeout(BEAT_LOCK_TIMEOUT)
        .beat(name, &beat)
        .ok()
        .map(|entry| entry.last_heartbeat)
}

/// How a child ended, in words.
fn exit_of(status: std::process::ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit {
            success: code == 0,
            stop_signal: false,
            text: format!("exited with code {code}"),
        },
        (None, Some(sig)) => Exit {
            success: false,
            stop_signal: signal::is_stop(sig),
            text: format!("killed by {}", signal::describe(sig)),
        },
        (None, None) => Exit {
            success: false,
            stop_signal: false,
            text: format!("ended ({status})"),
        },
    }
}

/// Copies one of a child's pipes into its log on a thread of its own, until it closes.
fn pump(pipe: Option<impl Read + Send + 'static>, log: &Arc<Mutex<Log>>) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let log = Arc::clone(log);
    let _ = std::thread::Builder::new()
        .name("hbmon-log".into())
        .spawn(move || {
            let mut buf = [0u8; 8192];
            let mut stamper = Stamper::default();
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let lines = stamper.stamp(&buf[..n], &read::now_stamp());
                        if let Ok(mut log) = log.lock() {
                            // A full disk loses output, never stalls the child.
                            let _ = log.write(&lines);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
}
