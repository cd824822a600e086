//! `hbmon serve`: the headless monitor in the foreground (history, alerts); the work is in
//! [`crate::serve`].

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::paths::FileLocation;

pub fn serve(location: &FileLocation, explicit_config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, config_path) = Config::load(explicit_config, &location.path)?;
    crate::serve::run(location, &config, config_path.as_deref())?;
    eprintln!("hbmon serve: stopped");
    Ok(ExitCode::SUCCESS)
}
