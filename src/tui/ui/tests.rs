//! The screen drawn whole: snapshots of every part at the sizes that matter.

use ratatui::layout::Size;
use ratatui::style::{Color, Modifier};

use super::*;
use crate::health::State;
use crate::report::columns::Column;
use crate::text;
use crate::tui::app::{Action, Notice};
use crate::tui::fixtures::{NOW, crowd, many, mixed, observe};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

mod detail;
mod remote;
mod signal;
mod tree;

fn app(color: bool) -> App {
    let mut app = App::new(
        "~/.local/state/hbmon/heartbeat_status.json".into(),
        NOW - 312.0,
        color,
    );
    observe(&mut app, mixed());
    app
}

/// Draws as the loop does: measure the viewport, tell the app, draw.
pub(super) fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    app.update(Action::Viewport(viewport(
        Size::new(width, height),
        app,
        NOW,
    )));
    terminal.draw(|frame| draw(frame, app, NOW)).unwrap();
    terminal
}

/// The screen as text, local clock times masked: they depend on the machine's time zone.
pub(super) fn screen(terminal: &Terminal<TestBackend>) -> String {
    let text = terminal.backend().to_string();
    let date_time = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").unwrap();
    let time = regex::Regex::new(r"\b\d{2}:\d{2}:\d{2}\b").unwrap();
    // The history's periods show minutes only.
    let minutes = regex::Regex::new(r"\b\d{2}:\d{2}\b").unwrap();
    let text = date_time.replace_all(&text, "YYYY-MM-DD hh:mm:ss");
    let text = time.replace_all(&text, "hh:mm:ss");
    minutes.replace_all(&text, "hh:mm").into_owned()
}

#[test]
fn wide_terminal_shows_every_column() {
    let mut app = app(true);
    insta::assert_snapshot!(screen(&render(&mut app, 120, 30)));
}

#[test]
fn probed_rows_show_their_response_time_and_the_column_sorts_slowest_first() {
    let mut app = app(true);
    assert!(!screen(&render(&mut app, 120, 30)).contains("RESP"));
    let mut report = mixed();
    let times = [
        ("bidder", 12.4),
        ("test-process-1", 250.0),
        ("scraper", 0.4),
    ];
    for (name, ms) in times {
        let row = report.rows.iter_mut().find(|r| r.name == name).unwrap();
        row.probes = vec![crate::checks::ProbeStatus::sample(
            "http",
            "http://127.0.0.1:8080/health",
            Some(true),
            0,
            &[ms],
            NOW,
        )];
    }
    observe(&mut app, report);
    let shown = screen(&render(&mut app, 120, 30));
    insta::assert_snapshot!(shown);
    // A click on its title sorts by it, as any column's: the mouse map has the column.
    let (y, line) = shown
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("RESP"))
        .unwrap();
    let x = line[..line.find("RESP").unwrap()].chars().count() - 1;
    app.update(Action::Click {
        x: x as u16,
        y: y as u16,
    });
    assert_eq!(app.sort(), (Column::Resp, false));
    let additional: Vec<&str> = app
        .rows(crate::tui::app::Table::Additional)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(additional[..2], ["test-process-1", "scraper"]);
}

#[test]
fn classic_terminal_drops_low_priority_columns() {
    let mut app = app(true);
    let shown = screen(&render(&mut app, 80, 24));
    assert!(!shown.contains("BEATS") && !shown.contains("INTERVAL"));
    assert!(shown.contains("LAST BEAT") && shown.contains("DATA"));
    insta::assert_snapshot!(shown);
}

#[test]
fn narrowest_terminal_keeps_name_state_and_last_beat() {
    let mut app = app(true);
    let shown = screen(&render(&mut app, 60, 12));
    for title in ["NAME", "STATE", "LAST BEAT"] {
        assert!(shown.contains(title), "{title} missing:\n{shown}");
    }
    insta::assert_snapshot!(shown);
}

#[test]
fn tiny_terminal_says_it_is_too_small() {
    let mut app = app(true);
    insta::assert_snapshot!(screen(&render(&mut app, 40, 8)));
}

#[test]
fn detail_pane() {
    let mut app = app(true);
    app.update(Action::Move(1)); // websocket-reader: hung, with data
    app.update(Action::ToggleDetail);
    let mut hung = mixed();
    hung.now = NOW + 1.0;
    observe(&mut app, hung);
    insta::assert_snapshot!(screen(&render(&mut app, 120, 30)));
}

#[test]
fn detail_pane_of_a_failed_job_with_transitions() {
    let mut app = app(true);
    let mut later = mixed();
    let job = later
        .rows
        .iter_mut()
        .find(|r| r.name == "report-job")
        .unwrap();
    job.health = crate::health::Health::new(State::Running, "running for 2s", None);
    observe(&mut app, later);
    let mut failed = mixed();
    failed.now = NOW + 30.0;
    observe(&mut app, failed);
    app.update(Action::Move(4));
    app.update(Action::ToggleDetail);
    render(&mut app, 100, 30);
    app.update(Action::DetailBottom);
    let shown = screen(&render(&mut app, 100, 30));
    assert!(shown.contains("▶ running → ✗ failed"), "{shown}");
    insta::assert_snapshot!(shown);
}

/// History as a database would hold it: bidder died 25 min ago and came back 12 min
/// ago; report-job started 10 min ago; beats every 30 s (one 95 s gap).
fn with_history(app: &mut App) {
    with_history_and_flips(app, Vec::new());
}

/// [`with_history`], and these probe flips.
fn with_history_and_flips(app: &mut App, flips: Vec<crate::changes::ProbeFlip>) {
    use crate::changes::Transition;
    use crate::tui::recent::{Recent, Selected};
    let t = |name: &str, ago: f64, from: Option<State>, to: State| Transition {
        name: name.into(),
        time: NOW - ago,
        from,
        to,
        severity: to.severity(),
        reason: format!("{to} for the test"),
        since: None,
    };
    let bidder = vec![
        t("bidder", 720.0, Some(State::Dead), State::Up),
        t("bidder", 1500.0, Some(State::Up), State::Dead),
    ];
    let minute = (NOW / 60.0).floor() as i64 * 60;
    let mut beats: Vec<f64> = (0..20).map(|i| NOW - 10.0 - 30.0 * f64::from(i)).collect();
    beats.push(NOW - 700.0);
    let recent = Recent {
        at: NOW,
        minutes: [
            ("bidder".to_owned(), vec![(minute - 60, 2)]),
            ("scraper".to_owned(), vec![(minute - 60, 12)]),
        ]
        .into(),
        transitions: [
            ("bidder".to_owned(), bidder.clone()),
            (
                "report-job".to_owned(),
                vec![
                    t("report-job", 300.0, Some(State::Running), State::Failed),
                    t("report-job", 600.0, None, State::Running),
                ],
            ),
        ]
        .into(),
        selected: Some(Selected {
            name: "bidder".into(),
            beats,
            transitions: bidder,
            log: Vec::new(),
        }),
        flips,
    };
    app.update(Action::History(Box::new(recent)));
}

#[test]
fn detail_pane_with_beat_gaps_and_periods() {
    let mut app = app(true);
    app.update(Action::Move(2));
    with_history(&mut app);
    app.update(Action::ToggleDetail);
    render(&mut app, 120, 30);
    app.update(Action::DetailBottom);
    let shown = screen(&render(&mut app, 120, 30));
    assert!(shown.contains("Beat gaps"), "{shown}");
    assert!(
        shown.contains("up since hh:mm, was dead hh:mm–hh:mm"),
        "{shown}"
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn history_tab_wide_and_classic() {
    for (width, height) in [(120, 30), (80, 24)] {
        let mut app = app(true);
        with_history(&mut app);
        app.update(Action::ToggleTab);
        let shown = screen(&render(&mut app, width, height));
        assert!(shown.contains("DDDD"), "{shown}");
        insta::assert_snapshot!(format!("history_tab_{width}x{height}"), shown);
    }
}

#[test]
fn history_tab_lists_the_newest_probe_flips_under_the_strips() {
    use crate::changes::ProbeFlip;
    let flip = |ago: f64, failing: bool, ms: f64| ProbeFlip {
        name: "bidder".into(),
        time: NOW - ago,
        kind: "http".into(),
        target: "http://127.0.0.1:8080/health".into(),
        failing,
        ms: Some(ms),
        reason: failing.then(|| "HTTP 500 Internal Server Error".into()),
    };
    let mut app = app(true);
    // Newest first, as the database gives them; the one from yesterday is out of the hour.
    let flips = vec![
        flip(60.0, false, 1.2),
        flip(400.0, true, 35.0),
        flip(90_000.0, true, 9.0),
    ];
    with_history_and_flips(&mut app, flips);
    app.update(Action::ToggleTab);
    let shown = screen(&render(&mut app, 120, 30));
    assert!(shown.contains("Probe flips"), "{shown}");
    assert!(
        shown.contains("probe ok → failing   http http://127.0.0.1:8080/health in 35ms: HTTP 500"),
        "{shown}"
    );
    assert_eq!(shown.matches("probe ").count(), 2, "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn history_tab_over_the_last_day() {
    let mut app = app(true);
    with_history(&mut app);
    app.update(Action::ToggleTab);
    app.update(Action::ToggleTab);
    let shown = screen(&render(&mut app, 120, 30));
    assert!(shown.contains("24h ago"), "{shown}");
    insta::assert_snapshot!("history_tab_last_day", shown);
}

#[test]
fn history_tab_without_colour_still_reads() {
    let mut app = app(false);
    with_history(&mut app);
    app.update(Action::ToggleTab);
    let terminal = render(&mut app, 120, 30);
    let colored = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg != Color::Reset || c.bg != Color::Reset);
    assert!(!colored);
    insta::assert_snapshot!(screen(&terminal));
}

#[test]
fn help_overlay() {
    let mut app = app(true);
    app.update(Action::ToggleHelp);
    insta::assert_snapshot!(screen(&render(&mut app, 120, 30)));
}

#[test]
fn help_overlay_at_80x24_scrolls_what_does_not_fit() {
    let mut app = app(true);
    app.update(Action::ToggleHelp);
    let top = screen(&render(&mut app, 80, 24));
    assert!(
        top.contains("↑↓ scroll") && top.contains("any other key closes"),
        "{top}"
    );
    insta::assert_snapshot!(top);
    app.update(Action::DetailBottom);
    let bottom = screen(&render(&mut app, 80, 24));
    // The last state is reached, and nothing is cut at the right: one state a line.
    assert!(bottom.contains("paused for maintenance"), "{bottom}");
    insta::assert_snapshot!(bottom);
}

#[test]
fn confirm_dialog() {
    let mut app = app(true);
    app.update(Action::AskRemove);
    insta::assert_snapshot!(screen(&render(&mut app, 80, 24)));
}

#[test]
fn corrupt_file_banner_keeps_the_last_good_view() {
    let mut app = app(true);
    app.update(Action::Troubles(vec![crate::monitor::Trouble::unreadable(
        "not a valid heartbeat file: expected `,` or `}` at line 3 column 5",
        NOW - 4.0,
    )]));
    let terminal = render(&mut app, 120, 30);
    let banner_cell = &terminal.backend().buffer()[(1, 2)];
    assert_eq!(banner_cell.bg, Color::Red);
    insta::assert_snapshot!(screen(&terminal));
}

#[test]
fn what_writers_chose_is_drawn_escaped() {
    use crate::tui::fixtures::{report, row, with_data};
    let mut evil = with_data(
        row("evil\u{202e}txt", State::Error, 5.0),
        serde_json::json!("line one\u{2028}line two\n\u{1b}[2Jcleared"),
    );
    evil.health.reason = "reported an error 5s ago: \u{1b}]0;pwned\u{7}".into();
    if let Some(entry) = evil.entry.as_mut().map(std::sync::Arc::make_mut) {
        entry.last_error = Some("\u{1b}]0;pwned\u{7}\u{1b}[2J".into());
        entry.host = Some("host\u{85}".into());
    }
    if let Some(process) = &mut evil.process {
        process.cmd = "sh -c 'echo hi\n\u{1b}[2J'".into();
    }
    let mut app = App::new("/tmp/hb.json".into(), NOW, false);
    let mut hostile = report(vec![evil]);
    hostile.invalid = vec![("bad\u{9b}".into(), "unknown variant `\u{7}`".into())];
    observe(&mut app, hostile);
    app.update(Action::ToggleDetail);
    let shown = screen(&render(&mut app, 120, 30));
    let raw: Vec<char> = shown
        .chars()
        .filter(|&c| c != '\n' && text::needs_escape(c))
        .collect();
    assert!(raw.is_empty(), "{raw:?} drawn raw");
    for escaped in [
        r"evil\u{202e}txt",
        r"reported an error 5s ago: \u{1b}]0;pwned\u{7}",
        r"\u{1b}]0;pwned\u{7}\u{1b}[2J",
        r"line one\u{2028}line two",
        r"\u{1b}[2Jcleared",
        r"host\u{85}",
        r"sh -c 'echo hi \u{1b}[2J'",
        r#"entry "bad\u{9b}" is not valid: unknown variant `\u{7}`"#,
    ] {
        assert!(shown.contains(escaped), "{escaped} not in\n{shown}");
    }
    insta::assert_snapshot!(shown);
}

#[test]
fn filter_in_progress_and_a_recent_notice() {
    let mut app = app(true);
    app.update(Action::Notice(Notice {
        text: "removed \"old-worker\"".into(),
        at: NOW - 1.0,
        is_error: false,
    }));
    app.update(Action::StartFilter);
    for c in "er".chars() {
        app.update(Action::FilterChar(c));
    }
    insta::assert_snapshot!(screen(&render(&mut app, 100, 20)));
}

#[test]
fn an_empty_file_says_how_to_start() {
    let mut app = App::new("/tmp/hb.json".into(), NOW, true);
    let shown = screen(&render(&mut app, 100, 12));
    assert!(shown.contains("no heartbeats yet"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn no_color_draws_the_same_words_without_colour() {
    let mut colored = app(true);
    let mut plain = app(false);
    let (colored, plain) = (render(&mut colored, 120, 30), render(&mut plain, 120, 30));
    assert_eq!(screen(&colored), screen(&plain));
    let cells = |t: &Terminal<TestBackend>| t.backend().buffer().content().to_vec();
    assert!(
        cells(&plain)
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
        "a coloured cell under NO_COLOR"
    );
    assert!(cells(&colored).iter().any(|c| c.fg == Color::Red));
    // The selection and critical states stay distinct through modifiers alone.
    let buffer = plain.backend().buffer();
    let row_of = |needle: &str| {
        (0..buffer.area.height)
            .find(|&y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .contains(needle)
            })
            .unwrap()
    };
    let selected = row_of("Vue Frontend");
    assert!(buffer[(0, selected)].modifier.contains(Modifier::REVERSED));
    let hung = row_of("WebSocket Reader");
    let state_x = (0..buffer.area.width)
        .find(|&x| buffer[(x, hung)].symbol() == "◎")
        .unwrap();
    assert!(buffer[(state_x, hung)].modifier.contains(Modifier::BOLD));
}

#[test]
fn ten_thousand_rows_build_only_the_visible_window() {
    let mut app = App::new("/tmp/hb.json".into(), NOW, false);
    observe(&mut app, many(10_000));
    app.update(Action::Viewport(viewport(Size::new(80, 24), &app, NOW)));
    app.update(Action::Page(250));
    let shown = screen(&render(&mut app, 80, 24));
    // 18 rows a page: the last line says how many more there are above and below.
    assert!(shown.contains("› proc-04500"), "{shown}");
    assert!(shown.contains("▲ 4483 more  ▼ 5499 more"), "{shown}");
    assert!(!shown.contains("proc-00000"));
    insta::assert_snapshot!(shown);
}

#[test]
fn a_report_built_from_a_file_config_and_probe() {
    use crate::report::{build, fixture};
    let report = build(
        &fixture::snapshot(),
        &fixture::config(),
        &mut fixture::probe(),
        fixture::NOW,
    );
    let mut app = App::new("/srv/hb.json".into(), fixture::NOW - 60.0, true);
    observe(&mut app, report);
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    app.update(Action::Viewport(viewport(
        Size::new(120, 30),
        &app,
        fixture::NOW,
    )));
    terminal
        .draw(|frame| draw(frame, &app, fixture::NOW))
        .unwrap();
    let shown = screen(&terminal);
    assert!(shown.contains("! entry \"broken\" is not valid"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn scrolled_sections_say_what_is_above_and_below_and_g_shows_the_worst_again() {
    let mut app = App::new("/tmp/hb.json".into(), NOW - 312.0, true);
    observe(&mut app, crowd());
    render(&mut app, 80, 24);
    app.update(Action::Bottom);
    let bottom = screen(&render(&mut app, 80, 24));
    assert!(bottom.contains("› up-60"), "{bottom}");
    assert!(
        bottom.contains("▲ ") && bottom.contains(" more"),
        "{bottom}"
    );
    app.update(Action::Top);
    let top = screen(&render(&mut app, 80, 24));
    assert!(top.contains("✖ dead 41"), "{top}");
    let additional = top
        .lines()
        .skip_while(|l| !l.contains("Additional heartbeat processes"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(additional.contains("dead-"), "no dead row shows:\n{top}");
    assert!(
        additional.contains("▼ ") && !additional.contains("▲ "),
        "{top}"
    );
    insta::assert_snapshot!("scrolled_to_the_bottom", bottom);
    insta::assert_snapshot!("back_at_the_top", top);
}

#[test]
fn a_click_selects_a_row_and_a_click_on_a_title_sorts_by_it() {
    let mut app = app(true);
    let shown = screen(&render(&mut app, 120, 30));
    let at = |needle: &str| -> (u16, u16) {
        let (y, line) = shown
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .unwrap();
        // A capture line is quoted: its first cell is after the quote.
        let x = line[..line.find(needle).unwrap()].chars().count() - 1;
        (x as u16, y as u16)
    };
    let (x, y) = at("scraper");
    app.update(Action::Click { x, y });
    assert_eq!(app.selected_row().unwrap().name, "scraper");
    let (x, y) = at("CPU");
    app.update(Action::Click { x, y });
    assert_eq!(app.sort(), (Column::Cpu, false));
    app.update(Action::Click { x, y });
    assert_eq!(app.sort(), (Column::Cpu, true));
    // The selection followed its process through the sorts.
    assert_eq!(app.selected_row().unwrap().name, "scraper");
    // A click on nothing (the header) does nothing.
    app.update(Action::Click { x: 3, y: 0 });
    assert_eq!(app.sort(), (Column::Cpu, true));
}

#[test]
fn a_huge_interval_is_cut_with_an_ellipsis() {
    use crate::tui::fixtures::{report, row, rules};
    let mut huge = row("slow", State::Up, 1.0);
    huge.rules = rules(100_000_000_000.0 * 86_400.0);
    let mut app = App::new("/tmp/hb.json".into(), NOW, false);
    observe(&mut app, report(vec![huge]));
    let shown = screen(&render(&mut app, 120, 12));
    let line = shown.lines().find(|l| l.contains("slow")).unwrap();
    assert!(line.contains('…'), "{shown}");
    assert!(shown.contains("INTERVAL"), "{shown}");
}
