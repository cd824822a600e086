//! The web dashboard in a real browser: Debian's headless `chromium`, driven through
//! `chromedriver`'s WebDriver HTTP API with `ureq` (already a dependency: no Python, no
//! new crate, and the test is one of the one integration binary's). It fails, never skips,
//! when either is missing: `.ci/tools` installs them.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::hbmon;
use crate::serve::{Serve, Worker, status_json};

/// A name no page may take for markup.
const HOSTILE: &str = "<img src=x onerror=window.hbPwned=1>";

/// A chromedriver of our own, on a free port, and one browser session in it.
pub(crate) struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
}

impl Browser {
    /// A headless chromium, its profile under `dir`: a desktop's window, or a phone's
    /// screen, 375 px wide (emulated: a headless window is at least 500 px wide).
    pub(crate) fn start(dir: &Path, phone: bool) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run chromedriver ({e}): the dashboard's browser test needs \
                     Debian's chromium and chromium-driver (bash .ci/tools installs them)"
                )
            });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            agent,
        };
        let ready = Instant::now() + Duration::from_secs(20);
        while browser.call("GET", "/status", None)["ready"] != true {
            assert!(Instant::now() < ready, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = dir.join("chromium-profile");
        let mut options = json!({
            "binary": which_chromium(),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        if phone {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": 375, "height": 800, "pixelRatio": 2}});
        }
        let session = browser.call(
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "unhandledPromptBehavior": "ignore",
                "goog:chromeOptions": options,
            }}})),
        );
        let id = session["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {session}"));
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    /// A WebDriver command; its `value`.
    pub(crate) fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let reply = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => (self.agent.post(&url))
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        };
        match reply {
            Ok(mut reply) => {
                let text = reply.body_mut().read_to_string().unwrap_or_default();
                let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                doc["value"].clone()
            }
            // chromedriver still starting.
            Err(_) => Value::Null,
        }
    }

    pub(crate) fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    /// What `script` (a function body) returns on the page.
    pub(crate) fn run(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Grants the open page's origin the browser permission `name` (`clipboard-read`),
    /// as a user's "allow" would: the Permissions spec's WebDriver command.
    pub(crate) fn grant(&self, name: &str) {
        let granted = self.call(
            "POST",
            "/permissions",
            Some(json!({"descriptor": {"name": name}, "state": "granted"})),
        );
        assert!(granted.is_null(), "no {name} permission: {granted}");
    }

    /// Waits up to `within` for `script` to return something truthy; how long it took.
    pub(crate) fn wait(&self, what: &str, within: Duration, script: &str) -> Duration {
        let start = Instant::now();
        loop {
            let got = self.run(script);
            if !matches!(got, Value::Null | Value::Bool(false)) && got.get("error").is_none() {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "timed out waiting for {what}: {got}; page: {}",
                self.run("return document.body.innerText")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `text` as keys on the page (`\u{e007}` is Enter).
    pub(crate) fn keys(&self, text: &str) {
        let keys: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let c = c.to_string();
                [
                    json!({"type": "keyDown", "value": c}),
                    json!({"type": "keyUp", "value": c}),
                ]
            })
            .collect();
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": keys}]});
        self.call("POST", "/actions", Some(actions));
    }

    /// Clicks the element `css` finds (a WebDriver click, as a user's: it may open a
    /// dialog, which a script could not wait through).
    pub(crate) fn click(&self, css: &str) {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned();
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.call("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Debian's chromium, which its chromedriver drives.
fn which_chromium() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("no chromium in /usr/bin: bash .ci/tools installs Debian's chromium")
}

/// The rows on the page: name, state and text of each.
const ROWS: &str = "return [...document.querySelectorAll('tbody tr')]\
                    .map(tr => [tr.dataset.name, tr.dataset.state, tr.textContent])";

fn row_state(rows: &Value, name: &str) -> Option<String> {
    rows.as_array()?
        .iter()
        .find(|r| r[0] == name)
        .and_then(|r| r[1].as_str().map(str::to_owned))
}

#[test]
fn the_dashboard_in_chromium_is_live_keeps_writers_text_as_text_and_pauses_with_a_confirm() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = Worker::start();
    hbmon(dir.path())
        .args(["beat", "worker", "--pid", &worker.pid()])
        .assert()
        .success();
    hbmon(dir.path()).args(["beat", HOSTILE]).assert().success();
    let serve = Serve::start(dir.path(), "serve.log");
    let url = format!("http://{}/", serve.addr());
    let browser = Browser::start(dir.path(), false);
    browser.open(&url);
    browser.wait(
        "the rows",
        Duration::from_secs(15),
        "return document.querySelectorAll('tbody tr').length >= 2",
    );
    let rows = browser.run(ROWS);
    assert_eq!(row_state(&rows, "worker").as_deref(), Some("up"), "{rows}");
    let text = rows.to_string();
    assert!(text.contains("● up"), "the state's symbol and word: {rows}");
    // The hostile name is shown as its characters, and nothing of it ran.
    assert!(text.contains(HOSTILE), "{rows}");
    assert_eq!(
        browser.run(
            "return [window.hbPwned === undefined, document.querySelectorAll('main img').length]"
        ),
        json!([true, 0])
    );
    // Nothing critical yet: no count in the tab's title.
    let title = browser.run("return document.title");
    assert!(title.as_str().unwrap().starts_with("hbmon — "), "{title}");
    // The terminal UI's keys: `/` to the filter, `j` to a row, Enter opens it.
    browser.keys("/");
    assert_eq!(
        browser.run("return document.activeElement.id"),
        json!("filter")
    );
    browser.run("document.activeElement.blur()");
    browser.keys("j\u{e007}");
    browser.wait(
        "a process page opened by Enter",
        Duration::from_secs(5),
        "return location.hash.startsWith('#/process/')",
    );
    browser.open(&url);
    browser.wait(
        "the rows again",
        Duration::from_secs(15),
        "return document.querySelectorAll('tbody tr').length >= 2",
    );
    // A beat from outside is on the open page within 2 s, without a reload.
    browser.run("window.notReloaded = true");
    hbmon(dir.path()).args(["beat", "fresh"]).assert().success();
    let took = browser.wait(
        "the new beat on the page",
        Duration::from_secs(2),
        "return document.querySelector('tr[data-name=\"fresh\"]') !== null",
    );
    assert_eq!(browser.run("return window.notReloaded"), json!(true));
    eprintln!("the beat was on the page after {took:?}");
    // A killed process turns dead, and the tab's title counts it.
    worker.kill();
    browser.wait(
        "worker dead",
        Duration::from_secs(10),
        "return document.querySelector('tr[data-name=\"worker\"]').dataset.state === 'dead'",
    );
    browser.wait(
        "the critical count in the title",
        Duration::from_secs(5),
        "return document.title.startsWith('(1) ')",
    );
    // Its page: the plots, and a pause behind a confirm.
    browser.open(&format!("{url}#/process/worker"));
    browser.wait(
        "the process page's plots",
        Duration::from_secs(10),
        "return document.querySelectorAll('svg.plot').length === 2",
    );
    browser.click("button[data-action=pause]");
    let question = browser.call("GET", "/alert/text", None);
    assert_eq!(question, json!("Pause worker until resumed?"));
    browser.call("POST", "/alert/accept", Some(json!({})));
    browser.wait(
        "worker paused in the file",
        Duration::from_secs(10),
        "return document.querySelector('button[data-action=resume]') !== null",
    );
    let status = status_json(dir.path());
    let worker_row = (status["processes"].as_array().unwrap().iter())
        .find(|p| p["name"] == "worker")
        .unwrap();
    assert_eq!(worker_row["state"], "paused", "{worker_row}");
}
