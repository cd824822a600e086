//! The overview in chromium applies the stream's updates to what it holds, not a new
//! document each time: a beaten row changes and one removed goes while the others stay
//! the very rows the page had, and their ages count on from each update's `now`, as the
//! server would write them.

use std::time::Duration;

use serde_json::json;

use crate::browser::Browser;
use crate::hbmon;
use crate::serve::Serve;

/// A cell's text of the row `name`, by its column's title, on the page (a script's
/// expression).
fn cell(name: &str, title: &str) -> String {
    format!(
        "(() => {{ const at = hbmon.state.doc.columns.findIndex((c) => c.title === '{title}');\
         const tr = document.querySelector('tr[data-name=\"{name}\"]');\
         return tr ? tr.querySelector('td[data-col=\"' + at + '\"]').textContent : null; }})()"
    )
}

#[test]
fn the_page_applies_updates_a_beaten_row_changes_a_removed_one_goes_and_the_rest_stay_and_age() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["worker", "steady", "gone"] {
        hbmon(dir.path())
            .args(["beat", name, "--no-pid"])
            .assert()
            .success();
    }
    let serve = Serve::start(dir.path(), "serve.log");
    let browser = Browser::start(dir.path(), false);
    browser.open(&format!("http://{}/", serve.addr()));
    browser.wait(
        "the rows",
        Duration::from_secs(15),
        "return document.querySelectorAll('tbody tr').length === 3",
    );
    // The page's own object for `steady`: an update that does not name it keeps it.
    browser.run(
        "const p = hbmon.state.doc.processes.find((p) => p.name === 'steady');\
         p.$mark = 'kept'; window.firstSeq = hbmon.state.seq;",
    );
    let age = browser.run(&format!("return {}", cell("steady", "LAST BEAT")));
    hbmon(dir.path())
        .args(["beat", "worker", "--no-pid"])
        .assert()
        .success();
    browser.wait(
        "worker's second beat on the page",
        Duration::from_secs(2),
        &format!("return {} === '2'", cell("worker", "BEATS")),
    );
    hbmon(dir.path()).args(["rm", "gone"]).assert().success();
    browser.wait(
        "the removed row gone",
        Duration::from_secs(3),
        "return document.querySelector('tr[data-name=\"gone\"]') === null",
    );
    assert_eq!(
        browser.run(
            "return [hbmon.state.doc.processes.find((p) => p.name === 'steady').$mark,\
             hbmon.state.seq > window.firstSeq]"
        ),
        json!(["kept", true]),
        "the rows not named in an update stay the page's own"
    );
    // Its age counted on by the page, its reason with it.
    browser.wait(
        "steady's age counted on",
        Duration::from_secs(5),
        &format!("return {} !== {age}", cell("steady", "LAST BEAT")),
    );
    let shown = browser.run(&format!(
        "const age = {};\
         const state = document.querySelector('tr[data-name=\"steady\"] td.sev-ok');\
         return [age, state.title]",
        cell("steady", "LAST BEAT")
    ));
    let age = shown[0].as_str().unwrap();
    assert!(
        age.ends_with("s ago") && age[..age.len() - 5].parse::<u32>().is_ok(),
        "{shown}"
    );
    assert_eq!(shown[1], json!(format!("beat {age}")), "{shown}");
}
