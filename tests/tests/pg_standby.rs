//! A hot standby (streaming replication from a `pg_basebackup -R`): after
//! replay, every read function answers on the standby exactly as on the
//! primary — the cached ones too, and the shared cache (bypassed during
//! recovery) never serves a stale answer there — and every write function
//! fails with 25006 (read-only SQL transaction) before doing anything,
//! with no Rust backtrace in the error. Two throw-away clusters of our own
//! (`jobtrack_tests::cluster`), both with the library preloaded.

use std::time::{Duration, Instant};

use jobtrack_tests::cluster::Cluster;
use postgres::Client;

const DATABASE: &str = "jobtrack_standby";
const PRELOAD: &str = "shared_preload_libraries = 'jobtrack'";

/// The read functions whose answers must match, as one text each.
const READS: &[(&str, &str)] = &[
    ("statistics", "SELECT jobtrack.get_statistics_optimized()::text"),
    ("statistics cached", "SELECT jobtrack.get_statistics_cached()::text"),
    (
        "dataset stats",
        "SELECT string_agg(jobtrack.get_dataset_stats_optimized(d)::text, ' ' ORDER BY d)
         FROM unnest(ARRAY['alpha', 'beta', 'gamma', 'none']) AS d",
    ),
    (
        "dataset stats cached",
        "SELECT string_agg(jobtrack.get_dataset_stats_cached(d)::text, ' ' ORDER BY d)
         FROM unnest(ARRAY['alpha', 'beta', 'gamma', 'none']) AS d",
    ),
    (
        "all jobs",
        "SELECT COALESCE(string_agg(j::text, E'\\n'), '') FROM jobtrack.get_all_jobs_optimized(1000) AS j",
    ),
    (
        "recent jobs",
        "SELECT COALESCE(string_agg(j::text, E'\\n'), '') FROM jobtrack.get_recent_jobs_optimized(50) AS j",
    ),
    (
        "recent jobs cached",
        "SELECT COALESCE(string_agg(j::text, E'\\n'), '') FROM jobtrack.get_recent_jobs_cached(50) AS j",
    ),
    (
        "running jobs",
        "SELECT COALESCE(string_agg(j::text, E'\\n'), '') FROM jobtrack.get_running_jobs() AS j",
    ),
    (
        "a page of running jobs after a cursor",
        "SELECT COALESCE(string_agg(j::text, E'\\n'), '') FROM jobtrack.get_running_jobs(3, \
         (SELECT r.job_id FROM jobtrack.get_running_jobs() AS r OFFSET 1 LIMIT 1)) AS j",
    ),
    (
        "verify",
        "SELECT count(*)::text FROM jobtrack.verify_statistics()",
    ),
];

/// Every write function, called with arguments that would succeed on the
/// primary.
const WRITES: &[&str] = &[
    r#"SELECT jobtrack.create_execution('{"job_id": "s-new", "pipeline_mode": "single", "dataset_name": "alpha", "preset": "p"}')"#,
    r#"SELECT jobtrack.create_variation('{"job_id": "s-newv", "variation_id": "a", "experiment_name": "x", "dataset_name": "alpha", "preset": "p", "total_combinations": 1}')"#,
    r#"SELECT jobtrack.batch_create_executions('[{"job_id": "s-b1", "pipeline_mode": "single", "dataset_name": "alpha", "preset": "p"}]')"#,
    r#"SELECT jobtrack.batch_create_variations('[{"job_id": "s-b2", "variation_id": "a", "experiment_name": "x", "dataset_name": "alpha", "preset": "p", "total_combinations": 1}]')"#,
    "SELECT jobtrack.update_execution_status('e1', 'training')",
    "SELECT jobtrack.update_variation_status('v1', 'training')",
    r#"SELECT jobtrack.batch_update_execution_status('[{"job_id": "e2", "status": "done"}]')"#,
    r#"SELECT jobtrack.batch_update_variation_status('[{"job_id": "v2", "status": "done"}]')"#,
    "SELECT jobtrack.update_progress('e1', 3)",
    "SELECT jobtrack.cleanup_old_jobs(0, false)",
    "SELECT jobtrack.refresh_job_cache()",
];

fn answers(client: &mut Client) -> Vec<(&'static str, String)> {
    READS
        .iter()
        .map(|(name, sql)| {
            let row = client
                .query_one(*sql, &[])
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (*name, row.get::<_, String>(0))
        })
        .collect()
}

fn write_jobs(client: &mut Client, round: u32) {
    let executions: Vec<String> = (0..30)
        .map(|i| {
            format!(
                r#"{{"job_id": "e{round}-{i}", "pipeline_mode": "batch", "dataset_name": "{}", "preset": "p", "total_steps": 10}}"#,
                ["alpha", "beta", "gamma"][i % 3]
            )
        })
        .collect();
    let variations: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"job_id": "v{round}-{i}", "variation_id": "c{i}", "experiment_name": "sweep", "dataset_name": "{}", "preset": "p", "total_combinations": 20, "parameter_values": {{"lr": 0.10, "seed": 123456789012345678901234567890}}}}"#,
                ["alpha", "beta"][i % 2]
            )
        })
        .collect();
    client
        .query_one(
            "SELECT jobtrack.batch_create_executions($1::text::jsonb),
                    jobtrack.batch_create_variations($2::text::jsonb)",
            &[
                &format!("[{}]", executions.join(",")),
                &format!("[{}]", variations.join(",")),
            ],
        )
        .expect("create jobs on the primary");
    let statuses = ["training", "done", "failed", "cancelled", "pending"];
    let updates: Vec<String> = (0..30)
        .map(|i| {
            format!(
                r#"{{"job_id": "e{round}-{i}", "status": "{}"}}"#,
                statuses[i % statuses.len()]
            )
        })
        .collect();
    client
        .query_one(
            "SELECT jobtrack.batch_update_execution_status($1::text::jsonb)",
            &[&format!("[{}]", updates.join(","))],
        )
        .expect("update jobs on the primary");
    client
        .batch_execute(&format!(
            "SELECT jobtrack.update_progress('e{round}-0', 7);
             SELECT jobtrack.update_variation_status('v{round}-1', 'done');
             UPDATE jobtrack.variations SET status = 'failed', success = false
             WHERE job_id = 'v{round}-2';"
        ))
        .expect("more writes on the primary");
}

/// Waits until the standby answers like the primary (replay is
/// asynchronous); panics with the differences after the deadline.
fn wait_for_replay(primary: &mut Client, standby: &mut Client) {
    let expected = answers(primary);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = answers(standby);
        if got == expected {
            return;
        }
        if Instant::now() > deadline {
            let differing: Vec<_> = expected
                .iter()
                .zip(&got)
                .filter(|(e, g)| e != g)
                .map(|((name, e), (_, g))| format!("{name}:\n  primary: {e}\n  standby: {g}"))
                .collect();
            panic!(
                "the standby did not answer like the primary within 60 s:\n{}",
                differing.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn standby_reads_answer_like_the_primary_and_writes_are_25006() {
    let primary_cluster = Cluster::start(&[PRELOAD]);
    primary_cluster
        .connect("postgres")
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .expect("create the database");
    let mut primary = primary_cluster.connect(DATABASE);
    primary
        .batch_execute("SET client_min_messages = warning; CREATE EXTENSION jobtrack")
        .expect("create the extension");
    primary
        .batch_execute(
            r#"SELECT jobtrack.create_execution('{"job_id": "e1", "pipeline_mode": "single", "dataset_name": "alpha", "preset": "p"}');
               SELECT jobtrack.create_execution('{"job_id": "e2", "pipeline_mode": "single", "dataset_name": "alpha", "preset": "p"}');
               SELECT jobtrack.create_variation('{"job_id": "v1", "variation_id": "a", "experiment_name": "x", "dataset_name": "beta", "preset": "p", "total_combinations": 2}');
               SELECT jobtrack.create_variation('{"job_id": "v2", "variation_id": "b", "experiment_name": "x", "dataset_name": "beta", "preset": "p", "total_combinations": 2}');"#,
        )
        .expect("first jobs");
    write_jobs(&mut primary, 0);

    let standby_cluster = Cluster::standby_of(&primary_cluster, &[PRELOAD, "hot_standby = on"]);
    let mut standby = standby_cluster.connect(DATABASE);
    let in_recovery: bool = standby
        .query_one("SELECT pg_is_in_recovery()", &[])
        .unwrap()
        .get(0);
    assert!(in_recovery, "the standby is not in recovery");

    // What the base backup holds, then what streams after it: each time
    // every read function must come to answer like the primary. The cached
    // reads are warmed on the standby before the second round, so a stale
    // entry would show there.
    wait_for_replay(&mut primary, &mut standby);
    write_jobs(&mut primary, 1);
    wait_for_replay(&mut primary, &mut standby);
    let _ = answers(&mut standby);
    write_jobs(&mut primary, 2);
    primary
        .batch_execute("DELETE FROM jobtrack.executions WHERE job_id = 'e2-3'")
        .expect("a plain delete on the primary");
    wait_for_replay(&mut primary, &mut standby);
    let verify = answers(&mut standby)
        .into_iter()
        .find(|(name, _)| *name == "verify")
        .map(|(_, v)| v);
    assert_eq!(
        verify.as_deref(),
        Some("0"),
        "verify_statistics() on the standby"
    );

    // Writes: 25006 each, before anything else, with no Rust internals.
    let mut failures = Vec::new();
    for sql in WRITES {
        match standby.batch_execute(sql) {
            Ok(()) => failures.push(format!("{sql}: succeeded on the standby")),
            Err(e) => {
                let Some(db) = e.as_db_error() else {
                    failures.push(format!("{sql}: not a server error: {e}"));
                    continue;
                };
                if db.code().code() != "25006" {
                    failures.push(format!(
                        "{sql}: SQLSTATE {} ({}), expected 25006",
                        db.code().code(),
                        db.message()
                    ));
                }
                let detail = db.detail().unwrap_or_default();
                if detail.contains(".rs:") || detail.to_lowercase().contains("backtrace") {
                    failures.push(format!("{sql}: Rust internals in DETAIL: {detail}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "writes on the standby:\n{}",
        failures.join("\n")
    );

    // The standby is still serving, and still answers like the primary.
    wait_for_replay(&mut primary, &mut standby);
}
