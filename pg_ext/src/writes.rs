//! The write functions. Each validates its whole input with jobtrack-core
//! first (element-indexed errors, nothing applied), then applies it with one
//! set-based statement — one INSERT, UPDATE or DELETE for a whole batch, fed
//! by `unnest` of parallel arrays of the normalised input — that takes its
//! row locks in job_id order. Every call is measured (`metrics::measured`).

use jobtrack_core::{
    check_current_step, check_days, check_unique_ids, last_update_wins, parse_batch, CleanupReport,
    Error, JobInput, NewExecution, NewVariation, Status, StatusUpdate,
};
use pgrx::prelude::*;

use crate::error::spi;
use crate::metrics::measured;
use crate::rows::{self, req};
use crate::{queries, reads};

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

/// Rejects a create batch naming an id that a job of either kind has
/// (23505, naming the first such id in input order).
fn reject_existing(client: &mut pgrx::spi::SpiClient<'_>, ids: &[&str]) -> Result<(), Error> {
    let mut table = client
        .update(queries::FIRST_EXISTING_ID, Some(1), &[ids.to_vec().into()])
        .map_err(spi)?;
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
    Spi::connect_mut(|client| {
        reject_existing(client, &ids)?;
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
        client
            .update(queries::INSERT_EXECUTIONS, None, &args)
            .map_err(spi)?;
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
    Spi::connect_mut(|client| {
        reject_existing(client, &ids)?;
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
        client
            .update(queries::INSERT_VARIATIONS, None, &args)
            .map_err(spi)?;
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
    Spi::connect_mut(|client| {
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
        let updated = client.update(kind.update_sql(), None, &args).map_err(spi)?;
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
fn create_execution(job: pgrx::JsonB) -> pgrx::JsonB {
    measured("create_execution", || {
        let new = NewExecution::from_json(&job.0, None)?;
        insert_executions(std::slice::from_ref(&new))?;
        created_job(&new.job_id)
    })
}

/// Creates one variation from a JSON object; returns the job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn create_variation(job: pgrx::JsonB) -> pgrx::JsonB {
    measured("create_variation", || {
        let new = NewVariation::from_json(&job.0, None)?;
        insert_variations(std::slice::from_ref(&new))?;
        created_job(&new.job_id)
    })
}

/// Creates executions from a JSON array, all or none; returns their ids in
/// input order.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_create_executions(jobs: pgrx::JsonB) -> Vec<String> {
    measured("batch_create_executions", || {
        let items: Vec<NewExecution> = parse_batch(&jobs.0)?;
        check_unique_ids(&items)?;
        insert_executions(&items)?;
        Ok(items.into_iter().map(|e| e.job_id).collect())
    })
}

/// Creates variations from a JSON array, all or none; returns their ids in
/// input order.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_create_variations(jobs: pgrx::JsonB) -> Vec<String> {
    measured("batch_create_variations", || {
        let items: Vec<NewVariation> = parse_batch(&jobs.0)?;
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
        let step = check_current_step(current_step.into())?;
        Spi::connect_mut(|client| {
            let mut table = client
                .update(
                    queries::UPDATE_PROGRESS,
                    Some(1),
                    &[job_id.into(), step.into()],
                )
                .map_err(spi)?;
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
fn batch_update_execution_status(updates: pgrx::JsonB) -> i32 {
    measured("batch_update_execution_status", || {
        let items: Vec<StatusUpdate> = parse_batch(&updates.0)?;
        apply_status_updates(Kind::Execution, &items)
    })
}

/// Changes the status of many variations from a JSON array, all or none;
/// unknown ids are skipped; returns the number of variations changed.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn batch_update_variation_status(updates: pgrx::JsonB) -> i32 {
    measured("batch_update_variation_status", || {
        let items: Vec<StatusUpdate> = parse_batch(&updates.0)?;
        apply_status_updates(Kind::Variation, &items)
    })
}

/// Deletes jobs in a terminal status created more than `days` days ago
/// (keeping failed ones when `keep_failed`); never an active job.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn cleanup_old_jobs(days: default!(i32, 30), keep_failed: default!(bool, true)) -> pgrx::JsonB {
    measured("cleanup_old_jobs", || {
        let days = check_days(days.into())?;
        let report = Spi::connect_mut(|client| {
            let args = [days.into(), keep_failed.into()];
            let mut table = client
                .update(queries::CLEANUP, Some(1), &args)
                .map_err(spi)?;
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
