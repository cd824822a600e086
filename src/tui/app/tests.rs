//! The app's state machine, driven by actions as the event loop drives it.

use std::sync::Arc;

use super::*;
use crate::changes::{Seen, Tracker};
use crate::health::{Health, State};
use crate::monitor::Trouble;
use crate::tui::fixtures::{self, NOW, crowd, many, mixed, monitored, row};

/// An app on `report` showing every row, the stopped additional ones too (`a`): these
/// tests are about moving, sorting and filtering; hiding has its own.
fn app_with(report: Report) -> App {
    let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
    app.update(Action::ToggleAll);
    app.update(Action::Report(Arc::new(report)));
    app
}

fn names(app: &App, table: Table) -> Vec<&str> {
    app.rows(table).map(|r| r.name.as_str()).collect()
}

fn selected(app: &App) -> &str {
    app.selected_row().map_or("", |r| r.name.as_str())
}

#[test]
fn rows_split_into_tables_worst_first() {
    let app = app_with(mixed());
    assert_eq!(
        names(&app, Table::Monitored),
        [
            "vue-frontend",
            "websocket-reader",
            "bidder",
            "nightly-backup"
        ]
    );
    assert_eq!(
        names(&app, Table::Additional),
        ["report-job", "scraper", "test-process-1", "old-worker"]
    );
    assert_eq!(app.total(Table::Monitored), 4);
    assert_eq!(selected(&app), "vue-frontend");
}

#[test]
fn the_cursor_walks_both_tables_and_stops_at_the_ends() {
    let mut app = app_with(mixed());
    app.update(Action::Move(-1));
    assert_eq!(selected(&app), "vue-frontend");
    app.update(Action::Move(4));
    assert_eq!(selected(&app), "report-job");
    assert_eq!(app.cursor_in(Table::Additional), Some(0));
    assert_eq!(app.cursor_in(Table::Monitored), None);
    app.update(Action::Bottom);
    assert_eq!(selected(&app), "old-worker");
    app.update(Action::Move(5));
    assert_eq!(selected(&app), "old-worker");
    app.update(Action::Top);
    assert_eq!(selected(&app), "vue-frontend");
}

#[test]
fn the_selection_follows_its_process_when_the_order_changes() {
    let mut app = app_with(mixed());
    app.update(Action::Move(2)); // bidder, up
    assert_eq!(selected(&app), "bidder");
    let mut next = mixed();
    next.rows[0].health = Health::new(State::Dead, "pid gone", Some(NOW));
    app.update(Action::Report(Arc::new(next)));
    assert_eq!(selected(&app), "bidder");
    assert_eq!(app.cursor_in(Table::Monitored), Some(0));
}

#[test]
fn a_vanished_selection_falls_to_the_nearest_row() {
    let mut app = app_with(mixed());
    app.update(Action::Bottom);
    let mut next = mixed();
    next.rows.retain(|r| r.name != "old-worker");
    app.update(Action::Report(Arc::new(next)));
    assert_eq!(selected(&app), "test-process-1");
    app.update(Action::Report(Arc::new(fixtures::report(vec![]))));
    assert_eq!(app.selected_row(), None);
    app.update(Action::Move(1));
    assert_eq!(app.selected_row(), None);
}

#[test]
fn the_filter_narrows_live_and_enter_keeps_it() {
    let mut app = app_with(mixed());
    app.update(Action::StartFilter);
    assert_eq!(app.mode(), &Mode::Filter);
    for c in "WEB".chars() {
        app.update(Action::FilterChar(c));
    }
    // Case-insensitive, on the name and the label ("WebSocket Reader").
    assert_eq!(names(&app, Table::Monitored), ["websocket-reader"]);
    assert!(names(&app, Table::Additional).is_empty());
    app.update(Action::FilterBackspace);
    app.update(Action::FilterBackspace);
    assert_eq!(app.filter(), "W");
    app.update(Action::FilterChar('o'));
    assert_eq!(app.update(Action::FilterKeep), None);
    assert_eq!(app.mode(), &Mode::Normal);
    assert_eq!(app.filter(), "Wo");
    assert_eq!(names(&app, Table::Additional), ["old-worker"]);
    // Esc first clears the filter, then quits.
    assert_eq!(app.update(Action::Back), None);
    assert_eq!(app.filter(), "");
    assert_eq!(app.len(Table::Additional), 4);
    assert_eq!(app.update(Action::Back), Some(Effect::Quit));
}

#[test]
fn esc_in_the_filter_drops_it() {
    let mut app = app_with(mixed());
    app.update(Action::StartFilter);
    app.update(Action::FilterChar('z'));
    assert_eq!(app.len(Table::Monitored) + app.len(Table::Additional), 0);
    app.update(Action::FilterClear);
    assert_eq!((app.mode(), app.filter()), (&Mode::Normal, ""));
    assert_eq!(app.len(Table::Additional), 4);
}

#[test]
fn sort_cycles_and_reverses() {
    let mut app = app_with(mixed());
    app.update(Action::CycleSort);
    assert_eq!(app.sort(), (Column::Name, false));
    assert_eq!(
        names(&app, Table::Additional),
        ["old-worker", "report-job", "scraper", "test-process-1"]
    );
    app.update(Action::ReverseSort);
    assert_eq!(app.sort(), (Column::Name, true));
    assert_eq!(names(&app, Table::Additional)[0], "test-process-1");
    app.update(Action::ReverseSort);
    app.update(Action::CycleSort);
    assert_eq!(app.sort().0, Column::LastBeat);
    assert_eq!(
        names(&app, Table::Monitored),
        [
            "bidder",
            "websocket-reader",
            "vue-frontend",
            "nightly-backup"
        ]
    );
    for key in [Column::Cpu, Column::Memory, Column::State] {
        app.update(Action::CycleSort);
        assert_eq!(app.sort().0, key);
    }
}

#[test]
fn cpu_sort_puts_the_busiest_first_and_dead_processes_last() {
    let mut report = mixed();
    // An unknown CPU (no second sample yet) sorts with the processes that have none.
    for (row, cpu) in report
        .rows
        .iter_mut()
        .zip([5.0, 80.0, 0.0, 0.0, 20.0, f32::NAN])
    {
        if let Some(p) = &mut row.process {
            p.cpu_percent = cpu;
        }
    }
    let mut app = app_with(report);
    app.update(Action::CycleSort);
    app.update(Action::CycleSort);
    app.update(Action::CycleSort);
    assert_eq!(app.sort().0, Column::Cpu);
    assert_eq!(
        names(&app, Table::Additional),
        ["test-process-1", "old-worker", "report-job", "scraper"]
    );
}

/// What the event loop does with an update: the report, and the transitions the
/// monitor's tracker saw in it.
fn observe(app: &mut App, tracker: &mut Tracker, report: Report) -> usize {
    let transitions = tracker.observe(&report).transitions;
    let seen = transitions.len();
    app.update(Action::Report(Arc::new(report)));
    app.update(Action::Transitions(transitions));
    seen
}

#[test]
fn state_changes_between_reports_are_transitions_to_record() {
    let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
    let mut tracker = Tracker::default();
    assert_eq!(observe(&mut app, &mut tracker, mixed()), 8, "all new");
    assert_eq!(app.transitions("bidder").count(), 1);
    let mut later = mixed();
    later.now = NOW + 10.0;
    later.rows[0].health = Health::new(State::Late, "no beat for 46s", Some(NOW + 10.0));
    assert_eq!(observe(&mut app, &mut tracker, later.clone()), 1);
    let seen: Vec<_> = app
        .transitions("bidder")
        .map(|t| (t.from, t.to, t.time, t.reason.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (None, State::Up, NOW, "up for the test"),
            (Some(State::Up), State::Late, NOW + 10.0, "no beat for 46s")
        ]
    );
    // The same report again changes nothing.
    assert_eq!(observe(&mut app, &mut tracker, later), 0);
    assert_eq!(app.transitions("bidder").count(), 2);
}

#[test]
fn remembered_states_are_not_new_and_history_leads_the_timeline() {
    let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
    let mut tracker = Tracker::default();
    tracker.remember(
        "a",
        Seen {
            state: Some(State::Dead),
            last_beat: Some(NOW - 100.0),
        },
    );
    let mut dead = row("a", State::Dead, 100.0);
    dead.entry_mut().last_heartbeat = NOW - 100.0;
    assert_eq!(
        observe(&mut app, &mut tracker, fixtures::report(vec![dead])),
        0
    );
    let stored = Transition {
        name: "a".into(),
        time: NOW - 100.0,
        from: Some(State::Up),
        to: State::Dead,
        severity: State::Dead.severity(),
        reason: "gone".into(),
        since: None,
    };
    app.update(Action::History(Box::new(Recent {
        at: NOW,
        selected: Some(crate::tui::recent::Selected {
            name: "a".into(),
            beats: vec![],
            transitions: vec![stored.clone()],
        }),
        ..Recent::default()
    })));
    let mut up = fixtures::report(vec![row("a", State::Up, 0.0)]);
    up.now = NOW + 5.0;
    observe(&mut app, &mut tracker, up);
    let timeline: Vec<_> = app.timeline("a").iter().map(|t| (t.to, t.time)).collect();
    assert_eq!(
        timeline,
        [(State::Up, NOW + 5.0), (State::Dead, NOW - 100.0)]
    );
}

#[test]
fn history_is_read_only_while_the_screen_shows_it() {
    let mut app = app_with(mixed());
    assert!(!app.shows_history(), "the tables alone show no history");
    app.update(Action::ToggleDetail);
    assert!(
        app.shows_history(),
        "the detail pane shows the selection's history"
    );
    app.update(Action::ToggleDetail);
    app.update(Action::ToggleTab);
    assert!(app.shows_history(), "the history tab");
}

#[test]
fn tab_cycles_tables_last_hour_last_day() {
    let mut app = app_with(mixed());
    assert_eq!(app.tab(), Tab::Processes);
    for expected in [Tab::LastHour, Tab::LastDay, Tab::Processes] {
        app.update(Action::ToggleTab);
        assert_eq!(app.tab(), expected);
    }
}

#[test]
fn transitions_are_bounded_per_process() {
    let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
    let mut tracker = Tracker::default();
    observe(
        &mut app,
        &mut tracker,
        fixtures::report(vec![row("flap", State::Up, 0.0)]),
    );
    for i in 0..40 {
        let state = if i % 2 == 0 { State::Late } else { State::Up };
        let mut report = fixtures::report(vec![row("flap", state, 0.0)]);
        report.now = NOW + f64::from(i);
        observe(&mut app, &mut tracker, report);
    }
    assert_eq!(app.transitions("flap").count(), TRANSITIONS_KEPT);
    assert_eq!(
        app.transitions("flap").last().map(|t| t.time),
        Some(NOW + 39.0)
    );
}

#[test]
fn troubles_stand_over_new_reports_until_the_monitor_says_they_are_over() {
    let mut app = app_with(mixed());
    let bad = vec![Trouble::unreadable("bad json", NOW)];
    app.update(Action::Troubles(bad.clone()));
    assert_eq!(app.report().rows.len(), 8);
    // The engine re-judges the last good read: the error stands.
    app.update(Action::Report(Arc::new(mixed())));
    assert_eq!(app.troubles(), bad);
    app.update(Action::Troubles(Vec::new()));
    assert!(app.troubles().is_empty());
}

#[test]
fn r_and_x_ask_serve_about_the_selected_process_and_nothing_without_one() {
    use crate::supervise::Verb;
    let mut app = app_with(mixed());
    let restart = app.update(Action::Control(Verb::Restart));
    assert_eq!(
        restart,
        Some(Effect::Control(Verb::Restart, "vue-frontend".into()))
    );
    assert_eq!(
        app_with(Report::default()).update(Action::Control(Verb::Stop)),
        None
    );
}

#[test]
fn removing_asks_first_and_only_for_rows_with_an_entry() {
    let mut app = app_with(mixed());
    app.update(Action::AskRemove);
    assert_eq!(app.mode(), &Mode::Confirm("vue-frontend".into()));
    assert_eq!(app.update(Action::Cancel), None);
    assert_eq!(app.mode(), &Mode::Normal);
    app.update(Action::AskRemove);
    assert_eq!(
        app.update(Action::Confirm),
        Some(Effect::Remove("vue-frontend".into()))
    );
    assert_eq!(app.mode(), &Mode::Normal);
    // A configured process that never beat has nothing in the file to remove.
    app.update(Action::Move(3));
    assert_eq!(selected(&app), "nightly-backup");
    app.update(Action::AskRemove);
    assert_eq!(app.mode(), &Mode::Normal);
    assert_eq!(app.update(Action::Confirm), None);
    // ... and says so, rather than nothing.
    let notice = app.notice().expect("a notice says why");
    assert!(
        notice.text.contains("\"Nightly backup\" never beat") && notice.text.contains("config"),
        "{notice:?}"
    );
    assert_eq!(notice.at, app.report().now);
}

#[test]
fn paging_scrolls_the_table_to_keep_the_selection_in_view() {
    let mut app = app_with(many(100));
    app.update(Action::Viewport(Viewport {
        additional: 10,
        ..Viewport::default()
    }));
    app.update(Action::Page(1));
    assert_eq!(app.cursor_in(Table::Additional), Some(10));
    assert_eq!(app.offset(Table::Additional), 1);
    app.update(Action::Move(-5));
    assert_eq!(app.offset(Table::Additional), 1);
    app.update(Action::Bottom);
    assert_eq!(app.offset(Table::Additional), 90);
    app.update(Action::Page(-2));
    assert_eq!(app.cursor_in(Table::Additional), Some(79));
    assert_eq!(app.offset(Table::Additional), 79);
    // A taller screen shows more rows, never blank ones below the last.
    app.update(Action::Viewport(Viewport {
        additional: 40,
        ..Viewport::default()
    }));
    assert_eq!(app.offset(Table::Additional), 60);
    // The filter shrinks the table; the offset follows.
    app.update(Action::StartFilter);
    app.update(Action::FilterChar('9'));
    assert_eq!(app.offset(Table::Additional), 0);
}

#[test]
fn the_detail_pane_scrolls_within_its_text_and_resets_on_a_new_selection() {
    let mut app = app_with(mixed());
    app.update(Action::ToggleDetail);
    assert_eq!(app.mode(), &Mode::Detail);
    app.update(Action::Viewport(Viewport {
        detail: 5,
        detail_max_scroll: 7,
        ..Viewport::default()
    }));
    app.update(Action::ScrollDetail(3));
    assert_eq!(app.detail_scroll(), 3);
    app.update(Action::PageDetail(1));
    assert_eq!(app.detail_scroll(), 7);
    app.update(Action::DetailTop);
    assert_eq!(app.detail_scroll(), 0);
    app.update(Action::DetailBottom);
    assert_eq!(app.detail_scroll(), 7);
    app.update(Action::Move(1));
    assert_eq!(app.detail_scroll(), 0);
    assert_eq!(app.mode(), &Mode::Detail);
    assert_eq!(app.update(Action::Back), None);
    assert_eq!(app.mode(), &Mode::Normal);
}

#[test]
fn the_detail_pane_closes_when_nothing_is_selected() {
    let mut app = app_with(fixtures::report(vec![]));
    app.update(Action::ToggleDetail);
    assert_eq!(app.mode(), &Mode::Normal);
    let mut app = app_with(fixtures::report(vec![row("a", State::Up, 1.0)]));
    app.update(Action::ToggleDetail);
    app.update(Action::Report(Arc::new(fixtures::report(vec![]))));
    assert_eq!(app.mode(), &Mode::Normal);
}

#[test]
fn help_and_the_remove_prompt_opened_over_the_detail_pane_go_back_to_it() {
    let mut app = app_with(mixed());
    app.update(Action::ToggleDetail);
    for (open, close) in [
        (Action::ToggleHelp, Action::ToggleHelp),
        (Action::ToggleHelp, Action::Back),
        (Action::AskRemove, Action::Cancel),
        (Action::AskRemove, Action::Back),
    ] {
        app.update(open.clone());
        assert_ne!(app.mode(), &Mode::Detail);
        assert!(app.detail_open(), "{open:?}: the pane stays under it");
        app.update(close.clone());
        assert_eq!(app.mode(), &Mode::Detail, "{open:?} then {close:?}");
    }
    // Confirming a removal goes back to the pane too (it closes once the row is gone).
    app.update(Action::AskRemove);
    assert!(matches!(
        app.update(Action::Confirm),
        Some(Effect::Remove(_))
    ));
    assert_eq!(app.mode(), &Mode::Detail);
    // Opened from the table, they go back to the table.
    app.update(Action::Back);
    app.update(Action::ToggleHelp);
    app.update(Action::ToggleHelp);
    assert_eq!(app.mode(), &Mode::Normal);
    assert!(!app.detail_open());
}

#[test]
fn help_toggles_and_esc_closes_it() {
    let mut app = app_with(mixed());
    app.update(Action::ToggleHelp);
    assert_eq!(app.mode(), &Mode::Help);
    app.update(Action::ToggleHelp);
    assert_eq!(app.mode(), &Mode::Normal);
    app.update(Action::ToggleHelp);
    assert_eq!(app.update(Action::Back), None);
    assert_eq!(app.mode(), &Mode::Normal);
    assert_eq!(app.update(Action::Quit), Some(Effect::Quit));
    assert_eq!(app.update(Action::Refresh), Some(Effect::Refresh));
}

#[test]
fn labels_sort_by_what_is_shown() {
    let report = fixtures::report(vec![
        monitored(row("zeta", State::Up, 1.0), "Alpha"),
        monitored(row("alpha", State::Up, 1.0), "Zulu"),
    ]);
    let mut app = app_with(report);
    app.update(Action::CycleSort);
    assert_eq!(names(&app, Table::Monitored), ["zeta", "alpha"]);
}

#[test]
fn back_at_the_top_every_section_shows_its_worst_rows() {
    let mut app = app_with(crowd());
    app.update(Action::Viewport(Viewport {
        monitored: 4,
        additional: 12,
        ..Viewport::default()
    }));
    app.update(Action::Bottom);
    assert_eq!(selected(&app), "up-60");
    assert_eq!(app.offset(Table::Additional), 61 - 12);
    app.update(Action::Top);
    assert_eq!(app.cursor_in(Table::Monitored), Some(0));
    // The additional section no longer holds the selection: it shows its top, the dead.
    assert_eq!(app.offset(Table::Additional), 0);
    // Into it and back out again, by row.
    app.update(Action::Move(4 + 20));
    assert_eq!(app.offset(Table::Additional), 20 + 1 - 12);
    app.update(Action::Move(-21));
    assert_eq!(app.cursor_in(Table::Monitored), Some(3));
    assert_eq!(app.offset(Table::Additional), 0);
}

#[test]
fn the_selection_stays_in_view_across_sort_and_filter() {
    let mut app = app_with(crowd());
    app.update(Action::Viewport(Viewport {
        monitored: 4,
        additional: 12,
        ..Viewport::default()
    }));
    app.update(Action::Move(4 + 30)); // dead-30
    assert_eq!(selected(&app), "dead-30");
    for action in [Action::CycleSort, Action::ReverseSort, Action::CycleSort] {
        app.update(action);
        let at = app.cursor_in(Table::Additional).unwrap();
        let offset = app.offset(Table::Additional);
        assert!((offset..offset + 12).contains(&at), "{:?}", app.sort());
        assert_eq!(selected(&app), "dead-30");
    }
    app.update(Action::StartFilter);
    app.update(Action::FilterChar('3'));
    assert_eq!(selected(&app), "dead-30");
    let at = app.cursor_in(Table::Additional).unwrap();
    let offset = app.offset(Table::Additional);
    assert!((offset..offset + 12).contains(&at));
    // A filter that hides the selection selects the nearest row, in view.
    app.update(Action::FilterChar('9'));
    assert_eq!(selected(&app), "dead-39");
    assert_eq!(app.offset(Table::Additional), 0);
}

#[test]
fn stopped_additional_processes_are_hidden_as_status_hides_them_until_a() {
    let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
    app.update(Action::Report(Arc::new(mixed())));
    assert_eq!(
        names(&app, Table::Additional),
        ["report-job", "scraper", "test-process-1"]
    );
    assert_eq!((app.hidden(), app.total(Table::Additional)), (1, 3));
    app.update(Action::ToggleAll);
    assert_eq!(names(&app, Table::Additional).last(), Some(&"old-worker"));
    assert_eq!((app.hidden(), app.total(Table::Additional)), (0, 4));
    // A stopped configured process is never hidden.
    let mut stopped = monitored(row("web", State::Stopped, 5.0), "Web");
    stopped.rules.monitored = true;
    let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
    app.update(Action::Report(Arc::new(fixtures::report(vec![stopped]))));
    assert_eq!(names(&app, Table::Monitored), ["web"]);
}

#[test]
fn problems_only_and_filters_on_state_and_data() {
    let mut app = app_with(mixed());
    app.update(Action::ToggleProblems);
    assert_eq!(
        names(&app, Table::Monitored),
        ["vue-frontend", "websocket-reader"]
    );
    assert_eq!(names(&app, Table::Additional), ["report-job", "scraper"]);
    // Esc drops it, as it drops a typed filter.
    assert_eq!(app.update(Action::Back), None);
    assert_eq!(app.len(Table::Additional), 4);
    let typed = |app: &mut App, text: &str| {
        app.update(Action::FilterClear);
        app.update(Action::StartFilter);
        for c in text.chars() {
            app.update(Action::FilterChar(c));
        }
        let mut shown = names(app, Table::Monitored);
        shown.extend(names(app, Table::Additional));
        shown.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(typed(&mut app, "state:dead"), ["vue-frontend"]);
    assert_eq!(
        typed(&mut app, "state:hung,failed"),
        ["websocket-reader", "report-job"]
    );
    // While typing: a prefix of a state's name.
    assert_eq!(typed(&mut app, "STATE:st"), ["old-worker"]);
    assert_eq!(typed(&mut app, "data:status=bid"), ["bidder"]);
    assert_eq!(typed(&mut app, "data:warming"), ["test-process-1"]);
    // Every word must match.
    assert_eq!(typed(&mut app, "state:up data:offset"), ["bidder"]);
    assert_eq!(typed(&mut app, "state:up bid"), ["bidder"]);
    assert!(typed(&mut app, "state:dead bid").is_empty());
}
