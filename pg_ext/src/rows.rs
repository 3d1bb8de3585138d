//! Conversions between SPI rows, jobtrack-core result types and the tuples of
//! the TABLE functions. Reads build core types (so JSON and rows come from one
//! value, and a future shared cache can hold them); timestamps cross as
//! PostgreSQL's microseconds, exactly.

use jobtrack_core::{Error, Job, JobType, StaleAfter, Status, Timestamp};
use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::spi::{SpiHeapTupleData, SpiResult};
use pgrx::{FromDatum, IntoDatum};

use crate::error::spi;

/// Declares a `#[pg_extern]` function returning Job rows (the 18 columns of
/// the view `jobtrack.jobs`): pgrx reads the column names from `name!` in
/// the function's own signature, so the row type cannot be a type alias and
/// is written once, here.
///
/// A catalog of an older version declares the row without the columns
/// added since (every one at the end) and calls the same symbol until ALTER
/// EXTENSION UPDATE: pgrx forms each row with the catalog's descriptor,
/// which reads only its own leading columns of the tuple, so such a caller
/// gets exactly its old row.
macro_rules! job_table_function {
    ($(#[$attr:meta])* fn $name:ident($($arg:tt)*) $body:block) => {
        $(#[$attr])*
        #[allow(clippy::type_complexity)]
        fn $name($($arg)*) -> TableIterator<
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
                name!(start_time, Option<pgrx::datum::TimestampWithTimeZone>),
                name!(created_at, pgrx::datum::TimestampWithTimeZone),
                name!(updated_at, pgrx::datum::TimestampWithTimeZone),
                name!(last_heartbeat, Option<pgrx::datum::TimestampWithTimeZone>),
            ),
        > $body
    };
}

pub(crate) use job_table_function;

/// A core timestamp from a `timestamptz`.
pub fn from_pg(t: TimestampWithTimeZone) -> Timestamp {
    Timestamp::from_pg_micros(pg_sys::TimestampTz::from(t))
}

/// A `timestamptz` from a core timestamp; 22008 for one PostgreSQL does
/// not represent.
pub fn try_to_pg(t: Timestamp) -> Result<TimestampWithTimeZone, Error> {
    TimestampWithTimeZone::try_from(t.pg_micros())
        .map_err(|_| Error::database("22008", format!("timestamp out of range: {t}")))
}

/// A `timestamptz` from a core timestamp that came out of a finite
/// timestamptz column (a result row).
pub fn to_pg(t: Timestamp) -> TimestampWithTimeZone {
    try_to_pg(t).unwrap_or_else(|e| crate::error::raise(&e))
}

/// An interval argument as core's `StaleAfter`: months count 30 days and
/// days 24 hours, as `EXTRACT(EPOCH FROM …)` counts them; 22023 naming
/// `stale_after` unless positive and at most 100,000 days.
pub fn stale_after(interval: Interval) -> Result<StaleAfter, Error> {
    const DAY: i128 = 86_400_000_000;
    let micros = i128::from(interval.months()) * 30 * DAY
        + i128::from(interval.days()) * DAY
        + i128::from(interval.micros());
    StaleAfter::from_micros(micros.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// Reads column `i` (1-based) of a row.
pub fn get<T: IntoDatum + FromDatum>(row: &SpiHeapTupleData, i: usize) -> Result<Option<T>, Error> {
    let value: SpiResult<Option<T>> = row.get(i);
    value.map_err(spi)
}

/// Reads a column that is never null.
pub fn req<T: IntoDatum + FromDatum>(row: &SpiHeapTupleData, i: usize) -> Result<T, Error> {
    get(row, i)?
        .ok_or_else(|| Error::database("XX000", format!("jobtrack: unexpected NULL in column {i}")))
}

fn ts(row: &SpiHeapTupleData, i: usize) -> Result<Option<Timestamp>, Error> {
    Ok(get::<TimestampWithTimeZone>(row, i)?.map(from_pg))
}

/// A Job from a row of the shape of `all_jobs.sql` (18 columns; 17 from
/// the Job view of a catalog older than 0.6.0, which has no
/// `last_heartbeat`).
pub fn job(row: &SpiHeapTupleData) -> Result<Job, Error> {
    Ok(Job {
        job_id: req(row, 1)?,
        job_type: req::<String>(row, 2)?.parse::<JobType>()?,
        status: req::<String>(row, 3)?.parse::<Status>()?,
        dataset_name: req(row, 4)?,
        preset: req(row, 5)?,
        mode: req(row, 6)?,
        experiment_name: get(row, 7)?,
        variation_id: get(row, 8)?,
        success: get(row, 9)?,
        duration_seconds: get(row, 10)?,
        error_message: get(row, 11)?,
        output_path: get(row, 12)?,
        total_steps: get(row, 13)?,
        current_step: get(row, 14)?,
        start_time: ts(row, 15)?,
        created_at: req::<TimestampWithTimeZone>(row, 16).map(from_pg)?,
        updated_at: req::<TimestampWithTimeZone>(row, 17).map(from_pg)?,
        last_heartbeat: if row.columns() >= 18 {
            ts(row, 18)?
        } else {
            None
        },
    })
}

/// The columns of a Job row in a TABLE result.
pub type JobTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<f64>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<i32>,
    Option<TimestampWithTimeZone>,
    TimestampWithTimeZone,
    TimestampWithTimeZone,
    Option<TimestampWithTimeZone>,
);

/// A Job as a TABLE row.
pub fn job_tuple(j: Job) -> JobTuple {
    (
        j.job_id,
        j.job_type.as_str().to_owned(),
        j.status.as_str().to_owned(),
        j.dataset_name,
        j.preset,
        j.mode,
        j.experiment_name,
        j.variation_id,
        j.success,
        j.duration_seconds,
        j.error_message,
        j.output_path,
        j.total_steps,
        j.current_step,
        j.start_time.map(to_pg),
        to_pg(j.created_at),
        to_pg(j.updated_at),
        j.last_heartbeat.map(to_pg),
    )
}

/// A result as `jsonb`.
pub fn json<T: serde::Serialize>(value: &T) -> Result<pgrx::JsonB, Error> {
    serde_json::to_value(value)
        .map(pgrx::JsonB)
        .map_err(|e| Error::database("XX000", format!("jobtrack: cannot serialise a result: {e}")))
}
