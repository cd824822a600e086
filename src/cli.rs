//! The `hbmon` command line: argument types (clap) and [`run`], which dispatches to one
//! submodule per command.

mod beat;
mod beat_line;
mod config;
#[cfg(unix)]
mod control;
mod demo;
mod history;
mod import;
#[cfg(unix)]
mod logs;
mod monitor;
mod pause;
#[cfg(unix)]
mod run;
mod schedule;
#[cfg(unix)]
mod serve;
mod status;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::paths::{self, FileLocation};
#[cfg(unix)]
use crate::supervise::Verb;

/// hbmon — a local process monitor built on heartbeats.
#[derive(Debug, Parser)]
#[command(name = "hbmon", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub files: Files,

    #[command(flatten)]
    pub ui: monitor::UiArgs,

    /// The UI's remote view: other machines' `hbmon serve`s beside this one's processes.
    #[command(flatten)]
    pub remote: status::RemoteArgs,

    /// Without one, the live terminal UI.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    // Its help text is a constant that `beat_line`'s command of `beat` alone shares.
    #[command(about = beat::ABOUT)]
    Beat(beat::BeatArgs),
    /// Run a command as a job: a `running` beat at start, `succeeded` or `failed` at the end
    /// with exit code, duration and output tail; exits with the command's code.
    #[cfg(unix)]
    Run(run::RunArgs),
    /// Remove entries from the heartbeat file; exits 1 if one of them had none.
    Rm(beat::RmArgs),
    /// Remove every entry whose last beat is older than a span.
    Prune(beat::PruneArgs),
    /// Print the heartbeat file's path.
    Path,
    /// Judge every process once, print a table (or --json) and exit 0 ok, 1 warning,
    /// 2 critical, 3 unknown (the Nagios plugin convention).
    Status(status::StatusArgs),
    /// Print the config in effect, where it came from, and the heartbeat file it watches
    /// (secrets hidden unless --show-secrets).
    Config(config::ConfigArgs),
    /// Write a commented starter hbmon.toml (beside the heartbeat file, or --config PATH);
    /// refused when a config is already found.
    Init,
    /// Show NAME's beats and state transitions from the history database.
    History(history::HistoryArgs),
    /// Start processes hbmon serve supervises (stopped, given up on, or not started yet).
    #[cfg(unix)]
    Start {
        /// Heartbeat names or configured labels.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Stop processes hbmon serve supervises, and keep them stopped until started.
    #[cfg(unix)]
    Stop {
        /// Heartbeat names or configured labels.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Restart processes hbmon serve supervises (their restart count starts afresh).
    #[cfg(unix)]
    Restart {
        /// Heartbeat names or configured labels.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Print the output of a process hbmon serve runs (logs/NAME.log), -f to follow.
    #[cfg(unix)]
    Logs(logs::LogsArgs),
    /// A cron schedule in words and its next fire times, in its zone and in UTC.
    Schedule(schedule::ScheduleArgs),
    /// Pause NAME for maintenance: shown as paused, never alerted, until resumed or --for ends.
    Pause(pause::PauseArgs),
    /// End NAME's pause.
    Resume {
        /// The heartbeat name or its configured label.
        name: String,
    },
    /// Run headless in the foreground until SIGTERM/SIGINT: record history, send alerts, and
    /// answer a local HTTP API (/status, /metrics for Prometheus, /ping/NAME).
    #[cfg(unix)]
    Serve(serve::ServeArgs),
    /// Serve the Model Context Protocol on stdin/stdout, for an AI agent: list, inspect,
    /// pause and resume heartbeats, read their history, add, change or remove configured
    /// processes (hbmon.toml edited in place).
    Mcp,
    /// Print [[process]] blocks for what pm2, supervisord or systemd runs, to paste into
    /// hbmon.toml.
    Import(import::ImportArgs),
    /// A self-contained tour: demo processes beating into a temporary file (steady, hung,
    /// dead, erroring, stopped, a job that sometimes fails) and the live UI on it.
    Demo(demo::DemoArgs),
}

/// The heartbeat file and the config, which every command takes, before or after its name.
#[derive(Debug, Args)]
pub struct Files {
    /// The heartbeat file (default: $HBMON_FILE, else the per-user state directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// The config file (default: $HBMON_CONFIG, else hbmon.toml beside the heartbeat file,
    /// else the per-user config directory; none found: built-in defaults).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

impl Files {
    pub fn location(&self) -> FileLocation {
        paths::resolve_file(self.file.as_deref())
    }
}

/// Parses a whole command line (the program's name first) and runs it; a command line clap
/// refuses, or `--help`, is printed and exits as clap does. `hbmon beat`, which scripts run
/// once per beat, is parsed by a command of `beat` alone (`beat_line`): building the whole
/// command line's parser was a fifth of a beat's instructions.
pub fn run_args(args: Vec<OsString>) -> anyhow::Result<ExitCode> {
    match beat_line::parse(&args) {
        Some((files, args)) => {
            report_mode();
            beat::beat(&files.location(), &args)
        }
        None => run(Cli::parse_from(args)),
    }
}

/// Runs a parsed command line. Errors are for `main` to print; a command that judges health
/// (`status`) returns its verdict as the exit code instead.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let location = cli.files.location();
    let config = cli.files.config.as_deref();
    let Some(command) = cli.command else {
        return monitor::monitor(&location, config, &cli.ui, &cli.remote);
    };
    // `hbmon --remote URL status` would read no remote, silently.
    anyhow::ensure!(
        cli.remote.remotes.is_empty(),
        "--remote before a subcommand is the live UI's: give it after the subcommand \
         (hbmon status --remote URL)"
    );
    if command.is_report() {
        report_mode();
    }
    match command {
        Command::Beat(args) => beat::beat(&location, &args),
        #[cfg(unix)]
        Command::Run(args) => Ok(run::run(&location, args)),
        Command::Rm(args) => beat::rm(
            &location,
            &names(&location, config, &args.names)?,
            args.quiet,
        ),
        Command::Prune(args) => beat::prune(&location, &args),
        Command::Schedule(args) => schedule::schedule(&args),
        Command::History(args) => {
            let name = names(&location, config, std::slice::from_ref(&args.name))?.remove(0);
            history::history(&location, &name, &args)
        }
        #[cfg(unix)]
        Command::Start { names } => control::control(&location, Verb::Start, names),
        #[cfg(unix)]
        Command::Stop { names } => control::control(&location, Verb::Stop, names),
        #[cfg(unix)]
        Command::Restart { names } => control::control(&location, Verb::Restart, names),
        #[cfg(unix)]
        Command::Logs(args) => {
            let name = names(&location, config, std::slice::from_ref(&args.name))?.remove(0);
            logs::logs(&location, &name, &args)
        }
        Command::Pause(args) => {
            let name = names(&location, config, std::slice::from_ref(&args.name))?.remove(0);
            pause::pause(&location, &name, args.span)
        }
        Command::Resume { name } => {
            pause::resume(&location, &names(&location, config, &[name])?.remove(0))
        }
        #[cfg(unix)]
        Command::Serve(args) => serve::serve(&location, config, &args),
        Command::Path => {
            println!("{}", location.path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => Ok(status::status(&location, config, &args)),
        Command::Config(args) => config::show(&location, config, &args),
        Command::Init => config::init(&location, config),
        Command::Mcp => {
            crate::mcp::run(crate::manage::Target {
                location,
                config_flag: config.map(std::path::Path::to_owned),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => Ok(import::import(&args)),
        Command::Demo(args) => demo::demo(&args, cli.files.file.is_some() || config.is_some()),
    }
}

/// The heartbeat names meant by `given`: names, or labels the config gives them (every
/// command that takes a name takes a label, as `status` does). A name the heartbeat file
/// holds is taken as it is, without reading the config: a broken or refused config must not
/// stop `rm`, `pause` or `history` of an entry named by its own name. The config's error is
/// said only for a name the file does not hold, which may be a label.
fn names(
    location: &FileLocation,
    config: Option<&std::path::Path>,
    given: &[String],
) -> anyhow::Result<Vec<String>> {
    use anyhow::Context as _;
    let held = crate::store::read(&location.path).ok();
    let mut loaded = None;
    let mut names = Vec::with_capacity(given.len());
    for name in given {
        if held.as_ref().is_some_and(|file| file.get(name).is_some()) {
            names.push(name.clone());
            continue;
        }
        if loaded.is_none() {
            let (read, _) =
                crate::config::Config::load(config, &location.path).with_context(|| {
                    format!(
                        "{name:?} is no entry in {}, and the config, which may give it as a label, \
                     cannot be used",
                        location.path.display()
                    )
                })?;
            loaded = Some(read);
        }
        names.extend(loaded.as_ref().map(|c| c.name_for(name).to_owned()));
    }
    Ok(names)
}

/// A command that prints and exits, like a Unix filter, dies quietly of a reader going away.
fn report_mode() {
    #[cfg(unix)]
    crate::signal::die_quietly_on_closed_pipe();
}

impl Command {
    /// Commands that print and exit, like a Unix filter. The others (`run` passes a child's
    /// output through, `serve` logs) must never die of a reader going away.
    fn is_report(&self) -> bool {
        match self {
            #[cfg(unix)]
            Command::Run(_) | Command::Serve(_) => false,
            // The UI draws on a terminal, not into a pipe; MCP's client may go away.
            Command::Demo(_) | Command::Mcp => false,
            _ => true,
        }
    }
}
