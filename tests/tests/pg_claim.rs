//! `jobtrack.claim_next_jobs(n, worker)` against a real PostgreSQL server
//! (`JOBTRACK_PG_URL`, set by `make test`), with concurrent sessions, each
//! its own connection: eight claimers over 10,000 pending jobs get every
//! job exactly once and never wait for each other's jobs (a monitor
//! session that sees a plain `FOR UPDATE` wait proves it would see theirs;
//! waits to extend a table by a page, which any concurrent writers meet,
//! are counted apart); a claim
//! passes over a job another transaction has locked; a job changed by a
//! concurrent commit after the claim's snapshot is judged again on its new
//! version; and PgStore's `claim_next_jobs` returns what the SQL function
//! returns. No assertion is on a duration: the tests assert sets, orders
//! and lock waits, and print what they measured.
//!
//! One session's claims (the effects, the order, the errors) are in
//! tests/pg_regress/sql/claim.sql.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use jobtrack_core::{Job, JobApi};
use jobtrack_postgres::PgStore;
use jobtrack_tests::assert_exact;
use jobtrack_tests::dump::{connect, describe, sqlstate};
use jobtrack_tests::jobs::{create_executions, create_variations, one_at_a_time};
use postgres::Client;

/// Sets the created_at of the jobs `<prefix>…` of `table`: the job numbered
/// g gets 2024-02-01 + (2g + `offset`) milliseconds, so that executions
/// (offset 0) and variations (offset 1) of the same numbers alternate.
fn interleave(client: &mut Client, table: &str, prefix: &str, offset: i32) {
    assert!(table == "executions" || table == "variations");
    client
        .execute(
            &format!(
                "UPDATE jobtrack.{table}
                 SET created_at = '2024-02-01 00:00:00+00'::timestamptz
                                  + (2 * substr(job_id, length($1::text) + 1)::int + $2::int)
                                    * interval '1 millisecond'
                 WHERE starts_with(job_id, $1::text)"
            ),
            &[&prefix, &offset],
        )
        .unwrap_or_else(|e| panic!("interleave {table} {prefix}: {}", describe(&e)));
}

/// `n` pending jobs of each kind, `<e>…` and `<v>…`, whose created_at
/// alternate between the kinds ([`interleave`]).
fn pending_jobs(client: &mut Client, e: &str, v: &str, n: i32) {
    create_executions(client, e, n, "pending");
    create_variations(client, v, n, "pending");
    interleave(client, "executions", e, 0);
    interleave(client, "variations", v, 1);
}

/// (job_id, status, worker) of every job of both kinds, by job_id.
fn base_rows(client: &mut Client) -> BTreeMap<String, (String, Option<String>)> {
    client
        .query(
            "SELECT job_id, status, worker FROM jobtrack.executions
             UNION ALL
             SELECT job_id, status, worker FROM jobtrack.variations",
            &[],
        )
        .expect("read the base tables")
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2))))
        .collect()
}

/// The pending jobs' ids, oldest first (created_at, then job_id).
fn pending_ids(client: &mut Client) -> Vec<String> {
    client
        .query(
            "SELECT job_id FROM (
                 SELECT job_id, created_at FROM jobtrack.executions WHERE status = 'pending'
                 UNION ALL
                 SELECT job_id, created_at FROM jobtrack.variations WHERE status = 'pending') AS j
             ORDER BY created_at, job_id",
            &[],
        )
        .expect("read the pending jobs")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The ids `claim_next_jobs(n, worker)` returned, in its order.
fn claim(client: &mut Client, n: i32, worker: &str) -> Result<Vec<String>, postgres::Error> {
    client
        .query(
            "SELECT job_id FROM jobtrack.claim_next_jobs($1, $2)",
            &[&n, &worker],
        )
        .map(|rows| rows.iter().map(|row| row.get(0)).collect())
}

fn backend_pid(client: &mut Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0)
}

/// A session of `pids` waiting for a lock, seen by [`waiting`].
struct Wait {
    pid: i32,
    /// The sessions it waits for (`pg_blocking_pids`).
    blockers: Vec<i32>,
    /// The locks it waits for, from one snapshot of the lock table
    /// (`pg_locks`, not granted): `transactionid` or `tuple <table>` for a
    /// row another transaction holds, `extend <relation>` for a page to
    /// grow a relation by. Empty when the wait ended between the two reads
    /// of the lock table.
    locks: String,
    /// The start of its statement.
    query: String,
}

impl Wait {
    /// A wait to extend a table or index by a page only: the physical
    /// growth of a relation that several writers need at once (any
    /// concurrent writers meet it, whatever rows they touch), not a wait
    /// for a job another claimer holds.
    fn is_extension(&self) -> bool {
        !self.locks.is_empty() && self.locks.split(", ").all(|l| l.starts_with("extend "))
    }

    /// A wait for a row another transaction holds.
    fn is_row(&self) -> bool {
        self.locks
            .split(", ")
            .any(|l| l == "transactionid" || l.starts_with("tuple "))
    }
}

impl std::fmt::Debug for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} waits for {:?} (locks: [{}]; {})",
            self.pid, self.blockers, self.locks, self.query
        )
    }
}

/// The sessions of `pids` that wait for a lock at this moment: one poll of
/// the monitor. A session is reported when pg_blocking_pids names a
/// session it waits for, or when the lock table has a lock it waits for;
/// what it waits for comes from one read of the lock table (pg_locks), so
/// that a short wait is never mistaken for another kind.
fn waiting(monitor: &mut Client, pids: &[i32]) -> Vec<Wait> {
    monitor
        .query(
            "WITH ungranted AS MATERIALIZED (
                 SELECT l.pid,
                        string_agg(l.locktype || COALESCE(' ' || l.relation::regclass::text, ''),
                                   ', ' ORDER BY l.locktype) AS locks
                 FROM pg_locks AS l
                 WHERE NOT l.granted AND l.pid = ANY ($1::int[])
                 GROUP BY l.pid
             ), blocked AS MATERIALIZED (
                 SELECT p.pid, pg_blocking_pids(p.pid) AS blockers
                 FROM unnest($1::int[]) AS p (pid)
             )
             SELECT b.pid, b.blockers, COALESCE(u.locks, ''), COALESCE(left(s.query, 80), '')
             FROM blocked AS b
             LEFT JOIN ungranted AS u ON u.pid = b.pid
             LEFT JOIN pg_stat_activity AS s ON s.pid = b.pid
             WHERE cardinality(b.blockers) > 0 OR u.pid IS NOT NULL",
            &[&pids],
        )
        .expect("poll pg_blocking_pids and pg_locks")
        .iter()
        .map(|row| Wait {
            pid: row.get(0),
            blockers: row.get(1),
            locks: row.get(2),
            query: row.get(3),
        })
        .collect()
}

/// The monitor sees a session of `pids` wait: `waiter` runs a plain
/// `SELECT … FOR UPDATE` (no SKIP LOCKED) of job `job_id`, which another
/// open transaction holds, and [`waiting`] reports it blocked by that
/// transaction's session. Without this, a monitor that never sees anything
/// would make "no claimer ever waited" pass for nothing.
fn monitor_sees_a_wait(url: &str, monitor: &mut Client, waiter: Client, pids: &[i32]) -> Client {
    let mut holder = connect(url);
    let holder_pid = backend_pid(&mut holder);
    let job_id = "ce000001";
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT job_id FROM jobtrack.executions WHERE job_id = '{job_id}' FOR UPDATE"
        ))
        .expect("lock the job");
    let finished = Arc::new(AtomicBool::new(false));
    let blocked = {
        let finished = Arc::clone(&finished);
        thread::spawn(move || {
            let mut waiter = waiter;
            // Only a bound for a broken monitor, which would otherwise keep
            // the holder's lock forever: then this fails, and so the test.
            let result = waiter.batch_execute(&format!(
                "SET lock_timeout = '30s';
                 SELECT job_id FROM jobtrack.executions WHERE job_id = '{job_id}' FOR UPDATE;
                 RESET lock_timeout"
            ));
            finished.store(true, Ordering::SeqCst);
            (waiter, result)
        })
    };
    let mut polls = 0u64;
    let is_the_wait =
        |w: &Wait| pids.contains(&w.pid) && w.blockers.contains(&holder_pid) && w.is_row();
    // Until the wait shows (a poll may first catch the waiter on its way
    // there, or in a brief wait of another kind), or the waiter ended.
    let seen = loop {
        let finished_before = finished.load(Ordering::SeqCst);
        let waits = waiting(monitor, pids);
        polls += 1;
        if waits.iter().any(is_the_wait) || finished_before {
            break waits;
        }
    };
    holder.batch_execute("ROLLBACK").expect("release the job");
    let (waiter, result) = blocked.join().expect("the waiting thread panicked");
    result.unwrap_or_else(|e| panic!("the plain FOR UPDATE: {}", describe(&e)));
    assert!(
        seen.iter().any(is_the_wait),
        "the monitor did not see a plain FOR UPDATE wait for the session {holder_pid} holding \
         the row (it saw {seen:?}): it cannot show that the claimers never wait"
    );
    eprintln!("pg_claim: control: after {polls} polls the monitor saw {seen:?}");
    waiter
}

/// Eight claimers, each on its own connection, started together, loop on
/// `claim_next_jobs(50, 'w<i>')` until a call returns no row, over 10,000
/// pending jobs of both kinds whose created_at alternate, with older jobs
/// of other statuses among them. Every pending job is claimed exactly
/// once, ends in_queue with the worker of the claimer that got it, no
/// other job is touched, the summary and the counters are exact; and a
/// monitor session polling pg_blocking_pids for the claimers throughout
/// never sees one wait for a lock but a relation's extension by a page
/// (it does see a plain FOR UPDATE wait, first).
#[test]
fn pg_claim_eight_claimers_get_every_job_once_and_never_wait() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_claim_concurrent";
    const CLAIMERS: usize = 8;
    const EACH_KIND: i32 = 5000;
    const N: i32 = 50;
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    pending_jobs(&mut setup, "ce", "cv", EACH_KIND);
    // Jobs of other statuses, older than every pending job (2023; the
    // pending ones are of 2024), so a claim ignoring the status would take
    // them first.
    create_executions(&mut setup, "xt", 300, "training");
    create_variations(&mut setup, "xd", 300, "done");
    create_executions(&mut setup, "xq", 300, "in_queue");
    setup
        .batch_execute(
            "UPDATE jobtrack.executions SET created_at = '2023-01-01 00:00:00+00'
                 WHERE job_id LIKE 'x%';
             UPDATE jobtrack.variations SET created_at = '2023-01-01 00:00:00+00'
                 WHERE job_id LIKE 'x%';
             ANALYZE jobtrack.executions; ANALYZE jobtrack.variations",
        )
        .expect("age the other jobs");
    let before = base_rows(&mut setup);
    let pending: BTreeSet<String> = pending_ids(&mut setup).into_iter().collect();
    assert_eq!(pending.len(), 2 * EACH_KIND as usize);

    let mut claimers: Vec<(Client, i32)> = (0..CLAIMERS)
        .map(|_| {
            let mut client = connect(&url);
            let pid = backend_pid(&mut client);
            (client, pid)
        })
        .collect();
    let pids: Vec<i32> = claimers.iter().map(|&(_, pid)| pid).collect();
    let mut monitor = connect(&url);
    let first = claimers.remove(0).0;
    let first = monitor_sees_a_wait(&url, &mut monitor, first, &pids);
    claimers.insert(0, (first, pids[0]));

    let barrier = Arc::new(Barrier::new(CLAIMERS + 1));
    let finished = Arc::new(AtomicUsize::new(0));
    // Claim calls under way.
    let in_call = Arc::new(AtomicUsize::new(0));
    let monitor = {
        let barrier = Arc::clone(&barrier);
        let finished = Arc::clone(&finished);
        let in_call = Arc::clone(&in_call);
        let pids = pids.clone();
        thread::spawn(move || {
            let mut waits: Vec<Wait> = Vec::new();
            let (mut polls, mut polls_in_calls) = (0u64, 0u64);
            barrier.wait();
            loop {
                let done = finished.load(Ordering::SeqCst) == CLAIMERS;
                let calls_before = in_call.load(Ordering::SeqCst);
                waits.extend(waiting(&mut monitor, &pids));
                polls += 1;
                if calls_before > 0 && in_call.load(Ordering::SeqCst) > 0 {
                    polls_in_calls += 1;
                }
                if done {
                    break;
                }
            }
            (waits, polls, polls_in_calls)
        })
    };
    let began = Instant::now();
    let threads: Vec<_> = claimers
        .into_iter()
        .enumerate()
        .map(|(i, (mut client, _))| {
            let barrier = Arc::clone(&barrier);
            let finished = Arc::clone(&finished);
            let in_call = Arc::clone(&in_call);
            thread::spawn(move || {
                let worker = format!("w{i}");
                let mut got: Vec<String> = Vec::new();
                let mut calls = 0usize;
                barrier.wait();
                loop {
                    in_call.fetch_add(1, Ordering::SeqCst);
                    let rows = client.query(
                        "SELECT job_id, status, created_at FROM jobtrack.claim_next_jobs($1, $2)",
                        &[&N, &worker],
                    );
                    in_call.fetch_sub(1, Ordering::SeqCst);
                    let rows = rows.unwrap_or_else(|e| {
                        panic!("{worker}: call {calls}: {}", describe(&e));
                    });
                    calls += 1;
                    if rows.is_empty() {
                        break;
                    }
                    assert!(rows.len() <= N as usize, "{worker}: {} rows", rows.len());
                    let mut last: Option<(std::time::SystemTime, String)> = None;
                    for row in &rows {
                        let (job_id, status): (String, String) = (row.get(0), row.get(1));
                        assert_eq!(status, "in_queue", "{worker}: {job_id}");
                        let key = (row.get(2), job_id.clone());
                        assert!(
                            last.as_ref().is_none_or(|l| *l < key),
                            "{worker}: call {calls}: {job_id} out of (created_at, job_id) order"
                        );
                        last = Some(key);
                        got.push(job_id);
                    }
                }
                finished.fetch_add(1, Ordering::SeqCst);
                (worker, got, calls)
            })
        })
        .collect();
    let results: Vec<(String, Vec<String>, usize)> = threads
        .into_iter()
        .map(|t| t.join().expect("a claimer panicked"))
        .collect();
    let took = began.elapsed();
    let (waits, polls, polls_in_calls) = monitor.join().expect("the monitor panicked");
    let (extensions, waits): (Vec<Wait>, Vec<Wait>) =
        waits.into_iter().partition(Wait::is_extension);
    // Seen by pg_blocking_pids, over by the time the lock table was read:
    // shorter than the gap between two reads of it, so never a wait for a
    // job, which lasts until the claimer holding it commits (a wait for a
    // job that long is also seen whole by the polls around it).
    let (unclassified, other_waits): (Vec<Wait>, Vec<Wait>) =
        waits.into_iter().partition(|w| w.locks.is_empty());

    let mut claimed_by: BTreeMap<String, String> = BTreeMap::new();
    let mut duplicates: Vec<String> = Vec::new();
    for (worker, got, _) in &results {
        for job_id in got {
            if let Some(other) = claimed_by.insert(job_id.clone(), worker.clone()) {
                duplicates.push(format!("{job_id}: {other} and {worker}"));
            }
        }
    }
    let figures: Vec<String> = results
        .iter()
        .map(|(w, got, calls)| format!("{w}: {} jobs in {calls} calls", got.len()))
        .collect();
    eprintln!(
        "pg_claim: {CLAIMERS} claimers took {} jobs in {took:?} ({}); the monitor polled \
         {polls} times ({polls_in_calls} while claims were under way) and saw {} waits for \
         the extension of a relation, {} over before they could be classified, {} other waits",
        claimed_by.len(),
        figures.join(", "),
        extensions.len(),
        unclassified.len(),
        other_waits.len()
    );
    assert!(
        duplicates.is_empty(),
        "jobs claimed twice: {:?}",
        &duplicates[..duplicates.len().min(10)]
    );
    let claimed: BTreeSet<String> = claimed_by.keys().cloned().collect();
    assert_eq!(
        claimed.len(),
        pending.len(),
        "jobs claimed {} of {} pending; never claimed: {:?}",
        claimed.len(),
        pending.len(),
        pending.difference(&claimed).take(10).collect::<Vec<_>>()
    );
    assert_eq!(claimed, pending, "the claimed jobs are the pending ones");
    assert!(
        other_waits.is_empty(),
        "claimers waited for a lock ({} times seen): {:#?}",
        other_waits.len(),
        &other_waits[..other_waits.len().min(10)]
    );
    if !extensions.is_empty() || !unclassified.is_empty() {
        eprintln!(
            "pg_claim: waits for the extension of a relation: {:#?}; over before they could \
             be classified: {:#?}",
            &extensions[..extensions.len().min(5)],
            &unclassified[..unclassified.len().min(5)]
        );
    }
    assert!(
        polls_in_calls > 0,
        "the monitor never polled while a claim was under way ({polls} polls): nothing shown"
    );

    // In the base tables: each claimed job in_queue with its claimer's
    // worker; every other job as it was.
    let after = base_rows(&mut setup);
    assert_eq!(after.len(), before.len());
    let mut wrong: Vec<String> = Vec::new();
    for (job_id, (status, worker)) in &after {
        let expected = match claimed_by.get(job_id) {
            Some(w) => ("in_queue".to_owned(), Some(w.clone())),
            None => before[job_id].clone(),
        };
        if (status, worker) != (&expected.0, &expected.1) {
            wrong.push(format!(
                "{job_id}: {status} {worker:?}, expected {expected:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} jobs differ: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert_exact(&mut setup, "after the claims");
    let in_queue: i64 = setup
        .query_one(
            "SELECT count(*) FROM jobtrack.job_summary_cache
             WHERE status = 'in_queue' AND job_id LIKE 'c%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(in_queue, pending.len() as i64, "summary rows in_queue");

    drop(setup);
    jobtrack_tests::drop_database(DATABASE);
}

/// A claim passes over a pending job another transaction holds: with the
/// oldest pending job locked by an open transaction, claims return the
/// next oldest at once (a wait would end in lock_timeout's 55P03); once
/// that transaction ends, the job is still pending and the next claim
/// takes it.
#[test]
fn pg_claim_passes_over_a_locked_job() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_claim_locked";
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    pending_jobs(&mut setup, "le", "lv", 5);
    let order = pending_ids(&mut setup);
    // le000001, lv000001, le000002, lv000002, …
    assert_eq!(order[..3], ["le000001", "lv000001", "le000002"]);

    let mut holder = connect(&url);
    holder
        .batch_execute(
            "BEGIN; SELECT job_id FROM jobtrack.executions WHERE job_id = 'le000001' FOR UPDATE",
        )
        .expect("lock the oldest pending job");
    let mut claimer = connect(&url);
    // A bound, not a measure: a claim that waited for the holder would
    // otherwise wait for ever, since the holder commits only after it.
    claimer
        .batch_execute("SET lock_timeout = '5s'")
        .expect("set lock_timeout");
    let first = claim(&mut claimer, 1, "b")
        .unwrap_or_else(|e| panic!("claim while le000001 is locked: {}", describe(&e)));
    assert_eq!(first, ["lv000001"], "the next oldest, not the locked job");
    let next = claim(&mut claimer, 2, "b")
        .unwrap_or_else(|e| panic!("second claim while le000001 is locked: {}", describe(&e)));
    assert_eq!(next, ["le000002", "lv000002"]);
    holder.batch_execute("COMMIT").expect("commit the holder");

    let rows = base_rows(&mut setup);
    assert_eq!(rows["le000001"], ("pending".to_owned(), None));
    assert_eq!(
        rows["lv000001"],
        ("in_queue".to_owned(), Some("b".to_owned()))
    );
    let later = claim(&mut claimer, 1, "c").expect("claim after the commit");
    assert_eq!(later, ["le000001"], "the job the holder had locked");
    let rows = base_rows(&mut setup);
    assert_eq!(
        rows["le000001"],
        ("in_queue".to_owned(), Some("c".to_owned()))
    );
    assert_eq!(pending_ids(&mut setup).len(), 10 - 4);
    assert_exact(&mut setup, "after the claims");

    drop((setup, holder, claimer));
    jobtrack_tests::drop_database(DATABASE);
}

/// The role of [`pg_claim_judges_a_job_changed_after_its_snapshot_again`]:
/// cluster-wide, so named for this test.
const GATED: &str = "jt_claim_gated";

/// A job that a concurrent transaction moves out of pending and commits
/// after the claim took its snapshot, but before the claim locks it, is
/// judged again on its new version and not claimed. The window is made
/// deterministic with row-level security: for a role under a policy that
/// calls `public.claim_gate(job_id)`, reading the oldest job waits for an
/// advisory lock the test holds, inside the claim's scan (after its
/// snapshot, before its row lock). A plain SELECT in the same window still
/// sees the job pending (the snapshot predates the commit); the claim
/// returns the next oldest job, and the changed job keeps its new status
/// and no worker.
#[test]
fn pg_claim_judges_a_job_changed_after_its_snapshot_again() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_claim_recheck";
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    setup
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {GATED};
             CREATE ROLE {GATED} LOGIN NOSUPERUSER NOBYPASSRLS;
             GRANT USAGE ON SCHEMA jobtrack TO {GATED};
             GRANT SELECT ON ALL TABLES IN SCHEMA jobtrack TO {GATED};
             GRANT INSERT, UPDATE, DELETE ON jobtrack.executions, jobtrack.variations TO {GATED};
             CREATE FUNCTION public.claim_gate(id text) RETURNS boolean
             LANGUAGE plpgsql VOLATILE AS $$
             BEGIN
                 IF id = 're000001' THEN
                     -- Waits while the test holds the lock exclusively.
                     PERFORM pg_advisory_xact_lock_shared(4815);
                 END IF;
                 RETURN true;
             END
             $$;
             ALTER TABLE jobtrack.executions ENABLE ROW LEVEL SECURITY;
             CREATE POLICY gate ON jobtrack.executions
                 USING (public.claim_gate(job_id)) WITH CHECK (true);"
        ))
        .expect("set up the gated role");
    pending_jobs(&mut setup, "re", "rv", 3);
    let order = pending_ids(&mut setup);
    assert_eq!(order[..2], ["re000001", "rv000001"]);
    let gated_url = jobtrack_tests::dump::as_user(&url, GATED);

    // Runs `sql` as the gated role in a thread, stopped at the gate; moves
    // re000001 to training and commits meanwhile; opens the gate. Returns
    // the ids `sql` returned.
    let mut run_through_gate = |sql: &'static str| -> Vec<String> {
        let mut gate = connect(&url);
        gate.batch_execute("SELECT pg_advisory_lock(4815)")
            .expect("close the gate");
        let gate_pid = backend_pid(&mut gate);
        let mut gated = connect(&gated_url);
        let gated_pid = backend_pid(&mut gated);
        setup
            .batch_execute("SELECT jobtrack.update_execution_status('re000001', 'pending')")
            .expect("re000001 pending");
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
            let waits = waiting(&mut monitor, &[gated_pid]);
            if waits.iter().any(|w| w.blockers.contains(&gate_pid)) {
                break true;
            }
            if finished_before {
                break false;
            }
        };
        assert!(stopped, "{sql}: never stopped at the gate");
        setup
            .batch_execute("SELECT jobtrack.update_execution_status('re000001', 'training')")
            .expect("move re000001 to training while the claim waits");
        gate.batch_execute("SELECT pg_advisory_unlock(4815)")
            .expect("open the gate");
        query
            .join()
            .expect("the gated thread panicked")
            .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
    };

    // Control: the snapshot taken before the commit sees re000001 pending.
    let seen = run_through_gate(
        "SELECT job_id FROM (
             SELECT job_id, created_at FROM jobtrack.executions WHERE status = 'pending'
             UNION ALL
             SELECT job_id, created_at FROM jobtrack.variations WHERE status = 'pending') AS j
         ORDER BY created_at, job_id LIMIT 1",
    );
    assert_eq!(
        seen,
        ["re000001"],
        "the window: the snapshot saw it pending"
    );
    let claimed = run_through_gate("SELECT job_id FROM jobtrack.claim_next_jobs(1, 'gated')");
    assert_eq!(
        claimed,
        ["rv000001"],
        "a job that left pending after the claim's snapshot was claimed"
    );
    let rows = base_rows(&mut setup);
    assert_eq!(rows["re000001"], ("training".to_owned(), None));
    assert_eq!(
        rows["rv000001"],
        ("in_queue".to_owned(), Some("gated".to_owned()))
    );
    assert_exact(&mut setup, "after the claim");

    drop(setup);
    jobtrack_tests::drop_database(DATABASE);
    connect(&jobtrack_tests::dump::server_url())
        .batch_execute(&format!("DROP ROLE IF EXISTS {GATED}"))
        .expect("drop the role");
}

/// The jobs `claim_next_jobs(n, worker)` returns through SQL, as Job rows,
/// in a transaction rolled back: what the call would return now.
fn claim_rolled_back(client: &mut Client, n: i32, worker: &str) -> Vec<Job> {
    let mut tx = client.transaction().expect("begin");
    let jobs = tx
        .query(
            "SELECT row_to_json(t)::text FROM jobtrack.claim_next_jobs($1, $2) AS t",
            &[&n, &worker],
        )
        .unwrap_or_else(|e| panic!("claim_next_jobs({n}, {worker}): {}", describe(&e)))
        .iter()
        .map(|row| serde_json::from_str(row.get(0)).expect("a Job row"))
        .collect();
    tx.rollback().expect("rollback");
    jobs
}

/// The jobs view's rows of `ids`, in the order of `ids`.
fn view_rows(client: &mut Client, ids: &[String]) -> Vec<Job> {
    let by_id: BTreeMap<String, Job> = client
        .query(
            "SELECT job_id, row_to_json(j)::text FROM jobtrack.jobs AS j
             WHERE job_id = ANY ($1)",
            &[&ids],
        )
        .expect("read the jobs view")
        .iter()
        .map(|row| {
            (
                row.get(0),
                serde_json::from_str(row.get(1)).expect("a Job row"),
            )
        })
        .collect();
    ids.iter().map(|id| by_id[id].clone()).collect()
}

/// `updated_at` aside: two claims at different times differ there only.
fn but_updated_at(jobs: &[Job]) -> Vec<Job> {
    jobs.iter()
        .map(|j| Job {
            updated_at: j.created_at,
            ..j.clone()
        })
        .collect()
}

/// PgStore's claim_next_jobs returns, on the same data, the jobs the SQL
/// function returns (tried first in a transaction rolled back), in the
/// same order and with the same columns but for updated_at, which is the
/// stored one; records the worker; and refuses bad n and worker with
/// 22023 naming them, nothing applied.
#[test]
fn pg_claim_through_pgstore_as_through_sql() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_claim_store";
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    pending_jobs(&mut setup, "se", "sv", 12);
    create_executions(&mut setup, "st", 3, "training");
    setup
        .batch_execute(
            "SELECT jobtrack.update_execution_status('se000002', 'failed', 'boom');
             SELECT jobtrack.update_execution_status('se000002', 'pending');
             SELECT jobtrack.update_execution_status('se000003', 'training');
             SELECT jobtrack.update_progress('se000003', 2);
             SELECT jobtrack.update_execution_status('se000003', 'pending');",
        )
        .expect("give some jobs a past");
    let store = PgStore::connect(&url).expect("PgStore::connect");

    let mut claimed_total = 0;
    for (n, worker, expected) in [(5, "s1", 5), (100, "s2", 19), (3, "s3", 0)] {
        let by_sql = claim_rolled_back(&mut setup, n, worker);
        let by_store = store
            .claim_next_jobs(n, worker)
            .unwrap_or_else(|e| panic!("PgStore claim_next_jobs({n}, {worker}): {e}"));
        assert_eq!(by_store.len(), expected, "claim({n}, {worker})");
        assert_eq!(
            but_updated_at(&by_store),
            but_updated_at(&by_sql),
            "claim({n}, {worker}): PgStore and SQL differ"
        );
        let ids: Vec<String> = by_store.iter().map(|j| j.job_id.clone()).collect();
        assert_eq!(
            by_store,
            view_rows(&mut setup, &ids),
            "claim({n}, {worker}): the rows returned are not the stored ones"
        );
        let rows = base_rows(&mut setup);
        for id in &ids {
            assert_eq!(
                rows[id],
                ("in_queue".to_owned(), Some(worker.to_owned())),
                "{id}"
            );
        }
        claimed_total += ids.len();
    }
    assert_eq!(claimed_total, 24);
    assert_exact(&mut setup, "after the claims");

    // Bad arguments: 22023 naming the argument; the pending job stays so.
    setup
        .batch_execute(
            r#"SELECT jobtrack.create_execution('{"job_id": "se-late", "pipeline_mode": "single",
                   "dataset_name": "d", "preset": "p"}')"#,
        )
        .expect("create a pending job");
    let long = "w".repeat(256);
    for (n, worker, field) in [
        (0, "w", "\"n\""),
        (-1, "w", "\"n\""),
        (10_001, "w", "\"n\""),
        (i32::MIN, "w", "\"n\""),
        (i32::MAX, "w", "\"n\""),
        (1, "", "\"worker\""),
        (1, long.as_str(), "\"worker\""),
    ] {
        let e = store
            .claim_next_jobs(n, worker)
            .expect_err("a bad claim must fail");
        assert_eq!(e.sqlstate(), "22023", "claim({n}, {worker:.10}): {e}");
        assert!(
            e.to_string().contains(field),
            "claim({n}, {worker:.10}): {e} does not name {field}"
        );
    }
    let rows = base_rows(&mut setup);
    assert_eq!(rows["se-late"], ("pending".to_owned(), None));
    let sql_errors: Vec<String> = [(0, "w"), (1, "")]
        .iter()
        .map(|&(n, w)| sqlstate(&claim(&mut setup, n, w).expect_err("a bad claim must fail")))
        .collect();
    assert_eq!(sql_errors, ["22023", "22023"]);
    let jobs = store.claim_next_jobs(1, "s4").expect("claim se-late");
    assert_eq!(
        jobs.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(),
        ["se-late"]
    );
    assert_exact(&mut setup, "after the errors");

    drop((setup, store));
    jobtrack_tests::drop_database(DATABASE);
}

/// PgStore refuses a worker containing the NUL character as the SQLite
/// store does (sqlite_lib/tests/claim.rs): 22023 naming `worker`, not the
/// server's 22021 about the encoding, which names no argument; nothing is
/// claimed.
#[test]
fn pg_claim_through_pgstore_refuses_a_nul_in_worker_naming_it() {
    let _serial = one_at_a_time();
    const DATABASE: &str = "jobtrack_claim_nul";
    let url = jobtrack_tests::fresh_database(DATABASE);
    let mut setup = connect(&url);
    pending_jobs(&mut setup, "ne", "nv", 1);
    let store = PgStore::connect(&url).expect("PgStore::connect");
    let e = store
        .claim_next_jobs(1, "w\0x")
        .expect_err("a worker with a NUL must be refused");
    let (state, message) = (e.sqlstate().to_owned(), e.to_string());
    let pending = pending_ids(&mut setup).len();
    drop((setup, store));
    jobtrack_tests::drop_database(DATABASE);
    assert_eq!(pending, 2, "nothing claimed");
    assert_eq!(state, "22023", "{message}");
    assert!(
        message.contains("\"worker\""),
        "{message} names no argument"
    );
}
