//! `JobStore::transaction`: several write calls, one transaction — all or
//! nothing, also when the process is killed in the middle.

mod common;

use std::io::{BufRead, BufReader};
use std::panic::AssertUnwindSafe;
use std::process::Stdio;

use common::*;
use jobtrack_sqlite::{JobStore, Status};

/// Everything a reader can see of the store, to compare "before" and
/// "after".
fn visible(store: &JobStore, path: &std::path::Path) -> String {
    let s = store.get_statistics_optimized().unwrap();
    format!("{s:?}\n{}", fingerprint(&raw(path)))
}

#[test]
fn a_mixed_transaction_applies_everything_at_its_commit() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    store.create_execution(&exec("old")).unwrap();
    let outside = raw(&path);
    let ids = store
        .transaction(|tx| {
            let mut ids = tx.batch_create_executions(&[exec("e1"), exec("e2")])?;
            ids.extend(tx.batch_create_variations(&[var("v1")])?);
            // A job created by an earlier call is there for a later one.
            let changed = tx.batch_update_execution_status(&[
                upd("e1", Status::Training),
                upd("old", Status::Done),
            ])?;
            assert_eq!(changed, 2);
            assert_eq!(
                tx.batch_update_variation_status(&[upd("v1", Status::Failed)])?,
                1
            );
            // Nothing is visible outside before the commit.
            assert_eq!(count(&outside, "SELECT COUNT(*) FROM executions"), 1);
            assert_eq!(store.get_statistics_optimized()?.total_jobs, 1);
            Ok(ids)
        })
        .unwrap();
    assert_eq!(ids, ["e1", "e2", "v1"]);
    let s = store.get_statistics_cached().unwrap();
    assert_eq!((s.total_executions, s.total_variations), (3, 1));
    assert_eq!((s.total_successful, s.total_failed), (1, 1));
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.verify_summary().unwrap(), []);
    assert_summary_exact(&outside);
}

#[test]
fn a_failing_call_leaves_nothing_of_the_transaction() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    store
        .batch_create_executions(&[exec("a"), exec("b")])
        .unwrap();
    store.create_variation(&var("v")).unwrap();
    let before = visible(&store, &path);

    // A variation whose id is an execution created earlier in the same
    // transaction: 23505 naming it, and the executions go too.
    let err = store
        .transaction(|tx| {
            tx.batch_create_executions(&[exec("n1"), exec("n2")])?;
            tx.batch_update_execution_status(&[upd("a", Status::Done)])?;
            tx.batch_create_variations(&[var("n3"), var("n2")])
        })
        .unwrap_err();
    assert_eq!(err.sqlstate(), "23505");
    assert_eq!(err.to_string(), "job_id \"n2\" already exists");
    assert_same(&visible(&store, &path), &before, "what a reader sees");

    // The same kind twice across calls.
    let err = store
        .transaction(|tx| {
            tx.batch_create_variations(&[var("w")])?;
            tx.batch_create_variations(&[var("x"), var("w")])
        })
        .unwrap_err();
    assert_eq!(err.sqlstate(), "23505");
    assert_same(&visible(&store, &path), &before, "what a reader sees");

    // An id existing before the transaction, in the other kind.
    let err = store
        .transaction(|tx| {
            tx.batch_create_executions(&[exec("fresh")])?;
            tx.batch_create_executions(&[exec("v")])
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "job_id \"v\" already exists");
    assert_same(&visible(&store, &path), &before, "what a reader sees");

    // A bad element: 22023 naming its index and field, as the single call.
    let mut bad = exec("bad");
    bad.dataset_name.clear();
    let err = store
        .transaction(|tx| {
            tx.batch_create_executions(&[exec("fresh")])?;
            tx.batch_create_executions(&[exec("fine"), bad.clone()])
        })
        .unwrap_err();
    assert_eq!(err.sqlstate(), "22023");
    assert_eq!(
        err.to_string(),
        store
            .batch_create_executions(&[exec("fine"), bad])
            .unwrap_err()
            .to_string()
    );
    assert!(
        err.to_string()
            .starts_with("element 1: field \"dataset_name\""),
        "{err}"
    );
    assert_same(&visible(&store, &path), &before, "what a reader sees");

    // The closure's own error rolls back as well.
    let err = store
        .transaction(|tx| {
            tx.batch_create_executions(&[exec("fresh")])?;
            Err::<(), _>(jobtrack_sqlite::Error::database("P0001", "changed my mind"))
        })
        .unwrap_err();
    assert_eq!(err.sqlstate(), "P0001");
    assert_same(&visible(&store, &path), &before, "what a reader sees");

    // And the store goes on working.
    store
        .transaction(|tx| tx.batch_create_executions(&[exec("fresh")]))
        .unwrap();
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 4);
}

#[test]
fn a_panic_rolls_the_transaction_back() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    store.create_execution(&exec("a")).unwrap();
    let before = visible(&store, &path);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        store
            .transaction(|tx| {
                tx.batch_create_executions(&[exec("b")])?;
                tx.batch_update_execution_status(&[upd("a", Status::Failed)])?;
                panic!("in the middle");
                #[allow(unreachable_code)]
                Ok(())
            })
            .unwrap();
    }));
    assert!(result.is_err());
    assert_same(&visible(&store, &path), &before, "what a reader sees");
    store.create_execution(&exec("c")).unwrap();
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 2);
    assert_eq!(store.get_pool_status().active, 0);
}

#[test]
fn the_store_itself_is_not_used_inside_its_transaction() {
    // Its writes would wait for the transaction's own lock: 25001 instead.
    let (_dir, store) = file_store();
    let err = store
        .transaction(|_| store.create_execution(&exec("a")).map(|_| ()))
        .unwrap_err();
    assert_eq!(err.sqlstate(), "25001");
    // On a file its reads work, and see the file as it was.
    store
        .transaction(|tx| {
            tx.batch_create_executions(&[exec("b")])?;
            assert_eq!(store.get_statistics_optimized()?.total_jobs, 0);
            Ok(())
        })
        .unwrap();
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 1);

    // In memory the transaction holds the one connection.
    let memory = JobStore::open_in_memory().unwrap();
    let err = memory
        .transaction(|tx| {
            tx.batch_create_executions(&[exec("m")])?;
            memory.get_statistics_optimized().map(|_| ())
        })
        .unwrap_err();
    assert_eq!(err.sqlstate(), "25001");
    assert_eq!(memory.get_statistics_optimized().unwrap().total_jobs, 0);
}

#[test]
fn calls_inside_a_transaction_count_in_the_metrics() {
    let store = JobStore::open_in_memory().unwrap();
    store
        .transaction(|tx| {
            tx.batch_create_executions(&[exec("a"), exec("b")])?;
            tx.batch_create_variations(&[var("v")])?;
            tx.batch_update_execution_status(&[upd("a", Status::Done)])?;
            tx.batch_update_variation_status(&[upd("v", Status::Done)])?;
            // A failed call counts as failed, whatever the closure does next.
            assert!(tx.batch_create_executions(&[exec("a")]).is_err());
            Ok(())
        })
        .unwrap();
    let m = store.get_transaction_metrics();
    let creates = &m["batch_create_executions"];
    assert_eq!((creates.count, creates.success_count), (2, 1));
    for name in [
        "batch_create_variations",
        "batch_update_execution_status",
        "batch_update_variation_status",
    ] {
        assert_eq!((m[name].count, m[name].success_count), (1, 1), "{name}");
    }
    // The one-call methods are the same code in a transaction of their
    // own, under the same names.
    store.batch_create_executions(&[exec("c")]).unwrap();
    assert_eq!(
        store.get_transaction_metrics()["batch_create_executions"].count,
        3
    );
}

/// Jobs per batch of the big transaction below, per kind.
const BATCH: usize = 2000;
/// Batches of each kind the child would write before committing.
const BATCHES: usize = 100;

/// Child process: one big mixed transaction on the file in
/// `JOBTRACK_TEST_DB` — executions, variations and status updates, batch
/// after batch, saying `batch N` after each — that the parent kills.
#[test]
#[ignore = "a child process of kill_9_in_the_middle_of_a_big_transaction_leaves_the_file_as_before"]
fn child_writes_a_big_transaction() {
    let path = std::env::var("JOBTRACK_TEST_DB").expect("run by another test");
    let store = JobStore::open(path).unwrap();
    store
        .transaction(|tx| {
            for b in 0..BATCHES {
                let executions: Vec<_> = (0..BATCH)
                    .map(|i| exec_on(&format!("big-e{b}-{i}"), "big"))
                    .collect();
                let variations: Vec<_> = (0..BATCH)
                    .map(|i| var_on(&format!("big-v{b}-{i}"), "big"))
                    .collect();
                tx.batch_create_executions(&executions)?;
                tx.batch_create_variations(&variations)?;
                let updates: Vec<_> = (0..BATCH)
                    .step_by(2)
                    .map(|i| upd(&format!("big-e{b}-{i}"), Status::Done))
                    .chain([upd("keep-0", Status::Cancelled)])
                    .collect();
                tx.batch_update_execution_status(&updates)?;
                child_says(&format!("batch {b}"));
            }
            Ok(())
        })
        .unwrap();
    child_says("committed");
}

#[test]
fn kill_9_in_the_middle_of_a_big_transaction_leaves_the_file_as_before() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    let keep: Vec<_> = (0..300).map(|i| exec(&format!("keep-{i}"))).collect();
    store.batch_create_executions(&keep).unwrap();
    let vars: Vec<_> = (0..300).map(|i| var(&format!("keepv-{i}"))).collect();
    store.batch_create_variations(&vars).unwrap();
    store
        .batch_update_execution_status(&[
            upd("keep-0", Status::Training),
            upd("keep-1", Status::Failed),
        ])
        .unwrap();
    drop(store);
    let before = fingerprint(&raw(&path));

    let mut child = child_test("child_writes_a_big_transaction")
        .env("JOBTRACK_TEST_DB", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Well into the transaction: 40,000 uncommitted jobs, more than the
    // page cache holds, so SQLite has spilled pages into the WAL.
    wait_for_line(&mut lines, &format!("batch {}", BATCHES / 10 - 1));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let wal = path.with_extension("db-wal");
    let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    eprintln!("killed mid-transaction; the WAL held {wal_bytes} bytes");
    assert!(
        wal_bytes > 1 << 20,
        "the transaction had not reached the WAL"
    );

    let store = JobStore::open(&path).unwrap();
    let conn = raw(&path);
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert_same(&fingerprint(&conn), &before, "the file");
    let s = store.get_statistics_optimized().unwrap();
    assert_eq!((s.total_executions, s.total_variations), (300, 300));
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.verify_summary().unwrap(), []);
    // And writing goes on.
    store.create_execution(&exec("after")).unwrap();
}
