//! The monitor engine under every face (`hbmon serve`, the live UI, and those to come): it
//! judges every process whenever the heartbeat file changes and once a second, keeps the
//! last good read of the file and one transition tracker, records the history and sends the
//! alerts when it holds those roles (standing by while another monitor does), reads its
//! config again when it changes, and publishes each check as an [`Update`] on its [`Feed`].
//! Faces subscribe to the feed and draw, log or answer from it; they never judge.
//!
//! - [`engine`]: the state between checks, and one check ([`Engine::step`]),
//! - [`judge`]: the file to a report, asking the OS only as often as it should,
//! - `roles`: the recorder and the alerter, each held by one monitor at a time,
//! - `prober`: the active probes, run by one monitor at a time, read by the others,
//! - `alerter`: the `[[alert]]` rules at work on each check,
//! - `reload`: the config read again, or refused,
//! - [`feed`]: the updates, for faces to subscribe to;
//!
//! and here, [`Monitor`]: the engine on a thread of its own, woken by the file's watch, the
//! config's, the clock, and its face's requests.

mod alerter;
pub mod engine;
pub mod feed;
pub mod judge;
mod prober;
mod reload;
mod roles;

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::RecommendedWatcher;

pub use engine::{Engine, Step};
pub use feed::{Feed, News, Prompt, Trouble, Update};
pub use judge::Probing;

use crate::config::Config;
use crate::history::HistoryError;
use crate::probe::Probe;
use crate::supervise::control::{Reply, Request};
use crate::watch;

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("cannot start the {what}: {cause}")]
    Start {
        what: &'static str,
        cause: std::io::Error,
    },
    #[error("the monitor engine stopped unexpectedly (see the panic above)")]
    Failed,
}

/// What the engine monitors, and how.
pub struct Options {
    /// The heartbeat file.
    pub file: PathBuf,
    /// The config in use at the start, and the file it came from (see
    /// [`Config::load`]).
    pub config: Config,
    pub config_path: Option<PathBuf>,
    /// `--config`, to find the config again as it was found at the start.
    pub config_flag: Option<PathBuf>,
    /// How often every process is asked about afresh (`--refresh`; `hbmon serve`: each
    /// second). A change of the file between times reuses the last answers.
    pub refresh: Duration,
    /// Whether to send alerts (`hbmon serve`): the UI never does, nor takes their lock.
    pub alerts: bool,
    /// Whether to start, restart and stop the supervised processes (`hbmon serve`): the
    /// UI never does, nor takes their lock.
    pub supervise: bool,
    pub probe: Box<dyn Probe + Send>,
}

/// A probe due within this much of the next tick waits for it: one check, not two.
const MERGE: Duration = Duration::from_millis(250);

/// What wakes the engine's thread.
#[derive(Debug)]
enum Event {
    FileChanged,
    ConfigChanged,
    /// Read the file and ask the OS now (the UI's `r`, a removal).
    Refresh,
    /// Read the config again, whatever its stamp says (SIGHUP).
    Reload(i32),
    /// Finish, giving alerts until then.
    Stop(Instant),
    /// A user's start, stop or restart, answered on the sender.
    Control(Request, Sender<Reply>),
}

/// Asks the engine's supervisor, from another thread (serve's control socket).
#[derive(Debug, Clone)]
pub struct Controller {
    tx: Sender<Event>,
}

impl Controller {
    /// Carries out `request`, waiting for the engine's answer.
    pub fn ask(&self, request: Request) -> Reply {
        let (reply, answer) = mpsc::channel();
        if self.tx.send(Event::Control(request, reply)).is_err() {
            return Reply {
                ok: false,
                text: "hbmon serve is stopping".into(),
            };
        }
        answer
            .recv_timeout(crate::supervise::control::TIMEOUT)
            .unwrap_or_else(|_| Reply {
                ok: false,
                text: "hbmon serve did not answer in time".into(),
            })
    }
}

/// The engine running on a thread of its own; stopped on [`Monitor::stop`] or when dropped.
#[derive(Debug)]
pub struct Monitor {
    tx: Sender<Event>,
    feed: Feed,
    thread: Option<JoinHandle<Vec<News>>>,
}

impl Monitor {
    /// Starts `engine` on a thread of its own: from now on it checks on every change of the
    /// file (paced, see [`watch::watch`]) and once a second, and publishes on its feed.
    /// Subscribe before, to miss nothing.
    pub fn start(mut engine: Engine) -> Result<Monitor, MonitorError> {
        let (tx, rx) = mpsc::channel();
        let feed = engine.feed();
        // Before the thread's first wait. A change between the engine's first read and now
        // is found by the first tick's look at the file's stamp.
        let mut watches = Watches::new(&engine);
        watches.retry(&mut engine, &tx);
        let looping = Looping {
            watches,
            engine,
            tx: tx.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("hbmon-monitor".into())
            .spawn(move || looping.run(&rx))
            .map_err(|cause| MonitorError::Start {
                what: "monitor thread",
                cause,
            })?;
        Ok(Monitor {
            tx,
            feed,
            thread: Some(thread),
        })
    }

    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// Whether the engine's thread ended without being stopped: a panic (a bug, its message
    /// already printed). Its face should end too rather than go on showing a stale view.
    pub fn failed(&self) -> bool {
        self.thread.as_ref().is_some_and(JoinHandle::is_finished)
    }

    /// Reads the file and asks the OS about every process now.
    pub fn refresh(&self) {
        let _ = self.tx.send(Event::Refresh);
    }

    /// Asks the engine's supervisor from another thread.
    pub fn controller(&self) -> Controller {
        Controller {
            tx: self.tx.clone(),
        }
    }

    /// Reads the config again, as `signal` asked.
    pub fn reload(&self, signal: i32) {
        let _ = self.tx.send(Event::Reload(signal));
    }

    /// Stops: alerts still undelivered get until `stop_by`, the history its flush. Returns
    /// what is left to say (the last digests, the history's last words).
    pub fn stop(mut self, stop_by: Instant) -> Vec<News> {
        self.halt(stop_by)
    }

    fn halt(&mut self, stop_by: Instant) -> Vec<News> {
        let Some(thread) = self.thread.take() else {
            return Vec::new();
        };
        let _ = self.tx.send(Event::Stop(stop_by));
        thread.join().unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.halt(Instant::now() + crate::alert::STOP_WITHIN);
    }
}

/// The engine's thread.
struct Looping {
    engine: Engine,
    watches: Watches,
    tx: Sender<Event>,
}

impl Looping {
    fn run(mut self, rx: &Receiver<Event>) -> Vec<News> {
        let mut next_tick = watch::next_second();
        let mut next_probe = Instant::now() + self.engine.refresh;
        loop {
            let probe_at = if next_probe + MERGE >= next_tick {
                next_tick
            } else {
                next_probe
            };
            // `self.tx` keeps the channel open: `None` never comes.
            let Some(events) = watch::next_batch(rx, next_tick.min(probe_at)) else {
                return self
                    .engine
                    .finish(Instant::now() + crate::alert::STOP_WITHIN);
            };
            let (mut read, mut fresh, mut config, mut signal) = (false, false, false, None);
            // A burst of events is one check.
            for event in events {
                match event {
                    Event::FileChanged => read = true,
                    Event::ConfigChanged => config = true,
                    Event::Refresh => fresh = true,
                    Event::Reload(s) => signal = Some(s),
                    Event::Stop(stop_by) => return self.engine.finish(stop_by),
                    // Answered at once, and checked now: a start starts within the check.
                    Event::Control(request, reply) => {
                        let _ = reply.send(self.engine.control(&request));
                        fresh = true;
                    }
                }
            }
            let mut reloaded = match signal {
                Some(signal) => self.engine.reload(Prompt::Signal(signal)),
                None if config => self.engine.reload(Prompt::Changed),
                None => false,
            };
            let now = Instant::now();
            let tick = now >= next_tick;
            if tick {
                next_tick = watch::next_second();
                self.engine.tick();
                self.watches.retry(&mut self.engine, &self.tx);
                // What no event said: a watch that is not set up, a `chmod` of the config
                // (the file's own stamp is looked at by every step).
                reloaded |= self.engine.reload(Prompt::Changed);
            }
            let probe = fresh || now + MERGE >= next_probe;
            if probe {
                next_probe = now + self.engine.refresh;
            }
            if tick || probe || read || reloaded {
                self.engine.step(Step {
                    read: read || fresh,
                    probing: if probe {
                        Probing::Fresh
                    } else {
                        Probing::Cached
                    },
                    counted: tick,
                });
            }
        }
    }
}

/// The watches on the heartbeat file and on every file the config may come from: one per
/// directory (see [`watch::watch`]). One that cannot be set up (no such directory yet) is
/// tried again every second, and meanwhile the once-a-second look at the stamps stands in.
struct Watches {
    dirs: Vec<DirWatch>,
    /// Whether a failing watch of the heartbeat file was said.
    said: bool,
}

/// The watch on one directory, and what a change of each of its files means.
struct DirWatch {
    dir: PathBuf,
    files: Vec<(std::ffi::OsString, Change)>,
    watcher: Option<RecommendedWatcher>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    File,
    Config,
}

impl Watches {
    /// None set up yet: see [`Watches::retry`].
    fn new(engine: &Engine) -> Watches {
        let mut dirs: Vec<DirWatch> = Vec::new();
        let files = std::iter::once((engine.file.clone(), Change::File)).chain(
            engine
                .config_file
                .watched()
                .into_iter()
                .map(|path| (path, Change::Config)),
        );
        for (path, change) in files {
            let Some(name) = path.file_name().map(ToOwned::to_owned) else {
                continue;
            };
            let dir = crate::fsafe::dir_of(&path).to_owned();
            match dirs.iter_mut().find(|d| d.dir == dir) {
                Some(watch) => watch.files.push((name, change)),
                None => dirs.push(DirWatch {
                    dir,
                    files: vec![(name, change)],
                    watcher: None,
                }),
            }
        }
        Watches { dirs, said: false }
    }

    /// Sets up every watch that is not, saying (once) why the heartbeat file's cannot be.
    fn retry(&mut self, engine: &mut Engine, tx: &Sender<Event>) {
        for watch in self.dirs.iter_mut().filter(|w| w.watcher.is_none()) {
            let names = watch.files.iter().map(|(name, _)| name.clone()).collect();
            let changes: Vec<Change> = watch.files.iter().map(|&(_, c)| c).collect();
            let tx = tx.clone();
            match watch::watch(&watch.dir, names, move |i| {
                let _ = tx.send(match changes[i] {
                    Change::File => Event::FileChanged,
                    Change::Config => Event::ConfigChanged,
                });
            }) {
                Ok(watcher) => watch.watcher = Some(watcher),
                // A directory that is not there (a mistyped `--file`) is said on screen as
                // a missing file; only a real failure to watch the file is news.
                Err(e)
                    if !self.said
                        && watch.dir.is_dir()
                        && watch.files.iter().any(|&(_, c)| c == Change::File) =>
                {
                    self.said = true;
                    engine.say(News::Unwatched(format!(
                        "cannot watch the directory of {}: {e}",
                        engine.file.display()
                    )));
                }
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests;
