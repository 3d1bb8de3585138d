//! [`JobStore`]: every function of the jobtrack API on one SQLite file.

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use jobtrack_core::usecase::{
    self, NewJob, PruneBatch, StatusChange, StoredParameters, WriteBackend,
};
use jobtrack_core::{
    cache_key, check_limit, experiment_stats_differences, export_start, statistics_differences,
    ttl, unknown_cursor, CacheStats, CleanupReport, DatasetStats, ExperimentStats,
    ExperimentStatsDifference, ExportStart, Extremes, Job, JobApi, JobExport, JobRecord,
    JobTransaction, JobType, MetricsRecorder, NewExecution, NewVariation, Operation, Page,
    PoolStatus, PruneReport, Result, RunningJob, StaleAfter, StaleJob, Statistics,
    StatisticsDifference, Status, StatusUpdate, Timestamp, TransactionMetrics,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::cache::{Cacheable, Lookup, ResultCache};
use crate::error::{insert_error, DbResultExt};
use crate::export::Export;
use crate::pool::{lock, ConnectionPool};
use crate::queries;
use crate::schema;
use crate::status;

/// The statuses of the jobs that expect heartbeats
/// ([`Status::expects_heartbeats`]), as the JSON array `lock_stale.sql` and
/// `stale_jobs.sql` bind: core decides which statuses can go stale, not
/// the SQL.
static EXPECTS_HEARTBEATS: LazyLock<String> = LazyLock::new(|| {
    let statuses: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|s| s.expects_heartbeats())
        .map(Status::as_str)
        .collect();
    json_array(&statuses)
});

/// The pause of `prune_jobs` between two batches, the write lock free: the
/// longest a writer waiting for the lock sleeps between two tries.
const PRUNE_PAUSE: Duration = Duration::from_millis(100);

/// How hard a commit insists on reaching the disk (`PRAGMA synchronous` of
/// the writer connection). The database file is in WAL mode either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `synchronous = NORMAL` (the default). A commit is appended to the
    /// write-ahead log without waiting for the disk; the log is synced at
    /// each checkpoint. A crash of the program never loses a commit; a power
    /// loss or an operating-system crash may lose the last commits before
    /// the checkpoint, but never corrupts the file nor half-applies a
    /// transaction: what survives is exactly the state after some earlier
    /// commit.
    #[default]
    Normal,
    /// `synchronous = FULL`: every commit waits until the log is on the
    /// disk, so a commit that returned survives a power loss too. Slower:
    /// one fsync per commit.
    Full,
}

impl Synchronous {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Settings of a [`JobStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStoreOptions {
    /// Read-only connections for reads (default 4). With 0, reads share the
    /// writer connection.
    pub reader_connections: usize,
    /// How long a writer waits for another process's write lock before
    /// failing with SQLSTATE 55P03 (default 5 s). Readers never wait for
    /// writers (WAL mode); opening waits this long only when it must migrate
    /// the file.
    pub busy_timeout: Duration,
    /// Durability of commits (default [`Synchronous::Normal`]).
    pub synchronous: Synchronous,
    /// Whether opening a path where no file exists creates a new database
    /// (default true). When false such an open fails with SQLSTATE 58P01
    /// naming the path, and nothing is created.
    pub create_if_missing: bool,
    /// Whether the `*_cached` functions cache (default true). When off they
    /// compute every call and count it as a miss.
    pub cache_enabled: bool,
    /// Most entries the result cache holds (default 1000).
    pub cache_capacity: usize,
    /// Time-to-live of `get_statistics_cached` results (default 300 s).
    pub statistics_ttl: Duration,
    /// Time-to-live of `get_dataset_stats_cached` results (default 600 s).
    pub dataset_stats_ttl: Duration,
    /// Time-to-live of `get_experiment_stats_cached` results (default
    /// 300 s).
    pub experiment_stats_ttl: Duration,
    /// Time-to-live of `get_recent_jobs_cached` results (default 60 s).
    pub recent_jobs_ttl: Duration,
}

impl Default for JobStoreOptions {
    fn default() -> Self {
        JobStoreOptions {
            reader_connections: 4,
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::default(),
            create_if_missing: true,
            cache_enabled: true,
            cache_capacity: 1000,
            statistics_ttl: Duration::from_secs(ttl::STATISTICS_SECS),
            dataset_stats_ttl: Duration::from_secs(ttl::DATASET_STATS_SECS),
            experiment_stats_ttl: Duration::from_secs(ttl::EXPERIMENT_STATS_SECS),
            recent_jobs_ttl: Duration::from_secs(ttl::RECENT_JOBS_SECS),
        }
    }
}

/// What is wrong with one job's row in the summary table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SummaryProblem {
    /// The job exists, its summary row does not.
    Missing,
    /// A summary row for a job that does not exist (in that kind).
    Extra,
    /// Both exist but some columns differ.
    Differs,
}

impl std::fmt::Display for SummaryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SummaryProblem::Missing => "missing",
            SummaryProblem::Extra => "extra",
            SummaryProblem::Differs => "differs",
        })
    }
}

/// One job on which the summary table `job_summary_cache` disagrees with
/// the base tables; see [`JobStore::verify_summary`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SummaryDifference {
    /// The job.
    pub job_id: String,
    /// Its kind: that of the base row, or of the summary row when
    /// [`SummaryProblem::Extra`].
    pub job_type: JobType,
    /// What is wrong.
    pub problem: SummaryProblem,
    /// The summary columns that differ from the base row, in table order
    /// (`status`, `dataset_name`, `preset`, `start_time`,
    /// `duration_seconds`, `success`, `last_updated`, `experiment_name`,
    /// `total_combinations`); empty unless [`SummaryProblem::Differs`].
    pub columns: Vec<&'static str>,
}

/// A store on one SQLite database.
///
/// `JobStore` is `Send + Sync`: share one as `Arc<JobStore>` between threads.
/// Writes are serialized on one writer connection, each call one
/// `BEGIN IMMEDIATE` transaction — or several calls in one, with
/// [`JobStore::transaction`]; reads run concurrently on a pool of
/// read-only connections and never wait for a writer, this store's or
/// another process's. Other processes and plain SQL clients may use the
/// same file at the same time: the summary table and the counters are kept
/// by triggers, and the result cache notices their commits.
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

/// Several write calls in one transaction: see [`JobStore::transaction`].
///
/// The calls validate, fail and record their metrics exactly as the
/// `JobStore` methods of the same names; they see each other's changes (a
/// job_id created by an earlier call is a duplicate for a later one), and
/// nothing of them is visible to anyone else before the commit.
pub struct StoreTransaction<'a> {
    conn: &'a Connection,
    store: &'a JobStore,
}

impl std::fmt::Debug for StoreTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTransaction")
            .field("store", &self.store.path)
            .finish_non_exhaustive()
    }
}

/// The statements of the write operations on the writer connection, inside
/// its transaction; every change stamped with the same `now`, taken while
/// the write lock is held so that timestamps follow commit order.
struct SqliteWriter<'c> {
    conn: &'c Connection,
    now: Timestamp,
    now_text: String,
}

impl<'c> SqliteWriter<'c> {
    fn new(conn: &'c Connection) -> Self {
        let now = Timestamp::now();
        SqliteWriter {
            conn,
            now,
            now_text: now.to_string(),
        }
    }
}

impl WriteBackend for SqliteWriter<'_> {
    fn first_existing_id(&mut self, ids: &[&str]) -> Result<Option<String>> {
        let mut exists = self.conn.prepare_cached(queries::JOB_EXISTS).db()?;
        for id in ids {
            if exists.query_row([id], |r| r.get::<_, bool>(0)).db()? {
                return Ok(Some((*id).to_owned()));
            }
        }
        Ok(None)
    }

    fn insert_executions(&mut self, jobs: &[NewExecution]) -> Result<()> {
        let mut insert = self.conn.prepare_cached(queries::INSERT_EXECUTIONS).db()?;
        for job in jobs {
            let effects = job.status.effects();
            insert
                .execute(params![
                    job.job_id,
                    effects.status,
                    job.pipeline_mode.as_str(),
                    job.dataset_name,
                    job.preset,
                    job.total_steps,
                    effects.starts_clock.then_some(&self.now_text),
                    effects.terminal.then_some(&self.now_text),
                    effects.success,
                    self.now_text,
                ])
                .map_err(|e| insert_error(e, &job.job_id))?;
        }
        Ok(())
    }

    fn insert_variations(
        &mut self,
        jobs: &[NewVariation],
        parameters: &[StoredParameters],
    ) -> Result<()> {
        let mut insert = self.conn.prepare_cached(queries::INSERT_VARIATIONS).db()?;
        for (job, stored) in jobs.iter().zip(parameters) {
            let effects = job.status.effects();
            insert
                .execute(params![
                    job.job_id,
                    effects.status,
                    job.variation_id,
                    job.experiment_name,
                    job.dataset_name,
                    job.preset,
                    job.total_combinations,
                    stored.varied_parameters,
                    stored.parameter_values,
                    job.parent_experiment_id,
                    job.total_steps,
                    effects.starts_clock.then_some(&self.now_text),
                    effects.terminal.then_some(&self.now_text),
                    effects.success,
                    self.now_text,
                ])
                .map_err(|e| insert_error(e, &job.job_id))?;
        }
        Ok(())
    }

    fn import_executions(&mut self, records: &[&JobRecord]) -> Result<()> {
        // Plain INSERTs: the insert triggers keep the summary and the
        // counters, row by row, as for jobs created.
        let mut insert = self.conn.prepare_cached(queries::IMPORT_EXECUTIONS).db()?;
        for r in records {
            insert
                .execute(params![
                    r.job_id,
                    r.status.as_str(),
                    r.mode.as_str(),
                    r.dataset_name,
                    r.preset,
                    r.total_steps,
                    r.current_step,
                    stored(r.start_time),
                    stored(r.end_time),
                    r.duration_seconds,
                    r.success,
                    r.error_message,
                    r.output_path,
                    r.created_at.to_string(),
                    r.updated_at.to_string(),
                    r.worker,
                    stored(r.last_heartbeat),
                ])
                .map_err(|e| insert_error(e, &r.job_id))?;
        }
        Ok(())
    }

    fn import_variations(
        &mut self,
        records: &[&JobRecord],
        parameters: &[StoredParameters],
    ) -> Result<()> {
        let mut insert = self.conn.prepare_cached(queries::IMPORT_VARIATIONS).db()?;
        for (r, stored_parameters) in records.iter().zip(parameters) {
            insert
                .execute(params![
                    r.job_id,
                    r.status.as_str(),
                    r.variation_id,
                    r.experiment_name,
                    r.dataset_name,
                    r.preset,
                    r.total_combinations,
                    stored_parameters.varied_parameters,
                    stored_parameters.parameter_values,
                    r.parent_experiment_id,
                    r.total_steps,
                    r.current_step,
                    stored(r.start_time),
                    stored(r.end_time),
                    r.duration_seconds,
                    r.success,
                    r.error_message,
                    r.output_path,
                    r.created_at.to_string(),
                    r.updated_at.to_string(),
                    r.worker,
                    stored(r.last_heartbeat),
                ])
                .map_err(|e| insert_error(e, &r.job_id))?;
        }
        Ok(())
    }

    fn update_status(&mut self, job_type: JobType, changes: &[StatusChange<'_>]) -> Result<u64> {
        status::apply(self.conn, job_type, changes, &self.now_text)
    }

    fn update_progress(&mut self, job_id: &str, current_step: i32) -> Result<bool> {
        for sql in [
            queries::UPDATE_EXECUTION_PROGRESS,
            queries::UPDATE_VARIATION_PROGRESS,
        ] {
            let changed = self
                .conn
                .prepare_cached(sql)
                .db()?
                .execute(params![job_id, current_step, self.now_text])
                .db()?;
            if changed > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn now(&mut self) -> Timestamp {
        self.now
    }

    fn delete_finished_before(
        &mut self,
        cutoff: Timestamp,
        keep_failed: bool,
    ) -> Result<CleanupReport> {
        let cutoff = cutoff.to_string();
        // Counted before the deletes: the triggers change the counters as
        // well, so total_changes() cannot tell.
        let cache_entries_deleted: i64 = self
            .conn
            .prepare_cached(queries::CLEANUP_SUMMARY_COUNT)
            .db()?
            .query_row(params![cutoff, keep_failed], |r| r.get(0))
            .db()?;
        let mut deleted = [0i64; 2];
        for (n, sql) in deleted
            .iter_mut()
            .zip([queries::CLEANUP_EXECUTIONS, queries::CLEANUP_VARIATIONS])
        {
            *n = self
                .conn
                .prepare_cached(sql)
                .db()?
                .execute(params![cutoff, keep_failed])
                .db()? as i64;
        }
        Ok(CleanupReport {
            executions_deleted: deleted[0],
            variations_deleted: deleted[1],
            cache_entries_deleted,
        })
    }

    fn delete_finished_batch(
        &mut self,
        cutoff: Timestamp,
        keep_failed: bool,
        batch_size: i32,
    ) -> Result<PruneBatch> {
        let run = |sql: &str| -> Result<i64> {
            Ok(self.conn.prepare_cached(sql).db()?.execute([]).db()? as i64)
        };
        run(queries::PRUNE_CLEAR)?;
        let chosen = self
            .conn
            .prepare_cached(queries::PRUNE_CHOOSE)
            .db()?
            .execute(params![cutoff.to_string(), keep_failed, batch_size])
            .db()? as i64;
        // Counted before the deletes: the triggers change the counters as
        // well, so total_changes() cannot tell.
        let cache_entries_deleted: i64 = self
            .conn
            .prepare_cached(queries::PRUNE_SUMMARY_COUNT)
            .db()?
            .query_row([], |r| r.get(0))
            .db()?;
        let executions_deleted = run(queries::PRUNE_EXECUTIONS)?;
        let variations_deleted = run(queries::PRUNE_VARIATIONS)?;
        run(queries::PRUNE_CLEAR)?;
        Ok(PruneBatch {
            deleted: CleanupReport {
                executions_deleted,
                variations_deleted,
                cache_entries_deleted,
            },
            chosen,
        })
    }

    fn rebuild_derived_tables(&mut self) -> Result<i64> {
        self.conn.execute_batch(queries::REFRESH_JOB_CACHE).db()?;
        self.conn
            .query_row(queries::JOB_SUMMARY_COUNT, [], |r| r.get(0))
            .db()
    }

    fn lock_pending(&mut self, n: i32) -> Result<Vec<(JobType, String)>> {
        let mut stmt = self.conn.prepare_cached(queries::CLAIM_PENDING).db()?;
        let rows = stmt
            .query_map([n], queries::pending_job)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
        Ok(rows)
    }

    fn lock_stale(&mut self, cutoff: Timestamp) -> Result<Vec<StaleJob>> {
        // BEGIN IMMEDIATE holds the write lock: no job changes before the
        // status change, so there is nothing to pass over or judge again.
        let mut stmt = self.conn.prepare_cached(queries::LOCK_STALE).db()?;
        let rows = stmt
            .query_map(
                params![cutoff.to_string(), *EXPECTS_HEARTBEATS],
                queries::stale_job,
            )
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
        Ok(rows)
    }

    fn heartbeat(&mut self, job_id: &str) -> Result<bool> {
        for sql in [queries::HEARTBEAT_EXECUTION, queries::HEARTBEAT_VARIATION] {
            let changed = status::without_update_triggers(self.conn, || {
                self.conn
                    .prepare_cached(sql)
                    .db()?
                    .execute(params![job_id, self.now_text])
                    .db()
            })?;
            if changed > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn set_worker(&mut self, executions: &[&str], variations: &[&str], worker: &str) -> Result<()> {
        for (ids, sql) in [
            (executions, queries::CLAIM_WORKER_EXECUTIONS),
            (variations, queries::CLAIM_WORKER_VARIATIONS),
        ] {
            if !ids.is_empty() {
                status::without_update_triggers(self.conn, || {
                    self.conn
                        .prepare_cached(sql)
                        .db()?
                        .execute(params![json_array(ids), worker])
                        .db()
                })?;
            }
        }
        Ok(())
    }

    fn get_jobs(&mut self, job_ids: &[&str]) -> Result<Vec<Job>> {
        let mut stmt = self.conn.prepare_cached(queries::JOBS_BY_ID).db()?;
        let jobs = stmt
            .query_map([json_array(job_ids)], queries::job)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
        Ok(jobs)
    }

    fn get_job(&mut self, job_id: &str) -> Result<Option<Job>> {
        self.conn
            .prepare_cached(queries::GET_JOB)
            .db()?
            .query_row([job_id], queries::job)
            .optional()
            .db()
    }
}

/// A timestamp column's text: the fixed-width form the schema CHECKs.
fn stored(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

/// `ids` as a JSON array of strings, for `json_each`.
fn json_array(ids: &[&str]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

impl StoreTransaction<'_> {
    /// [`JobStore::batch_create_executions`] inside this transaction.
    pub fn batch_create_executions(&mut self, jobs: &[NewExecution]) -> Result<Vec<String>> {
        self.create_batch(Operation::BatchCreateExecutions, jobs)
    }

    /// [`JobStore::batch_create_variations`] inside this transaction.
    pub fn batch_create_variations(&mut self, jobs: &[NewVariation]) -> Result<Vec<String>> {
        self.create_batch(Operation::BatchCreateVariations, jobs)
    }

    /// [`JobStore::batch_update_execution_status`] inside this transaction.
    pub fn batch_update_execution_status(&mut self, updates: &[StatusUpdate]) -> Result<i32> {
        self.update_statuses(
            Operation::BatchUpdateExecutionStatus,
            JobType::Execution,
            updates,
        )
    }

    /// [`JobStore::batch_update_variation_status`] inside this transaction.
    pub fn batch_update_variation_status(&mut self, updates: &[StatusUpdate]) -> Result<i32> {
        self.update_statuses(
            Operation::BatchUpdateVariationStatus,
            JobType::Variation,
            updates,
        )
    }

    /// [`JobStore::import_jobs`] inside this transaction: all or none here
    /// too, also when the transaction goes on after a failed import (the
    /// import runs in a savepoint of its own).
    pub fn import_jobs(&mut self, jobs: &[JobRecord]) -> Result<i32> {
        self.store.measured(Operation::ImportJobs, || {
            usecase::check_creates(jobs)?;
            status::in_savepoint(self.conn, || {
                usecase::import_jobs(&mut SqliteWriter::new(self.conn), jobs)
            })
        })
    }

    fn create_batch<T: NewJob>(&mut self, operation: Operation, jobs: &[T]) -> Result<Vec<String>> {
        self.store.measured(operation, || {
            usecase::check_creates(jobs)?;
            // A savepoint of its own, as an import: a batch whose second
            // INSERT fails (a trigger's refusal) leaves none of its rows,
            // also when the caller goes on and commits.
            status::in_savepoint(self.conn, || {
                usecase::create(&mut SqliteWriter::new(self.conn), jobs)
            })
        })
    }

    fn update_statuses(
        &mut self,
        operation: Operation,
        job_type: JobType,
        updates: &[StatusUpdate],
    ) -> Result<i32> {
        self.store.measured(operation, || {
            let changes = usecase::check_status_updates(updates)?;
            usecase::update_status(&mut SqliteWriter::new(self.conn), job_type, &changes)
        })
    }
}

impl JobStore {
    /// Opens (creating or migrating) the database at `path` with default
    /// options.
    pub fn open(path: impl AsRef<Path>) -> Result<JobStore> {
        JobStore::open_with(path, JobStoreOptions::default())
    }

    /// Opens the database at `path`, creating it (unless
    /// `create_if_missing` is off) or migrating it when needed.
    /// The path `:memory:` (or an empty one) opens a private in-memory
    /// database as [`JobStore::open_in_memory`] does.
    ///
    /// Opening a current file only reads it: it takes no write lock, so it
    /// succeeds while another process holds one. Creating or migrating a
    /// file takes the write lock (waiting up to `busy_timeout`) and checks
    /// the version again under it, so processes opening a new file at once
    /// create it once. A file that is not jobtrack's — tables of another
    /// program in a file without jobtrack's version, a version newer than
    /// this release knows (0A000), a negative version — is refused before
    /// anything is written to it, its journal mode included.
    pub fn open_with(path: impl AsRef<Path>, options: JobStoreOptions) -> Result<JobStore> {
        let path = path.as_ref().to_path_buf();
        // Each reader would otherwise open a database of its own.
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return JobStore::open_in_memory_with(options);
        }
        let writer = schema::open_file(&path, &options)?;
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
        schema::configure(&conn, options.synchronous)?;
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

    /// Runs `f` in one write transaction: `BEGIN IMMEDIATE`, waiting up to
    /// `busy_timeout` for another process's write lock (55P03 after that),
    /// then commits if `f` returns `Ok`, and rolls back if it returns `Err`
    /// or panics. Nothing of a failed `f` is visible, to anyone.
    ///
    /// ```
    /// # use jobtrack_sqlite::{JobStore, NewExecution, PipelineMode, Status, StatusUpdate};
    /// # fn main() -> jobtrack_sqlite::Result<()> {
    /// # let store = JobStore::open_in_memory()?;
    /// # let job = NewExecution { job_id: "run-1".into(), pipeline_mode: PipelineMode::Single,
    /// #     dataset_name: "mnist".into(), preset: "fast".into(), total_steps: None,
    /// #     status: Status::Pending };
    /// let done = StatusUpdate { job_id: "run-1".into(), status: Status::Done, error_message: None };
    /// store.transaction(|tx| {
    ///     tx.batch_create_executions(&[job])?;
    ///     tx.batch_update_execution_status(&[done])
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// The store's reads inside `f` see the file as it was before the
    /// transaction (they use other connections); on an in-memory store,
    /// whose one connection `f` holds, they fail with 25001, as does every
    /// write method of the store called inside `f` (use `tx`'s). Keep
    /// transactions short: every other writer of the file waits for the
    /// commit.
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&mut StoreTransaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write(|conn| f(&mut StoreTransaction { conn, store: self }))
    }

    // ----- plumbing -------------------------------------------------------

    /// Runs one write operation and records its metrics under `operation`,
    /// failures (validation included) with success = false.
    fn measured<T>(&self, operation: Operation, f: impl FnOnce() -> Result<T>) -> Result<T> {
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
    /// commits if it returns `Ok`; an error or a panic drops the transaction,
    /// which rolls it back. The cache drops its entries right after the
    /// commit, while the writer is still held.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.pool.with_writer(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .db()?;
            let value = f(&tx)?;
            tx.commit().db()?;
            self.cache.note_commit();
            Ok(value)
        })
    }

    /// Runs a use case in one write transaction ([`JobStore::write`]).
    fn apply<T>(&self, f: impl FnOnce(&mut dyn WriteBackend) -> Result<T>) -> Result<T> {
        self.write(|conn| f(&mut SqliteWriter::new(conn)))
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

    fn create_one<T: NewJob>(&self, operation: Operation, job: &T) -> Result<Job> {
        self.measured(operation, || {
            usecase::check_create(job)?;
            self.apply(|w| usecase::create_one(w, job))
        })
    }

    /// A batch refused by its check does not wait for the write lock, nor
    /// does an empty one.
    fn create_batch<T: NewJob>(&self, operation: Operation, jobs: &[T]) -> Result<Vec<String>> {
        self.measured(operation, || {
            usecase::check_creates(jobs)?;
            if jobs.is_empty() {
                return Ok(Vec::new());
            }
            self.apply(|w| usecase::create(w, jobs))
        })
    }

    fn update_one_status(
        &self,
        operation: Operation,
        job_type: JobType,
        update: StatusUpdate,
    ) -> Result<bool> {
        self.measured(operation, || {
            let change = usecase::check_status_update(&update)?;
            Ok(self.apply(|w| usecase::update_status(w, job_type, &[change]))? > 0)
        })
    }

    fn update_statuses(
        &self,
        operation: Operation,
        job_type: JobType,
        updates: &[StatusUpdate],
    ) -> Result<i32> {
        self.measured(operation, || {
            let changes = usecase::check_status_updates(updates)?;
            if changes.is_empty() {
                return Ok(0);
            }
            self.apply(|w| usecase::update_status(w, job_type, &changes))
        })
    }

    // ----- writes ---------------------------------------------------------

    /// Creates one execution and returns it as a [`Job`] row.
    ///
    /// Errors: 22023 for a bad field, 23505 when the job_id exists in either
    /// kind.
    pub fn create_execution(&self, job: &NewExecution) -> Result<Job> {
        self.create_one(Operation::CreateExecution, job)
    }

    /// Creates one variation and returns it as a [`Job`] row.
    pub fn create_variation(&self, job: &NewVariation) -> Result<Job> {
        self.create_one(Operation::CreateVariation, job)
    }

    /// Changes the status of an execution with the effects of its new status;
    /// false when there is no such execution.
    pub fn update_execution_status(
        &self,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool> {
        self.update_one_status(
            Operation::UpdateExecutionStatus,
            JobType::Execution,
            StatusUpdate {
                job_id: job_id.to_owned(),
                status,
                error_message: error_message.map(str::to_owned),
            },
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
        self.update_one_status(
            Operation::UpdateVariationStatus,
            JobType::Variation,
            StatusUpdate {
                job_id: job_id.to_owned(),
                status,
                error_message: error_message.map(str::to_owned),
            },
        )
    }

    /// Sets `current_step` (and `updated_at`) of a job of either kind; false
    /// when there is no such job, 22023 when `current_step` is negative. A
    /// progress report counts as a heartbeat: `last_heartbeat` gets the same
    /// time as `updated_at`.
    pub fn update_progress(&self, job_id: &str, current_step: i32) -> Result<bool> {
        self.measured(Operation::UpdateProgress, || {
            let step = usecase::check_progress(current_step)?;
            self.apply(|w| usecase::update_progress(w, job_id, step))
        })
    }

    /// Records that the process of the active job `job_id` (of either kind)
    /// is alive: its `last_heartbeat` becomes now. False when no job in an
    /// active status has that id. Nothing else changes — not `updated_at`,
    /// the summary table or the counters — so a heartbeat costs a
    /// primary-key update (one per kind at most) and no trigger work.
    pub fn heartbeat(&self, job_id: &str) -> Result<bool> {
        self.measured(Operation::Heartbeat, || {
            self.apply(|w| usecase::heartbeat(w, job_id))
        })
    }

    /// Moves every job that expects heartbeats (an active status but
    /// `pending`) and has shown no sign of life — heartbeat, progress or
    /// status change, the later of `last_heartbeat` and `updated_at` — for
    /// longer than `stale_after` to `failed`, with that status's effects as
    /// a status update would apply them, and `error_message` or, without
    /// one, a message naming the job's last sign of life. Returns how many
    /// jobs failed. One write transaction: a heartbeat that commits before
    /// it keeps its job, one that comes after finds the job failed. 22023
    /// for an `error_message` with a NUL character, refused before the
    /// write lock is asked for.
    pub fn fail_stale_jobs(
        &self,
        stale_after: StaleAfter,
        error_message: Option<&str>,
    ) -> Result<i32> {
        self.measured(Operation::FailStaleJobs, || {
            usecase::check_fail_stale(error_message)?;
            self.apply(|w| usecase::fail_stale_jobs(w, stale_after, error_message))
        })
    }

    /// Creates executions in one transaction; returns their ids in input
    /// order. One bad element (22023, naming its index and field) or one
    /// existing or repeated id (23505) and nothing is created. The same as
    /// [`StoreTransaction::batch_create_executions`] in a transaction of its
    /// own, except that a batch refused by validation does not wait for the
    /// write lock.
    pub fn batch_create_executions(&self, jobs: &[NewExecution]) -> Result<Vec<String>> {
        self.create_batch(Operation::BatchCreateExecutions, jobs)
    }

    /// Creates variations in one transaction; as
    /// [`batch_create_executions`](Self::batch_create_executions).
    pub fn batch_create_variations(&self, jobs: &[NewVariation]) -> Result<Vec<String>> {
        self.create_batch(Operation::BatchCreateVariations, jobs)
    }

    /// Restores whole jobs of either kind, as [`export_jobs`](Self::export_jobs)
    /// returned them (from this store, another file or PostgreSQL), in one
    /// transaction; returns how many. Every column is stored as given —
    /// status, timestamps, `success`, durations, worker, heartbeat —
    /// nothing is stamped or derived; the summary table and the counters
    /// follow from the rows, as for jobs created. All or none: one bad
    /// element (22023, naming its index and field) or one job_id that
    /// exists in either kind or is given twice (23505) and nothing is
    /// imported. A batch refused by validation does not wait for the write
    /// lock, nor does an empty one.
    pub fn import_jobs(&self, jobs: &[JobRecord]) -> Result<i32> {
        self.measured(Operation::ImportJobs, || {
            usecase::check_creates(jobs)?;
            if jobs.is_empty() {
                return Ok(0);
            }
            self.apply(|w| usecase::import_jobs(w, jobs))
        })
    }

    /// Changes the status of many executions in one transaction; returns how
    /// many were changed. Unknown ids are skipped and not counted; when an id
    /// appears twice the later element wins.
    pub fn batch_update_execution_status(&self, updates: &[StatusUpdate]) -> Result<i32> {
        self.update_statuses(
            Operation::BatchUpdateExecutionStatus,
            JobType::Execution,
            updates,
        )
    }

    /// Changes the status of many variations in one transaction; as
    /// [`batch_update_execution_status`](Self::batch_update_execution_status).
    pub fn batch_update_variation_status(&self, updates: &[StatusUpdate]) -> Result<i32> {
        self.update_statuses(
            Operation::BatchUpdateVariationStatus,
            JobType::Variation,
            updates,
        )
    }

    /// Claims up to `n` (1 to 10,000) pending jobs of either kind, the
    /// oldest `created_at` first: each moves to `in_queue` with that status's
    /// effects and records `worker`; returns their Job rows in that order.
    /// One write transaction, so two claims, in this process or another,
    /// never get the same job. 22023 for `n` out of range or a `worker` of
    /// no or more than 255 characters.
    pub fn claim_next_jobs(&self, n: i32, worker: &str) -> Result<Vec<Job>> {
        self.measured(Operation::ClaimNextJobs, || {
            let n = usecase::check_claim(n, worker)?;
            self.apply(|w| usecase::claim_next_jobs(w, n, worker))
        })
    }

    /// Deletes jobs in a terminal status (`done`, `failed`, `cancelled`)
    /// created more than `days` days ago; with `keep_failed`, `failed` ones
    /// stay. Active jobs are never deleted. 22023 when `days` is negative.
    ///
    /// `cache_entries_deleted` counts the rows removed from the summary table
    /// `job_summary_cache` by its delete triggers (one per deleted job unless
    /// someone removed summary rows by hand) — not result-cache entries.
    ///
    /// A `days` reaching back before the year 1, the earliest time the
    /// schema stores, deletes nothing (and writes nothing).
    pub fn cleanup_old_jobs(&self, days: i32, keep_failed: bool) -> Result<CleanupReport> {
        self.measured(Operation::CleanupOldJobs, || {
            let days = usecase::check_cleanup(days)?;
            self.apply(|w| usecase::cleanup_old_jobs(w, days, keep_failed))
        })
    }

    /// Deletes what [`cleanup_old_jobs`](Self::cleanup_old_jobs) deletes,
    /// in batches of at most `batch_size` jobs, oldest `created_at` first,
    /// each batch a write transaction of its own: the write lock is let go
    /// for 100 ms between batches, so another writer, in this process or
    /// another, waits for about one batch, never for the whole prune. The cutoff is fixed when it starts. An error
    /// (or the end of the program) stops it after the last committed
    /// batch, and calling it again goes on from there. 22023 when `days` is
    /// negative or `batch_size` below 1.
    ///
    /// The transaction metrics count each batch as one call of
    /// `prune_jobs`, as on PostgreSQL.
    pub fn prune_jobs(&self, days: i32, keep_failed: bool, batch_size: i32) -> Result<PruneReport> {
        // A refused call counts as one failed call; a prune that runs, as
        // its batches.
        let (days, batch_size) = match usecase::check_prune(days, batch_size) {
            Ok(checked) => checked,
            Err(e) => return self.measured(Operation::PruneJobs, || Err(e)),
        };
        let cutoff = usecase::prune_cutoff(Timestamp::now(), days);
        let mut report = PruneReport::default();
        loop {
            let (next, more) = self.measured(Operation::PruneJobs, || {
                self.apply(|w| usecase::prune_batch(w, cutoff, keep_failed, batch_size, report))
            })?;
            report = next;
            if !more {
                return Ok(report);
            }
            // With the lock free: SQLite queues no waiter, each sleeps and
            // tries again (at most 100 ms apart, busy_timeout's schedule),
            // so a gap of microseconds before the next batch would almost
            // never let one in. A pause as long as that interval does.
            std::thread::sleep(PRUNE_PAUSE);
        }
    }

    /// Rebuilds every derived table from the base tables — the summary
    /// table `job_summary_cache`, the statistics counters `job_counters`
    /// and the experiment counters `experiment_counters` — and returns the
    /// summary table's row count.
    pub fn refresh_job_cache(&self) -> Result<i64> {
        self.measured(Operation::RefreshJobCache, || {
            self.apply(usecase::refresh_job_cache)
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

    fn experiment_stats(conn: &Connection, experiment_name: &str) -> Result<ExperimentStats> {
        let mut stmt = conn.prepare_cached(queries::EXPERIMENT_STATS).db()?;
        let mut rows = stmt.query([experiment_name]).db()?;
        let mut counters = Vec::new();
        let mut extremes = Extremes::default();
        // Every row repeats the extremes: read them from the first.
        let mut first = true;
        while let Some(row) = rows.next().db()? {
            if first {
                extremes = queries::experiment_extremes(row).db()?;
                first = false;
            }
            counters.extend(queries::experiment_counter_row(row).db()?);
        }
        Ok(ExperimentStats::from_counters(
            experiment_name,
            counters,
            extremes,
        ))
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

    /// The progress of one hyper-parameter sweep: its declared combinations
    /// (the largest `total_combinations` among its variations), variations
    /// by status, finished, successful and failed ones, the average
    /// duration, and the extremes (durations, first and last run); zeros
    /// and nulls for an unknown experiment. Counts and the average come
    /// from the experiment counters the triggers keep (one row per
    /// declared size and status: the cost depends on those, not on the
    /// number of variations), the extremes from one index seek each.
    pub fn get_experiment_stats(&self, experiment_name: &str) -> Result<ExperimentStats> {
        self.pool
            .with_reader(|c| Self::experiment_stats(c, experiment_name))
    }

    /// [`get_experiment_stats`](Self::get_experiment_stats) through the
    /// result cache.
    pub fn get_experiment_stats_cached(&self, experiment_name: &str) -> Result<ExperimentStats> {
        self.cached(
            cache_key::experiment_stats(experiment_name),
            self.options.experiment_stats_ttl,
            |c| Self::experiment_stats(c, experiment_name),
        )
    }

    /// Up to `lim` (0..=10000) jobs of both kinds, newest `created_at`
    /// first, ties on `job_id` descending: the first page, or with `after`
    /// (the job_id of the last row of the previous page) the page after
    /// that job. Each page costs one index seek plus its rows, however
    /// deep it lies. The cursor's job may be of either kind; a job_id that
    /// names no job is 22023 naming `after`.
    pub fn get_all_jobs_optimized(&self, lim: i32, after: Option<&str>) -> Result<Vec<Job>> {
        let page = Page::new(Some(lim.into()), after)?;
        // Always given here; LIMIT -1 would be none.
        let lim = page.lim.unwrap_or(-1);
        self.pool.with_reader(|conn| match page.after {
            None => Self::jobs(conn, queries::ALL_JOBS, lim),
            Some(after) => {
                let created_at = Self::cursor(conn, after)?;
                let mut stmt = conn.prepare_cached(queries::ALL_JOBS_AFTER).db()?;
                let rows = stmt
                    .query_map(params![lim, created_at, after], queries::job)
                    .db()?;
                rows.collect::<rusqlite::Result<_>>().db()
            }
        })
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

    /// The jobs in an active status, newest `created_at` first, ties on
    /// `job_id` descending: every one with `lim` `None` (0..=10000 caps the
    /// page), after the job `after` when given, as in
    /// [`get_all_jobs_optimized`](Self::get_all_jobs_optimized). The
    /// cursor's job need not be active any more, nor of either kind.
    pub fn get_running_jobs(
        &self,
        lim: Option<i32>,
        after: Option<&str>,
    ) -> Result<Vec<RunningJob>> {
        let page = Page::new(lim.map(i64::from), after)?;
        // LIMIT -1: no limit.
        let lim = page.lim.unwrap_or(-1);
        self.pool.with_reader(|conn| {
            let (mut stmt, created_at) = match page.after {
                None => (conn.prepare_cached(queries::RUNNING_JOBS).db()?, None),
                Some(after) => (
                    conn.prepare_cached(queries::RUNNING_JOBS_AFTER).db()?,
                    Some(Self::cursor(conn, after)?),
                ),
            };
            let rows = match &created_at {
                None => stmt.query_map([lim], queries::running_job),
                Some(created_at) => {
                    stmt.query_map(params![lim, created_at, page.after], queries::running_job)
                }
            }
            .db()?;
            rows.collect::<rusqlite::Result<_>>().db()
        })
    }

    /// The Job rows of the jobs [`fail_stale_jobs`](Self::fail_stale_jobs)
    /// would fail now with `stale_after`, the longest silent first (the
    /// earliest last sign of life), ties on `job_id`. Reads only the active
    /// jobs (the partial active indexes).
    pub fn get_stale_jobs(&self, stale_after: StaleAfter) -> Result<Vec<Job>> {
        let Some(cutoff) = stale_after.cutoff(Timestamp::now()) else {
            return Ok(Vec::new());
        };
        self.pool.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(queries::STALE_JOBS).db()?;
            let rows = stmt
                .query_map(
                    params![cutoff.to_string(), *EXPECTS_HEARTBEATS],
                    queries::job,
                )
                .db()?;
            rows.collect::<rusqlite::Result<_>>().db()
        })
    }

    /// Every job of either kind created at or after `since` (every job with
    /// `None`), whole, as [`import_jobs`](Self::import_jobs) takes them
    /// back: the oldest `created_at` first, ties on `job_id` (binary
    /// order).
    ///
    /// The rows come from one snapshot, taken by this call: commits made
    /// while the export is read — through this store, another process or
    /// plain SQL — change nothing of it, and do not wait for it. They are
    /// read a page of 1000 at a time, each page one index seek, so memory
    /// holds one page however many jobs there are. The export holds one of
    /// the store's reader connections, in a read transaction, until it has
    /// returned its last row, returned an error (its last item) or been
    /// dropped; `get_pool_status` counts it as idle in transaction between
    /// pages. Keep exports short on a busy file: the WAL cannot be
    /// checkpointed past an open snapshot. A store without readers (in
    /// memory) reads through its one connection, which every other call
    /// waits for until the export ends; on the thread reading the export
    /// they fail with 25001 rather than wait for it.
    pub fn export_jobs(&self, since: Option<Timestamp>) -> Result<JobExport<'_>> {
        let from = match export_start(since) {
            ExportStart::Nothing => return Ok(Box::new(std::iter::empty())),
            // Every stored created_at is at or after it (its CHECK).
            ExportStart::All => Timestamp::EARLIEST_STORED,
            ExportStart::From(t) => t,
        };
        let lease = self.pool.export_connection()?;
        Ok(Box::new(Export::start(lease, from)?))
    }

    /// The `created_at` of the cursor job `after` as stored (text), from
    /// either base table; 22023 naming `after` when there is no such job.
    fn cursor(conn: &Connection, after: &str) -> Result<String> {
        conn.prepare_cached(queries::JOB_CURSOR)
            .db()?
            .query_row([after], |r| r.get(0))
            .optional()
            .db()?
            .ok_or_else(|| unknown_cursor(after))
    }

    /// Runs a verify query, whose rows `parse` tells apart as the counters'
    /// (true) or the recount's (false), and returns both sides.
    fn counted_and_actual<T>(
        &self,
        sql: &str,
        parse: fn(&rusqlite::Row<'_>) -> rusqlite::Result<(bool, T)>,
    ) -> Result<(Vec<T>, Vec<T>)> {
        self.pool.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(sql).db()?;
            let (mut counted, mut actual) = (Vec::new(), Vec::new());
            for row in stmt.query_map([], parse).db()? {
                let (is_counter, row) = row.db()?;
                if is_counter {
                    counted.push(row);
                } else {
                    actual.push(row);
                }
            }
            Ok((counted, actual))
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
        let (counted, actual) =
            self.counted_and_actual(queries::VERIFY_STATISTICS, queries::verify_row)?;
        Ok(statistics_differences(counted, actual))
    }

    /// The differences between the experiment counters (what
    /// [`get_experiment_stats`](Self::get_experiment_stats) reads) and a
    /// full recount of the variations, one row per (experiment,
    /// total_combinations, status) that disagrees, sorted by those three;
    /// empty when all is well. Only a hand edit of `experiment_counters`
    /// makes them disagree; [`refresh_job_cache`](Self::refresh_job_cache)
    /// rebuilds them. A full scan, like
    /// [`verify_statistics`](Self::verify_statistics).
    pub fn verify_experiment_stats(&self) -> Result<Vec<ExperimentStatsDifference>> {
        let (counted, actual) = self.counted_and_actual(
            queries::VERIFY_EXPERIMENT_STATS,
            queries::verify_experiment_row,
        )?;
        Ok(experiment_stats_differences(counted, actual))
    }

    /// The differences between the summary table `job_summary_cache` and
    /// the base tables, one per job whose summary row is missing, extra or
    /// differs, sorted by job_id and kind; empty when all is well. The
    /// triggers keep the summary exact for every write to the base tables,
    /// so only hand edits of `job_summary_cache` make a difference;
    /// [`refresh_job_cache`](Self::refresh_job_cache) repairs it. A full
    /// scan, like [`verify_statistics`](Self::verify_statistics).
    pub fn verify_summary(&self) -> Result<Vec<SummaryDifference>> {
        self.pool.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(queries::VERIFY_SUMMARY).db()?;
            let rows = stmt.query_map([], queries::summary_difference).db()?;
            rows.map(|row| {
                let (job_id, job_type, problem, differing) = row.db()?;
                let columns = queries::SUMMARY_COLUMNS
                    .iter()
                    .zip(differing)
                    .filter(|(_, differs)| *differs)
                    .map(|(name, _)| *name)
                    .collect();
                Ok(SummaryDifference {
                    job_id,
                    job_type,
                    problem,
                    columns,
                })
            })
            .collect()
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
    /// `experiment_stats:NAME`, `recent_jobs:LIM`.
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

impl JobTransaction for StoreTransaction<'_> {
    fn batch_create_executions(&mut self, jobs: &[NewExecution]) -> Result<Vec<String>> {
        StoreTransaction::batch_create_executions(self, jobs)
    }
    fn batch_create_variations(&mut self, jobs: &[NewVariation]) -> Result<Vec<String>> {
        StoreTransaction::batch_create_variations(self, jobs)
    }
    fn batch_update_execution_status(&mut self, updates: &[StatusUpdate]) -> Result<i32> {
        StoreTransaction::batch_update_execution_status(self, updates)
    }
    fn batch_update_variation_status(&mut self, updates: &[StatusUpdate]) -> Result<i32> {
        StoreTransaction::batch_update_variation_status(self, updates)
    }
    fn import_jobs(&mut self, jobs: &[JobRecord]) -> Result<i32> {
        StoreTransaction::import_jobs(self, jobs)
    }
}

/// The API of every backend ([`JobApi`]): [`JobStore`]'s methods of the
/// same names.
impl JobApi for JobStore {
    fn create_execution(&self, job: &NewExecution) -> Result<Job> {
        JobStore::create_execution(self, job)
    }
    fn create_variation(&self, job: &NewVariation) -> Result<Job> {
        JobStore::create_variation(self, job)
    }
    fn update_execution_status(
        &self,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool> {
        JobStore::update_execution_status(self, job_id, status, error_message)
    }
    fn update_variation_status(
        &self,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool> {
        JobStore::update_variation_status(self, job_id, status, error_message)
    }
    fn update_progress(&self, job_id: &str, current_step: i32) -> Result<bool> {
        JobStore::update_progress(self, job_id, current_step)
    }
    fn heartbeat(&self, job_id: &str) -> Result<bool> {
        JobStore::heartbeat(self, job_id)
    }
    fn batch_create_executions(&self, jobs: &[NewExecution]) -> Result<Vec<String>> {
        JobStore::batch_create_executions(self, jobs)
    }
    fn batch_create_variations(&self, jobs: &[NewVariation]) -> Result<Vec<String>> {
        JobStore::batch_create_variations(self, jobs)
    }
    fn batch_update_execution_status(&self, updates: &[StatusUpdate]) -> Result<i32> {
        JobStore::batch_update_execution_status(self, updates)
    }
    fn batch_update_variation_status(&self, updates: &[StatusUpdate]) -> Result<i32> {
        JobStore::batch_update_variation_status(self, updates)
    }
    fn import_jobs(&self, jobs: &[JobRecord]) -> Result<i32> {
        JobStore::import_jobs(self, jobs)
    }
    fn cleanup_old_jobs(&self, days: i32, keep_failed: bool) -> Result<CleanupReport> {
        JobStore::cleanup_old_jobs(self, days, keep_failed)
    }
    fn prune_jobs(&self, days: i32, keep_failed: bool, batch_size: i32) -> Result<PruneReport> {
        JobStore::prune_jobs(self, days, keep_failed, batch_size)
    }
    fn claim_next_jobs(&self, n: i32, worker: &str) -> Result<Vec<Job>> {
        JobStore::claim_next_jobs(self, n, worker)
    }
    fn fail_stale_jobs(&self, stale_after: StaleAfter, error_message: Option<&str>) -> Result<i32> {
        JobStore::fail_stale_jobs(self, stale_after, error_message)
    }
    fn refresh_job_cache(&self) -> Result<i64> {
        JobStore::refresh_job_cache(self)
    }
    fn verify_statistics(&self) -> Result<Vec<StatisticsDifference>> {
        JobStore::verify_statistics(self)
    }

    fn verify_experiment_stats(&self) -> Result<Vec<ExperimentStatsDifference>> {
        JobStore::verify_experiment_stats(self)
    }
    fn get_statistics_optimized(&self) -> Result<Statistics> {
        JobStore::get_statistics_optimized(self)
    }
    fn get_statistics_cached(&self) -> Result<Statistics> {
        JobStore::get_statistics_cached(self)
    }
    fn get_dataset_stats_optimized(&self, dataset_name: &str) -> Result<DatasetStats> {
        JobStore::get_dataset_stats_optimized(self, dataset_name)
    }
    fn get_dataset_stats_cached(&self, dataset_name: &str) -> Result<DatasetStats> {
        JobStore::get_dataset_stats_cached(self, dataset_name)
    }
    fn get_experiment_stats(&self, experiment_name: &str) -> Result<ExperimentStats> {
        JobStore::get_experiment_stats(self, experiment_name)
    }
    fn get_experiment_stats_cached(&self, experiment_name: &str) -> Result<ExperimentStats> {
        JobStore::get_experiment_stats_cached(self, experiment_name)
    }
    fn get_all_jobs_optimized(&self, lim: i32, after: Option<&str>) -> Result<Vec<Job>> {
        JobStore::get_all_jobs_optimized(self, lim, after)
    }
    fn get_recent_jobs_optimized(&self, lim: i32) -> Result<Vec<Job>> {
        JobStore::get_recent_jobs_optimized(self, lim)
    }
    fn get_recent_jobs_cached(&self, lim: i32) -> Result<Vec<Job>> {
        JobStore::get_recent_jobs_cached(self, lim)
    }
    fn get_running_jobs(&self, lim: Option<i32>, after: Option<&str>) -> Result<Vec<RunningJob>> {
        JobStore::get_running_jobs(self, lim, after)
    }
    fn get_stale_jobs(&self, stale_after: StaleAfter) -> Result<Vec<Job>> {
        JobStore::get_stale_jobs(self, stale_after)
    }
    fn export_jobs(&self, since: Option<Timestamp>) -> Result<JobExport<'_>> {
        JobStore::export_jobs(self, since)
    }
    fn get_cache_stats(&self) -> Result<CacheStats> {
        Ok(JobStore::get_cache_stats(self))
    }
    fn invalidate_cache(&self, pattern: Option<&str>) -> Result<i32> {
        Ok(JobStore::invalidate_cache(self, pattern))
    }
    fn get_pool_status(&self) -> Result<PoolStatus> {
        Ok(JobStore::get_pool_status(self))
    }
    fn get_transaction_metrics(&self) -> Result<TransactionMetrics> {
        Ok(JobStore::get_transaction_metrics(self))
    }
    fn reset_transaction_metrics(&self) -> Result<()> {
        JobStore::reset_transaction_metrics(self);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronous_is_set_on_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        for (synchronous, expected) in [(Synchronous::Normal, 1), (Synchronous::Full, 2)] {
            let store = JobStore::open_with(
                dir.path().join("s.db"),
                JobStoreOptions {
                    synchronous,
                    ..JobStoreOptions::default()
                },
            )
            .unwrap();
            let value: i64 = store
                .pool
                .with_writer(|c| c.pragma_query_value(None, "synchronous", |r| r.get(0)).db())
                .unwrap();
            assert_eq!(value, expected, "{synchronous:?}");
            let mode: String = store
                .pool
                .with_writer(|c| {
                    c.pragma_query_value(None, "journal_mode", |r| r.get(0))
                        .db()
                })
                .unwrap();
            assert_eq!(mode, "wal");
        }
        assert_eq!(JobStoreOptions::default().synchronous, Synchronous::Normal);
    }
}
