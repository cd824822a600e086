//! The last hour of one probe's runs: how long each took, for its median, its 95th
//! percentile and the sparkline of the recent ones.

use std::collections::VecDeque;

/// How far back the percentiles look.
pub const WINDOW: f64 = 3600.0;
/// Runs kept at most, whatever `probe_every` says: an hour of one run a second.
const MAX_SAMPLES: usize = 3600;
/// Runs the sparkline shows.
pub const RECENT: usize = 30;

/// One probe's runs, oldest first: (end, Unix seconds; milliseconds).
#[derive(Debug, Clone, Default)]
pub struct Samples(VecDeque<(f64, f64)>);

impl Samples {
    /// Adds a run that ended at `at` after `ms`, forgetting what fell out of the window.
    pub fn push(&mut self, at: f64, ms: f64) {
        self.0.push_back((at, ms));
        while self.0.len() > MAX_SAMPLES || self.0.front().is_some_and(|&(t, _)| t < at - WINDOW) {
            self.0.pop_front();
        }
    }

    /// The `q` quantile (0 to 1, nearest rank) of the runs since `now - WINDOW`.
    pub fn quantile(&self, q: f64, now: f64) -> Option<f64> {
        let mut ms: Vec<f64> = self
            .0
            .iter()
            .filter(|&&(t, _)| t >= now - WINDOW)
            .map(|&(_, ms)| ms)
            .collect();
        if ms.is_empty() {
            return None;
        }
        ms.sort_by(f64::total_cmp);
        let rank = ((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len());
        Some(ms[rank - 1])
    }

    /// The last [`RECENT`] runs' times, oldest first.
    pub fn recent(&self) -> Vec<f64> {
        let skip = self.0.len().saturating_sub(RECENT);
        self.0.iter().skip(skip).map(|&(_, ms)| ms).collect()
    }
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
}
