//! The read functions. Each computes a jobtrack-core result with one query;
//! the `*_optimized` SQL functions return it directly, the `*_cached` ones
//! (in `cache`) through the cache.

use jobtrack_core::{
    check_limit, DatasetAggregate, DatasetStats, Error, Job, JobType, KindAggregate, RunningJob,
    Statistics, Status,
};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;

use crate::error::{spi, OrRaise};
use crate::rows::{self, from_pg, get, req};
use crate::{queries, statement_read};

/// Statistics over every job.
pub fn statistics() -> Result<Statistics, Error> {
    Spi::connect(|client| {
        let mut executions = KindAggregate::default();
        let mut variations = KindAggregate::default();
        for row in statement_read::select(client, queries::STATISTICS, &[])? {
            let kind = match req::<String>(&row, 1)?.parse::<JobType>()? {
                JobType::Execution => &mut executions,
                JobType::Variation => &mut variations,
            };
            let status = req::<String>(&row, 2)?.parse::<Status>()?;
            kind.by_status.insert(status, req(&row, 3)?);
            kind.successful += req::<i64>(&row, 4)?;
            kind.failed += req::<i64>(&row, 5)?;
            kind.duration_sum += req::<f64>(&row, 6)?;
            kind.duration_count += req::<i64>(&row, 7)?;
        }
        Ok(Statistics::from_parts(executions, variations))
    })
}

/// Statistics of one dataset; zeros and nulls for an unknown one.
pub fn dataset_stats(dataset_name: &str) -> Result<DatasetStats, Error> {
    Spi::connect(|client| {
        let row = statement_read::select(client, queries::DATASET_STATS, &[dataset_name.into()])?
            .into_iter()
            .next()
            .ok_or_else(|| Error::database("XX000", "jobtrack: an aggregate returned no row"))?;
        let aggregate = DatasetAggregate {
            executions: req(&row, 1)?,
            variations: req(&row, 2)?,
            successful: req(&row, 3)?,
            failed: req(&row, 4)?,
            duration_sum: req(&row, 5)?,
            duration_count: req(&row, 6)?,
            min_duration: get(&row, 7)?,
            max_duration: get(&row, 8)?,
            first_run: get::<TimestampWithTimeZone>(&row, 9)?.map(from_pg),
            last_run: get::<TimestampWithTimeZone>(&row, 10)?.map(from_pg),
        };
        Ok(DatasetStats::from_parts(dataset_name, aggregate))
    })
}

fn jobs(query: &str, lim: i32) -> Result<Vec<Job>, Error> {
    let lim = check_limit(lim.into())?;
    Spi::connect(|client| {
        statement_read::select(client, query, &[i64::from(lim).into()])?
            .iter()
            .map(rows::job)
            .collect()
    })
}

/// Up to `lim` jobs, newest `created_at` first.
pub fn all_jobs(lim: i32) -> Result<Vec<Job>, Error> {
    jobs(queries::ALL_JOBS, lim)
}

/// Up to `lim` jobs, newest `updated_at` first.
pub fn recent_jobs(lim: i32) -> Result<Vec<Job>, Error> {
    jobs(queries::RECENT_JOBS, lim)
}

/// Every job in an active status, newest `created_at` first.
pub fn running_jobs() -> Result<Vec<RunningJob>, Error> {
    Spi::connect(|client| {
        statement_read::select(client, queries::RUNNING_JOBS, &[])?
            .iter()
            .map(rows::running_job)
            .collect()
    })
}

/// The Job row of `job_id`, if there is one.
pub fn job_by_id(job_id: &str) -> Result<Option<Job>, Error> {
    Spi::connect(|client| {
        let mut table = client
            .select(queries::JOB_BY_ID, Some(1), &[job_id.into()])
            .map_err(spi)?;
        table.next().map(|row| rows::job(&row)).transpose()
    })
}

/// Statistics over every job: counts per kind and status, successes,
/// failures, success rate and average durations.
#[pg_extern(schema = "jobtrack", stable, parallel_safe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_statistics_optimized() -> pgrx::JsonB {
    statistics().and_then(|s| rows::json(&s)).or_raise()
}

/// Statistics of the jobs of one dataset.
#[pg_extern(schema = "jobtrack", stable, parallel_safe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_dataset_stats_optimized(dataset_name: &str) -> pgrx::JsonB {
    dataset_stats(dataset_name)
        .and_then(|s| rows::json(&s))
        .or_raise()
}

/// Up to `lim` jobs of both kinds, newest `created_at` first.
// pgrx reads the column names from `name!` in the signature itself, so
// the row type cannot be a type alias.
#[allow(clippy::type_complexity)]
#[pg_extern(schema = "jobtrack", stable, parallel_safe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_all_jobs_optimized(
    lim: default!(i32, 100),
) -> TableIterator<
    'static,
    (
        name!(job_id, String),
        name!(job_type, String),
        name!(status, String),
        name!(dataset_name, String),
        name!(preset, String),
        name!(mode, String),
        name!(experiment_name, Option<String>),
        name!(variation_id, Option<String>),
        name!(success, Option<bool>),
        name!(duration_seconds, Option<f64>),
        name!(error_message, Option<String>),
        name!(output_path, Option<String>),
        name!(total_steps, Option<i32>),
        name!(current_step, Option<i32>),
        name!(start_time, Option<TimestampWithTimeZone>),
        name!(created_at, TimestampWithTimeZone),
        name!(updated_at, TimestampWithTimeZone),
    ),
> {
    TableIterator::new(all_jobs(lim).or_raise().into_iter().map(rows::job_tuple))
}

/// Up to `lim` jobs of both kinds, newest `updated_at` first.
// pgrx reads the column names from `name!` in the signature itself, so
// the row type cannot be a type alias.
#[allow(clippy::type_complexity)]
#[pg_extern(schema = "jobtrack", stable, parallel_safe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_recent_jobs_optimized(
    lim: default!(i32, 10),
) -> TableIterator<
    'static,
    (
        name!(job_id, String),
        name!(job_type, String),
        name!(status, String),
        name!(dataset_name, String),
        name!(preset, String),
        name!(mode, String),
        name!(experiment_name, Option<String>),
        name!(variation_id, Option<String>),
        name!(success, Option<bool>),
        name!(duration_seconds, Option<f64>),
        name!(error_message, Option<String>),
        name!(output_path, Option<String>),
        name!(total_steps, Option<i32>),
        name!(current_step, Option<i32>),
        name!(start_time, Option<TimestampWithTimeZone>),
        name!(created_at, TimestampWithTimeZone),
        name!(updated_at, TimestampWithTimeZone),
    ),
> {
    TableIterator::new(recent_jobs(lim).or_raise().into_iter().map(rows::job_tuple))
}

/// Every job in an active status, newest `created_at` first, with its
/// progress in percent.
// pgrx reads the column names from `name!` in the signature itself, so
// the row type cannot be a type alias.
#[allow(clippy::type_complexity)]
#[pg_extern(schema = "jobtrack", stable, parallel_safe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_running_jobs() -> TableIterator<
    'static,
    (
        name!(job_id, String),
        name!(job_type, String),
        name!(status, String),
        name!(dataset_name, String),
        name!(start_time, Option<TimestampWithTimeZone>),
        name!(current_step, Option<i32>),
        name!(total_steps, Option<i32>),
        name!(progress, f64),
        name!(experiment_name, Option<String>),
        name!(variation_id, Option<String>),
    ),
> {
    TableIterator::new(
        running_jobs()
            .or_raise()
            .into_iter()
            .map(rows::running_job_tuple),
    )
}
