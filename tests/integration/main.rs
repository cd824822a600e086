//! End-to-end tests: the real `hbmon` binary in temporary directories, one module per area.

mod history;
