//! The dashboard's History and Send heartbeats pages in headless chromium (the driver of
//! `browser.rs`): a killed process's transition on the fleet's timeline, filtered and
//! opened by the keyboard; and the send snippets run as the page renders them — shell,
//! curl, Python — against the real serve, each beat arriving in its file.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::hbmon;
use crate::serve::{Serve, Worker, names, status_json, wait_for};

#[test]
fn the_history_page_draws_a_lane_per_process_and_lists_a_killed_process_turning_dead() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = Worker::start();
    hbmon(dir.path())
        .args(["beat", "worker", "--pid", &worker.pid()])
        .assert()
        .success();
    hbmon(dir.path())
        .args(["beat", "steady", "--pid", &std::process::id().to_string()])
        .assert()
        .success();
    let serve = Serve::start(dir.path(), "serve.log");
    let url = format!("http://{}/", serve.addr());
    let browser = Browser::start(dir.path(), false);
    browser.open(&format!("{url}#/history"));
    browser.wait(
        "a lane per process",
        Duration::from_secs(15),
        "return document.querySelectorAll('.lane[data-name] svg.plot rect').length >= 2",
    );
    worker.kill();
    // Live: the page reads the history again when a state changes, without a reload.
    browser.run("window.notReloaded = true");
    browser.wait(
        "worker's death listed",
        Duration::from_secs(15),
        "return document.querySelector('tbody tr[data-name=\"worker\"][data-state=\"dead\"]') !== null",
    );
    assert_eq!(browser.run("return window.notReloaded"), json!(true));
    browser.wait(
        "worker's lane ends dead",
        Duration::from_secs(5),
        "const r = document.querySelectorAll('.lane[data-name=\"worker\"] rect'); \
         return r.length > 0 && r[r.length - 1].dataset.state === 'dead'",
    );
    // The transition links to the process page.
    let link = browser.run(
        "return document.querySelector('tbody tr[data-name=\"worker\"] a').getAttribute('href')",
    );
    assert_eq!(link, json!("#/process/worker"));
    // Filtered by state: only the deaths; by name: only that process's.
    browser.run(
        "const s = document.getElementById('state'); s.value = 'dead'; \
         s.dispatchEvent(new Event('change'))",
    );
    let rows = browser.run(
        "return [...document.querySelectorAll('tbody tr')].map(tr => [tr.dataset.name, tr.dataset.state])",
    );
    assert_eq!(
        rows,
        json!([["worker", "dead"]]),
        "only transitions into dead"
    );
    browser.run(
        "const s = document.getElementById('state'); s.value = ''; \
         s.dispatchEvent(new Event('change'))",
    );
    browser.keys("/steady");
    let rows =
        browser.run("return [...document.querySelectorAll('tbody tr')].map(tr => tr.dataset.name)");
    let rows = rows.as_array().unwrap();
    assert!(
        !rows.is_empty() && rows.iter().all(|n| n == "steady"),
        "the filter keeps steady's: {rows:?}"
    );
    // The terminal UI's keys: out of the filter, j to a row, Enter opens its process.
    browser.keys("\u{e00c}j\u{e007}");
    browser.wait(
        "steady's page opened by Enter",
        Duration::from_secs(5),
        "return location.hash === '#/process/steady'",
    );
}

/// What the page shows as snippet `id`.
fn snippet(browser: &Browser, id: &str) -> String {
    let text = browser.run(&format!(
        "const s = document.querySelector('pre[data-snippet=\"{id}\"]'); return s && s.textContent"
    ));
    text.as_str()
        .unwrap_or_else(|| panic!("no snippet {id}: {text}"))
        .to_owned()
}

/// Types `name` into the page's name box, as a user does, and waits for the snippets.
fn name_it(browser: &Browser, name: &str) {
    browser.run("const i = document.getElementById('send-name'); i.value = ''; i.focus()");
    browser.keys(name);
    browser.wait(
        "the snippets to take the name",
        Duration::from_secs(5),
        &format!(
            "return document.querySelector('pre[data-snippet=\"shell\"]').textContent.includes('{name}')"
        ),
    );
}

/// Runs `program` with `args`, with no `HBMON_FILE` and another `HOME`: only what the
/// snippet itself says points it at the serve's file. `hbmon` is on its `PATH`.
fn run_snippet(dir: &Path, program: &str, args: &[&str]) {
    let bin = Path::new(env!("CARGO_BIN_EXE_hbmon")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = Command::new(program)
        .args(args)
        .env("PATH", path)
        .env_remove("HBMON_FILE")
        .env_remove("HBMON_CONFIG")
        .env("HOME", &elsewhere)
        .env("XDG_STATE_HOME", elsewhere.join("state"))
        .env("XDG_CONFIG_HOME", elsewhere.join("config"))
        .env(
            "PYTHONPATH",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("python/src"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_send_page_snippets_run_as_rendered_and_each_beat_arrives_at_this_serve() {
    let dir = tempfile::tempdir().unwrap();
    hbmon(dir.path()).args(["beat", "seed"]).assert().success();
    let serve = Serve::start(dir.path(), "serve.log");
    let base = format!("http://{}", serve.addr());
    let browser = Browser::start(dir.path(), false);
    browser.open(&format!("{base}/#/send"));
    browser.wait(
        "the snippets",
        Duration::from_secs(15),
        "return document.querySelectorAll('pre[data-snippet]').length >= 10",
    );
    let file = dir.path().join("hb.json");
    let every = browser.run(
        "return [...document.querySelectorAll('pre[data-snippet]')].map(p => [p.dataset.snippet, p.textContent])",
    );
    let ids: Vec<&str> = (every.as_array().unwrap().iter())
        .map(|s| s[0].as_str().unwrap())
        .collect();
    for id in [
        "shell",
        "cron",
        "curl",
        "python",
        "python-asyncio",
        "node",
        "rust",
        "systemd",
        "docker",
        "healthchecks",
        "kuma",
    ] {
        assert!(ids.contains(&id), "a {id} snippet: {ids:?}");
    }
    // The page's own origin and this serve's file, in the snippets that use them.
    let file = file.display().to_string();
    for (id, uses) in [
        ("curl", &base),
        ("cron-curl", &base),
        ("healthchecks", &base),
        ("kuma", &base),
        ("node", &base),
        ("shell", &file),
        ("cron", &file),
        ("python", &file),
        ("rust", &file),
    ] {
        let text = snippet(&browser, id);
        assert!(text.contains(uses.as_str()), "{id} names {uses}: {text}");
    }
    // Each a copy button.
    assert_eq!(
        browser.run("return document.querySelectorAll('button[data-copy]').length"),
        json!(ids.len())
    );

    name_it(&browser, "from-shell");
    run_snippet(dir.path(), "sh", &["-c", &snippet(&browser, "shell")]);
    name_it(&browser, "from-curl");
    run_snippet(dir.path(), "sh", &["-c", &snippet(&browser, "curl")]);
    name_it(&browser, "from-python");
    let python = snippet(&browser, "python");
    assert!(python.contains("\"from-python\""), "{python}");
    run_snippet(dir.path(), "python3", &["-c", &python]);

    let arrived = || {
        let doc: Value = status_json(dir.path());
        let names = names(&doc);
        ["from-shell", "from-curl", "from-python"]
            .iter()
            .all(|n| names.iter().any(|m| m == n))
    };
    wait_for("the three beats in serve's file", arrived, || {
        format!("{:#}\n{}", status_json(dir.path()), serve.log())
    });
    // And on the page's own feed: the serve saw them.
    browser.open(&format!("{base}/"));
    browser.wait(
        "the beats on the overview",
        Duration::from_secs(15),
        "return ['from-shell', 'from-curl', 'from-python'].every(n => \
         document.querySelector('tr[data-name=\"' + n + '\"]') !== null)",
    );
}
