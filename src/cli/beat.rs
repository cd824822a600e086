//! `hbmon beat`, `hbmon rm` and `hbmon prune`: the commands that write the heartbeat file.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::{Map, Value};

use crate::duration;
use crate::paths::FileLocation;
use crate::sink::{self, Request, Sent};
use crate::store::{self, Beat, Kind, Store, parse_name};
use crate::text;

/// What `hbmon help` says of `hbmon beat` (clap takes a doc comment's summary without its
/// full stop; this, shared with `beat_line`, is given as it is shown).
pub const ABOUT: &str = "Write one heartbeat for NAME";

// Each flag is a switch a user types; clap needs them as the fields they are.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct BeatArgs {
    /// The heartbeat name (how the monitor and config refer to this process).
    #[arg(value_parser = parse_name)]
    pub name: String,
    /// The PID that beats (default: the parent, i.e. the script that runs `hbmon beat`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "no_pid")]
    pub pid: Option<u32>,
    /// Record no PID: for a script that beats and then exits (cron) or a remote check.
    /// A recorded PID that is gone shows as dead at once.
    #[arg(long)]
    pub no_pid: bool,
    /// The interval this process promises between beats, e.g. 30s, 5m, 1h30m.
    #[arg(long, allow_hyphen_values = true, value_parser = duration::parse_positive, value_name = "D")]
    pub interval: Option<Duration>,
    #[command(flatten)]
    pub promise: super::schedule::ScheduleFlags,
    /// Replace additional_data with this JSON value, e.g. '{"queue": 3}' or '"text"'.
    #[arg(long, value_parser = parse_json, value_name = "JSON", conflicts_with = "set")]
    pub data: Option<Value>,
    /// Set one key of additional_data, keeping the others (repeatable). VALUE is JSON if it
    /// parses as JSON (3, true, [1]), else a string.
    #[arg(long = "set", value_parser = parse_pair, value_name = "KEY=VALUE")]
    pub set: Vec<(String, Value)>,
    /// Report an error with this message (status "error", counted in "errors").
    #[arg(long, value_name = "MSG", conflicts_with = "stopped")]
    pub error: Option<String>,
    /// Report a clean stop (status "stopped": shown, never alerted).
    #[arg(long)]
    pub stopped: bool,
    /// Report the start of a job run (status "running"); --exit-code ends it.
    #[arg(long, conflicts_with_all = ["exit_code", "error", "stopped"])]
    pub start: bool,
    /// Report the end of a job run with this exit code: "succeeded" for 0, else "failed",
    /// with --error as its reason (default "exited with code N").
    #[arg(long, value_name = "CODE", conflicts_with = "stopped")]
    pub exit_code: Option<u8>,
    /// The run a --start or --exit-code belongs to, a UUID: runs of one name with other ids
    /// are tracked apart while they overlap, as `hbmon run`'s are.
    #[arg(long, value_parser = store::parse_run_id, value_name = "UUID")]
    pub run_id: Option<String>,
    /// What the beating process is.
    #[arg(long, value_enum, value_name = "KIND")]
    pub kind: Option<Kind>,
    /// Print nothing on success.
    #[arg(short, long)]
    pub quiet: bool,
    /// Say on stderr which path the beat took: hbmon serve's beat sink, or the file.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove entries whose last beat is older than this, e.g. 7d.
    #[arg(long, allow_hyphen_values = true, value_parser = duration::parse, value_name = "D")]
    pub older_than: Duration,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn beat(location: &FileLocation, args: &BeatArgs) -> anyhow::Result<ExitCode> {
    let pid = match (args.no_pid, args.pid) {
        (true, _) => None,
        (false, Some(pid)) => Some(pid),
        (false, None) => Some(parent_pid()),
    };
    // One request, the sink's line, for both paths: checked into its beat here, so that a
    // bad value is refused the same whichever path then writes it.
    let request = Request {
        name: args.name.clone(),
        pid,
        interval: args.interval.map(|d| d.as_secs_f64()),
        schedule: args.promise.schedule.clone(),
        tz: args.promise.tz.clone(),
        data: args.data.clone(),
        set: args.set.iter().cloned().collect::<Map<_, _>>(),
        error: args.error.clone(),
        stopped: args.stopped,
        kind: args.kind,
        host: None,
        // Once `hbmon beat` returns, the beat is in the file, whichever path wrote it: a
        // script's next command (`hbmon pause NAME`, `hbmon status`) reads its own write.
        // A wait ends the sink's tick at once, so this costs one flush, not a tick.
        wait: true,
    };
    let beat = request.beat()?;
    let path = location.path.display();
    // A job run's start or end is written to the file, as `hbmon run` writes its own: the
    // end is on disk when this returns, and the sink's line has no run id.
    let entry = if args.start || args.exit_code.is_some() || args.run_id.is_some() {
        Store::at(location).beat(&args.name, &run_beat(args, beat)?)?
    } else {
        match sink::send(&location.path, &request) {
            Ok(Sent::Written(entry)) => {
                if args.verbose {
                    eprintln!("hbmon beat: written through hbmon serve's beat sink");
                }
                *entry
            }
            Ok(Sent::Queued) => anyhow::bail!(
                "hbmon serve's beat sink at {} queued the beat without writing it: a sink that ignores `wait`",
                text::escape(&sink::socket_path(&location.path).display().to_string())
            ),
            Err(why) => {
                if args.verbose {
                    eprintln!(
                        "hbmon beat: writing the file itself: {}",
                        text::escape(&why.to_string())
                    );
                }
                Store::at(location).beat(&args.name, &beat)?
            }
        }
    };
    if !args.quiet {
        let pid = entry
            .pid
            .map_or_else(|| "no pid".to_owned(), |p| format!("pid {p}"));
        println!(
            "{} {:?} ({pid}, beat {}) -> {path}",
            entry.reported().as_str(),
            args.name,
            entry.beats.unwrap_or(1),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `beat` (the plain beat the flags make) as a job run's start (`--start`) or end
/// (`--exit-code`), of the run `--run-id` names.
fn run_beat(args: &BeatArgs, beat: Beat) -> anyhow::Result<Beat> {
    let now = crate::clock::unix_now();
    let run = if args.start {
        Beat::running(now, beat.data)
    } else if let Some(code) = args.exit_code {
        let reason = (args.error.clone()).unwrap_or_else(|| format!("exited with code {code}"));
        Beat::finished(None, now, None, Some(code), &reason, beat.data)
    } else {
        anyhow::bail!("--run-id names the run of a --start or an --exit-code");
    };
    let run = match &args.run_id {
        Some(id) => run.with_run_id(id.as_str()),
        None => run,
    };
    // A run is a job's.
    Ok(Beat {
        pid: beat.pid,
        interval: beat.interval,
        schedule: beat.schedule,
        kind: beat.kind.or(Some(Kind::Job)),
        host: beat.host,
        ..run
    })
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The entries to remove: heartbeat names or configured labels.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Print nothing on success (a missing entry is still an error on stderr).
    #[arg(short, long)]
    pub quiet: bool,
}

/// Removes each of `names`; every one is tried, and a missing one makes the exit 1.
pub fn rm(location: &FileLocation, names: &[String], quiet: bool) -> anyhow::Result<ExitCode> {
    let store = Store::at(location);
    let mut code = ExitCode::SUCCESS;
    for name in names {
        if store.remove(name)? {
            if !quiet {
                println!("removed {name:?} from {}", location.path.display());
            }
        } else {
            eprintln!("hbmon: no entry {name:?} in {}", location.path.display());
            code = ExitCode::FAILURE;
        }
    }
    Ok(code)
}

pub fn prune(location: &FileLocation, args: &PruneArgs) -> anyhow::Result<ExitCode> {
    let cutoff = crate::clock::unix_now() - args.older_than.as_secs_f64();
    let stale = |_: &str, e: &store::Entry| e.last_heartbeat < cutoff;
    let removed = if args.dry_run {
        store::read(&location.path)?
            .entries
            .iter()
            .filter(|(n, e)| stale(n, e))
            .map(|(n, _)| n.clone())
            .collect()
    } else {
        Store::at(location).remove_where(stale)?
    };
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for name in &removed {
        println!("{verb} {name:?}");
    }
    println!(
        "{verb} {} entr{} older than {} from {}",
        removed.len(),
        if removed.len() == 1 { "y" } else { "ies" },
        duration::format(args.older_than),
        location.path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The PID of the process that ran `hbmon beat`: the script whose liveness it reports.
fn parent_pid() -> u32 {
    #[cfg(unix)]
    {
        std::os::unix::process::parent_id()
    }
    #[cfg(not(unix))]
    {
        std::process::id()
    }
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| {
        format!("not valid JSON ({e}); for a plain string quote it: '\"{text}\"', or use --set key=value")
    })
}

fn parse_pair(text: &str) -> Result<(String, Value), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(format!("{text:?} is not KEY=VALUE"));
    };
    if key.is_empty() {
        return Err(format!("{text:?} has an empty key"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_take_json_values_else_strings() {
        assert_eq!(parse_pair("n=3").unwrap(), ("n".into(), json!(3)));
        assert_eq!(parse_pair("ok=true").unwrap(), ("ok".into(), json!(true)));
        assert_eq!(
            parse_pair("msg=hi there").unwrap(),
            ("msg".into(), json!("hi there"))
        );
        assert_eq!(parse_pair("eq=a=b").unwrap(), ("eq".into(), json!("a=b")));
        assert!(parse_pair("novalue").is_err());
        assert!(parse_pair("=3").is_err());
    }

    #[test]
    fn kind_parses_to_the_store_kind() {
        use clap::Parser;
        let parse = |args: &[&str]| -> Result<Option<Kind>, clap::Error> {
            let cli = crate::cli::Cli::try_parse_from(["hbmon", "beat", "w"].iter().chain(args))?;
            match cli.command {
                Some(crate::cli::Command::Beat(beat)) => Ok(beat.kind),
                other => panic!("parsed as {other:?}"),
            }
        };
        assert_eq!(parse(&["--kind", "job"]).unwrap(), Some(Kind::Job));
        assert_eq!(parse(&[]).unwrap(), None);
        let err = parse(&["--kind", "cron"]).unwrap_err().to_string();
        assert!(err.contains("[possible values: app, job]"), "{err}");
    }
}
