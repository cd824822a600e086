//! `hbmon import`: the real binary on real-world samples — pm2 jlist on standard input,
//! from a file, or run by hbmon itself on a terminal (a tty from util-linux's `script`), a
//! supervisord conf, a systemd unit by path — its output valid TOML with the values the
//! source gave, and bad input one line naming file and line, exit 2.

use std::path::Path;

use crate::hbmon;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/import/samples");

/// The `[[process]]` blocks of a run that must succeed, and its output as text.
fn processes(out: &std::process::Output) -> (Vec<toml::Value>, String) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
    (doc["process"].as_array().unwrap().clone(), text)
}

/// `hbmon import KIND SAMPLE`, for one of the samples.
fn import_sample(dir: &Path, kind: &str, sample: &str) -> (Vec<toml::Value>, String) {
    processes(
        &hbmon(dir)
            .args(["import", kind])
            .arg(Path::new(SAMPLES).join(sample))
            .output()
            .unwrap(),
    )
}

fn names(blocks: &[toml::Value]) -> Vec<&str> {
    blocks.iter().map(|b| b["name"].as_str().unwrap()).collect()
}

#[test]
fn pm2_jlist_on_stdin_or_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(SAMPLES).join("pm2-jlist.json");
    let piped = hbmon(dir.path())
        .args(["import", "pm2"])
        .pipe_stdin(&sample)
        .unwrap()
        .output()
        .unwrap();
    let (blocks, _) = processes(&piped);
    assert_eq!(names(&blocks), ["api", "bidder"]);
    assert_eq!(blocks[0]["restart"].as_str(), Some("always"));
    assert_eq!(blocks[1]["run"][0].as_str(), Some("python3"));
    let from = hbmon(dir.path())
        .args(["import", "pm2", "--from"])
        .arg(&sample)
        .output()
        .unwrap();
    assert_eq!(from.stdout, piped.stdout);
}

#[test]
fn a_supervisord_conf_and_a_systemd_unit() {
    let dir = tempfile::tempdir().unwrap();
    let (blocks, _) = import_sample(dir.path(), "supervisor", "supervisord.conf");
    assert_eq!(names(&blocks), ["worker", "cleaner"]);
    assert_eq!(blocks[0]["stop_timeout"].as_str(), Some("30s"));
    let (blocks, text) = import_sample(dir.path(), "systemd", "bidder.service");
    assert_eq!(names(&blocks), ["bidder"]);
    assert_eq!(blocks[0]["interval"].as_str(), Some("30s"));
    assert!(text.contains("# not mapped: RestartSec=5"), "{text}");
}

#[test]
fn bad_input_is_one_line_naming_file_and_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("apps.conf");
    std::fs::write(&conf, "[program:a]\ncommand=/bin/a\nautorestart=maybe\n").unwrap();
    let unit = dir.path().join("x.service");
    std::fs::write(&unit, "[Service]\nExecStart=/bin/x 'open\n").unwrap();
    let cases = [
        (
            vec![
                "import".into(),
                "supervisor".into(),
                conf.display().to_string(),
            ],
            format!("hbmon: {}:3: autorestart: \"maybe\"", conf.display()),
        ),
        (
            vec![
                "import".into(),
                "systemd".into(),
                unit.display().to_string(),
            ],
            format!("hbmon: {}:2: ExecStart: an unclosed quote", unit.display()),
        ),
        (
            vec![
                "import".into(),
                "supervisor".into(),
                dir.path().join("none.conf").display().to_string(),
            ],
            format!(
                "hbmon: {}: cannot read",
                dir.path().join("none.conf").display()
            ),
        ),
        (
            vec![
                "import".into(),
                "pm2".into(),
                "--from".into(),
                conf.display().to_string(),
            ],
            format!("hbmon: {}:1: not pm2 jlist JSON", conf.display()),
        ),
    ];
    for (args, want) in cases {
        let out = hbmon(dir.path()).args(&args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with(&want), "{err:?} should start {want:?}");
        assert_eq!(err.lines().count(), 1, "{err:?}");
        assert!(out.stdout.is_empty(), "nothing printed on an error");
    }
}

/// `hbmon import pm2` on a terminal (`script` gives it one), with `pm2` on PATH being
/// `fake_pm2` (a shell script's body): its output with the tty's `\r\n` undone, and the
/// exit code.
fn import_from_pm2_itself(dir: &Path, fake_pm2: &str) -> (String, Option<i32>) {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let pm2 = bin.join("pm2");
    std::fs::write(&pm2, format!("#!/bin/sh\n{fake_pm2}\n")).unwrap();
    std::fs::set_permissions(&pm2, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let command = format!("{} import pm2", env!("CARGO_BIN_EXE_hbmon"));
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("PATH", path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap().replace("\r\n", "\n");
    (text, out.status.code())
}

#[test]
fn on_a_terminal_pm2_jlist_is_run_and_its_failure_said() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(SAMPLES).join("pm2-jlist.json");
    let (text, code) = import_from_pm2_itself(
        dir.path(),
        &format!("[ \"$1\" = jlist ] && exec cat '{}'", sample.display()),
    );
    assert_eq!(code, Some(0), "{text}");
    let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(names(doc["process"].as_array().unwrap()), ["api", "bidder"]);
    let dir = tempfile::tempdir().unwrap();
    let (text, code) = import_from_pm2_itself(dir.path(), "echo 'daemon not running' >&2; exit 3");
    assert_eq!(code, Some(2), "{text}");
    assert_eq!(
        text.trim(),
        "hbmon: pm2 jlist: pm2 failed (exit status: 3): daemon not running"
    );
}

#[test]
fn each_samples_output_is_a_config_hbmon_config_accepts_with_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (args, names) in [
        (&["pm2", "--from"][..], &["api", "bidder"][..]),
        (&["supervisor"], &["worker", "cleaner"]),
        (&["systemd"], &["bidder"]),
    ] {
        let sample = match args[0] {
            "pm2" => "pm2-jlist.json",
            "supervisor" => "supervisord.conf",
            _ => "bidder.service",
        };
        let out = hbmon(d)
            .arg("import")
            .args(args)
            .arg(Path::new(SAMPLES).join(sample))
            .output()
            .unwrap();
        let (_, text) = processes(&out);
        let config = d.join(format!("{}.toml", args[0]));
        std::fs::write(&config, &text).unwrap();
        let shown = hbmon(d)
            .args(["config", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&shown.stdout);
        assert!(
            shown.status.success(),
            "{}:\n{text}\n{}",
            args[0],
            String::from_utf8_lossy(&shown.stderr)
        );
        for name in names {
            assert!(said.contains(&format!("name = \"{name}\"")), "{said}");
        }
        // A user this machine lacks is kept, commented out with why, not refused.
        for line in text.lines().filter(|l| l.contains("user = ")) {
            assert!(
                line.starts_with("user = \"") && said.contains(line)
                    || line.starts_with("# user = ")
                        && line.ends_with("is not a user of this machine)"),
                "{line}\n{said}"
            );
        }
    }
    let shown = hbmon(d)
        .args(["config", "--config"])
        .arg(d.join("systemd.toml"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&shown.stdout);
    for line in [
        "run = [\"/usr/bin/python3\", \"/srv/bidder/bidder.py\", \"--market\", \"EU west\", \"--verbose\"]",
        "cwd = \"/srv/bidder\"",
        "restart = \"on-failure\"",
        "stop_timeout = \"1m30s\"",
    ] {
        assert!(said.contains(line), "{line:?} not in:\n{said}");
    }
}
