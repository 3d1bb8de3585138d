//! # jobtrack-sqlite
//!
//! jobtrack on embedded SQLite: [`JobStore`] offers every function of the
//! jobtrack API — the same names, inputs and JSON results as the PostgreSQL
//! extension — on one database file that other programs may read and write
//! with plain SQL at the same time.
//!
//! ```
//! use jobtrack_sqlite::{JobStore, NewExecution, PipelineMode, Status};
//!
//! # fn main() -> jobtrack_sqlite::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let store = JobStore::open(dir.path().join("jobs.db"))?;
//! let job = NewExecution {
//!     job_id: "run-1".into(),
//!     pipeline_mode: PipelineMode::Single,
//!     dataset_name: "mnist".into(),
//!     preset: "fast".into(),
//!     total_steps: Some(100),
//!     status: Status::Pending,
//! };
//! store.batch_create_executions(&[job])?;
//! store.update_execution_status("run-1", Status::Training, None)?;
//! store.update_execution_status("run-1", Status::Done, None)?;
//!
//! let stats = store.get_statistics_cached()?;
//! assert_eq!(stats.total_successful, 1);
//! assert_eq!(store.get_all_jobs_optimized(10, None)?[0].mode, PipelineMode::Single.as_str());
//! # Ok(())
//! # }
//! ```
//!
//! ## The database file
//!
//! The schema lives in hand-written SQL: `sql/sqlite/schema.sql` is the
//! current schema, complete, which a new file gets;
//! `sql/sqlite/migrations/000N_*.sql` takes a file from version N − 1 to N
//! (`PRAGMA user_version`), and [`JobStore::open`] applies those a file
//! needs, all in one transaction. A test checks that a file migrated from
//! every earlier version has exactly the schema of a new one. Tables:
//! `executions`, `variations`, the summary table `job_summary_cache`, the
//! statistics counters `job_counters` and the sweep counters
//! `experiment_counters`, which triggers keep exact on every INSERT, UPDATE
//! and DELETE — plain SQL by other programs included; the
//! view `jobs` is the Job row of every job of either kind, which every
//! listing reads.
//!
//! Opening reads before it writes. The version and tables are inspected in
//! a read transaction; a current file is not written to at all, so opening
//! and every read succeed while another process holds the write lock (the
//! file is in WAL mode: readers never wait for writers). Only a new file or
//! one that needs migrating takes the write lock, waiting up to
//! [`JobStoreOptions::busy_timeout`], and checks the version again under it,
//! so processes opening a new file at the same time create it once. A file
//! that is not jobtrack's — another program's tables, a negative version —
//! or a newer one is refused (0A000) before anything is written to it, its
//! journal mode included. With [`JobStoreOptions::create_if_missing`] off,
//! a missing file is 58P01 and nothing is created.
//!
//! ## Plain SQL
//!
//! Other programs may write the base tables with plain SQL. The triggers
//! keep the invariants whatever the statement's conflict clause (`INSERT OR
//! IGNORE`, `INSERT OR REPLACE`, `REPLACE`, `UPDATE OR IGNORE`, `UPDATE OR
//! REPLACE`, UPSERT): a `job_id` is never in both kinds (23505), the summary
//! has exactly one right row per job, and the counters equal a recount. What
//! they could not account for exactly they refuse with `RAISE(ABORT)`, which
//! no conflict clause overrides: a `job_id` of the other kind, a REPLACE by
//! another job's rowid, a rowid change or a rowid below 1 (0A000), a REPLACE
//! of a job whose summary row was damaged by hand (55000: run
//! [`JobStore::refresh_job_cache`]), a duration beyond ±10¹² s (22003).
//!
//! Timestamps are stored as fixed-width UTC text
//! (`2026-11-26T16:32:21.123456Z`), so text order is time order; CHECK
//! constraints refuse other spellings (such as `datetime('now')`) and
//! impossible times (hour 24, month 13, 30 February, the year 0), and the
//! column defaults produce the right one for plain SQL INSERTs. Plain SQL
//! writes change only what they say: they do not apply the status-change
//! effects below, nor touch `updated_at`.
//!
//! ## Listings and pages
//!
//! [`JobStore::get_all_jobs_optimized`] and [`JobStore::get_running_jobs`]
//! list jobs newest `created_at` first, ties on `job_id` descending (binary
//! order), and page by keyset: `lim` rows after the job `after`, the job_id
//! of the last row of the previous page. Each page costs one index seek
//! plus its rows, however deep it lies; the cursor's job may be of either
//! kind, and need not be active any more (its `created_at` is read from its
//! base table); a job_id that names no job is 22023 naming `after`. A page
//! shorter than `lim` is the last one.
//!
//! ```
//! # use jobtrack_sqlite::{JobStore, NewExecution, PipelineMode, Status};
//! # fn main() -> jobtrack_sqlite::Result<()> {
//! # let store = JobStore::open_in_memory()?;
//! # let jobs: Vec<_> = (0..5).map(|i| NewExecution { job_id: format!("run-{i}"),
//! #     pipeline_mode: PipelineMode::Single, dataset_name: "mnist".into(),
//! #     preset: "fast".into(), total_steps: None, status: Status::Pending }).collect();
//! # store.batch_create_executions(&jobs)?;
//! let mut seen = Vec::new();
//! loop {
//!     let page = store.get_running_jobs(Some(2), seen.last().map(String::as_str))?;
//!     let last_page = page.len() < 2;
//!     seen.extend(page.into_iter().map(|j| j.job_id));
//!     if last_page {
//!         break;
//!     }
//! }
//! assert_eq!(seen, ["run-4", "run-3", "run-2", "run-1", "run-0"]);
//! # Ok(())
//! # }
//! ```
//!
//! ## Heartbeats and stale jobs
//!
//! A worker shows that its job's process is alive with
//! [`JobStore::heartbeat`] (or [`JobStore::update_progress`], which counts
//! as one): `last_heartbeat` becomes now. A job a worker has taken — any
//! active status but `pending` — whose last sign of life (the later of
//! `last_heartbeat` and `updated_at`) lies longer ago than a
//! [`StaleAfter`] is stale: [`JobStore::get_stale_jobs`] lists them,
//! [`JobStore::fail_stale_jobs`] moves them to `failed` in one write
//! transaction, with that status's effects. A heartbeat changes no column
//! the summary or the counters hold, so it runs with the UPDATE triggers
//! standing aside, as a claim records its worker: one primary-key update.
//! A heartbeat from another process that commits before `fail_stale_jobs`
//! takes the write lock keeps its job; one that comes after finds it failed.
//!
//! ## Export and import
//!
//! [`JobStore::export_jobs`] returns every job (or those created at or
//! after a time), whole — the 24 columns of a [`JobRecord`], those only one
//! kind or no listing has included — oldest `created_at` first, ties on
//! `job_id`, as an iterator. It reads from one snapshot, taken by the call,
//! a page of 1000 jobs at a time, each page one index seek after the last
//! row's `(created_at, job_id)`: memory holds one page, and commits made
//! meanwhile change nothing of what it returns. Its reader connection stays
//! in that read transaction until the iterator ends or is dropped.
//! [`JobStore::import_jobs`] takes such records back, from this backend or
//! PostgreSQL, in one transaction, all or none: every column as given,
//! nothing stamped, so exporting, importing into an empty store and
//! exporting again gives the same records. The summary table and the
//! counters follow from the inserted rows (the insert triggers), exact as
//! after any write.
//!
//! ```
//! # use jobtrack_sqlite::{JobStore, NewExecution, PipelineMode, Status};
//! # fn main() -> jobtrack_sqlite::Result<()> {
//! # let source = JobStore::open_in_memory()?;
//! # source.batch_create_executions(&[NewExecution { job_id: "run-1".into(),
//! #     pipeline_mode: PipelineMode::Single, dataset_name: "mnist".into(),
//! #     preset: "fast".into(), total_steps: None, status: Status::Done }])?;
//! let records = source.export_jobs(None)?.collect::<Result<Vec<_>, _>>()?;
//! let target = JobStore::open_in_memory()?;
//! assert_eq!(target.import_jobs(&records)?, 1);
//! assert_eq!(target.export_jobs(None)?.collect::<Result<Vec<_>, _>>()?, records);
//! # Ok(())
//! # }
//! ```
//!
//! ## Transactions and durability
//!
//! Every write method is one transaction; [`JobStore::transaction`] runs
//! several in one (`BEGIN IMMEDIATE`, all or nothing, also when the process
//! is killed in the middle). [`JobStoreOptions::synchronous`] chooses what
//! a commit waits for: [`Synchronous::Normal`] (the default) never loses a
//! commit to a crash of the program and never corrupts the file, but a power
//! loss may lose the last commits; [`Synchronous::Full`] makes every
//! returned commit survive a power loss too, at one fsync per commit.
//!
//! ## Statistics in constant time
//!
//! [`JobStore::get_statistics_optimized`] reads only `job_counters`: per
//! (dataset, job type, status) the number of jobs, of successful and failed
//! ones, and the count and sum of their durations. The table has one row per
//! key that has jobs (rows that fall to zero are deleted), so the call costs
//! the same at ten million jobs as at ten thousand.
//! [`JobStore::get_dataset_stats_optimized`] takes its counts and average
//! from the dataset's counter rows and its extremes (shortest and longest
//! duration, first and last run) from one index seek each on the summary
//! table. [`JobStore::get_experiment_stats`] does the same for one
//! hyper-parameter sweep: counts by status and the declared combinations
//! (the largest `total_combinations` left among its variations) from the
//! counters `experiment_counters`, one row per (experiment,
//! `total_combinations`, status) that has variations, and the extremes from
//! one seek each on two indexes of `variations`.
//!
//! The counters are exact, not estimated:
//!
//! - triggers on both base tables change them in the writing transaction,
//!   for any program's plain SQL and for jobtrack's own writes, so a rolled
//!   back transaction or savepoint takes its counter changes with it. Only
//!   jobtrack's status changes (`update_*_status`, `batch_update_*_status`)
//!   do it differently: one statement for the call's jobs, one aggregated
//!   counter step per (dataset, status) and one set-based summary step,
//!   with the UPDATE triggers standing aside for that one statement — they
//!   recognise it by a value of `last_insert_rowid()` that only jobtrack's
//!   writer ever has, and only while it runs. The whole call is one
//!   savepoint: if any step fails, all of it is undone and the call is done
//!   again the triggers' way, row by row, whose result or error is the
//!   call's (`sqlite_lib/src/status.rs` has the argument);
//!   `DELETE FROM executions` fires them too (SQLite skips its truncate
//!   shortcut on tables with triggers), and `INSERT OR REPLACE` / `UPDATE OR
//!   REPLACE`, which remove a row without its delete trigger, are accounted
//!   for by the insert and update triggers from the displaced job's summary
//!   row;
//! - every value is an integer: durations are summed as whole microseconds
//!   (each `duration_seconds` rounded to the microsecond once), so adding and
//!   subtracting a job never drifts; an average is
//!   `sum / 1e6 / count`. Durations jobtrack writes are whole microseconds,
//!   so their averages are exact; a plain-SQL duration counts to the nearest
//!   microsecond, and one beyond ±10¹² s is refused by the triggers;
//! - no hot row to worry about: SQLite lets one connection write at a time,
//!   so writers on the same dataset and status wait for the database's write
//!   lock, which they take anyway, and for nothing else.
//!
//! [`JobStore::verify_statistics`] compares the counters with a full
//! recount (the view `job_counters_recount`) and lists the differences;
//! [`JobStore::verify_summary`] compares the summary table with the base
//! tables. Both are empty unless someone edited `job_counters` or
//! `job_summary_cache` by hand; [`JobStore::refresh_job_cache`] rebuilds
//! them. An older file is migrated on open, its counters built from its
//! rows.
//!
//! ## Behaviour where the API leaves room
//!
//! - A status change without an error message keeps the job's message
//!   (entering `done` clears it); a given message replaces it.
//! - A job created with an initial status gets that status's effects:
//!   `training` sets `start_time`, a terminal status sets `end_time` and
//!   `success`.
//! - `update_*_status` validate `job_id` like a batch element (1–64
//!   characters, 22023 otherwise).
//! - `cleanup_old_jobs` reports as `cache_entries_deleted` the rows removed
//!   from the summary table `job_summary_cache`.
//! - `refresh_job_cache` rebuilds the counters `job_counters` and
//!   `experiment_counters` as well as the summary table, and returns the
//!   summary table's row count.
//! - The result cache is exact: every commit — through this store, another
//!   `JobStore`, another process or plain SQL — drops every cached entry
//!   before the next cached read can see it (other connections' commits are
//!   noticed with `PRAGMA data_version`, asked when the WAL-index header
//!   has changed since it was last asked). Expired entries are dropped on
//!   lookup and counted neither as evictions nor as invalidations.
//! - `get_pool_status` describes this store's connections: one writer plus
//!   `reader_connections` read-only ones (one connection in memory);
//!   `idle_in_transaction` counts the open exports between two pages, the
//!   only connections kept in a transaction after a call returns.
#![warn(missing_docs)]

mod cache;
mod error;
mod export;
mod pool;
mod queries;
mod schema;
mod status;
mod store;

pub use jobtrack_core;
pub use jobtrack_core::{
    CacheStats, CleanupReport, DatasetStats, Error, ExperimentStats, ExperimentStatsDifference,
    Job, JobApi, JobExport, JobRecord, JobType, NewExecution, NewVariation, OperationMetrics,
    PipelineMode, PoolStatus, Result, RunningJob, StaleAfter, Statistics, StatisticsDifference,
    Status, StatusUpdate, Timestamp, TransactionMetrics,
};
pub use schema::SCHEMA_VERSION;
pub use store::{
    JobStore, JobStoreOptions, StoreTransaction, SummaryDifference, SummaryProblem, Synchronous,
};

/// `JobStore` is shared between threads; keep it that way.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JobStore>();
};
