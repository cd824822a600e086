//! API tokens end to end: a serve with `[[serve.token]]`s asks every request for one, on
//! loopback too, by header or `?token=`, and logs a refused one without its secret; a wider
//! `--listen` is refused without a token; a secret file others can read stops serve; `hbmon
//! config` hides secrets unless `--show-secrets`, and a process row's ping URLs are shown
//! only to a token that may write.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::hbmon;
use crate::serve::{Serve, call, get, send};

const READER: &str = "reader-secret-0123456789";
const PINGER: &str = "pinger-secret-0123456789";
const WRITER: &str = "writer-secret-0123456789";

/// A config with a reader's token inline and a pinger's in a file beside it (mode 0600).
fn tokens_config(dir: &Path, extra: &str) {
    let file = dir.join("pinger.token");
    fs::write(&file, format!("{PINGER}\n")).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(
        dir.join("hbmon.toml"),
        format!(
            "{extra}[[serve.token]]\nname = \"dashboard\"\nsecret = \"{READER}\"\n\
             scopes = [\"read\"]\n\n[[serve.token]]\nname = \"cron\"\n\
             secret_file = \"pinger.token\"\nscopes = [\"ping\"]\n"
        ),
    )
    .unwrap();
    let config = dir.join("hbmon.toml");
    fs::set_permissions(config, fs::Permissions::from_mode(0o644)).unwrap();
}

fn serve_with_config(dir: &Path, listen: &str) -> Serve {
    let mut cmd = crate::hbmon_std(dir);
    cmd.arg("--config")
        .arg(dir.join("hbmon.toml"))
        .args(["serve", "--listen", listen]);
    Serve::spawn(cmd, dir, "serve.log")
}

fn with_bearer(addr: std::net::SocketAddr, method: &str, target: &str, secret: &str) -> u16 {
    sent_with(addr, method, target, secret).status
}

fn sent_with(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    secret: &str,
) -> crate::serve::Reply {
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {secret}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    send(addr, request.as_bytes())
}

#[test]
fn a_listen_address_other_machines_reach_is_refused_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let out = hbmon(dir.path())
            .args(["serve", "--listen", listen])
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{listen}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("refusing to listen on {listen} without a token"))
                && stderr.contains("[[serve.token]]"),
            "{stderr}"
        );
    }
}

#[test]
fn with_tokens_every_request_needs_one_with_its_scope_on_loopback_too() {
    let dir = tempfile::tempdir().unwrap();
    tokens_config(dir.path(), "");
    let serve = serve_with_config(dir.path(), "127.0.0.1:0");
    let addr = serve.addr();
    serve.wait_log("every request but /healthz needs a token");
    // The inline secret is in a config others may read (written 0644 here).
    assert!(
        serve
            .log()
            .contains("holds token secrets and others may read it (mode 0644)"),
        "{}",
        serve.log()
    );
    let refused = get(addr, "/status");
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(
        refused.header("WWW-Authenticate"),
        Some("Bearer realm=\"hbmon\", scope=\"read\"")
    );
    assert_eq!(get(addr, "/healthz").status, 200);
    assert_eq!(with_bearer(addr, "GET", "/status", READER), 200);
    assert_eq!(with_bearer(addr, "GET", "/metrics", PINGER), 403);
    assert_eq!(with_bearer(addr, "POST", "/ping/backup", READER), 403);
    assert_eq!(with_bearer(addr, "POST", "/ping/backup", PINGER), 200);
    assert_eq!(
        call(addr, "POST", &format!("/ping/backup?token={PINGER}"), "").status,
        200
    );
    assert_eq!(
        with_bearer(addr, "POST", "/api/v1/processes/backup/pause", READER),
        403
    );
    // A token in the query of a refused request: the log names the request, not the secret.
    let wrong = call(addr, "GET", &format!("/status?token={PINGER}"), "");
    assert_eq!(wrong.status, 403);
    assert!(!wrong.body.contains(PINGER), "{}", wrong.body);
    serve.wait_log("GET /status?token=…(hidden) from 127.0.0.1:");
    let log = serve.log();
    assert!(!log.contains(PINGER) && !log.contains(READER), "{log}");
    assert!(
        log.contains("token \"cron\" does not have the read scope this needs"),
        "{log}"
    );
}

#[test]
fn with_a_token_serve_listens_where_other_machines_reach_it() {
    let dir = tempfile::tempdir().unwrap();
    tokens_config(dir.path(), "");
    let serve = serve_with_config(dir.path(), "0.0.0.0:0");
    let port = serve.addr().port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(get(addr, "/status").status, 401);
    assert_eq!(with_bearer(addr, "GET", "/status", READER), 200);
}

#[test]
fn a_secret_file_others_can_read_stops_serve_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    tokens_config(dir.path(), "");
    let file = dir.path().join("pinger.token");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = crate::serve::refused_start(dir.path());
    assert!(
        stderr.contains(&format!("refusing {}", file.display()))
            && stderr.contains("readable by group or others"),
        "{stderr}"
    );
    assert!(!stderr.contains(PINGER), "{stderr}");
}

#[test]
fn hbmon_config_hides_secrets_unless_asked_to_show_them() {
    let dir = tempfile::tempdir().unwrap();
    tokens_config(
        dir.path(),
        "[serve]\nping_key = \"k3y-k3y-k3y\"\n\n[[process]]\nname = \"backup\"\n\
         uuid = \"5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15\"\npush_token = \"push-t0ken\"\n\n",
    );
    let shown = |flags: &[&str]| {
        let out = hbmon(dir.path())
            .arg("--config")
            .arg(dir.path().join("hbmon.toml"))
            .arg("config")
            .args(flags)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let hidden = shown(&[]);
    for (line, secret) in [
        ("secret = \"…(hidden, 24 chars)\"", READER),
        ("ping_key = \"…(hidden, 11 chars)\"", "k3y-k3y-k3y"),
        ("uuid = \"…(hidden, 36 chars)\"", "5d8e1b0c"),
        ("push_token = \"…(hidden, 10 chars)\"", "push-t0ken"),
    ] {
        assert!(hidden.contains(line), "{line}:\n{hidden}");
        assert!(!hidden.contains(secret), "{secret}:\n{hidden}");
    }
    assert!(
        hidden.contains("secret_file = \"pinger.token\""),
        "{hidden}"
    );
    let clear = shown(&["--show-secrets"]);
    for line in [
        format!("secret = \"{READER}\""),
        "ping_key = \"k3y-k3y-k3y\"".to_owned(),
        "push_token = \"push-t0ken\"".to_owned(),
    ] {
        assert!(clear.contains(&line), "{line}:\n{clear}");
    }
}

#[test]
fn a_process_rows_ping_urls_are_shown_only_to_a_token_that_may_write() {
    let dir = tempfile::tempdir().unwrap();
    let (key, uuid, push) = (
        "k3y-0123456789abcdef",
        "5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15",
        "push-t0ken-0123456789",
    );
    tokens_config(
        dir.path(),
        &format!(
            "[serve]\nping_key = \"{key}\"\n\n[[process]]\nname = \"backup\"\n\
             uuid = \"{uuid}\"\npush_token = \"{push}\"\n\n[[serve.token]]\nname = \"admin\"\n\
             secret = \"{WRITER}\"\nscopes = [\"read\", \"write\"]\n\n"
        ),
    );
    let serve = serve_with_config(dir.path(), "127.0.0.1:0");
    let addr = serve.addr();
    serve.wait_log("every request but /healthz needs a token");
    let paths = serde_json::json!({
        "uuid": format!("/ping/{uuid}"),
        "slug": format!("/ping/{key}/backup"),
        "push": format!("/api/push/{push}"),
    });
    let row = |reply: crate::serve::Reply| {
        assert_eq!(reply.status, 200, "{}", reply.body);
        let doc: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let row = (doc["processes"].as_array().unwrap().iter())
            .find(|p| p["name"] == "backup")
            .cloned()
            .unwrap_or_else(|| panic!("no backup row: {doc}"));
        (row, reply.body)
    };
    for target in ["/api/v1/processes", "/api/v1/processes/backup"] {
        // A read token sees the row, and none of the secrets a ping URL holds.
        let (read, body) = row(sent_with(addr, "GET", target, READER));
        assert!(read.get("ping_paths").is_none(), "{target}: {read}");
        for secret in [key, uuid, push] {
            assert!(
                !body.contains(secret),
                "{target} gave {secret} to a read token"
            );
        }
        // A write token, by header or in the query, sees each URL the process is pinged by.
        let (written, _) = row(sent_with(addr, "GET", target, WRITER));
        assert_eq!(written["ping_paths"], paths, "{target}");
        let (queried, _) = row(get(addr, &format!("{target}?token={WRITER}")));
        assert_eq!(queried["ping_paths"], paths, "{target}?token=");
    }
    // Each path pings the process with no token, as its clients send none.
    for path in [format!("/ping/{uuid}"), format!("/api/push/{push}")] {
        assert_eq!(get(addr, &path).status, 200, "{path}");
    }
    // `hbmon status --json`, which gets pasted into issues, keeps them out as `hbmon
    // config` does.
    let out = hbmon(dir.path())
        .arg("--config")
        .arg(dir.path().join("hbmon.toml"))
        .args(["status", "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"backup\""), "{text}");
    for secret in ["ping_paths", key, uuid, push] {
        assert!(
            !text.contains(secret),
            "status --json shows {secret}: {text}"
        );
    }
}
