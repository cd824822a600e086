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

/// The keys of a `[[process]]` a program may set: everything that only says how to judge
/// or reach the process. With [`REFUSED_KEYS`] they must be every key there is, so that a
/// key added to the config later is refused or allowed because someone decided, not because
/// a denylist forgot it.
const SETTABLE_KEYS: &[&str] = &[
    "name",
    "label",
    "match",
    "interval",
    "schedule",
    "tz",
    "grace",
    "kind",
    "critical",
    "late_after",
    "degraded_after",
    "dead_after",
    "max_runtime",
    "min_runtime",
    "overlap",
    "alerts",
    "depends_on",
    "http",
    "http_expect",
    "tcp",
    "probe_timeout",
    "probe_every",
    "probe_fails",
    "probe_critical",
    "restart",
    "restart_on_probe",
    "backoff_max",
    "stable_after",
    "max_restarts",
    "restart_window",
    "start_timeout",
    "stop_timeout",
    "log_size",
    "log_keep",
    "uuid",
    "slug",
    "push_token",
];

#[test]
fn every_process_key_is_either_settable_by_a_program_or_refused() {
    // serde names every field it takes when it meets one it does not: the config's own
    // list of keys, so this cannot drift from it.
    let error = Config::parse(
        "[[process]]\nname = \"x\"\nzzz = 1\n",
        Path::new("hbmon.toml"),
    )
    .unwrap_err()
    .to_string();
    let listed = error
        .split_once("expected one of ")
        .unwrap_or_else(|| panic!("no key list in {error:?}"))
        .1;
    let mut keys: Vec<&str> = listed
        .split(',')
        .map(|key| {
            key.trim()
                .trim_matches(|c: char| c == '`' || c.is_whitespace())
        })
        .map(|key| key.split('`').next().unwrap_or(key))
        .collect();
    keys.sort_unstable();
    let mut classified: Vec<&str> = SETTABLE_KEYS.iter().chain(REFUSED_KEYS).copied().collect();
    classified.sort_unstable();
    assert_eq!(
        keys, classified,
        "a [[process]] key is neither in SETTABLE_KEYS nor in REFUSED_KEYS (or is in both): \
         decide whether a request may set it"
    );
}

#[test]
fn every_settable_key_passes_the_check_requests_go_through() {
    for key in SETTABLE_KEYS {
        let one = fields(json!({ *key: 1 }));
        assert!(allowed(&one).is_ok(), "{key} refused");
    }
}
