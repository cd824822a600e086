//! `hbmon config` and `hbmon init`: where the config comes from, the starter file, errors.

use predicates::prelude::*;

use crate::hbmon;

#[test]
fn init_writes_a_starter_beside_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbmon.toml");
    hbmon(dir.path())
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains(path.display().to_string()));
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("[defaults]"));
    std::fs::write(&path, "# mine\n").unwrap();
    hbmon(dir.path())
        .arg("init")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "a config already exists at {} (beside the heartbeat file)",
            path.display()
        )));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
}

#[test]
fn init_never_shadows_the_per_user_config() {
    let dir = tempfile::tempdir().unwrap();
    let user = dir
        .path()
        .join("xdg-config")
        .join("hbmon")
        .join("hbmon.toml");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::fs::write(&user, "# mine\n").unwrap();
    hbmon(dir.path())
        .arg("init")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "a config already exists at {} (per-user config directory)",
            user.display()
        )))
        .stderr(predicate::str::contains("--config PATH"));
    assert!(!dir.path().join("hbmon.toml").exists());
    // Named explicitly, the starter is written there.
    let elsewhere = dir.path().join("other.toml");
    hbmon(dir.path())
        .arg("init")
        .arg("--config")
        .arg(&elsewhere)
        .assert()
        .success();
    assert!(elsewhere.is_file());
}

#[test]
fn init_honours_config_flag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf").join("mine.toml");
    hbmon(dir.path())
        .arg("init")
        .arg("--config")
        .arg(&path)
        .assert()
        .success();
    hbmon(dir.path())
        .arg("config")
        .arg("--config")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "config file:    {} (--config)",
            path.display()
        )))
        .stdout(predicate::str::contains("dead_after = 5"));
}

#[test]
fn config_shows_the_resolved_config_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    hbmon(dir.path())
        .arg("config")
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "heartbeat file: {} ($HBMON_FILE)",
            file.display()
        )))
        .stdout(predicate::str::contains("config file:    none"));
    let user = dir.path().join("xdg-config").join("hbmon");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(
        user.join("hbmon.toml"),
        "[[process]]\nname = \"web\"\ninterval = 90\n",
    )
    .unwrap();
    hbmon(dir.path())
        .arg("config")
        .assert()
        .success()
        .stdout(predicate::str::contains("(per-user config directory)"))
        .stdout(predicate::str::contains(
            "[[process]]\nname = \"web\"\ninterval = \"1m30s\"\n",
        ));
}

#[test]
fn a_bad_config_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbmon.toml");
    std::fs::write(
        &path,
        "[[process]]\nname = \"a\"\ninterval = \"5 parsecs\"\n",
    )
    .unwrap();
    hbmon(dir.path())
        .arg("config")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:3: interval: invalid duration \"5 parsecs\"",
            path.display()
        )));
}
