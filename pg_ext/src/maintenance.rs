//! The maintenance worker: stale-job rescue and scheduled retention without
//! an external scheduler. With the library preloaded and
//! `jobtrack.maintenance_database` set, the postmaster starts one background
//! worker that connects to that database and, every
//! `jobtrack.maintenance_interval` seconds, first fails the jobs silent for
//! longer than `jobtrack.fail_stale_after` seconds, exactly as
//! `SELECT jobtrack.fail_stale_jobs(…)` does (one transaction), then prunes
//! the finished jobs older than `jobtrack.prune_days` days exactly as
//! `CALL jobtrack.prune_jobs(…)` does: the same SQL functions
//! (`_prune_cutoff` once, then `_prune_batch` in one transaction per batch),
//! so its batches are measured, locked and committed like the procedure's.
//! Off by default: without the database setting no worker exists, and with
//! `fail_stale_after` and `prune_days` at -1 (the defaults) it does
//! nothing.
//!
//! The worker never writes on a hot standby (it waits for a promotion), and
//! waits without error while the database lacks the extension or has a
//! catalog older than the function it needs (0.6.0 for the rescue, 0.5.0
//! for the prune). An ERROR in a round (a lock timeout, a cancel
//! by `pg_cancel_backend`) ends the worker after its last committed batch;
//! the postmaster starts it again after [`RESTART_AFTER`]. A shutdown
//! request (SIGTERM: a server shutdown, `pg_terminate_backend`) is honoured
//! between batches, and ends the worker for good: a worker that exits
//! cleanly is not started again before the next server start.

use std::cell::Cell;
use std::ffi::CString;
use std::time::{Duration, Instant};

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// How long the postmaster waits before it starts a worker that ended with
/// an error again.
const RESTART_AFTER: Duration = Duration::from_secs(60);

/// What `pg_stat_activity.backend_type` shows for the worker.
pub const BACKEND_TYPE: &str = "jobtrack maintenance";

static DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static ROLE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(60);
static PRUNE_DAYS: GucSetting<i32> = GucSetting::<i32>::new(-1);
static PRUNE_KEEP_FAILED: GucSetting<bool> = GucSetting::<bool>::new(true);
static PRUNE_BATCH_SIZE: GucSetting<i32> = GucSetting::<i32>::new(10_000);
static FAIL_STALE_AFTER: GucSetting<i32> = GucSetting::<i32>::new(-1);

/// Called from `_PG_init`: the settings (those read at server start only
/// when preloading), and the worker when preloading with a database named.
pub fn init() {
    // SAFETY: set by PostgreSQL before it loads preloaded libraries.
    let preloading = unsafe { pg_sys::process_shared_preload_libraries_in_progress };
    // Settings read at server start exist only in a preloaded library:
    // PostgreSQL refuses to define one later (a FATAL for the session).
    if preloading {
        GucRegistry::define_string_guc(
            c"jobtrack.maintenance_database",
            c"The database the jobtrack maintenance worker works in; empty: no worker.",
            c"Read at server start; the library must be in shared_preload_libraries.",
            &DATABASE,
            GucContext::Postmaster,
            GucFlags::default(),
        );
        GucRegistry::define_string_guc(
            c"jobtrack.maintenance_role",
            c"The role the jobtrack maintenance worker connects as; empty: the bootstrap superuser.",
            c"Read at server start. The role needs DELETE on jobtrack.executions and jobtrack.variations.",
            &ROLE,
            GucContext::Postmaster,
            GucFlags::default(),
        );
    }
    GucRegistry::define_int_guc(
        c"jobtrack.maintenance_interval",
        c"Seconds between two rounds of the jobtrack maintenance worker.",
        c"A round also runs when the worker starts and after a configuration reload.",
        &INTERVAL,
        1,
        i32::MAX / 1_000,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"jobtrack.prune_days",
        c"The maintenance worker prunes finished jobs created more than this many days ago; -1: it does not prune.",
        c"As CALL jobtrack.prune_jobs(days, keep_failed, batch_size) with the prune_* settings.",
        &PRUNE_DAYS,
        -1,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"jobtrack.prune_keep_failed",
        c"Whether the maintenance worker's prune keeps failed jobs.",
        c"",
        &PRUNE_KEEP_FAILED,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"jobtrack.prune_batch_size",
        c"Jobs per transaction of the maintenance worker's prune.",
        c"",
        &PRUNE_BATCH_SIZE,
        1,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"jobtrack.fail_stale_after",
        c"The maintenance worker fails the jobs that have shown no sign of life for this many seconds; -1: it fails none.",
        c"As SELECT jobtrack.fail_stale_jobs(stale_after) with this many seconds.",
        &FAIL_STALE_AFTER,
        -1,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    if preloading && configured(DATABASE.get()).is_some() {
        BackgroundWorkerBuilder::new(BACKEND_TYPE)
            .set_type(BACKEND_TYPE)
            .set_library("jobtrack")
            .set_function("jobtrack_maintenance_main")
            .enable_spi_access()
            .set_restart_time(Some(RESTART_AFTER))
            .load();
    }
}

/// A text setting, `None` when unset or empty.
fn configured(value: Option<CString>) -> Option<String> {
    value
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
}

/// The worker's entry point, named in its registration.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn jobtrack_maintenance_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = configured(DATABASE.get());
    let role = configured(ROLE.get());
    BackgroundWorker::connect_worker_to_spi(database.as_deref(), role.as_deref());
    log!(
        "jobtrack maintenance worker started in database {:?}",
        database.as_deref().unwrap_or_default()
    );
    let mut next = Instant::now();
    loop {
        if Instant::now() >= next {
            if round() == Round::Stopped {
                break;
            }
            next = Instant::now() + interval();
        }
        if !BackgroundWorker::wait_latch(Some(next.saturating_duration_since(Instant::now()))) {
            break;
        }
        if BackgroundWorker::sighup_received() {
            // SAFETY: the documented way for a process to apply a reload,
            // outside any transaction.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            next = Instant::now();
        }
    }
    log!("jobtrack maintenance worker stopped");
}

fn interval() -> Duration {
    Duration::from_secs(u64::try_from(INTERVAL.get()).unwrap_or(1).max(1))
}

thread_local! {
    // The tasks ([`Needs::bit`]) whose missing function the worker has
    // logged.
    static TOLD_ABSENT: Cell<u8> = const { Cell::new(0) };
}

#[derive(Debug, PartialEq, Eq)]
enum Round {
    Done,
    Stopped,
}

/// What a task of a round needs of the catalog: a function, and the
/// release that brought it.
struct Needs {
    function: &'static str,
    since: &'static str,
    /// The task's bit in `TOLD_ABSENT`.
    bit: u8,
}

const PRUNE: Needs = Needs {
    function: "jobtrack._prune_batch(timestamptz, boolean, integer, jsonb)",
    since: "0.5.0",
    bit: 1,
};

const FAIL_STALE: Needs = Needs {
    function: "jobtrack.fail_stale_jobs(interval, text)",
    since: "0.6.0",
    bit: 2,
};

/// Whether this database can run a task now: not a standby, the extension
/// installed with the function the task calls.
fn ready(needs: &Needs) -> bool {
    // SAFETY: reads shared state.
    if unsafe { pg_sys::RecoveryInProgress() } {
        return false;
    }
    let present = BackgroundWorker::transaction(|| {
        Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.to_regprocedure($1) IS NOT NULL",
            &[needs.function.into()],
        )
    });
    match present {
        Ok(Some(true)) => {
            TOLD_ABSENT.set(TOLD_ABSENT.get() & !needs.bit);
            true
        }
        Ok(_) => {
            // Once, not every round, until it changes.
            if TOLD_ABSENT.replace(TOLD_ABSENT.get() | needs.bit) & needs.bit == 0 {
                log!(
                    "jobtrack maintenance: this database has no jobtrack extension of {} or \
                     later (CREATE EXTENSION jobtrack, or ALTER EXTENSION jobtrack UPDATE); \
                     waiting for it",
                    needs.since
                );
            }
            false
        }
        Err(e) => {
            warning!("jobtrack maintenance: {e}");
            false
        }
    }
}

/// One round: the stale-job rescue, then the prune in batches, each when
/// configured.
fn round() -> Round {
    fail_stale();
    prune()
}

/// `fail_stale_jobs(fail_stale_after seconds)`, in a transaction of its own.
fn fail_stale() {
    let seconds = FAIL_STALE_AFTER.get();
    if seconds < 1 || !ready(&FAIL_STALE) {
        return;
    }
    let failed = BackgroundWorker::transaction(|| {
        Spi::get_one_with_args::<i32>(
            "SELECT jobtrack.fail_stale_jobs(pg_catalog.make_interval(secs => $1))",
            &[f64::from(seconds).into()],
        )
    });
    match failed {
        Ok(Some(n)) if n > 0 => {
            log!("jobtrack maintenance: failed {n} stale jobs (no sign of life for {seconds} s)")
        }
        Ok(_) => {}
        Err(e) => warning!("jobtrack maintenance: {e}"),
    }
}

/// The prune, in batches.
fn prune() -> Round {
    let days = PRUNE_DAYS.get();
    if days < 0 || !ready(&PRUNE) {
        return Round::Done;
    }
    let keep_failed = PRUNE_KEEP_FAILED.get();
    let batch_size = PRUNE_BATCH_SIZE.get();
    let cutoff = BackgroundWorker::transaction(|| {
        Spi::get_one_with_args::<TimestampWithTimeZone>(
            "SELECT jobtrack._prune_cutoff($1, $2, $3)",
            &[days.into(), keep_failed.into(), batch_size.into()],
        )
    });
    let cutoff = match cutoff {
        Ok(cutoff) => cutoff,
        Err(e) => {
            warning!("jobtrack maintenance: {e}");
            return Round::Done;
        }
    };
    // The report so far, as _prune_batch returned it.
    let mut report: Option<serde_json::Value> = None;
    loop {
        let batch = BackgroundWorker::transaction(|| {
            Spi::get_one_with_args::<pgrx::JsonB>(
                "SELECT jobtrack._prune_batch($1, $2, $3, $4)",
                &[
                    cutoff.into(),
                    keep_failed.into(),
                    batch_size.into(),
                    report.clone().map(pgrx::JsonB).into(),
                ],
            )
        });
        match batch {
            Ok(Some(pgrx::JsonB(value))) => report = Some(value),
            Ok(None) => return Round::Done,
            Err(e) => {
                warning!("jobtrack maintenance: {e}");
                return Round::Done;
            }
        }
        let more = report.as_ref().is_some_and(|r| r.get("more").is_some());
        if !more {
            break;
        }
        // Between batches: a shutdown waits for no more than one.
        if !BackgroundWorker::wait_latch(Some(Duration::ZERO)) {
            return Round::Stopped;
        }
    }
    if let Some(r) = &report {
        let deleted = ["executions_deleted", "variations_deleted"]
            .iter()
            .filter_map(|k| r.get(*k).and_then(|v| v.as_i64()))
            .sum::<i64>();
        if deleted > 0 {
            log!("jobtrack maintenance: pruned {r}");
        }
    }
    Round::Done
}
