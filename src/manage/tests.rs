//! The acts every face shares: what each refuses, and the status and field a refusal has.
use super::*;
use serde_json::json;

fn target(dir: &Path) -> Target {
    Target {
        location: FileLocation {
            path: dir.join("heartbeat_status.json"),
            source: paths::Source::Flag,
        },
        // Never the user's own config, wherever this runs.
        config_flag: Some(dir.join("hbmon.toml")),
    }
}

fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => map,
        other => panic!("{other} is not an object"),
    }
}

#[test]
fn no_key_that_makes_the_monitor_run_code_can_be_set_by_a_program() {
    let dir = tempfile::tempdir().unwrap();
    let target = target(dir.path());
    let config = "[[process]]\nname = \"web\"\nrun = [\"sleep\", \"60\"]\n";
    std::fs::write(target.config_path(), config).unwrap();
    std::fs::set_permissions(
        target.config_path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    // Every key that makes the monitor run something the request chose — a probe's
    // command, a supervised program, what it runs under — refused before its value is
    // looked at (the message says so), whatever the value.
    let code = [
        "command",
        "command_shell",
        "run",
        "restart_command",
        "shell",
        "cwd",
        "env",
        "user",
    ];
    for key in code {
        let value = json!("touch pwned");
        let given = fields(json!({"name": "x", key: value.clone()}));
        let err = edit(&target, Change::Add(&given), None).unwrap_err();
        assert_eq!((err.status(), err.field()), (400, Some(key)), "{err}");
        assert!(err.to_string().contains("by hand"), "{key}: {err}");
        for value in [value, Value::Null] {
            let err = edit(
                &target,
                Change::Update("web", &fields(json!({key: value}))),
                None,
            )
            .unwrap_err();
            assert_eq!((err.field(), err.status()), (Some(key), 400), "{err}");
            assert!(err.to_string().contains("by hand"), "{key}: {err}");
        }
    }
    let after = std::fs::read_to_string(target.config_path()).unwrap();
    assert_eq!(after, config, "nothing was written");
}

#[test]
fn a_name_hbmon_beat_refuses_cannot_be_configured_by_a_program() {
    let dir = tempfile::tempdir().unwrap();
    let target = target(dir.path());
    for name in ["", " ", "evil\u{1b}[2J", "two\nlines", "nul\u{0}"] {
        let err = edit(&target, Change::Add(&fields(json!({"name": name}))), None).unwrap_err();
        assert_eq!(
            (err.status(), err.field()),
            (400, Some("name")),
            "{name:?}: {err}"
        );
    }
    assert!(!target.config_path().exists(), "nothing was written");
}

#[test]
fn each_refusal_has_its_status_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let target = target(dir.path());
    edit(&target, Change::Add(&fields(json!({"name": "etl"}))), None).unwrap();
    let cases: Vec<(ManageError, u16, Option<&str>)> = vec![
        (
            edit(&target, Change::Add(&fields(json!({"name": "etl"}))), None).unwrap_err(),
            409,
            Some("name"),
        ),
        (
            edit(
                &target,
                Change::Update("etl", &fields(json!({"grace": "x"}))),
                None,
            )
            .unwrap_err(),
            400,
            Some("grace"),
        ),
        (
            edit(&target, Change::Remove("nope"), None).unwrap_err(),
            404,
            Some("name"),
        ),
        (
            edit(&target, Change::Remove("etl"), Some("0123456789abcdef")).unwrap_err(),
            412,
            None,
        ),
        (
            pause(&target.location, "etl", None).unwrap_err(),
            404,
            Some("name"),
        ),
        (
            resume(&target.location, "etl").unwrap_err(),
            404,
            Some("name"),
        ),
        (span("for", "soon").unwrap_err(), 400, Some("for")),
        (
            history(&target.location, "etl", Duration::from_secs(60), None).unwrap_err(),
            404,
            None,
        ),
    ];
    for (err, status, field) in cases {
        assert_eq!((err.status(), err.field()), (status, field), "{err}");
    }
}

#[test]
fn pause_and_resume_write_the_entry_as_hbmon_pause_does() {
    let dir = tempfile::tempdir().unwrap();
    let target = target(dir.path());
    let store = Store::at(&target.location);
    store.beat("worker", &store::Beat::alive(None)).unwrap();
    let entry = pause(&target.location, "worker", Some(Duration::from_secs(3600))).unwrap();
    assert!(matches!(entry.pause(), Some(Pause::Until(end)) if end > unix_now() + 3500.0));
    assert!(resume(&target.location, "worker").unwrap());
    assert!(
        !resume(&target.location, "worker").unwrap(),
        "was no longer paused"
    );
    let snapshot = store::read(&target.location.path).unwrap();
    assert_eq!(snapshot.get("worker").unwrap().pause(), None);
}
