//! The heartbeat file end to end: `hbmon beat`, `rm`, `prune` and `path` run as real
//! processes, concurrent writers (processes and threads), and the example file.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use assert_cmd::Command;
use hbmon::store::{self, Beat, DataChange, Kind, Reported, Store};
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::{Map, Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_hbmon");

/// `hbmon --file <file>`, blind to any `HBMON_FILE` in the environment running the tests.
fn hbmon(file: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("HBMON_FILE").arg("--file").arg(file);
    cmd
}

fn temp_file() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    (dir, file)
}

fn file_json(file: &Path) -> Value {
    serde_json::from_slice(&fs::read(file).unwrap()).unwrap()
}

fn entry(file: &Path, name: &str) -> Value {
    file_json(file)["processes"][name].clone()
}

fn beat(file: &Path, args: &[&str]) {
    hbmon(file)
        .args(["beat", "-q"])
        .args(args)
        .assert()
        .success();
}

fn names(snapshot: &store::Snapshot) -> Vec<&str> {
    snapshot.entries.iter().map(|(n, _)| n.as_str()).collect()
}

fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A shell that runs `hbmon --file FILE beat -q NAME ARGS…` `times` times, one process each,
/// stopping at the first failure. Its PID is the one `hbmon beat` records by default.
fn beat_loop(file: &Path, times: u64, name: &str, args: &str) -> Child {
    let script = format!(
        r#"i=1; while [ "$i" -le {times} ]; do "$0" --file "$1" beat -q "$2" {args} || exit 1; i=$((i+1)); done"#
    );
    StdCommand::new("sh")
        .args(["-c", &script, BIN])
        .arg(file)
        .arg(name)
        .env_remove("HBMON_FILE")
        .spawn()
        .unwrap()
}

#[test]
fn concurrent_processes_and_threads_lose_no_beat_and_never_tear_the_file() {
    const WRITERS: usize = 8;
    const BEATS: u64 = 200;
    let (dir, file) = temp_file();

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (file, done) = (file.clone(), Arc::clone(&done));
        thread::spawn(move || {
            let mut reads = 0_u64;
            let mut newest: HashMap<String, u64> = HashMap::new();
            while !done.load(Ordering::SeqCst) {
                let snapshot = store::read(&file).unwrap_or_else(|e| panic!("read {reads}: {e}"));
                assert!(snapshot.invalid.is_empty(), "{:?}", snapshot.invalid);
                for (name, entry) in snapshot.entries {
                    let seq = entry.additional_data["seq"].as_u64().unwrap();
                    let before = newest.insert(name.clone(), seq).unwrap_or(0);
                    // A lost update would show as an entry going back in time.
                    assert!(
                        seq >= before,
                        "{name}: seq went from {before} back to {seq}"
                    );
                }
                reads += 1;
            }
            reads
        })
    };

    let processes: Vec<(String, Child)> = (0..WRITERS)
        .map(|w| {
            let name = format!("process-{w}");
            let child = beat_loop(&file, BEATS, &name, "--set seq=$i");
            (name, child)
        })
        .collect();
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = Store::new(&file);
            thread::spawn(move || {
                for seq in 1..=BEATS {
                    let mut beat = Beat::alive(Some(std::process::id()));
                    beat.data = DataChange::Merge(Map::from_iter([("seq".into(), json!(seq))]));
                    store.beat(&format!("thread-{w}"), &beat).unwrap();
                }
            })
        })
        .collect();

    let mut expected_pids: Vec<(String, u32)> = Vec::new();
    for (name, mut child) in processes {
        let pid = child.id();
        assert!(child.wait().unwrap().success(), "writer {name} failed");
        expected_pids.push((name, pid));
    }
    for (w, thread) in threads.into_iter().enumerate() {
        thread.join().unwrap();
        expected_pids.push((format!("thread-{w}"), std::process::id()));
    }
    done.store(true, Ordering::SeqCst);
    let reads = reader.join().unwrap();
    assert!(reads >= 100, "the reader only got {reads} reads in");

    let snapshot = store::read(&file).unwrap();
    assert_eq!(snapshot.entries.len(), 2 * WRITERS);
    for (name, pid) in expected_pids {
        let entry = snapshot.get(&name).unwrap();
        assert_eq!(entry.additional_data["seq"], BEATS, "{name}");
        // One PID per writer, so one run: every beat must have been counted.
        assert_eq!(entry.beats, Some(BEATS), "{name}");
        assert_eq!(entry.pid, Some(pid), "{name}");
    }
    // No temp file left behind: every write was renamed into place.
    assert_eq!(dir_listing(dir.path()), ["hb.json", "hb.json.lock"]);
}

#[test]
fn many_processes_beating_one_name_count_every_beat() {
    const PROCESSES: u64 = 4;
    const EACH: u64 = 25;
    let (_dir, file) = temp_file();
    let children: Vec<Child> = (0..PROCESSES)
        .map(|_| beat_loop(&file, EACH, "shared", "--pid 4242"))
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let entry = entry(&file, "shared");
    assert_eq!(entry["beats"], PROCESSES * EACH);
    assert_eq!(entry["pid"], 4242);
}

#[test]
fn a_corrupt_file_is_kept_aside_with_its_bytes_and_a_warning() {
    let truncated: &[u8] = br#"{"version": 1, "processes": {"bidder": {"last_heart"#;
    let not_utf8: &[u8] = b"{\"processes\": {\"\xff\xfe\": {}}}";
    for original in [truncated, not_utf8] {
        let (dir, file) = temp_file();
        fs::write(&file, original).unwrap();
        let before = hbmon::clock::unix_now().floor();
        let assert = hbmon(&file)
            .args(["beat", "-q", "fresh"])
            .assert()
            .success();
        let after = hbmon::clock::unix_now().ceil();
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();

        let aside: Vec<String> = dir_listing(dir.path())
            .into_iter()
            .filter(|n| n.starts_with("hb.json.corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        let secs: f64 = aside[0]["hb.json.corrupt-".len()..].parse().unwrap();
        assert!(
            (before..=after).contains(&secs),
            "{secs} not in {before}..={after}"
        );
        let aside = dir.path().join(&aside[0]);
        assert_eq!(fs::read(&aside).unwrap(), original);
        assert!(stderr.starts_with("hbmon: warning: "), "{stderr}");
        assert!(stderr.contains(&aside.display().to_string()), "{stderr}");

        let snapshot = store::read(&file).unwrap();
        assert_eq!(names(&snapshot), ["fresh"]);
    }
}

#[test]
fn an_unwritable_location_is_one_line_naming_the_path_and_exit_2() {
    // Root can write anywhere on a normal file system, but not create files under /proc.
    for (file, named) in [
        ("/proc/self/hb.json", "/proc/self/hb.json.lock"),
        ("/proc/self/hbmon/hb.json", "/proc/self/hbmon"),
    ] {
        let assert = hbmon(Path::new(file))
            .args(["beat", "x"])
            .assert()
            .code(2)
            .stdout("");
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("hbmon: "), "{stderr}");
        assert!(stderr.contains(named), "{stderr}");
    }
}

#[test]
fn bad_values_exit_2_naming_the_value() {
    let (_dir, file) = temp_file();
    let cases: [(&[&str], &str); 8] = [
        (&["beat", "x", "--interval", "5x"], "5x"),
        // A zero interval promises nothing; the monitor would judge by 30 s instead.
        (
            &["beat", "x", "--interval", "0s"],
            "\"0s\": must be more than zero",
        ),
        (&["beat", "x", "--data", "notjson"], "notjson"),
        (&["beat", "x", "--pid", "0"], "'0'"),
        (&["beat", "x", "--set", "novalue"], "novalue"),
        (&["beat", ""], "cannot be empty"),
        (&["beat", "x", "--kind", "daemon"], "daemon"),
        (&["prune", "--older-than", "soon"], "soon"),
    ];
    for (args, named) in cases {
        hbmon(&file)
            .args(args)
            .assert()
            .code(2)
            .stderr(contains(named));
        assert!(!file.exists(), "{args:?} wrote the file");
    }
}

#[test]
fn pid_defaults_to_the_calling_process() {
    let (_dir, file) = temp_file();
    let out = StdCommand::new("sh")
        .args(["-c", r#""$0" --file "$1" beat -q x && echo $$"#, BIN])
        .arg(&file)
        .env_remove("HBMON_FILE")
        .output()
        .unwrap();
    assert!(out.status.success());
    let shell_pid: u64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(entry(&file, "x")["pid"], shell_pid);
}

#[test]
fn no_pid_writes_null() {
    let (_dir, file) = temp_file();
    beat(&file, &["backup", "--no-pid", "--kind", "job"]);
    let entry = entry(&file, "backup");
    assert_eq!(entry.get("pid"), Some(&Value::Null));
    assert_eq!(entry["kind"], "job");
    hbmon(&file)
        .args(["beat", "backup", "--no-pid", "--pid", "3"])
        .assert()
        .code(2);
}

#[test]
fn error_and_stopped_beats_set_status_and_counters() {
    let (_dir, file) = temp_file();
    let assert = hbmon(&file)
        .args(["beat", "w", "--pid", "4242", "--interval", "1m"])
        .assert()
        .success();
    // Every command shows the file it used.
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains(&file.display().to_string()), "{stdout}");
    let e = entry(&file, "w");
    assert_eq!(
        (&e["status"], &e["errors"], &e["interval"]),
        (&json!("alive"), &json!(0), &json!(60.0))
    );

    beat(&file, &["w", "--pid", "4242", "--error", "disk full"]);
    let e = entry(&file, "w");
    assert_eq!((&e["status"], &e["errors"]), (&json!("error"), &json!(1)));
    assert_eq!(e["last_error"], "disk full");
    assert_eq!(e["last_error_at"], e["last_heartbeat"]);

    beat(&file, &["w", "--pid", "4242", "--error", "disk still full"]);
    beat(&file, &["w", "--pid", "4242"]);
    let e = entry(&file, "w");
    assert_eq!((&e["status"], &e["errors"]), (&json!("alive"), &json!(2)));
    assert_eq!(e["last_error"], "disk still full");
    assert_eq!(e["beats"], 4);

    beat(&file, &["w", "--pid", "4242", "--stopped"]);
    let e = entry(&file, "w");
    assert_eq!((&e["status"], &e["beats"]), (&json!("stopped"), &json!(5)));

    // A new PID is a new run: the counters start again.
    beat(&file, &["w", "--pid", "4243"]);
    let e = entry(&file, "w");
    assert_eq!((&e["beats"], &e["errors"]), (&json!(1), &json!(0)));
    assert_eq!(e.get("last_error"), None);
    assert_eq!(e["interval"], 60.0);
}

#[test]
fn set_merges_and_data_replaces() {
    let (_dir, file) = temp_file();
    let data = |args: &[&str]| {
        beat(&file, args);
        entry(&file, "w")["additional_data"].clone()
    };
    assert_eq!(
        data(&["w", "--set", "a=1", "--set", "b=text"]),
        json!({"a": 1, "b": "text"})
    );
    assert_eq!(
        data(&["w", "--set", "b=2", "--set", "c=[1,2]"]),
        json!({"a": 1, "b": 2, "c": [1, 2]})
    );
    assert_eq!(data(&["w"]), json!({"a": 1, "b": 2, "c": [1, 2]}));
    assert_eq!(
        data(&["w", "--data", r#"{"only": true}"#]),
        json!({"only": true})
    );
    assert_eq!(
        data(&["w", "--data", r#""plain text""#]),
        json!("plain text")
    );
    assert_eq!(data(&["w", "--set", "k=v"]), json!({"k": "v"}));
}

#[test]
fn rm_removes_one_entry_and_fails_for_a_missing_name() {
    let (dir, file) = temp_file();
    hbmon(&file).args(["rm", "ghost"]).assert().code(1);
    assert!(
        !file.exists(),
        "rm of a missing name must not create the file"
    );
    beat(&file, &["a"]);
    beat(&file, &["b"]);
    hbmon(&file)
        .args(["rm", "a"])
        .assert()
        .success()
        .stdout(contains(r#"removed "a""#).and(contains(dir.path().to_str().unwrap())));
    assert_eq!(names(&store::read(&file).unwrap()), ["b"]);
    hbmon(&file)
        .args(["rm", "a"])
        .assert()
        .code(1)
        .stderr(contains(r#"no entry "a""#));
}

#[test]
fn prune_removes_stale_entries_and_dry_run_touches_nothing() {
    let (_dir, file) = temp_file();
    let now = hbmon::clock::unix_now();
    let original = json!({
        "version": 1,
        "processes": {
            "old": {"last_heartbeat": now - 2.0 * 86_400.0, "pid": 10},
            "recent": {"last_heartbeat": now - 60.0, "pid": 11},
            "unreadable": {"pid": "not an entry"}
        }
    })
    .to_string();
    fs::write(&file, &original).unwrap();

    hbmon(&file)
        .args(["prune", "--older-than", "1d", "--dry-run"])
        .assert()
        .success()
        .stdout(contains(r#"would remove "old""#).and(contains("recent").not()));
    assert_eq!(fs::read_to_string(&file).unwrap(), original);

    hbmon(&file)
        .args(["prune", "--older-than", "1d"])
        .assert()
        .success()
        .stdout(contains(r#"removed "old""#));
    let snapshot = store::read(&file).unwrap();
    assert_eq!(names(&snapshot), ["recent"]);
    // An entry that does not parse is never dropped on a guess.
    assert_eq!(snapshot.invalid[0].0, "unreadable");
}

#[test]
fn path_honours_flag_then_env_then_xdg_state_home() {
    let dir = tempfile::tempdir().unwrap();
    let (flag, env, state) = (
        dir.path().join("flag.json"),
        dir.path().join("env.json"),
        dir.path().join("state"),
    );
    let path = |flag: Option<&Path>, env: &Path| {
        let mut cmd = Command::new(BIN);
        if let Some(flag) = flag {
            cmd.arg("--file").arg(flag);
        }
        let out = cmd
            .arg("path")
            .env("HBMON_FILE", env)
            .env("XDG_STATE_HOME", &state)
            .output()
            .unwrap();
        assert!(out.status.success());
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim_end())
    };
    assert_eq!(path(Some(&flag), &env), flag);
    assert_eq!(path(None, &env), env);
    assert_eq!(
        path(None, Path::new("")),
        state.join("hbmon").join("heartbeat_status.json")
    );
}

#[test]
fn the_default_directory_is_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    Command::new(BIN)
        .args(["beat", "-q", "x"])
        .env_remove("HBMON_FILE")
        .env("XDG_STATE_HOME", &state)
        .assert()
        .success();
    let hbmon_dir = state.join("hbmon");
    let mode = fs::metadata(&hbmon_dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    assert!(hbmon_dir.join("heartbeat_status.json").is_file());
}

#[test]
fn a_beat_keeps_unknown_keys_fields_and_other_entries() {
    let (_dir, file) = temp_file();
    // Written as text: serde_json's maps are sorted, and the file order matters here.
    let original_text = r#"{
        "version": 1,
        "last_updated": 1.5,
        "owner": {"team": "ops", "pager": ["alice", "bob"]},
        "processes": {
            "theirs": {
                "last_heartbeat": 1.0, "pid": 5, "status": "warming-up",
                "custom": {"deep": [1, null, {"x": 1.25}]}
            },
            "mine": {
                "last_heartbeat": 1.0, "pid": 4242, "restarts": 3,
                "deploy": {"sha": "9f2c1e"}, "additional_data": {"kept": true}
            },
            "not-an-entry": {"pid": "nope"}
        },
        "generated_by": "heartbeat_manager.py 2.3"
    }"#;
    fs::write(&file, original_text).unwrap();
    let original: Value = serde_json::from_str(original_text).unwrap();
    beat(&file, &["mine", "--pid", "4242", "--set", "n=1"]);

    let after = file_json(&file);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&after), keys(&original));
    for key in ["version", "owner", "generated_by"] {
        assert_eq!(after[key], original[key], "{key}");
    }
    for name in ["theirs", "not-an-entry"] {
        assert_eq!(
            after["processes"][name], original["processes"][name],
            "{name}"
        );
    }
    let mine = &after["processes"]["mine"];
    assert_eq!(mine["restarts"], 3);
    assert_eq!(mine["deploy"], json!({"sha": "9f2c1e"}));
    assert_eq!(mine["additional_data"], json!({"kept": true, "n": 1}));
    assert_eq!(mine["status"], "alive");
    let snapshot = store::read(&file).unwrap();
    assert_eq!(names(&snapshot), ["theirs", "mine"]);
    assert_eq!(snapshot.invalid[0].0, "not-an-entry");
}

fn example_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("heartbeat_status.json.example")
}

#[test]
fn the_example_file_is_valid_and_shows_each_kind_of_entry() {
    let snapshot = store::read(&example_file()).unwrap();
    assert!(snapshot.invalid.is_empty(), "{:?}", snapshot.invalid);
    assert_eq!(
        names(&snapshot),
        [
            "bidder",
            "nightly-backup",
            "websocket-reader",
            "vue-frontend",
            "price-scraper"
        ]
    );
    for (name, entry) in &snapshot.entries {
        // Every field is one the protocol defines: the example teaches the format.
        assert!(entry.extra.is_empty(), "{name}: {:?}", entry.extra);
        assert!(entry.last_heartbeat_formatted.is_some(), "{name}");
    }
    let get = |name| snapshot.get(name).unwrap();

    let app = get("bidder");
    assert_eq!((app.kind(), app.reported()), (Kind::App, Reported::Alive));
    assert!(app.additional_data.is_object());

    let job = get("nightly-backup");
    assert_eq!(
        (job.kind(), job.reported(), job.pid),
        (Kind::Job, Reported::Succeeded, None)
    );
    assert_eq!(job.exit_code, Some(0));
    // Its cron schedule, promised as an interval is: it started at a fire time.
    let schedule = job.schedule().unwrap();
    assert_eq!(
        schedule.prev_at_or_before(job.started_at.unwrap()),
        Some(job.started_at.unwrap().floor())
    );
    let (started, finished) = (job.started_at.unwrap(), job.finished_at.unwrap());
    assert!((finished - started - job.duration.unwrap()).abs() < 1e-3);

    let failing = get("websocket-reader");
    assert_eq!(failing.reported(), Reported::Error);
    assert!(failing.errors.unwrap() > 0 && failing.last_error.is_some());
    assert_eq!(
        failing.last_error_at.map(f64::to_bits),
        Some(failing.last_heartbeat.to_bits())
    );

    assert_eq!(get("vue-frontend").reported(), Reported::Stopped);

    let seed = get("price-scraper");
    assert!(seed.additional_data.is_string());
    assert_eq!((seed.beats, seed.kind, seed.interval), (None, None, None));
}

#[test]
fn an_entry_that_is_not_valid_json_is_that_entrys_problem_not_the_files() {
    // A broken writer's entry: its brackets match, what is inside them is not JSON.
    let (dir, file) = temp_file();
    let broken = r#""broken": {"last_heartbeat": 1e, "pid": 01}"#;
    let ok = r#""ok": {"last_heartbeat": 1.0}"#;
    fs::write(&file, format!("{{\"processes\": {{{broken}, {ok}}}}}")).unwrap();

    beat(&file, &["mine", "--no-pid"]);
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(&format!("{broken}, {ok}")),
        "kept as written: {text}"
    );
    let listing = dir_listing(dir.path());
    assert!(
        !listing.iter().any(|n| n.contains("corrupt")),
        "{listing:?}"
    );
    let snapshot = store::read(&file).unwrap();
    assert_eq!(names(&snapshot), ["ok", "mine"]);
    assert_eq!(snapshot.invalid.len(), 1);
    assert_eq!(snapshot.invalid[0].0, "broken");

    // Its own writer replaces it on its next beat, with a warning naming it.
    hbmon(&file)
        .args(["beat", "-q", "broken", "--no-pid"])
        .assert()
        .success()
        .stderr(contains("entry \"broken\"").and(contains("replacing it")));
    let snapshot = store::read(&file).unwrap();
    assert!(snapshot.invalid.is_empty(), "{:?}", snapshot.invalid);
    assert_eq!(names(&snapshot), ["broken", "ok", "mine"]);
}

#[test]
fn a_beat_into_the_example_file_changes_only_its_own_entry() {
    let (_dir, file) = temp_file();
    let original_text = fs::read_to_string(example_file()).unwrap();
    fs::write(&file, &original_text).unwrap();
    let original: Value = serde_json::from_str(&original_text).unwrap();

    beat(
        &file,
        &["bidder", "--pid", "48213", "--set", "bids_today=15"],
    );

    let after_text = fs::read_to_string(&file).unwrap();
    let after: Value = serde_json::from_str(&after_text).unwrap();
    for name in [
        "nightly-backup",
        "websocket-reader",
        "vue-frontend",
        "price-scraper",
    ] {
        assert_eq!(
            after["processes"][name], original["processes"][name],
            "{name}"
        );
    }
    let (was, bidder) = (
        &original["processes"]["bidder"],
        &after["processes"]["bidder"],
    );
    assert_eq!(bidder["beats"], 258);
    assert_eq!(bidder["first_heartbeat"], was["first_heartbeat"]);
    assert_eq!(bidder["additional_data"]["seen_projects"], 3871);
    assert_eq!(bidder["additional_data"]["bids_today"], 15);
    // Untouched entries are copied as text, not re-serialised: the seed entry is byte-identical.
    let seed_start = original_text.find(r#"    "price-scraper""#).unwrap();
    let seed_end = original_text.rfind("\n  }").unwrap();
    assert!(after_text.contains(&original_text[seed_start..seed_end]));
}

#[test]
fn a_beat_gives_up_on_a_lock_held_for_good() {
    let (_dir, file) = temp_file();
    // Another writer stopped (Ctrl-Z) while holding the lock.
    let lock_path = hbmon::paths::lock_path(&file);
    let held = fs::File::create(&lock_path).unwrap();
    held.lock().unwrap();
    hbmon(&file)
        .args(["beat", "w", "--no-pid"])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(format!(
            "hbmon: timed out after 10s waiting for the lock on {} (held by another writer)\n",
            lock_path.display()
        ));
    assert!(!file.exists());
}

/// `hbmon beat --start` and `--exit-code` with `--run-id` report a job's runs as `hbmon run`
/// does: two overlapping runs of one name each end as their own, the other still running.
#[test]
fn beat_start_and_exit_code_with_run_ids_keep_overlapping_runs_apart() {
    let (_dir, file) = temp_file();
    let (a, b) = (
        "0e4f1c0a-1111-4222-8333-444455556666",
        "0E4F1C0A11114222833344445555AAAA",
    );
    beat(&file, &["sync", "--no-pid", "--start", "--run-id", a]);
    beat(&file, &["sync", "--no-pid", "--start", "--run-id", b]);
    let both = entry(&file, "sync");
    assert_eq!(
        (both["status"].as_str(), both["kind"].as_str()),
        (Some("running"), Some("job"))
    );
    assert_eq!(both["runs"].as_object().unwrap().len(), 2, "{both}");
    beat(
        &file,
        &[
            "sync",
            "--no-pid",
            "--exit-code",
            "3",
            "--error",
            "upstream 503",
            "--run-id",
            a,
        ],
    );
    let one = entry(&file, "sync");
    assert_eq!(one["status"], "failed");
    assert_eq!(
        (one["exit_code"].as_i64(), one["last_error"].as_str()),
        (Some(3), Some("upstream 503"))
    );
    assert_eq!(
        one["started_at"], both["runs"][a]["started_at"],
        "its own start"
    );
    let still: Vec<&String> = one["runs"].as_object().unwrap().keys().collect();
    assert_eq!(
        still,
        ["0e4f1c0a-1111-4222-8333-44445555aaaa"],
        "b goes on, its id in one spelling"
    );
    beat(
        &file,
        &["sync", "--no-pid", "--exit-code", "0", "--run-id", b],
    );
    let done = entry(&file, "sync");
    assert_eq!(
        (done["status"].as_str(), done["exit_code"].as_i64()),
        (Some("succeeded"), Some(0))
    );
    assert!(done.get("runs").is_none(), "{done}");

    hbmon(&file)
        .args(["beat", "sync", "--run-id", a])
        .assert()
        .failure()
        .stderr(contains(
            "--run-id names the run of a --start or an --exit-code",
        ));
    hbmon(&file)
        .args(["beat", "sync", "--start", "--run-id", "nope"])
        .assert()
        .failure()
        .stderr(contains("invalid uuid format"));
}

/// `hbmon beat …` is parsed by a command of `beat` alone; `hbmon help beat` and a line
/// with the UI's `--refresh` before `beat` go to the whole parser. Both print the same help
/// and the same refusals, with the same exit code.
#[test]
fn beat_help_and_errors_are_the_whole_parsers() {
    let (_dir, file) = temp_file();
    let run = |args: &[&str]| {
        let out = hbmon(&file).args(args).output().unwrap();
        (out.status.code(), out.stdout, out.stderr)
    };
    let help = run(&["beat", "--help"]);
    assert_eq!(help, run(&["help", "beat"]));
    assert!(String::from_utf8_lossy(&help.1).contains("Usage: hbmon beat [OPTIONS] <NAME>"));
    for refused in [
        &["w", "--kind", "cron"][..],
        &["w", "--fil", "x"],
        &["w", "--no-pid", "--pid", "3"],
        &[],
    ] {
        let fast = run(&[&["beat"][..], refused].concat());
        let whole = run(&[&["--refresh", "2s", "beat"][..], refused].concat());
        assert_eq!(fast, whole, "{refused:?}");
        assert_eq!(fast.0, Some(2), "{refused:?}");
        assert!(!fast.2.is_empty(), "{refused:?}");
    }
    // Refused before `beat` (a global flag's value): said as the whole parser says it.
    for refused in [
        &["--file", "--bogus", "beat", "w"][..],
        &["--file", "a", "--file", "b", "beat", "w"],
    ] {
        let (code, _, stderr) = run(refused);
        let said = String::from_utf8_lossy(&stderr);
        assert_eq!(code, Some(2), "{refused:?}: {said}");
        // A command is optional to the whole parser (`hbmon` alone is the UI), so its
        // usage never shows a required `<COMMAND>`, as a parser of `beat` alone's would.
        assert!(
            said.starts_with("error: ") && !said.contains("<COMMAND>"),
            "{refused:?}: {said}"
        );
    }
    assert!(!file.exists(), "a refused line wrote the file");
}
