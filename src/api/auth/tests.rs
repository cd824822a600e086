//! The tests of `auth.rs`: tokens found in constant time, each route's scope asked, and
//! what a request without one, with a wrong one or with one short of the scope is told.

use super::*;
use crate::api::tests::request;
use crate::config::{Config, Secret, TokenConfig};
use crate::monitor::Feed;
use crate::report::fixture::{self, NOW};

const READER: &str = "read-secret-0123456789";
const PINGER: &str = "ping-secret-0123456789";
const WRITER: &str = "write-secret-012345678";
const UUID: &str = "5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15";
const LONG_KEY: &str = "ping-key-0123456789ab";
const PUSH: &str = "push-token-0123456789";

fn tokens(list: &[(&str, &str, &[Scope])]) -> Tokens {
    let access = Access {
        tokens: (list.iter())
            .map(|&(name, secret, scopes)| TokenConfig {
                name: name.into(),
                secret: Secret::Inline(secret.into()),
                scopes: scopes.to_vec(),
            })
            .collect(),
        ..Access::default()
    };
    Tokens::load(&access, Path::new(".")).unwrap()
}

/// An API of `config` with a reader's, a pinger's and a writer's token.
fn api(dir: &Path, config: &str) -> Api {
    let report = crate::report::build(
        &fixture::snapshot(),
        &fixture::config(),
        &mut fixture::probe(),
        NOW,
    );
    let location = crate::paths::resolve_file(Some(&dir.join("hb.json")));
    let config = Config::parse(config, Path::new("hbmon.toml")).unwrap();
    Api::new(
        Feed::new(report, Some("hbmon.toml".into())),
        &location,
        &config,
        Some(&dir.join("hbmon.toml")),
        None,
    )
    .with_tokens(tokens(&[
        ("reader", READER, &[Scope::Read]),
        ("pinger", PINGER, &[Scope::Ping]),
        ("writer", WRITER, &[Scope::Read, Scope::Write]),
    ]))
}

fn with_bearer(mut sent: Request, secret: &str) -> Request {
    sent.bearer = Some(secret.to_owned());
    sent
}

fn challenge(reply: &Response) -> &str {
    (reply.headers.iter())
        .find(|(name, _)| *name == "WWW-Authenticate")
        .map_or("", |(_, value)| value.as_str())
}

#[test]
fn a_token_is_found_by_its_whole_secret_only() {
    let tokens = tokens(&[
        ("reader", READER, &[Scope::Read]),
        ("pinger", PINGER, &[Scope::Ping]),
    ]);
    assert!(tokens.required());
    assert!(!Tokens::default().required());
    let name = |secret| tokens.find(secret).map(|t| t.name.as_str());
    assert_eq!(name(READER), Some("reader"));
    assert_eq!(name(PINGER), Some("pinger"));
    for wrong in [
        "",
        &READER[1..],
        &format!("{READER}x"),
        &READER.to_uppercase(),
    ] {
        assert_eq!(name(wrong), None, "{wrong:?}");
    }
}

#[test]
fn each_need_asks_the_scope_of_its_method() {
    let cases = [
        (Need::Nothing, "GET", None),
        (Need::Scope(Scope::Ping), "POST", Some(Scope::Ping)),
        (Need::ReadOrWrite, "GET", Some(Scope::Read)),
        (Need::ReadOrWrite, "HEAD", Some(Scope::Read)),
        (Need::ReadOrWrite, "POST", Some(Scope::Write)),
        (Need::ReadOrWrite, "DELETE", Some(Scope::Write)),
    ];
    for (need, method, scope) in cases {
        assert_eq!(need.scope(method), scope, "{need:?} {method}");
    }
}

#[test]
fn without_a_token_every_route_but_healthz_and_the_pages_code_is_401_naming_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path(), "");
    for route in super::super::routes::ROUTES {
        let target = (route.path)
            .replace("NAME", "backup")
            .replace("CODE", "3")
            .replace("KEY", "k")
            .replace("SLUG", "s")
            .replace("TOKEN", "t");
        let method = route.methods.split(", ").last().unwrap();
        let reply = api.respond(&request(method, &target, ""));
        match route.need.scope(method) {
            // No token asked: answered as without tokens (an asset named FILE is none).
            None => assert_ne!(reply.status, 401, "{target}: {reply:?}"),
            Some(scope) => {
                assert_eq!(reply.status, 401, "{method} {target}: {reply:?}");
                let named = format!("needs a token with the {} scope", scope.as_str());
                assert!(reply.body.contains(&named), "{target}: {reply:?}");
                assert_eq!(
                    challenge(&reply),
                    format!("Bearer realm=\"hbmon\", scope=\"{}\"", scope.as_str())
                );
            }
        }
    }
    assert!(!dir.path().join("hb.json").exists(), "a ping was written");
}

#[test]
fn a_wrong_token_is_401_and_one_short_of_the_scope_403_and_neither_says_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path(), "");
    // The target, the secret sent, and the status with the start of the reply.
    let cases: &[(&str, &str, &str, u16, &str)] = &[
        (
            "GET",
            "/status",
            "not-a-secret-at-all-0",
            401,
            "the token is none of",
        ),
        (
            "GET",
            "/status",
            &READER[..READER.len() - 1],
            401,
            "the token is none of",
        ),
        (
            "POST",
            "/ping/backup",
            READER,
            403,
            "token \"reader\" does not have the ping scope",
        ),
        (
            "GET",
            "/metrics",
            PINGER,
            403,
            "token \"pinger\" does not have the read scope",
        ),
        (
            "POST",
            "/api/v1/processes/backup/pause",
            READER,
            403,
            "token \"reader\" does not have the write scope",
        ),
        (
            "DELETE",
            "/api/v1/processes/backup",
            PINGER,
            403,
            "token \"pinger\" does not have the write",
        ),
    ];
    for &(method, target, secret, status, said) in cases {
        let reply = api.respond(&with_bearer(request(method, target, ""), secret));
        assert_eq!(reply.status, status, "{method} {target}: {reply:?}");
        assert!(reply.body.starts_with(said), "{method} {target}: {reply:?}");
        let error = if status == 401 {
            "invalid_token"
        } else {
            "insufficient_scope"
        };
        assert!(
            challenge(&reply).ends_with(&format!("error=\"{error}\"")),
            "{reply:?}"
        );
        for secret in [READER, PINGER, WRITER, secret] {
            assert!(!reply.body.contains(secret), "{reply:?}");
        }
    }
    assert!(!dir.path().join("hb.json").exists(), "a ping was written");
}

#[test]
fn a_token_with_the_scope_is_taken_by_header_or_query_and_the_query_never_reaches_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path(), "");
    assert_eq!(
        api.respond(&with_bearer(request("GET", "/status", ""), READER))
            .status,
        200
    );
    assert_eq!(
        api.respond(&with_bearer(request("GET", "/status", ""), WRITER))
            .status,
        200
    );
    let ping = api.respond(&with_bearer(request("POST", "/ping/backup", ""), PINGER));
    assert_eq!(ping.status, 200, "{ping:?}");
    // A ping refuses a parameter it does not know, and the management API any at all:
    // `token` was taken off before they looked.
    let ping = api.respond(&request(
        "POST",
        &format!("/ping/backup?token={PINGER}"),
        "",
    ));
    assert_eq!(ping.status, 200, "{ping:?}");
    let list = api.respond(&request(
        "GET",
        &format!("/api/v1/processes?token={READER}"),
        "",
    ));
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(api.respond(&request("GET", "/healthz", "")).status, 200);
}

#[test]
fn with_tokens_a_write_from_another_machine_needs_the_write_scope_not_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path(), "");
    let body = r#"{"name": "etl"}"#;
    let mut sent = request("POST", "/api/v1/processes", body);
    sent.peer = Some("192.0.2.7:40000".parse().unwrap());
    assert_eq!(api.respond(&with_bearer(sent.clone(), READER)).status, 403);
    assert!(!dir.path().join("hbmon.toml").exists());
    let reply = api.respond(&with_bearer(sent, WRITER));
    assert_eq!(reply.status, 201, "{reply:?}");
    assert!(dir.path().join("hbmon.toml").exists());
}

#[test]
fn a_ping_url_that_is_a_long_secret_of_its_own_stands_for_the_ping_scope() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[serve]\nping_key = \"{LONG_KEY}\"\n[[process]]\nname = \"backup\"\nuuid = \"{UUID}\"\n\
         push_token = \"{PUSH}\"\n[[process]]\nname = \"short\"\npush_token = \"t0k\"\n"
    );
    let api = api(dir.path(), &config);
    // The target, and whether it is taken without a token.
    let cases = [
        (format!("/ping/{UUID}"), true),
        (format!("/ping/{UUID}/start"), true),
        (format!("/ping/{LONG_KEY}/backup"), true),
        (format!("/ping/{LONG_KEY}/backup/fail"), true),
        (format!("/api/push/{PUSH}"), true),
        // An unknown UUID, a wrong key, a short token, a name: a token is needed.
        (
            "/ping/00000000-0000-4000-8000-000000000000".to_owned(),
            false,
        ),
        ("/ping/ping-key-0123456789aX/backup".to_owned(), false),
        ("/api/push/t0k".to_owned(), false),
        ("/ping/backup".to_owned(), false),
        // A push token is no ping name.
        (format!("/ping/{PUSH}"), false),
    ];
    for (target, taken) in &cases {
        let reply = api.respond(&request("POST", target, ""));
        assert_eq!(reply.status == 401, !taken, "{target}: {reply:?}");
    }
    // A wrong token sent with it is refused all the same.
    let sent = with_bearer(
        request("POST", &format!("/ping/{UUID}"), ""),
        "wrong-secret-0123456789",
    );
    assert_eq!(api.respond(&sent).status, 401);
}

#[test]
fn pings_from_another_machine_over_the_rate_are_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path(), "[serve]\nping_rate = \"1/h burst 2\"\n");
    let from = |peer: &str| {
        let mut sent = with_bearer(request("POST", "/ping/backup", ""), PINGER);
        sent.peer = Some(peer.parse().unwrap());
        api.respond(&sent)
    };
    assert_eq!(from("192.0.2.7:1").status, 200);
    assert_eq!(from("192.0.2.7:2").status, 200);
    let refused = from("192.0.2.7:3");
    assert_eq!(refused.status, 429, "{refused:?}");
    let retry = (refused.headers.iter()).find(|(name, _)| *name == "Retry-After");
    assert!(
        retry.is_some_and(|(_, secs)| secs.parse::<u64>().is_ok_and(|s| s > 1000)),
        "{refused:?}"
    );
    // A guess without a token counts too: the limit is before the token is looked at.
    let mut guess = request("POST", "/ping/backup", "");
    guess.peer = Some("192.0.2.7:4".parse().unwrap());
    assert_eq!(api.respond(&guess).status, 429);
    assert_eq!(from("192.0.2.8:1").status, 200, "another client");
    for _ in 0..5 {
        assert_eq!(
            api.respond(&with_bearer(request("POST", "/ping/backup", ""), PINGER))
                .status,
            200,
            "loopback"
        );
    }
    // Reads are not pings.
    let mut read = with_bearer(request("GET", "/status", ""), READER);
    read.peer = Some("192.0.2.7:5".parse().unwrap());
    assert_eq!(api.respond(&read).status, 200);
}

#[test]
fn a_logged_target_hides_the_token() {
    let request = request("GET", "/status?a=1&token=s3cret-s3cret-s3cret", "");
    assert_eq!(logged_target(&request), "/status?a=1&token=…(hidden)");
}
