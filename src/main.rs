//! The `hbmon` binary: parse arguments, run, map errors to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hbmon::cli::Cli::parse();
    match hbmon::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // An error may quote what a writer or the config wrote: one line, escaped.
            eprintln!("hbmon: {}", hbmon::text::escape(&format!("{err:#}")));
            ExitCode::from(2)
        }
    }
}
