//! The last hour of one probe's runs: how long each took, for its median, its 95th
//! percentile and the sparkline of the recent ones; seeded, at the start, from the minutes
//! the history rolled up before (so a restarted monitor does not start them empty).

use std::collections::VecDeque;

use super::rollup::Rollup;

/// How far back the percentiles look.
pub const WINDOW: f64 = 3600.0;
/// Runs kept at most, whatever `probe_every` says: an hour of one run a second.
const MAX_SAMPLES: usize = 3600;
/// Runs the sparkline shows.
pub const RECENT: usize = 30;

/// One probe's runs, oldest first: (end, Unix seconds; milliseconds); and, before them,
/// the minutes of its runs before this monitor started, as the history rolled them up.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    runs: VecDeque<(f64, f64)>,
    seeded: Vec<Rollup>,
}

impl Samples {
    /// Adds a run that ended at `at` after `ms`, forgetting what fell out of the window.
    pub fn push(&mut self, at: f64, ms: f64) {
        self.runs.push_back((at, ms));
        while self.runs.len() > MAX_SAMPLES
            || self.runs.front().is_some_and(|&(t, _)| t < at - WINDOW)
        {
            self.runs.pop_front();
        }
        self.seeded.retain(|r| in_window(r, at));
    }

    /// Takes `minutes` (of this probe, from the history) as the runs before the first one
    /// here; only those of the window before `now` are kept.
    pub fn seed(&mut self, minutes: impl IntoIterator<Item = Rollup>, now: f64) {
        self.seeded = minutes
            .into_iter()
            .filter(|r| r.count > 0 && in_window(r, now))
            .collect();
        self.seeded.sort_by_key(|r| r.minute);
    }

    /// The `q` quantile (0 to 1, nearest rank) of the runs since `now - WINDOW`, each
    /// seeded minute weighing as many runs as it rolled up ([`Rollup::points`]).
    pub fn quantile(&self, q: f64, now: f64) -> Option<f64> {
        let points = self
            .seeded
            .iter()
            .filter(|r| in_window(r, now))
            .flat_map(Rollup::points)
            .chain(
                self.runs
                    .iter()
                    .filter(|&&(t, _)| t >= now - WINDOW)
                    .map(|&(_, ms)| (ms, 1)),
            )
            .collect();
        weighted_quantile(points, q)
    }

    /// The last [`RECENT`] runs' times, oldest first; a seeded minute is one point, its
    /// median.
    pub fn recent(&self) -> Vec<f64> {
        let all: Vec<f64> = self
            .seeded
            .iter()
            .map(|r| r.p50_ms)
            .chain(self.runs.iter().map(|&(_, ms)| ms))
            .collect();
        all[all.len().saturating_sub(RECENT)..].to_vec()
    }
}

/// Whether any of `minute`'s runs can have ended within the window before `now`.
fn in_window(minute: &Rollup, now: f64) -> bool {
    (minute.minute + 60) as f64 >= now - WINDOW
}

/// The nearest rank (1-based) of the `q` quantile among `n` values, `n` > 0.
pub fn rank(q: f64, n: usize) -> usize {
    ((q * n as f64).ceil() as usize).clamp(1, n)
}

/// The `q` quantile, by nearest rank, of values each counted as many times as it says.
pub fn weighted_quantile(mut points: Vec<(f64, u32)>, q: f64) -> Option<f64> {
    points.retain(|&(_, n)| n > 0);
    let total: usize = points.iter().map(|&(_, n)| n as usize).sum();
    if total == 0 {
        return None;
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let want = rank(q, total);
    let mut seen = 0;
    points.into_iter().find_map(|(ms, n)| {
        seen += n as usize;
        (seen >= want).then_some(ms)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_over_the_last_hour() {
        let mut s = Samples::default();
        assert_eq!(s.quantile(0.5, 0.0), None);
        // An old slow run, then 1..=100 ms within the hour.
        s.push(0.0, 9999.0);
        for i in 1..=100 {
            s.push(4000.0 + f64::from(i), f64::from(i));
        }
        let now = 4100.0;
        let cases = [(0.5, 50.0), (0.95, 95.0), (1.0, 100.0), (0.0, 1.0)];
        for (q, want) in cases {
            assert_eq!(s.quantile(q, now), Some(want), "q = {q}");
        }
        assert_eq!(s.recent().len(), RECENT);
        assert_eq!(s.recent().last(), Some(&100.0));
    }

    fn minute(start: i64, count: u32, p50: f64, p95: f64) -> Rollup {
        Rollup {
            minute: start,
            count,
            failures: 0,
            min_ms: p50 / 2.0,
            p50_ms: p50,
            p95_ms: p95,
            max_ms: p95 * 2.0,
        }
    }

    #[test]
    fn seeded_minutes_count_as_their_runs_until_they_leave_the_window() {
        let now = 7200.0;
        let mut s = Samples::default();
        s.seed(
            [
                // Older than the hour: dropped at once.
                minute(3000, 60, 1000.0, 1000.0),
                minute(6600, 20, 10.0, 20.0),
                minute(6540, 20, 10.0, 20.0),
            ],
            now,
        );
        // 40 seeded runs: ranks 1-2 fastest, 3-20 the medians, 21-38 p95, 39-40 slowest.
        let cases = [(0.5, 10.0), (0.95, 20.0), (1.0, 40.0), (0.0, 5.0)];
        for (q, want) in cases {
            assert_eq!(s.quantile(q, now), Some(want), "q = {q}");
        }
        assert_eq!(s.recent(), [10.0, 10.0], "one point a minute, oldest first");
        // Live runs join them; 41 runs of 1 ms now outnumber the 40 seeded ones.
        for i in 0..41 {
            s.push(now + f64::from(i), 1.0);
        }
        assert_eq!(s.quantile(0.5, now + 41.0), Some(1.0));
        assert_eq!(s.recent().len(), RECENT);
        // An hour on, the seeded minutes are gone.
        s.push(6600.0 + 60.0 + WINDOW + 1.0, 3.0);
        assert_eq!(s.quantile(1.0, 6600.0 + 60.0 + WINDOW + 1.0), Some(3.0));
    }
}
