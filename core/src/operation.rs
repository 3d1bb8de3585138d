//! Every function of the API, once: its name (the SQL function's and the
//! Rust method's), its kind, and its SQL signature.
//!
//! The metrics, the conformance runner, the check of the extension's catalog
//! and the check of the README's API table all read this list, and each
//! matches on [`Operation`] without a wildcard: adding a function is a
//! compile error until every one of them handles it.
//!
//! [`JobApi`] is the same list as Rust methods, which every backend's store
//! implements, and [`call`] calls one by name with JSON arguments, as SQL
//! would: the conformance suite runs its scenarios through it.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::counters::{ExperimentStatsDifference, StatisticsDifference};
use crate::domain::Status;
use crate::error::{Error, Result};
use crate::input::{parse_batch, JobInput, NewExecution, NewVariation, StatusUpdate};
use crate::metrics::TransactionMetrics;
use crate::output::{
    CacheStats, CleanupReport, DatasetStats, ExperimentStats, Job, PoolStatus, PruneReport,
    RunningJob, Statistics,
};
use crate::record::{JobExport, JobRecord};
use crate::stale::StaleAfter;
use crate::time::Timestamp;

/// What a function does, which decides how it is measured and cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    /// Changes jobs or the derived tables; measured in the transaction
    /// metrics; refused where nothing may be written (25006).
    Write,
    /// Reads jobs or statistics.
    Read,
    /// Reads through the result cache.
    CachedRead,
    /// Reports on or resets the cache, the connections or the metrics.
    Monitoring,
}

/// One argument of a function's SQL signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    /// The argument's name, as the SQL function declares it.
    pub name: &'static str,
    /// Its SQL type, as `pg_get_function_arguments` spells it.
    pub sql_type: &'static str,
    /// Its default, as an SQL literal, when it may be left out.
    pub default: Option<&'static str>,
}

const fn p(name: &'static str, sql_type: &'static str) -> Parameter {
    Parameter {
        name,
        sql_type,
        default: None,
    }
}

const fn d(name: &'static str, sql_type: &'static str, default: &'static str) -> Parameter {
    Parameter {
        name,
        sql_type,
        default: Some(default),
    }
}

/// What a function returns in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// One value of this SQL type.
    Scalar(&'static str),
    /// A set of rows (`RETURNS TABLE`).
    Table,
    /// Nothing (`void`).
    Nothing,
    /// A procedure, run with `CALL`, which commits as it goes: it returns
    /// one row holding its last parameter, `INOUT report` of this SQL type
    /// (`DEFAULT NULL`, not among [`Operation::parameters`]).
    Procedure(&'static str),
}

macro_rules! operations {
    ($($variant:ident = $name:literal, $kind:ident, [$($param:expr),*], $returns:expr;)*) => {
        /// A function of the API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Operation {
            /// Every function, in the order of the README's API table.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant),*];

            /// The name of the SQL function and of the Rust method.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Operation::$variant => $name,)*
                }
            }

            /// What the function does.
            pub const fn kind(self) -> OperationKind {
                match self {
                    $(Operation::$variant => OperationKind::$kind,)*
                }
            }

            /// The arguments of the SQL function, in order.
            pub const fn parameters(self) -> &'static [Parameter] {
                match self {
                    $(Operation::$variant => {
                        const PARAMETERS: &[Parameter] = &[$($param),*];
                        PARAMETERS
                    })*
                }
            }

            /// What the SQL function returns.
            pub const fn returns(self) -> Returns {
                match self {
                    $(Operation::$variant => $returns,)*
                }
            }
        }
    };
}

operations! {
    CreateExecution = "create_execution", Write, [p("job", "jsonb")], Returns::Scalar("jsonb");
    CreateVariation = "create_variation", Write, [p("job", "jsonb")], Returns::Scalar("jsonb");
    UpdateExecutionStatus = "update_execution_status", Write,
        [p("job_id", "text"), p("status", "text"), d("error_message", "text", "NULL")],
        Returns::Scalar("boolean");
    UpdateVariationStatus = "update_variation_status", Write,
        [p("job_id", "text"), p("status", "text"), d("error_message", "text", "NULL")],
        Returns::Scalar("boolean");
    UpdateProgress = "update_progress", Write,
        [p("job_id", "text"), p("current_step", "integer")], Returns::Scalar("boolean");
    Heartbeat = "heartbeat", Write, [p("job_id", "text")], Returns::Scalar("boolean");
    BatchCreateExecutions = "batch_create_executions", Write, [p("jobs", "jsonb")],
        Returns::Scalar("text[]");
    BatchCreateVariations = "batch_create_variations", Write, [p("jobs", "jsonb")],
        Returns::Scalar("text[]");
    BatchUpdateExecutionStatus = "batch_update_execution_status", Write,
        [p("updates", "jsonb")], Returns::Scalar("integer");
    BatchUpdateVariationStatus = "batch_update_variation_status", Write,
        [p("updates", "jsonb")], Returns::Scalar("integer");
    ImportJobs = "import_jobs", Write, [p("jobs", "jsonb")], Returns::Scalar("integer");
    ClaimNextJobs = "claim_next_jobs", Write, [p("n", "integer"), p("worker", "text")],
        Returns::Table;
    FailStaleJobs = "fail_stale_jobs", Write,
        [p("stale_after", "interval"), d("error_message", "text", "NULL")],
        Returns::Scalar("integer");
    CleanupOldJobs = "cleanup_old_jobs", Write,
        [d("days", "integer", "30"), d("keep_failed", "boolean", "true")], Returns::Scalar("jsonb");
    PruneJobs = "prune_jobs", Write,
        [p("days", "integer"), d("keep_failed", "boolean", "true"),
         d("batch_size", "integer", "10000")],
        Returns::Procedure("jsonb");
    RefreshJobCache = "refresh_job_cache", Write, [], Returns::Scalar("bigint");
    VerifyStatistics = "verify_statistics", Read, [], Returns::Table;
    VerifyExperimentStats = "verify_experiment_stats", Read, [], Returns::Table;
    GetStatisticsOptimized = "get_statistics_optimized", Read, [], Returns::Scalar("jsonb");
    GetStatisticsCached = "get_statistics_cached", CachedRead, [], Returns::Scalar("jsonb");
    GetDatasetStatsOptimized = "get_dataset_stats_optimized", Read, [p("dataset_name", "text")],
        Returns::Scalar("jsonb");
    GetDatasetStatsCached = "get_dataset_stats_cached", CachedRead, [p("dataset_name", "text")],
        Returns::Scalar("jsonb");
    GetExperimentStats = "get_experiment_stats", Read, [p("experiment_name", "text")],
        Returns::Scalar("jsonb");
    GetExperimentStatsCached = "get_experiment_stats_cached", CachedRead,
        [p("experiment_name", "text")], Returns::Scalar("jsonb");
    GetAllJobsOptimized = "get_all_jobs_optimized", Read,
        [d("lim", "integer", "100"), d("after", "text", "NULL")], Returns::Table;
    GetRecentJobsOptimized = "get_recent_jobs_optimized", Read, [d("lim", "integer", "10")],
        Returns::Table;
    GetRecentJobsCached = "get_recent_jobs_cached", CachedRead, [d("lim", "integer", "10")],
        Returns::Table;
    GetRunningJobs = "get_running_jobs", Read,
        [d("lim", "integer", "NULL"), d("after", "text", "NULL")], Returns::Table;
    GetStaleJobs = "get_stale_jobs", Read,
        [d("stale_after", "interval", "'00:15:00'::interval")], Returns::Table;
    ExportJobs = "export_jobs", Read, [d("since", "timestamp with time zone", "NULL")],
        Returns::Table;
    GetCacheStats = "get_cache_stats", Monitoring, [], Returns::Scalar("jsonb");
    InvalidateCache = "invalidate_cache", Monitoring, [d("pattern", "text", "NULL")],
        Returns::Scalar("integer");
    GetPoolStatus = "get_pool_status", Monitoring, [], Returns::Scalar("jsonb");
    GetTransactionMetrics = "get_transaction_metrics", Monitoring, [], Returns::Scalar("jsonb");
    ResetTransactionMetrics = "reset_transaction_metrics", Monitoring, [], Returns::Nothing;
}

/// The number of [`OperationKind::Write`] operations: the size of the
/// metrics arrays.
pub const MEASURED_COUNT: usize = count_measured();

const fn count_measured() -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < Operation::ALL.len() {
        if matches!(Operation::ALL[i].kind(), OperationKind::Write) {
            n += 1;
        }
        i += 1;
    }
    n
}

impl Operation {
    /// The operation called `name`.
    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// The write operations, whose calls the transaction metrics count, in
    /// the order of [`Operation::ALL`].
    pub fn measured() -> impl Iterator<Item = Operation> {
        Operation::ALL
            .iter()
            .copied()
            .filter(|op| op.kind() == OperationKind::Write)
    }

    /// This operation's place among [`Operation::measured`]: the index of
    /// its metrics; `None` for an operation that is not measured.
    pub fn metrics_slot(self) -> Option<usize> {
        Operation::measured().position(|op| op == self)
    }

    /// The arguments as a signature spells them:
    /// `job_id text, status text, error_message text DEFAULT NULL`; a
    /// procedure's ends with `INOUT report <type> DEFAULT NULL`.
    pub fn sql_arguments(self) -> String {
        let mut arguments: Vec<String> = self
            .parameters()
            .iter()
            .map(|p| match p.default {
                Some(default) => format!("{} {} DEFAULT {default}", p.name, p.sql_type),
                None => format!("{} {}", p.name, p.sql_type),
            })
            .collect();
        if let Returns::Procedure(report) = self.returns() {
            arguments.push(format!("INOUT report {report} DEFAULT NULL"));
        }
        arguments.join(", ")
    }

    /// The argument types only, as `regprocedure` reads them:
    /// `text, text, text` (a procedure's `report` included).
    pub fn sql_argument_types(self) -> String {
        let mut types: Vec<&str> = self.parameters().iter().map(|p| p.sql_type).collect();
        if let Returns::Procedure(report) = self.returns() {
            types.push(report);
        }
        types.join(", ")
    }
}

impl fmt::Display for Operation {
    /// `name(arguments)`, as the README's API table writes a function.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.sql_arguments())
    }
}

/// The API as Rust methods: one per [`Operation`], of the same name, taking
/// typed inputs in the order of the SQL arguments and returning the result
/// types whose JSON the SQL functions return. Every backend's store
/// implements it, so code written against `JobApi` runs on any of them.
pub trait JobApi {
    /// `create_execution(job jsonb)`.
    fn create_execution(&self, job: &NewExecution) -> Result<Job>;
    /// `create_variation(job jsonb)`.
    fn create_variation(&self, job: &NewVariation) -> Result<Job>;
    /// `update_execution_status(job_id, status, error_message)`.
    fn update_execution_status(
        &self,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool>;
    /// `update_variation_status(job_id, status, error_message)`.
    fn update_variation_status(
        &self,
        job_id: &str,
        status: Status,
        error_message: Option<&str>,
    ) -> Result<bool>;
    /// `update_progress(job_id, current_step)`; counts as a heartbeat.
    fn update_progress(&self, job_id: &str, current_step: i32) -> Result<bool>;
    /// `heartbeat(job_id)`: records that the active job's process is alive
    /// (`last_heartbeat` set to now); false when no active job has that id.
    fn heartbeat(&self, job_id: &str) -> Result<bool>;
    /// `batch_create_executions(jobs jsonb)`.
    fn batch_create_executions(&self, jobs: &[NewExecution]) -> Result<Vec<String>>;
    /// `batch_create_variations(jobs jsonb)`.
    fn batch_create_variations(&self, jobs: &[NewVariation]) -> Result<Vec<String>>;
    /// `batch_update_execution_status(updates jsonb)`.
    fn batch_update_execution_status(&self, updates: &[StatusUpdate]) -> Result<i32>;
    /// `batch_update_variation_status(updates jsonb)`.
    fn batch_update_variation_status(&self, updates: &[StatusUpdate]) -> Result<i32>;
    /// `import_jobs(jobs jsonb)`: restores whole jobs as `export_jobs`
    /// returned them (either kind, every column as given), all or none;
    /// returns how many. 23505 for a job_id that exists or is given twice.
    fn import_jobs(&self, jobs: &[JobRecord]) -> Result<i32>;
    /// `claim_next_jobs(n, worker)`: up to `n` pending jobs, oldest first,
    /// moved to `in_queue` with `worker` recorded; concurrent claims never
    /// get the same job nor wait for each other.
    fn claim_next_jobs(&self, n: i32, worker: &str) -> Result<Vec<Job>>;
    /// `fail_stale_jobs(stale_after, error_message)`: every job that
    /// expects heartbeats and has shown no sign of life for longer than
    /// `stale_after` moves to `failed`, with `error_message` or one naming
    /// its last sign of life; returns how many.
    fn fail_stale_jobs(&self, stale_after: StaleAfter, error_message: Option<&str>) -> Result<i32>;
    /// `cleanup_old_jobs(days, keep_failed)`.
    fn cleanup_old_jobs(&self, days: i32, keep_failed: bool) -> Result<CleanupReport>;
    /// `CALL prune_jobs(days, keep_failed, batch_size)`: as
    /// `cleanup_old_jobs`, in batches of `batch_size` jobs, each committed
    /// on its own. Not in a [`JobTransaction`]: it commits as it goes.
    fn prune_jobs(&self, days: i32, keep_failed: bool, batch_size: i32) -> Result<PruneReport>;
    /// `refresh_job_cache()`.
    fn refresh_job_cache(&self) -> Result<i64>;
    /// `verify_statistics()`.
    fn verify_statistics(&self) -> Result<Vec<StatisticsDifference>>;
    /// `verify_experiment_stats()`.
    fn verify_experiment_stats(&self) -> Result<Vec<ExperimentStatsDifference>>;
    /// `get_statistics_optimized()`.
    fn get_statistics_optimized(&self) -> Result<Statistics>;
    /// `get_statistics_cached()`.
    fn get_statistics_cached(&self) -> Result<Statistics>;
    /// `get_dataset_stats_optimized(dataset_name)`.
    fn get_dataset_stats_optimized(&self, dataset_name: &str) -> Result<DatasetStats>;
    /// `get_dataset_stats_cached(dataset_name)`.
    fn get_dataset_stats_cached(&self, dataset_name: &str) -> Result<DatasetStats>;
    /// `get_experiment_stats(experiment_name)`: the progress of one sweep
    /// (declared combinations, variations by status, success, durations,
    /// first and last run) in constant time; zeros and nulls for an
    /// unknown experiment.
    fn get_experiment_stats(&self, experiment_name: &str) -> Result<ExperimentStats>;
    /// `get_experiment_stats_cached(experiment_name)`.
    fn get_experiment_stats_cached(&self, experiment_name: &str) -> Result<ExperimentStats>;
    /// `get_all_jobs_optimized(lim, after)`: up to `lim` jobs after the
    /// job `after` (see [`Page`](crate::Page)).
    fn get_all_jobs_optimized(&self, lim: i32, after: Option<&str>) -> Result<Vec<Job>>;
    /// `get_recent_jobs_optimized(lim)`.
    fn get_recent_jobs_optimized(&self, lim: i32) -> Result<Vec<Job>>;
    /// `get_recent_jobs_cached(lim)`.
    fn get_recent_jobs_cached(&self, lim: i32) -> Result<Vec<Job>>;
    /// `get_running_jobs(lim, after)`: the active jobs after the job
    /// `after`, at most `lim` of them (every one when `None`).
    fn get_running_jobs(&self, lim: Option<i32>, after: Option<&str>) -> Result<Vec<RunningJob>>;
    /// `get_stale_jobs(stale_after)`: the jobs `fail_stale_jobs` would
    /// fail, the longest silent first (ties on job_id).
    fn get_stale_jobs(&self, stale_after: StaleAfter) -> Result<Vec<Job>>;
    /// `export_jobs(since)`: every job of either kind created at or after
    /// `since` (every job when `None`), whole, oldest `created_at` first
    /// (ties on job_id), read from one snapshot a page at a time: memory
    /// holds one page whatever the number of jobs.
    fn export_jobs(&self, since: Option<Timestamp>) -> Result<JobExport<'_>>;
    /// `get_cache_stats()`.
    fn get_cache_stats(&self) -> Result<CacheStats>;
    /// `invalidate_cache(pattern)`.
    fn invalidate_cache(&self, pattern: Option<&str>) -> Result<i32>;
    /// `get_pool_status()`.
    fn get_pool_status(&self) -> Result<PoolStatus>;
    /// `get_transaction_metrics()`.
    fn get_transaction_metrics(&self) -> Result<TransactionMetrics>;
    /// `reset_transaction_metrics()`.
    fn reset_transaction_metrics(&self) -> Result<()>;
}

/// Several batch writes in one transaction of a store
/// (`JobStore::transaction`, `PgStore::transaction`): they see each other's
/// changes, and nothing of them is visible to anyone before the commit.
pub trait JobTransaction {
    /// `batch_create_executions` inside the transaction.
    fn batch_create_executions(&mut self, jobs: &[NewExecution]) -> Result<Vec<String>>;
    /// `batch_create_variations` inside the transaction.
    fn batch_create_variations(&mut self, jobs: &[NewVariation]) -> Result<Vec<String>>;
    /// `batch_update_execution_status` inside the transaction.
    fn batch_update_execution_status(&mut self, updates: &[StatusUpdate]) -> Result<i32>;
    /// `batch_update_variation_status` inside the transaction.
    fn batch_update_variation_status(&mut self, updates: &[StatusUpdate]) -> Result<i32>;
    /// `import_jobs` inside the transaction.
    fn import_jobs(&mut self, jobs: &[JobRecord]) -> Result<i32>;
}

/// The arguments of one call by name, read as SQL reads them: by position,
/// a missing trailing argument taking its declared default.
struct Arguments<'a> {
    op: Operation,
    values: &'a [Value],
}

impl<'a> Arguments<'a> {
    fn new(op: Operation, values: &'a [Value]) -> Result<Self> {
        let declared = op.parameters().len();
        if values.len() > declared {
            return Err(Error::invalid_element(
                None,
                format!(
                    "{}() takes {declared} arguments, got {}",
                    op.name(),
                    values.len()
                ),
            ));
        }
        Ok(Arguments { op, values })
    }

    /// Argument `i`: the value given, else the default's JSON (`None` for a
    /// NULL default); 22023 naming the argument when it is required.
    fn value(&self, i: usize) -> Result<Option<Value>> {
        let parameter = self.op.parameters()[i];
        match self.values.get(i) {
            Some(Value::Null) => Ok(None),
            Some(v) => Ok(Some(v.clone())),
            None => match parameter.default {
                // The SQL literals of the defaults are JSON too, NULL aside.
                Some(default) => Ok(serde_json::from_str::<Value>(&default.to_lowercase())
                    .ok()
                    .filter(|v| !v.is_null())),
                None => Err(Error::invalid(None, parameter.name, "is required")),
            },
        }
    }

    fn required(&self, i: usize) -> Result<Value> {
        self.value(i)?
            .ok_or_else(|| Error::invalid(None, self.op.parameters()[i].name, "is required"))
    }

    fn wrong_type(&self, i: usize, expected: &str) -> Error {
        Error::invalid(
            None,
            self.op.parameters()[i].name,
            format!("must be {expected}"),
        )
    }

    fn optional_text(&self, i: usize) -> Result<Option<String>> {
        match self.value(i)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong_type(i, "a string")),
        }
    }

    fn text(&self, i: usize) -> Result<String> {
        self.optional_text(i)?
            .ok_or_else(|| Error::invalid(None, self.op.parameters()[i].name, "is required"))
    }

    fn integer(&self, i: usize) -> Result<i32> {
        self.optional_integer(i)?
            .ok_or_else(|| Error::invalid(None, self.op.parameters()[i].name, "is required"))
    }

    fn optional_integer(&self, i: usize) -> Result<Option<i32>> {
        self.value(i)?
            .map(|v| {
                v.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| self.wrong_type(i, "an integer from -2147483648 to 2147483647"))
            })
            .transpose()
    }

    fn boolean(&self, i: usize) -> Result<bool> {
        self.required(i)?
            .as_bool()
            .ok_or_else(|| self.wrong_type(i, "a boolean"))
    }

    /// An interval, as text (`'15 minutes'`, `'00:15:00'`); a missing
    /// argument takes its declared default, an SQL literal
    /// `'…'::interval`.
    fn interval(&self, i: usize) -> Result<StaleAfter> {
        let text = match self.values.get(i) {
            None => self.op.parameters()[i]
                .default
                .and_then(|d| d.strip_prefix('\''))
                .and_then(|d| d.strip_suffix("'::interval"))
                .map(str::to_owned),
            Some(_) => self.optional_text(i)?,
        };
        text.ok_or_else(|| Error::invalid(None, self.op.parameters()[i].name, "is required"))?
            .parse()
    }

    /// A time, as RFC 3339 text (`2026-01-31T12:00:00Z`).
    fn optional_timestamp(&self, i: usize) -> Result<Option<Timestamp>> {
        self.optional_text(i)?
            .map(|text| {
                text.parse().map_err(|_| {
                    self.wrong_type(i, "a time as RFC 3339 text (2026-01-31T12:00:00Z)")
                })
            })
            .transpose()
    }

    fn status(&self, i: usize) -> Result<Status> {
        Status::parse_field(&self.text(i)?, None, self.op.parameters()[i].name)
    }

    fn one<T: JobInput>(&self, i: usize) -> Result<T> {
        T::from_json(&self.required(i)?, None)
    }

    fn batch<T: JobInput>(&self, i: usize) -> Result<Vec<T>> {
        parse_batch(&self.required(i)?)
    }
}

fn json<T: Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::database("XX000", e.to_string()))
}

/// Calls operation `op` of `api` with its arguments as JSON values, in the
/// order of the SQL signature (trailing ones with a default may be left
/// out), and returns the result as the SQL function's JSON: a `TABLE` as an
/// array of row objects, `void` as `null`. A missing or mistyped argument is
/// 22023 naming it.
pub fn call(api: &dyn JobApi, op: Operation, args: &[Value]) -> Result<Value> {
    let a = Arguments::new(op, args)?;
    match op {
        Operation::CreateExecution => json(api.create_execution(&a.one(0)?)?),
        Operation::CreateVariation => json(api.create_variation(&a.one(0)?)?),
        Operation::UpdateExecutionStatus => json(api.update_execution_status(
            &a.text(0)?,
            a.status(1)?,
            a.optional_text(2)?.as_deref(),
        )?),
        Operation::UpdateVariationStatus => json(api.update_variation_status(
            &a.text(0)?,
            a.status(1)?,
            a.optional_text(2)?.as_deref(),
        )?),
        Operation::UpdateProgress => json(api.update_progress(&a.text(0)?, a.integer(1)?)?),
        Operation::Heartbeat => json(api.heartbeat(&a.text(0)?)?),
        Operation::BatchCreateExecutions => json(api.batch_create_executions(&a.batch(0)?)?),
        Operation::BatchCreateVariations => json(api.batch_create_variations(&a.batch(0)?)?),
        Operation::BatchUpdateExecutionStatus => {
            json(api.batch_update_execution_status(&a.batch(0)?)?)
        }
        Operation::BatchUpdateVariationStatus => {
            json(api.batch_update_variation_status(&a.batch(0)?)?)
        }
        Operation::ImportJobs => json(api.import_jobs(&a.batch(0)?)?),
        Operation::ClaimNextJobs => json(api.claim_next_jobs(a.integer(0)?, &a.text(1)?)?),
        Operation::FailStaleJobs => {
            json(api.fail_stale_jobs(a.interval(0)?, a.optional_text(1)?.as_deref())?)
        }
        Operation::CleanupOldJobs => json(api.cleanup_old_jobs(a.integer(0)?, a.boolean(1)?)?),
        Operation::PruneJobs => {
            json(api.prune_jobs(a.integer(0)?, a.boolean(1)?, a.integer(2)?)?)
        }
        Operation::RefreshJobCache => json(api.refresh_job_cache()?),
        Operation::VerifyStatistics => json(api.verify_statistics()?),
        Operation::VerifyExperimentStats => json(api.verify_experiment_stats()?),
        Operation::GetStatisticsOptimized => json(api.get_statistics_optimized()?),
        Operation::GetStatisticsCached => json(api.get_statistics_cached()?),
        Operation::GetDatasetStatsOptimized => json(api.get_dataset_stats_optimized(&a.text(0)?)?),
        Operation::GetDatasetStatsCached => json(api.get_dataset_stats_cached(&a.text(0)?)?),
        Operation::GetExperimentStats => json(api.get_experiment_stats(&a.text(0)?)?),
        Operation::GetExperimentStatsCached => json(api.get_experiment_stats_cached(&a.text(0)?)?),
        Operation::GetAllJobsOptimized => {
            json(api.get_all_jobs_optimized(a.integer(0)?, a.optional_text(1)?.as_deref())?)
        }
        Operation::GetRecentJobsOptimized => json(api.get_recent_jobs_optimized(a.integer(0)?)?),
        Operation::GetRecentJobsCached => json(api.get_recent_jobs_cached(a.integer(0)?)?),
        Operation::GetRunningJobs => {
            json(api.get_running_jobs(a.optional_integer(0)?, a.optional_text(1)?.as_deref())?)
        }
        Operation::GetStaleJobs => json(api.get_stale_jobs(a.interval(0)?)?),
        Operation::ExportJobs => json(
            api.export_jobs(a.optional_timestamp(0)?)?
                .collect::<Result<Vec<JobRecord>>>()?,
        ),
        Operation::GetCacheStats => json(api.get_cache_stats()?),
        Operation::InvalidateCache => json(api.invalidate_cache(a.optional_text(0)?.as_deref())?),
        Operation::GetPoolStatus => json(api.get_pool_status()?),
        Operation::GetTransactionMetrics => json(api.get_transaction_metrics()?),
        Operation::ResetTransactionMetrics => {
            api.reset_transaction_metrics()?;
            Ok(Value::Null)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_back() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
            assert_eq!(
                Operation::ALL
                    .iter()
                    .filter(|o| o.name() == op.name())
                    .count(),
                1
            );
        }
        assert_eq!(Operation::from_name("drop_everything"), None);
    }

    #[test]
    fn measured_operations_are_the_writes() {
        assert_eq!(MEASURED_COUNT, 16);
        let slots: Vec<usize> = Operation::measured()
            .map(|op| op.metrics_slot().unwrap())
            .collect();
        assert_eq!(slots, (0..MEASURED_COUNT).collect::<Vec<_>>());
        assert_eq!(Operation::GetRunningJobs.metrics_slot(), None);
    }

    #[test]
    fn all_lists_the_variants_in_declaration_order() {
        // Callers index tables built from ALL by `op as usize`.
        for (i, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i, "{op}");
        }
    }

    #[test]
    fn every_default_reads_as_json_or_is_null() {
        for op in Operation::ALL {
            for p in op.parameters() {
                if let Some(d) = p.default {
                    // An interval's default is read by Arguments::interval.
                    let interval = p.sql_type == "interval"
                        && d.strip_prefix('\'')
                            .and_then(|d| d.strip_suffix("'::interval"))
                            .is_some_and(|d| d.parse::<StaleAfter>().is_ok());
                    assert!(
                        d == "NULL" || interval || serde_json::from_str::<Value>(d).is_ok(),
                        "{op}: {}",
                        p.name
                    );
                }
            }
        }
    }

    #[test]
    fn signatures_read_as_sql() {
        assert_eq!(
            Operation::UpdateExecutionStatus.to_string(),
            "update_execution_status(job_id text, status text, error_message text DEFAULT NULL)"
        );
        assert_eq!(
            Operation::GetRunningJobs.to_string(),
            "get_running_jobs(lim integer DEFAULT NULL, after text DEFAULT NULL)"
        );
        assert_eq!(
            Operation::CleanupOldJobs.sql_argument_types(),
            "integer, boolean"
        );
        assert_eq!(
            Operation::PruneJobs.to_string(),
            "prune_jobs(days integer, keep_failed boolean DEFAULT true, \
             batch_size integer DEFAULT 10000, INOUT report jsonb DEFAULT NULL)"
        );
        assert_eq!(
            Operation::PruneJobs.sql_argument_types(),
            "integer, boolean, integer, jsonb"
        );
    }
}
