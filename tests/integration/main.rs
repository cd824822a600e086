//! The integration test binary: the real `hbmon` binary and the library, run against temp files.

// Everything here is test code, but clippy's `allow-unwrap-in-tests` only covers `#[test]`
// functions, not the helpers they share.
#![allow(clippy::unwrap_used)]

mod history;
