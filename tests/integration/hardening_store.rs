//! Attacks on the heartbeat file in a directory other users can write: planted symlinks at
//! the file, its lock, its temp and corrupt-copy names; a FIFO or a huge file in its place;
//! a lock held for good; temp files orphaned by `kill -9`; a config others could write.
//! Each is a regression test of a hole found by an attack pass (issue 10).

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hbmon::store::{Beat, Store};

use crate::hbmon;
use crate::serve::{Serve, get, wait_for};

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A file the attacker points a link at, and what it looked like before.
fn victim(dir: &Path) -> std::path::PathBuf {
    let target = dir.join("victim-bashrc");
    fs::write(&target, "export PATH\n").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    target
}

fn assert_untouched(target: &Path) {
    assert_eq!(fs::read_to_string(target).unwrap(), "export PATH\n");
    assert_eq!(mode(target), 0o600, "the target's mode was changed");
}

#[test]
fn a_symlink_planted_at_the_temp_name_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let store = Store::new(&file);
    store.beat("seed", &Beat::alive(None)).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
    let target = victim(dir.path());
    // The name every writer of this PID used, and guesses at the new form's prefix.
    let pid = std::process::id();
    symlink(&target, dir.path().join(format!(".hb.json.{pid}.tmp"))).unwrap();
    store.beat("mine", &Beat::alive(None)).unwrap();
    assert_untouched(&target);
    assert!(fs::symlink_metadata(&file).unwrap().is_file());
    assert_eq!(mode(&file), 0o666, "the rewrite kept the file's mode");
    let snapshot = hbmon::store::read(&file).unwrap();
    assert!(snapshot.get("mine").is_some() && snapshot.get("seed").is_some());
}

#[test]
fn a_symlink_at_the_heartbeat_path_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = victim(dir.path());
    symlink(&target, dir.path().join("hb.json")).unwrap();
    for args in [&["beat", "w", "-q"][..], &["status"][..]] {
        let out = hbmon(dir.path()).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("hb.json is a symbolic link to") && err.contains("victim-bashrc"),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    assert_untouched(&target);
}

#[test]
fn the_resolved_path_of_a_linked_heartbeat_file_works() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    Store::new(&real).beat("w", &Beat::alive(None)).unwrap();
    symlink(&real, dir.path().join("hb.json")).unwrap();
    hbmon(dir.path())
        .args(["beat", "w", "-q"])
        .assert()
        .failure();
    hbmon(dir.path())
        .args(["beat", "w", "-q", "--file"])
        .arg(&real)
        .assert()
        .success();
    let entry = hbmon::store::read(&real).unwrap().get("w").unwrap().clone();
    // `hbmon beat` names its caller (this test) as the PID; the library's beat named none.
    assert_eq!(entry.pid, Some(std::process::id()));
    assert!(
        fs::symlink_metadata(dir.path().join("hb.json"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn a_symlink_at_the_lock_path_creates_nothing_where_it_points() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("created-by-the-victim");
    symlink(&elsewhere, dir.path().join("hb.json.lock")).unwrap();
    let out = hbmon(dir.path())
        .args(["beat", "w", "-q"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hb.json.lock is a symbolic link"), "{err}");
    assert!(!elsewhere.exists(), "the link was followed");
    assert!(!dir.path().join("hb.json").exists());
}

#[test]
fn a_symlink_at_the_corrupt_copy_name_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    fs::write(&file, "{ junk").unwrap();
    let target = victim(dir.path());
    let now = hbmon::clock::unix_now() as u64;
    for secs in now..now + 5 {
        symlink(&target, dir.path().join(format!("hb.json.corrupt-{secs}"))).unwrap();
    }
    hbmon(dir.path())
        .args(["beat", "w", "-q"])
        .assert()
        .success();
    assert_untouched(&target);
    let copies: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| fs::symlink_metadata(p).unwrap().is_file())
        .filter_map(|p| fs::read_to_string(p).ok())
        .filter(|text| text == "{ junk")
        .collect();
    assert_eq!(copies.len(), 1, "the corrupt file was kept, once");
}

#[test]
fn a_fifo_at_the_heartbeat_path_fails_at_once_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("hb.json");
    crate::mkfifo(&fifo);
    for args in [&["beat", "w", "-q"][..], &["status"][..]] {
        let started = Instant::now();
        let mut child = crate::hbmon_std(dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("hbmon {args:?} hung on a FIFO");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(!status.success(), "{args:?}");
        assert!(
            err.contains("is a FIFO, not a regular file"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_file_over_the_size_cap_is_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    fs::File::create(&file)
        .unwrap()
        .set_len(hbmon::fsafe::MAX_FILE_SIZE + 1)
        .unwrap();
    for args in [&["beat", "w", "-q"][..], &["status"][..]] {
        let out = hbmon(dir.path()).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("over the 64 MiB limit"), "{args:?}: {err}");
    }
    assert_eq!(
        fs::metadata(&file).unwrap().len(),
        hbmon::fsafe::MAX_FILE_SIZE + 1,
        "left as it was"
    );
}

#[test]
fn temp_files_orphaned_by_dead_writers_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    // A writer killed mid-write: its temp file, of a PID no process has.
    let orphan = dir.path().join(".hb.json.2147483632.00000000deadbeef.tmp");
    fs::write(&orphan, vec![b' '; 1 << 20]).unwrap();
    let old_style = dir.path().join(".hb.json.2147483633.tmp");
    fs::write(&old_style, "x").unwrap();
    // Its lock file, last touched (swept) longer ago than a sweep's minute.
    let lock = fs::File::create(dir.path().join("hb.json.lock")).unwrap();
    lock.set_modified(std::time::SystemTime::now() - Duration::from_secs(120))
        .unwrap();
    hbmon(dir.path())
        .args(["beat", "w", "-q"])
        .assert()
        .success();
    assert!(!orphan.exists() && !old_style.exists());
}

#[test]
fn a_bom_or_a_float_version_is_read_not_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    for text in [
        "\u{feff}{\"version\": 1, \"processes\": {\"theirs\": {\"last_heartbeat\": 1}}}",
        "{\"version\": 1.0, \"processes\": {\"theirs\": {\"last_heartbeat\": 1}}}",
    ] {
        fs::write(&file, text).unwrap();
        hbmon(dir.path())
            .args(["beat", "mine", "-q"])
            .assert()
            .success();
        let snapshot = hbmon::store::read(&file).unwrap();
        assert!(snapshot.get("theirs").is_some(), "{text}");
        assert!(snapshot.get("mine").is_some(), "{text}");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.iter().any(|n| n.contains("corrupt")), "{names:?}");
    }
}

#[test]
fn files_created_in_a_private_directory_are_private() {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    hbmon(dir.path())
        .args(["beat", "w", "-q"])
        .assert()
        .success();
    for name in ["hb.json", "hb.json.lock"] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
}

#[test]
fn a_config_others_can_write_is_refused_naming_file_owner_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbmon.toml");
    fs::write(&config, "[[alert]]\ncommand = 'touch pwned'\n").unwrap();
    fs::set_permissions(&config, fs::Permissions::from_mode(0o666)).unwrap();
    // `status` exits 3 (unknown) on any error, the others 2.
    let out = hbmon(dir.path()).args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing")
            && err.contains("hbmon.toml")
            && err.contains("mode 0666")
            && err.contains("writable by group or others"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    fs::set_permissions(&config, fs::Permissions::from_mode(0o644)).unwrap();
    hbmon(dir.path()).args(["config"]).assert().success();
}

#[test]
fn a_config_owned_by_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbmon.toml");
    fs::write(&config, "").unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: giving a file to another user needs root (CI runs as root)");
        return;
    }
    std::os::unix::fs::chown(&config, Some(65534), None).unwrap();
    let out = hbmon(dir.path()).args(["config"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("owned by uid 65534") && err.contains("owned by another user"),
        "{err}"
    );
}

fn count_entries(dir: &str) -> usize {
    fs::read_dir(dir).map_or(0, Iterator::count)
}

/// The names of a process's threads, for a failure message.
fn thread_names(tasks: &str) -> Vec<String> {
    fs::read_dir(tasks)
        .map(|dir| {
            dir.filter_map(|t| fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|n| n.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_lock_held_for_good_costs_serve_one_thread_and_pings_get_503_at_once() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args(["beat", "seed", "-q"])
        .assert()
        .success();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let tasks = format!("/proc/{}/task", serve.pid());
    let fds = format!("/proc/{}/fd", serve.pid());
    assert_eq!(get(addr, "/ping/before").status, 200);
    let (threads_before, fds_before) = (count_entries(&tasks), count_entries(&fds));
    // Another process takes the lock and keeps it.
    let lock = fs::File::open(dir.path().join("hb.json.lock")).unwrap();
    lock.lock().unwrap();
    // The first ping waits out the write timeout and says why it failed.
    let first = get(addr, "/ping/a");
    assert_eq!(first.status, 503, "{}", first.body);
    assert!(first.body.contains("timed out"), "{}", first.body);
    // Every ping after it is refused at once, without a thread or descriptor of its own.
    let started = Instant::now();
    for i in 0..20 {
        let reply = get(addr, &format!("/ping/b{i}"));
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(
            reply.body.contains("hb.json.lock is locked"),
            "{}",
            reply.body
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once, not after a timeout each: {:?}",
        started.elapsed()
    );
    // A connection's thread ends just after its reply: give the last ones a moment (on a
    // loaded machine that moment can be long; what must not happen is a thread that stays).
    let settled = Instant::now() + Duration::from_secs(10);
    while count_entries(&tasks) > threads_before + 1 && Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (threads, open) = (count_entries(&tasks), count_entries(&fds));
    assert!(
        threads <= threads_before + 1,
        "{threads_before} -> {threads} threads: {:?}",
        thread_names(&tasks)
    );
    assert!(open <= fds_before + 2, "{fds_before} -> {open} descriptors");
    assert_eq!(get(addr, "/healthz").status, 200);
    // Let go: pings work again once the waiter had its turn.
    lock.unlock().unwrap();
    wait_for(
        "pings to be taken again",
        || get(addr, "/ping/after").status == 200,
        || serve.log(),
    );
}
