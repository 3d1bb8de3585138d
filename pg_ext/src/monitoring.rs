//! Sessions and transaction metrics.

use jobtrack_core::PoolStatus;
use pgrx::prelude::*;

use crate::error::{spi, OrRaise};
use crate::rows::req;
use crate::{metrics, queries, rows};

/// Client sessions of the current database: total, active, idle, idle in a
/// transaction, waiting for a lock; and `max_connections`.
#[pg_extern(schema = "jobtrack", stable, parallel_restricted)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_pool_status() -> pgrx::JsonB {
    Spi::connect(|client| {
        let row = client
            .select(queries::POOL_STATUS, Some(1), &[])
            .map_err(spi)?
            .next()
            .ok_or_else(|| {
                jobtrack_core::Error::database("XX000", "jobtrack: an aggregate returned no row")
            })?;
        Ok(PoolStatus {
            backend: "postgresql".to_owned(),
            max_connections: req(&row, 1)?,
            total: req(&row, 2)?,
            active: req(&row, 3)?,
            idle: req(&row, 4)?,
            idle_in_transaction: req(&row, 5)?,
            waiting: req(&row, 6)?,
            pool: None,
        })
    })
    .and_then(|p| rows::json(&p))
    .or_raise()
}

/// Counts and durations (seconds) of the calls of each write function since
/// the last reset, failed calls included: of every session of the server
/// when the library is preloaded, else of this session.
#[pg_extern(schema = "jobtrack", stable, parallel_restricted)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_transaction_metrics() -> pgrx::JsonB {
    rows::json(&metrics::snapshot()).or_raise()
}

/// Forgets the transaction metrics (server-wide when preloaded).
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn reset_transaction_metrics() {
    metrics::reset();
}
