//! A small HTTP/1.1 server on std's `TcpListener`, for the local API of `hbmon serve`: one
//! request per connection (`Connection: close`), a thread per connection up to a bound, and
//! one deadline per request so a silent client cannot hold a thread. `request` parses by
//! hand: the API needs a method, a path, a query and a small body, not a framework. A
//! streaming reply (server-sent events, `stream.rs`) keeps its thread in a slot of its own.

mod conn;
mod request;
mod stream;
mod tls;

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::text;
use conn::{Conn, Socket};
use request::Hosts;
pub use request::{
    DEFAULT_BODY_KEEP, MAX_BODY, MAX_HEAD, Request, RequestError, Session, TOKEN_HEADER,
};
pub use stream::{Next, Stream, event};
pub use tls::{Tls, TlsError};

/// The port `hbmon serve` listens on by default: "HBMO" on a phone keypad. Not a
/// well-known port (< 1024), not in Linux's ephemeral range (32768–60999, where an outgoing
/// connection could hold it), not in the range Prometheus exporters took (9100–9999), and
/// not one development servers favour (3000, 5000, 8000, 8080).
pub const DEFAULT_PORT: u16 = 4266;

/// Where `hbmon serve` listens (`--listen`, `[serve] listen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// No HTTP API.
    Off,
    On(SocketAddr),
}

impl Default for Listen {
    /// Loopback only: wider needs a token (`serve` refuses one without).
    fn default() -> Self {
        Listen::On(SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)))
    }
}

impl Listen {
    /// `off`, an `IP:PORT` (`127.0.0.1:4266`, `[::1]:4266`, `0.0.0.0:4266`), or
    /// `localhost:PORT`. Port 0 picks a free port (the log says which).
    pub fn parse(text: &str) -> Result<Listen, String> {
        if text == "off" {
            return Ok(Listen::Off);
        }
        let addr = match text.strip_prefix("localhost:") {
            Some(port) => port
                .parse::<u16>()
                .ok()
                .map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
            None => text.parse::<SocketAddr>().ok(),
        };
        addr.map(Listen::On).ok_or_else(|| {
            format!(
                "{text:?} is not an address to listen on: use IP:PORT (127.0.0.1:{DEFAULT_PORT}, \
                 [::1]:{DEFAULT_PORT}, 0.0.0.0:{DEFAULT_PORT}), localhost:PORT, or \"off\""
            )
        })
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Off => f.write_str("off"),
            Listen::On(addr) => addr.fmt(f),
        }
    }
}

/// How long a connection past the limit waits for a slot before it is answered 503: a
/// short queue (the acceptor waits, further clients wait in the kernel's backlog), so that a
/// burst of quick requests — 50 clients pinging at once — is served, not refused, while
/// clients that hold their connections open still cannot take more than the limit.
const QUEUE_WAIT: Duration = Duration::from_millis(500);

/// How much a server takes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections handled at once; one more waits up to half a second for a slot
    /// ([`QUEUE_WAIT`]), then is answered 503 and closed.
    pub connections: usize,
    /// How long a client has to send its whole request (408 after), and then to take the
    /// whole reply (closed unfinished after).
    pub timeout: Duration,
    /// How much of a body a request keeps (`[serve] ping_body_limit`); the rest, up to
    /// [`MAX_BODY`], is read and dropped within the same deadline.
    pub body_keep: usize,
    /// Event streams open at once (`/api/v1/events`); one more is answered 503 with
    /// `Retry-After`. They do not count against `connections`.
    pub streams: usize,
    /// How long a stream may be quiet before a comment line is sent.
    pub keep_alive: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 32,
            timeout: Duration::from_secs(5),
            body_keep: DEFAULT_BODY_KEEP,
            streams: 16,
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// The address is taken, not this machine's, or not allowed.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {cause}")]
pub struct BindError {
    pub addr: SocketAddr,
    pub cause: io::Error,
}

/// A reply. Every reply closes its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// The methods the path takes, sent with a 405.
    pub allow: Option<&'static str>,
    /// More headers, as the endpoint's protocol has them (a ping's `Ping-Body-Limit`).
    pub headers: Vec<(&'static str, String)>,
    /// What a streaming reply sends after its head, in place of `body`.
    pub stream: Option<Stream>,
}

impl Response {
    /// A plain-text reply of one line (a newline is added): `curl` prints it to a terminal,
    /// and it may quote a request's name or values, so it is escaped ([`text::escape`]).
    pub fn line(status: u16, message: impl fmt::Display) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{}\n", text::escape(&message.to_string())),
            allow: None,
            headers: Vec::new(),
            stream: None,
        }
    }

    /// A JSON reply: `value` pretty-printed (JSON escapes every control character).
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        let body = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
        Response {
            status,
            ..Response::ok("application/json", body + "\n")
        }
    }

    /// A plain-text reply of exactly `body`, no newline added: for clients that compare
    /// it, as healthchecks.io's do its `OK`.
    pub fn exact(status: u16, body: &'static str) -> Response {
        Response {
            status,
            body: body.to_owned(),
            ..Response::line(status, "")
        }
    }

    /// This reply with the header `name: value` too.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl fmt::Display) -> Response {
        self.headers.push((name, value.to_string()));
        self
    }

    /// A 200 reply with `body` of `content_type`.
    pub fn ok(content_type: &'static str, body: String) -> Response {
        Response {
            status: 200,
            content_type,
            body,
            allow: None,
            headers: Vec::new(),
            stream: None,
        }
    }

    /// 405, naming the methods the path takes in the message and in `Allow`.
    pub fn method_not_allowed(method: &str, allow: &'static str) -> Response {
        Response {
            allow: Some(allow),
            ..Response::line(405, format!("{method} is not allowed here: use {allow}"))
        }
    }

    /// Writes the reply by `deadline`; `with_body: false` for a `HEAD` request (the headers
    /// still say how long the body would be).
    fn write_to(&self, conn: &mut impl Conn, with_body: bool, deadline: Instant) -> io::Result<()> {
        let more = self.more_headers();
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\
             {more}\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len()
        );
        conn.until(deadline);
        let body = if with_body { self.body.as_bytes() } else { b"" };
        conn::write_all(conn, &[head.as_bytes(), body].concat())
    }
}

impl Response {
    /// `Allow` and the other headers, each line ended.
    fn more_headers(&self) -> String {
        let allow = self.allow.map(|allow| format!("Allow: {allow}\r\n"));
        // A value is the server's own, but a line break in one would end the head.
        let others = (self.headers.iter())
            .map(|(name, value)| format!("{name}: {}\r\n", text::escape(value)));
        allow.into_iter().chain(others).collect()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        408 => "Request Timeout",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// A bound listener, not yet serving: binding first lets a busy address fail at start-up.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    limits: Limits,
    /// HTTPS: every connection's handshake is made with it.
    tls: Option<Tls>,
}

impl Server {
    pub fn bind(addr: SocketAddr, limits: Limits) -> Result<Server, BindError> {
        let bind_error = |cause| BindError { addr, cause };
        let listener = TcpListener::bind(addr).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok(Server {
            listener,
            addr,
            limits,
            tls: None,
        })
    }

    /// This server speaking HTTPS with `tls`, or plain HTTP with `None`.
    #[must_use]
    pub fn with_tls(self, tls: Option<Tls>) -> Server {
        Server { tls, ..self }
    }

    /// Whether it speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The address actually bound (port 0 picks one).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves every request with `handler` on threads of its own until [`Running::stop`].
    /// Fails only when the accepting thread cannot be started.
    pub fn start<H>(self, handler: H) -> io::Result<Running>
    where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Open::default());
        let streams = Arc::new(Open::default());
        let addr = self.addr;
        let acceptor = {
            let (stop, open, streams) =
                (Arc::clone(&stop), Arc::clone(&open), Arc::clone(&streams));
            std::thread::Builder::new()
                .name("hbmon-http".into())
                .spawn(move || self.accept(&Arc::new(handler), &stop, &open, &streams))?
        };
        Ok(Running {
            addr,
            stop,
            open,
            streams,
            acceptor,
        })
    }

    fn accept<H>(
        self,
        handler: &Arc<H>,
        stop: &Arc<AtomicBool>,
        open: &Arc<Open>,
        streams: &Arc<Open>,
    ) where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        // Bound to loopback, the API is for this machine: a request must say so (DNS
        // rebinding). Bound wider, the user chose to be reached by any name.
        let hosts = if self.addr.ip().to_canonical().is_loopback() {
            Hosts::Loopback
        } else {
            Hosts::Any
        };
        let mut last_error = None;
        for connection in self.listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let stream = match connection {
                Ok(stream) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: say so once, and wait rather
                    // than spin on an error that lasts.
                    let message = e.to_string();
                    if last_error.as_ref() != Some(&message) {
                        eprintln!("http: cannot accept a connection: {message}");
                        last_error = Some(message);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            let Some(slot) = open.enter(self.limits.connections, QUEUE_WAIT) else {
                // Over TLS a plain reply would be noise, and a handshake here would hold
                // the accepting thread: the connection is only closed.
                if self.tls.is_none() {
                    refuse(stream, self.limits.timeout);
                }
                continue;
            };
            let handler = Arc::clone(handler);
            let limits = self.limits;
            let tls = self.tls.clone();
            let (stop, streams) = (Arc::clone(stop), Arc::clone(streams));
            let spawned = std::thread::Builder::new()
                .name("hbmon-http-conn".into())
                .spawn(move || {
                    let server = Serving {
                        limits,
                        hosts,
                        tls: tls.as_ref(),
                        streams: &streams,
                        stop: &stop,
                    };
                    server.serve(stream, &*handler, slot);
                });
            if let Err(e) = spawned {
                eprintln!("http: cannot start a thread for a connection: {e}");
            }
        }
    }
}

/// A serving server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    open: Arc<Open>,
    streams: Arc<Open>,
    acceptor: JoinHandle<()>,
}

impl Running {
    /// Stops accepting and waits up to `grace` for the requests in progress (a ping being
    /// written, say) to finish; returns how many were still open.
    pub fn stop(self, grace: Duration) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        // The acceptor sits in accept(): a connection of our own wakes it to see the flag.
        let wake = SocketAddr::new(reachable(self.addr.ip()), self.addr.port());
        if TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok() {
            let _ = self.acceptor.join();
        }
        let deadline = Instant::now() + grace;
        // Streams see the flag within a second of it.
        self.open.wait_idle(deadline) + self.streams.wait_idle(deadline)
    }
}

/// An address to reach a listener bound to `ip`: the wildcard is reached over loopback.
fn reachable(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

/// What a connection's thread answers with.
struct Serving<'a> {
    limits: Limits,
    hosts: Hosts,
    tls: Option<&'a Tls>,
    streams: &'a Arc<Open>,
    stop: &'a AtomicBool,
}

impl Serving<'_> {
    /// One connection: under TLS its handshake first, then its request answered, all of it
    /// within the limits' timeout; a plain-HTTP request to the TLS port is told so in plain
    /// HTTP.
    fn serve(&self, stream: TcpStream, handler: &impl Fn(&Request) -> Response, slot: Slot) {
        let deadline = Instant::now() + self.limits.timeout;
        let mut socket = Socket::new(stream, deadline);
        let Some(tls) = self.tls else {
            return self.answer(&mut socket, handler, slot, deadline);
        };
        match tls::accept(tls, socket) {
            tls::Accepted::Tls(mut stream) => self.answer(&mut *stream, handler, slot, deadline),
            tls::Accepted::Plain(mut socket) => {
                let reply = Response::line(
                    400,
                    "this port speaks HTTPS, and the request came in plain HTTP: use https://",
                );
                let _ = reply.write_to(&mut socket, true, Instant::now() + self.limits.timeout);
                drain(&mut socket, deadline);
            }
            tls::Accepted::Failed => {}
        }
    }

    /// Reads one request for one of `hosts` by `deadline`, answers it, closes: the reply
    /// has the limits' timeout to be taken (a reply cut short is closed all the same). A
    /// streaming reply gives `slot` back and goes on in a stream slot.
    fn answer(
        &self,
        conn: &mut impl Conn,
        handler: &impl Fn(&Request) -> Response,
        slot: Slot,
        deadline: Instant,
    ) {
        let limits = self.limits;
        let timeout = limits.timeout;
        match request::read(conn, deadline, self.hosts, limits.body_keep) {
            Ok(request) => {
                let response = handler(&request);
                let with_body = request.method != "HEAD";
                if response.stream.is_some() {
                    drop(slot);
                    stream::pour(conn, &response, with_body, limits, self.streams, self.stop);
                } else if response
                    .write_to(conn, with_body, Instant::now() + timeout)
                    .is_ok()
                {
                    let _ = conn.finish();
                }
            }
            Err(RequestError::Closed(_)) => {}
            Err(e) => {
                let reply = Response::line(e.status(), &e);
                let _ = reply.write_to(conn, true, Instant::now() + timeout);
                drain(conn, deadline);
            }
        }
    }
}

/// After an early error reply, reads what the client still sends (for a second at most)
/// before closing: closing with unread bytes resets the connection, and the client would
/// see the reset instead of the reply.
fn drain(conn: &mut impl Conn, deadline: Instant) {
    if conn.finish().is_err() {
        return;
    }
    conn.until(deadline.min(Instant::now() + Duration::from_secs(1)));
    let mut sink = [0_u8; 4096];
    let mut left: usize = 1 << 20;
    while left > 0 {
        match conn.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// Every connection slot is taken: say so and close, from the accepting thread — so
/// without waiting for the request: only what already arrived is read (unread bytes would
/// turn the close into a reset that can swallow the reply).
fn refuse(stream: TcpStream, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut socket = Socket::new(stream, deadline);
    let _ = Response::line(503, "busy: too many connections at once; try again").write_to(
        &mut socket,
        true,
        deadline,
    );
    let mut stream = socket.tcp();
    let _ = stream.shutdown(Shutdown::Write);
    if stream.set_nonblocking(true).is_ok() {
        let mut sink = [0_u8; 4096];
        for _ in 0..16 {
            if !matches!(stream.read(&mut sink), Ok(n) if n > 0) {
                break;
            }
        }
    }
}

/// How many connections are being answered, and a way to wait for none.
#[derive(Debug, Default)]
struct Open {
    count: Mutex<usize>,
    changed: Condvar,
}

/// One connection's place in [`Open`]; given back when dropped, even by a panicking
/// handler.
struct Slot(Arc<Open>);

impl Open {
    /// A slot, once fewer than `limit` are taken, waiting up to `wait` for one.
    fn enter(self: &Arc<Self>, limit: usize, wait: Duration) -> Option<Slot> {
        let deadline = Instant::now() + wait;
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        while *count >= limit {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            count = (self.changed.wait_timeout(count, left))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *count += 1;
        Some(Slot(Arc::clone(self)))
    }

    /// Waits until no connection is open or `deadline` passes; returns how many are.
    fn wait_idle(&self, deadline: Instant) -> usize {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        while *count > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            count = self
                .changed
                .wait_timeout(count, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *count
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut count = self.0.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count -= 1;
        self.0.changed.notify_all();
    }
}

#[cfg(test)]
mod tests;
