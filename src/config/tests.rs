//! The config's parsing, validation, rules and starter, table by table.
use super::*;
use crate::duration;
use crate::http::Listen;
use crate::store::Kind;
use regex::Regex;

pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/hb/hbmon.toml"))
}

fn entry(interval: Option<f64>, kind: Option<Kind>) -> Entry {
    Entry {
        interval,
        kind,
        ..Entry::default()
    }
}

#[test]
fn a_read_config_knows_since_when_it_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbmon.toml");
    std::fs::write(&path, "[[process]]\nname = \"nightly\"\nkind = \"job\"\n").unwrap();
    let written = std::fs::metadata(&path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let config = Config::read(&path).unwrap();
    assert_eq!(config.known_since, Some(written));
    assert_eq!(config.rules_for("nightly", None).known_since, Some(written));
    // Only configured processes have an anchor; unconfigured ones never lack a beat.
    assert_eq!(config.rules_for("other", None).known_since, None);
    assert_eq!(parse("").unwrap().known_since, None);
}

#[test]
fn the_design_example_parses() {
    let config = parse(
        r#"
[defaults]
interval = "30s"
grace = "15s"

[[process]]
name = "bidder"                  # the heartbeat name
label = "Bidder Script"          # optional display name
match = "python .*bidder\\.py"   # optional: regex on the command line, to find its PID
interval = "60s"
kind = "app"                     # or "job"
critical = true
"#,
    )
    .unwrap();
    assert_eq!(config.defaults.interval, Some(30.0));
    let p = &config.processes[0];
    assert_eq!(p.label.as_deref(), Some("Bidder Script"));
    assert!(
        p.pattern
            .as_ref()
            .unwrap()
            .is_match("python3 python ./bidder.py")
    );
    let rules = config.rules_for("bidder", None);
    assert_eq!((rules.interval, rules.grace), (60.0, 15.0));
    assert!(rules.monitored && rules.critical);
}

#[test]
fn rules_apply_defaults_in_order() {
    let none = Config::default();
    let r = none.rules_for("x", None);
    assert_eq!((r.interval, r.grace), (30.0, 15.0));
    assert!(!r.monitored);
    assert_eq!(r.interval_from, IntervalSource::Builtin);
    let r = none.rules_for("x", Some(&entry(Some(4.0), Some(Kind::Job))));
    assert_eq!((r.interval, r.grace, r.kind), (4.0, 2.0, Kind::Job));
    assert_eq!(r.interval_from, IntervalSource::Entry);
    // A nonsense interval in the file is ignored, not obeyed.
    let r = none.rules_for("x", Some(&entry(Some(-1.0), None)));
    assert_eq!(r.interval, 30.0);

    let config = parse(
        "[defaults]\ninterval = 10\ndead_after = 8\n\
         [[process]]\nname = \"a\"\nkind = \"app\"\ncritical = false\nlate_after = 2\n\
         [[process]]\nname = \"b\"\ngrace = \"1s\"\n",
    )
    .unwrap();
    let a = config.rules_for("a", Some(&entry(Some(4.0), Some(Kind::Job))));
    assert_eq!((a.interval, a.grace, a.kind), (4.0, 2.0, Kind::App));
    assert_eq!(
        (a.late_after, a.degraded_after, a.dead_after),
        (2.0, 3.0, 8.0)
    );
    assert!(!a.critical);
    let b = config.rules_for("b", None);
    assert_eq!((b.interval, b.grace), (10.0, 1.0));
    assert_eq!(b.interval_from, IntervalSource::Defaults);
    let other = config.rules_for("other", None);
    assert_eq!((other.interval, other.dead_after), (10.0, 8.0));
}

#[test]
fn errors_name_file_line_and_key() {
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "[defaults]\nintervl = \"5s\"\n",
            2,
            "intervl",
            "unknown key",
        ),
        (
            "[[process]]\nname = \"a\"\ninterval = \"5x\"\n",
            3,
            "interval",
            "invalid duration \"5x\"",
        ),
        (
            "[[process]]\nname = \"a\"\n\ngrace = true\n",
            4,
            "grace",
            "expected a duration",
        ),
        (
            "[[process]]\nname = \"a\"\nmatch = \"(\"\n",
            3,
            "match",
            "invalid regex",
        ),
        (
            "[[process]]\nname = \"a\"\n[[process]]\nname = \"a\"\n",
            4,
            "name",
            "configured twice",
        ),
        (
            "[[process]]\nname = \"a\"\nkind = \"daemon\"\n",
            3,
            "kind",
            "unknown variant",
        ),
        ("[[process]]\nlabel = \"x\"\n", 1, "name", "missing field"),
        (
            "[[process]]\nname = \"a\"\nmax_runtime = \"1h\"\n",
            3,
            "max_runtime",
            "applies only to jobs",
        ),
        (
            "[[process]]\nname = \"a\"\nmin_runtime = \"1s\"\n",
            3,
            "min_runtime",
            "applies only to jobs",
        ),
        (
            "[[process]]\nname = \"a\"\nkind = \"app\"\noverlap = \"warn\"\n",
            4,
            "overlap",
            "applies only to jobs",
        ),
        (
            "[[process]]\nname = \"a\"\nkind = \"job\"\noverlap = \"block\"\n",
            4,
            "overlap",
            "unknown variant `block`, expected `allow` or `warn`",
        ),
        (
            "[[process]]\nname = \"a\"\nkind = \"job\"\nmin_runtime = \"0s\"\n",
            4,
            "min_runtime",
            "greater than zero",
        ),
        (
            "[[process]]\nname = \"a\"\nkind = \"job\"\nmax_runtime = \"1m\"\nmin_runtime = \"2m\"\n",
            5,
            "min_runtime",
            "2m is more than max_runtime (1m): no run could pass both",
        ),
        (
            "[defaults]\ninterval = \"0s\"\n",
            2,
            "interval",
            "greater than zero",
        ),
        (
            "[[process]]\nname = \"a\"\ndead_after = 2\n",
            3,
            "dead_after",
            "degraded_after (3) must not exceed dead_after (2)",
        ),
        (
            "[defaults]\nlate_after = 0\n",
            2,
            "late_after",
            "not a positive number",
        ),
        ("[[process]\n", 1, "process", "unclosed array table"),
    ];
    assert_errors(cases);
}

#[test]
fn serve_section_errors_name_line_and_key() {
    let cases: &[(&str, usize, &str, &str)] = &[
        ("[history]\nkeep = \"0s\"\n", 2, "keep", "greater than zero"),
        ("[history]\nkept = \"1d\"\n", 2, "kept", "unknown key"),
        (
            "[[process]]\nname = \"a\"\n\n[[alert]]\nafter = 2\n",
            4,
            "alert",
            "needs command",
        ),
        (
            "[[alert]]\ncommand = \"x\"\nwebhook = \"https://h/\"\n",
            3,
            "webhook",
            "not both",
        ),
        (
            "[[alert]]\nwebhook = \"hooks.example.com\"\n",
            2,
            "webhook",
            "not an http:// or https:// URL",
        ),
        (
            "[[alert]]\ncommand = \" \"\n",
            2,
            "command",
            "must not be empty",
        ),
        (
            "[[alert]]\ncommand = \"x\"\nafter = 0\n",
            3,
            "after",
            "at least 1",
        ),
        ("[[alert]]\ncommand = \"x\"\nafter = -1\n", 3, "after", ""),
        (
            "[[alert]]\ncommand = \"x\"\nrepeat = \"0s\"\n",
            3,
            "repeat",
            "greater than zero",
        ),
        (
            "[[alert]]\ncommand = \"x\"\nevery = \"1h\"\n",
            3,
            "every",
            "unknown key",
        ),
        (
            "[[process]]\nname = \"a\"\nalerts = \"no\"\n",
            3,
            "alerts",
            "",
        ),
        (
            "[serve]\nlisten = \"4266\"\n",
            2,
            "listen",
            "\"4266\" is not an address to listen on",
        ),
        ("[serve]\nlisten = 4266\n", 2, "listen", ""),
        ("[serve]\nport = 4266\n", 2, "port", "unknown key"),
    ];
    assert_errors(cases);
}

#[test]
fn an_alert_timeout_is_a_positive_duration_of_at_most_ten_minutes() {
    let alert = |timeout: &str| format!("[[alert]]\ncommand = \"x\"\ntimeout = {timeout}\n");
    let bad: &[(&str, &str)] = &[
        ("\"0s\"", "must be greater than zero"),
        ("0", "must be greater than zero"),
        ("\"5x\"", "invalid duration \"5x\""),
        ("\"\"", "invalid duration \"\": empty"),
        ("-1", "must not be negative"),
        ("true", "expected a duration"),
        ("\"11m\"", "11m is too long: at most 10m"),
        ("1e300", "out of range: at most 366d"),
    ];
    let texts: Vec<String> = bad.iter().map(|(t, _)| alert(t)).collect();
    let cases: Vec<(&str, usize, &str, &str)> = texts
        .iter()
        .zip(bad)
        .map(|(text, (_, message))| (text.as_str(), 3, "timeout", *message))
        .collect();
    assert_errors(&cases);

    let good: &[(&str, &str, f64)] = &[
        ("command = \"x\"", "", 30.0),
        ("webhook = \"https://h/\"", "", 5.0),
        ("command = \"x\"", "timeout = \"250ms\"", 0.25),
        ("webhook = \"https://h/\"", "timeout = 20", 20.0),
        ("command = \"x\"", "timeout = \"10m\"", 600.0),
    ];
    for (target, timeout, secs) in good {
        let text = format!("[[alert]]\n{target}\n{timeout}\n");
        let config = parse(&text).unwrap();
        assert_eq!(config.alerts[0].timeout.as_secs_f64(), *secs, "{text}");
        // `hbmon config` shows it, default or not, and reads back to the same.
        let shown = config.to_toml();
        let again = parse(&shown).unwrap();
        assert_eq!(again.alerts, config.alerts, "{shown}");
        let line = format!("timeout = {:?}", duration::format_exact(*secs));
        assert!(shown.contains(&line), "{shown}");
    }
}

/// Each config text fails at that line and key with that message, on one line.
pub(super) fn assert_errors(cases: &[(&str, usize, &str, &str)]) {
    for &(text, line, key, message) in cases {
        let err = parse(text).unwrap_err();
        let shown = err.to_string();
        let ConfigError::Invalid {
            line: got_line,
            key: got_key,
            ..
        } = &err
        else {
            panic!("{shown}");
        };
        assert_eq!(*got_line, line, "{shown}");
        assert_eq!(got_key.as_deref(), Some(key), "{shown}");
        assert!(
            shown.starts_with(&format!("/etc/hb/hbmon.toml:{line}: {key}: ")),
            "{shown}"
        );
        assert!(shown.contains(message), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }
}

#[test]
fn history_and_alerts() {
    let none = Config::default();
    assert_eq!(none.history.keep, 7.0 * 86_400.0);
    assert!(none.alerts.is_empty() && none.alerts_for("anything"));
    let config = parse(
        "[[process]]\nname = \"quiet\"\nalerts = false\n\
         [[process]]\nname = \"loud\"\n\
         [history]\nkeep = \"2d\"\n\
         [[alert]]\ncommand = \"echo $HBMON_NAME\"\nafter = 3\nrepeat = \"1h\"\ndigest = \"0s\"\n\
         [[alert]]\nwebhook = \"https://hooks.example.com/x\"\n",
    )
    .unwrap();
    assert_eq!(config.history.keep, 2.0 * 86_400.0);
    assert_eq!(config.serve.listen, None);
    assert!(!config.alerts_for("quiet"));
    assert!(config.alerts_for("loud") && config.alerts_for("unconfigured"));
    assert_eq!(
        config.alerts,
        [
            Rule {
                target: Target::Command("echo $HBMON_NAME".into()),
                timeout: Duration::from_secs(30),
                policy: Policy {
                    after: 3,
                    repeat: Some(3600.0),
                    digest: 0.0
                },
            },
            Rule {
                target: Target::Webhook("https://hooks.example.com/x".into()),
                timeout: Duration::from_secs(5),
                policy: Policy::default(),
            },
        ]
    );
    let again = parse(&config.to_toml()).unwrap();
    assert_eq!(again.alerts, config.alerts);
    assert_eq!(again.history, config.history);
    assert!(!again.alerts_for("quiet"));
}

#[test]
fn a_label_names_its_process_and_a_name_wins_over_a_label() {
    let config = parse(
        "[[process]]\nname = \"bidder\"\nlabel = \"Bidder Script\"\n\n\
         [[process]]\nname = \"Bidder Script\"\n",
    )
    .unwrap();
    assert_eq!(config.name_for("bidder"), "bidder");
    assert_eq!(config.name_for("Bidder Script"), "Bidder Script");
    let config = parse("[[process]]\nname = \"bidder\"\nlabel = \"Bidder\"\n").unwrap();
    assert_eq!(config.name_for("Bidder"), "bidder");
    assert_eq!(config.name_for("other"), "other");
}

#[test]
fn load_without_a_file_is_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let hb = dir.path().join("hb.json");
    let explicit = dir.path().join("missing.toml");
    let err = Config::load(Some(&explicit), &hb).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.toml"), "{err}");
    std::fs::write(paths::config_beside(&hb), "[[process]]\nname = \"w\"\n").unwrap();
    let (config, from) = Config::load(None, &hb).unwrap();
    assert_eq!(from, Some(paths::config_beside(&hb)));
    assert_eq!(config.processes[0].name, "w");
}

#[test]
fn to_toml_reads_back_to_the_same_rules() {
    let config = parse(
        "[defaults]\ngrace = 2.5\n[[process]]\nname = \"a \\\"q\\\"\"\nlabel = \"A\"\n\
         match = 'x\\.py'\ninterval = \"1h30m\"\nkind = \"job\"\nmax_runtime = 90\n\
         min_runtime = \"2s\"\noverlap = \"warn\"\n\
         dead_after = 7.5\ncritical = false\n[serve]\nlisten = \"[::1]:0\"\n",
    )
    .unwrap();
    let text = config.to_toml();
    let again = parse(&text).unwrap();
    assert_eq!(again.defaults, config.defaults);
    assert_eq!(again.serve, config.serve);
    assert!(
        parse("[serve]\nlisten = \"off\"\n")
            .unwrap()
            .to_toml()
            .lines()
            .any(|line| line == "listen = \"off\""),
    );
    let name = "a \"q\"";
    assert_eq!(again.rules_for(name, None), config.rules_for(name, None));
    assert_eq!(
        again.processes[0].pattern.as_ref().unwrap().as_str(),
        "x\\.py"
    );
    assert!(text.contains("interval = \"1h30m\""), "{text}");
    assert!(text.contains("dead_after = 7.5"), "{text}");
}

#[test]
fn the_starter_parses_commented_and_uncommented() {
    let config = parse(STARTER).unwrap();
    assert!(config.processes.is_empty());
    let setting = Regex::new(r"^# (\[|\w+ = )").unwrap();
    let uncommented = STARTER
        .lines()
        .map(|l| if setting.is_match(l) { &l[2..] } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    let config = parse(&uncommented).unwrap();
    let names: Vec<_> = config.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["bidder", "worker", "api", "nightly", "backup"]);
    let worker = config
        .process("worker")
        .and_then(|p| p.supervise.as_ref())
        .unwrap();
    assert_eq!(
        worker.run.as_ref().unwrap().argv,
        ["python3", "worker.py", "--live"]
    );
    assert_eq!(
        (worker.max_restarts, worker.log_keep, worker.log_size),
        (5, 3, 10_000_000)
    );
    assert_eq!(worker.env, [("MODE".to_owned(), "live".to_owned())]);
    let api = config
        .process("api")
        .and_then(|p| p.supervise.as_ref())
        .unwrap();
    assert_eq!(api.restart_command.as_ref().unwrap().argv[0], "systemctl");
    let backup = config.rules_for("backup", None);
    assert_eq!(
        backup.schedule.0.as_ref().map(crate::cron::Schedule::expr),
        Some("0 3 * * *")
    );
    assert_eq!((backup.kind, backup.grace), (Kind::Job, 1800.0));
    assert_eq!(config.rules_for("db-main", None).maintenance.len(), 1);
    assert_eq!(config.alerts.len(), 2);
    assert!(!config.alerts_for("nightly"));
    assert_eq!(config.process("nightly").unwrap().depends_on, ["bidder"]);
    assert_eq!(config.defaults.interval, Some(30.0));
    let nightly = config.rules_for("nightly", None);
    assert_eq!(nightly.max_runtime, Some(1200.0));
    assert_eq!(
        (nightly.min_runtime, nightly.overlap),
        (Some(30.0), crate::health::Overlap::Warn)
    );
    let probes = config
        .process("bidder")
        .and_then(|p| p.probes.as_ref())
        .unwrap();
    assert_eq!((probes.kinds.len(), probes.fails), (3, 2));
    assert_eq!(probes.every, Some(Duration::from_secs(60)));
    assert_eq!(config.serve.listen, Some(Listen::default()));
    assert_eq!(config.serve.body_limit(), 100_000);
    assert_eq!(
        config.serve.ping_key.as_deref(),
        Some("k7Fq2xW9pLr4tB1mZs8dNa")
    );
    let ping = &config.process("backup").unwrap().ping;
    assert_eq!(
        ping.uuid.as_deref(),
        Some("5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15")
    );
    assert_eq!(ping.slug.as_deref(), Some("nightly-backup"));
    assert_eq!(ping.push_token.as_deref(), Some("Xk3fP9qLm2"));
}

#[test]
fn shown_config_escapes_bidi_and_line_separators_and_reads_back() {
    let config =
        parse("[[process]]\nname = \"a\"\nlabel = \"L\\u202eR\\u2028 \\\"q\\\" \\\\ \\u001b\"\n")
            .unwrap();
    let shown = config.to_toml();
    assert!(
        shown.contains(r#"label = "L\u202ER\u2028 \"q\" \\ \u001B""#),
        "{shown}"
    );
    assert!(
        !shown.chars().any(|c| c == '\u{202e}' || c == '\u{1b}'),
        "{shown}"
    );
    let again = parse(&shown).unwrap();
    assert_eq!(
        again.processes[0].label.as_deref(),
        Some("L\u{202e}R\u{2028} \"q\" \\ \u{1b}")
    );
}

#[test]
fn depends_on_names_configured_processes_without_a_cycle() {
    let config = parse(
        "[[process]]\nname = \"db\"\n[[process]]\nname = \"api\"\ndepends_on = [\"db\"]\n\
         [[process]]\nname = \"web\"\ndepends_on = [\"api\", \"db\"]\n",
    )
    .unwrap();
    let needs: Vec<_> = config
        .processes
        .iter()
        .map(|p| p.depends_on.join(","))
        .collect();
    assert_eq!(needs, ["", "db", "api,db"]);
    let again = parse(&config.to_toml()).unwrap();
    assert_eq!(again.processes[2].depends_on, ["api", "db"]);
    assert_errors(&[
        (
            "[[process]]\nname = \"api\"\ndepends_on = [\n  \"cache\",\n  \"dbb\",\n]\n\
             [[process]]\nname = \"cache\"\n",
            5,
            "depends_on",
            r#""api" depends on "dbb", which is not a configured process"#,
        ),
        (
            "[[process]]\nname = \"a\"\ndepends_on = [\"b\"]\n\
             [[process]]\nname = \"b\"\n\ndepends_on = [\"a\"]\n",
            3,
            "depends_on",
            r#"dependency cycle: "a" → "b" → "a""#,
        ),
        (
            "[[process]]\nname = \"a\"\ndepends_on = [\"a\"]\n",
            3,
            "depends_on",
            r#"dependency cycle: "a" → "a""#,
        ),
    ]);
}
