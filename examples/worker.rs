//! A long-running worker with a [`hbmon::Heartbeat`]: `pulse()` after each unit of work, an
//! occasional `error()`, progress in `set_data`, and a clean `stopped` beat when it is
//! stopped — two ways:
//!
//! - by default the heartbeat itself turns SIGTERM, SIGINT and SIGHUP (`systemctl stop`,
//!   `docker stop`, Ctrl-C) into a `stopped` beat ("stopped by SIGTERM (signal 15)") and
//!   lets the signal end the process, as it would have without hbmon;
//! - with `--graceful` the worker installs its own SIGTERM and SIGINT handlers first, to
//!   finish the job in hand and then `stop()`; the heartbeat leaves signals the program
//!   handles alone.
//!
//! ```sh
//! HBMON_FILE=/tmp/hb.json cargo run --example worker                # kill -TERM it
//! HBMON_FILE=/tmp/hb.json cargo run --example worker -- --graceful  # Ctrl-C to stop
//! ```

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hbmon::Heartbeat;
use serde_json::json;

/// Set by the worker's own handler (`--graceful`); the work loop checks it between jobs.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_signal: libc::c_int) {
    // Only an atomic store: anything more (allocating, locking, printing) is not
    // async-signal-safe.
    STOP.store(true, Ordering::Relaxed);
}

fn main() -> ExitCode {
    let graceful = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--graceful") => true,
        Some(other) => {
            eprintln!("worker: unknown argument {other:?} (the one option is --graceful)");
            return ExitCode::from(2);
        }
    };
    if graceful {
        let handler: extern "C" fn(libc::c_int) = on_stop;
        // SAFETY: the handler has the signature `signal` expects and only touches an atomic.
        unsafe {
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
            libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        }
    }
    match run(graceful) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("worker: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(graceful: bool) -> Result<(), hbmon::heartbeat::HeartbeatError> {
    // The first beat is written here, so a bad heartbeat file fails now, not silently later.
    let heartbeat = Heartbeat::new("example-worker")
        .interval(Duration::from_secs(2))
        .start()?;
    if graceful {
        println!("working; Ctrl-C or SIGTERM finishes the job in hand, then stops");
    } else {
        println!("working; Ctrl-C or SIGTERM stops at once, with a `stopped` beat");
    }
    let mut done: u64 = 0;
    while !STOP.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100)); // the "work"
        done += 1;
        // Cheap enough to call after every job: the background writer turns pulses into
        // at most one beat per interval / 4.
        heartbeat.pulse();
        if done.is_multiple_of(10) {
            heartbeat.set_data(json!({"jobs_done": done, "queue": 40 - done % 40}))?;
        }
        if done.is_multiple_of(75) {
            heartbeat.error(format!("job {done}: upstream timed out, will retry"))?;
        }
    }
    let entry = heartbeat.stop()?;
    println!(
        "stopped cleanly after {done} jobs ({} beats)",
        entry.beats.unwrap_or(0)
    );
    Ok(())
}
