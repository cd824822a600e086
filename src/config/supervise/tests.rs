//! The supervision keys of a `[[process]]`: their defaults, forms and one-line errors.
use std::time::Duration;

use super::super::tests::{assert_errors, parse};
use super::*;

fn supervision(body: &str) -> Supervision {
    let config = parse(&format!("[[process]]\nname = \"a\"\n{body}")).unwrap();
    config.processes[0].supervise.clone().unwrap()
}

#[test]
fn run_is_split_like_a_shell_or_taken_as_an_array() {
    let cases = [
        (
            "run = \"python3 'my bidder.py' -v\"",
            vec!["python3", "my bidder.py", "-v"],
            false,
        ),
        (
            "run = [\"python3\", \"b.py\"]",
            vec!["python3", "b.py"],
            false,
        ),
        (
            "run = \"a | b\"\nshell = true",
            vec!["sh", "-c", "a | b"],
            true,
        ),
    ];
    for (body, argv, shell) in cases {
        let run = supervision(body).run.unwrap();
        assert_eq!(
            (run.argv, run.shell),
            (argv.iter().map(|s| (*s).to_owned()).collect(), shell),
            "{body}"
        );
    }
}

#[test]
fn a_supervised_process_has_the_documented_defaults() {
    let s = supervision("run = \"sleep 9\"");
    assert_eq!(s.restart, Restart::OnFailure);
    assert!(!s.restart_on_probe);
    assert_eq!(
        (s.backoff_max, s.stable_after, s.restart_window),
        (Duration::from_secs(300), STABLE_AFTER, RESTART_WINDOW)
    );
    assert_eq!((s.max_restarts, s.log_size, s.log_keep), (5, 10_000_000, 3));
    assert_eq!(
        (s.start_timeout, s.stop_timeout),
        (START_TIMEOUT, STOP_TIMEOUT)
    );
    assert!(
        parse("[[process]]\nname = \"a\"\n").unwrap().processes[0]
            .supervise
            .is_none()
    );
}

#[test]
fn every_key_is_read_and_shown_back_the_same() {
    let s = supervision(
        "run = \"./bid --x\"\ncwd = \"/srv/bid\"\nenv = { MODE = \"live\", A_1 = \"x y\" }\n\
         restart = \"always\"\nrestart_on_probe = true\nbackoff_max = \"1m\"\nstable_after = \"10s\"\n\
         max_restarts = 3\nrestart_window = \"5m\"\nstart_timeout = \"2s\"\nstop_timeout = \"1s\"\n\
         log_size = \"2MiB\"\nlog_keep = 5\n",
    );
    assert_eq!(s.cwd.as_deref(), Some(std::path::Path::new("/srv/bid")));
    assert_eq!(
        s.env,
        [("A_1".into(), "x y".into()), ("MODE".into(), "live".into())]
    );
    assert_eq!(
        (s.restart, s.restart_on_probe, s.max_restarts),
        (Restart::Always, true, 3)
    );
    assert_eq!((s.log_size, s.log_keep), (2 << 20, 5));
    assert_eq!(s.stop_timeout, Duration::from_secs(1));
    let config = parse("[[process]]\nname = \"a\"\nrun = \"./bid --x\"\ncwd = \"/srv/bid\"\nenv = { MODE = \"live\", A_1 = \"x y\" }\nrestart = \"always\"\nrestart_on_probe = true\nlog_size = \"2MiB\"\nlog_keep = 5\n").unwrap();
    let again = parse(&config.to_toml()).unwrap();
    assert_eq!(again.processes[0].supervise, config.processes[0].supervise);
    let managed =
        parse("[[process]]\nname = \"a\"\nrestart_command = \"systemctl --user restart a\"\n")
            .unwrap();
    let again = parse(&managed.to_toml()).unwrap();
    assert_eq!(again.processes[0].supervise, managed.processes[0].supervise);
}

#[test]
fn log_size_reads_units() {
    for (text, bytes) in [
        ("4096", 4096),
        ("\"10MB\"", 10_000_000),
        ("\"1KiB\"", 1024),
        ("\"2GB\"", 2_000_000_000),
    ] {
        assert_eq!(
            supervision(&format!("run = \"x\"\nlog_size = {text}")).log_size,
            bytes,
            "{text}"
        );
    }
}

#[test]
fn bad_supervision_keys_are_one_line_naming_line_and_key() {
    let p = "[[process]]\nname = \"a\"\n";
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (format!("{p}run = \"\"\n"), 3, "run", "must not be empty"),
        (
            format!("{p}run = \"python3 'x\"\n"),
            3,
            "run",
            "unclosed quote",
        ),
        (format!("{p}run = []\n"), 3, "run", "must name a program"),
        (
            format!("{p}run = [\"a\"]\nshell = true\n"),
            3,
            "run",
            "an array runs without a shell",
        ),
        (
            format!("{p}run = \"x\"\nrestart_command = \"y\"\n"),
            4,
            "restart_command",
            "cannot go with run",
        ),
        (
            format!("{p}restart = \"always\"\n"),
            3,
            "restart",
            "applies only to a supervised process",
        ),
        (
            format!("{p}run = \"x\"\nrestart = \"sometimes\"\n"),
            4,
            "restart",
            "unknown variant",
        ),
        (
            format!("{p}run = \"x\"\ncwd = \"rel/dir\"\n"),
            4,
            "cwd",
            "is not an absolute path",
        ),
        (
            format!("{p}run = \"x\"\nenv = {{ \"A-B\" = \"1\" }}\n"),
            4,
            "env",
            "is not a variable name",
        ),
        (
            format!("{p}run = \"x\"\nuser = \"no-such-user-hbmon\"\n"),
            4,
            "user",
            "is not a user of this machine",
        ),
        (
            format!("{p}run = \"x\"\nmax_restarts = 0\n"),
            4,
            "max_restarts",
            "at least 1",
        ),
        (
            format!("{p}run = \"x\"\nlog_keep = 0\n"),
            4,
            "log_keep",
            "from 1 to 100",
        ),
        (
            format!("{p}run = \"x\"\nlog_size = \"10 parsecs\"\n"),
            4,
            "log_size",
            "expected a size",
        ),
        (
            format!("{p}run = \"x\"\nlog_size = 10\n"),
            4,
            "log_size",
            "at least 1KB",
        ),
        (
            format!("{p}run = \"x\"\nstop_timeout = \"0s\"\n"),
            4,
            "stop_timeout",
            "greater than zero",
        ),
        (
            format!("{p}restart_command = \"y\"\ncwd = \"/tmp\"\n"),
            4,
            "cwd",
            "applies only to a process hbmon runs",
        ),
        (
            format!("{p}restart_command = \"y\"\nrestart = \"never\"\n"),
            3,
            "restart_command",
            "would never run",
        ),
    ];
    let cases: Vec<(&str, usize, &str, &str)> = cases
        .iter()
        .map(|(t, l, k, m)| (t.as_str(), *l, *k, *m))
        .collect();
    assert_errors(&cases);
}

#[test]
fn another_user_needs_a_root_hbmon() {
    let root = Spanned::new(0..4, "root".to_owned());
    let err = user(&root, false);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(err.unwrap().uid, 0);
    } else {
        assert!(
            err.unwrap_err()
                .2
                .contains("needs hbmon serve to run as root")
        );
    }
    assert_eq!(user(&root, true).unwrap().uid, 0);
}
