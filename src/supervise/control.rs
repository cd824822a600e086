//! The control socket of `hbmon serve`: `hbmon start|stop|restart NAME…` from another
//! terminal reach the supervisor through it. A Unix socket at `<file>.control/socket`, the
//! directory 0700 and the socket 0600, and every peer's uid checked (`SO_PEERCRED`): only
//! serve's own user (or root) may start or stop what it runs. One request per connection:
//! a JSON line `{"verb": "stop", "names": ["bidder"]}`, answered by one JSON line
//! `{"ok": true, "text": "stopping bidder"}`.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::supervise::Verb;

/// How long a client waits for serve's answer, and serve for the client to take it.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send its whole request, however it dribbles it: `hbmon`
/// writes its one line at once, and the socket answers one client at a time, so a slower
/// one is stuck or hostile and must not hold up the next (which waits [`TIMEOUT`]).
const REQUEST_TIME: Duration = Duration::from_secs(3);
/// The longest request line read: names, not data.
const MAX_REQUEST: u64 = 64 * 1024;

/// A request on the socket.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub verb: Verb,
    pub names: Vec<String>,
}

/// Its answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    pub text: String,
}

/// `<file>.control/socket`.
pub fn socket_path(file: &Path) -> PathBuf {
    let mut dir = file.as_os_str().to_owned();
    dir.push(".control");
    PathBuf::from(dir).join("socket")
}

/// Binds the socket for heartbeat file `file`: its directory created 0700 (an existing one
/// must be this user's own and closed to others), a stale socket there replaced.
pub fn bind(file: &Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
    let path = socket_path(file);
    let dir = crate::fsafe::dir_of(&path);
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    private(dir)?;
    // A socket left by a serve that was killed: nobody listens on it any more (the
    // supervisor's lock, taken before, says no other serve runs).
    if let Ok(old) = std::fs::symlink_metadata(&path)
        && old.file_type().is_socket()
    {
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Checks that `dir` (the control directory) is a real directory of this user's that no
/// one else may enter: a socket there is a serve of this user's, never a stranger's
/// listener, and a symlink is refused, not followed.
fn private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() || meta.uid() != euid() || meta.mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a directory only this user may enter",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Answers connections on `listener` with `answer`, one at a time, on a thread of its own,
/// for as long as the process runs. A peer of another user gets a refusal, nothing more.
pub fn serve(
    listener: UnixListener,
    answer: impl Fn(Request) -> Reply + Send + 'static,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("hbmon-control".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = handle(&stream, &answer);
            }
        })
        .map(|_| ())
}

fn handle(stream: &UnixStream, answer: &impl Fn(Request) -> Reply) -> io::Result<()> {
    stream.set_write_timeout(Some(TIMEOUT))?;
    let reply = match crate::sink::peer_ids(stream).map(|(uid, _)| uid) {
        Ok(uid) if uid == euid() || uid == 0 => {
            let mut line = String::new();
            let within = Within {
                stream,
                end: Instant::now() + REQUEST_TIME,
            };
            BufReader::new(io::Read::take(within, MAX_REQUEST)).read_line(&mut line)?;
            match serde_json::from_str::<Request>(&line) {
                Ok(request) => answer(request),
                Err(e) => Reply {
                    ok: false,
                    text: format!("not a request: {e}"),
                },
            }
        }
        Ok(uid) => Reply {
            ok: false,
            text: format!("uid {uid} may not control this hbmon serve"),
        },
        Err(e) => Reply {
            ok: false,
            text: format!("cannot tell who is asking: {e}"),
        },
    };
    let mut out = stream;
    writeln!(out, "{}", serde_json::to_string(&reply).unwrap_or_default())
}

/// Reads from `stream` until `end` in all: each read waits only for the time left.
struct Within<'s> {
    stream: &'s UnixStream,
    end: Instant,
}

impl io::Read for Within<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        io::Read::read(&mut &*self.stream, buf)
    }
}

/// Sends `request` to the serve of heartbeat file `file` and returns its reply. `Err`
/// when no serve listens there, or the directory is not one only this user may enter
/// (another user's listener could be there: it would read the request and lie).
pub fn ask(file: &Path, request: &Request) -> io::Result<Reply> {
    let path = socket_path(file);
    private(crate::fsafe::dir_of(&path))?;
    let stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let mut out = &stream;
    writeln!(out, "{}", serde_json::to_string(request)?)?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}
