//! Replies that go on: server-sent events (`text/event-stream`). A stream keeps the thread
//! of its connection, but gives back the connection's slot and takes one of the fewer
//! stream slots instead ([`Limits::streams`](super::Limits)), so open dashboards never
//! crowd out pings and API calls. Every write has the request deadline to be taken: a
//! client that stops reading is dropped, and its source (which must never block its
//! producer: a bounded queue) is dropped with it.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::conn::{self, Conn};
use super::{Limits, Open, Response};

/// How long a stream waits for its source before it looks at the server's stop flag
/// again: bounds how long a stopping server waits for its streams.
const TICK: Duration = Duration::from_secs(1);

/// What a stream's source has when asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Bytes to send, whole events (`event: …\ndata: …\n\n`).
    Event(String),
    /// Nothing yet.
    Idle,
    /// The source is gone (its producer dropped a client that fell behind): close.
    End,
}

/// What a streaming reply sends after its head: asked again and again, each time waiting
/// at most the given time for something.
type Source = Box<dyn FnMut(Duration) -> Next + Send>;

/// The source of a streaming [`Response`]: taken once, by the connection that sends it.
#[derive(Clone)]
pub struct Stream(Arc<Mutex<Option<Source>>>);

impl Stream {
    pub fn new(source: impl FnMut(Duration) -> Next + Send + 'static) -> Stream {
        Stream(Arc::new(Mutex::new(Some(Box::new(source)))))
    }

    fn take(&self) -> Option<Source> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stream")
    }
}

impl PartialEq for Stream {
    fn eq(&self, other: &Stream) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Stream {}

impl Response {
    /// A `text/event-stream` reply that sends what `source` gives, until it ends, the
    /// client goes or the server stops.
    pub fn events(source: impl FnMut(Duration) -> Next + Send + 'static) -> Response {
        Response {
            stream: Some(Stream::new(source)),
            ..Response::ok("text/event-stream; charset=utf-8", String::new())
        }
    }
}

/// Sends the streaming reply `response` on `conn` in a stream slot, or 503 when all are
/// taken (`Retry-After`: a page's `EventSource` tries again by itself).
pub(super) fn pour(
    conn: &mut impl Conn,
    response: &Response,
    with_body: bool,
    limits: Limits,
    streams: &Arc<Open>,
    stop: &AtomicBool,
) {
    let (Some(stream), Some(_slot)) = (
        &response.stream,
        streams.enter(limits.streams, Duration::ZERO),
    ) else {
        let busy = Response::line(
            503,
            format!(
                "busy: {} event streams are open, the most this server keeps; try again",
                limits.streams
            ),
        )
        .with_header("Retry-After", 5);
        let _ = busy.write_to(conn, true, Instant::now() + limits.timeout);
        return;
    };
    let Some(mut source) = stream.take() else {
        return;
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\
         X-Content-Type-Options: nosniff\r\n{}\r\n",
        response.content_type,
        response.more_headers()
    );
    if write_by(conn, head.as_bytes(), Instant::now() + limits.timeout).is_err() || !with_body {
        return;
    }
    let _ = flow(conn, &mut source, limits, stop);
}

/// Sends what `source` gives, and a comment line after `limits.keep_alive` of quiet (it
/// keeps proxies from closing the connection, and finds a client that is gone).
fn flow(
    conn: &mut impl Conn,
    source: &mut Source,
    limits: Limits,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut last = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        match source(TICK) {
            Next::Event(text) => write_by(conn, text.as_bytes(), Instant::now() + limits.timeout)?,
            Next::Idle if last.elapsed() >= limits.keep_alive => {
                write_by(conn, b": keep-alive\n\n", Instant::now() + limits.timeout)?;
            }
            Next::Idle => continue,
            Next::End => break,
        }
        last = Instant::now();
    }
    Ok(())
}

/// Writes all of `bytes` on `conn` by `deadline` (a slow reader is dropped there).
fn write_by(conn: &mut impl Conn, bytes: &[u8], deadline: Instant) -> io::Result<()> {
    conn.until(deadline);
    conn::write_all(conn, bytes)
}

/// One server-sent event: `event: NAME` and `text` as `data:` lines (a line break in it
/// would end the line; each line of it is a `data:` line, as the format has it).
pub fn event(name: &str, text: &str) -> String {
    let mut out = format!("event: {name}\n");
    for line in text.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Running, Server};
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};

    #[test]
    fn an_event_has_one_data_line_per_line_of_its_text() {
        assert_eq!(event("update", "{}"), "event: update\ndata: {}\n\n");
        assert_eq!(
            event("snapshot", "a\nb\r\nc"),
            "event: snapshot\ndata: a\ndata: b\ndata: c\n\n"
        );
    }

    /// Sets its flag when dropped: the source it is in is gone.
    struct Gone(Arc<AtomicBool>);

    impl Drop for Gone {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// A server whose `/events` streams `each` (an event, or nothing: `Idle`) as fast as
    /// it is asked, setting `gone` when the source is dropped; any other path is a line.
    fn server(limits: Limits, each: Option<String>, gone: &Arc<AtomicBool>) -> Running {
        let gone = Arc::clone(gone);
        Server::bind("127.0.0.1:0".parse().unwrap(), limits)
            .unwrap()
            .start(move |request| {
                if request.path != ["events"] {
                    return Response::line(200, "plain");
                }
                let (each, guard) = (each.clone(), Gone(Arc::clone(&gone)));
                Response::events(move |wait| {
                    let _ = &guard;
                    if let Some(text) = &each {
                        Next::Event(text.clone())
                    } else {
                        std::thread::sleep(wait.min(Duration::from_millis(20)));
                        Next::Idle
                    }
                })
            })
            .unwrap()
    }

    /// Opens `/events` and reads its reply's head.
    fn open(addr: SocketAddr) -> (TcpStream, String) {
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(b"GET /events HTTP/1.1\r\n\r\n").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0_u8];
        while !head.ends_with(b"\r\n\r\n") && client.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        (client, String::from_utf8(head).unwrap())
    }

    fn wait_until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_stream_gives_back_its_connection_slot_and_one_past_the_limit_is_told_to_retry() {
        let limits = Limits {
            connections: 1,
            streams: 1,
            keep_alive: Duration::from_millis(50),
            ..Limits::default()
        };
        let gone = Arc::new(AtomicBool::new(false));
        let running = server(limits, None, &gone);
        let (first, head) = open(running.addr);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("Content-Type: text/event-stream"), "{head}");
        assert!(head.contains("Cache-Control: no-store"), "{head}");
        assert!(!head.contains("Content-Length"), "{head}");
        // The one connection slot is free again while the stream goes on.
        let mut plain = TcpStream::connect(running.addr).unwrap();
        plain.write_all(b"GET /x HTTP/1.1\r\n\r\n").unwrap();
        let mut reply = String::new();
        plain.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
        // The stream slot is not.
        let (_, busy) = open(running.addr);
        assert!(busy.starts_with("HTTP/1.1 503 "), "{busy}");
        assert!(busy.contains("Retry-After: 5\r\n"), "{busy}");
        // The client goes: a keep-alive finds it gone, and its slot is free.
        drop(first);
        wait_until("the first stream's source dropped", || {
            gone.load(Ordering::SeqCst)
        });
        wait_until("a stream slot again", || {
            open(running.addr).1.starts_with("HTTP/1.1 200 OK")
        });
        assert_eq!(
            running.stop(Duration::from_secs(5)),
            0,
            "streams see the stop"
        );
    }

    #[test]
    fn a_client_that_stops_reading_is_dropped_at_the_write_deadline() {
        let limits = Limits {
            streams: 1,
            timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let gone = Arc::new(AtomicBool::new(false));
        let chunk = event("update", &"x".repeat(64 * 1024));
        let running = server(limits, Some(chunk), &gone);
        // It reads the head, then nothing: the socket's buffers fill, and a write waits.
        let (stalled, _) = open(running.addr);
        wait_until("the stalled stream dropped", || gone.load(Ordering::SeqCst));
        let (_, head) = open(running.addr);
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        drop(stalled);
        running.stop(Duration::from_secs(5));
    }
}
