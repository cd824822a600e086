//! One run of a `tcp` probe: `host:port` accepts a connection within the timeout, over
//! each address the name resolves to until one does.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::http::secs;

/// Connects to `addr`; `Err` says why not.
pub fn run(addr: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    // Resolution is not bounded by std; the pool's deadline is its bound.
    let addrs = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?;
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
