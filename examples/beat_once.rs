//! One heartbeat, with this process's PID, from a process that keeps running (say, after
//! each batch of a long import):
//!
//! ```sh
//! HBMON_FILE=/tmp/hb.json cargo run --example beat_once && cat /tmp/hb.json
//! ```
//!
//! hbmon calls an entry whose PID is gone `dead`, so once this example exits the entry shows
//! dead. That is not the way for a script that beats and exits (cron, a build step): run it
//! under `hbmon run NAME -- CMD`, or beat with `hbmon beat NAME --no-pid --kind job`.
//!
//! Without `HBMON_FILE` it writes to the per-user default file, like every hbmon command.

use std::process::ExitCode;

use serde_json::json;

fn main() -> ExitCode {
    let data = json!({"step": "import", "rows": 1250, "source": "orders.csv"});
    match hbmon::beat("import-orders", data) {
        Ok(entry) => {
            let file = hbmon::paths::resolve_file(None).path;
            println!(
                "beat {} of \"import-orders\" written to {}",
                entry.beats.unwrap_or(1),
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            // A monitoring failure is reported, but it is the caller's choice whether it is fatal.
            eprintln!("beat_once: {e}");
            ExitCode::FAILURE
        }
    }
}
