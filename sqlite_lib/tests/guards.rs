//! The schema's guards against plain SQL: every conflict clause and rowid
//! trick on the base tables keeps a job_id in one kind, the summary exact
//! and the counters equal to a recount, or is refused; CHECKs refuse
//! impossible timestamps.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use fastrand::Rng;
use jobtrack_sqlite::{JobStore, Status};
use rusqlite::types::Value;
use rusqlite::Connection;

const EXEC_COLUMNS: &str =
    "job_id, pipeline_mode, dataset_name, preset, status, success, duration_seconds";
const VAR_COLUMNS: &str =
    "job_id, variation_id, experiment_name, dataset_name, preset, total_combinations, status, success, duration_seconds";

fn insert_sql(verb: &str, table: &str, rowid: bool) -> String {
    let (columns, values) = if table == "executions" {
        (EXEC_COLUMNS, "?1, 'single', ?2, 'p', ?3, ?4, ?5")
    } else {
        (VAR_COLUMNS, "?1, 'a', 'x', ?2, 'p', 1, ?3, ?4, ?5")
    };
    if rowid {
        format!("{verb} INTO {table} (rowid, {columns}) VALUES (?6, {values})")
    } else {
        format!("{verb} INTO {table} ({columns}) VALUES ({values})")
    }
}

/// The SQLSTATE a trigger's RAISE put in front of its message, or the
/// SQLite error text.
fn refusal(result: rusqlite::Result<usize>) -> String {
    let err = result.expect_err("the statement must be refused");
    let text = err.to_string();
    match text.split_once(": ") {
        Some((code, _)) if code.len() == 5 => code.to_owned(),
        _ => text,
    }
}

/// One job's counted columns as the base tables hold them.
#[derive(Debug, Clone, PartialEq)]
struct BaseRow {
    job_id: String,
    kind: &'static str,
    status: String,
    dataset: String,
    preset: String,
    start_time: Option<String>,
    success: Option<i64>,
    duration: Option<f64>,
    updated_at: String,
}

fn base_rows(conn: &Connection) -> Vec<BaseRow> {
    let mut rows = Vec::new();
    for (table, kind) in [("executions", "execution"), ("variations", "variation")] {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT job_id, status, dataset_name, preset, start_time, success, \
                 duration_seconds, updated_at FROM {table}"
            ))
            .unwrap();
        let found = stmt
            .query_map([], |r| {
                Ok(BaseRow {
                    job_id: r.get(0)?,
                    kind,
                    status: r.get(1)?,
                    dataset: r.get(2)?,
                    preset: r.get(3)?,
                    start_time: r.get(4)?,
                    success: r.get(5)?,
                    duration: r.get(6)?,
                    updated_at: r.get(7)?,
                })
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        rows.extend(found);
    }
    rows
}

type CounterKey = (String, String, String);

/// The counters recounted in Rust from the base rows, independently of the
/// schema's view: (dataset, kind, status) → jobs, successful, failed,
/// duration_count, duration_micros_sum.
fn recount(rows: &[BaseRow]) -> BTreeMap<CounterKey, [i64; 5]> {
    let mut counters: BTreeMap<CounterKey, [i64; 5]> = BTreeMap::new();
    for r in rows {
        let c = counters
            .entry((r.dataset.clone(), r.kind.to_owned(), r.status.clone()))
            .or_default();
        c[0] += 1;
        c[1] += i64::from(r.success == Some(1));
        c[2] += i64::from(r.success == Some(0));
        if let Some(d) = r.duration {
            c[3] += 1;
            c[4] += (d * 1e6).round() as i64;
        }
    }
    counters
}

fn counters(conn: &Connection) -> BTreeMap<CounterKey, [i64; 5]> {
    let mut stmt = conn
        .prepare(
            "SELECT dataset_name, job_type, status, jobs, successful, failed, duration_count, \
             duration_micros_sum FROM job_counters",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?),
            [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

type SummaryRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
);

fn summary(conn: &Connection) -> BTreeSet<SummaryRow> {
    let mut stmt = conn
        .prepare(
            "SELECT job_id, job_type, status, dataset_name, preset, start_time, success, \
             CAST(duration_seconds AS TEXT), last_updated FROM job_summary_cache",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

fn expected_summary(conn: &Connection) -> BTreeSet<SummaryRow> {
    // Durations as SQLite prints them, so that both sides compare as text.
    let mut stmt = conn
        .prepare(
            "SELECT job_id, 'execution', status, dataset_name, preset, start_time, success, \
             CAST(duration_seconds AS TEXT), updated_at FROM executions \
             UNION ALL SELECT job_id, 'variation', status, dataset_name, preset, start_time, \
             success, CAST(duration_seconds AS TEXT), updated_at FROM variations",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// The three invariants, checked against the base tables.
fn assert_invariants(conn: &Connection, step: &str) {
    let rows = base_rows(conn);
    let mut kinds: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &rows {
        kinds.entry(&r.job_id).or_default().push(r.kind);
    }
    let both: Vec<_> = kinds.iter().filter(|(_, k)| k.len() > 1).collect();
    assert!(both.is_empty(), "{step}: job_id in both kinds: {both:?}");
    assert_eq!(summary(conn), expected_summary(conn), "{step}: summary");
    assert_eq!(counters(conn), recount(&rows), "{step}: counters");
}

fn fixture() -> (tempfile::TempDir, JobStore, Connection) {
    let (dir, store) = file_store();
    store
        .batch_create_executions(&[exec_on("a", "d1"), exec_on("b", "d2")])
        .unwrap();
    store.create_variation(&var_on("v", "d1")).unwrap();
    store
        .update_execution_status("a", Status::Training, None)
        .unwrap();
    store
        .update_execution_status("a", Status::Done, None)
        .unwrap();
    let conn = raw(&db_path(&dir));
    assert_invariants(&conn, "fixture");
    (dir, store, conn)
}

fn params(id: &str, dataset: &str, status: &str) -> Vec<Value> {
    vec![
        Value::Text(id.into()),
        Value::Text(dataset.into()),
        Value::Text(status.into()),
        Value::Null,
        Value::Real(1.5),
    ]
}

#[test]
fn conflict_clauses_cannot_put_a_job_id_in_both_kinds() {
    let (_dir, store, conn) = fixture();
    let before = fingerprint(&conn);
    for verb in [
        "INSERT",
        "INSERT OR ABORT",
        "INSERT OR FAIL",
        "INSERT OR IGNORE",
        "INSERT OR REPLACE",
        "INSERT OR ROLLBACK",
        "REPLACE",
    ] {
        for (table, id) in [("executions", "v"), ("variations", "a")] {
            let sql = insert_sql(verb, table, false);
            let result = conn.execute(
                &sql,
                rusqlite::params_from_iter(params(id, "d9", "pending")),
            );
            assert_eq!(refusal(result), "23505", "{sql} with {id}");
            assert_same(&fingerprint(&conn), &before, &format!("{sql} with {id}"));
        }
        // An UPSERT of the other kind's id is refused before its conflict
        // handling.
        let sql = format!(
            "{} ON CONFLICT (job_id) DO UPDATE SET status = excluded.status",
            insert_sql("INSERT", "executions", false)
        );
        let result = conn.execute(
            &sql,
            rusqlite::params_from_iter(params("v", "d9", "failed")),
        );
        assert_eq!(refusal(result), "23505");
    }
    for clause in [
        "",
        "OR ABORT",
        "OR FAIL",
        "OR IGNORE",
        "OR REPLACE",
        "OR ROLLBACK",
    ] {
        for (table, from, to) in [("executions", "b", "v"), ("variations", "v", "b")] {
            let sql = format!("UPDATE {clause} {table} SET job_id = ?1 WHERE job_id = ?2");
            let result = conn.execute(&sql, [to, from]);
            assert_eq!(refusal(result), "23505", "{sql}");
            assert_same(&fingerprint(&conn), &before, &sql);
        }
    }
    assert_invariants(&conn, "after the refusals");
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.verify_summary().unwrap(), []);
}

#[test]
fn rowid_tricks_are_refused() {
    let (_dir, _store, conn) = fixture();
    let before = fingerprint(&conn);
    let rowid_of = |table: &str, id: &str| -> i64 {
        conn.query_row(
            &format!("SELECT rowid FROM {table} WHERE job_id = ?1"),
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    let a = rowid_of("executions", "a");
    let b = rowid_of("executions", "b");
    // REPLACE by rowid would delete job a without its triggers.
    for verb in ["REPLACE", "INSERT OR REPLACE", "INSERT OR IGNORE", "INSERT"] {
        let sql = insert_sql(verb, "executions", true);
        let mut p = params("z", "d9", "done");
        p.push(Value::Integer(a));
        let result = conn.execute(&sql, rusqlite::params_from_iter(p));
        assert_eq!(refusal(result), "0A000", "{sql}");
        assert_same(&fingerprint(&conn), &before, &sql);
    }
    let v = rowid_of("variations", "v");
    let mut p = params("w", "d9", "done");
    p.push(Value::Integer(v));
    let result = conn.execute(
        &insert_sql("REPLACE", "variations", true),
        rusqlite::params_from_iter(p),
    );
    assert_eq!(refusal(result), "0A000");
    // Rowids below 1, which the BEFORE check could not tell from SQLite's
    // "no rowid yet" (-1).
    for rowid in [0, -1, -7] {
        let mut p = params("z", "d9", "done");
        p.push(Value::Integer(rowid));
        let result = conn.execute(
            &insert_sql("INSERT", "executions", true),
            rusqlite::params_from_iter(p),
        );
        assert_eq!(refusal(result), "0A000", "rowid {rowid}");
    }
    for clause in ["", "OR REPLACE", "OR IGNORE"] {
        let result = conn.execute(
            &format!("UPDATE {clause} executions SET rowid = ?1 WHERE job_id = 'a'"),
            [b],
        );
        assert_eq!(refusal(result), "0A000", "{clause}");
        let result = conn.execute(
            &format!("UPDATE {clause} executions SET rowid = rowid + 1000"),
            [],
        );
        assert_eq!(refusal(result), "0A000", "{clause}");
    }
    assert_same(&fingerprint(&conn), &before, "the file");
    // Its own rowid is fine: REPLACE of the same job.
    let mut p = params("a", "d3", "failed");
    p.push(Value::Integer(a));
    conn.execute(
        &insert_sql("REPLACE", "executions", true),
        rusqlite::params_from_iter(p),
    )
    .unwrap();
    assert_invariants(&conn, "REPLACE of a job at its own rowid");
}

#[test]
fn replace_and_ignore_within_a_kind_keep_everything_exact() {
    for recursive_triggers in [false, true] {
        let (_dir, store, conn) = fixture();
        conn.pragma_update(None, "recursive_triggers", recursive_triggers)
            .unwrap();
        let step = |what: &str| assert_invariants(&conn, &format!("{what} ({recursive_triggers})"));
        conn.execute(
            &insert_sql("INSERT OR IGNORE", "executions", false),
            rusqlite::params_from_iter(params("a", "d9", "cancelled")),
        )
        .unwrap();
        step("INSERT OR IGNORE of an existing job");
        conn.execute(
            &insert_sql("INSERT OR REPLACE", "executions", false),
            rusqlite::params_from_iter(params("a", "d9", "cancelled")),
        )
        .unwrap();
        step("INSERT OR REPLACE of an existing job");
        conn.execute(
            &insert_sql("REPLACE", "variations", false),
            rusqlite::params_from_iter(params("v", "d2", "failed")),
        )
        .unwrap();
        step("REPLACE of an existing variation");
        conn.execute(
            "UPDATE OR REPLACE executions SET job_id = 'b' WHERE job_id = 'a'",
            [],
        )
        .unwrap();
        step("UPDATE OR REPLACE onto another job's id");
        conn.execute(
            &format!(
                "INSERT OR REPLACE INTO executions ({EXEC_COLUMNS}) VALUES \
                 ('c', 'single', 'd1', 'p', 'done', 1, 2.5), ('c', 'batch', 'd2', 'p', 'failed', 0, 3.5)"
            ),
            [],
        )
        .unwrap();
        step("one statement replacing its own row");
        conn.execute(
            "UPDATE OR IGNORE executions SET job_id = 'c' WHERE job_id = 'b'",
            [],
        )
        .unwrap();
        step("UPDATE OR IGNORE onto another job's id");
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM executions"),
            2,
            "b kept, c kept"
        );
        assert_eq!(store.verify_statistics().unwrap(), []);
        assert_eq!(store.verify_summary().unwrap(), []);
    }
}

#[test]
fn a_damaged_summary_row_refuses_a_replace_until_refreshed() {
    let (_dir, store, conn) = fixture();
    conn.execute("DELETE FROM job_summary_cache WHERE job_id = 'a'", [])
        .unwrap();
    conn.execute(
        "UPDATE job_summary_cache SET status = 'failed' WHERE job_id = 'b'",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset, last_updated) \
         VALUES ('ghost', 'execution', 'done', 'd1', 'p', '2026-01-01T00:00:00.000000Z')",
        [],
    )
    .unwrap();
    let before = fingerprint(&conn);
    // REPLACE would take the displaced job's counts from its summary row.
    for (sql, id) in [
        (insert_sql("INSERT OR REPLACE", "executions", false), "a"),
        (insert_sql("REPLACE", "executions", false), "b"),
        (insert_sql("INSERT OR IGNORE", "executions", false), "ghost"),
    ] {
        let result = conn.execute(&sql, rusqlite::params_from_iter(params(id, "d9", "done")));
        assert_eq!(refusal(result), "55000", "{sql} {id}");
    }
    for target in ["a", "b", "ghost"] {
        let result = conn.execute(
            "UPDATE OR REPLACE executions SET job_id = ?1 WHERE job_id = 'nobody' OR job_id = 'v'",
            [target],
        );
        // No execution matches: nothing to refuse, nothing changed.
        assert_eq!(result.unwrap(), 0);
        let result = conn.execute(
            "UPDATE OR REPLACE executions SET job_id = ?1 WHERE job_id = (SELECT min(job_id) FROM executions WHERE job_id <> ?1)",
            [target],
        );
        assert_eq!(refusal(result), "55000", "UPDATE OR REPLACE onto {target}");
    }
    assert_same(&fingerprint(&conn), &before, "the file");
    // jobtrack's own create of that id is refused alike, naming the cure;
    // its status updates of the damaged jobs go on (and mend their rows).
    let err = store.create_execution(&exec("ghost")).unwrap_err();
    assert_eq!(err.sqlstate(), "55000", "{err}");
    assert!(err.to_string().contains("refresh_job_cache()"), "{err}");
    assert_same(&fingerprint(&conn), &before, "the file");
    // The counters never depended on the damaged rows.
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.verify_summary().unwrap().len(), 3);
    store
        .update_execution_status("b", Status::Cancelled, None)
        .unwrap();
    assert_eq!(store.verify_summary().unwrap().len(), 2);
    assert_eq!(store.refresh_job_cache().unwrap(), 3);
    conn.execute(
        &insert_sql("INSERT OR REPLACE", "executions", false),
        rusqlite::params_from_iter(params("a", "d9", "done")),
    )
    .unwrap();
    assert_invariants(&conn, "REPLACE after refresh");
}

const CLAUSES: &[&str] = &[
    "",
    "OR ABORT",
    "OR FAIL",
    "OR IGNORE",
    "OR REPLACE",
    "OR ROLLBACK",
];
const STATUSES: &[&str] = &[
    "pending",
    "training",
    "done",
    "failed",
    "cancelled",
    "running",
];
const DATASETS: &[&str] = &["d0", "d1", "d2"];

/// One random plain-SQL statement on the base tables; returns its kind for
/// the tally. Ids come from one small space for both kinds, so that
/// statements collide across kinds, within a kind and on rowids.
fn random_statement(conn: &Connection, rng: &mut Rng) -> (String, rusqlite::Result<usize>) {
    let table = ["executions", "variations"][rng.usize(..2)];
    let id = format!("j{}", rng.u8(..12));
    let clause = *rng.choice(CLAUSES).unwrap();
    let value = |rng: &mut Rng| -> Vec<Value> {
        vec![
            Value::Text(format!("j{}", rng.u8(..12))),
            Value::Text(rng.choice(DATASETS).unwrap().to_string()),
            Value::Text(rng.choice(STATUSES).unwrap().to_string()),
            match rng.u8(..4) {
                0 => Value::Null,
                1 => Value::Integer(0),
                2 => Value::Integer(1),
                _ => Value::Integer(2),
            },
            match rng.u8(..3) {
                0 => Value::Null,
                _ => Value::Real(rng.u32(..100_000) as f64 / 8.0),
            },
        ]
    };
    let existing_rowid = |rng: &mut Rng| -> i64 {
        let rowids: Vec<i64> = conn
            .prepare(&format!("SELECT rowid FROM {table} ORDER BY rowid"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        if rowids.is_empty() || rng.u8(..4) == 0 {
            rng.i64(-2..18)
        } else {
            rowids[rng.usize(..rowids.len())]
        }
    };
    match rng.u8(..12) {
        0..=2 => {
            let verb = if rng.u8(..6) == 0 {
                "REPLACE".to_owned()
            } else {
                format!("INSERT {clause}")
            };
            let mut p = value(rng);
            p[0] = Value::Text(id);
            let sql = insert_sql(&verb, table, false);
            (verb, conn.execute(&sql, rusqlite::params_from_iter(p)))
        }
        3 => {
            let verb = format!("INSERT {clause}");
            let mut p = value(rng);
            p.push(Value::Integer(existing_rowid(rng)));
            let sql = insert_sql(&verb, table, true);
            (
                format!("{verb} with a rowid"),
                conn.execute(&sql, rusqlite::params_from_iter(p)),
            )
        }
        4 => {
            // Two rows in one statement, often with one id.
            let (a, b) = (value(rng), value(rng));
            let columns = if table == "executions" {
                EXEC_COLUMNS
            } else {
                VAR_COLUMNS
            };
            let row = if table == "executions" {
                "(?, 'single', ?, 'p', ?, ?, ?)"
            } else {
                "(?, 'a', 'x', ?, 'p', 1, ?, ?, ?)"
            };
            let sql = format!("INSERT {clause} INTO {table} ({columns}) VALUES {row}, {row}");
            let mut p = a;
            p.extend(b);
            (
                format!("INSERT {clause} of two rows"),
                conn.execute(&sql, rusqlite::params_from_iter(p)),
            )
        }
        5 => {
            let action = if rng.bool() {
                "DO UPDATE SET status = excluded.status, dataset_name = excluded.dataset_name, \
                 success = excluded.success, duration_seconds = excluded.duration_seconds"
            } else {
                "DO NOTHING"
            };
            let mut p = value(rng);
            p[0] = Value::Text(id);
            let sql = format!(
                "{} ON CONFLICT (job_id) {action}",
                insert_sql("INSERT", table, false)
            );
            (
                "UPSERT".to_owned(),
                conn.execute(&sql, rusqlite::params_from_iter(p)),
            )
        }
        6 => {
            let other = format!("j{}", rng.u8(..12));
            let sql = format!("UPDATE {clause} {table} SET job_id = ?1 WHERE job_id = ?2");
            (
                format!("UPDATE {clause} of job_id"),
                conn.execute(&sql, [&id, &other]),
            )
        }
        7 => {
            // Every row of a dataset to one id: REPLACE displaces in a chain.
            let sql = format!("UPDATE {clause} {table} SET job_id = ?1 WHERE dataset_name = ?2");
            (
                format!("UPDATE {clause} of many job_ids"),
                conn.execute(&sql, [id.as_str(), *rng.choice(DATASETS).unwrap()]),
            )
        }
        8 => {
            let p = value(rng);
            let sql = format!(
                "UPDATE {clause} {table} SET dataset_name = ?2, status = ?3, success = ?4, \
                 duration_seconds = ?5 WHERE job_id = ?1 OR dataset_name = ?2"
            );
            (
                format!("UPDATE {clause} of values"),
                conn.execute(&sql, rusqlite::params_from_iter(p)),
            )
        }
        9 => {
            let rowid = existing_rowid(rng);
            let sql = format!("UPDATE {clause} {table} SET rowid = ?1 WHERE job_id = ?2");
            (
                format!("UPDATE {clause} of rowid"),
                conn.execute(&sql, rusqlite::params![rowid, id]),
            )
        }
        10 => {
            let sql = format!("UPDATE {clause} {table} SET created_at = ?1 WHERE job_id = ?2");
            let stamp =
                ["2026-01-01T24:00:00.000000Z", "2026-02-28T23:59:59.999999Z"][rng.usize(..2)];
            (
                format!("UPDATE {clause} of a timestamp"),
                conn.execute(&sql, [stamp, id.as_str()]),
            )
        }
        _ => {
            let sql = format!("DELETE FROM {table} WHERE job_id = ?1 OR status = ?2");
            (
                "DELETE".to_owned(),
                conn.execute(&sql, [id.as_str(), *rng.choice(STATUSES).unwrap()]),
            )
        }
    }
}

#[test]
fn random_plain_sql_with_every_conflict_clause_keeps_the_invariants() {
    let mut tally: BTreeMap<String, [usize; 2]> = BTreeMap::new();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut statements = 0;
    for seed in 1..=6u64 {
        let (dir, store) = file_store();
        let conn = raw(&db_path(&dir));
        conn.pragma_update(None, "recursive_triggers", seed % 2 == 0)
            .unwrap();
        let mut rng = Rng::with_seed(seed);
        for step in 0..700 {
            let in_transaction = rng.u8(..5) == 0;
            if in_transaction {
                conn.execute_batch("BEGIN").unwrap();
            }
            for _ in 0..if in_transaction { 1 + rng.u8(..5) } else { 1 } {
                let (kind, result) = random_statement(&conn, &mut rng);
                statements += 1;
                let t = tally.entry(kind.clone()).or_default();
                match result {
                    Ok(_) => t[0] += 1,
                    Err(e) => {
                        assert_eq!(
                            e.sqlite_error_code(),
                            Some(rusqlite::ErrorCode::ConstraintViolation),
                            "seed {seed} step {step}: {kind}: {e}"
                        );
                        t[1] += 1;
                        let text = e.to_string();
                        let reason = match text.split_once(": ") {
                            Some((code, _)) if code.len() == 5 => code.to_owned(),
                            _ => text.split(':').next().unwrap().to_owned(),
                        };
                        *refusals.entry(reason).or_default() += 1;
                    }
                }
                if conn.is_autocommit() {
                    // OR ROLLBACK ended the transaction.
                    break;
                }
            }
            if !conn.is_autocommit() {
                conn.execute_batch(if rng.u8(..3) == 0 {
                    "ROLLBACK"
                } else {
                    "COMMIT"
                })
                .unwrap();
            }
            assert_invariants(&conn, &format!("seed {seed} step {step}"));
        }
        assert_eq!(store.verify_statistics().unwrap(), []);
        assert_eq!(store.verify_summary().unwrap(), []);
    }
    eprintln!("{statements} statements: {tally:?}; refused: {refusals:?}");
    assert!(tally.len() >= 40, "{}", tally.len());
    for (kind, [ok, _]) in &tally {
        assert!(*ok > 0, "{kind} never succeeded");
    }
    // Each guard had its turn: the cross-kind and rowid checks, the base
    // tables' CHECKs and keys.
    for reason in [
        "23505",
        "0A000",
        "CHECK constraint failed",
        "UNIQUE constraint failed",
    ] {
        assert!(
            refusals.get(reason).copied().unwrap_or(0) > 0,
            "never refused by {reason}: {refusals:?}"
        );
    }
}

#[test]
fn impossible_timestamps_are_refused_in_every_column() {
    let (_dir, _store, conn) = fixture();
    let bad = [
        "2026-01-01T24:00:00.000000Z",
        "2026-13-01T00:00:00.000000Z",
        "2026-00-01T00:00:00.000000Z",
        "2026-01-32T00:00:00.000000Z",
        "2026-01-00T00:00:00.000000Z",
        "2026-02-29T00:00:00.000000Z",
        "2026-04-31T00:00:00.000000Z",
        "1900-02-29T00:00:00.000000Z",
        "2026-01-01T23:60:00.000000Z",
        "2026-01-01T23:59:60.000000Z",
        "0000-01-01T00:00:00.000000Z",
        "2026-01-01 00:00:00.000000Z",
        "2026-01-01T00:00:00.000000",
        "2026-01-01T00:00:00.00000Z",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.000000+00:00",
        "10000-01-01T00:00:00.000000Z",
        "２026-01-01T00:00:00.000000Z",
    ];
    let good = [
        "2024-02-29T23:59:59.999999Z",
        "2000-02-29T00:00:00.000000Z",
        "0001-01-01T00:00:00.000000Z",
        "9999-12-31T23:59:59.999999Z",
    ];
    for (table, id) in [("executions", "b"), ("variations", "v")] {
        for column in [
            "start_time",
            "end_time",
            "created_at",
            "updated_at",
            "last_heartbeat",
        ] {
            for value in bad {
                let err = conn
                    .execute(
                        &format!("UPDATE {table} SET {column} = ?1 WHERE job_id = ?2"),
                        [value, id],
                    )
                    .unwrap_err();
                assert!(
                    err.to_string()
                        .contains(&format!("CHECK constraint failed: {column}_is_a_timestamp")),
                    "{table}.{column} = {value}: {err}"
                );
                let insert = format!(
                    "INSERT OR IGNORE INTO {table} ({}, {column}) VALUES ({}, ?6)",
                    if table == "executions" {
                        EXEC_COLUMNS
                    } else {
                        VAR_COLUMNS
                    },
                    if table == "executions" {
                        "?1, 'single', ?2, 'p', ?3, ?4, ?5"
                    } else {
                        "?1, 'a', 'x', ?2, 'p', 1, ?3, ?4, ?5"
                    }
                );
                let mut p = params("new", "d1", "done");
                p.push(Value::Text(value.into()));
                // OR IGNORE skips the row: nothing stored either way.
                assert_eq!(
                    conn.execute(&insert, rusqlite::params_from_iter(p))
                        .unwrap(),
                    0
                );
            }
            for value in good {
                conn.execute(
                    &format!("UPDATE {table} SET {column} = ?1 WHERE job_id = ?2"),
                    [value, id],
                )
                .unwrap();
            }
        }
    }
    assert_invariants(&conn, "after the timestamps");
}

#[test]
fn cleanup_with_days_beyond_the_timestamps_deletes_nothing() {
    let (dir, store) = file_store();
    let jobs: Vec<_> = (0..3).map(|i| exec(&format!("d{i}"))).collect();
    store.batch_create_executions(&jobs).unwrap();
    let done: Vec<_> = (0..3)
        .map(|i| upd(&format!("d{i}"), Status::Done))
        .collect();
    store.batch_update_execution_status(&done).unwrap();
    let conn = raw(&db_path(&dir));
    // One job from the earliest time the schema stores.
    conn.execute(
        "UPDATE executions SET created_at = '0001-01-01T00:00:00.000000Z' WHERE job_id = 'd0'",
        [],
    )
    .unwrap();
    // 212047928 days (580,000 years) times 86,400,000,000 µs overflows an
    // i64; i32::MAX days too.
    for days in [212_047_928, i32::MAX, i32::MAX - 1, 5_000_000] {
        let report = store.cleanup_old_jobs(days, false).unwrap();
        assert_eq!(
            (report.executions_deleted, report.cache_entries_deleted),
            (0, 0),
            "days = {days}"
        );
    }
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM executions"), 3);
    // The cutoff nearest the year 1 still works: the year-1 job goes, the
    // new ones stay.
    let year_1: jobtrack_sqlite::Timestamp = "0001-01-01T00:00:00.000000Z".parse().unwrap();
    let days_since =
        (jobtrack_sqlite::Timestamp::now().unix_micros() - year_1.unix_micros()) / 86_400_000_000;
    let report = store
        .cleanup_old_jobs(i32::try_from(days_since).unwrap() + 1, false)
        .unwrap();
    assert_eq!(report.executions_deleted, 0);
    let report = store
        .cleanup_old_jobs(i32::try_from(days_since).unwrap() - 1, false)
        .unwrap();
    assert_eq!(report.executions_deleted, 1);
    assert_eq!(
        store.cleanup_old_jobs(0, false).unwrap().executions_deleted,
        2
    );
}

#[test]
fn parameters_keep_their_numbers_exactly_and_refuse_nul() {
    use jobtrack_sqlite::jobtrack_core::{canonical_numeric, JobInput};
    use jobtrack_sqlite::NewVariation;

    let (dir, store) = file_store();
    let text = r#"{"job_id": "p", "variation_id": "1", "experiment_name": "x",
        "dataset_name": "d", "preset": "p", "total_combinations": 1,
        "varied_parameters": {"lr": [0.10, 1e-400]},
        "parameter_values": {"big": 123456789012345678901234567890, "dec": 0.10,
                             "tiny": 1e-400, "neg": -0.0, "e": 1.5e3}}"#;
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    let job = NewVariation::from_json(&value, None).unwrap();
    store.create_variation(&job).unwrap();
    // And a variation built in Rust, not parsed from JSON.
    let mut built = var("q");
    built.parameter_values =
        serde_json::from_str(r#"{"big": 123456789012345678901234567890, "e": 1e2, "neg": -0.0}"#)
            .unwrap();
    store.batch_create_variations(&[built]).unwrap();

    let conn = raw(&db_path(&dir));
    let stored = |id: &str, column: &str| -> serde_json::Value {
        let text: String = conn
            .query_row(
                &format!("SELECT {column} FROM variations WHERE job_id = ?1"),
                [id],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let values = stored("p", "parameter_values");
    let tiny = format!("0.{}1", "0".repeat(399));
    assert_eq!(canonical_numeric("1e-400").unwrap(), tiny);
    assert_eq!(values["big"].to_string(), "123456789012345678901234567890");
    assert_eq!(values["dec"].to_string(), "0.10");
    assert_eq!(values["tiny"].to_string(), tiny);
    assert_eq!(values["neg"].to_string(), "0.0");
    assert_eq!(values["e"].to_string(), "1500");
    assert_eq!(
        stored("p", "varied_parameters")["lr"].to_string(),
        format!("[0.10,{tiny}]")
    );
    // Stored in numeric's canonical form, as PostgreSQL stores it.
    let built = stored("q", "parameter_values");
    assert_eq!(built["big"].to_string(), "123456789012345678901234567890");
    assert_eq!(built["e"].to_string(), "100");
    assert_eq!(built["neg"].to_string(), "0.0");

    // NUL in a key or a value: 22023, nothing stored.
    for bad in [
        r#"{"a\u0000b": 1}"#,
        r#"{"a": "x\u0000y"}"#,
        r#"{"a": ["\u0000"]}"#,
    ] {
        let mut v = var("nul");
        v.parameter_values = serde_json::from_str(bad).unwrap();
        let err = store
            .batch_create_variations(&[var("ok"), v.clone()])
            .unwrap_err();
        assert_eq!(err.sqlstate(), "22023", "{bad}");
        assert!(err.to_string().contains("element 1"), "{err}");
        assert!(err.to_string().contains("NUL"), "{err}");
        let err = store
            .transaction(|tx| tx.batch_create_variations(&[v]))
            .unwrap_err();
        assert_eq!(err.sqlstate(), "22023", "{bad}");
    }
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM variations"), 2);
}
