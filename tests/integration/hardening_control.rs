//! The control socket's client attacked: `hbmon start|stop|restart` must not talk to a
//! socket in a control directory it cannot trust — one others may write (another user put
//! a listener there, and serve refused to bind), or a symlink to somewhere else — or a
//! stranger would read the request and answer it with a lie ("stopping web").

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, Instant};

/// A stranger's listener at `dir/socket`, on a thread, that answers any request with a
/// fake success; joined, it says whether anyone connected.
fn stranger(dir: &Path) -> std::thread::JoinHandle<bool> {
    let listener = UnixListener::bind(dir.join("socket")).unwrap();
    fs::set_permissions(dir.join("socket"), fs::Permissions::from_mode(0o777)).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok((stream, _)) = listener.accept() {
                stream.set_nonblocking(false).unwrap();
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                let _ = (&stream).write_all(b"{\"ok\": true, \"text\": \"stopping web\"}\n");
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    })
}

#[test]
fn hbmon_stop_refuses_a_control_directory_others_may_write_or_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let control = d.join("hb.json.control");
    let elsewhere = d.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o700)).unwrap();
    for planted in ["open to others", "a symlink"] {
        let connected = if planted == "a symlink" {
            std::os::unix::fs::symlink(&elsewhere, &control).unwrap();
            stranger(&elsewhere)
        } else {
            fs::create_dir(&control).unwrap();
            fs::set_permissions(&control, fs::Permissions::from_mode(0o777)).unwrap();
            stranger(&control)
        };
        let out = crate::hbmon(d).args(["stop", "web"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !connected.join().unwrap(),
            "{planted}: the request went to the stranger: {err}"
        );
        assert!(!out.status.success(), "{planted}: {out:?}");
        assert_eq!(err.trim().lines().count(), 1, "{planted}: {err}");
        assert!(
            err.contains(&format!("{} is not a directory only", control.display())),
            "{planted}: {err}"
        );
        let _ = fs::remove_file(&control);
        let _ = fs::remove_dir_all(&control);
        let _ = fs::remove_file(elsewhere.join("socket"));
    }
}

#[test]
fn a_client_that_dribbles_its_request_does_not_hold_up_hbmon_stop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("hbmon.toml"),
        "[[process]]\nname = \"svc\"\ninterval = \"1s\"\nrun = \"sleep 300\"\n",
    )
    .unwrap();
    let serve = crate::serve::Serve::start(d, "serve.log");
    serve.wait_log("svc: pending -> up");
    // One byte every half second, never a whole line: each read is quick, the request
    // never ends.
    let socket = d.join("hb.json.control").join("socket");
    let mut slow = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    let dribbler = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && slow.write_all(b" ").is_ok() {
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let out = crate::hbmon(d).args(["stop", "svc"]).output().unwrap();
    assert!(out.status.success(), "{out:?}\n{}", serve.log());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "stopping svc\n");
    serve.wait_log("svc: up -> stopped");
    dribbler.join().unwrap();
}
