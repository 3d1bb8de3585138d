//! # jobtrack-postgres
//!
//! jobtrack's Rust API ([`JobApi`](jobtrack_core::JobApi)) on a PostgreSQL
//! server with the jobtrack extension: [`PgStore`] calls the extension's SQL
//! functions through a pool of blocking connections ([`Pool`]), returns
//! core's result types and core's errors. Code written against `JobApi`
//! runs unchanged on `jobtrack_sqlite::JobStore`.
#![warn(missing_docs)]

mod error;
mod pool;
mod store;

pub use jobtrack_core;
pub use pool::{Pool, PoolCounts, PoolOptions, PooledClient};
pub use store::{PgStore, PgTransaction};

/// `PgStore` is shared between threads; keep it that way.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PgStore>();
};
