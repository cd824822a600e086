//! The restart policy step by step, on a clock the tests move.
use std::time::Duration;

use super::*;
use crate::config::{Command, Supervision};

fn policy(restart: Restart, max_restarts: u32) -> Supervision {
    Supervision {
        run: Some(Command {
            line: "x".into(),
            argv: vec!["x".into()],
            shell: false,
        }),
        restart_command: None,
        cwd: None,
        env: Vec::new(),
        user: None,
        restart,
        restart_on_probe: false,
        backoff_max: Duration::from_secs(8),
        stable_after: Duration::from_secs(30),
        max_restarts,
        restart_window: Duration::from_secs(60),
        start_timeout: Duration::from_secs(10),
        stop_timeout: Duration::from_secs(5),
        log_size: 1 << 20,
        log_keep: 1,
    }
}

fn seen(state: State, child: bool) -> Seen {
    Seen {
        state,
        since: Some(0.0),
        deps_up: true,
        child,
    }
}

fn crash() -> Exit {
    Exit {
        success: false,
        stop_signal: false,
        text: "exited with code 1".into(),
    }
}

/// Starts `unit` at `now` and sees it up.
fn start_up(unit: &mut Unit, p: &Supervision, now: f64) {
    let d = unit.observe("a", p, seen(State::Pending, false), now);
    assert_eq!(d.action, Some(Action::Start));
    unit.observe("a", p, seen(State::Up, true), now);
    assert_eq!(unit.phase, Phase::Running);
}

#[test]
fn a_process_waits_for_its_dependencies_to_be_up() {
    let p = policy(Restart::OnFailure, 3);
    let mut unit = Unit::new(false);
    let waiting = Seen {
        deps_up: false,
        ..seen(State::Pending, false)
    };
    assert_eq!(unit.observe("a", &p, waiting, 0.0), Decision::default());
    assert_eq!(unit.phase, Phase::Waiting);
    let d = unit.observe("a", &p, seen(State::Pending, false), 1.0);
    assert_eq!(
        (d.action, d.news.as_deref()),
        (Some(Action::Start), Some("started a"))
    );
}

#[test]
fn backoff_doubles_to_its_cap_and_gives_up_past_max_restarts_in_the_window() {
    let p = policy(Restart::OnFailure, 5);
    let mut unit = Unit::new(false);
    start_up(&mut unit, &p, 0.0);
    let mut now = 0.0;
    let mut waits = Vec::new();
    for _ in 0..5 {
        unit.exited("a", &p, &crash(), now);
        let Phase::Backoff { until, .. } = unit.phase.clone() else {
            panic!("{:?}", unit.phase);
        };
        waits.push(until - now);
        // Not before its time.
        assert_eq!(
            unit.observe("a", &p, seen(State::Dead, false), until - 0.1)
                .action,
            None
        );
        let d = unit.observe("a", &p, seen(State::Dead, false), until);
        assert_eq!(d.action, Some(Action::Start));
        now = until;
    }
    assert_eq!(waits, [1.0, 2.0, 4.0, 8.0, 8.0]);
    let d = unit.exited("a", &p, &crash(), now);
    assert!(
        matches!(unit.phase, Phase::GaveUp { .. }),
        "{:?}",
        unit.phase
    );
    assert_eq!(
        d.news.as_deref(),
        Some("gave up on a after 5 restarts in 1m00s: exited with code 1")
    );
    // Given up: nothing more, until started by hand.
    assert_eq!(
        unit.observe("a", &p, seen(State::Dead, false), now + 100.0),
        Decision::default()
    );
    unit.start();
    assert_eq!(
        unit.observe("a", &p, seen(State::Dead, false), now + 100.0)
            .action,
        Some(Action::Start)
    );
}

#[test]
fn restarts_outside_the_window_do_not_count_and_stable_health_resets_the_backoff() {
    let p = policy(Restart::OnFailure, 1);
    let mut unit = Unit::new(false);
    start_up(&mut unit, &p, 0.0);
    unit.exited("a", &p, &crash(), 0.0);
    assert!(matches!(unit.phase, Phase::Backoff { until, .. } if until == 1.0));
    let d = unit.observe("a", &p, seen(State::Dead, false), 1.0);
    assert_eq!(
        d.news.as_deref(),
        Some("restarted a (1st time in 1m00s): exited with code 1")
    );
    // The restart itself, for the history and the alerts: which one, and why.
    assert_eq!(d.restart, Some((1, "exited with code 1".to_owned())));
    unit.observe("a", &p, seen(State::Up, true), 2.0);
    // Healthy for stable_after: the next failure waits 1 s again, and the one restart of
    // a minute ago is out of the window.
    unit.observe("a", &p, seen(State::Up, true), 32.0);
    unit.exited("a", &p, &crash(), 62.0);
    assert!(
        matches!(unit.phase, Phase::Backoff { until, .. } if until == 63.0),
        "{:?}",
        unit.phase
    );
    // Counted again from 1 within the new window.
    let d = unit.observe("a", &p, seen(State::Dead, false), 63.0);
    assert_eq!(d.restart.map(|(n, _)| n), Some(1));
}

#[test]
fn the_restart_policy_decides_what_an_exit_leads_to() {
    let clean = Exit {
        success: true,
        stop_signal: false,
        text: "exited with code 0".into(),
    };
    let term = Exit {
        success: false,
        stop_signal: true,
        text: "killed by SIGTERM (signal 15)".into(),
    };
    let cases = [
        (Restart::OnFailure, crash(), true),
        (Restart::OnFailure, clean.clone(), false),
        (Restart::OnFailure, term.clone(), false),
        (Restart::Always, clean, true),
        (Restart::Always, term, true),
        (Restart::Never, crash(), false),
    ];
    for (restart, exit, restarts) in cases {
        let p = policy(restart, 3);
        let mut unit = Unit::new(false);
        start_up(&mut unit, &p, 0.0);
        unit.exited("a", &p, &exit, 5.0);
        let backoff = matches!(unit.phase, Phase::Backoff { .. });
        assert_eq!(backoff, restarts, "{restart:?} {exit:?}");
        if !restarts {
            assert_eq!(unit.phase, Phase::Exited);
        }
    }
}

#[test]
fn hung_or_a_failing_probe_kills_then_restarts_and_a_slow_start_counts_as_a_failure() {
    let mut p = policy(Restart::OnFailure, 3);
    let mut unit = Unit::new(false);
    start_up(&mut unit, &p, 0.0);
    // unhealthy restarts only with restart_on_probe.
    assert_eq!(
        unit.observe("a", &p, seen(State::Unhealthy, true), 1.0)
            .action,
        None
    );
    p.restart_on_probe = true;
    let d = unit.observe("a", &p, seen(State::Unhealthy, true), 2.0);
    assert_eq!(d.action, Some(Action::Kill));
    assert_eq!(d.news.as_deref(), Some("stopping a: was unhealthy 2s"));
    let mut unit = Unit::new(false);
    start_up(&mut unit, &p, 0.0);
    let hung = Seen {
        since: Some(100.0),
        ..seen(State::Hung, true)
    };
    let d = unit.observe("a", &p, hung, 142.0);
    assert_eq!(d.action, Some(Action::Kill));
    assert_eq!(d.news.as_deref(), Some("stopping a: was hung 42s"));
    // Its exit, asked for, restarts it whatever the exit says.
    unit.exited(
        "a",
        &p,
        &Exit {
            success: false,
            stop_signal: true,
            text: "killed".into(),
        },
        143.0,
    );
    let Phase::Backoff { until, why } = unit.phase.clone() else {
        panic!("{:?}", unit.phase);
    };
    assert_eq!((until, why.as_str()), (144.0, "was hung 42s"));
    unit.observe("a", &p, seen(State::Dead, false), 144.0);
    // Started, never up within start_timeout: killed, a failure.
    let d = unit.observe("a", &p, seen(State::Late, true), 154.5);
    assert_eq!(d.action, Some(Action::Kill));
    assert!(
        d.news
            .unwrap()
            .contains("not up within start_timeout 10s (it is late)")
    );
}

#[test]
fn a_stop_by_hand_stays_stopped() {
    let p = policy(Restart::Always, 3);
    let mut unit = Unit::new(false);
    start_up(&mut unit, &p, 0.0);
    assert_eq!(unit.stop(true), Some(Action::Kill));
    let d = unit.exited("a", &p, &crash(), 1.0);
    assert_eq!(unit.phase, Phase::Stopped);
    assert_eq!(d.news.as_deref(), Some("stopped a: exited with code 1"));
    assert_eq!(
        unit.observe("a", &p, seen(State::Dead, false), 100.0),
        Decision::default()
    );
}

#[test]
fn a_process_managed_elsewhere_is_restarted_by_its_command_when_dead() {
    let mut p = policy(Restart::OnFailure, 3);
    p.restart_command = p.run.take();
    let mut unit = Unit::new(true);
    assert_eq!(
        unit.observe("a", &p, seen(State::Up, false), 0.0),
        Decision::default()
    );
    unit.observe("a", &p, seen(State::Dead, false), 1.0);
    assert!(
        matches!(unit.phase, Phase::Backoff { until, .. } if until == 2.0),
        "{:?}",
        unit.phase
    );
    assert_eq!(
        unit.observe("a", &p, seen(State::Dead, false), 2.0).action,
        Some(Action::Start)
    );
    unit.observe("a", &p, seen(State::Up, false), 3.0);
    assert_eq!(unit.phase, Phase::Running);
}

#[test]
fn ordinals_read_as_english() {
    let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101]
        .iter()
        .map(|&n| ordinal(n))
        .collect();
    assert_eq!(
        got,
        [
            "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"
        ]
    );
}

#[test]
fn a_restart_by_hand_starts_afresh_without_counting_toward_max_restarts() {
    let p = policy(Restart::OnFailure, 1);
    let mut unit = Unit::new(false);
    start_up(&mut unit, &p, 0.0);
    unit.exited("a", &p, &crash(), 1.0);
    unit.observe("a", &p, seen(State::Dead, false), 2.0);
    unit.observe("a", &p, seen(State::Up, true), 3.0);
    // One restart made: the next failure would give up; a restart by hand clears it.
    assert_eq!(unit.restart(true), Some(Action::Kill));
    unit.exited("a", &p, &crash(), 4.0);
    assert_eq!(unit.phase, Phase::Waiting);
    start_up(&mut unit, &p, 4.0);
    unit.exited("a", &p, &crash(), 5.0);
    assert!(
        matches!(unit.phase, Phase::Backoff { until, .. } if until == 6.0),
        "{:?}",
        unit.phase
    );
}
