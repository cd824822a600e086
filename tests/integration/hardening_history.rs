//! The history database under attack, with a real `hbmon serve`: another program holding
//! SQLite's write lock (at start, and while serve runs), the file deleted, emptied, given a
//! version hbmon never wrote, made writable by others, owned by another user, or replaced by
//! a symlink. Checks never wait for it, and nothing in it is trusted or lost silently.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::Value;

use crate::serve::{Serve, get, wait_for};
use crate::{hbmon, hbmon_std};
use hbmon::clock::unix_now;
use hbmon::history::History;

/// How stale `/status` may get. The monitor checks once a second (and on every change of
/// the file), so `now` is at most a second old by design; the rest is slack for a loaded CI
/// machine. A check waiting for a locked database was 5 s and more.
const FRESH: f64 = 2.0;

fn database(dir: &Path) -> PathBuf {
    hbmon::paths::history_path(&dir.join("hb.json"))
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Another program's connection holding the database's write lock (`BEGIN EXCLUSIVE`)
/// until it commits.
fn hold_lock(path: &Path) -> Connection {
    let holder = Connection::open(path).unwrap();
    holder.busy_timeout(Duration::from_secs(10)).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    holder
}

/// `/status`, and how old its check is (seconds).
fn status(serve: &Serve) -> (Value, f64) {
    let doc: Value = serde_json::from_str(&get(serve.addr(), "/status").body).unwrap();
    let age = unix_now() - doc["now"].as_f64().unwrap();
    (doc, age)
}

/// `name`'s newest beat in `/status`.
fn last_beat(doc: &Value, name: &str) -> Option<f64> {
    doc["processes"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["last_heartbeat"]
        .as_f64()
}

fn ping(serve: &Serve, name: &str) {
    let reply = get(serve.addr(), &format!("/ping/{name}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// The beat times `hbmon history NAME` reads.
fn recorded(dir: &Path, name: &str) -> BTreeSet<u64> {
    let out = hbmon(dir)
        .args(["history", name, "--json", "--limit", "0"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    doc["beats"]
        .as_array()
        .map(|beats| {
            beats
                .iter()
                .map(|b| b["time"].as_f64().unwrap().to_bits())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until history holds every one of `beats` (as `f64::to_bits`).
fn wait_recorded(dir: &Path, serve: &Serve, name: &str, beats: &BTreeSet<u64>) {
    wait_for(
        &format!("{} beats of {name} in history", beats.len()),
        || recorded(dir, name).is_superset(beats),
        || format!("recorded {:?}\n{}", recorded(dir, name), serve.log()),
    );
}

/// Beats and pings for `span`, reading `/status` between them: the worst age of its
/// check, and the beats the monitor saw.
fn pings_for(serve: &Serve, name: &str, span: Duration) -> (f64, BTreeSet<u64>) {
    let mut worst: f64 = 0.0;
    let mut seen = BTreeSet::new();
    let until = Instant::now() + span;
    while Instant::now() < until {
        ping(serve, name);
        std::thread::sleep(Duration::from_millis(150));
        let (doc, age) = status(serve);
        worst = worst.max(age);
        seen.extend(last_beat(&doc, name).map(f64::to_bits));
        std::thread::sleep(Duration::from_millis(150));
    }
    (worst, seen)
}

#[test]
fn a_locked_database_delays_no_check_and_its_beats_are_written_once_it_is_free() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    let holder = hold_lock(&database(dir.path()));

    // Longer than SQLite's busy timeout, which the monitor's loop used to wait out per check.
    let (worst, seen) = pings_for(&serve, "pinger", Duration::from_secs(7));
    eprintln!("/status at worst {worst:.3}s old while the database was locked");
    assert!(
        worst <= FRESH,
        "/status was {worst:.1}s old while the database was locked\n{}",
        serve.log()
    );
    serve.wait_log("is locked by another program");
    assert!(seen.len() >= 5, "{seen:?}");
    // Readers still read (WAL): nothing of the pings yet.
    assert!(recorded(dir.path(), "pinger").is_empty());

    holder.execute_batch("COMMIT").unwrap();
    serve.wait_log("is free again: wrote the");
    wait_recorded(dir.path(), &serve, "pinger", &seen);
}

#[test]
fn a_database_locked_at_start_is_waited_for_while_serve_monitors() {
    let dir = tempfile::tempdir().unwrap();
    let path = database(dir.path());
    // A database from an earlier run, locked by another program as serve starts.
    drop(History::open(&path).unwrap());
    let holder = hold_lock(&path);
    let started = Instant::now();
    let serve = Serve::start(dir.path(), "serve.log");
    ping(&serve, "early");
    serve.wait_log("is locked by another program");
    // Past SQLite's 5 s busy timeout, which used to end serve at start: still checking.
    std::thread::sleep(Duration::from_secs(6).saturating_sub(started.elapsed()));
    let (worst, seen) = pings_for(&serve, "early", Duration::from_secs(1));
    assert!(worst <= FRESH, "/status {worst:.1}s old\n{}", serve.log());
    assert!(!serve.log().contains("Error"), "{}", serve.log());

    holder.execute_batch("COMMIT").unwrap();
    serve.wait_log("is free again");
    wait_recorded(dir.path(), &serve, "early", &seen);
}

#[test]
fn a_deleted_database_is_noticed_and_recreated_with_a_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = database(dir.path());
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    ping(&serve, "w");
    let (_, first) = pings_for(&serve, "w", Duration::from_millis(300));
    wait_recorded(dir.path(), &serve, "w", &first);

    // As a user cleaning up might: the database alone, its -wal and -shm left behind.
    fs::remove_file(&path).unwrap();
    let (_, after) = pings_for(&serve, "w", Duration::from_millis(600));
    serve.wait_log(&format!("{} was deleted while recording", path.display()));
    wait_for(
        "the recording of the new file",
        || serve.log().matches("history: recording").count() == 2,
        || serve.log(),
    );
    // The beats written into the deleted file since the last look are in the new one.
    wait_recorded(dir.path(), &serve, "w", &after);
    assert!(path.exists());
}

#[test]
fn an_empty_database_is_initialised_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = database(dir.path());
    fs::write(&path, "").unwrap();
    fs::set_permissions(&path, PermissionsExt::from_mode(0o600)).unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log(&format!(
        "history: {} was empty (0 bytes), with no history in it: started a new history there",
        path.display()
    ));
    serve.wait_log("history: recording");
    let (_, seen) = pings_for(&serve, "w", Duration::from_millis(300));
    wait_recorded(dir.path(), &serve, "w", &seen);
}

#[test]
fn a_database_with_a_version_hbmon_never_wrote_is_moved_aside_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = database(dir.path());
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('keep me');
             PRAGMA user_version = -5;",
        )
        .unwrap();
    // Readers leave it be, and say what it is.
    hbmon(dir.path())
        .args(["history", "w"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("has schema version -5"));

    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    let log = serve.log();
    let line = log
        .lines()
        .find(|l| {
            l.contains("has schema version -5, which no hbmon writes") && l.contains("moved it")
        })
        .unwrap_or_else(|| panic!("not said:\n{log}"));
    let aside = line
        .split(" to ")
        .nth(1)
        .and_then(|rest| rest.split(" untouched").next())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(aside.contains(".corrupt-"), "{line}");
    let kept = Connection::open(aside).unwrap();
    let note: String = kept
        .query_row("SELECT t FROM notes", [], |r| r.get(0))
        .unwrap();
    let version: i64 = kept
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!((note.as_str(), version), ("keep me", -5));

    let (_, seen) = pings_for(&serve, "w", Duration::from_millis(300));
    wait_recorded(dir.path(), &serve, "w", &seen);
}

/// Every file of the history (and the alerts lock) in `dir`, after a beat was recorded.
fn history_files(dir: &Path) -> Vec<PathBuf> {
    let path = database(dir);
    vec![
        sidecar(&path, "-wal"),
        sidecar(&path, "-shm"),
        sidecar(&path, ".lock"),
        dir.join("hb.json.alerts.lock"),
        path,
    ]
}

fn record_one(dir: &Path, serve: &Serve) {
    serve.wait_log("history: recording");
    let (_, seen) = pings_for(serve, "w", Duration::from_millis(300));
    wait_recorded(dir, serve, "w", &seen);
}

#[test]
fn the_database_and_its_sidecars_are_as_private_as_the_heartbeat_directory() {
    let private = tempfile::tempdir().unwrap();
    fs::set_permissions(private.path(), PermissionsExt::from_mode(0o700)).unwrap();
    let serve = Serve::start(private.path(), "serve.log");
    record_one(private.path(), &serve);
    for file in history_files(private.path()) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    drop(serve);

    // A directory open to all, and a umask that takes nothing away: still never writable
    // by group or others (the trust check would refuse the file).
    let open = tempfile::tempdir().unwrap();
    fs::set_permissions(open.path(), PermissionsExt::from_mode(0o777)).unwrap();
    let hbmon = hbmon_std(open.path());
    let mut sh = Command::new("sh");
    sh.args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(hbmon.get_program())
        .args(["serve", "--listen", "127.0.0.1:0"]);
    for (key, value) in hbmon.get_envs() {
        match value {
            Some(value) => sh.env(key, value),
            None => sh.env_remove(key),
        };
    }
    let serve = Serve::spawn(sh, open.path(), "serve.log");
    record_one(open.path(), &serve);
    for file in history_files(open.path()) {
        assert_eq!(mode(&file), 0o644, "{}", file.display());
    }
}

#[test]
fn a_database_others_can_write_is_refused_in_one_line_and_serve_runs_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = database(dir.path());
    drop(History::open(&path).unwrap());
    fs::set_permissions(&path, PermissionsExt::from_mode(0o666)).unwrap();
    let uid = fs::metadata(&path).unwrap().uid();
    let refusal = format!(
        "history: refusing {}: owned by uid {uid}, mode 0666: writable by group or others",
        path.display()
    );

    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log(&refusal);
    // It monitors on, without history, and says so once.
    let (worst, seen) = pings_for(&serve, "w", Duration::from_secs(6));
    assert!(worst <= FRESH && !seen.is_empty(), "{worst} {seen:?}");
    assert_eq!(
        serve.log().matches("refusing").count(),
        1,
        "{}",
        serve.log()
    );
    let beats: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM beats", [], |r| r.get(0))
        .unwrap();
    assert_eq!(beats, 0);

    let out = hbmon(dir.path()).args(["history", "w"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&refusal["history: ".len()..]), "{stderr}");
}

#[test]
fn a_database_owned_by_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = database(dir.path());
    drop(History::open(&path).unwrap());
    // Root can give the file away (CI runs as root); anyone else cannot make the case.
    if let Err(e) = std::os::unix::fs::chown(&path, Some(65534), Some(65534)) {
        eprintln!("skipped: cannot chown to uid 65534 (nobody) without root: {e}");
        return;
    }
    let refusal = format!(
        "refusing {}: owned by uid 65534, mode {:04o}: owned by another user",
        path.display(),
        mode(&path)
    );
    hbmon(dir.path())
        .args(["history", "w"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(refusal.as_str()));
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log(&format!("history: {refusal}"));
    ping(&serve, "w");
}

#[test]
fn a_database_behind_a_symlink_is_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = database(dir.path());
    let elsewhere = dir.path().join("someone-elses.sqlite");
    drop(History::open(&elsewhere).unwrap());
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    let before = fs::read(&elsewhere).unwrap();

    hbmon(dir.path())
        .args(["history", "w"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("is a symbolic link to"));
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("is a symbolic link to");
    let (_, seen) = pings_for(&serve, "w", Duration::from_millis(600));
    assert!(!seen.is_empty());
    assert!(
        fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read(&elsewhere).unwrap(),
        before,
        "written through the link"
    );
    assert!(!sidecar(&elsewhere, "-wal").exists());
}

#[test]
fn a_symlink_planted_as_the_history_lock_is_refused_and_serve_runs_without_history() {
    let dir = tempfile::tempdir().unwrap();
    let lock = sidecar(&database(dir.path()), ".lock");
    let victim = dir.path().join("victim");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log(&format!(
        "history: {} is a symbolic link to {}",
        lock.display(),
        victim.display()
    ));
    let (worst, seen) = pings_for(&serve, "w", Duration::from_secs(2));
    assert!(worst <= FRESH && !seen.is_empty(), "{worst} {seen:?}");
    assert!(!victim.exists(), "created through the link");
    assert_eq!(
        serve.log().matches("symbolic link").count(),
        1,
        "{}",
        serve.log()
    );
}
