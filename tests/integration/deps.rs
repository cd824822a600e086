//! Dependencies and root causes with the real binary: `db` dies under three dependents and
//! `hbmon serve` alerts once, naming all four; the dependents are `blocked` in `status
//! --json`; `db` back is one recovery. A cycle in the config is one line, exit 2. Every
//! process of another host silent at once is one alert for the host.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use predicates::str::contains;
use serde_json::{Value, json};

use crate::hbmon;
use crate::serve::{Serve, Worker, beat, lines, wait_for};

/// `[[process]]` db, and api, worker, web that depend on it; one alert command that appends
/// `KIND|NAME|TEXT` to the returned file (digests far away: only hard notices land).
fn config(dir: &Path) -> PathBuf {
    let out = dir.join("alerts.txt");
    let mut text = String::from("[[process]]\nname = \"db\"\n");
    for name in ["api", "worker", "web"] {
        let _ = write!(
            text,
            "\n[[process]]\nname = \"{name}\"\ndepends_on = [\"db\"]\n"
        );
    }
    let _ = write!(
        text,
        "\n[[alert]]\ncommand = '''printf '%s|%s|%s\\n' \"$HBMON_KIND\" \"$HBMON_NAME\" \
         \"$HBMON_TEXT\" >> \"{}\"'''\ndigest = \"1h\"\n",
        out.display()
    );
    fs::write(dir.join("hbmon.toml"), text).unwrap();
    out
}

fn status(dir: &Path) -> Value {
    let out = hbmon(dir).args(["status", "--json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn process<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {doc}"))
}

/// Waits until every one of `names` is in `state` by `hbmon status --json`.
fn wait_states(dir: &Path, names: &[&str], state: &str, serve: &Serve) {
    wait_for(
        &format!("{names:?} {state}"),
        || {
            let doc = status(dir);
            names.iter().all(|n| process(&doc, n)["state"] == state)
        },
        || format!("{}\n{}", status(dir), serve.log()),
    );
}

/// `lines` of `path` stay exactly `want` for a while: nothing more arrives.
fn stays(path: &Path, want: &[String], serve: &Serve) {
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(lines(path), want, "{}", serve.log());
}

#[test]
fn db_dying_under_three_dependents_is_one_alert_naming_all_four_and_back_one_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = config(dir.path());
    let mut workers: Vec<(&str, Worker)> = ["db", "api", "worker", "web"]
        .into_iter()
        .map(|n| (n, Worker::start()))
        .collect();
    for (name, w) in &workers {
        beat(dir.path(), name, &w.pid(), &[]);
    }
    let serve = Serve::start(dir.path(), "serve.log");
    let all = ["db", "api", "worker", "web"];
    wait_states(dir.path(), &all, "up", &serve);
    serve.wait_log("history: recording");

    // db first, then everything that needs it: the dependents' deaths are db's news.
    workers[0].1.kill();
    wait_for(
        "the db alert",
        || !lines(&alerts).is_empty(),
        || serve.log(),
    );
    for (_, w) in &mut workers[1..] {
        w.kill();
    }
    wait_states(dir.path(), &["api", "worker", "web"], "blocked", &serve);
    let doc = status(dir.path());
    for name in ["api", "worker", "web"] {
        let p = process(&doc, name);
        assert_eq!(p["blocked_by"], json!(["db"]), "{p}");
        assert_eq!(p["depends_on"], json!(["db"]), "{p}");
        let reason = p["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("blocked: db is dead (own: dead, pid "),
            "{reason}"
        );
    }
    assert_eq!(process(&doc, "db")["state"], "dead");
    let db_pid = workers[0].1.pid();
    let got = lines(&alerts);
    let alert = format!("db is dead (was up): pid {db_pid} is gone; takes down api, worker, web");
    assert!(
        got.len() == 1 && got[0].starts_with("alert|db|") && got[0].ends_with(&alert),
        "{got:?}"
    );
    stays(&alerts, &got, &serve);

    // The dependents come back (fine by themselves, so up while db is still dead), then
    // db: one recovery, for db.
    let mut again: Vec<Worker> = Vec::new();
    for name in ["api", "worker", "web", "db"] {
        let w = Worker::start();
        beat(dir.path(), name, &w.pid(), &[]);
        again.push(w);
    }
    wait_states(dir.path(), &all, "up", &serve);
    wait_for("the recovery", || lines(&alerts).len() >= 2, || serve.log());
    let got = lines(&alerts);
    assert!(
        got[1].starts_with("recovery|db|")
            && got[1].contains("db is up (was dead): ")
            && got[1].ends_with("; back for api, worker, web"),
        "{got:?}"
    );
    stays(&alerts, &got[..2], &serve);
}

#[test]
fn a_dependency_cycle_in_the_config_is_one_line_naming_it_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbmon.toml");
    fs::write(
        &path,
        "[[process]]\nname = \"a\"\ndepends_on = [\"b\"]\n\n\
         [[process]]\nname = \"b\"\ndepends_on = [\"a\"]\n",
    )
    .unwrap();
    let line = format!(
        "{}:3: depends_on: dependency cycle: \"a\" → \"b\" → \"a\"",
        path.display()
    );
    // `status` exits 3 as for any config it cannot use: "unknown", the plugin convention.
    for (args, code) in [
        (&["config"][..], 2),
        (&["serve"], 2),
        (&["status", "--json"], 3),
    ] {
        let out = hbmon(dir.path()).args(args).assert().code(code);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(&line), "{args:?}: {stderr}");
    }
    fs::write(
        &path,
        "[[process]]\nname = \"a\"\ndepends_on = [\"nope\"]\n",
    )
    .unwrap();
    hbmon(dir.path())
        .arg("config")
        .assert()
        .code(2)
        .stderr(contains(format!(
            "{}:3: depends_on: \"a\" depends on \"nope\", which is not a configured process",
            path.display()
        )));
}

#[test]
fn every_process_of_another_host_silent_at_once_is_one_alert_for_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.txt");
    fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[[alert]]\ncommand = '''printf '%s|%s|%s\\n' \"$HBMON_KIND\" \"$HBMON_ROOT_HOST\" \
             \"$HBMON_NAME\" | tr '\\n' ' ' >> \"{0}\"; echo >> \"{0}\"'''\ndigest = \"1h\"\n",
            alerts.display()
        ),
    )
    .unwrap();
    // Two processes of a machine that is not this one, beating together, then nothing:
    // both cross dead_after (5 × 1 s + 0.5 s) at the same instant.
    let now = hbmon::clock::unix_now();
    let entry = |pid: u32| {
        json!({"last_heartbeat": now, "first_heartbeat": now - 10.0, "pid": pid,
               "status": "alive", "interval": 1.0, "host": "far-away-host"})
    };
    let file = json!({"version": 1, "processes": {"ingest": entry(10), "export": entry(11)}});
    fs::write(dir.path().join("hb.json"), file.to_string()).unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    wait_for(
        "the host alert",
        || !lines(&alerts).is_empty(),
        || serve.log(),
    );
    let got = lines(&alerts);
    let (head, names) = got[0]
        .trim()
        .split_once("|far-away-host|")
        .unwrap_or_default();
    let mut names: Vec<&str> = names.split(' ').collect();
    names.sort_unstable();
    assert_eq!(
        (head, names),
        ("alert", vec!["export", "ingest"]),
        "{}",
        serve.log()
    );
    serve.wait_log("host far-away-host is down: 2 processes at once: ");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lines(&alerts).len(), 1, "{}", serve.log());
}
