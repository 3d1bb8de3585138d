//! Status changes keep the summary and the counters set-based, with the
//! UPDATE triggers standing aside for jobtrack's one statement: the
//! triggers must still guard everything else, and a call that fails must
//! leave nothing behind.

mod common;

use common::*;
use jobtrack_sqlite::{JobStore, Status};
use rusqlite::Connection;

fn assert_exact(store: &JobStore, conn: &Connection, step: &str) {
    assert_eq!(store.verify_statistics().unwrap(), [], "{step}: counters");
    assert_eq!(store.verify_summary().unwrap(), [], "{step}: summary");
    assert_summary_exact(conn);
    // Only keys that have jobs: a row that fell to zero is gone.
    let zeros = count(
        conn,
        "SELECT COUNT(*) FROM job_counters WHERE jobs = 0 AND successful = 0 AND failed = 0 \
         AND duration_count = 0 AND duration_micros_sum = 0",
    );
    assert_eq!(zeros, 0, "{step}: counter rows at zero");
}

fn status_of(conn: &Connection, table: &str, job_id: &str) -> String {
    conn.query_row(
        &format!("SELECT status FROM {table} WHERE job_id = ?1"),
        [job_id],
        |r| r.get(0),
    )
    .unwrap()
}

/// Executions e0..e{n} and variations v0..v{n} in two datasets.
fn populate(store: &JobStore, n: usize) {
    let es: Vec<_> = (0..n)
        .map(|i| exec_on(&format!("e{i}"), ["a", "b"][i % 2]))
        .collect();
    store.batch_create_executions(&es).unwrap();
    let vs: Vec<_> = (0..n)
        .map(|i| var_on(&format!("v{i}"), ["a", "b"][i % 2]))
        .collect();
    store.batch_create_variations(&vs).unwrap();
}

#[test]
fn the_triggers_still_guard_every_other_write() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    populate(&store, 40);
    let conn = raw(&path);
    let statuses = [
        Status::Training,
        Status::Done,
        Status::Failed,
        Status::Cancelled,
    ];
    let batch: Vec<_> = (0..40)
        .map(|i| upd(&format!("e{i}"), statuses[i % 4]))
        .collect();
    assert_eq!(store.batch_update_execution_status(&batch).unwrap(), 40);
    assert_exact(&store, &conn, "after the batch");

    // jobtrack's own later writes on the same connection: update_progress
    // has no set-based step, so only the triggers can keep its summary row.
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert!(store.update_progress("e1", 7).unwrap());
    assert_exact(&store, &conn, "update_progress after the batch");

    // Plain SQL, from a connection that does not trust the schema's
    // functions either: the WHEN clause uses only a built-in one.
    conn.pragma_update(None, "trusted_schema", false).unwrap();
    conn.execute(
        "UPDATE executions SET status = 'failed', success = 0, duration_seconds = 2.5 \
         WHERE job_id IN ('e0', 'e2', 'e5')",
        [],
    )
    .unwrap();
    assert_exact(&store, &conn, "plain UPDATE");
    conn.execute(
        "UPDATE variations SET dataset_name = 'c', status = 'done' WHERE job_id = 'v3'",
        [],
    )
    .unwrap();
    assert_exact(&store, &conn, "plain UPDATE of a variation");
    conn.execute(
        "UPDATE OR REPLACE executions SET job_id = 'e7' WHERE job_id = 'e6'",
        [],
    )
    .unwrap();
    assert_exact(&store, &conn, "UPDATE OR REPLACE");
    // The guards still refuse what they refused.
    let err = conn
        .execute(
            "UPDATE executions SET job_id = 'v0' WHERE job_id = 'e8'",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("23505"), "{err}");
    let err = conn
        .execute(
            "UPDATE executions SET duration_seconds = 2e12 WHERE job_id = 'e8'",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("22003"), "{err}");
    assert_exact(&store, &conn, "refused plain writes");

    // And a batch after all that.
    let again: Vec<_> = (0..40)
        .map(|i| upd(&format!("v{i}"), statuses[(i + 1) % 4]))
        .collect();
    assert_eq!(store.batch_update_variation_status(&again).unwrap(), 40);
    assert_exact(&store, &conn, "a second batch");
}

#[test]
fn a_batch_replaces_damaged_summary_rows_as_the_triggers_did() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    populate(&store, 10);
    let conn = raw(&path);
    // Summary rows damaged by hand: one wrong, one missing, one of the
    // wrong kind.
    conn.execute_batch(
        "UPDATE job_summary_cache SET dataset_name = 'wrong', status = 'done' WHERE job_id = 'e1';
         DELETE FROM job_summary_cache WHERE job_id = 'e2';
         UPDATE job_summary_cache SET job_type = 'variation' WHERE job_id = 'e3';",
    )
    .unwrap();
    assert_eq!(store.verify_summary().unwrap().len(), 4);
    // Big enough for the set-based steps.
    let batch: Vec<_> = (0..20)
        .map(|i| upd(&format!("e{}", i % 10), Status::Training))
        .chain((0..10).map(|i| upd(&format!("v{i}"), Status::Done)))
        .collect();
    assert_eq!(store.batch_update_execution_status(&batch).unwrap(), 10);
    assert_exact(&store, &conn, "after the batch");
}

#[test]
fn calls_of_every_size_stay_exact() {
    // Small calls leave the work to the triggers, larger ones do it
    // set-based: both must end in the same exact state, also when they
    // follow each other in one transaction.
    let (dir, store) = file_store();
    let path = db_path(&dir);
    populate(&store, 400);
    let conn = raw(&path);
    let mut rng = fastrand::Rng::with_seed(11);
    let mut next = 0;
    for size in [1, 2, 15, 16, 17, 40, 100] {
        let batch: Vec<_> = (0..size)
            .map(|_| {
                next += 7;
                let status = Status::ALL[rng.usize(..Status::ALL.len())];
                upd(&format!("e{}", next % 400), status)
            })
            .collect();
        let expected: std::collections::HashSet<_> =
            batch.iter().map(|u| u.job_id.clone()).collect();
        assert_eq!(
            store.batch_update_execution_status(&batch).unwrap() as usize,
            expected.len()
        );
        assert_exact(&store, &conn, &format!("a call of {size}"));
        let n = store
            .transaction(|tx| {
                let a = tx.batch_update_variation_status(&[upd("v1", Status::Training)])?;
                let many: Vec<_> = (0..size)
                    .map(|i| upd(&format!("v{i}"), Status::Failed))
                    .collect();
                Ok(a + tx.batch_update_variation_status(&many)?)
            })
            .unwrap();
        assert_eq!(n as usize, 1 + size);
        assert_exact(
            &store,
            &conn,
            &format!("a transaction with a call of {size}"),
        );
    }
}

#[test]
fn large_batches_of_both_kinds_count_and_stay_exact() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    populate(&store, 3000);
    let conn = raw(&path);
    let mut rng = fastrand::Rng::with_seed(5);
    for round in 0..4 {
        let mut batch: Vec<_> = (0..2500)
            .map(|_| {
                let status = Status::ALL[rng.usize(..Status::ALL.len())];
                let mut u = upd(&format!("e{}", rng.usize(..3000)), status);
                if rng.bool() {
                    u.error_message = Some(format!("boom {round}"));
                }
                u
            })
            .collect();
        // Unknown ids are skipped, the last update of a repeated id wins.
        batch.push(upd("no-such-job", Status::Done));
        batch.push(upd("e0", Status::Training));
        batch.push(upd("e0", Status::Failed));
        let distinct: std::collections::HashSet<_> = batch
            .iter()
            .map(|u| u.job_id.as_str())
            .filter(|id| *id != "no-such-job")
            .collect();
        let changed = store.batch_update_execution_status(&batch).unwrap();
        assert_eq!(changed as usize, distinct.len(), "round {round}");
        assert_eq!(status_of(&conn, "executions", "e0"), "failed");
        assert_exact(&store, &conn, &format!("round {round}"));
    }
}

#[test]
fn a_failing_batch_changes_nothing_and_the_transaction_goes_on() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    populate(&store, 20);
    let conn = raw(&path);
    // Another program's trigger refuses one job's change.
    conn.execute_batch(
        "CREATE TRIGGER refuse_e13 BEFORE UPDATE ON executions
         WHEN NEW.job_id = 'e13' AND NEW.status = 'done'
         BEGIN SELECT RAISE(ABORT, '0A000: e13 stays'); END;",
    )
    .unwrap();
    let before = fingerprint(&conn);
    let failing: Vec<_> = (0..20)
        .map(|i| upd(&format!("e{i}"), Status::Done))
        .collect();
    let err = store.batch_update_execution_status(&failing).unwrap_err();
    assert_eq!(err.sqlstate(), "0A000", "{err}");
    assert_same(&fingerprint(&conn), &before, "after the failed call");

    // Inside a transaction that catches the error and goes on: the failed
    // call is undone whole (none of its 20 jobs changed, no counter moved),
    // the calls around it stand.
    let changed = store
        .transaction(|tx| {
            let mut n = tx.batch_update_variation_status(&[upd("v1", Status::Done)])?;
            let err = tx.batch_update_execution_status(&failing).unwrap_err();
            assert_eq!(err.sqlstate(), "0A000");
            n += tx.batch_update_execution_status(&[
                upd("e13", Status::Training),
                upd("e14", Status::Cancelled),
            ])?;
            tx.batch_create_executions(&[exec("late")])?;
            Ok(n)
        })
        .unwrap();
    assert_eq!(changed, 3);
    assert_eq!(status_of(&conn, "executions", "e0"), "pending");
    assert_eq!(status_of(&conn, "executions", "e13"), "training");
    assert_eq!(status_of(&conn, "executions", "e14"), "cancelled");
    assert_eq!(status_of(&conn, "variations", "v1"), "done");
    assert_exact(&store, &conn, "after the transaction");

    // The writer's triggers fire again for its next statements.
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert!(store.update_progress("e0", 3).unwrap());
    assert!(store.update_progress("v2", 3).unwrap());
    assert_exact(&store, &conn, "update_progress after the failure");
}

#[test]
fn a_sum_beyond_64_bits_fails_as_the_triggers_fail() {
    // Durations near the ±1e12 s the schema allows, set by plain SQL, of
    // alternating signs so that each counter stays small: changing all the
    // positive ones at once takes 20 × 9e17 µs out of one counter, beyond
    // 64 bits. The call fails as the per-row triggers would (23000: the sum
    // turns into a REAL, which the STRICT counter refuses), never with an
    // internal error, and changes nothing.
    let (dir, store) = file_store();
    let path = db_path(&dir);
    let jobs: Vec<_> = (0..40)
        .map(|i| exec_on(&format!("{}{i:02}", ["p", "n"][i % 2]), "huge"))
        .collect();
    store.batch_create_executions(&jobs).unwrap();
    let conn = raw(&path);
    for i in 0..40 {
        let (sign, id) = if i % 2 == 0 { (1.0, "p") } else { (-1.0, "n") };
        conn.execute(
            "UPDATE executions SET status = 'training', duration_seconds = ?2 WHERE job_id = ?1",
            rusqlite::params![format!("{id}{i:02}"), sign * 9e11],
        )
        .unwrap();
    }
    assert_exact(&store, &conn, "prepared");
    let before = fingerprint(&conn);
    let positive: Vec<_> = (0..40)
        .step_by(2)
        .map(|i| upd(&format!("p{i:02}"), Status::Failed))
        .collect();
    let err = store.batch_update_execution_status(&positive).unwrap_err();
    assert_eq!(err.sqlstate(), "23000", "{err}");
    assert_same(&fingerprint(&conn), &before, "after the failed call");
    assert_exact(&store, &conn, "after the failed call");

    // All of them at once: the counter's net change fits.
    let all: Vec<_> = jobs
        .iter()
        .map(|j| upd(&j.job_id, Status::Failed))
        .collect();
    assert_eq!(store.batch_update_execution_status(&all).unwrap(), 40);
    assert_exact(&store, &conn, "after all of them");
}

#[test]
fn in_memory_batches_are_exact_too() {
    let store = JobStore::open_in_memory().unwrap();
    populate(&store, 200);
    for (i, status) in Status::ALL.iter().enumerate() {
        let batch: Vec<_> = (0..200)
            .filter(|j| j % 10 == i)
            .map(|j| upd(&format!("v{j}"), *status))
            .collect();
        store.batch_update_variation_status(&batch).unwrap();
        store
            .update_execution_status(&format!("e{i}"), *status, Some("m"))
            .unwrap();
        assert_eq!(store.verify_statistics().unwrap(), [], "{status}");
        assert_eq!(store.verify_summary().unwrap(), [], "{status}");
    }
    // Every job moved on from pending: its counter rows are gone.
    let all: Vec<_> = (0..200)
        .map(|j| upd(&format!("e{j}"), Status::Done))
        .collect();
    store.batch_update_execution_status(&all).unwrap();
    let s = store.get_statistics_optimized().unwrap();
    assert_eq!(
        s.executions_by_status.keys().collect::<Vec<_>>(),
        [&Status::Done]
    );
    assert_eq!(store.verify_statistics().unwrap(), []);
    let s = store.get_statistics_optimized().unwrap();
    assert_eq!((s.total_executions, s.total_variations), (200, 200));
}

#[test]
fn a_set_based_call_changes_the_jobs_as_calls_of_one_do() {
    // Two stores with the same jobs; one gets 40 changes one call at a
    // time (the triggers' way), the other in one call (set-based). Apart
    // from the times, which differ between calls, the jobs must end alike.
    let stores = [file_store(), file_store()];
    for (_, store) in &stores {
        populate(store, 40);
        let training: Vec<_> = (0..40)
            .step_by(3)
            .map(|i| upd(&format!("e{i}"), Status::Training))
            .collect();
        store.batch_update_execution_status(&training).unwrap();
    }
    let statuses = [
        Status::Done,
        Status::Failed,
        Status::Training,
        Status::Cancelled,
        Status::Pending,
    ];
    let changes: Vec<_> = (0..40)
        .map(|i| {
            let mut u = upd(&format!("e{i}"), statuses[i % 5]);
            if i % 4 == 0 {
                u.error_message = Some(format!("message {i}"));
            }
            u
        })
        .collect();
    for u in &changes {
        stores[0]
            .1
            .batch_update_execution_status(std::slice::from_ref(u))
            .unwrap();
    }
    assert_eq!(
        stores[1].1.batch_update_execution_status(&changes).unwrap(),
        40
    );
    let shape = |dir: &tempfile::TempDir| {
        fingerprint_of_query(
            &raw(&db_path(dir)),
            "SELECT job_id, status, success, error_message, start_time IS NULL, \
             end_time IS NULL, duration_seconds IS NULL, updated_at = created_at \
             FROM executions ORDER BY job_id",
        )
    };
    assert_same(&shape(&stores[1].0), &shape(&stores[0].0), "the jobs");
    for (dir, store) in &stores {
        assert_exact(store, &raw(&db_path(dir)), "both ways");
    }
}

fn fingerprint_of_query(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| format!("{v:?}"))
                })
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    rows.into_iter().map(|r| r.join(",") + "\n").collect()
}
