//! The tree view (`t`): dependents indented under what they need, a process with two
//! parents under the first, and the detail pane's both directions.

use super::{render, screen};
use crate::health::{Health, State};
use crate::report::Row;
use crate::tui::App;
use crate::tui::app::Action;
use crate::tui::fixtures::{NOW, monitored, observe, report, row};

/// `db` dead under `api` (which also needs `cache`) and `worker`, both blocked by it;
/// `web` needs `api`; `cache` up; one additional process.
fn stack() -> App {
    let needs = |mut r: Row, deps: &[&str]| {
        r.depends_on = deps.iter().map(|&d| d.to_owned()).collect();
        if r.health.state == State::Blocked {
            r.blocked_by = vec!["db".to_owned()];
            r.health = Health::new(
                State::Blocked,
                "blocked: db is dead (own: dead, pid 4242 is gone)",
                Some(NOW - 30.0),
            );
        }
        r
    };
    let rows = vec![
        needs(monitored(row("web", State::Up, 2.0), "Web"), &["api"]),
        needs(
            monitored(row("api", State::Blocked, 40.0), "API"),
            &["db", "cache"],
        ),
        monitored(row("db", State::Dead, 40.0), "Database"),
        monitored(row("cache", State::Up, 3.0), "Cache"),
        needs(
            monitored(row("worker", State::Blocked, 35.0), "Worker"),
            &["db"],
        ),
        row("scraper", State::Late, 50.0),
    ];
    let mut app = App::new("~/hb.json".into(), NOW - 312.0, true);
    observe(&mut app, report(rows));
    app
}

#[test]
fn the_tree_view_indents_dependents_under_what_they_need() {
    let mut app = stack();
    app.update(Action::ToggleTree);
    let shown = screen(&render(&mut app, 100, 16));
    insta::assert_snapshot!(shown);
    // Flat again: the state sort, no indent.
    app.update(Action::ToggleTree);
    let flat = screen(&render(&mut app, 100, 16));
    assert!(!flat.contains('└'), "{flat}");
}

#[test]
fn the_detail_pane_lists_what_a_process_needs_and_what_needs_it() {
    let mut app = stack();
    app.update(Action::ToggleTree);
    // The tree: Database, API, Web, Worker, Cache.
    app.update(Action::Move(1));
    app.update(Action::ToggleDetail);
    let shown = screen(&render(&mut app, 100, 30));
    assert!(shown.contains("Needs        db, cache"), "{shown}");
    assert!(shown.contains("Needed by    web"), "{shown}");
    insta::assert_snapshot!(shown);
}
