//! hbmon — a local process monitor built on heartbeats.
//!
//! Processes write heartbeats into one shared, file-locked JSON file; `hbmon` reads it,
//! checks each PID with the operating system and shows what is up, late, hung, dead or
//! stopped. The map of the crate is a list of layers, top to bottom: a module uses only
//! modules *below* it, never one above (a test, `layers.rs`, checks every `crate::` path
//! against this list). Faces on top, the engine under them, the rooms it is built of, and
//! the plain pieces at the bottom:
//!
//! - [`cli`]: the `hbmon` command line; `main.rs` only calls [`cli::run_args`].
//! - [`mcp`]: `hbmon mcp`, a Model Context Protocol server over stdio (`rmcp`) for AI
//!   agents: the acts of [`manage`] as tools.
//! - [`tui`]: the live terminal UI, `hbmon` with no subcommand: a face of the engine.
//! - [`serve`]: `hbmon serve`, the headless face: the engine with alerts, its log, the
//!   HTTP API, the beat sink (Unix).
//! - [`api`]: the endpoints of that HTTP API, answered from the engine's feed, one table of
//!   routes (`api/routes.rs`): `/status`, `/status/NAME`, `/metrics`, `/ping/NAME`,
//!   `/ping/NAME/start`, `/ping/NAME/fail`, `/ping/NAME/CODE` (a job's run, as `hbmon run`
//!   reports it), `/ping/NAME/log` (adds to its log), healthchecks.io's key and slug forms
//!   `/ping/KEY/SLUG/start`, `/ping/KEY/SLUG/fail`, `/ping/KEY/SLUG/log`,
//!   `/ping/KEY/SLUG/CODE` (its UUID form is the NAME one), Uptime Kuma's
//!   `/api/push/TOKEN`, `/healthz`, and the management API (`api/processes.rs`: list,
//!   get, add, change, remove, pause, resume, history): `/api/v1/processes`,
//!   `/api/v1/processes/NAME`, `/api/v1/processes/NAME/pause`,
//!   `/api/v1/processes/NAME/resume`, `/api/v1/processes/NAME/history`,
//!   `/api/v1/processes/NAME/restart`, `/api/v1/processes/NAME/stop` (through the
//!   supervisor's control socket, as `hbmon restart|stop`), `/api/v1/history` (the
//!   fleet's transitions); its live events
//!   (`api/events.rs`): `/api/v1/events`; and the web dashboard (`api/web.rs`, the files
//!   of `web/` in the binary): `/`, `/assets/FILE`. Each route's scope (`read`, `ping`,
//!   `write`) is asked of the request's `[[serve.token]]` once there is one
//!   (`api/auth.rs`); other machines' pings are held to `[serve] ping_rate`
//!   (`api/rate.rs`).
//! - [`manage`]: the acts a program may do, shared by the API, `hbmon mcp` and the CLI:
//!   judge once as `hbmon status` does, add/change/remove a `[[process]]`, pause, resume,
//!   read one process's history or the whole fleet's.
//! - [`remote`]: `--remote`: other machines' serves read over HTTP(S) (`GET /status`,
//!   bounded in time and size, one thread each) and merged under a host column, each
//!   remote's rows as it judged them, aged on its own clock.
//! - [`monitor`]: the engine under every face: it judges the file on each change and once
//!   a second, records the history and sends alerts when it holds those roles, reloads its
//!   config, and publishes each check for faces to subscribe to.
//! - [`supervise`]: the processes `hbmon serve` starts, restarts (backoff, `gave-up`) and
//!   stops in dependency order, from one spawning thread; their rotating logs; the control
//!   socket `hbmon start|stop|restart` reach it through; what only it knows (`gave-up`,
//!   stopped by hand) published in `<file>.supervise.json` for every other face.
//! - [`alert`]: `[[alert]]` rules at work — when to alert (pure), what is said, delivery.
//! - [`import`]: `hbmon import pm2|supervisor|systemd`: what other tools run, read into
//!   `[[process]]` blocks to paste (pure: the command line does the reading).
//! - [`job`]: running a command as a job with start and end beats (`hbmon run`; Unix).
//! - [`history`]: the SQLite history of beats and transitions, and its single recorder,
//!   which writes on a thread of its own and trusts, repairs or refuses the file it finds.
//! - [`changes`]: transitions and new beats between successive reports (pure).
//! - [`report`]: every row at one instant, and the one column model (`report/columns.rs`:
//!   title, width, alignment, drop rank, text, order) that `status`'s table and the UI share.
//! - [`checks`]: active probes (`http`, `tcp`, `command`) run in a bounded pool of workers
//!   on their own cadence, each bounded by its timeout; their latest results and response
//!   times, read without waiting.
//! - [`config`]: the optional `hbmon.toml` and its data: monitored processes and their
//!   thresholds, `[[alert]]` rules, `[history]`, `[serve]` (its tokens, TLS files and ping
//!   rate: `config/tokens.rs`); editing its `[[process]]`
//!   tables in place, comments kept, under a lock (`config/edit.rs`).
//! - [`deps`]: dependencies between processes (`depends_on`): the graph's unknown names and
//!   cycles, the root causes that block a failing dependent, what a root takes down (pure).
//! - [`http`]: the small HTTP/1.1 server under `hbmon serve`'s API (std `TcpListener`),
//!   plain or TLS (rustls, `http/tls.rs`), every read and write under a deadline
//!   (`http/conn.rs`), its streaming replies (server-sent events, `http/stream.rs`) and
//!   the browser rules with the dashboard's session token (`http/request/browser.rs`).
//! - [`health`]: health states (everything about a state: name, symbol, severity, meaning)
//!   and the pure `evaluate` that judges one process.
//! - [`probe`]: what the OS says about PIDs and the machine, behind a trait tests can fake.
//! - [`notify`]: systemd's readiness protocol (`sd_notify`) heard: a `NOTIFY_SOCKET` in a
//!   private directory, datagrams from accepted users only, parsed into messages, on a
//!   listener thread; for `job` (`hbmon run --notify`) and any supervisor of children
//!   (Linux).
//! - [`watch`]: noticing changes to a file (a paced watch on its directory, its stamp).
//! - [`signals`]: SIGTERM, SIGINT, SIGHUP as messages to a loop (Unix).
//! - [`heartbeat`]: the writer API processes embed: [`beat`] and [`Heartbeat`].
//! - [`sink`]: the beat sink of `hbmon serve`: a Unix socket beside the heartbeat file
//!   (`<file>.sock`) taking beats as JSON lines, queued in one table and flushed into the
//!   file once per tick (one lock, one write); the writer's side that tries it first.
//! - [`store`]: the heartbeat file protocol (v1) — locking, reading, atomic rewrites; a beat
//!   scans the file's structure (`store/scan.rs`) and splices its own entry in; a reader that
//!   keeps its last read decodes only the entries whose text changed (`store/decoded.rs`). What a beat
//!   says and does to an entry, a job run's beats among them, is `store/beat.rs` (runs a
//!   run id names, several of one job at once: `store/beat/runs.rs`).
//! - [`sidecar`]: `<file>.ROLE.json`, what the one monitor holding a role (probes,
//!   supervision) publishes for every other face: written atomically, never group- or
//!   other-writable; read only through [`fsafe`] and only if this user wrote it.
//! - [`paths`]: where the heartbeat file and the config live.
//! - [`fsafe`]: opening files where other users may write: no symlink, no FIFO, no huge
//!   file, nothing created more open than its directory, nothing trusted that others wrote.
//! - [`duration`]: the `30s` / `5m` / `1h30m` notation used everywhere a time span is typed.
//! - [`signal`]: signal names, the three that ask a process to stop (a stop, not a crash),
//!   ending a process by a signal as its default action would, process groups (Unix).
//! - [`cron`]: cron schedules in a time zone (five fields or an `@macro`): parsing, the
//!   next and the previous fire time, as healthchecks.io's engine (cronsim) has them, DST
//!   included; the words for one; a recurring window (a schedule and a duration).
//! - [`clock`]: the one clock: now as the protocol's Unix seconds, an instant in local time.
//! - [`text`]: text from writers and requests as terminals and logs show it: control,
//!   bidi and line-separator characters escaped (`\n`, `\u{1b}`), never printed raw.

// Tests compare floats they built from exact values.
#![cfg_attr(test, allow(clippy::float_cmp))]

pub mod alert;
pub mod api;
pub mod changes;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cron;
pub mod deps;
pub mod duration;
pub mod fsafe;
pub mod health;
pub mod heartbeat;
pub mod history;
pub mod http;
pub mod import;
#[cfg(unix)]
pub mod job;
pub mod manage;
pub mod mcp;
pub mod monitor;
#[cfg(target_os = "linux")]
pub mod notify;
pub mod paths;
pub mod probe;
pub mod remote;
pub mod report;
#[cfg(unix)]
pub mod serve;
pub mod sidecar;
#[cfg(unix)]
pub mod signal;
#[cfg(unix)]
pub mod signals;
pub mod sink;
pub mod store;
pub mod supervise;
pub mod text;
pub mod tui;
pub mod watch;

pub use heartbeat::{Handle, Heartbeat, beat};

#[cfg(test)]
mod layers;
