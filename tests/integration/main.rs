//! hbmon's integration tests: the real binary, run in temporary directories, one submodule
//! per area.

// Tests may unwrap (clippy.toml allows it in #[test] functions); the helpers here are test
// code too.
#![allow(clippy::unwrap_used)]

mod interop;
mod run;
