//! Opening files in a directory other users may write (a group directory, /tmp): never
//! through a symlink, nothing but a regular file, nothing bigger than [`MAX_FILE_SIZE`],
//! no file created more open than its directory, and nothing trusted that another user can
//! change. Every file hbmon opens beside the heartbeat file goes through here.

use std::fs::{File, Metadata};
use std::io::{self, ErrorKind, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The largest file hbmon reads or rewrites: 64 MiB holds ~200 000 entries, far past what
/// one file sustains, and keeps a planted multi-gigabyte file (or `/dev/zero` behind a
/// rename) from costing a core and its size in memory on every read.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Why a file was not opened; every variant names the path and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(
        "{} is a symbolic link to {}: hbmon does not follow links beside the heartbeat file \
         (another user may have planted it); pass the resolved path instead",
        path.display(),
        crate::text::escape(&target.to_string_lossy())
    )]
    Symlink { path: PathBuf, target: PathBuf },
    #[error("{} is a {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "{} is {size} bytes, over the {} MiB limit hbmon reads",
        path.display(),
        MAX_FILE_SIZE >> 20
    )]
    TooBig { path: PathBuf, size: u64 },
    #[error(
        "refusing {}: owned by uid {owner}, mode {mode:04o}: {why} (as ssh refuses such a \
         config; fix it with chown/chmod go-w)",
        path.display()
    )]
    Untrusted {
        path: PathBuf,
        owner: u32,
        mode: u32,
        why: &'static str,
    },
    /// A secret (a token, a TLS key) others can read is one they may already have.
    #[error(
        "refusing {}: mode {mode:04o}: a secret readable by group or others (as ssh refuses \
         such a key; fix it with chmod 600)",
        path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("cannot open {}: {cause}", path.display())]
    Io { path: PathBuf, cause: io::Error },
}

impl FileError {
    /// The cause as an `io::Error`, for callers whose own errors carry one.
    pub fn into_io(self) -> io::Error {
        match self {
            FileError::Io { cause, .. } => cause,
            other => io::Error::new(ErrorKind::InvalidData, other.to_string()),
        }
    }
}

/// The mode for a file hbmon creates in `dir`: 0600 when the directory lets no one else in
/// (the per-user default is 0700), else 0666 less the umask, as any tool's new file.
pub fn new_file_mode(dir: &Path) -> u32 {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match std::fs::metadata(dir) {
        // Group and others have no bit at all (clippy would say trailing_zeros; the mask reads as the mode it is).
        #[allow(clippy::verbose_bit_mask)]
        Ok(meta) if meta.permissions().mode() & 0o077 == 0 => 0o600,
        _ => 0o666,
    }
}

/// The directory a file lives in (`.` for a bare name).
pub fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Opens `path` to read: without following a symlink, without blocking on a FIFO or a
/// device, and only if it is a regular file within [`MAX_FILE_SIZE`]. `None`: no such file.
pub fn open_regular(path: &Path) -> Result<Option<(File, Metadata)>, FileError> {
    open_checked(path, false)
}

/// [`open_regular`], following a symlink at `path` when `follow` (what it leads to is then
/// what is checked).
fn open_checked(path: &Path, follow: bool) -> Result<Option<(File, Metadata)>, FileError> {
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nofollow | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        // Followed, what the path leads to names the refusal (a socket: ENXIO).
        Err(e) if follow => {
            return Err(
                match std::fs::metadata(path).ok().as_ref().and_then(kind_of) {
                    Some(kind) => FileError::NotRegular {
                        path: path.to_owned(),
                        kind,
                    },
                    None => io_error(path, e),
                },
            );
        }
        Err(e) => return Err(classify(path, e)),
    };
    let meta = file.metadata().map_err(|cause| io_error(path, cause))?;
    regular(path, &meta)?;
    Ok(Some((file, meta)))
}

/// Reads all of `path` as [`open_regular`] opens it; `None`: no such file.
pub fn read_regular(path: &Path) -> Result<Option<Vec<u8>>, FileError> {
    let Some((file, meta)) = open_regular(path)? else {
        return Ok(None);
    };
    read_capped(path, file, &meta).map(Some)
}

/// Reads a file hbmon will act on (a config naming commands to run): a regular file within
/// the cap, that [`check_trusted`] accepts. A symlink is followed — a per-user config is
/// often a link into a dotfiles repository — but only one this user (or root) made, and
/// only to a file of this user's own ([`check_link`]): a link another user planted could
/// otherwise have hbmon read, and a parse error quote, a file of someone else's. The link is
/// looked at again once opened: one swapped in the meantime is refused. `None`: no such
/// file.
pub fn read_trusted(path: &Path) -> Result<Option<(Vec<u8>, Metadata)>, FileError> {
    let link = std::fs::symlink_metadata(path)
        .ok()
        .filter(|meta| meta.file_type().is_symlink());
    let Some((file, meta)) = open_checked(path, true)? else {
        return Ok(None);
    };
    check_trusted(path, &meta)?;
    if let Some(link) = link {
        let again = std::fs::symlink_metadata(path).map_err(|cause| io_error(path, cause))?;
        if (again.dev(), again.ino()) != (link.dev(), link.ino()) {
            return Err(io_error(
                path,
                io::Error::other("the link changed while it was read"),
            ));
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        check_link(me, link.uid(), meta.uid()).map_err(|(owner, why)| FileError::Untrusted {
            path: path.to_owned(),
            owner,
            mode: if owner == link.uid() {
                link.mode() & 0o7777
            } else {
                meta.mode() & 0o7777
            },
            why,
        })?;
    }
    let bytes = read_capped(path, file, &meta)?;
    Ok(Some((bytes, meta)))
}

/// Reads a secret (an API token, a TLS private key): a regular file within the cap, not
/// through a symlink, of this user's own (or root's), and readable by no one else, as ssh
/// takes a private key. `None`: no such file.
pub fn read_private(path: &Path) -> Result<Option<Vec<u8>>, FileError> {
    let Some((file, meta)) = open_regular(path)? else {
        return Ok(None);
    };
    check_trusted(path, &meta)?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(FileError::Exposed {
            path: path.to_owned(),
            mode,
        });
    }
    read_capped(path, file, &meta).map(Some)
}

/// Reads an opened regular file to its end, refusing one that grew past the limit since
/// it was checked.
pub fn read_capped(path: &Path, file: File, meta: &Metadata) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|cause| io_error(path, cause))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(FileError::TooBig {
            path: path.to_owned(),
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// Opens (creating it with `mode` if missing) a sidecar lock file, read-only — a flock needs
/// no write access, so a lock file another user created still locks — without following a
/// symlink and only if it is a regular file (a FIFO planted there cannot block the open).
pub fn open_lock(path: &Path, mode: u32) -> Result<File, FileError> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Err(io_error(path, ErrorKind::InvalidInput.into()));
    };
    let flags = libc::O_RDONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call; the mode is
    // passed as the C variadic argument open(2) reads when O_CREAT is set.
    let fd = unsafe { libc::open(c_path.as_ptr(), flags | libc::O_CLOEXEC, mode) };
    if fd < 0 {
        return Err(classify(path, io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just opened by this function and is owned by nothing else.
    let file = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let meta = file.metadata().map_err(|cause| io_error(path, cause))?;
    regular(path, &meta)?;
    Ok(file)
}

/// Creates `path` anew for writing, `mode` less the umask: `O_EXCL`, so never through a
/// planted symlink nor over someone else's file.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// [`create_new`] with exactly `mode` (a rewrite keeping the mode of the file it replaces):
/// created owner-only, then given `mode` on the open descriptor, so it is never, even for a
/// moment, more open than asked, and no second path lookup is made.
pub fn create_new_exact(path: &Path, mode: u32) -> io::Result<File> {
    let file = create_new(path, mode & 0o600)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
    Ok(file)
}

/// Refuses a file hbmon would act on (a config that names commands to run, a history
/// database) when another user could have written it: owned by someone other than this
/// user or root, or writable by group or others.
pub fn check_trusted(path: &Path, meta: &Metadata) -> Result<(), FileError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let (owner, mode) = (meta.uid(), meta.mode() & 0o7777);
    let why = if owner != me && owner != 0 {
        "owned by another user"
    } else if mode & 0o022 != 0 {
        "writable by group or others"
    } else {
        return Ok(());
    };
    Err(FileError::Untrusted {
        path: path.to_owned(),
        owner,
        mode,
        why,
    })
}

/// Whether user `me` may follow a link owned by `link_owner` to a file owned by
/// `target_owner`: the link must be `me`'s or root's, the file `me`'s own (root's files are
/// trusted when named directly, not reached through a link). The refusal: whose, and why.
fn check_link(me: u32, link_owner: u32, target_owner: u32) -> Result<(), (u32, &'static str)> {
    if link_owner != me && link_owner != 0 {
        Err((link_owner, "a symbolic link another user made"))
    } else if target_owner != me {
        Err((
            target_owner,
            "reached through a symbolic link, a file not this user's own",
        ))
    } else {
        Ok(())
    }
}

fn regular(path: &Path, meta: &Metadata) -> Result<(), FileError> {
    match kind_of(meta) {
        None if meta.len() > MAX_FILE_SIZE => Err(FileError::TooBig {
            path: path.to_owned(),
            size: meta.len(),
        }),
        None => Ok(()),
        Some(kind) => Err(FileError::NotRegular {
            path: path.to_owned(),
            kind,
        }),
    }
}

/// What a file is when it is not a regular file; `None` for a regular file.
fn kind_of(meta: &Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    Some(if kind.is_file() {
        return None;
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_symlink() {
        "symbolic link"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "device"
    } else {
        "special file"
    })
}

/// Names a refused open by what is at the path: `ELOOP` under `O_NOFOLLOW` is a symlink,
/// `ENXIO` a socket; the open's own error otherwise.
fn classify(path: &Path, cause: io::Error) -> FileError {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink()
            && let Ok(target) = std::fs::read_link(path)
        {
            return FileError::Symlink {
                path: path.to_owned(),
                target,
            };
        }
        if let Some(kind) = kind_of(&meta) {
            return FileError::NotRegular {
                path: path.to_owned(),
                kind,
            };
        }
    }
    io_error(path, cause)
}

fn io_error(path: &Path, cause: io::Error) -> FileError {
    FileError::Io {
        path: path.to_owned(),
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_symlink_is_refused_naming_link_and_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "secret").unwrap();
        let link = dir.path().join("hb.json");
        symlink(&target, &link).unwrap();
        for err in [
            read_regular(&link).unwrap_err(),
            open_lock(&link, 0o600).unwrap_err(),
        ] {
            assert!(matches!(err, FileError::Symlink { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains("hb.json") && text.contains("victim"),
                "{text}"
            );
        }
        assert!(create_new(&link, 0o666).is_err());
        assert!(create_new_exact(&link, 0o666).is_err());
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "secret");
        assert_ne!(mode & 0o777, 0o666);
    }

    #[test]
    fn a_secret_readable_by_others_or_reached_by_a_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("token");
        std::fs::write(&secret, "s3cret").unwrap();
        // The mode, and whether the secret is read.
        for (mode, read) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false)] {
            std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode)).unwrap();
            match read_private(&secret) {
                Ok(bytes) => {
                    assert!(read, "{mode:o} was read");
                    assert_eq!(bytes.as_deref(), Some(b"s3cret".as_slice()));
                }
                Err(e) => {
                    assert!(!read, "{mode:o}: {e}");
                    assert!(matches!(e, FileError::Exposed { .. }), "{e}");
                    let text = e.to_string();
                    assert!(
                        text.contains("token") && text.contains("chmod 600"),
                        "{text}"
                    );
                }
            }
        }
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        symlink(&secret, &link).unwrap();
        assert!(matches!(
            read_private(&link),
            Err(FileError::Symlink { .. })
        ));
        assert!(read_private(&dir.path().join("none")).unwrap().is_none());
    }

    #[test]
    fn a_fifo_or_a_directory_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, kind) in [(&fifo, "FIFO"), (&dir.path().to_owned(), "directory")] {
            let err = read_regular(path).unwrap_err();
            assert!(err.to_string().contains(kind), "{err}");
        }
        assert!(
            open_lock(&fifo, 0o600)
                .unwrap_err()
                .to_string()
                .contains("FIFO")
        );
    }

    #[test]
    fn a_socket_is_refused_as_a_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let err = read_regular(&path).unwrap_err();
        assert!(
            err.to_string().contains("is a socket, not a regular file"),
            "{err}"
        );
    }

    #[test]
    fn a_file_over_the_limit_is_refused_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        File::create(&big)
            .unwrap()
            .set_len(MAX_FILE_SIZE + 1)
            .unwrap();
        let err = read_regular(&big).unwrap_err();
        assert!(matches!(err, FileError::TooBig { .. }), "{err}");
        assert!(err.to_string().contains("64 MiB"), "{err}");
        assert_eq!(read_regular(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn new_files_take_the_privacy_of_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        for (dir_mode, file_mode) in [(0o700, 0o600), (0o755, 0o666)] {
            std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(dir_mode)).unwrap();
            assert_eq!(new_file_mode(dir.path()), file_mode);
        }
        let created = dir.path().join("created");
        create_new_exact(&created, 0o640).unwrap();
        let mode = std::fs::metadata(&created).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        assert_eq!(
            create_new(&created, 0o600).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn a_link_is_followed_only_when_this_user_made_it_to_a_file_of_their_own() {
        let (me, other) = (1000, 1001);
        for (link, target, ok) in [
            (me, me, true),
            // A package or an admin's link to the user's own file.
            (0, me, true),
            (other, me, false),
            (me, other, false),
            (me, 0, false),
        ] {
            assert_eq!(
                check_link(me, link, target).is_ok(),
                ok,
                "{link} -> {target}"
            );
        }
        assert!(
            check_link(0, 0, 0).is_ok(),
            "root's own link to root's file"
        );
    }

    #[test]
    fn a_trusted_read_follows_the_users_own_link_to_a_trusted_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dotfiles.toml");
        std::fs::write(&target, "x = 1\n").unwrap();
        std::fs::set_permissions(&target, PermissionsExt::from_mode(0o600)).unwrap();
        let link = dir.path().join("hbmon.toml");
        symlink(&target, &link).unwrap();
        let (bytes, _) = read_trusted(&link).unwrap().unwrap();
        assert_eq!(bytes, b"x = 1\n");
        std::fs::set_permissions(&target, PermissionsExt::from_mode(0o666)).unwrap();
        let err = read_trusted(&link).unwrap_err();
        assert!(matches!(err, FileError::Untrusted { .. }), "{err}");
    }

    #[test]
    fn a_trusted_read_refuses_a_link_to_a_file_not_the_users_own() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("hbmon.toml");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // Root owns every file it makes: the other user's link is made by chown.
            let target = dir.path().join("secret");
            std::fs::write(&target, "first line\n").unwrap();
            symlink(&target, &link).unwrap();
            std::os::unix::fs::lchown(&link, Some(65534), None).unwrap();
        } else {
            // A file of root's, trusted when named, not through a link.
            symlink("/etc/passwd", &link).unwrap();
        }
        let err = read_trusted(&link).unwrap_err();
        assert!(matches!(err, FileError::Untrusted { .. }), "{err}");
        assert!(!err.to_string().contains("first line"), "{err}");
    }

    #[test]
    fn a_file_others_can_write_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hbmon.toml");
        std::fs::write(&file, "").unwrap();
        for (mode, ok) in [(0o600, true), (0o644, true), (0o664, false), (0o646, false)] {
            std::fs::set_permissions(&file, PermissionsExt::from_mode(mode)).unwrap();
            let meta = std::fs::metadata(&file).unwrap();
            let result = check_trusted(&file, &meta);
            assert_eq!(result.is_ok(), ok, "mode {mode:o}: {result:?}");
            if let Err(e) = result {
                assert!(e.to_string().contains(&format!("{mode:04o}")), "{e}");
            }
        }
    }
}
