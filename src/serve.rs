//! The headless face of the monitor engine ([`crate::monitor`]), `hbmon serve`: the engine
//! with alerts on, the HTTP API ([`crate::api`], on threads of its own) answering from its
//! latest check, and a log of one line per thing it says — transitions, alerts, history,
//! config reloads — to stderr (plain lines for journald: no colours, no times). SIGTERM or
//! SIGINT stop it cleanly; SIGHUP reads the config again.
//!
//! The engine's roles — sending alerts, recording history — are each held by one process
//! at a time; a second `serve` stands by, logging transitions only, and takes over a role
//! when its holder stops, so alerts are never sent twice, and never wait for a terminal UI
//! to close. `[serve] heartbeat_url` makes it beat to an outside switch ([`dead_man`]).

mod dead_man;

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::alert;
use crate::api::Api;
use crate::api::auth::Tokens;
use crate::config::{Config, Secret};
use crate::http::{BindError, Limits, Listen, Running, Server, Tls};
use crate::monitor::{Engine, Monitor, MonitorError, Options, Update};
use crate::paths::FileLocation;
use crate::probe::SysProbe;
use crate::signals::{self, SIGHUP, SIGINT, SIGTERM};
use crate::sink::{self, Listening, Sink};
use crate::store::{Store, StoreError};
use crate::supervise::control;

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Monitor(#[from] MonitorError),
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
    /// Reachable from other machines, an API without tokens would take anyone's writes.
    #[error(
        "refusing to listen on {addr} without a token: it is reachable from other machines, \
         and the API would take anyone's pings and writes; add a [[serve.token]] to hbmon.toml \
         (docs/serve.md, \"Tokens\"), or listen on 127.0.0.1"
    )]
    Exposed { addr: std::net::SocketAddr },
    #[error(transparent)]
    Secret(#[from] crate::config::SecretError),
    #[error(transparent)]
    Tls(#[from] crate::http::TlsError),
}

/// How long a stopping monitor waits for HTTP requests in progress (a ping being written).
const HTTP_GRACE: Duration = Duration::from_secs(2);

enum Event {
    Update(Arc<Update>),
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
    fn bind(self, limits: Limits) -> Result<Option<Server>, ServeError> {
        match self {
            HttpAddress::Default => bind_api(Listen::default(), false, limits),
            HttpAddress::Chosen(listen) => bind_api(listen, true, limits),
        }
    }
}

/// The API's server on `listen`; a taken address is an error only if the user `chosen` it.
fn bind_api(listen: Listen, chosen: bool, limits: Limits) -> Result<Option<Server>, ServeError> {
    let Listen::On(addr) = listen else {
        return Ok(None);
    };
    match Server::bind(addr, limits) {
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

/// Runs the monitor, and the HTTP API where `http` says, until SIGTERM or SIGINT; SIGHUP
/// reads the config again. Returns the signal that stopped it.
pub fn run(
    location: &FileLocation,
    config: Config,
    config_path: Option<PathBuf>,
    config_flag: Option<&Path>,
    http: HttpAddress,
) -> Result<i32, ServeError> {
    let (tokens, tls) = access(&config, config_path.as_deref(), &http)?;
    // A ping's body is cut to `[serve] ping_body_limit` as it is read.
    let server = http.bind(Limits {
        body_keep: config.serve.body_limit(),
        ..Limits::default()
    })?;
    let server = server.map(|server| server.with_tls(tls));
    let (tx, rx) = mpsc::channel();
    let signal_tx = tx.clone();
    let signals = signals::forward(&[SIGTERM, SIGINT, SIGHUP], move |signal| {
        signal_tx.send(Event::Signal(signal)).is_ok()
    })
    .map_err(|cause| ServeError::Start {
        what: "signal handler",
        cause,
    })?;

    Store::at(location).ensure_dir()?;
    let (sink, listening) = start_sink(location)?;
    eprintln!(
        "hbmon serve: watching {}; config: {}; {} alert rule{}",
        location.path.display(),
        config_path
            .as_deref()
            .map_or_else(|| "none".to_owned(), |p| p.display().to_string()),
        config.alerts.len(),
        if config.alerts.len() == 1 { "" } else { "s" },
    );
    say_listening(server.as_ref(), &tokens);
    // The ping URLs the API takes are the config's at the start (a reload says so).
    let api_config = config.clone();
    let engine = Engine::new(Options {
        file: location.path.clone(),
        config,
        config_path,
        config_flag: config_flag.map(Path::to_owned),
        // Every check asks the OS: a process is found dead within the second.
        refresh: Duration::from_secs(1),
        alerts: true,
        supervise: true,
        probe: Box::new(SysProbe::new(&location.path)),
    })?;
    let feed = engine.feed();
    let first = feed.subscribe(move |update| tx.send(Event::Update(Arc::clone(update))).is_ok());
    log(&first);
    // The API answers from the latest check, so it starts once there is one; its pings
    // go through the sink.
    let pings = Some(Arc::clone(&sink));
    let http = match server {
        None => None,
        Some(server) => {
            let api = Api::new(feed.clone(), location, &api_config, config_flag, pings)
                .with_tokens(tokens);
            let running = server
                .start(move |request| api.respond(request))
                .map_err(|cause| ServeError::Start {
                    what: "HTTP thread",
                    cause,
                })?;
            Some(running)
        }
    };
    let _dead_man = dead_man::watch(&feed, &api_config.serve)?;
    let monitor = Monitor::start(engine)?;
    let mut control = Control::new(&location.path);
    control.follow(&first, &monitor);
    // The stop has one deadline from the signal on, whatever the HTTP API takes of it.
    let signal = loop {
        // The engine checks once a second: a second without an update is worth a look.
        let event = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(event) => event,
            Err(mpsc::RecvTimeoutError::Timeout) if monitor.failed() => {
                return Err(MonitorError::Failed.into());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            // The signal thread holds a sender for as long as the loop runs.
            Err(mpsc::RecvTimeoutError::Disconnected) => break SIGTERM,
        };
        match event {
            Event::Update(update) => {
                log(&update);
                control.follow(&update, &monitor);
            }
            Event::Signal(SIGHUP) => monitor.reload(SIGHUP),
            Event::Signal(signal) => break signal,
        }
    };
    let stop_by = Instant::now() + alert::STOP_WITHIN;
    stop_taking_beats(listening, http, &sink);
    // What was checked before the signal is logged before the stop.
    drain(&rx);
    eprintln!("hbmon serve: stopping ({})", signals::name(signal));
    drop(control);
    let last = monitor.stop(stop_by);
    drain(&rx);
    for news in last {
        eprintln!("{news}");
    }
    signals.close();
    Ok(signal)
}

/// The tokens and TLS config of `config` (read from `config_path`): secrets and keys are
/// read, and an address other machines reach refused without a token, before anything
/// binds.
fn access(
    config: &Config,
    config_path: Option<&Path>,
    http: &HttpAddress,
) -> Result<(Tokens, Option<Tls>), ServeError> {
    let base = config_path.map_or(Path::new("."), crate::fsafe::dir_of);
    let tokens = Tokens::load(&config.serve.access, base)?;
    let tls = (config.serve.access.tls.as_ref())
        .map(|(cert, key)| Tls::load(&base.join(cert), &base.join(key)))
        .transpose()?;
    let inline = (config.serve.access.tokens.iter()).any(|t| matches!(t.secret, Secret::Inline(_)));
    if let Some(path) = config_path.filter(|_| inline) {
        warn_if_readable(path);
    }
    if let HttpAddress::Chosen(Listen::On(addr)) = http
        && !addr.ip().to_canonical().is_loopback()
        && !tokens.required()
    {
        return Err(ServeError::Exposed { addr: *addr });
    }
    Ok((tokens, tls))
}

/// An inline `secret` is as private as the config that holds it: one that others may read
/// is said once at start (the config itself is not refused: it was readable before it held
/// a secret, and `hbmon config` hides them).
fn warn_if_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o7777);
    if mode & 0o044 != 0 {
        eprintln!(
            "hbmon serve: warning: {} holds token secrets and others may read it (mode \
             {mode:04o}): chmod 600 it, or give the tokens secret_file",
            path.display()
        );
    }
}

/// Where the API listens (or that it is off), and whether a request needs a token.
fn say_listening(server: Option<&Server>, tokens: &Tokens) {
    match server {
        None => eprintln!("hbmon serve: HTTP API off"),
        Some(server) => announce(server, tokens),
    }
}

fn announce(server: &Server, tokens: &Tokens) {
    let scheme = if server.is_tls() { "https" } else { "http" };
    eprintln!(
        "hbmon serve: listening on {scheme}://{}",
        server.local_addr()
    );
    eprintln!(
        "hbmon serve: {}",
        if tokens.required() {
            "every request but /healthz needs a token ([[serve.token]])"
        } else {
            "no [[serve.token]]: the API takes requests without a token (loopback only)"
        }
    );
}

/// The first steps of a stop: no beat is taken from here on (the sink's socket goes, then
/// the HTTP API, after the requests in progress), and those taken are written before the
/// monitor stops.
fn stop_taking_beats(listening: Option<Listening>, http: Option<Running>, sink: &Sink) {
    drop(listening);
    if let Some(http) = http {
        let open = http.stop(HTTP_GRACE);
        if open > 0 {
            eprintln!("http: {open} request(s) still open at the stop, cut off");
        }
    }
    sink.stop();
}

/// The beat sink: HTTP pings and local writers' beats, one file write per tick; its socket,
/// unless it cannot be had (logged: writers then write the file themselves).
fn start_sink(location: &FileLocation) -> Result<(Arc<Sink>, Option<Listening>), ServeError> {
    let sink = Arc::new(
        Sink::start(Store::at(location)).map_err(|cause| ServeError::Start {
            what: "beat sink thread",
            cause,
        })?,
    );
    let listening = match sink::listen(Arc::clone(&sink)) {
        Ok(listening) => {
            eprintln!("sink: beats taken on {}", listening.path().display());
            Some(listening)
        }
        Err(e) => {
            eprintln!("sink: {e}; hbmon beat and the library write the file themselves");
            None
        }
    };
    Ok((sink, listening))
}

/// One line per thing that happened: transitions, alerts, the history, the file, the config.
fn log(update: &Update) {
    for news in &update.news {
        eprintln!("{news}");
    }
}

/// The control socket `hbmon start|stop|restart` reach the supervisor through, listened on
/// by the serve that holds the role only (a stand-by one must not take the socket from it:
/// it listens once it takes the role over); removed when dropped, at the stop. A failure
/// is logged: serve runs on without it.
struct Control {
    file: PathBuf,
    listening: bool,
}

impl Control {
    fn new(file: &Path) -> Control {
        Control {
            file: file.to_owned(),
            listening: false,
        }
    }

    /// Listens once `update` says this serve supervises: from its start, or since it took
    /// the role over from a serve that stopped (whose socket is this one's now).
    fn follow(&mut self, update: &Update, monitor: &Monitor) {
        if !update.supervising || self.listening {
            return;
        }
        self.listening = true;
        let socket = control::socket_path(&self.file);
        let controller = monitor.controller();
        match control::bind(&self.file)
            .and_then(|listener| control::serve(listener, move |r| controller.ask(r)))
        {
            Ok(()) => eprintln!("supervise: control socket {}", socket.display()),
            Err(e) => eprintln!(
                "supervise: cannot listen on {}: {e}; hbmon start/stop/restart will not reach \
                 this serve",
                socket.display()
            ),
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        if self.listening {
            let _ = std::fs::remove_file(control::socket_path(&self.file));
        }
    }
}

/// Logs the updates already queued.
fn drain(rx: &mpsc::Receiver<Event>) {
    for event in rx.try_iter() {
        if let Event::Update(update) = event {
            log(&update);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_default_address_means_no_api_but_a_taken_chosen_one_is_an_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        assert!(
            bind_api(Listen::On(addr), false, Limits::default())
                .unwrap()
                .is_none()
        );
        let err = bind_api(Listen::On(addr), true, Limits::default()).unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        assert!(
            bind_api(Listen::Off, true, Limits::default())
                .unwrap()
                .is_none()
        );
        drop(taken);
        assert!(
            bind_api(Listen::On(addr), false, Limits::default())
                .unwrap()
                .is_some()
        );
    }
}
