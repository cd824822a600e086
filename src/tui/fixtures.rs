//! Hand-made reports for the UI's tests: a fixed instant, rows in every kind of state.

use serde_json::{Value, json};

use crate::health::{Health, Rules, State};
use crate::probe::{ProcessInfo, SystemInfo};
use crate::report::{Report, Row};
use crate::store::{Entry, Kind, Reported};

/// The instant every fixture is judged at.
pub const NOW: f64 = 1_750_000_000.0;

/// A row in `state` whose last beat was `age` seconds before [`NOW`], from a live process
/// unless the state says the process is gone.
pub fn row(name: &str, state: State, age: f64) -> Row {
    let pid = 4000 + name.bytes().map(u32::from).sum::<u32>();
    let gone = matches!(state, State::Dead | State::Stopped | State::Failed);
    Row {
        name: name.to_owned(),
        label: None,
        monitored: false,
        entry: Some(
            Entry {
                last_heartbeat: NOW - age,
                pid: Some(pid),
                status: Some(Reported::Alive),
                interval: Some(30.0),
                first_heartbeat: Some(NOW - age - 3600.0),
                beats: Some(120),
                errors: Some(0),
                ..Entry::default()
            }
            .into(),
        ),
        health: Health::new(state, format!("{state} for the test"), Some(NOW - age)),
        process: (!gone).then(|| ProcessInfo {
            pid,
            name: name.to_owned(),
            cmd: format!("/usr/bin/{name} --serve"),
            start_time: (NOW - 7200.0) as u64,
            cpu_percent: 1.5,
            memory_bytes: 50 * 1024 * 1024,
        }),
        rules: rules(30.0),
        depends_on: Vec::new(),
        blocked_by: Vec::new(),
        probes: Vec::new(),
        host: None,
        judged_at: None,
    }
}

pub fn rules(interval: f64) -> Rules {
    Rules {
        interval,
        grace: interval / 2.0,
        ..Rules::default()
    }
}

pub fn monitored(mut row: Row, label: &str) -> Row {
    row.monitored = true;
    row.rules.monitored = true;
    row.label = Some(label.to_owned());
    row
}

pub fn with_data(mut row: Row, data: Value) -> Row {
    if let Some(entry) = row.entry.as_mut().map(std::sync::Arc::make_mut) {
        entry.additional_data = data;
    }
    row
}

pub fn report(rows: Vec<Row>) -> Report {
    Report {
        now: NOW,
        rows,
        invalid: Vec::new(),
        system: Some(SystemInfo {
            host: "build-01".to_owned(),
            cpu_percent: 12.5,
            memory_used: 6 * 1024 * 1024 * 1024,
            memory_total: 16 * 1024 * 1024 * 1024,
            disk_used: 45,
            disk_total: 100,
        }),
        named: false,
    }
}

/// A screenful like the seed's: configured processes and additional ones, in many states.
pub fn mixed() -> Report {
    let mut never = monitored(row("nightly-backup", State::Pending, 0.0), "Nightly backup");
    never.entry = None;
    never.process = None;
    never.health = Health::new(State::Pending, "configured, never beaten", None);
    let mut failed = row("report-job", State::Failed, 95.0);
    if let Some(e) = failed.entry.as_mut().map(std::sync::Arc::make_mut) {
        e.status = Some(Reported::Failed);
        e.kind = Some(Kind::Job);
        e.started_at = Some(NOW - 100.0);
        e.finished_at = Some(NOW - 95.0);
        e.exit_code = Some(3);
        e.last_error = Some("exit code 3".to_owned());
        e.last_error_at = Some(NOW - 95.0);
        e.errors = Some(1);
    }
    report(vec![
        with_data(
            monitored(row("bidder", State::Up, 23.0), "Bidder Script"),
            json!({"status": "bidding", "offset": 120, "seen_projects": 4312}),
        ),
        with_data(
            monitored(
                row("websocket-reader", State::Hung, 200.0),
                "WebSocket Reader",
            ),
            json!({"browser_status": "ok", "consecutive_failures": 7}),
        ),
        monitored(row("vue-frontend", State::Dead, 400.0), "Vue Frontend"),
        never,
        with_data(row("test-process-1", State::Up, 8.0), json!("warming up")),
        row("scraper", State::Late, 50.0),
        failed,
        row("old-worker", State::Stopped, 3000.0),
    ])
}

/// `n` additional processes, all up, named `proc-00000`...
pub fn many(n: usize) -> Report {
    report(
        (0..n)
            .map(|i| row(&format!("proc-{i:05}"), State::Up, (i % 60) as f64))
            .collect(),
    )
}

/// [`mixed`]'s configured processes and 61 additional ones, 40 of them dead: more than a
/// classic terminal shows, the worst of them first.
pub fn crowd() -> Report {
    let mut report = mixed();
    report.rows.retain(|r| r.monitored);
    report.rows.extend((0..61).map(|i| {
        if i < 40 {
            row(&format!("dead-{i:02}"), State::Dead, 100.0 + f64::from(i))
        } else {
            row(&format!("up-{i:02}"), State::Up, 1.0)
        }
    }));
    report
}

/// Gives `app` the next report as the engine does: with the transitions since the last one
/// (a tracker that saw the app's current report judges them).
pub fn observe(app: &mut crate::tui::App, report: Report) {
    use crate::tui::app::Action;
    let mut tracker = crate::changes::Tracker::default();
    tracker.observe(app.report());
    let transitions = tracker.observe(&report).transitions;
    app.update(Action::Report(std::sync::Arc::new(report)));
    app.update(Action::Transitions(transitions));
}
