//! The live UI's remote view (`hbmon --remote`): a second real `hbmon serve` on another
//! loopback port, and a remote that accepts and never answers, beside this machine's file.

use std::net::TcpListener;
use std::time::Duration;

use crate::hbmon;
use crate::serve::Serve;
use crate::tui::{Tmux, beat};

#[test]
fn the_ui_shows_a_remotes_rows_with_its_host_refuses_to_act_on_them_and_marks_it_stale_when_gone() {
    let here = tempfile::tempdir().unwrap();
    let file = here.path().join("hb.json");
    std::fs::write(here.path().join("hbmon.toml"), "").unwrap();
    beat(&file, "web");
    let there = tempfile::tempdir().unwrap();
    // The same name on the other machine: an action on its row must not reach ours.
    beat(&there.path().join("hb.json"), "web");
    beat(&there.path().join("hb.json"), "db-primary");
    let mut serve = Serve::start(there.path(), "serve.log");
    let remote = format!("127.0.0.1:{}", serve.addr().port());
    // Accepts, reads nothing, answers nothing, for as long as the test runs.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_host = format!("127.0.0.1:{}", hung.local_addr().unwrap().port());
    let held = std::thread::spawn(move || hung.incoming().take(64).collect::<Vec<_>>());

    let tmux = Tmux::start_sized(
        &format!(
            "env HOME='{home}' XDG_CONFIG_HOME='{home}/xdg' HBMON_FILE='{file}' {bin} \
             --config '{home}/hbmon.toml' --refresh 1s --remote http://{remote} \
             --remote http://{hung_host}",
            home = here.path().display(),
            file = file.display(),
            bin = env!("CARGO_BIN_EXE_hbmon"),
        ),
        140,
        24,
    );
    // Two remotes on one host: told apart by port.
    let screen = tmux.wait_for("the remote's rows", Duration::from_secs(10), |s| {
        s.contains("db-primary") && s.contains(&remote)
    });
    assert!(screen.contains("HOST"), "{screen}");
    let db = screen.lines().find(|l| l.contains("db-primary")).unwrap();
    assert!(db.contains(&remote), "{db}");
    assert!(
        screen.contains(&format!("{hung_host}: asked at")),
        "the hung remote waits, shown as waiting:\n{screen}"
    );

    // The hung remote holds up neither the local check nor the redraw.
    beat(&file, "gamma-job");
    tmux.wait_for("a local beat", Duration::from_secs(3), |s| {
        s.contains("gamma-job")
    });
    tmux.wait_for("the hung remote's timeout", Duration::from_secs(10), |s| {
        s.contains(&format!("{hung_host}: unreachable since")) && s.contains("no answer within")
    });

    // Select the remote's `web` (sorted by name, after the local one) and ask to remove
    // and to signal it: refused, and the local `web` stays.
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "web"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filter", Duration::from_secs(5), |s| {
        !s.contains("db-primary")
    });
    let on_remote = |s: &str| {
        s.lines()
            .any(|l| l.starts_with('›') && l.contains(&remote) && l.contains("web"))
    };
    if !on_remote(&tmux.screen()) {
        tmux.keys(&["Down"]);
    }
    tmux.wait_for("the remote row selected", Duration::from_secs(5), on_remote);
    tmux.keys(&["d"]);
    tmux.wait_for("the refusal", Duration::from_secs(5), |s| {
        s.contains(&format!("{remote}: remote rows are read-only"))
    });
    tmux.keys(&["y"]);
    let status = hbmon(here.path())
        .args(["status", "--cpu", "never"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(
        table.contains(" web "),
        "the local `web` is still in its file:\n{table}"
    );

    // The serve goes away: its rows go, a line says since when, within a few seconds.
    serve.terminate();
    let gone = tmux.wait_for("the remote stale", Duration::from_secs(8), |s| {
        s.contains(&format!("{remote}: unreachable since"))
    });
    assert!(
        !gone
            .lines()
            .any(|l| l.contains(&remote) && l.contains(" web ")),
        "no rows it no longer vouches for:\n{gone}"
    );
    drop(tmux);
    drop(held);
}
