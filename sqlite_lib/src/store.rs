//! [`JobStore`]: every function of the jobtrack contract on one SQLite file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jobtrack_core::{
    cache_key, check_current_step, check_days, check_limit, check_unique_ids, last_update_wins,
    statistics_differences, ttl, validate_batch, CacheStats, CleanupReport, DatasetStats, Job,
    JobInput, MetricsRecorder, NewExecution, NewVariation, PoolStatus, Result, RunningJob,
    Statistics, StatisticsDifference, Status, StatusUpdate, Timestamp, TransactionMetrics,
};
use rusqlite::{params, Connection, Transaction, TransactionBehavior};

use crate::cache::{Cacheable, Lookup, ResultCache};
use crate::error::{insert_error, DbResultExt};
use crate::pool::{lock, ConnectionPool};
use crate::queries;
use crate::schema;

/// Settings of a [`JobStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStoreOptions {
    /// Read-only connections for reads (default 4). With 0, reads share the
    /// writer connection.
    pub reader_connections: usize,
    /// How long a statement waits for another process's lock before failing
    /// with SQLSTATE 55P03 (default 5 s).
    pub busy_timeout: Duration,
    /// Whether the `*_cached` functions cache (default true). When off they
    /// compute every call and count it as a miss.
    pub cache_enabled: bool,
    /// Most entries the result cache holds (default 1000).
    pub cache_capacity: usize,
    /// Time-to-live of `get_statistics_cached` results (default 300 s).
    pub statistics_ttl: Duration,
    /// Time-to-live of `get_dataset_stats_cached` results (default 600 s).
    pub dataset_stats_ttl: Duration,
    /// Time-to-live of `get_recent_jobs_cached` results (default 60 s).
    pub recent_jobs_ttl: Duration,
}

impl Default for JobStoreOptions {
    fn default() -> Self {
        JobStoreOptions {
            reader_connections: 4,
            busy_timeout: Duration::from_secs(5),
            cache_enabled: true,
            cache_capacity: 1000,
            statistics_ttl: Duration::from_secs(ttl::STATISTICS_SECS),
            dataset_stats_ttl: Duration::from_secs(ttl::DATASET_STATS_SECS),
            recent_jobs_ttl: Duration::from_secs(ttl::RECENT_JOBS_SECS),
        }
    }
}

/// A jobtrack store on one SQLite database.
///
/// `JobStore` is `Send + Sync`: share one as `Arc<JobStore>` between threads.
/// Writes are serialized on one writer connection, each call one
/// `BEGIN IMMEDIATE` transaction; reads run concurrently on a pool of
/// read-only connections. Other processes and plain SQL clients may use the
/// same file at the same time: the summary table is kept by triggers, and the
/// result cache notices their commits.
pub struct JobStore {
    path: Option<PathBuf>,
    // Fields drop in order: the cache's monitor and the readers close before
    // the writer, so that the writer, closing last, checkpoints the WAL and
    // removes it.
    cache: ResultCache,
    pool: ConnectionPool,
    metrics: Mutex<MetricsRecorder>,
    options: JobStoreOptions,
}

impl std::fmt::Debug for JobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStore")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The status-change columns a new job gets from its initial status, as if
/// it had entered that status at `now`: (start_time, end_time, success).
fn initial_effects(status: Status, now: &str) -> (Option<&str>, Option<&str>, Option<bool>) {
    let start = status.starts_clock().then_some(now);
    let end = status.is_terminal().then_some(now);
    (start, end, status.success())
}

impl JobStore {
    /// Opens (creating or migrating) the database at `path` with default
    /// options.
    pub fn open(path: impl AsRef<Path>) -> Result<JobStore> {
        JobStore::open_with(path, JobStoreOptions::default())
    }

    /// Opens (creating or migrating) the database at `path`.
    /// The path `:memory:` (or an empty one) opens a private in-memory
    /// database as [`JobStore::open_in_memory`] does.
    pub fn open_with(path: impl AsRef<Path>, options: JobStoreOptions) -> Result<JobStore> {
        let path = path.as_ref().to_path_buf();
        // Each reader would otherwise open a database of its own.
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return JobStore::open_in_memory_with(options);
        }
        let mut writer = schema::open_writer(&path, options.busy_timeout)?;
        schema::migrate(&mut writer)?;
        let readers = (0..options.reader_connections)
            .map(|_| schema::open_reader(&path, options.busy_timeout))
            .collect::<Result<Vec<_>>>()?;
        let monitor = if options.cache_enabled {
            Some(schema::open_reader(&path, options.busy_timeout)?)
        } else {
            None
        };
        let cache = ResultCache::new(options.cache_enabled, options.cache_capacity, monitor)?;
        Ok(JobStore {
            path: Some(path),
            cache,
            pool: ConnectionPool::new(writer, readers),
            metrics: Mutex::new(MetricsRecorder::default()),
            options,
        })
    }

    /// Opens a private in-memory database: one connection serves every call,
    /// and `reader_connections` is ignored.
    pub fn open_in_memory() -> Result<JobStore> {
        JobStore::open_in_memory_with(JobStoreOptions::default())
    }

    /// [`JobStore::open_in_memory`] with options (cache settings and TTLs).
    pub fn open_in_memory_with(options: JobStoreOptions) -> Result<JobStore> {
        let mut conn = Connection::open_in_memory().db()?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        let options = JobStoreOptions {
            reader_connections: 0,
            ..options
        };
        // No monitor: no other connection can reach a private in-memory
        // database, so this store's own commits are the only changes.
        let cache = ResultCache::new(options.cache_enabled, options.cache_capacity, None)?;
        Ok(JobStore {
            path: None,
            cache,
            pool: ConnectionPool::new(conn, Vec::new()),
            metrics: Mutex::new(MetricsRecorder::default()),
            options,
        })
    }

    /// The database file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The options in effect.
    pub fn options(&self) -> &JobStoreOptions {
        &self.options
    }

    // ----- plumbing -------------------------------------------------------

    /// Runs one write operation and records its metrics under `operation`,
    /// failures (validation included) with success = false.
    fn measured<T>(&self, operation: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let result = f();
        lock(&self.metrics).record(
            operation,
            started.elapsed(),
            result.is_ok(),
            Timestamp::now(),
        );
        result
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer and
    /// commits. "Now" is taken once the write lock is held, so timestamps
    /// follow commit order. The cache drops its entries right after the
    /// commit, while the writer is still held.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>, Timestamp) -> Result<T>) -> Result<T> {
        self.pool.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .db()?;
            let value = f(&tx, Timestamp::now())?;
            tx.commit().db()?;
            self.cache.note_commit();
            Ok(value)
        })
    }

    /// Read-through of the result cache.
    fn cached<T: Cacheable>(
        &self,
        key: String,
        ttl: Duration,
        compute: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        match self.cache.lookup::<T>(&key)? {
            Lookup::Hit(value) => Ok(value),
            Lookup::Disabled => self.pool.with_reader(compute),
            Lookup::Miss(generation) => {
                let value = self.pool.with_reader(compute)?;
                self.cache
                    .store(key, value.clone().into_cached(), ttl, generation);
                Ok(value)
            }
        }
    }

    /// Fails with 23505 naming the first id of `items` that exists already
    /// in either kind.
    fn check_not_existing<T: JobInput>(tx: &Transaction<'_>, items: &[T]) -> Result<()> {
        let mut exists = tx.prepare_cached(queries::JOB_EXISTS).db()?;
        for item in items {
            if exists
                .query_row([item.job_id()], |r| r.get::<_, bool>(0))
                .db()?
            {
                return Err(jobtrack_core::Error::duplicate(item.job_id()));
            }
        }
        Ok(())
    }

    fn insert_executions(tx: &Transaction<'_>, jobs: &[NewExecution], now: &str) -> Result<()> {
        Self::check_not_existing(tx, jobs)?;
        let mut insert = tx.prepare_cached(queries::INSERT_EXECUTION).db()?;
        for job in jobs {
            let (start, end, success) = initial_effects(job.status, now);
            insert
                .execute(params![
                    job.job_id,
                    job.status.as_str(),
                    job.pipeline_mode.as_str(),
                    job.dataset_name,
                    job.preset,
                    job.total_steps,
                    start,
                    end,
                    success,
                    now,
                ])
                .map_err(|e| insert_error(e, &job.job_id))?;
        }
        Ok(())
    }

    fn insert_variations(tx: &Transaction<'_>, jobs: &[NewVariation], now: &str) -> Result<()> {
        Self::check_not_existing(tx, jobs)?;
        let mut insert = tx.prepare_cached(queries::INSERT_VARIATION).db()?;
        for job in jobs {
            let (start, end, success) = initial_effects(job.status, now);
            let varied = serde_json::Value::Object(job.varied_parameters.clone()).to_string();
            let values = serde_json::Value::Object(job.parameter_values.clone()).to_string();
            insert
                .execute(params![
                    job.job_id,
                    job.status.as_str(),
                    job.variation_id,
                    job.experiment_name,
                    job.dataset_name,
                    job.preset,
                    job.total_combinations,
                    varied,
                    values,
                    job.parent_experiment_id,
                    job.total_steps,
                    start,
                    end,
                    success,
                    now,
                ])
                .map_err(|e| insert_error(e, &job.job_id))?;
        }
        Ok(())
    }

    fn get_job(conn: &Connection, job_id: &str) -> Result<Job> {
        conn.prepare_cached(queries::GET_JOB)
            .db()?
            .query_row([job_id], queries::job)
            .db()
    }

    /// Applies status updates (already validated, one per id); returns the
    /// number of jobs changed.
    fn apply_status_updates(
        tx: &Transaction<'_>,
        sql: &str,
        updates: &[&StatusUpdate],
        now: &str,
    ) -> Result<i32> {
        let mut update = tx.prepare_cached(sql).db()?;
        let mut changed = 0usize;
        for u in updates {
            changed += update
                .execute(params![u.job_id, u.status.as_str(), u.error_message, now])
                .db()?;
        }
        Ok(i32::try_from(changed).unwrap_or(i32::MAX))
    }

    fn update_status(
        &self,
        operation: &str,
        sql: &str,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool> {
        self.measured(operation, || {
            let update = StatusUpdate {
                job_id: job_id.to_owned(),
                status,
                error_message: error_message.map(str::to_owned),
            };
            update.validate(None)?;
            self.write(|tx, now| {
                Ok(Self::apply_status_updates(tx, sql, &[&update], &now.to_string())? > 0)
            })
        })
    }

    fn batch_update_status(
        &self,
        operation: &str,
        sql: &str,
        updates: &[StatusUpdate],
    ) -> Result<i32> {
        self.measured(operation, || {
            validate_batch(updates)?;
            let last = last_update_wins(updates);
            if last.is_empty() {
                return Ok(0);
            }
            self.write(|tx, now| Self::apply_status_updates(tx, sql, &last, &now.to_string()))
        })
    }

    // ----- writes ---------------------------------------------------------

    /// Creates one execution and returns it as a [`Job`] row.
    ///
    /// Errors: 22023 for a bad field, 23505 when the job_id exists in either
    /// kind.
    pub fn create_execution(&self, job: &NewExecution) -> Result<Job> {
        self.measured("create_execution", || {
            job.validate(None)?;
            self.write(|tx, now| {
                Self::insert_executions(tx, std::slice::from_ref(job), &now.to_string())?;
                Self::get_job(tx, &job.job_id)
            })
        })
    }

    /// Creates one variation and returns it as a [`Job`] row.
    pub fn create_variation(&self, job: &NewVariation) -> Result<Job> {
        self.measured("create_variation", || {
            job.validate(None)?;
            self.write(|tx, now| {
                Self::insert_variations(tx, std::slice::from_ref(job), &now.to_string())?;
                Self::get_job(tx, &job.job_id)
            })
        })
    }

    /// Changes the status of an execution with the contract's effects;
    /// false when there is no such execution.
    pub fn update_execution_status(
        &self,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool> {
        self.update_status(
            "update_execution_status",
            queries::UPDATE_EXECUTION_STATUS,
            job_id,
            status,
            error_message,
        )
    }

    /// Changes the status of a variation; false when there is no such
    /// variation.
    pub fn update_variation_status(
        &self,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool> {
        self.update_status(
            "update_variation_status",
            queries::UPDATE_VARIATION_STATUS,
            job_id,
            status,
            error_message,
        )
    }

    /// Sets `current_step` (and `updated_at`) of a job of either kind; false
    /// when there is no such job, 22023 when `current_step` is negative.
    pub fn update_progress(&self, job_id: &str, current_step: i32) -> Result<bool> {
        self.measured("update_progress", || {
            check_current_step(current_step.into())?;
            self.write(|tx, now| {
                let now = now.to_string();
                for sql in [
                    queries::UPDATE_EXECUTION_PROGRESS,
                    queries::UPDATE_VARIATION_PROGRESS,
                ] {
                    let changed = tx
                        .prepare_cached(sql)
                        .db()?
                        .execute(params![job_id, current_step, now])
                        .db()?;
                    if changed > 0 {
                        return Ok(true);
                    }
                }
                Ok(false)
            })
        })
    }

    /// Creates executions in one transaction; returns their ids in input
    /// order. One bad element (22023, naming its index and field) or one
    /// existing or repeated id (23505) and nothing is created.
    pub fn batch_create_executions(&self, jobs: &[NewExecution]) -> Result<Vec<String>> {
        self.measured("batch_create_executions", || {
            validate_batch(jobs)?;
            check_unique_ids(jobs)?;
            if jobs.is_empty() {
                return Ok(Vec::new());
            }
            self.write(|tx, now| Self::insert_executions(tx, jobs, &now.to_string()))?;
            Ok(jobs.iter().map(|j| j.job_id.clone()).collect())
        })
    }

    /// Creates variations in one transaction; as
    /// [`batch_create_executions`](Self::batch_create_executions).
    pub fn batch_create_variations(&self, jobs: &[NewVariation]) -> Result<Vec<String>> {
        self.measured("batch_create_variations", || {
            validate_batch(jobs)?;
            check_unique_ids(jobs)?;
            if jobs.is_empty() {
                return Ok(Vec::new());
            }
            self.write(|tx, now| Self::insert_variations(tx, jobs, &now.to_string()))?;
            Ok(jobs.iter().map(|j| j.job_id.clone()).collect())
        })
    }

    /// Changes the status of many executions in one transaction; returns how
    /// many were changed. Unknown ids are skipped and not counted; when an id
    /// appears twice the later element wins.
    pub fn batch_update_execution_status(&self, updates: &[StatusUpdate]) -> Result<i32> {
        self.batch_update_status(
            "batch_update_execution_status",
            queries::UPDATE_EXECUTION_STATUS,
            updates,
        )
    }

    /// Changes the status of many variations in one transaction; as
    /// [`batch_update_execution_status`](Self::batch_update_execution_status).
    pub fn batch_update_variation_status(&self, updates: &[StatusUpdate]) -> Result<i32> {
        self.batch_update_status(
            "batch_update_variation_status",
            queries::UPDATE_VARIATION_STATUS,
            updates,
        )
    }

    /// Deletes jobs in a terminal status (`done`, `failed`, `cancelled`)
    /// created more than `days` days ago; with `keep_failed`, `failed` ones
    /// stay. Active jobs are never deleted. 22023 when `days` is negative.
    ///
    /// `cache_entries_deleted` counts the rows removed from the summary table
    /// `job_summary_cache` by its delete triggers (one per deleted job unless
    /// someone removed summary rows by hand) — not result-cache entries.
    pub fn cleanup_old_jobs(&self, days: i32, keep_failed: bool) -> Result<CleanupReport> {
        self.measured("cleanup_old_jobs", || {
            check_days(days.into())?;
            self.write(|tx, now| {
                let cutoff = now.minus_days(days.into()).to_string();
                // Counted before the deletes: the triggers change the
                // counters as well, so total_changes() cannot tell.
                let summary_rows: i64 = tx
                    .prepare_cached(queries::CLEANUP_SUMMARY_COUNT)
                    .db()?
                    .query_row(params![cutoff, keep_failed], |r| r.get(0))
                    .db()?;
                let mut deleted = [0i64; 2];
                for (n, sql) in deleted
                    .iter_mut()
                    .zip([queries::CLEANUP_EXECUTIONS, queries::CLEANUP_VARIATIONS])
                {
                    *n = tx
                        .prepare_cached(sql)
                        .db()?
                        .execute(params![cutoff, keep_failed])
                        .db()? as i64;
                }
                Ok(CleanupReport {
                    executions_deleted: deleted[0],
                    variations_deleted: deleted[1],
                    cache_entries_deleted: summary_rows,
                })
            })
        })
    }

    /// Rebuilds every derived table from the base tables — the summary
    /// table `job_summary_cache` and the statistics counters `job_counters`
    /// — and returns the summary table's row count.
    pub fn refresh_job_cache(&self) -> Result<i64> {
        self.measured("refresh_job_cache", || {
            self.write(|tx, _| {
                tx.execute_batch(queries::REFRESH_JOB_CACHE).db()?;
                tx.query_row(queries::JOB_SUMMARY_COUNT, [], |r| r.get(0))
                    .db()
            })
        })
    }

    // ----- reads ----------------------------------------------------------

    fn statistics(conn: &Connection) -> Result<Statistics> {
        let mut stmt = conn.prepare_cached(queries::STATISTICS).db()?;
        let rows = stmt
            .query_map([], queries::statistics_row)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
        Ok(Statistics::from_counters(rows))
    }

    fn dataset_stats(conn: &Connection, dataset_name: &str) -> Result<DatasetStats> {
        let aggregate = conn
            .prepare_cached(queries::DATASET_STATS)
            .db()?
            .query_row([dataset_name], queries::dataset_row)
            .db()?;
        Ok(DatasetStats::from_parts(dataset_name, aggregate))
    }

    fn jobs(conn: &Connection, sql: &str, lim: i32) -> Result<Vec<Job>> {
        let mut stmt = conn.prepare_cached(sql).db()?;
        let rows = stmt.query_map([lim], queries::job).db()?;
        rows.collect::<rusqlite::Result<_>>().db()
    }

    /// Counts of both kinds by status, success totals and average durations,
    /// read from the counters the triggers keep: the cost depends on the
    /// number of datasets, not of jobs, and the result is exact.
    pub fn get_statistics_optimized(&self) -> Result<Statistics> {
        self.pool.with_reader(Self::statistics)
    }

    /// [`get_statistics_optimized`](Self::get_statistics_optimized) through
    /// the result cache.
    pub fn get_statistics_cached(&self) -> Result<Statistics> {
        self.cached(
            cache_key::statistics(),
            self.options.statistics_ttl,
            Self::statistics,
        )
    }

    /// Aggregates of the jobs of one dataset; zeros and nulls for an unknown
    /// dataset. Counts and the average come from the counters, the extremes
    /// (durations, first and last run) from one index seek each.
    pub fn get_dataset_stats_optimized(&self, dataset_name: &str) -> Result<DatasetStats> {
        self.pool
            .with_reader(|c| Self::dataset_stats(c, dataset_name))
    }

    /// [`get_dataset_stats_optimized`](Self::get_dataset_stats_optimized)
    /// through the result cache.
    pub fn get_dataset_stats_cached(&self, dataset_name: &str) -> Result<DatasetStats> {
        self.cached(
            cache_key::dataset_stats(dataset_name),
            self.options.dataset_stats_ttl,
            |c| Self::dataset_stats(c, dataset_name),
        )
    }

    /// Up to `lim` (0..=10000) jobs of both kinds, newest `created_at` first.
    pub fn get_all_jobs_optimized(&self, lim: i32) -> Result<Vec<Job>> {
        let lim = check_limit(lim.into())?;
        self.pool
            .with_reader(|c| Self::jobs(c, queries::ALL_JOBS, lim))
    }

    /// Up to `lim` (0..=10000) jobs of both kinds, newest `updated_at` first.
    pub fn get_recent_jobs_optimized(&self, lim: i32) -> Result<Vec<Job>> {
        let lim = check_limit(lim.into())?;
        self.pool
            .with_reader(|c| Self::jobs(c, queries::RECENT_JOBS, lim))
    }

    /// [`get_recent_jobs_optimized`](Self::get_recent_jobs_optimized) through
    /// the result cache.
    pub fn get_recent_jobs_cached(&self, lim: i32) -> Result<Vec<Job>> {
        let lim = check_limit(lim.into())?;
        self.cached(
            cache_key::recent_jobs(lim),
            self.options.recent_jobs_ttl,
            |c| Self::jobs(c, queries::RECENT_JOBS, lim),
        )
    }

    /// Every job in an active status, newest `created_at` first.
    pub fn get_running_jobs(&self) -> Result<Vec<RunningJob>> {
        self.pool.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(queries::RUNNING_JOBS).db()?;
            let rows = stmt.query_map([], queries::running_job).db()?;
            rows.collect::<rusqlite::Result<_>>().db()
        })
    }

    /// The differences between the statistics counters and a full recount
    /// of the base tables, one row per (job type, dataset, status) that
    /// disagrees, sorted by those three; empty when all is well. The
    /// counters can only disagree when someone edited `job_counters` or
    /// `job_summary_cache` by hand; [`refresh_job_cache`](Self::refresh_job_cache)
    /// rebuilds them. A full scan: a check to run now and then, not on a
    /// dashboard.
    pub fn verify_statistics(&self) -> Result<Vec<StatisticsDifference>> {
        self.pool.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(queries::VERIFY_STATISTICS).db()?;
            let (mut counted, mut actual) = (Vec::new(), Vec::new());
            for row in stmt.query_map([], queries::verify_row).db()? {
                let (is_counter, row) = row.db()?;
                if is_counter {
                    counted.push(row);
                } else {
                    actual.push(row);
                }
            }
            Ok(statistics_differences(counted, actual))
        })
    }

    // ----- monitoring -----------------------------------------------------

    /// Size, capacity, hits, misses, evictions and invalidations of the
    /// result cache; `shared` is true when it is enabled (every thread using
    /// this store shares it).
    pub fn get_cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Drops the cache entries whose key contains `pattern` (all with
    /// `None`); returns how many. Keys: `statistics`, `dataset_stats:NAME`,
    /// `recent_jobs:LIM`.
    pub fn invalidate_cache(&self, pattern: Option<&str>) -> i32 {
        self.cache.invalidate(pattern)
    }

    /// This store's connections: `max_connections` = readers + the writer;
    /// the result cache's change monitor, which only reads
    /// `PRAGMA data_version`, is not counted. `waiting` counts callers queued
    /// for the writer or a reader.
    pub fn get_pool_status(&self) -> PoolStatus {
        self.pool.status()
    }

    /// Count and durations of every write operation called since the last
    /// reset, failed calls included.
    pub fn get_transaction_metrics(&self) -> TransactionMetrics {
        lock(&self.metrics).snapshot()
    }

    /// Forgets the transaction metrics.
    pub fn reset_transaction_metrics(&self) {
        lock(&self.metrics).reset();
    }
}
