//! Watching the watcher: `[serve] heartbeat_url` GET every `heartbeat_every` on a thread of
//! its own, only while the engine published a check lately — a stuck loop stops the pings,
//! so the outside switch (healthchecks.io, another hbmon) notices a dead hbmon. A failure
//! is logged once per run of failures, and never waits anything but this thread.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::ServeError;
use crate::config::ServeConfig;
use crate::monitor::Feed;

/// A loop that published no check for this long is not healthy: it checks once a second.
pub const HEALTHY_WITHIN: Duration = Duration::from_secs(5);
/// The most one ping may take: a slow switch must not make the pings fall behind.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// When the engine last published a check, set by its feed's subscriber.
#[derive(Debug, Clone)]
pub struct Pulse(Arc<Mutex<Instant>>);

impl Pulse {
    pub fn new() -> Pulse {
        Pulse(Arc::new(Mutex::new(Instant::now())))
    }

    pub fn beat(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    fn age(&self) -> Duration {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }
}

/// The pinging thread; it ends when this is dropped (at its next wake).
pub struct DeadMan {
    _stop: mpsc::Sender<()>,
}

/// Pings `[serve] heartbeat_url`, if set, while `feed` publishes checks.
pub fn watch(feed: &Feed, serve: &ServeConfig) -> Result<Option<DeadMan>, ServeError> {
    let Some(url) = &serve.heartbeat_url else {
        return Ok(None);
    };
    let pulse = Pulse::new();
    let beating = pulse.clone();
    // On the engine's thread, after each check: a loop that stops publishing stops this.
    feed.subscribe(move |_| {
        beating.beat();
        true
    });
    let every = Duration::from_secs_f64(serve.heartbeat_every());
    (start(url.clone(), every, pulse).map(Some)).map_err(|cause| ServeError::Start {
        what: "heartbeat_url thread",
        cause,
    })
}

/// Starts pinging `url` every `every` while `pulse` is fresh, the first ping at once.
pub fn start(url: String, every: Duration, pulse: Pulse) -> std::io::Result<DeadMan> {
    let (stop, stopped) = mpsc::channel::<()>();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .user_agent(concat!("hbmon/", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(PING_TIMEOUT.min(every)))
        .build()
        .into();
    // The host only: the rest of a healthchecks.io URL is its secret.
    let host = (url.parse::<ureq::http::Uri>().ok())
        .and_then(|u| u.host().map(str::to_owned))
        .unwrap_or_default();
    eprintln!(
        "hbmon serve: heartbeat_url: pinging {} every {} while the loop is healthy",
        crate::text::escape(&host),
        crate::duration::format_secs(every.as_secs_f64())
    );
    std::thread::Builder::new()
        .name("hbmon-dead-man".into())
        .spawn(move || {
            let mut log = Log::default();
            loop {
                log.note(&if pulse.age() <= HEALTHY_WITHIN {
                    ping(&agent, &url).map_err(Why::Failed)
                } else {
                    Err(Why::Stuck(pulse.age()))
                });
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        })?;
    Ok(DeadMan { _stop: stop })
}

fn ping(agent: &ureq::Agent, url: &str) -> Result<(), String> {
    agent.get(url).call().map(drop).map_err(|e| e.to_string())
}

/// Why a ping was not made or did not get through.
#[derive(Debug, PartialEq)]
enum Why {
    Failed(String),
    Stuck(Duration),
}

/// Says a failure once, when a run of them starts, and the recovery when it ends.
#[derive(Debug, Default)]
struct Log {
    failing: bool,
}

impl Log {
    /// What to log of this ping's outcome, if anything (and logs it).
    fn note(&mut self, outcome: &Result<(), Why>) -> Option<String> {
        let line = match (outcome, self.failing) {
            (Ok(()), true) => Some("hbmon serve: heartbeat_url: pinged again".to_owned()),
            (Err(Why::Failed(e)), false) => Some(format!(
                "hbmon serve: heartbeat_url: ping failed: {} (said once until one gets through)",
                crate::text::escape(e)
            )),
            (Err(Why::Stuck(age)), false) => Some(format!(
                "hbmon serve: heartbeat_url: not pinged: no check for {} (the loop is stuck)",
                crate::duration::format_secs(age.as_secs_f64().round())
            )),
            _ => None,
        };
        self.failing = outcome.is_err();
        if let Some(line) = &line {
            eprintln!("{line}");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead as _, BufReader, Write as _};

    /// A switch on loopback that answers 200 and sends each request line to the channel.
    fn switch() -> (String, mpsc::Receiver<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/ping/abc", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let _ = reader.read_line(&mut line);
                let mut rest = String::new();
                while reader.read_line(&mut rest).is_ok_and(|n| n > 2) {}
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK");
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        (url, rx)
    }

    #[test]
    fn a_stuck_loop_is_not_pinged_for_and_a_live_one_is() {
        let (url, pings) = switch();
        let pulse = Pulse(Arc::new(Mutex::new(
            Instant::now().checked_sub(HEALTHY_WITHIN * 2).unwrap(),
        )));
        let dead_man = start(url, Duration::from_millis(50), pulse.clone()).unwrap();
        // Ten rounds and more while stale: not one ping (none is ever made while stale).
        assert!(pings.recv_timeout(Duration::from_millis(700)).is_err());
        pulse.beat();
        let line = pings.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(line.starts_with("GET /ping/abc HTTP/1.1"), "{line:?}");
        drop(dead_man);
    }

    #[test]
    fn a_run_of_failures_is_said_once_and_its_end_once() {
        let failed = || Err(Why::Failed("refused".into()));
        let stuck = || Err(Why::Stuck(Duration::from_secs(7)));
        let cases: Vec<(Result<(), Why>, Option<&str>)> = vec![
            (Ok(()), None),
            (failed(), Some("ping failed: refused")),
            (failed(), None),
            (stuck(), None),
            (Ok(()), Some("pinged again")),
            (Ok(()), None),
            (stuck(), Some("no check for 7s")),
            (failed(), None),
        ];
        let mut log = Log::default();
        for (i, (outcome, says)) in cases.into_iter().enumerate() {
            let line = log.note(&outcome);
            match says {
                None => assert_eq!(line, None, "{i}"),
                Some(text) => assert!(
                    line.as_deref().is_some_and(|l| l.contains(text)),
                    "{i}: {line:?}"
                ),
            }
        }
    }
}
