//! Each restart `hbmon serve`'s supervisor makes is a row of the history, listed by `hbmon
//! history NAME` with its count and cause, and a notice to every `[[alert]]` rule.

use std::fs;
use std::time::Duration;

use crate::hbmon;
use crate::serve::{Serve, wait_for};

#[test]
fn each_restart_is_a_history_row_and_an_alert_with_its_count_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let alerts = d.join("alerts.txt");
    // Crashes at once, every time: two restarts, then gave-up.
    fs::write(
        d.join("hbmon.toml"),
        format!(
            "[[process]]\nname = \"bidder\"\ninterval = \"1s\"\nrun = [\"sh\", \"-c\", \"exit 7\"]\n\
             max_restarts = 2\nrestart_window = \"10m\"\n\n\
             [[alert]]\ndigest = \"0s\"\n\
             command = '''printf '%s|%s|%s\\n' \"$HBMON_KIND\" \"$HBMON_NAME\" \"$HBMON_REASON\" >> \"{}\"'''\n",
            alerts.display()
        ),
    )
    .unwrap();
    let mut serve = Serve::start(d, "serve.log");
    serve.wait_log("supervise: gave up on bidder after 2 restarts in 10m00s");
    let sent = || fs::read_to_string(&alerts).unwrap_or_default();
    wait_for(
        "both restarts alerted",
        || sent().matches("restart|").count() == 2,
        || format!("{}\n{}", sent(), serve.log()),
    );
    let sent = sent();
    for n in ["1st", "2nd"] {
        let line =
            format!("restart|bidder|restarted bidder ({n} time in 10m00s): exited with code 7");
        assert!(sent.lines().any(|l| l == line), "{line:?} not in:\n{sent}");
    }
    // The history is written on its own thread: give it a moment past the alerts.
    std::thread::sleep(Duration::from_secs(2));
    let out = hbmon(d).args(["history", "bidder"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("restart #")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    // Newest first.
    assert!(
        rows[0].contains("restart #2")
            && rows[0].ends_with("(2nd time in 10m00s): exited with code 7"),
        "{text}"
    );
    assert!(
        rows[1].contains("restart #1") && rows[1].contains("(1st time"),
        "{text}"
    );
    let json = hbmon(d)
        .args(["history", "bidder", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let restarts = doc["restarts"].as_array().unwrap();
    assert_eq!(restarts.len(), 2, "{doc}");
    assert_eq!(restarts[1]["count"], 1);
    assert_eq!(restarts[1]["cause"], "exited with code 7");
    serve.terminate();
}
