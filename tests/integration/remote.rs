//! `hbmon status --remote`: a second real `hbmon serve` on another loopback port merged
//! under a HOST column, one that goes away, and fake remotes whose replies are garbage,
//! huge, slow, or from a clock an hour off.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::hbmon;
use crate::serve::Serve;

/// `hbmon status` of `dir` (one local beat, `web`) with these `--remote` URLs.
fn status(dir: &std::path::Path, remotes: &[String], json: bool) -> (String, i32) {
    let mut cmd = hbmon(dir);
    cmd.args(["status", "--cpu", "never"]);
    for url in remotes {
        cmd.args(["--remote", url]);
    }
    if json {
        cmd.arg("--json");
    }
    let out = cmd.env("COLUMNS", "200").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    (text, out.status.code().unwrap())
}

/// A directory with one fresh local beat, `web`.
fn local() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args(["beat", "web", "--no-pid"])
        .assert()
        .success();
    dir
}

/// A fake remote: each connection's request head goes to the channel, then `reply` writes
/// (or does not).
fn fake(reply: fn(&mut TcpStream)) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut head = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                while reader.read_line(&mut head).is_ok_and(|n| n > 2) {}
                let _ = tx.send(head);
                reply(&mut stream);
            });
        }
    });
    (format!("http://{addr}"), rx)
}

fn answer(stream: &mut TcpStream, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn status_remote_shows_a_second_serves_rows_under_a_host_column_until_it_goes_away() {
    let here = local();
    let there = tempfile::tempdir().unwrap();
    hbmon(there.path())
        .args(["beat", "db", "--no-pid"])
        .assert()
        .success();
    let mut serve = Serve::start(there.path(), "serve.log");
    let url = format!("http://{}", serve.addr());

    let (table, code) = status(here.path(), std::slice::from_ref(&url), false);
    assert_eq!(code, 0, "{table}");
    let header = table.lines().find(|l| l.contains("NAME")).unwrap();
    assert!(header.trim_start().starts_with("HOST"), "{table}");
    let db = table.lines().find(|l| l.contains(" db ")).unwrap();
    assert!(db.trim_start().starts_with("127.0.0.1"), "{table}");
    assert!(!table.contains("unreachable"), "{table}");

    let (text, code) = status(here.path(), std::slice::from_ref(&url), true);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let hosts: Vec<(&str, &str)> = (doc["processes"].as_array().unwrap().iter())
        .map(|p| (p["host"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    assert_eq!(hosts.len(), 2, "{text}");
    assert_eq!(hosts[1], ("127.0.0.1", "db"));
    assert_ne!(hosts[0].0, "127.0.0.1");
    assert_eq!(doc["remotes"][0]["reachable"], true);
    assert_eq!(doc["counts"]["up"], 2);

    serve.terminate();
    let (table, code) = status(here.path(), std::slice::from_ref(&url), false);
    assert_eq!(code, 3, "a remote gone is unknown, not ok:\n{table}");
    assert!(table.contains(" web "), "the local rows stay:\n{table}");
    assert!(!table.contains(" db "), "{table}");
    let line = table.lines().find(|l| l.contains("unreachable")).unwrap();
    assert!(line.starts_with("127.0.0.1: unreachable since "), "{line}");
    assert!(line.contains("refused"), "{line}");
    let (text, _) = status(here.path(), &[url], true);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["remotes"][0]["reachable"], false);
    assert_eq!(doc["exit_code"], 3);
}

#[test]
fn garbage_huge_and_silent_remotes_are_each_a_line_and_none_holds_up_the_others() {
    let here = local();
    let (garbage, _) = fake(|s| answer(s, "<html>\u{1b}[2J sign in</html>"));
    let (huge, _) = fake(|s| {
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n{{\"schema\": 1, \"processes\": [\""
        );
        let chunk = vec![b'a'; 1 << 20];
        while s.write_all(&chunk).is_ok() {}
    });
    let (silent, _) = fake(|_| std::thread::sleep(Duration::from_secs(30)));
    let started = Instant::now();
    let (table, code) = status(here.path(), &[garbage, huge, silent], false);
    let took = started.elapsed();
    assert_eq!(code, 3, "{table}");
    let lines: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("unreachable"))
        .collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].contains("not an hbmon status document"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("a reply over 32 MB"), "{}", lines[1]);
    assert!(
        lines[2].contains("within 3s") || lines[2].contains("timeout"),
        "{}",
        lines[2]
    );
    assert!(
        !table.contains('\u{1b}'),
        "remote text is escaped: {table:?}"
    );
    // Asked at once: three 3 s limits in a row would be 9 s.
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn a_remote_whose_clock_is_an_hour_ahead_shows_ages_on_its_own_clock() {
    let here = local();
    let (url, heads) = fake(|s| {
        let now = unix_now() + 3600.0;
        let doc = json!({
            "schema": 1,
            "now": now,
            "exit_code": 0,
            "processes": [{
                "name": "far",
                "label": null,
                "monitored": false,
                "state": "up",
                "severity": "ok",
                "reason": "beating",
                "since": now - 100.0,
                "entry": {"last_heartbeat": now - 5.0, "pid": null},
                "process": null,
                "rules": {"interval": 30.0, "kind": "app", "interval_from": "builtin"}
            }]
        });
        answer(s, &doc.to_string());
    });
    let mut cmd = hbmon(here.path());
    cmd.args([
        "status", "--cpu", "never", "--remote", &url, "--token", "s3cret",
    ]);
    let out = cmd.env("COLUMNS", "200").output().unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{table}");
    let far = table.lines().find(|l| l.contains(" far ")).unwrap();
    // Judged on our clock its beat would be "in 59m55s" (skewed).
    assert!(far.contains(" 5s ago"), "{far}");
    assert!(far.contains(" up "), "{far}");
    let head = heads.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.starts_with("GET /status HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\nauthorization: bearer s3cret\r\n"),
        "{head}"
    );
}

#[test]
fn a_bad_remote_url_or_token_count_is_a_one_line_error() {
    let here = local();
    let cases: [&[&str]; 2] = [
        &["--remote", "ftp://box2"],
        &[
            "--remote",
            "http://a:1",
            "--remote",
            "http://b:1",
            "--token",
            "x",
            "--token",
            "y",
            "--token",
            "z",
        ],
    ];
    for args in cases {
        let out = hbmon(here.path())
            .arg("status")
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("ftp://box2") || err.contains("3 --token"),
            "{err}"
        );
    }
}

#[test]
fn a_remote_with_tokens_is_read_with_its_read_token_and_refused_without() {
    let here = local();
    let there = tempfile::tempdir().unwrap();
    std::fs::write(
        there.path().join("hbmon.toml"),
        "[[serve.token]]\nname = \"viewer\"\nsecret = \"r3adR3adR3adR3adR3adR3ad\"\nscopes = [\"read\"]\n",
    )
    .unwrap();
    hbmon(there.path())
        .args(["beat", "db", "--no-pid"])
        .assert()
        .success();
    let serve = Serve::start(there.path(), "serve.log");
    let url = format!("http://{}", serve.addr());
    let (table, code) = status(here.path(), std::slice::from_ref(&url), false);
    assert_eq!(code, 3, "{table}");
    assert!(table.contains("unreachable since"), "{table}");
    assert!(table.contains("(answered HTTP 401)"), "{table}");
    let out = hbmon(here.path())
        .args(["status", "--cpu", "never", "--remote", &url])
        .args(["--token", "r3adR3adR3adR3adR3adR3ad"])
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(table.contains(" db "), "{table}");
}

#[test]
fn status_warns_once_of_a_remote_token_in_a_config_others_may_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let here = local();
    let (url, _) = fake(|s| answer(s, "{}"));
    let config = here.path().join("hbmon.toml");
    std::fs::write(
        &config,
        format!("[[remote]]\nurl = \"{url}\"\nname = \"box2\"\ntoken = \"s3cret-t0ken\"\n"),
    )
    .unwrap();
    let run = || {
        let out = hbmon(here.path())
            .args([
                "--config",
                config.to_str().unwrap(),
                "status",
                "--cpu",
                "never",
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stderr).unwrap()
    };
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = run();
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("hbmon.toml holds the token of [[remote]] box2"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-t0ken"), "{stderr}");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!run().contains("warning"), "a private config: no warning");
}

#[test]
fn a_remote_given_before_a_subcommand_is_refused_not_ignored() {
    let here = local();
    let out = hbmon(here.path())
        .args(["--remote", "http://127.0.0.1:1", "status"])
        .output()
        .unwrap();
    // hbmon's exit for an error, not status's verdict.
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--remote before a subcommand"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
