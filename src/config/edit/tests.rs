//! Editing the config in place: comments kept, bad values refused with the parser's line,
//! a stale version refused, links followed only as reading follows them, no edit lost.
use super::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

const CONFIG: &str = "\
# my monitors
[defaults]
interval = \"30s\"   # most beat twice a minute

# the bidder, restarted by systemd
[[process]]
name = \"bidder\"
interval = \"60s\"   # it is slow
critical = true

[[process]]
name = \"backup\"
kind = \"job\"
";

fn fields(value: serde_json::Value) -> Fields {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("{other} is not an object"),
    }
}

/// A private directory with the config written in it, mode 0600.
fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbmon.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (dir, path)
}

#[test]
fn add_update_and_remove_keep_every_comment_and_the_layout() {
    let added = fields(json!({"name": "etl", "interval": "1h", "critical": false}));
    let updated = fields(json!({"interval": "90s", "critical": null, "label": "Bidder"}));
    let cases: [(Change<'_>, &str); 3] = [
        (
            Change::Add(&added),
            "\n[[process]]\nname = \"etl\"\ncritical = false\ninterval = \"1h\"\n",
        ),
        (Change::Update("bidder", &updated), ""),
        (Change::Remove("backup"), ""),
    ];
    for (change, appended) in cases {
        let (_dir, path) = config(CONFIG);
        let edited = edit(&path, change, None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for comment in [
            "# my monitors",
            "# most beat twice a minute",
            "# the bidder",
        ] {
            assert!(
                text.contains(comment),
                "{change:?} lost {comment:?}:\n{text}"
            );
        }
        match change {
            Change::Add(_) => assert_eq!(text, format!("{CONFIG}{appended}")),
            Change::Update(..) => {
                assert!(text.contains("interval = \"90s\"   # it is slow"), "{text}");
                assert!(!text.contains("critical"), "{text}");
                assert_eq!(
                    edited.config.process("bidder").unwrap().interval,
                    Some(90.0)
                );
            }
            Change::Remove(_) => {
                assert!(!text.contains("backup"), "{text}");
                assert!(edited.config.process("backup").is_none());
            }
        }
        assert_eq!(edited.version, version_of(Some(text.as_bytes())));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn a_bad_value_is_refused_with_the_line_hbmon_config_gives_and_nothing_is_written() {
    let cases = [
        (
            json!({"name": "x", "interval": "soon"}),
            Some("interval"),
            "interval: ",
        ),
        (
            json!({"name": "x", "colour": "red"}),
            Some("colour"),
            "unknown key",
        ),
        (
            json!({"name": "bidder"}),
            Some("name"),
            "already configured",
        ),
        (json!({"interval": "1m"}), Some("name"), "is required"),
        (
            json!({"name": "x", "depends_on": {"a": 1}}),
            Some("depends_on"),
            "an object",
        ),
    ];
    for (given, key, says) in cases {
        let (_dir, path) = config(CONFIG);
        let err = edit(&path, Change::Add(&fields(given.clone())), None).unwrap_err();
        assert_eq!(err.field(), key, "{given}: {err}");
        assert!(err.to_string().contains(says), "{given}: {err}");
        assert!(err.to_string().contains("hbmon.toml"), "{given}: {err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), CONFIG, "{given}");
    }
    // The same line as reading the edited text: `file:line: key: message`.
    let (_dir, path) = config(CONFIG);
    let err = edit(
        &path,
        Change::Update("bidder", &fields(json!({"late_after": 9}))),
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}:10: late_after: late_after (9) must not",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn unknown_names_and_renames_are_refused() {
    let (_dir, path) = config(CONFIG);
    let none = fields(json!({}));
    for change in [Change::Update("nope", &none), Change::Remove("nope")] {
        let err = edit(&path, change, None).unwrap_err();
        assert!(matches!(err, EditError::NoProcess { .. }), "{err}");
    }
    let rename = fields(json!({"name": "bidder2"}));
    let err = edit(&path, Change::Update("bidder", &rename), None).unwrap_err();
    assert!(err.to_string().contains("cannot be changed"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CONFIG);
}

#[test]
fn a_missing_config_is_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbmon.toml");
    assert_eq!(current_version(&path).unwrap(), "absent");
    let add = fields(json!({"name": "etl"}));
    edit(&path, Change::Add(&add), Some("absent")).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[[process]]\nname = \"etl\"\n"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn an_edit_against_a_version_someone_changed_since_is_refused() {
    let (_dir, path) = config(CONFIG);
    let read = current_version(&path).unwrap();
    // The user saves the file in an editor meanwhile.
    let theirs = CONFIG.replace("60s", "61s");
    std::fs::write(&path, &theirs).unwrap();
    let add = fields(json!({"name": "etl"}));
    let err = edit(&path, Change::Add(&add), Some(&read)).unwrap_err();
    assert!(matches!(err, EditError::Conflict { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), theirs);
    // Against the version now there, it goes through and keeps their edit.
    let now = current_version(&path).unwrap();
    edit(&path, Change::Add(&add), Some(&now)).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("61s"));
}

#[test]
fn concurrent_edits_are_all_kept() {
    let (_dir, path) = config(CONFIG);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let add = fields(json!({"name": format!("p{i}")}));
                edit(&path, Change::Add(&add), None).unwrap();
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let config = Config::read(&path).unwrap();
    for i in 0..8 {
        assert!(config.process(&format!("p{i}")).is_some(), "p{i} was lost");
    }
}

#[test]
fn a_held_lock_makes_an_edit_give_up_without_writing() {
    let (_dir, path) = config(CONFIG);
    let held = fsafe::open_lock(&crate::paths::lock_path(&path), 0o600).unwrap();
    held.lock().unwrap();
    let add = fields(json!({"name": "etl"}));
    let err = edit_waiting(&path, Change::Add(&add), None, Duration::from_millis(50)).unwrap_err();
    assert!(matches!(err, EditError::Locked { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CONFIG);
}

#[test]
fn a_linked_config_is_edited_at_its_target_and_stays_a_link() {
    let (dir, target) = config(CONFIG);
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let add = fields(json!({"name": "etl"}));
    let edited = edit(&link, Change::Add(&add), None).unwrap();
    assert_eq!(edited.path, std::fs::canonicalize(&target).unwrap());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("name = \"etl\"")
    );
}

#[test]
fn a_config_others_can_write_is_refused_as_reading_refuses_it() {
    let (_dir, path) = config(CONFIG);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let add = fields(json!({"name": "etl"}));
    let err = edit(&path, Change::Add(&add), None).unwrap_err();
    assert!(matches!(err, EditError::Unsafe(_)), "{err}");
    assert!(
        err.to_string().contains("writable by group or others"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CONFIG);
}

#[test]
fn a_planted_lock_symlink_is_not_followed() {
    let (dir, path) = config(CONFIG);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::write(&elsewhere, "keep").unwrap();
    std::os::unix::fs::symlink(&elsewhere, crate::paths::lock_path(&path)).unwrap();
    let add = fields(json!({"name": "etl"}));
    let err = edit(&path, Change::Add(&add), None).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CONFIG);
}
