//! The runtime SQL, one file per statement under `sql/pg/queries/`, so that
//! the pg_regress test `explain` plans exactly the text the functions run.

macro_rules! query {
    ($(#[$doc:meta] $name:ident = $file:literal;)*) => {$(
        #[$doc]
        pub const $name: &str = include_str!(concat!("../../sql/pg/queries/", $file));
    )*};
}

query! {
    /// Counter sums per kind and status.
    STATISTICS = "statistics.sql";
    /// Counter sums and extremes of one dataset.
    DATASET_STATS = "dataset_stats.sql";
    /// Job rows, newest created_at first.
    ALL_JOBS = "all_jobs.sql";
    /// Job rows, newest updated_at first.
    RECENT_JOBS = "recent_jobs.sql";
    /// Jobs in an active status.
    RUNNING_JOBS = "running_jobs.sql";
    /// The Job row of one id.
    JOB_BY_ID = "job_by_id.sql";
    /// The first id of a batch that exists already.
    FIRST_EXISTING_ID = "first_existing_id.sql";
    /// Inserts a batch of executions.
    INSERT_EXECUTIONS = "insert_executions.sql";
    /// Inserts a batch of variations.
    INSERT_VARIATIONS = "insert_variations.sql";
    /// Applies status changes to executions.
    UPDATE_STATUS_EXECUTIONS = "update_status_executions.sql";
    /// Applies status changes to variations.
    UPDATE_STATUS_VARIATIONS = "update_status_variations.sql";
    /// Sets current_step of a job of either kind.
    UPDATE_PROGRESS = "update_progress.sql";
    /// Deletes old terminal jobs.
    CLEANUP = "cleanup.sql";
    /// Locks the base tables for a rebuild.
    REFRESH_LOCK = "refresh_lock.sql";
    /// Rebuilds the summary table and the counters.
    REFRESH = "refresh.sql";
    /// The counters and a recount, side by side.
    VERIFY_STATISTICS = "verify_statistics.sql";
    /// Sessions of the current database.
    POOL_STATUS = "pool_status.sql";
}
