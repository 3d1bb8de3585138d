//! The write functions. Each validates its whole input with jobtrack-core
//! first (element-indexed errors, nothing applied), then applies it with one
//! set-based statement — one INSERT, UPDATE or DELETE for a whole batch, fed
//! by `unnest` of parallel arrays of the normalised input — that takes its
//! row locks in job_id order. Every call is measured (`metrics::measured`).
//!
//! Before anything else, each refuses to run where nothing may be written
//! (25006); the `jsonb` arguments are parsed by [`JsonbArg`] (bounded
//! memory, errors naming element and field).
//!
//! The largest batch is [`MAX_BATCH`](jobtrack_core::MAX_BATCH) = 1,000,000
//! elements (54000 beyond); a smaller one whose parse does not fit in the
//! memory the server can allocate at the time fails with 53200.

use jobtrack_core::{
    check_current_step, check_days, check_unique_ids, last_update_wins, CleanupReport, Error,
    JobInput, NewExecution, NewVariation, Status, StatusUpdate, Timestamp,
};
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
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
fn writable(function: &str) -> Result<(), Error> {
    // SAFETY: backend globals and a function reading shared state.
    let (recovery, read_only) = unsafe { (pg_sys::RecoveryInProgress(), pg_sys::XactReadOnly) };
    if recovery || read_only {
        return Err(Error::read_only(&format!("jobtrack.{function}"), recovery));
    }
    Ok(())
}

/// The table a status update goes to.
#[derive(Clone, Copy)]
enum Kind {
    Execution,
    Variation,
}

impl Kind {
    fn update_sql(self) -> &'static str {
        match self {
            Kind::Execution => queries::UPDATE_STATUS_EXECUTIONS,
            Kind::Variation => queries::UPDATE_STATUS_VARIATIONS,
        }
    }
}

/// An SPI connection for the writes, whose statements run with an
/// [`ErrorReserve`] current: an ERROR they raise for want of memory comes
/// out as that ERROR, not as a PANIC.
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
}

/// Runs `f` on a [`Writer`]. The reserve is current while SPI connects, so
/// that it is current again once SPI is gone after an ERROR.
fn write<R>(f: impl FnOnce(&mut Writer<'_, '_>) -> Result<R, Error>) -> Result<R, Error> {
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

/// Rejects a create batch naming an id that a job of either kind has
/// (23505, naming the first such id in input order).
fn reject_existing(writer: &mut Writer<'_, '_>, ids: &[&str]) -> Result<(), Error> {
    let args = [ids.to_vec().into()];
    let mut table = writer.update(queries::FIRST_EXISTING_ID, Some(1), &args)?;
    match table.next() {
        Some(row) => Err(Error::duplicate(&req::<String>(&row, 1)?)),
        None => Ok(()),
    }
}

fn insert_executions(items: &[NewExecution]) -> Result<(), Error> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|e| e.job_id.as_str()).collect();
    write(|writer| {
        reject_existing(writer, &ids)?;
        let args = [
            ids.clone().into(),
            items
                .iter()
                .map(|e| e.status.as_str())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|e| e.pipeline_mode.as_str())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|e| e.dataset_name.as_str())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|e| e.preset.as_str())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|e| e.total_steps)
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|e| e.status.starts_clock())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|e| e.status.is_terminal())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|e| e.status.success())
                .collect::<Vec<_>>()
                .into(),
        ];
        writer.update(queries::INSERT_EXECUTIONS, None, &args)?;
        Ok(())
    })
}

fn insert_variations(items: &[NewVariation]) -> Result<(), Error> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|v| v.job_id.as_str()).collect();
    let json = |m: &serde_json::Map<String, serde_json::Value>| {
        serde_json::to_string(m).map_err(|e| Error::database("XX000", e.to_string()))
    };
    let varied = items
        .iter()
        .map(|v| json(&v.varied_parameters))
        .collect::<Result<Vec<_>, _>>()?;
    let values = items
        .iter()
        .map(|v| json(&v.parameter_values))
        .collect::<Result<Vec<_>, _>>()?;
    write(|writer| {
        reject_existing(writer, &ids)?;
        let args = [
            ids.clone().into(),
            items
                .iter()
                .map(|v| v.status.as_str())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|v| v.variation_id.as_str())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|v| v.experiment_name.as_str())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|v| v.dataset_name.as_str())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|v| v.preset.as_str())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|v| v.total_combinations)
                .collect::<Vec<_>>()
                .into(),
            varied.into(),
            values.into(),
            items
                .iter()
                .map(|v| v.parent_experiment_id.as_deref())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|v| v.total_steps)
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|v| v.status.starts_clock())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|v| v.status.is_terminal())
                .collect::<Vec<_>>()
                .into(),
            items
                .iter()
                .map(|v| v.status.success())
                .collect::<Vec<_>>()
                .into(),
        ];
        writer.update(queries::INSERT_VARIATIONS, None, &args)?;
        Ok(())
    })
}

/// Applies status updates to one kind; returns the number of jobs changed.
fn apply_status_updates(kind: Kind, updates: &[StatusUpdate]) -> Result<i32, Error> {
    let winners = last_update_wins(updates);
    if winners.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = winners.iter().map(|u| u.job_id.as_str()).collect();
    write(|writer| {
        let args = [
            ids.into(),
            winners
                .iter()
                .map(|u| u.status.as_str())
                .collect::<Vec<_>>()
                .into(),
            winners
                .iter()
                .map(|u| u.error_message.as_deref())
                .collect::<Vec<_>>()
                .into(),
            winners
                .iter()
                .map(|u| u.status.starts_clock())
                .collect::<Vec<_>>()
                .into(),
            winners
                .iter()
                .map(|u| u.status.is_terminal())
                .collect::<Vec<_>>()
                .into(),
            winners
                .iter()
                .map(|u| u.status.success())
                .collect::<Vec<_>>()
                .into(),
            winners
                .iter()
                .map(|u| u.status.clears_error_message())
                .collect::<Vec<_>>()
                .into(),
        ];
        let updated = writer.update(kind.update_sql(), None, &args)?;
        i32::try_from(updated.len())
            .map_err(|_| Error::database("XX000", "jobtrack: row count out of range"))
    })
}

/// One status update from the scalar arguments of `update_*_status`.
fn status_update(
    job_id: Option<&str>,
    status: Option<&str>,
    error_message: Option<&str>,
) -> Result<StatusUpdate, Error> {
    let job_id = job_id.ok_or_else(|| Error::invalid(None, "job_id", "is required"))?;
    let status = status.ok_or_else(|| Error::invalid(None, "status", "is required"))?;
    let update = StatusUpdate {
        job_id: job_id.to_owned(),
        status: Status::parse_field(status, None, "status")?,
        error_message: error_message.map(str::to_owned),
    };
    update.validate(None)?;
    Ok(update)
}

fn created_job(job_id: &str) -> Result<pgrx::JsonB, Error> {
    let job = reads::job_by_id(job_id)?
        .ok_or_else(|| Error::database("XX000", "jobtrack: the created job is not visible"))?;
    rows::json(&job)
}

/// Creates one execution from a JSON object; returns the job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn create_execution(job: JsonbArg) -> pgrx::JsonB {
    measured("create_execution", || {
        writable("create_execution")?;
        let new: NewExecution = job.parse_one("create_execution")?;
        insert_executions(std::slice::from_ref(&new))?;
        created_job(&new.job_id)
    })
}

/// Creates one variation from a JSON object; returns the job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn create_variation(job: JsonbArg) -> pgrx::JsonB {
    measured("create_variation", || {
        writable("create_variation")?;
        let new: NewVariation = job.parse_one("create_variation")?;
        insert_variations(std::slice::from_ref(&new))?;
        created_job(&new.job_id)
    })
}

/// Creates executions from a JSON array, all or none; returns their ids in
/// input order.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_create_executions(jobs: JsonbArg) -> Vec<String> {
    measured("batch_create_executions", || {
        writable("batch_create_executions")?;
        let items: Vec<NewExecution> = jobs.parse_batch("batch_create_executions")?;
        check_unique_ids(&items)?;
        insert_executions(&items)?;
        Ok(items.into_iter().map(|e| e.job_id).collect())
    })
}

/// Creates variations from a JSON array, all or none; returns their ids in
/// input order.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_create_variations(jobs: JsonbArg) -> Vec<String> {
    measured("batch_create_variations", || {
        writable("batch_create_variations")?;
        let items: Vec<NewVariation> = jobs.parse_batch("batch_create_variations")?;
        check_unique_ids(&items)?;
        insert_variations(&items)?;
        Ok(items.into_iter().map(|v| v.job_id).collect())
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
    measured("update_execution_status", || {
        writable("update_execution_status")?;
        let update = status_update(job_id, status, error_message)?;
        Ok(apply_status_updates(Kind::Execution, &[update])? > 0)
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
    measured("update_variation_status", || {
        writable("update_variation_status")?;
        let update = status_update(job_id, status, error_message)?;
        Ok(apply_status_updates(Kind::Variation, &[update])? > 0)
    })
}

/// Sets `current_step` of a job of either kind; false when there is no such
/// job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn update_progress(job_id: &str, current_step: i32) -> bool {
    measured("update_progress", || {
        writable("update_progress")?;
        let step = check_current_step(current_step.into())?;
        write(|writer| {
            let args = [job_id.into(), step.into()];
            let mut table = writer.update(queries::UPDATE_PROGRESS, Some(1), &args)?;
            let row = table
                .next()
                .ok_or_else(|| Error::database("XX000", "jobtrack: a count returned no row"))?;
            Ok(req::<i64>(&row, 1)? > 0)
        })
    })
}

/// Changes the status of many executions from a JSON array, all or none;
/// unknown ids are skipped; returns the number of executions changed.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_update_execution_status(updates: JsonbArg) -> i32 {
    measured("batch_update_execution_status", || {
        writable("batch_update_execution_status")?;
        let items: Vec<StatusUpdate> = updates.parse_batch("batch_update_execution_status")?;
        apply_status_updates(Kind::Execution, &items)
    })
}

/// Changes the status of many variations from a JSON array, all or none;
/// unknown ids are skipped; returns the number of variations changed.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_update_variation_status(updates: JsonbArg) -> i32 {
    measured("batch_update_variation_status", || {
        writable("batch_update_variation_status")?;
        let items: Vec<StatusUpdate> = updates.parse_batch("batch_update_variation_status")?;
        apply_status_updates(Kind::Variation, &items)
    })
}

/// The `created_at` before which `cleanup_old_jobs(days)` deletes:
/// `days` days of 86,400 seconds before the statement's start, computed as
/// the SQLite library computes it. `None` when no timestamp PostgreSQL can
/// represent is that old (any `days` up to `i32::MAX` is valid, and
/// deletes nothing then).
fn cleanup_cutoff(days: i32) -> Option<TimestampWithTimeZone> {
    // SAFETY: reads the current statement's start time.
    let now = Timestamp::from_pg_micros(unsafe { pg_sys::GetCurrentStatementStartTimestamp() });
    let cutoff = now.checked_minus_days(days.into())?;
    TimestampWithTimeZone::try_from(cutoff.pg_micros())
        .ok()
        .filter(|t| t.is_finite())
}

/// Deletes jobs in a terminal status created more than `days` days ago
/// (keeping failed ones when `keep_failed`); never an active job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn cleanup_old_jobs(days: default!(i32, 30), keep_failed: default!(bool, true)) -> pgrx::JsonB {
    measured("cleanup_old_jobs", || {
        writable("cleanup_old_jobs")?;
        let days = check_days(days.into())?;
        let cutoff = cleanup_cutoff(days);
        let report = write(|writer| {
            let args = [cutoff.into(), keep_failed.into()];
            let mut table = writer.update(queries::CLEANUP, Some(1), &args)?;
            let row = table
                .next()
                .ok_or_else(|| Error::database("XX000", "jobtrack: a count returned no row"))?;
            Ok::<_, Error>(CleanupReport {
                executions_deleted: req(&row, 1)?,
                variations_deleted: req(&row, 2)?,
                cache_entries_deleted: req(&row, 3)?,
            })
        })?;
        rows::json(&report)
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
    measured("refresh_job_cache", || {
        writable("refresh_job_cache")?;
        Spi::connect_mut(|client| {
            // Two calls: the rebuild's snapshot must be taken after the
            // lock is granted (refresh_lock.sql).
            client
                .update(queries::REFRESH_LOCK, None, &[])
                .map_err(spi)?;
            client.update(queries::REFRESH, None, &[]).map_err(spi)?;
            let mut table = client
                .update(
                    "SELECT count(*) FROM jobtrack.job_summary_cache",
                    Some(1),
                    &[],
                )
                .map_err(spi)?;
            let row = table
                .next()
                .ok_or_else(|| Error::database("XX000", "jobtrack: a count returned no row"))?;
            req::<i64>(&row, 1)
        })
    })
}
