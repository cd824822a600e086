//! The writer API end to end on real files: pulses, errors, stops, panics, names.

use super::*;

/// A heartbeat `name` beating every `interval` into a file of a new temporary directory
/// (kept while the `TempDir` lives).
fn started(name: &str, interval: Duration) -> (tempfile::TempDir, PathBuf, Handle) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let handle = Heartbeat::new(name)
        .interval(interval)
        .file(&file)
        .start()
        .unwrap();
    (dir, file, handle)
}

#[test]
fn a_million_pulses_write_a_handful_of_beats() {
    let (_dir, _, handle) = started("hot", Duration::from_millis(200));
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(300) {
        for _ in 0..1000 {
            handle.pulse();
        }
    }
    let stopped = handle.stop().unwrap();
    // One start beat, at most one per 50 ms over 300 ms of pulsing (plus scheduling
    // slack), and the stop beat; at least one pulse beat must have been written.
    let beats = stopped.beats.unwrap();
    assert!((3..=10).contains(&beats), "beats = {beats}");
    assert_eq!(stopped.reported(), Reported::Stopped);
}

#[test]
fn no_pulses_means_no_beats_after_the_first() {
    let (_dir, file, handle) = started("idle", Duration::from_millis(40));
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(
        store::read(&file).unwrap().get("idle").unwrap().beats,
        Some(1)
    );
    drop(handle);
    let entry = store::read(&file).unwrap().get("idle").cloned().unwrap();
    assert_eq!(entry.reported(), Reported::Stopped);
    assert_eq!(entry.interval, Some(0.04));
}

#[test]
fn errors_and_data_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let handle = Heartbeat::new("w").file(&file).start().unwrap();
    handle.set_data(serde_json::json!({"queue": 3})).unwrap();
    let entry = handle.error("timeout talking to db").unwrap();
    assert_eq!(entry.errors, Some(1));
    assert_eq!(entry.last_error.as_deref(), Some("timeout talking to db"));
    assert_eq!(entry.additional_data["queue"], 3);
    assert_eq!(entry.pid, Some(std::process::id()));
    handle.stop().unwrap();
}

#[test]
fn a_panic_is_reported_as_an_error_not_a_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let thread_file = file.clone();
    let outcome = std::thread::spawn(move || {
        let _handle = Heartbeat::new("doomed").file(&thread_file).start().unwrap();
        panic!("worker bug");
    })
    .join();
    assert!(outcome.is_err());
    let entry = store::read(&file).unwrap().get("doomed").cloned().unwrap();
    assert_eq!(entry.reported(), Reported::Error);
    assert!(entry.last_error.unwrap().contains("panicked"));
}

#[test]
fn a_failing_streak_is_reported_once() {
    let streak = FailureStreak::default();
    assert!(streak.failed(), "the first failure is reported");
    assert!(!streak.failed(), "the same streak goes on quietly");
    streak.succeeded();
    assert!(streak.failed(), "a new streak after a success is reported");
}

#[test]
fn the_library_refuses_the_names_hbmon_beat_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    for name in ["", "  ", "a\nb", "tab\there", "esc\u{1b}[2J"] {
        assert!(
            store::parse_name(name).is_err(),
            "{name:?}: the rule changed"
        );
        let err = Heartbeat::new(name).file(&file).start().unwrap_err();
        assert!(
            matches!(err, HeartbeatError::Name { .. }),
            "{name:?}: {err}"
        );
        let err = beat(name, ()).unwrap_err();
        assert!(
            matches!(err, HeartbeatError::Name { .. }),
            "{name:?}: {err}"
        );
    }
    assert!(!file.exists(), "nothing was written for a refused name");
    Heartbeat::new("web-1")
        .file(&file)
        .start()
        .unwrap()
        .stop()
        .unwrap();
}

#[test]
fn start_fails_loudly_on_an_unwritable_path() {
    let err = Heartbeat::new("x")
        .file("/proc/hbmon-cannot-exist/hb.json")
        .start()
        .unwrap_err();
    assert!(
        err.to_string().contains("/proc/hbmon-cannot-exist"),
        "{err}"
    );
}

#[test]
fn a_heartbeat_beats_through_a_listening_sink_and_gets_its_entries_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let sink = std::sync::Arc::new(crate::sink::Sink::start(Store::new(&file)).unwrap());
    let listening = crate::sink::listen(std::sync::Arc::clone(&sink)).unwrap();
    let handle = Heartbeat::new("through")
        .file(&file)
        .interval(Duration::from_millis(40))
        .handle_signals(false)
        .start()
        .unwrap();
    let error = handle.error("disk full").unwrap();
    assert_eq!((error.reported(), error.errors), (Reported::Error, Some(1)));
    let stopped = handle.stop().unwrap();
    assert_eq!(
        (stopped.reported(), stopped.beats),
        (Reported::Stopped, Some(3))
    );
    assert_eq!(store::read(&file).unwrap().get("through"), Some(&stopped));
    drop(listening);
    sink.stop();
}
