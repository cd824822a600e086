//! A supervised process's output: `logs/NAME.log` beside the history database, rotated past
//! `log_size` to `NAME.log.1` (the older ones moved up, the oldest past `log_keep` removed),
//! as pm2-logrotate and logrotate's `rotate N` do. The directory is 0700 and the files
//! 0600: a process's output is its owner's. Neither is ever reached through a symlink.
//! Each line starts with the time it was written (UTC, `2026-12-03T09:11:12.345Z`), for
//! `hbmon logs --since` ([`read`]).

pub mod read;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why a log cannot be written, naming the path.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the log {}: {cause}", path.display())]
pub struct LogError {
    pub path: PathBuf,
    pub cause: io::Error,
}

/// The directory of the logs of the processes supervised for heartbeat file `file`.
pub fn dir(file: &Path) -> PathBuf {
    crate::fsafe::dir_of(&crate::paths::history_path(file)).join("logs")
}

/// `NAME.log` in `dir`, a heartbeat name made a safe file name: anything but letters,
/// digits, `-`, `_` and an inner `.` becomes `_` (a name is text a user chose: `../x` or
/// `a/b` must not lead out of the directory).
pub fn path(dir: &Path, name: &str) -> PathBuf {
    let mut safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.starts_with('.') || safe.is_empty() {
        safe.insert(0, '_');
    }
    dir.join(format!("{safe}.log"))
}

/// `NAME.log.N`: the `n`th rotated file (0: the live one).
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return path.to_owned();
    }
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// One process's log, open for appending.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    file: File,
    size: u64,
    cap: u64,
    keep: u32,
}

impl Log {
    /// Opens (creating) `path`, its directory made 0700 if missing.
    pub fn open(path: &Path, cap: u64, keep: u32) -> Result<Log, LogError> {
        let fail = |cause| LogError {
            path: path.to_owned(),
            cause,
        };
        private_dir(crate::fsafe::dir_of(path)).map_err(fail)?;
        let file = open_append(path).map_err(fail)?;
        let size = file.metadata().map_err(fail)?.len();
        Ok(Log {
            path: path.to_owned(),
            file,
            size,
            cap,
            keep,
        })
    }

    /// Appends `bytes`, rotating whenever the file would pass its cap: a file ends at a
    /// line's end when one fits, and a line longer than the cap is cut at it.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), LogError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.size >= self.cap {
                self.rotate()?;
            }
            let room = usize::try_from(self.cap - self.size).unwrap_or(usize::MAX);
            let mut take = rest.len().min(room);
            if take < rest.len() {
                match rest[..take].iter().rposition(|&b| b == b'\n') {
                    Some(end) => take = end + 1,
                    // Not one whole line fits: the next file, unless this one is empty.
                    None if self.size > 0 => {
                        self.rotate()?;
                        continue;
                    }
                    None => {}
                }
            }
            self.file
                .write_all(&rest[..take])
                .map_err(|cause| LogError {
                    path: self.path.clone(),
                    cause,
                })?;
            self.size += take as u64;
            rest = &rest[take..];
        }
        Ok(())
    }

    /// `NAME.log.{keep-1}` to `.{keep}` ... `NAME.log` to `.1`, then a new `NAME.log`.
    fn rotate(&mut self) -> Result<(), LogError> {
        let fail = |path: &Path, cause| LogError {
            path: path.to_owned(),
            cause,
        };
        for n in (0..self.keep).rev() {
            let from = rotated(&self.path, n);
            // rename never follows a symlink at either end: it moves the link itself.
            match std::fs::rename(&from, rotated(&self.path, n + 1)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(fail(&from, e)),
                _ => {}
            }
        }
        self.file = open_append(&self.path).map_err(|e| fail(&self.path, e))?;
        self.size = 0;
        Ok(())
    }
}

/// Opens `path` to append, created 0600, never through a symlink, and only if it is a
/// regular file of this user's (a FIFO or another user's file planted there is refused).
fn open_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_file() || meta.uid() != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "not a regular file of this user's",
        ));
    }
    Ok(file)
}

/// `dir`, created 0700 if missing; an existing one must be a real directory of this user's
/// that no one else may write (a symlink there is refused, not followed).
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let meta = std::fs::symlink_metadata(dir)?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a directory of this user's that only it may write",
                dir.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_rotates_at_its_cap_and_keeps_only_log_keep_old_files() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = path(&tmp.path().join("logs"), "bidder");
        let mut log = Log::open(&path, 10, 2).unwrap();
        // One write of several lines is split at line ends; a line past the cap is cut.
        for chunk in ["0123456\nab", "cdef\nABCDEF\n", "0123456789xyz\n"] {
            log.write(chunk.as_bytes()).unwrap();
        }
        let read = |n| std::fs::read_to_string(rotated(&path, n)).unwrap_or_default();
        assert_eq!(read(0), "xyz\n");
        assert_eq!(read(1), "0123456789");
        assert_eq!(read(2), "ABCDEF\n");
        assert!(!rotated(&path, 3).exists(), "only log_keep = 2 old files");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&path), mode(path.parent().unwrap())), (0o600, 0o700));
    }

    #[test]
    fn a_log_is_never_written_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        std::fs::create_dir(&dir).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "mine\n").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("a.log")).unwrap();
        let err = Log::open(&path(&dir, "a"), 1000, 1).unwrap_err();
        assert!(err.to_string().contains("a.log"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine\n");
        // Nor a directory that is a symlink.
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, tmp.path().join("linked")).unwrap();
        assert!(Log::open(&path(&tmp.path().join("linked"), "a"), 1000, 1).is_err());
        assert!(!elsewhere.join("a.log").exists());
    }

    #[test]
    fn a_name_cannot_lead_out_of_the_log_directory() {
        let dir = Path::new("/s/logs");
        for (name, file) in [
            ("bidder", "bidder.log"),
            ("../etc/x", "_.._etc_x.log"),
            (".hidden", "_.hidden.log"),
            ("a b/c", "a_b_c.log"),
            ("", "_.log"),
        ] {
            assert_eq!(path(dir, name), dir.join(file), "{name:?}");
        }
    }
}
