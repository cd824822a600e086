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
    let text = imported.render(&any_user);
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

/// A machine where every user exists and this hbmon may run as any.
#[allow(clippy::unnecessary_wraps)] // the check `render` takes, which may refuse
fn any_user(_: &str) -> Result<(), String> {
    Ok(())
}

/// A machine where no user the sample names exists.
fn no_user(name: &str) -> Result<(), String> {
    Err(format!("{name:?} is not a user of this machine"))
}

/// The blocks rendered and parsed back, as hbmon.toml will read them.
fn parsed(imported: &[Imported]) -> Vec<toml::Table> {
    let text = render_all(imported, &any_user);
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

/// The blocks rendered on a machine without their users, read by hbmon's own config
/// parser: what `hbmon serve` will do with them pasted.
fn configured(imported: &[Imported]) -> crate::config::Config {
    let text = render_all(imported, &no_user);
    crate::config::Config::parse(&text, Path::new("hbmon.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `(name, argv, cwd, env, restart, start_timeout, stop_timeout)` of one parsed process.
type Parsed = (
    String,
    Vec<String>,
    Option<String>,
    Vec<(String, String)>,
    &'static str,
    f64,
    f64,
);

fn supervision(config: &crate::config::Config) -> Vec<Parsed> {
    (config.processes.iter())
        .map(|p| {
            let s = p.supervise.as_ref().expect("a run key makes it supervised");
            assert!(s.user.is_none(), "{}: a refused user is left out", p.name);
            (
                p.name.clone(),
                s.run.as_ref().unwrap().argv.clone(),
                s.cwd.as_ref().map(|c| c.display().to_string()),
                s.env.clone(),
                s.restart.as_str(),
                s.start_timeout.as_secs_f64(),
                s.stop_timeout.as_secs_f64(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    (list.iter())
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn every_imported_sample_parses_as_hbmon_config_with_its_values() {
    // The daemon's inherited PATH and HOME are this shell's too: left out.
    let shell = |key: &str| match key {
        "PATH" => Some("/usr/local/bin:/usr/bin:/bin".to_owned()),
        "HOME" => Some("/home/deploy".to_owned()),
        _ => None,
    };
    let pm2 = from_jlist(
        include_str!("samples/pm2-jlist.json"),
        Path::new("pm2-jlist.json"),
        &shell,
    )
    .unwrap();
    let ini = from_ini(
        include_str!("samples/supervisord.conf"),
        Path::new("/etc/supervisor/conf.d/apps.conf"),
        &|_: &str| None,
    )
    .unwrap();
    let unit = from_unit(
        include_str!("samples/bidder.service"),
        "bidder.service",
        Path::new("systemctl cat bidder.service"),
    )
    .unwrap();
    let defaults = crate::config::Config::parse(
        "[[process]]\nname = \"x\"\nrun = \"true\"\n",
        Path::new("d.toml"),
    )
    .unwrap();
    let start = defaults.processes[0]
        .supervise
        .as_ref()
        .unwrap()
        .start_timeout;
    let start = start.as_secs_f64();

    let api = &supervision(&configured(&pm2))[0];
    assert_eq!(api.0, "api");
    assert_eq!(
        api.1,
        words(&[
            "node",
            "--max-old-space-size=512",
            "/srv/api/server.js",
            "--port",
            "3000"
        ])
    );
    assert_eq!(api.2.as_deref(), Some("/srv/api"));
    assert_eq!(
        api.3,
        pairs(&[
            ("DATABASE_URL", "postgres://api:s3cr\"et@db/api"),
            ("NODE_ENV", "production"),
            ("PORT", "3000"),
        ])
    );
    assert_eq!((api.4, api.5, api.6), ("always", start, 5.0));

    let programs = supervision(&configured(&ini));
    let worker = &programs[0];
    assert_eq!(worker.0, "worker");
    assert_eq!(worker.2.as_deref(), Some("/etc/supervisor/conf.d/worker"));
    assert!(
        worker
            .3
            .contains(&("GREETING".to_owned(), "hi, there".to_owned())),
        "{:?}",
        worker.3
    );
    assert_eq!((worker.4, worker.5, worker.6), ("on-failure", 10.0, 30.0));
    assert_eq!(
        programs[1].1,
        words(&["/usr/local/bin/cleaner", "--every", "60"])
    );

    let config = configured(std::slice::from_ref(&unit));
    let bidder = &supervision(&config)[0];
    assert_eq!(bidder.0, "bidder");
    assert_eq!(bidder.2.as_deref(), Some("/srv/bidder"));
    assert_eq!(
        bidder.3,
        pairs(&[("LIMIT", "0.25"), ("MARKET", "EU west"), ("MODE", "paper")])
    );
    assert_eq!((bidder.4, bidder.6), ("on-failure", 90.0));
    assert_eq!(config.processes[0].interval, Some(30.0));
}

#[test]
fn a_user_the_config_would_refuse_is_written_commented_out_with_why() {
    let imported = Imported {
        source: "pm2 app \"api\"".into(),
        name: "api".into(),
        run: vec!["node".into()],
        user: Some("deploy".into()),
        ..Imported::default()
    };
    let text = imported.render(&no_user);
    assert!(
        text.contains("# user = \"deploy\"  (\"deploy\" is not a user of this machine)"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("user")), "{text}");
    assert!(imported.render(&any_user).contains("\nuser = \"deploy\"\n"));
}
