//! `hbmon pause NAME [--for D]` and `hbmon resume NAME`: maintenance windows, kept in the
//! process's own entry of the heartbeat file so every monitor sees them.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::clock::format_local;
use crate::duration;
use crate::manage::{self, ManageError};
use crate::paths::FileLocation;
use crate::store::Pause;

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The heartbeat name or its configured label.
    pub name: String,
    /// End the pause by itself after this long, e.g. 30m, 2h (default: until hbmon resume).
    #[arg(long = "for", allow_hyphen_values = true, value_parser = duration::parse, value_name = "D")]
    pub span: Option<Duration>,
}

pub fn pause(
    location: &FileLocation,
    name: &str,
    span: Option<Duration>,
) -> anyhow::Result<ExitCode> {
    let entry = match manage::pause(location, name, span) {
        Ok(entry) => entry,
        Err(e @ ManageError::NoEntry { .. }) => return Ok(missing(&e)),
        Err(e) => return Err(e.into()),
    };
    let until = match (entry.pause(), span) {
        (Some(Pause::Until(end)), Some(span)) => {
            format!("until {} ({})", format_local(end), duration::format(span))
        }
        _ => "until hbmon resume".to_owned(),
    };
    println!(
        "paused {name:?} {until}: shown as paused, no alerts ({})",
        location.path.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn resume(location: &FileLocation, name: &str) -> anyhow::Result<ExitCode> {
    let was_paused = match manage::resume(location, name) {
        Ok(was) => was,
        Err(e @ ManageError::NoEntry { .. }) => return Ok(missing(&e)),
        Err(e) => return Err(e.into()),
    };
    if was_paused {
        println!("resumed {name:?} ({})", location.path.display());
    } else {
        println!("{name:?} was not paused ({})", location.path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn missing(why: &ManageError) -> ExitCode {
    eprintln!("hbmon: {}", crate::text::escape(&why.to_string()));
    ExitCode::FAILURE
}
