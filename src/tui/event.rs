//! The event loop. One channel, fed by a thread per blocking source — terminal input, the
//! watcher on the heartbeat file's directory, and SIGTERM/SIGHUP/SIGINT — while the loop
//! itself keeps two clocks as deadlines: a 1 s tick (on the wall-clock second, so "last beat"
//! counts in step with real time) and the probe every `--refresh`. It blocks in
//! `recv_timeout` until the earliest of them; it never polls.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::Event as Input;
use notify::RecommendedWatcher;

use super::app::{Action, App, Effect, Notice};
use super::judge::{Judge, Probing};
use super::recording::Recording;
use super::terminal::Screen;
use super::{Options, TuiError, keys, ui};
use crate::history::HistoryError;
use crate::store::{self, Snapshot, Store, StoreError};
use crate::watch;

/// The first file event after a quiet spell reaches the loop at once; while more keep
/// coming, at most one per gap, which grows from the first to the second while the storm
/// lasts. Hundreds of writers each rewriting the file then cost four reads a second, not
/// one per beat, and a lone beat still shows within milliseconds.
const MIN_GAP: Duration = Duration::from_millis(100);
const MAX_GAP: Duration = Duration::from_millis(250);

/// Everything the loop waits for.
#[derive(Debug)]
enum Event {
    Input(Input),
    InputFailed(io::Error),
    /// Something happened to the heartbeat file (not its lock or temp files).
    FileChanged,
    Signal(i32),
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    /// A signal asked the monitor to end; exit as a signal death would (128 + n).
    Signal(i32),
}

/// Runs the UI until quit or a signal.
pub fn run(
    screen: &mut Screen,
    app: App,
    options: &Options,
    judge: &mut Judge<'_>,
    recording: Recording,
) -> Result<Exit, TuiError> {
    let trace = match &options.trace {
        Some(path) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| TuiError::Trace {
                    path: path.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    let (tx, rx) = mpsc::channel();
    // Signals first: threads inherit the signal mask, so it must be in place before any
    // other thread (input, watcher) starts.
    #[cfg(unix)]
    forward_signals(tx.clone());
    spawn_input(tx.clone());
    let mut state = Loop {
        app,
        file: options.file.clone(),
        refresh: options.refresh,
        judge,
        trace,
        tx,
        watcher: None,
        snapshot: Snapshot::default(),
        stamp: None,
        read_since_draw: false,
        recording,
        history_errors: [None, None],
    };
    state.watch();
    // What the history knows seeds the first report's transitions.
    state.poll_history(store::unix_now());
    state.reload(Probing::Fresh);
    state.draw(screen)?;
    state.run(screen, &rx)
}

struct Loop<'j, 'a> {
    app: App,
    file: PathBuf,
    refresh: Duration,
    judge: &'j mut Judge<'a>,
    trace: Option<File>,
    tx: Sender<Event>,
    /// `None` while the directory cannot be watched (e.g. it does not exist yet); retried at
    /// every probe, which also re-reads the file if it changed unseen.
    watcher: Option<RecommendedWatcher>,
    /// The last good read of the file.
    snapshot: Snapshot,
    /// The file's identity and size at the last read, to notice a change without an event.
    stamp: Option<Stamp>,
    read_since_draw: bool,
    recording: Recording,
    /// The last history failure shown, of keeping the link and of reading, so a lasting
    /// one is shown once (kept apart: the link's success must not hide a failing read).
    history_errors: [Option<String>; 2],
}

/// Which of [`Loop::history_errors`] a result is.
#[derive(Debug, Clone, Copy)]
enum HistoryStep {
    Link = 0,
    Read = 1,
}

impl Loop<'_, '_> {
    fn run(&mut self, screen: &mut Screen, rx: &Receiver<Event>) -> Result<Exit, TuiError> {
        let mut next_tick = watch::next_second();
        let mut next_probe = Instant::now() + self.refresh;
        loop {
            let deadline = next_tick.min(next_probe);
            // Every sender lives as long as the loop holds `self.tx`.
            let Some(events) = watch::next_batch(rx, deadline) else {
                return Ok(Exit::Quit);
            };
            let mut redraw = false;
            let mut file_changed = false;
            // A burst is one redraw.
            for event in events {
                match event {
                    Event::Input(input) => {
                        let action = match input {
                            Input::Key(key) => keys::map_key(key, self.app.mode()),
                            Input::Mouse(mouse) => keys::map_mouse(mouse, self.app.mode()),
                            _ => None,
                        };
                        // Mouse motion arrives by the hundred and changes nothing.
                        redraw |= action.is_some() || matches!(input, Input::Resize(..));
                        let effect = action.and_then(|a| self.app.update(a));
                        if let Some(exit) = self.apply(effect) {
                            return Ok(exit);
                        }
                    }
                    Event::InputFailed(source) => return Err(TuiError::Input(source)),
                    Event::FileChanged => file_changed = true,
                    Event::Signal(signal) => return Ok(Exit::Signal(signal)),
                }
            }
            if file_changed {
                self.reload(Probing::Cached);
                redraw = true;
            }
            let now = Instant::now();
            if now >= next_probe {
                next_probe = now + self.refresh;
                self.probe();
                redraw = true;
            }
            if now >= next_tick {
                next_tick = watch::next_second();
                redraw = true;
            }
            if redraw {
                self.draw(screen)?;
            }
        }
    }

    /// Carries out what the app asked for; `Some` ends the loop.
    fn apply(&mut self, effect: Option<Effect>) -> Option<Exit> {
        match effect? {
            Effect::Quit => return Some(Exit::Quit),
            Effect::Record(changes) => self.recording.record(&changes),
            Effect::Refresh => self.reload(Probing::Fresh),
            Effect::Remove(name) => {
                let (text, is_error) = match Store::new(&self.file).remove(&name) {
                    Ok(true) => (format!("removed {name:?}"), false),
                    Ok(false) => (format!("{name:?} was already gone"), false),
                    Err(e) => (format!("cannot remove {name:?}: {e}"), true),
                };
                self.app.update(Action::Notice(Notice {
                    text,
                    at: store::unix_now(),
                    is_error,
                }));
                self.reload(Probing::Cached);
            }
        }
        None
    }

    /// Re-reads the file and judges it now. A file that does not parse keeps the last good
    /// view on screen, under the error.
    fn reload(&mut self, probing: Probing) {
        self.read_since_draw = true;
        self.stamp = Stamp::of(&self.file);
        match store::read(&self.file) {
            Ok(snapshot) => {
                self.snapshot = snapshot;
                self.app.update(Action::FileOk);
                self.judge_now(probing);
            }
            Err(e) => {
                // The header already names the file; the banner has room for the why.
                let message = match e {
                    StoreError::Corrupt { reason, .. } => {
                        format!("not a valid heartbeat file: {reason}")
                    }
                    other => other.to_string(),
                };
                self.app.update(Action::FileError {
                    message,
                    now: store::unix_now(),
                });
            }
        }
    }

    /// The periodic probe: re-judges the last snapshot with fresh OS data, re-reading first
    /// if the file changed without an event reaching us (or the watch is not set up yet).
    fn probe(&mut self) {
        if self.watcher.is_none() {
            self.watch();
        }
        if Stamp::of(&self.file) == self.stamp {
            self.judge_now(Probing::Fresh);
        } else {
            self.reload(Probing::Fresh);
        }
    }

    fn judge_now(&mut self, probing: Probing) {
        let report = self
            .judge
            .report(&self.snapshot, store::unix_now(), probing);
        let effect = self.app.update(Action::Report(Box::new(report)));
        self.apply(effect);
    }

    /// Shows a history failure once (recording and reading go on being tried), and its end.
    fn history_result<T>(
        &mut self,
        step: HistoryStep,
        result: Result<T, HistoryError>,
    ) -> Option<T> {
        let (value, error) = match result {
            Ok(value) => (Some(value), None),
            Err(e) => (None, Some(format!("history: {e}"))),
        };
        let last = &mut self.history_errors[step as usize];
        if error != *last {
            last.clone_from(&error);
            if let Some(text) = &error {
                self.app.update(Action::Notice(Notice {
                    text: text.clone(),
                    at: store::unix_now(),
                    is_error: true,
                }));
            }
        }
        value
    }

    /// Keeps the link to the history going, and shows what the recorder says.
    fn poll_history(&mut self, now: f64) {
        let result = self.recording.poll(now);
        let Some(heard) = self.history_result(HistoryStep::Link, result) else {
            return;
        };
        if !heard.seen.is_empty() {
            self.app.update(Action::Remember(heard.seen));
        }
        for note in heard.notes {
            self.app.update(Action::Notice(Notice {
                text: format!("history: {note}"),
                at: now,
                is_error: note.is_trouble(),
            }));
        }
    }

    /// Keeps recording going, and reads the history back when the screen shows it (the
    /// history tab or the detail pane) and the last read is stale — never for the tables
    /// alone, where a read a second under a storm of beats would cost more than htop.
    fn read_history(&mut self, now: f64) {
        self.poll_history(now);
        if !self.app.shows_history() {
            return;
        }
        let selected = self.app.selected_row().map(|r| r.name.clone());
        if let Some(result) = self.recording.read(selected.as_deref(), now)
            && let Some(recent) = self.history_result(HistoryStep::Read, result)
        {
            self.app.update(Action::History(Box::new(recent)));
        }
    }

    fn draw(&mut self, screen: &mut Screen) -> Result<(), TuiError> {
        let now = store::unix_now();
        self.read_history(now);
        let size = screen.size().map_err(TuiError::Terminal)?;
        self.app
            .update(Action::Viewport(ui::viewport(size, &self.app, now)));
        screen
            .draw(|frame| ui::draw(frame, &self.app, now))
            .map_err(TuiError::Terminal)?;
        if std::mem::take(&mut self.read_since_draw)
            && let Some(trace) = &mut self.trace
        {
            let newest = self
                .snapshot
                .entries
                .iter()
                .map(|(_, e)| e.last_heartbeat)
                .fold(f64::NAN, f64::max);
            // Tracing is a measurement aid; a failed write must not end the monitor.
            let _ = writeln!(trace, "{:.6} {newest:.6}", store::unix_now());
        }
        Ok(())
    }

    /// Watches the file (through its directory, see [`crate::watch`]).
    fn watch(&mut self) {
        let tx = self.tx.clone();
        let mut pacer = Pacer::default();
        // The callback runs on the watcher's own thread. Holding an event there (see
        // [`Pacer`]) lets the kernel queue the storm's events, read together on the next
        // wake-up: each beat is a burst of directory events (lock, temp file, rename, the
        // reads), and taking them one wake-up at a time would cost more than everything else
        // the monitor does.
        let changed = move || {
            thread::sleep(pacer.hold(Instant::now()));
            let _ = tx.send(Event::FileChanged);
            pacer.sent(Instant::now());
        };
        self.watcher = watch::watch(&self.file, changed).ok();
    }
}

/// Paces file events (see [`MIN_GAP`]).
#[derive(Debug)]
struct Pacer {
    last_sent: Option<Instant>,
    gap: Duration,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            last_sent: None,
            gap: MIN_GAP,
        }
    }
}

impl Pacer {
    /// How long to hold an event that arrives at `now` before passing it on.
    fn hold(&mut self, now: Instant) -> Duration {
        match self.last_sent {
            Some(last) if now < last + self.gap => {
                let wait = last + self.gap - now;
                self.gap = (self.gap * 2).min(MAX_GAP);
                wait
            }
            _ => {
                self.gap = MIN_GAP;
                Duration::ZERO
            }
        }
    }

    fn sent(&mut self, at: Instant) {
        self.last_sent = Some(at);
    }
}

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(&meta),
        })
    }
}

/// Terminal input on its own thread: `crossterm::event::read` blocks.
fn spawn_input(tx: Sender<Event>) {
    thread::spawn(move || {
        loop {
            let event = match crossterm::event::read() {
                Ok(input) => Event::Input(input),
                Err(e) => Event::InputFailed(e),
            };
            let failed = matches!(event, Event::InputFailed(_));
            if tx.send(event).is_err() || failed {
                break;
            }
        }
    });
}

/// Turns SIGTERM, SIGHUP and SIGINT into events, so the loop ends normally and the terminal
/// is restored by the usual path. The signals are blocked in this thread (and so in every
/// thread started after it) and taken synchronously with `sigwait` on a thread of their own:
/// no async-signal-safety concerns, no handler, no extra crate.
#[cfg(unix)]
fn forward_signals(tx: Sender<Event>) {
    // SAFETY: `sigset_t` is plain data that `sigemptyset` initialises; the calls only read
    // and write the set we own, and `pthread_sigmask` changes this thread's mask.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
            libc::sigaddset(&raw mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut());
        set
    };
    thread::spawn(move || {
        loop {
            let mut signal = 0;
            // SAFETY: `set` is an initialised signal set and `signal` a valid out-pointer.
            let result = unsafe { libc::sigwait(&raw const set, &raw mut signal) };
            if result == 0 && tx.send(Event::Signal(signal)).is_err() {
                break;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_lone_event_passes_at_once_and_a_storm_is_paced_ever_slower() {
        let t0 = Instant::now();
        let mut pacer = Pacer::default();
        assert_eq!(pacer.hold(t0), Duration::ZERO);
        pacer.sent(t0);
        // The storm: each event is held to the end of the gap, which grows to MAX_GAP.
        assert_eq!(pacer.hold(t0 + 10 * MS), 90 * MS);
        pacer.sent(t0 + 100 * MS);
        assert_eq!(pacer.hold(t0 + 101 * MS), 199 * MS);
        pacer.sent(t0 + 300 * MS);
        assert_eq!(pacer.hold(t0 + 300 * MS), MAX_GAP);
        pacer.sent(t0 + 550 * MS);
        assert_eq!(pacer.hold(t0 + 560 * MS), 240 * MS);
        pacer.sent(t0 + 800 * MS);
        // Quiet for a gap: the next event passes at once, and the gap starts small again.
        assert_eq!(pacer.hold(t0 + 1100 * MS), Duration::ZERO);
        pacer.sent(t0 + 1100 * MS);
        assert_eq!(pacer.hold(t0 + 1150 * MS), 50 * MS);
    }
}
