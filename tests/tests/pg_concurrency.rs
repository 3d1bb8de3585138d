//! Concurrency against a real PostgreSQL server (`JOBTRACK_PG_URL`, set by
//! `make test`): five sessions, each its own connection, run overlapping
//! batch creates, batch status updates naming the same jobs in different
//! orders, single updates, plain-SQL writes, cleanup, summary rebuilds and
//! reads for several seconds. No call may fail (a deadlock would surface as
//! SQLSTATE 40P01); afterwards the summary table must equal a full recount
//! from the base tables, and get_statistics_optimized() a recount too.

use fastrand::Rng;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use jobtrack_core::{JobType, KindAggregate, Statistics, Status};
use postgres::{Client, NoTls};
use serde_json::{json, Value};

const DATABASE: &str = "jobtrack_concurrency";
const RUN_FOR: Duration = Duration::from_secs(5);
/// Jobs of each kind present from the start, shared by every session.
const POOL: usize = 400;
const STATUSES: &[&str] = &[
    "pending",
    "in_queue",
    "preparing_dataset",
    "configuring_preset",
    "ready_for_training",
    "training",
    "generating_preview",
    "done",
    "failed",
    "cancelled",
    "completed",
];

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).expect("connect to the test database")
}

fn status_batch(rng: &mut Rng, prefix: &str, n: usize) -> String {
    let items: Vec<Value> = (0..n)
        .map(|_| format!("{prefix}{:04}", rng.usize(..POOL)))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|id| {
            let status = *rng.choice(STATUSES).unwrap();
            if status == "failed" {
                json!({"job_id": id, "status": status, "error_message": "concurrency test"})
            } else {
                json!({"job_id": id, "status": status})
            }
        })
        .collect();
    Value::Array(items).to_string()
}

fn execution(id: &str, status: &str) -> Value {
    json!({"job_id": id, "pipeline_mode": "batch", "dataset_name": format!("ds{}", id.len() % 3),
           "preset": "p", "total_steps": 100, "status": status})
}

fn variation(id: &str, status: &str) -> Value {
    json!({"job_id": id, "variation_id": id, "experiment_name": "sweep",
           "dataset_name": format!("ds{}", id.len() % 3), "preset": "p",
           "total_combinations": 10, "parameter_values": {"id": id}, "status": status})
}

/// One session's work for `RUN_FOR`; returns the calls made, or the first
/// error.
fn session(url: &str, role: usize, start: &Barrier) -> Result<u64, String> {
    let mut client = connect(url);
    let mut rng = Rng::with_seed(role as u64);
    let mut calls = 0u64;
    let mut created = 0u64;
    start.wait();
    let started = Instant::now();
    let mut last_maintenance = Instant::now();
    while started.elapsed() < RUN_FOR {
        let result = match (role, rng.usize(..4)) {
            // Overlapping batch updates, random order, repeats (later wins).
            (0, _) | (1, 0 | 1) => client
                .query_one(
                    "SELECT jobtrack.batch_update_execution_status($1::text::jsonb)",
                    &[&status_batch(&mut rng, "e", 60)],
                )
                .map(drop),
            (1, _) => client
                .query_one(
                    "SELECT jobtrack.batch_update_variation_status($1::text::jsonb)",
                    &[&status_batch(&mut rng, "v", 60)],
                )
                .map(drop),
            // New jobs in batches, and single writes on the shared pool.
            (2, 0 | 1) => {
                created += 1;
                let status = *rng.choice(STATUSES).unwrap();
                let execs: Vec<Value> = (0..20)
                    .map(|i| execution(&format!("n{role}-{created}-{i}"), status))
                    .collect();
                let vars: Vec<Value> = (0..20)
                    .map(|i| variation(&format!("m{role}-{created}-{i}"), status))
                    .collect();
                client
                    .query_one(
                        "SELECT jobtrack.batch_create_executions($1::text::jsonb), \
                                jobtrack.batch_create_variations($2::text::jsonb)",
                        &[
                            &Value::Array(execs).to_string(),
                            &Value::Array(vars).to_string(),
                        ],
                    )
                    .map(drop)
            }
            (2, 2) => {
                let id = format!("v{:04}", rng.usize(..POOL));
                client
                    .query_one(
                        "SELECT jobtrack.update_variation_status($1, $2, 'single')",
                        &[&id, rng.choice(STATUSES).unwrap()],
                    )
                    .map(drop)
            }
            (2, _) => {
                let id = format!("e{:04}", rng.usize(..POOL));
                let step = rng.i32(0..100);
                client
                    .query_one("SELECT jobtrack.update_progress($1, $2)", &[&id, &step])
                    .map(drop)
            }
            // Plain SQL, as any other client would write.
            (3, 0) => {
                let id = format!("e{:04}", rng.usize(..POOL));
                client
                    .execute(
                        "UPDATE jobtrack.executions SET status = $2, updated_at = now(), \
                         duration_seconds = 1.5, success = ($2 = 'done') WHERE job_id = $1",
                        &[
                            &id,
                            &rng.choice(STATUSES).unwrap().replace("completed", "done"),
                        ],
                    )
                    .map(drop)
            }
            (3, 1) => {
                let id = format!("v{:04}", rng.usize(..POOL));
                client
                    .execute(
                        "UPDATE jobtrack.variations SET dataset_name = 'moved', updated_at = now() \
                         WHERE job_id = $1",
                        &[&id],
                    )
                    .map(drop)
            }
            (3, _) => {
                created += 1;
                let id = format!("plain-{created}");
                client
                    .batch_execute(&format!(
                        "INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset, status) \
                         VALUES ('{id}', 'single', 'plain', 'p', 'training'), ('{id}-b', 'single', 'plain', 'p', 'done');
                         DELETE FROM jobtrack.executions WHERE job_id = '{id}-b';"
                    ))
            }
            // Reads, and now and then cleanup and a summary rebuild.
            (_, r) => {
                if last_maintenance.elapsed() > Duration::from_millis(700) {
                    last_maintenance = Instant::now();
                    // Two transactions: refresh_job_cache() takes table
                    // locks, which a transaction holding row locks from an
                    // earlier write must not ask for.
                    client
                        .query_one("SELECT jobtrack.cleanup_old_jobs(1, true)", &[])
                        .and_then(|_| client.query_one("SELECT jobtrack.refresh_job_cache()", &[]))
                        .map(drop)
                } else {
                    let sql = match r {
                        0 => "SELECT jobtrack.get_statistics_optimized()::text",
                        1 => "SELECT jobtrack.get_dataset_stats_cached('ds1')::text",
                        2 => "SELECT count(*)::text FROM jobtrack.get_recent_jobs_optimized(50)",
                        _ => "SELECT count(*)::text FROM jobtrack.get_running_jobs()",
                    };
                    client.query_one(sql, &[]).map(drop)
                }
            }
        };
        result.map_err(|e| match e.as_db_error() {
            Some(db) => format!(
                "session {role}: {} {}; {}",
                db.code().code(),
                db.message(),
                db.detail().unwrap_or_default()
            ),
            None => format!("session {role}: {e}"),
        })?;
        calls += 1;
    }
    Ok(calls)
}

/// Statistics recounted in Rust from the base tables, not the summary table.
fn recount(client: &mut Client) -> Statistics {
    let mut executions = KindAggregate::default();
    let mut variations = KindAggregate::default();
    let rows = client
        .query(
            "SELECT 'execution' AS kind, status, count(*), count(*) FILTER (WHERE success),
                    count(*) FILTER (WHERE NOT success), COALESCE(sum(duration_seconds), 0),
                    count(duration_seconds)
             FROM jobtrack.executions GROUP BY status
             UNION ALL
             SELECT 'variation', status, count(*), count(*) FILTER (WHERE success),
                    count(*) FILTER (WHERE NOT success), COALESCE(sum(duration_seconds), 0),
                    count(duration_seconds)
             FROM jobtrack.variations GROUP BY status",
            &[],
        )
        .unwrap();
    for row in rows {
        let kind = match row.get::<_, &str>(0).parse::<JobType>().unwrap() {
            JobType::Execution => &mut executions,
            JobType::Variation => &mut variations,
        };
        kind.by_status
            .insert(row.get::<_, &str>(1).parse::<Status>().unwrap(), row.get(2));
        kind.successful += row.get::<_, i64>(3);
        kind.failed += row.get::<_, i64>(4);
        kind.duration_sum += row.get::<_, f64>(5);
        kind.duration_count += row.get::<_, i64>(6);
    }
    Statistics::from_parts(executions, variations)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
        _ => false,
    }
}

#[test]
fn pg_concurrent_sessions_do_not_deadlock_and_keep_the_summary_exact() {
    let db_url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&db_url);
    let execs: Vec<Value> = (0..POOL)
        .map(|i| execution(&format!("e{i:04}"), "pending"))
        .collect();
    let vars: Vec<Value> = (0..POOL)
        .map(|i| variation(&format!("v{i:04}"), "pending"))
        .collect();
    // Half the pool is old enough for cleanup_old_jobs(1) once terminal.
    jobtrack_tests::seed_pool(&mut setup, execs, vars, "0200");

    const SESSIONS: usize = 5;
    let start = Arc::new(Barrier::new(SESSIONS));
    let handles: Vec<_> = (0..SESSIONS)
        .map(|role| {
            let url = db_url.clone();
            let start = Arc::clone(&start);
            thread::spawn(move || session(&url, role, &start))
        })
        .collect();
    let outcomes: Vec<Result<u64, String>> = handles
        .into_iter()
        .map(|h| h.join().expect("a session panicked"))
        .collect();
    let errors: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(errors.is_empty(), "sessions failed: {errors:#?}");
    let calls: Vec<u64> = outcomes.into_iter().map(Result::unwrap).collect();
    eprintln!("pg_concurrency: calls per session {calls:?}");
    assert!(
        calls.iter().all(|&n| n >= 10),
        "a session made almost no progress: {calls:?}"
    );

    // The summary table equals a full recount from the base tables.
    let mismatches = jobtrack_tests::summary_mismatches(&mut setup);
    assert!(
        mismatches.is_empty(),
        "the summary table differs from a recount: {mismatches:#?}"
    );

    // get_statistics_optimized() equals a recount (sums of durations may
    // differ in the last bits: they are added in another order).
    let text: String = setup
        .query_one("SELECT jobtrack.get_statistics_optimized()::text", &[])
        .unwrap()
        .get(0);
    let got: Statistics = serde_json::from_str(&text).unwrap();
    let want = recount(&mut setup);
    assert!(
        want.total_jobs > 2 * POOL as i64 / 2,
        "too few jobs left: {want:?}"
    );
    assert_eq!(
        (
            got.total_executions,
            got.total_variations,
            got.total_jobs,
            &got.executions_by_status,
            &got.variations_by_status,
            got.total_successful,
            got.total_failed
        ),
        (
            want.total_executions,
            want.total_variations,
            want.total_jobs,
            &want.executions_by_status,
            &want.variations_by_status,
            want.total_successful,
            want.total_failed
        )
    );
    assert!(close(Some(got.success_rate), Some(want.success_rate)));
    assert!(close(
        got.avg_execution_duration,
        want.avg_execution_duration
    ));
    assert!(close(
        got.avg_variation_duration,
        want.avg_variation_duration
    ));

    drop(setup);
    jobtrack_tests::drop_database(DATABASE);
}
