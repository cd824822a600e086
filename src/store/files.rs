//! The heartbeat file's own I/O, done under its lock: reading it (a regular file, never
//! through a link, within the size cap), replacing it through an unpredictable temp file
//! created `O_EXCL`, moving a corrupt one aside without overwriting anything, and removing
//! the temp files of writers killed mid-write.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, ErrorKind, IoSlice, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::StoreError;
use crate::{fsafe, paths};

/// The file's bytes and mode; `None` for the mode when there is no file yet.
pub(super) fn read_locked(path: &Path) -> Result<(Vec<u8>, Option<fs::Permissions>), StoreError> {
    match fsafe::open_regular(path)? {
        None => Ok((Vec::new(), None)),
        Some((file, meta)) => {
            let bytes = fsafe::read_capped(path, file, &meta)?;
            Ok((bytes, Some(meta.permissions())))
        }
    }
}

/// Writes `pieces` to a new temp file beside `path` and renames it over. The temp file has
/// the mode of the file it replaces from its first moment (a new file: as private as its
/// directory). No fsync: a heartbeat is superseded within one interval, and the rename
/// already guarantees readers see the old file or the new one, never a torn one.
pub fn replace(
    path: &Path,
    pieces: &[Cow<'_, str>],
    permissions: Option<fs::Permissions>,
) -> Result<(), StoreError> {
    let write_error = |cause| StoreError::Write {
        path: path.to_owned(),
        cause,
    };
    let (temp, mut file) = create_temp(path, permissions.map(|p| p.mode())).map_err(write_error)?;
    write_pieces(&mut file, pieces)
        .and_then(|()| {
            // Closed before the rename: a close after it is a second "written" event on the
            // file's own name, which a monitor's watch takes for another change (and paces).
            drop(file);
            fs::rename(&temp, path)
        })
        .map_err(|cause| {
            // Best effort, the write already failed; a temp file left behind would be
            // removed by the next writer only once this process is gone.
            let _ = fs::remove_file(&temp);
            write_error(cause)
        })
}

fn create_temp(path: &Path, mode: Option<u32>) -> io::Result<(PathBuf, File)> {
    loop {
        let temp = paths::temp_path(path);
        let created = match mode {
            Some(kept) => fsafe::create_new_exact(&temp, kept),
            None => fsafe::create_new(&temp, fsafe::new_file_mode(fsafe::dir_of(path))),
        };
        match created {
            Ok(file) => return Ok((temp, file)),
            // Someone made that name first (64 random bits: only on purpose). Not ours to
            // touch; another name.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes every piece in order with `writev`: the untouched bulk of the file goes from the
/// buffer it was read into straight to the kernel, never copied into an output buffer.
fn write_pieces(file: &mut File, pieces: &[Cow<'_, str>]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = pieces
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| IoSlice::new(p.as_bytes()))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut rest, written),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Moves an unparseable file to `<file>.corrupt-<unix>` (then `.1`, `.2`, …), never deleting
/// it and never replacing whatever is at a name already: a hard link fails on an existing
/// name, planted link or not, where a rename would replace it.
pub(super) fn move_aside(path: &Path, now: f64, reason: &str) -> Result<(), StoreError> {
    let secs = now as u64;
    let mut copy = 0;
    let target = loop {
        let target = paths::corrupt_path(path, secs, copy);
        match link_or_rename(path, &target) {
            Ok(()) => break target,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => copy += 1,
            Err(cause) => {
                return Err(StoreError::Write {
                    path: target,
                    cause,
                });
            }
        }
    };
    eprintln!(
        "hbmon: warning: {} was not a valid heartbeat file ({}); moved it to {} and started a new one",
        path.display(),
        reason,
        target.display()
    );
    Ok(())
}

fn link_or_rename(from: &Path, to: &Path) -> io::Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => fs::remove_file(from),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(e),
        // A file system without hard links: the name is checked, then taken by a rename
        // (with a window another user could race, on such a file system only).
        Err(_) => match fs::symlink_metadata(to) {
            Ok(_) => Err(ErrorKind::AlreadyExists.into()),
            Err(e) if e.kind() == ErrorKind::NotFound => fs::rename(from, to),
            Err(e) => Err(e),
        },
    }
}

/// How often the temp files left by dead writers are looked for, per heartbeat file: a
/// directory listing is cheap in a small directory but not in a big one (4 ms for 10 000
/// names), and an orphan costs only disk space meanwhile.
const ORPHAN_SWEEP_EVERY: Duration = Duration::from_secs(60);

static LAST_SWEEP: Mutex<Vec<(PathBuf, Instant)>> = Mutex::new(Vec::new());

/// Removes the temp files of `path` whose writer is dead (killed mid-write: `kill -9`,
/// OOM); at most once a minute per file. Called under the lock (`lock`, the open lock
/// file), when no live writer of this file can be between creating its temp file and
/// renaming it.
///
/// The lock file's modification time is when a writer last swept, so a one-shot `hbmon
/// beat` (a new process each time) does not list the directory on every beat; nothing
/// else writes to that file. A writer that may not set it (the lock file is another
/// user's) falls back to once a minute per process.
pub(super) fn sweep_orphans(path: &Path, lock: &File) {
    let swept_lately = lock
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|at| at.elapsed().ok())
        .is_some_and(|age| age < ORPHAN_SWEEP_EVERY);
    if swept_lately {
        return;
    }
    {
        let mut last = LAST_SWEEP
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        match last.iter_mut().find(|(p, _)| p == path) {
            Some((_, at)) if now.duration_since(*at) < ORPHAN_SWEEP_EVERY => return,
            Some((_, at)) => *at = now,
            None => last.push((path.to_owned(), now)),
        }
    }
    let _ = lock.set_modified(std::time::SystemTime::now());
    let dir = fsafe::dir_of(path);
    let Ok(listing) = fs::read_dir(dir) else {
        return;
    };
    for entry in listing.flatten() {
        let Some(pid) = paths::temp_owner(path, &entry.file_name()) else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir && pid != std::process::id() && !alive(pid) {
            // A link is removed itself, never its target; another user's file in a sticky
            // directory is theirs to remove (the unlink fails, and that is fine).
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this PID exists (`EPERM`: it does, another user's).
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists; no signal is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_failed_replace_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json");
        // A non-empty directory where the file should be: the rename over it fails.
        fs::create_dir_all(path.join("in-the-way")).unwrap();
        let err = replace(&path, &[Cow::Borrowed("{}")], None).unwrap_err();
        assert!(err.to_string().contains("hb.json"), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_corrupt_copy_never_replaces_what_is_at_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json");
        let victim = dir.path().join("victim");
        fs::write(&victim, "theirs").unwrap();
        symlink(&victim, paths::corrupt_path(&path, 5, 0)).unwrap();
        fs::write(paths::corrupt_path(&path, 5, 1), "earlier copy").unwrap();
        fs::write(&path, "{ junk").unwrap();
        move_aside(&path, 5.0, "junk").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "theirs");
        assert_eq!(
            fs::read_to_string(paths::corrupt_path(&path, 5, 1)).unwrap(),
            "earlier copy"
        );
        assert_eq!(
            fs::read_to_string(paths::corrupt_path(&path, 5, 2)).unwrap(),
            "{ junk"
        );
        assert!(!path.exists());
    }

    /// The lock file of `path`, last touched (swept) longer ago than a sweep's period.
    fn stale_lock(path: &Path) -> File {
        let lock = File::create(paths::lock_path(path)).unwrap();
        let long_ago = std::time::SystemTime::now() - ORPHAN_SWEEP_EVERY * 2;
        lock.set_modified(long_ago).unwrap();
        lock
    }

    #[test]
    fn a_sweep_is_recorded_on_the_lock_file_for_every_process_to_see() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json");
        let orphan = dir.path().join(".hb.json.2147483632.tmp");
        // A lock swept a moment ago (by another process): not again yet.
        let fresh = File::create(paths::lock_path(&path)).unwrap();
        fs::write(&orphan, "x").unwrap();
        sweep_orphans(&path, &fresh);
        assert!(orphan.exists());
        let lock = stale_lock(&path);
        sweep_orphans(&path, &lock);
        assert!(!orphan.exists());
        let age = lock
            .metadata()
            .unwrap()
            .modified()
            .unwrap()
            .elapsed()
            .unwrap();
        assert!(age < ORPHAN_SWEEP_EVERY, "the sweep is recorded: {age:?}");
    }

    #[test]
    fn orphans_of_dead_writers_are_swept_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json");
        // A PID that cannot be running: past the kernel's pid_max.
        let dead = 0x7fff_fff0_u32;
        let mine = std::process::id();
        let names = [
            format!(".hb.json.{dead}.0123456789abcdef.tmp"),
            format!(".hb.json.{dead}.tmp"),
            format!(".hb.json.{mine}.0123456789abcdef.tmp"),
            ".hb.json.1.0123456789abcdef.tmp".to_owned(), // init: alive
            format!(".other.json.{dead}.tmp"),
            "hb.json.lock".to_owned(),
        ];
        for name in &names {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        let lock = stale_lock(&path);
        sweep_orphans(&path, &lock);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected = names[2..].to_vec();
        expected.sort();
        assert_eq!(left, expected);
    }
}
