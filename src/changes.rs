//! What changed between successive reports: state transitions, new beats and probe verdict
//! flips. Pure (no I/O, no clock), so the history recorder, `hbmon serve`'s alerts and the
//! terminal UI share one definition of "a transition", "a new beat" and "a flip".

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::checks::rollup::ProbeMinute;
use crate::health::{Severity, State};
use crate::report::{Report, Row, columns};
use crate::store::Reported;
use crate::text;

/// A process's state changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub name: String,
    /// When the change was observed: the `now` of the report that showed it.
    pub time: f64,
    /// The state before; `None` when the process had not been seen before.
    pub from: Option<State>,
    pub to: State,
    /// The severity of the new state.
    pub severity: Severity,
    pub reason: String,
    /// Since when the process is in the new state, when the evaluation knows better than
    /// `time` (e.g. the moment its fifth interval ran out).
    pub since: Option<f64>,
}

/// One beat of a process: new in a report (its entry's `last_heartbeat` changed since the
/// report before), or read back from the history database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeenBeat {
    pub name: String,
    /// The beat's own time (`last_heartbeat`), not when it was noticed.
    pub time: f64,
    pub pid: Option<u32>,
    pub status: Reported,
    pub data: Value,
}

/// An active probe's verdict flipped: it began to count as failing (`probe_fails` runs in
/// a row failed), or it passed again. A process's state may not change with it (a dead
/// process stays dead), so the flip is its own event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeFlip {
    pub name: String,
    /// When the run that flipped it ended (Unix seconds).
    pub time: f64,
    /// `http`, `tcp` or `command`.
    pub kind: String,
    /// The URL, the address, the command line, as configured.
    pub target: String,
    /// It counts as failing from now on; `false`: it passes again.
    pub failing: bool,
    /// How long the run that flipped it took, in milliseconds.
    pub ms: Option<f64>,
    /// Why it fails (its last run's error); `None` when it passes.
    pub reason: Option<String>,
}

impl ProbeFlip {
    /// `probe ok → failing   http http://127.0.0.1:8080/health in 3.2ms: HTTP 500`, as
    /// `hbmon history` and the UI's history tab show it; the target and the reason (a
    /// server's words) escaped.
    pub fn summary(&self) -> String {
        let change = if self.failing {
            "probe ok → failing"
        } else {
            "probe failing → ok"
        };
        let why = self
            .reason
            .as_deref()
            .map_or_else(String::new, |r| format!(": {}", text::escape(r)));
        format!(
            "{change:<20} {} {} in {}{why}",
            self.kind,
            text::escape(&self.target),
            columns::millis(self.ms)
        )
    }
}

/// `hbmon serve`'s supervisor restarted a process (started it again, or ran its
/// `restart_command`): its own event, as a restart need not change the state a report
/// shows (a process that crashes at once is `dead` before and after).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restart {
    pub name: String,
    /// When the restart was ordered (Unix seconds).
    pub time: f64,
    /// Which restart within `restart_window` it is: 1 for the first.
    pub count: u32,
    /// Why: "was hung 42s", "exited with code 1".
    pub cause: String,
    /// "restarted bidder (3rd time in 10m): was hung 42s", as the log, the history and the
    /// alerts say it.
    pub text: String,
}

/// Everything one report changed, in report row order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub transitions: Vec<Transition>,
    pub beats: Vec<SeenBeat>,
    pub flips: Vec<ProbeFlip>,
    /// The supervisor's restarts for the history: those the monitor that records it has
    /// not handed to it yet, whichever monitor made them (none where it does not record).
    pub restarts: Vec<Restart>,
    /// Probes' minutes of response times for the history: those closed since the last
    /// check, from the monitor that runs the probes when it also records (none otherwise).
    pub minutes: Vec<ProbeMinute>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.transitions.is_empty()
            && self.beats.is_empty()
            && self.flips.is_empty()
            && self.restarts.is_empty()
            && self.minutes.is_empty()
    }
}

/// What was last seen of one probe: which it is, and whether it counted as failing.
#[derive(Debug, Clone, PartialEq)]
struct ProbeSeen {
    kind: String,
    target: String,
    failing: bool,
}

/// What was last seen of one process.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Seen {
    pub state: Option<State>,
    pub last_beat: Option<f64>,
}

/// Remembers the last state and beat of every process, and turns each new report into the
/// [`Changes`] since the one before. Keep one per view (the UI, `hbmon serve`) and feed it
/// every report in order; seed it with [`Tracker::remember`] from the history database so a
/// restarted monitor does not see every process as new.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    seen: HashMap<String, Seen>,
    /// Each process's probes, by heartbeat name: only processes with probes are here.
    probes: HashMap<String, Vec<ProbeSeen>>,
}

impl Tracker {
    /// Records what is already known of `name`, e.g. from the history database, unless
    /// `name` was seen here already: what this tracker saw itself is newer (the history may
    /// be read late, when its database was busy, or when a standby takes over recording).
    pub fn remember(&mut self, name: &str, seen: Seen) {
        self.seen.entry(name.to_owned()).or_insert(seen);
    }

    /// Records what a probe was last known to say (its newest flip in the history
    /// database), unless this tracker saw that probe already, as [`Tracker::remember`].
    pub fn remember_probe(&mut self, flip: &ProbeFlip) {
        let seen = self.probes.entry(flip.name.clone()).or_default();
        if !seen
            .iter()
            .any(|p| p.kind == flip.kind && p.target == flip.target)
        {
            seen.push(ProbeSeen {
                kind: flip.kind.clone(),
                target: flip.target.clone(),
                failing: flip.failing,
            });
        }
    }

    /// What was last seen of `name`.
    pub fn seen(&self, name: &str) -> Option<Seen> {
        self.seen.get(name).copied()
    }

    /// Every process's last state, as seen here or remembered.
    pub fn states(&self) -> impl Iterator<Item = (&str, State)> {
        self.seen
            .iter()
            .filter_map(|(name, seen)| Some((name.as_str(), seen.state?)))
    }

    /// The changes `report` shows against everything seen before, which it then remembers.
    /// A process that is missing from `report` (removed from the file) is kept as last seen,
    /// so if it comes back its transition starts from the state it had.
    pub fn observe(&mut self, report: &Report) -> Changes {
        let mut changes = Changes::default();
        for row in &report.rows {
            let seen = self.seen.entry(row.name.clone()).or_default();
            if seen.state != Some(row.health.state) {
                changes.transitions.push(Transition {
                    name: row.name.clone(),
                    time: report.now,
                    from: seen.state,
                    to: row.health.state,
                    severity: row.health.severity,
                    reason: row.health.reason.clone(),
                    since: row.health.since,
                });
                seen.state = Some(row.health.state);
            }
            if let Some(entry) = &row.entry
                && seen.last_beat != Some(entry.last_heartbeat)
            {
                changes.beats.push(SeenBeat {
                    name: row.name.clone(),
                    time: entry.last_heartbeat,
                    pid: entry.pid,
                    status: entry.reported(),
                    data: entry.additional_data.clone(),
                });
                seen.last_beat = Some(entry.last_heartbeat);
            }
            if !row.probes.is_empty() {
                self.observe_probes(row, report.now, &mut changes.flips);
            }
        }
        changes
    }

    /// `row`'s probe flips since the last report. A probe first seen failing flips (from
    /// the passing every probe is assumed to start in); one not run yet, or whose results
    /// are stale (nobody knows what it says now), flips nothing.
    fn observe_probes(&mut self, row: &Row, now: f64, flips: &mut Vec<ProbeFlip>) {
        let seen = self.probes.entry(row.name.clone()).or_default();
        for status in &row.probes {
            if status.ok.is_none() || status.stale {
                continue;
            }
            let at = seen
                .iter()
                .position(|p| p.kind == status.kind && p.target == status.target);
            let was_failing = at.is_some_and(|i| seen[i].failing);
            if status.failing != was_failing {
                flips.push(ProbeFlip {
                    name: row.name.clone(),
                    time: if status.failing {
                        status.failing_since.or(status.last_at)
                    } else {
                        status.last_at
                    }
                    .unwrap_or(now),
                    kind: status.kind.clone(),
                    target: status.target.clone(),
                    failing: status.failing,
                    ms: status.last_ms,
                    reason: status.failing.then(|| status.last_error.clone()).flatten(),
                });
            }
            match at {
                Some(i) => seen[i].failing = status.failing,
                None => seen.push(ProbeSeen {
                    kind: status.kind.clone(),
                    target: status.target.clone(),
                    failing: status.failing,
                }),
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::health::{Health, Rules};
    use crate::report::Row;
    use crate::store::Beat;
    use serde_json::json;

    /// A row in `state` whose entry last beat at `beat` (no entry when `None`).
    pub(crate) fn row(name: &str, state: State, beat: Option<f64>) -> Row {
        Row {
            name: name.to_owned(),
            label: None,
            monitored: true,
            entry: beat.map(|t| Beat::alive(Some(42)).apply(None, t).into()),
            health: Health::new(state, format!("{name} is {state}"), None),
            process: None,
            rules: Rules {
                monitored: true,
                ..Rules::default()
            },
            depends_on: Vec::new(),
            blocked_by: Vec::new(),
            probes: Vec::new(),
            host: None,
            judged_at: None,
        }
    }

    pub(crate) fn report(now: f64, rows: Vec<Row>) -> Report {
        Report {
            now,
            rows,
            invalid: Vec::new(),
            system: None,
            named: false,
        }
    }

    fn summary(changes: &Changes) -> (Vec<String>, Vec<String>) {
        let transitions = changes
            .transitions
            .iter()
            .map(|t| {
                let from = t.from.map_or("-", State::as_str);
                format!("{} {from}->{} @{}", t.name, t.to, t.time)
            })
            .collect();
        let beats = changes
            .beats
            .iter()
            .map(|b| format!("{} @{}", b.name, b.time))
            .collect();
        (transitions, beats)
    }

    #[test]
    fn first_report_shows_every_process_as_new() {
        let mut tracker = Tracker::default();
        let changes = tracker.observe(&report(
            100.0,
            vec![
                row("a", State::Up, Some(95.0)),
                row("b", State::Pending, None),
            ],
        ));
        let (transitions, beats) = summary(&changes);
        assert_eq!(transitions, ["a -->up @100", "b -->pending @100"]);
        assert_eq!(beats, ["a @95"]);
    }

    #[test]
    fn only_changed_states_and_beat_times_count() {
        let mut tracker = Tracker::default();
        tracker.observe(&report(100.0, vec![row("a", State::Up, Some(95.0))]));
        let same = tracker.observe(&report(101.0, vec![row("a", State::Up, Some(95.0))]));
        assert!(same.is_empty());
        let beat = tracker.observe(&report(102.0, vec![row("a", State::Up, Some(101.5))]));
        assert_eq!(summary(&beat), (vec![], vec!["a @101.5".to_owned()]));
        let dead = tracker.observe(&report(300.0, vec![row("a", State::Dead, Some(101.5))]));
        assert_eq!(summary(&dead), (vec!["a up->dead @300".to_owned()], vec![]));
        assert_eq!(dead.transitions[0].severity, Severity::Critical);
        assert_eq!(dead.transitions[0].reason, "a is dead");
    }

    #[test]
    fn remembered_history_is_not_reported_again() {
        let mut tracker = Tracker::default();
        tracker.remember(
            "a",
            Seen {
                state: Some(State::Dead),
                last_beat: Some(50.0),
            },
        );
        let unchanged = tracker.observe(&report(100.0, vec![row("a", State::Dead, Some(50.0))]));
        assert!(unchanged.is_empty());
        let back = tracker.observe(&report(101.0, vec![row("a", State::Up, Some(100.5))]));
        assert_eq!(
            summary(&back),
            (
                vec!["a dead->up @101".to_owned()],
                vec!["a @100.5".to_owned()]
            )
        );
    }

    #[test]
    fn history_read_late_does_not_overwrite_what_was_seen_since() {
        let mut tracker = Tracker::default();
        tracker.observe(&report(100.0, vec![row("a", State::Dead, Some(50.0))]));
        // The database answers only now (it was locked), knowing "a" as up.
        let old = Seen {
            state: Some(State::Up),
            last_beat: Some(40.0),
        };
        tracker.remember("a", old);
        tracker.remember("b", old);
        let next = tracker.observe(&report(
            101.0,
            vec![
                row("a", State::Dead, Some(50.0)),
                row("b", State::Up, Some(40.0)),
            ],
        ));
        assert!(next.is_empty(), "{next:?}");
    }

    #[test]
    fn a_removed_process_keeps_its_last_state() {
        let mut tracker = Tracker::default();
        tracker.observe(&report(1.0, vec![row("a", State::Up, Some(1.0))]));
        assert!(tracker.observe(&report(2.0, vec![])).is_empty());
        assert_eq!(tracker.seen("a").and_then(|s| s.state), Some(State::Up));
        let back = tracker.observe(&report(3.0, vec![row("a", State::Up, Some(2.5))]));
        assert_eq!(summary(&back).0, Vec::<String>::new());
    }

    #[test]
    fn a_probe_flips_when_it_starts_failing_and_when_it_passes_again_not_on_each_run() {
        use crate::checks::ProbeStatus;
        // (now, ok, consecutive fails, last run's ms): `sample` counts 2 fails as failing.
        let runs = [
            (10.0, None, 0, 0.0),
            (11.0, Some(true), 0, 1.5),
            (12.0, Some(false), 1, 2.0),
            (13.0, Some(false), 2, 3.0),
            (14.0, Some(false), 3, 4.0),
            (15.0, Some(true), 0, 1.0),
            (16.0, Some(true), 0, 1.0),
        ];
        let mut tracker = Tracker::default();
        let mut flips = Vec::new();
        for (now, ok, fails, ms) in runs {
            let mut r = row("web", State::Up, Some(1.0));
            let status = ProbeStatus::sample("http", "http://x/health", ok, fails, &[ms], now);
            // A second probe of the same process that always passes: it never flips.
            let tcp = ProbeStatus::sample("tcp", "x:80", Some(true), 0, &[0.1], now);
            r.probes = vec![status, tcp];
            flips.extend(tracker.observe(&report(now, vec![r])).flips);
        }
        let seen: Vec<(f64, bool, Option<f64>, Option<&str>)> = flips
            .iter()
            .map(|f| (f.time, f.failing, f.ms, f.reason.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    13.0,
                    true,
                    Some(3.0),
                    Some("HTTP 500 Internal Server Error")
                ),
                (15.0, false, Some(1.0), None),
            ]
        );
        assert!(flips.iter().all(|f| f.kind == "http" && f.name == "web"));
    }

    /// `db`, up, with no beat and this one probe.
    fn probed(status: crate::checks::ProbeStatus) -> Row {
        let mut r = row("db", State::Up, None);
        r.probes = vec![status];
        r
    }

    #[test]
    fn a_probe_the_history_knows_failing_does_not_flip_again_and_its_recovery_is_seen() {
        use crate::checks::ProbeStatus;
        let mut tracker = Tracker::default();
        tracker.remember_probe(&ProbeFlip {
            name: "db".into(),
            time: 1.0,
            kind: "tcp".into(),
            target: "db:5432".into(),
            failing: true,
            ms: Some(1.0),
            reason: Some("refused".into()),
        });
        let still = ProbeStatus::sample("tcp", "db:5432", Some(false), 2, &[1.0], 5.0);
        assert!(
            tracker
                .observe(&report(6.0, vec![probed(still)]))
                .flips
                .is_empty()
        );
        let back = ProbeStatus::sample("tcp", "db:5432", Some(true), 0, &[1.0], 7.0);
        let flips = tracker.observe(&report(8.0, vec![probed(back)])).flips;
        assert_eq!(flips.len(), 1);
        assert!(!flips[0].failing);
    }

    #[test]
    fn a_probe_first_seen_failing_flips_and_stale_results_flip_nothing() {
        use crate::checks::ProbeStatus;
        let mut tracker = Tracker::default();
        let failing = ProbeStatus::sample("tcp", "db:5432", Some(false), 2, &[1.0], 5.0);
        let first = tracker.observe(&report(6.0, vec![probed(failing)]));
        assert_eq!(first.flips.len(), 1);
        assert!(first.flips[0].failing);
        let mut stale = ProbeStatus::sample("tcp", "db:5432", Some(true), 0, &[1.0], 7.0);
        stale.stale = true;
        assert!(
            tracker
                .observe(&report(8.0, vec![probed(stale)]))
                .flips
                .is_empty()
        );
    }

    #[test]
    fn beats_carry_pid_status_and_data() {
        let mut r = row("a", State::Error, Some(10.0));
        let entry = r.entry_mut();
        entry.status = Some(Reported::Error);
        entry.additional_data = json!({"queue": 3});
        let changes = Tracker::default().observe(&report(11.0, vec![r]));
        assert_eq!(
            changes.beats,
            [SeenBeat {
                name: "a".into(),
                time: 10.0,
                pid: Some(42),
                status: Reported::Error,
                data: json!({"queue": 3}),
            }]
        );
    }
}
