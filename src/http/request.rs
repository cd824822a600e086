//! Reading one HTTP/1.1 request from a connection: its head tokenized by `httparse`, the
//! headers that matter here, path segments and query percent-decoded (`percent-encoding`),
//! and a body: its first bytes up to a limit kept, the rest read and dropped, none over
//! [`MAX_BODY`] read at all — all within one deadline — which hosts a
//! request may be for, and whether a browser sent it (`browser.rs`).

mod browser;
mod head;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use super::conn::{self, Conn};
pub use browser::{Session, TOKEN_HEADER};
use head::parse_head;

/// The request line and headers together; a longer head is refused (431).
pub const MAX_HEAD: usize = 8 * 1024;
/// The longest body read at all; a longer one is refused (413) before it is read. Past
/// what a request keeps ([`Limits::body_keep`](super::Limits)) the bytes are read and
/// dropped, so a client can make the server read this much but not keep it.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
/// How much of a body a request keeps unless the server is told otherwise: healthchecks.io
/// keeps the first 100 000 bytes of a ping's body.
pub const DEFAULT_BODY_KEEP: usize = 100_000;

/// One request, read whole. Its `Debug` hides the secrets a request may carry (a bearer
/// token, the session's token, a `?token=`), so that no log line or panic message holds
/// one.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// As sent: methods are case-sensitive (`GET`, `POST`, `HEAD`).
    pub method: String,
    /// The path's segments, each percent-decoded: `/ping/a%2Fb` is `["ping", "a/b"]`, `/`
    /// is `[""]`.
    pub path: Vec<String>,
    /// Query parameters in order, percent-decoded with `+` as a space; `?flag` is
    /// `("flag", "")`.
    pub query: Vec<(String, String)>,
    /// The body's first bytes, up to what the server keeps; [`Request::body_len`] says
    /// how long it was.
    pub body: Vec<u8>,
    /// The body's length as sent (its `Content-Length`): more than `body.len()` when it was
    /// cut.
    pub body_len: usize,
    /// A header that shows a browser sent it (`browser.rs`), if one does: such a request
    /// may read, but write only by POST ([`Request::may_write`]).
    pub browser: Option<&'static str>,
    /// A page of this server sent it (the dashboard: `Sec-Fetch-Site: same-origin`, or its
    /// own `Origin`): it writes only with the session's token.
    pub same_origin: bool,
    /// The `X-Hbmon-Token` header ([`Session`]).
    pub token: Option<String>,
    /// Who sent it; `None` where that is not known. Writes to the management API are
    /// taken only from loopback.
    pub peer: Option<std::net::SocketAddr>,
    /// The `If-Match` header: the version of what a write changes that the client read.
    pub if_match: Option<String>,
    /// The token of `Authorization: Bearer TOKEN`, if sent (`api/auth.rs` checks it).
    pub bearer: Option<String>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |secret: &Option<String>| secret.as_ref().map(|_| "(hidden)");
        let query: Vec<(&str, &str)> = (self.query.iter())
            .map(|(k, v)| {
                (
                    k.as_str(),
                    if k == "token" { "(hidden)" } else { v.as_str() },
                )
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query)
            .field("body_len", &self.body_len)
            .field("browser", &self.browser)
            .field("same_origin", &self.same_origin)
            .field("token", &hidden(&self.token))
            .field("peer", &self.peer)
            .field("if_match", &self.if_match)
            .field("bearer", &hidden(&self.bearer))
            .finish_non_exhaustive()
    }
}

/// Why a request was not read; [`RequestError::status`] is the HTTP status to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("{0} is not supported: send HTTP/1.1 or HTTP/1.0")]
    Version(String),
    #[error("the request line and headers are over {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("a body of {0} bytes is over the limit of {MAX_BODY}")]
    BodyTooLarge(u64),
    #[error("a body needs a Content-Length: chunked transfer encoding is not supported")]
    LengthRequired,
    /// A browser sent it on behalf of a web page (`Origin`, `Sec-Fetch-Site`, a `Referer`
    /// from another origin): any site you visit could otherwise write beats (say,
    /// `stopped`) into your heartbeat file.
    #[error("refused: a web page sent this request ({0}); the API is for local tools")]
    FromWebPage(&'static str),
    /// A write by GET with a header only browsers send ([`Request::may_write`]).
    #[error(
        "refused: this {method} would write, and it has {sign}, which only browsers send: \
         any web page can make a browser send a GET; ping with POST (curl -d '' URL)"
    )]
    BrowserWrite { method: String, sign: &'static str },
    /// The request is for a host that is not loopback, where [`Hosts::Loopback`] allows
    /// only that: what a page whose name was pointed at 127.0.0.1 (DNS rebinding) sends.
    #[error(
        "refused: the request is for host {0:?}; the API on loopback answers only \
         localhost, 127.0.0.1 or [::1]"
    )]
    ForeignHost(String),
    /// A page of this server wrote without the session's token.
    #[error("refused: a write from the dashboard needs the session's token (X-Hbmon-Token)")]
    NoToken,
    /// A page of this server wrote with a token that is not the session's (from a serve
    /// that has restarted since the page was loaded: reload it).
    #[error("refused: the X-Hbmon-Token is not this session's; reload the page")]
    BadToken,
    #[error("the request was not complete in time")]
    Timeout,
    /// The client went away, or the connection failed: there is no one to answer.
    #[error("connection closed: {0}")]
    Closed(String),
}

impl RequestError {
    pub fn status(&self) -> u16 {
        match self {
            RequestError::Malformed(_) | RequestError::Closed(_) => 400,
            RequestError::FromWebPage(_)
            | RequestError::BrowserWrite { .. }
            | RequestError::NoToken
            | RequestError::BadToken
            | RequestError::ForeignHost(_) => 403,
            RequestError::Timeout => 408,
            RequestError::LengthRequired => 411,
            RequestError::BodyTooLarge(_) => 413,
            RequestError::HeadTooLarge => 431,
            RequestError::Version(_) => 505,
        }
    }
}

/// Which hosts a request may be for: what its `Host` header names, or the authority of an
/// absolute target (`http://HOST/path`), which RFC 9112 says wins over the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosts {
    /// Served on an address others can reach: the user chose that, by whatever name.
    Any,
    /// Served on loopback: only a loopback name, or none (HTTP/1.0, `printf | nc`). A web
    /// page whose own name was pointed at 127.0.0.1 in DNS reaches the port, but its
    /// browser still says the page's name.
    Loopback,
}

impl Hosts {
    fn check(self, host: Option<&str>) -> Result<(), RequestError> {
        match host {
            Some(host) if self == Hosts::Loopback && !is_loopback_host(host) => {
                Err(RequestError::ForeignHost(host.to_owned()))
            }
            _ => Ok(()),
        }
    }
}

/// Whether `host` (`NAME` or `NAME:PORT`) is `localhost` or a loopback address
/// (`127.0.0.1` and the rest of 127.0.0.0/8, `[::1]`), any port, in any case.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().map(IpAddr::V6),
        None => name.parse::<Ipv4Addr>().map(IpAddr::V4),
    };
    ip.is_ok_and(|ip| ip.is_loopback())
}

/// Reads one request from `stream`, giving up at `deadline`, and refuses it unless it is
/// for one of `hosts` — before reading its body, of which it keeps the first `keep` bytes.
/// A client that sends `Expect: 100-continue` (curl does for larger bodies) is told to go
/// on.
pub fn read(
    stream: &mut impl Conn,
    deadline: Instant,
    hosts: Hosts,
    keep: usize,
) -> Result<Request, RequestError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 4096];
    let (head_len, body_start) = loop {
        if let Some(end) = head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(RequestError::HeadTooLarge);
        }
        match read_some(stream, &mut chunk, deadline)? {
            0 if buf.is_empty() => return Err(RequestError::Closed("before a request".into())),
            0 => {
                return Err(RequestError::Malformed(
                    "the request ends inside its head".into(),
                ));
            }
            n => buf.extend_from_slice(&chunk[..n]),
        }
    };
    if head_len > MAX_HEAD {
        return Err(RequestError::HeadTooLarge);
    }
    let head = parse_head(&buf[..head_len])?;
    hosts.check(head.host.as_deref())?;
    let mut body = buf.split_off(body_start);
    // What came with the head counts, kept or not; bytes past the body are not its.
    let mut received = body.len().min(head.content_length);
    body.truncate(head.content_length.min(keep));
    if received < head.content_length && head.expect_continue {
        stream.until(deadline);
        conn::write_all(stream, b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|e| RequestError::Closed(e.to_string()))?;
    }
    while received < head.content_length {
        match read_some(stream, &mut chunk, deadline)? {
            0 => {
                return Err(RequestError::Malformed(format!(
                    "the body ends after {received} of its {} bytes (Content-Length)",
                    head.content_length
                )));
            }
            n => {
                let wanted = head.content_length.min(keep).saturating_sub(body.len());
                body.extend_from_slice(&chunk[..n.min(wanted)]);
                received += n;
            }
        }
    }
    Ok(Request {
        method: head.method,
        path: head.path,
        query: head.query,
        body,
        body_len: head.content_length,
        browser: head.browser,
        same_origin: head.same_origin,
        token: head.token,
        peer: stream.peer(),
        if_match: head.if_match,
        bearer: head.bearer,
    })
}

/// One `read` that gives up at `deadline`.
fn read_some(
    stream: &mut impl Conn,
    chunk: &mut [u8],
    deadline: Instant,
) -> Result<usize, RequestError> {
    stream.until(deadline);
    loop {
        match stream.read(chunk) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(RequestError::Timeout);
            }
            Err(e) => return Err(RequestError::Closed(e.to_string())),
        }
    }
}

/// Where the head ends: its length without the blank line, and where the body starts.
/// Bare `\n` line ends are taken too (RFC 9112 allows it; `printf | nc` sends them).
fn head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = buf.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(c), Some(l)) if l < c => Some((l, l + 2)),
        (Some(c), _) => Some((c, c + 4)),
        (None, Some(l)) => Some((l, l + 2)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn the_head_ends_at_the_first_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some((14, 18)));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\nbody"), Some((14, 16)));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: h\r\n"), None);
        assert_eq!(head_end(b"A\n\nB\r\n\r\n"), Some((1, 3)));
    }

    #[test]
    fn a_requests_debug_text_holds_none_of_its_secrets() {
        let (request, _) = exchange(
            b"POST /api/v1/processes?token=q-s3cret&for=2h HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Authorization: Bearer b-s3cret\r\nX-Hbmon-Token: x-s3cret\r\n\
              Content-Length: 0\r\n\r\n",
            2000,
        );
        let request = request.unwrap();
        assert_eq!(request.bearer.as_deref(), Some("b-s3cret"));
        assert_eq!(request.token.as_deref(), Some("x-s3cret"));
        let shown = format!("{request:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("\"for\", \"2h\""),
            "the rest of the query kept: {shown}"
        );
        assert!(shown.contains("(hidden)"), "{shown}");
    }

    /// What [`exchange`] keeps of a body.
    const KEEP: usize = 16;

    /// `read` over a real connection to a server on loopback: what a client sends, and what
    /// it was answered.
    fn exchange(sent: &[u8], deadline_ms: u64) -> (Result<Request, RequestError>, Vec<u8>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.write_all(sent).unwrap();
        let (server, _) = listener.accept().unwrap();
        let deadline = Instant::now() + std::time::Duration::from_millis(deadline_ms);
        let mut server = conn::Socket::new(server, deadline);
        let result = read(&mut server, deadline, Hosts::Loopback, KEEP);
        drop(server);
        let mut answered = Vec::new();
        // A reset (the server closed with bytes unread) ends what was answered, too.
        let _ = client.read_to_end(&mut answered);
        (result, answered)
    }

    #[test]
    fn bodies_are_read_to_their_length() {
        let (request, answered) = exchange(
            b"POST /ping/x HTTP/1.1\r\nContent-Length: 9\r\n\r\n{\"a\": 1}\nextra",
            5000,
        );
        assert_eq!(request.unwrap().body, b"{\"a\": 1}\n");
        assert!(answered.is_empty());
        let (request, answered) = exchange(
            b"POST /ping/x HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
            200,
        );
        // Told to go on, then never sent the body.
        assert_eq!(request, Err(RequestError::Timeout));
        assert_eq!(answered, b"HTTP/1.1 100 Continue\r\n\r\n");
        let (request, answered) = exchange(
            b"POST /ping/x HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 2\r\n\
              Expect: 100-continue\r\n\r\n",
            5000,
        );
        // Refused on its head: not told to send the body.
        assert_eq!(
            request,
            Err(RequestError::ForeignHost("evil.example".into()))
        );
        assert!(answered.is_empty());
    }

    #[test]
    fn a_body_past_what_is_kept_is_read_to_its_end_and_cut() {
        let long = "0123456789abcdef-and-what-is-dropped-after-it";
        // The body with the head, and (Expect) after it, over what the request keeps.
        for expect in ["", "Expect: 100-continue\r\n"] {
            let sent = format!(
                "POST /ping/x HTTP/1.1\r\nContent-Length: {}\r\n{expect}\r\n{long}",
                long.len()
            );
            let request = exchange(sent.as_bytes(), 5000).0.unwrap();
            assert_eq!(request.body, &long.as_bytes()[..KEEP], "{expect:?}");
            assert_eq!(request.body_len, long.len());
        }
        // Told more than it sends: the end is missing, and that is said, not cut.
        let (request, _) = exchange(
            b"POST /ping/x HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789abcdefghij",
            200,
        );
        assert_eq!(request, Err(RequestError::Timeout));
        // Over what is read at all: refused on its head, before a byte of the body.
        let huge = format!(
            "POST /ping/x HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        let (request, _) = exchange(huge.as_bytes(), 5000);
        assert_eq!(
            request,
            Err(RequestError::BodyTooLarge(MAX_BODY as u64 + 1))
        );
        assert_eq!(request.unwrap_err().status(), 413);
    }

    #[test]
    fn a_server_on_loopback_takes_only_loopback_hosts() {
        // A request head, and whether a server on loopback takes it.
        let cases: &[(&str, bool)] = &[
            ("GET / HTTP/1.0", true),
            ("GET / HTTP/1.1\r\nHost:", true),
            ("GET / HTTP/1.1\r\nHost: localhost", true),
            ("GET / HTTP/1.1\r\nHost: LocalHost:4266", true),
            ("GET / HTTP/1.1\r\nHost: localhost:", true),
            ("GET / HTTP/1.1\r\nHost: 127.0.0.1", true),
            ("GET / HTTP/1.1\r\nhost: 127.0.0.1:4266", true),
            ("GET / HTTP/1.1\r\nHost: 127.0.0.2:9", true),
            ("GET / HTTP/1.1\r\nHost: [::1]", true),
            ("GET / HTTP/1.1\r\nHost: [::1]:4266", true),
            ("GET / HTTP/1.1\r\nHost: [0:0:0:0:0:0:0:1]:80", true),
            (
                "GET http://LOCALHOST:4266/ping/x HTTP/1.1\r\nHost: evil.example",
                true,
            ),
            ("GET / HTTP/1.1\r\nHost: evil.example", false),
            ("GET / HTTP/1.1\r\nHost: evil.example:4266", false),
            ("GET / HTTP/1.1\r\nHost: localhost.evil.example", false),
            ("GET / HTTP/1.1\r\nHost: 127.0.0.1.nip.io:4266", false),
            ("GET / HTTP/1.1\r\nHost: localhost.", false),
            ("GET / HTTP/1.1\r\nHost: localhost:x", false),
            ("GET / HTTP/1.1\r\nHost: user@localhost", false),
            ("GET / HTTP/1.1\r\nHost: 0.0.0.0:4266", false),
            ("GET / HTTP/1.1\r\nHost: 192.168.1.10", false),
            ("GET / HTTP/1.1\r\nHost: ::1", false),
            ("GET / HTTP/1.1\r\nHost: [::]:4266", false),
            (
                "GET http://evil.example/ping/x HTTP/1.1\r\nHost: localhost",
                false,
            ),
            ("GET http://evil.example HTTP/1.1", false),
        ];
        for &(head, taken) in cases {
            let host = parse_head(head.as_bytes())
                .unwrap_or_else(|e| panic!("{head:?}: {e}"))
                .host;
            match Hosts::Loopback.check(host.as_deref()) {
                Ok(()) => assert!(taken, "{head:?} was taken"),
                Err(e) => {
                    assert!(!taken, "{head:?}: {e}");
                    assert_eq!(e.status(), 403);
                    let named = format!("for host {:?};", host.as_deref().unwrap());
                    assert!(e.to_string().contains(&named), "{e}");
                }
            }
            // Served on an address others reach, every one is taken.
            assert_eq!(Hosts::Any.check(host.as_deref()), Ok(()), "{head:?}");
        }
    }

    #[test]
    fn a_silent_or_endless_client_runs_into_the_deadline() {
        assert_eq!(exchange(b"", 100).0, Err(RequestError::Timeout));
        assert_eq!(
            exchange(b"GET / HTTP/1.1\r\n", 100).0,
            Err(RequestError::Timeout)
        );
        let endless = [b"GET / HTTP/1.1\r\n".as_slice(), &[b'x'; MAX_HEAD + 100]].concat();
        assert_eq!(exchange(&endless, 5000).0, Err(RequestError::HeadTooLarge));
    }
}
