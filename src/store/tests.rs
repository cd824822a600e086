//! The file protocol's writer rules, each pinned on a real file in a temporary directory.

use super::*;
use serde_json::json;
use std::fs::File;

fn temp() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("hb.json"));
    (dir, store)
}

#[test]
fn a_held_lock_times_out_naming_the_lock_file() {
    let (_dir, store) = temp();
    let lock_path = paths::lock_path(store.path());
    // flock locks belong to the open file: this one conflicts with the store's own.
    let held = File::create(&lock_path).unwrap();
    held.lock().unwrap();
    let store = store.with_lock_timeout(Duration::from_millis(100));
    let err = store.beat("w", &Beat::alive(None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "timed out after 100ms waiting for the lock on {} (held by another writer)",
            lock_path.display()
        )
    );
    assert!(!store.path().exists(), "nothing was written");
    held.unlock().unwrap();
    assert_eq!(store.beat("w", &Beat::alive(None)).unwrap().beats, Some(1));
}

#[test]
fn beats_create_the_file_and_count() {
    let (_dir, store) = temp();
    store.beat_at("a", &Beat::alive(Some(1)), 10.0).unwrap();
    let entry = store.beat_at("a", &Beat::alive(Some(1)), 20.0).unwrap();
    assert_eq!(entry.beats, Some(2));
    let snap = read(store.path()).unwrap();
    assert_eq!(snap.get("a"), Some(&entry));
    assert!(paths::lock_path(store.path()).exists());
}

#[test]
fn unknown_fields_and_entries_survive_a_rewrite() {
    let (_dir, store) = temp();
    let original = json!({
        "version": 1, "last_updated": 1.0, "owner": "ops",
        "processes": {
            "theirs": {"last_heartbeat": 1.0, "pid": 5, "custom": {"deep": [1, null]}},
            "mine": {"last_heartbeat": 1.0, "pid": 6, "note": "keep me"}
        }
    });
    fs::write(store.path(), original.to_string()).unwrap();
    store.beat_at("mine", &Beat::alive(Some(6)), 2.0).unwrap();
    let after: serde_json::Value =
        serde_json::from_slice(&fs::read(store.path()).unwrap()).unwrap();
    assert_eq!(after["owner"], "ops");
    assert_eq!(
        after["processes"]["theirs"],
        original["processes"]["theirs"]
    );
    assert_eq!(after["processes"]["mine"]["note"], "keep me");
    assert_eq!(after["processes"]["mine"]["last_heartbeat"], 2.0);
}

#[test]
fn a_corrupt_file_is_moved_aside_not_lost() {
    let (dir, store) = temp();
    fs::write(store.path(), "{ not json").unwrap();
    assert!(matches!(
        read(store.path()),
        Err(StoreError::Corrupt { .. })
    ));
    store.beat_at("a", &Beat::alive(None), 1000.0).unwrap();
    let aside = dir.path().join("hb.json.corrupt-1000");
    assert_eq!(fs::read_to_string(aside).unwrap(), "{ not json");
    assert!(read(store.path()).unwrap().get("a").is_some());
}

#[test]
fn corrupt_copies_in_the_same_second_get_numbered_not_overwritten() {
    let (dir, store) = temp();
    for (i, junk) in ["{ first", "{ second", "{ third"].into_iter().enumerate() {
        fs::write(store.path(), junk).unwrap();
        store
            .beat_at(&format!("a{i}"), &Beat::alive(None), 1000.0)
            .unwrap();
    }
    let aside = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(aside("hb.json.corrupt-1000"), "{ first");
    assert_eq!(aside("hb.json.corrupt-1000.1"), "{ second");
    assert_eq!(aside("hb.json.corrupt-1000.2"), "{ third");
}

#[test]
fn a_rewrite_keeps_the_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, store) = temp();
    store.beat_at("a", &Beat::alive(None), 1.0).unwrap();
    for mode in [0o664, 0o600] {
        fs::set_permissions(store.path(), fs::Permissions::from_mode(mode)).unwrap();
        store.beat_at("a", &Beat::alive(None), 2.0).unwrap();
        let after = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(after & 0o777, mode);
    }
}

#[test]
fn a_newer_protocol_version_is_refused_not_rewritten() {
    let (_dir, store) = temp();
    let newer = r#"{"version": 2, "processes": {}}"#;
    fs::write(store.path(), newer).unwrap();
    let err = store.beat("a", &Beat::alive(None)).unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");
    assert_eq!(fs::read_to_string(store.path()).unwrap(), newer);
}

#[test]
fn update_changes_one_entry_and_not_a_missing_one() {
    let (_dir, store) = temp();
    store.beat_at("a", &Beat::alive(Some(1)), 10.0).unwrap();
    let paused = store
        .update("a", |e| e.set_pause(Some(Pause::Until(50.0))))
        .unwrap()
        .unwrap();
    assert_eq!(read(store.path()).unwrap().get("a"), Some(&paused));
    assert_eq!(store.update("b", |e| e.set_pause(None)).unwrap(), None);
    assert!(read(store.path()).unwrap().get("b").is_none());
}

#[test]
fn remove_and_remove_where() {
    let (_dir, store) = temp();
    for (name, t) in [("old", 1.0), ("new", 100.0), ("newer", 200.0)] {
        store.beat_at(name, &Beat::alive(None), t).unwrap();
    }
    assert!(store.remove("newer").unwrap());
    assert!(!store.remove("newer").unwrap());
    let gone = store.remove_where(|_, e| e.last_heartbeat < 50.0).unwrap();
    assert_eq!(gone, ["old"]);
    let names: Vec<_> = read(store.path())
        .unwrap()
        .entries
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["new"]);
}

#[test]
fn removing_from_a_missing_file_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("sub").join("hb.json"));
    assert!(!store.remove("x").unwrap());
    assert!(store.remove_where(|_, _| true).unwrap().is_empty());
    assert!(!dir.path().join("sub").exists());
}

#[test]
fn an_entry_its_readers_could_not_decode_is_refused_by_its_writer() {
    let (_dir, store) = temp();
    store.beat_at("other", &Beat::alive(None), 1.0).unwrap();
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let mut beat = Beat::alive(None);
    beat.data = DataChange::Replace(deep);
    let err = store.beat_at("deep", &beat, 2.0).unwrap_err();
    assert!(matches!(err, StoreError::Encode { .. }), "{err}");
    assert!(err.to_string().contains("recursion limit"), "{err}");
    let snapshot = read(store.path()).unwrap();
    assert!(snapshot.invalid.is_empty());
    assert_eq!(snapshot.entries.len(), 1);
}

#[test]
fn a_repeated_name_is_its_last_entry_and_its_writer_drops_the_others() {
    let (_dir, store) = temp();
    fs::write(
        store.path(),
        r#"{"processes": {"a": {"last_heartbeat": 1}, "b": {"last_heartbeat": 2}, "a": {"last_heartbeat": 3}}}"#,
    )
    .unwrap();
    let snapshot = read(store.path()).unwrap();
    assert_eq!(snapshot.get("a").unwrap().last_heartbeat, 3.0);
    assert_eq!(snapshot.entries.len(), 2);
    assert_eq!(
        snapshot.invalid,
        [(
            "a".to_owned(),
            "shadowed by a later entry of the same name".to_owned()
        )]
    );
    store.beat_at("a", &Beat::alive(None), 4.0).unwrap();
    let snapshot = read(store.path()).unwrap();
    assert!(snapshot.invalid.is_empty(), "{:?}", snapshot.invalid);
    let names: Vec<&str> = snapshot.entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["b", "a"]);
}

#[test]
fn invalid_entries_are_reported_by_readers() {
    let snap =
        Snapshot::parse(r#"{"processes": {"ok": {"last_heartbeat": 1}, "bad": {"pid": 3}}}"#)
            .unwrap();
    assert_eq!(snap.entries.len(), 1);
    assert_eq!(snap.invalid[0].0, "bad");
    assert!(snap.invalid[0].1.contains("last_heartbeat"));
}
