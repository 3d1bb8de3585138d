//! Logical replication and `session_replication_role = replica`, against
//! real servers.
//!
//! A publisher and a subscriber, two throw-away clusters of their own
//! (`jobtrack_tests::cluster`), both with jobtrack preloaded so that the
//! subscriber's shared result cache is live. The publisher publishes the
//! base tables only (`jobtrack.executions`, `jobtrack.variations`); the
//! subscriber has the extension and subscribes. Whatever reaches the
//! subscriber — the initial sync (COPY), then jobtrack's functions, plain
//! SQL, a rolled-back savepoint, TRUNCATE — its summary table, counters,
//! statistics, cross-kind job_id uniqueness and cache must be exact, and
//! equal the publisher's. Replication apply runs with
//! `session_replication_role = replica`, where ordinary triggers do not
//! fire.
//!
//! The second test writes with plain SQL under `session_replication_role =
//! replica` on the server of `make test` (`JOBTRACK_PG_URL`).

use std::thread;
use std::time::{Duration, Instant};

use jobtrack_tests::cluster::Cluster;
use jobtrack_tests::SUMMARY_MISMATCHES;
use postgres::{Client, NoTls};
use serde_json::{json, Value};

const DATABASE: &str = "jobtrack_replication";
/// How long the subscriber may take to catch up with the publisher.
const CATCH_UP: Duration = Duration::from_secs(30);
/// Every dataset the publisher ever writes, "gone" emptied on the way.
const DATASETS: &[&str] = &["d1", "d2", "d3", "moved", "gone"];
const STATUSES: &[&str] = &[
    "pending",
    "training",
    "done",
    "failed",
    "cancelled",
    "in_queue",
];

fn execution(id: &str, dataset: &str, status: &str) -> Value {
    json!({"job_id": id, "pipeline_mode": "batch", "dataset_name": dataset, "preset": "p",
           "total_steps": 10, "status": status})
}

fn variation(id: &str, dataset: &str, status: &str) -> Value {
    json!({"job_id": id, "variation_id": id, "experiment_name": "sweep", "dataset_name": dataset,
           "preset": "p", "total_combinations": 4, "status": status,
           "parameter_values": {"lr": 0.001}})
}

fn jobs(make: fn(&str, &str, &str) -> Value, ids: &[String], datasets: &[&str]) -> String {
    let items: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            make(
                id,
                datasets[i % datasets.len()],
                STATUSES[i % STATUSES.len()],
            )
        })
        .collect();
    Value::Array(items).to_string()
}

fn ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i:03}")).collect()
}

fn exec(client: &mut Client, sql: &str) {
    client
        .batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn json_of(
    client: &mut Client,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Value {
    let text: String = client
        .query_one(sql, params)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0);
    serde_json::from_str(&text).expect("a JSON result")
}

fn lines(client: &mut Client, sql: &str) -> Vec<String> {
    client
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The rows of `verify_statistics()`: empty when the counters are exact.
const DIFFERENCES: &str = "SELECT v::text FROM jobtrack.verify_statistics() AS v";

/// Every row of both base tables, as one text per table: equal on both
/// sides once the subscriber has applied everything (every write sets
/// updated_at, so an intermediate state does not look like the last one).
const CONTENT: &str = "
    SELECT (SELECT COALESCE(string_agg(x::text, E'\\n' ORDER BY x.job_id), '')
            FROM jobtrack.executions AS x)
           || E'\\n--\\n' ||
           (SELECT COALESCE(string_agg(x::text, E'\\n' ORDER BY x.job_id), '')
            FROM jobtrack.variations AS x)";

/// Polls until the subscriber's base tables hold what the publisher's do.
fn wait_for_subscriber(publisher: &mut Client, subscriber: &mut Client, sub: &Cluster) {
    let want: String = publisher.query_one(CONTENT, &[]).unwrap().get(0);
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let got: String = subscriber.query_one(CONTENT, &[]).unwrap().get(0);
        if got == want {
            return;
        }
        if Instant::now() > deadline {
            let state = lines(
                subscriber,
                "SELECT s::text FROM pg_stat_subscription AS s \
                 UNION ALL SELECT r::text FROM pg_subscription_rel AS r",
            );
            panic!(
                "the subscriber did not catch up within {CATCH_UP:?}\n\
                 subscription: {state:?}\nits server log:\n{}",
                sub.log_tail(40)
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The subscriber's derived state against its own base tables and against
/// the publisher; one line per problem.
fn check_subscriber(stage: &str, publisher: &mut Client, subscriber: &mut Client) -> Vec<String> {
    let mut problems = Vec::new();
    let mismatches = lines(subscriber, SUMMARY_MISMATCHES);
    if !mismatches.is_empty() {
        problems.push(format!(
            "{stage}: the subscriber's summary disagrees with its base tables on {} rows, e.g. {:?}",
            mismatches.len(),
            &mismatches[..mismatches.len().min(3)]
        ));
    }
    let diffs = lines(subscriber, DIFFERENCES);
    if !diffs.is_empty() {
        problems.push(format!(
            "{stage}: the subscriber's verify_statistics() has {} rows, e.g. {:?}",
            diffs.len(),
            &diffs[..diffs.len().min(3)]
        ));
    }
    let statistics = "SELECT jobtrack.get_statistics_optimized()::text";
    let (want, got) = (
        json_of(publisher, statistics, &[]),
        json_of(subscriber, statistics, &[]),
    );
    if want != got {
        problems.push(format!(
            "{stage}: get_statistics_optimized() on the subscriber {got}\n  on the publisher {want}"
        ));
    }
    let cached = json_of(
        subscriber,
        "SELECT jobtrack.get_statistics_cached()::text",
        &[],
    );
    if cached != got {
        problems.push(format!(
            "{stage}: get_statistics_cached() on the subscriber {cached}\n  uncached {got}"
        ));
    }
    for &dataset in DATASETS {
        let stats = "SELECT jobtrack.get_dataset_stats_optimized($1)::text";
        let (want, got) = (
            json_of(publisher, stats, &[&dataset]),
            json_of(subscriber, stats, &[&dataset]),
        );
        if want != got {
            problems.push(format!(
                "{stage}: get_dataset_stats_optimized('{dataset}') on the subscriber {got}\n  \
                 on the publisher {want}"
            ));
        }
        let cached = json_of(
            subscriber,
            "SELECT jobtrack.get_dataset_stats_cached($1)::text",
            &[&dataset],
        );
        if cached != got {
            problems.push(format!(
                "{stage}: get_dataset_stats_cached('{dataset}') on the subscriber {cached}\n  \
                 uncached {got}"
            ));
        }
    }
    problems
}

/// The SQLSTATE `sql` fails with, in a transaction that is rolled back
/// either way; `None` when it succeeds.
fn failure_of(client: &mut Client, sql: &str) -> Option<String> {
    let mut tx = client.transaction().expect("begin");
    let result = tx.batch_execute(sql);
    drop(tx);
    result.err().map(|e| {
        e.code()
            .map_or_else(|| e.to_string(), |c| c.code().to_owned())
    })
}

#[test]
fn subscriber_of_the_base_tables_stays_exact() {
    let publisher_cluster = Cluster::start(&[
        "wal_level = logical",
        "shared_preload_libraries = 'jobtrack'",
    ]);
    // Declared second, so dropped first: the subscriber lets go of the
    // publisher before the publisher stops.
    let subscriber_cluster = Cluster::start(&["shared_preload_libraries = 'jobtrack'"]);
    for cluster in [&publisher_cluster, &subscriber_cluster] {
        exec(
            &mut cluster.connect("postgres"),
            &format!("CREATE DATABASE {DATABASE}"),
        );
        exec(
            &mut cluster.connect(DATABASE),
            "SET client_min_messages = warning; CREATE EXTENSION jobtrack",
        );
    }
    let mut publisher = publisher_cluster.connect(DATABASE);
    let mut subscriber = subscriber_cluster.connect(DATABASE);

    // Initial data, before the subscription: it reaches the subscriber
    // through the initial sync.
    publisher
        .query_one(
            "SELECT jobtrack.batch_create_executions($1::text::jsonb), \
                    jobtrack.batch_create_variations($2::text::jsonb)",
            &[
                &jobs(execution, &ids("e", 0..30), &["d1", "d2", "d3"]),
                &jobs(variation, &ids("v", 0..30), &["d1", "d2", "d3"]),
            ],
        )
        .expect("create the initial jobs");
    exec(
        &mut publisher,
        "SELECT jobtrack.create_execution('{\"job_id\": \"g1\", \"pipeline_mode\": \"single\", \
                 \"dataset_name\": \"gone\", \"preset\": \"p\", \"status\": \"done\"}');
         UPDATE jobtrack.executions SET duration_seconds = 1.25 * length(job_id) + 0.000001
             WHERE job_id < 'e015';
         UPDATE jobtrack.variations SET duration_seconds = 7.5 WHERE job_id < 'v010';
         -- Old and finished, for cleanup_old_jobs(1) later.
         UPDATE jobtrack.executions SET status = 'done', success = true,
                created_at = now() - interval '3 days'
             WHERE job_id IN ('e000', 'e001', 'e002');
         UPDATE jobtrack.variations SET status = 'cancelled',
                created_at = now() - interval '3 days'
             WHERE job_id IN ('v000', 'v001');",
    );
    exec(
        &mut publisher,
        "CREATE PUBLICATION jt FOR TABLE jobtrack.executions, jobtrack.variations",
    );
    exec(
        &mut subscriber,
        &format!(
            "CREATE SUBSCRIPTION jt CONNECTION '{}' PUBLICATION jt",
            publisher_cluster.url(DATABASE)
        ),
    );
    wait_for_subscriber(&mut publisher, &mut subscriber, &subscriber_cluster);
    let mut problems = check_subscriber("after the initial sync", &mut publisher, &mut subscriber);

    // Every kind of write, each its own transaction unless said otherwise.
    publisher
        .query_one(
            "SELECT jobtrack.batch_create_executions($1::text::jsonb), \
                    jobtrack.batch_create_variations($2::text::jsonb)",
            &[
                &jobs(execution, &ids("e", 100..110), &["d1", "d2"]),
                &jobs(variation, &ids("v", 100..110), &["d2", "d3"]),
            ],
        )
        .expect("batch creates");
    exec(
        &mut publisher,
        "SELECT jobtrack.create_execution('{\"job_id\": \"s1\", \"pipeline_mode\": \"single\", \
                 \"dataset_name\": \"d3\", \"preset\": \"p\", \"status\": \"training\"}');
         SELECT jobtrack.create_variation('{\"job_id\": \"s2\", \"variation_id\": \"s2\", \
                 \"experiment_name\": \"x\", \"dataset_name\": \"d1\", \"preset\": \"p\", \
                 \"total_combinations\": 2}');
         SELECT jobtrack.batch_update_execution_status(
             '[{\"job_id\": \"e100\", \"status\": \"done\"}, {\"job_id\": \"e101\", \"status\": \"done\"},
               {\"job_id\": \"e102\", \"status\": \"failed\", \"error_message\": \"oom\"},
               {\"job_id\": \"e103\", \"status\": \"training\"}, {\"job_id\": \"e020\", \"status\": \"cancelled\"}]');
         SELECT jobtrack.batch_update_variation_status(
             '[{\"job_id\": \"v100\", \"status\": \"cancelled\"}, {\"job_id\": \"v101\", \"status\": \"done\"},
               {\"job_id\": \"v021\", \"status\": \"failed\"}]');
         SELECT jobtrack.update_execution_status('s1', 'done');
         SELECT jobtrack.update_progress('e104', 3);
         SELECT jobtrack.update_progress('v102', 7);",
    );
    let deleted = json_of(
        &mut publisher,
        "SELECT jobtrack.cleanup_old_jobs(1)::text",
        &[],
    );
    assert_eq!(
        (
            deleted["executions_deleted"].as_i64(),
            deleted["variations_deleted"].as_i64()
        ),
        (Some(3), Some(2)),
        "cleanup_old_jobs(1) on the publisher: {deleted}"
    );
    exec(
        &mut publisher,
        "INSERT INTO jobtrack.executions
             (job_id, pipeline_mode, dataset_name, preset, status, success, duration_seconds)
         VALUES ('p1', 'single', 'd2', 'p', 'done', true, 12.25),
                ('p2', 'batch', 'd1', 'p', 'failed', false, 0.5),
                ('p3', 'variations', 'd3', 'p', 'pending', NULL, NULL);
         INSERT INTO jobtrack.variations
             (job_id, variation_id, experiment_name, dataset_name, preset, total_combinations, status)
         VALUES ('pv1', 'pv1', 'x', 'd1', 'p', 3, 'training');
         UPDATE jobtrack.executions SET dataset_name = 'moved' WHERE job_id IN ('e010', 'e011');
         UPDATE jobtrack.executions SET status = 'failed', success = false, duration_seconds = 3.0,
                updated_at = now()
             WHERE job_id = 'e012';
         UPDATE jobtrack.executions SET job_id = 'e013r' WHERE job_id = 'e013';
         DELETE FROM jobtrack.executions WHERE dataset_name = 'gone';
         DELETE FROM jobtrack.variations WHERE job_id IN ('v020', 'v022');
         -- One transaction, part of it rolled back.
         BEGIN;
         SELECT jobtrack.create_execution('{\"job_id\": \"t1\", \"pipeline_mode\": \"single\", \
                 \"dataset_name\": \"d1\", \"preset\": \"p\"}');
         SAVEPOINT s;
         SELECT jobtrack.update_execution_status('t1', 'done');
         DELETE FROM jobtrack.executions WHERE job_id = 'e014';
         ROLLBACK TO SAVEPOINT s;
         SELECT jobtrack.update_progress('t1', 2);
         UPDATE jobtrack.variations SET dataset_name = 'd3', duration_seconds = 2.5 WHERE job_id = 'v023';
         COMMIT;",
    );
    // TRUNCATE, then new variations.
    exec(&mut publisher, "TRUNCATE jobtrack.variations");
    publisher
        .query_one(
            "SELECT jobtrack.batch_create_variations($1::text::jsonb)",
            &[&jobs(variation, &ids("w", 0..8), &["d1", "d3"])],
        )
        .expect("variations after TRUNCATE");
    wait_for_subscriber(&mut publisher, &mut subscriber, &subscriber_cluster);
    problems.extend(check_subscriber(
        "after the changes",
        &mut publisher,
        &mut subscriber,
    ));

    // The cache entries check_subscriber just filled must go with the next
    // replicated change.
    exec(
        &mut publisher,
        "SELECT jobtrack.batch_update_execution_status(
             '[{\"job_id\": \"e105\", \"status\": \"done\"}, {\"job_id\": \"e106\", \"status\": \"failed\"}]');
         SELECT jobtrack.create_execution('{\"job_id\": \"f1\", \"pipeline_mode\": \"single\", \
                 \"dataset_name\": \"d1\", \"preset\": \"p\", \"status\": \"done\"}');",
    );
    wait_for_subscriber(&mut publisher, &mut subscriber, &subscriber_cluster);
    let want = json_of(
        &mut publisher,
        "SELECT jobtrack.get_statistics_optimized()::text",
        &[],
    );
    let cached = json_of(
        &mut subscriber,
        "SELECT jobtrack.get_statistics_cached()::text",
        &[],
    );
    if cached != want {
        problems.push(format!(
            "after a further change: get_statistics_cached() on the subscriber {cached}\n  \
             get_statistics_optimized() on the publisher {want}"
        ));
    }
    let want = json_of(
        &mut publisher,
        "SELECT jobtrack.get_dataset_stats_optimized('d1')::text",
        &[],
    );
    let cached = json_of(
        &mut subscriber,
        "SELECT jobtrack.get_dataset_stats_cached('d1')::text",
        &[],
    );
    if cached != want {
        problems.push(format!(
            "after a further change: get_dataset_stats_cached('d1') on the subscriber {cached}\n  \
             get_dataset_stats_optimized('d1') on the publisher {want}"
        ));
    }
    problems.extend(check_subscriber(
        "after a further change",
        &mut publisher,
        &mut subscriber,
    ));

    // Cross-kind uniqueness on the subscriber: e100 is a replicated
    // execution, w000 a replicated variation.
    let attempts = [
        (
            "create_variation with a replicated execution's id",
            "SELECT jobtrack.create_variation('{\"job_id\": \"e100\", \"variation_id\": \"x\", \
             \"experiment_name\": \"x\", \"dataset_name\": \"d1\", \"preset\": \"p\", \
             \"total_combinations\": 1}')",
        ),
        (
            "plain-SQL INSERT of a variation with a replicated execution's id",
            "INSERT INTO jobtrack.variations
                 (job_id, variation_id, experiment_name, dataset_name, preset, total_combinations)
             VALUES ('e100', 'x', 'x', 'd1', 'p', 1)",
        ),
        (
            "create_execution with a replicated variation's id",
            "SELECT jobtrack.create_execution('{\"job_id\": \"w000\", \"pipeline_mode\": \"single\", \
             \"dataset_name\": \"d1\", \"preset\": \"p\"}')",
        ),
    ];
    for (what, sql) in attempts {
        let got = failure_of(&mut subscriber, sql);
        if got.as_deref() != Some("23505") {
            problems.push(format!(
                "on the subscriber, {what}: {} (want 23505)",
                got.as_deref().unwrap_or("succeeded")
            ));
        }
    }

    // The publisher itself, for comparison: exact.
    let publisher_state = (
        lines(&mut publisher, SUMMARY_MISMATCHES),
        lines(&mut publisher, DIFFERENCES),
    );
    assert_eq!(
        publisher_state,
        (vec![], vec![]),
        "the publisher's own summary and counters"
    );
    assert!(
        problems.is_empty(),
        "{} problems on the subscriber:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn replica_role_writes_keep_summary_counters_uniqueness_and_cache_exact() {
    let name = "jobtrack_replica_role";
    let url = jobtrack_tests::fresh_database(name);
    let mut writer = Client::connect(&url, NoTls).expect("connect");
    let mut reader = Client::connect(&url, NoTls).expect("connect");
    writer
        .query_one(
            "SELECT jobtrack.batch_create_executions($1::text::jsonb), \
                    jobtrack.batch_create_variations($2::text::jsonb)",
            &[
                &jobs(execution, &ids("e", 0..12), &["d1", "d2"]),
                &jobs(variation, &ids("v", 0..8), &["d1", "d2"]),
            ],
        )
        .expect("create the jobs");
    // Cache entries that the writes below must invalidate.
    json_of(
        &mut reader,
        "SELECT jobtrack.get_statistics_cached()::text",
        &[],
    );
    json_of(
        &mut reader,
        "SELECT jobtrack.get_dataset_stats_cached('d1')::text",
        &[],
    );

    exec(
        &mut writer,
        "SET session_replication_role = replica;
         INSERT INTO jobtrack.executions
             (job_id, pipeline_mode, dataset_name, preset, status, success, duration_seconds)
         VALUES ('r1', 'single', 'd1', 'p', 'done', true, 2.5),
                ('r2', 'batch', 'd3', 'p', 'training', NULL, NULL);
         INSERT INTO jobtrack.variations
             (job_id, variation_id, experiment_name, dataset_name, preset, total_combinations, status)
         VALUES ('rv1', 'rv1', 'x', 'd1', 'p', 2, 'failed');
         UPDATE jobtrack.executions SET status = 'failed', success = false, duration_seconds = 4.0,
                updated_at = now()
             WHERE job_id = 'e000';
         UPDATE jobtrack.executions SET dataset_name = 'd3' WHERE job_id = 'e001';
         UPDATE jobtrack.variations SET job_id = 'v000r' WHERE job_id = 'v000';
         DELETE FROM jobtrack.executions WHERE job_id IN ('e002', 'e003');
         DELETE FROM jobtrack.variations WHERE job_id = 'v001';
         SELECT jobtrack.create_execution('{\"job_id\": \"r3\", \"pipeline_mode\": \"single\", \
                 \"dataset_name\": \"d1\", \"preset\": \"p\", \"status\": \"done\"}');
         SELECT jobtrack.update_execution_status('e004', 'done');
         BEGIN;
         TRUNCATE jobtrack.variations;
         INSERT INTO jobtrack.variations
             (job_id, variation_id, experiment_name, dataset_name, preset, total_combinations)
         VALUES ('t1', 't1', 'x', 'd2', 'p', 1), ('t2', 't2', 'x', 'd1', 'p', 1);
         COMMIT;",
    );
    let duplicate = failure_of(
        &mut writer,
        "INSERT INTO jobtrack.variations
             (job_id, variation_id, experiment_name, dataset_name, preset, total_combinations)
         VALUES ('e005', 'x', 'x', 'd1', 'p', 1)",
    );

    let mut problems = Vec::new();
    if duplicate.as_deref() != Some("23505") {
        problems.push(format!(
            "a plain-SQL INSERT of a variation with an execution's id: {} (want 23505)",
            duplicate.as_deref().unwrap_or("succeeded")
        ));
    }
    let mismatches = lines(&mut reader, SUMMARY_MISMATCHES);
    if !mismatches.is_empty() {
        problems.push(format!(
            "the summary disagrees with the base tables:\n  {}",
            mismatches.join("\n  ")
        ));
    }
    let diffs = lines(&mut reader, DIFFERENCES);
    if !diffs.is_empty() {
        problems.push(format!("verify_statistics():\n  {}", diffs.join("\n  ")));
    }
    let row = reader
        .query_one(
            "SELECT jobtrack.get_statistics_cached()::text, jobtrack.get_statistics_optimized()::text, \
                    jobtrack.get_dataset_stats_cached('d1')::text, \
                    jobtrack.get_dataset_stats_optimized('d1')::text",
            &[],
        )
        .expect("cached and uncached reads");
    let values: Vec<Value> = (0..4)
        .map(|i| serde_json::from_str(row.get(i)).expect("JSON"))
        .collect();
    if values[0] != values[1] {
        problems.push(format!(
            "get_statistics_cached() {}\n  uncached {}",
            values[0], values[1]
        ));
    }
    if values[2] != values[3] {
        problems.push(format!(
            "get_dataset_stats_cached('d1') {}\n  uncached {}",
            values[2], values[3]
        ));
    }
    assert!(
        problems.is_empty(),
        "after writes under session_replication_role = replica:\n{}",
        problems.join("\n")
    );
    drop((writer, reader));
    jobtrack_tests::drop_database(name);
}
