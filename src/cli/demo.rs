//! `hbmon demo`: a self-contained tour. Demo processes beat into a temporary heartbeat file
//! — one steady, one that stalls (hung), one that exits (dead) and comes back, one that
//! reports errors for a while, one that stops cleanly, a job every 20 s that sometimes fails — and the
//! terminal UI watches them. Every child is killed and the directory removed on the way out,
//! whichever way that is.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

use anyhow::Context;
use clap::Args;

use super::monitor::{self, UiArgs};
use crate::paths::{FileLocation, Source};

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub ui: UiArgs,
}

/// Each demo process is a small shell loop around `hbmon beat` / `hbmon run`: what a user
/// adds to their own scripts. `$HBMON` is this binary. Every loop ends within a second or
/// so of the demo, even if the demo was killed too hard to clean up: `alive` asks whether
/// it still runs, and `nap N` sleeps N seconds one at a time, asking.
const PRELUDE: &str = r#"alive() { kill -0 "$HBMON_DEMO_PID" 2>/dev/null; }
nap() { i=0; while [ $i -lt "$1" ] && alive; do sleep 1; i=$((i + 1)); done; }
beat() { "$HBMON" beat "$@" --quiet; }
"#;

/// Name and script of each demo process.
const PROCESSES: [(&str, &str); 6] = [
    // Steady: a beat a second, with a little data.
    (
        "web-api",
        r"n=0
while alive; do
  n=$((n + 1))
  beat web-api --interval 1s --set requests=$((n * 17)) --set open_connections=$((n % 7 + 3))
  sleep 1
done",
    ),
    // Beats for 15 s, then stays alive but silent for 25 s: late, degraded, hung; recovers.
    (
        "scraper",
        r"while alive; do
  i=0
  while [ $i -lt 15 ] && alive; do
    i=$((i + 1))
    beat scraper --interval 1s --set page=$i --set status=fetching
    sleep 1
  done
  nap 25
done",
    ),
    // A process that beats for 12 s and exits (dead: its PID is gone); a new one starts
    // 20 s later (a new run: a new PID, counters reset).
    (
        "worker",
        r#"while alive; do
  sh -c 'i=0; while [ $i -lt 12 ]; do i=$((i + 1)); "$HBMON" beat worker --interval 1s --set jobs_done=$i --quiet; sleep 1; done'
  nap 20
done"#,
    ),
    // Reports errors for 8 s out of every 20 (its mail server "times out"), then recovers.
    (
        "mailer",
        r#"n=0
while alive; do
  n=$((n + 1))
  if [ $((n % 10)) -ge 6 ]; then
    beat mailer --interval 2s --error "SMTP timeout talking to mail.example.com"
  else
    beat mailer --interval 2s --set sent=$n
  fi
  sleep 2
done"#,
    ),
    // Warms up for 5 s and stops cleanly: stopped, never alerted.
    (
        "cache-warmer",
        r"i=0
while [ $i -lt 5 ] && alive; do
  i=$((i + 1))
  beat cache-warmer --interval 1s --set warmed=$((i * 200))
  sleep 1
done
beat cache-warmer --stopped",
    ),
    // A job every 20 s; every third run fails.
    (
        "backup",
        r#"n=0
while alive; do
  n=$((n + 1))
  "$HBMON" run backup --interval 20s -- sh -c "sleep 4; echo copied $((n * 3)) files; [ $((n % 3)) -ne 0 ] || { echo 'disk full' >&2; exit 1; }" >/dev/null 2>&1
  nap 16
done"#,
    ),
];

/// `hbmon.toml` for the demo: the first table lists these, the rest show as additional
/// heartbeat processes. `nightly-report` never beats: it shows as pending.
const CONFIG: &str = r#"# hbmon demo config: these are "monitored"; anything else that beats is "additional".
[[process]]
name = "web-api"
label = "Web API"

[[process]]
name = "scraper"
label = "Scraper"

[[process]]
name = "backup"
label = "Backup (job)"
kind = "job"
interval = "20s"

[[process]]
name = "nightly-report"
label = "Nightly report"
interval = "24h"
"#;

/// `paths_given`: `--file` or `--config` was passed, which the demo cannot honour: it makes
/// a file and config of its own, and removes them when it ends.
pub fn demo(args: &DemoArgs, paths_given: bool) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !paths_given,
        "hbmon demo makes its own temporary heartbeat file and config; run it without --file and --config"
    );
    monitor::need_terminal()?;
    let demo = Demo::start()?;
    let location = FileLocation {
        path: demo.dir.join(crate::paths::FILE_NAME),
        source: Source::Flag,
    };
    let exit = monitor::monitor(
        &location,
        Some(&demo.dir.join("hbmon.toml")),
        &args.ui,
        &super::status::RemoteArgs::default(),
    );
    drop(demo);
    exit
}

/// A new directory of this user's alone under the temp directory, as `mkdtemp` makes one:
/// a name nobody could have taken first (an existing one — another user's, or a link
/// planted at a guessable `hbmon-demo-<pid>` — is never used), mode 0700.
fn private_temp_dir() -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    loop {
        let dir = base.join(format!("hbmon-demo-{}", crate::paths::random_tag()));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot create a directory in {}", base.display()));
            }
        }
    }
}

/// The running demo; dropping it (quit, error, signal, panic) kills every child and removes
/// the temporary directory.
struct Demo {
    dir: PathBuf,
    children: Vec<Child>,
}

impl Demo {
    fn start() -> anyhow::Result<Demo> {
        let dir = private_temp_dir()?;
        // From here on, `Drop` cleans up whatever was started.
        let mut demo = Demo {
            dir,
            children: Vec::new(),
        };
        fs::write(demo.dir.join("hbmon.toml"), CONFIG)
            .with_context(|| format!("cannot write the demo config in {}", demo.dir.display()))?;
        let exe = std::env::current_exe().context("cannot find the hbmon binary to run")?;
        let file = demo.dir.join(crate::paths::FILE_NAME);
        for (name, script) in PROCESSES {
            let child = spawn(&exe, &file, script)
                .with_context(|| format!("cannot start the demo process {name:?}"))?;
            demo.children.push(child);
        }
        Ok(demo)
    }
}

fn spawn(exe: &Path, file: &Path, script: &str) -> std::io::Result<Child> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{PRELUDE}{script}"))
        .env("HBMON", exe)
        .env("HBMON_FILE", file)
        .env("HBMON_DEMO_PID", std::process::id().to_string())
        // Nothing may write over the UI.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Its own process group, so the loop, its `sleep` and its `hbmon` die together.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn()
}

impl Drop for Demo {
    fn drop(&mut self) {
        for child in &mut self.children {
            kill_group(child);
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(unix)]
fn kill_group(child: &mut Child) {
    let Ok(group) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers; a negative PID names the process group the
    // child leads (set up by `process_group(0)`), which holds only the demo's processes.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_group(child: &mut Child) {
    let _ = child.kill();
}
