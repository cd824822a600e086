//! The monitor engine under its two faces, end to end: a running `hbmon serve` and the real
//! UI (in tmux) read their config again when it is edited (and `/status` names the new one), SIGHUP makes serve do so (and it
//! says so), a broken or untrusted edit keeps the old config and says why, a `match`
//! process found by the probe stays found while its neighbours beat, and a mistyped
//! `--file` says there is no file there.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::hbmon_std;
use crate::serve::{Serve, Worker, beat, get, lines, wait_for};
use crate::tui::{self, Tmux};

const BIN: &str = env!("CARGO_BIN_EXE_hbmon");

/// Writes `text` as an editor does: aside, then renamed over the file.
fn edit(path: &Path, text: &str) {
    let aside = path.with_extension("toml.new");
    fs::write(&aside, text).unwrap();
    fs::rename(&aside, path).unwrap();
}

/// An `[[alert]]` that appends `NAME STATE` to `out` at once (no digest).
fn alert_rule(out: &Path) -> String {
    format!(
        "[[alert]]\ncommand = '''printf '%s %s\\n' \"$HBMON_NAME\" \"$HBMON_STATE\" >> \"{}\"'''\n\
         digest = \"0s\"\n",
        out.display()
    )
}

/// The names `/status` lists.
fn status_names(serve: &Serve) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(&get(serve.addr(), "/status").body).unwrap();
    crate::serve::names(&doc)
}

/// The config `/status` says it judged with.
fn status_config(serve: &Serve) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(&get(serve.addr(), "/status").body).unwrap();
    doc["config"].clone()
}

/// A worker beats, is seen up, and is killed.
fn a_worker_dies(dir: &Path, serve: &Serve) {
    let mut worker = Worker::start();
    beat(dir, "worker", &worker.pid(), &[]);
    serve.wait_log("worker: new -> up");
    worker.kill();
}

fn signal(pid: u32, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
fn a_running_serve_takes_a_new_process_and_a_new_alert_rule_from_an_edited_config() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");
    assert!(
        serve.log().contains("config: none; 0 alert rules"),
        "{}",
        serve.log()
    );
    assert_eq!(status_config(&serve), serde_json::Value::Null);

    // A config appears beside the heartbeat file, where a restart would find it.
    let config = dir.path().join("hbmon.toml");
    let alerts = dir.path().join("alerts.txt");
    edit(
        &config,
        &format!(
            "[[process]]\nname = \"configured\"\n{}",
            alert_rule(&alerts)
        ),
    );
    serve.wait_log(&format!(
        "config: reloaded {}: 1 monitored process, 1 alert rule",
        config.display()
    ));
    wait_for(
        "the configured process in /status",
        || status_names(&serve).contains(&"configured".to_owned()),
        || serve.log(),
    );
    // `/status` names the config it judged with, the one found after the start.
    assert_eq!(status_config(&serve), config.to_str().unwrap());
    // The new rule alerts from now on.
    a_worker_dies(dir.path(), &serve);
    wait_for(
        "the new rule's alert",
        || lines(&alerts).contains(&"worker dead".to_owned()),
        || serve.log(),
    );
    assert_eq!(lines(&alerts), ["worker dead"], "{}", serve.log());
}

#[test]
fn sighup_makes_serve_read_its_config_again_and_say_so_rather_than_die() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbmon.toml");
    edit(&config, "");
    let mut serve = Serve::start(dir.path(), "serve.log");
    serve.wait_log("history: recording");

    signal(serve.pid(), "HUP");
    serve.wait_log(&format!(
        "config (SIGHUP): reloaded {}: 0 monitored processes, 0 alert rules",
        config.display()
    ));
    // Still monitoring: a beat after the signal is seen.
    beat(
        dir.path(),
        "after-hup",
        &std::process::id().to_string(),
        &[],
    );
    serve.wait_log("after-hup: new -> up");
    let status = serve.terminate();
    assert!(status.success(), "{status}\n{}", serve.log());
    let log = serve.log();
    assert!(
        log.contains("hbmon serve: stopping (SIGTERM)") && log.ends_with("hbmon serve: stopped\n"),
        "{log}"
    );
}

#[test]
fn a_broken_or_untrusted_edit_keeps_serves_config_and_says_why_in_one_line() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // Elsewhere than beside the heartbeat file: that directory is watched too.
    let elsewhere = dir.path().join("etc");
    fs::create_dir(&elsewhere).unwrap();
    let config = elsewhere.join("hbmon.toml");
    let alerts = dir.path().join("alerts.txt");
    let good = format!("[[process]]\nname = \"kept\"\n{}", alert_rule(&alerts));
    edit(&config, &good);
    let mut cmd = hbmon_std(dir.path());
    cmd.arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let serve = Serve::spawn(cmd, dir.path(), "serve.log");
    serve.wait_log("history: recording");

    edit(&config, &format!("{good}[[alert]]\nafter = 2\n"));
    serve.wait_log(&format!(
        "config: {}:6: alert: needs command = \"...\" or webhook = \"https://...\"; keeping the \
         config read at ",
        config.display()
    ));
    let refusals = |log: &str| {
        log.lines()
            .filter(|l| l.contains("keeping the config"))
            .count()
    };
    // One line, said once however long it lasts.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(refusals(&serve.log()), 1, "{}", serve.log());
    assert!(status_names(&serve).contains(&"kept".to_owned()));
    // The rule in use still alerts.
    a_worker_dies(dir.path(), &serve);
    wait_for(
        "the kept rule's alert",
        || lines(&alerts).contains(&"worker dead".to_owned()),
        || serve.log(),
    );

    // Good again, then made writable by others (a chmod: no event, the stamp says it).
    edit(&config, &good);
    serve.wait_log("config: reloaded ");
    fs::set_permissions(&config, fs::Permissions::from_mode(0o666)).unwrap();
    wait_for(
        "the untrusted config refused",
        || {
            serve.log().lines().any(|l| {
                l.starts_with("config: refusing ")
                    && l.contains("writable by group or others")
                    && l.contains("; keeping the config read at ")
            })
        },
        || serve.log(),
    );
    assert_eq!(refusals(&serve.log()), 2, "{}", serve.log());
    assert!(status_names(&serve).contains(&"kept".to_owned()));
}

/// The UI on `file` with `config`, in a tmux session of its own.
fn ui(file: &Path, config: &Path) -> Tmux {
    Tmux::start(&format!(
        "exec {BIN} --file '{}' --config '{}' --refresh 1s",
        file.display(),
        config.display()
    ))
}

#[test]
fn the_ui_takes_an_edited_config_and_shows_why_it_refuses_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    edit(&config, "");
    tui::beat(&file, "plain-entry");
    let tmux = ui(&file, &config);
    tmux.wait_for("the entry", Duration::from_secs(10), |s| {
        s.contains("plain-entry")
    });

    let good = "[[process]]\nname = \"late-addition\"\n\n[[alert]]\ncommand = \"true\"\n";
    edit(&config, good);
    let screen = tmux.wait_for("the new process", Duration::from_secs(5), |s| {
        s.contains("late-addition") && s.contains("Monitored 1")
    });
    assert!(
        screen.contains("config: reloaded") && screen.contains("1 monitored process, 1 alert rule"),
        "{screen}"
    );

    edit(&config, &good.replace("\n\n", "\nmatch = \"(\"\n\n"));
    let screen = tmux.wait_for("the refusal's banner", Duration::from_secs(5), |s| {
        s.contains("✖ config: ") && s.contains("hbmon.toml:3: match: invalid regex")
    });
    assert!(screen.contains("late-addition"), "kept:\n{screen}");
    // It lasts while the config is broken (a notice would go after 5 s).
    std::thread::sleep(Duration::from_secs(6));
    assert!(tmux.screen().contains("✖ config: "), "{}", tmux.screen());

    edit(&config, good);
    tmux.wait_for("the banner gone", Duration::from_secs(5), |s| {
        !s.contains("✖ config: ") && s.contains("late-addition")
    });
}

/// The line of the screen that shows `name`.
fn row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(name))
}

#[test]
fn a_match_process_stays_silent_in_the_ui_under_a_beating_neighbour() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let config = dir.path().join("hbmon.toml");
    let mut sleeper = Command::new("sleep").arg("313.1337").spawn().unwrap();
    let pid = sleeper.id().to_string();
    edit(
        &config,
        "[[process]]\nname = \"matched\"\nmatch = '^sleep 313\\.1337$'\ninterval = \"1s\"\n",
    );
    tui::beat(&file, "neighbour");
    let stop = Arc::new(AtomicBool::new(false));
    let beating = {
        let (stop, file) = (Arc::clone(&stop), file.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                tui::beat(&file, "neighbour");
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    // The UI's default probe (2 s): re-reads in between reuse what the probe found.
    let tmux = Tmux::start(&format!(
        "exec {BIN} --file '{}' --config '{}'",
        file.display(),
        config.display()
    ));
    tmux.wait_for("the matched process silent", Duration::from_secs(15), |s| {
        row(s, "matched").is_some_and(|r| r.contains("silent") && r.contains(&pid))
    });
    let mut seen = Vec::new();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(500));
        let screen = tmux.screen();
        seen.push(row(&screen, "matched").unwrap_or("(no row)").to_owned());
    }
    stop.store(true, Ordering::Relaxed);
    beating.join().unwrap();
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let left: Vec<&String> = seen
        .iter()
        .filter(|r| !(r.contains("silent") && r.contains(&pid)))
        .collect();
    assert!(
        left.is_empty(),
        "{} of 20 samples left silent: {left:#?}",
        left.len()
    );
}

#[test]
fn a_mistyped_file_says_no_file_is_there_and_a_deleted_one_says_so_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbmon.toml");
    edit(&config, "");
    let mistyped = dir.path().join("no-such-dir").join("heartbeat_status.json");
    let tmux = ui(&mistyped, &config);
    let screen = tmux.wait_for("the missing file's banner", Duration::from_secs(10), |s| {
        s.contains(&format!("no heartbeat file at {} yet", mistyped.display()))
    });
    // Nothing to record in a directory that is not there: no history error either.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        assert!(!tmux.screen().contains("history"), "{}", tmux.screen());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!screen.contains("history"), "{screen}");
    drop(tmux);

    let file = dir.path().join("heartbeat_status.json");
    tui::beat(&file, "short-lived");
    let tmux = ui(&file, &config);
    tmux.wait_for("the entry", Duration::from_secs(10), |s| {
        s.contains("short-lived")
    });
    fs::remove_file(&file).unwrap();
    tmux.wait_for("the deleted file's banner", Duration::from_secs(5), |s| {
        s.contains(&format!("no heartbeat file at {} yet", file.display()))
    });
}
