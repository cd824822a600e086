//! The `hbmon` binary: run its arguments, map errors to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match hbmon::cli::run_args(std::env::args_os().collect()) {
        Ok(code) => code,
        Err(err) => {
            // An error may quote what a writer or the config wrote: one line, escaped.
            eprintln!("hbmon: {}", hbmon::text::escape(&format!("{err:#}")));
            ExitCode::from(2)
        }
    }
}
