//! The result cache of the `*_cached` functions, shared by every session of
//! the server when the library is in `shared_preload_libraries`.
//!
//! # Exactness
//! A hit returns what the uncached function returns in the caller's
//! statement snapshot — not merely something recent. The test is
//! `jobtrack_core::writer_log`: every transaction that changed jobs records
//! its transaction id, before it becomes visible, in the writer log of all
//! jobs and in those of the datasets it touched; an entry is stored only when
//! the snapshot that computed it sees every recorded writer as finished, is
//! tagged with the log's count, and is served only while no writer was
//! recorded since and the caller's snapshot, too, sees every recorded writer
//! as finished. Readers that started before a commit therefore neither store
//! nor receive results that lack it, and readers after it never receive
//! results from before it.
//!
//! The data behind an entry is one of three parts, each with its writer
//! logs: the statistics' data (the summary table and the counters: the log
//! of all jobs, and one per bucket of dataset names for the dataset
//! statistics), and every job row (the log of job rows, for the recent
//! jobs, whose rows hold every column and are read through the summary
//! table too, and for the experiment statistics, which read the variations
//! and the experiment counters). A writer is recorded in the log of job
//! rows whenever it changed any of the five tables, and in the others only
//! when it changed the summary table or the counters. That is exact because
//! the statistics read nothing else: every change of what they count
//! reaches the summary table in the writing statement (its columns are the
//! ones the counters count), and is noted there. A heartbeat, a progress report or a plain
//! `UPDATE … SET output_path` changes no summary column the statistics
//! read, so the statistics' entries stay.
//!
//! Writers are found by statement-level triggers on the five tables (so
//! plain SQL and `TRUNCATE` count), which note the change in this session
//! ([`cache_note_change`], `jobtrack._cache_note_change` in SQL, for the
//! statistics' data; [`cache_note_rows`], `jobtrack._cache_note_rows`, for
//! a base-table statement); the transaction callback records it at
//! `PRE_COMMIT` or `PRE_PREPARE`, the last moments before the writer can
//! become visible (for a prepared transaction, at `COMMIT PREPARED` in any
//! session: its id stays "running" in every snapshot until then). Nothing is
//! done at `COMMIT` itself, after which an error would be a PANIC: that
//! callback only clears a thread-local cell. A rolled-back transaction
//! records nothing, so entries survive it.
//!
//! The cache is bypassed (the call computes, counted as a miss) by a
//! transaction that changed jobs itself (it may see its own uncommitted
//! changes), under REPEATABLE READ or SERIALIZABLE (the cache serves READ
//! COMMITTED only), during recovery (a standby runs no triggers), and when
//! `jobtrack.cache_enabled` is off. "Changed jobs" is what the triggers
//! noted: a BEFORE STATEMENT trigger on each of the five tables notes the
//! change before the first row is written, so a read in the middle of the
//! writing statement (from a user's row trigger, say) bypasses too. A
//! transaction that wrote only other tables, or holds a transaction id for
//! another reason, is served like any reader: the committed writers its
//! snapshot sees are checked as for every reader, and none of its own
//! changes touch the data behind an entry.
//!
//! # Security
//! A hit is served only when the current user has `SELECT` on the tables the
//! uncached function reads and row-level security applies to none of them
//! for that user; otherwise the call computes exactly as the uncached
//! function does, raising the same permission error or returning the rows
//! the policies allow. Every role that passes the check reads the same rows,
//! so entries need no role in their key. Their scope is the database and the
//! OID of `jobtrack.executions` (a re-created extension starts afresh).
//!
//! Without preload there is no shared memory: the `*_cached` functions
//! compute every call, count a miss per session, and a NOTICE once per
//! session says how to enable the cache.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering::SeqCst;

use jobtrack_core::writer_log::{widen, SnapshotXids};
use jobtrack_core::{cache_key, check_limit, ttl, CacheStats, Error, Job};
use pgrx::callconv::{BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting, IntoDatum};

use crate::error::OrRaise;
use crate::shared::{self, Lookup, Scope, ALL_JOBS, JOB_ROWS};
use crate::{reads, rows};

static CACHE_ENABLED: GucSetting<bool> = GucSetting::<bool>::new(true);
static STATISTICS_TTL: GucSetting<i32> = GucSetting::<i32>::new(ttl::STATISTICS_SECS as i32);
static DATASET_STATS_TTL: GucSetting<i32> = GucSetting::<i32>::new(ttl::DATASET_STATS_SECS as i32);
static EXPERIMENT_STATS_TTL: GucSetting<i32> =
    GucSetting::<i32>::new(ttl::EXPERIMENT_STATS_SECS as i32);
static RECENT_JOBS_TTL: GucSetting<i32> = GucSetting::<i32>::new(ttl::RECENT_JOBS_SECS as i32);

/// What a cached function reads: a hit needs `SELECT` on each of its
/// tables and row-level security on none.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// The statistics, dataset statistics and recent jobs: [`STATISTICS_TABLES`].
    Statistics,
    /// The experiment statistics: [`EXPERIMENT_TABLES`].
    Experiments,
}

/// The tables of [`Reads::Statistics`].
const STATISTICS_TABLES: [&std::ffi::CStr; 4] = [
    c"executions",
    c"variations",
    c"job_summary_cache",
    c"job_counters",
];

/// The tables of [`Reads::Experiments`].
const EXPERIMENT_TABLES: [&std::ffi::CStr; 2] = [c"variations", c"experiment_counters"];

/// Changes of the current transaction noted by the triggers.
#[derive(Clone, Copy, Default)]
struct Pending {
    /// Any jobtrack table changed: the transaction's own cached reads
    /// compute, and its commit retires the recent jobs.
    changed: bool,
    /// The summary table or the counters changed: its commit retires the
    /// statistics too.
    counted: bool,
    /// A bit per dataset bucket (`shared::dataset_log`).
    datasets: u64,
    every_dataset: bool,
}

thread_local! {
    static PENDING: Cell<Pending> = const { Cell::new(Pending { changed: false, counted: false, datasets: 0, every_dataset: false }) };
    static SESSION_MISSES: Cell<u64> = const { Cell::new(0) };
    static NOTICE_SENT: Cell<bool> = const { Cell::new(false) };
}

/// Called from `_PG_init`: the settings, the transaction callback, and —
/// only when preloading — shared memory.
pub fn init() {
    GucRegistry::define_bool_guc(
        c"jobtrack.cache_enabled",
        c"Whether the *_cached functions use the shared result cache.",
        c"Off: every call computes, counted as a miss.",
        &CACHE_ENABLED,
        GucContext::Userset,
        GucFlags::default(),
    );
    for (name, short, setting) in [
        (
            c"jobtrack.statistics_ttl",
            c"Seconds get_statistics_cached() keeps a result.",
            &STATISTICS_TTL,
        ),
        (
            c"jobtrack.dataset_stats_ttl",
            c"Seconds get_dataset_stats_cached() keeps a result.",
            &DATASET_STATS_TTL,
        ),
        (
            c"jobtrack.experiment_stats_ttl",
            c"Seconds get_experiment_stats_cached() keeps a result.",
            &EXPERIMENT_STATS_TTL,
        ),
        (
            c"jobtrack.recent_jobs_ttl",
            c"Seconds get_recent_jobs_cached() keeps a result.",
            &RECENT_JOBS_TTL,
        ),
    ] {
        GucRegistry::define_int_guc(
            name,
            short,
            c"0 stores nothing. Entries are exact whatever the TTL: it only bounds how long an unused one stays.",
            setting,
            0,
            i32::MAX / 1_000_000,
            GucContext::Suset,
            GucFlags::UNIT_S,
        );
    }
    // SAFETY: the callback list lives in TopMemoryContext for the life of
    // the process; registered once per process (in the postmaster when
    // preloading, inherited by every backend).
    unsafe { pg_sys::RegisterXactCallback(Some(xact_callback), ptr::null_mut()) };
    register_verdict_callbacks();
    // SAFETY: set by PostgreSQL before it loads preloaded libraries.
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        shared::init_preloaded();
    }
}

/// The transaction callback: publishes the noted changes before the
/// transaction becomes visible, forgets them when it ends. The `COMMIT`
/// branch, where an error would be a PANIC, only clears a thread-local cell.
#[pg_guard]
unsafe extern "C-unwind" fn xact_callback(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::XactEvent::*;
    let _ = PENDING.try_with(|cell| match event {
        XACT_EVENT_PRE_COMMIT | XACT_EVENT_PRE_PREPARE => {
            let p = cell.take();
            if !p.changed {
                return;
            }
            if let Some(h) = shared::header() {
                // SAFETY: reads this backend's transaction state.
                let xid = unsafe { pg_sys::GetTopFullTransactionIdIfAny() }.value;
                h.record_writer(xid, p.counted, p.datasets, p.every_dataset);
            }
        }
        XACT_EVENT_COMMIT | XACT_EVENT_ABORT | XACT_EVENT_PREPARE => cell.set(Pending::default()),
        _ => {}
    });
}

/// Trigger helper: notes that the current transaction changed jobs, in the
/// datasets named (NULL: possibly in every dataset; empty: in none whose
/// statistics change). The change is published to the shared cache when the
/// transaction commits or prepares; calling it needlessly only costs cache
/// hits. Internal (`jobtrack._cache_note_change`, not executable by PUBLIC);
/// the Rust name, and so the C symbol, is the one 0.1.0's catalog calls.
#[pg_extern(
    schema = "jobtrack",
    name = "_cache_note_change",
    volatile,
    parallel_unsafe
)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn cache_note_change(datasets: Option<Vec<Option<String>>>) {
    PENDING.with(|cell| {
        let mut p = cell.get();
        p.changed = true;
        p.counted = true;
        match datasets {
            None => p.every_dataset = true,
            Some(names) => {
                for name in names.iter().flatten() {
                    p.datasets |= 1 << shared::dataset_log(name);
                }
            }
        }
        cell.set(p);
    });
}

/// Trigger helper: notes that the current transaction changed rows of the
/// base tables, which the recent jobs show (every column of a Job), without
/// saying that the statistics' data changed: a change of the summary table
/// or the counters is noted by their own triggers
/// ([`cache_note_change`]). Published when the transaction commits or
/// prepares. Internal (`jobtrack._cache_note_rows`, not executable by
/// PUBLIC).
#[pg_extern(
    schema = "jobtrack",
    name = "_cache_note_rows",
    volatile,
    parallel_unsafe
)]
#[search_path(jobtrack, pg_catalog, pg_temp)]
fn cache_note_rows() {
    PENDING.with(|cell| {
        let mut p = cell.get();
        p.changed = true;
        cell.set(p);
    });
}

/// Why and how a call may use the cache.
struct Ticket {
    scope: Scope,
    xmin: u64,
    xmax: u64,
    running: Vec<u32>,
}

impl Ticket {
    fn snapshot(&self) -> SnapshotXids<'_> {
        SnapshotXids {
            xmin: self.xmin,
            xmax: self.xmax,
            running: &self.running,
        }
    }
}

/// Whether the current user may be served hits, and the scope of the
/// entries: remembered per session for one user, because the check reads 16
/// catalog entries (a namespace, five relations, their privileges and
/// row-level security), a few per cent of a hit. Forgotten whenever the
/// catalog entries it read may have changed: PostgreSQL calls
/// [`forget_verdict`] on every invalidation of a relation (privileges,
/// owner, row-level security, the tables dropped or re-created), a
/// namespace, a role's attributes or a role membership — the events after
/// which the uncached check, which reads the same catalog caches, would
/// answer differently.
#[derive(Clone, Copy)]
struct Verdict {
    user: pg_sys::Oid,
    /// `jobtrack.executions`, which names the scope; `None`: no extension.
    relation: Option<pg_sys::Oid>,
    /// Hits allowed for [`Reads::Statistics`].
    statistics: bool,
    /// Hits allowed for [`Reads::Experiments`].
    experiments: bool,
}

thread_local! {
    static VERDICT: Cell<Option<Verdict>> = const { Cell::new(None) };
}

/// The syscache callback: drops the remembered verdict. Runs inside
/// invalidation processing, so it only clears a thread-local cell.
#[pg_guard]
unsafe extern "C-unwind" fn forget_verdict(_arg: pg_sys::Datum, _cache: i32, _hash: u32) {
    let _ = VERDICT.try_with(|v| v.set(None));
}

/// Registers [`forget_verdict`] for the catalog caches the check reads. Once
/// per process, from `init`.
fn register_verdict_callbacks() {
    use pg_sys::SysCacheIdentifier::*;
    for cache in [
        RELOID,
        NAMESPACEOID,
        AUTHOID,
        AUTHMEMROLEMEM,
        AUTHMEMMEMROLE,
    ] {
        // SAFETY: adds to the process's fixed callback list (sized for
        // dozens of entries); the function lives as long as the library.
        unsafe {
            pg_sys::CacheRegisterSyscacheCallback(
                cache as i32,
                Some(forget_verdict),
                pg_sys::Datum::from(0),
            )
        };
    }
}

/// The relation of the scope when the current user may be served hits of a
/// function that reads `reads`.
///
/// # Safety
/// Catalog cache lookups: in a transaction.
unsafe fn hits_allowed_on(reads: Reads) -> Option<pg_sys::Oid> {
    // SAFETY: as for the function.
    let user = unsafe { pg_sys::GetUserId() };
    let verdict = match VERDICT.with(Cell::get).filter(|v| v.user == user) {
        Some(v) => v,
        None => {
            // SAFETY: catalog cache lookups by name and OID.
            let v = unsafe { verdict_of(user) };
            VERDICT.with(|cell| cell.set(Some(v)));
            v
        }
    };
    let allowed = match reads {
        Reads::Statistics => verdict.statistics,
        Reads::Experiments => verdict.experiments,
    };
    verdict.relation.filter(|_| allowed)
}

/// The check behind a [`Verdict`].
///
/// # Safety
/// Catalog cache lookups: in a transaction.
unsafe fn verdict_of(user: pg_sys::Oid) -> Verdict {
    // SAFETY: catalog cache lookups by name and OID.
    unsafe {
        let namespace = pg_sys::get_namespace_oid(c"jobtrack".as_ptr(), true);
        let readable = |table: &std::ffi::CStr| {
            if namespace == pg_sys::InvalidOid {
                return false;
            }
            let relid = pg_sys::get_relname_relid(table.as_ptr(), namespace);
            relid != pg_sys::InvalidOid
                && pg_sys::pg_class_aclcheck(relid, user, pg_sys::ACL_SELECT as pg_sys::AclMode)
                    == pg_sys::AclResult::ACLCHECK_OK
                && pg_sys::check_enable_rls(relid, pg_sys::InvalidOid, true)
                    != pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32
        };
        let relation = if namespace == pg_sys::InvalidOid {
            None
        } else {
            Some(pg_sys::get_relname_relid(c"executions".as_ptr(), namespace))
                .filter(|&relid| relid != pg_sys::InvalidOid)
        };
        Verdict {
            user,
            relation,
            statistics: STATISTICS_TABLES.into_iter().all(readable),
            experiments: EXPERIMENT_TABLES.into_iter().all(readable),
        }
    }
}

/// The caller's scope and snapshot when the cache may serve this call;
/// `None` when it must compute (see the module documentation).
fn ticket(h: &shared::Header, reads: Reads) -> Option<Ticket> {
    if !CACHE_ENABLED.get() || PENDING.with(|p| p.get().changed) {
        return None;
    }
    // SAFETY: backend globals, the active snapshot of the calling statement
    // (valid for the whole call) and catalog cache lookups.
    unsafe {
        if pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32
            || pg_sys::RecoveryInProgress()
        {
            return None;
        }
        let snapshot = pg_sys::GetActiveSnapshot().as_ref()?;
        if snapshot.snapshot_type != pg_sys::SnapshotType::SNAPSHOT_MVCC
            || snapshot.takenDuringRecovery
        {
            return None;
        }
        let relation = hits_allowed_on(reads)?;
        let next = pg_sys::ReadNextFullTransactionId().value;
        h.start_logs(next);
        let running = if snapshot.xcnt == 0 || snapshot.xip.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(snapshot.xip, snapshot.xcnt as usize)
                .iter()
                .map(|xid| xid.into_inner())
                .collect()
        };
        Some(Ticket {
            scope: Scope {
                database: pg_sys::MyDatabaseId,
                relation,
            },
            xmin: widen(snapshot.xmin.into_inner(), next),
            xmax: widen(snapshot.xmax.into_inner(), next),
            running,
        })
    }
}

fn now_micros() -> i64 {
    // SAFETY: reads the clock.
    unsafe { pg_sys::GetCurrentTimestamp() }
}

fn notice_once() {
    if NOTICE_SENT.with(|sent| sent.replace(true)) {
        return;
    }
    ErrorReport::new(
        PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
        "jobtrack: the result cache is not shared in this session; the *_cached functions compute every call",
        "jobtrack",
    )
    .set_hint("Add shared_preload_libraries = 'jobtrack' to postgresql.conf and restart PostgreSQL to enable the shared result cache.")
    .report(PgLogLevel::NOTICE);
}

/// Runs `compute` (a miss) with `search_path` pinned to `jobtrack,
/// pg_catalog, pg_temp`, restored afterwards.
///
/// The `*_cached` functions carry no `SET search_path` clause: on a hit they
/// run no SQL, and the clause cost a GUC save and restore on every call, and
/// made the plan cache recheck the caller's path (about a tenth of a hit's
/// time, measured with perf). A miss runs the uncached function's queries,
/// whose result may be stored for every role, so those must resolve names
/// exactly as the uncached functions' pinned path does, whatever the
/// caller's path: otherwise a caller's own function or operator shadowing a
/// built-in could put its result in the shared cache.
pub fn with_pinned_search_path<T>(compute: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    crate::settings::with_settings(&[crate::settings::PINNED_SEARCH_PATH], compute)
}

/// Returns the cached bytes under `key` or computes them, storing them when
/// allowed. `log`: the writer log the result depends on.
fn read_through(
    key: &str,
    reads: Reads,
    log: usize,
    ttl_secs: i32,
    compute: impl FnOnce() -> Result<Vec<u8>, Error>,
) -> Result<Vec<u8>, Error> {
    let Some(h) = shared::header() else {
        notice_once();
        SESSION_MISSES.with(|m| m.set(m.get() + 1));
        return with_pinned_search_path(compute);
    };
    let ticket = ticket(h, reads);
    if let Some(t) = &ticket {
        if let Lookup::Hit(value) = h.lookup(t.scope, key.as_bytes(), &t.snapshot(), now_micros()) {
            h.hits.fetch_add(1, SeqCst);
            return Ok(value);
        }
    }
    h.misses.fetch_add(1, SeqCst);
    let value = with_pinned_search_path(compute)?;
    if let Some(t) = &ticket {
        h.store(
            t.scope,
            key.as_bytes(),
            log,
            &t.snapshot(),
            &value,
            now_micros(),
            ttl_secs,
        );
    }
    Ok(value)
}

/// Drops this database's entries whose key contains `pattern` (all when
/// `None`); returns how many.
pub fn invalidate(pattern: Option<&str>) -> i32 {
    let Some(h) = shared::header() else {
        return 0;
    };
    // SAFETY: backend global.
    let database = unsafe { pg_sys::MyDatabaseId };
    i32::try_from(h.invalidate(database, pattern)).unwrap_or(i32::MAX)
}

/// The cache's counters: server-wide with shared memory, else this
/// session's misses.
pub fn stats() -> CacheStats {
    match shared::header() {
        None => CacheStats::new(0, 0, 0, SESSION_MISSES.with(Cell::get), 0, 0, false),
        Some(h) => CacheStats::new(
            h.size(),
            h.capacity() as u64,
            h.hits.load(SeqCst),
            h.misses.load(SeqCst),
            h.evictions.load(SeqCst),
            h.invalidations.load(SeqCst),
            true,
        ),
    }
}

// ------------------------------------------------------------ results

/// A `jsonb` result as its binary varlena: a hit is returned without
/// parsing or serialising JSON.
pub struct JsonbBytes(Vec<u8>);

impl JsonbBytes {
    /// The varlena bytes of the jsonb of `value`.
    fn of<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Error> {
        let datum = rows::json(value)?
            .into_datum()
            .ok_or_else(|| Error::database("XX000", "jobtrack: jsonb_in returned NULL"))?;
        // SAFETY: a jsonb datum is a varlena (detoasted: just built).
        unsafe {
            let p = datum.cast_mut_ptr::<pg_sys::varlena>();
            let len = pgrx::varlena::varsize_any(p);
            Ok(std::slice::from_raw_parts(p.cast::<u8>(), len).to_vec())
        }
    }
}

pgrx::impl_sql_translatable!(JsonbBytes, "jsonb");

unsafe impl BoxRet for JsonbBytes {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        // SAFETY: the bytes are a whole jsonb varlena, copied into memory of
        // the calling context.
        unsafe {
            let p = pg_sys::palloc(self.0.len()).cast::<u8>();
            ptr::copy_nonoverlapping(self.0.as_ptr(), p, self.0.len());
            fcinfo.return_raw_datum(pg_sys::Datum::from(p))
        }
    }
}

/// `get_statistics_optimized()` through the cache.
#[pg_extern(schema = "jobtrack", stable, parallel_unsafe)]
fn get_statistics_cached() -> JsonbBytes {
    read_through(
        &cache_key::statistics(),
        Reads::Statistics,
        ALL_JOBS,
        STATISTICS_TTL.get(),
        || JsonbBytes::of(&reads::statistics()?),
    )
    .map(JsonbBytes)
    .or_raise()
}

/// `get_dataset_stats_optimized(dataset_name)` through the cache.
#[pg_extern(schema = "jobtrack", stable, parallel_unsafe, strict)]
fn get_dataset_stats_cached(dataset_name: &str) -> JsonbBytes {
    read_through(
        &cache_key::dataset_stats(dataset_name),
        Reads::Statistics,
        shared::dataset_log(dataset_name),
        DATASET_STATS_TTL.get(),
        || JsonbBytes::of(&reads::dataset_stats(dataset_name)?),
    )
    .map(JsonbBytes)
    .or_raise()
}

/// `get_experiment_stats(experiment_name)` through the cache. Its entries
/// follow the log of job rows, in which every write to the variations is
/// recorded: the experiment counters count columns the summary table does
/// not mirror (experiment_name, total_combinations), and the extremes are
/// read from the variations themselves.
#[pg_extern(schema = "jobtrack", stable, parallel_unsafe, strict)]
fn get_experiment_stats_cached(experiment_name: &str) -> JsonbBytes {
    read_through(
        &cache_key::experiment_stats(experiment_name),
        Reads::Experiments,
        JOB_ROWS,
        EXPERIMENT_STATS_TTL.get(),
        || JsonbBytes::of(&reads::experiment_stats(experiment_name)?),
    )
    .map(JsonbBytes)
    .or_raise()
}

rows::job_table_function! {
    /// `get_recent_jobs_optimized(lim)` through the cache.
    #[pg_extern(schema = "jobtrack", stable, parallel_unsafe, strict)]
    fn get_recent_jobs_cached(lim: default!(i32, 10)) {
        // A bad limit is an error, not a cache request.
        let lim = check_limit(lim.into()).or_raise();
        let bytes = read_through(
            &cache_key::recent_jobs(lim),
            Reads::Statistics,
            JOB_ROWS,
            RECENT_JOBS_TTL.get(),
            || {
                serde_json::to_vec(&reads::recent_jobs(lim)?).map_err(|e| {
                    Error::database("XX000", format!("jobtrack: cannot serialise rows: {e}"))
                })
            },
        )
        .or_raise();
        let jobs: Vec<Job> = serde_json::from_slice(&bytes)
            .map_err(|e| Error::database("XX000", format!("jobtrack: bad cached rows: {e}")))
            .or_raise();
        TableIterator::new(jobs.into_iter().map(rows::job_tuple))
    }
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
