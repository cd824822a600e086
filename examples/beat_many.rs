//! Many heartbeats from one process, for load tests of the monitor (`benches/tui_idle.sh`):
//! COUNT entries named `bench-0000`…, beaten round-robin at RATE beats per second in total
//! for SECONDS (RATE 0: write each entry once and exit). PIDS, a file with one PID per line,
//! gives the entries live processes to check; without it they carry this process's PID.
//! LOG, if given, gets each beat's time (its `last_heartbeat`) and how long its write took
//! in milliseconds, one beat per line. A paced beat carries its entry's sequence number in
//! this run as its data (`{"seq": K}`, K from 1), so a benchmark can tell from the file that
//! no beat was lost (`benches/sink_10k.py`).
//!
//! ```text
//! cargo run --release --example beat_many -- FILE COUNT RATE SECONDS [PIDS [LOG]]
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hbmon::store::{Beat, DataChange, Store};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(count), Some(rate), Some(seconds)) = (
        args.first().map(PathBuf::from),
        args.get(1).and_then(|a| a.parse::<usize>().ok()),
        args.get(2).and_then(|a| a.parse::<f64>().ok()),
        args.get(3).and_then(|a| a.parse::<f64>().ok()),
    ) else {
        eprintln!("usage: beat_many FILE COUNT RATE SECONDS [PIDS [LOG]]");
        return ExitCode::from(2);
    };
    let pids: Vec<u32> = match args.get(4) {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text.lines().filter_map(|l| l.trim().parse().ok()).collect(),
            Err(e) => {
                eprintln!("beat_many: cannot read {path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => vec![std::process::id()],
    };
    let mut log = match args.get(5).map(std::fs::File::create).transpose() {
        Ok(log) => log,
        Err(e) => {
            eprintln!("beat_many: cannot create the log: {e}");
            return ExitCode::from(2);
        }
    };
    let store = Store::new(file);
    let beat = |n: usize| {
        let i = n % count;
        let mut beat = Beat::alive(Some(pids[i % pids.len()]));
        // What the pace promises; entries written once promise an hour, so they stay `up`
        // through an idle measurement.
        beat.interval = Some(if rate > 0.0 {
            count as f64 / rate
        } else {
            3600.0
        });
        if rate > 0.0 {
            beat.data = DataChange::Replace(serde_json::json!({"seq": n / count + 1}));
        }
        store.beat(&format!("bench-{i:04}"), &beat)
    };
    if rate <= 0.0 {
        for i in 0..count {
            if let Err(e) = beat(i) {
                eprintln!("beat_many: {e}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    // Paced against the start, so a slow write does not lower the rate.
    let start = Instant::now();
    let gap = Duration::from_secs_f64(1.0 / rate);
    let mut n: u32 = 0;
    while start.elapsed().as_secs_f64() < seconds {
        let began = Instant::now();
        match beat(n as usize) {
            Ok(entry) => {
                if let Some(log) = &mut log {
                    let took = began.elapsed().as_secs_f64() * 1000.0;
                    // A lost line only thins the sample.
                    let _ = writeln!(log, "{:.6} {took:.3}", entry.last_heartbeat);
                }
            }
            Err(e) => {
                eprintln!("beat_many: {e}");
                return ExitCode::FAILURE;
            }
        }
        n += 1;
        let next = start + gap * n;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    ExitCode::SUCCESS
}
