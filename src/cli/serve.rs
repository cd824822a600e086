//! `hbmon serve`: the headless monitor in the foreground (history, alerts, the HTTP API);
//! the work is in [`crate::serve`].

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::config::Config;
use crate::http::Listen;
use crate::paths::FileLocation;
use crate::serve::HttpAddress;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the HTTP API listens: IP:PORT, localhost:PORT, or off (default: [serve] listen
    /// in hbmon.toml, else 127.0.0.1:4266). Port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

pub fn serve(
    location: &FileLocation,
    explicit_config: Option<&Path>,
    args: &ServeArgs,
) -> anyhow::Result<ExitCode> {
    let (config, config_path) = Config::load(explicit_config, &location.path)?;
    // Parsed here rather than by clap, so a bad address is one line like every other error.
    let listen = match (&args.listen, &config.serve.listen) {
        (Some(text), _) => HttpAddress::Chosen(
            Listen::parse(text).map_err(|why| anyhow::anyhow!("--listen: {why}"))?,
        ),
        (None, Some(listen)) => HttpAddress::Chosen(*listen),
        (None, None) => HttpAddress::Default,
    };
    crate::serve::run(location, config, config_path, explicit_config, listen)?;
    eprintln!("hbmon serve: stopped");
    Ok(ExitCode::SUCCESS)
}
