//! The writer API a process embeds: [`beat`] for one beat, [`Heartbeat`] for a handle whose
//! `pulse()` is cheap enough for a hot loop, and whose process ends `stopped`, not dead,
//! when a stop signal ends it (`heartbeat/stop_signals.rs`, Unix).

#[cfg(unix)]
mod stop_signals;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::paths;
use crate::sink::{self, Request, RequestError, Sent};
/// The machine's name every beat writes, re-exported where writers have always found it.
pub use crate::store::host;
use crate::store::{self, DEFAULT_INTERVAL, DataChange, Entry, Kind, Reported, Store, StoreError};

/// Why a beat could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HeartbeatError {
    /// The protocol's name rule (`store::parse_name`), the one `hbmon beat` applies too.
    #[error("heartbeat name refused: {why}")]
    Name { why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("heartbeat: {0}")]
    Request(#[from] RequestError),
    #[error("heartbeat {name:?}: data is not representable as JSON: {cause}")]
    Data {
        name: String,
        cause: serde_json::Error,
    },
    #[error("heartbeat {name:?}: cannot start its writer thread: {cause}")]
    Thread { name: String, cause: std::io::Error },
    #[error(
        "heartbeat {name:?} has stopped (by `stop()` or a stop signal): it writes no more beats"
    )]
    Ended { name: String },
}

/// How long the `stopped` beat of a stop signal waits for the file's lock: the process
/// is ending, and a supervisor gives it seconds (`docker stop` 10) before SIGKILL.
pub const SIGNAL_STOP_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// Writes one `alive` beat for `name` from this process, with `data` as its
/// `additional_data`, to the file `hbmon` resolves by default (`$HBMON_FILE` or the
/// per-user default).
pub fn beat(name: &str, data: impl Serialize) -> Result<Entry, HeartbeatError> {
    check_name(name)?;
    let data = to_value(name, data)?;
    let store = Store::at(&paths::resolve_file(None));
    let request = Request {
        name: name.to_owned(),
        pid: Some(std::process::id()),
        data: Some(data),
        ..Request::default()
    };
    write_through(&store, request)
}

/// Writes `request` and returns the entry written: through the beat sink of a serve that
/// answers for the file (waiting for the flush that writes it), else to the file itself.
fn write_through(store: &Store, request: Request) -> Result<Entry, HeartbeatError> {
    let request = Request {
        wait: true,
        ..request
    };
    if let Ok(Sent::Written(entry)) = sink::send(store.path(), &request) {
        return Ok(*entry);
    }
    Ok(store.beat(&request.name, &request.beat()?)?)
}

/// A builder for a long-lived heartbeat: `Heartbeat::new("worker").interval(d).start()`.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    name: String,
    interval: Duration,
    file: Option<PathBuf>,
    kind: Kind,
    handle_signals: bool,
}

impl Heartbeat {
    pub fn new(name: impl Into<String>) -> Self {
        Heartbeat {
            name: name.into(),
            interval: DEFAULT_INTERVAL,
            file: None,
            kind: Kind::App,
            handle_signals: true,
        }
    }

    /// The interval this process promises between beats (written to the entry, so the
    /// monitor judges lateness by it).
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Writes to `path` instead of the resolved default file.
    #[must_use]
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    #[must_use]
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// Whether a stop signal ends this process with a clean `stopped` beat (default: yes;
    /// Unix). While the handle lives, SIGTERM, SIGINT and SIGHUP, **each only if it has its
    /// default action** when a first such handle starts, are hooked (signal-hook): the hook
    /// writes `stopped` with `additional_data.reason` = `stopped by SIGTERM (signal 15)` for
    /// every live handle (waiting at most [`SIGNAL_STOP_LOCK_TIMEOUT`] for the file's lock,
    /// after the beat being written, if any), then ends the process by the signal's default
    /// action, as it would have ended without hbmon. Without this, `systemctl stop` or
    /// `docker stop` leaves the entry `alive` with a PID that is gone: `dead`, and a
    /// critical alert.
    ///
    /// A signal the program handles or ignores is never touched: install your own handler
    /// (a graceful stop that finishes the work in hand, then calls [`Handle::stop`]) before
    /// `start()`, or after it with sigaction(2)/signal(3) (yours replaces hbmon's; one added
    /// later with signal-hook runs *after* hbmon's, which ends the process). When the last
    /// handle stops, the hook does what the default action does. `false` installs nothing.
    #[must_use]
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.handle_signals = on;
        self
    }

    /// Writes the first beat now (so a bad name or path fails here, not silently later) and
    /// starts the background writer that turns pulses into beats.
    pub fn start(self) -> Result<Handle, HeartbeatError> {
        check_name(&self.name)?;
        let store = match &self.file {
            Some(path) => Store::new(path),
            None => Store::at(&paths::resolve_file(None)),
        };
        let shared = Arc::new(Shared {
            name: self.name,
            store,
            interval: self.interval,
            kind: self.kind,
            host: host(),
            pulses: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            ended: Mutex::new(false),
        });
        // Before the first beat: a stop signal once the entry exists must find the handler.
        #[cfg(unix)]
        let signals = if self.handle_signals {
            stop_signals::register(&shared)
        } else {
            None
        };
        shared.write(&Reported::Alive, None, DataChange::Keep)?;
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("hbmon-{}", shared.name))
            .spawn(move || worker.run())
            .map_err(|cause| HeartbeatError::Thread {
                name: shared.name.clone(),
                cause,
            })?;
        Ok(Handle {
            shared,
            thread: Some(thread),
            #[cfg(unix)]
            _signals: signals,
        })
    }
}

/// A running heartbeat. Dropping it writes a clean `stopped` beat — unless the drop is part
/// of a panic unwinding, which writes an `error` beat instead. A stop signal stops it too
/// (see [`Heartbeat::handle_signals`]); once stopped, it writes no more beats.
#[derive(Debug)]
pub struct Handle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// Dropped after the stop beat: a stop signal until then still writes one.
    #[cfg(unix)]
    _signals: Option<stop_signals::Registration>,
}

impl Handle {
    /// Says "still making progress". Costs one atomic add: the background writer turns
    /// pulses into at most one beat per `interval / 4`, and writes nothing while no pulse
    /// arrives — so a process that hangs stops beating, which is the point.
    pub fn pulse(&self) {
        self.shared.pulses.fetch_add(1, Ordering::Relaxed);
    }

    /// Reports an error now: an `error` beat with `message` (counted in `errors`).
    pub fn error(&self, message: impl Into<String>) -> Result<Entry, HeartbeatError> {
        let data = self.shared.take_data();
        self.shared
            .write(&Reported::Error, Some(message.into()), data)
    }

    /// Sets `additional_data`, written with the next beat.
    pub fn set_data(&self, data: impl Serialize) -> Result<(), HeartbeatError> {
        let value = to_value(&self.shared.name, data)?;
        self.shared.lock_state().data = Some(value);
        Ok(())
    }

    /// Stops the background writer and writes a clean `stopped` beat.
    pub fn stop(mut self) -> Result<Entry, HeartbeatError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<Entry, HeartbeatError> {
        self.shared.lock_state().stopping = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // A panic in the writer thread has already been reported by the panic hook.
            let _ = thread.join();
        }
        let data = self.shared.take_data();
        let store = &self.shared.store;
        // Unwinding from a panic is not a clean stop: a `stopped` beat would never alert.
        if std::thread::panicking() {
            let message = "panicked while its heartbeat was running".to_owned();
            self.shared
                .end(store, &Reported::Error, Some(message), data)
        } else {
            self.shared.end(store, &Reported::Stopped, None, data)
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.thread.is_some()
            && let Err(e) = self.finish()
        {
            eprintln!("hbmon: heartbeat {:?}: {e}", self.shared.name);
        }
    }
}

#[derive(Debug)]
struct Shared {
    name: String,
    store: Store,
    interval: Duration,
    kind: Kind,
    host: Option<String>,
    pulses: AtomicU64,
    state: Mutex<State>,
    wake: Condvar,
    /// Whether the last beat (a stop or a final error) is written; held while any beat is
    /// written, so that none can follow it.
    ended: Mutex<bool>,
}

#[derive(Debug, Default)]
struct State {
    data: Option<Value>,
    stopping: bool,
}

impl Shared {
    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain data; a panic elsewhere cannot leave it half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_data(&self) -> DataChange {
        self.lock_state()
            .data
            .take()
            .map_or(DataChange::Keep, DataChange::Replace)
    }

    /// Writes a beat, unless the last one is written.
    fn write(
        &self,
        status: &Reported,
        error: Option<String>,
        data: DataChange,
    ) -> Result<Entry, HeartbeatError> {
        self.write_unless_ended(&self.store, false, status, error, data)
    }

    /// Writes the last beat, through `store`; none is written after it.
    fn end(
        &self,
        store: &Store,
        status: &Reported,
        error: Option<String>,
        data: DataChange,
    ) -> Result<Entry, HeartbeatError> {
        self.write_unless_ended(store, true, status, error, data)
    }

    /// The one check both make, under the flag's lock so that no beat follows the last:
    /// refused once the last beat is written; `last` makes this beat the last.
    fn write_unless_ended(
        &self,
        store: &Store,
        last: bool,
        status: &Reported,
        error: Option<String>,
        data: DataChange,
    ) -> Result<Entry, HeartbeatError> {
        let mut ended = self.lock_ended();
        if *ended {
            return Err(self.ended_error());
        }
        *ended = last;
        self.write_to(store, status, error, data)
    }

    /// The `stopped` beat of a stop signal: the writer thread is told to stop, and the beat
    /// carries `reason` in `additional_data` (with the data set but not yet written, if it
    /// is an object; other pending data gives way to the reason).
    #[cfg(unix)]
    fn stop_by_signal(&self, reason: &str) -> Result<Entry, HeartbeatError> {
        self.lock_state().stopping = true;
        self.wake.notify_all();
        let reason = ("reason".to_owned(), Value::String(reason.to_owned()));
        let data = match self.take_data() {
            DataChange::Replace(Value::Object(mut data)) => {
                data.insert(reason.0, reason.1);
                DataChange::Replace(Value::Object(data))
            }
            _ => DataChange::Merge(Map::from_iter([reason])),
        };
        let store = self
            .store
            .clone()
            .with_lock_timeout(SIGNAL_STOP_LOCK_TIMEOUT);
        self.end(&store, &Reported::Stopped, None, data)
    }

    fn lock_ended(&self) -> std::sync::MutexGuard<'_, bool> {
        // A flag; a panic elsewhere cannot leave it half-changed.
        self.ended.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ended_error(&self) -> HeartbeatError {
        HeartbeatError::Ended {
            name: self.name.clone(),
        }
    }

    fn write_to(
        &self,
        store: &Store,
        status: &Reported,
        error: Option<String>,
        data: DataChange,
    ) -> Result<Entry, HeartbeatError> {
        write_through(store, self.request(status, error, data))
    }

    /// A background beat, which returns nothing, written as every other beat.
    fn pulse_beat(&self, data: DataChange) -> Result<(), HeartbeatError> {
        // Held while the beat is sent: none may follow the last.
        let ended = self.lock_ended();
        if *ended {
            return Err(self.ended_error());
        }
        // Waited for, as every beat of the library: a beat queued in the sink and one written
        // to the file after it (a stop, with serve gone) would land in the wrong order.
        write_through(&self.store, self.request(&Reported::Alive, None, data)).map(|_| ())
    }

    /// The beat as the sink's request: the same fields whichever path writes it.
    fn request(&self, status: &Reported, error: Option<String>, data: DataChange) -> Request {
        let (data, set) = match data {
            DataChange::Keep => (None, Map::new()),
            DataChange::Replace(value) => (Some(value), Map::new()),
            DataChange::Merge(pairs) => (None, pairs),
        };
        Request {
            name: self.name.clone(),
            pid: Some(std::process::id()),
            interval: Some(self.interval.as_secs_f64()),
            data,
            set,
            stopped: *status == Reported::Stopped,
            error: match status {
                // An error beat carries its message; the sink's protocol says so by it.
                Reported::Error => Some(error.unwrap_or_default()),
                _ => None,
            },
            kind: Some(self.kind),
            host: self.host.clone(),
            ..Request::default()
        }
    }

    /// The background writer: wakes every `interval / 4` and writes a beat if any pulse
    /// arrived since the last one. A failure is reported once on stderr per failing streak.
    fn run(&self) {
        let period = (self.interval / 4).max(Duration::from_millis(10));
        let mut seen = self.pulses.load(Ordering::Relaxed);
        let failures = FailureStreak::default();
        loop {
            let state = self.lock_state();
            let (state, _) = self
                .wake
                .wait_timeout_while(state, period, |s| !s.stopping)
                .unwrap_or_else(PoisonError::into_inner);
            if state.stopping {
                return;
            }
            drop(state);
            let pulses = self.pulses.load(Ordering::Relaxed);
            if pulses == seen {
                continue;
            }
            seen = pulses;
            let data = self.take_data();
            match self.pulse_beat(data) {
                Ok(()) => failures.succeeded(),
                // A stop signal wrote the last beat meanwhile.
                Err(HeartbeatError::Ended { .. }) => return,
                Err(e) => {
                    if failures.failed() {
                        eprintln!("hbmon: heartbeat {:?}: {e}", self.name);
                    }
                }
            }
        }
    }
}

/// The failing streak of a writer that beats in the background, so that a file that stays
/// unwritable is reported once on stderr, not once per beat, and again only after it has
/// been written in between.
#[derive(Debug, Default)]
pub(crate) struct FailureStreak {
    failing: AtomicBool,
}

impl FailureStreak {
    /// A beat was written: the streak, if any, is over.
    pub(crate) fn succeeded(&self) {
        self.failing.store(false, Ordering::Relaxed);
    }

    /// A beat failed; true if it is the first of its streak, the one worth reporting.
    pub(crate) fn failed(&self) -> bool {
        !self.failing.swap(true, Ordering::Relaxed)
    }
}

/// Refuses the names `hbmon beat` refuses (empty, a control character): a writer embedding
/// the library must not write an entry the command line could never name.
fn check_name(name: &str) -> Result<(), HeartbeatError> {
    store::parse_name(name)
        .map(drop)
        .map_err(|why| HeartbeatError::Name { why })
}

fn to_value(name: &str, data: impl Serialize) -> Result<Value, HeartbeatError> {
    serde_json::to_value(data).map_err(|source| HeartbeatError::Data {
        name: name.to_owned(),
        cause: source,
    })
}

#[cfg(test)]
mod tests;
