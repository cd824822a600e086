//! The pass after every row is judged: a failing process whose dependency is critical is
//! `blocked` by the root cause instead of showing its own failure (the rule: [`crate::deps`]).
//! It needs all rows, so it is not part of the per-process [`crate::health::evaluate`].

use std::collections::HashMap;

use super::Row;
use crate::deps::{self, Node};
use crate::health::{Health, Severity, State};

/// Turns each failing row with a critical dependency into `blocked`, naming its root
/// causes in `blocked_by` and the reason ("blocked: db is dead (own: dead, pid 42 is
/// gone)"); its own state stays readable in the reason, as a paused process's does.
pub(super) fn judge(rows: &mut [Row]) {
    if rows.iter().all(|r| r.depends_on.is_empty()) {
        return;
    }
    let nodes: Vec<Node<'_>> = rows
        .iter()
        .map(|r| Node {
            name: &r.name,
            depends_on: &r.depends_on,
            critical: r.health.severity == Severity::Critical,
            failing: r.health.severity >= Severity::Warning,
        })
        .collect();
    let roots = deps::blocked_by(&nodes);
    let states: HashMap<String, State> = rows
        .iter()
        .map(|r| (r.name.clone(), r.health.state))
        .collect();
    for (row, roots) in rows.iter_mut().zip(roots) {
        if roots.is_empty() {
            continue;
        }
        let causes: Vec<String> = roots
            .iter()
            .map(|root| format!("{root} is {}", states[root]))
            .collect();
        let own = &row.health;
        let mut health = Health::new(
            State::Blocked,
            format!(
                "blocked: {} (own: {}, {})",
                causes.join(", "),
                own.state,
                own.reason
            ),
            own.since,
        );
        if !row.rules.critical {
            health.severity = health.severity.min(Severity::Warning);
        }
        row.health = health;
        row.blocked_by = roots;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Rules;

    fn row(name: &str, state: State) -> Row {
        Row {
            name: name.to_owned(),
            label: None,
            monitored: true,
            entry: None,
            health: Health::new(state, format!("{name} is {state}"), None),
            process: None,
            rules: Rules::default(),
            depends_on: Vec::new(),
            blocked_by: Vec::new(),
            probes: Vec::new(),
            host: None,
            judged_at: None,
        }
    }

    /// Rows from `(name, own state, depends_on)`; the pass's result as
    /// `name state [blocked_by]` per row.
    /// A row of a case: name, own state, depends_on.
    type Given<'a> = (&'a str, State, &'a [&'a str]);

    fn pass(rows: &[Given<'_>]) -> Vec<String> {
        let mut rows: Vec<Row> = rows
            .iter()
            .map(|&(name, state, needs)| {
                let mut r = row(name, state);
                r.depends_on = needs.iter().map(|&n| n.to_owned()).collect();
                r
            })
            .collect();
        judge(&mut rows);
        rows.iter()
            .map(|r| format!("{} {} [{}]", r.name, r.health.state, r.blocked_by.join(",")))
            .collect()
    }

    use State::{Dead, Degraded, Hung, Late, Paused, Stopped, Up};

    #[test]
    fn failing_dependents_of_a_critical_process_are_blocked_and_fine_ones_stay_up() {
        let cases: &[(&[Given<'_>], &[&str])] = &[
            (
                &[
                    ("db", Dead, &[]),
                    ("api", Dead, &["db"]),
                    ("worker", Late, &["db"]),
                    ("web", Up, &["db"]),
                ],
                &[
                    "db dead []",
                    "api blocked [db]",
                    "worker blocked [db]",
                    "web up []",
                ],
            ),
            // The root cause, through a chain of critical links.
            (
                &[
                    ("db", Hung, &[]),
                    ("api", Dead, &["db"]),
                    ("web", Degraded, &["api"]),
                ],
                &["db hung []", "api blocked [db]", "web blocked [db]"],
            ),
            // A stopped or paused dependency blocks nothing; nor does a degraded one.
            (
                &[
                    ("db", Stopped, &[]),
                    ("cache", Paused, &[]),
                    ("q", Degraded, &[]),
                    ("api", Dead, &["db", "cache", "q"]),
                ],
                &[
                    "db stopped []",
                    "cache paused []",
                    "q degraded []",
                    "api dead []",
                ],
            ),
            // A paused dependent is not failing: it stays paused.
            (
                &[("db", Dead, &[]), ("api", Paused, &["db"])],
                &["db dead []", "api paused []"],
            ),
        ];
        for (rows, want) in cases {
            assert_eq!(pass(rows), *want, "{rows:?}");
        }
    }

    #[test]
    fn a_blocked_reason_names_the_root_and_keeps_its_own_state() {
        let mut rows = vec![row("db", Dead), row("api", Dead)];
        rows[1].depends_on = vec!["db".into()];
        rows[1].health.since = Some(5.0);
        judge(&mut rows);
        let api = &rows[1].health;
        assert_eq!(api.reason, "blocked: db is dead (own: dead, api is dead)");
        assert_eq!((api.severity, api.since), (Severity::Degraded, Some(5.0)));

        let mut relaxed = vec![row("db", Dead), row("api", Dead)];
        relaxed[1].depends_on = vec!["db".into()];
        relaxed[1].rules.critical = false;
        relaxed[1].health.severity = Severity::Warning;
        judge(&mut relaxed);
        assert_eq!(
            (relaxed[1].health.state, relaxed[1].health.severity),
            (State::Blocked, Severity::Warning)
        );
    }
}
