//! A scheduled job drawn: when it is due in the table, its schedule and next runs in the
//! detail pane.

use super::tests::{render, screen};
use crate::health::State;
use crate::tui::app::{Action, App};
use crate::tui::fixtures::{NOW, observe};

#[test]
fn a_scheduled_job_shows_when_it_is_due_and_the_detail_its_next_five_runs() {
    use crate::cron::Schedule;
    use crate::health::Scheduled;
    use crate::store::{Kind, Reported};
    let mut report = crate::tui::fixtures::report(Vec::new());
    let mut backup = crate::tui::fixtures::row("backup", State::Up, 4000.0);
    if let Some(entry) = backup.entry.as_mut().map(std::sync::Arc::make_mut) {
        entry.status = Some(Reported::Succeeded);
        entry.kind = Some(Kind::Job);
        entry.pid = None;
    }
    backup.process = None;
    backup.rules.kind = Kind::Job;
    backup.rules.grace = 600.0;
    // NOW is 15:06:40 UTC on a Sunday: due at 03:00 UTC, in 11h53m.
    backup.rules.schedule = Scheduled(Some(Schedule::parse("0 3 * * *", Some("UTC")).unwrap()));
    backup.health = crate::health::Health::new(State::Up, "last run 1h06m ago", Some(NOW - 4000.0));
    report.rows.push(backup);
    let mut app = App::new("/tmp/hb.json".into(), NOW - 312.0, true);
    observe(&mut app, report);
    app.update(Action::ToggleDetail);
    let shown = screen(&render(&mut app, 120, 24));
    for expected in [
        "due hh:mm (in 11h53m)",
        "Schedule     \"0 3 * * *\": at hh:mm every day (UTC) (grace 10m00s)",
        "Next runs    Mon 06-16 hh:mm, Tue 06-17 hh:mm, Wed 06-18 hh:mm, Thu 06-19 hh:mm, Fri 06-20 hh:mm",
    ] {
        assert!(shown.contains(expected), "{expected:?} not in\n{shown}");
    }
    insta::assert_snapshot!(shown);
}
