//! The Rust client `PgStore` and its pool against a real server:
//! exhaustion, overflow connections closed on return, connections killed
//! between two calls, and a connection handed back clean after a caller
//! left a transaction open or changed a setting.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use jobtrack_core::{JobApi, NewExecution, PipelineMode, Status};
use jobtrack_postgres::{PgStore, PoolOptions};

fn store(url: &str, options: PoolOptions) -> PgStore {
    PgStore::connect_with(url, options).expect("connect")
}

fn execution(id: &str) -> NewExecution {
    NewExecution {
        job_id: id.into(),
        pipeline_mode: PipelineMode::Single,
        dataset_name: "pool".into(),
        preset: "p".into(),
        total_steps: None,
        status: Status::Pending,
    }
}

/// The backends of this database other than the caller's, by application
/// name.
fn backends(admin: &mut postgres::Client, db: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db],
        )
        .unwrap()
        .get(0)
}

/// `backends`, polled until it equals `expected` or five seconds pass;
/// returns the last count seen.
fn backends_settled_at(admin: &mut postgres::Client, db: &str, expected: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = backends(admin, db);
        if seen == expected || Instant::now() >= deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pg_client_pool_exhaustion_waits_then_fails_naming_the_pool() {
    let url = jobtrack_tests::fresh_database("jobtrack_pool_exhaustion");
    let options = PoolOptions {
        size: 1,
        max_overflow: 1,
        checkout_timeout: Duration::from_millis(700),
        ..PoolOptions::default()
    };
    let store = Arc::new(store(&url, options));
    let held_1 = store.pool().get().unwrap();
    let held_2 = store.pool().get().unwrap();
    assert_eq!(store.pool().counts().checked_out, 2);
    let started = Instant::now();
    let err = store.get_statistics_optimized().unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.sqlstate(), "53300", "{err}");
    assert!(err.to_string().contains("pool"), "{err}");
    assert!(
        waited >= Duration::from_millis(700),
        "gave up after {waited:?}"
    );

    // A caller waiting gets the connection the moment one comes back.
    let waiter = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.get_statistics_optimized().map(|_| ()))
    };
    while store.pool().counts().waiting == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(held_1);
    waiter
        .join()
        .unwrap()
        .expect("served once a connection came back");
    drop(held_2);
    jobtrack_tests::drop_database("jobtrack_pool_exhaustion");
}

#[test]
fn pg_client_overflow_connections_close_on_return() {
    let db = "jobtrack_pool_overflow";
    let url = jobtrack_tests::fresh_database(db);
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let options = PoolOptions {
        size: 2,
        max_overflow: 3,
        ..PoolOptions::default()
    };
    let store = Arc::new(store(&url, options));
    // Five callers at once, each holding its connection until all have one.
    let barrier = Arc::new(Barrier::new(6));
    let callers: Vec<_> = (0..5)
        .map(|_| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let client = store.pool().get().unwrap();
                barrier.wait();
                barrier.wait();
                drop(client);
            })
        })
        .collect();
    barrier.wait();
    let busy = store.pool().counts();
    assert_eq!((busy.open, busy.checked_out, busy.overflow), (5, 5, 3));
    assert_eq!(backends(&mut admin, db), 5);
    barrier.wait();
    for caller in callers {
        caller.join().unwrap();
    }
    let after = store.pool().counts();
    assert_eq!(
        (after.open, after.idle, after.overflow, after.checked_out),
        (2, 2, 0, 0)
    );
    // A backend leaves pg_stat_activity a moment after its client's
    // Terminate message, so the server is given a few seconds to see it.
    assert_eq!(
        backends_settled_at(&mut admin, db, 2),
        2,
        "overflow connections closed on the server"
    );
    let status = store.get_pool_status().unwrap();
    let pool = status.pool.expect("the client's pool in get_pool_status");
    assert_eq!((pool.size, pool.max_overflow, pool.open), (2, 3, 2));
    drop(store);
    jobtrack_tests::drop_database(db);
}

#[test]
fn pg_client_replaces_connections_the_server_ended() {
    let db = "jobtrack_pool_terminate";
    let url = jobtrack_tests::fresh_database(db);
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for pre_ping in [true, false] {
        let options = PoolOptions {
            size: 3,
            pre_ping,
            ..PoolOptions::default()
        };
        let store = Arc::new(store(&url, options));
        // Open three connections, then return them to the pool.
        let held: Vec<_> = (0..3).map(|_| store.pool().get().unwrap()).collect();
        drop(held);
        assert_eq!(store.pool().counts().idle, 3);
        let id = format!("t-{pre_ping}");
        store.create_execution(&execution(&id)).unwrap();
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&db],
            )
            .unwrap();
        // Every pooled connection is dead now: the next calls, a read and
        // a write, are served on new ones without an error.
        let stats = store.get_dataset_stats_optimized("pool").unwrap();
        assert!(stats.total_jobs >= 1, "pre_ping {pre_ping}: {stats:?}");
        assert!(store
            .update_execution_status(&id, Status::Done, None)
            .unwrap());
        drop(store);
    }
    jobtrack_tests::drop_database(db);
}

#[test]
fn pg_client_hands_back_clean_connections() {
    let url = jobtrack_tests::fresh_database("jobtrack_pool_reset");
    let options = PoolOptions {
        size: 1,
        max_overflow: 0,
        ..PoolOptions::default()
    };
    let store = store(&url, options);
    // A caller that changes settings, makes a temporary table and leaves a
    // transaction open.
    let first_pid: i32 = store
        .with_client(|c| {
            c.batch_execute("SET statement_timeout = '5min'")?;
            c.batch_execute("SET application_name = 'dirty'")?;
            c.batch_execute("CREATE TEMP TABLE left_behind (x int)")?;
            c.batch_execute("BEGIN")?;
            c.batch_execute(
                "INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset)
                 VALUES ('left-open', 'single', 'd', 'p')",
            )?;
            Ok(c.query_one("SELECT pg_backend_pid()", &[])?.get(0))
        })
        .unwrap();
    // The same connection, next: no transaction, default settings, no table.
    let (pid, left_open, timeout, name, temp): (i32, bool, String, String, bool) = store
        .with_client(|c| {
            let row = c.query_one(
                "SELECT pg_backend_pid(),
                        EXISTS (SELECT FROM jobtrack.executions WHERE job_id = 'left-open'),
                        current_setting('statement_timeout'),
                        current_setting('application_name'),
                        to_regclass('pg_temp.left_behind') IS NOT NULL",
                &[],
            )?;
            Ok((row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        })
        .unwrap();
    assert_eq!(
        pid, first_pid,
        "the connection was reset and kept, not replaced"
    );
    assert!(!left_open, "the open transaction was rolled back");
    assert_eq!(timeout, "0");
    assert_ne!(name, "dirty");
    assert!(!temp);
    // A failed transaction is rolled back, and the connection works.
    let err = store
        .transaction(|tx| {
            tx.client()
                .batch_execute("INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset) VALUES ('rolled-back', 'single', 'd', 'p')")
                .map_err(|e| jobtrack_core::Error::database("XX000", e.to_string()))?;
            Err::<(), _>(jobtrack_core::Error::database("P0001", "caller gave up"))
        })
        .unwrap_err();
    assert_eq!(err.sqlstate(), "P0001");
    assert!(store.get_all_jobs_optimized(10, None).unwrap().is_empty());
    jobtrack_tests::drop_database("jobtrack_pool_reset");
}
