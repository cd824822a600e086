//! The socket itself: bound in a fresh directory only its owner may enter, asking the
//! kernel for each sender's credentials (`SO_PASSCRED`), and one datagram received with
//! them, the file descriptors sent along closed unread.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::MAX_DATAGRAM;

/// Why a notify socket could not be made; each names the path.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{}: cannot create the notify socket's directory: {source}", path.display())]
    Dir { path: PathBuf, source: io::Error },
    #[error("{}: cannot bind the notify socket: {source}", path.display())]
    Bind { path: PathBuf, source: io::Error },
    #[error("{}: cannot ask for the senders' credentials (SO_PASSCRED): {source}", path.display())]
    Credentials { path: PathBuf, source: io::Error },
}

/// A bound notify socket; dropping it removes the socket and its directory.
#[derive(Debug)]
pub struct NotifySocket {
    socket: UnixDatagram,
    dir: PathBuf,
    path: PathBuf,
}

/// One datagram as received: who sent it, as the kernel vouches, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The sender's user and process; `None` when the datagram came without credentials
    /// (which `SO_PASSCRED` makes the kernel attach to every one on Linux).
    pub uid: Option<u32>,
    pub pid: Option<u32>,
    /// Its bytes, at most [`MAX_DATAGRAM`] of them.
    pub bytes: Vec<u8>,
    /// It was longer than [`MAX_DATAGRAM`]: garbage, not a message to read in part.
    pub oversized: bool,
}

/// Room for the credentials and a few descriptors (which are closed): more descriptors
/// than fit are discarded by the kernel itself.
#[repr(C, align(8))]
struct Control([u8; 256]);

impl NotifySocket {
    /// Binds a socket in a fresh directory under the user's runtime directory
    /// (`$XDG_RUNTIME_DIR`, when it is a directory of this user's that no one else may
    /// write), else under the temporary directory.
    pub fn bind() -> Result<NotifySocket, NotifyError> {
        NotifySocket::bind_in(&runtime_dir())
    }

    /// Binds a socket in a fresh directory (mode 0700, a name no one can guess) under
    /// `parent`. The directory is made, never reused: a name someone took first, or
    /// planted as a symlink, fails the bind.
    pub fn bind_in(parent: &Path) -> Result<NotifySocket, NotifyError> {
        let dir = parent.join(format!("hbmon-notify-{}", crate::paths::random_tag()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|source| NotifyError::Dir {
                path: dir.clone(),
                source,
            })?;
        let path = dir.join("notify");
        let bound = UnixDatagram::bind(&path)
            .map_err(|source| NotifyError::Bind {
                path: path.clone(),
                source,
            })
            .and_then(|socket| {
                pass_credentials(&socket).map_err(|source| NotifyError::Credentials {
                    path: path.clone(),
                    source,
                })?;
                Ok(socket)
            });
        match bound {
            Ok(socket) => Ok(NotifySocket { socket, dir, path }),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    /// The socket's path: the value of `NOTIFY_SOCKET` for a child.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Receives one datagram, waiting up to `wait` for it (`None`: not at all). `Ok(None)`
    /// when none came in time (or a signal interrupted the wait).
    pub fn receive(&self, wait: Option<Duration>) -> io::Result<Option<Datagram>> {
        let flags = match wait {
            Some(wait) => {
                self.socket
                    .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
                libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC
            }
            None => libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC | libc::MSG_DONTWAIT,
        };
        let mut bytes = vec![0u8; MAX_DATAGRAM];
        let mut control = Control([0; 256]);
        let mut iov = libc::iovec {
            iov_base: bytes.as_mut_ptr().cast(),
            iov_len: bytes.len(),
        };
        // SAFETY: an all-zero msghdr is valid; its pointers are set to live buffers below.
        let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
        header.msg_iov = &raw mut iov;
        header.msg_iovlen = 1;
        header.msg_control = control.0.as_mut_ptr().cast();
        header.msg_controllen = control.0.len() as _;
        // SAFETY: the header points at `bytes` and `control`, both live for the call.
        let got = unsafe { libc::recvmsg(self.socket.as_raw_fd(), &raw mut header, flags) };
        if got < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        // With MSG_TRUNC the call returns the datagram's real length.
        let len = usize::try_from(got).unwrap_or(0);
        let (uid, pid) = credentials_closing_fds(&header);
        bytes.truncate(len.min(MAX_DATAGRAM));
        Ok(Some(Datagram {
            uid,
            pid,
            bytes,
            oversized: len > MAX_DATAGRAM,
        }))
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn pass_credentials(socket: &UnixDatagram) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads a c_int from a live local of that size.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&raw const on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The sender's uid and pid from the control messages of `header`, closing every
/// descriptor that came along: hbmon never reads one, and `systemd-notify`'s barrier
/// waits for its descriptor to close.
fn credentials_closing_fds(header: &libc::msghdr) -> (Option<u32>, Option<u32>) {
    let mut found = (None, None);
    // SAFETY: `header` was filled by recvmsg; the CMSG macros walk its control buffer
    // within `msg_controllen`, and each data read is within its message's length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(header);
        while !cmsg.is_null() {
            let data = libc::CMSG_DATA(cmsg);
            let len = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
            match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) if len >= size_of::<libc::ucred>() => {
                    let cred: libc::ucred = std::ptr::read_unaligned(data.cast());
                    found = (Some(cred.uid), u32::try_from(cred.pid).ok());
                }
                (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                    let size = size_of::<libc::c_int>();
                    for i in 0..len / size {
                        let bytes: [u8; 4] = std::ptr::read_unaligned(data.add(i * size).cast());
                        libc::close(libc::c_int::from_ne_bytes(bytes));
                    }
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(header, cmsg);
        }
    }
    found
}

/// Where sockets go: the user's runtime directory when it is safe, else the temp directory.
fn runtime_dir() -> PathBuf {
    let private = |dir: &Path| {
        dir.is_absolute()
            && std::fs::symlink_metadata(dir).is_ok_and(|meta| {
                // SAFETY: geteuid cannot fail.
                meta.is_dir()
                    && meta.uid() == unsafe { libc::geteuid() }
                    && meta.mode() & 0o022 == 0
            })
    };
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| private(dir))
        .unwrap_or_else(std::env::temp_dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_socket_sits_alone_in_a_private_directory_removed_with_it() {
        let parent = tempfile::tempdir().unwrap();
        let socket = NotifySocket::bind_in(parent.path()).unwrap();
        let dir = socket.path().parent().unwrap().to_owned();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
        let other = NotifySocket::bind_in(parent.path()).unwrap();
        assert_ne!(
            other.path(),
            socket.path(),
            "each socket has a directory of its own"
        );
        drop(socket);
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }

    #[test]
    fn a_datagram_comes_with_its_senders_credentials() {
        let parent = tempfile::tempdir().unwrap();
        let socket = NotifySocket::bind_in(parent.path()).unwrap();
        let sender = UnixDatagram::unbound().unwrap();
        sender.send_to(b"READY=1", socket.path()).unwrap();
        let got = socket
            .receive(Some(Duration::from_secs(5)))
            .unwrap()
            .unwrap();
        // SAFETY: getuid cannot fail.
        assert_eq!(got.uid, Some(unsafe { libc::getuid() }));
        assert_eq!(got.pid, Some(std::process::id()));
        assert_eq!(
            (got.bytes.as_slice(), got.oversized),
            (&b"READY=1"[..], false)
        );
        assert_eq!(socket.receive(None).unwrap(), None, "nothing more waits");
    }

    #[test]
    fn an_oversized_datagram_is_flagged_not_cut_into_a_message() {
        let parent = tempfile::tempdir().unwrap();
        let socket = NotifySocket::bind_in(parent.path()).unwrap();
        let sender = UnixDatagram::unbound().unwrap();
        let mut big = b"STATUS=".to_vec();
        big.resize(MAX_DATAGRAM + 100, b'x');
        sender.send_to(&big, socket.path()).unwrap();
        let got = socket
            .receive(Some(Duration::from_secs(5)))
            .unwrap()
            .unwrap();
        assert!(got.oversized);
        assert_eq!(got.bytes.len(), MAX_DATAGRAM);
    }

    #[test]
    fn a_socket_that_cannot_be_made_says_where() {
        let outside = tempfile::tempdir().unwrap();
        let not_a_dir = outside.path().join("file");
        std::fs::write(&not_a_dir, "").unwrap();
        let err = NotifySocket::bind_in(&not_a_dir).unwrap_err();
        assert!(matches!(err, NotifyError::Dir { .. }), "{err}");
        assert!(
            err.to_string().contains(&not_a_dir.display().to_string()),
            "{err}"
        );
        // Too long for a socket address (108 bytes): the bind fails, the directory goes.
        let deep = outside.path().join("d".repeat(120));
        std::fs::create_dir(&deep).unwrap();
        let err = NotifySocket::bind_in(&deep).unwrap_err();
        assert!(matches!(err, NotifyError::Bind { .. }), "{err}");
        assert_eq!(std::fs::read_dir(&deep).unwrap().count(), 0, "left behind");
    }
}
