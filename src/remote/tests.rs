use std::path::Path;

use serde_json::json;

use super::*;
use crate::report::columns::{Column, Context};
use crate::report::fixture::{self, NOW};
use crate::report::{self, json};

/// The fixture's report (a process in nearly every state) as a serve's `/status` says it.
fn served() -> (Report, Vec<u8>) {
    let report = report::build(
        &fixture::snapshot(),
        &fixture::config(),
        &mut fixture::probe(),
        NOW,
    );
    let document = json::Document::new(&report, Path::new("/srv/hb.json"), None, 2);
    let body = serde_json::to_vec(&document).unwrap();
    (report, body)
}

#[test]
fn every_row_a_serve_writes_reads_back_as_it_judged_it() {
    let (report, body) = served();
    let judged = parse("box2", &body).unwrap();
    assert_eq!(judged.now, NOW);
    assert_eq!(judged.exit_code, 2);
    assert_eq!(judged.rows.len(), report.rows.len());
    for (theirs, ours) in judged.rows.iter().zip(&report.rows) {
        assert_eq!(theirs.name, ours.name);
        assert_eq!(theirs.health, ours.health, "{}", ours.name);
        assert_eq!(theirs.entry, ours.entry, "{}", ours.name);
        assert_eq!(theirs.monitored, ours.monitored);
        assert_eq!(theirs.host.as_deref(), Some("box2"));
        assert_eq!(theirs.judged_at, Some(NOW));
        // What the table shows of it is what the remote's own table shows.
        let cx = Context {
            now: NOW,
            symbols: false,
        };
        for &c in Column::ALL.iter().filter(|&&c| c != Column::Host) {
            assert_eq!(c.text(theirs, &cx, 80), c.text(ours, &cx, 80), "{c:?}");
        }
    }
    for p in &judged.processes {
        assert_eq!(p["host"], "box2");
    }
}

#[test]
fn ages_count_to_the_remotes_clock_not_ours() {
    let (report, body) = served();
    let judged = parse("box2", &body).unwrap();
    // Our clock an hour behind the remote's (or the remote's an hour ahead): the same.
    for our_now in [NOW - 3600.0, NOW + 3600.0] {
        let cx = Context {
            now: our_now,
            symbols: false,
        };
        let theirs = Context { now: NOW, ..cx };
        for (row, original) in judged.rows.iter().zip(&report.rows) {
            for c in [Column::LastBeat, Column::Runtime] {
                assert_eq!(c.text(row, &cx, 80), c.text(original, &theirs, 80));
            }
        }
    }
}

#[test]
fn a_reply_that_is_not_the_document_is_refused_saying_why() {
    let (_, body) = served();
    let mut good: Value = serde_json::from_slice(&body).unwrap();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        change(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("html", b"<html>login</html>".to_vec(), "not a JSON object"),
        ("array", b"[1, 2.0, 0, []]".to_vec(), "not a JSON object"),
        ("empty", Vec::new(), "not a JSON object"),
        ("cut", body[..body.len() / 2].to_vec(), "EOF"),
        ("schema", with(&|v| v["schema"] = json!(2)), "schema 2"),
        ("no now", with(&|v| v["now"] = json!(null)), "invalid type"),
        ("now zero", with(&|v| v["now"] = json!(0.0)), "now is 0"),
        (
            "exit",
            with(&|v| v["exit_code"] = json!(9)),
            "exit_code is 9",
        ),
        (
            "state",
            with(&|v| v["processes"][0]["state"] = json!("\u{1b}[2Jfine")),
            "state \"\\u{1b}[2Jfine\"",
        ),
        (
            "severity",
            with(&|v| v["processes"][0]["severity"] = json!("meh")),
            "severity \"meh\"",
        ),
        (
            "process",
            with(&|v| v["processes"][0] = json!("x")),
            "a process",
        ),
    ];
    for (what, body, says) in cases {
        let err = parse("box2", &body).unwrap_err();
        assert!(
            matches!(err, RemoteError::NotTheDocument(_)),
            "{what}: {err:?}"
        );
        let shown = unreachable_line("box2", NOW, NOW, &err);
        assert!(shown.contains(says), "{what}: {shown}");
        assert!(!shown.chars().any(char::is_control), "{what}: {shown:?}");
    }
    good["processes"] = json!([]);
    assert!(parse("box2", &serde_json::to_vec(&good).unwrap()).is_ok());
}

#[test]
fn the_unreachable_line_names_the_remote_when_and_why_escaped() {
    let line = unreachable_line(
        "box\u{1b}2",
        NOW,
        NOW + 60.0,
        &RemoteError::Unreachable("refused\nsecond line".into()),
    );
    let at = crate::report::columns::local_stamp(NOW, NOW + 60.0);
    assert_eq!(
        line,
        format!("box\\u{{1b}}2: unreachable since {at} (refused\\nsecond line)")
    );
}

fn fetched(name: &str, result: Result<u8, RemoteError>) -> Fetched {
    Fetched {
        name: name.into(),
        url: format!("http://{name}:4266"),
        at: NOW,
        result: result.map(|exit_code| Judged {
            now: NOW,
            exit_code,
            rows: Vec::new(),
            processes: Vec::new(),
        }),
    }
}

#[test]
fn the_exit_code_is_the_worst_and_unknown_for_a_dead_remote_unless_critical() {
    let down = || Err(RemoteError::Status(503));
    let cases: Vec<(u8, Vec<Fetched>, u8)> = vec![
        (0, vec![], 0),
        (0, vec![fetched("a", Ok(1))], 1),
        (1, vec![fetched("a", Ok(0))], 1),
        (0, vec![fetched("a", Ok(2)), fetched("b", Ok(0))], 2),
        (0, vec![fetched("a", down())], 3),
        (1, vec![fetched("a", down())], 3),
        (2, vec![fetched("a", down())], 2),
        (0, vec![fetched("a", Ok(2)), fetched("b", down())], 2),
    ];
    for (local, remotes, want) in cases {
        assert_eq!(exit_code(local, &remotes), want, "{local} {remotes:?}");
    }
}

#[test]
fn a_remote_is_named_after_its_urls_host_and_needs_http() {
    let cases = [
        ("https://box2:4266", Some("box2")),
        ("http://10.0.0.7:4266/", Some("10.0.0.7")),
        ("http://[::1]:4266", Some("[::1]")),
        ("ftp://box2", None),
        ("box2:4266", None),
        ("https://", None),
        ("not a url", None),
    ];
    for (url, name) in cases {
        let got = Remote::from_url(url, None).ok().map(|r| r.name);
        assert_eq!(got.as_deref(), name, "{url}");
    }
}

#[test]
fn merge_gives_local_rows_this_host_and_appends_the_remotes() {
    let (report, body) = served();
    let mut local = report.clone();
    let ok = Fetched {
        result: parse("box2", &body),
        ..fetched("box2", Ok(0))
    };
    merge(
        &mut local,
        "here",
        &[ok, fetched("box3", Err(RemoteError::TooBig))],
    );
    assert_eq!(local.rows.len(), 2 * report.rows.len());
    let (ours, theirs) = local.rows.split_at(report.rows.len());
    assert!(ours.iter().all(|r| r.host.as_deref() == Some("here")));
    assert!(ours.iter().all(|r| r.judged_at.is_none()));
    assert!(theirs.iter().all(|r| r.host.as_deref() == Some("box2")));
    assert!(Column::shown(&local.rows).contains(&Column::Host));
    assert!(!Column::shown(&report.rows).contains(&Column::Host));
}

#[test]
fn a_token_file_others_may_read_is_refused_and_a_private_one_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::Config::parse(
        "[[remote]]\nurl = \"https://box2:4266\"\nname = \"db box\"\ntoken_file = \"t\"\n\
         [[remote]]\nurl = \"http://box3:4266\"\ntoken = \"inline\"\n",
        &dir.path().join("hbmon.toml"),
    )
    .unwrap();
    let file = dir.path().join("t");
    std::fs::write(&file, "s3cret\n").unwrap();
    for (mode, ok) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false)] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        match configured(&config, dir.path()) {
            Ok(remotes) => {
                assert!(ok, "{mode:o} read");
                assert_eq!(remotes[0].name, "db box");
                assert_eq!(remotes[0].token.as_deref(), Some("s3cret"));
                assert_eq!(remotes[1].name, "box3");
                assert_eq!(remotes[1].token.as_deref(), Some("inline"));
            }
            Err(e) => {
                assert!(!ok, "{mode:o}: {e}");
                assert!(e.to_string().contains("lets others read it"), "{e}");
            }
        }
    }
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", &file).unwrap();
    assert!(configured(&config, dir.path()).is_err());
}

#[test]
fn remotes_sharing_a_name_are_told_apart_by_port_then_by_number() {
    // The remotes (URL, the config's `name`), and their names after.
    type Case<'a> = (&'a [(&'a str, Option<&'a str>)], &'a [&'a str]);
    let cases: &[Case] = &[
        (&[("http://box2:4266", None)], &["box2"]),
        (
            &[("http://box2:4266", None), ("http://box2:4267", None)],
            &["box2:4266", "box2:4267"],
        ),
        (
            &[
                ("https://box2", None),
                ("http://box2", None),
                ("http://box3", None),
            ],
            &["box2:443", "box2:80", "box3"],
        ),
        // A name given is kept; an unnamed one on its host is not renamed for it.
        (
            &[("http://box2:1", Some("db")), ("http://box2:2", None)],
            &["db", "box2"],
        ),
        (
            &[
                ("http://a:1", Some("db")),
                ("http://b:1", Some("db")),
                ("http://c:1", Some("db")),
            ],
            &["db", "db (2)", "db (3)"],
        ),
        (
            &[("http://box2:1", None), ("http://box2:1", None)],
            &["box2:1", "box2:1 (2)"],
        ),
        // A number is never one another remote has: each name is one serve.
        (
            &[
                ("http://a:1", Some("db")),
                ("http://b:1", Some("db")),
                ("http://c:1", Some("db (2)")),
            ],
            &["db", "db (3)", "db (2)"],
        ),
    ];
    for (given, want) in cases {
        let mut list: Vec<Remote> = given
            .iter()
            .map(|(url, name)| {
                let mut r = Remote::from_url(url, None).unwrap();
                if let Some(name) = name {
                    r.name = (*name).to_owned();
                }
                r
            })
            .collect();
        distinct(&mut list);
        let got: Vec<&str> = list.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(&got, want, "{given:?}");
    }
}

#[test]
fn an_inline_token_in_a_config_others_may_read_is_warned_of_naming_the_file_and_remote() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbmon.toml");
    let inline = "[[remote]]\nurl = \"https://box2:4266\"\nname = \"db box\"\ntoken = \"t0ken\"\n\
                  [[remote]]\nurl = \"https://box3:4266\"\ntoken_file = \"t\"\n\
                  [[remote]]\nurl = \"https://box4:4266\"\ntoken = \"t0ken\"\n";
    let by_file = "[[remote]]\nurl = \"https://box3:4266\"\ntoken_file = \"t\"\n";
    // The config's text, its mode, and whether a warning is given.
    let cases = [
        (inline, 0o644, true),
        (inline, 0o640, true),
        (inline, 0o604, true),
        (inline, 0o600, false),
        (by_file, 0o644, false),
    ];
    for (text, mode, warned) in cases {
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let config = Config::parse(text, &path).unwrap();
        let warning = readable_token_warning(&config, &path);
        assert_eq!(warning.is_some(), warned, "{mode:o}: {warning:?}");
        if let Some(warning) = warning {
            assert!(!warning.contains('\n'), "one line: {warning}");
            assert!(warning.contains(&path.display().to_string()), "{warning}");
            assert!(
                warning.contains("[[remote]] db box, https://box4:4266 "),
                "{warning}"
            );
            assert!(warning.contains(&format!("mode {mode:04o}")), "{warning}");
            assert!(warning.contains("token_file"), "{warning}");
            assert!(!warning.contains("t0ken"), "{warning}");
        }
    }
}
