//! The other ways a real `hbmon serve` is pinged: healthchecks.io's `/ping/<uuid>` and
//! `/ping/<ping-key>/<slug>` (with `?create=1`), its Python client from PyPI, bodies over
//! `[serve] ping_body_limit` (cut, not refused), and Uptime Kuma's `/api/push/<token>`
//! with curl. Each checks the reply as those tools give it, the entry, the state, the run's
//! duration and exit code, and the history row; and a config that repeats a UUID or token
//! is refused in one line.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::ping::{duration, history_once, row, said};
use crate::serve::{Reply, Serve, call, send, status_json};
use crate::test_python;

const UUID: &str = "5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15";
const UNKNOWN: &str = "0b7a8c4e-2f13-4d5a-9e6b-1c2d3e4f5a6b";
const KEY: &str = "k3y-Fq2xW9pL";
const RID: &str = "a1c7e2f9-44b0-4d1e-9a3c-6e5f8b2d0c47";

/// `hbmon serve` with a config of a job by UUID (`backup`), one by slug (`db-dump`, slug
/// `dump`), a push monitor (`web`), the ping key, and `[serve]` lines `more`.
fn serve_with(dir: &Path, more: &str) -> Serve {
    let config = format!(
        "[serve]\nping_key = \"{KEY}\"\n{more}\n\
         [[process]]\nname = \"backup\"\nkind = \"job\"\ninterval = \"1d\"\nuuid = \"{}\"\n\
         [[process]]\nname = \"db-dump\"\nkind = \"job\"\ninterval = \"1d\"\nslug = \"dump\"\n\
         [[process]]\nname = \"web\"\ninterval = \"1m\"\npush_token = \"Xk3fP9qLm2\"\n",
        UUID.to_uppercase()
    );
    std::fs::write(dir.join("hbmon.toml"), config).unwrap();
    Serve::start(dir, "serve.log")
}

/// Checks that `reply` has `status` and `body`.
fn answered(reply: &Reply, status: u16, body: &str) {
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (status, body),
        "{reply:?}"
    );
}

/// Checks that `name`'s run ended in `state` with `exit_code`, took at least `took`
/// seconds, and left `tail` as its output tail.
fn ended(dir: &Path, name: &str, (state, exit_code): (&str, Value), took: f64, tail: Option<&str>) {
    let row = row(dir, name);
    assert_eq!(
        (&row["state"], &row["entry"]["exit_code"]),
        (&state.into(), &exit_code),
        "{row:#}"
    );
    assert!(duration(&row) >= took, "{row:#}");
    let kept = row["entry"]["additional_data"]["output_tail"].as_str();
    assert_eq!(kept, tail, "{row:#}");
}

/// What `cmd` printed and how it exited, with no proxy from the environment: the server
/// is on loopback.
fn output_unproxied(mut cmd: Command) -> std::process::Output {
    for var in ["http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}

/// `curl ARGS`: its exit code and stdout.
fn curl(args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-m", "10"]).args(args);
    let out = output_unproxied(cmd);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn uuid_and_slug_urls_ping_the_configured_jobs_and_anything_else_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_with(dir.path(), "");
    let addr = serve.addr();
    let ping = |method: &str, path: &str, body: &str| call(addr, method, path, body);

    // By UUID: the run of `backup`, as healthchecks.io takes it.
    let start = ping("POST", &format!("/ping/{UUID}/start"), "");
    answered(&start, 200, "OK");
    assert_eq!(said(&start), "OK running \"backup\" (beat 1)");
    serve.wait_log("backup: pending -> running");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let end = ping("POST", &format!("/ping/{UUID}/3"), "tar: disk full\n");
    answered(&end, 200, "OK");
    let history = history_once(dir.path(), &serve, "backup", "failed");
    assert_eq!(history["beats"][1]["status"], "running", "{history:#}");
    ended(
        dir.path(),
        "backup",
        ("failed", 3.into()),
        0.2,
        Some("tar: disk full\n"),
    );

    // By key and slug: `db-dump`'s, its slug `dump`, a run by `rid`; the bare ping ends it
    // well.
    let start = ping("GET", &format!("/ping/{KEY}/dump/start?rid={RID}"), "");
    answered(&start, 200, "OK");
    serve.wait_log("db-dump: pending -> running");
    assert_eq!(row(dir.path(), "db-dump")["runs"][0]["run_id"], RID);
    let end = ping("GET", &format!("/ping/{KEY}/dump?rid={RID}"), "");
    answered(&end, 200, "OK");
    history_once(dir.path(), &serve, "db-dump", "succeeded");
    ended(dir.path(), "db-dump", ("up", 0.into()), 0.0, None);
    assert_eq!(row(dir.path(), "db-dump")["runs"], Value::Array(Vec::new()));

    // What names no check: healthchecks.io's 404 `not found`, and nothing is written.
    for path in [
        format!("/ping/{UNKNOWN}"),
        format!("/ping/{UNKNOWN}/start"),
        format!("/ping/{KEY}/db-dump"),
        format!("/ping/{KEY}/nightly"),
        format!("/ping/{KEY}/nightly/log"),
        "/ping/wrong-key/dump/start".to_owned(),
        format!("/ping/{KEY}"),
        format!("/ping/{KEY}x/dump/0"),
    ] {
        let reply = ping("POST", &path, "");
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (404, "not found"),
            "{path}: {reply:?}"
        );
        assert_eq!(reply.header("Ping-Body-Limit"), Some("100000"), "{path}");
    }
    // Over 255 is healthchecks.io's `invalid url format`, in either form.
    for path in [format!("/ping/{UUID}/256"), format!("/ping/{KEY}/dump/256")] {
        let reply = ping("POST", &path, "");
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (400, "invalid url format"),
            "{path}: {reply:?}"
        );
    }

    // `?create=1` creates an unconfigured slug's entry (201 Created), once; then it is
    // there, with or without it.
    let created = ping("POST", &format!("/ping/{KEY}/nightly?create=1"), "");
    answered(&created, 201, "Created");
    assert_eq!(said(&created), "OK alive \"nightly\" (beat 1)");
    for path in [
        format!("/ping/{KEY}/nightly?create=1"),
        format!("/ping/{KEY}/nightly"),
    ] {
        let again = ping("POST", &path, "");
        assert_eq!((again.status, again.body.as_str()), (200, "OK"), "{path}");
    }
    history_once(dir.path(), &serve, "nightly", "alive");
    let nightly = row(dir.path(), "nightly");
    assert_eq!(
        (&nightly["state"], &nightly["entry"]["beats"]),
        (&"up".into(), &3.into())
    );

    let names = crate::serve::names(&status_json(dir.path()));
    assert_eq!(
        names.len(),
        4,
        "nothing but the three and nightly: {names:?}"
    );
}

#[test]
fn a_body_over_the_limit_is_cut_and_marked_and_one_over_what_is_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_with(dir.path(), "ping_body_limit = 1000");
    let addr = serve.addr();
    let start = call(addr, "POST", &format!("/ping/{UUID}/start"), "");
    assert_eq!(start.header("Ping-Body-Limit"), Some("1000"), "{start:?}");
    serve.wait_log("backup: pending -> running");

    // 3 000 bytes of a log, as a job's output; the first 1 000 are kept, and say so.
    let log = (0..300).fold(String::new(), |mut log, i| {
        writeln!(log, "line {i:04}").unwrap();
        log
    });
    assert_eq!(log.len(), 3000);
    let end = call(addr, "POST", &format!("/ping/{UUID}/0"), &log);
    answered(&end, 200, "OK");
    let history = history_once(dir.path(), &serve, "backup", "succeeded");
    let kept = format!(
        "{}\n[hbmon: body cut at 1000 of 3000 bytes]\n",
        &log[..1000]
    );
    ended(dir.path(), "backup", ("up", 0.into()), 0.0, Some(&kept));
    assert!(
        (history["beats"][0]["data"].to_string()).contains("[hbmon: body cut at 1000 of 3000"),
        "{history:#}"
    );

    // `/log` is cut the same way, and adds to the tail.
    let more = "x".repeat(1500);
    let logged = call(addr, "POST", &format!("/ping/{UUID}/log"), &more);
    assert_eq!((logged.status, logged.body.as_str()), (200, "OK"));
    let tail = row(dir.path(), "backup")["entry"]["additional_data"]["output_tail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        tail.ends_with(&format!(
            "{}\n[hbmon: body cut at 1000 of 1500 bytes]\n",
            &more[..1000]
        )),
        "{tail}"
    );

    // Past what the server reads at all (64 MiB): refused on its head, the body unsent.
    let huge = format!(
        "POST /ping/{UUID}/0 HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        64 * 1024 * 1024 + 1
    );
    let refused = send(addr, huge.as_bytes());
    assert_eq!(refused.status, 413, "{refused:?}");
    assert_eq!(row(dir.path(), "backup")["entry"]["beats"], 2);
}

#[test]
fn healthchecks_ios_python_client_pings_by_uuid_and_slug_with_only_the_base_url_changed() {
    let python = test_python("healthchecks_io");
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_with(dir.path(), "");
    let addr: SocketAddr = serve.addr();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/healthchecks_client.py");
    let mut client = Command::new(python);
    (client.arg(script)).args([&format!("http://{addr}"), KEY, UUID, UNKNOWN]);
    let out = output_unproxied(client);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "uuid start: True OK",
            "uuid exit: True OK",
            "slug start: True OK",
            "slug fail: True OK",
            "unknown: CheckNotFoundError",
            "unknown raises CheckNotFoundError",
        ],
        "{}",
        serve.log()
    );

    history_once(dir.path(), &serve, "backup", "succeeded");
    ended(
        dir.path(),
        "backup",
        ("up", 0.into()),
        0.2,
        Some("copied 12 files\n"),
    );

    let history = history_once(dir.path(), &serve, "db-dump", "failed");
    assert_eq!(history["beats"][1]["status"], "running", "{history:#}");
    // `/fail` has no exit code.
    let tail = "pg_dump: connection refused\n";
    ended(
        dir.path(),
        "db-dump",
        ("failed", Value::Null),
        0.2,
        Some(tail),
    );
    assert_eq!(
        status_json(dir.path())["processes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn uptime_kuma_pushes_with_curl_are_beats_errors_and_response_times() {
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_with(dir.path(), "");
    let addr = serve.addr();
    let url = format!("http://{addr}/api/push/Xk3fP9qLm2");

    // The push URL Uptime Kuma shows, as curl runs it from cron.
    let up = curl(&[&format!("{url}?status=up&msg=OK&ping=12.5")]);
    assert_eq!(up, (Some(0), "{\"ok\":true}".to_owned()));
    history_once(dir.path(), &serve, "web", "alive");
    let web = row(dir.path(), "web");
    assert_eq!(web["state"], "up", "{web:#}");
    assert_eq!(web["entry"]["pid"], Value::Null);
    assert_eq!(
        web["entry"]["additional_data"],
        serde_json::json!({"msg": "OK", "ping_ms": 12.5})
    );

    // Down, by POST: an error beat with the message.
    let down = curl(&["-X", "POST", &format!("{url}?status=down&msg=disk%20full")]);
    assert_eq!(down, (Some(0), "{\"ok\":true}".to_owned()));
    let history = history_once(dir.path(), &serve, "web", "error");
    assert_eq!(history["transitions"][0]["to"], "error", "{history:#}");
    let web = row(dir.path(), "web");
    assert_eq!(web["state"], "error", "{web:#}");
    assert_eq!(web["entry"]["last_error"], "disk full");
    assert_eq!(
        web["entry"]["additional_data"],
        serde_json::json!({"msg": "disk full", "ping_ms": 12.5}),
        "a push without ping keeps the last one"
    );

    // Uptime Kuma's refusals: 404 and its JSON; nothing written.
    for (target, msg) in [
        (
            format!("http://{addr}/api/push/nope"),
            "Monitor not found or not active.",
        ),
        (
            format!("{url}?ping=100000000001"),
            "Invalid ping value. Must be between 0 and 100000000000 ms.",
        ),
    ] {
        let (code, body) = curl(&["-w", "\n%{http_code}", &target]);
        assert_eq!(code, Some(0), "{target}");
        let expected = serde_json::json!({"ok": false, "msg": msg});
        let (json, status) = body.rsplit_once('\n').unwrap();
        assert_eq!(status, "404", "{target}: {body}");
        assert_eq!(serde_json::from_str::<Value>(json).unwrap(), expected);
    }
    assert_eq!(row(dir.path(), "web")["entry"]["beats"], 2);
}

#[test]
fn serve_refuses_a_repeated_uuid_or_token_and_a_bad_body_limit_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbmon.toml");
    let cases = [
        (
            format!(
                "[[process]]\nname = \"a\"\nuuid = \"{UUID}\"\n\
                 [[process]]\nname = \"b\"\nuuid = \"{}\"\n",
                UUID.to_uppercase()
            ),
            format!("hbmon.toml:6: uuid: \"{UUID}\" is also \"a\"'s uuid"),
        ),
        (
            "[[process]]\nname = \"a\"\npush_token = \"t\"\n\
             [[process]]\nname = \"b\"\npush_token = \"t\"\n"
                .to_owned(),
            "hbmon.toml:6: push_token: \"t\" is also \"a\"'s push_token".to_owned(),
        ),
        (
            "[serve]\nping_body_limit = 0\n".to_owned(),
            "hbmon.toml:2: ping_body_limit: 0 is not a number of bytes from 1 to 67108864"
                .to_owned(),
        ),
    ];
    for (config, said) in cases {
        std::fs::write(&path, &config).unwrap();
        let out = crate::hbmon(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .timeout(std::time::Duration::from_secs(15))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{config}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{config}: {stderr}");
        assert!(stderr.contains(&said), "{config}: {stderr}");
    }
}
