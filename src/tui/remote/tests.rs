//! The remote view's state and merge, and the app refusing to act on a remote's row.

use std::sync::Arc;

use super::*;
use crate::health::State;
use crate::tui::App;
use crate::tui::app::{Action, Effect};
use crate::tui::fixtures::{NOW, row};

/// `name` as the remote `host` judged it at `now`, on its clock, 5 s after its last beat.
fn theirs(host: &str, name: &str, now: f64) -> Row {
    let mut row = row(name, State::Up, 5.0);
    if let Some(entry) = &mut row.entry {
        Arc::make_mut(entry).last_heartbeat = now - 5.0;
    }
    Row {
        host: Some(host.to_owned()),
        judged_at: Some(now),
        ..row
    }
}

fn answer(host: &str, at: f64, rows: Vec<Row>) -> Fetched {
    Fetched {
        name: host.to_owned(),
        url: format!("http://{host}:4266"),
        at,
        result: Ok(Judged {
            now: at - 3600.0,
            exit_code: 0,
            rows,
            processes: Vec::new(),
        }),
    }
}

fn failure(host: &str, at: f64) -> Fetched {
    Fetched {
        result: Err(RemoteError::Unreachable("connection refused".into())),
        ..answer(host, at, Vec::new())
    }
}

fn remotes(names: &[&str]) -> Vec<Remote> {
    names
        .iter()
        .map(|n| Remote::from_url(&format!("http://{n}:4266"), None).unwrap())
        .collect()
}

fn local() -> Report {
    Report {
        now: NOW,
        rows: vec![row("web", State::Up, 1.0), row("db", State::Dead, 90.0)],
        ..Report::default()
    }
}

#[test]
fn the_merge_puts_each_answered_remotes_rows_after_this_machines_under_their_hosts() {
    let mut known = Remotes::new(&remotes(&["box2", "box3"]), NOW);
    // Nothing answered: this machine's rows, with its host, and both remotes waiting.
    let merged = known.merge(&local());
    assert_eq!(merged.rows.len(), 2);
    assert!(
        merged
            .rows
            .iter()
            .all(|r| r.host.as_deref() == Some("localhost"))
    );
    let waiting: Vec<_> = known.stale().into_iter().map(|s| (s.name, s.why)).collect();
    assert_eq!(waiting, [("box2".into(), None), ("box3".into(), None)]);

    known.take(answer(
        "box2",
        NOW + 1.0,
        vec![theirs("box2", "web", NOW - 3599.0)],
    ));
    let merged = known.merge(&local());
    let rows: Vec<_> = (merged.rows.iter())
        .map(|r| (r.host.as_deref().unwrap(), r.name.as_str(), r.judged_at))
        .collect();
    assert_eq!(
        rows,
        [
            ("localhost", "web", None),
            ("localhost", "db", None),
            // Aged on its own clock, an hour behind ours.
            ("box2", "web", Some(NOW - 3599.0)),
        ]
    );
    let box2 = &merged.rows[2];
    assert_eq!(
        box2.since_beat(box2.judged(NOW)),
        Some(5.0),
        "not an hour and 5 s"
    );
    assert_eq!(known.stale().len(), 1, "box3 still waits");
    assert_eq!(merged.now, NOW, "the instant is this machine's");
}

#[test]
fn a_remote_that_stops_answering_loses_its_rows_and_is_stale_since_its_first_failure() {
    let mut known = Remotes::new(&remotes(&["box2"]), NOW);
    known.take(answer("box2", NOW, vec![theirs("box2", "web", NOW)]));
    assert!(known.stale().is_empty());
    known.take(failure("box2", NOW + 2.0));
    known.take(failure("box2", NOW + 4.0));
    assert_eq!(
        known.merge(&local()).rows.len(),
        2,
        "no rows it no longer vouches for"
    );
    let stale = known.stale();
    assert_eq!(stale.len(), 1);
    assert_eq!(
        stale[0].since,
        NOW + 2.0,
        "since the first failure of the run"
    );
    let line = stale[0].line(NOW + 4.0);
    assert!(line.starts_with("box2: unreachable since "), "{line}");
    assert!(line.ends_with("(connection refused)"), "{line}");
    // Back: its rows again, and the next failure starts a new run.
    known.take(answer("box2", NOW + 6.0, vec![theirs("box2", "web", NOW)]));
    assert!(known.stale().is_empty());
    assert_eq!(known.merge(&local()).rows.len(), 3);
    known.take(failure("box2", NOW + 8.0));
    assert_eq!(known.stale()[0].since, NOW + 8.0);
    // An answer for a remote it does not know (a stale thread) changes nothing.
    known.take(answer(
        "elsewhere",
        NOW + 9.0,
        vec![theirs("elsewhere", "x", NOW)],
    ));
    assert_eq!(known.merge(&local()).rows.len(), 2);
}

#[test]
fn a_never_answered_remote_says_since_when_it_was_asked() {
    let stale = Stale {
        name: "box\u{1b}[2J".into(),
        since: NOW,
        why: None,
    };
    let line = stale.line(NOW + 1.0);
    assert!(line.ends_with(", no answer yet"), "{line}");
    assert!(!line.contains('\u{1b}'), "escaped: {line}");
}

/// An app showing this machine's `web` and box2's `web`, box2's selected.
fn app_on_remote_row() -> App {
    let mut known = Remotes::new(&remotes(&["box2"]), NOW);
    known.take(answer("box2", NOW, vec![theirs("box2", "web", NOW)]));
    let mut local = local();
    local.rows.truncate(1);
    let mut app = App::new("/tmp/hb.json".into(), NOW, false);
    app.update(Action::Report(Arc::new(known.merge(&local))));
    // Both up, both `web`: this machine's first.
    app.update(Action::Move(1));
    assert_eq!(app.selected_row().and_then(remote_host), Some("box2"));
    app
}

#[test]
fn actions_on_a_remote_row_are_refused_never_applied_to_the_same_named_local_process() {
    use crate::supervise::Verb;
    for action in [
        Action::Control(Verb::Restart),
        Action::Control(Verb::Stop),
        Action::AskSignal,
        Action::AskRemove,
    ] {
        let mut app = app_on_remote_row();
        assert_eq!(app.update(action.clone()), None, "{action:?}");
        assert_eq!(
            app.mode(),
            &crate::tui::app::Mode::Normal,
            "{action:?}: no dialog"
        );
        let notice = app.notice().expect("a notice says why");
        assert_eq!(
            notice.text, "box2: remote rows are read-only here (act on that machine)",
            "{action:?}"
        );
        assert!(notice.is_error);
        // Confirming anyway does nothing either.
        assert_eq!(app.update(Action::Confirm), None);
    }
    // This machine's `web` is acted on as ever.
    let mut app = app_on_remote_row();
    app.update(Action::Top);
    assert_eq!(app.selected_row().and_then(remote_host), None);
    assert_eq!(
        app.update(Action::Control(Verb::Restart)),
        Some(Effect::Control(Verb::Restart, "web".into()))
    );
}

#[test]
fn the_selection_follows_the_remote_row_not_the_same_named_local_one() {
    let mut app = app_on_remote_row();
    let mut known = Remotes::new(&remotes(&["box2"]), NOW);
    known.take(answer(
        "box2",
        NOW + 2.0,
        vec![theirs("box2", "web", NOW + 2.0)],
    ));
    // This machine gains a row that sorts first: box2's `web` stays selected.
    let mut local = local();
    local.rows[1] = row("aaa", State::Up, 1.0);
    local.rows.swap(0, 1);
    app.update(Action::Report(Arc::new(known.merge(&local))));
    let selected = app.selected_row().unwrap();
    assert_eq!(
        (remote_host(selected), selected.name.as_str()),
        (Some("box2"), "web")
    );
}

#[test]
fn a_remote_that_accepts_and_never_answers_is_asked_once_at_a_time_and_reported_unreachable() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    std::thread::spawn(move || {
        // Holds every connection open, answering nothing.
        let mut held = Vec::new();
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let hung = Remote::from_url(&url, None).unwrap();
    let inbox = Inbox::default();
    spawn(&[hung], &inbox, move || tx.send(()).is_ok()).unwrap();
    rx.recv_timeout(remote::TIMEOUT * 3)
        .expect("an answer within its timeout");
    let first = inbox.take().pop().unwrap();
    match &first.result {
        Err(RemoteError::Unreachable(why)) => assert!(why.contains("no answer within"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "no second ask while the first hung"
    );
    drop(rx);
}

#[test]
fn what_needs_a_remote_row_is_looked_for_on_its_machine_only() {
    let mut known = Remotes::new(&remotes(&["box2"]), NOW);
    known.take(answer("box2", NOW, vec![theirs("box2", "db", NOW)]));
    let mut local = local();
    local.rows[0].depends_on = vec!["db".into()];
    let merged = known.merge(&local);
    let mut app = App::new("/tmp/hb.json".into(), NOW, false);
    app.update(Action::Report(Arc::new(merged.clone())));
    let ours = &merged.rows[1];
    let box2 = &merged.rows[2];
    assert_eq!((ours.name.as_str(), box2.name.as_str()), ("db", "db"));
    assert_eq!(app.needed_by(ours), ["web"]);
    assert!(
        app.needed_by(box2).is_empty(),
        "this machine's web needs its own db"
    );
}

#[test]
fn a_stalled_loop_holds_one_answer_a_remote_and_is_woken_once() {
    let inbox = Inbox::default();
    let wakes: Vec<bool> = [("box2", 1.0), ("box3", 2.0), ("box2", 3.0), ("box2", 4.0)]
        .into_iter()
        .map(|(name, at)| inbox.put(answer(name, at, Vec::new())))
        .collect();
    assert_eq!(
        wakes,
        [true, false, false, false],
        "woken for the first answer only"
    );
    let held: Vec<(String, f64)> = inbox.take().into_iter().map(|f| (f.name, f.at)).collect();
    assert_eq!(held, [("box3".to_owned(), 2.0), ("box2".to_owned(), 4.0)]);
    assert!(
        inbox.put(answer("box2", 5.0, Vec::new())),
        "empty again: wakes again"
    );
}
