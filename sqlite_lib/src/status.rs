//! Status changes: one statement per call for the jobs, and one set-based
//! step each for the counters and the summary, instead of the UPDATE
//! triggers' work per row.
//!
//! # Why the result is exact
//!
//! For each job J a call changes, the UPDATE triggers (schema.sql) subtract
//! J's old values from its old counter row, add its new values to its new
//! counter row (both only when a counted column changed, which nets to the
//! same), delete a counter row that fell to zero after the subtraction, and
//! replace J's summary row by one built from its new base row. The fast
//! path does the same with the additions regrouped:
//!
//! 1. `status_counters_*.sql` with −1, before the UPDATE: per (dataset,
//!    status), minus the sum of the old values of the jobs it will change,
//!    read from the base table (not the summary, which may have been edited
//!    by hand); for variations `status_experiment_counters.sql` likewise
//!    per (experiment, total_combinations, status) in the experiment
//!    counters;
//! 2. the UPDATE itself, with the triggers standing aside (below);
//! 3. the same steps with +1 after it, from the new base rows;
//! 4. the counter rows step 1 touched, in either table, deleted if all
//!    zero: step 3 only adds jobs to the rows it touches, so a row that
//!    ends at zero is one of these;
//! 5. `status_summary_*.sql`: each changed job's summary row replaced from
//!    its new base row (a variation's with its experiment and
//!    total_combinations, the key of its experiment counter).
//!
//! The UPDATE changes neither `experiment_name` nor `total_combinations`,
//! so a variation's experiment key moves with its status only, as the
//! trigger would move it.
//!
//! The counters are integers, so the regrouped sums equal the per-row ones;
//! the rows read in steps 1, 3 and 5 are exactly those the UPDATE matched
//! (all three join the same working table to the base table by primary
//! key, inside one savepoint of the one writing transaction, where nothing
//! else writes).
//!
//! The triggers stand aside only for that UPDATE statement: their WHEN
//! clause is false while the writing connection's `last_insert_rowid()` is
//! [`TRIGGERS_STAND_ASIDE`], which [`TriggersAside`] sets right before the
//! statement and puts back right after it (on an error and in a panic too).
//! No INSERT on this connection can produce that value: jobtrack never
//! names a rowid, automatic rowids are positive, and the working table,
//! the summary and the counters are WITHOUT ROWID tables, whose inserts
//! leave `last_insert_rowid()` alone. Every other connection keeps its own
//! value, which only an INSERT naming that very (negative) rowid could
//! make equal, so plain SQL fires the triggers as ever.
//!
//! The set-based call runs in a savepoint: an error anywhere rolls back
//! the UPDATE, the counter and summary steps and the working table
//! together, so neither a failure nor a `StoreTransaction` that goes on
//! after one can leave counters half applied. A call whose set-based steps
//! fail is then done again with the triggers doing the work row by row —
//! the sums of step 1 may overflow where the per-row additions do not
//! (durations near the ±1e12 s the schema allows, of opposite signs, in one
//! key) — and that attempt's error, if any, is the call's. Small calls
//! ([`SET_BASED_FROM`]) go that way from the start.

use jobtrack_core::usecase::StatusChange;
use jobtrack_core::{JobType, Result};
use rusqlite::{params, Connection};

use crate::error::DbResultExt;
use crate::queries;

/// The value of `last_insert_rowid()` at which the UPDATE triggers of the
/// base tables stand aside: the bytes of `jobtrack`, negated. Written out
/// in their WHEN clauses (schema.sql, migration 0005).
pub(crate) const TRIGGERS_STAND_ASIDE: i64 = -7_669_456_942_709_957_483;

/// The savepoint of one call, nested in the write transaction.
const SAVEPOINT: &str = "SAVEPOINT jobtrack_status_change";
const RELEASE: &str = "RELEASE jobtrack_status_change";
const ROLLBACK: &str = "ROLLBACK TO jobtrack_status_change; RELEASE jobtrack_status_change";

/// Sets `last_insert_rowid()` of `conn`.
fn set_last_insert_rowid(conn: &Connection, rowid: i64) {
    // SAFETY: the handle is the open connection `conn` borrows, and the
    // writer connection is used by one thread at a time (the pool's
    // mutex), so nothing else touches the value concurrently; the call
    // only stores the integer.
    unsafe { rusqlite::ffi::sqlite3_set_last_insert_rowid(conn.handle(), rowid) }
}

/// While alive, the UPDATE triggers of the base tables do nothing for
/// statements of this connection; dropping it puts `last_insert_rowid()`
/// back.
struct TriggersAside<'c> {
    conn: &'c Connection,
    previous: i64,
}

impl<'c> TriggersAside<'c> {
    fn new(conn: &'c Connection) -> Self {
        let previous = conn.last_insert_rowid();
        set_last_insert_rowid(conn, TRIGGERS_STAND_ASIDE);
        TriggersAside { conn, previous }
    }
}

impl Drop for TriggersAside<'_> {
    fn drop(&mut self) {
        set_last_insert_rowid(self.conn, self.previous);
    }
}

/// Runs `f`, one statement that changes no column the UPDATE triggers keep
/// anything for (claim_next_jobs' `worker`), with the triggers standing
/// aside.
pub(crate) fn without_update_triggers<T>(conn: &Connection, f: impl FnOnce() -> T) -> T {
    let _aside = TriggersAside::new(conn);
    f()
}

/// Runs `f` in a savepoint of the open transaction: released when `f`
/// returns `Ok`, rolled back (and released) when it returns `Err` or
/// panics.
pub(crate) fn in_savepoint<T>(conn: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    struct Undo<'c>(Option<&'c Connection>);
    impl Drop for Undo<'_> {
        fn drop(&mut self) {
            if let Some(conn) = self.0 {
                // Fails only if SQLite rolled the whole transaction back
                // already (a full disk, say), which undid the work too.
                let _ = conn.execute_batch(ROLLBACK);
            }
        }
    }
    conn.prepare_cached(SAVEPOINT).db()?.execute([]).db()?;
    let mut undo = Undo(Some(conn));
    let value = f()?;
    conn.prepare_cached(RELEASE).db()?.execute([]).db()?;
    undo.0 = None;
    Ok(value)
}

/// The statements of one kind.
struct KindSql {
    job_type: &'static str,
    update: &'static str,
    counters: &'static str,
    /// The experiment counter step: variations only.
    experiment_counters: Option<&'static str>,
    summary: &'static str,
}

impl KindSql {
    fn of(job_type: JobType) -> Self {
        match job_type {
            JobType::Execution => KindSql {
                job_type: "execution",
                update: queries::UPDATE_EXECUTION_STATUS,
                counters: queries::STATUS_COUNTERS_EXECUTIONS,
                experiment_counters: None,
                summary: queries::STATUS_SUMMARY_EXECUTIONS,
            },
            JobType::Variation => KindSql {
                job_type: "variation",
                update: queries::UPDATE_VARIATION_STATUS,
                counters: queries::STATUS_COUNTERS_VARIATIONS,
                experiment_counters: Some(queries::STATUS_EXPERIMENT_COUNTERS),
                summary: queries::STATUS_SUMMARY_VARIATIONS,
            },
        }
    }
}

/// Calls with fewer changes leave the summary and the counters to the
/// triggers: below this the fixed cost of the set-based steps (and of the
/// savepoint, which copies every page it changes) outweighs the triggers'
/// work per row (measured: a call of 8 changes is faster with the
/// triggers, one of 32 with the set-based steps).
const SET_BASED_FROM: usize = 16;

/// Applies `changes` (distinct job_ids) to the jobs of `job_type`, stamped
/// `now`; returns how many jobs there were. Inside the caller's write
/// transaction.
pub(crate) fn apply(
    conn: &Connection,
    job_type: JobType,
    changes: &[StatusChange<'_>],
    now: &str,
) -> Result<u64> {
    let sql = KindSql::of(job_type);
    if changes.len() >= SET_BASED_FROM {
        if let Ok(changed) = in_savepoint(conn, || set_based(conn, &sql, changes, now)) {
            return Ok(changed);
        }
        // Rolled back to the savepoint: nothing of the attempt is left.
    }
    with_triggers(conn, &sql, changes, now)
}

/// Fills the working table with `changes`, after emptying it of the
/// changes of an earlier call on this connection that failed before it
/// emptied it itself (one whose error a `StoreTransaction` let pass).
fn add_changes(conn: &Connection, changes: &[StatusChange<'_>]) -> Result<()> {
    clear_changes(conn)?;
    let mut add = conn.prepare_cached(queries::STATUS_CHANGE_ADD).db()?;
    for c in changes {
        let fx = &c.effects;
        add.execute(params![
            c.job_id,
            fx.status,
            c.error_message,
            fx.starts_clock,
            fx.terminal,
            fx.success,
            fx.clears_error_message,
        ])
        .db()?;
    }
    Ok(())
}

fn clear_changes(conn: &Connection) -> Result<()> {
    conn.prepare_cached(queries::STATUS_CHANGE_CLEAR)
        .db()?
        .execute([])
        .db()?;
    Ok(())
}

/// Steps 1 and 3 of the module's argument; returns the keys touched.
fn counter_step(conn: &Connection, sql: &KindSql, sign: i64) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(sql.counters).db()?;
    let keys = stmt
        .query_map([sign], |r| Ok((r.get(0)?, r.get(1)?)))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    Ok(keys)
}

/// Steps 1 and 3 for the experiment counters (`experiment_counters`, the
/// step of variations); returns the keys touched, none for executions.
fn experiment_counter_step(
    conn: &Connection,
    sql: &KindSql,
    sign: i64,
) -> Result<Vec<(String, i32, String)>> {
    let Some(step) = sql.experiment_counters else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(step).db()?;
    let keys = stmt
        .query_map([sign], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    Ok(keys)
}

fn set_based(
    conn: &Connection,
    sql: &KindSql,
    changes: &[StatusChange<'_>],
    now: &str,
) -> Result<u64> {
    add_changes(conn, changes)?;
    let touched = counter_step(conn, sql, -1)?;
    let touched_experiments = experiment_counter_step(conn, sql, -1)?;
    let changed = {
        let mut update = conn.prepare_cached(sql.update).db()?;
        let _aside = TriggersAside::new(conn);
        update.execute([now]).db()?
    };
    counter_step(conn, sql, 1)?;
    experiment_counter_step(conn, sql, 1)?;
    let mut drop_zero = conn.prepare_cached(queries::COUNTERS_DROP_ZERO).db()?;
    for (dataset_name, status) in &touched {
        drop_zero
            .execute(params![dataset_name, sql.job_type, status])
            .db()?;
    }
    let mut drop_zero = conn
        .prepare_cached(queries::EXPERIMENT_COUNTERS_DROP_ZERO)
        .db()?;
    for (experiment_name, total_combinations, status) in &touched_experiments {
        drop_zero
            .execute(params![experiment_name, total_combinations, status])
            .db()?;
    }
    conn.prepare_cached(sql.summary).db()?.execute([]).db()?;
    clear_changes(conn)?;
    Ok(changed as u64)
}

/// The same UPDATE with the triggers doing the counters and the summary
/// row by row. One statement, so a failure undoes all of it (its statement
/// journal); no savepoint needed.
fn with_triggers(
    conn: &Connection,
    sql: &KindSql,
    changes: &[StatusChange<'_>],
    now: &str,
) -> Result<u64> {
    add_changes(conn, changes)?;
    let changed = conn.prepare_cached(sql.update).db()?.execute([now]).db()?;
    clear_changes(conn)?;
    Ok(changed as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_update_triggers_test_this_value() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let when = format!("WHEN last_insert_rowid() <> {TRIGGERS_STAND_ASIDE}");
        for trigger in [
            "executions_before_update",
            "executions_after_update",
            "variations_before_update",
            "variations_after_update",
        ] {
            let sql: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?1",
                    [trigger],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(sql.contains(&when), "{trigger}: {sql}");
        }
        // Only those: every other trigger does its work for every write.
        let others: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'trigger' AND sql LIKE '%last_insert_rowid%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(others, 4);
    }

    #[test]
    fn triggers_aside_puts_the_value_back() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        assert_eq!(conn.last_insert_rowid(), 2);
        {
            let _aside = TriggersAside::new(&conn);
            let seen: i64 = conn
                .query_row("SELECT last_insert_rowid()", [], |r| r.get(0))
                .unwrap();
            assert_eq!(seen, TRIGGERS_STAND_ASIDE);
        }
        assert_eq!(conn.last_insert_rowid(), 2);
        // Also when the code between fails by panicking.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _aside = TriggersAside::new(&conn);
            panic!("in the middle");
        }));
        assert!(caught.is_err());
        assert_eq!(conn.last_insert_rowid(), 2);
    }
}
