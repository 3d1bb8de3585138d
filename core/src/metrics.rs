//! Transaction metrics: per write operation, counts and durations of calls.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// The write operations whose calls are measured, by SQL / method name.
pub const WRITE_OPERATIONS: &[&str] = &[
    "create_execution",
    "create_variation",
    "update_execution_status",
    "update_variation_status",
    "update_progress",
    "batch_create_executions",
    "batch_create_variations",
    "batch_update_execution_status",
    "batch_update_variation_status",
    "cleanup_old_jobs",
    "refresh_job_cache",
];

/// Metrics of one operation; durations in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationMetrics {
    /// Calls, failed ones included.
    pub count: u64,
    /// Calls that committed.
    pub success_count: u64,
    /// Percent of calls that committed.
    pub success_rate: f64,
    /// Sum of call durations.
    pub total_duration: f64,
    /// Mean call duration.
    pub avg_duration: f64,
    /// Shortest call.
    pub min_duration: f64,
    /// Longest call.
    pub max_duration: f64,
    /// The latest call's duration.
    pub last_duration: f64,
    /// Whether the latest call committed.
    pub last_success: bool,
    /// When the latest call ended.
    pub last_timestamp: Timestamp,
}

/// Result of `get_transaction_metrics()`: operations that ran at least once
/// since the last reset, by name.
pub type TransactionMetrics = BTreeMap<String, OperationMetrics>;

/// Accumulates [`TransactionMetrics`].
#[derive(Debug, Clone, Default)]
pub struct MetricsRecorder {
    ops: TransactionMetrics,
}

impl MetricsRecorder {
    /// Records one call of `operation`.
    pub fn record(&mut self, operation: &str, elapsed: Duration, success: bool, at: Timestamp) {
        let secs = elapsed.as_secs_f64();
        let m = self
            .ops
            .entry(operation.to_owned())
            .or_insert(OperationMetrics {
                count: 0,
                success_count: 0,
                success_rate: 0.0,
                total_duration: 0.0,
                avg_duration: 0.0,
                min_duration: secs,
                max_duration: secs,
                last_duration: secs,
                last_success: success,
                last_timestamp: at,
            });
        m.count += 1;
        m.success_count += u64::from(success);
        m.success_rate = 100.0 * m.success_count as f64 / m.count as f64;
        m.total_duration += secs;
        m.avg_duration = m.total_duration / m.count as f64;
        m.min_duration = m.min_duration.min(secs);
        m.max_duration = m.max_duration.max(secs);
        m.last_duration = secs;
        m.last_success = success;
        m.last_timestamp = at;
    }

    /// The metrics so far.
    pub fn snapshot(&self) -> TransactionMetrics {
        self.ops.clone()
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        self.ops.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_counts_and_extremes() {
        let mut r = MetricsRecorder::default();
        let t = Timestamp::from_unix_micros(1);
        r.record(
            "batch_create_executions",
            Duration::from_millis(20),
            true,
            t,
        );
        r.record(
            "batch_create_executions",
            Duration::from_millis(10),
            false,
            t,
        );
        r.record(
            "batch_create_executions",
            Duration::from_millis(30),
            true,
            t,
        );
        let m = &r.snapshot()["batch_create_executions"];
        assert_eq!((m.count, m.success_count), (3, 2));
        assert!((m.success_rate - 66.666_666).abs() < 1e-3);
        assert!((m.min_duration - 0.010).abs() < 1e-9);
        assert!((m.max_duration - 0.030).abs() < 1e-9);
        assert!((m.avg_duration - 0.020).abs() < 1e-9);
        assert!((m.last_duration - 0.030).abs() < 1e-9);
        assert!(m.last_success);
        r.reset();
        assert!(r.snapshot().is_empty());
    }
}
