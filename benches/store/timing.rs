//! Timing without a framework: warm up, run a case N times, keep the median and the range.

use std::fmt;
use std::time::{Duration, Instant};

/// The spread of one case's run times.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
}

/// Runs `case` `warmup` times untimed (page cache, allocator, branch predictors), then `runs`
/// times timed one by one. `runs` should be odd so the median is one real run.
pub fn measure(warmup: usize, runs: usize, mut case: impl FnMut()) -> Sample {
    for _ in 0..warmup {
        case();
    }
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            case();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    Sample {
        median: times[times.len() / 2],
        min: times[0],
        max: times[times.len() - 1],
    }
}

impl Sample {
    /// This sample's median as a multiple of `base`'s.
    pub fn ratio_to(&self, base: &Sample) -> f64 {
        self.median.as_secs_f64() / base.median.as_secs_f64()
    }
}

/// `12.3 µs` below a millisecond, `4.56 ms` above.
pub struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_secs_f64() * 1e6;
        if micros < 1000.0 {
            write!(f, "{micros:.1} µs")
        } else {
            write!(f, "{:.2} ms", micros / 1000.0)
        }
    }
}
