//! The beat sink of `hbmon serve` (`<file>.sock`) end to end: writers through it and
//! around it on one file losing nothing, SIGTERM's flush, hostile clients, what is planted
//! at the socket's path, and the stale socket of a killed serve.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use hbmon::store::{self, Beat, DataChange, Store};
use serde_json::json;

use crate::hbmon;
use crate::serve::{Serve, wait_for};

const HBMON: &str = env!("CARGO_BIN_EXE_hbmon");
const SINK_UP: &str = "sink: beats taken on ";

fn socket(dir: &Path) -> PathBuf {
    dir.join("hb.json.sock")
}

/// Sends one request line and reads the reply line.
fn call(stream: &mut UnixStream, line: &str) -> String {
    stream.write_all(line.as_bytes()).unwrap();
    read_reply(stream)
}

fn read_reply(stream: &UnixStream) -> String {
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).unwrap();
    reply
}

/// `hbmon beat NAME -v` with `args`; its stderr, which says which path it took.
fn beat_verbose(dir: &Path, name: &str, args: &[&str]) -> String {
    let out = hbmon(dir)
        .args(["beat", name, "-v", "-q"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// Waits until `name` is in the file (the sink writes within a tick).
fn wait_entry(file: &Path, name: &str) -> store::Entry {
    let mut found = None;
    wait_for(
        &format!("{name:?} in {}", file.display()),
        || {
            found = store::read(file).ok().and_then(|s| s.get(name).cloned());
            found.is_some()
        },
        || fs::read_to_string(file).unwrap_or_default(),
    );
    found.unwrap()
}

const PYTHON_WRITER: &str = "
import sys
sys.path.insert(0, sys.argv[1])
import hbmon
for i in range(int(sys.argv[4])):
    hbmon.beat(sys.argv[2], {'seq': i}, file=sys.argv[3])
";

#[test]
fn the_sink_merges_with_python_and_direct_file_writers_and_loses_no_beat() {
    const WRITERS: usize = 3;
    const BEATS: u64 = 40;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log(SINK_UP);
    let python: Vec<_> = (0..WRITERS)
        .map(|n| {
            Command::new("python3")
                .arg("-c")
                .arg(PYTHON_WRITER)
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/src"))
                .arg(format!("py-{n}"))
                .arg(&file)
                .arg(BEATS.to_string())
                // The Python writer as one that bypasses the sink, writing the file itself.
                .env("HBMON_SINK", "0")
                .stdin(Stdio::null())
                .spawn()
                .expect("python3 is needed for this test (as for .ci/run)")
        })
        .collect();
    // hbmon beat through the sink, and hbmon's file protocol around it (the path `hbmon
    // beat` falls back to), at once.
    let writers: Vec<_> = (0..WRITERS)
        .flat_map(|n| {
            let (sink_file, direct_file) = (file.clone(), file.clone());
            [
                std::thread::spawn(move || {
                    for seq in 0..BEATS {
                        let out = Command::new(HBMON)
                            .arg("--file")
                            .arg(&sink_file)
                            .args(["beat", &format!("sink-{n}"), "-v", "--pid", "4242"])
                            .arg(format!("--set=seq={seq}"))
                            .output()
                            .unwrap();
                        assert!(out.status.success(), "sink-{n} #{seq}: {out:?}");
                        let said = String::from_utf8_lossy(&out.stderr);
                        assert!(said.contains("beat sink"), "sink-{n} #{seq}: {said}");
                    }
                }),
                std::thread::spawn(move || {
                    // What is tested is that nothing is lost, not how long the lock is
                    // waited for on a loaded machine (ten writers take turns).
                    let store =
                        Store::new(&direct_file).with_lock_timeout(Duration::from_secs(120));
                    for seq in 0..BEATS {
                        let mut beat = Beat::alive(Some(4343));
                        beat.data = DataChange::Replace(json!({ "seq": seq }));
                        store.beat(&format!("file-{n}"), &beat).unwrap();
                    }
                }),
            ]
        })
        .collect();
    for mut child in python {
        assert!(child.wait().unwrap().success());
    }
    for writer in writers {
        writer.join().unwrap();
    }
    for n in 0..WRITERS {
        for prefix in ["py", "sink", "file"] {
            let name = format!("{prefix}-{n}");
            wait_for(
                &format!("{name}'s last beat"),
                || {
                    store::read(&file)
                        .ok()
                        .and_then(|s| s.get(&name).cloned())
                        .is_some_and(|e| {
                            e.additional_data["seq"] == json!(BEATS - 1) && e.beats == Some(BEATS)
                        })
                },
                || format!("{}\n{}", fs::read_to_string(&file).unwrap(), serve.log()),
            );
        }
    }
    assert_eq!(store::read(&file).unwrap().entries.len(), 3 * WRITERS);
}

#[test]
fn sigterm_writes_every_queued_beat_before_serve_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log(SINK_UP);
    let mut stream = UnixStream::connect(socket(dir.path())).unwrap();
    for i in 0..300 {
        let reply = call(
            &mut stream,
            &format!("{{\"name\": \"q-{i}\", \"set\": {{\"i\": {i}}}}}\n"),
        );
        assert_eq!(reply, "ok\n", "q-{i}");
    }
    // Answered `ok` means queued: the tick's flush may not have come yet.
    assert!(serve.terminate().success(), "{}", serve.log());
    let snapshot = store::read(&dir.path().join("hb.json")).unwrap();
    for i in 0..300 {
        let entry = snapshot.get(&format!("q-{i}"));
        assert_eq!(
            entry.map(|e| e.additional_data["i"].clone()),
            Some(json!(i)),
            "q-{i}\n{}",
            serve.log()
        );
    }
    assert!(
        !socket(dir.path()).exists(),
        "the socket is removed at the stop"
    );
}

#[test]
fn hostile_clients_are_answered_and_cut_off_while_others_beat() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log(SINK_UP);
    // As open as a new file in its directory: a private directory, a private socket.
    let mode = fs::symlink_metadata(socket(dir.path()))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    let mut garbage = UnixStream::connect(socket(dir.path())).unwrap();
    let reply = call(&mut garbage, "\u{1b}[31mnot json\n");
    assert!(reply.starts_with("error: not a beat request"), "{reply}");
    let reply = call(&mut garbage, "{\"name\": \"x\", \"evil\": 1}\n");
    assert!(reply.contains("unknown field `evil`"), "{reply}");
    let reply = call(&mut garbage, "{\"name\": \"bell\\u0007\"}\n");
    assert!(
        reply.starts_with("error: name:") && !reply.contains('\u{7}'),
        "{reply:?}"
    );

    // A line past the limit: refused and closed, not buffered without end.
    let mut huge = UnixStream::connect(socket(dir.path())).unwrap();
    let big = vec![b'x'; 200 * 1024];
    let _ = huge.write_all(&big);
    let reply = read_reply(&huge);
    assert!(
        reply.starts_with("error: line longer than 65536 bytes"),
        "{reply}"
    );
    let mut rest = Vec::new();
    huge.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = huge.read_to_end(&mut rest);

    // Half a line, then nothing: cut off at the line's deadline.
    let stalled = UnixStream::connect(socket(dir.path())).unwrap();
    (&stalled).write_all(b"{\"name\": \"sta").unwrap();
    // Meanwhile others beat through the sink.
    let said = beat_verbose(dir.path(), "fine", &[]);
    assert!(
        said.contains("written through hbmon serve's beat sink"),
        "{said}"
    );
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reply = read_reply(&stalled);
    assert!(
        reply.starts_with("error: line not finished within 2s"),
        "{reply}"
    );

    assert!(wait_entry(&file, "fine").pid.is_some());
    let snapshot = store::read(&file).unwrap();
    assert_eq!(
        snapshot.entries.len(),
        1,
        "nothing of the garbage was written"
    );
    assert!(serve.log().contains(SINK_UP));
}

#[test]
fn a_link_or_a_file_at_the_sockets_path_is_refused_never_followed_or_removed() {
    for planted in ["link", "file"] {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "precious").unwrap();
        match planted {
            "link" => std::os::unix::fs::symlink(&target, socket(dir.path())).unwrap(),
            _ => fs::write(socket(dir.path()), "not a socket").unwrap(),
        }
        let serve = Serve::start(dir.path(), "serve.log");
        let says = match planted {
            "link" => "a symbolic link, not a socket of this user's: left as it is",
            _ => "not a socket, not a socket of this user's: left as it is",
        };
        serve.wait_log(says);
        // hbmon beat does not talk to it either: it writes the file.
        let said = beat_verbose(dir.path(), "w", &[]);
        assert!(
            said.contains("writing the file itself"),
            "{planted}: {said}"
        );
        assert!(
            store::read(&dir.path().join("hb.json"))
                .unwrap()
                .get("w")
                .is_some()
        );
        let meta = fs::symlink_metadata(socket(dir.path())).unwrap();
        assert_eq!(
            meta.file_type().is_symlink(),
            planted == "link",
            "{planted}"
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious");
        // Pings still work: they go through serve's own table, socket or not.
        let reply = crate::serve::get(serve.addr(), "/ping/http");
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

#[test]
fn a_killed_serves_stale_socket_is_replaced_and_hbmon_beat_meanwhile_writes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let mut serve = Serve::start(dir.path(), "first.log");
    serve.wait_log(SINK_UP);
    let said = beat_verbose(dir.path(), "w", &["--set", "n=1"]);
    assert!(said.contains("beat sink"), "{said}");
    let killed = Command::new("kill")
        .args(["-KILL", &serve.pid().to_string()])
        .status();
    assert!(killed.unwrap().success());
    serve.wait_exit();
    assert!(
        fs::symlink_metadata(socket(dir.path()))
            .unwrap()
            .file_type()
            .is_socket()
    );
    // Nobody answers: hbmon beat writes the file itself, at once.
    let said = beat_verbose(dir.path(), "w", &["--set", "n=2"]);
    assert!(
        said.contains("writing the file itself") && said.contains("refused"),
        "{said}"
    );
    assert_eq!(wait_entry(&file, "w").additional_data["n"], json!(2));
    let second = Serve::start(dir.path(), "second.log");
    second.wait_log(SINK_UP);
    let said = beat_verbose(dir.path(), "w", &["--set", "n=3"]);
    assert!(said.contains("beat sink"), "{said}");
    wait_for(
        "the third beat",
        || {
            store::read(&file)
                .unwrap()
                .get("w")
                .unwrap()
                .additional_data["n"]
                == json!(3)
        },
        || second.log(),
    );
}

#[test]
fn once_hbmon_beat_returns_through_the_sink_the_next_command_sees_the_beat() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log(SINK_UP);
    // A script's next line after a beat: without waiting for the flush, the pause would
    // race the sink's tick and miss the entry.
    for i in 0..5 {
        let name = format!("job{i}");
        let said = beat_verbose(dir.path(), &name, &["--no-pid"]);
        assert!(
            said.contains("written through hbmon serve's beat sink"),
            "{said}"
        );
        let out = hbmon(dir.path()).args(["pause", &name]).output().unwrap();
        assert!(
            out.status.success(),
            "pause {name} right after its beat: {out:?}"
        );
    }
    let out = hbmon(dir.path())
        .args(["beat", "job0", "--no-pid"])
        .output()
        .unwrap();
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.starts_with("alive \"job0\" (no pid, beat 2) -> "),
        "{said}"
    );
}

const PYTHON_THROUGH: &str = "
import sys
sys.path.insert(0, sys.argv[1])
import hbmon
entry = hbmon.beat('py', {'queue': 3}, file=sys.argv[2], interval=30)
assert entry['additional_data'] == {'queue': 3}, entry
entry = hbmon.beat('py', {'done': 1}, merge=True, file=sys.argv[2])
assert entry['additional_data'] == {'queue': 3, 'done': 1}, entry
assert entry['beats'] == 2, entry
hb = hbmon.Heartbeat('py-hb', file=sys.argv[2], interval=30)
hb.start()
hb.stop()
";

#[test]
fn the_python_package_beats_through_the_sink_when_serve_answers_and_the_file_when_not() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let python = |file: &Path| {
        Command::new("python3")
            .arg("-c")
            .arg(PYTHON_THROUGH)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/src"))
            .arg(file)
            .env("HBMON_DEBUG", "1")
            .output()
            .expect("python3 is needed for this test (as for .ci/run)")
    };
    // No serve: the file, and the debug line says why.
    let out = python(&file);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(
        said.contains("writing the file itself: no beat sink"),
        "{said}"
    );
    fs::remove_file(&file).unwrap();
    // A serve: every beat through its sink, each returning the entry it wrote.
    let mut serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log(SINK_UP);
    let out = python(&file);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}\n{}", serve.log());
    assert!(
        said.contains("beat 'py' through hbmon serve's beat sink"),
        "{said}"
    );
    assert!(!said.contains("writing the file itself"), "{said}");
    let entries = store::read(&file).unwrap();
    assert_eq!(entries.get("py").unwrap().beats, Some(2));
    assert_eq!(
        entries.get("py-hb").unwrap().reported(),
        store::Reported::Stopped
    );
    serve.terminate();
    // Something else at the socket's name (here a regular file) is not talked to.
    fs::write(socket(dir.path()), "not a socket").unwrap();
    let out = python(&dir.path().join("hb.json"));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(said.contains("is not a socket"), "{said}");
}
