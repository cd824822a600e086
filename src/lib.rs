//! hbmon — a local process monitor built on heartbeats.
//!
//! Processes write heartbeats into one shared, file-locked JSON file; `hbmon` reads it,
//! checks each PID with the operating system and shows what is up, late, hung, dead or
//! stopped. The map of the crate:
//!
//! - [`text`]: text from writers and requests as terminals and logs show it: control,
//!   bidi and line-separator characters escaped (`\n`, `\u{1b}`), never printed raw.
//! - [`store`]: the heartbeat file protocol (v1) — locking, reading, atomic rewrites; a beat
//!   scans the file's structure (`store/scan.rs`) and splices its own entry in.
//! - [`heartbeat`]: the writer API processes embed: [`beat`] and [`Heartbeat`].
//! - [`job`]: running a command as a job with start and end beats (`hbmon run`; Unix).
//! - [`duration`]: the `30s` / `5m` / `1h30m` notation used everywhere a time span is typed.
//! - [`paths`]: where the heartbeat file and the config live.
//! - [`fsafe`]: opening files where other users may write: no symlink, no FIFO, no huge
//!   file, nothing created more open than its directory, nothing trusted that others wrote.
//! - [`config`]: the optional `hbmon.toml`: monitored processes and their thresholds.
//! - [`status`]: health states and the pure `evaluate` that judges one process.
//! - [`probe`]: what the OS says about PIDs and the machine, behind a trait tests can fake.
//! - [`report`]: every row at one instant and the column texts the table and UI share.
//! - [`changes`]: transitions and new beats between successive reports (pure).
//! - [`history`]: the SQLite history of beats and transitions, and its single recorder,
//!   which writes on a thread of its own and trusts, repairs or refuses the file it finds.
//! - [`alert`]: `[[alert]]` rules — when to alert (pure), what is said, delivery.
//! - [`http`]: the small HTTP/1.1 server under `hbmon serve`'s API (std `TcpListener`).
//! - [`watch`]: noticing changes to the heartbeat file (a watch on its directory).
//! - [`serve`]: the headless monitor of `hbmon serve`: history, alerts, the HTTP API (Unix).
//! - [`api`]: the endpoints of that HTTP API: `/status`, `/metrics`, `/ping/NAME` (`/start`,
//!   `/fail`, `/CODE`: a job's run, as `hbmon run` reports it).
//! - [`tui`]: the live terminal UI, `hbmon` with no subcommand.
//! - [`cli`]: the `hbmon` command line; `main.rs` only calls [`cli::run`].

// Tests compare floats they built from exact values.
#![cfg_attr(test, allow(clippy::float_cmp))]

pub mod alert;
// Unix, as `serve` (its only user) and the job beats it shares with `hbmon run`.
#[cfg(unix)]
pub mod api;
pub mod changes;
pub mod cli;
pub mod config;
pub mod duration;
pub mod fsafe;
pub mod heartbeat;
pub mod history;
pub mod http;
#[cfg(unix)]
pub mod job;
pub mod monitor;
pub mod paths;
pub mod probe;
pub mod report;
#[cfg(unix)]
pub mod serve;
#[cfg(unix)]
pub mod signals;
pub mod status;
pub mod store;
pub mod text;
pub mod tui;
pub mod watch;

pub use heartbeat::{Handle, Heartbeat, beat};
