//! The management API and `hbmon mcp` attacked by a local client: no request may set,
//! change or remove a key that makes the monitor run a program (a probe's command, a
//! supervised `run`, or what it runs under), since anyone on this machine can reach the API;
//! a body cut at what serve keeps is refused as too long, a name `hbmon beat` refuses too.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::serve::{Serve, call};

/// Each key that makes the monitor run code, with a value the config would take.
const CODE: [(&str, &str); 8] = [
    ("command", r#""touch PWNED""#),
    ("command_shell", "true"),
    ("run", r#""touch PWNED""#),
    ("restart_command", r#"["sh", "-c", "touch PWNED"]"#),
    ("shell", "true"),
    ("cwd", r#""/tmp""#),
    ("env", r#"{"LD_PRELOAD": "/tmp/evil.so"}"#),
    ("user", r#""root""#),
];

#[test]
fn the_api_refuses_every_key_that_would_make_serve_run_code_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbmon.toml");
    let text = "[[process]]\nname = \"web\"\ninterval = \"10s\"\n";
    fs::write(&config, text).unwrap();
    fs::set_permissions(&config, fs::Permissions::from_mode(0o600)).unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    for (key, value) in CODE {
        for (method, target, body) in [
            (
                "POST",
                "/api/v1/processes",
                format!(r#"{{"name": "x", "{key}": {value}}}"#),
            ),
            (
                "PATCH",
                "/api/v1/processes/web",
                format!(r#"{{"{key}": {value}}}"#),
            ),
            (
                "PATCH",
                "/api/v1/processes/web",
                format!(r#"{{"{key}": null}}"#),
            ),
        ] {
            let reply = call(serve.addr(), method, target, &body);
            assert_eq!(reply.status, 400, "{method} {body}: {}", reply.body);
            let doc: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
            assert_eq!(doc["field"], key, "{method} {body}: {}", reply.body);
        }
    }
    assert_eq!(
        fs::read_to_string(&config).unwrap(),
        text,
        "nothing written"
    );
    assert!(!dir.path().join("PWNED").exists(), "{}", serve.log());
}

#[test]
fn a_body_longer_than_serve_keeps_is_refused_as_too_long_and_a_name_beat_refuses_too() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let label = "x".repeat(300_000);
    for (body, says) in [
        (
            format!(r#"{{"name": "a", "label": "{label}"}}"#),
            "is longer than the 100000 this server keeps",
        ),
        (
            r#"{"name": "evil\u001b[2J"}"#.to_owned(),
            "has a control character",
        ),
    ] {
        let reply = call(serve.addr(), "POST", "/api/v1/processes", &body);
        assert_eq!(reply.status, 400, "{}", reply.body);
        let doc: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let error = doc["error"].as_str().unwrap();
        assert!(error.contains(says), "{error}");
    }
    assert!(!dir.path().join("hbmon.toml").exists(), "nothing written");
}
