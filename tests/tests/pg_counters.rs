//! The statistics counters under concurrency, against a real PostgreSQL
//! server (`JOBTRACK_PG_URL`, set by `make test`): six sessions, each its own
//! connection, write at random for several seconds — batch creates, batch
//! status updates, plain-SQL updates (statuses, durations with sub-microsecond
//! digits, dataset moves, renamed job_ids) and deletes, cleanup_old_jobs,
//! TRUNCATE, rolled-back transactions and savepoints, refresh_job_cache() —
//! most of it on one hot dataset. No call may fail (a deadlock would surface
//! as 40P01).
//!
//! While they write, a session checks now and then, in one REPEATABLE READ
//! snapshot, that get_statistics_optimized() equals a plain-SQL recount of
//! the base tables and that verify_statistics() is empty; at the end the
//! same holds, and get_dataset_stats_optimized() of the hot dataset equals
//! its recount too.

use fastrand::Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use jobtrack_core::{Counts, JobType, Statistics, Status};
use postgres::{Client, NoTls, Transaction};
use serde_json::{json, Value};

const DATABASE: &str = "jobtrack_counters";
const RUN_FOR: Duration = Duration::from_secs(6);
const SESSIONS: usize = 6;
/// Jobs of each kind present from the start, shared by every session.
const POOL: usize = 300;
/// Most writes go to this dataset, so that sessions update the same
/// counter keys at once.
const HOT: &str = "hot";
const DATASETS: &[&str] = &[HOT, HOT, HOT, "cold-a", "cold-b"];
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
/// The statuses as stored (no `completed`).
const STORED: &[&str] = &[
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
];

/// A duration with digits below the microsecond, so that the rounding to
/// whole microseconds is exercised.
fn duration(rng: &mut Rng) -> f64 {
    rng.u32(..1_000_000_000) as f64 / 1e7
}

fn pool_id(rng: &mut Rng, prefix: &str) -> String {
    format!("{prefix}{:04}", rng.usize(..POOL))
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).expect("connect to the test database")
}

fn execution(id: &str, dataset: &str, status: &str) -> Value {
    json!({"job_id": id, "pipeline_mode": "batch", "dataset_name": dataset, "preset": "p",
           "total_steps": 10, "status": status})
}

fn variation(id: &str, dataset: &str, status: &str) -> Value {
    json!({"job_id": id, "variation_id": id, "experiment_name": "sweep", "dataset_name": dataset,
           "preset": "p", "total_combinations": 4, "status": status})
}

fn status_batch(rng: &mut Rng, ids: Vec<String>) -> String {
    let items: Vec<Value> = ids
        .into_iter()
        .map(|id| json!({"job_id": id, "status": *rng.choice(STATUSES).unwrap(), "error_message": "x"}))
        .collect();
    Value::Array(items).to_string()
}

/// A session's own jobs: only it writes them in explicit transactions, so
/// that those transactions (whose statements lock rows in no particular
/// order, as a user's would) cannot deadlock with another session. Its jobs
/// are recent, so cleanup_old_jobs(1) never takes them.
struct Own {
    role: usize,
    next: u64,
    executions: Vec<String>,
    variations: Vec<String>,
}

impl Own {
    fn fresh(&mut self, kind: &str) -> String {
        self.next += 1;
        format!("{kind}{}-{}", self.role, self.next)
    }

    fn some(rng: &mut Rng, ids: &[String]) -> Option<String> {
        (!ids.is_empty()).then(|| ids[rng.usize(..ids.len())].clone())
    }
}

type Db = Result<(), postgres::Error>;

/// Creates `n` own jobs of each kind in `tx`; returns their ids.
fn create_own(
    tx: &mut Transaction<'_>,
    rng: &mut Rng,
    own: &mut Own,
    n: usize,
) -> Result<(Vec<String>, Vec<String>), postgres::Error> {
    let execs: Vec<String> = (0..n).map(|_| own.fresh("x")).collect();
    let vars: Vec<String> = (0..n).map(|_| own.fresh("y")).collect();
    let status = *rng.choice(STATUSES).unwrap();
    let dataset = *rng.choice(DATASETS).unwrap();
    let e: Vec<Value> = execs
        .iter()
        .map(|id| execution(id, dataset, status))
        .collect();
    let v: Vec<Value> = vars
        .iter()
        .map(|id| variation(id, dataset, status))
        .collect();
    tx.query_one(
        "SELECT jobtrack.batch_create_executions($1::text::jsonb), \
                jobtrack.batch_create_variations($2::text::jsonb)",
        &[&Value::Array(e).to_string(), &Value::Array(v).to_string()],
    )?;
    Ok((execs, vars))
}

/// Plain-SQL writes to own jobs inside a transaction.
fn plain_own_writes(tx: &mut Transaction<'_>, rng: &mut Rng, own: &Own) -> Db {
    if let Some(id) = Own::some(rng, &own.executions) {
        let status = *rng.choice(STORED).unwrap();
        tx.execute(
            "UPDATE jobtrack.executions SET status = $2, success = CASE $2 WHEN 'done' THEN true \
             WHEN 'failed' THEN false END, duration_seconds = $3, updated_at = now() \
             WHERE job_id = $1",
            &[&id, &status, &duration(rng)],
        )?;
    }
    if let Some(id) = Own::some(rng, &own.variations) {
        tx.execute(
            "UPDATE jobtrack.variations SET dataset_name = $2 WHERE job_id = $1",
            &[&id, rng.choice(DATASETS).unwrap()],
        )?;
    }
    if let Some(id) = Own::some(rng, &own.variations) {
        tx.execute("DELETE FROM jobtrack.variations WHERE job_id = $1", &[&id])?;
    }
    Ok(())
}

/// One consistency check in one snapshot: statistics equal a recount,
/// verify_statistics() is empty.
fn check_snapshot(client: &mut Client) -> Result<(), String> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .start()
        .map_err(|e| e.to_string())?;
    // TRUNCATE is not MVCC-safe: a snapshot taken before a concurrent
    // TRUNCATE commits sees the truncated table empty (while the counters it
    // deleted, with an ordinary DELETE, stay visible). Locking both tables
    // before the snapshot is taken (LOCK takes none) keeps TRUNCATE out of
    // the check, as PostgreSQL's documentation advises.
    tx.batch_execute("LOCK TABLE jobtrack.executions, jobtrack.variations IN ACCESS SHARE MODE")
        .map_err(|e| e.to_string())?;
    let got = statistics(&mut tx);
    let want = as_from_json(recount(&mut tx));
    let differences: i64 = tx
        .query_one("SELECT count(*) FROM jobtrack.verify_statistics()", &[])
        .map_err(|e| e.to_string())?
        .get(0);
    tx.commit().map_err(|e| e.to_string())?;
    if got != want || differences != 0 {
        return Err(format!(
            "in one snapshot: statistics {got:?}\nrecount {want:?}\n{differences} differences"
        ));
    }
    Ok(())
}

/// One session's work for `RUN_FOR`; returns the calls made, or the first
/// error.
fn session(url: &str, role: usize, start: &Barrier, checks: &AtomicU64) -> Result<u64, String> {
    let mut client = connect(url);
    let mut rng = Rng::with_seed(role as u64);
    let mut own = Own {
        role,
        next: 0,
        executions: Vec::new(),
        variations: Vec::new(),
    };
    let mut calls = 0u64;
    let mut truncations = 0u32;
    start.wait();
    let started = Instant::now();
    while started.elapsed() < RUN_FOR {
        // Session 0 empties a table twice, and fills it again in the same
        // transaction.
        let due = (started.elapsed().as_secs_f64() / RUN_FOR.as_secs_f64() * 3.0) as u32;
        if role == 0 && truncations < due.min(2) {
            truncations += 1;
            let (table, create, prefix) = if truncations == 1 {
                ("variations", "batch_create_variations", "v")
            } else {
                ("executions", "batch_create_executions", "e")
            };
            let pool: Vec<Value> = (0..POOL)
                .map(|i| {
                    let id = format!("{prefix}{i:04}");
                    if prefix == "v" {
                        variation(&id, rng.choice(DATASETS).unwrap(), "pending")
                    } else {
                        execution(&id, rng.choice(DATASETS).unwrap(), "pending")
                    }
                })
                .collect();
            let result = client.transaction().and_then(|mut tx| {
                tx.batch_execute(&format!("TRUNCATE jobtrack.{table}"))?;
                tx.query_one(
                    &format!("SELECT jobtrack.{create}($1::text::jsonb)"),
                    &[&Value::Array(pool).to_string()],
                )?;
                tx.commit()
            });
            result.map_err(|e| describe(role, &e))?;
            calls += 1;
            continue;
        }
        let result: Db = match rng.usize(..12) {
            // Batch status updates on the shared pool, random order, repeats.
            0 => {
                let ids = (0..40).map(|_| pool_id(&mut rng, "e")).collect();
                client
                    .query_one(
                        "SELECT jobtrack.batch_update_execution_status($1::text::jsonb)",
                        &[&status_batch(&mut rng, ids)],
                    )
                    .map(drop)
            }
            1 => {
                let ids = (0..40).map(|_| pool_id(&mut rng, "v")).collect();
                client
                    .query_one(
                        "SELECT jobtrack.batch_update_variation_status($1::text::jsonb)",
                        &[&status_batch(&mut rng, ids)],
                    )
                    .map(drop)
            }
            // Own jobs, created in batches.
            2 => client.transaction().and_then(|mut tx| {
                let (e, v) = create_own(&mut tx, &mut rng, &mut own, 10)?;
                tx.commit()?;
                own.executions.extend(e);
                own.variations.extend(v);
                Ok(())
            }),
            // Plain SQL on the shared pool, one statement each.
            3 => {
                let id = pool_id(&mut rng, "e");
                let status = *rng.choice(STORED).unwrap();
                client
                    .execute(
                        "UPDATE jobtrack.executions SET status = $2, success = ($2 = 'done'), \
                         duration_seconds = $3, updated_at = now() WHERE job_id = $1",
                        &[&id, &status, &duration(&mut rng)],
                    )
                    .map(drop)
            }
            4 => {
                let id = pool_id(&mut rng, "v");
                client
                    .execute(
                        "UPDATE jobtrack.variations SET dataset_name = $2, duration_seconds = $3, \
                         success = NOT coalesce(success, false) WHERE job_id = $1",
                        &[&id, rng.choice(DATASETS).unwrap(), &duration(&mut rng)],
                    )
                    .map(drop)
            }
            5 => {
                let prefix = if rng.bool() { "e" } else { "v" };
                let id = pool_id(&mut rng, prefix);
                client
                    .execute("DELETE FROM jobtrack.executions WHERE job_id = $1", &[&id])
                    .and_then(|_| {
                        client.execute("DELETE FROM jobtrack.variations WHERE job_id = $1", &[&id])
                    })
                    .map(drop)
            }
            // A renamed own job (its counts move with it: nothing changes).
            6 => match Own::some(&mut rng, &own.executions) {
                Some(id) => {
                    let new = own.fresh("x");
                    let n = client.execute(
                        "UPDATE jobtrack.executions SET job_id = $2 WHERE job_id = $1",
                        &[&id, &new],
                    );
                    if let Ok(1) = n {
                        own.executions.retain(|x| *x != id);
                        own.executions.push(new);
                    }
                    n.map(drop)
                }
                None => Ok(()),
            },
            // A transaction rolled back after jobtrack and plain-SQL writes.
            7 => client.transaction().and_then(|mut tx| {
                create_own(&mut tx, &mut rng, &mut own, 5)?;
                plain_own_writes(&mut tx, &mut rng, &own)?;
                tx.execute(
                    "DELETE FROM jobtrack.executions WHERE job_id LIKE $1",
                    &[&format!("x{role}-%")],
                )?;
                tx.rollback()
            }),
            // Savepoints: a part rolled back, the rest committed.
            8 => client.transaction().and_then(|mut tx| {
                let (e, v) = create_own(&mut tx, &mut rng, &mut own, 5)?;
                tx.batch_execute("SAVEPOINT s")?;
                plain_own_writes(&mut tx, &mut rng, &own)?;
                create_own(&mut tx, &mut rng, &mut own, 5)?;
                tx.batch_execute("ROLLBACK TO SAVEPOINT s")?;
                if let Some(id) = e.first() {
                    tx.query_one(
                        "SELECT jobtrack.update_execution_status($1, 'training')",
                        &[id],
                    )?;
                }
                plain_own_writes(&mut tx, &mut rng, &own)?;
                tx.commit()?;
                own.executions.extend(e);
                own.variations.extend(v);
                Ok(())
            }),
            // Cleanup of the old half of the pool.
            9 => {
                let keep_failed = rng.bool();
                client
                    .query_one("SELECT jobtrack.cleanup_old_jobs(1, $1)", &[&keep_failed])
                    .map(drop)
            }
            // Now and then a rebuild; otherwise a consistency check.
            10 if rng.usize(..8) == 0 => client
                .query_one("SELECT jobtrack.refresh_job_cache()", &[])
                .map(drop),
            _ => {
                check_snapshot(&mut client).map_err(|e| format!("session {role}: {e}"))?;
                checks.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        };
        result.map_err(|e| describe(role, &e))?;
        calls += 1;
    }
    Ok(calls)
}

fn describe(role: usize, e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!(
            "session {role}: {} {}; {}",
            db.code().code(),
            db.message(),
            db.detail().unwrap_or_default()
        ),
        None => format!("session {role}: {e}"),
    }
}

/// get_statistics_optimized(), parsed.
fn statistics(client: &mut impl postgres::GenericClient) -> Statistics {
    let text: String = client
        .query_one("SELECT jobtrack.get_statistics_optimized()::text", &[])
        .unwrap()
        .get(0);
    serde_json::from_str(&text).unwrap()
}

/// `s` as it reads after a trip through JSON text, as the function's result
/// does: serde_json's default float parser may land one ulp off the value
/// the text was printed from, the same way for both sides, so comparing
/// after the trip compares the exact values PostgreSQL printed.
fn as_from_json(s: Statistics) -> Statistics {
    serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap()
}

/// The counts per kind and status recounted with plain SQL from the base
/// tables (durations in whole microseconds, as the counters keep them), so
/// the statistics must equal it exactly.
fn recount(client: &mut impl postgres::GenericClient) -> Statistics {
    let rows = client
        .query(
            "SELECT 'execution' AS kind, status, count(*), count(*) FILTER (WHERE success),
                    count(*) FILTER (WHERE NOT success), count(duration_seconds),
                    COALESCE(sum(round(duration_seconds * 1e6::float8)::bigint), 0)::bigint
             FROM jobtrack.executions GROUP BY status
             UNION ALL
             SELECT 'variation', status, count(*), count(*) FILTER (WHERE success),
                    count(*) FILTER (WHERE NOT success), count(duration_seconds),
                    COALESCE(sum(round(duration_seconds * 1e6::float8)::bigint), 0)::bigint
             FROM jobtrack.variations GROUP BY status",
            &[],
        )
        .unwrap();
    Statistics::from_counters(rows.iter().map(|row| {
        (
            row.get::<_, &str>(0).parse::<JobType>().unwrap(),
            row.get::<_, &str>(1).parse::<Status>().unwrap(),
            Counts {
                jobs: row.get(2),
                successful: row.get(3),
                failed: row.get(4),
                duration_count: row.get(5),
                duration_micros_sum: row.get(6),
            },
        )
    }))
}

#[test]
fn pg_counters_stay_exact_under_concurrent_writes() {
    let db_url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&db_url);
    let mut rng = Rng::with_seed(42);
    let execs: Vec<Value> = (0..POOL)
        .map(|i| {
            execution(
                &format!("e{i:04}"),
                rng.choice(DATASETS).unwrap(),
                "pending",
            )
        })
        .collect();
    let vars: Vec<Value> = (0..POOL)
        .map(|i| {
            variation(
                &format!("v{i:04}"),
                rng.choice(DATASETS).unwrap(),
                "pending",
            )
        })
        .collect();
    // Half the pool is old enough for cleanup_old_jobs(1) once terminal.
    jobtrack_tests::seed_pool(&mut setup, execs, vars, "0150");

    let start = Arc::new(Barrier::new(SESSIONS));
    let checks = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..SESSIONS)
        .map(|role| {
            let url = db_url.clone();
            let start = Arc::clone(&start);
            let checks = Arc::clone(&checks);
            thread::spawn(move || session(&url, role, &start, &checks))
        })
        .collect();
    let outcomes: Vec<Result<u64, String>> = handles
        .into_iter()
        .map(|h| h.join().expect("a session panicked"))
        .collect();
    let errors: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(errors.is_empty(), "sessions failed: {errors:#?}");
    let calls: Vec<u64> = outcomes.into_iter().map(Result::unwrap).collect();
    let checks = checks.load(Ordering::Relaxed);
    eprintln!("pg_counters: calls per session {calls:?}, {checks} snapshot checks passed");
    assert!(
        calls.iter().all(|&n| n >= 10),
        "a session made almost no progress: {calls:?}"
    );
    assert!(checks >= 5, "only {checks} snapshot checks ran");

    // The writers fold as they go: however many statements wrote the hot
    // dataset, each of its keys has a handful of delta rows (a fold starts
    // at 9; writers that could not take a key's lock, and those in
    // REPEATABLE READ, add rows meanwhile — without folding there would be
    // one per statement, thousands).
    let most_rows: i64 = setup
        .query_one(
            "SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM jobtrack.job_counters
             WHERE dataset_name = $1 GROUP BY job_type, status) AS k",
            &[&HOT],
        )
        .unwrap()
        .get(0);
    eprintln!("pg_counters: at most {most_rows} delta rows per key of the hot dataset");
    assert!(
        most_rows <= 8 + 3 * SESSIONS as i64,
        "{most_rows} delta rows for one key: the writers did not fold"
    );

    let differences: Vec<String> = setup
        .query(
            "SELECT to_jsonb(d)::text FROM jobtrack.verify_statistics() AS d",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        differences.is_empty(),
        "verify_statistics() after the run: {differences:#?}"
    );
    let got = statistics(&mut setup);
    let want = as_from_json(recount(&mut setup));
    assert_eq!(got, want, "statistics differ from a plain-SQL recount");
    assert!(want.total_jobs > 0, "no jobs left: {want:?}");

    // The hot dataset's stats equal a plain-SQL recount as well.
    let text: String = setup
        .query_one(
            "SELECT jobtrack.get_dataset_stats_optimized($1)::text",
            &[&HOT],
        )
        .unwrap()
        .get(0);
    let stats: Value = serde_json::from_str(&text).unwrap();
    let want: String = setup
        .query_one(
            "SELECT jsonb_build_object(
                 'total_jobs', count(*),
                 'successful_jobs', count(*) FILTER (WHERE success),
                 'failed_jobs', count(*) FILTER (WHERE NOT success),
                 'min_duration', min(duration_seconds),
                 'max_duration', max(duration_seconds))::text
             FROM (SELECT success, duration_seconds FROM jobtrack.executions WHERE dataset_name = $1
                   UNION ALL
                   SELECT success, duration_seconds FROM jobtrack.variations WHERE dataset_name = $1) AS j",
            &[&HOT],
        )
        .unwrap()
        .get(0);
    let want: Value = serde_json::from_str(&want).unwrap();
    for key in [
        "total_jobs",
        "successful_jobs",
        "failed_jobs",
        "min_duration",
        "max_duration",
    ] {
        assert_eq!(
            stats[key], want[key],
            "dataset stats {key}: {stats} vs {want}"
        );
    }

    drop(setup);
    jobtrack_tests::drop_database(DATABASE);
}
