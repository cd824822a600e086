//! `hbmon schedule`: its output and errors, and a differential test of its fire times
//! against cronsim, healthchecks.io's cron engine (PyPI, in .ci/venv).

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use crate::{hbmon, test_python};

#[test]
fn fire_times_match_cronsim_for_thousands_of_random_schedules_around_dst() {
    let python = test_python("cronsim");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/cronsim_check.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_hbmon"))
        .arg("3000")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "hbmon and cronsim differ:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3000 cases"), "{stdout}");
}

#[test]
fn schedule_explains_and_lists_fire_times_in_its_zone_and_in_utc() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args(["schedule", "30 2 * * *", "--tz", "Europe/Berlin"])
        .args(["--after", "2026-03-28T12:00:00Z", "--count", "2"])
        .assert()
        .success()
        .stdout(
            "     Schedule: 30 2 * * *\n\
             \x20   Explained: at 02:30 every day (Europe/Berlin)\n\
             \x20       After: Sat 2026-03-28 12:00:00 UTC\n\
             \x20 Next elapse: Sun 2026-03-29 03:00:00 CEST\n\
             \x20    (in UTC): Sun 2026-03-29 01:00:00 UTC\n\
             \x20From --after: in 13h00m\n\
             \x20Iteration #2: Mon 2026-03-30 02:30:00 CEST\n\
             \x20    (in UTC): Mon 2026-03-30 00:30:00 UTC\n\
             \x20From --after: in 1d12h\n",
        );
}

#[test]
fn schedule_json_is_an_array_of_unix_and_rfc3339_times() {
    let dir = tempfile::tempdir().unwrap();
    let out = hbmon(dir.path())
        .args([
            "schedule",
            "0 * * * *",
            "--tz",
            "America/New_York",
            "--json",
        ])
        .args(["--after", "2026-11-01T04:30:00Z", "--count", "3"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    // 01:00 comes twice on the night the clocks go back: once in EDT, once in EST.
    assert_eq!(
        rows,
        serde_json::json!([
            {"unix": 1_793_509_200_i64, "utc": "2026-11-01T05:00:00Z", "local": "2026-11-01T01:00:00-04:00"},
            {"unix": 1_793_512_800_i64, "utc": "2026-11-01T06:00:00Z", "local": "2026-11-01T01:00:00-05:00"},
            {"unix": 1_793_516_400_i64, "utc": "2026-11-01T07:00:00Z", "local": "2026-11-01T02:00:00-05:00"},
        ])
    );
}

#[test]
fn schedule_defaults_to_five_times_from_now_in_the_machine_zone() {
    let dir = tempfile::tempdir().unwrap();
    let out = hbmon(dir.path())
        .args(["schedule", "@hourly"])
        .env("TZ", "Asia/Kolkata")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(Asia/Kolkata)"), "{text}");
    let lines = |label: &str, end: &str| {
        text.lines()
            .filter(|l| l.trim_start().starts_with(label) && l.ends_with(end))
            .count()
    };
    // Kolkata is UTC+05:30: every local full hour is half past in UTC.
    assert_eq!(lines("Next elapse:", ":00:00 IST"), 1, "{text}");
    assert_eq!(lines("Iteration #", ":00:00 IST"), 4, "{text}");
    assert_eq!(lines("(in UTC):", ":30:00 UTC"), 5, "{text}");
    assert_eq!(lines("From now: in ", ""), 5, "{text}");
}

#[test]
fn schedule_that_never_fires_says_so() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path())
        .args(["schedule", "1 1 */100 * MON#4", "--tz", "UTC"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Next elapse: never (none within 50 years)",
        ));
    let out = hbmon(dir.path())
        .args(["schedule", "1 1 */100 * MON#4", "--json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");
}

#[test]
fn bad_expressions_zones_and_times_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["0 25 * * *"],
            "hbmon: schedule \"0 25 * * *\": hour field \"25\": 25 is out of range 0-23\n",
        ),
        (
            &["@reboot"],
            "hbmon: schedule \"@reboot\": @reboot runs once at boot, it has no times to be due at\n",
        ),
        (
            &["0 3 * * *", "--tz", "Mars/Olympus"],
            "hbmon: time zone \"Mars/Olympus\": not in the time zone database (an IANA name \
             such as Europe/Berlin)\n",
        ),
        (
            &["0 3 * * * \u{1b}[2J"],
            "hbmon: schedule \"0 3 * * * \\u{1b}[2J\": 6 fields; a schedule has five (minute \
             hour day-of-month month day-of-week) or is a macro such as @daily\n",
        ),
    ];
    for (args, want) in cases {
        hbmon(dir.path())
            .arg("schedule")
            .args(*args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(*want);
    }
    // clap's usage errors exit 2 as well.
    for bad in [&["--after", "tomorrow"][..], &["--count", "0"]] {
        hbmon(dir.path())
            .args(["schedule", "0 3 * * *"])
            .args(bad)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("invalid value"));
    }
}
