//! `hbmon status` over 1 000 entries, timed as a whole process (what a user or a Nagios
//! check waits for), with floors to compare against: spawning `cat` on the same file,
//! spawning `hbmon path` (startup alone), and parsing the file in-process — then the
//! in-process parts, to show where the time goes.
//!
//! Run: `cargo bench --bench status` (release build). `HBMON_BENCH_RUNS` sets the number
//! of runs per case (default 30). Prints the median and the min–max range.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hbmon::config::Config;
use hbmon::probe::{FakeProbe, SysProbe};
use hbmon::report::{self, table};

const ENTRIES: usize = 1000;

fn main() {
    let runs: usize = std::env::var("HBMON_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hb.json");
    std::fs::write(&file, document(ENTRIES)).expect("write the heartbeat file");
    let size = std::fs::metadata(&file).map_or(0, |m| m.len());
    let with_match = dir.path().join("match.toml");
    std::fs::write(
        &with_match,
        "[[process]]\nname = \"w-0\"\nmatch = \"no such command\"\n",
    )
    .expect("write the config");
    println!("hbmon status, {ENTRIES} entries ({size} bytes), {runs} runs per case");
    let bin = env!("CARGO_BIN_EXE_hbmon");
    let no_config = dir.path().join("none.toml");
    std::fs::write(&no_config, "").expect("write the empty config");

    let hbmon = |args: &[&str], config: &Path| {
        let mut cmd = Command::new(bin);
        cmd.arg("--file")
            .arg(&file)
            .arg("--config")
            .arg(config)
            .args(args);
        cmd
    };
    report("cat FILE (floor: spawn + read)", runs, || {
        let mut cmd = Command::new("cat");
        cmd.arg(&file);
        cmd
    });
    report("hbmon path (floor: startup)", runs, || {
        hbmon(&["path"], &no_config)
    });
    report("hbmon status --cpu never", runs, || {
        hbmon(&["status", "--cpu", "never"], &no_config)
    });
    report("hbmon status --json", runs, || {
        hbmon(&["status", "--json"], &no_config)
    });
    report("hbmon status, config with match", runs, || {
        hbmon(&["status", "--cpu", "never"], &with_match)
    });
    let parse = measure(runs, || {
        let snapshot = hbmon::store::read(&file).expect("read");
        assert_eq!(snapshot.entries.len(), ENTRIES);
    });
    print_line("in-process: store::read (parse only)", &parse);

    // Where the rest goes: judging alone (fake OS), asking the OS, drawing the table.
    let snapshot = hbmon::store::read(&file).expect("read");
    let config = Config::default();
    let now = hbmon::clock::unix_now();
    let judge = measure(runs, || {
        let mut probe = FakeProbe::default();
        report::build(&snapshot, &config, &mut probe, now);
    });
    print_line("in-process: report::build, fake OS", &judge);
    let ask = measure(runs, || {
        let mut probe = SysProbe::new(&file);
        report::build(&snapshot, &config, &mut probe, now);
    });
    print_line("in-process: report::build, new SysProbe", &ask);
    let mut probe = SysProbe::new(&file);
    let again = measure(runs, || {
        report::build(&snapshot, &config, &mut probe, now);
    });
    print_line("in-process: report::build, kept SysProbe", &again);
    let built = report::build(&snapshot, &config, &mut probe, now);
    let draw = measure(runs, || {
        assert!(!table::render(&built, 160, false).is_empty());
    });
    print_line("in-process: table::render", &draw);
}

/// A file like a busy machine's: a third of the PIDs live (this process), the rest gone.
fn document(n: usize) -> String {
    let now = hbmon::clock::unix_now();
    let own = std::process::id();
    let mut out = String::from("{\"version\": 1, \"last_updated\": 0, \"processes\": {");
    for i in 0..n {
        let pid = if i % 3 == 0 {
            own
        } else {
            4_000_000 + i as u32
        };
        let _ = write!(
            out,
            "{}\"w-{i}\": {{\"last_heartbeat\": {}, \"pid\": {pid}, \"status\": \"alive\", \
             \"interval\": 30, \"first_heartbeat\": {}, \"beats\": {i}, \
             \"additional_data\": {{\"queue\": {i}, \"mode\": \"live\"}}}}",
            if i == 0 { "" } else { "," },
            now - (i % 200) as f64,
            now - 3600.0,
        );
    }
    out.push_str("}}");
    out
}

fn report(what: &str, runs: usize, command: impl Fn() -> Command) {
    let times = measure(runs, || {
        let status = command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run");
        // status exits 0-2 by verdict; 3 (or a signal) means it could not judge.
        assert!(matches!(status.code(), Some(0..=2)), "{what}: {status}");
    });
    print_line(what, &times);
}

fn measure(runs: usize, mut once: impl FnMut()) -> Vec<Duration> {
    once(); // warm the page cache and the binary
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            once();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn print_line(what: &str, sorted: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = sorted[sorted.len() / 2];
    println!(
        "{what:<40} median {:>7.2} ms   range {:.2}–{:.2} ms",
        ms(median),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1])
    );
}
