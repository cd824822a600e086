//! Writers in other languages sharing one file with hbmon: the Python package
//! (`python/src/hbmon`) and `hbmon beat` hammering the file at once, and the Node package
//! (`node/`) beating through `hbmon beat`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hbmon::store::{self, Reported};

const HBMON: &str = env!("CARGO_BIN_EXE_hbmon");
const WRITERS: usize = 8;
const BEATS: u64 = 100;

/// The Python package's source directory: on `sys.path`, `import hbmon` is the package.
fn python_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/src")
}

/// Beats `name` `BEATS` times from one Python process, `{"seq": i}` as its data.
const PYTHON_WRITER: &str = "
import sys
sys.path.insert(0, sys.argv[1])
import hbmon
for i in range(int(sys.argv[4])):
    hbmon.beat(sys.argv[2], {'seq': i}, file=sys.argv[3])
";

/// What a reader saw while the writers ran.
#[derive(Debug, Default)]
struct Observed {
    reads: u64,
    /// The newest `seq` seen per name; a lower one later would be a lost write.
    seq: HashMap<String, u64>,
}

/// Parses the file in a loop until `stop`; panics on anything but a whole, valid document
/// that has lost nothing an earlier read showed.
fn watch(file: &Path, stop: &AtomicBool) -> Observed {
    let mut seen = Observed::default();
    while !stop.load(Ordering::Relaxed) {
        let snapshot =
            store::read(file).unwrap_or_else(|e| panic!("torn read #{}: {e}", seen.reads));
        assert!(snapshot.invalid.is_empty(), "{:?}", snapshot.invalid);
        assert!(
            snapshot.entries.len() >= seen.seq.len(),
            "an entry disappeared"
        );
        for (name, entry) in &snapshot.entries {
            let seq = entry.additional_data["seq"].as_u64().unwrap();
            let newest = seen.seq.entry(name.clone()).or_default();
            assert!(
                seq >= *newest,
                "{name}: seq went back from {newest} to {seq}"
            );
            *newest = seq;
        }
        seen.reads += 1;
        std::thread::sleep(Duration::from_micros(200));
    }
    seen
}

#[test]
fn python_and_hbmon_writers_share_one_file_without_losing_a_beat() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (file, stop) = (file.clone(), Arc::clone(&stop));
        std::thread::spawn(move || watch(&file, &stop))
    };

    let python: Vec<_> = (0..WRITERS)
        .map(|n| {
            Command::new("python3")
                .arg("-c")
                .arg(PYTHON_WRITER)
                .arg(python_src())
                .arg(format!("py-{n}"))
                .arg(&file)
                .arg(BEATS.to_string())
                .stdin(Stdio::null())
                .spawn()
                .expect("python3 is needed for this test (as for .ci/run)")
        })
        .collect();
    let cli: Vec<_> = (0..WRITERS)
        .map(|n| {
            let file = file.clone();
            std::thread::spawn(move || {
                for seq in 0..BEATS {
                    let status = Command::new(HBMON)
                        .arg("--file")
                        .arg(&file)
                        .args(["beat", &format!("cli-{n}"), "-q", "--pid", "4242"])
                        .arg(format!("--set=seq={seq}"))
                        .status()
                        .unwrap();
                    assert!(status.success(), "hbmon beat cli-{n} #{seq}: {status}");
                }
            })
        })
        .collect();
    for mut child in python {
        assert!(child.wait().unwrap().success());
    }
    for thread in cli {
        thread.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let observed = reader.join().unwrap();
    assert!(
        observed.reads > 10,
        "the reader read only {} times",
        observed.reads
    );
    eprintln!(
        "the reader parsed the file {} times while 16 writers ran",
        observed.reads
    );

    let snapshot = store::read(&file).unwrap();
    assert_eq!(snapshot.entries.len(), 2 * WRITERS);
    for prefix in ["py", "cli"] {
        for n in 0..WRITERS {
            let name = format!("{prefix}-{n}");
            let entry = snapshot.get(&name).unwrap();
            assert_eq!(entry.additional_data["seq"], BEATS - 1, "{name}");
            assert_eq!(entry.beats, Some(BEATS), "{name}: a beat was lost");
            assert_eq!(entry.errors, Some(0), "{name}");
        }
    }

    // And the monitor's own view lists every writer.
    let out = crate::hbmon(dir.path())
        .args(["status", "--json"])
        .env("HBMON_FILE", &file)
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<&str> = status["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let mut expected: Vec<String> = ["cli", "py"]
        .iter()
        .flat_map(|prefix| (0..WRITERS).map(move |n| format!("{prefix}-{n}")))
        .collect();
    expected.sort_unstable();
    assert_eq!(names, expected);
}

#[test]
fn the_node_packages_example_beats_through_hbmon_beat_without_a_serve() {
    assert!(
        Command::new("node").arg("--version").output().is_ok(),
        "node is not on PATH: the Node example's test needs it (CI has it; install Node.js)"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    // `require('hbmon')` finds the package in the checkout, as `npm install ./node` would.
    let modules = dir.path().join("node_modules");
    std::fs::create_dir(&modules).unwrap();
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("node"),
        modules.join("hbmon"),
    )
    .unwrap();
    let child = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("node/examples/express-style.js"))
        .args(["--once", "--name", "web"])
        .env("NODE_PATH", &modules)
        .env_remove("HBMON_URL")
        .env("HBMON_BIN", HBMON)
        .env("HBMON_FILE", &file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let entry = store::read(&file).unwrap().get("web").cloned().unwrap();
    assert_eq!(entry.pid, Some(pid), "the beat names the Node process");
    assert_eq!(entry.additional_data["requests"], 1);
    assert!(entry.additional_data["port"].as_u64().unwrap() > 0);
    assert_eq!(entry.interval, Some(30.0));
}

/// One beat of `name` from the Python module into `file`, with no PID.
const PYTHON_BEAT: &str = "
import sys
sys.path.insert(0, sys.argv[1])
import hbmon
hbmon.beat(sys.argv[2], file=sys.argv[3], pid=False)
";

/// The two writers hbmon ships judge a damaged file alike: both move a structurally broken
/// file aside, both keep an entry that is only invalid inside its brackets, as written.
#[test]
fn hbmon_and_the_python_writer_judge_damaged_files_alike() {
    let deep = |levels: usize| {
        format!(
            r#"{{"processes": {{"d": {{"x": {}{}}}, "b": {{"last_heartbeat": 2.0}}}}}}"#,
            "[".repeat(levels),
            "]".repeat(levels)
        )
    };
    let cases: Vec<(String, bool)> = [
        (r#"{"processes": {"a": {"last_heartbeat": 1"#, true),
        (r#"{"processes": {"a": [1}}}"#, true),
        (r#"{"processes": []}"#, true),
        (r#"{"processes": {}, "owner": tru}"#, true),
        (
            r#"{"processes": {"a": {"last_heartbeat": 1.0}}} trailing"#,
            true,
        ),
        (
            r#"{"processes": {"\ud800": {"last_heartbeat": 1.0}}}"#,
            true,
        ),
        (
            "{\"processes\": {\"a\": {\"x\": \"runs on},\n\"b\": {}}}",
            true,
        ),
        (r#"{"processes": {"a": {"pid": 01, "s": "}]"}}}"#, false),
        (
            r#"{"processes": {"a": NaN, "b": {"last_heartbeat": 2.0}}}"#,
            false,
        ),
        (
            r#"{"processes": {"a": {"x": [1 2]}}, "owner": "ops"}"#,
            false,
        ),
        (
            r#"{"processes": {"bad": "\x", "b": {"last_heartbeat": 2.0}}}"#,
            false,
        ),
        (
            r#"{"processes": {"s": {"last_heartbeat": 1, "x": "\ud800"}}}"#,
            false,
        ),
        (r#"{"processes": {"f": {"last_heartbeat": 1e400}}}"#, false),
        (r#"{"processes": {}, "owner": 1e400}"#, true),
        // Unicode's white space alone is an empty file; a control character is not space.
        ("\u{c}\u{3000}\n", false),
        ("\u{1c}", true),
    ]
    .into_iter()
    .map(|(text, corrupt)| (text.to_owned(), corrupt))
    .chain([(deep(200), false), (deep(5000), false)])
    .collect();
    for (text, corrupt) in &cases {
        let (text, corrupt) = (text.as_str(), *corrupt);
        let mut outcomes = Vec::new();
        for writer in ["hbmon", "python"] {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("hb.json");
            std::fs::write(&file, text).unwrap();
            let status = if writer == "hbmon" {
                Command::new(HBMON)
                    .arg("--file")
                    .arg(&file)
                    .args(["beat", "-q", "mine", "--no-pid"])
                    .stderr(Stdio::null())
                    .status()
            } else {
                Command::new("python3")
                    .arg("-c")
                    .arg(PYTHON_BEAT)
                    .arg(python_src())
                    .arg("mine")
                    .arg(&file)
                    .stderr(Stdio::null())
                    .status()
            };
            assert!(status.unwrap().success(), "{writer} on {text}");
            let moved_aside = std::fs::read_dir(dir.path())
                .unwrap()
                .any(|e| e.unwrap().file_name().to_string_lossy().contains("corrupt"));
            let after = std::fs::read_to_string(&file).unwrap();
            let names: Vec<String> = store::RawDocument::parse(&after)
                .unwrap()
                .entries()
                .map(|(name, raw)| format!("{name}={raw}"))
                .filter(|entry| !entry.starts_with("mine="))
                .collect();
            outcomes.push((moved_aside, names));
        }
        assert_eq!(outcomes[0].0, corrupt, "hbmon on {text}");
        assert_eq!(outcomes[0], outcomes[1], "hbmon vs python on {text}");
    }
}

/// The damaged-file corpus of hbmon's own scanner tests (`src/store/document/damage.rs`).
#[path = "../../src/store/document/damage.rs"]
mod damage;

/// For each text of the JSON array in `sys.argv[2]`, what the Python writer's scanner makes
/// of it: its entries as `[name, raw text]`, or null when it refuses the file. Each text is
/// read twice: first by a writer that remembers nothing, then by one that remembers the
/// entries of the undamaged text it was made from, so damage next to a remembered entry
/// is judged too.
const PYTHON_EXTENTS: &str = "
import json, os, sys
sys.path.insert(0, sys.argv[1])
import hbmon
from hbmon import _scan

def entries(text):
    try:
        return [[name, str(raw)] for name, raw in _scan._parse(text)[0].items()]
    except (ValueError, hbmon.HbmonError):
        return None

def seed_of(text, seeds):
    return max(seeds, key=lambda seed: len(os.path.commonprefix([seed, text])))

texts, seeds = json.load(open(sys.argv[2]))
out = []
for text in texts:
    _scan._known = {}
    cold = entries(text)
    entries(seed_of(text, seeds))
    out.append([cold, entries(text)])
json.dump(out, sys.stdout)
";

/// The entries of a file as `[name, raw text]`, or none when the file is refused.
type Entries = Option<Vec<(String, String)>>;

/// The Python writer finds the same entries as hbmon's scanner in every file of the damaged
/// corpus, byte for byte, and refuses the same files: an entry's damage stays its own.
#[test]
fn the_python_writer_finds_the_entries_hbmons_scanner_finds_in_damaged_files() {
    let texts: Vec<String> = damage::files(10_000).collect();
    let seeds = damage::SEEDS;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("corpus.json");
    std::fs::write(&input, serde_json::to_string(&(&texts, seeds)).unwrap()).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_EXTENTS)
        .arg(python_src())
        .arg(&input)
        .output()
        .expect("python3 is needed for this test (as for .ci/run)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: Vec<(Entries, Entries)> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(python.len(), texts.len());
    let mut accepted = 0;
    for (text, (cold, warm)) in texts.iter().zip(python) {
        let rust: Entries = store::RawDocument::parse(text).ok().map(|doc| {
            doc.entries()
                .map(|(name, raw)| (name.to_owned(), raw.to_owned()))
                .collect()
        });
        accepted += usize::from(rust.is_some());
        assert_eq!(cold, rust, "a fresh Python writer on {text:?}");
        assert_eq!(warm, rust, "a Python writer that read the seed on {text:?}");
    }
    // Both verdicts must be exercised to mean anything.
    assert!(
        accepted > 1_000 && texts.len() - accepted > 1_000,
        "{accepted} of {}",
        texts.len()
    );
}

/// A run of `sys.argv[1]` from the Python package's `hbmon.job` that says `in` once its
/// start is written, then ends with `sys.exit(3)` when a line comes on stdin.
const PYTHON_JOB: &str = "
import sys
sys.path.insert(0, sys.argv[3])
import hbmon
with hbmon.job(sys.argv[1], file=sys.argv[2]):
    print('in', flush=True)
    sys.stdin.readline()
    sys.exit(3)
";

/// `hbmon.job` and `hbmon run` write the same runs: a Python run in progress survives a
/// whole `hbmon run` of the same name, whose end is on show, and then ends as its own run.
#[test]
fn python_jobs_and_hbmon_run_share_one_entry_run_by_run() {
    use std::io::{BufRead, BufReader, Write};

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let mut python = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_JOB)
        .arg("sync")
        .arg(&file)
        .arg(python_src())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test (as for .ci/run)");
    let mut line = String::new();
    BufReader::new(python.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "in\n");
    let python_run = store::read(&file).unwrap().get("sync").cloned().unwrap();
    assert_eq!(python_run.reported(), Reported::Running);
    assert_eq!(python_run.runs.len(), 1);

    let status = Command::new(HBMON)
        .arg("--file")
        .arg(&file)
        .args(["run", "sync", "--", "true"])
        .status()
        .unwrap();
    assert!(status.success());
    let between = store::read(&file).unwrap().get("sync").cloned().unwrap();
    assert_eq!(between.reported(), Reported::Succeeded, "{between:?}");
    assert_eq!(
        between.runs.keys().collect::<Vec<_>>(),
        python_run.runs.keys().collect::<Vec<_>>(),
        "the Python run is still in progress"
    );

    python.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert_eq!(python.wait().unwrap().code(), Some(3));
    let after = store::read(&file).unwrap().get("sync").cloned().unwrap();
    assert_eq!(after.reported(), Reported::Failed);
    assert_eq!(after.exit_code, Some(3));
    assert_eq!(after.last_error.as_deref(), Some("exited with code 3"));
    assert!(after.runs.is_empty(), "{after:?}");
    let python_start = python_run.runs.values().next().unwrap().started_at;
    assert_eq!(
        after.started_at,
        Some(python_start),
        "its own start, not hbmon run's"
    );
}
