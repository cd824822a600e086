//! The live terminal UI (`hbmon` with no subcommand): a header, the monitored and additional
//! tables, a detail pane, redrawn when the heartbeat file changes and once a second.
//!
//! - [`app`]: the state and its pure `update`,
//! - [`keys`]: the key table (keys, actions, help, footer) and the mouse to actions,
//! - [`ui`]: drawing from the state and a fixed `now`, a file per part of the screen,
//! - [`event`]: the loop that feeds them (input, file watcher, signals, clocks),
//! - [`judge`]: the file to a report, asking the OS at most once per `--refresh`,
//! - [`recent`]: the history read back for the screen, as timelines and sparklines,
//! - `recording`: recording the history when no `hbmon serve` does, else reading it,
//! - `terminal`: taking the terminal over and always giving it back.

pub mod app;
pub mod event;
pub mod judge;
pub mod keys;
pub mod recent;
mod recording;
mod terminal;
pub mod ui;

#[cfg(test)]
mod fixtures;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use app::App;
pub use event::Exit;

use crate::config::Config;
use crate::probe::Probe;
use crate::store::unix_now;

/// The monitor's failures; each says what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("cannot draw on the terminal: {0}")]
    Terminal(#[source] io::Error),
    #[error("cannot read terminal input: {0}")]
    Input(#[source] io::Error),
    #[error("cannot open the redraw trace {}: {source}", path.display())]
    Trace { path: PathBuf, source: io::Error },
}

/// How the monitor runs.
pub struct Options {
    /// The heartbeat file to watch.
    pub file: PathBuf,
    /// How often processes are re-probed and states re-judged.
    pub refresh: Duration,
    /// False under `NO_COLOR`.
    pub color: bool,
    /// `HBMON_TRACE_REDRAW`: appends `<redraw time> <newest beat in the file>` after each
    /// redraw that follows a re-read, to measure beat-to-screen latency in the benchmarks.
    pub trace: Option<PathBuf>,
}

/// Runs the UI on the real terminal until the user quits or a signal arrives; the terminal
/// is restored on every way out.
pub fn run(options: &Options, config: &Config, probe: &mut dyn Probe) -> Result<Exit, TuiError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let app = App::new(
        display_path(&options.file, home.as_deref()),
        unix_now(),
        options.color,
    );
    let recording = recording::Recording::start(
        crate::paths::history_path(&options.file),
        Duration::from_secs_f64(config.history.keep),
    );
    let mut session = terminal::Session::enter().map_err(TuiError::Terminal)?;
    event::run(
        &mut session.screen,
        app,
        options,
        &mut judge::Judge::new(config, probe),
        recording,
    )
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
