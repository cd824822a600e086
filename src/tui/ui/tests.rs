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
        }),
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
    if let Some(entry) = &mut evil.entry {
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

#[test]
fn detail_pane_of_a_failed_run_shows_its_output_its_last_words_and_live_reasons() {
    use crate::changes::Transition;
    use crate::tui::recent::{Recent, Selected};
    let mut report = mixed();
    let job = report
        .rows
        .iter_mut()
        .find(|r| r.name == "report-job")
        .unwrap();
    job.entry.as_mut().unwrap().additional_data = serde_json::json!({
        "command": "backup.sh",
        "output_tail": "copying /srv\n\u{1b}[2J\ncopied 12 files\nerror: disk full\n",
    });
    job.entry.as_mut().unwrap().last_error = Some("exited with code 2".into());
    let mut app = App::new("/tmp/hb.json".into(), NOW - 312.0, true);
    app.update(Action::ToggleAll);
    observe(&mut app, report);
    // Recorded 95 s ago, when the run had just failed.
    let failed = Transition {
        name: "report-job".into(),
        time: NOW - 95.0,
        from: Some(State::Running),
        to: State::Failed,
        severity: State::Failed.severity(),
        reason: "last run failed (exit 2) 1ms ago".into(),
        since: None,
    };
    app.update(Action::History(Box::new(Recent {
        at: NOW,
        selected: Some(Selected {
            name: "report-job".into(),
            beats: vec![],
            transitions: vec![failed],
        }),
        ..Recent::default()
    })));
    app.update(Action::Move(4));
    assert_eq!(app.selected_row().unwrap().name, "report-job");
    app.update(Action::ToggleDetail);
    let shown = screen(&render(&mut app, 100, 40));
    for expected in [
        "Last error   error: disk full (exited with code 2)",
        "Output (last lines)",
        "  copied 12 files",
        "  error: disk full",
        r"  \u{1b}[2J",
        "last run failed (exit 2) 1m35s ago",
        "First beat",
    ] {
        assert!(shown.contains(expected), "{expected:?} not in\n{shown}");
    }
    assert!(!shown.contains(r"\n"), "the output drawn as JSON:\n{shown}");
    assert!(!shown.contains("Alive since"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn a_dead_process_says_since_when_from_its_history() {
    use crate::changes::Transition;
    use crate::tui::recent::{Recent, Selected};
    let mut app = app(true);
    // vue-frontend: dead, its PID gone; the judgement does not know since when.
    let mut report = mixed();
    report.rows[2].health = crate::health::Health::new(State::Dead, "pid 5245 is gone", None);
    observe(&mut app, report);
    let died = Transition {
        name: "vue-frontend".into(),
        time: NOW - 400.0,
        from: Some(State::Up),
        to: State::Dead,
        severity: State::Dead.severity(),
        reason: "pid 5245 is gone".into(),
        since: None,
    };
    app.update(Action::History(Box::new(Recent {
        at: NOW,
        selected: Some(Selected {
            name: "vue-frontend".into(),
            beats: vec![],
            transitions: vec![died],
        }),
        ..Recent::default()
    })));
    assert_eq!(app.selected_row().unwrap().name, "vue-frontend");
    app.update(Action::ToggleDetail);
    let shown = screen(&render(&mut app, 120, 30));
    assert!(
        shown.contains("Dead since   YYYY-MM-DD hh:mm:ss (6m40s ago)"),
        "{shown}"
    );
    assert!(
        shown.contains("First beat") && !shown.contains("Alive since"),
        "{shown}"
    );
}

#[test]
fn the_periods_wrap_between_periods_instead_of_being_cut() {
    use crate::tui::fixtures::{report, row};
    let mut app = App::new("/tmp/hb.json".into(), NOW - 10_000.0, true);
    for i in 0..8 {
        let state = if i % 2 == 0 { State::Up } else { State::Late };
        let mut flapping = report(vec![row("flappy", state, 1.0)]);
        flapping.now = NOW - 8000.0 + 1000.0 * f64::from(i);
        observe(&mut app, flapping);
    }
    app.update(Action::ToggleDetail);
    let shown = screen(&render(&mut app, 80, 40));
    let lines: Vec<&str> = shown.lines().collect();
    let at = lines.iter().position(|l| l.contains("│Periods")).unwrap();
    assert!(lines[at + 1].starts_with("\"│             was "), "{shown}");
    let periods: String = lines[at..]
        .iter()
        .take_while(|l| !l.contains("→"))
        .copied()
        .collect();
    assert_eq!(periods.matches("was ").count(), 7, "{shown}");
}

#[test]
fn two_runs_at_once_show_as_2_running_and_the_detail_lists_them() {
    use crate::store::RunInProgress;
    let mut report = crate::tui::fixtures::report(Vec::new());
    let mut etl = crate::tui::fixtures::row("etl", State::Running, 5.0);
    if let Some(entry) = &mut etl.entry {
        entry.status = Some(crate::store::Reported::Running);
        entry.kind = Some(crate::store::Kind::Job);
        for (id, ago, pid) in [
            ("0b5c3a4e-9d2f-4c1e-8a7b-6f5e4d3c2b1a", 130.0, 5101),
            ("f00dfeed-1234-4abc-9def-0123456789ab", 20.0, 5102),
        ] {
            let run = RunInProgress {
                started_at: NOW - ago,
                pid: Some(pid),
                host: Some("build-01".into()),
                ..RunInProgress::default()
            };
            entry.runs.insert(id.into(), run);
        }
    }
    etl.health = crate::health::Health::new(
        State::Running,
        "2 running, the oldest for 2m10s",
        Some(NOW - 130.0),
    );
    if let Some(entry) = &mut etl.entry {
        entry.host = Some("build-01".into());
        if let Some(run) = entry.runs.values_mut().next() {
            run.host = Some("build-02".into());
        }
    }
    report.rows.push(etl);
    let mut app = App::new("/tmp/hb.json".into(), NOW - 312.0, true);
    observe(&mut app, report);
    app.update(Action::ToggleDetail);
    assert_eq!(app.selected_row().unwrap().name, "etl");
    let shown = screen(&render(&mut app, 120, 24));
    for expected in [
        "▶ 2 running",
        "Running      2 in progress",
        "  0b5c3a4e-9d2f-4c1e-8a7b-6f5e4d3c2b1a  started YYYY-MM-DD hh:mm:ss (2m10s ago)  pid 5101  host build-02",
        "  f00dfeed-1234-4abc-9def-0123456789ab  started YYYY-MM-DD hh:mm:ss (20s ago)  pid 5102 ",
    ] {
        assert!(shown.contains(expected), "{expected:?} not in\n{shown}");
    }
    insta::assert_snapshot!(shown);
}
