//! The UI's signal dialog end to end: in tmux, `K` on a process's row, the menu's first
//! signal (SIGTERM) picked with Enter, `y`, and the process dies of it.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::tui::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_hbmon");

/// A child killed and reaped when the test ends, whatever happened.
struct Victim(std::process::Child);

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn k_picks_sigterm_confirms_and_the_process_dies_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    std::fs::write(&config, "").unwrap();
    let mut victim = Victim(Command::new("sleep").arg("300").spawn().unwrap());
    let pid = victim.0.id().to_string();
    let beat = Command::new(BIN)
        .args(["beat", "victim", "--quiet", "--pid", &pid, "--file"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(beat.success());

    let tmux = Tmux::start(&format!(
        "{BIN} --file '{}' --config '{}' --refresh 1s",
        file.display(),
        config.display()
    ));
    tmux.wait_for("the victim's row, up", Duration::from_secs(10), |s| {
        s.contains("victim") && s.contains("● up")
    });
    tmux.keys(&["K"]);
    let menu = tmux.wait_for("the signal menu", Duration::from_secs(5), |s| {
        s.contains(&format!("send a signal to victim (pid {pid})"))
    });
    assert!(menu.contains("▶ SIGTERM"), "{menu}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the confirm", Duration::from_secs(5), |s| {
        s.contains(&format!("Send SIGTERM to victim (pid {pid})?"))
    });
    assert!(
        victim.0.try_wait().unwrap().is_none(),
        "nothing is sent before the confirm"
    );
    tmux.keys(&["y"]);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = victim.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still alive 5s after the confirm; the screen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    tmux.wait_for("the notice", Duration::from_secs(5), |s| {
        s.contains(&format!("sent SIGTERM to pid {pid}"))
    });
}
