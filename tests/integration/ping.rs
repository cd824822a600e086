//! healthchecks.io's ping API under a real `hbmon serve`: runitor's request sequence with
//! `?rid=`, two overlapping runs of one job by rid, HEAD, `/log`, `Ping-Body-Limit`, and the curl
//! lines of healthchecks.io's docs run through `sh -c`. Each checks the entry, the state,
//! the run's duration and exit code, and the history row.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::hbmon;
use crate::serve::{Reply, Serve, call, history_json, process, status_json, wait_for};

const RID_A: &str = "5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15";
const RID_B: &str = "a1c7e2f9-44b0-4d1e-9a3c-6e5f8b2d0c47";

/// The ping body limit every ping reply says.
const LIMIT: &str = "100000";

/// `hbmon history NAME --json` once its newest beat is `status`: the monitor sees beats
/// on its checks, and its recorder writes them a moment later.
pub(crate) fn history_once(dir: &Path, serve: &Serve, name: &str, status: &str) -> Value {
    let read = || history_json(dir, name);
    wait_for(
        &format!("a {status} beat of {name} in history"),
        || read()["beats"][0]["status"] == status,
        || format!("{}\n{}", read(), serve.log()),
    );
    read()
}

/// What hbmon made of a ping (`X-Hbmon-Result`); the body is healthchecks.io's `OK`.
pub(crate) fn said(reply: &Reply) -> &str {
    reply.header("X-Hbmon-Result").unwrap_or("")
}

/// `NAME`'s row of `hbmon status --json`.
pub(crate) fn row(dir: &Path, name: &str) -> Value {
    process(&status_json(dir), name).clone()
}

pub(crate) fn duration(row: &Value) -> f64 {
    row["entry"]["duration"]
        .as_f64()
        .unwrap_or_else(|| panic!("no duration in {row:#}"))
}

/// A shell that runs `script` with `$HC` the ping URL of `name` on `addr`.
fn sh(addr: SocketAddr, name: &str, script: &str) -> std::process::Output {
    Command::new("sh")
        .args(["-c", script])
        .env("HC", format!("http://{addr}/ping/{name}"))
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .output()
        .unwrap()
}

#[test]
fn runitors_request_sequence_is_one_run_by_rid_with_its_body_cut_to_the_limit_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    // runitor: POST /start?rid=U (no body), run the command, POST /<code>?rid=U with the
    // command's output, its last Ping-Body-Limit bytes.
    let start = call(addr, "POST", &format!("/ping/backup/start?rid={RID_A}"), "");
    assert_eq!(start.status, 200, "{start:?}");
    assert_eq!(start.header("Ping-Body-Limit"), Some(LIMIT));
    let limit: usize = start.header("Ping-Body-Limit").unwrap().parse().unwrap();
    // Seen running before the end comes: two pings in one burst are one check.
    serve.wait_log("backup: new -> running");
    let job = Command::new("sh")
        .args([
            "-c",
            "sleep 0.2; i=0; while [ $i -lt 12000 ]; do echo \"line $i\"; i=$((i+1)); done; \
             echo 'tar: disk full'; exit 3",
        ])
        .output()
        .unwrap();
    let code = job.status.code().unwrap();
    assert!(
        job.stdout.len() > limit,
        "the output must be over the limit"
    );
    let tail = String::from_utf8(job.stdout[job.stdout.len() - limit..].to_vec()).unwrap();
    let end = call(
        addr,
        "POST",
        &format!("/ping/backup/{code}?rid={RID_A}"),
        &tail,
    );
    assert_eq!(end.status, 200, "{end:?}");
    assert_eq!(end.header("Ping-Body-Limit"), Some(LIMIT));
    assert_eq!(end.body, "OK", "healthchecks.io's word: {end:?}");
    assert!(
        said(&end).starts_with("OK failed \"backup\" (beat 2, exit 3, took "),
        "{end:?}"
    );

    let history = history_once(dir.path(), &serve, "backup", "failed");
    assert_eq!(history["beats"][1]["status"], "running", "{history:#}");
    let last = &history["transitions"][0];
    assert_eq!(
        (&last["from"], &last["to"]),
        (&"running".into(), &"failed".into())
    );
    let row = row(dir.path(), "backup");
    // The entry keeps the body's last 10 KiB, as `hbmon run` keeps a job's output.
    let kept = row["entry"]["additional_data"]["output_tail"]
        .as_str()
        .unwrap_or_else(|| panic!("no output_tail in {row:#}"));
    assert!(kept.ends_with("line 11999\ntar: disk full\n"), "{kept}");
    assert_eq!(row["state"], "failed", "{row:#}");
    let entry = &row["entry"];
    assert_eq!(
        (&entry["status"], &entry["exit_code"], &entry["kind"]),
        (&Value::from("failed"), &Value::from(3), &Value::from("job"))
    );
    assert_eq!(entry["last_error"], "exited with code 3");
    assert!(duration(&row) >= 0.2, "{row:#}");
    assert_eq!(row["runs"], Value::Array(Vec::new()), "the run ended");
}

#[test]
fn two_overlapping_rids_of_one_job_end_each_with_its_own_duration_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let ping = |path: &str| {
        let reply = call(addr, "POST", path, "");
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        reply
    };
    ping(&format!("/ping/etl/start?rid={RID_A}&interval=1h"));
    std::thread::sleep(Duration::from_millis(400));
    ping(&format!("/ping/etl/start?rid={RID_B}"));
    let both = row(dir.path(), "etl");
    assert_eq!(both["state"], "running", "{both:#}");
    let ids: Vec<&str> = both["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [RID_A, RID_B], "oldest first");
    let table = hbmon(dir.path()).arg("status").output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("2 running"), "{table}");

    // B, started later, ends first and well, 0.1 s after its start.
    std::thread::sleep(Duration::from_millis(100));
    let b = ping(&format!("/ping/etl/0?rid={RID_B}"));
    assert!(said(&b).starts_with("OK succeeded \"etl\""), "{b:?}");
    let after_b = row(dir.path(), "etl");
    assert_eq!(after_b["entry"]["exit_code"], 0, "{after_b:#}");
    let took_b = duration(&after_b);
    assert!((0.1..0.4).contains(&took_b), "B took {took_b}: {after_b:#}");
    assert_eq!(
        after_b["runs"].as_array().map(Vec::len),
        Some(1),
        "A runs on"
    );
    assert_eq!(after_b["runs"][0]["run_id"], RID_A);

    // A ends badly, its duration from its own start, not B's.
    let a = ping(&format!("/ping/etl/fail?rid={RID_A}&msg=rows+lost"));
    assert!(said(&a).starts_with("OK failed \"etl\""), "{a:?}");
    let history = history_once(dir.path(), &serve, "etl", "failed");
    let after_a = row(dir.path(), "etl");
    assert_eq!(after_a["state"], "failed", "{after_a:#}");
    assert_eq!(
        after_a["entry"]["exit_code"],
        Value::Null,
        "/fail has no code"
    );
    assert_eq!(after_a["entry"]["last_error"], "rows lost");
    let took_a = duration(&after_a);
    assert!(took_a >= 0.5, "A took {took_a}: {after_a:#}");
    assert!(after_a["runs"].as_array().unwrap().is_empty());
    assert_eq!(history["transitions"][0]["to"], "failed", "{history:#}");
}

#[test]
fn healthchecks_io_curl_lines_through_sh_ping_as_the_docs_say() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();

    // The cron line of the docs, with a run id as runitor makes one: `&&` pings success.
    let cron = format!(
        "RID={RID_A}; curl -fsS -m 10 --retry 5 -o /dev/null \"$HC/start?rid=$RID\" && \
         sleep 0.1 && curl -fsS -m 10 --retry 5 -o /dev/null \"$HC?rid=$RID\""
    );
    let out = sh(addr, "cron", &cron);
    assert!(out.status.success(), "{out:?}");
    history_once(dir.path(), &serve, "cron", "succeeded");
    let cron = row(dir.path(), "cron");
    assert_eq!(
        (&cron["state"], &cron["entry"]["exit_code"]),
        (&"up".into(), &0.into())
    );
    assert!(duration(&cron) >= 0.1, "{cron:#}");

    // `$?` and a log as the body, `--data-raw`; systemd's ExecStartPre/ExecStopPost shape
    // (`curl … $HC/start`, then `$HC/$EXIT_STATUS`), as HEAD for the start.
    let bash = "curl -fsS -m 10 -I -o /dev/null \"$HC/start\" && \
                (sleep 0.1; exit 4); EXIT_STATUS=$?; \
                curl -fsS -m 10 -o /dev/null --data-raw 'rsync: 4 files failed' \
                \"$HC/$EXIT_STATUS\"";
    let out = sh(addr, "sync", bash);
    assert!(out.status.success(), "{out:?}");
    let history = history_once(dir.path(), &serve, "sync", "failed");
    assert_eq!(
        history["beats"][0]["data"]["output_tail"],
        "rsync: 4 files failed"
    );
    let sync = row(dir.path(), "sync");
    assert_eq!(
        (&sync["state"], &sync["entry"]["exit_code"]),
        (&"failed".into(), &4.into())
    );
    assert!(duration(&sync) >= 0.1, "{sync:#}");

    // `/log` adds to the output tail and changes nothing else; to a name with no entry it
    // is healthchecks.io's 404, and nothing is written.
    let log = "curl -fsS -m 10 -o /dev/null --data-raw ' (retried)' \"$HC/log\"";
    assert!(sh(addr, "sync", log).status.success());
    let logged = row(dir.path(), "sync");
    assert_eq!(
        logged["entry"]["additional_data"]["output_tail"],
        "rsync: 4 files failed (retried)"
    );
    assert_eq!(
        (&logged["state"], &logged["entry"]["beats"]),
        (&sync["state"], &sync["entry"]["beats"])
    );
    assert_eq!(sh(addr, "refused", log).status.code(), Some(22));

    // HEAD: the status and headers of a GET, no body.
    let head = sh(addr, "probe", "curl -sS -m 10 -I \"$HC\"");
    let head = String::from_utf8(head.stdout).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nPing-Body-Limit: 100000\r\n"), "{head}");
    assert_eq!(row(dir.path(), "probe")["entry"]["status"], "alive");

    // What healthchecks.io refuses, curl -f fails on (22), and nothing is written.
    for bad in ["$HC/256", "$HC/start?rid=not-a-uuid"] {
        let out = sh(
            addr,
            "refused",
            &format!("curl -fsS -m 10 -o /dev/null \"{bad}\""),
        );
        assert_eq!(out.status.code(), Some(22), "{bad}: {out:?}");
    }
    let refused = crate::serve::get(addr, "/ping/refused/start?rid=not-a-uuid");
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body, "invalid uuid format",
        "healthchecks.io's word"
    );
    assert_eq!(said(&refused), "rid=\"not-a-uuid\": invalid uuid format");
    assert!(
        status_json(dir.path())["processes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "refused")
    );
}
