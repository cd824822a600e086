//! The one integration test binary: the real `hbmon` run in temp dirs, one module per area.

// Tests may unwrap (the crate denies it elsewhere); helpers here are test code too.
#![allow(clippy::unwrap_used)]

mod beat;
mod browser;
mod browser_live;
mod browser_pages;
mod browser_phone;
mod config;
mod cron;
mod dashboard;
mod day_one;
mod dead_man;
mod deps;
mod engine;
mod events;
mod hardening_alerts;
mod hardening_control;
mod hardening_faults;
mod hardening_history;
mod hardening_job;
mod hardening_manage;
mod hardening_paths;
mod hardening_store;
mod hardening_text;
mod history;
mod import;
mod interop;
mod manage_api;
mod mcp;
mod notify;
mod pause;
mod ping;
mod ping_forms;
mod pipe;
mod probes;
mod prometheus;
mod remote;
mod remote_ui;
mod run;
mod runs;
mod schedule;
mod serve;
mod sink;
mod status;
mod stops;
mod supervise;
mod supervise_restarts;
mod supervise_seen;
mod tls;
mod tokens;
mod tui;
mod ui_day_one;
mod ui_signal;

use std::path::Path;

/// `hbmon` with its file under `dir` and no config but what the test writes there: the
/// user's own file and config are never read.
pub fn hbmon(dir: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(hbmon_std(dir))
}

/// [`hbmon`] as a plain `std` command, for a long-running child (`hbmon serve`).
pub fn hbmon_std(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hbmon"));
    cmd.env("HBMON_FILE", dir.join("hb.json"))
        .env_remove("HBMON_CONFIG")
        .env_remove("NO_COLOR")
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env("HOME", dir);
    cmd
}

/// A FIFO at `path`, as an attacker plants one where a file is expected.
pub fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// The venv's Python (`.ci/venv`, made by `.ci/tools`) that can import `module`: a PyPI
/// package a test runs against hbmon. Missing, the test fails and says how to get it — it
/// never skips (`HBMON_TEST_PYTHON` names another interpreter).
pub fn test_python(module: &str) -> std::path::PathBuf {
    let python = std::env::var_os("HBMON_TEST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/venv/bin/python"),
        std::path::PathBuf::from,
    );
    let found = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "this test needs the Python package {module:?} in {}: run .ci/tools once \
         (it installs .ci/requirements.txt into .ci/venv)",
        python.display()
    );
    python
}
