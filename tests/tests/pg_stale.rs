//! Heartbeats racing `jobtrack.fail_stale_jobs` against a real PostgreSQL
//! server (`JOBTRACK_PG_URL`, set by `make test`), each session its own
//! connection: a heartbeat that commits first keeps its job, whether it
//! commits before the failing statement's snapshot or between that
//! snapshot and the row lock; no job is failed for a sign of life older
//! than the last heartbeat that was acknowledged; the summary and the
//! counters stay exact. No assertion is on a duration: the tests assert
//! which jobs failed and with which sign of life, and print what they
//! measured.
//!
//! One session's heartbeats and stale jobs (the effects, the order, the
//! errors) are in tests/pg_regress/sql/stale.sql.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use jobtrack_core::{stale_message, JobApi, StaleAfter};
use jobtrack_postgres::PgStore;
use jobtrack_tests::assert_exact;
use jobtrack_tests::dump::{connect, describe};
use jobtrack_tests::jobs::{create_executions, create_variations, one_at_a_time};
use postgres::Client;

/// Every failed job of either kind and its error message.
fn failed_jobs(client: &mut Client) -> BTreeMap<String, String> {
    client
        .query(
            "SELECT job_id, error_message FROM jobtrack.executions WHERE status = 'failed'
             UNION ALL
             SELECT job_id, error_message FROM jobtrack.variations WHERE status = 'failed'",
            &[],
        )
        .expect("read the failed jobs")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// Eight sessions heartbeat 100 training jobs at random (each job several
/// times a second, now and then left silent past the cut-off), while two
/// sessions run `fail_stale_jobs` in a loop with a cut-off of 500 ms. Every heartbeat
/// that returned true names the time it recorded (its statement's start);
/// every failed job names, in its default message, the sign of life the
/// failing transaction judged. A job must never be failed for a sign of
/// life older than a heartbeat of it that was acknowledged: heartbeats
/// and the failure serialize on the job's row, so every acknowledged
/// heartbeat came before the failure, and the failure must have seen it.
/// (Failing from the statement's snapshot without judging the locked row
/// again, or not locking it, breaks this.)
#[test]
fn pg_stale_no_job_is_failed_for_an_older_sign_of_life_than_its_last_heartbeat() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_stale_race";
    const JOBS: i32 = 50;
    const HEARTBEATERS: usize = 8;
    const RUN: Duration = Duration::from_secs(6);
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    create_executions(&mut setup, "se", JOBS, "training");
    create_variations(&mut setup, "sv", JOBS, "training");
    let ids: Vec<String> = setup
        .query(
            "SELECT job_id FROM jobtrack.executions UNION ALL SELECT job_id FROM jobtrack.variations
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let ids = Arc::new(ids);
    let start = Arc::new(Barrier::new(HEARTBEATERS + 3));
    let stop = Arc::new(AtomicBool::new(false));

    // Each heartbeater: (job_id, the recorded time as text) of every
    // heartbeat that returned true, and how many returned false.
    let heartbeaters: Vec<_> = (0..HEARTBEATERS)
        .map(|t| {
            let (url, ids, start, stop) = (
                url.clone(),
                Arc::clone(&ids),
                Arc::clone(&start),
                Arc::clone(&stop),
            );
            thread::spawn(move || {
                let mut client = connect(&url);
                let beat = client
                    .prepare(
                        "SELECT jobtrack.heartbeat($1),
                                to_char(statement_timestamp() AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                    )
                    .unwrap();
                let mut rng = fastrand::Rng::with_seed(t as u64 + 1);
                let (mut acknowledged, mut refused) = (Vec::new(), 0u64);
                start.wait();
                while !stop.load(Ordering::SeqCst) {
                    let id = &ids[rng.usize(..ids.len())];
                    let row = client
                        .query_one(&beat, &[id])
                        .unwrap_or_else(|e| panic!("heartbeat {id}: {}", describe(&e)));
                    if row.get::<_, bool>(0) {
                        acknowledged.push((id.clone(), row.get::<_, String>(1)));
                    } else {
                        refused += 1;
                    }
                    // Now and then a pause, so that some jobs go silent.
                    if rng.u8(..) == 0 {
                        thread::sleep(Duration::from_millis(rng.u64(0..400)));
                    }
                }
                (acknowledged, refused)
            })
        })
        .collect();
    let failers: Vec<_> = (0..2)
        .map(|_| {
            let (url, start, stop) = (url.clone(), Arc::clone(&start), Arc::clone(&stop));
            thread::spawn(move || {
                let mut client = connect(&url);
                let (mut calls, mut failed) = (0u64, 0i64);
                start.wait();
                while !stop.load(Ordering::SeqCst) {
                    let n: i32 = client
                        .query_one("SELECT jobtrack.fail_stale_jobs('500 milliseconds')", &[])
                        .unwrap_or_else(|e| panic!("fail_stale_jobs: {}", describe(&e)))
                        .get(0);
                    calls += 1;
                    failed += i64::from(n);
                    thread::sleep(Duration::from_millis(5));
                }
                (calls, failed)
            })
        })
        .collect();
    // Every job alive at the start.
    setup
        .batch_execute(
            "UPDATE jobtrack.executions SET last_heartbeat = clock_timestamp();
             UPDATE jobtrack.variations SET last_heartbeat = clock_timestamp();",
        )
        .unwrap();
    start.wait();
    let began = Instant::now();
    thread::sleep(RUN);
    stop.store(true, Ordering::SeqCst);
    let mut last_acknowledged: BTreeMap<String, String> = BTreeMap::new();
    let (mut beats, mut refused) = (0usize, 0u64);
    for h in heartbeaters {
        let (acknowledged, r) = h.join().expect("a heartbeater panicked");
        beats += acknowledged.len();
        refused += r;
        for (id, at) in acknowledged {
            let last = last_acknowledged.entry(id).or_default();
            // RFC 3339 text of one width: ordered as the times are.
            if at > *last {
                *last = at;
            }
        }
    }
    let (mut calls, mut failed_by_calls) = (0u64, 0i64);
    for f in failers {
        let (c, n) = f.join().expect("a failer panicked");
        calls += c;
        failed_by_calls += n;
    }
    let elapsed = began.elapsed();

    let failed = failed_jobs(&mut setup);
    assert_eq!(
        failed.len() as i64,
        failed_by_calls,
        "failed jobs vs the counts returned"
    );
    assert!(
        !failed.is_empty(),
        "no job went stale: the test raced nothing"
    );
    let mut violations = Vec::new();
    for (id, message) in &failed {
        let Some(last) = last_acknowledged.get(id) else {
            continue;
        };
        let seen: jobtrack_core::Timestamp = last.parse().expect("a heartbeat time");
        // The failure judged a sign of life at least as recent as the last
        // acknowledged heartbeat: its message names that time or a later one.
        let judged = message
            .rsplit_once(' ')
            .map(|(_, t)| t.to_owned())
            .unwrap_or_default();
        let judged: jobtrack_core::Timestamp = judged
            .parse()
            .unwrap_or_else(|_| panic!("{id}: unexpected message {message:?}"));
        assert_eq!(message, &stale_message(judged), "{id}");
        if judged < seen {
            violations.push(format!(
                "{id}: failed for a sign of life at {judged}, heartbeat acknowledged at {seen}"
            ));
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
    assert_exact(&mut setup, "after the race");
    println!(
        "{beats} heartbeats acknowledged ({refused} refused: job failed) and {calls} \
         fail_stale_jobs calls in {elapsed:.1?}; {} of {} jobs failed, each for its last \
         acknowledged sign of life or a later one",
        failed.len(),
        ids.len()
    );
    drop(setup);
    jobtrack_tests::drop_database(DATABASE);
}

/// A heartbeat that commits after `fail_stale_jobs` took its snapshot, but
/// before the job's row is locked, keeps the job: the row is judged again
/// on its new version. The window is made deterministic with row-level
/// security: for a role under a policy that calls
/// `public.stale_gate(job_id)`, reading the gated job waits for an advisory
/// lock the test holds, inside the failing statement's scan. A plain SELECT
/// through the same gate still sees the job stale (the snapshot predates
/// the heartbeat); `fail_stale_jobs` fails only the other stale job.
#[test]
fn pg_stale_a_heartbeat_after_the_snapshot_keeps_its_job() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_stale_recheck";
    const GATED: &str = "jobtrack_stale_gated";
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    setup
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {GATED};
             CREATE ROLE {GATED} LOGIN NOSUPERUSER NOBYPASSRLS;
             GRANT USAGE ON SCHEMA jobtrack TO {GATED};
             GRANT SELECT ON ALL TABLES IN SCHEMA jobtrack TO {GATED};
             GRANT INSERT, UPDATE, DELETE ON jobtrack.executions, jobtrack.variations TO {GATED};
             CREATE FUNCTION public.stale_gate(id text) RETURNS boolean
             LANGUAGE plpgsql VOLATILE AS $$
             BEGIN
                 IF id = 'ge000001' THEN
                     -- Waits while the test holds the lock exclusively.
                     PERFORM pg_advisory_xact_lock_shared(4816);
                 END IF;
                 RETURN true;
             END
             $$;
             ALTER TABLE jobtrack.executions ENABLE ROW LEVEL SECURITY;
             CREATE POLICY gate ON jobtrack.executions
                 USING (public.stale_gate(job_id)) WITH CHECK (true);"
        ))
        .expect("set up the gated role");
    create_executions(&mut setup, "ge", 2, "training");
    let gated_url = jobtrack_tests::dump::as_user(&url, GATED);

    // Makes both jobs stale; runs `sql` as the gated role in a thread,
    // stopped at the gate; heartbeats ge000001 and commits meanwhile; opens
    // the gate. Returns the first column of `sql`'s rows as text.
    let mut run_through_gate = |sql: &'static str| -> Vec<String> {
        setup
            .batch_execute(
                "UPDATE jobtrack.executions
                 SET status = 'training', last_heartbeat = NULL, error_message = NULL,
                     updated_at = now() - interval '1 hour'",
            )
            .expect("make both jobs stale");
        let mut gate = connect(&url);
        gate.batch_execute("SELECT pg_advisory_lock(4816)")
            .expect("close the gate");
        let gate_pid: i32 = gate
            .query_one("SELECT pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        let mut gated = connect(&gated_url);
        let gated_pid: i32 = gated
            .query_one("SELECT pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        let finished = Arc::new(AtomicBool::new(false));
        let query = {
            let finished = Arc::clone(&finished);
            thread::spawn(move || {
                // A bound for a gate that never opens, not a measure.
                gated
                    .batch_execute("SET lock_timeout = '30s'")
                    .expect("set lock_timeout");
                let result = gated.query(sql, &[]);
                finished.store(true, Ordering::SeqCst);
                result.map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
            })
        };
        let mut monitor = connect(&url);
        let stopped = loop {
            let finished_before = finished.load(Ordering::SeqCst);
            let blocked: bool = monitor
                .query_one(
                    "SELECT $2 = ANY (pg_blocking_pids($1))",
                    &[&gated_pid, &gate_pid],
                )
                .unwrap()
                .get(0);
            if blocked {
                break true;
            }
            if finished_before {
                break false;
            }
        };
        assert!(stopped, "{sql}: never stopped at the gate");
        let alive: bool = setup
            .query_one("SELECT jobtrack.heartbeat('ge000001')", &[])
            .expect("heartbeat while the failure waits")
            .get(0);
        assert!(alive);
        gate.batch_execute("SELECT pg_advisory_unlock(4816)")
            .expect("open the gate");
        query
            .join()
            .expect("the gated thread panicked")
            .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
    };

    // Control: the snapshot taken before the heartbeat sees both stale.
    let seen = run_through_gate("SELECT job_id FROM jobtrack.get_stale_jobs('1 minute')");
    assert_eq!(
        seen,
        ["ge000001", "ge000002"],
        "the window: the snapshot saw both stale"
    );
    let failed = run_through_gate("SELECT jobtrack.fail_stale_jobs('1 minute')::text");
    assert_eq!(failed, ["1"], "only the silent job fails");
    let failed = failed_jobs(&mut setup);
    assert_eq!(
        failed.keys().collect::<Vec<_>>(),
        ["ge000002"],
        "the job whose heartbeat committed first was failed"
    );
    assert_exact(&mut setup, "after the failure");

    drop(setup);
    jobtrack_tests::drop_database(DATABASE);
    connect(&jobtrack_tests::dump::server_url())
        .batch_execute(&format!("DROP ROLE IF EXISTS {GATED}"))
        .expect("drop the role");
}

/// `PgStore`'s heartbeat, get_stale_jobs and fail_stale_jobs return what
/// the SQL functions return for the same interval.
#[test]
fn pg_stale_through_pgstore_as_through_sql() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_stale_pgstore";
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    create_executions(&mut setup, "pe", 3, "training");
    setup
        .batch_execute(
            "UPDATE jobtrack.executions SET updated_at = now() - interval '20 minutes'
             WHERE job_id = 'pe000001';
             UPDATE jobtrack.executions SET updated_at = now() - interval '5 minutes'
             WHERE job_id = 'pe000002';
             UPDATE jobtrack.executions SET updated_at = now() - interval '1 hour'
             WHERE job_id = 'pe000003'",
        )
        .unwrap();
    let store = PgStore::connect(&url).expect("connect PgStore");
    assert!(store.heartbeat("pe000003").unwrap());
    assert!(!store.heartbeat("nobody").unwrap());
    // Ten minutes lie between the two silent jobs' ages; pe000003's
    // heartbeat keeps it live.
    let after = StaleAfter::from_micros(600_000_000).unwrap();
    let stale: Vec<String> = store
        .get_stale_jobs(after)
        .unwrap()
        .into_iter()
        .map(|j| j.job_id)
        .collect();
    assert_eq!(stale, ["pe000001"]);
    let through_sql: Vec<String> = setup
        .query(
            "SELECT job_id FROM jobtrack.get_stale_jobs(interval '10 minutes')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stale, through_sql);
    let jobs = store.get_all_jobs_optimized(10, None).unwrap();
    let live = jobs.iter().find(|j| j.job_id == "pe000003").unwrap();
    assert!(live.last_heartbeat.is_some());
    assert_eq!(store.fail_stale_jobs(after, Some("lost")).unwrap(), 1);
    assert_eq!(
        failed_jobs(&mut setup),
        BTreeMap::from([("pe000001".to_owned(), "lost".to_owned())])
    );
    drop(store);
    drop(setup);
    jobtrack_tests::drop_database(DATABASE);
}

/// last_heartbeat never moves back: two heartbeats of one job can commit
/// in the other order than their statements started (the later one gets
/// the row lock first), and the earlier must not overwrite the time
/// already acknowledged. Shown deterministically with a later time written
/// by hand: neither heartbeat() nor update_progress() moves it back.
#[test]
fn pg_stale_a_heartbeat_never_moves_last_heartbeat_back() {
    let _serial = one_at_a_time();
    let url = jobtrack_tests::fresh_database("jobtrack_stale_monotone");
    let mut client = connect(&url);
    create_executions(&mut client, "m", 2, "training");
    create_variations(&mut client, "n", 2, "training");
    client
        .batch_execute(
            "UPDATE jobtrack.executions SET last_heartbeat = now() + interval '1 hour';
             UPDATE jobtrack.variations SET last_heartbeat = now() + interval '1 hour';",
        )
        .unwrap();
    let later = |client: &mut Client| -> i64 {
        client
            .query_one(
                "SELECT count(*) FROM (SELECT last_heartbeat FROM jobtrack.executions
                                       UNION ALL SELECT last_heartbeat FROM jobtrack.variations) AS j
                 WHERE last_heartbeat > now() + interval '50 minutes'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    assert_eq!(later(&mut client), 4);
    for id in ["m000001", "n000001"] {
        let beat: bool = client
            .query_one("SELECT jobtrack.heartbeat($1)", &[&id])
            .unwrap()
            .get(0);
        assert!(beat, "{id}");
    }
    for id in ["m000002", "n000002"] {
        let reported: bool = client
            .query_one("SELECT jobtrack.update_progress($1, 3)", &[&id])
            .unwrap()
            .get(0);
        assert!(reported, "{id}");
    }
    assert_eq!(
        later(&mut client),
        4,
        "a sign of life moved last_heartbeat back"
    );
    // A job without a heartbeat gets one.
    client
        .batch_execute(
            "UPDATE jobtrack.executions SET last_heartbeat = NULL WHERE job_id = 'm000001'",
        )
        .unwrap();
    let beat: bool = client
        .query_one("SELECT jobtrack.heartbeat('m000001')", &[])
        .unwrap()
        .get(0);
    assert!(beat);
    let set: bool = client
        .query_one(
            "SELECT last_heartbeat IS NOT NULL FROM jobtrack.executions WHERE job_id = 'm000001'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(set);
    drop(client);
    jobtrack_tests::drop_database("jobtrack_stale_monotone");
}
