//! Cron schedules end to end: a configured schedule in `status --json` (`next_due`,
//! `rules.schedule`/`rules.tz`) and `overdue` at exactly due + grace on a clock libfaketime
//! sets; the writers' promise (`hbmon run|beat --schedule`, `/ping/NAME?schedule=`); a
//! maintenance window that pauses a dead process and sends no alert; bad schedules refused.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::hardening_job::libfaketime;
use crate::serve::{Serve, Worker, beat, lines, send, wait_for};
use crate::{hbmon, hbmon_std};

fn unix(rfc3339: &str) -> f64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_second() as f64
}

/// `hbmon status --json`'s row for `name`, judged at the frozen UTC instant `at` (None:
/// the real clock).
fn row(dir: &Path, name: &str, at: Option<&str>) -> Value {
    let mut cmd = hbmon_std(dir);
    if let Some(at) = at {
        cmd.env("LD_PRELOAD", libfaketime())
            .env("TZ", "UTC")
            .env("FAKETIME", at)
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
    let out = cmd.args(["status", "--json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    doc["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {doc:#}"))
        .clone()
}

#[test]
fn a_configured_schedule_is_due_at_its_fire_time_and_overdue_just_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"backup\"\nschedule = \"0 3 * * *\"\ntz = \"Europe/Berlin\"\n\
         grace = \"10m\"\n",
    )
    .unwrap();
    // The run at 03:00:05 Berlin time (CEST, UTC+2) on 1 June, on a clock libfaketime starts there.
    let mut run = hbmon_std(dir.path());
    run.env("LD_PRELOAD", libfaketime())
        .env("TZ", "UTC")
        .env("FAKETIME", "@2026-06-01 01:00:05")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .args(["run", "backup", "--", "true"]);
    assert!(run.status().unwrap().success());
    let due = unix("2026-06-02T03:00:00+02:00");
    let up = row(dir.path(), "backup", Some("2026-06-02 01:10:00"));
    assert_eq!(up["state"], "up", "{up:#}");
    assert_eq!(up["next_due"], due, "{up:#}");
    assert_eq!(up["rules"]["schedule"], "0 3 * * *");
    assert_eq!(up["rules"]["tz"], "Europe/Berlin");
    assert_eq!(up["rules"]["grace"], 600.0);
    let missed = row(dir.path(), "backup", Some("2026-06-02 01:10:01"));
    assert_eq!(missed["state"], "overdue", "{missed:#}");
    assert_eq!(missed["since"], due + 600.0);
    assert_eq!(missed["next_due"], due, "the missed one while overdue");
    assert!(
        missed["reason"].as_str().unwrap().starts_with(
            "missed its run due Tue 2026-06-02 03:00:00 CEST (schedule \"0 3 * * *\", grace 10m"
        ),
        "{missed:#}"
    );
}

#[test]
fn writers_promise_a_schedule_in_the_entry_as_they_promise_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args([
            "run",
            "nightly",
            "--schedule",
            "30 2 * * *",
            "--tz",
            "America/New_York",
            "--",
            "true",
        ])
        .assert()
        .success();
    hbmon(dir.path())
        .args([
            "beat",
            "report",
            "--no-pid",
            "--schedule",
            "@hourly",
            "--tz",
            "UTC",
            "-q",
        ])
        .assert()
        .success();
    for (name, expr, tz) in [
        ("nightly", "30 2 * * *", "America/New_York"),
        ("report", "@hourly", "UTC"),
    ] {
        let row = row(dir.path(), name, None);
        assert_eq!(row["entry"]["schedule"], expr, "{row:#}");
        assert_eq!(row["entry"]["tz"], tz, "{row:#}");
        assert_eq!(
            row["entry"]["kind"], "job",
            "a schedule is a job's: {row:#}"
        );
        assert_eq!(
            (&row["rules"]["schedule"], &row["rules"]["tz"]),
            (&Value::from(expr), &Value::from(tz))
        );
        let last = row["entry"]["started_at"]
            .as_f64()
            .or(row["last_heartbeat"].as_f64())
            .unwrap();
        let next = row["next_due"].as_f64().unwrap();
        assert!(next > last && next - last <= 86_400.0 + 3600.0, "{row:#}");
    }
    // A config's period wins over the writer's.
    fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"report\"\nkind = \"job\"\ninterval = \"1d\"\n",
    )
    .unwrap();
    let row = row(dir.path(), "report", None);
    assert_eq!(row["rules"]["schedule"], Value::Null, "{row:#}");
    assert_eq!(row["rules"]["interval"], 86_400.0);
}

#[test]
fn a_ping_promises_a_schedule_with_its_query() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let reply = send(
        serve.addr(),
        b"GET /ping/etl?schedule=*/15%20*%20*%20*%20*&tz=Asia/Tokyo HTTP/1.1\r\n\r\n",
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let row = row(dir.path(), "etl", None);
    assert_eq!(row["rules"]["schedule"], "*/15 * * * *", "{row:#}");
    assert_eq!(row["rules"]["tz"], "Asia/Tokyo");
    let bad = send(
        serve.addr(),
        b"GET /ping/etl?schedule=0%2025%20*%20*%20* HTTP/1.1\r\n\r\n",
    );
    assert_eq!(bad.status, 400, "{bad:?}");
}

#[test]
fn a_maintenance_window_pauses_a_dead_process_and_no_alert_goes_out() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.txt");
    // Open all the time (every minute, for an hour): "db-main" dies inside it; "web",
    // outside any window, dies too, and its alert shows that alerts do go out.
    fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[[maintenance]]\nschedule = \"* * * * *\"\nduration = \"1h\"\nprocesses = [\"db-*\"]\n\
             [[alert]]\ncommand = '''printf '%s\\n' \"$HBMON_NAME $HBMON_STATE\" >> \"{}\"'''\n",
            alerts.display()
        ),
    )
    .unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    let mut db = Worker::start();
    let mut web = Worker::start();
    beat(dir.path(), "db-main", &db.pid(), &[]);
    beat(dir.path(), "web", &web.pid(), &[]);
    serve.wait_log("web: new -> up");
    db.kill();
    web.kill();
    wait_for("web's alert", || !lines(&alerts).is_empty(), || serve.log());
    // Both deaths were judged in the same check as the one alert went out.
    assert_eq!(lines(&alerts), ["web dead"], "{}", serve.log());
    let db = row(dir.path(), "db-main", None);
    assert_eq!(db["state"], "paused", "{db:#}");
    let reason = db["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("maintenance window \"* * * * *\" for 1h00m (")
            && reason.contains("; underneath: dead (pid "),
        "{reason}"
    );
}

#[test]
fn a_bad_schedule_or_zone_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = hbmon(dir.path())
        .args(["run", "x", "--schedule", "0 25 * * *", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .next()
            .unwrap()
            .contains("hour field \"25\": 25 is out of range 0-23"),
        "{err}"
    );
    let out = hbmon(dir.path())
        .args(["beat", "x", "--schedule", "@daily", "--tz", "Mars/Base"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("time zone \"Mars/Base\""));
    fs::write(
        dir.path().join("hbmon.toml"),
        "[[process]]\nname = \"b\"\nschedule = \"0 3 * * *\"\ntz = \"Mars/Base\"\n",
    )
    .unwrap();
    // `hbmon config` is a usage error (2); `hbmon status` says unknown (3), as a plugin does.
    let out = hbmon(dir.path()).arg("config").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("hbmon.toml:4: tz: time zone \"Mars/Base\""),
        "{err}"
    );
}

#[test]
fn a_schedule_the_python_writer_promises_is_the_one_hbmon_judges_by() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/src");
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys; sys.path.insert(0, sys.argv[1]); import hbmon; \
             hbmon.beat('report', pid=False, schedule='15 * * * *', tz='Asia/Kolkata', file=sys.argv[2])",
        )
        .arg(&package)
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let row = row(dir.path(), "report", None);
    assert_eq!(row["rules"]["schedule"], "15 * * * *", "{row:#}");
    assert_eq!(row["rules"]["tz"], "Asia/Kolkata");
    assert_eq!(row["rules"]["kind"], "job");
    // Asia/Kolkata is UTC+05:30: minute 15 there is minute 45 in UTC.
    let next = row["next_due"].as_f64().unwrap() as i64;
    assert_eq!(next % 3600, 45 * 60, "{row:#}");
}
