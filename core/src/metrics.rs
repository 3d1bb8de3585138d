//! Transaction metrics: per write operation, counts and durations of calls.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::operation::{Operation, MEASURED_COUNT};
use crate::time::Timestamp;

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

/// The calls of one operation so far, as plain data: fixed size and `Copy`,
/// so that the PostgreSQL extension can keep one per operation in shared
/// memory (server-wide metrics) and the SQLite store in a plain array.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C)]
pub struct OperationTotals {
    /// Calls, failed ones included.
    pub count: u64,
    /// Calls that committed.
    pub success_count: u64,
    /// Sum of call durations, seconds.
    pub total_secs: f64,
    /// Shortest call, seconds.
    pub min_secs: f64,
    /// Longest call, seconds.
    pub max_secs: f64,
    /// The latest call's duration, seconds.
    pub last_secs: f64,
    /// Whether the latest call committed.
    pub last_success: bool,
    /// When the latest call ended, microseconds since the Unix epoch.
    pub last_unix_micros: i64,
}

impl OperationTotals {
    /// Adds one call.
    pub fn record(&mut self, elapsed: Duration, success: bool, at: Timestamp) {
        let secs = elapsed.as_secs_f64();
        if self.count == 0 {
            self.min_secs = secs;
            self.max_secs = secs;
        }
        self.count += 1;
        self.success_count += u64::from(success);
        self.total_secs += secs;
        self.min_secs = self.min_secs.min(secs);
        self.max_secs = self.max_secs.max(secs);
        self.last_secs = secs;
        self.last_success = success;
        self.last_unix_micros = at.unix_micros();
    }

    /// The metrics of one operation; `None` before the first call.
    pub fn metrics(&self) -> Option<OperationMetrics> {
        (self.count > 0).then(|| OperationMetrics {
            count: self.count,
            success_count: self.success_count,
            success_rate: 100.0 * self.success_count as f64 / self.count as f64,
            total_duration: self.total_secs,
            avg_duration: self.total_secs / self.count as f64,
            min_duration: self.min_secs,
            max_duration: self.max_secs,
            last_duration: self.last_secs,
            last_success: self.last_success,
            last_timestamp: Timestamp::from_unix_micros(self.last_unix_micros),
        })
    }
}

/// [`TransactionMetrics`] from one [`OperationTotals`] per measured
/// operation, in the order of [`Operation::measured`]; operations never
/// called are left out.
pub fn metrics_from_totals(totals: &[OperationTotals; MEASURED_COUNT]) -> TransactionMetrics {
    Operation::measured()
        .zip(totals)
        .filter_map(|(op, t)| Some((op.name().to_owned(), t.metrics()?)))
        .collect()
}

/// Accumulates [`TransactionMetrics`] in memory.
#[derive(Debug, Clone, Default)]
pub struct MetricsRecorder {
    totals: [OperationTotals; MEASURED_COUNT],
}

impl MetricsRecorder {
    /// Records one call of `operation`; an operation that is not measured
    /// (not a write) is ignored.
    pub fn record(
        &mut self,
        operation: Operation,
        elapsed: Duration,
        success: bool,
        at: Timestamp,
    ) {
        if let Some(i) = operation.metrics_slot() {
            self.totals[i].record(elapsed, success, at);
        }
    }

    /// The metrics so far.
    pub fn snapshot(&self) -> TransactionMetrics {
        metrics_from_totals(&self.totals)
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        self.totals = Default::default();
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
            Operation::BatchCreateExecutions,
            Duration::from_millis(20),
            true,
            t,
        );
        r.record(
            Operation::BatchCreateExecutions,
            Duration::from_millis(10),
            false,
            t,
        );
        r.record(
            Operation::BatchCreateExecutions,
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
