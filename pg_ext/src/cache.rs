//! The result cache of the `*_cached` functions.
//!
//! The seam: every cached read goes through [`read_through`] with its key
//! (`jobtrack_core::cache_key`) and time-to-live (`jobtrack_core::ttl`).
//! The contract's cache is *exact*: a hit must equal what the uncached
//! function returns at that moment, so invalidation has to reach every
//! session at commit. Only a cache in shared memory can learn of other
//! sessions' commits, and shared memory exists only when the library is in
//! `shared_preload_libraries`. This version has no shared cache yet (a later
//! issue): `read_through` computes every call and counts it as a miss, per
//! session, and a NOTICE once per session says so. The shared cache will
//! plug in here — lookup before `compute`, store after it when the
//! invalidation generation did not move — without touching the callers.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

use jobtrack_core::{cache_key, check_limit, ttl, CacheStats, Error};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

use crate::error::OrRaise;
use crate::{reads, rows};

/// Whether the library was loaded through `shared_preload_libraries` (set
/// in the postmaster, inherited by every backend it forks).
static PRELOADED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static MISSES: Cell<u64> = const { Cell::new(0) };
    static NOTICE_SENT: Cell<bool> = const { Cell::new(false) };
}

/// Called from `_PG_init`: remembers how the library was loaded. Touches no
/// shared memory and registers no hook, so it is safe both at preload time
/// and when a backend loads the library on first use.
pub fn init() {
    // SAFETY: a plain global that PostgreSQL sets before it loads preloaded
    // libraries; read once, in the postmaster or a backend's main thread.
    let preloading = unsafe { pg_sys::process_shared_preload_libraries_in_progress };
    PRELOADED.store(preloading, Ordering::Relaxed);
}

/// Whether a cache shared by every session is in effect.
pub fn shared() -> bool {
    false
}

fn notice_once() {
    if NOTICE_SENT.with(|sent| sent.replace(true)) {
        return;
    }
    let hint = if PRELOADED.load(Ordering::Relaxed) {
        "This version of jobtrack has no shared result cache yet."
    } else {
        "Add shared_preload_libraries = 'jobtrack' to postgresql.conf and restart PostgreSQL to enable the shared result cache."
    };
    ErrorReport::new(
        PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
        "jobtrack: the result cache is not shared in this session; the *_cached functions compute every call",
        "jobtrack",
    )
    .set_hint(hint)
    .report(PgLogLevel::NOTICE);
}

/// Returns the cached result under `key` or computes it. Without a shared
/// cache: always computes, counting a miss.
pub fn read_through<T>(
    _key: &str,
    _ttl_secs: u64,
    compute: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    notice_once();
    MISSES.with(|m| m.set(m.get() + 1));
    compute()
}

/// Drops the entries whose key contains `pattern` (all when `None`);
/// returns how many. Without a shared cache there are none.
pub fn invalidate(_pattern: Option<&str>) -> i32 {
    0
}

/// The cache's counters.
pub fn stats() -> CacheStats {
    CacheStats::new(0, 0, 0, MISSES.with(Cell::get), 0, 0, shared())
}

/// `get_statistics_optimized()` through the cache.
#[pg_extern(schema = "jobtrack", stable, parallel_unsafe)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_statistics_cached() -> pgrx::JsonB {
    read_through(
        &cache_key::statistics(),
        ttl::STATISTICS_SECS,
        reads::statistics,
    )
    .and_then(|s| rows::json(&s))
    .or_raise()
}

/// `get_dataset_stats_optimized(dataset_name)` through the cache.
#[pg_extern(schema = "jobtrack", stable, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_dataset_stats_cached(dataset_name: &str) -> pgrx::JsonB {
    read_through(
        &cache_key::dataset_stats(dataset_name),
        ttl::DATASET_STATS_SECS,
        || reads::dataset_stats(dataset_name),
    )
    .and_then(|s| rows::json(&s))
    .or_raise()
}

/// `get_recent_jobs_optimized(lim)` through the cache.
// pgrx reads the column names from `name!` in the signature itself, so
// the row type cannot be a type alias.
#[allow(clippy::type_complexity)]
#[pg_extern(schema = "jobtrack", stable, parallel_unsafe, strict)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_recent_jobs_cached(
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
    // A bad limit is an error, not a cache request.
    let lim = check_limit(lim.into()).or_raise();
    let jobs = read_through(&cache_key::recent_jobs(lim), ttl::RECENT_JOBS_SECS, || {
        reads::recent_jobs(lim)
    })
    .or_raise();
    TableIterator::new(jobs.into_iter().map(rows::job_tuple))
}

/// The cache's size, counters and hit rate; `shared` says whether a cache
/// shared by all sessions is in effect.
#[pg_extern(schema = "jobtrack", stable, parallel_restricted)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn get_cache_stats() -> pgrx::JsonB {
    rows::json(&stats()).or_raise()
}

/// Drops cached entries whose key contains `pattern` (all when NULL);
/// returns how many were dropped.
#[pg_extern(schema = "jobtrack", volatile, parallel_unsafe)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn invalidate_cache(pattern: default!(Option<&str>, NULL)) -> i32 {
    invalidate(pattern)
}
