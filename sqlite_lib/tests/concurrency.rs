//! Many threads, two stores and a plain SQL client on one file at once.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use fastrand::Rng;
use jobtrack_sqlite::{JobStore, JobStoreOptions, Statistics, Status};
use rusqlite::Connection;

/// Counts by (kind, status), successful, failed, average durations.
type Recount = (
    Vec<(String, String, i64)>,
    i64,
    i64,
    Option<f64>,
    Option<f64>,
);

/// Statistics recounted from the base tables by a query of the test's own.
fn recount(conn: &Connection) -> Recount {
    let mut stmt = conn
        .prepare(
            "SELECT 'execution', status, COUNT(*) FROM executions GROUP BY status
             UNION ALL
             SELECT 'variation', status, COUNT(*) FROM variations GROUP BY status
             ORDER BY 1, 2",
        )
        .unwrap();
    let by_status = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    let ok = count(
        conn,
        "SELECT (SELECT COUNT(*) FROM executions WHERE success = 1) + (SELECT COUNT(*) FROM variations WHERE success = 1)",
    );
    let failed = count(
        conn,
        "SELECT (SELECT COUNT(*) FROM executions WHERE success = 0) + (SELECT COUNT(*) FROM variations WHERE success = 0)",
    );
    let avg = |table: &str| -> Option<f64> {
        conn.query_row(
            &format!("SELECT AVG(duration_seconds) FROM {table}"),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    (by_status, ok, failed, avg("executions"), avg("variations"))
}

fn as_recount(s: &Statistics) -> Recount {
    let mut rows = Vec::new();
    for (kind, map) in [
        ("execution", &s.executions_by_status),
        ("variation", &s.variations_by_status),
    ] {
        let sorted: BTreeMap<&str, i64> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        for (status, n) in sorted {
            rows.push((kind.to_owned(), status.to_owned(), n));
        }
    }
    (
        rows,
        s.total_successful,
        s.total_failed,
        s.avg_execution_duration,
        s.avg_variation_duration,
    )
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        _ => false,
    }
}

#[test]
fn concurrent_writers_and_readers_end_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let options = JobStoreOptions {
        reader_connections: 3,
        ..JobStoreOptions::default()
    };
    let store = Arc::new(JobStore::open_with(&path, options).unwrap());
    let other = Arc::new(JobStore::open(&path).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();

    // Writers through both stores.
    for (t, s) in [(0u64, &store), (1, &store), (2, &other)] {
        let (s, stop, writes) = (Arc::clone(s), Arc::clone(&stop), Arc::clone(&writes));
        threads.push(std::thread::spawn(move || {
            let mut rng = Rng::with_seed(t);
            let mut created: Vec<String> = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                match rng.u8(..6) {
                    0 | 1 => {
                        let batch: Vec<_> = (0..1 + rng.u8(..20))
                            .map(|i| {
                                exec_on(
                                    &format!("t{t}-e{n}-{i}"),
                                    ["mnist", "cifar"][(i % 2) as usize],
                                )
                            })
                            .collect();
                        s.batch_create_executions(&batch).unwrap();
                        created.extend(batch.into_iter().map(|e| e.job_id));
                    }
                    2 => {
                        let id = format!("t{t}-v{n}");
                        s.create_variation(&var_on(&id, "mnist")).unwrap();
                        created.push(id);
                    }
                    3 if !created.is_empty() => {
                        let updates: Vec<_> = (0..1 + rng.u8(..10))
                            .map(|_| {
                                let id = &created[rng.usize(..created.len())];
                                upd(id, Status::ALL[rng.usize(..Status::ALL.len())])
                            })
                            .collect();
                        s.batch_update_execution_status(&updates).unwrap();
                        s.batch_update_variation_status(&updates).unwrap();
                    }
                    4 if !created.is_empty() => {
                        let id = &created[rng.usize(..created.len())];
                        s.update_progress(id, rng.i32(0..100)).unwrap();
                    }
                    _ if !created.is_empty() => {
                        let id = &created[rng.usize(..created.len())];
                        s.update_execution_status(id, Status::Training, None)
                            .unwrap();
                        s.update_execution_status(id, Status::Done, None).unwrap();
                    }
                    _ => continue,
                }
                writes.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // A plain SQL client.
    {
        let (path, stop, writes) = (path.clone(), Arc::clone(&stop), Arc::clone(&writes));
        threads.push(std::thread::spawn(move || {
            let conn = raw(&path);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                conn.execute(
                    "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status, success) \
                     VALUES (?1, 'batch', 'mnist', 'p', 'failed', 0)",
                    [format!("sql-{n}")],
                )
                .unwrap();
                if n % 3 == 0 {
                    conn.execute(
                        "UPDATE executions SET status = 'done', success = 1, duration_seconds = 1.5 WHERE job_id = ?1",
                        [format!("sql-{}", n - 1)],
                    )
                    .unwrap();
                }
                if n % 5 == 0 {
                    conn.execute("DELETE FROM executions WHERE job_id = ?1", [format!("sql-{}", n - 2)])
                        .unwrap();
                }
                writes.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        }));
    }

    // Readers, cached and not.
    for r in 0..3 {
        let (s, stop, reads) = (Arc::clone(&store), Arc::clone(&stop), Arc::clone(&reads));
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let stats = if r == 0 {
                    s.get_statistics_optimized()
                } else {
                    s.get_statistics_cached()
                }
                .unwrap();
                let by_status: i64 = stats
                    .executions_by_status
                    .values()
                    .chain(stats.variations_by_status.values())
                    .sum();
                assert_eq!(
                    by_status, stats.total_jobs,
                    "a statistics result mixes snapshots"
                );
                s.get_dataset_stats_cached("mnist").unwrap();
                let recent = s.get_recent_jobs_cached(20).unwrap();
                assert!(recent
                    .windows(2)
                    .all(|w| w[0].updated_at >= w[1].updated_at));
                s.get_running_jobs(None, None).unwrap();
                s.get_pool_status();
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("a worker thread failed");
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        writes.load(Ordering::Relaxed) > 50,
        "too few writes to mean anything"
    );
    assert!(
        reads.load(Ordering::Relaxed) > 50,
        "too few reads to mean anything"
    );

    let conn = raw(&path);
    // Fill both caches, then change the data behind them one last time.
    store.get_statistics_cached().unwrap();
    other.get_statistics_cached().unwrap();
    conn.execute(
        "UPDATE executions SET status = 'failed', success = 0 WHERE status = 'pending'",
        [],
    )
    .unwrap();
    let truth = recount(&conn);
    for s in [&store, &other] {
        for stats in [
            s.get_statistics_cached().unwrap(),
            s.get_statistics_optimized().unwrap(),
        ] {
            let got = as_recount(&stats);
            assert_eq!((&got.0, got.1, got.2), (&truth.0, truth.1, truth.2));
            assert!(
                close(got.3, truth.3) && close(got.4, truth.4),
                "{got:?} vs {truth:?}"
            );
        }
        assert_eq!(
            s.get_dataset_stats_cached("mnist").unwrap(),
            s.get_dataset_stats_optimized("mnist").unwrap()
        );
        assert_eq!(
            s.get_recent_jobs_cached(20).unwrap(),
            s.get_recent_jobs_optimized(20).unwrap()
        );
    }
    assert_summary_exact(&conn);
    let pool = store.get_pool_status();
    assert_eq!(
        (
            pool.total,
            pool.max_connections,
            pool.active,
            pool.idle,
            pool.waiting
        ),
        (4, 4, 0, 4, 0)
    );
    let m = store.get_transaction_metrics();
    let total: u64 = m.values().map(|o| o.count).sum();
    let ok: u64 = m.values().map(|o| o.success_count).sum();
    assert_eq!(total, ok, "no write through the store may fail");
    assert!(m["batch_create_executions"].count > 0);
}

#[test]
fn readers_wait_for_a_free_connection() {
    let (_dir, store) = file_store_with(JobStoreOptions {
        reader_connections: 1,
        ..JobStoreOptions::default()
    });
    let store = Arc::new(store);
    let s = store.get_pool_status();
    assert_eq!(
        (
            s.backend.as_str(),
            s.max_connections,
            s.total,
            s.active,
            s.idle,
            s.idle_in_transaction,
            s.waiting
        ),
        ("sqlite", 2, 2, 0, 2, 0, 0)
    );
    store
        .batch_create_executions(
            &(0..2000)
                .map(|i| exec(&format!("e{i}")))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    // Eight threads on one reader: all finish, nobody errs.
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let s = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in 0..20 {
                    assert_eq!(s.get_all_jobs_optimized(500, None).unwrap().len(), 500);
                }
            })
        })
        .collect();
    let mut saw_waiting = false;
    for t in threads {
        while !t.is_finished() {
            saw_waiting |= store.get_pool_status().waiting > 0;
            std::thread::yield_now();
        }
        t.join().unwrap();
    }
    assert!(saw_waiting, "eight threads on one reader never had to wait");
    assert_eq!(store.get_pool_status().active, 0);
}

#[test]
fn in_memory_store_uses_one_connection() {
    let store = JobStore::open_in_memory().unwrap();
    let s = store.get_pool_status();
    assert_eq!((s.total, s.max_connections, s.idle), (1, 1, 1));
    assert_eq!(store.path(), None);
    // ":memory:" as a path must not give each reader a database of its own.
    let store = JobStore::open(":memory:").unwrap();
    store.create_execution(&exec("a")).unwrap();
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 1);
    assert_eq!(store.get_pool_status().total, 1);
}
