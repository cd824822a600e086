//! The web dashboard of a real `hbmon serve`, over plain HTTP: the page and its assets with
//! their headers, `/api/v1/events` (a snapshot that is the management API's document, a
//! beat soon after, the bound on streams; its deltas: `events.rs`), and the session token a page writes with,
//! attacked from every side a browser can come from.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::hbmon;
use crate::serve::{Reply, Serve, call, get, names, send, wait_for};

/// The session token the page at `/` carries.
pub(crate) fn token(addr: SocketAddr) -> String {
    let page = get(addr, "/").body;
    let at = page
        .find("name=\"hbmon-token\" content=\"")
        .expect("a token in the page");
    let rest = &page[at + "name=\"hbmon-token\" content=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[test]
fn the_page_and_its_assets_have_their_types_caching_and_a_policy_that_runs_no_inline_script() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("Cache-Control"), Some("no-store"));
    let csp = page.header("Content-Security-Policy").unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.header("X-Content-Type-Options"), Some("nosniff"));
    let token = token(addr);
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    // Every asset the page names, by its versioned URL.
    let urls: Vec<&str> = (page.body.split('"'))
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    assert_eq!(urls.len(), 6, "{}", page.body);
    for url in urls {
        let asset = get(addr, url);
        assert_eq!(asset.status, 200, "{url}");
        let kind = if url.contains(".css") {
            "text/css; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        };
        assert_eq!(asset.header("Content-Type"), Some(kind), "{url}");
        assert_eq!(
            asset.header("Cache-Control"),
            Some("public, max-age=31536000, immutable"),
            "{url}"
        );
        assert_eq!(asset.header("X-Content-Type-Options"), Some("nosniff"));
        assert!(asset.header("ETag").is_some(), "{url}");
        assert_eq!(asset.header("Content-Security-Policy"), Some(csp));
    }
    // Another version is not kept: it may be a page from before an upgrade.
    let old = get(addr, "/assets/app.js?v=0");
    assert_eq!(old.header("Cache-Control"), Some("no-cache"));
}

/// An open `/api/v1/events`, read event by event.
pub(crate) struct Events(BufReader<TcpStream>);

impl Events {
    /// Opens the stream as a page of the server would.
    pub(crate) fn open(addr: SocketAddr) -> (Events, String) {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
             Sec-Fetch-Site: same-origin\r\n\r\n"
        )
        .unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        while !head.ends_with("\r\n\r\n") {
            if reader.read_line(&mut head).unwrap() == 0 {
                break;
            }
        }
        (Events(reader), head)
    }

    /// The next event's name and data, parsed.
    pub(crate) fn next(&mut self) -> (String, Value) {
        let (mut name, mut data) = (String::new(), String::new());
        loop {
            let mut line = String::new();
            assert!(self.0.read_line(&mut line).unwrap() > 0, "the stream ended");
            let line = line.trim_end_matches('\n');
            if let Some(n) = line.strip_prefix("event: ") {
                n.clone_into(&mut name);
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push_str(d);
            } else if line.is_empty() && !name.is_empty() {
                return (name, serde_json::from_str(&data).unwrap());
            }
        }
    }
}

#[test]
fn events_start_with_the_management_apis_document_and_a_beat_arrives_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args(["beat", "worker"])
        .assert()
        .success();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let (mut events, head) = Events::open(addr);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Type: text/event-stream"), "{head}");
    let (name, snapshot) = events.next();
    assert_eq!(name, "snapshot");
    let listed: Value = serde_json::from_str(&get(addr, "/api/v1/processes").body).unwrap();
    let keys = |doc: &Value| {
        let mut keys: Vec<String> = doc.as_object().unwrap().keys().cloned().collect();
        keys.retain(|k| !["troubles", "seq", "ranks"].contains(&k.as_str()));
        keys
    };
    assert_eq!(keys(&snapshot), keys(&listed));
    assert_eq!(names(&snapshot), names(&listed));
    assert_eq!(snapshot["columns"], listed["columns"]);
    assert!(snapshot["troubles"].is_array());
    assert_eq!(snapshot["seq"], 1, "{snapshot}");
    assert!(snapshot["system"]["host"].is_string(), "{snapshot}");
    assert_eq!(snapshot["counts"]["up"], 1, "{snapshot}");
    let row = &snapshot["processes"][0];
    assert_eq!(row["view"]["symbol"], "●");
    assert_eq!(row["view"]["cells"][1], "● up", "{row}");
    // A beat from outside is in an update within a second (the engine sees the file
    // change; no one polls): among its rows changed, whole.
    let beat = Instant::now();
    hbmon(dir.path()).args(["beat", "fresh"]).assert().success();
    loop {
        let (name, update) = events.next();
        assert_eq!(name, "update");
        let changed = (update["changed"].as_array().unwrap().iter())
            .find(|row| row["name"] == "fresh")
            .cloned();
        if let Some(row) = changed {
            assert_eq!(row["view"]["cells"][1], "● up", "{row}");
            break;
        }
    }
    let took = beat.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the beat took {took:?} to arrive"
    );
}

#[test]
fn event_streams_past_sixteen_are_told_to_retry_and_the_api_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let open: Vec<Events> = (0..16)
        .map(|i| {
            let (events, head) = Events::open(addr);
            assert!(head.starts_with("HTTP/1.1 200 OK"), "stream {i}: {head}");
            events
        })
        .collect();
    let (_, head) = Events::open(addr);
    assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
    assert!(head.contains("Retry-After: 5\r\n"), "{head}");
    assert_eq!(get(addr, "/healthz").status, 200);
    drop(open);
}

/// A pause of `worker` sent with `headers`, as a browser would send it.
fn pause_with(addr: SocketAddr, host: &str, headers: &str) -> Reply {
    let request = format!(
        "POST /api/v1/processes/worker/pause HTTP/1.1\r\nHost: {host}\r\n{headers}\
         Content-Length: 0\r\n\r\n"
    );
    send(addr, request.as_bytes())
}

#[test]
fn a_dashboard_write_needs_this_origin_and_this_sessions_token() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args(["beat", "worker"])
        .assert()
        .success();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let token = token(addr);
    let here = format!("http://{addr}");
    let port = addr.port();
    let file = dir.path().join("hb.json");
    let before = std::fs::read(&file).unwrap();
    // The host sent, the headers, and a word of the 403's message.
    let attacks: Vec<(String, String, &str)> = vec![
        (
            addr.to_string(),
            format!("Origin: http://evil.example\r\nX-Hbmon-Token: {token}\r\n"),
            "its Origin is another origin",
        ),
        (
            addr.to_string(),
            format!("Sec-Fetch-Site: same-origin\r\nOrigin: {here}\r\n"),
            "needs the session's token",
        ),
        (
            addr.to_string(),
            format!(
                "Sec-Fetch-Site: same-origin\r\nOrigin: {here}\r\nX-Hbmon-Token: {}\r\n",
                "0".repeat(64)
            ),
            "not this session's",
        ),
        (
            addr.to_string(),
            format!("Sec-Fetch-Site: cross-site\r\nX-Hbmon-Token: {token}\r\n"),
            "Sec-Fetch-Site",
        ),
        (
            addr.to_string(),
            format!("Sec-Fetch-Site: same-site\r\nX-Hbmon-Token: {token}\r\n"),
            "Sec-Fetch-Site",
        ),
        (
            addr.to_string(),
            format!(
                "Sec-Fetch-Site: same-origin\r\nReferer: http://evil.example/\r\n\
                 X-Hbmon-Token: {token}\r\n"
            ),
            "Referer is another origin",
        ),
        // DNS rebinding: a page of evil.example, its name pointed at 127.0.0.1, is the same
        // origin as itself, and says so; its Host is not loopback.
        (
            format!("evil.example:{port}"),
            format!(
                "Sec-Fetch-Site: same-origin\r\nOrigin: http://evil.example:{port}\r\n\
                 X-Hbmon-Token: {token}\r\n"
            ),
            "for host \"evil.example",
        ),
    ];
    for (host, headers, why) in &attacks {
        let reply = pause_with(addr, host, headers);
        assert_eq!(reply.status, 403, "{headers:?}: {}", reply.body);
        assert!(reply.body.contains(why), "{headers:?}: {}", reply.body);
    }
    assert_eq!(std::fs::read(&file).unwrap(), before, "nothing was written");
    // The page itself: the same origin, with the token.
    let headers =
        format!("Sec-Fetch-Site: same-origin\r\nOrigin: {here}\r\nX-Hbmon-Token: {token}\r\n");
    let reply = pause_with(addr, &addr.to_string(), &headers);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let said: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(said["paused"], true, "{said}");
    // And it reads as a page of this server may.
    let read = format!(
        "GET /api/v1/processes HTTP/1.1\r\nHost: {addr}\r\nSec-Fetch-Site: same-origin\r\n\r\n"
    );
    assert_eq!(send(addr, read.as_bytes()).status, 200);
}

/// The `pid` of entry `name` in the heartbeat file under `dir`; 0 if none.
fn pid_of(dir: &std::path::Path, name: &str) -> u64 {
    let text = std::fs::read_to_string(dir.join("hb.json")).unwrap_or_default();
    let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    doc["processes"][name]["pid"].as_u64().unwrap_or(0)
}

#[test]
fn restart_and_stop_through_the_api_do_what_hbmon_restart_and_stop_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("hbmon.toml"),
        "[[process]]\nname = \"svc\"\ninterval = \"1s\"\nrestart = \"always\"\n\
         run = \"sleep 300\"\n[[process]]\nname = \"plain\"\n",
    )
    .unwrap();
    let mut serve = Serve::start(d, "serve.log");
    let addr = serve.addr();
    serve.wait_log("svc: pending -> up");
    let first = pid_of(d, "svc");
    let act = |path: &str| call(addr, "POST", path, "");
    let restarted = act("/api/v1/processes/svc/restart");
    assert_eq!(restarted.status, 200, "{}", restarted.body);
    let said: Value = serde_json::from_str(&restarted.body).unwrap();
    assert_eq!(said["ok"], true, "{said}");
    wait_for(
        "a second run",
        || ![0, first].contains(&pid_of(d, "svc")),
        || serve.log(),
    );
    // What the supervisor refuses is the request's fault, in its words.
    let refused = act("/api/v1/processes/plain/restart");
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("is not supervised"),
        "{}",
        refused.body
    );
    // A page without the session's token acts on nothing.
    let from_page = send(
        addr,
        format!(
            "POST /api/v1/processes/svc/stop HTTP/1.1\r\nHost: {addr}\r\n\
             Sec-Fetch-Site: same-origin\r\nContent-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(from_page.status, 403, "{}", from_page.body);
    let stopped = act("/api/v1/processes/svc/stop");
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    serve.wait_log("svc: up -> stopped");
    serve.terminate();
}
