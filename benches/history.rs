//! History database benchmarks (`cargo bench --bench history`): recording cost per beat,
//! database size per 100 000 beats, and `hbmon history` over a week of 200 processes beating
//! every 30 s, generated straight into SQLite. Prints the Markdown tables of BENCHMARKS.md, section 3.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hbmon::changes::{Changes, SeenBeat, Transition};
use hbmon::clock::unix_now;
use hbmon::health::{Severity, State};
use hbmon::history::{Batch, History, READ_WAIT, Recorder};
use hbmon::store::Reported;
use serde_json::json;

const PROCESSES: usize = 200;
const INTERVAL: f64 = 30.0;
const WEEK: f64 = 7.0 * 86_400.0;

fn main() {
    println!("# History benchmarks\n");
    println!("machine: {}\n", machine());
    record_cost();
    size_per_100k();
    week_queries();
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

/// Median and range of `samples`, in the unit the caller scaled them to.
fn stats(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    (
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
    )
}

fn beat(p: usize, time: f64) -> SeenBeat {
    SeenBeat {
        name: format!("worker-{p:03}"),
        time,
        pid: Some(10_000 + p as u32),
        status: Reported::Alive,
        data: json!({"queue": p % 17, "processed": (time as u64) % 100_000}),
    }
}

/// 200 processes beating every 30 s from `start`, `count` beats in all, in `batch`-sized
/// changes (what one report shows).
fn beats(start: f64, count: usize, batch: usize) -> Vec<Changes> {
    let all: Vec<SeenBeat> = (0..count)
        .map(|i| {
            let p = i % PROCESSES;
            let round = (i / PROCESSES) as f64;
            beat(
                p,
                start + round * INTERVAL + p as f64 * INTERVAL / PROCESSES as f64,
            )
        })
        .collect();
    all.chunks(batch)
        .map(|chunk| Changes {
            transitions: Vec::new(),
            beats: chunk.to_vec(),
            flips: Vec::new(),
            restarts: Vec::new(),
            minutes: Vec::new(),
        })
        .collect()
}

fn record_cost() {
    println!("## Recording cost per beat\n");
    println!(
        "Method: `Recorder::record` of 20 000 beats (200 processes, small JSON data) into a fresh \
         database, in batches of N beats per report; *queued*: the time the monitor's loop \
         spends in `record` (it only queues), *written*: until `Recorder::finish` returns with \
         everything written by the writer thread (one transaction per wake-up, however many \
         reports wait); 5 runs.\n"
    );
    println!(
        "| beats per report | queued: median µs/beat | written: median µs/beat | written: range |"
    );
    println!("|---:|---:|---:|---:|");
    let count = 20_000;
    for batch in [1, 10, 200] {
        let (mut queued, mut written): (Vec<f64>, Vec<f64>) = (0..5)
            .map(|_| {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("h.sqlite");
                let mut recorder = Recorder::claim(
                    &path,
                    Duration::from_secs(86_400 * 7),
                    hbmon::history::OPEN_WAIT,
                )
                .unwrap()
                .unwrap();
                let changes = beats(1e9, count, batch);
                let t = Instant::now();
                let mut in_record = Duration::ZERO;
                for c in &changes {
                    let r = Instant::now();
                    recorder.record(c);
                    in_record += r.elapsed();
                }
                let notes = recorder.finish();
                assert!(notes.iter().all(|n| !n.is_trouble()), "{notes:?}");
                let per_beat = |d: Duration| d.as_secs_f64() * 1e6 / count as f64;
                (per_beat(in_record), per_beat(t.elapsed()))
            })
            .unzip();
        let (queued, _, _) = stats(&mut queued);
        let (median, low, high) = stats(&mut written);
        println!("| {batch} | {queued:.1} | {median:.1} | {low:.1}–{high:.1} |");
    }
    println!();
}

fn file_size(path: &Path) -> u64 {
    // Fold the WAL into the database so the file size is the whole story.
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn size_per_100k() {
    println!("## Database size per 100 000 beats\n");
    println!(
        "Method: 100 000 beats of 200 processes (names `worker-NNN`, a pid) recorded, WAL \
         checkpointed, file size measured. Deterministic, so one run.\n"
    );
    println!("| additional_data per beat | size | bytes/beat |");
    println!("|---|---:|---:|");
    for (label, with_data) in [(r#"`{"queue":N,"processed":N}`"#, true), ("none", false)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let (mut history, _) = History::open(&path).unwrap();
        for mut c in beats(1e9, 100_000, 1000) {
            if !with_data {
                c.beats
                    .iter_mut()
                    .for_each(|b| b.data = serde_json::Value::Null);
            }
            history.insert(&Batch::of(&c)).unwrap();
        }
        drop(history);
        let size = file_size(&path);
        println!(
            "| {label} | {:.1} MB | {:.0} |",
            size as f64 / 1e6,
            size as f64 / 1e5
        );
    }
    println!();
}

fn week_queries() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat_status.json");
    let path = dir.path().join("heartbeat_history.sqlite");
    let now = unix_now();
    let start = now - WEEK;
    let per_process = (WEEK / INTERVAL) as usize;
    let generated = generate_week(&path, start);
    let size = file_size(&path);
    println!("## `hbmon history` over a week of 200 processes beating every 30 s\n");
    println!(
        "Data: {} beats and {} transitions generated straight into SQLite in {:.0} s; the \
         database is {:.0} MB.\n",
        per_process * PROCESSES,
        PROCESSES * 28,
        generated.as_secs_f64(),
        size as f64 / 1e6
    );
    println!("| what | runs | median | range |");
    println!("|---|---:|---:|---:|");

    let history = History::open_existing(&path, READ_WAIT).unwrap();
    let lib = |label: &str, f: &mut dyn FnMut(usize)| {
        let mut samples: Vec<f64> = (0..21)
            .map(|i| {
                let t = Instant::now();
                f(i * 7 % PROCESSES);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let (median, low, high) = stats(&mut samples);
        println!("| {label} | 21 | {median:.2} ms | {low:.2}–{high:.2} ms |");
    };
    lib(
        "library: one process, last 24h, newest 200 beats + transitions",
        &mut |p| {
            let name = format!("worker-{p:03}");
            history.beats(&name, now - 86_400.0, Some(200)).unwrap();
            history
                .transitions(Some(&name), now - 86_400.0, Some(200))
                .unwrap();
        },
    );
    lib("library: one process, whole week, all beats", &mut |p| {
        let name = format!("worker-{p:03}");
        assert_eq!(
            history.beats(&name, start, None).unwrap().len(),
            per_process
        );
    });
    lib(
        "library: last_seen of every process (a monitor's start)",
        &mut |_| {
            assert_eq!(history.last_seen().unwrap().len(), PROCESSES);
        },
    );
    drop(history);

    let cli = |label: &str, args: &[&str]| {
        let mut samples: Vec<f64> = (0..11)
            .map(|i| {
                let name = format!("worker-{:03}", i * 13 % PROCESSES);
                let t = Instant::now();
                let out = Command::new(env!("CARGO_BIN_EXE_hbmon"))
                    .arg("--file")
                    .arg(&file)
                    .args(["history", &name])
                    .args(args)
                    .output()
                    .unwrap();
                assert!(out.status.success());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let (median, low, high) = stats(&mut samples);
        println!("| {label} | 11 | {median:.1} ms | {low:.1}–{high:.1} ms |");
    };
    cli("`hbmon history NAME` (24h, newest 200), whole process", &[]);
    cli(
        "`hbmon history NAME --since 7d --limit 0 --json` (20 160 beats)",
        &["--since", "7d", "--limit", "0", "--json"],
    );

    let mut history = History::open_existing(&path, READ_WAIT).unwrap();
    let t = Instant::now();
    let pruned = history.prune(start + 3600.0).unwrap();
    println!(
        "| hourly prune: the oldest hour ({} beats) out of the week | 1 | {:.0} ms | |",
        pruned.beats,
        t.elapsed().as_secs_f64() * 1e3
    );
    println!();
}

/// Writes a week of 200 processes beating every 30 s, plus four transitions a day each
/// (late and back), ending now; returns how long that took.
fn generate_week(path: &Path, start: f64) -> Duration {
    let t = Instant::now();
    let (mut history, _) = History::open(path).unwrap();
    let per_process = (WEEK / INTERVAL) as usize;
    for c in beats(start, per_process * PROCESSES, 20_000) {
        history.insert(&Batch::of(&c)).unwrap();
    }
    let transitions: Vec<Transition> = (0..PROCESSES)
        .flat_map(|p| {
            (0..28).map(move |k| {
                let late = k % 2 == 0;
                Transition {
                    name: format!("worker-{p:03}"),
                    time: start + f64::from(k) * 21_600.0 + p as f64,
                    from: Some(if late { State::Up } else { State::Late }),
                    to: if late { State::Late } else { State::Up },
                    severity: if late {
                        Severity::Warning
                    } else {
                        Severity::Ok
                    },
                    reason: "no beat for 46s".to_owned(),
                    since: None,
                }
            })
        })
        .collect();
    history
        .insert(&Batch::of(&Changes {
            transitions,
            beats: Vec::new(),
            flips: Vec::new(),
            restarts: Vec::new(),
            minutes: Vec::new(),
        }))
        .unwrap();
    t.elapsed()
}
