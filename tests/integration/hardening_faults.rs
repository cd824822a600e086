//! Every fault of issue 10 at once, against one real `hbmon serve`: a FIFO put where the
//! heartbeat file was, its lock held by another process, the history database locked by
//! another program, and an alert command that hangs. The checks go on: `/status` stays
//! fresh, serve's threads and descriptors stay bounded, and SIGTERM stops it within 5 s,
//! taking the hanging command with it.

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::hardening_alerts::Hang;
use crate::serve::{Serve, Worker, beat, get, wait_for};

/// Checks run once a second; the rest is slack for a loaded 2-core CI machine.
const FRESH: f64 = 2.0;

fn count(dir: &str) -> usize {
    fs::read_dir(dir).map_or(0, Iterator::count)
}

#[test]
fn a_fifo_a_held_lock_a_locked_history_and_a_hanging_alert_at_once_stop_no_check() {
    let dir = tempfile::tempdir().unwrap();
    let hang = Hang::new();
    fs::write(
        dir.path().join("hbmon.toml"),
        format!("[[alert]]\ncommand = '{}'\n", hang.command()),
    )
    .unwrap();
    let mut worker = Worker::start();
    beat(dir.path(), "worker", &worker.pid(), &[]);
    let mut serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    serve.wait_log("history: recording");
    serve.wait_log("worker: new -> up");
    let tasks = format!("/proc/{}/task", serve.pid());
    let fds = format!("/proc/{}/fd", serve.pid());
    let (threads_before, fds_before) = (count(&tasks), count(&fds));

    // 1. An alert that hangs: the worker dies.
    worker.kill();
    serve.wait_log("worker: up -> dead");
    wait_for(
        "the hanging alert command",
        || !hang.alive().is_empty(),
        || serve.log(),
    );
    // 2. Another program locks the history database.
    let database = hbmon::paths::history_path(&dir.path().join("hb.json"));
    let holder = rusqlite::Connection::open(&database).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // 3. Another process holds the heartbeat file's lock for good.
    let lock = fs::File::open(dir.path().join("hb.json.lock")).unwrap();
    lock.lock().unwrap();
    // 4. A FIFO where the heartbeat file was.
    let fifo = dir.path().join("fifo");
    crate::mkfifo(&fifo);
    fs::rename(&fifo, dir.path().join("hb.json")).unwrap();
    serve.wait_log("is a FIFO, not a regular file");

    // Pings fail (the lock), one at a time and then at once; the checks go on meanwhile.
    let started = Instant::now();
    for i in 0..6 {
        let ping = get(addr, &format!("/ping/p{i}"));
        assert_eq!(ping.status, 503, "{}", ping.body);
        let doc: Value = serde_json::from_str(&get(addr, "/status").body).unwrap();
        let age = hbmon::clock::unix_now() - doc["now"].as_f64().unwrap();
        assert!(age <= FRESH, "/status is {age:.1}s old\n{}", serve.log());
        let worker_state = doc["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "worker")
            .map(|p| p["state"].clone());
        assert_eq!(
            worker_state,
            Some(Value::from("dead")),
            "judged from the last good read"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(get(addr, "/healthz").status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let (threads, open) = (count(&tasks), count(&fds));
    // The lock waiter, the alert lane's running command and its waiter: a few, not one
    // per ping or per second.
    assert!(
        threads <= threads_before + 6,
        "{threads_before} -> {threads} threads\n{}",
        serve.log()
    );
    assert!(
        open <= fds_before + 8,
        "{fds_before} -> {open} descriptors\n{}",
        serve.log()
    );

    // SIGTERM: out within 5 s, with the hanging command's group.
    let stop = Instant::now();
    let status = serve.terminate();
    let took = stop.elapsed();
    assert!(status.success(), "{status}\n{}", serve.log());
    assert!(
        took < Duration::from_secs(5),
        "stopped in {took:?}\n{}",
        serve.log()
    );
    wait_for(
        "the hanging command to be gone",
        || hang.alive().is_empty(),
        || serve.log(),
    );
    drop(holder);
    drop(lock);
}
