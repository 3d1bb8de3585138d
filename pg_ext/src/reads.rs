//! The read functions. Each computes a jobtrack-core result with one query;
//! the `*_optimized` SQL functions return it directly, the `*_cached` ones
//! (in `cache`) through the cache.

use jobtrack_core::{
    check_limit, Counts, DatasetAggregate, DatasetStats, Error, Job, JobType, RunningJob,
    Statistics, Status,
};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::spi::SpiHeapTupleData;

use crate::error::{spi, OrRaise};
use crate::rows::{self, from_pg, get, req};
use crate::{queries, statement_read};

/// Statistics over every job, from the counters alone (summed over
/// datasets and shards in SQL): the cost depends on the number of datasets,
/// not of jobs.
pub fn statistics() -> Result<Statistics, Error> {
    Spi::connect(|client| {
        let rows = statement_read::select(client, queries::STATISTICS, &[])?
            .iter()
            .map(|row| {
                Ok((
                    req::<String>(row, 1)?.parse::<JobType>()?,
                    req::<String>(row, 2)?.parse::<Status>()?,
                    counts(row, 3)?,
                ))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Statistics::from_counters(rows))
    })
}

/// The five counter values in columns `first`.. of a row.
pub fn counts(row: &SpiHeapTupleData, first: usize) -> Result<Counts, Error> {
    Ok(Counts {
        jobs: req(row, first)?,
        successful: req(row, first + 1)?,
        failed: req(row, first + 2)?,
        duration_count: req(row, first + 3)?,
        duration_micros_sum: req(row, first + 4)?,
    })
}

/// Statistics of one dataset; zeros and nulls for an unknown one. Counts and
/// the average come from the dataset's counter rows, the extremes from one
/// index seek each.
pub fn dataset_stats(dataset_name: &str) -> Result<DatasetStats, Error> {
    Spi::connect(|client| {
        let row = statement_read::select(client, queries::DATASET_STATS, &[dataset_name.into()])?
            .into_iter()
            .next()
            .ok_or_else(|| Error::database("XX000", "jobtrack: an aggregate returned no row"))?;
        let aggregate = DatasetAggregate {
            min_duration: get(&row, 11)?,
            max_duration: get(&row, 12)?,
            first_run: get::<TimestampWithTimeZone>(&row, 13)?.map(from_pg),
            last_run: get::<TimestampWithTimeZone>(&row, 14)?.map(from_pg),
            ..DatasetAggregate::from_counters(counts(&row, 1)?, counts(&row, 6)?)
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
