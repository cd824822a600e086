//! What the UI shows of the history database: a snapshot of it read every few seconds (so a
//! 1 s redraw never queries SQLite), and the pure functions that turn it into the history
//! tab's timelines, the detail pane's beat gaps and its "up since …, was dead …" text.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone};

use crate::changes::{ProbeFlip, Transition};
use crate::duration::format_secs;
use crate::health::State;
use crate::history::{History, HistoryError};

/// How far back the history tab can look (its longest span, the last day).
pub const LONGEST_WINDOW: f64 = 86_400.0;

/// How many beats the detail pane's gap sparkline covers.
pub const GAP_BEATS: usize = 60;

/// How many transitions of the selected process the detail pane's timeline reads back.
pub const TIMELINE_TRANSITIONS: usize = 16;

/// How many probe flips (of every process) the history tab reads back and lists at most.
pub const FLIPS_SHOWN: usize = 5;

/// The history as read at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recent {
    /// When it was read (Unix seconds).
    pub at: f64,
    /// Beats per minute over the last two minutes, per process: (minute start, beats),
    /// oldest first (the tab shows the last whole minute).
    pub minutes: HashMap<String, Vec<(i64, u32)>>,
    /// Transitions within [`LONGEST_WINDOW`], per process, newest first.
    pub transitions: HashMap<String, Vec<Transition>>,
    /// The newest probe flips within [`LONGEST_WINDOW`], of every process, newest first, at
    /// most [`FLIPS_SHOWN`].
    pub flips: Vec<ProbeFlip>,
    /// The process the detail pane shows, read for it alone.
    pub selected: Option<Selected>,
}

/// The selected process's recent beats and transitions (older than the window too).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selected {
    pub name: String,
    /// Beat times, newest first, at most [`GAP_BEATS`].
    pub beats: Vec<f64>,
    /// Newest first, at most [`TIMELINE_TRANSITIONS`].
    pub transitions: Vec<Transition>,
    /// The last [`LOG_LINES`] of its log (a supervised process's `logs/NAME.log`), oldest
    /// first, as written (escaped when shown); none without a log.
    pub log: Vec<String>,
}

/// How many lines of a supervised process's log the detail pane shows.
pub const LOG_LINES: usize = 5;

impl Recent {
    /// Reads the history tab's data before `now` for every process, and more for `selected`.
    pub fn read(
        history: &History,
        selected: Option<&str>,
        now: f64,
    ) -> Result<Recent, HistoryError> {
        let mut minutes: HashMap<String, Vec<(i64, u32)>> = HashMap::new();
        for m in history.beats_per_minute(now - 120.0)? {
            minutes.entry(m.name).or_default().push((m.minute, m.beats));
        }
        let mut transitions: HashMap<String, Vec<Transition>> = HashMap::new();
        for t in history.transitions(None, now - LONGEST_WINDOW, None)? {
            transitions.entry(t.name.clone()).or_default().push(t);
        }
        let flips = history.probe_flips(None, now - LONGEST_WINDOW, Some(FLIPS_SHOWN))?;
        let selected = match selected {
            Some(name) => Some(Selected {
                name: name.to_owned(),
                beats: history
                    .beats(name, f64::NEG_INFINITY, Some(GAP_BEATS))?
                    .into_iter()
                    .map(|b| b.time)
                    .collect(),
                transitions: history.transitions(
                    Some(name),
                    f64::NEG_INFINITY,
                    Some(TIMELINE_TRANSITIONS),
                )?,
                log: Vec::new(),
            }),
            None => None,
        };
        Ok(Recent {
            at: now,
            minutes,
            transitions,
            flips,
            selected,
        })
    }

    /// `name`'s beats in the last whole minute before `now`.
    pub fn last_minute(&self, name: &str, now: f64) -> u32 {
        let minute = ((now / 60.0).floor() as i64 - 1) * 60;
        self.minutes
            .get(name)
            .and_then(|m| m.iter().find(|(start, _)| *start == minute))
            .map_or(0, |&(_, beats)| beats)
    }
}

/// The state in each of `buckets` equal slices of the `window` seconds before `now`, oldest first:
/// the worst one held during the slice, `None` before anything is known. `current` holds
/// after the newest transition (or all along when there is none); `transitions` are the
/// window's, newest first; before the oldest one its `from` held.
pub fn buckets(
    current: State,
    transitions: &[Transition],
    now: f64,
    window: f64,
    buckets: usize,
) -> Vec<Option<State>> {
    let width = window / buckets.max(1) as f64;
    let start = now - window;
    // Periods oldest first: (from, state); `before` is the state ahead of them.
    let before = transitions.last().map_or(Some(current), |t| t.from);
    let mut periods: Vec<(f64, Option<State>)> = vec![(f64::NEG_INFINITY, before)];
    periods.extend(transitions.iter().rev().map(|t| (t.time, Some(t.to))));
    (0..buckets)
        .map(|i| {
            let (lo, hi) = (start + width * i as f64, start + width * (i + 1) as f64);
            periods
                .iter()
                .enumerate()
                .filter(|&(k, &(from, _))| {
                    let until = periods.get(k + 1).map_or(f64::INFINITY, |p| p.0);
                    from < hi && until > lo
                })
                .filter_map(|(_, &(_, state))| state)
                .max_by_key(|s| s.severity())
        })
        .collect()
}

/// The gaps between successive beats (given newest first), oldest first, in whole seconds
/// (at least 1, so a beat on time never draws as an empty bar).
pub fn gaps(beats: &[f64]) -> Vec<u64> {
    beats
        .windows(2)
        .rev()
        .map(|w| ((w[0] - w[1]).round() as u64).max(1))
        .collect()
}

/// Below this a period's clock times show seconds: a flap of 40 s would read `09:12–09:12`.
pub const SHORT_PERIOD: f64 = 600.0;

/// `up since 09:12, was dead 08:55–09:12, was up 08:00–08:55`: the periods the transitions
/// (newest first) bound, in `tz`'s clock, with the date for a day other than `now`'s.
pub fn timeline_text<Tz: TimeZone>(transitions: &[Transition], now: f64, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    timeline_periods(transitions, now, tz).join(", ")
}

/// [`timeline_text`]'s periods one by one, so a pane can wrap them between periods. A period
/// shorter than [`SHORT_PERIOD`] shows seconds (`was late 09:12:03–09:12:41`).
pub fn timeline_periods<Tz: TimeZone>(transitions: &[Transition], now: f64, tz: &Tz) -> Vec<String>
where
    Tz::Offset: std::fmt::Display,
{
    let clock = |unix: f64, seconds: bool| -> String {
        let (Some(t), Some(today)) = (at(unix, tz), at(now, tz)) else {
            return String::new();
        };
        let time = if seconds { "%H:%M:%S" } else { "%H:%M" };
        if t.date_naive() == today.date_naive() {
            t.format(time).to_string()
        } else {
            t.format(&format!("%Y-%m-%d {time}")).to_string()
        }
    };
    let mut parts = Vec::new();
    let mut until: Option<f64> = None;
    for t in transitions {
        let short = until.unwrap_or(now) - t.time < SHORT_PERIOD;
        parts.push(match until {
            None => format!("{} since {}", t.to, clock(t.time, short)),
            Some(end) => format!(
                "was {} {}–{}",
                t.to,
                clock(t.time, short),
                clock(end, short)
            ),
        });
        until = Some(t.time);
    }
    parts
}

/// A reason written at `at` as it reads at `now`: every `SPAN ago` in it (`failed 1ms ago`,
/// `stopped cleanly 2s ago`) counted on to `now`, so a transition's reason does not stay
/// frozen at the instant it was recorded.
pub fn live_reason(reason: &str, at: f64, now: f64) -> String {
    static AGO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b(\d[0-9a-z.]*) ago\b").expect("a valid pattern")
    });
    let later = (now - at).max(0.0);
    AGO.replace_all(
        reason,
        |caps: &regex::Captures<'_>| match crate::duration::parse(&caps[1]) {
            Ok(span) => format!("{} ago", format_secs(span.as_secs_f64() + later)),
            Err(_) => caps[0].to_owned(),
        },
    )
    .into_owned()
}

fn at<Tz: TimeZone>(unix: f64, tz: &Tz) -> Option<DateTime<Tz>> {
    tz.timestamp_opt(unix.floor() as i64, 0).single()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    /// 2025-06-15 10:00:00 UTC.
    const NOW: f64 = 1_749_981_600.0;

    fn t(time: f64, from: Option<State>, to: State) -> Transition {
        Transition {
            name: "a".into(),
            time,
            from,
            to,
            severity: to.severity(),
            reason: String::new(),
            since: None,
        }
    }

    #[test]
    fn the_timeline_reads_newest_first_with_dates_for_other_days() {
        let utc = FixedOffset::east_opt(0).unwrap();
        let newest_first = [
            t(NOW - 2880.0, Some(State::Dead), State::Up), // 09:12
            t(NOW - 3900.0, Some(State::Up), State::Dead), // 08:55
            t(NOW - 7200.0, None, State::Up),              // 08:00
            t(NOW - 86_400.0, None, State::Pending),       // yesterday
        ];
        assert_eq!(
            timeline_text(&newest_first[..3], NOW, &utc),
            "up since 09:12, was dead 08:55–09:12, was up 08:00–08:55"
        );
        assert_eq!(
            timeline_text(&newest_first[2..], NOW, &utc),
            "up since 08:00, was pending 2025-06-14 10:00–08:00"
        );
        // Another time zone, another clock (and day).
        let tokyo = FixedOffset::east_opt(9 * 3600).unwrap();
        assert_eq!(
            timeline_text(&newest_first[..1], NOW, &tokyo),
            "up since 18:12"
        );
        assert_eq!(timeline_text(&[], NOW, &utc), "");
    }

    #[test]
    fn a_short_period_shows_seconds() {
        let utc = FixedOffset::east_opt(0).unwrap();
        let flap = [
            t(NOW - 60.0, Some(State::Late), State::Up),  // 09:59:00
            t(NOW - 100.0, Some(State::Up), State::Late), // 09:58:20
            t(NOW - 7200.0, None, State::Up),             // 08:00
        ];
        assert_eq!(
            timeline_periods(&flap, NOW, &utc),
            [
                "up since 09:59:00",
                "was late 09:58:20–09:59:00",
                "was up 08:00–09:58"
            ]
        );
    }

    #[test]
    fn a_reason_counts_on_from_when_it_was_written() {
        assert_eq!(
            live_reason("last run failed (exit 2) 1ms ago", NOW - 60.0, NOW),
            "last run failed (exit 2) 1m00s ago"
        );
        assert_eq!(
            live_reason(
                "reported an error 5s ago: disk 3s ago full",
                NOW - 10.0,
                NOW
            ),
            "reported an error 15s ago: disk 13s ago full"
        );
        // Nothing to count on: a span that is not an age, or no span.
        assert_eq!(
            live_reason("no beat for 46s", NOW - 60.0, NOW),
            "no beat for 46s"
        );
        assert_eq!(
            live_reason("pid 42 is gone", NOW - 60.0, NOW),
            "pid 42 is gone"
        );
    }

    #[test]
    fn each_bucket_shows_the_worst_state_it_saw() {
        // Six 10-minute buckets: up from before the window, dead from 25 min ago to 12 min
        // ago (a bucket boundary is not a transition), then up.
        let transitions = [
            t(NOW - 720.0, Some(State::Dead), State::Up),
            t(NOW - 1500.0, Some(State::Up), State::Dead),
        ];
        let cells = buckets(State::Up, &transitions, NOW, 3600.0, 6);
        let up = Some(State::Up);
        let dead = Some(State::Dead);
        // Buckets 3 and 4 saw both: dead outranks up.
        assert_eq!(cells, [up, up, up, dead, dead, up]);
        // Over a day in four 6-hour buckets the same 13 minutes dead fill the newest one.
        let day = buckets(State::Up, &transitions, NOW, 86_400.0, 4);
        assert_eq!(day, [up, up, up, dead]);
    }

    #[test]
    fn nothing_is_known_before_a_process_was_first_seen_and_no_transition_means_steady() {
        let first_seen = [t(NOW - 600.0, None, State::Late)];
        assert_eq!(
            buckets(State::Late, &first_seen, NOW, 3600.0, 4),
            [None, None, None, Some(State::Late)]
        );
        assert_eq!(
            buckets(State::Up, &[], NOW, 3600.0, 2),
            [Some(State::Up); 2]
        );
    }

    #[test]
    fn gaps_run_oldest_first_in_whole_seconds() {
        assert_eq!(gaps(&[100.0, 70.0, 40.2, 40.0]), [1, 30, 30]);
        assert!(gaps(&[5.0]).is_empty());
    }

    #[test]
    fn the_last_whole_minute_is_counted() {
        let recent = Recent {
            minutes: HashMap::from([(
                "a".to_owned(),
                vec![(NOW as i64 - 120, 2), (NOW as i64 - 60, 3)],
            )]),
            ..Recent::default()
        };
        assert_eq!(recent.last_minute("a", NOW + 30.0), 3);
        assert_eq!(recent.last_minute("b", NOW), 0);
    }
}
