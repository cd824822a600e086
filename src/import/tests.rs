//! The importers on real-world samples (`samples/`: pm2 jlist output of two apps, a
//! supervisord conf, a systemd unit with a drop-in, as `systemctl cat` prints them), and
//! the one renderer.

use super::*;
use std::path::Path;

#[test]
fn a_block_is_valid_toml_with_every_value_escaped() {
    let imported = Imported {
        source: "test \"x\"\nsecond line".into(),
        name: "api \"v2\"".into(),
        run: vec!["sh".into(), "-c".into(), "echo 'a' \"b\" \\ \n".into()],
        cwd: Some("/srv/my app".into()),
        env: [
            ("A".to_owned(), "1 \"2\"".to_owned()),
            ("B".into(), "x=y".into()),
        ]
        .into(),
        user: Some("www-data".into()),
        restart: Some(Restart::OnFailure),
        stop_timeout: Some(Duration::from_secs(10)),
        start_timeout: Some(Duration::from_millis(1500)),
        interval: Some(Duration::from_secs(90)),
        notes: vec!["not mapped: numprocs = 2\n[[process]]".into()],
    };
    let text = imported.render();
    let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
    let p = &doc["process"][0];
    assert_eq!(p["name"].as_str(), Some("api \"v2\""));
    assert_eq!(p["run"][2].as_str(), Some("echo 'a' \"b\" \\ \n"));
    assert_eq!(p["env"]["A"].as_str(), Some("1 \"2\""));
    assert_eq!(p["restart"].as_str(), Some("on-failure"));
    assert_eq!(p["start_timeout"].as_str(), Some("1s500ms"));
    assert_eq!(p["interval"].as_str(), Some("1m30s"));
    assert_eq!(doc["process"].as_array().map(Vec::len), Some(1), "{text}");
    assert!(
        text.contains("# not mapped: numprocs = 2\\n[[process]]"),
        "{text}"
    );
}

#[test]
fn names_are_one_word() {
    for (raw, name) in [("api", "api"), (" my app ", "my-app"), ("", "unnamed")] {
        assert_eq!(name_of(raw), name);
    }
}

/// The blocks rendered and parsed back, as hbmon.toml will read them.
fn parsed(imported: &[Imported]) -> Vec<toml::Table> {
    let text = render_all(imported);
    let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
    let blocks = doc["process"].as_array().unwrap();
    assert_eq!(blocks.len(), imported.len(), "{text}");
    blocks
        .iter()
        .map(|b| b.as_table().unwrap().clone())
        .collect()
}

fn strings(value: &toml::Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[test]
fn pm2_apps_become_processes() {
    let file = Path::new("pm2-jlist.json");
    // The daemon's inherited PATH and HOME are this shell's too.
    let shell = |key: &str| match key {
        "PATH" => Some("/usr/local/bin:/usr/bin:/bin".to_owned()),
        "HOME" => Some("/home/deploy".to_owned()),
        _ => None,
    };
    let apps = from_jlist(include_str!("samples/pm2-jlist.json"), file, &shell).unwrap();
    let blocks = parsed(&apps);
    let (api, bidder) = (&blocks[0], &blocks[1]);
    assert_eq!(api["name"].as_str(), Some("api"));
    assert_eq!(
        strings(&api["run"]),
        [
            "node",
            "--max-old-space-size=512",
            "/srv/api/server.js",
            "--port",
            "3000"
        ]
    );
    assert_eq!(api["cwd"].as_str(), Some("/srv/api"));
    assert_eq!(api["user"].as_str(), Some("deploy"));
    assert_eq!(api["restart"].as_str(), Some("always"));
    assert_eq!(api["stop_timeout"].as_str(), Some("5s"));
    let env: Vec<&String> = api["env"].as_table().unwrap().keys().collect();
    assert_eq!(
        env,
        ["DATABASE_URL", "NODE_ENV", "PORT"],
        "pm2's own and inherited left out"
    );
    assert_eq!(
        api["env"]["DATABASE_URL"].as_str(),
        Some("postgres://api:s3cr\"et@db/api")
    );
    let notes = &apps[0].notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("cluster mode with instances = 4")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("not mapped: max_memory_restart")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("2 variables")),
        "{notes:?}"
    );

    assert_eq!(
        strings(&bidder["run"]),
        [
            "python3",
            "/srv/bidder/bidder.py",
            "--market",
            "EU west",
            "--dry-run"
        ]
    );
    assert_eq!(bidder["restart"].as_str(), Some("never"));
    assert_eq!(bidder["env"]["BID_LIMIT"].as_str(), Some("0.25"));
    assert!(
        apps[1]
            .notes
            .iter()
            .any(|n| n.starts_with("not mapped: min_uptime = 5000"))
    );
}

#[test]
fn supervisord_programs_become_processes() {
    let file = Path::new("/etc/supervisor/conf.d/apps.conf");
    let env = |_: &str| None;
    let programs = from_ini(include_str!("samples/supervisord.conf"), file, &env).unwrap();
    let blocks = parsed(&programs);
    let (worker, cleaner) = (&blocks[0], &blocks[1]);
    assert_eq!(worker["name"].as_str(), Some("worker"));
    assert_eq!(
        strings(&worker["run"]),
        [
            "/usr/bin/python3",
            "-u",
            "worker.py",
            "--queue",
            "high prio",
            "--name",
            "worker"
        ]
    );
    assert_eq!(
        worker["cwd"].as_str(),
        Some("/etc/supervisor/conf.d/worker")
    );
    assert_eq!(
        worker["env"]["QUEUE_URL"].as_str(),
        Some("redis://q:6379/0,1")
    );
    assert_eq!(worker["env"]["GREETING"].as_str(), Some("hi, there"));
    assert_eq!(worker["env"]["PYTHONUNBUFFERED"].as_str(), Some("1"));
    assert_eq!(worker["user"].as_str(), Some("www-data"));
    assert_eq!(worker["restart"].as_str(), Some("on-failure"));
    assert_eq!(worker["start_timeout"].as_str(), Some("10s"));
    assert_eq!(worker["stop_timeout"].as_str(), Some("30s"));
    assert!(
        programs[0]
            .notes
            .contains(&"not mapped: stdout_logfile = /var/log/worker.log".to_owned())
    );
    assert_eq!(
        strings(&cleaner["run"]),
        ["/usr/local/bin/cleaner", "--every", "60"]
    );
    assert_eq!(cleaner["restart"].as_str(), Some("always"));
}

#[test]
fn a_systemd_unit_and_its_drop_in_become_a_process() {
    let file = Path::new("systemctl cat bidder.service");
    let unit = from_unit(
        include_str!("samples/bidder.service"),
        "bidder.service",
        file,
    )
    .unwrap();
    let block = &parsed(std::slice::from_ref(&unit))[0];
    assert_eq!(block["name"].as_str(), Some("bidder"));
    // The drop-in's ExecStart= cleared the unit's; its `-` prefix is said, not kept.
    assert_eq!(
        strings(&block["run"]),
        [
            "/usr/bin/python3",
            "/srv/bidder/bidder.py",
            "--market",
            "EU west",
            "--verbose"
        ]
    );
    assert_eq!(block["cwd"].as_str(), Some("/srv/bidder"));
    assert_eq!(block["env"]["MARKET"].as_str(), Some("EU west"));
    assert_eq!(block["env"]["MODE"].as_str(), Some("paper"));
    assert_eq!(block["user"].as_str(), Some("bidder"));
    assert_eq!(block["restart"].as_str(), Some("on-failure"));
    assert_eq!(block["interval"].as_str(), Some("30s"));
    assert_eq!(block["stop_timeout"].as_str(), Some("1m30s"));
    for note in [
        "not mapped: RestartSec=5",
        "ExecStart prefix \"-\" left out",
    ] {
        assert!(
            unit.notes.iter().any(|n| n == note),
            "{note}: {:?}",
            unit.notes
        );
    }
    // The unit's own ExecStart, with its continuation and shell-style quoting.
    let own = include_str!("samples/bidder.service")
        .split("# /etc/systemd/system/bidder.service.d")
        .next()
        .unwrap();
    let unit = from_unit(own, "/etc/systemd/system/bidder.service", file).unwrap();
    assert_eq!(
        unit.run,
        [
            "/usr/bin/python3",
            "/srv/bidder/bidder.py",
            "--market",
            "EU west",
            "--say",
            "it's ok"
        ]
    );
}

#[test]
fn bad_input_names_the_file_and_line() {
    let file = Path::new("/x/apps.conf");
    let none = |_: &str| None;
    let cases: Vec<(Result<Vec<Imported>, ImportError>, &str)> = vec![
        (
            from_jlist("[{\"name\": 1,", Path::new("-"), &none),
            "-:1: not pm2 jlist JSON",
        ),
        (
            from_jlist("{}", Path::new("-"), &none),
            "-: not pm2 jlist output",
        ),
        (
            from_ini("[program:a]\ncommand=x\nstartsecs=soon\n", file, &none),
            "/x/apps.conf:3: startsecs: \"soon\"",
        ),
        (
            from_ini("[program:a]\ndirectory=/\n", file, &none),
            "/x/apps.conf:1: [program:a] has no command",
        ),
        (
            from_ini("[program:a]\ncommand=x %(ENV_NOPE)s\n", file, &none),
            "/x/apps.conf:2: %(ENV_NOPE)s",
        ),
        (
            from_ini("command=x\n", file, &none),
            "/x/apps.conf:1: a key before any [section]",
        ),
        (
            from_unit("[Service]\nExecStart=/bin/x \"open\n", "x.service", file).map(|u| vec![u]),
            "/x/apps.conf:2: ExecStart: an unclosed quote",
        ),
        (
            from_unit(
                "[Service]\nRestart=sometimes\nExecStart=/bin/x\n",
                "x.service",
                file,
            )
            .map(|u| vec![u]),
            "/x/apps.conf:2: Restart",
        ),
        (
            from_unit("[Service]\nUser=x\n", "x.service", file).map(|u| vec![u]),
            "/x/apps.conf: no ExecStart=",
        ),
    ];
    for (result, want) in cases {
        let err = result.unwrap_err().to_string();
        assert!(err.starts_with(want), "{err:?} should start {want:?}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
}
