//! `<file>.probes.json`: the probe results the one monitor that probes publishes, so that
//! other monitors and `hbmon status` show the same results without probing twice: a
//! [`crate::sidecar`], written and read with its safety. A result older than its probe's
//! cadence allows ([`super::stale_after`]) is marked stale: the monitor holding the lock
//! may hang, or be stopped, while it keeps the lock.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Results;
use crate::config::Config;
use crate::{paths, sidecar};

#[derive(Serialize, Deserialize)]
struct Body {
    results: Results,
}

/// Publishes `results` beside `file`.
pub fn write(file: &Path, results: &Results, now: f64) -> std::io::Result<()> {
    let body = Body {
        results: results.clone(),
    };
    sidecar::write(&paths::probes_path(file), &body, now)
}

/// The results published beside `file`, as `config` judges them at `now`: each result
/// older than [`super::stale_after`] its probe's `probe_every` and `probe_timeout` (its last
/// run's end, or when the file was written for one not run yet) marked stale. None when
/// there is no such file, or it is not one to trust (see [`sidecar::read`]).
pub fn read(file: &Path, config: &Config, now: f64) -> Results {
    let Some(published) = sidecar::read::<Body>(&paths::probes_path(file)) else {
        return Results::new();
    };
    let mut results = published.body.results;
    let limits: HashMap<&str, f64> = config
        .processes
        .iter()
        .filter_map(|p| {
            let probes = p.probes.as_ref()?;
            let every = super::every(config, p, probes);
            Some((p.name.as_str(), super::stale_after(every, probes.timeout)))
        })
        .collect();
    for (name, statuses) in &mut results {
        let Some(&limit) = limits.get(name.as_str()) else {
            continue;
        };
        for status in statuses {
            status.stale = now - status.last_at.unwrap_or(published.written_at) > limit;
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ProbeStatus;

    #[test]
    fn results_read_back_and_a_planted_symlink_garbage_or_a_writable_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let none = Config::default();
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
        assert!(read(&file, &none, 3.0).is_empty());
        write(&file, &results, 3.0).unwrap();
        assert_eq!(read(&file, &none, 3.0), results);
        let path = paths::probes_path(&file);
        // Results another user could have written are no results.
        let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
        std::fs::set_permissions(&path, mode(0o666)).unwrap();
        assert!(
            read(&file, &none, 3.0).is_empty(),
            "a file others can write is not trusted"
        );
        std::fs::set_permissions(&path, mode(0o644)).unwrap();
        assert_eq!(read(&file, &none, 3.0), results);
        std::fs::write(&path, "{ not json").unwrap();
        assert!(read(&file, &none, 3.0).is_empty());
        std::fs::remove_file(&path).unwrap();
        let elsewhere = dir.path().join("elsewhere.json");
        write(&dir.path().join("elsewhere"), &results, 3.0).unwrap();
        std::fs::rename(
            paths::probes_path(&dir.path().join("elsewhere")),
            &elsewhere,
        )
        .unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(
            read(&file, &none, 3.0).is_empty(),
            "a symlink is not followed"
        );
    }

    #[test]
    fn a_result_older_than_three_turns_and_a_timeout_reads_as_stale() {
        use crate::checks::ProbeStatus;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let config = Config::parse(
            "[[process]]\nname = \"web\"\nhttp = \"http://127.0.0.1:1/\"\n\
             probe_every = \"10s\"\nprobe_timeout = \"5s\"\n",
            Path::new("hbmon.toml"),
        )
        .unwrap();
        // 3 x 10 s + 5 s = 35 s: (age of the last run, stale).
        let cases = [(1.0, false), (34.0, false), (36.0, true), (3600.0, true)];
        for (age, stale) in cases {
            let now = 10_000.0;
            let status = ProbeStatus::sample(
                "http",
                "http://127.0.0.1:1/",
                Some(true),
                0,
                &[1.0],
                now - age,
            );
            let results = Results::from([("web".to_owned(), vec![status])]);
            write(&file, &results, now - age).unwrap();
            let read = read(&file, &config, now);
            assert_eq!(read["web"][0].stale, stale, "a result {age}s old");
        }
        // Not run yet: as old as the file.
        let waiting = ProbeStatus::sample("http", "http://127.0.0.1:1/", None, 0, &[], 0.0);
        write(
            &file,
            &Results::from([("web".to_owned(), vec![waiting])]),
            100.0,
        )
        .unwrap();
        assert!(!read(&file, &config, 130.0)["web"][0].stale);
        assert!(read(&file, &config, 136.0)["web"][0].stale);
    }
}
