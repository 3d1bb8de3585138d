//! jobtrack through PgBouncer in transaction pooling mode (the Debian
//! package `pgbouncer`, which `make pg-deps` installs; a private instance per
//! test, `jobtrack_tests::bouncer`), with fewer server connections than
//! clients: every SQL function of the extension (the conformance scenarios,
//! which must give the same JSON as on a direct connection), the cache's
//! exactness with concurrent writers and readers, and what the per-session
//! parts of the extension mean behind a pooler — with the library preloaded
//! the metrics and the cache counters are server-wide and the cache is
//! shared by every server session; without it they and the NOTICE belong to
//! the *server* session, which the pooler hands to any client; and
//! `get_pool_status()` counts the pooler's server connections, not its
//! clients.
//!
//! A transaction-mode pooler may run each transaction of a client on another
//! server session, so these clients keep no session state: every call is one
//! round trip (the unnamed statement of `query_typed`, or the simple
//! protocol). The `postgres` crate's `query` prepares a named statement in
//! one round trip and executes it in the next, which PgBouncer 1.18 may send
//! to another server session: `prepared statement "s0" does not exist`
//! (26000).
//!
//! The tests on the server of `make test` use its server-wide counters and
//! database `jobtrack_bouncer`, so they run one at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use fastrand::Rng;
use jobtrack_tests::bouncer::Bouncer;
use jobtrack_tests::cluster::Cluster;
use jobtrack_tests::conformance::{
    operations_called, report, reset_database, run_all, Postgres, Statements,
};
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, SimpleQueryMessage};
use serde_json::{json, Value};

/// Server connections per pooler: fewer than the clients of every test.
const POOL_SIZE: u32 = 2;
const DATABASE: &str = "jobtrack_bouncer";

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `sql` with text parameters, one round trip; the single row it returns.
fn row(client: &mut Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> postgres::Row {
    let typed: Vec<(&(dyn ToSql + Sync), Type)> = params.iter().map(|p| (*p, Type::TEXT)).collect();
    client
        .query_typed_one(sql, &typed)
        .unwrap_or_else(|e| panic!("{sql}: {}", jobtrack_tests::dump::describe(&e)))
}

/// The JSON of `sql`, a query returning one text column.
fn json_of(client: &mut Client, sql: &str) -> Value {
    serde_json::from_str(row(client, sql, &[]).get(0)).unwrap()
}

fn backend_pid(client: &mut Client) -> i32 {
    row(client, "SELECT pg_backend_pid()", &[]).get(0)
}

fn cache_stats(client: &mut Client) -> Value {
    json_of(client, "SELECT jobtrack.get_cache_stats()::text")
}

fn metrics(client: &mut Client) -> Value {
    json_of(client, "SELECT jobtrack.get_transaction_metrics()::text")
}

fn create(client: &mut Client, id: &str, dataset: &str) {
    row(
        client,
        "SELECT jobtrack.create_execution(jsonb_build_object('job_id', $1::text, \
         'pipeline_mode', 'single', 'dataset_name', $2::text, 'preset', 'p'))::text",
        &[&id, &dataset],
    );
}

/// The rows of a simple-protocol query string (text values).
fn simple_rows(client: &mut Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", jobtrack_tests::dump::describe(&e)))
        .iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

/// Fails unless the server preloads the library: these tests check the
/// server-wide state that only shared memory gives.
fn require_preload(client: &mut Client) {
    assert_eq!(
        cache_stats(client)["shared"],
        true,
        "this test needs a server with shared_preload_libraries = 'jobtrack' (the first \
         cluster of `make pg-test`, or with-cluster.sh --preload): without it the metrics \
         are per server session, and a pooler hands server sessions to any client"
    );
}

/// `n` clients (at most the pool's size: one more would wait for a server
/// connection), each in a transaction and so holding a server connection
/// of its own, with that server backend's pid.
fn pinned(bouncer: &Bouncer, n: u32) -> Vec<(Client, i32)> {
    (0..n)
        .map(|_| {
            let mut client = bouncer.connect();
            client.batch_execute("BEGIN").unwrap();
            let pid = backend_pid(&mut client);
            (client, pid)
        })
        .collect()
}

fn distinct_pids(clients: &[(Client, i32)]) -> BTreeSet<i32> {
    clients.iter().map(|(_, pid)| *pid).collect()
}

// ------------------------------------------------- every function

#[test]
fn pg_bouncer_every_function_answers_as_on_a_direct_connection() {
    let _serial = serial();
    let db_url = jobtrack_tests::fresh_database(DATABASE);
    // The scenarios' plain SQL names tables without their schema. A SET
    // would stay with one server session; a database default reaches every
    // session the pooler opens afterwards.
    jobtrack_tests::dump::connect(&db_url)
        .batch_execute(&format!(
            "ALTER DATABASE {DATABASE} SET search_path = jobtrack, public"
        ))
        .unwrap();
    let bouncer = Bouncer::start(&db_url, POOL_SIZE);
    let mut probe = bouncer.connect();
    // Each scenario resets the metrics and then reads them, on whichever
    // server sessions its statements land: server-wide metrics are needed.
    require_preload(&mut probe);
    // One client's consecutive statements move between server sessions, so
    // a scenario step that relied on its predecessor's session would fail.
    let pids: BTreeSet<i32> = (0..2 * POOL_SIZE)
        .map(|_| backend_pid(&mut probe))
        .collect();
    assert_eq!(
        pids.len(),
        POOL_SIZE as usize,
        "consecutive statements of one client ran on server backends {pids:?}"
    );

    let started = Instant::now();
    let failures = run_all("postgresql-pgbouncer", &mut |_| {
        let mut client = bouncer.connect();
        reset_database(&mut client);
        Box::new(Postgres::new(client, Statements::Unnamed))
    });
    eprintln!(
        "pg_bouncer conformance: {} operations in the scenarios, {:.1}s",
        operations_called().len(),
        started.elapsed().as_secs_f64()
    );
    report(failures);

    // The functions outside the scenarios, through the pooler too (the
    // others of reset_database ran before every scenario).
    require_preload(&mut probe);
    let status = json_of(&mut probe, "SELECT jobtrack.get_pool_status()::text");
    assert_eq!(status["backend"], "postgresql");
    let mut called = operations_called();
    for name in [
        "get_cache_stats",
        "get_pool_status",
        "refresh_job_cache",
        "invalidate_cache",
        "reset_transaction_metrics",
    ] {
        called.insert(name.to_owned());
    }
    let functions: BTreeSet<String> = probe
        .query_typed(
            "SELECT DISTINCT p.proname::text FROM pg_catalog.pg_proc AS p \
             WHERE p.pronamespace = 'jobtrack'::regnamespace \
               AND p.prorettype <> 'pg_catalog.trigger'::regtype \
               AND p.proname NOT LIKE '\\_%'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(functions.len() > 20, "the catalog lists {functions:?}");
    let never: Vec<&String> = functions.difference(&called).collect();
    assert!(
        never.is_empty(),
        "functions of the extension that no call through the pooler reached: {never:?} \
         (add a scenario to tests/conformance/scenarios.json)"
    );
    drop(probe);
    drop(bouncer);
    jobtrack_tests::drop_database(DATABASE);
}

// ------------------------------------------------- cache exactness

const STRESS_FOR: Duration = Duration::from_secs(5);
/// Client connections, three per server connection.
const CLIENTS: u64 = 6;
const DATASETS: [&str; 3] = ["ds0", "ds1", "ds2"];
const POOL_JOBS: usize = 60;
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

#[derive(Default)]
struct Tally {
    reads: u64,
    mismatches: u64,
    writes: u64,
    pids: BTreeSet<i32>,
}

impl Tally {
    /// Counts the (cached, uncached) pairs in `values`, one per `what`, and
    /// the pairs that differ.
    fn check(&mut self, n: u64, values: &[Option<String>], what: &[&str]) {
        for (i, what) in what.iter().enumerate() {
            let (cached, fresh) = (&values[2 * i], &values[2 * i + 1]);
            self.reads += 1;
            if cached != fresh || cached.is_none() {
                self.mismatches += 1;
                if self.mismatches <= 3 {
                    eprintln!(
                        "client {n}: {what} mismatch\n  cached: {cached:?}\n  fresh:  {fresh:?}"
                    );
                }
            }
        }
    }
}

fn pool_job(rng: &mut Rng) -> String {
    format!("pool{}", rng.usize(..POOL_JOBS))
}

fn status(rng: &mut Rng) -> &'static str {
    STATUSES[rng.usize(..STATUSES.len())]
}

/// One client through the pooler: random writes (function calls and plain
/// SQL) and checked reads, each cached read against an uncached one in the
/// same statement.
fn stress_client(url: &str, n: u64, start: &Barrier) -> Tally {
    let mut c = Client::connect(url, NoTls).expect("connect through pgbouncer");
    let mut rng = Rng::with_seed(n);
    let mut tally = Tally::default();
    let mut created = 0u64;
    start.wait();
    let started = Instant::now();
    while started.elapsed() < STRESS_FOR {
        let ds = DATASETS[rng.usize(..DATASETS.len())];
        match rng.usize(..12) {
            0 => {
                let mut jobs = Vec::new();
                for _ in 0..rng.usize(1..5) {
                    created += 1;
                    jobs.push(json!({"job_id": format!("b{n}-{created}"), "pipeline_mode": "single",
                                     "dataset_name": ds, "preset": "p", "status": status(&mut rng)}));
                }
                row(
                    &mut c,
                    "SELECT jobtrack.batch_create_executions($1::text::jsonb)::text",
                    &[&Value::Array(jobs).to_string()],
                );
            }
            1 => {
                let updates: Vec<Value> = (0..rng.usize(1..5))
                    .map(|_| json!({"job_id": pool_job(&mut rng), "status": status(&mut rng)}))
                    .collect();
                row(
                    &mut c,
                    "SELECT jobtrack.batch_update_execution_status($1::text::jsonb)",
                    &[&Value::Array(updates).to_string()],
                );
            }
            2 => {
                row(
                    &mut c,
                    "SELECT jobtrack.update_execution_status($1, $2)",
                    &[&pool_job(&mut rng), &status(&mut rng)],
                );
            }
            3 => {
                let half = f64::from(rng.u32(..20)) / 2.0;
                c.query_typed(
                    "UPDATE jobtrack.executions SET dataset_name = $2, duration_seconds = $3, \
                     updated_at = now() WHERE job_id = $1",
                    &[
                        (&pool_job(&mut rng), Type::TEXT),
                        (&ds, Type::TEXT),
                        (&half, Type::FLOAT8),
                    ],
                )
                .unwrap();
            }
            4 => {
                // Rolled back: must leave the cache's entries in place.
                c.batch_execute(&format!(
                    "BEGIN; UPDATE jobtrack.executions SET status = 'failed', success = FALSE \
                     WHERE job_id = '{}'; ROLLBACK",
                    pool_job(&mut rng)
                ))
                .unwrap();
            }
            5 => {
                // A writing transaction reads its own change (the cache
                // bypassed), then rolls back.
                let rows = simple_rows(
                    &mut c,
                    "BEGIN; DELETE FROM jobtrack.executions WHERE job_id = 'pool0';
                     SELECT jobtrack.get_statistics_cached()::text,
                            jobtrack.get_statistics_optimized()::text;
                     ROLLBACK",
                );
                tally.check(n, &rows[0], &["own-change statistics"]);
                tally.writes += 1;
                continue;
            }
            6 if rng.usize(..8) == 0 => {
                row(
                    &mut c,
                    "SELECT jobtrack.cleanup_old_jobs(0, FALSE)::text",
                    &[],
                );
            }
            _ => {
                // One statement, so one snapshot, in a transaction of its
                // own: the pooler keeps it on one server session.
                let rows = simple_rows(
                    &mut c,
                    &format!(
                        "BEGIN;
                         SELECT pg_backend_pid()::text,
                                jobtrack.get_statistics_cached()::text,
                                jobtrack.get_statistics_optimized()::text,
                                jobtrack.get_dataset_stats_cached('{ds}')::text,
                                jobtrack.get_dataset_stats_optimized('{ds}')::text,
                                ARRAY(SELECT t::text FROM jobtrack.get_recent_jobs_cached(5) AS t)::text,
                                ARRAY(SELECT t::text FROM jobtrack.get_recent_jobs_optimized(5) AS t)::text;
                         COMMIT"
                    ),
                );
                let values = &rows[0];
                tally
                    .pids
                    .insert(values[0].as_deref().unwrap().parse().unwrap());
                tally.check(
                    n,
                    &values[1..],
                    &["statistics", "dataset stats", "recent jobs"],
                );
                continue;
            }
        }
        tally.writes += 1;
    }
    tally
}

#[test]
fn pg_bouncer_cache_stays_exact_with_more_clients_than_server_connections() {
    let _serial = serial();
    let db_url = jobtrack_tests::fresh_database(DATABASE);
    let bouncer = Bouncer::start(&db_url, POOL_SIZE);
    let mut setup = bouncer.connect();
    require_preload(&mut setup);
    let pool: Vec<Value> = (0..POOL_JOBS)
        .map(|i| {
            json!({"job_id": format!("pool{i}"), "pipeline_mode": "single",
                   "dataset_name": DATASETS[i % DATASETS.len()], "preset": "p"})
        })
        .collect();
    row(
        &mut setup,
        "SELECT jobtrack.batch_create_executions($1::text::jsonb)::text",
        &[&Value::Array(pool).to_string()],
    );
    let before = cache_stats(&mut setup);

    let start = Arc::new(Barrier::new(CLIENTS as usize));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let url = bouncer.url();
            let start = Arc::clone(&start);
            thread::spawn(move || stress_client(&url, n, &start))
        })
        .collect();
    let mut total = Tally::default();
    for handle in handles {
        let tally = handle.join().unwrap();
        total.reads += tally.reads;
        total.mismatches += tally.mismatches;
        total.writes += tally.writes;
        total.pids.extend(tally.pids);
    }
    let after = cache_stats(&mut setup);
    let hits = after["hits"].as_u64().unwrap() - before["hits"].as_u64().unwrap();
    let misses = after["misses"].as_u64().unwrap() - before["misses"].as_u64().unwrap();
    eprintln!(
        "pg_bouncer stress: {CLIENTS} clients on {POOL_SIZE} server connections (backends {:?}), \
         {}s, {} writes, {} checked cached reads, {hits} hits, {misses} misses, mismatches: {}",
        total.pids,
        STRESS_FOR.as_secs(),
        total.writes,
        total.reads,
        total.mismatches
    );
    assert!(total.reads > 100, "too few reads: {}", total.reads);
    assert!(total.writes > 20, "too few writes: {}", total.writes);
    assert_eq!(
        total.mismatches, 0,
        "cached reads through the pooler differing from uncached ones"
    );
    assert!(hits > 0, "the shared cache never hit through the pooler");
    // The readers of all clients shared the pool's server sessions, and
    // the pool never grew beyond them.
    assert_eq!(
        total.pids.len(),
        POOL_SIZE as usize,
        "the reads ran on server backends {:?}",
        total.pids
    );
    assert_eq!(bouncer.server_connections(), POOL_SIZE);

    // Counters and summary exact after the writes of every client, written
    // by whichever server session each statement landed on.
    drop(setup);
    let mut direct = jobtrack_tests::dump::connect(&db_url);
    let differences = simple_rows(
        &mut direct,
        "SELECT v::text FROM jobtrack.verify_statistics() AS v",
    );
    assert!(
        differences.is_empty(),
        "counters differ from a recount: {differences:?}"
    );
    let summary = jobtrack_tests::summary_mismatches(&mut direct);
    assert!(summary.is_empty(), "summary differs: {summary:?}");
    drop(direct);
    drop(bouncer);
    jobtrack_tests::drop_database(DATABASE);
}

// ------------------------------------------------- session state

/// With the library preloaded: what one server session records, every
/// other reports; the cache serves across server sessions; a setting for
/// one transaction is `SET LOCAL`; `get_pool_status()` counts server
/// connections.
#[test]
fn pg_bouncer_preloaded_state_is_the_same_in_every_server_session() {
    let _serial = serial();
    let db_url = jobtrack_tests::fresh_database(DATABASE);
    let bouncer = Bouncer::start(&db_url, POOL_SIZE);
    let mut a = bouncer.connect();
    require_preload(&mut a);
    row(
        &mut a,
        "SELECT jobtrack.reset_transaction_metrics()::text",
        &[],
    );
    row(&mut a, "SELECT jobtrack.invalidate_cache()", &[]);
    for i in 0..3 {
        create(&mut a, &format!("e{i}"), "alpha");
    }

    // A result stored by one server session is a hit in another.
    let before = cache_stats(&mut a);
    let cached = |client: &mut Client| -> (i32, String) {
        let r = row(
            client,
            "SELECT pg_backend_pid(), jobtrack.get_statistics_cached()::text",
            &[],
        );
        (r.get(0), r.get(1))
    };
    let (first_pid, first) = cached(&mut a);
    let (second_pid, second) = cached(&mut a);
    assert_ne!(first_pid, second_pid, "the pooler kept one server session");
    assert_eq!(first, second);
    let after = cache_stats(&mut a);
    assert_eq!(
        (
            after["hits"].as_u64().unwrap() - before["hits"].as_u64().unwrap(),
            after["misses"].as_u64().unwrap() - before["misses"].as_u64().unwrap()
        ),
        (1, 1),
        "one miss in the first server session, then a hit in the second"
    );

    // Metrics and cache counters read in each server session at once.
    let mut sessions = pinned(&bouncer, POOL_SIZE);
    assert_eq!(distinct_pids(&sessions).len(), POOL_SIZE as usize);
    let seen: Vec<(Value, Value)> = sessions
        .iter_mut()
        .map(|(client, _)| (metrics(client), cache_stats(client)))
        .collect();
    for (client, _) in &mut sessions {
        client.batch_execute("COMMIT").unwrap();
    }
    assert_eq!(seen[0].0["create_execution"]["count"], 3);
    assert_eq!(seen[0].0["create_execution"]["success_count"], 3);
    for other in &seen[1..] {
        assert_eq!(other, &seen[0], "server sessions disagree");
    }

    // SET LOCAL ends with the transaction. (A plain SET would stay with
    // the server session, for whichever client the pooler gives it next.)
    let before = cache_stats(&mut a);
    simple_rows(
        &mut a,
        "BEGIN; SET LOCAL jobtrack.cache_enabled = off;
         SELECT jobtrack.get_statistics_cached()::text; COMMIT",
    );
    let after = cache_stats(&mut a);
    assert_eq!(after["hits"], before["hits"], "cache_enabled = off hit");
    assert_eq!(
        after["misses"].as_u64().unwrap(),
        before["misses"].as_u64().unwrap() + 1
    );
    let mut sessions = pinned(&bouncer, POOL_SIZE);
    for (client, pid) in &mut sessions {
        let setting: String = row(
            client,
            "SELECT current_setting('jobtrack.cache_enabled')",
            &[],
        )
        .get(0);
        assert_eq!(setting, "on", "server backend {pid} kept SET LOCAL");
        client.batch_execute("COMMIT").unwrap();
    }

    // Many more clients than server sessions: get_pool_status() reports
    // the server's side.
    let mut clients: Vec<Client> = (0..6).map(|_| bouncer.connect()).collect();
    for client in &mut clients {
        backend_pid(client);
    }
    let status = json_of(&mut a, "SELECT jobtrack.get_pool_status()::text");
    assert_eq!(
        status["total"], POOL_SIZE,
        "get_pool_status() through the pooler: {status}"
    );
    drop(clients);
    drop(sessions);
    drop(a);
    drop(bouncer);
    jobtrack_tests::drop_database(DATABASE);
}

/// A connection through `bouncer` whose NOTICE messages are collected.
fn noticing(bouncer: &Bouncer) -> (Client, Arc<Mutex<Vec<String>>>) {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&notices);
    let client = bouncer
        .url()
        .parse::<postgres::Config>()
        .unwrap()
        .notice_callback(move |notice| sink.lock().unwrap().push(notice.message().to_owned()))
        .connect(NoTls)
        .expect("connect through pgbouncer");
    (client, notices)
}

const NOT_SHARED: &str = "jobtrack: the result cache is not shared in this session";

/// Without preload (a server of its own): the metrics, the cache's miss
/// count and the "not shared" NOTICE belong to the server session, not to
/// the client — a client can see another client's calls, and never the
/// NOTICE that an earlier client's call on the same server session took.
#[test]
fn pg_bouncer_without_preload_state_belongs_to_the_server_session() {
    let cluster = Cluster::start(&[]);
    cluster
        .connect("postgres")
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .unwrap();
    cluster
        .connect(DATABASE)
        .batch_execute("SET client_min_messages = warning; CREATE EXTENSION jobtrack")
        .unwrap();
    let bouncer = Bouncer::start(&cluster.url(DATABASE), POOL_SIZE);

    // A and B hold one server session each; A writes and reads the cache.
    let (mut a, a_notices) = noticing(&bouncer);
    let mut b = bouncer.connect();
    a.batch_execute("BEGIN").unwrap();
    b.batch_execute("BEGIN").unwrap();
    let (pid_a, pid_b) = (backend_pid(&mut a), backend_pid(&mut b));
    assert_ne!(pid_a, pid_b);
    assert_eq!(cache_stats(&mut a)["shared"], false);
    create(&mut a, "e1", "alpha");
    row(&mut a, "SELECT jobtrack.get_statistics_cached()::text", &[]);
    a.batch_execute("COMMIT").unwrap();
    b.batch_execute("COMMIT").unwrap();
    let notices = a_notices.lock().unwrap().clone();
    assert_eq!(notices.len(), 1, "A's notices: {notices:?}");
    assert!(notices[0].starts_with(NOT_SHARED), "{notices:?}");

    // Two new clients on the same two server sessions: each sees the state
    // of its server session, and only B's session sends the NOTICE.
    struct Seen {
        metrics: Value,
        stats: Value,
        notices: usize,
    }
    let mut readers: Vec<_> = (0..POOL_SIZE).map(|_| noticing(&bouncer)).collect();
    for (client, _) in &mut readers {
        client.batch_execute("BEGIN").unwrap();
    }
    let mut seen = BTreeMap::new();
    for (client, notices) in &mut readers {
        let pid = backend_pid(client);
        let (metrics, stats) = (metrics(client), cache_stats(client));
        row(client, "SELECT jobtrack.get_statistics_cached()::text", &[]);
        client.batch_execute("COMMIT").unwrap();
        let notices = notices.lock().unwrap().len();
        seen.insert(
            pid,
            Seen {
                metrics,
                stats,
                notices,
            },
        );
    }
    assert_eq!(
        seen.keys().copied().collect::<BTreeSet<i32>>(),
        BTreeSet::from([pid_a, pid_b])
    );
    let on_a = &seen[&pid_a];
    assert_eq!(
        on_a.metrics["create_execution"]["count"], 1,
        "{}",
        on_a.metrics
    );
    assert_eq!(on_a.stats["misses"], 1, "A's cached call: {}", on_a.stats);
    assert_eq!(
        on_a.notices, 0,
        "the NOTICE came again on A's server session"
    );
    let on_b = &seen[&pid_b];
    assert_eq!(on_b.metrics, json!({}), "B's server session ran no write");
    assert_eq!(on_b.stats["misses"], 0, "{}", on_b.stats);
    assert_eq!(
        on_b.notices, 1,
        "the first cached call on B's server session sends the NOTICE"
    );
    drop(readers);
    drop(a);
    drop(b);
    drop(bouncer);
}
