//! Every page of the dashboard at a phone's width (375 px, emulated in headless chromium by
//! `browser.rs`'s driver): none scrolls sideways — tables, code and plots scroll or wrap
//! inside their own box — and the overview drops columns by the terminal UI's rank.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::hbmon;
use crate::serve::Serve;

/// The page's widths — the window's (a phone's browser zooms out to show a page that is
/// too wide, which widens it), the document's and the body's — and every element whose
/// content sticks out of its box (an unbreakable word, a wide child) where no box around
/// it scrolls or clips: a table in its `.wrap` or a snippet's `pre` may be wide, they
/// scroll. An element's box alone would miss text overflowing it.
const WIDTHS: &str = "const held = (e) => { \
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) { \
        if (getComputedStyle(a).overflowX !== 'visible') return true; \
      } \
      return false; \
    }; \
    const out = [...document.querySelectorAll('body *')].filter((e) => \
        (e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > innerWidth) \
        && getComputedStyle(e).overflowX === 'visible' \
        && getComputedStyle(e).position !== 'fixed' && !held(e)) \
      .map((e) => e.tagName + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth \
        + ': ' + e.textContent.slice(0, 60)); \
    return [window.innerWidth, document.documentElement.scrollWidth, document.body.scrollWidth, \
            out]";

/// Fails unless nothing on the open page (`page`, for the message) is wider than the
/// phone's screen.
fn fits(browser: &Browser, page: &str) {
    let widths = browser.run(WIDTHS);
    let inner = widths[0].as_u64().unwrap();
    assert!(
        inner <= 400,
        "{page}: the window is a phone's width (wider: zoomed out to fit): {widths}"
    );
    for (at, what) in [(1, "the document"), (2, "the body")] {
        let width = widths[at]
            .as_u64()
            .unwrap_or_else(|| panic!("{page}: {widths}"));
        assert!(
            width <= inner,
            "{page}: {what} is wider than the window: {widths}"
        );
    }
    assert_eq!(widths[3], json!([]), "{page}: these stick out: {widths}");
}

#[test]
fn every_dashboard_page_at_a_phones_width_fits_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    // A long name with no place to break, long data and a long command line (this test
    // binary's own path and arguments): what a page would lay out widest.
    let me = std::process::id().to_string();
    for name in [
        "a_rather_long_process_name_without_any_break",
        "backup",
        "web",
    ] {
        hbmon(dir.path())
            .args([
                "beat",
                name,
                "--pid",
                &me,
                "--data",
                r#"{"note": "a long line of additional data that would push the table wide"}"#,
            ])
            .assert()
            .success();
    }
    let serve = Serve::start(dir.path(), "serve.log");
    let url = format!("http://{}/", serve.addr());
    let browser = Browser::start(dir.path(), true);

    browser.open(&url);
    browser.wait(
        "the overview's rows",
        Duration::from_secs(15),
        "return document.querySelectorAll('tbody tr').length === 3",
    );
    fits(&browser, "the overview");
    // Columns were dropped by the UI's rank, NAME and STATE kept.
    let shown = browser.run(
        "return [...document.querySelectorAll('thead th')]\
         .filter(th => getComputedStyle(th).display !== 'none').map(th => th.textContent)",
    );
    let shown = shown.to_string();
    assert!(shown.contains("NAME") && shown.contains("STATE"), "{shown}");
    assert!(!shown.contains("BEATS"), "the first to drop: {shown}");

    // Each other page, opened as a user would, once it has drawn what it draws.
    for (page, hash, drawn) in [
        (
            "the process page",
            "#/process/a_rather_long_process_name_without_any_break",
            "return document.querySelectorAll('svg.plot').length === 2 \
             && document.querySelector('dl.facts') !== null",
        ),
        (
            "the history page",
            "#/history",
            "return document.querySelectorAll('.lane[data-name] svg.plot').length === 3",
        ),
        (
            "the send page",
            "#/send",
            "return document.querySelectorAll('pre[data-snippet]').length >= 10",
        ),
    ] {
        // A page of its own, loaded afresh: not left zoomed out by the one before.
        browser.open("about:blank");
        browser.open(&format!("{url}{hash}"));
        browser.wait(page, Duration::from_secs(15), drawn);
        fits(&browser, page);
        let still: Value = browser.run("return location.hash");
        assert_eq!(still, hash, "{page} stayed open");
    }
}
