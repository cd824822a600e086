//! One run of a `tcp` probe: `host:port` accepts a connection within the timeout, over
//! each address the name resolves to until one does. A numeric address is not looked up;
//! a name is resolved on a throwaway thread given the same deadline, because std's
//! `to_socket_addrs` (getaddrinfo) has no timeout of its own: a resolver that never answers
//! would otherwise hold one of the pool's few workers for as long as the C library likes.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::http::secs;

/// A name lookup: `to_socket_addrs` in production, a slow fake in tests.
type Resolve = fn(&str) -> std::io::Result<Vec<SocketAddr>>;

fn system_resolve(addr: &str) -> std::io::Result<Vec<SocketAddr>> {
    addr.to_socket_addrs().map(Iterator::collect)
}

/// Connects to `addr`; `Err` says why not.
pub fn run(addr: &str, timeout: Duration) -> Result<(), String> {
    run_with(addr, timeout, system_resolve)
}

fn run_with(addr: &str, timeout: Duration, resolve: Resolve) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let addrs = resolve_within(addr, timeout, resolve)?;
    let mut last = format!("{addr} resolves to no address");
    for to in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no connection within {}", secs(timeout)));
        }
        match TcpStream::connect_timeout(&to, left) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("no connection within {}", secs(timeout));
            }
            Err(e) => last = format!("{to}: {e}"),
        }
    }
    Err(last)
}

/// `addr`'s socket addresses within `timeout`: at once for a numeric one, else from
/// `resolve` on a thread of its own that is abandoned (left to end whenever the resolver
/// does) if it has not answered in time.
fn resolve_within(
    addr: &str,
    timeout: Duration,
    resolve: Resolve,
) -> Result<Vec<SocketAddr>, String> {
    if let Ok(numeric) = addr.parse::<SocketAddr>() {
        return Ok(vec![numeric]);
    }
    let (tx, rx) = mpsc::sync_channel(1);
    let name = addr.to_owned();
    std::thread::Builder::new()
        .name("hbmon-resolve".into())
        .spawn(move || {
            // The receiver is gone when the deadline passed: nobody waits for this.
            let _ = tx.send(resolve(&name));
        })
        .map_err(|e| format!("cannot resolve {addr}: no thread for the lookup: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(format!("cannot resolve {addr}: {e}")),
        Err(_) => Err(format!(
            "cannot resolve {addr}: no answer within {}",
            secs(timeout)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver that never answers in time (a dead DNS server); a `Resolve` returns a
    /// `Result`, so this one does too.
    #[allow(clippy::unnecessary_wraps)]
    fn stalled(_: &str) -> std::io::Result<Vec<SocketAddr>> {
        std::thread::sleep(Duration::from_secs(5));
        Ok(Vec::new())
    }

    fn refused(_: &str) -> std::io::Result<Vec<SocketAddr>> {
        Err(std::io::Error::other("name does not resolve"))
    }

    #[test]
    fn a_lookup_that_never_answers_fails_within_the_probe_timeout() {
        let started = Instant::now();
        let err = run_with("db.example:5432", Duration::from_millis(200), stalled).unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "took {took:?}");
        assert!(took >= Duration::from_millis(200), "took {took:?}");
        assert_eq!(
            err,
            "cannot resolve db.example:5432: no answer within 200ms"
        );
    }

    #[test]
    fn numeric_addresses_are_not_looked_up_and_a_failed_lookup_says_why() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        // `stalled` would take 5 s: a numeric address never reaches the resolver.
        let started = Instant::now();
        assert_eq!(run_with(&addr, Duration::from_secs(2), stalled), Ok(()));
        assert!(started.elapsed() < Duration::from_secs(1));
        let err = run_with("nowhere.invalid:1", Duration::from_secs(1), refused).unwrap_err();
        assert_eq!(
            err,
            "cannot resolve nowhere.invalid:1: name does not resolve"
        );
    }

    #[test]
    fn the_system_resolver_fails_an_unresolvable_name_within_the_timeout() {
        // `.invalid` never resolves (RFC 6761); with no DNS reachable the lookup may hang
        // instead of failing, which is what the bound is for.
        let started = Instant::now();
        let err = run("nowhere.invalid:80", Duration::from_millis(500)).unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(1500), "{err}");
        assert!(
            err.starts_with("cannot resolve nowhere.invalid:80"),
            "{err}"
        );
    }
}
