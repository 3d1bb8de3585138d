//! Result types. Their serde JSON is the API's JSON, key for key; both
//! backends build them with the same constructors so that derived numbers
//! (rates, averages, progress) are computed by one piece of code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{JobType, Status};
use crate::time::Timestamp;

/// `100 × successful / (successful + failed)`, 0.0 when both are 0.
pub fn success_rate(successful: i64, failed: i64) -> f64 {
    if successful + failed == 0 {
        0.0
    } else {
        100.0 * successful as f64 / (successful + failed) as f64
    }
}

/// `sum / count`, `None` when there is nothing to average.
pub fn average(sum: f64, count: i64) -> Option<f64> {
    (count > 0).then(|| sum / count as f64)
}

/// `100 × done / of`, 0.0 when `of` is 0.
pub fn progress_of(done: i64, of: i64) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * done as f64 / of as f64
    }
}

/// `100 × current / total`, 0 when either is unknown or total is 0.
pub fn progress(current_step: Option<i32>, total_steps: Option<i32>) -> f64 {
    match (current_step, total_steps) {
        (Some(c), Some(t)) if t > 0 => 100.0 * f64::from(c) / f64::from(t),
        _ => 0.0,
    }
}

/// Counts of one job kind by status, only statuses with a count above zero.
pub type StatusCounts = BTreeMap<Status, i64>;

/// The aggregates one backend reads per job kind; [`Statistics::from_parts`]
/// turns them into the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindAggregate {
    /// Count per status (zeros are dropped).
    pub by_status: StatusCounts,
    /// Rows with `success = true`.
    pub successful: i64,
    /// Rows with `success = false`.
    pub failed: i64,
    /// Sum of non-null `duration_seconds`.
    pub duration_sum: f64,
    /// Count of non-null `duration_seconds`.
    pub duration_count: i64,
}

/// Result of `get_statistics_optimized()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Number of executions.
    pub total_executions: i64,
    /// Number of variations.
    pub total_variations: i64,
    /// Both together.
    pub total_jobs: i64,
    /// Executions per status, only counts above zero.
    pub executions_by_status: StatusCounts,
    /// Variations per status, only counts above zero.
    pub variations_by_status: StatusCounts,
    /// Jobs of both kinds with `success = true`.
    pub total_successful: i64,
    /// Jobs of both kinds with `success = false`.
    pub total_failed: i64,
    /// Percent of successful among successful and failed.
    pub success_rate: f64,
    /// Average non-null execution duration in seconds.
    pub avg_execution_duration: Option<f64>,
    /// Average non-null variation duration in seconds.
    pub avg_variation_duration: Option<f64>,
}

impl Statistics {
    /// Builds the result from per-kind aggregates.
    pub fn from_parts(executions: KindAggregate, variations: KindAggregate) -> Self {
        let mut executions = executions;
        let mut variations = variations;
        executions.by_status.retain(|_, n| *n > 0);
        variations.by_status.retain(|_, n| *n > 0);
        let total_executions = executions.by_status.values().sum();
        let total_variations = variations.by_status.values().sum();
        let total_successful = executions.successful + variations.successful;
        let total_failed = executions.failed + variations.failed;
        Statistics {
            total_executions,
            total_variations,
            total_jobs: total_executions + total_variations,
            success_rate: success_rate(total_successful, total_failed),
            total_successful,
            total_failed,
            avg_execution_duration: average(executions.duration_sum, executions.duration_count),
            avg_variation_duration: average(variations.duration_sum, variations.duration_count),
            executions_by_status: executions.by_status,
            variations_by_status: variations.by_status,
        }
    }
}

/// Result of `get_dataset_stats_optimized(dataset_name)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    /// The dataset asked about.
    pub dataset_name: String,
    /// Executions plus variations on it.
    pub total_jobs: i64,
    /// Executions on it.
    pub executions: i64,
    /// Variations on it.
    pub variations: i64,
    /// Jobs with `success = true`.
    pub successful_jobs: i64,
    /// Jobs with `success = false`.
    pub failed_jobs: i64,
    /// Percent of successful among successful and failed.
    pub success_rate: f64,
    /// Average non-null duration in seconds.
    pub average_duration: Option<f64>,
    /// Shortest non-null duration.
    pub min_duration: Option<f64>,
    /// Longest non-null duration.
    pub max_duration: Option<f64>,
    /// Earliest `start_time`.
    pub first_run: Option<Timestamp>,
    /// Latest `start_time`.
    pub last_run: Option<Timestamp>,
}

/// The raw aggregates a backend reads for one dataset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetAggregate {
    /// Executions on the dataset.
    pub executions: i64,
    /// Variations on the dataset.
    pub variations: i64,
    /// Jobs with `success = true`.
    pub successful: i64,
    /// Jobs with `success = false`.
    pub failed: i64,
    /// Sum of non-null durations.
    pub duration_sum: f64,
    /// Count of non-null durations.
    pub duration_count: i64,
    /// Shortest non-null duration.
    pub min_duration: Option<f64>,
    /// Longest non-null duration.
    pub max_duration: Option<f64>,
    /// Earliest start.
    pub first_run: Option<Timestamp>,
    /// Latest start.
    pub last_run: Option<Timestamp>,
}

impl DatasetStats {
    /// Builds the result from the aggregates of one dataset.
    pub fn from_parts(dataset_name: &str, a: DatasetAggregate) -> Self {
        DatasetStats {
            dataset_name: dataset_name.to_owned(),
            total_jobs: a.executions + a.variations,
            executions: a.executions,
            variations: a.variations,
            successful_jobs: a.successful,
            failed_jobs: a.failed,
            success_rate: success_rate(a.successful, a.failed),
            average_duration: average(a.duration_sum, a.duration_count),
            min_duration: a.min_duration,
            max_duration: a.max_duration,
            first_run: a.first_run,
            last_run: a.last_run,
        }
    }
}

/// Result of `get_experiment_stats(experiment_name)`: the progress of one
/// hyper-parameter sweep, read from the experiment counters (constant time)
/// and four index seeks for the extremes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentStats {
    /// The experiment asked about.
    pub experiment_name: String,
    /// The combinations the sweep declares: the largest `total_combinations`
    /// among its variations (0 when it has none).
    pub declared_combinations: i64,
    /// Variations of the experiment.
    pub total_variations: i64,
    /// Variations per status, only counts above zero.
    pub variations_by_status: StatusCounts,
    /// Variations in a terminal status (done, failed, cancelled).
    pub finished_variations: i64,
    /// Percent of the declared combinations finished (above 100 when more
    /// variations than declared have finished; 0 when none are declared).
    pub progress: f64,
    /// Variations with `success = true`.
    pub successful_variations: i64,
    /// Variations with `success = false`.
    pub failed_variations: i64,
    /// Percent of successful among successful and failed.
    pub success_rate: f64,
    /// Average non-null duration in seconds.
    pub average_duration: Option<f64>,
    /// Shortest non-null duration.
    pub min_duration: Option<f64>,
    /// Longest non-null duration.
    pub max_duration: Option<f64>,
    /// Earliest `start_time`.
    pub first_run: Option<Timestamp>,
    /// Latest `start_time`.
    pub last_run: Option<Timestamp>,
}

/// The extremes of a set of jobs, which no counter can keep under deletes:
/// the backends read each from the first or last entry of an index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extremes {
    /// Shortest non-null duration.
    pub min_duration: Option<f64>,
    /// Longest non-null duration.
    pub max_duration: Option<f64>,
    /// Earliest start.
    pub first_run: Option<Timestamp>,
    /// Latest start.
    pub last_run: Option<Timestamp>,
}

/// One row of `get_all_jobs_optimized`, `get_recent_jobs_*`, and the result
/// of `create_execution` / `create_variation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The id.
    pub job_id: String,
    /// `execution` or `variation`.
    pub job_type: JobType,
    /// Current status.
    pub status: Status,
    /// Dataset.
    pub dataset_name: String,
    /// Preset.
    pub preset: String,
    /// The pipeline mode; `variations` for a variation.
    pub mode: String,
    /// Variations only.
    pub experiment_name: Option<String>,
    /// Variations only.
    pub variation_id: Option<String>,
    /// True once done, false once failed.
    pub success: Option<bool>,
    /// Seconds from start to end.
    pub duration_seconds: Option<f64>,
    /// The last error message.
    pub error_message: Option<String>,
    /// Where the result went.
    pub output_path: Option<String>,
    /// Planned steps.
    pub total_steps: Option<i32>,
    /// Steps done.
    pub current_step: Option<i32>,
    /// When training started.
    pub start_time: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// The last heartbeat or progress report; null before the first.
    pub last_heartbeat: Option<Timestamp>,
}

/// One row of `get_running_jobs()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningJob {
    /// The id.
    pub job_id: String,
    /// `execution` or `variation`.
    pub job_type: JobType,
    /// An active status.
    pub status: Status,
    /// Dataset.
    pub dataset_name: String,
    /// When training started.
    pub start_time: Option<Timestamp>,
    /// Steps done.
    pub current_step: Option<i32>,
    /// Planned steps.
    pub total_steps: Option<i32>,
    /// `100 × current / total`, 0 when unknown.
    pub progress: f64,
    /// Variations only.
    pub experiment_name: Option<String>,
    /// Variations only.
    pub variation_id: Option<String>,
    /// The last heartbeat or progress report; null before the first.
    pub last_heartbeat: Option<Timestamp>,
}

/// Result of `cleanup_old_jobs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupReport {
    /// Executions deleted.
    pub executions_deleted: i64,
    /// Variations deleted.
    pub variations_deleted: i64,
    /// Rows removed from the summary table `job_summary_cache` with them.
    pub cache_entries_deleted: i64,
}

/// Result of `prune_jobs`: what every batch deleted, summed, and how many
/// batches (transactions) it took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Executions deleted.
    pub executions_deleted: i64,
    /// Variations deleted.
    pub variations_deleted: i64,
    /// Rows removed from the summary table `job_summary_cache` with them.
    pub cache_entries_deleted: i64,
    /// Batches run, each committed on its own; the last one finds fewer
    /// than `batch_size` jobs to delete.
    pub batches: i64,
}

impl PruneReport {
    /// This report with one more batch, which deleted `batch`; `None` when
    /// a figure would overflow (only a forged report can be that large).
    pub fn plus(self, batch: CleanupReport) -> Option<PruneReport> {
        Some(PruneReport {
            executions_deleted: self
                .executions_deleted
                .checked_add(batch.executions_deleted)?,
            variations_deleted: self
                .variations_deleted
                .checked_add(batch.variations_deleted)?,
            cache_entries_deleted: self
                .cache_entries_deleted
                .checked_add(batch.cache_entries_deleted)?,
            batches: self.batches.checked_add(1)?,
        })
    }

    /// Whether every figure is one a prune can report: none negative.
    pub fn is_possible(&self) -> bool {
        [
            self.executions_deleted,
            self.variations_deleted,
            self.cache_entries_deleted,
            self.batches,
        ]
        .iter()
        .all(|n| *n >= 0)
    }
}

/// Result of `get_cache_stats()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Entries held now.
    pub size: u64,
    /// Most entries held at once.
    pub capacity: u64,
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls computed.
    pub misses: u64,
    /// hits + misses.
    pub total_requests: u64,
    /// Percent of requests that hit.
    pub hit_rate: f64,
    /// Entries dropped to make room.
    pub evictions: u64,
    /// Entries dropped because the data changed or on request.
    pub invalidations: u64,
    /// Whether a cache is in effect that every session (PostgreSQL) or every
    /// thread of the store (SQLite) shares.
    pub shared: bool,
}

impl CacheStats {
    /// Builds the stats, deriving `total_requests` and `hit_rate`.
    pub fn new(
        size: u64,
        capacity: u64,
        hits: u64,
        misses: u64,
        evictions: u64,
        invalidations: u64,
        shared: bool,
    ) -> Self {
        let total = hits + misses;
        CacheStats {
            size,
            capacity,
            hits,
            misses,
            total_requests: total,
            hit_rate: if total == 0 {
                0.0
            } else {
                100.0 * hits as f64 / total as f64
            },
            evictions,
            invalidations,
            shared,
        }
    }
}

/// Result of `get_pool_status()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStatus {
    /// `postgresql` or `sqlite`.
    pub backend: String,
    /// Most connections at once.
    pub max_connections: i64,
    /// Connections open now.
    pub total: i64,
    /// Connections running a statement.
    pub active: i64,
    /// Connections waiting for work.
    pub idle: i64,
    /// Connections inside a transaction but not running a statement.
    pub idle_in_transaction: i64,
    /// Callers waiting for a connection or a lock.
    pub waiting: i64,
    /// The client's connection pool, when the store is a client of a
    /// server (`jobtrack_postgres::PgStore`); the fields above are then the
    /// server's view. Absent for the server's own function and for SQLite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<ClientPool>,
}

/// A client's connection pool, in [`PoolStatus::pool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPool {
    /// Connections kept open once opened.
    pub size: i64,
    /// Most connections opened beyond `size`, closed when returned.
    pub max_overflow: i64,
    /// Connections open now, idle or handed out.
    pub open: i64,
    /// Connections handed out to callers now.
    pub checked_out: i64,
    /// Open connections beyond `size`.
    pub overflow: i64,
    /// Open connections waiting in the pool.
    pub idle: i64,
    /// Callers waiting for a connection.
    pub waiting: i64,
}
