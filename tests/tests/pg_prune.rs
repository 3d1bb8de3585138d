//! `CALL jobtrack.prune_jobs` against a real PostgreSQL server
//! (`JOBTRACK_PG_URL`, set by `make test`), with concurrent sessions, each
//! its own connection: its batches commit one by one while the CALL runs
//! (other sessions see the count fall in steps of batch_size), a writer
//! touching rows the prune deletes later gets through while the prune still
//! runs, a job changed while its batch waits for it is judged again, a
//! cancelled prune keeps the batches it committed and a second CALL
//! finishes the rest, and PgStore's `prune_jobs` leaves the statistics
//! cache exact. No assertion is on a duration: the tests assert orderings
//! and counts, and print what they measured.
//!
//! The batch contents, the errors and the report of a single session are
//! in tests/pg_regress/sql/prune.sql.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use jobtrack_core::{JobApi, PruneReport};
use jobtrack_postgres::PgStore;
use jobtrack_tests::dump::{connect, describe, sqlstate};
use jobtrack_tests::jobs::{create_executions, create_variations, one_at_a_time};
use postgres::types::Json;
use postgres::Client;
use serde_json::{json, Value};

/// Makes the jobs `<prefix>…` of `table` `days` old, in job_id order: the
/// job numbered g is g milliseconds younger than `days`, so a prune takes
/// them in job_id order.
fn age(client: &mut Client, table: &str, prefix: &str, days: i32) {
    assert!(table == "executions" || table == "variations");
    client
        .execute(
            &format!(
                "UPDATE jobtrack.{table}
                 SET created_at = now() - $2::int * interval '1 day'
                                  + substr(job_id, length($1::text) + 1)::int
                                    * interval '1 millisecond'
                 WHERE starts_with(job_id, $1::text)"
            ),
            &[&prefix, &days],
        )
        .unwrap_or_else(|e| panic!("age {table} {prefix}: {}", describe(&e)));
}

/// Creates each group `(table, prefix, n, status)` of jobs and makes it
/// `days` old ([`age`]).
fn old_jobs(client: &mut Client, days: i32, groups: &[(&str, &str, i32, &str)]) {
    for &(table, prefix, n, status) in groups {
        match table {
            "executions" => create_executions(client, prefix, n, status),
            _ => create_variations(client, prefix, n, status),
        }
        age(client, table, prefix, days);
    }
}

/// Jobs of both kinds, in one snapshot.
fn jobs(client: &mut Client) -> i64 {
    client
        .query_one(
            "SELECT (SELECT count(*) FROM jobtrack.executions)
                    + (SELECT count(*) FROM jobtrack.variations)",
            &[],
        )
        .expect("count the jobs")
        .get(0)
}

/// (executions, variations).
fn jobs_by_kind(client: &mut Client) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM jobtrack.executions),
                    (SELECT count(*) FROM jobtrack.variations)",
            &[],
        )
        .expect("count the jobs");
    (row.get(0), row.get(1))
}

/// `CALL prune_jobs(days, keep_failed, batch_size)`: the report as the
/// server returned it.
fn call_prune(
    client: &mut Client,
    days: i32,
    keep_failed: bool,
    batch_size: i32,
) -> Result<Value, postgres::Error> {
    client
        .query_one(
            "CALL jobtrack.prune_jobs($1, $2, $3)",
            &[&days, &keep_failed, &batch_size],
        )
        .map(|row| row.get::<_, Json<Value>>(0).0)
}

/// The report's four figures; the JSON must have exactly these keys (no
/// `more` left over from the last batch).
fn report_of(value: &Value) -> PruneReport {
    let keys: BTreeSet<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("the report is not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "batches",
            "cache_entries_deleted",
            "executions_deleted",
            "variations_deleted"
        ]),
        "report {value}"
    );
    serde_json::from_value(value.clone()).unwrap()
}

/// As [`jobtrack_tests::assert_exact`], and one summary row per job.
fn assert_exact(client: &mut Client, when: &str) {
    jobtrack_tests::assert_exact(client, when);
    let summary: i64 = client
        .query_one("SELECT count(*) FROM jobtrack.job_summary_cache", &[])
        .unwrap()
        .get(0);
    assert_eq!(summary, jobs(client), "{when}: summary rows and jobs");
}

fn backend_pid(client: &mut Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0)
}

/// Another session sees the count of jobs fall while the CALL still runs,
/// in steps of whole batches: each batch is committed on its own.
#[test]
fn pg_prune_batches_commit_while_the_call_runs() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_prune_commits";
    const BATCH: i64 = 5000;
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    // The last two old too, but never pruned here: active, and failed
    // (keep_failed).
    old_jobs(
        &mut setup,
        40,
        &[
            ("executions", "eo", 30_000, "done"),
            ("variations", "vo", 30_000, "cancelled"),
            ("executions", "ea", 100, "training"),
            ("variations", "vf", 100, "failed"),
        ],
    );
    let start = jobs(&mut setup);
    let end = 200;
    assert_eq!(start, 60_200);

    let done = Arc::new(AtomicBool::new(false));
    let prune = {
        let url = url.clone();
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut client = connect(&url);
            let began = Instant::now();
            let report = call_prune(&mut client, 30, true, BATCH as i32);
            let took = began.elapsed();
            done.store(true, Ordering::SeqCst);
            (report, took)
        })
    };
    let mut poller = connect(&url);
    // Counts seen, in order, before the CALL returned.
    let mut seen: Vec<i64> = Vec::new();
    let mut polls = 0u64;
    while !done.load(Ordering::SeqCst) {
        let n = jobs(&mut poller);
        polls += 1;
        if seen.last() != Some(&n) {
            seen.push(n);
        }
    }
    let (report, took) = prune.join().expect("the prune thread panicked");
    let report = report_of(&report.unwrap_or_else(|e| panic!("prune_jobs: {}", describe(&e))));
    eprintln!(
        "pg_prune: prune of {} jobs in {} batches took {took:?}; {polls} polls saw {seen:?}",
        start - end,
        report.batches
    );
    assert_eq!(
        report,
        PruneReport {
            executions_deleted: 30_000,
            variations_deleted: 30_000,
            cache_entries_deleted: 60_000,
            // 12 full batches, then one that finds none.
            batches: 13,
        }
    );
    let intermediate: Vec<i64> = seen
        .iter()
        .copied()
        .filter(|&n| end < n && n < start)
        .collect();
    assert!(
        intermediate.len() >= 2,
        "another session saw fewer than two counts between {start} and {end} while the CALL \
         ran (counts seen: {seen:?}): the batches are not committed one by one"
    );
    // Never part of a batch: every count seen is the start less whole
    // batches, and the counts only fall.
    for &n in &seen {
        assert_eq!((start - n) % BATCH, 0, "count {n} seen: part of a batch");
    }
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "counts seen {seen:?}");
    assert_eq!(jobs(&mut setup), end);
    assert_exact(&mut setup, "after the prune");

    drop((setup, poller));
    jobtrack_tests::drop_database(DATABASE);
}

/// One call of the writer, batch_update_execution_status.
struct WriterCall {
    took: Duration,
    /// Jobs left right after it, read by the writer's session.
    jobs_after: i64,
}

/// A writer updating rows that the prune deletes later (and active ones it
/// never deletes) waits for the batch that holds them at most, not for the
/// whole prune: a call of the writer that waited on the prune's row locks
/// returns while the prune still has batches to commit.
#[test]
fn pg_prune_a_writer_waits_for_one_batch_at_most() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_prune_writer";
    const BATCH: i32 = 5000;
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    old_jobs(
        &mut setup,
        40,
        &[
            ("executions", "eo", 30_000, "done"),
            ("executions", "ea", 50, "training"),
        ],
    );
    // Younger than every old execution: pruned after them, in the last
    // two full batches.
    old_jobs(&mut setup, 35, &[("variations", "vo", 10_000, "cancelled")]);
    let end = 50;

    // The writer's targets to be pruned: one in the middle of each of the
    // six batches of executions, so that whichever batch it meets holds
    // their row locks, later batches remain.
    let doomed: Vec<String> = (0..6)
        .map(|k| format!("eo{:06}", k * BATCH + BATCH / 2))
        .collect();
    let active: Vec<String> = (1..=50).map(|g| format!("ea{g:06}")).collect();
    const ACTIVE: [&str; 3] = ["preparing_dataset", "training", "generating_preview"];

    let mut prune_client = connect(&url);
    let prune_pid = backend_pid(&mut prune_client);
    let mut writer_client = connect(&url);
    let writer_pid = backend_pid(&mut writer_client);

    let done = Arc::new(AtomicBool::new(false));
    // 1 + the index of the writer's call under way, 0 between calls.
    let in_call = Arc::new(AtomicUsize::new(0));
    // Calls seen waiting on a lock the prune's session held.
    let waited: Arc<Mutex<HashSet<usize>>> = Arc::default();

    let monitor = {
        let url = url.clone();
        let done = Arc::clone(&done);
        let in_call = Arc::clone(&in_call);
        let waited = Arc::clone(&waited);
        thread::spawn(move || {
            let mut client = connect(&url);
            let mut polls = 0u64;
            while !done.load(Ordering::SeqCst) {
                let before = in_call.load(Ordering::SeqCst);
                let blocked: bool = client
                    .query_one(
                        "SELECT $1::int = ANY (pg_blocking_pids($2::int))",
                        &[&prune_pid, &writer_pid],
                    )
                    .unwrap()
                    .get(0);
                polls += 1;
                // Only when the same call was under way throughout.
                if blocked && before != 0 && in_call.load(Ordering::SeqCst) == before {
                    waited.lock().unwrap().insert(before - 1);
                }
            }
            polls
        })
    };
    let writer = {
        let done = Arc::clone(&done);
        let in_call = Arc::clone(&in_call);
        let doomed = doomed.clone();
        let active = active.clone();
        thread::spawn(move || {
            let mut client = writer_client;
            let mut calls: Vec<WriterCall> = Vec::new();
            let mut last: BTreeMap<String, &str> = BTreeMap::new();
            while !done.load(Ordering::SeqCst) {
                let i = calls.len();
                // Terminal either way: the prune still deletes them.
                let terminal = if i.is_multiple_of(2) {
                    "done"
                } else {
                    "cancelled"
                };
                let mut updates: Vec<Value> = doomed
                    .iter()
                    .map(|id| json!({"job_id": id, "status": terminal}))
                    .collect();
                for (j, id) in active.iter().enumerate() {
                    let status = ACTIVE[(i + j) % ACTIVE.len()];
                    updates.push(json!({"job_id": id, "status": status}));
                    last.insert(id.clone(), status);
                }
                in_call.store(i + 1, Ordering::SeqCst);
                let began = Instant::now();
                client
                    .query_one(
                        "SELECT jobtrack.batch_update_execution_status($1::text::jsonb)",
                        &[&Value::Array(updates).to_string()],
                    )
                    .unwrap_or_else(|e| panic!("writer call {i}: {}", describe(&e)));
                let took = began.elapsed();
                in_call.store(0, Ordering::SeqCst);
                let jobs_after = jobs(&mut client);
                calls.push(WriterCall { took, jobs_after });
            }
            (calls, last)
        })
    };

    // Let the writer be under way before the prune starts.
    while in_call.load(Ordering::SeqCst) < 3 {
        thread::yield_now();
    }
    let began = Instant::now();
    let report = call_prune(&mut prune_client, 30, true, BATCH);
    let took = began.elapsed();
    done.store(true, Ordering::SeqCst);
    let (calls, last) = writer.join().expect("the writer panicked");
    let polls = monitor.join().expect("the monitor panicked");
    let report = report_of(&report.unwrap_or_else(|e| panic!("prune_jobs: {}", describe(&e))));
    let waited = waited.lock().unwrap().clone();

    let longest = calls.iter().map(|c| c.took).max().unwrap_or_default();
    let longest_waited = waited
        .iter()
        .map(|&i| calls[i].took)
        .max()
        .unwrap_or_default();
    let got_through: Vec<usize> = waited
        .iter()
        .copied()
        .filter(|&i| calls[i].jobs_after > end)
        .collect();
    eprintln!(
        "pg_prune: the prune took {took:?} in {} batches; the writer made {} calls, {} seen \
         waiting on the prune's locks ({polls} polls), {} of them returned with jobs still to \
         prune; longest writer call {longest:?}, longest that waited {longest_waited:?}",
        report.batches,
        calls.len(),
        waited.len(),
        got_through.len()
    );
    assert_eq!(
        report,
        PruneReport {
            executions_deleted: 30_000,
            variations_deleted: 10_000,
            cache_entries_deleted: 40_000,
            batches: 9,
        }
    );
    assert!(
        !waited.is_empty(),
        "no writer call was seen waiting on the prune's row locks: the test did not contend \
         ({} writer calls)",
        calls.len()
    );
    assert!(
        !got_through.is_empty(),
        "every writer call that waited on the prune's locks returned only once nothing was \
         left to prune (jobs after each: {:?}): a writer waits for the whole prune",
        waited
            .iter()
            .map(|&i| calls[i].jobs_after)
            .collect::<Vec<_>>()
    );

    // The writer's last statuses stand; its doomed jobs went, the rest too.
    let statuses: BTreeMap<String, String> = setup
        .query(
            "SELECT job_id, status FROM jobtrack.executions ORDER BY job_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let want: BTreeMap<String, String> = last
        .into_iter()
        .map(|(id, status)| (id, status.to_owned()))
        .collect();
    assert_eq!(statuses, want);
    assert_eq!(jobs(&mut setup), end);
    assert_exact(&mut setup, "after the prune and the writer");

    drop((setup, prune_client));
    jobtrack_tests::drop_database(DATABASE);
}

/// A prune cancelled after its first batch committed keeps every batch it
/// committed (and none in part), leaves the summary and the counters exact,
/// and a second CALL deletes the rest.
#[test]
fn pg_prune_cancelled_keeps_its_batches_and_a_second_call_finishes() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_prune_cancel";
    const BATCH: i32 = 2000;
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    old_jobs(
        &mut setup,
        40,
        &[
            ("executions", "eo", 20_000, "done"),
            ("variations", "vo", 20_000, "cancelled"),
            ("executions", "ea", 100, "training"),
            ("executions", "ef", 100, "failed"),
        ],
    );
    let (start_e, start_v) = jobs_by_kind(&mut setup);
    let start = start_e + start_v;
    let end = 200;

    let mut prune_client = connect(&url);
    let prune_pid = backend_pid(&mut prune_client);
    let prune = thread::spawn(move || {
        let report = call_prune(&mut prune_client, 30, true, BATCH);
        (report, prune_client)
    });
    let mut polls = 0u64;
    loop {
        // Read first: a prune that had ended and still left every job
        // committed no batch.
        let finished = prune.is_finished();
        polls += 1;
        if jobs(&mut setup) != start {
            break;
        }
        assert!(!finished, "the prune ended without committing a batch");
    }
    let cancelled: bool = setup
        .query_one("SELECT pg_cancel_backend($1)", &[&prune_pid])
        .unwrap()
        .get(0);
    assert!(cancelled, "pg_cancel_backend found no backend {prune_pid}");
    let (outcome, prune_client) = prune.join().expect("the prune thread panicked");
    match &outcome {
        Err(e) => assert_eq!(sqlstate(e), "57014", "{}", describe(e)),
        Ok(report) => panic!("the prune finished before the cancel reached it: {report}"),
    }

    let (left_e, left_v) = jobs_by_kind(&mut setup);
    let left = left_e + left_v;
    let deleted = start - left;
    eprintln!(
        "pg_prune: cancelled after {polls} polls; {deleted} of {} jobs deleted, in {} committed \
         batches",
        start - end,
        deleted / i64::from(BATCH)
    );
    assert!(deleted > 0 && left > end, "deleted {deleted}, left {left}");
    assert_eq!(
        deleted % i64::from(BATCH),
        0,
        "{deleted} deleted: a batch in part"
    );
    assert_exact(&mut setup, "after the cancel");

    // The same session again: it goes on from where the batches stopped.
    let mut prune_client = prune_client;
    let report = report_of(
        &call_prune(&mut prune_client, 30, true, BATCH)
            .unwrap_or_else(|e| panic!("the second prune_jobs: {}", describe(&e))),
    );
    eprintln!("pg_prune: the second call: {report:?}");
    assert_eq!(
        report,
        PruneReport {
            executions_deleted: left_e - 200,
            variations_deleted: left_v,
            cache_entries_deleted: left - end,
            // Full batches, then one that finds none.
            batches: (left - end) / i64::from(BATCH) + 1,
        }
    );
    assert_eq!(
        (
            start_e - left_e + report.executions_deleted,
            start_v - left_v + report.variations_deleted
        ),
        (20_000, 20_000)
    );
    let kept: Vec<(String, i64)> = setup
        .query(
            "SELECT status, count(*) FROM jobtrack.executions GROUP BY status ORDER BY status",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        kept,
        [("failed".to_owned(), 100), ("training".to_owned(), 100)]
    );
    assert_eq!(jobs(&mut setup), end);
    assert_exact(&mut setup, "after the second call");

    drop((setup, prune_client));
    jobtrack_tests::drop_database(DATABASE);
}

/// The old jobs the PgStore test prunes: `n` of each kind.
fn load_old(client: &mut Client, n: i32) {
    create_executions(client, "eo", n, "done");
    create_variations(client, "vo", n, "cancelled");
    for (table, prefix) in [("executions", "eo"), ("variations", "vo")] {
        age(client, table, prefix, 40);
    }
}

/// PgStore::prune_jobs returns the report the CALL returns, refuses bad
/// arguments with 22023 naming them, and the cached statistics stay exact
/// through a prune of many transactions: readers during it get in one
/// statement the same from the cached and the uncached function, never an
/// older figure from the cache than the uncached function gave before, and
/// right after it the cache equals the uncached statistics.
#[test]
fn pg_prune_through_pgstore_keeps_the_cache_exact() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_prune_store";
    const OLD: i32 = 3000;
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    load_old(&mut setup, OLD);
    old_jobs(
        &mut setup,
        40,
        &[
            ("executions", "ef", 20, "failed"),
            ("executions", "ea", 20, "training"),
        ],
    );

    let store = Arc::new(PgStore::connect(&url).expect("PgStore::connect"));
    // Filled before the prune: a cache that missed a batch's commit would
    // serve these.
    let before = store.get_statistics_cached().unwrap();
    assert_eq!(before, store.get_statistics_optimized().unwrap());
    assert_eq!(before.total_jobs, 2 * i64::from(OLD) + 40);
    let before_ds1 = store.get_dataset_stats_cached("ds1").unwrap();

    let done = Arc::new(AtomicBool::new(false));
    // Through PgStore: the uncached figure, then the cached one.
    let ordered = {
        let store = Arc::clone(&store);
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while !done.load(Ordering::SeqCst) {
                let uncached = store.get_statistics_optimized().unwrap().total_jobs;
                let cached = store.get_statistics_cached().unwrap().total_jobs;
                assert!(
                    cached <= uncached,
                    "the cache served {cached} jobs after the uncached function saw {uncached}"
                );
                seen.insert(cached);
            }
            seen
        })
    };
    // Both in one statement, one snapshot: the same text.
    let paired = {
        let url = url.clone();
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut client = connect(&url);
            let mut pairs = 0u64;
            while !done.load(Ordering::SeqCst) {
                let row = client
                    .query_one(
                        "SELECT jobtrack.get_statistics_cached()::text,
                                jobtrack.get_statistics_optimized()::text",
                        &[],
                    )
                    .unwrap();
                let (cached, uncached): (String, String) = (row.get(0), row.get(1));
                assert_eq!(cached, uncached, "in one statement");
                pairs += 1;
            }
            pairs
        })
    };

    let report = store.prune_jobs(30, true, 300);
    done.store(true, Ordering::SeqCst);
    let seen = ordered.join().expect("the PgStore reader failed");
    let pairs = paired.join().expect("the paired reader failed");
    let report = report.expect("prune_jobs");
    eprintln!(
        "pg_prune: PgStore's prune: {report:?}; a reader saw the cached totals {seen:?}, \
         another compared {pairs} pairs"
    );
    assert_eq!(
        report,
        PruneReport {
            executions_deleted: i64::from(OLD),
            variations_deleted: i64::from(OLD),
            cache_entries_deleted: 2 * i64::from(OLD),
            // 20 full batches, then one that finds none.
            batches: 21,
        }
    );
    let cached = store.get_statistics_cached().unwrap();
    assert_eq!(cached, store.get_statistics_optimized().unwrap());
    assert_eq!(cached.total_jobs, 40);
    assert_eq!((cached.total_executions, cached.total_variations), (40, 0));
    let ds1 = store.get_dataset_stats_cached("ds1").unwrap();
    assert_eq!(ds1, store.get_dataset_stats_optimized("ds1").unwrap());
    assert_ne!(ds1, before_ds1);
    assert_exact(&mut setup, "after PgStore's prune");

    // The same jobs again, pruned by a plain CALL: the same report, key for
    // key.
    load_old(&mut setup, OLD);
    let value = call_prune(&mut setup, 30, true, 300).unwrap();
    assert_eq!(report_of(&value), report);
    assert_eq!(value, serde_json::to_value(report).unwrap());
    assert_eq!(store.get_statistics_cached().unwrap(), cached);

    for (days, batch_size, field) in [(-1, 300, "days"), (30, 0, "batch_size")] {
        let e = store
            .prune_jobs(days, true, batch_size)
            .expect_err("a bad argument");
        assert_eq!(e.sqlstate(), "22023", "{e}");
        assert!(e.to_string().contains(field), "{e}");
    }
    assert_eq!(jobs(&mut setup), 40);

    drop((setup, store));
    jobtrack_tests::drop_database(DATABASE);
}

/// A job that a concurrent transaction moves out of what prune_jobs deletes
/// (back to an active status, or to failed with keep_failed) while the
/// batch that chose it waits for its row lock is judged again on its new
/// version and kept.
#[test]
fn pg_prune_keeps_a_job_changed_while_its_batch_waits() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_prune_recheck";
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    old_jobs(&mut setup, 40, &[("executions", "eo", 100, "done")]);

    // Uncommitted: the batch chooses both from its snapshot, as done.
    let mut writer = connect(&url);
    let writer_pid = backend_pid(&mut writer);
    writer.batch_execute("BEGIN").unwrap();
    let updated: i32 = writer
        .query_one(
            "SELECT jobtrack.batch_update_execution_status($1::text::jsonb)",
            &[&json!([
                {"job_id": "eo000010", "status": "training"},
                {"job_id": "eo000020", "status": "failed", "error_message": "changed"}
            ])
            .to_string()],
        )
        .unwrap()
        .get(0);
    assert_eq!(updated, 2);

    let mut prune_client = connect(&url);
    let prune_pid = backend_pid(&mut prune_client);
    let prune = thread::spawn(move || call_prune(&mut prune_client, 30, true, 1000));
    // The prune waits for the writer's row locks before the writer commits.
    let mut polls = 0u64;
    loop {
        let waiting: bool = setup
            .query_one(
                "SELECT $1::int = ANY (pg_blocking_pids($2::int))",
                &[&writer_pid, &prune_pid],
            )
            .unwrap()
            .get(0);
        if waiting {
            break;
        }
        assert!(
            !prune.is_finished(),
            "the prune did not wait for the writer"
        );
        polls += 1;
    }
    writer.batch_execute("COMMIT").unwrap();
    let report = report_of(
        &prune
            .join()
            .expect("the prune thread panicked")
            .unwrap_or_else(|e| panic!("prune_jobs: {}", describe(&e))),
    );
    eprintln!("pg_prune: the prune waited for the writer ({polls} polls); {report:?}");
    assert_eq!(
        report,
        PruneReport {
            executions_deleted: 98,
            variations_deleted: 0,
            cache_entries_deleted: 98,
            batches: 1,
        }
    );
    let left: Vec<(String, String)> = setup
        .query(
            "SELECT job_id, status FROM jobtrack.executions ORDER BY job_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        left,
        [
            ("eo000010".to_owned(), "training".to_owned()),
            ("eo000020".to_owned(), "failed".to_owned())
        ]
    );
    assert_exact(&mut setup, "after the prune");

    drop((setup, writer));
    jobtrack_tests::drop_database(DATABASE);
}
