//! The decision's tests: one process through sequences of checks, digests, reminders.

use super::*;

/// Runs one process through `checks` (time, state; `Paused` also stands for a pause,
/// `None` for a muted check) and writes what was sent, one string per message.
fn run(policy: Policy, checks: &[(f64, Option<State>)]) -> Vec<String> {
    let mut decider = Decider::new(policy);
    let mut sent = Vec::new();
    let mut last = State::Up;
    for &(now, state) in checks {
        let muted = state.is_none();
        let state = state.unwrap_or(last);
        last = state;
        let o = Observation {
            muted,
            ..Observation::of("w", state)
        };
        for message in decider.decide(&[o], now, true) {
            sent.push(describe(&message, now));
        }
    }
    if let Some(rest) = decider.flush() {
        sent.push(format!("{} at stop", describe(&rest, f64::NAN)));
    }
    sent
}

fn describe(message: &Message, now: f64) -> String {
    let notices: Vec<String> = message
        .notices()
        .iter()
        .map(|n| {
            let from = n.previous.map_or("-", State::as_str);
            let kind = match n.kind {
                NoticeKind::Alert => "",
                NoticeKind::Recovery => "recovered ",
                NoticeKind::Reminder => "still ",
                NoticeKind::Restart => "restarted ",
            };
            format!("{kind}{from}>{}", n.state)
        })
        .collect();
    match message {
        Message::Now(_) => format!("{now}: now {}", notices.join(" ")),
        Message::Digest(_) => format!("{now}: digest {}", notices.join(" ")),
        Message::Host { host, .. } => format!("{now}: host {host} {}", notices.join(" ")),
    }
}

use State::{Dead, Degraded, Late, Paused, Stopped, Up};

const fn policy(after: u32, repeat: Option<f64>, digest: f64) -> Policy {
    Policy {
        after,
        repeat,
        digest,
    }
}

#[test]
fn a_digest_says_how_often_a_process_flapped() {
    let notice = |previous, state: State| Notice {
        kind: NoticeKind::Alert,
        name: "w".into(),
        state,
        previous: Some(previous),
        severity: state.severity(),
        reason: "why".into(),
        since: None,
        time: 0.0,
        takes_down: Vec::new(),
    };
    let net = net_changes(vec![
        notice(Up, Late),
        notice(Late, Up),
        notice(Up, Late),
        notice(Late, Up),
        notice(Up, Late),
    ]);
    assert_eq!(net.len(), 1);
    assert_eq!((net[0].previous, net[0].state), (Some(Up), Late));
    assert_eq!(
        net[0].reason,
        "why (flapped 2 times in this digest's period)"
    );
    let once = net_changes(vec![notice(Up, Late), notice(Late, Up), notice(Up, Late)]);
    assert_eq!(once[0].reason, "why (flapped once in this digest's period)");
}

/// What the case shows, the policy, the checks, what is sent.
type Case = (
    &'static str,
    Policy,
    &'static [(f64, Option<State>)],
    &'static [&'static str],
);

const CASES: &[Case] = &[
    (
        "hard changes go at once, both ways",
        policy(1, None, 60.0),
        &[
            (0.0, Some(Up)),
            (1.0, Some(Dead)),
            (2.0, Some(Dead)),
            (3.0, Some(Up)),
        ],
        &["1: now up>dead", "3: now recovered dead>up"],
    ),
    (
        "a process first seen dead is alerted with no previous state",
        policy(1, None, 60.0),
        &[(0.0, Some(Dead))],
        &["0: now ->dead"],
    ),
    (
        "soft changes wait for one digest",
        policy(1, None, 10.0),
        &[
            (0.0, Some(Up)),
            (1.0, Some(Late)),
            (9.0, Some(Late)),
            (11.0, Some(Late)),
        ],
        &["11: digest up>late"],
    ),
    (
        "a soft change that recovered before the digest went out is no news",
        policy(1, None, 10.0),
        &[
            (0.0, Some(Up)),
            (1.0, Some(Late)),
            (1.9, Some(Up)),
            (11.0, Some(Up)),
        ],
        &[],
    ),
    (
        "the digest says the net change per process",
        policy(1, None, 10.0),
        &[
            (0.0, Some(Up)),
            (1.0, Some(Late)),
            (2.0, Some(Degraded)),
            (11.0, Some(Degraded)),
        ],
        &["11: digest up>degraded"],
    ),
    (
        "flapping back and forth is said as such, back where it started",
        policy(1, None, 10.0),
        &[
            (0.0, Some(Up)),
            (1.0, Some(Late)),
            (2.0, Some(Up)),
            (3.0, Some(Late)),
            (4.0, Some(Up)),
            (11.0, Some(Up)),
        ],
        &["11: digest recovered up>up"],
    ),
    (
        "soft news a hard alert covers is not repeated in the digest",
        policy(1, None, 10.0),
        &[
            (0.0, Some(Up)),
            (1.0, Some(Late)),
            (2.0, Some(Dead)),
            (11.0, Some(Dead)),
        ],
        &["2: now late>dead"],
    ),
    (
        "a digest of 0 sends soft changes at once",
        policy(1, None, 0.0),
        &[(0.0, Some(Up)), (1.0, Some(Late))],
        &["1: digest up>late"],
    ),
    (
        "a pending digest is sent when the monitor stops",
        policy(1, None, 3600.0),
        &[(0.0, Some(Up)), (1.0, Some(Late))],
        &["NaN: digest up>late at stop"],
    ),
    (
        "after: flapping shorter than N checks says nothing, not even a recovery",
        policy(3, None, 0.0),
        &[
            (0.0, Some(Up)),
            (1.0, Some(Late)),
            (2.0, Some(Late)),
            (3.0, Some(Up)),
            (4.0, Some(Dead)),
            (5.0, Some(Up)),
        ],
        &[],
    ),
    (
        "after: N bad checks in a row, in any bad states, alert the latest",
        policy(3, None, 0.0),
        &[
            (0.0, Some(Up)),
            (1.0, Some(Late)),
            (2.0, Some(Degraded)),
            (3.0, Some(Dead)),
            (4.0, Some(Up)),
        ],
        &["3: now up>dead", "4: now recovered dead>up"],
    ),
    (
        "getting worse after an alert is alerted at once",
        policy(2, None, 0.0),
        &[(0.0, Some(Late)), (1.0, Some(Late)), (2.0, Some(Dead))],
        &["1: digest ->late", "2: now late>dead"],
    ),
    (
        "repeat: reminders while critical, timed from the last notice",
        policy(1, Some(10.0), 60.0),
        &[
            (0.0, Some(Dead)),
            (5.0, Some(Dead)),
            (10.0, Some(Dead)),
            (15.0, Some(Dead)),
            (20.0, Some(Dead)),
            (21.0, Some(Up)),
        ],
        &[
            "0: now ->dead",
            "10: now still dead>dead",
            "20: now still dead>dead",
            "21: now recovered dead>up",
        ],
    ),
    (
        "repeat: no reminders for soft states",
        policy(1, Some(1.0), 0.0),
        &[(0.0, Some(Late)), (5.0, Some(Late))],
        &["0: digest ->late"],
    ),
    (
        "a paused process is never alerted, and owes no recovery",
        policy(1, Some(1.0), 0.0),
        &[
            (0.0, Some(Dead)),
            (1.0, Some(Paused)),
            (5.0, Some(Paused)),
            (6.0, Some(Up)),
        ],
        &["0: now ->dead"],
    ),
    (
        "a pause ending on a dead process alerts it",
        policy(1, None, 0.0),
        &[(0.0, Some(Paused)), (1.0, Some(Dead))],
        &["1: now paused>dead"],
    ),
    (
        "alerts = false mutes a process whatever its state",
        policy(1, Some(1.0), 0.0),
        &[
            (0.0, Some(Up)),
            (1.0, Some(Dead)),
            (1.0, None),
            (2.0, None),
            (3.0, Some(Up)),
        ],
        &["1: now up>dead"],
    ),
    (
        "a clean stop is no alert",
        policy(1, None, 0.0),
        &[(0.0, Some(Up)), (1.0, Some(Stopped))],
        &[],
    ),
];

#[test]
fn decisions() {
    for (what, policy, checks, expected) in CASES {
        assert_eq!(run(policy.clone(), checks), *expected, "{what}");
    }
}

#[test]
fn remembered_states_are_not_alerted_again() {
    let mut decider = Decider::new(policy(1, Some(10.0), 0.0));
    decider.remember("w", Dead, 100.0);
    let dead = Observation::of("w", Dead);
    assert!(decider.decide(&[dead], 105.0, true).is_empty());
    let reminder = decider.decide(&[dead], 110.0, true);
    assert_eq!(reminder.len(), 1);
    assert_eq!(reminder[0].notices()[0].kind, NoticeKind::Reminder);
}

#[test]
fn checks_between_ticks_see_good_states_but_count_no_bad_ones() {
    let mut decider = Decider::new(policy(1, None, 0.0));
    let at = |state: State| Observation::of("w", state);
    // A process first seen up between two ticks, dead at the next tick: "was up".
    assert!(decider.decide(&[at(Up)], 0.5, false).is_empty());
    assert!(decider.decide(&[at(Dead)], 0.7, false).is_empty());
    let sent = decider.decide(&[at(Dead)], 1.0, true);
    assert_eq!(describe(&sent[0], 1.0), "1: now up>dead");
    // A recovery is sent from any check.
    let sent = decider.decide(&[at(Up)], 1.2, false);
    assert_eq!(describe(&sent[0], 1.2), "1.2: now recovered dead>up");
}

#[test]
fn one_digest_gathers_every_process() {
    let mut decider = Decider::new(policy(1, None, 5.0));
    let late = |name| Observation {
        since: Some(1.0),
        ..Observation::of(name, Late)
    };
    assert!(decider.decide(&[late("a")], 0.0, true).is_empty());
    assert!(
        decider
            .decide(&[late("a"), late("b")], 3.0, true)
            .is_empty()
    );
    let sent = decider.decide(&[late("a"), late("b")], 5.0, true);
    let names: Vec<_> = sent[0].notices().iter().map(|n| n.name.as_str()).collect();
    assert_eq!((sent.len(), names), (1, vec!["a", "b"]));
    assert_eq!(decider.flush(), None);
}

#[test]
fn a_root_cause_is_one_alert_naming_what_it_takes_down_and_blocked_dependents_stay_quiet() {
    let mut decider = Decider::new(policy(1, Some(100.0), 0.0));
    let takes_down = ["api".to_owned(), "web".to_owned()];
    let at = |name, state: State, blocked| Observation {
        blocked,
        takes_down: if name == "db" { &takes_down } else { &[] },
        ..Observation::of(name, state)
    };
    let check = |decider: &mut Decider, now, rows: &[Observation<'_>]| -> Vec<String> {
        decider
            .decide(rows, now, true)
            .iter()
            .flat_map(|m| m.notices().to_vec())
            .map(|n| {
                format!(
                    "{:?} {} {} [{}]",
                    n.kind,
                    n.name,
                    n.state,
                    n.takes_down.join(",")
                )
            })
            .collect()
    };
    let up = [
        at("db", Up, false),
        at("api", Up, false),
        at("web", Up, false),
    ];
    assert!(check(&mut decider, 0.0, &up).is_empty());
    // db dies; api fails with it, blocked at once or a check later: one alert.
    let down = [
        at("db", Dead, false),
        at("api", State::Blocked, true),
        at("web", Up, false),
    ];
    assert_eq!(check(&mut decider, 1.0, &down), ["Alert db dead [api,web]"]);
    let worse = [
        at("db", Dead, false),
        at("api", State::Blocked, true),
        at("web", State::Blocked, true),
    ];
    assert!(check(&mut decider, 2.0, &worse).is_empty());
    // db back: one recovery; its dependents back quietly.
    assert_eq!(check(&mut decider, 3.0, &up), ["Recovery db up [api,web]"]);
    assert!(check(&mut decider, 4.0, &up).is_empty());
    // A dependent still dead once its root is back is news of its own.
    assert_eq!(
        check(&mut decider, 5.0, &worse),
        ["Alert db dead [api,web]"]
    );
    let left = [
        at("db", Up, false),
        at("api", Dead, false),
        at("web", Up, false),
    ];
    assert_eq!(
        check(&mut decider, 6.0, &left),
        ["Recovery db up [api,web]", "Alert api dead []"]
    );
}

#[test]
fn a_process_remembered_blocked_recovers_quietly_after_a_restart() {
    let mut decider = Decider::new(policy(1, None, 0.0));
    decider.remember("api", State::Blocked, 100.0);
    let up = Observation::of("api", Up);
    assert!(decider.decide(&[up], 101.0, true).is_empty());
}
