//! Timing: warm-up, repetitions within a time budget, median.

use std::time::{Duration, Instant};

use serde::Serialize;

/// How long and how often to repeat one measurement.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Untimed runs first (caches, plans, the server's buffers).
    pub warmup: usize,
    /// At least this many timed runs…
    pub min_samples: usize,
    /// …and at most this many…
    pub max_samples: usize,
    /// …stopping once the timed runs took this long in total.
    pub time: Duration,
}

impl Budget {
    /// For reads: many short samples.
    pub fn reads(smoke: bool) -> Budget {
        if smoke {
            Budget {
                warmup: 1,
                min_samples: 3,
                max_samples: 5,
                time: Duration::from_millis(100),
            }
        } else {
            Budget {
                warmup: 3,
                min_samples: 7,
                max_samples: 201,
                time: Duration::from_millis(1500),
            }
        }
    }

    /// For writes: few long samples.
    pub fn writes(smoke: bool) -> Budget {
        if smoke {
            Budget {
                warmup: 0,
                min_samples: 2,
                max_samples: 2,
                time: Duration::ZERO,
            }
        } else {
            Budget {
                warmup: 1,
                min_samples: 3,
                max_samples: 9,
                time: Duration::from_secs(6),
            }
        }
    }
}

/// The timed runs of one measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Median, milliseconds.
    pub median_ms: f64,
    /// Fastest run, milliseconds.
    pub min_ms: f64,
    /// Slowest run, milliseconds.
    pub max_ms: f64,
    /// Number of timed runs.
    pub samples: usize,
}

/// Runs `f` as `budget` says. `f(i)` gets the run's number (warm-up runs
/// included, so that writes can vary their input) and returns the time of
/// the part to measure, leaving setup and clean-up untimed.
pub fn measure<E>(
    budget: Budget,
    mut f: impl FnMut(usize) -> Result<Duration, E>,
) -> Result<Summary, E> {
    let mut run = 0;
    for _ in 0..budget.warmup {
        f(run)?;
        run += 1;
    }
    let mut samples = Vec::new();
    let mut spent = Duration::ZERO;
    while samples.len() < budget.max_samples
        && (samples.len() < budget.min_samples || spent < budget.time)
    {
        let d = f(run)?;
        run += 1;
        spent += d;
        samples.push(d.as_secs_f64() * 1e3);
    }
    Ok(summarize(&mut samples))
}

fn summarize(samples: &mut [f64]) -> Summary {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let median = if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    };
    Summary {
        median_ms: median,
        min_ms: samples.first().copied().unwrap_or(f64::NAN),
        max_ms: samples.last().copied().unwrap_or(f64::NAN),
        samples: n,
    }
}

/// Times `f`.
pub fn timed<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<Duration, E> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(summarize(&mut [3.0, 1.0, 2.0]).median_ms, 2.0);
        assert_eq!(summarize(&mut [4.0, 1.0, 2.0, 3.0]).median_ms, 2.5);
    }

    #[test]
    fn respects_the_sample_bounds() {
        let b = Budget {
            warmup: 2,
            min_samples: 3,
            max_samples: 4,
            time: Duration::from_secs(100),
        };
        let mut runs = Vec::new();
        let s = measure::<()>(b, |i| {
            runs.push(i);
            Ok(Duration::from_millis(1))
        })
        .unwrap();
        assert_eq!(s.samples, 4);
        assert_eq!(runs, vec![0, 1, 2, 3, 4, 5]);
    }
}
