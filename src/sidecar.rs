//! `<file>.ROLE.json`: what the one monitor holding a role (the probes, the supervisor)
//! publishes beside the heartbeat file, so that every other face — another monitor, the
//! live UI, `hbmon status` — shows what only the holder knows, without doing it twice.
//! Written atomically (a temp file renamed over it) and never group- or other-writable;
//! read only as [`crate::fsafe`] allows (a regular file, not a symlink, within the size
//! cap) and only if [`fsafe::check_trusted`] accepts it: what another user could have
//! written is no news at all. How old is too old is the reader's to say (each role knows
//! its own cadence): each document carries when it was written.

use std::io::Write as _;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{fsafe, paths};

/// One published document: when, and what (the body's fields beside `written_at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published<T> {
    /// When it was written (Unix seconds).
    pub written_at: f64,
    #[serde(flatten)]
    pub body: T,
}

/// Publishes `body` at `path`, written at `now`.
pub fn write<T: Serialize>(path: &Path, body: &T, now: f64) -> std::io::Result<()> {
    let temp = paths::temp_path(path);
    let bytes = serde_json::to_vec(&Published {
        written_at: now,
        body,
    })?;
    let written = (|| {
        // Never group- or other-writable, whatever the umask: a reader trusts no file
        // another user could have written into.
        let mode = fsafe::new_file_mode(fsafe::dir_of(path)) & 0o644;
        let mut out = fsafe::create_new(&temp, mode)?;
        out.write_all(&bytes)?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// What is published at `path`; `None` when there is no such file, or it is not one to
/// trust (another user's, writable by group or others, a symlink, a FIFO, too big, not the
/// format).
pub fn read<T: DeserializeOwned>(path: &Path) -> Option<Published<T>> {
    let Ok(Some((opened, meta))) = fsafe::open_regular(path) else {
        return None;
    };
    if fsafe::check_trusted(path, &meta).is_err() {
        return None;
    }
    fsafe::read_capped(path, opened, &meta)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Body {
        said: String,
    }

    fn body() -> Body {
        Body { said: "hi".into() }
    }

    #[test]
    fn a_document_reads_back_and_is_never_written_writable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json.role.json");
        assert!(read::<Body>(&path).is_none());
        // A umask that would let others write is not obeyed.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        write(&path, &body(), 3.0).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o022, 0, "{mode:o}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, r#"{"written_at":3.0,"said":"hi"}"#);
        assert_eq!(
            read::<Body>(&path),
            Some(Published {
                written_at: 3.0,
                body: body()
            })
        );
    }

    #[test]
    fn a_writable_file_a_symlink_a_fifo_or_garbage_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json.role.json");
        let elsewhere = dir.path().join("elsewhere.json");
        let cases: [(&str, &dyn Fn()); 4] = [
            ("writable by others", &|| {
                write(&path, &body(), 1.0).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
            }),
            ("a symlink", &|| {
                write(&elsewhere, &body(), 1.0).unwrap();
                std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
            }),
            ("a FIFO", &|| {
                let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
                // SAFETY: a valid NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            }),
            ("garbage", &|| std::fs::write(&path, "{ not json").unwrap()),
        ];
        for (what, plant) in cases {
            let _ = std::fs::remove_file(&path);
            plant();
            assert!(read::<Body>(&path).is_none(), "{what} is read");
        }
    }
}
