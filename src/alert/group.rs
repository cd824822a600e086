//! A host as the root cause: when every process of one other machine goes critical in
//! the same check (the machine or its network is down), their hard notices are one message
//! for the host, not one per process; so are their recoveries in one check. Pure.

use std::collections::HashMap;

use super::decide::{Message, Notice, NoticeKind, Observation};
use crate::health::{Severity, State};

/// `messages` (one check's, of one rule) with the hard notices of each host that is down
/// as a whole joined into one [`Message::Host`], at the place of the first of them. A
/// host's alerts join when two or more go out in this check and every process of the host
/// is down now (critical, or blocked by what is; a stopped or paused one is not beating
/// either); its recoveries join when two or more go out in this check. Reminders stay
/// apart: each is its own process's `repeat`.
pub fn by_host(messages: Vec<Message>, observations: &[Observation<'_>]) -> Vec<Message> {
    let host_of: HashMap<&str, &str> = observations
        .iter()
        .filter_map(|o| Some((o.name, o.host?)))
        .collect();
    if host_of.is_empty() {
        return messages;
    }
    let key = |message: &Message| match message {
        Message::Now(n) if n.kind != NoticeKind::Reminder => {
            host_of.get(n.name.as_str()).map(|&h| (h, n.kind))
        }
        _ => None,
    };
    let mut counts: HashMap<(&str, NoticeKind), usize> = HashMap::new();
    for k in messages.iter().filter_map(key) {
        *counts.entry(k).or_default() += 1;
    }
    let down = |host: &str| {
        observations
            .iter()
            .filter(|o| o.host == Some(host) && !o.muted)
            .filter(|o| !matches!(o.state, State::Stopped | State::Paused))
            .all(|o| o.blocked || o.severity == Severity::Critical)
    };
    let joins = |&(host, kind): &(&str, NoticeKind)| {
        counts[&(host, kind)] >= 2 && (kind == NoticeKind::Recovery || down(host))
    };
    let mut out: Vec<Message> = Vec::with_capacity(messages.len());
    // Where each joined group's message is in `out`.
    let mut at: HashMap<(&str, NoticeKind), usize> = HashMap::new();
    for message in messages {
        let Some(k) = key(&message).filter(joins) else {
            out.push(message);
            continue;
        };
        let Message::Now(notice) = message else {
            unreachable!("only a Now message has a key")
        };
        if let Some(&i) = at.get(&k) {
            if let Message::Host { notices, .. } = &mut out[i] {
                notices.push(notice);
            }
        } else {
            at.insert(k, out.len());
            out.push(Message::Host {
                host: k.0.to_owned(),
                notices: vec![notice],
            });
        }
    }
    out
}

/// The notices of a host message, in the order they came.
pub fn names(notices: &[Notice]) -> Vec<&str> {
    notices.iter().map(|n| n.name.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Decider;
    use crate::config::Policy;
    use State::{Dead, Late, Stopped, Up};

    /// A process of a case: name, host ("" for this machine), state.
    type Given<'a> = (&'a str, &'a str, State);

    fn observe<'a>(rows: &[Given<'a>]) -> Vec<Observation<'a>> {
        rows.iter()
            .map(|&(name, host, state)| Observation {
                host: (!host.is_empty()).then_some(host),
                ..Observation::of(name, state)
            })
            .collect()
    }

    /// What one check after an all-up check sends: `host:a,b` for a host message,
    /// `name` for a process's own.
    fn sent(rows: &[Given<'_>]) -> Vec<String> {
        let policy = Policy {
            after: 1,
            repeat: None,
            digest: 0.0,
        };
        let mut decider = Decider::new(policy);
        let up: Vec<_> = rows.iter().map(|&(n, h, _)| (n, h, Up)).collect();
        assert!(decider.decide(&observe(&up), 0.0, true).is_empty());
        decider
            .decide(&observe(rows), 1.0, true)
            .iter()
            .map(|m| match m {
                Message::Host { host, notices } => format!("{host}:{}", names(notices).join(",")),
                Message::Now(n) => n.name.clone(),
                Message::Digest(ns) => format!("digest:{}", names(ns).join(",")),
            })
            .collect()
    }

    #[test]
    fn every_process_of_a_host_dead_at_once_is_one_alert_for_the_host() {
        let cases: &[(&[Given<'_>], &[&str])] = &[
            (
                &[("a", "far", Dead), ("local", "", Dead), ("b", "far", Dead)],
                &["far:a,b", "local"],
            ),
            // One process of the host still fine: the host is up, each alert its own.
            (
                &[("a", "far", Dead), ("b", "far", Dead), ("c", "far", Up)],
                &["a", "b"],
            ),
            // A stopped one does not keep the host up.
            (
                &[
                    ("a", "far", Dead),
                    ("b", "far", Dead),
                    ("c", "far", Stopped),
                ],
                &["far:a,b"],
            ),
            // A host of one process is that process.
            (&[("a", "far", Dead)], &["a"]),
            // Two hosts down: one message each.
            (
                &[
                    ("a", "x", Dead),
                    ("b", "y", Dead),
                    ("c", "x", Dead),
                    ("d", "y", Dead),
                ],
                &["x:a,c", "y:b,d"],
            ),
            // Soft news goes to the digest as ever.
            (&[("a", "far", Late), ("b", "far", Late)], &["digest:a,b"]),
        ];
        for (rows, want) in cases {
            assert_eq!(sent(rows), *want, "{rows:?}");
        }
    }

    #[test]
    fn a_host_back_at_once_is_one_recovery_for_the_host() {
        let mut decider = Decider::new(Policy {
            after: 1,
            repeat: None,
            digest: 0.0,
        });
        let dead = observe(&[("a", "far", Dead), ("b", "far", Dead)]);
        assert_eq!(decider.decide(&dead, 0.0, true).len(), 1);
        let up = observe(&[("a", "far", Up), ("b", "far", Up)]);
        let back = decider.decide(&up, 1.0, true);
        let [Message::Host { host, notices }] = back.as_slice() else {
            panic!("{back:?}");
        };
        assert_eq!((host.as_str(), names(notices)), ("far", vec!["a", "b"]));
        assert!(notices.iter().all(|n| n.kind == NoticeKind::Recovery));
    }
}
