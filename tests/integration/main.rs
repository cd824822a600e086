//! The integration test binary: the real `hbmon` binary and the library, run against temp files.

// Everything here is test code, but clippy's `allow-unwrap-in-tests` only covers `#[test]`
// functions, not the helpers they share.
#![allow(clippy::unwrap_used)]

mod history;
mod pause;

/// `hbmon --file <file>`, blind to any `HBMON_FILE` in the environment running the tests.
pub fn hbmon(file: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_hbmon"));
    cmd.env_remove("HBMON_FILE").arg("--file").arg(file);
    cmd
}
