//! The remote view on screen: a HOST column once another machine's rows are in, and a
//! line for a remote without rows.

use std::sync::Arc;

use super::{render, screen};
use crate::health::{Health, State};
use crate::remote::RemoteError;
use crate::report::{Report, Row};
use crate::tui::App;
use crate::tui::app::Action;
use crate::tui::fixtures::{NOW, row};
use crate::tui::remote::Stale;

/// A row as `host`'s serve judged it, its clock 40 min behind ours.
fn theirs(host: &str, name: &str, state: State, age: f64) -> Row {
    let judged = NOW - 2400.0;
    let mut row = row(name, state, age);
    if let Some(entry) = &mut row.entry {
        Arc::make_mut(entry).last_heartbeat = judged - age;
    }
    row.health = Health::new(state, format!("{state} for the test"), Some(judged - age));
    Row {
        host: Some(host.to_owned()),
        judged_at: Some(judged),
        ..row
    }
}

#[test]
fn remote_rows_show_their_host_and_a_remote_without_rows_says_since_when() {
    let here = |r: Row| Row {
        host: Some("devbox".into()),
        ..r
    };
    let report = Report {
        now: NOW,
        rows: vec![
            here(row("web", State::Up, 2.0)),
            here(row("indexer", State::Late, 50.0)),
            theirs("box2", "web", State::Up, 3.0),
            theirs("box2", "backup", State::Dead, 700.0),
        ],
        ..Report::default()
    };
    let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, false);
    app.update(Action::Report(Arc::new(report)));
    app.update(Action::Remotes(vec![Stale {
        name: "box3".into(),
        since: NOW - 30.0,
        why: Some(RemoteError::Unreachable("connection refused".into())),
    }]));
    let text = screen(&render(&mut app, 110, 14));
    assert!(
        text.contains("box3: unreachable since hh:mm:ss (connection refused)"),
        "{text}"
    );
    insta::assert_snapshot!(text);

    // The selected row is box2's `backup`: its detail counts on box2's clock (dead 11m40s
    // ago, not 51m40s) and sends to box2 for its history, not to this machine's.
    app.update(Action::ToggleDetail);
    let detail = screen(&render(&mut app, 110, 40));
    assert!(detail.contains("History: in box2's hbmon"), "{detail}");
    assert!(!detail.contains("no transitions yet"), "{detail}");
    assert!(!detail.contains("51m"), "{detail}");
}

#[test]
fn a_remote_rows_detail_never_takes_since_when_from_this_machines_same_named_process() {
    // box2 judged `backup` dead without a since; this machine's history has its own
    // `backup`, dead since long before: that date is not box2's.
    let mut remote = theirs("box2", "backup", State::Dead, 700.0);
    remote.health = Health::new(State::Dead, "pid gone".to_owned(), None);
    let report = Report {
        now: NOW,
        rows: vec![remote],
        ..Report::default()
    };
    let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, false);
    app.update(Action::Report(Arc::new(report)));
    let local = crate::changes::Transition {
        name: "backup".into(),
        time: NOW - 86_400.0,
        from: Some(State::Up),
        to: State::Dead,
        severity: State::Dead.severity(),
        reason: "gone".into(),
        since: None,
    };
    app.update(Action::History(Box::new(crate::tui::recent::Recent {
        at: NOW,
        selected: Some(crate::tui::recent::Selected {
            name: "backup".into(),
            beats: vec![],
            transitions: vec![local],
            log: Vec::new(),
        }),
        ..crate::tui::recent::Recent::default()
    })));
    app.update(Action::ToggleDetail);
    let detail = screen(&render(&mut app, 110, 40));
    assert!(detail.contains("pid gone"), "{detail}");
    assert!(!detail.contains("Dead since"), "{detail}");
}
