//! `hbmon` with no subcommand: the live terminal UI on the heartbeat file.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::status::RemoteArgs;
use crate::config::Config;
use crate::duration;
use crate::paths::FileLocation;
use crate::probe::SysProbe;
use crate::tui::{self, Exit};

/// The UI's flags, shared by `hbmon` and `hbmon demo`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// How often to re-check every process with the OS (CPU, memory, alive) and re-judge
    /// its state. The file itself is watched: a beat shows at once.
    #[arg(long, value_parser = refresh_interval, default_value = "2s", value_name = "D")]
    pub refresh: Duration,
}

pub fn monitor(
    location: &FileLocation,
    config_flag: Option<&Path>,
    args: &UiArgs,
    remote: &RemoteArgs,
) -> anyhow::Result<ExitCode> {
    need_terminal()?;
    let (config, config_path) = Config::load(config_flag, &location.path)?;
    let remotes = remote.remotes(&config, config_path.as_deref())?;
    let options = tui::Options {
        file: location.path.clone(),
        config_flag: config_flag.map(Path::to_owned),
        refresh: args.refresh,
        color: use_color(std::env::var_os("NO_COLOR").as_deref()),
        trace: std::env::var_os("HBMON_TRACE_REDRAW").map(Into::into),
        remotes,
    };
    let probe = Box::new(SysProbe::new(&location.path));
    let exit = tui::run(&options, config, config_path, probe)
        .with_context(|| format!("the monitor of {} stopped", location.path.display()))?;
    Ok(match exit {
        Exit::Quit => ExitCode::SUCCESS,
        // As a shell reports a death by signal N.
        Exit::Signal(n) => ExitCode::from(128_u8.saturating_add(u8::try_from(n).unwrap_or(0))),
    })
}

/// The UI draws on a terminal and reads keys from one: without it (cron, a pipe, `</dev/null`)
/// it says so in one line before anything is drawn or started.
pub fn need_terminal() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    anyhow::ensure!(
        std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
        "the live UI needs a terminal on stdin and stdout; `hbmon status` prints one table instead"
    );
    Ok(())
}

/// Colour unless `NO_COLOR` is set to something (no-color.org: an empty value does not count).
fn use_color(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_none_or(std::ffi::OsStr::is_empty)
}

/// At least 100 ms: the probe reads `/proc` for every process, and faster than that is
/// a busy loop in disguise.
fn refresh_interval(text: &str) -> Result<Duration, String> {
    match duration::parse(text) {
        Ok(d) if d < Duration::from_millis(100) => {
            Err(format!("{text:?} is too short: at least 100ms"))
        }
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_counts_only_when_set_to_something() {
        assert!(use_color(None));
        assert!(use_color(Some(OsStr::new(""))));
        assert!(!use_color(Some(OsStr::new("1"))));
    }

    #[test]
    fn refresh_is_a_duration_of_at_least_100ms() {
        assert_eq!(refresh_interval("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(refresh_interval("250ms"), Ok(Duration::from_millis(250)));
        assert!(
            refresh_interval("10ms")
                .unwrap_err()
                .contains("at least 100ms")
        );
        assert!(refresh_interval("soon").is_err());
    }
}
