//! Rule 8 of the module docs: what a process's active probes make of its judgment.

use super::{Health, Rules, Severity, State};

/// What a process's probes say, for [`super::evaluate`] (`crate::checks` runs them).
#[derive(Debug, Clone, PartialEq)]
pub enum Probed {
    /// It has no probes.
    None,
    /// None has run yet.
    Waiting,
    /// None fails.
    Passing,
    /// At least one failed `probe_fails` runs in a row: which, and why, since when.
    Failing { reason: String, since: Option<f64> },
    /// None fails that is known, but the results come from a monitor that stopped
    /// publishing them: what they say now is unknown, and why.
    Stale { reason: String },
}

/// States a failing probe turns `unhealthy`: the ones no worse than it.
const OVERRIDDEN: [State; 5] = [
    State::Up,
    State::Running,
    State::Late,
    State::Error,
    State::Skewed,
];

/// `judged` as the probes leave it.
pub(super) fn over(judged: Health, probed: &Probed, rules: &Rules) -> Health {
    match probed {
        Probed::Failing { reason, since } if OVERRIDDEN.contains(&judged.state) => {
            let reason = if judged.state == State::Up {
                reason.clone()
            } else {
                format!("{reason}; underneath: {} ({})", judged.state, judged.reason)
            };
            unhealthy(reason, *since, rules)
        }
        // The beats still judge it; the reason says its probes are not being checked.
        Probed::Stale { reason } => Health {
            reason: format!("{}; {reason}", judged.reason),
            ..judged
        },
        _ => judged,
    }
}

/// A process with probes and no heartbeat: judged by them alone.
pub(super) fn alone(probed: &Probed, rules: &Rules) -> Health {
    match probed {
        Probed::Failing { reason, since } => unhealthy(reason.clone(), *since, rules),
        Probed::Passing => Health::new(State::Up, "probes pass (no heartbeat)", None),
        // Nothing else judges it: its probe results are late, as a heartbeat can be.
        Probed::Stale { reason } => Health::new(State::Late, reason.clone(), None),
        Probed::Waiting | Probed::None => Health::new(State::Pending, "no probe has run yet", None),
    }
}

fn unhealthy(reason: String, since: Option<f64>, rules: &Rules) -> Health {
    let mut health = Health::new(State::Unhealthy, reason, since);
    if rules.probe_critical {
        health.severity = Severity::Critical;
    }
    health
}

#[cfg(test)]
mod tests {
    use super::super::{Os, Probed, Rules, Severity, State, evaluate};
    use crate::store::{Beat, Entry};

    fn failing() -> Probed {
        Probed::Failing {
            reason: "http http://x/ failed 2 times in a row: HTTP 500".into(),
            since: Some(990.0),
        }
    }

    /// An entry that last beat `age` seconds before 1000 (interval 30 s, grace 15 s).
    fn beat(age: f64) -> Entry {
        Beat::alive(None).apply(None, 1000.0 - age)
    }

    #[test]
    fn a_failing_probe_makes_a_beating_process_unhealthy_and_a_worse_state_hides_it() {
        let rules = Rules::default();
        let stale = || Probed::Stale {
            reason: "probe results are stale: http http://x/ last ran 5m ago".into(),
        };
        let cases: [(Option<Entry>, Probed, State, &str); 10] = [
            (Some(beat(5.0)), failing(), State::Unhealthy, "HTTP 500"),
            (Some(beat(5.0)), Probed::Passing, State::Up, "beat 5s ago"),
            (
                Some(beat(50.0)),
                failing(),
                State::Unhealthy,
                "underneath: late",
            ),
            // Past degraded_after (3 × 30 s + 15 s): the beats say worse.
            (Some(beat(110.0)), failing(), State::Degraded, "no beat"),
            (None, failing(), State::Unhealthy, "HTTP 500"),
            (None, Probed::Passing, State::Up, "probes pass"),
            (None, Probed::Waiting, State::Pending, "no probe has run"),
            // Stale results say nothing about now: the beats judge, and the reason says so;
            // without beats, the results themselves are late.
            (
                Some(beat(5.0)),
                stale(),
                State::Up,
                "beat 5s ago; probe results are stale",
            ),
            (
                Some(beat(110.0)),
                stale(),
                State::Degraded,
                "; probe results are stale",
            ),
            (None, stale(), State::Late, "probe results are stale"),
        ];
        for (entry, probed, state, reason) in cases {
            let health = evaluate(entry.as_ref(), &rules, 1000.0, Os::Unknown, &probed);
            assert_eq!(health.state, state, "{probed:?}: {health:?}");
            assert!(health.reason.contains(reason), "{health:?}");
        }
        let unhealthy = evaluate(Some(&beat(5.0)), &rules, 1000.0, Os::Unknown, &failing());
        assert_eq!(
            (unhealthy.severity, unhealthy.since),
            (Severity::Degraded, Some(990.0))
        );
    }

    #[test]
    fn probe_critical_makes_unhealthy_critical_unless_critical_is_false() {
        let strict = Rules {
            probe_critical: true,
            ..Rules::default()
        };
        let severity = |rules: &Rules| {
            evaluate(Some(&beat(5.0)), rules, 1000.0, Os::Unknown, &failing()).severity
        };
        assert_eq!(severity(&strict), Severity::Critical);
        let capped = Rules {
            critical: false,
            ..strict
        };
        assert_eq!(severity(&capped), Severity::Warning);
    }
}
