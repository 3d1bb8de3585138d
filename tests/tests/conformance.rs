//! The conformance suite: every scenario of `tests/conformance/scenarios.json`
//! runs against the SQLite library, through `jobtrack_core::call` on its
//! `JobApi`, and against the PostgreSQL extension (the server of
//! `JOBTRACK_PG_URL`, which `make test` starts), through SQL calls built
//! from each Operation's signature. Both must produce the scenario's
//! expected JSON — and therefore the same JSON.

use jobtrack_core::conformance::normalize;
use jobtrack_core::{Error, Operation, Returns};
use jobtrack_sqlite::JobStore;
use serde_json::{json, Value};

const SCENARIOS: &str = include_str!("../conformance/scenarios.json");

/// What one step produced: a result or an error, as JSON.
type Outcome = Result<Value, (String, String)>;

trait Backend {
    fn call(&mut self, op: Operation, args: &[Value]) -> Outcome;
    fn plain_sql(&mut self, sql: &str);
}

fn scenarios() -> Vec<Value> {
    let doc: Value = serde_json::from_str(SCENARIOS).expect("scenarios.json parses");
    doc["scenarios"]
        .as_array()
        .expect("a scenarios array")
        .clone()
}

/// Runs every scenario on fresh backends from `make_backend`; returns the
/// mismatches, each described fully.
fn run_all(
    backend_name: &str,
    make_backend: &mut dyn FnMut(&str) -> Box<dyn Backend>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut steps_run = 0;
    for scenario in scenarios() {
        let name = scenario["name"].as_str().unwrap();
        let mut backend = make_backend(name);
        for (i, step) in scenario["steps"].as_array().unwrap().iter().enumerate() {
            steps_run += 1;
            if let Some(sql) = step.get("sql") {
                backend.plain_sql(sql.as_str().unwrap());
                continue;
            }
            let function = step["call"].as_str().unwrap();
            let op = Operation::from_name(function)
                .unwrap_or_else(|| panic!("{name} step {i} calls {function}, not an Operation"));
            let args = step["args"].as_array().unwrap();
            let outcome = backend.call(op, args);
            let (mut got, mut want) = match (outcome, step.get("expect_error")) {
                (Ok(v), None) => (v, step["expect"].clone()),
                (Err((code, msg)), Some(e)) => {
                    (json!({"sqlstate": code, "message": msg}), e.clone())
                }
                (Ok(v), Some(e)) => (json!({"result": v}), json!({"error": e})),
                (Err((code, msg)), None) => (
                    json!({"error": {"sqlstate": code, "message": msg}}),
                    json!({"result": step["expect"]}),
                ),
            };
            normalize(&mut got);
            normalize(&mut want);
            if got != want {
                failures.push(format!(
                    "[{backend_name}] {name} step {i} {function}({})\n  expected: {want}\n  got:      {got}",
                    Value::Array(args.clone())
                ));
            }
        }
    }
    assert!(
        steps_run > 50,
        "the scenario file ran only {steps_run} steps"
    );
    failures
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} conformance mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- SQLite

struct Sqlite {
    store: JobStore,
    other_program: rusqlite::Connection,
    _dir: tempfile::TempDir,
}

fn err(e: Error) -> (String, String) {
    (e.sqlstate().to_owned(), e.to_string())
}

impl Backend for Sqlite {
    fn call(&mut self, op: Operation, args: &[Value]) -> Outcome {
        jobtrack_core::call(&self.store, op, args).map_err(err)
    }

    fn plain_sql(&mut self, sql: &str) {
        self.other_program
            .execute_batch(sql)
            .unwrap_or_else(|e| panic!("plain SQL failed in SQLite: {sql}: {e}"));
    }
}

#[test]
fn sqlite_conformance() {
    report(run_all("sqlite", &mut |_| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conformance.db");
        let store = JobStore::open(&path).unwrap();
        let other_program = rusqlite::Connection::open(&path).unwrap();
        other_program
            .busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        Box::new(Sqlite {
            store,
            other_program,
            _dir: dir,
        })
    }));
}

// ------------------------------------------------------------ PostgreSQL

struct Postgres {
    client: postgres::Client,
}

impl Backend for Postgres {
    fn call(&mut self, op: Operation, args: &[Value]) -> Outcome {
        let function = op.name();
        let types: Vec<&str> = op.parameters().iter().map(|p| p.sql_type).collect();
        assert!(
            args.len() <= types.len(),
            "too many arguments for {function}"
        );
        // Arguments travel as text and are cast by the server, exactly as a
        // client writing `SELECT jobtrack.f('…'::jsonb)` would.
        let params: Vec<Option<String>> = args
            .iter()
            .zip(&types)
            .map(|(v, ty)| match (v, *ty) {
                (Value::Null, _) => None,
                (Value::String(s), ty) if ty != "jsonb" => Some(s.clone()),
                (other, _) => Some(other.to_string()),
            })
            .collect();
        let placeholders: Vec<String> = (0..args.len())
            .map(|i| format!("${}::text::{}", i + 1, types[i]))
            .collect();
        let call = format!("jobtrack.{function}({})", placeholders.join(", "));
        let sql = if op.returns() == Returns::Table {
            format!(
                "SELECT COALESCE(jsonb_agg(to_jsonb(t) - 'ordinality' ORDER BY t.ordinality), '[]')::text \
                 FROM {call} WITH ORDINALITY AS t"
            )
        } else if op.returns() == Returns::Nothing {
            format!("SELECT 'null'::text FROM (SELECT {call}) AS done")
        } else {
            format!("SELECT to_jsonb({call})::text")
        };
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        match self.client.query_one(sql.as_str(), &refs) {
            Ok(row) => Ok(serde_json::from_str(row.get::<_, &str>(0)).unwrap()),
            Err(e) => {
                let db = e
                    .as_db_error()
                    .unwrap_or_else(|| panic!("not a server error from {sql}: {e}"));
                Err((db.code().code().to_owned(), db.message().to_owned()))
            }
        }
    }

    fn plain_sql(&mut self, sql: &str) {
        self.client
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("plain SQL failed in PostgreSQL: {sql}: {e}"));
    }
}

/// A session on an empty database: no jobs, derived tables, cache entries
/// or metrics left by the scenario before.
fn fresh_session(db_url: &str) -> postgres::Client {
    let mut client = postgres::Client::connect(db_url, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "SET search_path = jobtrack, public;
             TRUNCATE jobtrack.executions, jobtrack.variations;
             SELECT jobtrack.refresh_job_cache();
             SELECT jobtrack.invalidate_cache();
             SELECT jobtrack.reset_transaction_metrics();",
        )
        .unwrap();
    client
}

/// The scenarios on the server twice: as SQL calls built from each
/// Operation's signature (the server parses every argument, as a SQL client
/// would send it), then through the Rust client `PgStore`.
#[test]
fn postgres_conformance() {
    // A database of its own, so that other tests against the same server do
    // not disturb the scenarios, and the scenarios do not disturb them.
    let db_url = jobtrack_tests::fresh_database("jobtrack_conformance");
    let failures = run_all("postgresql", &mut |_| {
        let client = fresh_session(&db_url);
        Box::new(Postgres { client })
    });
    let mut failures = failures;
    failures.extend(postgres_client_conformance(&db_url));
    report(failures);
}

// ------------------------------------------ PostgreSQL through PgStore

/// The server through the Rust client: the same `jobtrack_core::call` on
/// `PgStore`'s `JobApi` as on SQLite's `JobStore`, so that the two stores
/// cannot drift apart; plain SQL through a connection of its own.
struct PgClient {
    store: jobtrack_postgres::PgStore,
    other_program: postgres::Client,
}

impl Backend for PgClient {
    fn call(&mut self, op: Operation, args: &[Value]) -> Outcome {
        jobtrack_core::call(&self.store, op, args).map_err(err)
    }

    fn plain_sql(&mut self, sql: &str) {
        self.other_program
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("plain SQL failed in PostgreSQL: {sql}: {e}"));
    }
}

/// Run by `postgres_conformance`, after the SQL runner: the transaction
/// metrics are server-wide, so the two must not run at once.
fn postgres_client_conformance(db_url: &str) -> Vec<String> {
    run_all("postgresql-client", &mut |_| {
        let other_program = fresh_session(db_url);
        let store = jobtrack_postgres::PgStore::connect(db_url).unwrap();
        Box::new(PgClient {
            store,
            other_program,
        })
    })
}
