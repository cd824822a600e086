//! A writer's side of the sink: one request sent to the serve answering on `<file>.sock`,
//! if one does and is to be trusted, else why not — and the writer writes the file itself.
//! It never waits to connect: a socket nobody listens on, or whose backlog is full, is
//! refused at once by the kernel.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::request::{MAX_LINE, Request};
use super::{euid, peer_ids, socket_path};
use crate::store::{DEFAULT_LOCK_TIMEOUT, Entry};

/// How long a queued request waits for its `ok`: the sink answers as it queues.
const QUEUED_REPLY_TIME: Duration = Duration::from_secs(2);

/// What the sink did with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// Queued: in the file within a tick.
    Queued,
    /// Written (a request with `wait`): the entry as written.
    Written(Box<Entry>),
}

/// Why a request did not go through the sink; the writer then writes the file.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("no beat sink at {} (no hbmon serve for this file)", path.display())]
    Absent { path: PathBuf },
    #[error("{}: {cause}", path.display())]
    Io { path: PathBuf, cause: io::Error },
    #[error("{}: not a socket", path.display())]
    NotSocket { path: PathBuf },
    #[error(
        "{}: answered by uid {uid}, not this user, root or the directory's owner: not trusted",
        path.display()
    )]
    Untrusted { path: PathBuf, uid: u32 },
    #[error("{}: the beat sink answered {reply:?}", path.display())]
    Refused { path: PathBuf, reply: String },
}

/// Sends `request` to the sink of heartbeat file `file`.
pub fn send(file: &Path, request: &Request) -> Result<Sent, Unavailable> {
    let path = socket_path(file);
    let io_error = |cause| Unavailable::Io {
        path: path.clone(),
        cause,
    };
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Unavailable::Absent { path }),
        Err(e) => return Err(io_error(e)),
        Ok(meta) if !meta.file_type().is_socket() => return Err(Unavailable::NotSocket { path }),
        Ok(_) => {}
    }
    let stream = connect(&path).map_err(io_error)?;
    // Whoever listens reads the beat and may lie: only a serve of a user who could write
    // the file anyway (the directory's owner) is told anything.
    let (uid, _) = peer_ids(&stream).map_err(io_error)?;
    let dir_owner = std::fs::metadata(crate::fsafe::dir_of(file))
        .map_err(io_error)?
        .uid();
    if ![euid(), 0, dir_owner].contains(&uid) {
        return Err(Unavailable::Untrusted { path, uid });
    }
    let wait = if request.wait {
        DEFAULT_LOCK_TIMEOUT + QUEUED_REPLY_TIME
    } else {
        QUEUED_REPLY_TIME
    };
    let line = serde_json::to_string(request).map_err(|e| io_error(e.into()))?;
    stream
        .set_write_timeout(Some(QUEUED_REPLY_TIME))
        .map_err(io_error)?;
    stream.set_read_timeout(Some(wait)).map_err(io_error)?;
    (&stream)
        .write_all(format!("{line}\n").as_bytes())
        .map_err(io_error)?;
    let mut reply = String::new();
    BufReader::new(io::Read::take(&stream, MAX_LINE as u64))
        .read_line(&mut reply)
        .map_err(io_error)?;
    let reply = reply.trim_end_matches('\n');
    match reply.strip_prefix("ok") {
        Some("") => Ok(Sent::Queued),
        Some(entry) if entry.starts_with(' ') => match serde_json::from_str(&entry[1..]) {
            Ok(entry) => Ok(Sent::Written(Box::new(entry))),
            Err(_) => Err(refused(path, reply)),
        },
        _ => Err(refused(path, reply)),
    }
}

fn refused(path: PathBuf, reply: &str) -> Unavailable {
    Unavailable::Refused {
        path,
        reply: reply.to_owned(),
    }
}

/// Connects without waiting: a listener gone is `ECONNREFUSED`, a full backlog `EAGAIN`.
fn connect(path: &Path) -> io::Result<UnixStream> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.connect(&SockAddr::unix(path)?)?;
    socket.set_nonblocking(false)?;
    Ok(socket.into())
}
