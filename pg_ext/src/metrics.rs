//! Transaction metrics: every call of a write function is recorded, failed
//! ones included — server-wide in shared memory when the library is
//! preloaded, else per session.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use jobtrack_core::{
    metrics_from_totals, Error, MetricsRecorder, Operation, Timestamp, TransactionMetrics,
};
use pgrx::prelude::*;

use crate::error::raise;
use crate::shared;

thread_local! {
    // Without shared memory. A backend is one process running one thread:
    // per session.
    static RECORDER: RefCell<MetricsRecorder> = RefCell::new(MetricsRecorder::default());
}

fn record(operation: Operation, started: Instant, success: bool) {
    let (elapsed, at) = (started.elapsed(), Timestamp::now());
    match (shared::header(), operation.metrics_slot()) {
        (Some(h), Some(i)) => h.update_metrics(i, |t| t.record(elapsed, success, at)),
        _ => RECORDER.with(|r| r.borrow_mut().record(operation, elapsed, success, at)),
    }
}

/// Runs the write operation `operation` and records it. A failure — a
/// jobtrack error, or an ERROR raised by PostgreSQL underneath (a constraint,
/// a cancel) — is recorded before the error is raised or re-raised, since
/// nothing runs after an ERROR.
pub fn measured<T>(operation: Operation, f: impl FnOnce() -> Result<T, Error>) -> T {
    let started = Instant::now();
    let outcome = PgTryBuilder::new(AssertUnwindSafe(f))
        .catch_others(move |caught| {
            record(operation, started, false);
            caught.rethrow()
        })
        .execute();
    match outcome {
        Ok(value) => {
            record(operation, started, true);
            value
        }
        Err(error) => {
            record(operation, started, false);
            raise(&error)
        }
    }
}

/// The metrics so far.
pub fn snapshot() -> TransactionMetrics {
    match shared::header() {
        Some(h) => metrics_from_totals(&h.metrics()),
        None => RECORDER.with(|r| r.borrow().snapshot()),
    }
}

/// Forgets the metrics.
pub fn reset() {
    match shared::header() {
        Some(h) => h.reset_metrics(),
        None => RECORDER.with(|r| r.borrow_mut().reset()),
    }
}
