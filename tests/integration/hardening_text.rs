//! Hostile text and hostile pages, end to end: control characters from writers and requests
//! reach no terminal or log raw; a browser cannot write with a GET; a ping body the file
//! could not keep is a 400.

use std::cell::RefCell;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::hbmon;
use crate::serve::{Serve, call, get, send, wait_for};

/// What `hbmon beat --error $'\e]0;pwned\a\e[2J'` sends: retitles the terminal, clears it.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
/// [`HOSTILE`] as hbmon shows it.
const HOSTILE_SHOWN: &str = r"\u{1b}]0;pwned\u{7}\u{1b}[2J";
/// A name that shows its end backwards (`evil` + RIGHT-TO-LEFT OVERRIDE + `txt`).
const REVERSED: &str = "evil\u{202e}txt";
const REVERSED_SHOWN: &str = r"evil\u{202e}txt";

/// Fails if `text` (the output `what`) has any of the characters the writers sent raw.
fn assert_no_raw(what: &str, text: &str) {
    for raw in ['\u{1b}', '\u{7}', '\u{202e}', '\u{2028}'] {
        assert!(
            !text.contains(raw),
            "{what} has a raw {raw:?}:\n{}",
            text.escape_debug()
        );
    }
}

fn assert_shows(what: &str, text: &str, shown: &[&str]) {
    assert_no_raw(what, text);
    for s in shown {
        assert!(text.contains(s), "{what} lacks {s}:\n{text}");
    }
}

/// `hbmon history NAME`'s output once it has `expected`.
fn history(dir: &Path, name: &str, expected: &str) -> String {
    let out = RefCell::new(String::new());
    wait_for(
        &format!("{expected:?} in hbmon history"),
        || {
            let run = hbmon(dir)
                .args(["history", name, "--beats"])
                .output()
                .unwrap();
            *out.borrow_mut() = String::from_utf8(run.stdout).unwrap();
            out.borrow().contains(expected)
        },
        || out.borrow().clone(),
    );
    out.into_inner()
}

/// The error message of serve's hostile ping, as hbmon shows it.
const PINGED_SHOWN: &str = r"\u{1b}]0;pwned\u{7}\u{1b}[2J\u{2028}forged";

/// Starts serve on `dir`, with an alert command that appends `HBMON_TEXT`, `HBMON_NAME`
/// and `HBMON_REASON` to `alerts.txt`, and has every hostile writer write: an error with
/// [`HOSTILE`], the name [`REVERSED`], data with U+2028, and serve's own ping with
/// `%1b%5d0%3b…%07%1b%5b2J` and a LINE SEPARATOR to forge a line. Returns once serve has
/// seen them all and alerted.
fn hostile_writers(dir: &Path) -> Serve {
    let alerts = dir.join("alerts.txt");
    fs::write(
        dir.join("hbmon.toml"),
        format!(
            "[[alert]]\ncommand = '''printf '%s\\n' \"$HBMON_TEXT\" \"$HBMON_NAME\" \
             \"$HBMON_REASON\" >> \"{}\"'''\ndigest = \"0s\"\n",
            alerts.display()
        ),
    )
    .unwrap();
    let serve = Serve::start(dir, "serve.log");
    let addr = serve.addr();
    hbmon(dir)
        .args(["beat", "web", "--error", HOSTILE, "-q"])
        .assert()
        .success();
    hbmon(dir).args(["beat", REVERSED, "-q"]).assert().success();
    hbmon(dir)
        .args(["beat", "data", "--data", r#"{"note": "a\u2028b"}"#, "-q"])
        .assert()
        .success();
    let ping = get(
        addr,
        "/ping/pinged?status=error&msg=%1b%5d0%3bpwned%07%1b%5b2J%e2%80%a8forged",
    );
    assert_eq!(ping.status, 200, "{ping:?}");
    for logged in [
        "web: new -> error (reported an error".to_owned(),
        format!("{REVERSED_SHOWN}: new -> up"),
        "pinged: new -> error (reported an error".to_owned(),
    ] {
        serve.wait_log(&logged);
    }
    wait_for(
        "both error alerts",
        || {
            let sent = fs::read_to_string(&alerts).unwrap_or_default();
            sent.contains("web is error") && sent.contains("pinged is error")
        },
        || serve.log(),
    );
    serve
}

#[test]
fn control_characters_from_writers_and_pings_reach_no_output_raw() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mut serve = hostile_writers(dir);

    // The file keeps what the writers wrote; JSON carries it exactly.
    let json = hbmon(dir)
        .args(["status", "--json"])
        .output()
        .unwrap()
        .stdout;
    let doc: Value = serde_json::from_slice(&json).unwrap();
    let names: Vec<&str> = doc["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&REVERSED), "{names:?}");
    let web = doc["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "web")
        .unwrap();
    assert_eq!(web["entry"]["last_error"], HOSTILE, "{web:#}");

    let status = hbmon(dir)
        .arg("status")
        .env("COLUMNS", "250")
        .output()
        .unwrap();
    let status = String::from_utf8(status.stdout).unwrap();
    assert_shows(
        "hbmon status",
        &status,
        &[
            REVERSED_SHOWN,
            "-> reported an error",
            HOSTILE_SHOWN,
            r"note=a\u{2028}b",
            PINGED_SHOWN,
        ],
    );

    let web = history(dir, "web", "beat (error)");
    assert_shows("hbmon history web", &web, &[HOSTILE_SHOWN]);
    let reversed = history(dir, REVERSED, "beat (alive)");
    assert_shows("hbmon history <reversed>", &reversed, &[REVERSED_SHOWN]);
    let data = history(dir, "data", "beat (alive)");
    assert_shows("hbmon history data", &data, &[r"note=a\u{2028}b"]);
    let pinged = history(dir, "pinged", "beat (error)");
    assert_shows("hbmon history pinged", &pinged, &[PINGED_SHOWN]);

    assert!(serve.terminate().success());
    assert_shows(
        "serve's stderr",
        &serve.log(),
        &[
            "web: new -> error (reported an error",
            HOSTILE_SHOWN,
            &format!("{REVERSED_SHOWN}: new -> up"),
            PINGED_SHOWN,
        ],
    );
    let sent = fs::read_to_string(dir.join("alerts.txt")).unwrap();
    assert_shows(
        "the alert command's HBMON_TEXT, HBMON_NAME and HBMON_REASON",
        &sent,
        &[HOSTILE_SHOWN, PINGED_SHOWN],
    );
}

/// What an old browser (Safari 12: no `Sec-Fetch-*`) sends for `<img src=…>` on a page with
/// `referrerpolicy="no-referrer"`: no `Origin`, no `Referer`.
const OLD_BROWSER_IMG: &str = "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6) \
    AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Safari/605.1.15\r\n\
    Accept: image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5\r\n\
    Accept-Language: en-us\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n";

#[test]
fn a_browser_cannot_ping_with_a_get_but_curl_and_the_address_bar_still_can() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let get_with = |target: &str, headers: &str| {
        let head = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}\r\n");
        send(addr, head.as_bytes())
    };

    let img = get_with("/ping/x?stopped", OLD_BROWSER_IMG);
    assert_eq!(img.status, 403, "{img:?}");
    assert_eq!(
        img.body,
        "refused: this GET would write, and it has a browser's User-Agent (Mozilla/…), which \
         only browsers send: any web page can make a browser send a GET; ping with POST \
         (curl -d '' URL)\n"
    );
    // Each of what a browser adds on its own is enough; even a Referer from this server.
    for header in [
        "Accept-Language: de-DE,de;q=0.9".to_owned(),
        "Cookie: session=1".to_owned(),
        format!("Referer: http://{addr}/status"),
    ] {
        let refused = get_with("/ping/x/fail", &format!("User-Agent: x\r\n{header}\r\n"));
        assert_eq!(refused.status, 403, "{header}: {refused:?}");
        assert!(
            refused.body.starts_with("refused: this GET would write"),
            "{header}: {refused:?}"
        );
    }
    // A Referer from another origin: a page sent it, so reading is refused too.
    for target in ["/status", "/ping/x?stopped"] {
        let elsewhere = get_with(target, "Referer: http://evil.example/page\r\n");
        assert_eq!(elsewhere.status, 403, "{target}: {elsewhere:?}");
        assert_eq!(
            elsewhere.body,
            "refused: a web page sent this request (its Referer is another origin); the API \
             is for local tools\n"
        );
    }
    assert!(!dir.path().join("hb.json").exists(), "a refused ping wrote");

    // The same browser's address bar still reads.
    let bar = get_with("/status", OLD_BROWSER_IMG);
    assert_eq!(bar.status, 200, "{bar:?}");
    // curl's GET ping still writes, and a POST from a client with a browser's User-Agent
    // (PowerShell's Invoke-WebRequest) too.
    let curl = get_with("/ping/x", "User-Agent: curl/8.5.0\r\nAccept: */*\r\n");
    assert_eq!(
        (curl.status, crate::ping::said(&curl)),
        (200, "OK alive \"x\" (beat 1)")
    );
    let powershell = send(
        addr,
        format!(
            "POST /ping/x HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Mozilla/5.0 (Windows NT \
             10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.1\r\n\
             Content-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(
        (powershell.status, crate::ping::said(&powershell)),
        (200, "OK alive \"x\" (beat 2)")
    );
}

#[test]
fn a_ping_body_nested_deeper_than_the_file_keeps_is_400_not_500() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve.log");
    let addr = serve.addr();
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    for levels in [127, 128, 5000] {
        let deep = call(addr, "POST", "/ping/deep", &nested(levels));
        assert_eq!(
            (deep.status, deep.body.as_str()),
            (
                400,
                "the body is JSON nested more than 126 levels deep, deeper than the heartbeat \
                 file's readers go\n"
            ),
            "{levels} levels"
        );
    }
    assert!(!dir.path().join("hb.json").exists(), "a refused ping wrote");
    let kept = call(addr, "POST", "/ping/deep", &nested(126));
    assert_eq!(kept.status, 200, "{kept:?}");
    // Kept and read back: a valid entry, not an invalid one. (The table: `--json` would
    // nest the data deeper than serde_json parses.)
    let status = hbmon(dir.path()).arg("status").output().unwrap();
    let table = String::from_utf8(status.stdout).unwrap();
    assert!(table.contains("deep") && table.contains("1 up"), "{table}");
    assert!(!table.contains("INVALID"), "{table}");
}
