//! Each restart `hbmon serve`'s supervisor makes is a row of the history, listed by `hbmon
//! history NAME` with its count and cause, and a notice to every `[[alert]]` rule — a row
//! whichever face records the history (the live UI, while serve only supervises).

use std::fs;
use std::time::Duration;

use crate::hbmon;
use crate::serve::{Serve, history_json, wait_for};
use crate::tui::Tmux;

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

#[test]
fn restarts_are_history_rows_when_the_ui_records_and_serve_only_supervises() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = d.join("hbmon.toml");
    fs::write(
        &config,
        "[[process]]\nname = \"bidder\"\ninterval = \"1s\"\nrun = [\"sh\", \"-c\", \"exit 7\"]\n\
         max_restarts = 2\nrestart_window = \"10m\"\n",
    )
    .unwrap();
    // The UI first: it holds the history's role; serve then stands by for it.
    let ui = Tmux::start(&format!(
        "exec {} --file '{}' --config '{}' --refresh 1s",
        env!("CARGO_BIN_EXE_hbmon"),
        d.join("hb.json").display(),
        config.display()
    ));
    ui.wait_for("the UI", Duration::from_secs(10), |s| s.contains("bidder"));
    let mut serve = Serve::start(d, "serve.log");
    serve.wait_log("history: another monitor records");
    serve.wait_log("supervise: gave up on bidder after 2 restarts in 10m00s");
    let restarts = || history_json(d, "bidder")["restarts"].clone();
    wait_for(
        "both restarts in the history the UI records",
        || restarts().as_array().map_or(0, Vec::len) == 2,
        || format!("{}\n{}", restarts(), serve.log()),
    );
    let rows = restarts();
    assert_eq!(rows[0]["count"], 2, "{rows}");
    assert_eq!(rows[1]["count"], 1, "{rows}");
    assert_eq!(rows[1]["cause"], "exited with code 7", "{rows}");
    // Handed once: more checks (and the serve's rewrites of its word) add no row.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(restarts().as_array().map_or(0, Vec::len), 2);
    drop(ui);
    serve.terminate();
}
