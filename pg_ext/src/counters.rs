//! The statistics counters (`jobtrack.job_counters`, kept by the summary
//! triggers of `sql/pg/schema.sql`, and `jobtrack.experiment_counters`,
//! kept by the experiment triggers): `verify_statistics()` and
//! `verify_experiment_stats()`, which compare them with a full recount
//! through jobtrack-core's `statistics_differences` and
//! `experiment_stats_differences`, exactly as the SQLite library does, so
//! both backends report the same rows.

use jobtrack_core::{
    experiment_stats_differences, statistics_differences, CounterRow, Error, ExperimentCounterRow,
    ExperimentStatsDifference, StatisticsDifference,
};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiHeapTupleData;

use crate::error::{spi, OrRaise};
use crate::queries;
use crate::reads::counts;
use crate::rows::req;

/// Counter rows per key in 0.1.0: one per shard.
const SHARDS: i32 = 16;

/// 0.1.0's counter shard of this session (its backend slot modulo 16), for
/// 0.1.0's triggers only: between installing this library and `ALTER
/// EXTENSION jobtrack UPDATE`, a 0.1.0 catalog still calls the C symbol
/// `counter_shard_wrapper`, so it stays, without SQL (0.2.0's counters are
/// insert-only deltas and need no shard).
#[pg_extern(sql = false)]
fn counter_shard() -> i16 {
    #[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15", feature = "pg16"))]
    // SAFETY: set once when the backend starts, read-only afterwards.
    let slot: i32 = unsafe { pg_sys::MyBackendId };
    #[cfg(any(feature = "pg17", feature = "pg18"))]
    // SAFETY: as above.
    let slot: i32 = unsafe { pg_sys::MyProcNumber };
    slot.rem_euclid(SHARDS) as i16
}

/// Runs a verify query, whose first column tells the counters' rows
/// (`counted`) from the recount's (`actual`), and parses the rows of each.
fn counted_and_actual<T>(
    query: &str,
    parse: impl Fn(&SpiHeapTupleData) -> Result<T, Error>,
) -> Result<(Vec<T>, Vec<T>), Error> {
    Spi::connect(|client| {
        let (mut counted, mut actual) = (Vec::new(), Vec::new());
        for row in client.select(query, None, &[]).map_err(spi)? {
            let side = if req::<String>(&row, 1)? == "counted" {
                &mut counted
            } else {
                &mut actual
            };
            side.push(parse(&row)?);
        }
        Ok((counted, actual))
    })
}

/// The differences between the counters and a full recount, one per (job
/// type, dataset, status) that disagrees, sorted by those three.
pub fn differences() -> Result<Vec<StatisticsDifference>, Error> {
    let (counted, actual) = counted_and_actual(queries::VERIFY_STATISTICS, |row| {
        Ok(CounterRow {
            job_type: req::<String>(row, 2)?.parse()?,
            dataset_name: req(row, 3)?,
            status: req::<String>(row, 4)?.parse()?,
            counts: counts(row, 5)?,
        })
    })?;
    Ok(statistics_differences(counted, actual))
}

/// The differences between the statistics counters and a full recount of
/// the base tables; empty when all is well. A full scan: a check to run now
/// and then, not on a dashboard.
// pgrx reads the column names from `name!` in the signature itself.
#[allow(clippy::type_complexity)]
#[pg_extern(schema = "jobtrack", stable, parallel_safe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn verify_statistics() -> TableIterator<
    'static,
    (
        name!(job_type, String),
        name!(dataset_name, String),
        name!(status, String),
        name!(counted_jobs, i64),
        name!(actual_jobs, i64),
        name!(counted_successful, i64),
        name!(actual_successful, i64),
        name!(counted_failed, i64),
        name!(actual_failed, i64),
        name!(counted_duration_count, i64),
        name!(actual_duration_count, i64),
        name!(counted_duration_micros_sum, i64),
        name!(actual_duration_micros_sum, i64),
    ),
> {
    TableIterator::new(differences().or_raise().into_iter().map(|d| {
        (
            d.job_type.as_str().to_owned(),
            d.dataset_name,
            d.status.as_str().to_owned(),
            d.counted_jobs,
            d.actual_jobs,
            d.counted_successful,
            d.actual_successful,
            d.counted_failed,
            d.actual_failed,
            d.counted_duration_count,
            d.actual_duration_count,
            d.counted_duration_micros_sum,
            d.actual_duration_micros_sum,
        )
    }))
}

/// The differences between the experiment counters and a full recount of
/// the variations, one per (experiment, total_combinations, status) that
/// disagrees, sorted by those three.
fn experiment_differences() -> Result<Vec<ExperimentStatsDifference>, Error> {
    let (counted, actual) = counted_and_actual(queries::VERIFY_EXPERIMENT_STATS, |row| {
        let counter = ExperimentCounterRow {
            total_combinations: req(row, 3)?,
            status: req::<String>(row, 4)?.parse()?,
            counts: counts(row, 5)?,
        };
        Ok((req::<String>(row, 2)?, counter))
    })?;
    Ok(experiment_stats_differences(counted, actual))
}

/// The differences between the experiment counters (sweep progress) and a
/// full recount of the variations; empty when all is well. A full scan, as
/// verify_statistics().
#[allow(clippy::type_complexity)]
#[pg_extern(schema = "jobtrack", stable, parallel_safe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn verify_experiment_stats() -> TableIterator<
    'static,
    (
        name!(experiment_name, String),
        name!(total_combinations, i32),
        name!(status, String),
        name!(counted_jobs, i64),
        name!(actual_jobs, i64),
        name!(counted_successful, i64),
        name!(actual_successful, i64),
        name!(counted_failed, i64),
        name!(actual_failed, i64),
        name!(counted_duration_count, i64),
        name!(actual_duration_count, i64),
        name!(counted_duration_micros_sum, i64),
        name!(actual_duration_micros_sum, i64),
    ),
> {
    TableIterator::new(experiment_differences().or_raise().into_iter().map(|d| {
        (
            d.experiment_name,
            d.total_combinations,
            d.status.as_str().to_owned(),
            d.counted_jobs,
            d.actual_jobs,
            d.counted_successful,
            d.actual_successful,
            d.counted_failed,
            d.actual_failed,
            d.counted_duration_count,
            d.actual_duration_count,
            d.counted_duration_micros_sum,
            d.actual_duration_micros_sum,
        )
    }))
}
