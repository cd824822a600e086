//! One connection as the server reads and writes it, plain or TLS: every read and write of
//! the socket bounded by the deadline of the step it is in. A timeout alone bounds each
//! call, not the step: a client sending or taking a byte at a time would hold its thread for
//! as long as it liked. So the socket's timeout is set to what is left before every call,
//! and writes are kept small so the deadline is looked at often. Under TLS, rustls reads and
//! writes through the same [`Socket`], so the handshake and every record are bounded too.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Instant;

use rustls::{ServerConnection, StreamOwned};

/// The most a write hands the socket at once.
const WRITE_CHUNK: usize = 64 * 1024;

/// A TCP stream whose every read and write gives up at `deadline` (`TimedOut`).
#[derive(Debug)]
pub struct Socket {
    tcp: TcpStream,
    deadline: Instant,
}

impl Socket {
    pub fn new(tcp: TcpStream, deadline: Instant) -> Socket {
        Socket { tcp, deadline }
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Looks at what came first without taking it, by the deadline.
    pub fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.peek(buf)
    }

    /// What is left before the deadline, or `TimedOut`.
    fn left(&self) -> io::Result<std::time::Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(left)
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.read(buf)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_write_timeout(Some(left))?;
        self.tcp.write(&buf[..buf.len().min(WRITE_CHUNK)])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// A connection a request is read from and its reply written to.
pub trait Conn: Read + Write {
    /// The socket under it, whose deadline bounds every read and write from now on.
    fn socket(&mut self) -> &mut Socket;

    /// Sets the deadline of the next step (reading the request, writing the reply).
    fn until(&mut self, deadline: Instant) {
        self.socket().deadline = deadline;
    }

    /// Who is at the other end.
    fn peer(&mut self) -> Option<SocketAddr> {
        self.socket().tcp.peer_addr().ok()
    }

    /// Ends the sending side (TLS says so first), so the client reads the reply to its end.
    fn finish(&mut self) -> io::Result<()>;
}

impl Conn for Socket {
    fn socket(&mut self) -> &mut Socket {
        self
    }

    fn finish(&mut self) -> io::Result<()> {
        self.tcp.shutdown(Shutdown::Write)
    }
}

impl Conn for StreamOwned<ServerConnection, Socket> {
    fn socket(&mut self) -> &mut Socket {
        &mut self.sock
    }

    fn finish(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.flush()?;
        self.sock.finish()
    }
}

/// Writes all of `bytes` by the deadline set, or fails (`TimedOut` when it passes).
pub fn write_all(conn: &mut impl Conn, bytes: &[u8]) -> io::Result<()> {
    conn.write_all(bytes)?;
    conn.flush()
}
