//! `claim_next_jobs`: the oldest pending jobs of both kinds, moved to
//! `in_queue` exactly as a status update would move them, with the worker
//! recorded; what it refuses, what it counts, a claim that fails, claimers
//! racing on one file, and a file migrated from version 5.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use jobtrack_sqlite::jobtrack_core::{Job, StatusCounts};
use jobtrack_sqlite::{JobStore, JobStoreOptions, Status, Timestamp};
use rusqlite::Connection;

/// The `worker` column of every job, read from the base tables.
fn workers(conn: &Connection) -> BTreeMap<String, Option<String>> {
    let mut stmt = conn
        .prepare(
            "SELECT job_id, worker FROM executions UNION ALL SELECT job_id, worker FROM variations",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The status of every job, read from the base tables.
fn statuses(conn: &Connection) -> BTreeMap<String, String> {
    let mut stmt = conn
        .prepare(
            "SELECT job_id, status FROM executions UNION ALL SELECT job_id, status FROM variations",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn ids(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.job_id.as_str()).collect()
}

/// Every job the store lists, by job_id.
fn all_jobs(store: &JobStore) -> BTreeMap<String, Job> {
    store
        .get_all_jobs_optimized(10_000, None)
        .unwrap()
        .into_iter()
        .map(|j| (j.job_id.clone(), j))
        .collect()
}

/// The counters and the summary match the base tables, by the store's own
/// checks and by the tests' query; the cache, read after the write, agrees
/// with a fresh read.
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
    assert_eq!(
        store.get_statistics_cached().unwrap(),
        store.get_statistics_optimized().unwrap()
    );
}

fn by_status(counts: &StatusCounts) -> Vec<(String, i64)> {
    counts.iter().map(|(s, n)| (s.to_string(), *n)).collect()
}

/// Every status but `pending`.
const NOT_PENDING: [Status; 9] = [
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

/// Ten pending jobs whose `created_at` order is neither the order of
/// creation nor that of the ids, alternates the kinds, and has ties within
/// a kind and across the kinds; older than all of them, a job of every
/// other status and kind, which no claim may take.
#[test]
fn claims_the_oldest_pending_jobs_of_both_kinds_first() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    for (rank, status) in NOT_PENDING.into_iter().enumerate() {
        let mut e = exec(&format!("e-{status}"));
        e.status = status;
        store.create_execution(&e).unwrap();
        let mut v = var(&format!("v-{status}"));
        v.status = status;
        store.create_variation(&v).unwrap();
        set_created(&conn, &e.job_id, &old_at(rank as i64));
        set_created(&conn, &v.job_id, &old_at(rank as i64));
    }
    for i in 1..=5 {
        store
            .create_execution(&exec_on(&format!("e{i}"), ["a", "b"][i % 2]))
            .unwrap();
    }
    for i in 1..=5 {
        store
            .create_variation(&var_on(&format!("v{i}"), ["a", "c"][i % 2]))
            .unwrap();
    }
    // The claim order: v3, e2, then e5 and v1 (a tie across kinds), e1 and
    // v4 (another), e3 and e4 (a tie within a kind), v2, v5.
    for (job_id, minute) in [
        ("v3", 10),
        ("e2", 11),
        ("v1", 12),
        ("e5", 12),
        ("v4", 13),
        ("e1", 13),
        ("e4", 14),
        ("e3", 14),
        ("v2", 15),
        ("v5", 16),
    ] {
        set_created(&conn, job_id, &old_at(minute));
    }
    let before = all_jobs(&store);
    let not_pending_rows = |store: &JobStore| -> Vec<Job> {
        all_jobs(store)
            .into_values()
            .filter(|j| j.job_id.contains('-'))
            .collect()
    };
    let untouched = not_pending_rows(&store);
    assert_eq!(untouched.len(), 18);
    // The cache holds the statistics before the claims: each claim's
    // commit must drop them (assert_exact reads them again).
    store.get_statistics_cached().unwrap();

    let mut claimed: Vec<(String, &str)> = Vec::new();
    for (n, worker, expected) in [
        (3, "w-a", &["v3", "e2", "e5"][..]),
        (4, "w-b", &["v1", "e1", "v4", "e3"]),
        // More than are pending: all that are.
        (10, "w-c", &["e4", "v2", "v5"]),
        (5, "w-d", &[]),
    ] {
        let started = Timestamp::now();
        let jobs = store.claim_next_jobs(n, worker).unwrap();
        assert_eq!(ids(&jobs), expected, "claim of {n} by {worker}");
        claimed.extend(expected.iter().map(|id| (id.to_string(), worker)));
        // The rows returned are those the store now lists: in_queue, just
        // updated, the rest as before.
        let now = all_jobs(&store);
        for job in &jobs {
            assert_eq!(job, &now[&job.job_id]);
            assert_eq!(job.status, Status::InQueue);
            assert!(job.updated_at >= started, "{job:?}");
            let mut was = before[&job.job_id].clone();
            assert_eq!(was.status, Status::Pending);
            (was.status, was.updated_at) = (Status::InQueue, job.updated_at);
            assert_eq!(job, &was);
        }
        assert_exact(&store, &conn);
    }
    assert_eq!(
        not_pending_rows(&store),
        untouched,
        "no job of another status changed"
    );

    // The worker is in the base tables, for the claimed jobs only.
    let recorded = workers(&conn);
    for (job_id, worker) in &recorded {
        let expected = claimed.iter().find(|(id, _)| id == job_id).map(|c| c.1);
        assert_eq!(worker.as_deref(), expected, "worker of {job_id}");
    }
    assert_eq!(
        statuses(&conn)
            .values()
            .filter(|s| *s == "in_queue")
            .count(),
        12
    );
    let stats = store.get_statistics_optimized().unwrap();
    assert_eq!(
        by_status(&stats.executions_by_status)
            .iter()
            .find(|(s, _)| s == "in_queue"),
        Some(&("in_queue".to_owned(), 6))
    );
    assert_eq!(
        by_status(&stats.variations_by_status)
            .iter()
            .find(|(s, _)| s == "pending"),
        None
    );

    // A job put back to pending keeps its last claimer until it is claimed
    // again, which records the new one.
    assert!(store
        .update_variation_status("v3", Status::Pending, None)
        .unwrap());
    assert_eq!(workers(&conn)["v3"].as_deref(), Some("w-a"));
    assert_eq!(ids(&store.claim_next_jobs(10, "w-e").unwrap()), ["v3"]);
    assert_eq!(workers(&conn)["v3"].as_deref(), Some("w-e"));
    assert_exact(&store, &conn);

    let m = &store.get_transaction_metrics()["claim_next_jobs"];
    assert_eq!((m.count, m.success_count, m.last_success), (5, 5, true));
}

/// On two copies of one file, `claim_next_jobs` and `batch_update_*_status`
/// to `in_queue` of the same jobs leave the same rows in the base tables,
/// the summary and the counters, apart from `updated_at` (and the summary's
/// copy of it) and `worker`; the Job rows the claim returns are those of
/// the updated copy. The pending jobs have histories (a start time, a
/// step, an error message, an end), and there are few of them (the
/// triggers' row-by-row path) or many (the set-based one).
#[test]
fn effects_are_those_of_a_status_update_to_in_queue() {
    for per_history in [1, 8] {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("template.db");
        let (mut pending_executions, mut pending_variations) = (Vec::new(), Vec::new());
        {
            let store = JobStore::open(&template).unwrap();
            let conn = raw(&template);
            let mut minute = 0;
            for i in 0..per_history {
                for history in ["fresh", "trained", "failed", "done"] {
                    for kind in ["e", "v"] {
                        let job_id = format!("{kind}-{history}-{i}");
                        let dataset = ["a", "b", "c"][minute as usize % 3];
                        let update = |status: Status, message: Option<&str>| {
                            let done = if kind == "e" {
                                store.update_execution_status(&job_id, status, message)
                            } else {
                                store.update_variation_status(&job_id, status, message)
                            };
                            assert!(done.unwrap());
                        };
                        if kind == "e" {
                            let mut e = exec_on(&job_id, dataset);
                            e.total_steps = Some(10);
                            store.create_execution(&e).unwrap();
                            pending_executions.push(job_id.clone());
                        } else {
                            store.create_variation(&var_on(&job_id, dataset)).unwrap();
                            pending_variations.push(job_id.clone());
                        }
                        match history {
                            "trained" => {
                                update(Status::Training, None);
                                assert!(store.update_progress(&job_id, 4).unwrap());
                            }
                            "failed" => {
                                update(Status::Training, None);
                                update(Status::Failed, Some("boom"));
                            }
                            "done" => {
                                update(Status::Training, None);
                                update(Status::Done, None);
                            }
                            _ => {}
                        }
                        if history != "fresh" {
                            update(Status::Pending, None);
                        }
                        set_created(&conn, &job_id, &old_at(minute));
                        minute += 1;
                    }
                }
            }
            // Jobs of other statuses, which neither copy changes.
            for (i, status) in NOT_PENDING.into_iter().enumerate() {
                let mut e = exec_on(&format!("other-e{i}"), "a");
                e.status = status;
                store.create_execution(&e).unwrap();
                let mut v = var_on(&format!("other-v{i}"), "b");
                v.status = status;
                store.create_variation(&v).unwrap();
            }
        }
        let copies = ["claimed.db", "updated.db"].map(|name| {
            let path = dir.path().join(name);
            raw(&template)
                .execute("VACUUM INTO ?1", [path.to_str().unwrap()])
                .unwrap();
            path
        });
        let (claiming, updating) = (
            JobStore::open(&copies[0]).unwrap(),
            JobStore::open(&copies[1]).unwrap(),
        );
        let case = format!("{} pending jobs", 8 * per_history);
        let before = all_jobs(&claiming);

        let jobs = claiming.claim_next_jobs(1000, "w").unwrap();
        let to_in_queue = |job_ids: &[String]| -> Vec<_> {
            job_ids.iter().map(|id| upd(id, Status::InQueue)).collect()
        };
        assert_eq!(
            updating
                .batch_update_execution_status(&to_in_queue(&pending_executions))
                .unwrap() as usize,
            pending_executions.len()
        );
        assert_eq!(
            updating
                .batch_update_variation_status(&to_in_queue(&pending_variations))
                .unwrap() as usize,
            pending_variations.len()
        );

        let (claimed_conn, updated_conn) = (raw(&copies[0]), raw(&copies[1]));
        for (tables, except) in [
            (
                &["executions", "variations"][..],
                &["updated_at", "worker"][..],
            ),
            (&["job_summary_cache"], &["last_updated"]),
            (&["job_counters"], &[]),
        ] {
            assert_same(
                &fingerprint_except(&claimed_conn, tables, except),
                &fingerprint_except(&updated_conn, tables, except),
                &format!("{case}: {tables:?}"),
            );
        }
        // The claim's order is created_at's, which is the order of creation.
        let mut expected: Vec<&String> = pending_executions
            .iter()
            .chain(&pending_variations)
            .collect();
        expected.sort_by_key(|id| before[*id].created_at);
        assert_eq!(
            ids(&jobs),
            expected.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "{case}"
        );
        let updated = all_jobs(&updating);
        for job in &jobs {
            let mut other = updated[&job.job_id].clone();
            assert!(job.updated_at > before[&job.job_id].updated_at, "{job:?}");
            other.updated_at = job.updated_at;
            assert_eq!(job, &other, "{case}");
        }
        // Untouched jobs are untouched in both, updated_at included.
        let claimed_now = all_jobs(&claiming);
        for (job_id, job) in &before {
            if job.status != Status::Pending {
                assert_eq!(&claimed_now[job_id], job, "{case}");
                assert_eq!(&updated[job_id], job, "{case}");
            }
        }
        let recorded = workers(&claimed_conn);
        for (job_id, worker) in &recorded {
            let pending = before[job_id].status == Status::Pending;
            assert_eq!(worker.as_deref(), pending.then_some("w"), "{case}");
        }
        assert!(workers(&updated_conn).values().all(Option::is_none));
        assert_exact(&claiming, &claimed_conn);
        assert_exact(&updating, &updated_conn);
    }
}

/// Bad arguments: 22023 naming the argument (n first), refused while
/// another program holds the write lock (so before the store asks for it:
/// a store that asked would fail with 55P03 after its short busy timeout),
/// nothing applied, one failed call each in the metrics. The limits
/// themselves are accepted.
#[test]
fn bad_arguments_are_22023_and_apply_nothing() {
    let (dir, store) = file_store_with(JobStoreOptions {
        busy_timeout: Duration::from_millis(200),
        ..JobStoreOptions::default()
    });
    let conn = raw(&db_path(&dir));
    store
        .batch_create_executions(&[exec("e1"), exec("e2")])
        .unwrap();
    store.batch_create_variations(&[var("v1")]).unwrap();
    let before = fingerprint(&conn);
    let holder = raw(&db_path(&dir));
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let n = |got: i64| format!("field \"n\" must be an integer from 1 to 10000, got {got}");
    let worker =
        |got: usize| format!("field \"worker\" must be a string of 1 to 255 characters, got {got}");
    let cases = [
        (0, "w".to_owned(), n(0)),
        (-1, "w".to_owned(), n(-1)),
        (10_001, "w".to_owned(), n(10_001)),
        (i32::MIN, "w".to_owned(), n(i32::MIN.into())),
        (i32::MAX, "w".to_owned(), n(i32::MAX.into())),
        (1, String::new(), worker(0)),
        (1, "w".repeat(256), worker(256)),
        (1, "é".repeat(256), worker(256)),
        (
            1,
            "w\0x".to_owned(),
            "field \"worker\" must not contain the NUL character".to_owned(),
        ),
        (0, String::new(), n(0)),
    ];
    for (n, worker, message) in &cases {
        let err = store.claim_next_jobs(*n, worker).unwrap_err();
        assert_eq!(err.sqlstate(), "22023", "n {n}, worker {worker:?}: {err}");
        assert_eq!(&err.to_string(), message);
    }
    // A valid claim does ask for the lock, and waits for it.
    let err = store.claim_next_jobs(1, "w").unwrap_err();
    assert_eq!(err.sqlstate(), "55P03", "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_same(&fingerprint(&conn), &before, "after the refused claims");
    let m = &store.get_transaction_metrics()["claim_next_jobs"];
    assert_eq!(
        (m.count, m.success_count, m.last_success),
        (cases.len() as u64 + 1, 0, false)
    );

    // The limits: 255 characters (of two bytes each here), and n = 10000.
    let longest = "é".repeat(255);
    assert_eq!(
        ids(&store.claim_next_jobs(10_000, &longest).unwrap()),
        ["e1", "e2", "v1"]
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM executions WHERE length(worker) = 255"
        ),
        2
    );
    assert_eq!(workers(&conn)["v1"].as_deref(), Some(&*longest));
    assert_exact(&store, &conn);
    let m = &store.get_transaction_metrics()["claim_next_jobs"];
    assert_eq!(
        (m.count, m.success_count, m.last_success),
        (cases.len() as u64 + 2, 1, true)
    );
}

/// n = 10000 over 10,001 pending jobs takes exactly the 10,000 oldest,
/// across both kinds; the next claim takes the one left.
#[test]
fn the_largest_claim_takes_ten_thousand_jobs() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    let es: Vec<_> = (0..5_001).map(|i| exec(&format!("e{i:05}"))).collect();
    let vs: Vec<_> = (0..5_000).map(|i| var(&format!("v{i:05}"))).collect();
    store.batch_create_executions(&es).unwrap();
    store.batch_create_variations(&vs).unwrap();
    // Even minutes for executions, odd ones for variations; the newest job
    // is the last execution.
    conn.execute_batch(&format!(
        "UPDATE executions SET created_at = strftime('%Y-%m-%dT%H:%M:%S', {OLD_MICROS} / 1000000, \
         'unixepoch', (2 * rowid) || ' minutes') || '.000000Z';
         UPDATE variations SET created_at = strftime('%Y-%m-%dT%H:%M:%S', {OLD_MICROS} / 1000000, \
         'unixepoch', (2 * rowid + 1) || ' minutes') || '.000000Z';"
    ))
    .unwrap();
    let jobs = store.claim_next_jobs(10_000, "big").unwrap();
    assert_eq!(jobs.len(), 10_000);
    let expected: Vec<String> = (0..5_000)
        .flat_map(|i| [format!("e{i:05}"), format!("v{i:05}")])
        .collect();
    assert_eq!(ids(&jobs), expected);
    assert_exact(&store, &conn);
    assert_eq!(
        ids(&store.claim_next_jobs(10_000, "big").unwrap()),
        ["e05000"]
    );
    assert_eq!(
        count(
            &conn,
            "SELECT (SELECT COUNT(*) FROM executions WHERE status = 'in_queue' AND worker = 'big') \
                  + (SELECT COUNT(*) FROM variations WHERE status = 'in_queue' AND worker = 'big')"
        ),
        10_001
    );
    assert_exact(&store, &conn);
}

/// A claim that fails after its status changes (here a trigger of the test
/// refuses the worker of a variation) leaves nothing behind: no status, no
/// worker, no counter or summary change, one failed call.
#[test]
fn a_failed_claim_leaves_nothing_behind() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    let es: Vec<_> = (0..20).map(|i| exec(&format!("e{i:02}"))).collect();
    let vs: Vec<_> = (0..20).map(|i| var(&format!("v{i:02}"))).collect();
    store.batch_create_executions(&es).unwrap();
    store.batch_create_variations(&vs).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER test_refuse BEFORE UPDATE OF worker ON variations \
         WHEN NEW.worker = 'refused' \
         BEGIN SELECT RAISE(ABORT, 'P0001: refused worker'); END;",
    )
    .unwrap();
    store.get_statistics_cached().unwrap();
    let before = fingerprint(&conn);
    // 21: all 20 executions and one variation; 40: every job.
    for n in [21, 40] {
        let err = store.claim_next_jobs(n, "refused").unwrap_err();
        assert_eq!(
            (err.sqlstate(), err.to_string()),
            ("P0001", "refused worker".to_owned()),
            "n {n}"
        );
        assert_same(&fingerprint(&conn), &before, &format!("after n {n}"));
        assert_exact(&store, &conn);
    }
    let m = &store.get_transaction_metrics()["claim_next_jobs"];
    assert_eq!((m.count, m.success_count, m.last_success), (2, 0, false));
    assert_eq!(store.claim_next_jobs(40, "fine").unwrap().len(), 40);
    assert!(workers(&conn)
        .values()
        .all(|w| w.as_deref() == Some("fine")));
    assert_exact(&store, &conn);
}

const CLAIMERS: usize = 8;
const PENDING_PER_KIND: usize = 2_000;
const CLAIM: i32 = 25;

/// The race, on one file: 8 threads, each with a store of its own
/// (the default busy timeout), claim 25 jobs at a time until a claim finds
/// none. Every job is claimed exactly once, by the claimer the base table
/// names; the claims are serialised, so each took the 25 oldest jobs left:
/// a run of consecutive jobs in the created_at order.
#[test]
fn concurrent_claimers_never_get_the_same_job() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    let conn = raw(&path);
    let es: Vec<_> = (0..PENDING_PER_KIND)
        .map(|i| exec_on(&format!("e{i:05}"), ["a", "b"][i % 2]))
        .collect();
    let vs: Vec<_> = (0..PENDING_PER_KIND)
        .map(|i| var_on(&format!("v{i:05}"), ["a", "c"][i % 2]))
        .collect();
    store.batch_create_executions(&es).unwrap();
    store.batch_create_variations(&vs).unwrap();
    // Interleaved kinds, and a tie between the two kinds every ten jobs.
    conn.execute_batch(&format!(
        "UPDATE executions SET created_at = strftime('%Y-%m-%dT%H:%M:%S', {OLD_MICROS} / 1000000, \
         'unixepoch', (2 * rowid) || ' minutes') || '.000000Z';
         UPDATE variations SET created_at = strftime('%Y-%m-%dT%H:%M:%S', {OLD_MICROS} / 1000000, \
         'unixepoch', (2 * rowid + (rowid % 10 != 0)) || ' minutes') || '.000000Z';"
    ))
    .unwrap();
    let order: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT job_id, created_at FROM executions UNION ALL \
                 SELECT job_id, created_at FROM variations ORDER BY 2, 1",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(order.len(), 2 * PENDING_PER_KIND);
    let position: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();

    let barrier = Arc::new(Barrier::new(CLAIMERS));
    let claimers: Vec<_> = (0..CLAIMERS)
        .map(|i| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let own = JobStore::open(&path).unwrap();
                let worker = format!("w{i}");
                barrier.wait();
                let mut calls: Vec<Vec<String>> = Vec::new();
                loop {
                    let jobs = own.claim_next_jobs(CLAIM, &worker).unwrap();
                    for job in &jobs {
                        assert_eq!(job.status, Status::InQueue);
                    }
                    let last = jobs.is_empty();
                    calls.push(jobs.into_iter().map(|j| j.job_id).collect());
                    if last {
                        break;
                    }
                }
                let m = &own.get_transaction_metrics()["claim_next_jobs"];
                assert_eq!(
                    (m.count, m.success_count),
                    (calls.len() as u64, calls.len() as u64)
                );
                (worker, calls)
            })
        })
        .collect();
    let results: Vec<(String, Vec<Vec<String>>)> =
        claimers.into_iter().map(|t| t.join().unwrap()).collect();

    let mut claimer_of: BTreeMap<String, String> = BTreeMap::new();
    let mut calls = 0;
    for (worker, worker_calls) in &results {
        let (last, nonempty) = worker_calls.split_last().unwrap();
        assert!(last.is_empty());
        for call in nonempty {
            calls += 1;
            // 4,000 is a multiple of 25: every claim but the empty ones
            // found 25 jobs.
            assert_eq!(call.len(), CLAIM as usize, "{worker}: {call:?}");
            let at: Vec<usize> = call.iter().map(|id| position[id.as_str()]).collect();
            let first = at[0];
            assert_eq!(
                at,
                (first..first + call.len()).collect::<Vec<_>>(),
                "{worker}: a claim took the oldest jobs left, in order"
            );
            for id in call {
                if let Some(other) = claimer_of.insert(id.clone(), worker.clone()) {
                    panic!("{id} claimed by {other} and {worker}");
                }
            }
        }
    }
    assert_eq!(calls, 2 * PENDING_PER_KIND / CLAIM as usize);
    assert_eq!(
        claimer_of.keys().cloned().collect::<BTreeSet<_>>(),
        order.iter().cloned().collect::<BTreeSet<_>>(),
        "every job claimed"
    );
    let recorded = workers(&conn);
    for (job_id, worker) in &claimer_of {
        assert_eq!(
            recorded[job_id].as_deref(),
            Some(worker.as_str()),
            "{job_id}"
        );
    }
    assert!(statuses(&conn).values().all(|s| s == "in_queue"));
    assert_exact(&store, &conn);
    let stats = store.get_statistics_optimized().unwrap();
    assert_eq!(
        (
            by_status(&stats.executions_by_status),
            by_status(&stats.variations_by_status)
        ),
        (
            vec![("in_queue".to_owned(), PENDING_PER_KIND as i64)],
            vec![("in_queue".to_owned(), PENDING_PER_KIND as i64)]
        )
    );
}

const V1: &str = include_str!("../../sql/sqlite/migrations/0001_initial.sql");
const V2: &str = include_str!("../../sql/sqlite/migrations/0002_counters.sql");
const V3: &str = include_str!("../../sql/sqlite/migrations/0003_guards.sql");
const V4: &str = include_str!("../../sql/sqlite/migrations/0004_jobs_view.sql");
const V5: &str = include_str!("../../sql/sqlite/migrations/0005_batch_status.sql");

/// A file at schema version 5, with jobs written by plain SQL (its own
/// triggers keep the derived tables), as opening.rs's `old_file` makes one.
fn version_5_file(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
    for script in [V1, V2, V3, V4, V5] {
        conn.execute_batch(script).unwrap();
    }
    conn.pragma_update(None, "user_version", 5).unwrap();
    for i in 0..6 {
        conn.execute(
            "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status, \
             created_at) VALUES (?1, 'single', 'd', 'p', ?2, ?3)",
            rusqlite::params![
                format!("e{i}"),
                ["pending", "training"][i % 2],
                old_at(2 * i as i64 + 1)
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO variations (job_id, variation_id, experiment_name, dataset_name, \
             preset, total_combinations, status, created_at) \
             VALUES (?1, 'a', 'x', 'd', 'p', 2, ?2, ?3)",
            rusqlite::params![
                format!("v{i}"),
                ["pending", "done"][i % 2],
                old_at(2 * i as i64)
            ],
        )
        .unwrap();
    }
}

/// A file of version 5 claims right after opening: the migration added the
/// worker column, which the claim fills.
#[test]
fn a_file_migrated_from_version_5_claims_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    version_5_file(&path);
    let store = JobStore::open(&path).unwrap();
    let conn = raw(&path);
    assert_eq!(
        count(&conn, "PRAGMA user_version"),
        i64::from(jobtrack_sqlite::SCHEMA_VERSION)
    );
    assert_eq!(
        ids(&store.claim_next_jobs(4, "after-upgrade").unwrap()),
        ["v0", "e0", "v2", "e2"]
    );
    assert_eq!(
        ids(&store.claim_next_jobs(4, "second").unwrap()),
        ["v4", "e4"]
    );
    let recorded = workers(&conn);
    for (job_id, worker) in [
        ("v0", Some("after-upgrade")),
        ("e0", Some("after-upgrade")),
        ("v2", Some("after-upgrade")),
        ("e2", Some("after-upgrade")),
        ("v4", Some("second")),
        ("e4", Some("second")),
        ("e1", None),
        ("v1", None),
    ] {
        assert_eq!(recorded[job_id].as_deref(), worker, "{job_id}");
    }
    assert_exact(&store, &conn);
}
