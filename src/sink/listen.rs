//! The sink's socket: made beside the heartbeat file without following or replacing
//! anything that is not a stale socket of this user's, open to the users the directory
//! lets write (checked on every connection with the peer's credentials), and its clients,
//! each on a thread of its own, bounded in number, in line length and in time.

#[cfg(test)]
mod tests;

use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::queue::{Flushed, heard};
use super::request::{self, MAX_LINE, Request};
use super::{Sink, euid, peer_ids, socket_path};
use crate::clock::unix_now;

/// Clients served at once; one more is answered `error: busy` and closed (its writer
/// writes the file itself).
pub const MAX_CLIENTS: usize = 64;
/// How long a client has to send a whole line once it began one: one that stalls half-way
/// is cut off, so that it holds its thread no longer.
pub const LINE_TIME: Duration = Duration::from_secs(2);
/// How long a connection may sit idle between lines before it is closed.
pub const IDLE_TIME: Duration = Duration::from_secs(10);
/// How many of one client's requests may wait for their replies; past them its next line
/// is read once the oldest is answered (and all clients' together stay under
/// [`MAX_PENDING`](super::MAX_PENDING)).
pub const MAX_AHEAD: usize = 1024;
const _: () = assert!(MAX_CLIENTS * MAX_AHEAD <= super::MAX_PENDING);

/// Why the sink's socket could not be had; serve runs without it (writers then write the
/// file, as with no serve at all).
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("{}: {what}, not a socket of this user's: left as it is", path.display())]
    NotOurs { path: PathBuf, what: &'static str },
    #[error("{}: another hbmon serve answers on it", path.display())]
    Answered { path: PathBuf },
    #[error("{}: {cause}", path.display())]
    Io { path: PathBuf, cause: io::Error },
}

/// The socket, listened on; dropping it stops taking clients and removes the socket.
#[derive(Debug)]
pub struct Listening {
    path: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Listening {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The acceptor sits in accept(): a connection of our own wakes it to see the flag.
        let _ = UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens on `<file>.sock` for beats into `sink`'s file.
pub fn listen(sink: Arc<Sink>) -> Result<Listening, ListenError> {
    let path = socket_path(sink.file());
    let listener = bind(&path)?;
    let stop = Arc::new(AtomicBool::new(false));
    let accepting = Arc::clone(&stop);
    let dir = crate::fsafe::dir_of(sink.file()).to_owned();
    std::thread::Builder::new()
        .name("hbmon-sink-accept".into())
        .spawn(move || accept(&listener, &sink, &dir, &accepting))
        .map_err(|cause| ListenError::Io {
            path: path.clone(),
            cause,
        })?;
    Ok(Listening { path, stop })
}

/// Binds `path`: a socket there of this user's that nobody answers on is a killed serve's
/// and is replaced; anything else there (another's socket, a link, a file) is left alone
/// and refused. The socket is open to the users its directory lets write.
fn bind(path: &Path) -> Result<UnixListener, ListenError> {
    let io_error = |cause| ListenError::Io {
        path: path.to_owned(),
        cause,
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(e)),
        Ok(meta) => {
            let file_type = meta.file_type();
            let what = if file_type.is_symlink() {
                "a symbolic link"
            } else if !file_type.is_socket() {
                "not a socket"
            } else if meta.uid() != euid() {
                "another user's socket"
            } else {
                ""
            };
            if !what.is_empty() {
                return Err(ListenError::NotOurs {
                    path: path.to_owned(),
                    what,
                });
            }
            match UnixStream::connect(path) {
                Ok(_) => {
                    return Err(ListenError::Answered {
                        path: path.to_owned(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path).map_err(io_error)?;
                }
                Err(e) => return Err(io_error(e)),
            }
        }
    }
    let dir = std::fs::metadata(crate::fsafe::dir_of(path)).map_err(io_error)?;
    let listener = UnixListener::bind(path).map_err(io_error)?;
    set_mode(path, socket_mode(dir.mode())).map_err(io_error)?;
    Ok(listener)
}

/// The socket's mode for a directory of mode `dir_mode`: read and write for the users the
/// directory lets write — its owner, its group if group-writable, anyone if world-writable.
fn socket_mode(dir_mode: u32) -> u32 {
    let mut mode = 0o600;
    if dir_mode & 0o020 != 0 {
        mode |= 0o060;
    }
    if dir_mode & 0o002 != 0 {
        mode |= 0o006;
    }
    mode
}

/// chmod without following a link (one planted in the instant since the bind).
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a valid C string, and flags fchmodat takes.
    #[cfg(target_os = "linux")]
    let rc = unsafe {
        libc::fchmodat(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            mode,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: as above.
    let rc = unsafe { libc::chmod(c_path.as_ptr(), mode as libc::mode_t) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether the user `uid` (primary group `gid`) may beat here: one the heartbeat file's
/// directory `dir` lets write, who could write the file without the sink; root, and this
/// user, always.
fn may_write(dir: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = dir.mode();
    uid == 0
        || uid == euid()
        || uid == dir.uid()
        || mode & 0o002 != 0
        || (mode & 0o020 != 0 && gid == dir.gid())
}

/// Hands each connection to a thread of its own, up to [`MAX_CLIENTS`] at once.
fn accept(listener: &UnixListener, sink: &Arc<Sink>, dir: &Path, stop: &AtomicBool) {
    let clients = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of descriptors and the like: wait rather than spin.
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let refusal = match (peer_ids(&stream), std::fs::metadata(dir)) {
            (Ok((uid, gid)), Ok(meta)) if may_write(&meta, uid, gid) => None,
            (Ok((uid, _)), Ok(_)) => Some(format!(
                "uid {uid} may not write {}'s heartbeat file",
                dir.display()
            )),
            (Err(e), _) | (_, Err(e)) => Some(format!("cannot tell who is asking: {e}")),
        };
        if refusal.is_none() && clients.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
            clients.fetch_sub(1, Ordering::SeqCst);
            refuse(&stream, &format!("busy: {MAX_CLIENTS} clients at once"));
            continue;
        }
        if let Some(why) = refusal {
            refuse(&stream, &why);
            continue;
        }
        let (sink, done) = (Arc::clone(sink), Arc::clone(&clients));
        let spawned = std::thread::Builder::new()
            .name("hbmon-sink-conn".into())
            .spawn(move || {
                let _ = serve(&stream, &sink);
                done.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            clients.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Answers `error: why` and closes, from the accepting thread: the reply fits the socket's
/// buffer, so writing it never waits on the client.
fn refuse(stream: &UnixStream, why: &str) {
    let _ = stream.set_nonblocking(true);
    let mut out = stream;
    let _ = writeln!(out, "{}", request::reply(&Err(why.to_owned())));
}

/// Reads lines from one client and answers each, in order, until it closes, idles past
/// [`IDLE_TIME`], stalls in a line past [`LINE_TIME`], or sends one over [`MAX_LINE`].
/// The answers are written by a thread of the connection's own, so that a line is taken
/// while those before it wait for their flush: `wait` requests sent one after the other
/// without waiting for their replies ride one flush, not one each.
fn serve(stream: &UnixStream, sink: &Sink) -> io::Result<()> {
    stream.set_write_timeout(Some(LINE_TIME))?;
    let (replies, in_order) = mpsc::sync_channel(MAX_AHEAD);
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("hbmon-sink-reply".into())
            .spawn_scoped(scope, move || write_replies(stream, &in_order))?;
        let read = read_requests(stream, sink, &replies);
        // The writer writes what is still to come, then ends.
        drop(replies);
        let written = (writer.join()).unwrap_or_else(|_| Err(io::Error::other("reply thread")));
        read.and(written)
    })
}

/// A request's reply, in its place in the connection's order: ready, or to come from
/// the flush that writes its beat.
enum Reply {
    Ready(String),
    Flushing(Flushed),
}

/// The reading half of [`serve`]: each line's reply, in order, into `replies`.
fn read_requests(
    stream: &UnixStream,
    sink: &Sink,
    replies: &mpsc::SyncSender<Reply>,
) -> io::Result<()> {
    // The writer is gone (the client does not take its replies): so is the connection.
    let send = |reply| {
        replies
            .send(reply)
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    };
    let refuse = |why: String| send(Reply::Ready(request::reply(&Err(why))));
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 8192];
    // When the line being read must be whole; `None` between lines.
    let mut line_due: Option<Instant> = None;
    loop {
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            if end >= MAX_LINE {
                break;
            }
            let line: Vec<u8> = buf.drain(..=end).collect();
            send(take(sink, &line))?;
            line_due = None;
        }
        if buf.len() >= MAX_LINE {
            return refuse(format!("line longer than {MAX_LINE} bytes"));
        }
        if !buf.is_empty() {
            line_due.get_or_insert_with(|| Instant::now() + LINE_TIME);
        }
        let wait = match line_due {
            Some(due) => due.saturating_duration_since(Instant::now()),
            None => IDLE_TIME,
        };
        if wait.is_zero() {
            let limit = crate::duration::format(LINE_TIME);
            return refuse(format!("line not finished within {limit}"));
        }
        stream.set_read_timeout(Some(wait))?;
        match (&*stream).read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if line_due.is_none() {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Takes one request line: queued (`ok`), to be written (`ok ENTRY` once flushed, for
/// `wait`), or refused.
fn take(sink: &Sink, line: &[u8]) -> Reply {
    let refused = |why: String| Reply::Ready(request::reply(&Err(why)));
    let (beat, request) = match Request::parse(line).and_then(|r| Ok((r.beat()?, r))) {
        Ok(checked) => checked,
        Err(e) => return refused(e.to_string()),
    };
    let now = unix_now();
    let apply = move |previous| Some(beat.apply(previous, now));
    let taken = if request.wait {
        sink.submit(&request.name, apply).map(Reply::Flushing)
    } else {
        (sink.queue(&request.name, apply)).map(|()| Reply::Ready(request::reply(&Ok(None))))
    };
    taken.unwrap_or_else(|e| refused(e.to_string()))
}

/// The writing half of [`serve`]: each reply in order, once it is known. A client that
/// does not take them within [`LINE_TIME`] is cut off, reading half too.
fn write_replies(stream: &UnixStream, in_order: &mpsc::Receiver<Reply>) -> io::Result<()> {
    for reply in in_order {
        let line = match reply {
            Reply::Ready(line) => line,
            Reply::Flushing(flushed) => request::reply(&heard(&flushed).map_err(|e| e.to_string())),
        };
        let mut out = stream;
        if let Err(e) = out.write_all(format!("{line}\n").as_bytes()) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return Err(e);
        }
    }
    Ok(())
}
