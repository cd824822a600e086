//! `<file>.probes.json`: the probe results the one monitor that probes publishes, so that
//! other monitors and `hbmon status` show the same results without probing twice. Written
//! atomically (a temp file renamed over it); read only as [`crate::fsafe`] allows — a
//! regular file, not a symlink, within the size cap — and only if this user wrote it.

use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Results;
use crate::{fsafe, paths};

#[derive(Serialize, Deserialize)]
struct Sidecar {
    /// When it was written (Unix seconds).
    written_at: f64,
    results: Results,
}

/// Publishes `results` beside `file`.
pub fn write(file: &Path, results: &Results, now: f64) -> std::io::Result<()> {
    let path = paths::probes_path(file);
    let temp = paths::temp_path(&path);
    let bytes = serde_json::to_vec(&Sidecar {
        written_at: now,
        results: results.clone(),
    })?;
    let written = (|| {
        // Never group- or other-writable, whatever the umask: a reader trusts no file
        // another user could have written results into.
        let mode = fsafe::new_file_mode(fsafe::dir_of(&path)) & 0o644;
        let mut out = fsafe::create_new(&temp, mode)?;
        out.write_all(&bytes)?;
        std::fs::rename(&temp, &path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// The results published beside `file`; none when there is no such file, or it is not one
/// to trust (another user's, writable by group or others, a symlink, too big, not the
/// format).
pub fn read(file: &Path) -> Results {
    let path = paths::probes_path(file);
    let Ok(Some((opened, meta))) = fsafe::open_regular(&path) else {
        return Results::new();
    };
    if fsafe::check_trusted(&path, &meta).is_err() {
        return Results::new();
    }
    fsafe::read_capped(&path, opened, &meta)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Sidecar>(&bytes).ok())
        .map(|s| s.results)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ProbeStatus;

    #[test]
    fn results_read_back_and_a_planted_symlink_garbage_or_a_writable_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let mut results = Results::new();
        results.insert(
            "web".into(),
            vec![ProbeStatus {
                kind: "tcp".into(),
                target: "db:5432".into(),
                ok: Some(false),
                failing: true,
                fails: 3,
                failing_since: Some(1.0),
                last_at: Some(2.0),
                last_ms: Some(0.5),
                p50_ms: Some(0.5),
                p95_ms: Some(0.5),
                recent_ms: vec![0.5],
                last_error: Some("refused".into()),
                late: false,
                stale: false,
            }],
        );
        assert!(read(&file).is_empty());
        write(&file, &results, 3.0).unwrap();
        assert_eq!(read(&file), results);
        let path = paths::probes_path(&file);
        // Results another user could have written are no results.
        let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
        std::fs::set_permissions(&path, mode(0o666)).unwrap();
        assert!(
            read(&file).is_empty(),
            "a file others can write is not trusted"
        );
        std::fs::set_permissions(&path, mode(0o644)).unwrap();
        assert_eq!(read(&file), results);
        std::fs::write(&path, "{ not json").unwrap();
        assert!(read(&file).is_empty());
        std::fs::remove_file(&path).unwrap();
        let elsewhere = dir.path().join("elsewhere.json");
        write(&dir.path().join("elsewhere"), &results, 3.0).unwrap();
        std::fs::rename(
            paths::probes_path(&dir.path().join("elsewhere")),
            &elsewhere,
        )
        .unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(read(&file).is_empty(), "a symlink is not followed");
    }
}
