//! The read functions. Each computes a jobtrack-core result with one query;
//! the `*_optimized` SQL functions return it directly, the `*_cached` ones
//! (in `cache`) through the cache.

use std::borrow::Cow;

use jobtrack_core::{
    check_limit, unknown_cursor, Counts, DatasetAggregate, DatasetStats, Error, Job, JobType, Page,
    RunningJob, Statistics, Status,
};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::spi::SpiHeapTupleData;

use crate::error::OrRaise;
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
    Counts::from_columns(first, |i| req(row, i))
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

/// The schema, for the definition of the Job view `jobtrack.jobs`.
const SCHEMA: &str = include_str!("../../sql/pg/schema.sql");

/// How a listing query names the Job view (once in each of them).
const JOBS_VIEW: &str = "FROM jobtrack.jobs AS j";

/// `query`, a listing that reads the Job view (`ALL_JOBS`, `RECENT_JOBS`,
/// `GET_JOB`), as the catalog in place can run it: as written when the
/// view exists, else with the view's definition (the text between the
/// `jobs view` markers in schema.sql) as a subquery in its place, which
/// PostgreSQL plans exactly like the view, with the caller's privileges.
///
/// A catalog older than 0.3.0 has no view, and its functions call this
/// library from the installation of the 0.3.0 package until ALTER EXTENSION
/// UPDATE: every listing, and every create (which returns the job), would
/// fail with 42P01 meanwhile. The README promises that the old catalog
/// keeps working; `make upgrade-test` checks it from every release.
pub fn on_catalog(query: &'static str) -> Result<Cow<'static, str>, Error> {
    // SAFETY: catalog cache lookups by name, in the transaction of the
    // calling SQL function.
    let view_exists = unsafe {
        let namespace = pg_sys::get_namespace_oid(c"jobtrack".as_ptr(), true);
        namespace != pg_sys::InvalidOid
            && pg_sys::get_relname_relid(c"jobs".as_ptr(), namespace) != pg_sys::InvalidOid
    };
    if view_exists {
        return Ok(query.into());
    }
    let definition = SCHEMA
        .split_once("-- jobs view: begin\n")
        .and_then(|(_, rest)| rest.split_once("-- jobs view: end\n"))
        .map(|(definition, _)| definition);
    match definition {
        Some(definition) if query.matches(JOBS_VIEW).count() == 1 => Ok(query
            .replacen(JOBS_VIEW, &format!("FROM (\n{definition}) AS j"), 1)
            .into()),
        _ => Err(Error::database(
            "XX000",
            "jobtrack: no definition of the Job view for a catalog without it",
        )),
    }
}

fn jobs(query: &'static str, lim: i32) -> Result<Vec<Job>, Error> {
    let lim = check_limit(lim.into())?;
    let query = on_catalog(query)?;
    Spi::connect(|client| {
        statement_read::select(client, &query, &[i64::from(lim).into()])?
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

/// `lim` of a listing (`sql/pg/listings.sql`), checked as core checks it
/// (0..=10000); NULL is every row when `null_means_all`, else 22023.
/// IMMUTABLE, so that a constant `lim` is folded when the call is planned.
// No SET search_path on the helpers, for every call of a listing plans
// them (a custom plan: its LIMIT is only known then) and the planner calls
// them while estimating; the clause's GUC save and restore would cost more
// than the rest of the helper. The one query they run pins the path itself.
#[pg_extern(schema = "jobtrack", name = "_listing_limit", immutable, parallel_safe)]
fn listing_limit(lim: Option<i32>, null_means_all: Option<bool>) -> Option<i64> {
    checked_limit(lim, null_means_all).or_raise()
}

/// [`listing_limit`] for a later page, after the cursor `after` is checked
/// to name a job: the outermost LIMIT of the page, computed before any row
/// is read, so that every argument error of a listing is raised whatever
/// `lim` and the plan.
#[pg_extern(
    schema = "jobtrack",
    name = "_listing_page_limit",
    stable,
    parallel_safe
)]
fn listing_page_limit(
    lim: Option<i32>,
    null_means_all: Option<bool>,
    after: Option<&str>,
) -> Option<i64> {
    let lim = checked_limit(lim, null_means_all).or_raise();
    if let Some(after) = after {
        cursor_created_at(after).or_raise();
    }
    lim
}

fn checked_limit(lim: Option<i32>, null_means_all: Option<bool>) -> Result<Option<i64>, Error> {
    match (lim, null_means_all) {
        (None, Some(true)) => Ok(None),
        (None, _) => Err(Error::invalid(None, "lim", "is required")),
        (Some(lim), _) => Ok(Page::new(Some(lim.into()), None)?.lim.map(i64::from)),
    }
}

/// The `created_at` of job `after`, where a later page of a listing
/// (`sql/pg/listings.sql`) seeks; NULL for NULL.
#[pg_extern(schema = "jobtrack", name = "_listing_cursor", stable, parallel_safe)]
fn listing_cursor(after: Option<&str>) -> Option<TimestampWithTimeZone> {
    Some(cursor_created_at(after?).or_raise())
}

/// The `created_at` of job `after`, looked up by primary key in both base
/// tables with the caller's rights; 22023 naming `after` when there is no
/// such job, as in the other backend.
fn cursor_created_at(after: &str) -> Result<TimestampWithTimeZone, Error> {
    Page::new(None, Some(after))?;
    crate::cache::with_pinned_search_path(|| {
        Spi::connect(|client| {
            let rows = statement_read::select(client, queries::LISTING_CURSOR, &[after.into()])?;
            match rows.first() {
                Some(row) => req::<TimestampWithTimeZone>(row, 1),
                None => Err(unknown_cursor(after)),
            }
        })
    })
}

// The listings of catalogs before 0.4.0, which declare these two C
// functions, until ALTER EXTENSION UPDATE replaces them with the SQL
// functions of `sql/pg/listings.sql` (no SQL of their own: `sql = false`).
rows::job_table_function! {
    /// Up to `lim` jobs of both kinds, newest `created_at` first.
    #[pg_extern(schema = "jobtrack", stable, parallel_safe, strict, sql = false)]
    #[search_path(jobtrack, pg_catalog, pg_temp)]
    fn get_all_jobs_optimized(lim: default!(i32, 100)) {
        TableIterator::new(all_jobs(lim).or_raise().into_iter().map(rows::job_tuple))
    }
}

rows::job_table_function! {
    /// Up to `lim` jobs of both kinds, newest `updated_at` first.
    #[pg_extern(schema = "jobtrack", stable, parallel_safe, strict)]
    #[search_path(jobtrack, pg_catalog, pg_temp)]
    fn get_recent_jobs_optimized(lim: default!(i32, 10)) {
        TableIterator::new(recent_jobs(lim).or_raise().into_iter().map(rows::job_tuple))
    }
}

/// Every job in an active status, newest `created_at` first, with its
/// progress in percent.
// pgrx reads the column names from `name!` in the signature itself, so
// the row type cannot be a type alias.
#[allow(clippy::type_complexity)]
#[pg_extern(schema = "jobtrack", stable, parallel_safe, strict, sql = false)]
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
