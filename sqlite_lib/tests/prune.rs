//! `prune_jobs`: what `cleanup_old_jobs` deletes, in batches of its own
//! transactions, oldest first; what it reports and counts, what it refuses,
//! and writers getting in between its batches.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use jobtrack_sqlite::jobtrack_core::PruneReport;
use jobtrack_sqlite::{JobStore, JobStoreOptions, Status, Timestamp};
use rusqlite::Connection;
use tempfile::TempDir;

/// Every job_id in the file, sorted.
fn job_ids(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT job_id FROM executions UNION ALL SELECT job_id FROM variations ORDER BY 1")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Asserts that the counters and the summary table match the base tables,
/// by the store's own checks and by the tests' query.
#[track_caller]
fn assert_exact(store: &JobStore, conn: &Connection) {
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.verify_summary().unwrap(), []);
    assert_summary_exact(conn);
    assert_eq!(
        count(conn, "SELECT COUNT(*) FROM job_counters WHERE jobs = 0"),
        0,
        "counter rows of no jobs are deleted"
    );
}

/// A store with `executions` old executions and `variations` old variations,
/// all done or cancelled, their `created_at` interleaving the two kinds.
fn old_terminal_jobs(executions: usize, variations: usize) -> (TempDir, JobStore, Connection) {
    let (dir, store) = file_store();
    let terminal = |i: usize| {
        if i % 3 == 2 {
            Status::Cancelled
        } else {
            Status::Done
        }
    };
    let e: Vec<_> = (0..executions)
        .map(|i| {
            let mut e = exec(&format!("e{i:05}"));
            e.status = terminal(i);
            e
        })
        .collect();
    let v: Vec<_> = (0..variations)
        .map(|i| {
            let mut v = var(&format!("v{i:05}"));
            v.status = terminal(i);
            v
        })
        .collect();
    store.batch_create_executions(&e).unwrap();
    store.batch_create_variations(&v).unwrap();
    let conn = raw(&db_path(&dir));
    // Even minutes for executions, odd ones for variations.
    conn.execute_batch(&format!(
        "UPDATE executions SET created_at = strftime('%Y-%m-%dT%H:%M:%S', {OLD_MICROS} / 1000000, \
         'unixepoch', (2 * rowid) || ' minutes') || '.000000Z';
         UPDATE variations SET created_at = strftime('%Y-%m-%dT%H:%M:%S', {OLD_MICROS} / 1000000, \
         'unixepoch', (2 * rowid + 1) || ' minutes') || '.000000Z';"
    ))
    .unwrap();
    (dir, store, conn)
}

fn report(executions: i64, variations: i64, batches: i64) -> PruneReport {
    PruneReport {
        executions_deleted: executions,
        variations_deleted: variations,
        cache_entries_deleted: executions + variations,
        batches,
    }
}

#[test]
fn batches_until_one_finds_fewer_than_batch_size() {
    // (executions, variations, batch_size, batches): the last batch finds
    // fewer than batch_size jobs, none after an exact multiple.
    for (executions, variations, batch_size, batches) in [
        (15, 10, 10, 3),
        (10, 10, 10, 3),
        (10, 10, 20, 2),
        (10, 10, 21, 1),
        (10, 10, i32::MAX, 1),
        (25, 0, 1, 26),
        (0, 0, 10, 1),
    ] {
        let (_dir, store, conn) = old_terminal_jobs(executions, variations);
        let r = store.prune_jobs(30, true, batch_size).unwrap();
        let case = format!("{executions}+{variations} jobs, batch_size {batch_size}");
        assert_eq!(
            r,
            report(executions as i64, variations as i64, batches),
            "{case}"
        );
        assert_eq!(job_ids(&conn), Vec::<String>::new(), "{case}");
        assert_exact(&store, &conn);
        // Nothing left: one more prune is one batch that finds nothing.
        assert_eq!(
            store.prune_jobs(30, true, batch_size).unwrap(),
            report(0, 0, 1)
        );
    }
}

/// Every status of both kinds, old and new.
const STATUSES: [Status; 10] = [
    Status::Pending,
    Status::InQueue,
    Status::PreparingDataset,
    Status::ConfiguringPreset,
    Status::ReadyForTraining,
    Status::Training,
    Status::GeneratingPreview,
    Status::Done,
    Status::Failed,
    Status::Cancelled,
];

/// A file with a job of every status, kind and age (old: created in 2020;
/// new: just now), 40 jobs.
fn every_status(path: &Path) {
    let store = JobStore::open(path).unwrap();
    let conn = raw(path);
    let mut rank = 0;
    for (i, status) in STATUSES.into_iter().enumerate() {
        for age in ["old", "new"] {
            let mut e = exec(&format!("e-{status}-{age}"));
            e.status = status;
            e.dataset_name = format!("d{}", i % 3);
            store.create_execution(&e).unwrap();
            let mut v = var(&format!("v-{status}-{age}"));
            v.status = status;
            store.create_variation(&v).unwrap();
            if age == "old" {
                set_created(&conn, &e.job_id, &old_at(rank));
                set_created(&conn, &v.job_id, &old_at(rank + 1));
                rank += 2;
            }
        }
    }
}

/// On two copies of one file, `cleanup_old_jobs` and `prune_jobs` (batches
/// of 3) delete the same jobs and leave every row of the base tables, the
/// summary and the counters alike: the same rule, the keep-failed one
/// included, and never an active job.
#[test]
fn deletes_what_cleanup_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.db");
    every_status(&template);
    let source = raw(&template);
    let active = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .filter(|id| {
                !["done", "failed", "cancelled"]
                    .iter()
                    .any(|t| id.contains(t))
            })
            .cloned()
            .collect()
    };
    let all = job_ids(&source);
    assert_eq!(all.len(), 40);
    // (days, keep_failed, jobs deleted): old terminal jobs of both kinds, or
    // every terminal one with days = 0; the failed ones only without
    // keep_failed.
    for (days, keep_failed, deleted) in
        [(30, true, 4), (30, false, 6), (0, true, 8), (0, false, 12)]
    {
        let case = format!("days {days}, keep_failed {keep_failed}");
        let copies = ["cleanup.db", "prune.db"].map(|name| {
            let path = dir.path().join(format!("{days}-{keep_failed}-{name}"));
            source
                .execute("VACUUM INTO ?1", [path.to_str().unwrap()])
                .unwrap();
            path
        });
        let (cleaned, pruned) = (
            JobStore::open(&copies[0]).unwrap(),
            JobStore::open(&copies[1]).unwrap(),
        );
        let c = cleaned.cleanup_old_jobs(days, keep_failed).unwrap();
        let p = pruned.prune_jobs(days, keep_failed, 3).unwrap();
        assert_eq!(
            (
                p.executions_deleted,
                p.variations_deleted,
                p.cache_entries_deleted
            ),
            (
                c.executions_deleted,
                c.variations_deleted,
                c.cache_entries_deleted
            ),
            "{case}"
        );
        assert_eq!(
            p.executions_deleted + p.variations_deleted,
            deleted,
            "{case}"
        );
        assert_eq!(p.batches, deleted / 3 + 1, "{case}");
        let (cleaned_conn, pruned_conn) = (raw(&copies[0]), raw(&copies[1]));
        assert_same(
            &fingerprint(&pruned_conn),
            &fingerprint(&cleaned_conn),
            &case,
        );
        let left = job_ids(&pruned_conn);
        assert_eq!(left.len() as i64, 40 - deleted, "{case}");
        assert_eq!(
            active(&left),
            active(&all),
            "{case}: every active job stays"
        );
        if keep_failed {
            assert_eq!(
                left.iter().filter(|id| id.contains("failed")).count(),
                4,
                "{case}: every failed job stays"
            );
        }
        if days > 0 {
            assert_eq!(
                left.iter().filter(|id| id.ends_with("-new")).count(),
                20,
                "{case}: every new job stays"
            );
        }
        assert_exact(&pruned, &pruned_conn);
    }
}

/// Active jobs, however old, are never pruned: with days = 0 and without
/// keep_failed, one job a batch, exactly the terminal ones go.
#[test]
fn active_jobs_are_never_pruned() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    for (rank, status) in STATUSES.into_iter().enumerate() {
        let mut e = exec(&format!("e-{status}"));
        e.status = status;
        store.create_execution(&e).unwrap();
        let mut v = var(&format!("v-{status}"));
        v.status = status;
        store.create_variation(&v).unwrap();
        // Older than any days.
        set_created(&conn, &e.job_id, "0001-01-01T00:00:00.000000Z");
        set_created(&conn, &v.job_id, &old_at(rank as i64));
    }
    assert_eq!(store.prune_jobs(0, false, 1).unwrap(), report(3, 3, 7));
    let left = job_ids(&conn);
    let mut active: Vec<String> = STATUSES[..7]
        .iter()
        .flat_map(|s| [format!("e-{s}"), format!("v-{s}")])
        .collect();
    active.sort();
    assert_eq!(left, active);
    assert_exact(&store, &conn);
}

/// Replaces the test's trigger: deleting `job_id` from `table` fails with
/// P0001, so that the prune batch holding that job rolls back and the
/// prune stops after the batches before it.
fn stop_at(conn: &Connection, table: &str, job_id: &str) {
    conn.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS test_stop;
         CREATE TRIGGER test_stop BEFORE DELETE ON {table} WHEN OLD.job_id = '{job_id}'
         BEGIN SELECT RAISE(ABORT, 'P0001: stop at {job_id}'); END;"
    ))
    .unwrap();
}

/// Each batch takes the `batch_size` oldest jobs left, across both kinds: a
/// trigger of the test makes the batch holding a given job fail, so the
/// prune stops after the batches before it, which stay committed while the
/// failed one leaves nothing behind; calling it again goes on from there.
/// The `created_at` order is neither the order of creation nor that of the
/// ids, and alternates the kinds; the oldest jobs of all are not prunable
/// and take no place in a batch.
#[test]
fn each_batch_takes_the_oldest_jobs_left_and_a_failed_one_stops_the_prune() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    let mut training = exec("training");
    training.status = Status::Training;
    store.create_execution(&training).unwrap();
    let mut failed = var("failed");
    failed.status = Status::Failed;
    store.create_variation(&failed).unwrap();
    set_created(&conn, "training", &old_at(0));
    set_created(&conn, "failed", &old_at(1));
    // Job i is created i-th and is the (5i mod 12)-th oldest: ranks and ids
    // in a different order, the kind alternating with the rank as with i.
    let id = |i: usize| format!("{}{i:02}", if i.is_multiple_of(2) { "e" } else { "v" });
    let mut by_rank = vec![String::new(); 12];
    for i in 0..12_usize {
        if i.is_multiple_of(2) {
            let mut e = exec(&id(i));
            e.status = Status::Done;
            store.create_execution(&e).unwrap();
        } else {
            let mut v = var(&id(i));
            v.status = Status::Cancelled;
            store.create_variation(&v).unwrap();
        }
        let rank = 5 * i % 12;
        set_created(&conn, &id(i), &old_at(2 + rank as i64));
        by_rank[rank] = id(i);
    }
    let left_from = |rank: usize| {
        let mut ids: Vec<String> = by_rank[rank..].to_vec();
        ids.extend(["failed".to_owned(), "training".to_owned()]);
        ids.sort();
        ids
    };
    let table = |job_id: &str| {
        if job_id.starts_with('e') {
            "executions"
        } else {
            "variations"
        }
    };
    let metrics = || {
        let m = &store.get_transaction_metrics()["prune_jobs"];
        (m.count, m.success_count, m.last_success)
    };

    // The batches of 3 are ranks 0-2, 3-5, 6-8, 9-11. A prune stopped in
    // its batch k has committed the k - 1 before.
    let mut calls = (0, 0);
    for (stop_rank, committed) in [(4, 1), (8, 1), (6, 0), (11, 1)] {
        let stop = &by_rank[stop_rank];
        stop_at(&conn, table(stop), stop);
        let err = store.prune_jobs(30, true, 3).unwrap_err();
        assert_eq!(err.sqlstate(), "P0001", "{err}");
        assert_eq!(err.to_string(), format!("stop at {stop}"));
        let done = stop_rank / 3 * 3;
        assert_eq!(
            job_ids(&conn),
            left_from(done),
            "stopped at rank {stop_rank}"
        );
        assert_exact(&store, &conn);
        calls = (calls.0 + committed + 1, calls.1 + committed);
        assert_eq!(metrics(), (calls.0, calls.1, false));
    }
    conn.execute_batch("DROP TRIGGER test_stop").unwrap();
    assert_eq!(store.prune_jobs(30, true, 3).unwrap(), report(1, 2, 2));
    assert_eq!(job_ids(&conn), ["failed", "training"]);
    assert_exact(&store, &conn);
    assert_eq!(metrics(), (calls.0 + 2, calls.1 + 2, true));
}

/// The summary, the counters, the statistics and the cache after a prune:
/// exact, with the figures of the jobs left.
#[test]
fn statistics_and_summary_are_exact_after_a_prune() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    // (job_id, dataset, final status, old): executions first, then
    // variations; every job but the pending and in_queue ones trained.
    let executions = [
        ("m0", "mnist", Status::Done, true),
        ("m1", "mnist", Status::Failed, true),
        ("m2", "mnist", Status::Cancelled, true),
        ("m3", "mnist", Status::Training, true),
        ("m4", "mnist", Status::Done, false),
        ("m5", "mnist", Status::Pending, true),
        ("i0", "imagenet", Status::Done, true),
    ];
    let variations = [
        ("c0", "cifar", Status::Done, true),
        ("c1", "cifar", Status::Failed, true),
        ("c2", "cifar", Status::Done, true),
        ("c3", "cifar", Status::InQueue, true),
    ];
    for (job_id, dataset, status, _) in executions {
        store.create_execution(&exec_on(job_id, dataset)).unwrap();
        if status != Status::Pending {
            store
                .update_execution_status(job_id, Status::Training, None)
                .unwrap();
        }
        store.update_execution_status(job_id, status, None).unwrap();
    }
    for (job_id, dataset, status, _) in variations {
        store.create_variation(&var_on(job_id, dataset)).unwrap();
        if status != Status::InQueue {
            store
                .update_variation_status(job_id, Status::Training, None)
                .unwrap();
        }
        store.update_variation_status(job_id, status, None).unwrap();
    }
    let mut rank = 0;
    for (job_id, _, _, old) in executions.iter().chain(&variations) {
        if *old {
            set_created(&conn, job_id, &old_at(rank));
            rank += 1;
        }
    }
    // Fill the cache, which the prune's commits must empty.
    store.get_statistics_cached().unwrap();
    store.get_dataset_stats_cached("imagenet").unwrap();

    // m0, m2, i0, c0 and c2 go: 5 jobs, batches of 2, 2 and 1.
    assert_eq!(store.prune_jobs(30, true, 2).unwrap(), report(3, 2, 3));
    assert_eq!(job_ids(&conn), ["c1", "c3", "m1", "m3", "m4", "m5"]);
    assert_exact(&store, &conn);

    let stats = store.get_statistics_optimized().unwrap();
    assert_eq!(
        (
            stats.total_executions,
            stats.total_variations,
            stats.total_jobs
        ),
        (4, 2, 6)
    );
    let by = |counts: &jobtrack_sqlite::jobtrack_core::StatusCounts| {
        counts
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by(&stats.executions_by_status),
        [
            ("pending".to_owned(), 1),
            ("training".to_owned(), 1),
            ("done".to_owned(), 1),
            ("failed".to_owned(), 1)
        ]
    );
    assert_eq!(
        by(&stats.variations_by_status),
        [("in_queue".to_owned(), 1), ("failed".to_owned(), 1)]
    );
    assert_eq!((stats.total_successful, stats.total_failed), (1, 2));
    assert!(
        (stats.success_rate - 100.0 / 3.0).abs() < 1e-9,
        "{}",
        stats.success_rate
    );
    let avg = |table: &str| -> Option<f64> {
        conn.query_row(
            &format!("SELECT AVG(duration_seconds) FROM {table}"),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let close =
        |a: Option<f64>, b: Option<f64>| a.zip(b).is_some_and(|(a, b)| (a - b).abs() < 1e-6);
    assert!(
        close(stats.avg_execution_duration, avg("executions")),
        "{stats:?}"
    );
    assert!(
        close(stats.avg_variation_duration, avg("variations")),
        "{stats:?}"
    );
    // m1 and m4 have durations, c1 has one.
    assert_eq!(
        count(&conn, "SELECT COUNT(duration_seconds) FROM executions"),
        2
    );
    assert_eq!(store.get_statistics_cached().unwrap(), stats);
    let imagenet = store.get_dataset_stats_cached("imagenet").unwrap();
    assert_eq!(
        imagenet,
        store.get_dataset_stats_optimized("imagenet").unwrap()
    );
    assert_eq!((imagenet.total_jobs, imagenet.executions), (0, 0));
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM job_counters WHERE dataset_name = 'imagenet'"
        ),
        0
    );
}

/// Bad arguments: 22023 naming the argument (days first), checked before
/// the write lock is asked for, nothing applied, one failed call each.
#[test]
fn bad_arguments_are_22023_and_delete_nothing() {
    let (dir, store, conn) = old_terminal_jobs(5, 5);
    let before = fingerprint(&conn);
    // Another program holds the write lock: a refusal does not wait for it.
    let holder = raw(&db_path(&dir));
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let range = |field: &str, min: i32, got: i64| {
        format!("field \"{field}\" must be an integer from {min} to 2147483647, got {got}")
    };
    let cases = [
        (-1, 10, range("days", 0, -1)),
        (i32::MIN, 10, range("days", 0, i32::MIN.into())),
        (30, 0, range("batch_size", 1, 0)),
        (30, -1, range("batch_size", 1, -1)),
        (30, i32::MIN, range("batch_size", 1, i32::MIN.into())),
        (-1, 0, range("days", 0, -1)),
    ];
    for (days, batch_size, message) in &cases {
        for keep_failed in [true, false] {
            let err = store
                .prune_jobs(*days, keep_failed, *batch_size)
                .unwrap_err();
            assert_eq!(err.sqlstate(), "22023", "{err}");
            assert_eq!(&err.to_string(), message);
        }
    }
    holder.execute_batch("ROLLBACK").unwrap();
    assert_same(&fingerprint(&conn), &before, "after the refused prunes");
    let m = &store.get_transaction_metrics()["prune_jobs"];
    assert_eq!(
        (m.count, m.success_count, m.last_success),
        (2 * cases.len() as u64, 0, false)
    );
}

/// A `days` reaching back before the year 1, where no timestamp is stored,
/// deletes nothing and runs no batch; one day less reaches a job of the
/// year 1.
#[test]
fn days_before_the_year_1_run_no_batch() {
    let (_dir, store, conn) = old_terminal_jobs(3, 3);
    set_created(&conn, "e00000", "0001-01-01T00:00:00.000000Z");
    let before = fingerprint(&conn);
    assert_eq!(
        store.prune_jobs(i32::MAX, false, 10).unwrap(),
        PruneReport::default()
    );
    // The last days whose cutoff is a storable time, and the first that is
    // not.
    let year_1 = -62_135_596_800_000_000_i64;
    let last = ((Timestamp::now().unix_micros() - year_1) / 86_400_000_000) as i32;
    assert_eq!(
        store.prune_jobs(last + 1, false, 10).unwrap(),
        PruneReport::default()
    );
    assert_same(&fingerprint(&conn), &before, "after days = i32::MAX");
    // A call with no batch still counts as a call.
    let m = &store.get_transaction_metrics()["prune_jobs"];
    assert_eq!((m.count, m.success_count), (2, 2));
    assert_eq!(store.prune_jobs(last, false, 10).unwrap(), report(1, 0, 1));
    assert!(!job_ids(&conn).contains(&"e00000".to_owned()));
    assert_eq!(job_ids(&conn).len(), 5);
    assert_exact(&store, &conn);
}

/// Each batch is one call of prune_jobs in the metrics; a refused prune is
/// one failed call.
#[test]
fn metrics_count_each_batch_as_a_call() {
    let (_dir, store, _conn) = old_terminal_jobs(15, 10);
    store.reset_transaction_metrics();
    assert_eq!(store.prune_jobs(30, true, 10).unwrap().batches, 3);
    let metrics = store.get_transaction_metrics();
    assert_eq!(metrics.keys().collect::<Vec<_>>(), ["prune_jobs"]);
    let m = &metrics["prune_jobs"];
    assert_eq!((m.count, m.success_count, m.last_success), (3, 3, true));
    assert!(m.min_duration <= m.max_duration && m.total_duration >= 3.0 * m.min_duration);

    store.prune_jobs(30, true, 0).unwrap_err();
    let m = &store.get_transaction_metrics()["prune_jobs"];
    assert_eq!((m.count, m.success_count, m.last_success), (4, 3, false));
    assert_eq!(m.success_rate, 75.0);

    assert_eq!(store.prune_jobs(30, true, 10).unwrap().batches, 1);
    let m = &store.get_transaction_metrics()["prune_jobs"];
    assert_eq!((m.count, m.success_count, m.last_success), (5, 4, true));
}

/// Jobs in the big prunes of the writer tests: 10,000 of each kind.
const MANY: usize = 10_000;
const BATCH: i32 = 500;

/// Sets a flag when dropped: the prune has returned (or panicked), which
/// ends the writer threads' waiting.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The old jobs still in the file.
fn old_left(conn: &Connection) -> i64 {
    count(
        conn,
        "SELECT (SELECT COUNT(*) FROM executions WHERE job_id LIKE 'e0%') \
              + (SELECT COUNT(*) FROM variations WHERE job_id LIKE 'v0%')",
    )
}

/// A writer of another store on the file, with the default busy timeout,
/// waits for the first batch to commit and then writes a job that is done
/// at once: its transaction finds some of the old jobs deleted and some
/// not, so it got in between two batches, long before the prune's end; and
/// the batches after it leave its job alone, although it is terminal and
/// days is 0: the cutoff was fixed when the prune started.
#[test]
fn a_writer_gets_in_between_batches_and_the_cutoff_stays() {
    let (dir, store, conn) = old_terminal_jobs(MANY, MANY);
    let returned = Arc::new(AtomicBool::new(false));
    let writer = {
        let path = db_path(&dir);
        let returned = returned.clone();
        std::thread::spawn(move || {
            let other = JobStore::open_with(
                &path,
                JobStoreOptions {
                    busy_timeout: std::time::Duration::from_secs(120),
                    ..JobStoreOptions::default()
                },
            )
            .unwrap();
            let reader = raw(&path);
            // Until a batch has committed (or the prune returned, which
            // the assertion below reports).
            while old_left(&reader) == 2 * MANY as i64 && !returned.load(Ordering::SeqCst) {}
            let mut late = exec("late");
            late.status = Status::Done;
            // Read while this transaction holds the write lock: no batch
            // can commit meanwhile.
            let left = other
                .transaction(|tx| {
                    tx.batch_create_executions(&[late])?;
                    Ok(old_left(&reader))
                })
                .unwrap();
            (left, returned.load(Ordering::SeqCst))
        })
    };
    let r = {
        let _returned = SetOnDrop(returned);
        store.prune_jobs(0, false, BATCH).unwrap()
    };
    let (left, after_the_prune) = writer.join().unwrap();
    assert_eq!(
        r,
        report(
            MANY as i64,
            MANY as i64,
            (2 * MANY) as i64 / i64::from(BATCH) + 1
        )
    );
    assert!(
        left > 0 && !after_the_prune,
        "the writer committed with {left} old jobs left (the prune had returned: \
         {after_the_prune}): it did not get in between batches"
    );
    assert_eq!(left % i64::from(BATCH), 0, "a batch is all or nothing");
    assert_eq!(job_ids(&conn), ["late"]);
    assert_exact(&store, &conn);
}

/// The measure: writers running throughout a big prune wait for
/// one batch at most. Each write of another store counts the old jobs just
/// before it asks for the write lock and again once it holds it: the
/// batches committed in between are the batches it waited for — one when
/// it asked during a batch, at most two when a batch committed between its
/// count and its request.
#[test]
fn writers_wait_for_one_batch_at_most() {
    let (dir, store, conn) = old_terminal_jobs(MANY, MANY);
    let returned = Arc::new(AtomicBool::new(false));
    let writer = {
        let path = db_path(&dir);
        let returned = returned.clone();
        std::thread::spawn(move || {
            let other = JobStore::open_with(
                &path,
                JobStoreOptions {
                    busy_timeout: std::time::Duration::from_secs(120),
                    ..JobStoreOptions::default()
                },
            )
            .unwrap();
            let reader = raw(&path);
            // (old jobs before, batches waited)
            let mut waits = Vec::new();
            // Until the prune has returned, and once at least.
            loop {
                let last = returned.load(Ordering::SeqCst);
                let before = old_left(&reader);
                let job = exec(&format!("w{}", waits.len()));
                let held = other
                    .transaction(|tx| {
                        tx.batch_create_executions(&[job])?;
                        Ok(old_left(&reader))
                    })
                    .unwrap();
                waits.push((before, (before - held) / i64::from(BATCH)));
                if last {
                    break;
                }
            }
            waits
        })
    };
    {
        let _returned = SetOnDrop(returned);
        store.prune_jobs(30, true, BATCH).unwrap();
    }
    let waits = writer.join().unwrap();
    assert!(
        waits.iter().any(|&(before, _)| before > 0),
        "no write asked for the lock before the prune's last batch: {waits:?}"
    );
    let longest = waits.iter().map(|&(_, w)| w).max().unwrap();
    assert!(
        longest <= 2,
        "a writer waited for {longest} batches of {} ({} writes; (old jobs left, batches \
         waited) of the longest waits: {:?})",
        (2 * MANY) as i64 / i64::from(BATCH) + 1,
        waits.len(),
        waits.iter().filter(|&&(_, w)| w > 2).collect::<Vec<_>>()
    );
    assert_eq!(old_left(&conn), 0);
    assert_exact(&store, &conn);
}
