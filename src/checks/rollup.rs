//! One probe's runs rolled up by the minute for the history: how many ended in the minute,
//! how many failed, and their fastest, median, 95th percentile and slowest time. A minute
//! is handed on once it has closed (a run ended in a later one, or the clock passed it);
//! the one still open is handed on as it stands when the monitor stops.

use serde::Serialize;

use super::stats;

/// The numbers of one probe's runs that ended within one minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rollup {
    /// The minute's start, Unix seconds (a multiple of 60).
    pub minute: i64,
    /// Runs that ended in the minute, failed ones included (a timed-out run counts with the
    /// time it was given up at).
    pub count: u32,
    pub failures: u32,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

/// One probe's minute, named: what a row of the history's `probe_minutes` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeMinute {
    /// The process's heartbeat name.
    pub name: String,
    /// `http`, `tcp` or `command`.
    pub kind: String,
    /// The URL, the address, the command line, as configured.
    pub target: String,
    #[serde(flatten)]
    pub rollup: Rollup,
}

/// The minute `at` (Unix seconds) falls in, by its start.
pub fn minute_of(at: f64) -> i64 {
    // Unix seconds of this era fit an i64 many times over; the cast floors what `floor` left.
    (at / 60.0).floor() as i64 * 60
}

/// The runs of the minute being filled.
#[derive(Debug, Clone, Default)]
pub struct OpenMinute {
    minute: i64,
    ms: Vec<f64>,
    failures: u32,
}

impl OpenMinute {
    /// Adds a run that ended at `at` after `ms`; the minute it closes when the run falls in
    /// a later one. A run stamped earlier than the open minute (the clock stepped back) is
    /// counted in the open one: a minute already handed on is never reopened.
    pub fn push(&mut self, at: f64, ms: f64, failed: bool) -> Option<Rollup> {
        let closed = self.close_before(at);
        if self.ms.is_empty() {
            self.minute = minute_of(at);
        }
        self.ms.push(ms);
        self.failures += u32::from(failed);
        closed
    }

    /// Closes the open minute when `now` is past it.
    pub fn close_before(&mut self, now: f64) -> Option<Rollup> {
        if self.ms.is_empty() || minute_of(now) <= self.minute {
            return None;
        }
        let rollup = self.so_far();
        *self = OpenMinute::default();
        rollup
    }

    /// The open minute as it stands; `None` before its first run.
    pub fn so_far(&self) -> Option<Rollup> {
        let mut sorted = self.ms.clone();
        sorted.sort_by(f64::total_cmp);
        let (&min_ms, &max_ms) = (sorted.first()?, sorted.last()?);
        let count = u32::try_from(sorted.len()).unwrap_or(u32::MAX);
        let at = |q| sorted[stats::rank(q, sorted.len()) - 1];
        Some(Rollup {
            minute: self.minute,
            count,
            failures: self.failures,
            min_ms,
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            max_ms,
        })
    }
}

impl Rollup {
    /// The minute's runs as (ms, how many) points that have its own min, p50, p95 and max
    /// by nearest rank: the fastest once, the median up to its rank, the 95th percentile up
    /// to its, the slowest for the rest. What seeds an hour's percentiles from the history,
    /// exact for the minute's own and close for the hour's.
    pub fn points(&self) -> [(f64, u32); 4] {
        let n = usize::try_from(self.count).unwrap_or(usize::MAX);
        let rank = |q| u32::try_from(stats::rank(q, n)).unwrap_or(u32::MAX);
        let (r50, r95) = (rank(0.5), rank(0.95));
        [
            (self.min_ms, u32::from(self.count > 0)),
            (self.p50_ms, r50.saturating_sub(1)),
            (self.p95_ms, r95.saturating_sub(r50)),
            (self.max_ms, self.count.saturating_sub(r95)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs at `at + i` for each of `ms` (failing where `failed` says), then what closed.
    fn fill(open: &mut OpenMinute, at: f64, ms: &[f64], failed: &[bool]) -> Vec<Rollup> {
        ms.iter()
            .zip(failed)
            .enumerate()
            .filter_map(|(i, (&ms, &failed))| open.push(at + i as f64 * 0.5, ms, failed))
            .collect()
    }

    #[test]
    fn a_minute_rolls_up_count_failures_and_nearest_rank_percentiles() {
        let cases: [(&[f64], &[bool], Rollup); 3] = [
            (
                &[5.0],
                &[false],
                Rollup {
                    minute: 600,
                    count: 1,
                    failures: 0,
                    min_ms: 5.0,
                    p50_ms: 5.0,
                    p95_ms: 5.0,
                    max_ms: 5.0,
                },
            ),
            // 1..=20 ms shuffled: rank 10 is 10 ms, rank 19 is 19 ms.
            (
                &[
                    20.0, 3.0, 7.0, 1.0, 19.0, 2.0, 18.0, 4.0, 17.0, 5.0, 16.0, 6.0, 15.0, 8.0,
                    14.0, 9.0, 13.0, 10.0, 12.0, 11.0,
                ],
                &[false; 20],
                Rollup {
                    minute: 600,
                    count: 20,
                    failures: 0,
                    min_ms: 1.0,
                    p50_ms: 10.0,
                    p95_ms: 19.0,
                    max_ms: 20.0,
                },
            ),
            (
                &[1.0, 5000.0, 2.0, 5000.0],
                &[false, true, false, true],
                Rollup {
                    minute: 600,
                    count: 4,
                    failures: 2,
                    min_ms: 1.0,
                    p50_ms: 2.0,
                    p95_ms: 5000.0,
                    max_ms: 5000.0,
                },
            ),
        ];
        for (ms, failed, want) in cases {
            let mut open = OpenMinute::default();
            assert!(fill(&mut open, 600.0, ms, failed).is_empty());
            assert_eq!(open.so_far(), Some(want), "{ms:?}");
            assert_eq!(open.close_before(659.9), None, "still open");
            assert_eq!(open.close_before(660.0), Some(want));
            assert_eq!(open.so_far(), None, "closed once");
            assert_eq!(open.close_before(720.0), None);
        }
    }

    #[test]
    fn a_run_in_the_next_minute_closes_the_open_one_and_starts_its_own() {
        let mut open = OpenMinute::default();
        assert_eq!(open.push(59.999, 3.0, false), None);
        let closed = open.push(60.0, 4.0, true).unwrap();
        assert_eq!((closed.minute, closed.count, closed.max_ms), (0, 1, 3.0));
        // Minutes with no run are no rows: the next run, minutes on, closes the one open.
        let closed = open.push(300.5, 5.0, false).unwrap();
        assert_eq!((closed.minute, closed.count, closed.failures), (60, 1, 1));
        assert_eq!(open.so_far().map(|r| r.minute), Some(300));
        // A clock stepped back counts in the open minute, never reopens a closed one.
        assert_eq!(open.push(100.0, 6.0, false), None);
        assert_eq!(open.so_far().map(|r| (r.minute, r.count)), Some((300, 2)));
        assert_eq!(minute_of(-0.5), -60);
    }

    #[test]
    fn points_weigh_a_minute_back_into_its_own_percentiles() {
        for n in [1_u32, 2, 3, 19, 20, 21, 600] {
            let ms: Vec<f64> = (1..=n).map(f64::from).collect();
            let mut open = OpenMinute::default();
            for &m in &ms {
                open.push(0.0, m, false);
            }
            let rollup = open.so_far().unwrap();
            let points = rollup.points();
            assert_eq!(points.iter().map(|p| p.1).sum::<u32>(), n, "n = {n}");
            for q in [0.0, 0.5, 0.95, 1.0] {
                assert_eq!(
                    stats::weighted_quantile(points.to_vec(), q),
                    stats::weighted_quantile(ms.iter().map(|&m| (m, 1)).collect(), q),
                    "n = {n}, q = {q}"
                );
            }
        }
    }
}
