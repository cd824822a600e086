//! The beat sink of `hbmon serve`: a Unix stream socket beside the heartbeat file
//! (`<file>.sock`) that takes beats as JSON lines (docs/serve.md, "The beat sink"), and one
//! in-memory table of pending beats that a single thread flushes into the file once per
//! tick ([`TICK`]) — one lock, one read, one atomic write for every beat of the tick, each
//! applied by the same [`Beat::apply`](crate::store::Beat::apply) a direct writer uses. The
//! file stays the contract: readers read it, and writers that bypass the sink keep their
//! entries, which the flush merges with (never overwrites).
//!
//! A stream rather than datagrams: every beat gets its reply (`ok` or why not) on the
//! connection it came by, a client keeps one connection for many beats, a line may be
//! longer than a datagram, and the peer's credentials (`SO_PEERCRED`) are the kernel's for
//! the whole connection.
//!
//! The parts: `request.rs` (the line protocol: a request, checked into a beat), `queue.rs`
//! (the table and its flushing thread), `listen.rs` (the socket, made safely, and its
//! clients, bounded in number, size and time), `client.rs` (the writer's side: `hbmon beat`
//! and the library try the socket, then the file).

mod client;
mod listen;
mod queue;
mod request;

use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

pub use client::{Sent, Unavailable, send};
pub use listen::{ListenError, Listening, listen};
pub use queue::{MAX_PENDING, Sink, SinkError, TICK};
pub use request::{MAX_LINE, Request, RequestError};

/// `<file>.sock`: the sink's socket, beside the heartbeat file it writes.
pub fn socket_path(file: &Path) -> PathBuf {
    let mut path = file.as_os_str().to_owned();
    path.push(".sock");
    PathBuf::from(path)
}

/// The effective uid of this process.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The uid and gid of the process at the other end of `stream`, as the kernel vouches for
/// them (`SO_PEERCRED`, Linux; `getpeereid` elsewhere).
pub fn peer_ids(stream: &UnixStream) -> io::Result<(u32, u32)> {
    use std::os::fd::AsRawFd;
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed ucred is a valid buffer for getsockopt to fill, of the size given.
        let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: as above; the descriptor is the stream's, open for the call.
        let rc = unsafe {
            libc::getsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&raw mut cred).cast(),
                &raw mut len,
            )
        };
        if rc == 0 {
            Ok((cred.uid, cred.gid))
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let (mut uid, mut gid) = (0, 0);
        // SAFETY: getpeereid writes the two ids given.
        if unsafe { libc::getpeereid(stream.as_raw_fd(), &raw mut uid, &raw mut gid) } == 0 {
            Ok((uid, gid))
        } else {
            Err(io::Error::last_os_error())
        }
    }
}
