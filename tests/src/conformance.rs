//! The runner of the conformance suite (`tests/conformance/scenarios.json`):
//! the scenario loop, and the PostgreSQL backend that calls the extension's
//! SQL functions with calls built from each Operation's signature. Shared by
//! `tests/tests/conformance.rs` (SQLite, the server, `PgStore`) and
//! `tests/tests/pg_bouncer.rs` (the server through PgBouncer).

use std::collections::BTreeSet;

use jobtrack_core::conformance::normalize;
use jobtrack_core::{Operation, Returns};
use postgres::types::{ToSql, Type};
use serde_json::{json, Value};

const SCENARIOS: &str = include_str!("../conformance/scenarios.json");

/// What one step produced: a result or an error (SQLSTATE, message).
pub type Outcome = Result<Value, (String, String)>;

/// A store the scenarios run on.
pub trait Backend {
    /// Calls operation `op` with the scenario's JSON arguments.
    fn call(&mut self, op: Operation, args: &[Value]) -> Outcome;
    /// Runs a scenario's plain-SQL step, as another program would.
    fn plain_sql(&mut self, sql: &str);
}

fn scenarios() -> Vec<Value> {
    let doc: Value = serde_json::from_str(SCENARIOS).expect("scenarios.json parses");
    doc["scenarios"]
        .as_array()
        .expect("a scenarios array")
        .clone()
}

/// The names of the operations the scenarios call.
pub fn operations_called() -> BTreeSet<String> {
    scenarios()
        .iter()
        .flat_map(|scenario| scenario["steps"].as_array().unwrap().clone())
        .filter_map(|step| step.get("call").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Runs every scenario on fresh backends from `make_backend`; returns the
/// mismatches, each described fully.
pub fn run_all(
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

/// Fails with every mismatch unless there are none.
pub fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} conformance mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// How [`Postgres`] sends a call.
#[derive(Clone, Copy, Debug)]
pub enum Statements {
    /// A named prepared statement per call (`Client::query_one`), as most
    /// clients send them: parse, then bind and execute, then close, each a
    /// round trip of its own.
    Prepared,
    /// One round trip per call with the unnamed statement
    /// (`Client::query_typed_one`, every parameter typed `text`). A pooler
    /// in transaction mode may hand each round trip outside a transaction
    /// to another server connection, where a named statement prepared on
    /// the first does not exist; one round trip stays on one.
    Unnamed,
}

/// The extension through SQL: each call is built from the Operation's
/// signature, and its arguments travel as text that the server casts.
pub struct Postgres {
    client: postgres::Client,
    statements: Statements,
}

impl Postgres {
    /// A backend calling through `client`, sending calls as `statements`
    /// says.
    pub fn new(client: postgres::Client, statements: Statements) -> Postgres {
        Postgres { client, statements }
    }
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
        } else if let Returns::Procedure(_) = op.returns() {
            // Its one row, the INOUT report, comes back uncast: read as
            // JSON below.
            format!("CALL {call}")
        } else {
            format!("SELECT to_jsonb({call})::text")
        };
        let result = match self.statements {
            Statements::Prepared => {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                self.client.query_one(sql.as_str(), &refs)
            }
            Statements::Unnamed => {
                let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
                    .iter()
                    .map(|p| (p as &(dyn ToSql + Sync), Type::TEXT))
                    .collect();
                self.client.query_typed_one(sql.as_str(), &typed)
            }
        };
        match result {
            Ok(row) => Ok(match op.returns() {
                Returns::Procedure(_) => row.get::<_, postgres::types::Json<Value>>(0).0,
                _ => serde_json::from_str(row.get::<_, &str>(0)).unwrap(),
            }),
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

/// Empties the database behind `client` for the next scenario: no jobs,
/// derived tables, cache entries or metrics left by the scenario before.
/// One statement string, so one transaction even behind a pooler.
pub fn reset_database(client: &mut postgres::Client) {
    client
        .batch_execute(
            "TRUNCATE jobtrack.executions, jobtrack.variations;
             SELECT jobtrack.refresh_job_cache();
             SELECT jobtrack.invalidate_cache();
             SELECT jobtrack.reset_transaction_metrics();",
        )
        .unwrap();
}

/// A session on an empty database ([`reset_database`]) whose `search_path`
/// lets the scenarios' plain SQL name the tables without their schema.
pub fn fresh_session(db_url: &str) -> postgres::Client {
    let mut client = postgres::Client::connect(db_url, postgres::NoTls).unwrap();
    client
        .batch_execute("SET search_path = jobtrack, public")
        .unwrap();
    reset_database(&mut client);
    client
}
