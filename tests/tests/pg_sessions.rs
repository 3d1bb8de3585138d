//! Many sessions against a real PostgreSQL server (`JOBTRACK_PG_URL`, set by
//! `make test`): transactions that touch disjoint jobs must never wait for
//! each other nor deadlock, however many sessions there are — not even
//! behind a session that is idle in a transaction or whose transaction is
//! prepared — and the counters must stay exact.
//!
//! Every session's jobs are its own, but all of them are in the same
//! datasets with the same status transitions, so that they would share
//! counter keys: a counter kept in rows that writers update in place (one
//! row per key, or a fixed number of shards per key) makes such writers
//! queue behind each other's commits and deadlock when they meet two keys
//! in opposite orders. 40 sessions, more than any fixed number of shards a
//! cluster's first backends would spread over.
//!
//! The two tests run one at a time: each opens more than 40 connections.

use std::collections::BTreeMap;
use std::sync::{Barrier, Mutex, MutexGuard};
use std::thread;

use jobtrack_tests::summary_mismatches;
use postgres::{Client, NoTls};
use serde_json::{json, Value};

const SESSIONS: usize = 40;
/// Connections opened first and left idle, so that the sessions' backend
/// slots lie beyond the first 16 whatever else the server runs.
const IDLE: usize = 3;
/// Transactions of each session in the deadlock test.
const TRANSACTIONS: usize = 200;
const SHARED: &str = "shared";

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).expect("connect to the test database")
}

/// The SQLSTATE of a failed call, or its message when it has none (a lost
/// connection).
fn sqlstate(error: &postgres::Error) -> String {
    match error.code() {
        Some(code) => code.code().to_owned(),
        None => error.to_string(),
    }
}

fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => error.to_string(),
    }
}

fn execution(id: &str, dataset: &str, status: &str) -> Value {
    json!({"job_id": id, "pipeline_mode": "batch", "dataset_name": dataset, "preset": "p",
           "total_steps": 10, "status": status})
}

fn variation(id: &str, dataset: &str, status: &str) -> Value {
    json!({"job_id": id, "variation_id": id, "experiment_name": "sweep", "dataset_name": dataset,
           "preset": "p", "total_combinations": 4, "status": status})
}

/// The rows of `verify_statistics()`: empty when the counters are exact.
fn differences(client: &mut Client) -> Vec<String> {
    client
        .query("SELECT v::text FROM jobtrack.verify_statistics() AS v", &[])
        .expect("verify_statistics()")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// How session 0 holds its transaction open while the others write.
#[derive(Clone, Copy, Debug)]
enum Holder {
    /// BEGIN … (idle in transaction) … COMMIT.
    IdleThenCommit,
    /// PREPARE TRANSACTION … COMMIT PREPARED.
    PreparedThenCommit,
    /// PREPARE TRANSACTION … ROLLBACK PREPARED.
    PreparedThenRollback,
}

impl Holder {
    fn commits(self) -> bool {
        !matches!(self, Holder::PreparedThenRollback)
    }
}

/// Rolls a prepared transaction back unless it was resolved: a prepared
/// transaction outlives its session and would keep the test database from
/// being dropped, and its locks from being released, after a failed run.
struct Prepared<'a> {
    url: &'a str,
    gid: String,
    resolved: bool,
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        if !self.resolved {
            if let Ok(mut client) = Client::connect(self.url, NoTls) {
                let _ = client.batch_execute(&format!("ROLLBACK PREPARED '{}'", self.gid));
            }
        }
    }
}

/// The `days` argument of session `k`'s cleanup in phase `phase`: the
/// session's own old job is half a day older than that, every later
/// session's is younger, so each cleanup deletes exactly its own old job
/// (and any an earlier, failed cleanup left behind).
fn cleanup_days(phase: usize, k: usize) -> i32 {
    (1000 - phase * SESSIONS - k) as i32
}

/// The writes of session `k` (not 0) in phase `p`, each its own
/// transaction; returns the failures.
fn disjoint_writes(client: &mut Client, p: usize, k: usize) -> Vec<String> {
    let mut failures = Vec::new();
    let mut check = |what: &str, result: Result<bool, postgres::Error>| match result {
        Ok(true) => {}
        Ok(false) => failures.push(format!("phase {p}, session {k}: {what}: wrong result")),
        Err(e) => failures.push(format!("phase {p}, session {k}: {what}: {}", describe(&e))),
    };
    let batch = json!([{"job_id": format!("p{p}-{k}-batch"), "status": "done"}]).to_string();
    check(
        "batch_update_execution_status",
        client
            .query_one(
                "SELECT jobtrack.batch_update_execution_status($1::text::jsonb)",
                &[&batch],
            )
            .map(|row| row.get::<_, i32>(0) == 1),
    );
    check(
        "update_execution_status",
        client
            .query_one(
                "SELECT jobtrack.update_execution_status($1, 'done')",
                &[&format!("p{p}-{k}-single")],
            )
            .map(|row| row.get::<_, bool>(0)),
    );
    check(
        "update_progress",
        client
            .query_one(
                "SELECT jobtrack.update_progress($1, 5)",
                &[&format!("p{p}-{k}-progress")],
            )
            .map(|row| row.get::<_, bool>(0)),
    );
    let new = execution(&format!("p{p}-{k}-new"), SHARED, "pending").to_string();
    check(
        "create_execution",
        client
            .query_one("SELECT jobtrack.create_execution($1::text::jsonb)", &[&new])
            .map(|_| true),
    );
    failures
}

/// Session `k`'s cleanup in phase `p`: deletes its own old job.
fn cleanup(client: &mut Client, p: usize, k: usize) -> Option<String> {
    let result = client.query_one(
        "SELECT (jobtrack.cleanup_old_jobs($1) ->> 'executions_deleted')::int",
        &[&cleanup_days(p, k)],
    );
    match result {
        Ok(row) if row.get::<_, i32>(0) >= 1 => None,
        Ok(_) => Some(format!(
            "phase {p}, session {k}: cleanup_old_jobs: deleted nothing"
        )),
        Err(e) => Some(format!(
            "phase {p}, session {k}: cleanup_old_jobs: {}",
            describe(&e)
        )),
    }
}

#[test]
fn disjoint_jobs_never_wait_behind_an_idle_or_prepared_transaction() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_sessions_wait");
    let mut setup = connect(&url);
    let _idle: Vec<Client> = (0..IDLE).map(|_| connect(&url)).collect();
    let mut sessions: Vec<Client> = (0..SESSIONS).map(|_| connect(&url)).collect();
    for session in &mut sessions {
        // A wait for another transaction's lock becomes an error (55P03)
        // after 2 s instead of a hang: no write here may wait at all.
        session
            .batch_execute("SET lock_timeout = '2s'")
            .expect("set lock_timeout");
    }

    let mut failures = Vec::new();
    let phases = [
        Holder::IdleThenCommit,
        Holder::PreparedThenCommit,
        Holder::PreparedThenRollback,
    ];
    for (p, holder) in phases.into_iter().enumerate() {
        // Every session's jobs of this phase, in the shared dataset; the old
        // ones are done and aged, for cleanup.
        let mut jobs = vec![execution(&format!("p{p}-0-held"), SHARED, "pending")];
        for k in 1..SESSIONS {
            jobs.push(execution(&format!("p{p}-{k}-batch"), SHARED, "pending"));
            jobs.push(execution(&format!("p{p}-{k}-single"), SHARED, "pending"));
            jobs.push(execution(&format!("p{p}-{k}-progress"), SHARED, "training"));
            jobs.push(execution(&format!("p{p}-{k}-old"), SHARED, "done"));
        }
        setup
            .query_one(
                "SELECT jobtrack.batch_create_executions($1::text::jsonb)",
                &[&Value::Array(jobs).to_string()],
            )
            .expect("create the phase's jobs");
        for k in 1..SESSIONS {
            setup
                .execute(
                    "UPDATE jobtrack.executions \
                     SET created_at = now() - make_interval(days => $2) - interval '12 hours' \
                     WHERE job_id = $1",
                    &[&format!("p{p}-{k}-old"), &cleanup_days(p, k)],
                )
                .expect("age an old job");
        }

        // Session 0 moves a job from pending to done and creates a pending
        // one — the counter keys every other session writes below — and
        // holds its transaction open.
        let (first, others) = sessions.split_first_mut().expect("sessions");
        let created = execution(&format!("p{p}-0-created"), SHARED, "pending").to_string();
        first
            .batch_execute("BEGIN")
            .and_then(|_| {
                first.query_one(
                    "SELECT jobtrack.update_execution_status($1, 'done')",
                    &[&format!("p{p}-0-held")],
                )
            })
            .and_then(|_| {
                first.query_one(
                    "SELECT jobtrack.create_execution($1::text::jsonb)",
                    &[&created],
                )
            })
            .expect("session 0's transaction");
        let mut prepared = None;
        if !matches!(holder, Holder::IdleThenCommit) {
            let gid = format!("jobtrack_sessions_{p}");
            first
                .batch_execute(&format!("PREPARE TRANSACTION '{gid}'"))
                .expect("PREPARE TRANSACTION (max_prepared_transactions must be > 0)");
            prepared = Some(Prepared {
                url: &url,
                gid,
                resolved: false,
            });
        }

        // Every other session at once, each on its own jobs.
        let found: Vec<String> = thread::scope(|scope| {
            let workers: Vec<_> = others
                .iter_mut()
                .enumerate()
                .map(|(i, client)| scope.spawn(move || disjoint_writes(client, p, i + 1)))
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("a session panicked"))
                .collect()
        });
        failures.extend(found.into_iter().map(|f| format!("{holder:?}: {f}")));
        // Cleanup one session after the other: a cleanup also deletes every
        // old job older than its own (those of the sessions before it, if
        // their cleanup failed), so concurrent cleanups could meet there.
        for (i, client) in others.iter_mut().enumerate() {
            if let Some(f) = cleanup(client, p, i + 1) {
                failures.push(format!("{holder:?}: {f}"));
            }
        }

        match &mut prepared {
            None => first.batch_execute("COMMIT").expect("COMMIT"),
            Some(prepared) => {
                let verb = if holder.commits() {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                };
                first
                    .batch_execute(&format!("{verb} PREPARED '{}'", prepared.gid))
                    .expect("resolve the prepared transaction");
                prepared.resolved = true;
            }
        }
        let row = setup
            .query_one(
                "SELECT (SELECT status FROM jobtrack.executions WHERE job_id = $1), \
                        EXISTS (SELECT FROM jobtrack.executions WHERE job_id = $2)",
                &[&format!("p{p}-0-held"), &format!("p{p}-0-created")],
            )
            .expect("read session 0's jobs");
        let (status, exists): (String, bool) = (row.get(0), row.get(1));
        let want = if holder.commits() { "done" } else { "pending" };
        assert_eq!(
            (status.as_str(), exists),
            (want, holder.commits()),
            "{holder:?}: session 0's changes after its transaction ended"
        );
        let diffs = differences(&mut setup);
        assert!(
            diffs.is_empty(),
            "{holder:?}: verify_statistics() is not empty:\n{}",
            diffs.join("\n")
        );
    }

    let mismatches = summary_mismatches(&mut setup);
    assert!(
        failures.is_empty() && mismatches.is_empty(),
        "{} writes on disjoint jobs failed or waited behind session 0 \
         (55P03: lock_timeout, i.e. a wait for another transaction's lock):\n{}\n\
         summary vs base tables:\n{}",
        failures.len(),
        failures.join("\n"),
        mismatches.join("\n")
    );
    drop(sessions);
    jobtrack_tests::drop_database("jobtrack_sessions_wait");
}

/// Transaction `t` of session `k`: moves the session's job in dataset A (an
/// execution) and its job in dataset B (a variation) to `status`. Even
/// sessions go A then B in their even transactions, odd sessions B then A,
/// and each session turns round in every other transaction: at any moment
/// about half the sessions go each way, and any two sessions meet in
/// opposite orders, however the server groups them (sessions k and k + 16
/// have the same parity). The three ways of writing alternate: the
/// single-job functions, the batch functions, plain SQL.
fn crossed_transaction(
    client: &mut Client,
    k: usize,
    t: usize,
    status: &str,
) -> Result<(), postgres::Error> {
    let (a, b) = (format!("a{k}"), format!("b{k}"));
    let mut tx = client.transaction()?;
    let mut write = |table: &str, id: &str| -> Result<(), postgres::Error> {
        let kind = if table == "executions" {
            "execution"
        } else {
            "variation"
        };
        let changed = match t % 3 {
            0 => tx
                .query_one(
                    &format!("SELECT jobtrack.update_{kind}_status($1, $2)::int"),
                    &[&id, &status],
                )?
                .get::<_, i32>(0),
            1 => {
                let batch = json!([{"job_id": id, "status": status}]).to_string();
                tx.query_one(
                    &format!("SELECT jobtrack.batch_update_{kind}_status($1::text::jsonb)"),
                    &[&batch],
                )?
                .get::<_, i32>(0)
            }
            _ => {
                // A duration too, so that the duration sums move as well.
                let seconds = (k * TRANSACTIONS + t) as f64 / 8.0;
                tx.execute(
                    &format!(
                        "UPDATE jobtrack.{table} SET status = $2, \
                         success = CASE $2 WHEN 'done' THEN true WHEN 'failed' THEN false END, \
                         duration_seconds = $3, updated_at = now() WHERE job_id = $1"
                    ),
                    &[&id, &status, &seconds],
                )? as i32
            }
        };
        assert_eq!(changed, 1, "session {k} changes its own job {id}");
        Ok(())
    };
    if (k + t).is_multiple_of(2) {
        write("executions", &a)?;
        write("variations", &b)?;
    } else {
        write("variations", &b)?;
        write("executions", &a)?;
    }
    tx.commit()
}

#[test]
fn opposite_order_transactions_on_disjoint_jobs_never_deadlock() {
    let _serial = serial();
    let url = jobtrack_tests::fresh_database("jobtrack_sessions_deadlock");
    let mut setup = connect(&url);
    let executions: Vec<Value> = (0..SESSIONS)
        .map(|k| execution(&format!("a{k}"), "A", "pending"))
        .collect();
    let variations: Vec<Value> = (0..SESSIONS)
        .map(|k| variation(&format!("b{k}"), "B", "pending"))
        .collect();
    setup
        .query_one(
            "SELECT jobtrack.batch_create_executions($1::text::jsonb), \
                    jobtrack.batch_create_variations($2::text::jsonb)",
            &[
                &Value::Array(executions).to_string(),
                &Value::Array(variations).to_string(),
            ],
        )
        .expect("create the sessions' jobs");

    // Every session walks the same statuses in step, so that all of them
    // write the same counter keys at about the same time.
    const CYCLE: &[&str] = &["training", "done", "failed", "pending"];
    let mut clients: Vec<Client> = (0..SESSIONS).map(|_| connect(&url)).collect();
    let start = Barrier::new(SESSIONS);
    let failures: BTreeMap<String, u64> = thread::scope(|scope| {
        let workers: Vec<_> = clients
            .iter_mut()
            .enumerate()
            .map(|(k, client)| {
                let start = &start;
                scope.spawn(move || {
                    let mut failures = BTreeMap::<String, u64>::new();
                    start.wait();
                    for t in 0..TRANSACTIONS {
                        if let Err(e) = crossed_transaction(client, k, t, CYCLE[t % CYCLE.len()]) {
                            *failures.entry(sqlstate(&e)).or_default() += 1;
                        }
                    }
                    failures
                })
            })
            .collect();
        let mut all = BTreeMap::new();
        for worker in workers {
            for (code, n) in worker.join().expect("a session panicked") {
                *all.entry(code).or_default() += n;
            }
        }
        all
    });

    let diffs = differences(&mut setup);
    let mismatches = summary_mismatches(&mut setup);
    let total: u64 = failures.values().sum();
    assert!(
        failures.is_empty() && diffs.is_empty() && mismatches.is_empty(),
        "{total} of {} transactions on disjoint jobs failed, by SQLSTATE (40P01: deadlock): \
         {failures:?}\nverify_statistics():\n{}\nsummary vs base tables:\n{}",
        SESSIONS * TRANSACTIONS,
        diffs.join("\n"),
        mismatches.join("\n")
    );
    drop(clients);
    jobtrack_tests::drop_database("jobtrack_sessions_deadlock");
}
