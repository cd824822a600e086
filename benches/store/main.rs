//! Benchmarks of the heartbeat file's write path: one beat through the library and through
//! the `hbmon beat` process, against the floor of any writer that follows the protocol (lock,
//! write a temp file, rename). Run with `cargo bench --bench store`; see BENCHMARKS.md.

mod timing;

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hbmon::paths;
use hbmon::store::{self, Beat, DataChange, Kind, RawDocument, Store};
use serde_json::{Map, json};
use tempfile::TempDir;
use timing::{Human, Sample, measure};

const SIZES: [usize; 4] = [1, 100, 1_000, 10_000];

fn main() {
    println!("| case | entries | file size | median | min – max | × floor |");
    println!("|---|---:|---:|---:|---:|---:|");
    let tiny = HeartbeatFile::with_bytes(b"{}".to_vec(), 0);
    let tiny_floor = measure(50, 501, || floor_write(&tiny.path, &tiny.bytes));
    row(
        "lock + write + rename, tiny file",
        Some(&tiny),
        &tiny_floor,
        None,
    );

    let sizes: Vec<SizeResult> = SIZES.into_iter().map(measure_size).collect();
    let at = |entries: usize| {
        sizes
            .iter()
            .find(|s| s.entries == entries)
            .expect("every size was measured")
    };

    let file = &at(100).file;
    let process = measure(10, 201, || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hbmon"));
        cmd.arg("--file").arg(&file.path);
        cmd.args(["beat", "-q", &file.target, "--pid", "4242"]);
        spawn(cmd);
    });
    row(
        "`hbmon beat` process",
        Some(file),
        &process,
        Some(&at(100).floor),
    );
    let true_spawn = measure(10, 201, || spawn(Command::new("true")));
    row(
        "spawn `true` (the cost of any process)",
        None,
        &true_spawn,
        None,
    );

    println!();
    let ratio = at(100).beat.ratio_to(&at(100).floor);
    target(
        "library beat, 100 entries, within 3× the floor",
        ratio <= 3.0,
        &format!("{ratio:.2}×"),
    );
    for (entries, limit) in [
        (1_000, Duration::from_millis(1)),
        (10_000, Duration::from_millis(10)),
    ] {
        let beat = at(entries).beat;
        target(
            &format!("library beat, {entries} entries, under {}", Human(limit)),
            beat.median < limit,
            &Human(beat.median).to_string(),
        );
    }
    target(
        "`hbmon beat` process, 100 entries, under 5 ms",
        process.median < Duration::from_millis(5),
        &Human(process.median).to_string(),
    );
}

/// One file size's floor and library beat, kept for the targets.
struct SizeResult {
    entries: usize,
    file: HeartbeatFile,
    floor: Sample,
    beat: Sample,
}

/// Measures and prints every in-process case at one file size.
fn measure_size(entries: usize) -> SizeResult {
    let file = HeartbeatFile::with_entries(entries);
    let runs = if entries >= 10_000 { 51 } else { 201 };
    let floor = measure(10, runs, || floor_write(&file.path, &file.bytes));
    let store = Store::new(&file.path);
    let mut seq = 0_u64;
    let beat = measure(10, runs, || {
        seq += 1;
        library_beat(&store, &file.target, seq);
    });
    // What a beat adds to the floor: reading the file (rule 2, which no writer can skip),
    // then scanning its structure (entries are only delimited, not decoded).
    let read_only = measure(10, runs, || {
        fs::read_to_string(&file.path).expect("the benchmark file reads back");
    });
    let check = measure(10, runs, || {
        let text = fs::read_to_string(&file.path).expect("the benchmark file reads back");
        RawDocument::parse(&text).expect("the benchmark file parses");
    });
    // What a reader (the monitor) pays: every entry decoded.
    let read = measure(10, runs, || {
        store::read(&file.path).expect("the benchmark file reads back");
    });
    let f = Some(&floor);
    row("floor: lock + write + rename", Some(&file), &floor, f);
    row("library beat (`Store::beat`)", Some(&file), &beat, f);
    row(
        "read alone (`fs::read_to_string`)",
        Some(&file),
        &read_only,
        f,
    );
    row("read + scan (`RawDocument::parse`)", Some(&file), &check, f);
    row("read + decode all (`store::read`)", Some(&file), &read, f);
    SizeResult {
        entries,
        file,
        floor,
        beat,
    }
}

fn row(case: &str, file: Option<&HeartbeatFile>, sample: &Sample, floor: Option<&Sample>) {
    let ratio = floor.map_or_else(String::new, |f| format!("{:.2}", sample.ratio_to(f)));
    let (entries, size) = file.map_or_else(
        || ("-".to_owned(), "-".to_owned()),
        |f| (f.entries.to_string(), human_size(f.bytes.len())),
    );
    println!(
        "| {case} | {entries} | {size} | {} | {} – {} | {ratio} |",
        Human(sample.median),
        Human(sample.min),
        Human(sample.max),
    );
}

fn human_size(bytes: usize) -> String {
    if bytes < 10_000 {
        format!("{bytes} B")
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

fn target(what: &str, met: bool, measured: &str) {
    let verdict = if met { "met" } else { "MISSED" };
    println!("target: {what}: {measured} — {verdict}");
}

/// A heartbeat file in its own temp directory, and the entry a benchmark beats.
struct HeartbeatFile {
    _dir: TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
    entries: usize,
    target: String,
}

impl HeartbeatFile {
    fn with_bytes(bytes: Vec<u8>, entries: usize) -> Self {
        let dir = tempfile::tempdir().expect("a temp directory");
        let path = dir.path().join(paths::FILE_NAME);
        fs::write(&path, &bytes).expect("the benchmark file is written");
        HeartbeatFile {
            _dir: dir,
            path,
            bytes,
            entries,
            target: String::new(),
        }
    }

    /// `entries` realistic entries as `hbmon` writes them; the beaten one is in the middle,
    /// so finding it costs what it would on average.
    fn with_entries(entries: usize) -> Self {
        let now = hbmon::clock::unix_now();
        let mut doc = RawDocument::default();
        for i in 0..entries {
            let entry = realistic_beat(i).apply(None, now - i as f64 * 0.25);
            let json = store::entry_json(&entry).expect("an entry encodes");
            doc.set(&format!("worker-{i:05}"), json);
        }
        let mut file = Self::with_bytes(doc.to_json(now).into_bytes(), entries);
        file.target = format!("worker-{:05}", entries / 2);
        file
    }
}

fn realistic_beat(i: usize) -> Beat {
    let mut beat = Beat::alive(Some(10_000 + i as u32));
    beat.interval = Some(30.0);
    beat.kind = Some(Kind::App);
    beat.host = Some("bench-host".to_owned());
    beat.data = DataChange::Replace(json!({
        "status": "working",
        "queue": i % 17,
        "processed": i * 31,
        "last_job": format!("job-{i}"),
    }));
    beat
}

/// One beat as a worker's loop would send it: same PID, one changed data key.
fn library_beat(store: &Store, name: &str, seq: u64) {
    let mut beat = realistic_beat(0);
    beat.data = DataChange::Merge(Map::from_iter([("seq".to_owned(), json!(seq))]));
    store
        .beat(name, &beat)
        .expect("the benchmark beat is written");
}

/// What any protocol-following writer must do at least: lock the sidecar, write the whole
/// file to a temp file beside it, rename it over, unlock. No read, parse or serialise.
fn floor_write(path: &Path, bytes: &[u8]) {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(paths::lock_path(path))
        .expect("the lock file opens");
    lock.lock().expect("the lock is taken");
    let temp = paths::temp_path(path);
    fs::write(&temp, bytes).expect("the temp file is written");
    fs::rename(&temp, path).expect("the temp file is renamed");
}

fn spawn(mut cmd: Command) {
    let status = cmd.status().expect("the process starts");
    assert!(status.success(), "{cmd:?} failed: {status}");
}
