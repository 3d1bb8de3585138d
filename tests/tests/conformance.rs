//! The conformance suite: every scenario of `tests/conformance/scenarios.json`
//! runs against the SQLite library and, when `JOBTRACK_PG_URL` is set (as
//! `make test` does), against the PostgreSQL extension. Both must produce the
//! scenario's expected JSON — and therefore the same JSON.

use jobtrack_core::conformance::normalize;
use jobtrack_core::{parse_batch, Error, JobInput, NewExecution, NewVariation, Status};
use jobtrack_sqlite::JobStore;
use serde_json::{json, Value};

const SCENARIOS: &str = include_str!("../conformance/scenarios.json");

/// What one step produced: a result or an error, as JSON.
type Outcome = Result<Value, (String, String)>;

trait Backend {
    fn call(&mut self, function: &str, args: &[Value]) -> Outcome;
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
            let args = step["args"].as_array().unwrap();
            let outcome = backend.call(function, args);
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

fn int(args: &[Value], i: usize, default: i64) -> i64 {
    args.get(i)
        .map_or(default, |v| v.as_i64().expect("an integer argument"))
}

fn text(args: &[Value], i: usize) -> &str {
    args[i].as_str().expect("a text argument")
}

impl Sqlite {
    fn dispatch(&mut self, function: &str, args: &[Value]) -> Result<Value, Error> {
        let s = &self.store;
        let status = |i: usize| Status::parse_field(text(args, i), None, "status");
        let message = args.get(2).and_then(Value::as_str);
        let to = |v: Result<Value, serde_json::Error>| {
            v.map_err(|e| Error::database("XX000", e.to_string()))
        };
        let lim = |default| i32::try_from(int(args, 0, default)).expect("lim fits i32");
        Ok(match function {
            "create_execution" => to(serde_json::to_value(
                s.create_execution(&NewExecution::from_json(&args[0], None)?)?,
            ))?,
            "create_variation" => to(serde_json::to_value(
                s.create_variation(&NewVariation::from_json(&args[0], None)?)?,
            ))?,
            "update_execution_status" => {
                json!(s.update_execution_status(text(args, 0), status(1)?, message)?)
            }
            "update_variation_status" => {
                json!(s.update_variation_status(text(args, 0), status(1)?, message)?)
            }
            "update_progress" => json!(s.update_progress(text(args, 0), int(args, 1, 0) as i32)?),
            "batch_create_executions" => json!(s.batch_create_executions(&parse_batch(&args[0])?)?),
            "batch_create_variations" => json!(s.batch_create_variations(&parse_batch(&args[0])?)?),
            "batch_update_execution_status" => {
                json!(s.batch_update_execution_status(&parse_batch(&args[0])?)?)
            }
            "batch_update_variation_status" => {
                json!(s.batch_update_variation_status(&parse_batch(&args[0])?)?)
            }
            "cleanup_old_jobs" => to(serde_json::to_value(s.cleanup_old_jobs(
                int(args, 0, 30) as i32,
                args.get(1).is_none_or(|v| v.as_bool().unwrap()),
            )?))?,
            "refresh_job_cache" => json!(s.refresh_job_cache()?),
            "get_statistics_optimized" => to(serde_json::to_value(s.get_statistics_optimized()?))?,
            "get_statistics_cached" => to(serde_json::to_value(s.get_statistics_cached()?))?,
            "get_dataset_stats_optimized" => to(serde_json::to_value(
                s.get_dataset_stats_optimized(text(args, 0))?,
            ))?,
            "get_dataset_stats_cached" => to(serde_json::to_value(
                s.get_dataset_stats_cached(text(args, 0))?,
            ))?,
            "get_all_jobs_optimized" => {
                to(serde_json::to_value(s.get_all_jobs_optimized(lim(100))?))?
            }
            "get_recent_jobs_optimized" => {
                to(serde_json::to_value(s.get_recent_jobs_optimized(lim(10))?))?
            }
            "get_recent_jobs_cached" => {
                to(serde_json::to_value(s.get_recent_jobs_cached(lim(10))?))?
            }
            "get_running_jobs" => to(serde_json::to_value(s.get_running_jobs()?))?,
            "verify_statistics" => to(serde_json::to_value(s.verify_statistics()?))?,
            "get_transaction_metrics" => to(serde_json::to_value(s.get_transaction_metrics()))?,
            "reset_transaction_metrics" => {
                s.reset_transaction_metrics();
                Value::Null
            }
            other => panic!("the SQLite runner does not know {other}"),
        })
    }
}

impl Backend for Sqlite {
    fn call(&mut self, function: &str, args: &[Value]) -> Outcome {
        self.dispatch(function, args).map_err(err)
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

/// Argument types of each function, in order, as the contract declares them;
/// `table` marks a set-returning function.
fn pg_signature(function: &str) -> (&'static [&'static str], bool) {
    match function {
        "create_execution"
        | "create_variation"
        | "batch_create_executions"
        | "batch_create_variations"
        | "batch_update_execution_status"
        | "batch_update_variation_status" => (&["jsonb"], false),
        "update_execution_status" | "update_variation_status" => (&["text", "text", "text"], false),
        "update_progress" => (&["text", "integer"], false),
        "cleanup_old_jobs" => (&["integer", "boolean"], false),
        "get_dataset_stats_optimized" | "get_dataset_stats_cached" | "invalidate_cache" => {
            (&["text"], false)
        }
        "get_all_jobs_optimized" | "get_recent_jobs_optimized" | "get_recent_jobs_cached" => {
            (&["integer"], true)
        }
        "get_running_jobs" | "verify_statistics" => (&[], true),
        _ => (&[], false),
    }
}

struct Postgres {
    client: postgres::Client,
}

impl Backend for Postgres {
    fn call(&mut self, function: &str, args: &[Value]) -> Outcome {
        let (types, table) = pg_signature(function);
        assert!(
            args.len() <= types.len(),
            "too many arguments for {function}"
        );
        // Arguments travel as text and are cast by the server, exactly as a
        // client writing `SELECT jobtrack.f('…'::jsonb)` would.
        let params: Vec<Option<String>> = args
            .iter()
            .zip(types)
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
        let sql = if table {
            format!(
                "SELECT COALESCE(jsonb_agg(to_jsonb(t) - 'ordinality' ORDER BY t.ordinality), '[]')::text \
                 FROM {call} WITH ORDINALITY AS t"
            )
        } else if function == "reset_transaction_metrics" {
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

#[test]
fn postgres_conformance() {
    // A database of its own, so that other tests against the same server do
    // not disturb the scenarios, and the scenarios do not disturb them.
    let Some(db_url) =
        jobtrack_tests::fresh_database("postgres_conformance", "jobtrack_conformance")
    else {
        return;
    };
    let failures = run_all("postgresql", &mut |_| {
        let mut client = postgres::Client::connect(&db_url, postgres::NoTls).unwrap();
        client
            .batch_execute(
                "SET search_path = jobtrack, public;
                 TRUNCATE jobtrack.executions, jobtrack.variations;
                 SELECT jobtrack.refresh_job_cache();
                 SELECT jobtrack.invalidate_cache();
                 SELECT jobtrack.reset_transaction_metrics();",
            )
            .unwrap();
        Box::new(Postgres { client })
    });
    report(failures);
}
