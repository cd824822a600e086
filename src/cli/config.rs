//! `hbmon config` (the config in effect and where it came from) and `hbmon init` (a
//! starter `hbmon.toml`).

use std::fs;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::config::{Config, STARTER, Secrets};
use crate::paths::{self, ConfigSource, FileLocation};

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Print secrets (token secrets, ping_key, uuid, push_token) as written, instead of
    /// "…(hidden, N chars)".
    #[arg(long)]
    pub show_secrets: bool,
}

pub fn show(
    location: &FileLocation,
    explicit: Option<&Path>,
    args: &ConfigArgs,
) -> anyhow::Result<ExitCode> {
    println!(
        "heartbeat file: {} ({})",
        location.path.display(),
        location.source.describe()
    );
    let config = if let Some(found) = paths::locate_config(explicit, &location.path) {
        println!(
            "config file:    {} ({})",
            found.path.display(),
            found.source.describe()
        );
        Config::read(&found.path)?
    } else {
        let searched: Vec<String> = paths::config_candidates(&location.path)
            .iter()
            .map(|c| c.path.display().to_string())
            .collect();
        println!(
            "config file:    none (looked for {}); built-in defaults",
            searched.join(", ")
        );
        Config::default()
    };
    println!();
    let secrets = if args.show_secrets {
        Secrets::Shown
    } else {
        Secrets::Hidden
    };
    print!("{}", config.show(secrets));
    Ok(ExitCode::SUCCESS)
}

pub fn init(location: &FileLocation, explicit: Option<&Path>) -> anyhow::Result<ExitCode> {
    // --config or $HBMON_CONFIG names the target. Otherwise the starter goes beside the
    // heartbeat file, which is searched first: written there it would silently take over
    // from a config found elsewhere (the per-user one), so that is refused instead.
    let target: PathBuf = match paths::locate_config(explicit, &location.path) {
        Some(c) if matches!(c.source, ConfigSource::Flag | ConfigSource::Env) => c.path,
        Some(found) => bail!(
            "a config already exists at {} ({}); not writing another that would take over \
             from it (--config PATH writes one elsewhere)",
            found.path.display(),
            found.source.describe()
        ),
        None => paths::config_beside(&location.path),
    };
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    // create_new: never over an existing file, even one created since we looked. Never
    // writable by group or others, whatever the umask: hbmon would then refuse its own
    // starter (a config names commands to run).
    let mode = crate::fsafe::new_file_mode(crate::fsafe::dir_of(&target)) & !0o022;
    let mut file = match crate::fsafe::create_new(&target, mode) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            bail!("{} already exists; not overwriting it", target.display())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", target.display())),
    };
    file.write_all(STARTER.as_bytes())
        .with_context(|| format!("cannot write {}", target.display()))?;
    println!(
        "wrote a starter config to {}; edit it, then `hbmon config` shows what hbmon reads",
        target.display()
    );
    Ok(ExitCode::SUCCESS)
}
