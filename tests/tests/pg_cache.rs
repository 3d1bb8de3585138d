//! The shared result cache against a real PostgreSQL server
//! (`JOBTRACK_PG_URL`, set by `make test`), through real client connections
//! that commit: invalidation at commit (plain SQL and TRUNCATE included),
//! rollback, a reader whose snapshot predates a commit, a transaction's own
//! changes, REPEATABLE READ, permissions and row-level security, and a
//! 30-second stress run comparing every cached read with an uncached read in
//! the same statement. With the library preloaded the hit counters are
//! checked too; without it (`"shared": false`) every result must still be
//! exact. Each test uses a database of its own; they run one at a time,
//! since the cache's counters are server-wide.

use fastrand::Rng;
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use postgres::{Client, GenericClient, NoTls};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).expect("connect to the test database")
}

fn json(client: &mut Client, sql: &str) -> Value {
    let text: String = client.query_one(sql, &[]).unwrap().get(0);
    serde_json::from_str(&text).unwrap()
}

fn stats(client: &mut Client) -> Value {
    json(client, "SELECT jobtrack.get_cache_stats()::text")
}

fn hits(client: &mut Client) -> u64 {
    stats(client)["hits"].as_u64().unwrap()
}

fn shared(client: &mut Client) -> bool {
    stats(client)["shared"] == true
}

fn create(client: &mut Client, id: &str, dataset: &str, status: &str) {
    client
        .query_one(
            "SELECT jobtrack.create_execution(jsonb_build_object('job_id', $1::text, \
             'pipeline_mode', 'single', 'dataset_name', $2::text, 'preset', 'p', 'status', $3::text))",
            &[&id, &dataset, &status],
        )
        .unwrap();
}

fn create_variation(client: &mut Client, id: &str, experiment: &str, dataset: &str, status: &str) {
    client
        .query_one(
            "SELECT jobtrack.create_variation(jsonb_build_object('job_id', $1::text, \
             'variation_id', $1::text, 'experiment_name', $2::text, 'dataset_name', $3::text, \
             'preset', 'p', 'total_combinations', 8, 'status', $4::text))",
            &[&id, &experiment, &dataset, &status],
        )
        .unwrap();
}

fn cached_statistics(client: &mut Client) -> Value {
    json(client, "SELECT jobtrack.get_statistics_cached()::text")
}

/// Cached and uncached statistics of one statement, as text.
fn statistics_pair(client: &mut impl GenericClient) -> (String, String) {
    let row = client
        .query_one(
            "SELECT jobtrack.get_statistics_cached()::text, jobtrack.get_statistics_optimized()::text",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

/// Cached and uncached statistics of one statement, which must agree.
fn both_statistics(client: &mut impl GenericClient) -> Value {
    let (cached, fresh) = statistics_pair(client);
    assert_eq!(cached, fresh, "cached statistics differ from a fresh read");
    serde_json::from_str(&cached).unwrap()
}

#[test]
fn pg_cache_commit_invalidates_rollback_keeps() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_commit");
    let mut a = connect(&url);
    let mut b = connect(&url);
    let is_shared = shared(&mut a);
    create(&mut a, "e1", "alpha", "done");
    create(&mut a, "e2", "beta", "pending");

    both_statistics(&mut a);
    let before = hits(&mut a);
    let warm = both_statistics(&mut a);
    if is_shared {
        assert_eq!(hits(&mut a), before + 1, "the second call is a hit");
    }
    assert_eq!(warm["executions_by_status"]["done"], 1);

    // B commits: A's next call sees it.
    b.query_one(
        "SELECT jobtrack.update_execution_status('e1', 'failed')",
        &[],
    )
    .unwrap();
    let after = both_statistics(&mut a);
    assert_eq!(after["executions_by_status"]["failed"], 1);
    assert!(after["executions_by_status"].get("done").is_none());

    // A rolled-back change leaves the entry in place.
    both_statistics(&mut a);
    b.batch_execute("BEGIN; SELECT jobtrack.update_execution_status('e1', 'done'); ROLLBACK")
        .unwrap();
    let before = hits(&mut a);
    let same = both_statistics(&mut a);
    assert_eq!(same, after);
    if is_shared {
        assert_eq!(hits(&mut a), before + 1, "a rollback must not invalidate");
    }

    // Plain SQL, then TRUNCATE.
    b.batch_execute("UPDATE jobtrack.executions SET status = 'cancelled' WHERE job_id = 'e2'")
        .unwrap();
    assert_eq!(
        both_statistics(&mut a)["executions_by_status"]["cancelled"],
        1
    );
    b.batch_execute("TRUNCATE jobtrack.executions").unwrap();
    assert_eq!(both_statistics(&mut a)["total_jobs"], 0);

    // Fine-grained: a change in dataset alpha keeps beta's entry.
    create(&mut b, "e3", "alpha", "pending");
    create(&mut b, "e4", "beta", "pending");
    for ds in ["alpha", "beta"] {
        for _ in 0..2 {
            a.query_one("SELECT jobtrack.get_dataset_stats_cached($1)", &[&ds])
                .unwrap();
        }
    }
    b.batch_execute(
        "UPDATE jobtrack.executions SET status = 'failed', success = false WHERE job_id = 'e3'",
    )
    .unwrap();
    let before = hits(&mut a);
    let beta = json(
        &mut a,
        "SELECT jobtrack.get_dataset_stats_cached('beta')::text",
    );
    assert_eq!(beta["total_jobs"], 1);
    if is_shared {
        assert_eq!(
            hits(&mut a),
            before + 1,
            "beta's entry survives a change in alpha"
        );
    }
    let alpha = json(
        &mut a,
        "SELECT jobtrack.get_dataset_stats_cached('alpha')::text",
    );
    assert_eq!(alpha["failed_jobs"], 1);
    if is_shared {
        assert_eq!(hits(&mut a), before + 1, "alpha's entry was invalidated");
    }
}

#[test]
fn pg_cache_reader_with_an_older_snapshot_cannot_store_stale() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_stale");
    let mut control = connect(&url);
    let mut writer = connect(&url);
    create(&mut control, "s1", "alpha", "pending");
    let old = cached_statistics(&mut control);
    control
        .query_one("SELECT jobtrack.invalidate_cache()", &[])
        .unwrap();
    control
        .batch_execute("SELECT pg_advisory_lock(4242)")
        .unwrap();

    // The reader's statement takes its snapshot, then waits for the lock,
    // then computes (from that snapshot) and tries to store.
    let reader_url = url.clone();
    let reader = thread::spawn(move || {
        let mut r = connect(&reader_url);
        let pid: i32 = r.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
        let handle = thread::spawn(move || {
            let text: String = r
                .query_one(
                    "WITH l AS MATERIALIZED (SELECT pg_advisory_lock(4242)) \
                     SELECT jobtrack.get_statistics_cached()::text FROM l",
                    &[],
                )
                .unwrap()
                .get(0);
            (r, text)
        });
        (pid, handle)
    });
    let (pid, handle) = reader.join().unwrap();
    // Wait until the reader is blocked on the advisory lock.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: bool = control
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND NOT granted)",
                &[&pid],
            )
            .unwrap()
            .get(0);
        if waiting {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the reader never waited for the lock"
        );
        thread::sleep(Duration::from_millis(10));
    }
    // A commit after the reader's snapshot.
    writer
        .query_one(
            "SELECT jobtrack.update_execution_status('s1', 'failed')",
            &[],
        )
        .unwrap();
    control
        .batch_execute("SELECT pg_advisory_unlock(4242)")
        .unwrap();
    let (mut r, text) = handle.join().unwrap();
    let seen: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(seen, old, "the reader computed from its (older) snapshot");
    // Nobody may now be served that older result.
    for client in [&mut r, &mut control, &mut writer] {
        let now = both_statistics(client);
        assert_eq!(
            now["executions_by_status"]["failed"], 1,
            "a stale entry was stored"
        );
    }
}

#[test]
fn pg_cache_own_changes_and_repeatable_read_bypass() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_own");
    let mut a = connect(&url);
    let mut b = connect(&url);
    create(&mut a, "o1", "alpha", "pending");
    both_statistics(&mut a);
    both_statistics(&mut a);

    // Own uncommitted changes are seen through *_cached.
    let mut tx = a.transaction().unwrap();
    create_in(&mut tx, "o2");
    assert_eq!(both_statistics(&mut tx)["total_jobs"], 2);
    tx.rollback().unwrap();
    assert_eq!(both_statistics(&mut a)["total_jobs"], 1);

    // REPEATABLE READ: the transaction's snapshot, not the cache's.
    a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .unwrap();
    assert_eq!(both_statistics(&mut a)["total_jobs"], 1);
    create(&mut b, "o3", "alpha", "pending");
    assert_eq!(both_statistics(&mut a)["total_jobs"], 1);
    a.batch_execute("COMMIT").unwrap();
    assert_eq!(both_statistics(&mut a)["total_jobs"], 2);
    // B's session has the fresh result too.
    assert_eq!(both_statistics(&mut b)["total_jobs"], 2);
}

fn create_in(tx: &mut postgres::Transaction<'_>, id: &str) {
    tx.query_one(
        "SELECT jobtrack.create_execution(jsonb_build_object('job_id', $1::text, \
         'pipeline_mode', 'single', 'dataset_name', 'alpha', 'preset', 'p'))",
        &[&id],
    )
    .unwrap();
}

fn error_of(client: &mut Client, sql: &str) -> (String, String) {
    let e = client.query_one(sql, &[]).expect_err("the call must fail");
    let db = e.as_db_error().expect("a server error");
    (db.code().code().to_owned(), db.message().to_owned())
}

#[test]
fn pg_cache_permissions_and_row_level_security() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_security");
    let mut admin = connect(&url);
    admin
        .batch_execute(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jt_noselect') THEN CREATE ROLE jt_noselect; END IF;
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jt_alice') THEN CREATE ROLE jt_alice; END IF;
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jt_bob') THEN CREATE ROLE jt_bob; END IF;
             END $$;
             GRANT USAGE ON SCHEMA jobtrack TO jt_noselect, jt_alice, jt_bob;
             GRANT SELECT ON ALL TABLES IN SCHEMA jobtrack TO jt_alice, jt_bob;",
        )
        .unwrap();
    create(&mut admin, "p1", "jt_alice", "done");
    create(&mut admin, "p2", "jt_bob", "failed");
    create(&mut admin, "p3", "jt_bob", "pending");

    // No SELECT: the same permission errors cold and warm.
    let errors_without_select = |admin: &mut Client| {
        admin.batch_execute("SET ROLE jt_noselect").unwrap();
        let errors = [
            error_of(admin, "SELECT jobtrack.get_statistics_cached()"),
            error_of(admin, "SELECT jobtrack.get_dataset_stats_cached('jt_bob')"),
        ];
        admin.batch_execute("RESET ROLE").unwrap();
        errors
    };
    admin
        .query_one("SELECT jobtrack.invalidate_cache()", &[])
        .unwrap();
    let cold = errors_without_select(&mut admin);
    both_statistics(&mut admin);
    both_statistics(&mut admin);
    admin
        .query_one("SELECT jobtrack.get_dataset_stats_cached('jt_bob')", &[])
        .unwrap();
    let warm = errors_without_select(&mut admin);
    assert_eq!(cold[0].0, "42501");
    assert_eq!(cold, warm);

    // A session remembers whether its role may be served hits: a REVOKE,
    // a GRANT or row-level security committed by another session must reach
    // that verdict before its next call.
    let mut alice = connect(&url);
    alice.batch_execute("SET ROLE jt_alice").unwrap();
    assert_eq!(both_statistics(&mut alice)["total_jobs"], 3);
    let before = hits(&mut alice);
    assert_eq!(both_statistics(&mut alice)["total_jobs"], 3);
    if shared(&mut alice) {
        assert_eq!(hits(&mut alice), before + 1, "alice is served hits");
    }
    admin
        .batch_execute("REVOKE SELECT ON jobtrack.job_counters FROM jt_alice")
        .unwrap();
    assert_eq!(
        error_of(&mut alice, "SELECT jobtrack.get_statistics_cached()").0,
        "42501",
        "a hit after REVOKE"
    );
    admin
        .batch_execute("GRANT SELECT ON jobtrack.job_counters TO jt_alice")
        .unwrap();
    assert_eq!(both_statistics(&mut alice)["total_jobs"], 3);

    // Row-level security on the tables the statistics are read from (the
    // summary table and the counters): each role sees its own dataset.
    admin
        .batch_execute(
            "ALTER TABLE jobtrack.job_summary_cache ENABLE ROW LEVEL SECURITY;
             CREATE POLICY own_dataset ON jobtrack.job_summary_cache USING (dataset_name = current_user);
             ALTER TABLE jobtrack.job_counters ENABLE ROW LEVEL SECURITY;
             CREATE POLICY own_dataset ON jobtrack.job_counters USING (dataset_name = current_user);",
        )
        .unwrap();
    let all = both_statistics(&mut admin);
    assert_eq!(all["total_jobs"], 3);
    both_statistics(&mut admin);
    assert_eq!(
        both_statistics(&mut alice)["total_jobs"],
        1,
        "alice, whose session was served hits, after row-level security"
    );
    for (role, jobs) in [
        ("jt_alice", 1),
        ("jt_bob", 2),
        ("jt_alice", 1),
        ("jt_bob", 2),
    ] {
        admin.batch_execute(&format!("SET ROLE {role}")).unwrap();
        let s = both_statistics(&mut admin);
        assert_eq!(s["total_jobs"], jobs, "{role} sees another role's result");
        let ds = json(
            &mut admin,
            "SELECT jobtrack.get_dataset_stats_cached('jt_bob')::text",
        );
        assert_eq!(ds["total_jobs"], if role == "jt_bob" { 2 } else { 0 });
        admin.batch_execute("RESET ROLE").unwrap();
    }
    assert_eq!(both_statistics(&mut admin)["total_jobs"], 3);
}

/// The experiment statistics through the cache and without it, for the
/// current role: (cached, uncached).
fn experiment_pair(client: &mut Client, experiment: &str) -> (Value, Value) {
    let row = client
        .query_one(
            "SELECT jobtrack.get_experiment_stats_cached($1)::text, \
                    jobtrack.get_experiment_stats($1)::text",
            &[&experiment],
        )
        .unwrap();
    let (cached, fresh): (String, String) = (row.get(0), row.get(1));
    (
        serde_json::from_str(&cached).unwrap(),
        serde_json::from_str(&fresh).unwrap(),
    )
}

/// get_experiment_stats_cached serves a warm entry only to a role that may
/// read both its tables without row-level security: a role without SELECT
/// on the experiment counters gets the uncached call's 42501, a role under
/// a policy on the variations gets its own extremes, never the entry
/// another role warmed.
#[test]
fn pg_cache_experiment_stats_permissions_and_row_level_security() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_experiment_security");
    let mut admin = connect(&url);
    admin
        .batch_execute(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jt_nocounters') THEN CREATE ROLE jt_nocounters; END IF;
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jt_carol') THEN CREATE ROLE jt_carol; END IF;
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jt_dave') THEN CREATE ROLE jt_dave; END IF;
             END $$;
             GRANT USAGE ON SCHEMA jobtrack TO jt_nocounters, jt_carol, jt_dave;
             GRANT SELECT ON ALL TABLES IN SCHEMA jobtrack TO jt_carol, jt_dave;
             GRANT SELECT ON jobtrack.variations TO jt_nocounters;",
        )
        .unwrap();
    create_variation(&mut admin, "c1", "sweep", "jt_carol", "done");
    create_variation(&mut admin, "d1", "sweep", "jt_dave", "failed");
    create_variation(&mut admin, "d2", "sweep", "jt_dave", "pending");
    admin
        .batch_execute(
            "UPDATE jobtrack.variations SET duration_seconds = 10, start_time = '2026-01-01T00:00:00Z'
             WHERE job_id = 'c1';
             UPDATE jobtrack.variations SET duration_seconds = 20, start_time = '2026-02-01T00:00:00Z'
             WHERE job_id = 'd1';",
        )
        .unwrap();

    // No SELECT on experiment_counters: the same error cold and warm.
    let refused = |admin: &mut Client| {
        admin.batch_execute("SET ROLE jt_nocounters").unwrap();
        let errors = [
            error_of(
                admin,
                "SELECT jobtrack.get_experiment_stats_cached('sweep')",
            ),
            error_of(admin, "SELECT jobtrack.get_experiment_stats('sweep')"),
        ];
        admin.batch_execute("RESET ROLE").unwrap();
        errors
    };
    admin
        .query_one("SELECT jobtrack.invalidate_cache()", &[])
        .unwrap();
    let cold = refused(&mut admin);
    let (cached, fresh) = experiment_pair(&mut admin, "sweep");
    assert_eq!(cached, fresh);
    assert_eq!(fresh["total_variations"], 3);
    assert_eq!(fresh["min_duration"], 10.0);
    assert_eq!(fresh["max_duration"], 20.0);
    let warm = refused(&mut admin);
    assert_eq!(cold[0].0, "42501", "{cold:?}");
    assert_eq!(
        cold[0], cold[1],
        "the cached call refuses as the uncached one"
    );
    assert_eq!(cold, warm);

    // A role that may read both tables is served the entry.
    let mut carol = connect(&url);
    carol.batch_execute("SET ROLE jt_carol").unwrap();
    experiment_pair(&mut carol, "sweep");
    let before = hits(&mut carol);
    let (cached, fresh) = experiment_pair(&mut carol, "sweep");
    assert_eq!(cached, fresh);
    if shared(&mut carol) {
        assert_eq!(hits(&mut carol), before + 1, "carol is served hits");
    }

    // A policy on the variations: the extremes, read from them, are each
    // role's own; the counts come from the counters, which have none.
    admin
        .batch_execute(
            "ALTER TABLE jobtrack.variations ENABLE ROW LEVEL SECURITY;
             CREATE POLICY own_dataset ON jobtrack.variations USING (dataset_name = current_user);",
        )
        .unwrap();
    experiment_pair(&mut admin, "sweep");
    for (role, min, max) in [
        ("jt_carol", 10.0, 10.0),
        ("jt_dave", 20.0, 20.0),
        ("jt_carol", 10.0, 10.0),
    ] {
        admin.batch_execute(&format!("SET ROLE {role}")).unwrap();
        let (cached, fresh) = experiment_pair(&mut admin, "sweep");
        admin.batch_execute("RESET ROLE").unwrap();
        assert_eq!(cached, fresh, "{role} is served another role's result");
        assert_eq!(fresh["min_duration"], min, "{role}: {fresh}");
        assert_eq!(fresh["max_duration"], max, "{role}: {fresh}");
    }
    let (cached, fresh) = experiment_pair(&mut carol, "sweep");
    assert_eq!(
        cached, fresh,
        "carol's session, served hits before the policy"
    );
    assert_eq!(fresh["max_duration"], 10.0);
    let (cached, _) = experiment_pair(&mut admin, "sweep");
    assert_eq!(cached["max_duration"], 20.0);
}

const DATASETS: [&str; 3] = ["ds0", "ds1", "ds2"];
/// The sweeps of the stress run's variations.
const EXPERIMENTS: [&str; 2] = ["sweep0", "sweep1"];
// No "training": start_time stays NULL, so durations come only from the
// plain-SQL writes below, in halves, whose sums are exact in any order.
const STATUSES: [&str; 6] = [
    "pending",
    "in_queue",
    "done",
    "failed",
    "cancelled",
    "preparing_dataset",
];

/// What else runs during a stress run.
#[derive(Clone, Copy)]
struct Stress {
    seconds: u64,
    /// Sessions also run transactions that write an unrelated table (and so
    /// hold a transaction id) and read through the cache inside them.
    other_writes: bool,
    /// A session of its own holds a transaction id (and so every
    /// snapshot's xmin) for the whole run.
    long_transaction: bool,
}

/// One session: random writes and checked cached reads; returns (reads,
/// mismatches).
fn stress_session(url: &str, n: u64, start: &Barrier, stress: Stress) -> (u64, u64) {
    let mut c = connect(url);
    let mut rng = Rng::with_seed(n);
    let (mut reads, mut mismatches, mut created) = (0u64, 0u64, 0u64);
    start.wait();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(stress.seconds) {
        let ds = DATASETS[rng.usize(..3)];
        match rng.usize(..if stress.other_writes { 12 } else { 10 }) {
            10 | 11 => {
                // A transaction with a transaction id that changes no job:
                // it writes another table, or creates a temporary one from a
                // query, then reads through the cache, which serves it.
                let mut tx = c.transaction().unwrap();
                if rng.bool() {
                    tx.execute(
                        "INSERT INTO public.stress_other VALUES ($1)",
                        &[&(n as i64)],
                    )
                    .unwrap();
                } else {
                    tx.batch_execute("CREATE TEMP TABLE scratch ON COMMIT DROP AS SELECT 1 AS x")
                        .unwrap();
                }
                let (cached, fresh) = statistics_pair(&mut tx);
                reads += 1;
                if cached != fresh {
                    mismatches += 1;
                    eprintln!("session {n}: statistics mismatch in a transaction writing another table\n  cached: {cached}\n  fresh:  {fresh}");
                }
                tx.commit().unwrap();
            }
            0 => {
                created += 1;
                let id = format!("s{n}-{created}");
                create(&mut c, &id, ds, STATUSES[rng.usize(..6)]);
            }
            1 => {
                let id = format!("pool{}", rng.usize(..60));
                c.query_one(
                    "SELECT jobtrack.update_execution_status($1, $2)",
                    &[&id, &STATUSES[rng.usize(..6)]],
                )
                .unwrap();
            }
            2 => {
                let id = format!("pool{}", rng.usize(..60));
                let half = rng.u32(..20) as f64 / 2.0;
                c.execute(
                    "UPDATE jobtrack.executions SET dataset_name = $2, duration_seconds = $3, \
                     updated_at = now() WHERE job_id = $1",
                    &[&id, &ds, &half],
                )
                .unwrap();
            }
            6 => {
                // A variation changed, through jobtrack or plain SQL: its
                // status, or its sweep, declared size and duration, which
                // the experiment statistics count.
                let id = format!("vpool{}", rng.usize(..30));
                if rng.bool() {
                    c.query_one(
                        "SELECT jobtrack.update_variation_status($1, $2)",
                        &[&id, &STATUSES[rng.usize(..6)]],
                    )
                    .map(drop)
                } else {
                    let half = rng.u32(..20) as f64 / 2.0;
                    c.execute(
                        "UPDATE jobtrack.variations SET experiment_name = $2, \
                         total_combinations = $3, duration_seconds = $4, \
                         start_time = now() - $5 * interval '1 minute', updated_at = now() \
                         WHERE job_id = $1",
                        &[
                            &id,
                            &EXPERIMENTS[rng.usize(..2)],
                            &(rng.i32(4..12)),
                            &half,
                            &(rng.i32(0..1000) as f64),
                        ],
                    )
                    .map(drop)
                }
                .unwrap();
            }
            5 => {
                // A change of job rows only, which the recent jobs show and
                // the statistics do not: a heartbeat, a progress report, an
                // output_path written with plain SQL.
                let id = format!("pool{}", rng.usize(..60));
                match rng.usize(..3) {
                    0 => c
                        .query_one("SELECT jobtrack.heartbeat($1)", &[&id])
                        .map(drop),
                    1 => c
                        .query_one(
                            "SELECT jobtrack.update_progress($1, $2)",
                            &[&id, &(rng.u32(..100) as i32)],
                        )
                        .map(drop),
                    _ => c
                        .execute(
                            "UPDATE jobtrack.executions SET output_path = $2 WHERE job_id = $1",
                            &[&id, &format!("/out/{}", rng.u32(..1000))],
                        )
                        .map(drop),
                }
                .unwrap();
            }
            4 if rng.usize(..8) == 0 => {
                // A committed transaction whose change was rolled back to a
                // savepoint, or a cleanup of finished jobs.
                if rng.bool() {
                    let id = format!("pool{}", rng.usize(..60));
                    c.batch_execute(&format!(
                        "BEGIN; SAVEPOINT s;
                         UPDATE jobtrack.executions SET status = 'failed', success = false
                         WHERE job_id = '{id}';
                         ROLLBACK TO SAVEPOINT s; COMMIT"
                    ))
                    .unwrap();
                } else {
                    c.query_one("SELECT jobtrack.cleanup_old_jobs(0, false)", &[])
                        .unwrap();
                }
            }
            3 => {
                // A transaction that writes, reads its own change, rolls back.
                let mut tx = c.transaction().unwrap();
                tx.execute(
                    "DELETE FROM jobtrack.executions WHERE job_id = 'pool0'",
                    &[],
                )
                .unwrap();
                let (cached, fresh) = statistics_pair(&mut tx);
                reads += 1;
                if cached != fresh {
                    mismatches += 1;
                    eprintln!("session {n}: own-change statistics mismatch\n  cached: {cached}\n  fresh:  {fresh}");
                }
                tx.rollback().unwrap();
            }
            _ => {
                let experiment = EXPERIMENTS[rng.usize(..2)];
                let row = c
                    .query_one(
                        "SELECT jobtrack.get_statistics_cached()::text, jobtrack.get_statistics_optimized()::text,
                                jobtrack.get_dataset_stats_cached($1)::text, jobtrack.get_dataset_stats_optimized($1)::text,
                                ARRAY(SELECT t::text FROM jobtrack.get_recent_jobs_cached(5) AS t)::text,
                                ARRAY(SELECT t::text FROM jobtrack.get_recent_jobs_optimized(5) AS t)::text,
                                jobtrack.get_experiment_stats_cached($2)::text, jobtrack.get_experiment_stats($2)::text",
                        &[&ds, &experiment],
                    )
                    .unwrap();
                for (i, what) in [
                    "statistics",
                    "dataset stats",
                    "recent jobs",
                    "experiment stats",
                ]
                .iter()
                .enumerate()
                {
                    let (cached, fresh): (String, String) = (row.get(2 * i), row.get(2 * i + 1));
                    reads += 1;
                    if cached != fresh {
                        mismatches += 1;
                        if mismatches <= 3 {
                            eprintln!("session {n}: {what} mismatch\n  cached: {cached}\n  fresh:  {fresh}");
                        }
                    }
                }
            }
        }
    }
    (reads, mismatches)
}

/// Runs the stress sessions on a fresh database and checks the outcome:
/// enough checked reads, none differing from its uncached twin, and hits
/// when the cache is shared.
fn stress(name: &str, stress: Stress) {
    let url = jobtrack_tests::fresh_database(name);
    let mut setup = connect(&url);
    setup
        .batch_execute("CREATE TABLE public.stress_other (n bigint)")
        .unwrap();
    for i in 0..60 {
        create(&mut setup, &format!("pool{i}"), DATASETS[i % 3], "pending");
    }
    for i in 0..30 {
        create_variation(
            &mut setup,
            &format!("vpool{i}"),
            EXPERIMENTS[i % 2],
            DATASETS[i % 3],
            "pending",
        );
    }
    // The first cached read since the server started treats every
    // transaction running then as a possible writer (one prepared before a
    // restart may commit later): read once before the long transaction
    // begins, as a server that has served a while has, so that the result
    // does not depend on which test ran first.
    cached_statistics(&mut setup);
    let mut long = connect(&url);
    if stress.long_transaction {
        long.batch_execute("BEGIN; INSERT INTO public.stress_other VALUES (-1)")
            .unwrap();
    }
    let before = stats(&mut setup);
    const SESSIONS: u64 = 4;
    let start = Arc::new(Barrier::new(SESSIONS as usize));
    let handles: Vec<_> = (0..SESSIONS)
        .map(|n| {
            let url = url.clone();
            let start = Arc::clone(&start);
            thread::spawn(move || stress_session(&url, n, &start, stress))
        })
        .collect();
    let results: Vec<(u64, u64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let reads: u64 = results.iter().map(|r| r.0).sum();
    let mismatches: u64 = results.iter().map(|r| r.1).sum();
    let after = stats(&mut setup);
    let hits = after["hits"].as_u64().unwrap() - before["hits"].as_u64().unwrap();
    if stress.long_transaction {
        long.batch_execute("COMMIT").unwrap();
    }
    eprintln!(
        "pg_cache stress ({name}): {SESSIONS} sessions, {}s, {reads} checked cached reads, {hits} hits, mismatches: {mismatches}",
        stress.seconds
    );
    assert!(reads > 100, "too few reads: {reads}");
    assert_eq!(mismatches, 0, "cached reads differing from uncached ones");
    if after["shared"] == true {
        assert!(hits > 0, "the shared cache never hit");
    }
}

#[test]
fn pg_cache_stress_cached_reads_match_uncached() {
    let _serial = serial();
    stress(
        "jobtrack_cache_stress",
        Stress {
            seconds: 30,
            other_writes: false,
            long_transaction: false,
        },
    );
}

/// The same with a transaction holding an id open elsewhere for the whole
/// run, and with transactions that write other tables and read through the
/// cache: still exact, and still served (hits).
#[test]
fn pg_cache_stress_with_a_long_transaction_and_other_writes() {
    let _serial = serial();
    stress(
        "jobtrack_cache_stress_long",
        Stress {
            seconds: 15,
            other_writes: true,
            long_transaction: true,
        },
    );
}

/// A change of job rows only — a heartbeat, a progress report, a plain
/// UPDATE of output_path — retires the cached recent jobs (their rows show
/// it) but not the cached statistics, which a status change retires.
#[test]
fn pg_cache_statistics_survive_heartbeats_and_progress() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_heartbeats");
    let mut c = connect(&url);
    create(&mut c, "h1", "ds", "training");
    create(&mut c, "h2", "ds", "pending");
    let is_shared = shared(&mut c);
    let recent = |c: &mut Client| -> (String, String) {
        let row = c
            .query_one(
                "SELECT ARRAY(SELECT t::text FROM jobtrack.get_recent_jobs_cached(5) AS t)::text,
                        ARRAY(SELECT t::text FROM jobtrack.get_recent_jobs_optimized(5) AS t)::text",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    // Fill both entries.
    both_statistics(&mut c);
    json(
        &mut c,
        "SELECT to_jsonb(jobtrack.get_dataset_stats_cached('ds'))::text",
    );
    recent(&mut c);
    for (what, sql) in [
        ("a heartbeat", "SELECT jobtrack.heartbeat('h1')"),
        (
            "a progress report",
            "SELECT jobtrack.update_progress('h1', 7)",
        ),
        (
            "an output_path",
            "UPDATE jobtrack.executions SET output_path = '/o' WHERE job_id = 'h1'",
        ),
    ] {
        c.batch_execute(sql).unwrap();
        let before = hits(&mut c);
        both_statistics(&mut c);
        json(
            &mut c,
            "SELECT to_jsonb(jobtrack.get_dataset_stats_cached('ds'))::text",
        );
        let statistics_hits = hits(&mut c) - before;
        let before = hits(&mut c);
        let (cached, fresh) = recent(&mut c);
        assert_eq!(
            cached, fresh,
            "after {what}: the cached recent jobs are stale"
        );
        let recent_hits = hits(&mut c) - before;
        if is_shared {
            assert_eq!(
                statistics_hits, 2,
                "after {what}: the statistics were retired"
            );
            assert_eq!(recent_hits, 0, "after {what}: the recent jobs were served");
        }
    }
    // A status change retires the statistics.
    c.batch_execute("SELECT jobtrack.update_execution_status('h2', 'in_queue')")
        .unwrap();
    let before = hits(&mut c);
    both_statistics(&mut c);
    if is_shared {
        assert_eq!(
            hits(&mut c) - before,
            0,
            "a status change kept the statistics"
        );
    }
    drop(c);
    jobtrack_tests::drop_database("jobtrack_cache_heartbeats");
}

/// Hits after many writers while a transaction with an id stays open
/// elsewhere (before 0.4.0: none once eight writers had committed), and in
/// transactions that hold an id without changing jobs (before: bypassed);
/// a transaction that changes jobs bypasses from its first row on, even in
/// the middle of the writing statement.
#[test]
fn pg_cache_serves_around_unrelated_transactions() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_unrelated");
    let mut r = connect(&url);
    if !shared(&mut r) {
        return;
    }
    let mut w = connect(&url);
    let mut long = connect(&url);
    r.batch_execute("CREATE TABLE public.other (n int)")
        .unwrap();
    // The first cached read since the server started treats every
    // transaction running then as a possible writer (a transaction prepared
    // before a restart may commit later): read once before the long
    // transaction begins, as any server that has served a while has.
    both_statistics(&mut r);
    long.batch_execute("BEGIN; INSERT INTO public.other VALUES (0)")
        .unwrap();
    for i in 0..20 {
        create(&mut w, &format!("u{i}"), "alpha", "pending");
    }
    both_statistics(&mut r);
    let before = hits(&mut r);
    assert_eq!(both_statistics(&mut r)["total_jobs"], 20);
    assert_eq!(
        hits(&mut r),
        before + 1,
        "no hit while another transaction holds an id"
    );

    for setup in [
        "INSERT INTO public.other VALUES (1)",
        "CREATE TEMP TABLE scratch ON COMMIT DROP AS SELECT 1 AS x",
    ] {
        let mut tx = r.transaction().unwrap();
        tx.batch_execute(setup).unwrap();
        let before = hits_in(&mut tx);
        both_statistics(&mut tx);
        assert_eq!(hits_in(&mut tx), before + 1, "no hit after {setup}");
        tx.commit().unwrap();
    }
    long.batch_execute("COMMIT").unwrap();

    // A user's row trigger reads through the cache while the statement that
    // fires it has changed rows: the recent jobs' rows come from the base
    // tables, so the uncached function sees the change; so must the cached
    // one (warm before the statement). Before the change is noted BEFORE the
    // statement, the note came at its end, after the row triggers.
    r.batch_execute(
        "CREATE TABLE public.seen (cached text, fresh text);
         CREATE FUNCTION public.look() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             INSERT INTO public.seen
             SELECT ARRAY(SELECT t::text FROM jobtrack.get_recent_jobs_cached(100) AS t)::text,
                    ARRAY(SELECT t::text FROM jobtrack.get_recent_jobs_optimized(100) AS t)::text;
             RETURN NULL;
         END $$;
         CREATE TRIGGER look AFTER UPDATE ON jobtrack.executions
             FOR EACH ROW EXECUTE FUNCTION public.look();",
    )
    .unwrap();
    let recent =
        "SELECT ARRAY(SELECT t::text FROM jobtrack.get_recent_jobs_cached(100) AS t)::text";
    let warm: String = r.query_one(recent, &[]).unwrap().get(0);
    let before = hits(&mut r);
    let again: String = r.query_one(recent, &[]).unwrap().get(0);
    assert_eq!((warm.as_str(), hits(&mut r)), (again.as_str(), before + 1));
    r.batch_execute(
        "UPDATE jobtrack.executions SET error_message = 'changed' WHERE job_id IN ('u1', 'u2')",
    )
    .unwrap();
    let seen = r
        .query("SELECT cached, fresh FROM public.seen", &[])
        .unwrap();
    assert_eq!(seen.len(), 2);
    for row in seen {
        let (cached, fresh): (String, String) = (row.get(0), row.get(1));
        assert!(
            fresh.contains("changed"),
            "the trigger sees the change: {fresh}"
        );
        assert_eq!(cached, fresh, "a cached read inside the writing statement");
    }
}

fn hits_in(tx: &mut postgres::Transaction<'_>) -> u64 {
    let text: String = tx
        .query_one("SELECT jobtrack.get_cache_stats()::text", &[])
        .unwrap()
        .get(0);
    serde_json::from_str::<Value>(&text).unwrap()["hits"]
        .as_u64()
        .unwrap()
}

#[test]
fn pg_cache_prepared_transaction_counts_at_commit_prepared() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_prepared");
    let mut a = connect(&url);
    let mut b = connect(&url);
    create(&mut a, "x1", "alpha", "pending");
    b.batch_execute(
        "BEGIN;
         SELECT jobtrack.update_execution_status('x1', 'failed');
         PREPARE TRANSACTION 'jobtrack_cache_prepared'",
    )
    .unwrap();
    // Prepared, not committed: nobody sees it, cached or not, and the
    // entries computed now must not survive COMMIT PREPARED.
    for _ in 0..2 {
        assert_eq!(
            both_statistics(&mut a)["executions_by_status"]["pending"],
            1
        );
        let ds = json(
            &mut a,
            "SELECT jobtrack.get_dataset_stats_cached('alpha')::text",
        );
        assert_eq!(ds["failed_jobs"], 0);
    }
    // COMMIT PREPARED from a third session, which runs no trigger.
    connect(&url)
        .batch_execute("COMMIT PREPARED 'jobtrack_cache_prepared'")
        .unwrap();
    assert_eq!(both_statistics(&mut a)["executions_by_status"]["failed"], 1);
    let ds = json(
        &mut a,
        "SELECT jobtrack.get_dataset_stats_cached('alpha')::text",
    );
    assert_eq!(ds["failed_jobs"], 1);

    // ROLLBACK PREPARED: the warm entry stays exact.
    b.batch_execute(
        "BEGIN;
         SELECT jobtrack.update_execution_status('x1', 'done');
         PREPARE TRANSACTION 'jobtrack_cache_prepared2'",
    )
    .unwrap();
    both_statistics(&mut a);
    connect(&url)
        .batch_execute("ROLLBACK PREPARED 'jobtrack_cache_prepared2'")
        .unwrap();
    assert_eq!(both_statistics(&mut a)["executions_by_status"]["failed"], 1);
}

#[test]
fn pg_cache_bounds_settings_and_invalidate_cache() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_bounds");
    let mut a = connect(&url);
    if !shared(&mut a) {
        // Without shared memory nothing is stored: every call computes.
        assert_eq!(
            a.query_one("SELECT jobtrack.invalidate_cache()", &[])
                .unwrap()
                .get::<_, i32>(0),
            0
        );
        assert_eq!(stats(&mut a)["size"], 0);
        return;
    }
    for i in 0..60 {
        create(
            &mut a,
            &format!("b{i:02}"),
            &format!("ds{}", i % 3),
            "pending",
        );
    }
    a.query_one("SELECT jobtrack.invalidate_cache()", &[])
        .unwrap();

    // invalidate_cache(pattern): a substring of the key.
    for ds in ["ds0", "ds1", "ds2"] {
        a.query_one("SELECT jobtrack.get_dataset_stats_cached($1)", &[&ds])
            .unwrap();
    }
    both_statistics(&mut a);
    let dropped: i32 = a
        .query_one("SELECT jobtrack.invalidate_cache('dataset_stats:ds1')", &[])
        .unwrap()
        .get(0);
    assert_eq!(dropped, 1);
    let dropped: i32 = a
        .query_one("SELECT jobtrack.invalidate_cache('dataset_stats')", &[])
        .unwrap()
        .get(0);
    assert_eq!(dropped, 2);
    let dropped: i32 = a
        .query_one("SELECT jobtrack.invalidate_cache()", &[])
        .unwrap()
        .get(0);
    assert_eq!(dropped, 1, "the statistics entry");

    // Off: every call computes.
    a.batch_execute("SET jobtrack.cache_enabled = off").unwrap();
    let before = hits(&mut a);
    both_statistics(&mut a);
    both_statistics(&mut a);
    assert_eq!(hits(&mut a), before);
    a.batch_execute("RESET jobtrack.cache_enabled").unwrap();

    // A TTL of 0 stores nothing.
    a.batch_execute("SET jobtrack.statistics_ttl = 0").unwrap();
    both_statistics(&mut a);
    both_statistics(&mut a);
    assert_eq!(hits(&mut a), before);
    a.batch_execute("RESET jobtrack.statistics_ttl").unwrap();

    // 60 rows (about 20 kB) exceed cache_max_entry_size (16 kB): not stored.
    let big = "SELECT count(*) FROM jobtrack.get_recent_jobs_cached(60)";
    a.query_one(big, &[]).unwrap();
    a.query_one(big, &[]).unwrap();
    assert_eq!(hits(&mut a), before, "an oversized result was cached");

    // More keys than slots: evictions, each answer still exact.
    let capacity = stats(&mut a)["capacity"].as_u64().unwrap();
    let evictions = stats(&mut a)["evictions"].as_u64().unwrap();
    for i in 0..capacity + 20 {
        let ds = format!("ds{}", i % 3);
        let name = if i < 3 { ds } else { format!("unknown{i}") };
        let row = a
            .query_one(
                "SELECT jobtrack.get_dataset_stats_cached($1) = jobtrack.get_dataset_stats_optimized($1)",
                &[&name],
            )
            .unwrap();
        assert!(row.get::<_, bool>(0));
    }
    let after = stats(&mut a);
    assert_eq!(after["size"].as_u64().unwrap(), capacity);
    assert!(after["evictions"].as_u64().unwrap() >= evictions + 20);
}

/// Reconnects until the server accepts connections again (after a crash
/// restart).
fn reconnect(url: &str) -> Client {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut c) = Client::connect(url, NoTls) {
            if c.simple_query("SELECT 1").is_ok() {
                return c;
            }
        }
        assert!(Instant::now() < deadline, "the server did not come back");
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn pg_cache_survives_a_crash_restart() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_cache_crash");
    let mut a = connect(&url);
    create(&mut a, "c1", "alpha", "pending");
    both_statistics(&mut a);
    both_statistics(&mut a);
    // A backend killed by a signal makes the postmaster reset shared memory
    // and restart every session: the cache starts empty, and every function
    // stays exact. The test cluster commits asynchronously: a checkpoint
    // first, so that crash recovery keeps what was committed.
    a.batch_execute("CHECKPOINT").unwrap();
    let victim = connect(&url);
    let pid: i32 = a
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() LIMIT 1",
            &[],
        )
        .unwrap()
        .get(0);
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    // with-cluster.sh runs the server as the caller, or as `postgres` for
    // root: both can signal it. Only a server of another user cannot be.
    assert!(
        killed.success(),
        "cannot signal backend {pid}: the server of JOBTRACK_PG_URL runs as another OS user; \
         run this test on a cluster of tests/pg_regress/with-cluster.sh (make pg-test does)"
    );
    drop(victim);
    let mut a = reconnect(&url);
    let after = stats(&mut a);
    if after["shared"] == true {
        assert_eq!(after["size"], 0, "shared memory was re-initialised");
        assert_eq!(after["hits"], 0);
    }
    connect(&url)
        .query_one("SELECT jobtrack.update_execution_status('c1', 'done')", &[])
        .unwrap();
    for _ in 0..3 {
        assert_eq!(both_statistics(&mut a)["executions_by_status"]["done"], 1);
    }
    if after["shared"] == true {
        assert!(hits(&mut a) > 0, "the cache works again after the restart");
    }
}
