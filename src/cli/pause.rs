//! `hbmon pause NAME [--for D]` and `hbmon resume NAME`: maintenance windows, kept in the
//! process's own entry of the heartbeat file so every monitor sees them.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::clock::format_local;
use crate::duration;
use crate::paths::FileLocation;
use crate::store::{Pause, Store};

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
    let pause = span.map_or(Pause::Indefinite, |span| {
        Pause::Until(crate::clock::unix_now() + span.as_secs_f64())
    });
    if Store::at(location)
        .update(name, |entry| entry.set_pause(Some(pause)))?
        .is_none()
    {
        return Ok(missing(location, name, "pause"));
    }
    let until = match (pause, span) {
        (Pause::Until(end), Some(span)) => {
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
    let mut was_paused = false;
    let updated = Store::at(location).update(name, |entry| {
        was_paused = entry.pause().is_some();
        entry.set_pause(None);
    })?;
    if updated.is_none() {
        return Ok(missing(location, name, "resume"));
    }
    if was_paused {
        println!("resumed {name:?} ({})", location.path.display());
    } else {
        println!("{name:?} was not paused ({})", location.path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn missing(location: &FileLocation, name: &str, verb: &str) -> ExitCode {
    // Why there is nothing to pause is worth saying; for resume, only that there is nothing.
    let why = if verb == "pause" {
        ": only a process that has beaten can be paused"
    } else {
        ""
    };
    eprintln!(
        "hbmon: no entry {name:?} in {} to {verb}{why}",
        location.path.display()
    );
    ExitCode::FAILURE
}
