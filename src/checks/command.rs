//! One run of a `command` probe: the command exits 0 within the timeout. It runs in a
//! process group of its own, stdin, stdout and stderr closed, so at its timeout the whole
//! group (a shell and what it started) is killed — and the child reaped, always.

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::http::secs;
use crate::signal;

/// How often a running command is looked at: first soon (most probes are quick), then
/// less often, up to this.
const MAX_POLL: Duration = Duration::from_millis(50);

/// Runs `argv`; `Err` says why it failed.
pub fn run(argv: &[String], timeout: Duration) -> Result<(), String> {
    let (program, arguments) = argv.split_first().ok_or("no command")?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", crate::text::escape(program)))?;
    let group = child.id();
    let mut poll = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(match (status.code(), status_signal(status)) {
                    (Some(code), _) => format!("exit {code}"),
                    (None, Some(sig)) => signal::stopped_by(sig).replacen("stopped", "killed", 1),
                    (None, None) => status.to_string(),
                });
            }
            Ok(None) if started.elapsed() >= timeout => {
                let _ = signal::send_group(group, libc::SIGKILL);
                let _ = child.wait();
                return Err(format!("killed: still running after {}", secs(timeout)));
            }
            Ok(None) => {
                std::thread::sleep(poll.min(timeout.saturating_sub(started.elapsed())));
                poll = (poll * 2).min(MAX_POLL);
            }
            Err(e) => {
                let _ = signal::send_group(group, libc::SIGKILL);
                let _ = child.wait();
                return Err(format!("cannot wait for it: {e}"));
            }
        }
    }
}

fn status_signal(status: std::process::ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        shlex::split(line).unwrap()
    }

    #[test]
    fn a_command_passes_by_exit_zero_only() {
        let cases = [
            ("true", Ok(())),
            ("false", Err("exit 1".to_owned())),
            ("sh -c 'exit 3'", Err("exit 3".to_owned())),
            (
                "sh -c 'kill -TERM $$'",
                Err("killed by SIGTERM (signal 15)".to_owned()),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(run(&argv(line), Duration::from_secs(5)), want, "{line}");
        }
        let missing = run(&argv("/nonexistent/probe"), Duration::from_secs(1)).unwrap_err();
        assert!(
            missing.starts_with("cannot run /nonexistent/probe"),
            "{missing}"
        );
    }

    #[test]
    fn a_hung_command_and_its_children_are_killed_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        // The shell starts a sleep of its own: the group's kill must reach it too.
        let line = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let started = Instant::now();
        let err = run(
            &["sh".into(), "-c".into(), line],
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(err, "killed: still running after 300ms");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild is gone, or a zombie of its (reaped by init) parent at worst.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let gone = stat.is_empty() || stat.split(' ').nth(2) == Some("Z");
            if gone {
                break;
            }
            assert!(Instant::now() < deadline, "pid {pid} still runs: {stat}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
