//! What a new user trips over in the live UI, end to end: the real binary in tmux (see
//! `tui.rs`'s `Tmux`), driven with keys, on a file written by real `hbmon beat`s.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::tui::{Tmux, beat};

const BIN: &str = env!("CARGO_BIN_EXE_hbmon");

/// A PID no process has: one of ours that has exited (and been reaped).
fn gone_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("true runs");
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A beat with `args` after the name (`--pid N`, `--stopped`, ...).
fn beat_with(file: &Path, name: &str, args: &[&str]) {
    let status = Command::new(BIN)
        .args(["beat", name, "--quiet", "--file"])
        .arg(file)
        .args(args)
        .status()
        .expect("hbmon beat runs");
    assert!(status.success(), "hbmon beat {name} {args:?}");
}

/// The UI on `file` with `config`, in a pane `width`×`height`, once `ready` shows.
fn ui(file: &Path, config: &Path, size: (u16, u16), ready: &str) -> Tmux {
    let tmux = Tmux::start_sized(
        &format!(
            "exec {BIN} --file '{}' --config '{}' --refresh 1s",
            file.display(),
            config.display()
        ),
        size.0,
        size.1,
    );
    tmux.wait_for(ready, Duration::from_secs(10), |s| s.contains(ready));
    tmux
}

/// The screen from the additional section's title down.
fn additional(screen: &str) -> String {
    screen
        .lines()
        .skip_while(|l| !l.contains("Additional heartbeat processes"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn after_g_then_g_the_dead_rows_show_again_with_how_many_more_there_are() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    let names = ["api", "web", "queue", "cron"];
    let toml: Vec<String> = names
        .iter()
        .map(|name| format!("[[process]]\nname = \"{name}\"\n"))
        .collect();
    std::fs::write(&config, toml.join("\n")).unwrap();
    for name in names {
        beat(&file, name);
    }
    let dead = gone_pid().to_string();
    for i in 0..61 {
        if i < 40 {
            beat_with(&file, &format!("dead-{i:02}"), &["--pid", &dead]);
        } else {
            beat(&file, &format!("live-{i:02}"));
        }
    }
    let tmux = ui(&file, &config, (80, 24), "✖ dead 40");
    tmux.keys(&["G"]);
    tmux.wait_for("the last row selected", Duration::from_secs(5), |s| {
        s.contains("› live-60") && s.contains("▲ ")
    });
    tmux.keys(&["g"]);
    let screen = tmux.wait_for("the first row selected", Duration::from_secs(5), |s| {
        !s.contains("› live-60")
    });
    let below = additional(&screen);
    assert!(below.contains("dead-00"), "no dead row shows:\n{screen}");
    assert!(below.contains("▼ ") && below.contains(" more"), "{screen}");
    assert!(!below.contains("▲ "), "{screen}");
}

#[test]
fn a_one_off_stopped_run_is_hidden_as_status_hides_it_and_a_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    std::fs::write(&config, "").unwrap();
    beat(&file, "steady");
    beat_with(&file, "one-off", &["--stopped"]);
    let tmux = ui(&file, &config, (120, 30), "steady");
    let screen = tmux.wait_for("the hidden count", Duration::from_secs(5), |s| {
        s.contains("1 stopped not shown: a shows all")
    });
    assert!(!screen.contains("one-off"), "{screen}");
    tmux.keys(&["a"]);
    tmux.wait_for("the stopped run", Duration::from_secs(5), |s| {
        s.contains("one-off") && s.contains("■ stopped")
    });
}

#[test]
fn d_on_a_configured_process_that_never_beat_says_why_nothing_happens() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    std::fs::write(&config, "[[process]]\nname = \"nightly\"\n").unwrap();
    beat(&file, "other");
    let tmux = ui(&file, &config, (120, 30), "nightly");
    tmux.keys(&["d"]);
    let screen = tmux.wait_for("the notice", Duration::from_secs(5), |s| {
        s.contains("\"nightly\" never beat: nothing in the file to remove")
    });
    assert!(!screen.contains("Remove \"nightly\""), "{screen}");
}
