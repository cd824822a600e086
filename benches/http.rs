//! The HTTP API of `hbmon serve`, request by request, over loopback with a 1 000-entry
//! heartbeat file, against two floors: one HTTP exchange with a server that does nothing
//! (what loopback TCP and a thread cost on this machine), and `/healthz` (what hbmon's own
//! server adds before any work). Run: `cargo bench --bench http`; see BENCHMARKS.md §5.

#[path = "store/timing.rs"]
mod timing;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};

use hbmon::store::{self, Beat, RawDocument};
use timing::{Human, Sample, measure};

const ENTRIES: usize = 1000;
const RUNS: usize = 201;

fn main() {
    let dir = tempfile::tempdir().expect("a temp directory");
    let file = dir.path().join("hb.json");
    let config = dir.path().join("hbmon.toml");
    std::fs::write(&config, "").expect("the empty config is written");
    std::fs::write(&file, document()).expect("the heartbeat file is written");

    let mut serve = Command::new(env!("CARGO_BIN_EXE_hbmon"))
        .arg("--file")
        .arg(&file)
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("hbmon serve starts");
    let addr = listening_on(BufReader::new(
        serve.stderr.take().expect("its stderr is piped"),
    ));

    let floor_addr = null_server();
    let floor = measure(10, RUNS, || {
        get(floor_addr, "/");
    });
    println!("HTTP API of `hbmon serve`, {ENTRIES} entries, {RUNS} requests per case\n");
    println!("| request | median | min – max | × floor |");
    println!("|---|---:|---:|---:|");
    row("floor: a server that only answers", &floor, &floor);
    for (what, path) in [
        ("`GET /healthz`", "/healthz".to_owned()),
        (
            "`GET /ping/NAME` (a beat into the file)",
            format!("/ping/w-{}", ENTRIES / 2),
        ),
        ("`GET /status/NAME`", format!("/status/w-{}", ENTRIES / 2)),
        ("`GET /metrics`", "/metrics".to_owned()),
        ("`GET /status`", "/status".to_owned()),
    ] {
        let mut size = 0;
        let sample = measure(10, RUNS, || {
            size = get(addr, &path);
        });
        row(&format!("{what}, {} KiB", size / 1024), &sample, &floor);
    }
    let _ = serve.kill();
    let _ = serve.wait();
}

fn row(what: &str, sample: &Sample, floor: &Sample) {
    println!(
        "| {what} | {} | {} – {} | {:.1} |",
        Human(sample.median),
        Human(sample.min),
        Human(sample.max),
        sample.ratio_to(floor)
    );
}

/// `ENTRIES` entries as hbmon writes them, beating now.
fn document() -> String {
    let now = hbmon::clock::unix_now();
    let mut doc = RawDocument::default();
    for i in 0..ENTRIES {
        let mut beat = Beat::alive(None);
        beat.interval = Some(30.0);
        let entry = beat.apply(None, now - (i % 20) as f64);
        let json = store::entry_json(&entry).expect("an entry encodes");
        doc.set(&format!("w-{i}"), json);
    }
    doc.to_json(now)
}

/// The address from `hbmon serve: listening on http://ADDR` in its log, which a thread
/// then goes on reading, so that a full pipe never stops the monitor.
fn listening_on(log: impl BufRead + Send + 'static) -> SocketAddr {
    let (found, addr) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in log.lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("hbmon serve: listening on http://") {
                let _ = found.send(
                    addr.parse::<SocketAddr>()
                        .expect("the log names an address"),
                );
            }
        }
    });
    addr.recv().expect("hbmon serve listens")
}

/// A server that reads a request head and answers `200 ok` on a thread per connection, as
/// hbmon's does, but does nothing else.
fn null_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut head = Vec::new();
                let mut buf = [0; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
                );
            });
        }
    });
    addr
}

/// One `GET path` on a new connection, read to the end; returns the reply's size.
fn get(addr: SocketAddr, path: &str) -> usize {
    let mut stream = TcpStream::connect(addr).expect("connects");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("the request is sent");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("the reply reads");
    assert!(
        reply.starts_with(b"HTTP/1.1 200"),
        "{path}: {}",
        String::from_utf8_lossy(&reply)
    );
    reply.len()
}
