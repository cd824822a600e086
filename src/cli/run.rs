//! `hbmon run NAME -- CMD…`: run a command as a job and exit with its code.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::duration;
use crate::job::{self, Job};
use crate::paths::FileLocation;
use crate::store::{Kind, Store};

#[derive(Debug, Args)]
#[command(after_help = "\
CMD's stdout and stderr pass through unchanged (through pipes, as under cron); the last \
10 KiB of them go into the final beat's additional_data.output_tail. CMD runs in its own \
process group (as under timeout(1)), which a timeout and the SIGINT, SIGTERM, SIGHUP, \
SIGQUIT, SIGUSR1 and SIGUSR2 sent to hbmon (Ctrl-C included) reach whole; so CMD cannot \
read the terminal. Once CMD exits, hbmon waits at most 2s for what it started to close its \
output. If hbmon is killed outright (SIGKILL, the OOM killer), a watchdog it forked stops \
CMD's process group as a timeout does (and on Linux the kernel sends CMD SIGTERM), so CMD \
never runs on unreported. The duration is measured on the monotonic clock: a wall clock \
stepped during the run does not change it. Each invocation sends a run id of its own (a \
random UUID) on every beat: two runs of one NAME at once are tracked apart (the entry's \
runs in progress), each with its own duration and exit code.

A stop signal passed on (SIGTERM, SIGINT, SIGHUP: systemctl stop, docker stop, launchd, \
Ctrl-C) is a stop, not a crash: an app (--kind app) that then ends by it, or exits 0 or \
128+N, is reported `stopped` (\"stopped by SIGTERM (signal 15)\"), as is one a stop \
signal killed directly; a job is reported \
\"interrupted by SIGTERM (signal 15)\", failed unless CMD exits 0. An app that exits by \
itself is `stopped` at once for exit 0, `failed` otherwise. hbmon ends as CMD did: with \
its exit code, or killed by the same signal (without a core dump), so a supervisor sees \
what it would have seen of CMD itself. It exits 127 when CMD was not found, 126 when it \
could not be executed, and 128+N after a timeout (124 if CMD then exited 0).

Examples:
  hbmon run backup -- /usr/local/bin/backup.sh --full
  hbmon run nightly --timeout 2h --interval 1m --keepalive -- ./etl.py")]
pub struct RunArgs {
    /// The heartbeat name of the job.
    #[arg(value_parser = crate::store::parse_name)]
    pub name: String,
    /// Written to the entry as its interval; with --keepalive, how often to beat (default 30s).
    #[arg(long, value_parser = duration::parse_positive, value_name = "D")]
    pub interval: Option<Duration>,
    #[command(flatten)]
    pub promise: super::schedule::ScheduleFlags,
    /// Stop CMD after this long: SIGTERM to its process group, then SIGKILL 5s later. The
    /// run is reported failed with the reason "timed out after D".
    #[arg(long, value_parser = duration::parse_positive, value_name = "D")]
    pub timeout: Option<Duration>,
    /// Beat `running` every interval while CMD runs. Liveness only: it shows the process
    /// exists, not that it makes progress. Implied by --kind app.
    #[arg(long, conflicts_with = "notify")]
    pub keepalive: bool,
    /// Give CMD a NOTIFY_SOCKET, as systemd gives a Type=notify service with WatchdogSec
    /// (WATCHDOG_USEC is the interval, default 30s), and beat for what it says there:
    /// READY=1, WATCHDOG=1 and STATUS=… beat `running` (STATUS in the data's `status`),
    /// STOPPING=1 marks it `stopping`, ERRNO=n and WATCHDOG=trigger beat `error`. hbmon
    /// itself does not beat then: a CMD that stops pinging turns `late`, then `hung`.
    /// Linux.
    #[arg(long)]
    pub notify: bool,
    /// What CMD is. An app runs for good, so --kind app implies --keepalive (unless
    /// --notify: CMD then beats itself): without beats it would turn `hung` while it serves.
    #[arg(long, value_enum, value_name = "KIND", default_value_t = Kind::Job)]
    pub kind: Kind,
    /// The command and its arguments, after `--`.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// Runs the job and ends as it did: its exit code becomes hbmon's, and a signal that killed
/// it kills hbmon. A command that cannot start gets one line on stderr (its failed beat is
/// written all the same).
pub fn run(location: &FileLocation, args: RunArgs) -> ExitCode {
    // Each flag was checked as clap parsed it; together they cannot fail, but say so if.
    let schedule = match args.promise.schedule() {
        Ok(schedule) => schedule,
        Err(e) => {
            eprintln!("hbmon: {e}");
            return ExitCode::from(2);
        }
    };
    let mut command = args.command.into_iter();
    let program = command.next().unwrap_or_default();
    let job = Job {
        name: args.name,
        program,
        args: command.collect(),
        interval: args.interval,
        schedule,
        timeout: args.timeout,
        // A notify command beats for itself: hbmon's keepalives would hide its silence.
        keepalive: args.keepalive || (args.kind == Kind::App && !args.notify),
        notify: args.notify,
        kind: args.kind,
    };
    let outcome = job::run(&job, &Store::at(location));
    if outcome.pid.is_none() {
        eprintln!("hbmon: {}", outcome.reason);
    }
    ExitCode::from(job::end_as(&outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let cli = crate::cli::Cli::try_parse_from(["hbmon", "run"].iter().chain(args))?;
        match cli.command {
            Some(crate::cli::Command::Run(run)) => Ok(run),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn the_command_keeps_its_own_flags() {
        let args = parse(&[
            "backup",
            "--timeout",
            "1m",
            "--",
            "tar",
            "-c",
            "--file=x",
            "/",
        ])
        .unwrap();
        assert_eq!(args.timeout, Some(Duration::from_secs(60)));
        assert_eq!(args.command, ["tar", "-c", "--file=x", "/"]);
        assert_eq!(args.kind, Kind::Job);
        let without_dashes = parse(&["backup", "ls", "-la"]).unwrap();
        assert_eq!(without_dashes.command, ["ls", "-la"]);
    }

    #[test]
    fn rejects_a_missing_command_and_zero_spans() {
        assert!(parse(&["backup"]).is_err());
        let err = parse(&["backup", "--interval", "0s", "--", "true"]).unwrap_err();
        assert!(err.to_string().contains("must be more than zero"), "{err}");
        assert!(parse(&["backup", "--kind", "cron", "--", "true"]).is_err());
    }

    #[test]
    fn notify_beats_instead_of_keepalives() {
        let args = parse(&["web", "--kind", "app", "--notify", "--", "srv"]).unwrap();
        assert!(args.notify && !args.keepalive);
        let err = parse(&["web", "--notify", "--keepalive", "--", "srv"]).unwrap_err();
        assert!(err.to_string().contains("cannot be used with"), "{err}");
    }
}
