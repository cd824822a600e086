//! Where hbmon looks for its config, attacked: a config that is broken or refused must not
//! stop the commands that name an entry by its heartbeat name, and something that is no
//! regular file where a config is looked for is an error naming it, never skipped.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::hbmon;

/// A config that cannot be used: unparseable, or writable by others (refused as ssh does).
fn spoil_config(dir: &Path, how: &str) {
    let config = dir.join("hbmon.toml");
    match how {
        "broken" => fs::write(&config, "this is [broken\n").unwrap(),
        "untrusted" => {
            fs::write(&config, "[[process]]\nname = \"web\"\nlabel = \"Web\"\n").unwrap();
            fs::set_permissions(&config, fs::Permissions::from_mode(0o666)).unwrap();
        }
        other => unreachable!("{other}"),
    }
}

#[test]
fn a_broken_or_refused_config_does_not_block_commands_naming_an_entry_by_its_name() {
    for how in ["broken", "untrusted"] {
        let dir = tempfile::tempdir().unwrap();
        hbmon(dir.path()).args(["beat", "web"]).assert().success();
        spoil_config(dir.path(), how);
        for args in [["pause", "web"], ["resume", "web"]] {
            hbmon(dir.path()).args(args).assert().success();
        }
        // No history recorded yet: the command got past the name to the database.
        let out = hbmon(dir.path()).args(["history", "web"]).output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("no history database") && !said.contains("hbmon.toml"),
            "{how}: {said}"
        );
        hbmon(dir.path()).args(["rm", "web"]).assert().success();
        // Not in the file: a label may be meant, and only the config can say; it says why not.
        let out = hbmon(dir.path()).args(["rm", "Web"]).output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{how}: {said}");
        assert!(
            said.contains("\"Web\" is no entry") && said.contains("hbmon.toml"),
            "{how}: {said}"
        );
        assert_eq!(said.trim_end().lines().count(), 1, "{how}: {said}");
    }
}

#[test]
fn a_fifo_or_a_socket_where_the_config_is_looked_for_is_an_error_naming_it() {
    for kind in ["FIFO", "socket"] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hbmon.toml");
        // A live socket, as a planted one would be; kept listening to the end.
        let _listener = if kind == "FIFO" {
            crate::mkfifo(&config);
            None
        } else {
            Some(std::os::unix::net::UnixListener::bind(&config).unwrap())
        };
        // A user config that skipping the planted one would silently fall back to.
        let user = dir.path().join("xdg-config/hbmon/hbmon.toml");
        fs::create_dir_all(user.parent().unwrap()).unwrap();
        fs::write(&user, "").unwrap();
        for args in [&["status"][..], &["config"]] {
            let out = hbmon(dir.path())
                .args(args)
                .timeout(std::time::Duration::from_secs(20))
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{kind} {args:?}: {said}");
            assert!(
                said.contains(&format!("{} is a {kind}", config.display())),
                "{kind} {args:?}: {said}"
            );
        }
    }
}
