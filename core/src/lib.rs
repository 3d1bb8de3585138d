//! # jobtrack-core
//!
//! What both jobtrack backends share so that they cannot drift: the domain
//! enums, input types with their validation, result types whose serde JSON is
//! the API's JSON, the error type with stable SQLSTATEs, the
//! timestamp format, transaction metrics, and the exact statistics counters
//! with the difference rows of `verify_statistics()` ([`counters`]).
//!
//! Neither pgrx nor rusqlite appears here.
#![warn(missing_docs)]

pub mod conformance;
pub mod counters;
pub mod domain;
pub mod error;
pub mod input;
pub mod metrics;
pub mod number;
pub mod operation;
pub mod output;
pub mod record;
pub mod stale;
pub mod time;
pub mod usecase;
pub mod writer_log;

pub use counters::{
    experiment_stats_differences, seconds_from_micros, statistics_differences, CounterRow, Counts,
    ExperimentCounterRow, ExperimentStatsDifference, StatisticsDifference,
};
pub use domain::{JobType, PipelineMode, Status, StatusEffects};
pub use error::{Error, Location, Refusal, Result, MAX_BATCH};
pub use input::{
    check_batch_size, check_current_step, check_days, check_limit, check_nesting, check_no_nul,
    check_unique_ids, last_update_wins, parse_batch, parse_batch_text, parse_text, too_deep,
    unknown_cursor, validate_batch, JobInput, Nesting, NewExecution, NewVariation, Page, Shape,
    StatusUpdate, MAX_LIMIT, MAX_NESTING,
};
pub use metrics::{
    metrics_from_totals, MetricsRecorder, OperationMetrics, OperationTotals, TransactionMetrics,
};
pub use number::{canonical_numeric, canonicalize_numbers, NumberError};
pub use operation::{
    call, JobApi, JobTransaction, Operation, OperationKind, Parameter, Returns, MEASURED_COUNT,
};
pub use output::{
    average, progress, progress_of, success_rate, CacheStats, CleanupReport, ClientPool,
    DatasetAggregate, DatasetStats, ExperimentStats, Extremes, Job, KindAggregate, PoolStatus,
    PruneReport, RunningJob, Statistics, StatusCounts,
};
pub use record::{export_start, ExportStart, JobExport, JobRecord, EXPORT_PAGE, RECORD_COLUMNS};
pub use stale::{stale_message, StaleAfter, StaleJob};
pub use time::Timestamp;

/// Default time-to-live of cached results, in seconds, per function.
pub mod ttl {
    /// `get_statistics_cached`.
    pub const STATISTICS_SECS: u64 = 300;
    /// `get_dataset_stats_cached`.
    pub const DATASET_STATS_SECS: u64 = 600;
    /// `get_experiment_stats_cached`.
    pub const EXPERIMENT_STATS_SECS: u64 = 300;
    /// `get_recent_jobs_cached`.
    pub const RECENT_JOBS_SECS: u64 = 60;
}

/// Cache keys, identical in both backends so that `invalidate_cache(pattern)`
/// matches the same entries.
pub mod cache_key {
    /// Key of `get_statistics_cached()`.
    pub fn statistics() -> String {
        "statistics".to_owned()
    }
    /// Key of `get_dataset_stats_cached(name)`.
    pub fn dataset_stats(dataset_name: &str) -> String {
        format!("dataset_stats:{dataset_name}")
    }
    /// Key of `get_experiment_stats_cached(name)`.
    pub fn experiment_stats(experiment_name: &str) -> String {
        format!("experiment_stats:{experiment_name}")
    }
    /// Key of `get_recent_jobs_cached(lim)`.
    pub fn recent_jobs(lim: i32) -> String {
        format!("recent_jobs:{lim}")
    }
}
