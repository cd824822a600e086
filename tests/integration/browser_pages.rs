//! The dashboard's History, process and Send heartbeats pages in headless chromium (the
//! driver of `browser.rs`): a killed process's transition on the fleet's timeline, filtered
//! and opened by the keyboard; a process's timeline holding the state it was in before its
//! range; and the send snippets — each copy button's text read back from the clipboard,
//! and the shell, curl, Python, healthchecks.io and Uptime Kuma ones run as the page
//! renders them against the real serve, each beat arriving in its file — but for a page
//! opened with a `read` token, which is shown placeholders and told why.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hbmon::clock::unix_now;
use hbmon::history::History;
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::hbmon;
use crate::serve::{Serve, Worker, get, names, status_json, wait_for};

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

#[test]
fn the_process_timeline_shows_the_state_held_since_before_its_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = Worker::start();
    hbmon(dir.path())
        .args(["beat", "crashed", "--pid", &worker.pid()])
        .assert()
        .success();
    worker.kill();
    // Its history: up three hours ago, dead two hours ago, as a monitor then recorded it.
    let now = unix_now();
    let (up, dead) = (now - 3.0 * 3600.0, now - 2.0 * 3600.0);
    let path = hbmon::paths::history_path(&dir.path().join("hb.json"));
    drop(History::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO transitions (name, time, from_state, to_state, severity, reason)
             VALUES ('crashed', ?1, NULL, 'up', 'ok', 'beating'),
                    ('crashed', ?2, 'up', 'dead', 'critical', 'its PID is gone')",
            rusqlite::params![up, dead],
        )
        .unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    // The API gives the state held as the hour begins.
    let doc: Value =
        serde_json::from_str(&get(serve.addr(), "/api/v1/processes/crashed/history?since=1h").body)
            .unwrap();
    assert_eq!(
        (&doc["before"]["to"], &doc["before"]["time"]),
        (&json!("dead"), &json!(dead)),
        "{doc:#}"
    );
    let browser = Browser::start(dir.path(), false);
    browser.open(&format!("http://{}/#/process/crashed", serve.addr()));
    browser.wait(
        "the process page's timeline",
        Duration::from_secs(15),
        "return document.querySelectorAll('svg.timeline rect').length > 0",
    );
    // Dead from the range's left edge to its right, and said to be since two hours ago.
    let bands = browser.run(&format!(
        "return [...document.querySelectorAll('svg.timeline rect')].map(r => [r.dataset.state, \
         r.getAttribute('class'), +r.getAttribute('x'), +r.getAttribute('width'), \
         r.querySelector('title').textContent.includes(hbmon.fmtTime({dead}))])"
    ));
    let first = &bands[0];
    assert_eq!(
        (&first[0], &first[1], &first[2], &first[4]),
        (
            &json!("dead"),
            &json!("band-critical"),
            &json!(0),
            &json!(true)
        ),
        "{bands}"
    );
    let covered: f64 = (bands.as_array().unwrap().iter())
        .filter(|b| b[0] == "dead")
        .map(|b| b[3].as_f64().unwrap())
        .sum();
    assert!(covered >= 799.0, "dead across the hour: {bands}");
}

/// The send test's configured process's ping URL secrets.
const PING_KEY: &str = "k3y-0123456789abcdef";
const UUID: &str = "5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15";
const PUSH_TOKEN: &str = "kuma-0123456789abcdef";

/// What the page shows as snippet `id`.
fn snippet(browser: &Browser, id: &str) -> String {
    let text = browser.run(&format!(
        "const s = document.querySelector('pre[data-snippet=\"{id}\"]'); return s && s.textContent"
    ));
    text.as_str()
        .unwrap_or_else(|| panic!("no snippet {id}: {text}"))
        .to_owned()
}

/// Clicks each snippet's copy button and reads the clipboard back. The page is on
/// loopback, a secure context, so it copies through the Clipboard API (its textarea
/// fallback is for a plain-HTTP page off loopback): what `readText` gives back is what
/// was copied. Something else is put there first, so a click that copied nothing fails.
fn copies_exactly(browser: &Browser, ids: &[&str]) {
    browser.grant("clipboard-read");
    assert_eq!(
        browser.run("return window.isSecureContext && !!navigator.clipboard"),
        json!(true),
        "the page takes the Clipboard API's path"
    );
    for id in ids {
        let before = format!("not yet {id}");
        browser.run(&format!(
            "return navigator.clipboard.writeText({})",
            json!(before)
        ));
        browser.click(&format!("button[data-copy=\"{id}\"]"));
        browser.wait(
            "the button to say it copied",
            Duration::from_secs(5),
            &format!("return document.querySelector('button[data-copy=\"{id}\"]').textContent === 'copied'"),
        );
        let copied = browser.run("return navigator.clipboard.readText()");
        assert_eq!(
            copied.as_str(),
            Some(snippet(browser, id).as_str()),
            "the {id} button copied its snippet"
        );
    }
}

#[test]
fn the_send_page_opened_with_a_read_token_keeps_ping_url_secrets_out_and_says_why() {
    const READER: &str = "reader-secret-0123456789";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[serve]\nping_key = \"{PING_KEY}\"\n\n[[process]]\nname = \"hc-job\"\n\
             interval = \"1h\"\nuuid = \"{UUID}\"\npush_token = \"{PUSH_TOKEN}\"\n\n\
             [[serve.token]]\nname = \"dashboard\"\nsecret = \"{READER}\"\nscopes = [\"read\"]\n"
        ),
    )
    .unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let browser = Browser::start(dir.path(), false);
    browser.open(&format!("http://{}/?token={READER}#/send", serve.addr()));
    browser.wait(
        "the snippets",
        Duration::from_secs(15),
        "return document.querySelectorAll('pre[data-snippet]').length >= 10",
    );
    name_it(&browser, "hc-job");
    browser.wait(
        "the page to say the URLs are withheld",
        Duration::from_secs(5),
        "return [...document.querySelectorAll('.snippet .why')]\
         .filter(w => w.textContent.includes('shown only to a token with the write scope')).length === 2",
    );
    let page = browser.run("return document.body.innerText");
    let page = page.as_str().unwrap();
    for secret in [PING_KEY, UUID, PUSH_TOKEN] {
        assert!(
            !page.contains(secret),
            "{secret} shown to a read token: {page}"
        );
    }
    assert!(snippet(&browser, "kuma").contains("/api/push/<token>"));
    assert!(snippet(&browser, "healthchecks").contains("/ping/<uuid>"));
}

/// The send page's healthchecks.io and Uptime Kuma snippets for the configured `hc-job`:
/// its own URLs, no placeholder left, each of which beats it when run as shown.
fn own_ping_urls_beat(browser: &Browser, dir: &Path, serve: &Serve, base: &str) {
    name_it(browser, "hc-job");
    browser.wait(
        "the process's own ping URLs",
        Duration::from_secs(5),
        &format!(
            "return document.querySelector('pre[data-snippet=\"kuma\"]').textContent.includes('{PUSH_TOKEN}')"
        ),
    );
    let kuma = snippet(browser, "kuma");
    assert!(
        kuma.contains(&format!("{base}/api/push/{PUSH_TOKEN}?status=up")) && !kuma.contains('<'),
        "{kuma}"
    );
    let healthchecks = snippet(browser, "healthchecks");
    for url in [
        format!("{base}/ping/{UUID}\n"),
        format!("{base}/ping/{PING_KEY}/hc-job/start"),
    ] {
        assert!(healthchecks.contains(&url), "{url} in {healthchecks}");
    }
    assert!(!healthchecks.contains('<'), "{healthchecks}");
    // Each URL as its own run, seen in the process's entry: the push beats it; the UUID
    // beats it again; the slug's `/start` starts a run (a new entry, `running`).
    let entry = || {
        let doc = status_json(dir);
        (doc["processes"].as_array().unwrap().iter())
            .find(|p| p["name"] == "hc-job")
            .map(|p| p["entry"].clone())
            .unwrap_or_default()
    };
    let last = |entry: &Value| entry["last_heartbeat"].as_f64().unwrap_or(0.0);
    assert!(entry().is_null(), "not beaten before its snippets ran");
    run_snippet(dir, "sh", &["-c", &kuma]);
    wait_for(
        "the push URL's beat",
        || entry()["beats"] == 1,
        || serve.log(),
    );
    let pushed = entry();
    let curls: Vec<&str> = (healthchecks.lines())
        .filter(|l| l.starts_with("curl "))
        .collect();
    assert_eq!(curls.len(), 2, "{healthchecks}");
    run_snippet(dir, "sh", &["-c", curls[0]]);
    wait_for(
        "the UUID URL's beat",
        || entry()["beats"] == 2 && last(&entry()) > last(&pushed),
        || format!("{}\n{}", entry(), serve.log()),
    );
    run_snippet(dir, "sh", &["-c", curls[1]]);
    wait_for(
        "the slug URL's start",
        || entry()["status"] == "running",
        || format!("{}\n{}", entry(), serve.log()),
    );
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
    std::fs::write(
        dir.path().join("hbmon.toml"),
        format!(
            "[serve]\nping_key = \"{PING_KEY}\"\n\n[[process]]\nname = \"hc-job\"\n\
             interval = \"1h\"\nuuid = \"{UUID}\"\npush_token = \"{PUSH_TOKEN}\"\n"
        ),
    )
    .unwrap();
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
    // Each a copy button, which puts its snippet's text on the clipboard exactly.
    assert_eq!(
        browser.run("return document.querySelectorAll('button[data-copy]').length"),
        json!(ids.len())
    );
    copies_exactly(&browser, &ids);

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
    own_ping_urls_beat(&browser, dir.path(), &serve, &base);

    // And on the page's own feed: the serve saw them.
    browser.open(&format!("{base}/"));
    browser.wait(
        "the beats on the overview",
        Duration::from_secs(15),
        "return ['from-shell', 'from-curl', 'from-python'].every(n => \
         document.querySelector('tr[data-name=\"' + n + '\"]') !== null)",
    );
}
