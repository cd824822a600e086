//! The live terminal UI (`hbmon` with no subcommand), a face of the monitor engine
//! ([`crate::monitor`]): a header, the monitored and additional tables, a detail pane,
//! redrawn on each of the engine's checks (when the heartbeat file changes and once a
//! second). The engine records the history when no `hbmon serve` does; it never alerts.
//!
//! - [`app`]: the state and its pure `update`,
//! - [`keys`]: the key table (keys, actions, help, footer) and the mouse to actions,
//! - [`ui`]: drawing from the state and a fixed `now`, a file per part of the screen,
//! - [`event`]: the loop that feeds them (the engine's updates, input, signals),
//! - [`recent`]: the history read back for the screen, as timelines and sparklines,
//! - `reader`: the screen's reads of the history database,
//! - [`remote`]: other machines' serves, asked off the loop and merged into its reports,
//! - `terminal`: taking the terminal over and always giving it back.

pub mod app;
pub mod event;
pub mod keys;
mod reader;
pub mod recent;
pub mod remote;
mod terminal;
pub mod ui;

#[cfg(test)]
mod fixtures;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use app::App;
pub use event::Exit;

use crate::clock::unix_now;
use crate::config::Config;
use crate::monitor::{self, Engine, MonitorError};
use crate::probe::Probe;

/// The monitor's failures; each says what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("cannot draw on the terminal: {0}")]
    Terminal(#[source] io::Error),
    #[error("cannot read terminal input: {0}")]
    Input(#[source] io::Error),
    #[error("cannot open the redraw trace {}: {source}", path.display())]
    Trace { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Monitor(#[from] MonitorError),
    #[error("cannot catch signals: {0}")]
    Signals(#[source] io::Error),
    #[error("cannot start a thread to ask the remotes: {0}")]
    Remotes(#[source] io::Error),
}

/// How the monitor runs.
pub struct Options {
    /// The heartbeat file to watch.
    pub file: PathBuf,
    /// `--config`, to find the config again when it changes.
    pub config_flag: Option<PathBuf>,
    /// How often processes are re-probed and states re-judged.
    pub refresh: Duration,
    /// False under `NO_COLOR`.
    pub color: bool,
    /// `HBMON_TRACE_REDRAW`: appends `<redraw time> <newest beat in the file>` after each
    /// redraw that follows a re-read, to measure beat-to-screen latency in the benchmarks.
    pub trace: Option<PathBuf>,
    /// `--remote` and `[[remote]]`: other machines' serves whose rows are shown too.
    pub remotes: Vec<crate::remote::Remote>,
}

/// Runs the UI on the real terminal, over an engine judging with `config` (read from
/// `config_path`) and `probe`, until the user quits or a signal arrives; the terminal is
/// restored on every way out.
pub fn run(
    options: &Options,
    config: Config,
    config_path: Option<PathBuf>,
    probe: Box<dyn Probe + Send>,
) -> Result<Exit, TuiError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let app = App::new(
        display_path(&options.file, home.as_deref()),
        unix_now(),
        options.color,
    );
    // Before the terminal is taken: the engine's first check (what the history knows
    // included) is on the first screen, and a failure to start is a plain line.
    let engine = Engine::new(monitor::Options {
        file: options.file.clone(),
        config,
        config_path,
        config_flag: options.config_flag.clone(),
        refresh: options.refresh,
        alerts: false,
        supervise: false,
        probe,
    })?;
    let mut session = terminal::Session::enter().map_err(TuiError::Terminal)?;
    event::run(&mut session.screen, app, options, engine)
}

/// The path as the header shows it: the home directory as `~`, as a shell prompt would.
fn display_path(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) if home != Some(Path::new("/")) => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_directory_shows_as_a_tilde() {
        let home = Some(Path::new("/home/ops"));
        let file = Path::new("/home/ops/.local/state/hbmon/heartbeat_status.json");
        assert_eq!(
            display_path(file, home),
            "~/.local/state/hbmon/heartbeat_status.json"
        );
        assert_eq!(
            display_path(Path::new("/tmp/hb.json"), home),
            "/tmp/hb.json"
        );
        assert_eq!(
            display_path(Path::new("/tmp/hb.json"), None),
            "/tmp/hb.json"
        );
        assert_eq!(
            display_path(Path::new("/tmp/hb.json"), Some(Path::new("/"))),
            "/tmp/hb.json"
        );
    }
}
