//! The tests of `api.rs`: routing, methods, and what the endpoints answer and write.

use super::*;
use crate::probe::FakeProbe;
use crate::report::fixture::{self, NOW};
use crate::report::metrics;
use std::path::Path;

pub(super) fn api(dir: &Path) -> Api {
    let report = crate::report::build(
        &fixture::snapshot(),
        &fixture::config(),
        &mut fixture::probe(),
        NOW,
    );
    let location = crate::paths::resolve_file(Some(&dir.join("hb.json")));
    let config = dir.join("hbmon.toml");
    Api::new(
        Feed::new(report, Some("hbmon.toml".into())),
        &location,
        &Config::default(),
        Some(&config),
        None,
    )
}

pub(super) fn request(method: &str, target: &str, body: &str) -> Request {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Request {
        method: method.to_owned(),
        path: path[1..].split('/').map(str::to_owned).collect(),
        query: query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        body: body.as_bytes().to_vec(),
        body_len: body.len(),
        browser: None,
        same_origin: false,
        token: None,
        peer: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 50000))),
        if_match: None,
        bearer: None,
    }
}

/// What hbmon said of a ping it took (`X-Hbmon-Result`).
fn said_of(response: &Response) -> &str {
    (response.headers.iter())
        .find(|(name, _)| *name == RESULT)
        .map_or("", |(_, value)| value.as_str())
}

/// A response's status, `Allow` header and the start of its body.
type Answer<'a> = (u16, Option<&'a str>, &'a str);

/// Sends each `(method, target)` and checks the answer; none of them may write.
fn answers(cases: &[(&str, &str, Answer)]) {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path());
    for &(method, target, (status, allow, body)) in cases {
        let response = api.respond(&request(method, target, ""));
        assert_eq!(response.status, status, "{method} {target}: {response:?}");
        assert_eq!(response.allow, allow, "{method} {target}");
        assert!(
            response.body.starts_with(body),
            "{method} {target}: {response:?}"
        );
    }
    assert!(!dir.path().join("hb.json").exists(), "written");
}

#[test]
fn routes_methods_and_unknown_paths() {
    let read = Some("GET, HEAD");
    let ping = Some("GET, POST, HEAD");
    answers(&[
        ("GET", "/healthz", (200, None, "ok\n")),
        ("HEAD", "/healthz", (200, None, "ok\n")),
        ("POST", "/healthz", (405, read, "POST is not allowed here")),
        ("DELETE", "/status", (405, read, "DELETE is not allowed")),
        (
            "PUT",
            "/ping/x",
            (405, ping, "PUT is not allowed here: use GET, POST, HEAD"),
        ),
        ("PUT", "/ping/x/3", (405, ping, "PUT is not allowed")),
        ("GET", "/", (200, None, "<!doctype html>")),
        (
            "GET",
            "/nope",
            (404, None, "no endpoint \"/nope\": there are /status"),
        ),
        ("GET", "/assets/app.js", (200, None, "// hbmon's dashboard")),
        (
            "GET",
            "/assets/x.js",
            (404, None, "no asset \"x.js\": there are style.css"),
        ),
        ("POST", "/", (405, Some("GET, HEAD"), "POST is not allowed")),
        (
            "POST",
            "/api/v1/events",
            (405, Some("GET, HEAD"), "POST is not allowed"),
        ),
        (
            "GET",
            "/status/x/y",
            (404, None, "no endpoint \"/status/x/y\""),
        ),
        ("GET", "/ping", (404, None, "no endpoint \"/ping\":")),
        ("GET", "/a\nb", (404, None, "no endpoint \"/a\\nb\":")),
        (
            "GET",
            "/status/nobody",
            (404, None, "no process \"nobody\" in "),
        ),
    ]);
}

#[test]
fn bad_pings_are_400_naming_the_segment_or_value() {
    answers(&[
        (
            "GET",
            "/ping/",
            (400, None, "bad name: a heartbeat name cannot be empty"),
        ),
        (
            "GET",
            "/ping/x?every=1m",
            (400, None, "unknown parameter \"every\""),
        ),
        (
            "GET",
            "/ping/x/abc",
            (
                400,
                None,
                "\"abc\" after /ping/NAME/ is not start, fail, log or an exit code from 0 to 255\n",
            ),
        ),
        ("GET", "/ping/x/256", (400, None, "invalid url format")),
        ("GET", "/ping/x/-1", (400, None, "\"-1\" after /ping/NAME/")),
        ("GET", "/ping/x/", (400, None, "\"\" after /ping/NAME/")),
        (
            "GET",
            "/ping/\u{1}/3",
            (400, None, "bad name: \"\\u{1}\" has a control"),
        ),
        (
            "GET",
            "/ping/x/start?stopped",
            (400, None, "stopped=\"\": conflicts with /start"),
        ),
        (
            "GET",
            "/ping/x/start/now/then",
            (404, None, "no endpoint \"/ping/x/start/now/then\""),
        ),
        // No ping key configured: a key's URL finds no check.
        ("GET", "/ping/x/start/now", (404, None, "not found")),
        (
            "GET",
            "/api/push/nope",
            (
                404,
                None,
                "{\"msg\":\"Monitor not found or not active.\",\"ok\":false}",
            ),
        ),
    ]);
}

#[test]
fn status_is_unknown_with_no_file_and_nothing_configured() {
    let dir = tempfile::tempdir().unwrap();
    let empty = crate::report::build(
        &store::Snapshot::default(),
        &crate::config::Config::default(),
        &mut FakeProbe::default(),
        NOW,
    );
    let file = dir.path().join("hb.json");
    let location = crate::paths::resolve_file(Some(&file));
    let unconfigured = Api::new(
        Feed::new(empty, None),
        &location,
        &Config::default(),
        None,
        None,
    );
    let status = || {
        let response = unconfigured.respond(&request("GET", "/status", ""));
        assert_eq!(response.status, 200);
        serde_json::from_str::<serde_json::Value>(&response.body).unwrap()
    };
    let unknown = status();
    assert_eq!(unknown["exit_code"], 3);
    assert_eq!(
        unknown["unknown"],
        format!("no heartbeat file at {} yet", file.display())
    );
    assert_eq!(unknown["processes"], serde_json::json!([]));

    // An empty file is as much nothing to judge as a missing one.
    std::fs::write(&file, "").unwrap();
    let empty_file = status();
    assert_eq!(
        (&empty_file["exit_code"], &empty_file["unknown"]),
        (
            &serde_json::json!(3),
            &serde_json::json!(format!("no heartbeats in {} yet", file.display()))
        )
    );
    // Configured processes are judged (pending) without a file.
    let dir = tempfile::tempdir().unwrap();
    let configured = api(dir.path());
    let response = configured.respond(&request("GET", "/status", ""));
    let value: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(value["unknown"], serde_json::Value::Null);
    assert_ne!(value["exit_code"], 3);
}

#[test]
fn status_is_the_status_json_document() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path());
    let response = api.respond(&request("GET", "/status", ""));
    assert_eq!(
        (response.status, response.content_type),
        (200, "application/json")
    );
    let report = api.feed.report();
    let file = dir.path().join("hb.json");
    let document = json::Document::new(&report, &file, Some(Path::new("hbmon.toml")), 2);
    // Byte for byte what `hbmon status --json` prints, nested keys sorted too.
    let printed = String::from_utf8(json::to_sorted_pretty(&document).unwrap()).unwrap();
    assert_eq!(response.body, printed + "\n");

    let one = api.respond(&request("GET", "/status/Bidder Script", ""));
    let value: serde_json::Value = serde_json::from_str(&one.body).unwrap();
    assert_eq!(value["processes"].as_array().unwrap().len(), 1);
    assert_eq!(value["processes"][0]["name"], "bidder");
    assert_eq!(
        (value["exit_code"].as_u64(), value["worst"].as_str()),
        (Some(0), Some("ok"))
    );
}

#[test]
fn metrics_render_the_latest_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut api = api(dir.path());
    let response = api.respond(&request("GET", "/metrics", ""));
    assert_eq!(response.content_type, metrics::CONTENT_TYPE);
    assert!(response.body.contains("hbmon_up{name=\"bidder\"} 1\n"));
    api.feed = Feed::new(
        crate::report::build(
            &store::Snapshot::default(),
            &crate::config::Config::default(),
            &mut FakeProbe::default(),
            NOW,
        ),
        None,
    );
    let response = api.respond(&request("GET", "/metrics", ""));
    assert!(!response.body.contains("bidder"), "{}", response.body);
}

#[test]
fn pings_write_beats_without_a_pid() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path());
    let file = dir.path().join("hb.json");
    let response = api.respond(&request("GET", "/ping/backup", ""));
    assert_eq!(
        (response.status, response.body.as_str(), said_of(&response)),
        (200, "OK", "OK alive \"backup\" (beat 1)")
    );
    let response = api.respond(&request(
        "POST",
        "/ping/backup?interval=1d&kind=job",
        "{\"rows\": 3}",
    ));
    assert_eq!(said_of(&response), "OK alive \"backup\" (beat 2)");
    let entry = store::read(&file).unwrap().get("backup").unwrap().clone();
    assert_eq!(entry.pid, None);
    assert_eq!(entry.interval, Some(86_400.0));
    assert_eq!(entry.kind, Some(store::Kind::Job));
    assert_eq!(entry.additional_data, serde_json::json!({"rows": 3}));

    let response = api.respond(&request("GET", "/ping/backup/fail?msg=exit 3", ""));
    assert_eq!(said_of(&response), "OK error \"backup\" (beat 3)");
    let entry = store::read(&file).unwrap().get("backup").unwrap().clone();
    assert_eq!(
        (entry.errors, entry.last_error.as_deref()),
        (Some(1), Some("exit 3"))
    );
    // A bad ping writes nothing.
    let response = api.respond(&request("GET", "/ping/backup?interval=x", ""));
    assert_eq!(response.status, 400);
    assert_eq!(
        store::read(&file).unwrap().get("backup").unwrap().beats,
        Some(3)
    );
}

#[test]
fn every_ping_reply_says_the_body_limit_and_a_head_ping_writes_as_a_get() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path());
    // A ping, its reply's status and body, and what hbmon says of it (X-Hbmon-Result).
    let cases = [
        (
            "HEAD",
            "/ping/backup/start",
            200,
            "OK",
            Some("OK running \"backup\" (beat 1)"),
        ),
        (
            "POST",
            "/ping/backup/0",
            200,
            "OK",
            Some("OK succeeded \"backup\" (beat 2, exit 0, took "),
        ),
        (
            "GET",
            "/ping/backup?interval=soon",
            400,
            "interval=\"soon\"",
            None,
        ),
        (
            "GET",
            "/ping/backup/256",
            400,
            "invalid url format",
            Some("\"256\" after /ping/NAME/ is not start, fail, log or an exit code from 0 to 255"),
        ),
        (
            "GET",
            "/ping/backup?rid=x",
            400,
            "invalid uuid format",
            Some("rid=\"x\": invalid uuid format"),
        ),
        (
            "GET",
            "/ping/5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15",
            404,
            "not found",
            None,
        ),
        ("GET", "/ping/some-key/backup/start", 404, "not found", None),
    ];
    for (method, target, status, body, said) in cases {
        let reply = api.respond(&request(method, target, ""));
        assert_eq!(reply.status, status, "{method} {target}: {reply:?}");
        assert!(reply.body.starts_with(body), "{method} {target}: {reply:?}");
        let header = |name| {
            reply
                .headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header(PING_BODY_LIMIT), Some("100000"), "{method} {target}");
        match said {
            Some(said) => assert!(header(RESULT).unwrap().starts_with(said), "{reply:?}"),
            None => assert_eq!(header(RESULT), None, "{reply:?}"),
        }
    }
    let entry = store::read(&dir.path().join("hb.json"))
        .unwrap()
        .get("backup")
        .unwrap()
        .clone();
    assert_eq!(
        (entry.reported(), entry.beats, entry.exit_code),
        (Reported::Succeeded, Some(2), Some(0)),
        "the HEAD started the run"
    );
    // Not on other endpoints.
    assert!(
        api.respond(&request("GET", "/healthz", ""))
            .headers
            .is_empty()
    );
}

#[test]
fn a_log_ping_adds_to_an_entry_it_finds_and_writes_nothing_for_one_it_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path());
    let file = dir.path().join("hb.json");
    let unknown = api.respond(&request("POST", "/ping/backup/log", "starting\n"));
    assert_eq!((unknown.status, unknown.body.as_str()), (404, "not found"));
    assert!(!file.exists(), "written");

    api.respond(&request("POST", "/ping/backup/start", ""));
    let before = store::read(&file).unwrap().get("backup").unwrap().clone();
    let logged = api.respond(&request("POST", "/ping/backup/log", "copied 3 files\n"));
    assert_eq!((logged.status, logged.body.as_str()), (200, "OK"));
    let after = store::read(&file).unwrap().get("backup").unwrap().clone();
    assert_eq!(
        after.additional_data,
        serde_json::json!({"output_tail": "copied 3 files\n"})
    );
    assert_eq!(
        (after.reported(), after.beats, after.last_heartbeat),
        (before.reported(), before.beats, before.last_heartbeat),
        "no beat"
    );

    api.respond(&request("POST", "/ping/list", "[1, 2]"));
    let refused = api.respond(&request("POST", "/ping/list/log", "hi"));
    assert_eq!(refused.status, 409, "{refused:?}");
    let list = store::read(&file).unwrap().get("list").unwrap().clone();
    assert_eq!(list.additional_data, serde_json::json!([1, 2]));
}

#[test]
fn every_ping_writes_this_machines_host() {
    let host = crate::heartbeat::host();
    assert!(host.is_some(), "this machine has no host name to test with");
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path());
    let file = dir.path().join("hb.json");
    // A beat, an error, a run's start and its ends (by code, by a plain ping), and an
    // end with no start.
    for target in [
        "/ping/a",
        "/ping/b/fail",
        "/ping/c/start",
        "/ping/c/0",
        "/ping/c/start",
        "/ping/c",
        "/ping/d/3",
    ] {
        let response = api.respond(&request("GET", target, ""));
        assert_eq!(response.status, 200, "{target}: {response:?}");
        let name = &target[6..7];
        let entry = store::read(&file).unwrap().get(name).unwrap().clone();
        assert_eq!(entry.host, host, "{target}");
    }
}

#[test]
fn a_run_over_http_is_reported_as_hbmon_run_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path());
    let file = dir.path().join("hb.json");
    let entry = |name: &str| store::read(&file).unwrap().get(name).unwrap().clone();

    let response = api.respond(&request("GET", "/ping/backup/start?interval=1d", ""));
    assert_eq!(said_of(&response), "OK running \"backup\" (beat 1)");
    let started = entry("backup");
    assert_eq!(
        (started.kind, started.pid, started.interval),
        (Some(store::Kind::Job), None, Some(86_400.0))
    );
    let response = api.respond(&request("POST", "/ping/backup/3", "tar: disk full\n"));
    assert!(
        said_of(&response).starts_with("OK failed \"backup\" (beat 2, exit 3, took "),
        "{response:?}"
    );
    let failed = entry("backup");
    assert_eq!(failed.reported(), Reported::Failed);
    assert_eq!(failed.started_at, started.started_at);
    assert!(failed.duration.is_some_and(|d| d >= 0.0), "{failed:?}");
    assert_eq!(failed.last_error.as_deref(), Some("exited with code 3"));
    assert_eq!(
        failed.additional_data,
        serde_json::json!({"output_tail": "tar: disk full\n"})
    );

    // The first word of a job that never said /start: no start, no duration.
    let response = api.respond(&request("GET", "/ping/fresh/0", ""));
    assert_eq!(
        said_of(&response),
        "OK succeeded \"fresh\" (beat 1, exit 0)"
    );
    let fresh = entry("fresh");
    assert_eq!((fresh.started_at, fresh.duration), (None, None));
    assert_eq!(
        (fresh.exit_code, fresh.kind),
        (Some(0), Some(store::Kind::Job))
    );
    assert!(fresh.finished_at.is_some());
}

#[test]
fn a_run_over_http_takes_as_long_as_the_monotonic_clock_says_when_the_wall_clock_steps() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path());
    let ping = |event| Ping::parse(event, &[], b"").unwrap();
    let t0 = Instant::now();
    let t3 = t0 + std::time::Duration::from_secs(3);
    // The end's wall clock: stepped back 2 h, stepped on 2 h, as it was.
    for end in [1000.0 - 7200.0, 1003.0 + 7200.0, 1003.0] {
        api.write("backup", &ping(Event::Start), 1000.0, t0, true)
            .unwrap();
        let entry = api
            .write("backup", &ping(Event::Exit(0)), end, t3, true)
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(entry.duration, Some(3.0), "ended at {end}");
        assert_eq!(
            (entry.started_at, entry.finished_at),
            (Some(1000.0), Some(end)),
            "the stamps stay wall-clock"
        );
    }
    // A start this monitor did not write (`hbmon run`, a restart): the stamps it is.
    let other = Api::new(
        api.feed.clone(),
        &crate::paths::resolve_file(Some(&api.file)),
        &Config::default(),
        None,
        None,
    );
    api.write("backup", &ping(Event::Start), 1000.0, t0, true)
        .unwrap();
    let entry = other
        .write("backup", &ping(Event::Exit(0)), 1010.0, t3, true)
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(entry.duration, Some(10.0));
}

#[test]
fn management_writes_are_taken_only_from_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path());
    let body = r#"{"name": "etl"}"#;
    for peer in [
        "192.0.2.7:40000",
        "[2001:db8::1]:40000",
        "[::ffff:10.0.0.1]:40000",
    ] {
        for (method, target) in [
            ("POST", "/api/v1/processes"),
            ("PATCH", "/api/v1/processes/a"),
            ("DELETE", "/api/v1/processes/a"),
            ("POST", "/api/v1/processes/a/pause"),
            ("POST", "/api/v1/processes/a/resume"),
        ] {
            let mut sent = request(method, target, body);
            sent.peer = Some(peer.parse().unwrap());
            let reply = api.respond(&sent);
            assert_eq!(reply.status, 403, "{peer} {method} {target}: {reply:?}");
            assert!(reply.body.contains("only from this machine"), "{reply:?}");
        }
        // Reads follow the listen address, as /status does.
        let mut read = request("GET", "/api/v1/processes", "");
        read.peer = Some(peer.parse().unwrap());
        assert_eq!(api.respond(&read).status, 200);
    }
    assert!(
        !dir.path().join("hbmon.toml").exists(),
        "nothing was written"
    );
    // From loopback the same write is made; an IPv4-mapped loopback is loopback.
    let mut sent = request("POST", "/api/v1/processes", body);
    sent.peer = Some("[::ffff:127.0.0.1]:40000".parse().unwrap());
    assert_eq!(api.respond(&sent).status, 201);
    assert!(dir.path().join("hbmon.toml").exists());
}
