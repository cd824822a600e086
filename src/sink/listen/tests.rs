//! The socket's rules that need no serve: its mode, who may beat, what is found at its path.

use std::os::unix::fs::PermissionsExt;

use super::*;

#[test]
fn the_socket_is_open_to_whom_its_directory_lets_write() {
    for (dir, socket) in [
        (0o700, 0o600),
        (0o755, 0o600),
        (0o775, 0o660),
        (0o1777, 0o666),
        (0o757, 0o606),
    ] {
        assert_eq!(socket_mode(dir), socket, "directory {dir:o}");
    }
}

#[test]
fn only_users_the_directory_lets_write_may_beat() {
    let dir = tempfile::tempdir().unwrap();
    let me = euid();
    let stranger = me + 12_345;
    let gid = std::fs::metadata(dir.path()).unwrap().gid();
    for (mode, uid, peer_gid, may) in [
        (0o700, me, gid, true),
        (0o700, 0, gid + 1, true),
        (0o755, stranger, gid, false),
        (0o775, stranger, gid, true),
        (0o775, stranger, gid + 1, false),
        (0o1777, stranger, gid + 1, true),
    ] {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        let meta = std::fs::metadata(dir.path()).unwrap();
        assert_eq!(
            may_write(&meta, uid, peer_gid),
            may,
            "{mode:o} uid {uid} gid {peer_gid}"
        );
    }
}

#[test]
fn a_socket_someone_answers_on_is_not_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hb.json.sock");
    let first = bind(&path).unwrap();
    let err = bind(&path).unwrap_err();
    assert!(matches!(err, ListenError::Answered { .. }), "{err}");
    assert!(
        err.to_string().contains("another hbmon serve answers"),
        "{err}"
    );
    drop(first);
    // Nobody listens now, but the socket is there: a stale one, replaced.
    assert!(path.exists());
    bind(&path).unwrap();
}

#[test]
fn a_clients_waiting_requests_are_taken_at_once_and_answered_in_order() {
    use std::io::{BufRead, BufReader};
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let sink = Arc::new(Sink::start(crate::store::Store::new(&file)).unwrap());
    let listening = listen(Arc::clone(&sink)).unwrap();
    // Another writer holds the file's lock: no flush can write until it lets go.
    let lock = std::fs::File::create(crate::paths::lock_path(&file)).unwrap();
    // SAFETY: flock on a descriptor open for the call.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let mut client = UnixStream::connect(listening.path()).unwrap();
    let names = ["a", "b", "c", "d"];
    for name in names {
        writeln!(client, "{{\"name\": \"{name}\", \"wait\": true}}").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let released = unix_now();
    drop(lock);
    let mut replies = BufReader::new(&client).lines();
    for name in names {
        let reply = replies.next().unwrap().unwrap();
        let entry: crate::store::Entry =
            serde_json::from_str(reply.strip_prefix("ok ").expect(&reply)).unwrap();
        // Each request was taken (and stamped) while the one before it waited for the
        // lock, not after that one was written.
        assert!(entry.last_heartbeat < released, "{name}: {reply}");
    }
    let snapshot = crate::store::read(&file).unwrap();
    assert_eq!(snapshot.entries.len(), names.len());
}
