//! The live UI end to end: the real binary in a private tmux server, driven with keys and
//! read back with `capture-pane`, while heartbeats arrive from outside.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hbmon");

/// A tmux server of our own (`-L`), killed when the test ends, pass or fail, and its socket
/// file removed (tmux leaves it behind). Shared with other modules that drive the real UI.
pub(crate) struct Tmux {
    socket: String,
    socket_path: Option<std::path::PathBuf>,
}

impl Tmux {
    pub(crate) fn start(shell_cmd: &str) -> Tmux {
        Tmux::start_sized(shell_cmd, 120, 30)
    }

    /// A pane `width`×`height` running `shell_cmd`.
    pub(crate) fn start_sized(shell_cmd: &str, width: u16, height: u16) -> Tmux {
        // Tests run in parallel threads of one process: the PID alone is not unique.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let mut tmux = Tmux {
            socket: format!(
                "hbmon-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
            socket_path: None,
        };
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "-s",
            "t",
            shell_cmd,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        let path = tmux.run(&["display-message", "-p", "#{socket_path}"]);
        tmux.socket_path = Some(String::from_utf8_lossy(&path.stdout).trim().into());
        tmux
    }

    /// A plain shell with a prompt we can recognise, so "back at the prompt" is checkable.
    fn shell() -> Tmux {
        let tmux = Tmux::start("env PS1='test-prompt$ ' sh");
        tmux.wait_for("the shell prompt", Duration::from_secs(5), |s| {
            s.contains("test-prompt$")
        });
        tmux
    }

    /// Types `line` literally, then Enter.
    fn type_line(&self, line: &str) {
        self.keys(&["-l", line]);
        self.keys(&["Enter"]);
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys);
        assert!(self.run(&args).status.success());
    }

    pub(crate) fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// The command in the foreground of the pane (`sh` once hbmon has exited).
    fn foreground(&self) -> String {
        let out = self.run(&[
            "display-message",
            "-p",
            "-t",
            "t",
            "#{pane_current_command}",
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Polls the screen until `ready` holds; panics with the last screen after `within`.
    pub(crate) fn wait_for(
        &self,
        what: &str,
        within: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < within,
                "waited {within:?} for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

pub(crate) fn beat(file: &Path, name: &str) {
    let status = Command::new(BIN)
        .args(["beat", name, "--quiet", "--pid"])
        .arg(std::process::id().to_string())
        .arg("--file")
        .arg(file)
        .status()
        .expect("hbmon beat runs");
    assert!(status.success());
}

#[test]
fn the_ui_shows_beats_live_filters_and_quits_to_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    std::fs::write(&config, "").unwrap();
    beat(&file, "alpha-service");
    beat(&file, "beta-worker");

    let tmux = Tmux::shell();
    let command = format!(
        "{BIN} --file '{}' --config '{}' --refresh 1s",
        file.display(),
        config.display()
    );
    tmux.type_line(&command);
    let screen = tmux.wait_for("both rows", Duration::from_secs(10), |s| {
        s.contains("alpha-service") && s.contains("beta-worker")
    });
    assert!(
        screen.contains("Additional heartbeat processes"),
        "{screen}"
    );
    assert!(screen.contains("● up"), "{screen}");

    // A beat from outside shows up within 2 s.
    beat(&file, "gamma-job");
    tmux.wait_for("the new beat", Duration::from_secs(2), |s| {
        s.contains("gamma-job")
    });

    // `/` filters as you type.
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "gam"]);
    let filtered = tmux.wait_for("the filter", Duration::from_secs(5), |s| {
        s.contains("filter: gam") && !s.contains("alpha-service")
    });
    assert!(filtered.contains("gamma-job"), "{filtered}");
    tmux.keys(&["Enter"]);

    // `q` quits, the terminal comes back, the prompt with it.
    tmux.keys(&["q"]);
    let back = tmux.wait_for("the prompt after quitting", Duration::from_secs(5), |s| {
        !s.contains("gamma-job") && s.contains("test-prompt$")
    });
    assert!(!back.contains("Additional heartbeat processes"), "{back}");
    let start = Instant::now();
    while tmux.foreground() != "sh" {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "hbmon still runs: {}",
            tmux.foreground()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_corrupt_file_keeps_the_last_view_and_a_deleted_one_empties_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    std::fs::write(&config, "").unwrap();
    beat(&file, "steady-one");

    // A fast probe: the last good view is re-judged many times while the file is bad.
    let tmux = Tmux::start(&format!(
        "exec {BIN} --file '{}' --config '{}' --refresh 100ms",
        file.display(),
        config.display()
    ));
    tmux.wait_for("the row", Duration::from_secs(10), |s| {
        s.contains("steady-one")
    });

    // A writer that does not follow the protocol: replaced by garbage.
    std::fs::write(&file, "{ \"processes\": ").unwrap();
    let screen = tmux.wait_for("the error banner", Duration::from_secs(5), |s| {
        s.contains("not a valid heartbeat file")
    });
    assert!(screen.contains("showing the last good view"), "{screen}");
    assert!(screen.contains("steady-one"), "{screen}");
    std::thread::sleep(Duration::from_millis(500));
    let screen = tmux.screen();
    assert!(
        screen.contains("not a valid heartbeat file"),
        "the banner went:\n{screen}"
    );

    // Gone: an empty table. Back: the rows come back and the banner goes.
    std::fs::remove_file(&file).unwrap();
    tmux.wait_for("the empty table", Duration::from_secs(5), |s| {
        s.contains("no heartbeats yet") && !s.contains("steady-one")
    });
    beat(&file, "returning-one");
    let screen = tmux.wait_for("the new row", Duration::from_secs(5), |s| {
        s.contains("returning-one")
    });
    assert!(!screen.contains("not a valid heartbeat file"), "{screen}");
}

/// The PIDs of `parent`'s children.
fn children(parent: &str) -> Vec<String> {
    let out = Command::new("pgrep").args(["-P", parent]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn alive(pid: &str) -> bool {
    let pid: libc::pid_t = pid.parse().unwrap();
    // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn sigterm_gives_the_terminal_back_and_exits_as_a_signal_death() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    std::fs::write(&config, "").unwrap();
    beat(&file, "sig-target");
    let tmux = Tmux::shell();
    let command = format!(
        "{BIN} --file '{}' --config '{}'; echo exit=$?",
        file.display(),
        config.display()
    );
    tmux.type_line(&command);
    tmux.wait_for("the UI", Duration::from_secs(10), |s| {
        s.contains("sig-target")
    });
    let shell = tmux.run(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&shell.stdout).trim().to_owned();
    let hbmon = children(&shell);
    assert_eq!(hbmon.len(), 1, "hbmon under the shell: {hbmon:?}");
    let status = Command::new("kill")
        .args(["-TERM", &hbmon[0]])
        .status()
        .unwrap();
    assert!(status.success());
    let screen = tmux.wait_for("the exit status", Duration::from_secs(5), |s| {
        s.contains("exit=143")
    });
    assert!(
        !screen.contains("sig-target"),
        "the UI is still on screen:\n{screen}"
    );
}

#[test]
fn the_demo_leaves_no_process_or_file_behind() {
    let tmux = Tmux::start(&format!("exec {BIN} demo --refresh 500ms"));
    let screen = tmux.wait_for("the demo's processes", Duration::from_secs(15), |s| {
        s.contains("Web API") && s.contains("mailer")
    });
    assert!(screen.contains("Monitored"), "{screen}");
    let demo = tmux.run(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
    let demo = String::from_utf8_lossy(&demo.stdout).trim().to_owned();
    let spawned = children(&demo);
    assert!(spawned.len() >= 5, "demo children: {spawned:?}");
    // The demo's directory has a random name: its processes are told the file in it.
    let environ = std::fs::read(format!("/proc/{}/environ", spawned[0])).unwrap();
    let file = environ
        .split(|b| *b == 0)
        .find_map(|var| var.strip_prefix(b"HBMON_FILE="))
        .map(|path| std::path::PathBuf::from(String::from_utf8_lossy(path).into_owned()))
        .expect("HBMON_FILE in a demo process's environment");
    let temp = file.parent().unwrap().to_owned();
    assert!(
        temp.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("hbmon-demo-"),
        "{}",
        temp.display()
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&temp).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700, "the demo's directory is private");

    tmux.keys(&["q"]);
    let start = Instant::now();
    while alive(&demo) || spawned.iter().any(|p| alive(p)) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running after q: demo {}, children {:?}",
            alive(&demo),
            spawned.iter().filter(|p| alive(p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!temp.exists(), "{} is left behind", temp.display());
}

#[test]
fn the_ui_without_a_terminal_says_so_in_one_line_and_starts_nothing() {
    for args in [&["demo"][..], &[][..]] {
        let dir = tempfile::tempdir().unwrap();
        let out = crate::hbmon_std(dir.path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {:?}", out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err,
            "hbmon: the live UI needs a terminal on stdin and stdout; `hbmon status` prints one table instead\n"
        );
    }
}

#[test]
fn the_demo_refuses_a_file_of_the_users() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--file"])
        .arg(dir.path().join("mine.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without --file"), "{stderr}");
    assert!(!dir.path().join("mine.json").exists());
}

#[test]
fn the_ui_records_history_when_no_serve_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    std::fs::write(&config, "").unwrap();
    beat(&file, "recorded-worker");
    let tmux = Tmux::start(&format!(
        "{BIN} --file '{}' --config '{}' --refresh 1s",
        file.display(),
        config.display()
    ));
    tmux.wait_for("the first beat", Duration::from_secs(10), |s| {
        s.contains("recorded-worker")
    });
    // Beat times are whole milliseconds apart at least; a pause makes them distinct.
    std::thread::sleep(Duration::from_millis(1100));
    beat(&file, "recorded-worker");
    // The UI records while it runs: the history command reads the database beside it.
    let history = || {
        let out = Command::new(BIN)
            .args(["history", "recorded-worker", "--json", "--file"])
            .arg(&file)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default()
    };
    let start = Instant::now();
    let mut doc = history();
    while doc["beats"].as_array().map(Vec::len) != Some(2) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not recorded: {doc}\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
        doc = history();
    }
    tmux.keys(&["q"]);
    let start = Instant::now();
    while tmux.foreground() == "hbmon" {
        assert!(start.elapsed() < Duration::from_secs(5), "hbmon still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Still there after the UI is gone.
    let doc = history();
    assert_eq!(doc["beats"].as_array().map(Vec::len), Some(2), "{doc}");
    assert_eq!(doc["transitions"][0]["to"], "up", "{doc}");
}
