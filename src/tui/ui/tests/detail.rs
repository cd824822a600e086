//! The detail pane of runs and processes with a past: a failed run's output and last
//! words, a death dated from the history, periods that wrap, two runs at once.

use super::*;

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
    job.entry_mut().additional_data = serde_json::json!({
        "command": "backup.sh",
        "output_tail": "copying /srv\n\u{1b}[2J\ncopied 12 files\nerror: disk full\n",
    });
    job.entry_mut().last_error = Some("exited with code 2".into());
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
    if let Some(entry) = etl.entry.as_mut().map(std::sync::Arc::make_mut) {
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
    if let Some(entry) = etl.entry.as_mut().map(std::sync::Arc::make_mut) {
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
