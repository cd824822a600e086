//! Watching the watcher: `[serve] heartbeat_url` pinged by a real `hbmon serve` while its
//! loop runs, and a switch that never answers holding up nothing.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use crate::serve::Serve;

/// `[serve]` pinging `url` every second, beside the heartbeat file.
fn config(dir: &std::path::Path, url: &str) {
    std::fs::write(
        dir.join("hbmon.toml"),
        format!("[serve]\nheartbeat_url = \"{url}\"\nheartbeat_every = \"1s\"\n"),
    )
    .unwrap();
}

#[test]
fn serve_pings_its_heartbeat_url_every_heartbeat_every() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, pings) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let mut reader = BufReader::new(&stream);
            let _ = reader.read_line(&mut line);
            let mut rest = String::new();
            while reader.read_line(&mut rest).is_ok_and(|n| n > 2) {}
            let _ = std::io::Write::write_all(
                &mut &stream,
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
            );
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    config(dir.path(), &format!("http://{addr}/ping/5f1a-secret"));
    let serve = Serve::start(dir.path(), "serve.log");
    for _ in 0..3 {
        let line = pings.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(
            line.starts_with("GET /ping/5f1a-secret HTTP/1.1"),
            "{line:?}"
        );
    }
    let log = serve.log();
    assert!(
        log.contains("heartbeat_url: pinging 127.0.0.1 every 1s"),
        "{log}"
    );
    assert!(
        !log.contains("5f1a-secret"),
        "the URL's secret is not logged: {log}"
    );
    assert!(!log.contains("failed"), "{log}");
}

#[test]
fn a_switch_that_never_answers_is_logged_once_and_holds_up_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts and says nothing, keeping every connection open.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ping", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    config(dir.path(), &url);
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    // Each ping waits out its 1 s limit; after a few of them, one line says so.
    serve.wait_log("heartbeat_url: ping failed");
    std::thread::sleep(Duration::from_secs(3));
    let log = serve.log();
    assert_eq!(log.matches("ping failed").count(), 1, "{log}");
    assert!(accepted.load(Ordering::SeqCst) >= 2, "it kept trying");
    // The API and the loop behind it answer meanwhile.
    let reply = crate::serve::get(addr, "/status");
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("\"schema\": 1"), "{}", reply.body);
}
