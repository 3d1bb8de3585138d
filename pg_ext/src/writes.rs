//! The write functions: the use cases of `jobtrack_core::usecase` on a
//! [`WriteBackend`] that runs PostgreSQL statements. Each checks its whole
//! input in core first (element-indexed errors, nothing applied), then
//! applies it with set-based statements — one INSERT or UPDATE for a whole
//! batch, fed by `unnest` of parallel arrays of the checked input and its
//! status effects — that take their row locks in job_id order. Every call
//! is measured (`metrics::measured`).
//!
//! Before anything else, each refuses to run where nothing may be written
//! (25006); the `jsonb` arguments are parsed by [`JsonbArg`] (bounded
//! memory, errors naming element and field).
//!
//! The largest batch is [`MAX_BATCH`](jobtrack_core::MAX_BATCH) = 1,000,000
//! elements (54000 beyond); a smaller one whose parse does not fit in the
//! memory the server can allocate at the time fails with 53200.

use jobtrack_core::usecase::{self, PruneBatch, StatusChange, StoredParameters, WriteBackend};
use jobtrack_core::{
    CleanupReport, Error, Job, JobRecord, JobType, NewExecution, NewVariation, Operation,
    PruneReport, StaleJob, Status, StatusUpdate, Timestamp,
};
use pgrx::datum::{DatumWithOid, Interval, IntoDatum, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiTupleTable};

use crate::error::spi;
use crate::json_input::JsonbArg;
use crate::memory::ErrorReserve;
use crate::metrics::measured;
use crate::rows::{self, req};
use crate::{queries, reads};

/// Refuses a write function where nothing may be written: in a read-only
/// transaction, or during recovery (a hot standby, whose transactions are
/// all read-only). Checked first, so that the refusal is the same whatever
/// the input, and nothing is parsed or run for nothing.
fn writable(operation: Operation) -> Result<(), Error> {
    // SAFETY: backend globals and a function reading shared state.
    let (recovery, read_only) = unsafe { (pg_sys::RecoveryInProgress(), pg_sys::XactReadOnly) };
    if recovery || read_only {
        return Err(Error::read_only(
            &format!("jobtrack.{}", operation.name()),
            recovery,
        ));
    }
    Ok(())
}

/// Runs write operation `operation`: refused where nothing may be written,
/// measured, its errors raised.
fn write_operation<T>(operation: Operation, f: impl FnOnce() -> Result<T, Error>) -> T {
    measured(operation, || {
        writable(operation)?;
        f()
    })
}

/// One parallel-array argument: `f` of every item, borrowing from it (a
/// text column is not copied before it is converted).
fn column<'a, T, U: IntoDatum>(items: &'a [T], f: impl Fn(&'a T) -> U) -> DatumWithOid<'static> {
    items.iter().map(f).collect::<Vec<U>>().into()
}

/// One parallel-array argument of timestamps: `f` of every item, each
/// converted to a `timestamptz` (22008 for one PostgreSQL does not
/// represent; a checked record has none).
fn timestamps<T>(
    items: &[T],
    f: impl Fn(&T) -> Option<Timestamp>,
) -> Result<DatumWithOid<'static>, Error> {
    let converted = items
        .iter()
        .map(|item| f(item).map(rows::try_to_pg).transpose())
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(converted.into())
}

/// The statements of the write operations on an SPI connection, run with
/// an [`ErrorReserve`] current: an ERROR they raise for want of memory
/// comes out as that ERROR, not as a PANIC.
struct Writer<'a, 'conn> {
    client: &'a mut SpiClient<'conn>,
    reserve: &'a ErrorReserve,
}

impl<'conn> Writer<'_, 'conn> {
    /// Runs one statement; `args` are converted beforehand, outside the
    /// reserve.
    fn update(
        &mut self,
        sql: &str,
        limit: Option<i64>,
        args: &[DatumWithOid<'_>],
    ) -> Result<SpiTupleTable<'conn>, Error> {
        let client = &mut *self.client;
        self.reserve
            .run(|| client.update(sql, limit, args))
            .map_err(spi)
    }

    /// Runs a statement that returns one row of counts.
    fn counts<const N: usize>(
        &mut self,
        sql: &str,
        args: &[DatumWithOid<'_>],
    ) -> Result<[i64; N], Error> {
        let mut table = self.update(sql, Some(1), args)?;
        let row = table
            .next()
            .ok_or_else(|| Error::database("XX000", "jobtrack: a count returned no row"))?;
        let mut counts = [0; N];
        for (i, count) in counts.iter_mut().enumerate() {
            *count = req(&row, i + 1)?;
        }
        Ok(counts)
    }
}

impl WriteBackend for Writer<'_, '_> {
    fn first_existing_id(&mut self, ids: &[&str]) -> Result<Option<String>, Error> {
        let mut table = self.update(queries::FIRST_EXISTING_ID, Some(1), &[ids.to_vec().into()])?;
        table.next().map(|row| req(&row, 1)).transpose()
    }

    fn insert_executions(&mut self, jobs: &[NewExecution]) -> Result<(), Error> {
        let args = [
            column(jobs, |e| e.job_id.as_str()),
            column(jobs, |e| e.status.as_str()),
            column(jobs, |e| e.pipeline_mode.as_str()),
            column(jobs, |e| e.dataset_name.as_str()),
            column(jobs, |e| e.preset.as_str()),
            column(jobs, |e| e.total_steps),
            column(jobs, |e| e.status.effects().starts_clock),
            column(jobs, |e| e.status.effects().terminal),
            column(jobs, |e| e.status.effects().success),
        ];
        self.update(queries::INSERT_EXECUTIONS, None, &args)?;
        Ok(())
    }

    fn insert_variations(
        &mut self,
        jobs: &[NewVariation],
        parameters: &[StoredParameters],
    ) -> Result<(), Error> {
        let args = [
            column(jobs, |v| v.job_id.as_str()),
            column(jobs, |v| v.status.as_str()),
            column(jobs, |v| v.variation_id.as_str()),
            column(jobs, |v| v.experiment_name.as_str()),
            column(jobs, |v| v.dataset_name.as_str()),
            column(jobs, |v| v.preset.as_str()),
            column(jobs, |v| v.total_combinations),
            column(parameters, |p| p.varied_parameters.as_str()),
            column(parameters, |p| p.parameter_values.as_str()),
            column(jobs, |v| v.parent_experiment_id.as_deref()),
            column(jobs, |v| v.total_steps),
            column(jobs, |v| v.status.effects().starts_clock),
            column(jobs, |v| v.status.effects().terminal),
            column(jobs, |v| v.status.effects().success),
        ];
        self.update(queries::INSERT_VARIATIONS, None, &args)?;
        Ok(())
    }

    fn import_executions(&mut self, records: &[&JobRecord]) -> Result<(), Error> {
        let args = [
            column(records, |r| r.job_id.as_str()),
            column(records, |r| r.status.as_str()),
            column(records, |r| r.mode.as_str()),
            column(records, |r| r.dataset_name.as_str()),
            column(records, |r| r.preset.as_str()),
            column(records, |r| r.success),
            column(records, |r| r.duration_seconds),
            column(records, |r| r.error_message.as_deref()),
            column(records, |r| r.output_path.as_deref()),
            column(records, |r| r.total_steps),
            column(records, |r| r.current_step),
            timestamps(records, |r| r.start_time)?,
            timestamps(records, |r| Some(r.created_at))?,
            timestamps(records, |r| Some(r.updated_at))?,
            timestamps(records, |r| r.last_heartbeat)?,
            timestamps(records, |r| r.end_time)?,
            column(records, |r| r.worker.as_deref()),
        ];
        self.update(queries::IMPORT_EXECUTIONS, None, &args)?;
        Ok(())
    }

    fn import_variations(
        &mut self,
        records: &[&JobRecord],
        parameters: &[StoredParameters],
    ) -> Result<(), Error> {
        let args = [
            column(records, |r| r.job_id.as_str()),
            column(records, |r| r.status.as_str()),
            column(records, |r| r.variation_id.as_deref()),
            column(records, |r| r.experiment_name.as_deref()),
            column(records, |r| r.dataset_name.as_str()),
            column(records, |r| r.preset.as_str()),
            column(records, |r| r.total_combinations),
            column(parameters, |p| p.varied_parameters.as_str()),
            column(parameters, |p| p.parameter_values.as_str()),
            column(records, |r| r.parent_experiment_id.as_deref()),
            column(records, |r| r.success),
            column(records, |r| r.duration_seconds),
            column(records, |r| r.error_message.as_deref()),
            column(records, |r| r.output_path.as_deref()),
            column(records, |r| r.total_steps),
            column(records, |r| r.current_step),
            timestamps(records, |r| r.start_time)?,
            timestamps(records, |r| Some(r.created_at))?,
            timestamps(records, |r| Some(r.updated_at))?,
            timestamps(records, |r| r.last_heartbeat)?,
            timestamps(records, |r| r.end_time)?,
            column(records, |r| r.worker.as_deref()),
        ];
        self.update(queries::IMPORT_VARIATIONS, None, &args)?;
        Ok(())
    }

    fn update_status(
        &mut self,
        job_type: JobType,
        changes: &[StatusChange<'_>],
    ) -> Result<u64, Error> {
        let sql = match job_type {
            JobType::Execution => queries::UPDATE_EXECUTION_STATUS,
            JobType::Variation => queries::UPDATE_VARIATION_STATUS,
        };
        let args = [
            column(changes, |c| c.job_id),
            column(changes, |c| c.effects.status),
            column(changes, |c| c.error_message),
            column(changes, |c| c.effects.starts_clock),
            column(changes, |c| c.effects.terminal),
            column(changes, |c| c.effects.success),
            column(changes, |c| c.effects.clears_error_message),
        ];
        Ok(self.update(sql, None, &args)?.len() as u64)
    }

    fn update_progress(&mut self, job_id: &str, current_step: i32) -> Result<bool, Error> {
        let sql = reads::on_catalog(queries::UPDATE_PROGRESS)?;
        let [changed] = self.counts(&sql, &[job_id.into(), current_step.into()])?;
        Ok(changed > 0)
    }

    fn now(&mut self) -> Timestamp {
        statement_start()
    }

    fn delete_finished_before(
        &mut self,
        cutoff: Timestamp,
        keep_failed: bool,
    ) -> Result<CleanupReport, Error> {
        let [executions_deleted, variations_deleted, cache_entries_deleted] = self.counts(
            queries::CLEANUP,
            &[rows::try_to_pg(cutoff)?.into(), keep_failed.into()],
        )?;
        Ok(CleanupReport {
            executions_deleted,
            variations_deleted,
            cache_entries_deleted,
        })
    }

    fn delete_finished_batch(
        &mut self,
        cutoff: Timestamp,
        keep_failed: bool,
        batch_size: i32,
    ) -> Result<PruneBatch, Error> {
        let [executions_deleted, variations_deleted, cache_entries_deleted, chosen] = self.counts(
            queries::PRUNE_BATCH,
            &[
                rows::try_to_pg(cutoff)?.into(),
                keep_failed.into(),
                i64::from(batch_size).into(),
            ],
        )?;
        Ok(PruneBatch {
            deleted: CleanupReport {
                executions_deleted,
                variations_deleted,
                cache_entries_deleted,
            },
            chosen,
        })
    }

    fn rebuild_derived_tables(&mut self) -> Result<i64, Error> {
        // Two calls: the rebuild's snapshot must be taken after the lock is
        // granted (refresh_lock.sql).
        self.update(queries::REFRESH_LOCK, None, &[])?;
        self.update(queries::REFRESH_JOB_CACHE, None, &[])?;
        if crate::reads::has_relation(c"experiment_counters") {
            self.update(queries::REFRESH_EXPERIMENT_COUNTERS, None, &[])?;
        }
        let [rows] = self.counts("SELECT count(*) FROM jobtrack.job_summary_cache", &[])?;
        Ok(rows)
    }

    fn lock_pending(&mut self, n: i32) -> Result<Vec<(JobType, String)>, Error> {
        let table = self.update(queries::CLAIM_PENDING, None, &[i64::from(n).into()])?;
        table
            .map(|row| Ok((req::<String>(&row, 1)?.parse()?, req::<String>(&row, 2)?)))
            .collect()
    }

    fn lock_stale(&mut self, cutoff: Timestamp) -> Result<Vec<StaleJob>, Error> {
        let table = self.update(
            queries::LOCK_STALE,
            None,
            &[rows::try_to_pg(cutoff)?.into()],
        )?;
        table
            .map(|row| {
                Ok(StaleJob {
                    job_type: req::<String>(&row, 1)?.parse()?,
                    job_id: req(&row, 2)?,
                    last_seen: req::<TimestampWithTimeZone>(&row, 3).map(rows::from_pg)?,
                })
            })
            .collect()
    }

    fn heartbeat(&mut self, job_id: &str) -> Result<bool, Error> {
        let [found] = self.counts(queries::HEARTBEAT, &[job_id.into()])?;
        Ok(found > 0)
    }

    fn set_worker(
        &mut self,
        executions: &[&str],
        variations: &[&str],
        worker: &str,
    ) -> Result<(), Error> {
        let [set] = self.counts(
            queries::CLAIM_WORKER,
            &[
                executions.to_vec().into(),
                variations.to_vec().into(),
                worker.into(),
            ],
        )?;
        debug_assert_eq!(set, (executions.len() + variations.len()) as i64);
        Ok(())
    }

    fn get_jobs(&mut self, job_ids: &[&str]) -> Result<Vec<Job>, Error> {
        let table = self.update(queries::JOBS_BY_ID, None, &[job_ids.to_vec().into()])?;
        table.map(|row| rows::job(&row)).collect()
    }

    fn get_job(&mut self, job_id: &str) -> Result<Option<Job>, Error> {
        let sql = reads::on_catalog(queries::GET_JOB)?;
        let mut table = self.update(&sql, Some(1), &[job_id.into()])?;
        table.next().map(|row| rows::job(&row)).transpose()
    }
}

/// Runs `f` on a [`Writer`]. The reserve is current while SPI connects, so
/// that it is current again once SPI is gone after an ERROR.
fn write<R>(f: impl FnOnce(&mut dyn WriteBackend) -> Result<R, Error>) -> Result<R, Error> {
    let reserve = ErrorReserve::new();
    let result = reserve.run(|| {
        Spi::connect_mut(|client| {
            f(&mut Writer {
                client,
                reserve: &reserve,
            })
        })
    });
    reserve.release();
    result
}

/// The update of the scalar arguments of `update_*_status`.
fn status_update(
    job_id: Option<&str>,
    status: Option<&str>,
    error_message: Option<&str>,
) -> Result<StatusUpdate, Error> {
    let job_id = required(job_id, "job_id")?;
    let status = required(status, "status")?;
    Ok(StatusUpdate {
        job_id: job_id.to_owned(),
        status: Status::parse_field(status, None, "status")?,
        error_message: error_message.map(str::to_owned),
    })
}

fn update_one_status(
    job_type: JobType,
    job_id: Option<&str>,
    status: Option<&str>,
    error_message: Option<&str>,
) -> Result<bool, Error> {
    let update = status_update(job_id, status, error_message)?;
    let change = usecase::check_status_update(&update)?;
    Ok(write(|w| usecase::update_status(w, job_type, &[change]))? > 0)
}

fn update_statuses(job_type: JobType, updates: &[StatusUpdate]) -> Result<i32, Error> {
    let changes = usecase::check_status_updates(updates)?;
    write(|w| usecase::update_status(w, job_type, &changes))
}

fn create_one<T: usecase::NewJob>(job: &T) -> Result<pgrx::JsonB, Error> {
    usecase::check_create(job)?;
    rows::json(&write(|w| usecase::create_one(w, job))?)
}

fn create_batch<T: usecase::NewJob>(jobs: &[T]) -> Result<Vec<String>, Error> {
    usecase::check_creates(jobs)?;
    write(|w| usecase::create(w, jobs))
}

/// Creates one execution from a JSON object; returns the job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn create_execution(job: JsonbArg) -> pgrx::JsonB {
    let op = Operation::CreateExecution;
    write_operation(op, || {
        create_one(&job.parse_one::<NewExecution>(op.name())?)
    })
}

/// Creates one variation from a JSON object; returns the job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn create_variation(job: JsonbArg) -> pgrx::JsonB {
    let op = Operation::CreateVariation;
    write_operation(op, || {
        create_one(&job.parse_one::<NewVariation>(op.name())?)
    })
}

/// Creates executions from a JSON array, all or none; returns their ids in
/// input order.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_create_executions(jobs: JsonbArg) -> Vec<String> {
    let op = Operation::BatchCreateExecutions;
    write_operation(op, || {
        create_batch(&jobs.parse_batch::<NewExecution>(op.name())?)
    })
}

/// Creates variations from a JSON array, all or none; returns their ids in
/// input order.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_create_variations(jobs: JsonbArg) -> Vec<String> {
    let op = Operation::BatchCreateVariations;
    write_operation(op, || {
        create_batch(&jobs.parse_batch::<NewVariation>(op.name())?)
    })
}

/// Restores whole jobs of either kind from a JSON array of records, as
/// `export_jobs` returns them (every column as given, nothing stamped), all
/// or none; returns how many.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn import_jobs(jobs: JsonbArg) -> i32 {
    let op = Operation::ImportJobs;
    write_operation(op, || {
        let records = jobs.parse_batch::<JobRecord>(op.name())?;
        usecase::check_creates(&records)?;
        write(|w| usecase::import_jobs(w, &records))
    })
}

/// Changes the status of one execution; false when there is no such
/// execution.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn update_execution_status(
    job_id: Option<&str>,
    status: Option<&str>,
    error_message: default!(Option<&str>, NULL),
) -> bool {
    write_operation(Operation::UpdateExecutionStatus, || {
        update_one_status(JobType::Execution, job_id, status, error_message)
    })
}

/// Changes the status of one variation; false when there is no such
/// variation.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn update_variation_status(
    job_id: Option<&str>,
    status: Option<&str>,
    error_message: default!(Option<&str>, NULL),
) -> bool {
    write_operation(Operation::UpdateVariationStatus, || {
        update_one_status(JobType::Variation, job_id, status, error_message)
    })
}

/// Sets `current_step` of a job of either kind; false when there is no such
/// job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn update_progress(job_id: &str, current_step: i32) -> bool {
    write_operation(Operation::UpdateProgress, || {
        let step = usecase::check_progress(current_step)?;
        write(|w| usecase::update_progress(w, job_id, step))
    })
}

/// Records that the active job `job_id` of either kind is alive
/// (`last_heartbeat` set to now); false when no active job has that id.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn heartbeat(job_id: &str) -> bool {
    write_operation(Operation::Heartbeat, || {
        write(|w| usecase::heartbeat(w, job_id))
    })
}

/// Fails every job that expects heartbeats and has shown no sign of life
/// for longer than `stale_after` (core's `fail_stale_jobs`); returns how
/// many. Passes over jobs other transactions hold, never waits for them.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn fail_stale_jobs(
    stale_after: Option<Interval>,
    error_message: default!(Option<&str>, NULL),
) -> i32 {
    write_operation(Operation::FailStaleJobs, || {
        let stale_after = rows::stale_after(required(stale_after, "stale_after")?)?;
        usecase::check_fail_stale(error_message)?;
        write(|w| usecase::fail_stale_jobs(w, stale_after, error_message))
    })
}

/// Changes the status of many executions from a JSON array, all or none;
/// unknown ids are skipped; returns the number of executions changed.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_update_execution_status(updates: JsonbArg) -> i32 {
    let op = Operation::BatchUpdateExecutionStatus;
    write_operation(op, || {
        update_statuses(JobType::Execution, &updates.parse_batch(op.name())?)
    })
}

/// Changes the status of many variations from a JSON array, all or none;
/// unknown ids are skipped; returns the number of variations changed.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_update_variation_status(updates: JsonbArg) -> i32 {
    let op = Operation::BatchUpdateVariationStatus;
    write_operation(op, || {
        update_statuses(JobType::Variation, &updates.parse_batch(op.name())?)
    })
}

rows::job_table_function! {
    /// Claims up to `n` pending jobs, oldest first, for `worker`: moved to
    /// `in_queue` and returned (core's `claim_next_jobs`; passes over jobs
    /// other transactions hold, never waits for them).
    #[pg_extern(schema = "jobtrack", volatile, parallel_unsafe)]
    #[search_path(jobtrack, pg_catalog, pg_temp)]
    fn claim_next_jobs(n: Option<i32>, worker: Option<&str>) {
        let jobs = write_operation(Operation::ClaimNextJobs, || {
            let n = required(n, "n")?;
            let worker = required(worker, "worker")?;
            let n = usecase::check_claim(n, worker)?;
            write(|w| usecase::claim_next_jobs(w, n, worker))
        });
        TableIterator::new(jobs.into_iter().map(rows::job_tuple))
    }
}

/// Deletes jobs in a terminal status created more than `days` days ago
/// (keeping failed ones when `keep_failed`); never an active job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn cleanup_old_jobs(days: default!(i32, 30), keep_failed: default!(bool, true)) -> pgrx::JsonB {
    write_operation(Operation::CleanupOldJobs, || {
        let days = usecase::check_cleanup(days)?;
        rows::json(&write(|w| usecase::cleanup_old_jobs(w, days, keep_failed))?)
    })
}

/// The current statement's start time, the time statement_timestamp()
/// stamps the changes with.
pub(crate) fn statement_start() -> Timestamp {
    // SAFETY: reads a backend global.
    Timestamp::from_pg_micros(unsafe { pg_sys::GetCurrentStatementStartTimestamp() })
}

/// An argument a NULL may not stand for: 22023 naming it.
fn required<T>(value: Option<T>, name: &str) -> Result<T, Error> {
    value.ok_or_else(|| Error::invalid(None, name, "is required"))
}

/// `prune_jobs`, first step (sql/pg/prune.sql): checks the arguments, 22023
/// naming the one that is missing or out of range, and returns the cutoff
/// every batch of the call deletes before, fixed when the CALL started;
/// NULL when no stored job can be that old. A refused call counts as one
/// failed call of `prune_jobs` in the metrics.
#[pg_extern(schema = "jobtrack", stable, parallel_safe)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn _prune_cutoff(
    days: Option<i32>,
    keep_failed: Option<bool>,
    batch_size: Option<i32>,
) -> Option<TimestampWithTimeZone> {
    let checked = (|| {
        let days = required(days, "days")?;
        required(keep_failed, "keep_failed")?;
        let batch_size = required(batch_size, "batch_size")?;
        let (days, _) = usecase::check_prune(days, batch_size)?;
        usecase::prune_cutoff(statement_start(), days)
            .map(rows::try_to_pg)
            .transpose()
    })();
    match checked {
        Ok(cutoff) => cutoff,
        Err(e) => measured(Operation::PruneJobs, || Err(e)),
    }
}

/// `prune_jobs`, one batch (sql/pg/prune.sql), run in a transaction of its
/// own: deletes up to `batch_size` of the oldest jobs cleanup_old_jobs
/// would delete at `cutoff`, and returns `report` (the batches so far, NULL
/// before the first) with this one added, and the key `more` when another
/// batch is due. Measured as one call of `prune_jobs`. A `cutoff` later
/// than the statement's start is 22023: the batch must delete no job that
/// `cleanup_old_jobs(0)` would keep.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn _prune_batch(
    cutoff: Option<TimestampWithTimeZone>,
    keep_failed: Option<bool>,
    batch_size: Option<i32>,
    report: Option<pgrx::JsonB>,
) -> pgrx::JsonB {
    write_operation(Operation::PruneJobs, || {
        let keep_failed = required(keep_failed, "keep_failed")?;
        let batch_size = required(batch_size, "batch_size")?;
        let (_, batch_size) = usecase::check_prune(0, batch_size)?;
        let so_far: PruneReport = match report {
            None => PruneReport::default(),
            // An object, as a batch returns it: serde would also read a
            // struct from an array.
            Some(pgrx::JsonB(value)) if value.is_object() => serde_json::from_value(value)
                .map_err(|e| {
                    Error::invalid(None, "report", format!("is not a prune_jobs report: {e}"))
                })?,
            Some(_) => {
                return Err(Error::invalid(
                    None,
                    "report",
                    "is not a prune_jobs report: it must be a JSON object",
                ))
            }
        };
        // NULL: nothing is old enough.
        let cutoff = cutoff.map(rows::from_pg);
        if let Some(c) = cutoff {
            if c.pg_micros() > statement_start().pg_micros() {
                return Err(Error::invalid(
                    None,
                    "cutoff",
                    format!("must not lie after the statement's start, got {c}"),
                ));
            }
        }
        let (report, more) =
            write(|w| usecase::prune_batch(w, cutoff, keep_failed, batch_size, so_far))?;
        let mut value = rows::json(&report)?;
        if more {
            value.0["more"] = serde_json::Value::Bool(true);
        }
        Ok(value)
    })
}

/// Rebuilds every derived table from the base tables — the summary table
/// `job_summary_cache` and the statistics counters `job_counters` — and
/// returns the summary table's row count. Not executable by PUBLIC; SECURITY
/// DEFINER like the triggers that otherwise alone write the derived tables,
/// so that an admin role granted EXECUTE needs no privileges on them (the
/// search path is pinned, every statement is constant text).
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, security_definer)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn refresh_job_cache() -> i64 {
    write_operation(Operation::RefreshJobCache, || {
        write(usecase::refresh_job_cache)
    })
}
