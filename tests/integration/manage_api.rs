//! The management API of a real `hbmon serve`: every `/api/v1/processes…` route, edits that
//! keep the user's comments and that the monitor picks up, bad input answered with the
//! line `hbmon config` prints, a stale version refused, concurrent edits all kept.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use crate::hbmon;
use crate::serve::{Reply, Serve, call, get, names, wait_for};

const CONFIG: &str = "\
# the user's own notes
[defaults]
interval = \"30s\"   # most beat twice a minute

[[process]]
name = \"web\"   # the shop front
interval = \"10s\"
";

fn write_config(dir: &Path) {
    let path = dir.join("hbmon.toml");
    fs::write(&path, CONFIG).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
}

fn json(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body))
}

/// Waits until `/api/v1/processes` lists exactly whether `name` is there.
fn wait_listed(serve: &Serve, name: &str, listed: bool) -> Value {
    let mut doc = Value::Null;
    wait_for(
        &format!("{name} listed: {listed}"),
        || {
            doc = json(&get(serve.addr(), "/api/v1/processes"));
            names(&doc).iter().any(|n| n == name) == listed
        },
        || serve.log(),
    );
    doc
}

#[test]
fn processes_are_added_changed_and_removed_with_the_comments_kept_and_the_monitor_follows() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let config = dir.path().join("hbmon.toml");

    let listed = get(addr, "/api/v1/processes");
    assert_eq!(listed.status, 200, "{}", listed.body);
    let version = json(&listed)["config_version"].as_str().unwrap().to_owned();
    assert_eq!(
        listed.header("ETag"),
        Some(format!("\"{version}\"").as_str())
    );
    assert_eq!(names(&json(&listed)), ["web"]);

    let created = call(
        addr,
        "POST",
        "/api/v1/processes",
        r#"{"name": "etl", "kind": "job", "interval": "1h", "grace": "10m"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let text = fs::read_to_string(&config).unwrap();
    assert!(text.starts_with(CONFIG), "the user's text is kept:\n{text}");
    assert!(text.contains("name = \"etl\""), "{text}");
    let doc = wait_listed(&serve, "etl", true);
    let etl = doc["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "etl")
        .unwrap();
    assert_eq!(etl["monitored"], true, "{etl:#}");

    let patched = call(
        addr,
        "PATCH",
        "/api/v1/processes/web",
        r#"{"interval": "20s", "label": "Shop"}"#,
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    let text = fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("name = \"web\"   # the shop front\ninterval = \"20s\"\nlabel = \"Shop\""),
        "{text}"
    );
    wait_for(
        "web's label in its document",
        || json(&get(addr, "/api/v1/processes/web"))["processes"][0]["label"] == "Shop",
        || serve.log(),
    );
    let one = get(addr, "/api/v1/processes/Shop");
    assert_eq!(
        json(&one)["processes"][0]["name"],
        "web",
        "a label names it too"
    );

    let deleted = call(addr, "DELETE", "/api/v1/processes/etl", "");
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    wait_listed(&serve, "etl", false);
    let text = fs::read_to_string(&config).unwrap();
    assert!(!text.contains("etl"), "{text}");
    assert!(text.contains("# the user's own notes"), "{text}");
}

#[test]
fn a_bad_value_is_a_400_naming_the_field_with_the_line_hbmon_config_prints() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let serve = Serve::start(dir.path(), "serve.log");
    let reply = call(
        serve.addr(),
        "PATCH",
        "/api/v1/processes/web",
        r#"{"interval": "soon"}"#,
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = json(&reply);
    assert_eq!(error["field"], "interval");
    // The same file with the same change, read by `hbmon config`.
    let other = tempfile::tempdir().unwrap();
    write_config(other.path());
    let broken = CONFIG.replace("\"10s\"", "\"soon\"");
    fs::write(other.path().join("hbmon.toml"), broken).unwrap();
    let out = hbmon(other.path()).arg("config").output().unwrap();
    let said = String::from_utf8(out.stderr).unwrap();
    let said = said
        .trim_end()
        .strip_prefix("hbmon: ")
        .unwrap()
        .replace(other.path().to_str().unwrap(), dir.path().to_str().unwrap());
    assert_eq!(error["error"], said);
    assert_eq!(
        fs::read_to_string(dir.path().join("hbmon.toml")).unwrap(),
        CONFIG,
        "nothing written"
    );

    for (method, target, body, status, field) in [
        (
            "POST",
            "/api/v1/processes",
            r#"{"name": "x", "colour": 1}"#,
            400,
            "colour",
        ),
        (
            "POST",
            "/api/v1/processes",
            r#"{"name": "web"}"#,
            409,
            "name",
        ),
        ("POST", "/api/v1/processes", "[1]", 400, "body"),
        (
            "POST",
            "/api/v1/processes",
            r#"{"name": "x", "command": "id"}"#,
            400,
            "command",
        ),
        ("PATCH", "/api/v1/processes/nope", "{}", 404, "name"),
        ("DELETE", "/api/v1/processes/nope", "", 404, "name"),
        ("POST", "/api/v1/processes/web/pause", "", 404, "name"),
        (
            "POST",
            "/api/v1/processes/web/pause?for=soon",
            "",
            400,
            "for",
        ),
        ("GET", "/api/v1/processes?x=1", "", 400, "x"),
        (
            "GET",
            "/api/v1/processes/web/history?limit=many",
            "",
            400,
            "limit",
        ),
    ] {
        let reply = call(serve.addr(), method, target, body);
        assert_eq!(reply.status, status, "{method} {target}: {}", reply.body);
        assert_eq!(
            json(&reply)["field"],
            field,
            "{method} {target}: {}",
            reply.body
        );
    }
}

#[test]
fn an_edit_against_a_version_changed_since_is_refused_and_concurrent_edits_all_land() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let etag = get(addr, "/api/v1/processes")
        .header("ETag")
        .unwrap()
        .to_owned();
    // The user saves the file in an editor meanwhile.
    let theirs = CONFIG.replace("10s", "11s");
    fs::write(dir.path().join("hbmon.toml"), &theirs).unwrap();
    let body = r#"{"grace": "5s"}"#;
    let request = format!(
        "PATCH /api/v1/processes/web HTTP/1.1\r\nHost: {addr}\r\nIf-Match: {etag}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let reply = crate::serve::send(addr, request.as_bytes());
    assert_eq!(reply.status, 412, "{}", reply.body);
    assert_eq!(
        fs::read_to_string(dir.path().join("hbmon.toml")).unwrap(),
        theirs
    );

    let threads: Vec<_> = (0..6)
        .map(|i| {
            std::thread::spawn(move || {
                let body = format!(r#"{{"name": "p{i}"}}"#);
                call(addr, "POST", "/api/v1/processes", &body).status
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), 201);
    }
    let text = fs::read_to_string(dir.path().join("hbmon.toml")).unwrap();
    for i in 0..6 {
        assert!(
            text.contains(&format!("name = \"p{i}\"")),
            "p{i} lost:\n{text}"
        );
    }
    assert!(text.contains("11s"), "their edit kept:\n{text}");
}

#[test]
fn pause_resume_and_history_act_on_the_entry_as_the_cli_does() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    hbmon(dir.path())
        .args(["beat", "worker", "--no-pid", "--interval", "60s", "-q"])
        .assert()
        .success();
    // Through serve's beat sink, the beat is in the file within a tick, not at once.
    let file = dir.path().join("hb.json");
    wait_for(
        "the beat in the file",
        || hbmon::store::read(&file).is_ok_and(|s| s.get("worker").is_some()),
        || serve.log(),
    );
    let reply = call(addr, "POST", "/api/v1/processes/worker/pause?for=2h", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(json(&reply)["paused_until"].as_f64().is_some());
    let out = hbmon(dir.path())
        .args(["status", "--json", "worker"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["processes"][0]["state"], "paused", "{doc:#}");
    let reply = call(addr, "POST", "/api/v1/processes/worker/resume", "");
    assert_eq!(json(&reply)["was_paused"], true, "{}", reply.body);
    let refused = get(addr, "/api/v1/processes/worker/pause");
    assert_eq!(refused.status, 405);

    let read = || {
        json(&get(
            addr,
            "/api/v1/processes/worker/history?since=1h&limit=5",
        ))
    };
    wait_for(
        "worker's beat in its history",
        || read()["beats"].as_array().is_some_and(|b| !b.is_empty()),
        || format!("{:#}\n{}", read(), serve.log()),
    );
    // The recorder may still be writing the pause's transitions (whether the monitor saw
    // a two-hour pause lifted at once is a matter of timing): the API and the CLI read the
    // same database when they agree on one instant's rows.
    let same = || {
        let (history, cli) = (read(), crate::serve::history_json(dir.path(), "worker"));
        history["transitions"] == cli["transitions"] && history["database"] == cli["database"]
    };
    wait_for("the API's history to equal the CLI's", same, || {
        format!(
            "{:#}\n{:#}",
            read(),
            crate::serve::history_json(dir.path(), "worker")
        )
    });
}

#[test]
fn the_fleet_history_lists_every_process_transitions_filtered_by_name_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = crate::serve::Worker::start();
    for (name, pid) in [
        ("worker", worker.pid()),
        ("other", std::process::id().to_string()),
    ] {
        hbmon(dir.path())
            .args(["beat", name, "--pid", &pid, "-q"])
            .assert()
            .success();
    }
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    worker.kill();
    let read = |query: &str| json(&get(addr, &format!("/api/v1/history{query}")));
    let into = |doc: &Value| -> Vec<(String, String)> {
        (doc["transitions"].as_array().unwrap().iter())
            .map(|t| (t["name"].to_string(), t["to"].to_string()))
            .collect()
    };
    wait_for(
        "worker's death in the fleet's history",
        || into(&read("?state=dead")) == [("\"worker\"".into(), "\"dead\"".into())],
        || format!("{:#}\n{}", read(""), serve.log()),
    );
    let all = read("?since=1h&limit=0");
    let named: Vec<_> = into(&all).into_iter().map(|(name, _)| name).collect();
    assert!(
        named.contains(&"\"other\"".to_owned()) && named.contains(&"\"worker\"".to_owned()),
        "every process's transitions: {all:#}"
    );
    assert!(
        into(&read("?name=other"))
            .iter()
            .all(|(n, _)| n == "\"other\""),
        "one process's only"
    );
    assert_eq!(
        read("?state=dead&name=other")["transitions"],
        Value::Array(vec![])
    );
    for (query, field) in [
        ("?state=broken", "state"),
        ("?since=yesterday", "since"),
        ("?limit=-1", "limit"),
        ("?when=now", "when"),
    ] {
        let reply = get(addr, &format!("/api/v1/history{query}"));
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(json(&reply)["field"], field, "{query}: {}", reply.body);
    }
    let bad = json(&get(addr, "/api/v1/history?state=broken"));
    assert!(
        bad["error"].as_str().unwrap().contains("there are up, "),
        "names the states: {bad}"
    );
}
