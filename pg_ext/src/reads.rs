//! The read functions. Each computes a jobtrack-core result with one query;
//! the `*_optimized` SQL functions return it directly, the `*_cached` ones
//! (in `cache`) through the cache.

use std::borrow::Cow;

use jobtrack_core::{
    check_limit, Counts, DatasetAggregate, DatasetStats, Error, ExperimentCounterRow,
    ExperimentStats, Extremes, Job, JobType, StaleAfter, Statistics, Status,
};
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
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

/// `query`, one of the runtime queries, as the catalog in place can run
/// it. Until ALTER EXTENSION UPDATE, an older catalog calls this library
/// from the installation of a newer package on; the README promises that
/// it keeps working, and `make upgrade-test` checks it from every release.
/// Two things may be missing, each added by one release:
///
/// - the Job view `jobtrack.jobs` (0.3.0): a query that reads it (once,
///   [`JOBS_VIEW`]) reads the view's definition (the text between the
///   `jobs view` markers in schema.sql) as a subquery in its place, which
///   PostgreSQL plans exactly like the view, with the caller's privileges;
/// - the column `last_heartbeat` of the base tables (0.6.0): a query reads
///   each base table as a subquery that adds a NULL `last_heartbeat`
///   ([`without_heartbeats`]), and sets none.
///
/// A listing function then returns the row its catalog declares, the
/// leading columns of the row it reads (`statement_read::into_result_set`).
/// The OID of relation `name` of schema jobtrack, `InvalidOid` when the
/// catalog has none.
///
/// # Safety
/// Catalog cache lookups by name: in a transaction.
unsafe fn relation_oid(name: &std::ffi::CStr) -> pg_sys::Oid {
    // SAFETY: as for the function.
    unsafe {
        let namespace = pg_sys::get_namespace_oid(c"jobtrack".as_ptr(), true);
        if namespace == pg_sys::InvalidOid {
            pg_sys::InvalidOid
        } else {
            pg_sys::get_relname_relid(name.as_ptr(), namespace)
        }
    }
}

/// Whether the catalog has relation `name` in schema jobtrack: the new
/// library serves an older catalog until `ALTER EXTENSION UPDATE`.
pub fn has_relation(name: &std::ffi::CStr) -> bool {
    // SAFETY: catalog cache lookups, in the transaction of the calling SQL
    // function.
    unsafe { relation_oid(name) != pg_sys::InvalidOid }
}

pub fn on_catalog(query: &'static str) -> Result<Cow<'static, str>, Error> {
    // Catalog cache lookups only for what the query names: a listing is
    // called often, and most of its queries name neither.
    // SAFETY (both closures): catalog cache lookups by name, in the
    // transaction of the calling SQL function.
    let relation = |name: &std::ffi::CStr| unsafe { relation_oid(name) };
    let has_heartbeats = || unsafe {
        let executions = relation(c"executions");
        executions == pg_sys::InvalidOid
            || pg_sys::get_attnum(executions, c"last_heartbeat".as_ptr())
                != pg_sys::InvalidAttrNumber as i16
    };
    let mut query: Cow<'static, str> = query.into();
    if query.contains(JOBS_VIEW) && relation(c"jobs") == pg_sys::InvalidOid {
        let definition = SCHEMA
            .split_once("-- jobs view: begin\n")
            .and_then(|(_, rest)| rest.split_once("-- jobs view: end\n"))
            .map(|(definition, _)| definition);
        query = match definition {
            Some(definition) if query.matches(JOBS_VIEW).count() == 1 => query
                .replacen(JOBS_VIEW, &format!("FROM (\n{definition}) AS j"), 1)
                .into(),
            _ => {
                return Err(Error::database(
                    "XX000",
                    "jobtrack: no definition of the Job view for a catalog without it",
                ))
            }
        };
    }
    if query.contains("last_heartbeat") && !has_heartbeats() {
        query = without_heartbeats(&query).into();
    }
    Ok(query)
}

/// How the runtime queries set `last_heartbeat` (update_progress.sql).
const SET_HEARTBEAT: &str =
    ",\n        last_heartbeat = GREATEST(last_heartbeat, statement_timestamp())";

/// `query` for base tables without `last_heartbeat`: each read of a base
/// table (`FROM jobtrack.executions AS x`) reads it with a NULL
/// `last_heartbeat` added, which the planner flattens (the same plan), and
/// an assignment of it ([`SET_HEARTBEAT`]) is dropped. `make
/// upgrade-test` runs every function of each older catalog through this.
fn without_heartbeats(query: &str) -> String {
    let mut adapted = query.replace(SET_HEARTBEAT, "");
    for table in ["executions", "variations"] {
        adapted = adapted.replace(
            &format!("FROM jobtrack.{table} AS "),
            &format!(
                "FROM (SELECT *, NULL::timestamptz AS last_heartbeat FROM jobtrack.{table}) AS "
            ),
        );
    }
    adapted
}

/// The rows of `query` (a listing of Job rows, `$1` lim and then `args`)
/// as Jobs.
fn jobs(query: &'static str, lim: i32, mut args: Vec<DatumWithOid<'_>>) -> Result<Vec<Job>, Error> {
    let lim = check_limit(lim.into())?;
    let query = on_catalog(query)?;
    args.insert(0, i64::from(lim).into());
    Spi::connect(|client| {
        statement_read::select(client, &query, &args)?
            .iter()
            .map(rows::job)
            .collect()
    })
}

/// The progress of one sweep; zeros and nulls for an unknown experiment.
/// Counts and the average come from the experiment's counter rows, the
/// extremes from one index seek each (`experiment_stats.sql`).
pub fn experiment_stats(experiment_name: &str) -> Result<ExperimentStats, Error> {
    Spi::connect(|client| {
        let rows =
            statement_read::select(client, queries::EXPERIMENT_STATS, &[experiment_name.into()])?;
        let first = rows.first().ok_or_else(|| {
            Error::database("XX000", "jobtrack: experiment_stats returned no row")
        })?;
        let extremes = Extremes {
            min_duration: get(first, 8)?,
            max_duration: get(first, 9)?,
            first_run: get::<TimestampWithTimeZone>(first, 10)?.map(from_pg),
            last_run: get::<TimestampWithTimeZone>(first, 11)?.map(from_pg),
        };
        let mut counters = Vec::with_capacity(rows.len());
        for row in &rows {
            // NULL: the experiment has no counter rows.
            let Some(total_combinations) = get::<i32>(row, 1)? else {
                continue;
            };
            counters.push(ExperimentCounterRow {
                total_combinations,
                status: req::<String>(row, 2)?.parse()?,
                counts: counts(row, 3)?,
            });
        }
        Ok(ExperimentStats::from_counters(
            experiment_name,
            counters,
            extremes,
        ))
    })
}

/// Up to `lim` jobs, newest `created_at` first: the first page of
/// `all_jobs.sql`, for the catalogs before 0.4.0.
pub fn all_jobs(lim: i32) -> Result<Vec<Job>, Error> {
    jobs(
        queries::ALL_JOBS,
        lim,
        vec![TimestampWithTimeZone::positive_infinity().into(), "".into()],
    )
}

/// The Job rows of the stale jobs (`stale_jobs.sql`), the longest silent
/// first; none when the cut-off lies before every stored time.
pub fn stale_jobs(stale_after: StaleAfter) -> Result<Vec<Job>, Error> {
    let Some(cutoff) = stale_after.cutoff(crate::writes::statement_start()) else {
        return Ok(Vec::new());
    };
    Spi::connect(|client| {
        statement_read::select(
            client,
            queries::STALE_JOBS,
            &[rows::try_to_pg(cutoff)?.into()],
        )?
        .iter()
        .map(rows::job)
        .collect()
    })
}

/// Up to `lim` jobs, newest `updated_at` first.
pub fn recent_jobs(lim: i32) -> Result<Vec<Job>, Error> {
    jobs(queries::RECENT_JOBS, lim, Vec::new())
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

/// The progress of one hyper-parameter sweep.
#[pg_extern(schema = "jobtrack", stable, parallel_safe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_experiment_stats(experiment_name: &str) -> pgrx::JsonB {
    experiment_stats(experiment_name)
        .and_then(|s| rows::json(&s))
        .or_raise()
}

// The listing of catalogs before 0.4.0, until ALTER EXTENSION UPDATE
// replaces it with the function of `listings` (no SQL of its own:
// `sql = false`). Their get_running_jobs() is served by
// `listings::get_running_jobs_wrapper`.
rows::job_table_function! {
    /// Up to `lim` jobs of both kinds, newest `created_at` first.
    #[pg_extern(schema = "jobtrack", stable, parallel_safe, strict, sql = false)]
    #[search_path(jobtrack, pg_catalog, pg_temp)]
    fn get_all_jobs_optimized(lim: default!(i32, 100)) {
        TableIterator::new(all_jobs(lim).or_raise().into_iter().map(rows::job_tuple))
    }
}

rows::job_table_function! {
    /// The jobs that expect heartbeats and have shown no sign of life for
    /// longer than `stale_after` (what `fail_stale_jobs` would fail), the
    /// longest silent first.
    #[pg_extern(schema = "jobtrack", stable, parallel_safe)]
    #[search_path(jobtrack, pg_catalog, pg_temp)]
    fn get_stale_jobs(stale_after: default!(Option<pgrx::datum::Interval>, "'00:15:00'")) {
        let jobs = stale_after
            .ok_or_else(|| Error::invalid(None, "stale_after", "is required"))
            .and_then(rows::stale_after)
            .and_then(stale_jobs)
            .or_raise();
        TableIterator::new(jobs.into_iter().map(rows::job_tuple))
    }
}
