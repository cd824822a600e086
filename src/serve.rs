//! The headless monitor behind `hbmon serve`: judges every process whenever the heartbeat
//! file changes and once a second, records history, sends alerts, answers the HTTP API
//! ([`crate::api`], on threads of its own, from the latest check), and logs one line per
//! transition and per alert to stderr (plain lines for journald: no colours, no times).
//!
//! Two roles, each held by one process at a time through a sidecar lock: *sending alerts*
//! (`<file>.alerts.lock`, only ever taken by `hbmon serve`) and *recording history* (the
//! database's lock, which the live UI also takes when no `serve` runs). A second `serve`
//! stands by, logging transitions only, and takes over a role when its holder stops — so
//! alerts are never sent twice, and never wait for a terminal UI to close.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::alert::{self, Alerter};
use crate::api::{Api, View};
use crate::changes::{Changes, Tracker};
use crate::config::Config;
use crate::health::State;
use crate::history::{self, History, HistoryError, Note, Recorder, try_lock_sidecar};
use crate::http::{BindError, Limits, Listen, Server};
use crate::paths::{self, FileLocation};
use crate::probe::SysProbe;
use crate::report::{self, Report};
use crate::store::{self, Snapshot, Store, StoreError};
use crate::text;
use crate::watch;

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("cannot watch the directory of {}: {cause}", path.display())]
    Watch { path: PathBuf, cause: notify::Error },
    #[error("cannot start the {what}: {cause}")]
    Start {
        what: &'static str,
        cause: std::io::Error,
    },
    /// The cause is in the message, not a `source`: `{:#}` would print it twice.
    #[error(
        "{bind}; {}pick another address with --listen ADDR or [serve] listen, or --listen off",
        if bind.cause.kind() == std::io::ErrorKind::AddrInUse { "another hbmon serve? " } else { "" }
    )]
    Listen { bind: BindError },
}

/// How long a stopping monitor waits for HTTP requests in progress (a ping being written).
const HTTP_GRACE: Duration = Duration::from_secs(2);

enum Event {
    FileChanged,
    Signal(i32),
}

/// Where the HTTP API listens, and whether the user chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpAddress {
    /// Nobody said: [`Listen::default`]. If that is taken, most likely by another `hbmon
    /// serve` on this machine, this one runs without the API rather than not at all, and
    /// stands by for history and alerts as a second monitor always has.
    Default,
    /// From `--listen` or `[serve] listen`: if it cannot be had, serve does not start.
    Chosen(Listen),
}

impl HttpAddress {
    /// Binds the API's address (before anything else starts, so a taken one fails first).
    fn bind(self) -> Result<Option<Server>, ServeError> {
        match self {
            HttpAddress::Default => bind_api(Listen::default(), false),
            HttpAddress::Chosen(listen) => bind_api(listen, true),
        }
    }
}

/// The API's server on `listen`; a taken address is an error only if the user `chosen` it.
fn bind_api(listen: Listen, chosen: bool) -> Result<Option<Server>, ServeError> {
    let Listen::On(addr) = listen else {
        return Ok(None);
    };
    match Server::bind(addr, Limits::default()) {
        Ok(server) => Ok(Some(server)),
        Err(bind) if !chosen && bind.cause.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "hbmon serve: warning: {bind}: another hbmon serve has the HTTP API? This one \
                 runs without it (--listen ADDR gives it one)"
            );
            Ok(None)
        }
        Err(bind) => Err(ServeError::Listen { bind }),
    }
}

/// Runs the monitor, and the HTTP API where `http` says, until SIGTERM or SIGINT; returns
/// the signal that stopped it.
pub fn run(
    location: &FileLocation,
    config: &Config,
    config_path: Option<&Path>,
    http: HttpAddress,
) -> Result<i32, ServeError> {
    let server = http.bind()?;
    let (tx, rx) = mpsc::channel();
    let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(|cause| ServeError::Start {
        what: "signal handler",
        cause,
    })?;
    let stop_signals = signals.handle();
    let signal_tx = tx.clone();
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal_tx.send(Event::Signal(signal)).is_err() {
                break;
            }
        }
    });

    Store::at(location).ensure_dir()?;
    let _watcher = watch::watch(&location.path, move || {
        let _ = tx.send(Event::FileChanged);
    })
    .map_err(|cause| ServeError::Watch {
        path: location.path.clone(),
        cause,
    })?;

    eprintln!(
        "hbmon serve: watching {}; config: {}; {} alert rule{}",
        location.path.display(),
        config_path.map_or_else(|| "none".to_owned(), |p| p.display().to_string()),
        config.alerts.len(),
        if config.alerts.len() == 1 { "" } else { "s" },
    );
    match &server {
        None => eprintln!("hbmon serve: HTTP API off"),
        Some(server) => {
            let addr = server.local_addr();
            eprintln!("hbmon serve: listening on http://{addr}");
            if !addr.ip().is_loopback() {
                eprintln!(
                    "hbmon serve: warning: {addr} is reachable from other machines and the HTTP \
                     API has no authentication: anyone who reaches it can read every status and \
                     write beats"
                );
            }
        }
    }
    let mut monitor = Monitor::start(&location.path, config)?;
    // The API answers from the latest check, so it starts once there is one.
    let view = View::new(monitor.evaluate(store::unix_now(), true));
    let http = match server {
        None => None,
        Some(server) => {
            let api = Api::new(view.clone(), location, config_path);
            let running = server
                .start(move |request| api.respond(request))
                .map_err(|cause| ServeError::Start {
                    what: "HTTP thread",
                    cause,
                })?;
            Some(running)
        }
    };

    let mut next_tick = watch::next_second();
    // The stop has one deadline from the signal on, whatever the HTTP API takes of it.
    let (signal, stop_by) = loop {
        // The watcher holds a sender for as long as the loop runs.
        let Some(events) = watch::next_batch(&rx, next_tick) else {
            break (SIGTERM, Instant::now() + alert::STOP_WITHIN);
        };
        let mut changed = false;
        let mut stop = None;
        // A burst of beats is one evaluation.
        for event in events {
            match event {
                Event::Signal(signal) => stop = Some(signal),
                Event::FileChanged => changed = true,
            }
        }
        if let Some(signal) = stop {
            break (signal, Instant::now() + alert::STOP_WITHIN);
        }
        let tick = Instant::now() >= next_tick;
        if tick {
            next_tick = watch::next_second();
            monitor.claim_if_free(store::unix_now());
        }
        if tick || changed {
            // Only the tick counts toward `after = N`, so N is seconds however often the
            // file changes.
            view.set(monitor.evaluate(store::unix_now(), tick));
        }
    };
    if let Some(http) = http {
        let open = http.stop(HTTP_GRACE);
        if open > 0 {
            eprintln!("http: {open} request(s) still open at the stop, cut off");
        }
    }
    monitor.finish(signal, stop_by);
    stop_signals.close();
    Ok(signal)
}

/// The monitor's state between evaluations.
struct Monitor<'c> {
    file: PathBuf,
    config: &'c Config,
    probe: SysProbe,
    tracker: Tracker,
    database: PathBuf,
    /// `Some` while this monitor holds the history lock: it records.
    recorder: Option<Recorder>,
    /// `Some` while this monitor holds the alerts lock: it sends alerts.
    alerting: Option<std::fs::File>,
    alerter: Alerter,
    /// The last good read of the file, judged again while the file does not parse.
    snapshot: Snapshot,
    read_error: Option<String>,
    record_error: Option<String>,
}

impl<'c> Monitor<'c> {
    fn start(file: &Path, config: &'c Config) -> Result<Self, ServeError> {
        let database = paths::history_path(file);
        let alerter = Alerter::start(&config.alerts).map_err(|cause| ServeError::Start {
            what: "alert thread",
            cause,
        })?;
        let mut monitor = Monitor {
            file: file.to_owned(),
            config,
            probe: SysProbe::new(file),
            tracker: Tracker::default(),
            database,
            recorder: None,
            alerting: None,
            alerter,
            snapshot: Snapshot::default(),
            read_error: None,
            record_error: None,
        };
        // History first: what it knows seeds the alert rules too, read once the recorder
        // has opened (and, if need be, repaired) the database.
        match monitor.claim(history::OPEN_WAIT) {
            Ok(true) => {}
            Ok(false) => eprintln!(
                "history: another monitor records {} (it holds {}); standing by: transitions are \
                 logged, history is left to it until it stops",
                monitor.database.display(),
                paths::lock_path(&monitor.database).display()
            ),
            // Its lock cannot be had (a symlink planted as the lock file, say): monitor
            // without history, trying again every second, saying it once.
            Err(e) => monitor.log_record_error(&e.to_string()),
        }
        if !monitor.claim_alerts(store::unix_now())? {
            eprintln!(
                "alerts: another hbmon serve sends them (it holds {}); standing by until it stops",
                paths::alerts_lock_path(file).display()
            );
        }
        Ok(monitor)
    }

    /// Tries to become the one monitor that sends alerts; true if it now is. The states the
    /// history knows seed the alert rules, so a restart neither repeats nor forgets alerts;
    /// read without waiting (a database locked or refused is logged, and alerts start
    /// without them: history must never hold alerts back).
    fn claim_alerts(&mut self, now: f64) -> Result<bool, HistoryError> {
        let Some(lock) = try_lock_sidecar(&paths::alerts_lock_path(&self.file))? else {
            return Ok(false);
        };
        match History::open_existing(&self.database, Duration::ZERO)
            .and_then(|history| history.last_seen())
        {
            Ok(seen) => {
                for (name, seen) in seen {
                    if let Some(state) = seen.state {
                        self.alerter.remember(&name, state, now);
                    }
                }
            }
            Err(e) if e.is_absent() => {}
            Err(e) => self.log_record_error(&e.to_string()),
        }
        eprintln!("alerts: sent from this monitor");
        self.alerting = Some(lock);
        Ok(true)
    }

    /// Tries to become the recorder, waiting up to `wait` for the database to open; true if
    /// it now is. What the history knows seeds the transitions, so a restart neither
    /// repeats nor forgets them.
    fn claim(&mut self, wait: Duration) -> Result<bool, HistoryError> {
        let keep = Duration::from_secs_f64(self.config.history.keep);
        let Some(recorder) = Recorder::claim(&self.database, keep, wait)? else {
            return Ok(false);
        };
        self.recorder = Some(recorder);
        self.history_notes();
        Ok(true)
    }

    /// A standby monitor takes over each role once its lock is free.
    fn claim_if_free(&mut self, now: f64) {
        if self.alerting.is_none()
            && let Err(e) = self.claim_alerts(now)
        {
            self.log_record_error(&e.to_string());
        }
        if self.recorder.is_none()
            && let Err(e) = self.claim(Duration::ZERO)
        {
            self.log_record_error(&e.to_string());
        }
    }

    /// Reads the file, judges every process at `now`, logs and records what changed, and
    /// (when this monitor sends alerts) runs the alert rules; `tick`: the once-a-second
    /// check. Returns the report, for the HTTP API.
    fn evaluate(&mut self, now: f64, tick: bool) -> Report {
        match store::read(&self.file) {
            Ok(snapshot) => {
                if self.read_error.take().is_some() {
                    eprintln!("file: {} reads again", self.file.display());
                }
                self.snapshot = snapshot;
            }
            Err(e) => {
                let message = e.to_string();
                if self.read_error.as_ref() != Some(&message) {
                    eprintln!(
                        "file: {}; judging the last good read",
                        text::escape(&message)
                    );
                    self.read_error = Some(message);
                }
            }
        }
        let report = report::build(&self.snapshot, self.config, &mut self.probe, now);
        let changes = self.tracker.observe(&report);
        for t in &changes.transitions {
            eprintln!("{}", transition_line(t));
        }
        self.record(&changes);
        if self.alerting.is_some() {
            let config = self.config;
            self.alerter
                .check(&report, &|name| !config.alerts_for(name), now, tick);
        }
        report
    }

    /// Hands `changes` to the recorder (never waiting for the database) and logs what
    /// became of the history since the last check.
    fn record(&mut self, changes: &Changes) {
        if let Some(recorder) = &mut self.recorder {
            recorder.record(changes);
        }
        self.history_notes();
    }

    fn history_notes(&mut self) {
        let Some(recorder) = &mut self.recorder else {
            return;
        };
        for note in recorder.notes() {
            match &note {
                Note::Failed(e) => {
                    self.log_record_error(&e.to_string());
                    continue;
                }
                Note::Recording { seen, .. } => {
                    self.record_error = None;
                    for (name, seen) in seen {
                        self.tracker.remember(name, *seen);
                    }
                }
                _ => {}
            }
            eprintln!("history: {note}");
        }
    }

    /// Logs a history failure once, not once a second while it lasts.
    fn log_record_error(&mut self, message: &str) {
        if self.record_error.as_deref() != Some(message) {
            eprintln!("history: {}", text::escape(message));
            self.record_error = Some(message.to_owned());
        }
    }

    /// Alerts still undelivered get until `stop_by` (see [`Alerter::finish`]).
    fn finish(self, signal: i32, stop_by: Instant) {
        let name = if signal == SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        eprintln!("hbmon serve: stopping ({name})");
        // The history's last writes (≤ 2.5 s) and the alerts' (until `stop_by`) side by side:
        // the stop takes the longer of the two, not their sum.
        let (recorder, alerter) = (self.recorder, self.alerter);
        std::thread::scope(|scope| {
            scope.spawn(move || alerter.finish(stop_by));
            if let Some(recorder) = recorder {
                for note in recorder.finish() {
                    eprintln!("history: {note}");
                }
            }
        });
    }
}

/// `worker: up -> dead (pid 4242 is gone)`; the name and the reason (which may quote a
/// writer's error) escaped, so that no writer can forge a log line or reach the terminal.
fn transition_line(t: &crate::changes::Transition) -> String {
    let from = t.from.map_or("new", State::as_str);
    let (name, reason) = (text::escape(&t.name), text::escape(&t.reason));
    format!("{name}: {from} -> {} ({reason})", t.to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_default_address_means_no_api_but_a_taken_chosen_one_is_an_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        assert!(bind_api(Listen::On(addr), false).unwrap().is_none());
        let err = bind_api(Listen::On(addr), true).unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        assert!(bind_api(Listen::Off, true).unwrap().is_none());
        drop(taken);
        assert!(bind_api(Listen::On(addr), false).unwrap().is_some());
    }
}
