//! What only the supervising `hbmon serve` knows — a process given up on, one stopped by
//! hand — seen from outside it: `hbmon status` (table and `--json`) and the live UI, run
//! as other processes, show it as that serve does, through `<file>.supervise.json`.

use std::fs;
use std::time::Duration;

use crate::serve::{Serve, Worker, process, status_json};
use crate::tui::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_hbmon");

#[test]
fn gave_up_and_stopped_by_hand_show_in_status_and_the_ui_outside_the_supervising_serve() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `ext` is managed elsewhere: stopped by hand, then its process dies, it is `stopped`
    // (not `dead`) only by the supervisor's word.
    let mut worker = Worker::start();
    crate::hbmon(d)
        .args(["beat", "ext", "--interval", "1m", "--pid", &worker.pid()])
        .assert()
        .success();
    fs::write(
        d.join("hbmon.toml"),
        "[[process]]\nname = \"broken\"\ninterval = \"1s\"\nrun = \"false\"\n\
         max_restarts = 1\nrestart_window = \"1m\"\n\
         [[process]]\nname = \"ext\"\ninterval = \"1m\"\nrestart_command = \"true\"\n",
    )
    .unwrap();
    let mut serve = Serve::start(d, "serve.log");
    serve.wait_log("-> gave-up (gave up on broken");
    serve.wait_log("ext: new -> up");
    let out = crate::hbmon(d).args(["stop", "ext"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    worker.kill();
    serve.wait_log("ext: up -> stopped (stopped by hand");

    let doc = status_json(d);
    let broken = process(&doc, "broken");
    assert_eq!(broken["state"], "gave-up", "{broken:#}");
    let reason = broken["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("gave up on broken after 1 restarts in 1m00s: exited with code 1"),
        "{reason}"
    );
    let ext = process(&doc, "ext");
    assert_eq!(ext["state"], "stopped", "{ext:#}");
    assert!(
        ext["reason"]
            .as_str()
            .unwrap()
            .starts_with("stopped by hand"),
        "{ext:#}"
    );
    let table = crate::hbmon(d).arg("status").output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line("broken").contains("gave-up"), "{table}");
    assert!(line("ext").contains("stopped"), "{table}");

    let ui = Tmux::start(&format!(
        "exec {BIN} --file '{}' --config '{}' --refresh 1s",
        d.join("hb.json").display(),
        d.join("hbmon.toml").display()
    ));
    let shows =
        |s: &str, name: &str, state: &str| s.lines().any(|l| l.contains(name) && l.contains(state));
    ui.wait_for(
        "gave-up and stopped in the UI",
        Duration::from_secs(10),
        |s| shows(s, "broken", "gave-up") && shows(s, "ext", "stopped"),
    );
    drop(ui);

    serve.terminate();
    assert!(
        !d.join("hb.json.supervise.json").exists(),
        "no supervisor, no word of one"
    );
    // Its word gone, `ext` is what its PID says.
    let doc = status_json(d);
    assert_eq!(process(&doc, "ext")["state"], "dead", "{doc:#}");
}
