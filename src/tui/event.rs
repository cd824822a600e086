//! The UI's loop: one channel, fed by the engine's updates (a subscription to its feed: a
//! check on every change of the file and once a second), a thread reading terminal input,
//! and SIGTERM/SIGHUP/SIGINT. It blocks until something arrives, and redraws once per
//! burst; it never polls and never judges — the engine does ([`crate::monitor`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

use crossterm::event::Event as Input;

use super::app::{Action, App, Effect, Notice, Target};
use super::reader::Reader;
use super::remote::{self, Remotes};
use super::terminal::Screen;
use super::{Options, TuiError, keys, ui};
use crate::history::{HistoryError, Note};
use crate::monitor::{Engine, Monitor, MonitorError, News, Update};
use crate::report::Report;
use crate::store::Store;
use crate::supervise::Verb;
use crate::supervise::control::{self, Request};

/// Sends `signal` to `target`'s PID if that PID is still the process the report showed
/// (the same start time: a PID reused since is not signalled); what happened, in one line,
/// and whether it is an error (`EPERM`: not this user's process).
#[cfg(unix)]
fn send_signal(file: &std::path::Path, target: &Target, signal: libc::c_int) -> (String, bool) {
    use crate::probe::{Lookup, Probe, SysProbe};
    let what = format!(
        "{} to pid {} ({:?})",
        crate::signal::name(signal).unwrap_or("the signal"),
        target.pid,
        target.name
    );
    let mut probe = SysProbe::new(file);
    probe.refresh(&[target.pid], false);
    match probe.process(target.pid) {
        Lookup::Alive(p) if p.start_time == target.start_time => {}
        Lookup::Alive(_) => {
            return (
                format!("not sent {what}: the PID is another process's now"),
                true,
            );
        }
        Lookup::Gone | Lookup::Unknown => return (format!("not sent {what}: it is gone"), true),
    }
    let pid = libc::pid_t::try_from(target.pid).unwrap_or(libc::pid_t::MAX);
    // SAFETY: kill has no memory effects; the PID was checked to be the process meant.
    if unsafe { libc::kill(pid, signal) } == 0 {
        return (format!("sent {what}"), false);
    }
    let e = io::Error::last_os_error();
    let why = match e.raw_os_error() {
        Some(libc::EPERM) => "not your process (EPERM)".to_owned(),
        Some(libc::ESRCH) => "it is gone (ESRCH)".to_owned(),
        _ => e.to_string(),
    };
    (format!("cannot send {what}: {why}"), true)
}

#[cfg(not(unix))]
fn send_signal(_: &std::path::Path, _: &Target, _: libc::c_int) -> (String, bool) {
    ("signals are for Unix".to_owned(), true)
}

/// Everything the loop waits for.
#[derive(Debug)]
enum Event {
    Input(Input),
    InputFailed(io::Error),
    /// A check by the engine.
    Update(Arc<Update>),
    Signal(i32),
    /// What `hbmon serve` answered to `R` or `x`.
    Controlled(Notice),
    /// A remote answered, or failed to ([`super::remote`]): its news waits in the
    /// remotes' inbox.
    Remote,
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    /// A signal asked the monitor to end; exit as a signal death would (128 + n).
    Signal(i32),
}

/// Runs the UI over `engine` until quit or a signal; then stops the engine (the history's
/// last writes get their flush).
pub fn run(
    screen: &mut Screen,
    app: App,
    options: &Options,
    engine: Engine,
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
    #[cfg(unix)]
    let signals = {
        use crate::signals::{self, SIGHUP, SIGINT, SIGTERM};
        let tx = tx.clone();
        signals::forward(&[SIGTERM, SIGHUP, SIGINT], move |signal| {
            tx.send(Event::Signal(signal)).is_ok()
        })
        .map_err(TuiError::Signals)?
    };
    spawn_input(tx.clone());
    let control_tx = tx.clone();
    let remotes = if options.remotes.is_empty() {
        None
    } else {
        let tx = tx.clone();
        let known = Remotes::new(&options.remotes, crate::clock::unix_now());
        remote::spawn(&options.remotes, known.inbox(), move || {
            tx.send(Event::Remote).is_ok()
        })
        .map_err(TuiError::Remotes)?;
        Some(known)
    };
    let first = engine
        .feed()
        .subscribe(move |update| tx.send(Event::Update(Arc::clone(update))).is_ok());
    let monitor = Monitor::start(engine).map_err(TuiError::Monitor)?;
    let mut state = Loop {
        app,
        file: options.file.clone(),
        tx: control_tx,
        monitor,
        trace,
        read_since_draw: false,
        reader: Reader::new(
            crate::paths::history_path(&options.file),
            crate::supervise::log::dir(&options.file),
        ),
        read_error: None,
        local: Arc::clone(&first.report),
        remotes,
    };
    if let Some(remotes) = &state.remotes {
        state.app.update(Action::Remotes(remotes.stale()));
    }
    state.take(&first);
    state.draw(screen)?;
    let exit = state.run(screen, &rx);
    // Nothing to alert: the stop is the history's flush.
    let Loop { monitor, .. } = state;
    monitor.stop(std::time::Instant::now());
    #[cfg(unix)]
    signals.close();
    exit
}

struct Loop {
    app: App,
    file: PathBuf,
    /// For the threads that ask `hbmon serve` (the loop never waits on its socket).
    tx: Sender<Event>,
    monitor: Monitor,
    trace: Option<File>,
    read_since_draw: bool,
    reader: Reader,
    /// The last history read failure shown, so a lasting one is shown once.
    read_error: Option<String>,
    /// The engine's newest report, before the remotes' rows are merged in.
    local: Arc<Report>,
    /// `--remote`: what each remote last answered; `None` without remotes.
    remotes: Option<Remotes>,
}

impl Loop {
    fn run(&mut self, screen: &mut Screen, rx: &Receiver<Event>) -> Result<Exit, TuiError> {
        loop {
            // The engine checks once a second: a second without an update is worth a look.
            let first = match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) if self.monitor.failed() => {
                    return Err(MonitorError::Failed.into());
                }
                Err(RecvTimeoutError::Timeout) => continue,
                // The input thread holds a sender for as long as the terminal is there.
                Err(RecvTimeoutError::Disconnected) => return Ok(Exit::Quit),
            };
            let mut redraw = false;
            // A burst is one redraw.
            for event in std::iter::once(first).chain(rx.try_iter()) {
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
                    Event::Update(update) => {
                        self.take(&update);
                        redraw = true;
                    }
                    Event::Signal(signal) => return Ok(Exit::Signal(signal)),
                    Event::Controlled(notice) => {
                        self.app.update(Action::Notice(notice));
                        self.monitor.refresh();
                        redraw = true;
                    }
                    Event::Remote => {
                        if let Some(remotes) = &mut self.remotes {
                            remotes.take_news();
                            let stale = remotes.stale();
                            if self.app.stale() != stale.as_slice() {
                                self.app.update(Action::Remotes(stale));
                            }
                            self.show_report();
                            redraw = true;
                        }
                    }
                }
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
            Effect::Refresh => self.monitor.refresh(),
            Effect::Remove(name) => {
                let (text, is_error) = match Store::new(&self.file).remove(&name) {
                    Ok(true) => (format!("removed {name:?}"), false),
                    Ok(false) => (format!("{name:?} was already gone"), false),
                    Err(e) => (format!("cannot remove {name:?}: {e}"), true),
                };
                self.app.update(Action::Notice(Notice {
                    text,
                    at: crate::clock::unix_now(),
                    is_error,
                }));
                self.monitor.refresh();
            }
            Effect::Control(verb, name) => self.control(verb, name),
            Effect::Signal { target, signal } => {
                let (text, is_error) = send_signal(&self.file, &target, signal);
                self.app.update(Action::Notice(Notice {
                    text,
                    at: crate::clock::unix_now(),
                    is_error,
                }));
                self.monitor.refresh();
            }
        }
        None
    }

    /// Asks `hbmon serve` on a thread of its own; the answer comes back as a notice.
    fn control(&self, verb: Verb, name: String) {
        let (file, tx) = (self.file.clone(), self.tx.clone());
        let asked = std::thread::Builder::new()
            .name("hbmon-control".into())
            .spawn(move || {
                let request = Request {
                    verb,
                    names: vec![name],
                };
                let (text, is_error) = match control::ask(&file, &request) {
                    Ok(reply) => (reply.text, !reply.ok),
                    Err(e) => (format!("no hbmon serve supervises this file: {e}"), true),
                };
                let at = crate::clock::unix_now();
                let _ = tx.send(Event::Controlled(Notice { text, at, is_error }));
            });
        if let Err(e) = asked {
            let text = format!("cannot ask hbmon serve: {e}");
            let at = crate::clock::unix_now();
            let _ = self.tx.send(Event::Controlled(Notice {
                text,
                at,
                is_error: true,
            }));
        }
    }

    /// Takes in one check of the engine: its report, what changed, what is wrong, and what
    /// it says worth a notice.
    fn take(&mut self, update: &Update) {
        self.read_since_draw |= update.read;
        if !update.changes.is_empty() {
            self.reader.changed();
        }
        self.local = Arc::clone(&update.report);
        self.show_report();
        if !update.changes.transitions.is_empty() {
            self.app
                .update(Action::Transitions(update.changes.transitions.clone()));
        }
        if self.app.troubles() != update.troubles.as_slice() {
            self.app.update(Action::Troubles(update.troubles.clone()));
        }
        for news in update.news.iter().filter(|n| worth_a_notice(n)) {
            self.app.update(Action::Notice(Notice {
                text: news.to_string(),
                at: crate::clock::unix_now(),
                is_error: news.is_trouble(),
            }));
        }
    }

    /// Gives the app the engine's newest report, with the remotes' newest rows merged in.
    fn show_report(&mut self) {
        let report = match &self.remotes {
            Some(remotes) => Arc::new(remotes.merge(&self.local)),
            None => Arc::clone(&self.local),
        };
        self.app.update(Action::Report(report));
    }

    /// Shows a history read's failure once (reading goes on being tried), and its end.
    fn read_result<T>(&mut self, result: Result<T, HistoryError>) -> Option<T> {
        let (value, error) = match result {
            Ok(value) => (Some(value), None),
            Err(e) => (None, Some(format!("history: {e}"))),
        };
        if error != self.read_error {
            self.read_error.clone_from(&error);
            if let Some(text) = error {
                self.app.update(Action::Notice(Notice {
                    text,
                    at: crate::clock::unix_now(),
                    is_error: true,
                }));
            }
        }
        value
    }

    /// Reads the history back when the screen shows it (the history tab or the detail
    /// pane) and the last read is stale — never for the tables alone, where a read a second
    /// under a storm of beats would cost more than htop.
    fn read_history(&mut self, now: f64) {
        if !self.app.shows_history() {
            return;
        }
        // A remote row's name is not this machine's history's.
        let selected = (self.app.selected_row())
            .filter(|r| remote::remote_host(r).is_none())
            .map(|r| r.name.clone());
        if let Some(result) = self.reader.read(selected.as_deref(), now)
            && let Some(recent) = self.read_result(result)
        {
            self.app.update(Action::History(Box::new(recent)));
        }
    }

    fn draw(&mut self, screen: &mut Screen) -> Result<(), TuiError> {
        let now = crate::clock::unix_now();
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
                .app
                .report()
                .rows
                .iter()
                .filter_map(|r| r.entry.as_ref())
                .map(|e| e.last_heartbeat)
                .fold(f64::NAN, f64::max);
            // Tracing is a measurement aid; a failed write must not end the monitor.
            let _ = writeln!(trace, "{:.6} {newest:.6}", crate::clock::unix_now());
        }
        Ok(())
    }
}

/// What the engine says that the UI shows as a notice: what became of the history and the
/// config, a watch that failed. Not transitions (the table shows them), not the file's
/// state or a refused config (the banner does, for as long as it lasts), not the roles.
fn worth_a_notice(news: &News) -> bool {
    match news {
        // Recording, as expected: no news, unless rows were missed meanwhile.
        News::History(note @ Note::Recording { .. }) => note.is_trouble(),
        News::History(_)
        | News::HistoryError(_)
        | News::Unwatched(_)
        | News::ConfigReloaded { .. } => true,
        News::Transition(_)
        | News::Flip(_)
        | News::FileError(_)
        | News::FileOk(_)
        | News::StandingBy(_)
        | News::Took(_)
        | News::Alert(_)
        | News::Supervised(_)
        | News::ConfigRefused { .. } => false,
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
