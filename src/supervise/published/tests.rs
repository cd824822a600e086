//! What the supervisor publishes: the phases it shows, the marks they make, and when a
//! published word is no news.
use super::*;
use crate::changes::tests::{report, row};

fn unit(stand: Stand) -> Unit {
    Unit {
        stand,
        why: (stand == Stand::GaveUp).then(|| "gave up on web after 2 restarts in 10m".into()),
        since: (stand == Stand::GaveUp).then_some(50.0),
        restarts: 2,
        backoff_until: None,
    }
}

#[test]
fn each_phase_shows_its_stand_and_only_gave_up_keeps_its_since() {
    let why = || "exited with code 1".to_owned();
    let cases = [
        (Phase::Waiting, Stand::Waiting),
        (Phase::Starting { since: 1.0 }, Stand::Starting),
        (Phase::Running, Stand::Running),
        (
            Phase::Stopping {
                then: Then::Restart(why()),
            },
            Stand::Restarting,
        ),
        (Phase::Stopping { then: Then::Stay }, Stand::StoppedByHand),
        (Phase::Stopping { then: Then::Start }, Stand::StoppedByHand),
        (Phase::Stopped, Stand::StoppedByHand),
        (
            Phase::Backoff {
                until: 9.0,
                why: why(),
            },
            Stand::Backoff,
        ),
        (Phase::Exited, Stand::Exited),
        (Phase::GaveUp { why: why() }, Stand::GaveUp),
    ];
    for (phase, stand) in cases {
        let shown = Unit::of(&phase, 3, Some(7.0));
        assert_eq!(shown.stand, stand, "{phase:?}");
        assert_eq!(shown.restarts, 3);
        assert_eq!(shown.since.is_some(), stand == Stand::GaveUp, "{phase:?}");
        assert_eq!(shown.backoff_until.is_some(), stand == Stand::Backoff);
    }
}

#[test]
fn gave_up_always_marks_and_stopped_by_hand_only_a_death() {
    // (stand, the row's own state, the state shown)
    let cases = [
        (Stand::GaveUp, State::Dead, State::GaveUp),
        (Stand::GaveUp, State::Up, State::GaveUp),
        (Stand::StoppedByHand, State::Dead, State::Stopped),
        (Stand::StoppedByHand, State::Up, State::Up),
        (Stand::Running, State::Dead, State::Dead),
        (Stand::Backoff, State::Dead, State::Dead),
    ];
    for (stand, own, shown) in cases {
        let mut r = report(
            100.0,
            vec![row("web", own, Some(90.0)), row("db", own, None)],
        );
        let units = BTreeMap::from([("web".to_owned(), unit(stand))]);
        mark(&mut r, &units, 100.0);
        assert_eq!(r.rows[0].health.state, shown, "{stand:?} over {own}");
        assert_eq!(
            r.rows[1].health.state, own,
            "a process not supervised is left"
        );
    }
    let mut r = report(100.0, vec![row("web", State::Dead, Some(90.0))]);
    mark(
        &mut r,
        &BTreeMap::from([("web".to_owned(), unit(Stand::GaveUp))]),
        100.0,
    );
    let health = &r.rows[0].health;
    assert_eq!(
        health.reason,
        "gave up on web after 2 restarts in 10m (now dead: web is dead)"
    );
    assert_eq!(health.since, Some(50.0));
}

#[test]
fn a_word_too_old_or_from_a_gone_writer_or_untrusted_is_no_news() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    let units = |pid| Units {
        pid,
        units: BTreeMap::from([("web".to_owned(), unit(Stand::GaveUp))]),
        restarts: Vec::new(),
    };
    let ours = units(std::process::id());
    assert_eq!(read(&file, 100.0), None, "nothing published");
    write(&file, &ours, 100.0).unwrap();
    // (now, what is read)
    for (now, fresh) in [(100.0, true), (100.0 + STALE, true), (101.0 + STALE, false)] {
        assert_eq!(read(&file, now).is_some(), fresh, "read at {now}");
    }
    // A PID no process has (past the kernel's largest).
    write(&file, &units(i32::MAX as u32), 100.0).unwrap();
    assert_eq!(read(&file, 100.0), None, "a gone writer");
    write(&file, &ours, 100.0).unwrap();
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(path(&file), mode(0o666)).unwrap();
    assert_eq!(read(&file, 100.0), None, "a file others can write");
    // Applied: a report marked as the supervisor says.
    std::fs::set_permissions(path(&file), mode(0o644)).unwrap();
    let mut r = report(100.0, vec![row("web", State::Dead, Some(90.0))]);
    apply(&mut r, &file, 100.0);
    assert_eq!(r.rows[0].health.state, State::GaveUp);
}

#[test]
fn the_document_is_a_sidecar_of_the_file() {
    assert_eq!(
        path(Path::new("/d/hb.json")),
        Path::new("/d/hb.json.supervise.json")
    );
}

#[test]
fn a_restart_read_back_from_the_document_is_the_same_row_to_the_bit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hb.json");
    for now in [
        1_764_700_000.123_456_7,
        1_764_700_000.0,
        0.000_4,
        1e9 + 0.999_9,
    ] {
        let restart = Restart {
            name: "web".into(),
            time: restart_time(now),
            count: 1,
            cause: "exited with code 1".into(),
            text: "restarted web (1st time in 10m00s): exited with code 1".into(),
        };
        let units = Units {
            pid: std::process::id(),
            units: BTreeMap::new(),
            restarts: vec![Restarted::of(&restart)],
        };
        write(&file, &units, 1.0).unwrap();
        let back = read(&file, 1.0).unwrap().restarts[0].restart();
        assert_eq!(back.time.to_bits(), restart.time.to_bits(), "{now}");
        assert_eq!(back, restart);
        assert!((restart.time - now).abs() <= 0.000_5, "{now}");
    }
}
