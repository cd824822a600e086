//! HTTPS end to end: serve with `tls_cert`/`tls_key` (the test CA's certificate in `tls/`),
//! talked to by `ureq` and by `curl --cacert`; a plain-HTTP request to the TLS port gets a
//! plain `400` naming the fix; a key others can read stops serve at start.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::serve::{Serve, get, listening_on};

const SECRET: &str = "tls-test-secret-0123456789";
const LISTENING: &str = "hbmon serve: listening on https://";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/tls")
        .join(name)
}

/// A config beside a copy of the test certificate and key (the key `key_mode`), with one
/// token of every scope.
fn tls_config(dir: &Path, key_mode: u32) {
    fs::copy(fixture("server.pem"), dir.join("cert.pem")).unwrap();
    fs::copy(fixture("server.key"), dir.join("key.pem")).unwrap();
    fs::set_permissions(dir.join("key.pem"), fs::Permissions::from_mode(key_mode)).unwrap();
    fs::write(
        dir.join("hbmon.toml"),
        format!(
            "[serve]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n\n[[serve.token]]\n\
             name = \"all\"\nsecret = \"{SECRET}\"\nscopes = [\"read\", \"ping\", \"write\"]\n"
        ),
    )
    .unwrap();
    fs::set_permissions(dir.join("hbmon.toml"), fs::Permissions::from_mode(0o600)).unwrap();
}

fn serve_tls(dir: &Path) -> (Serve, SocketAddr) {
    let mut cmd = crate::hbmon_std(dir);
    cmd.arg("--config")
        .arg(dir.join("hbmon.toml"))
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let serve = Serve::spawn(cmd, dir, "serve.log");
    let addr = listening_on(&dir.join("serve.log"), LISTENING);
    (serve, addr)
}

#[test]
fn serve_speaks_https_to_ureq_and_curl_with_the_certificate_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    tls_config(dir.path(), 0o600);
    let (serve, addr) = serve_tls(dir.path());
    let url = format!("https://localhost:{}", addr.port());

    let ca = fs::read(fixture("ca.pem")).unwrap();
    let roots = ureq::tls::RootCerts::new_with_certs(&[ureq::tls::Certificate::from_pem(&ca)
        .unwrap()
        .to_owned()]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let mut reply = agent
        .post(&format!("{url}/ping/backup"))
        .header("Authorization", &format!("Bearer {SECRET}"))
        .send_empty()
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.body_mut().read_to_string().unwrap(), "OK");
    let reply = agent.get(&format!("{url}/status")).call().unwrap();
    assert_eq!(reply.status(), 401, "the token is asked over TLS too");
    // Without the CA, the certificate is not trusted: ureq refuses it.
    let plain_agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
    assert!(plain_agent.get(&format!("{url}/healthz")).call().is_err());

    let out = std::process::Command::new("curl")
        .args(["-sS", "--noproxy", "*", "--max-time", "10", "--cacert"])
        .arg(fixture("ca.pem"))
        .args(["-H", &format!("Authorization: Bearer {SECRET}")])
        .arg(format!("{url}/status/backup"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}\n{}", serve.log());
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(document["processes"][0]["name"], "backup", "{document}");
}

#[test]
fn plain_http_to_the_tls_port_is_told_to_use_https() {
    let dir = tempfile::tempdir().unwrap();
    tls_config(dir.path(), 0o600);
    let (_serve, addr) = serve_tls(dir.path());
    let reply = get(addr, "/healthz");
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        "this port speaks HTTPS, and the request came in plain HTTP: use https://\n"
    );
}

#[test]
fn a_tls_key_others_can_read_stops_serve_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    tls_config(dir.path(), 0o644);
    let stderr = crate::serve::refused_start(dir.path());
    let key = dir.path().join("key.pem");
    assert!(
        stderr.contains(&format!("refusing {}", key.display()))
            && stderr.contains("readable by group or others"),
        "{stderr}"
    );
}
