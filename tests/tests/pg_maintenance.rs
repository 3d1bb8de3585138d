//! The maintenance worker (pg_ext/src/maintenance.rs) on servers of its own:
//! off unless a database is named; with one, it waits for the extension,
//! then prunes on its schedule exactly what `prune_jobs` would, follows a
//! configuration reload; a hot standby of that server has no worker while
//! the primary's prunes replay, and one once promoted.
//!
//! Every wait polls for the outcome with a generous limit: the schedule is
//! one second, and no assertion depends on how long a round takes.

use std::time::{Duration, Instant};

use jobtrack_tests::cluster::Cluster;
use postgres::Client;

const PRELOAD: &str = "shared_preload_libraries = 'jobtrack'";

/// The worker's settings: every second, jobs older than 30 days, small
/// batches so that a prune takes several.
const WORKER: &[&str] = &[
    PRELOAD,
    "jobtrack.maintenance_database = 'postgres'",
    "jobtrack.maintenance_interval = 1",
    "jobtrack.prune_days = 30",
    "jobtrack.prune_batch_size = 400",
];

/// Polls `done` every 100 ms until it holds; panics with `what` and the
/// server log after `limit`.
fn wait_until(cluster: &Cluster, limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "{what}: not after {limit:?}; server log:\n{}",
            cluster.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn workers(client: &mut Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE backend_type = 'jobtrack maintenance' AND datname = 'postgres'",
            &[],
        )
        .unwrap()
        .get(0)
}

fn count(client: &mut Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
}

/// Old jobs of every kind of fate, and new finished ones: `n` of each old
/// terminal status (executions and variations), some old active ones.
fn load(client: &mut Client, prefix: &str, n: i32) {
    client
        .execute(
            "SELECT jobtrack.batch_create_executions(jsonb_agg(jsonb_build_object(
                 'job_id', $1 || 'e' || i, 'pipeline_mode', 'single', 'dataset_name', 'd',
                 'preset', 'p',
                 'status', (ARRAY['done', 'failed', 'cancelled', 'training'])[1 + i % 4])))
             FROM generate_series(1, 4 * $2) AS i",
            &[&prefix, &n],
        )
        .unwrap();
    client
        .execute(
            "SELECT jobtrack.batch_create_variations(jsonb_agg(jsonb_build_object(
                 'job_id', $1 || 'v' || i, 'variation_id', 'x', 'experiment_name', 's',
                 'dataset_name', 'd', 'preset', 'p', 'total_combinations', 2,
                 'status', (ARRAY['done', 'failed', 'cancelled', 'pending'])[1 + i % 4])))
             FROM generate_series(1, 4 * $2) AS i",
            &[&prefix, &n],
        )
        .unwrap();
    // All but the last ten of each kind made 40 days old.
    for table in ["executions", "variations"] {
        client
            .execute(
                &format!(
                    "UPDATE jobtrack.{table} SET created_at = now() - interval '40 days' \
                     WHERE job_id LIKE $1 || '%' \
                       AND substr(job_id, length($1) + 2)::int <= 4 * $2 - 10"
                ),
                &[&prefix, &n],
            )
            .unwrap();
    }
}

/// Old terminal jobs the worker's prune (keep_failed as configured) has
/// yet to delete.
fn prunable(client: &mut Client, keep_failed: bool) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM jobtrack.jobs
             WHERE status IN ('done', 'failed', 'cancelled')
               AND (NOT $1 OR status <> 'failed')
               AND created_at < now() - interval '30 days'",
            &[&keep_failed],
        )
        .unwrap()
        .get(0)
}

fn assert_exact(client: &mut Client) {
    assert_eq!(
        count(client, "SELECT count(*) FROM jobtrack.verify_statistics()"),
        0,
        "the counters equal a recount"
    );
    assert_eq!(
        count(client, "SELECT count(*) FROM jobtrack.job_summary_cache"),
        count(client, "SELECT count(*) FROM jobtrack.jobs"),
        "one summary row per job"
    );
}

#[test]
fn pg_maintenance_is_off_unless_a_database_is_named() {
    let cluster = Cluster::start(&[PRELOAD]);
    let mut client = cluster.connect("postgres");
    // Settings known (the library defines them), worker absent.
    let days: String = client
        .query_one("SHOW jobtrack.prune_days", &[])
        .unwrap()
        .get(0);
    assert_eq!(days, "-1");
    // Other background workers are up by the time a client gets in; give a
    // worker that would exist every chance to appear.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'jobtrack%'"
        ),
        0
    );
}

#[test]
fn pg_maintenance_prunes_on_schedule_and_leaves_a_standby_alone() {
    let primary = Cluster::start(WORKER);
    let mut client = primary.connect("postgres");
    wait_until(&primary, Duration::from_secs(30), "the worker runs", || {
        workers(&mut client) == 1
    });
    // Before the extension exists the worker waits, saying so once.
    wait_until(
        &primary,
        Duration::from_secs(30),
        "the worker reports the missing extension",
        || primary.log_tail(200).contains("has no jobtrack extension"),
    );

    client.batch_execute("CREATE EXTENSION jobtrack").unwrap();
    load(&mut client, "a", 500);
    let total = count(&mut client, "SELECT count(*) FROM jobtrack.jobs");
    assert_eq!(total, 4_000);
    wait_until(
        &primary,
        Duration::from_secs(60),
        "the old finished jobs are pruned",
        || prunable(&mut client, true) == 0,
    );
    // Failed ones kept (prune_keep_failed defaults to on), active and new
    // ones never touched: per kind 498 old failed, 500 active, and the 10
    // new ones of which 7 are finished.
    let left = count(&mut client, "SELECT count(*) FROM jobtrack.jobs");
    let failed_old = count(
        &mut client,
        "SELECT count(*) FROM jobtrack.jobs WHERE status = 'failed' \
         AND created_at < now() - interval '30 days'",
    );
    let active = count(
        &mut client,
        "SELECT count(*) FROM jobtrack.jobs WHERE status IN ('training', 'pending')",
    );
    assert_eq!((failed_old, active), (2 * 498, 2 * 500), "left: {left}");
    assert_eq!(left, failed_old + active + 2 * 7);
    assert_exact(&mut client);
    // Its batches are counted as prune_jobs calls, as the procedure's are.
    assert!(
        count(
            &mut client,
            "SELECT (jobtrack.get_transaction_metrics()->'prune_jobs'->>'count')::bigint"
        ) >= 5,
        "1,990 jobs in batches of 400 take 5 batches"
    );

    // A reload reaches the worker: failed jobs go too.
    // Two statements: ALTER SYSTEM may not run in a transaction block.
    client
        .batch_execute("ALTER SYSTEM SET jobtrack.prune_keep_failed = off")
        .unwrap();
    client.batch_execute("SELECT pg_reload_conf()").unwrap();
    wait_until(
        &primary,
        Duration::from_secs(60),
        "the failed jobs are pruned after a reload",
        || prunable(&mut client, false) == 0,
    );
    assert_exact(&mut client);

    // A hot standby with the same settings (they come with the base
    // backup): no worker while it replays — the postmaster starts it only
    // once recovery is over — and the primary's prunes replay.
    let standby = Cluster::standby_of(&primary, &[PRELOAD, "hot_standby = on"]);
    let mut replica = standby.connect("postgres");
    load(&mut client, "b", 100);
    wait_until(
        &primary,
        Duration::from_secs(60),
        "the primary prunes the new old jobs",
        || prunable(&mut client, false) == 0,
    );
    let on_primary = count(&mut client, "SELECT count(*) FROM jobtrack.jobs");
    wait_until(
        &standby,
        Duration::from_secs(60),
        "the standby replays the prune",
        || count(&mut replica, "SELECT count(*) FROM jobtrack.jobs") == on_primary,
    );
    assert_exact(&mut replica);
    assert_eq!(workers(&mut replica), 0, "no worker on a standby");

    // Promoted, it prunes on its own.
    let promoted: bool = replica
        .query_one("SELECT pg_promote()", &[])
        .unwrap()
        .get(0);
    assert!(promoted);
    wait_until(
        &standby,
        Duration::from_secs(30),
        "the promoted server's worker runs",
        || workers(&mut replica) == 1,
    );
    load(&mut replica, "c", 100);
    wait_until(
        &standby,
        Duration::from_secs(60),
        "the promoted server prunes",
        || prunable(&mut replica, false) == 0,
    );
    assert_exact(&mut replica);
    let log = standby.log_tail(400);
    assert!(
        // The promotion ends the WAL receiver with a FATAL; nothing else.
        !log.lines().any(|l| l.contains("ERROR")
            || (l.contains("FATAL") && !l.contains("terminating walreceiver"))),
        "the standby's log has errors:\n{log}"
    );
}

/// With `jobtrack.fail_stale_after` set, each round fails the jobs silent
/// for longer, exactly as `fail_stale_jobs` would: the silent ones fail with
/// the default message, a job that heartbeats stays, and pending ones are
/// never touched. Off (-1) by default: before the setting, nothing fails.
#[test]
fn pg_maintenance_fails_stale_jobs_when_asked() {
    let cluster = Cluster::start(WORKER);
    let mut client = cluster.connect("postgres");
    client.batch_execute("CREATE EXTENSION jobtrack").unwrap();
    client
        .batch_execute(
            "SELECT jobtrack.batch_create_executions(
                 (SELECT jsonb_agg(jsonb_build_object(
                             'job_id', 'm' || g, 'pipeline_mode', 'single', 'dataset_name', 'd',
                             'preset', 'p', 'status', CASE WHEN g <= 20 THEN 'training' ELSE 'pending' END))
                  FROM generate_series(1, 30) AS g));
             UPDATE jobtrack.executions SET updated_at = now() - interval '1 hour';",
        )
        .unwrap();
    let failed = |client: &mut Client| {
        count(
            client,
            "SELECT count(*) FROM jobtrack.executions WHERE status = 'failed'",
        )
    };
    // Several rounds (one a second) go by without the setting.
    wait_until(&cluster, Duration::from_secs(30), "a few rounds", || {
        count(
            &mut client,
            "SELECT coalesce((jobtrack.get_transaction_metrics()->'prune_jobs'->>'count')::bigint, 0)",
        ) >= 3
    });
    assert_eq!(failed(&mut client), 0, "fail_stale_after is off by default");
    // m1 shows a sign of life; then the rescue is switched on.
    assert!(count(&mut client, "SELECT jobtrack.heartbeat('m1')::int::bigint") == 1);
    client
        .batch_execute("ALTER SYSTEM SET jobtrack.fail_stale_after = 600")
        .unwrap();
    client.batch_execute("SELECT pg_reload_conf()").unwrap();
    wait_until(
        &cluster,
        Duration::from_secs(60),
        "the stale jobs fail",
        || failed(&mut client) == 19,
    );
    let messages = count(
        &mut client,
        "SELECT count(*) FROM jobtrack.executions
         WHERE status = 'failed' AND error_message LIKE 'jobtrack: failed as stale: %'",
    );
    assert_eq!(messages, 19);
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM jobtrack.executions WHERE job_id = 'm1' AND status = 'training'"
        ),
        1,
        "the job that heartbeats stays"
    );
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM jobtrack.executions WHERE status = 'pending'"
        ),
        10
    );
    assert_exact(&mut client);
    assert!(cluster.log_tail(200).contains("failed 19 stale jobs"));
}
