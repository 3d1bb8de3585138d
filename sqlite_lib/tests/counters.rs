//! Statistics in constant time: the counters `job_counters` that the
//! triggers keep in the writing transaction, `verify_statistics()`, and the
//! migration of a version-1 file.

mod common;

use common::*;
use fastrand::Rng;
use jobtrack_sqlite::jobtrack_core::{Counts, JobType};
use jobtrack_sqlite::{JobStore, Statistics, Status};
use rusqlite::Connection;

/// (dataset, job type, status, jobs, successful, failed, duration count,
/// duration microseconds).
type CounterLine = (String, String, String, i64, i64, i64, i64, i64);

fn lines(conn: &Connection, sql: &str) -> Vec<CounterLine> {
    let mut stmt = conn.prepare(sql).unwrap();
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
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// The counter table as it is.
fn counters(conn: &Connection) -> Vec<CounterLine> {
    lines(
        conn,
        "SELECT dataset_name, job_type, status, jobs, successful, failed, duration_count, \
         duration_micros_sum FROM job_counters ORDER BY 1, 2, 3",
    )
}

/// The counters recounted from the base tables by the test's own query (not
/// the schema's view).
fn recount(conn: &Connection) -> Vec<CounterLine> {
    let part = |table: &str, kind: &str| {
        format!(
            "SELECT dataset_name AS d, '{kind}' AS k, status AS s, COUNT(*) AS n, \
                    SUM(CASE WHEN success = 1 THEN 1 ELSE 0 END) AS ok, \
                    SUM(CASE WHEN success = 0 THEN 1 ELSE 0 END) AS bad, \
                    COUNT(duration_seconds) AS dc, \
                    SUM(CASE WHEN duration_seconds IS NULL THEN 0 \
                             ELSE CAST(round(duration_seconds * 1000000) AS INTEGER) END) AS micros \
             FROM {table} GROUP BY dataset_name, status"
        )
    };
    let sql = format!(
        "{} UNION ALL {} ORDER BY 1, 2, 3",
        part("executions", "execution"),
        part("variations", "variation")
    );
    lines(conn, &sql)
}

fn as_counter_rows(lines: &[CounterLine]) -> Vec<(JobType, Status, Counts)> {
    lines
        .iter()
        .map(|(_, kind, status, jobs, ok, failed, dc, micros)| {
            (
                kind.parse().unwrap(),
                status.parse().unwrap(),
                Counts {
                    jobs: *jobs,
                    successful: *ok,
                    failed: *failed,
                    duration_count: *dc,
                    duration_micros_sum: *micros,
                },
            )
        })
        .collect()
}

/// The counters equal a recount row for row (no all-zero rows left), the
/// store's verification agrees, and the statistics are those of the
/// recount, averages included, bit for bit.
fn assert_exact(store: &JobStore, conn: &Connection, step: &str) {
    let truth = recount(conn);
    assert_eq!(
        counters(conn),
        truth,
        "{step}: counters differ from a recount"
    );
    assert_eq!(
        store.verify_statistics().unwrap(),
        [],
        "{step}: verify_statistics"
    );
    assert_eq!(
        store.get_statistics_optimized().unwrap(),
        Statistics::from_counters(as_counter_rows(&truth)),
        "{step}: statistics"
    );
    assert_eq!(
        store.get_statistics_cached().unwrap(),
        store.get_statistics_optimized().unwrap(),
        "{step}: cached statistics"
    );
    assert_summary_exact(conn);
}

/// A dataset's statistics against a full aggregate of the base tables.
fn assert_dataset_exact(store: &JobStore, conn: &Connection, dataset: &str) {
    let got = store.get_dataset_stats_optimized(dataset).unwrap();
    type Expected = (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        Option<f64>,
        Option<f64>,
        Option<String>,
        Option<String>,
    );
    let e: Expected = conn
        .query_row(
            "WITH j AS (SELECT 'e' AS k, success, duration_seconds, start_time FROM executions WHERE dataset_name = ?1
                        UNION ALL
                        SELECT 'v', success, duration_seconds, start_time FROM variations WHERE dataset_name = ?1)
             SELECT COUNT(*) FILTER (WHERE k = 'e'), COUNT(*) FILTER (WHERE k = 'v'),
                    COUNT(*) FILTER (WHERE success = 1), COUNT(*) FILTER (WHERE success = 0),
                    CAST(TOTAL(CAST(round(duration_seconds * 1e6) AS INTEGER)) AS INTEGER),
                    COUNT(duration_seconds), MIN(duration_seconds), MAX(duration_seconds),
                    MIN(start_time), MAX(start_time)
             FROM j",
            [dataset],
            |r| {
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
                    r.get(9)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        (
            got.executions,
            got.variations,
            got.successful_jobs,
            got.failed_jobs
        ),
        (e.0, e.1, e.2, e.3),
        "{dataset}"
    );
    let average = (e.5 > 0).then(|| e.4 as f64 / 1e6 / e.5 as f64);
    assert_eq!(got.average_duration, average, "{dataset}");
    assert_eq!(
        (got.min_duration, got.max_duration),
        (e.6, e.7),
        "{dataset}"
    );
    assert_eq!(
        (
            got.first_run.map(|t| t.to_string()),
            got.last_run.map(|t| t.to_string())
        ),
        (e.8, e.9),
        "{dataset}"
    );
}

fn line(dataset: &str, kind: &str, status: &str, n: [i64; 4], micros: i64) -> CounterLine {
    (
        dataset.into(),
        kind.into(),
        status.into(),
        n[0],
        n[1],
        n[2],
        n[3],
        micros,
    )
}

#[test]
fn counters_follow_every_kind_of_write() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    assert_exact(&store, &conn, "empty");
    assert!(counters(&conn).is_empty());

    // Creates, with initial statuses.
    let mut done = exec_on("e-done", "mnist");
    done.status = Status::Done;
    let mut training = exec_on("e-train", "mnist");
    training.status = Status::Training;
    store
        .batch_create_executions(&[exec_on("e-1", "mnist"), done, training])
        .unwrap();
    store.create_variation(&var_on("v-1", "cifar")).unwrap();
    assert_eq!(
        counters(&conn),
        [
            line("cifar", "variation", "pending", [1, 0, 0, 0], 0),
            line("mnist", "execution", "done", [1, 1, 0, 0], 0),
            line("mnist", "execution", "pending", [1, 0, 0, 0], 0),
            line("mnist", "execution", "training", [1, 0, 0, 0], 0),
        ]
    );
    assert_exact(&store, &conn, "creates");

    // A status change moves the job; the emptied row goes.
    store
        .update_execution_status("e-train", Status::Done, None)
        .unwrap();
    let micros: i64 = count(
        &conn,
        "SELECT CAST(round(duration_seconds * 1e6) AS INTEGER) FROM executions WHERE job_id = 'e-train'",
    );
    assert_eq!(
        counters(&conn),
        [
            line("cifar", "variation", "pending", [1, 0, 0, 0], 0),
            line("mnist", "execution", "done", [2, 2, 0, 1], micros),
            line("mnist", "execution", "pending", [1, 0, 0, 0], 0),
        ]
    );
    assert_exact(&store, &conn, "status update");
    store
        .batch_update_execution_status(&[upd("e-1", Status::Training), upd("e-1", Status::Failed)])
        .unwrap();
    store
        .batch_update_variation_status(&[upd("v-1", Status::Training)])
        .unwrap();
    store
        .update_variation_status("v-1", Status::Failed, Some("oom"))
        .unwrap();
    assert_exact(&store, &conn, "batch updates");

    // Progress changes no counted column: the counters are not touched.
    let before = counters(&conn);
    let changes = count(&conn, "SELECT total_changes()");
    store.update_progress("e-done", 5).unwrap();
    store.update_progress("v-1", 5).unwrap();
    assert_eq!(counters(&conn), before);
    assert_eq!(count(&conn, "SELECT total_changes()"), changes);

    // Plain SQL: every counted column, many times over; sums stay exact
    // where floating point would drift (0.1 is not a binary fraction).
    for i in 0..200 {
        let d = [0.1, 0.2, 1.0 / 3.0, 12.345678, 0.000_000_4][i % 5];
        conn.execute(
            "UPDATE executions SET duration_seconds = ?1, success = ?2, status = ?3, \
             dataset_name = ?4 WHERE job_id = 'e-done'",
            rusqlite::params![
                d,
                [Some(true), Some(false), None][i % 3],
                ["done", "failed", "cancelled", "training"][i % 4],
                ["mnist", "cifar"][i % 2]
            ],
        )
        .unwrap();
    }
    conn.execute(
        "UPDATE executions SET duration_seconds = NULL, success = NULL, status = 'pending' WHERE job_id = 'e-done'",
        [],
    )
    .unwrap();
    assert_exact(&store, &conn, "plain SQL updates");
    conn.execute(
        "UPDATE variations SET dataset_name = 'imagenet', duration_seconds = 7.25 WHERE job_id = 'v-1'",
        [],
    )
    .unwrap();
    assert_exact(&store, &conn, "plain SQL dataset change");
    conn.execute("DELETE FROM executions WHERE job_id = 'e-1'", [])
        .unwrap();
    assert_exact(&store, &conn, "plain SQL delete");

    // REPLACE removes the old row without its delete trigger; the counters
    // must lose it all the same, with or without recursive_triggers.
    conn.execute(
        "INSERT OR REPLACE INTO executions (job_id, pipeline_mode, dataset_name, preset, status, success, duration_seconds) \
         VALUES ('e-done', 'batch', 'coco', 'p', 'done', 1, 2.5)",
        [],
    )
    .unwrap();
    assert_exact(&store, &conn, "INSERT OR REPLACE");
    conn.execute(
        "REPLACE INTO variations (job_id, variation_id, experiment_name, dataset_name, preset, total_combinations, status) \
         VALUES ('v-1', 'a', 'x', 'cifar', 'p', 1, 'in_queue')",
        [],
    )
    .unwrap();
    assert_exact(&store, &conn, "REPLACE INTO variations");
    store.create_execution(&exec_on("e-2", "mnist")).unwrap();
    conn.execute(
        "UPDATE OR REPLACE executions SET job_id = 'e-done' WHERE job_id = 'e-2'",
        [],
    )
    .unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM executions"), 2);
    assert_exact(&store, &conn, "UPDATE OR REPLACE onto another job's id");
    let recursive = raw(&db_path(&dir));
    recursive
        .pragma_update(None, "recursive_triggers", true)
        .unwrap();
    recursive
        .execute(
            "INSERT OR REPLACE INTO executions (job_id, pipeline_mode, dataset_name, preset, status, success) \
             VALUES ('e-done', 'single', 'mnist', 'p', 'failed', 0)",
            [],
        )
        .unwrap();
    assert_exact(&store, &conn, "INSERT OR REPLACE with recursive_triggers");
    conn.execute(
        "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) VALUES ('e-done', 'single', 'x', 'p') \
         ON CONFLICT (job_id) DO UPDATE SET status = 'done', success = 1, duration_seconds = 3.0",
        [],
    )
    .unwrap();
    assert_exact(&store, &conn, "UPSERT");
    let changed = conn
        .execute(
            "INSERT OR IGNORE INTO executions (job_id, pipeline_mode, dataset_name, preset) VALUES ('e-done', 'single', 'x', 'p')",
            [],
        )
        .unwrap();
    assert_eq!(changed, 0);
    assert_exact(&store, &conn, "INSERT OR IGNORE");

    // Rolled back: a transaction, a savepoint, a failing statement.
    let before = counters(&conn);
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         UPDATE executions SET status = 'cancelled';
         DELETE FROM variations;
         INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) VALUES ('tmp', 'single', 'tmp', 'p');
         ROLLBACK;",
    )
    .unwrap();
    assert_eq!(counters(&conn), before);
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         SAVEPOINT a;
         UPDATE executions SET dataset_name = 'gone';
         ROLLBACK TO a;
         INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status) VALUES ('kept', 'single', 'kept', 'p', 'in_queue');
         SAVEPOINT b;
         DELETE FROM executions WHERE job_id = 'kept';
         ROLLBACK TO b;
         RELEASE a;
         COMMIT;",
    )
    .unwrap();
    assert_exact(&store, &conn, "savepoints");
    assert_eq!(
        count(
            &conn,
            "SELECT jobs FROM job_counters WHERE dataset_name = 'kept'"
        ),
        1
    );
    // The second row fails its CHECK: the statement, trigger work included,
    // is undone.
    let before = counters(&conn);
    conn.execute(
        "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status) \
         VALUES ('ok', 'single', 'd', 'p', 'done'), ('bad', 'single', 'd', 'p', 'running')",
        [],
    )
    .unwrap_err();
    assert_eq!(counters(&conn), before);

    // Durations whose microseconds would not fit an exact sum are refused.
    let err = conn
        .execute(
            "UPDATE executions SET duration_seconds = 2e12 WHERE job_id = 'kept'",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("1e12"), "{err}");
    assert_exact(&store, &conn, "refused duration");

    // Cleanup through the store.
    store
        .batch_create_variations(&[var_on("v-2", "mnist"), var_on("v-3", "mnist")])
        .unwrap();
    store
        .batch_update_variation_status(&[upd("v-2", Status::Done), upd("v-3", Status::Failed)])
        .unwrap();
    let r = store.cleanup_old_jobs(0, true).unwrap();
    assert_eq!(
        (
            r.executions_deleted,
            r.variations_deleted,
            r.cache_entries_deleted
        ),
        (2, 1, 3),
        "e-train, e-done and v-2; v-3 failed and is kept"
    );
    assert_exact(&store, &conn, "cleanup");

    // Deleting everything: SQLite's truncate optimisation must not skip the
    // triggers (it does not apply to tables that have any).
    conn.execute("DELETE FROM executions", []).unwrap();
    assert_exact(&store, &conn, "DELETE FROM executions");
    conn.execute("DELETE FROM variations", []).unwrap();
    assert_exact(&store, &conn, "DELETE FROM variations");
    assert!(counters(&conn).is_empty());
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM job_summary_cache"), 0);
}

#[test]
fn datasets_read_counts_from_counters_and_extremes_from_indexes() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    for (i, (table, dataset)) in [
        ("executions", "mnist"),
        ("executions", "mnist"),
        ("executions", "mnist"),
        ("variations", "mnist"),
        ("executions", "cifar"),
    ]
    .into_iter()
    .enumerate()
    {
        let sql = if table == "executions" {
            "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status, success, \
             duration_seconds, start_time) VALUES (?1, 'single', ?2, 'p', ?3, ?4, ?5, ?6)"
        } else {
            "INSERT INTO variations (job_id, variation_id, experiment_name, dataset_name, preset, \
             total_combinations, status, success, duration_seconds, start_time) \
             VALUES (?1, 'a', 'x', ?2, 'p', 1, ?3, ?4, ?5, ?6)"
        };
        conn.execute(
            sql,
            rusqlite::params![
                format!("j{i}"),
                dataset,
                ["done", "failed", "training", "done", "done"][i],
                [Some(1), Some(0), None, Some(1), Some(1)][i],
                [Some(2.5), Some(0.5), None, Some(4.0), Some(9.0)][i],
                [
                    Some("2026-01-02T00:00:00.000000Z"),
                    None,
                    Some("2026-01-01T00:00:00.000001Z"),
                    Some("2026-01-03T00:00:00.000000Z"),
                    Some("2025-01-01T00:00:00.000000Z")
                ][i]
            ],
        )
        .unwrap();
    }
    let d = store.get_dataset_stats_optimized("mnist").unwrap();
    assert_eq!(
        (
            d.total_jobs,
            d.executions,
            d.variations,
            d.successful_jobs,
            d.failed_jobs
        ),
        (4, 3, 1, 2, 1)
    );
    assert_eq!(d.average_duration, Some(7.0 / 3.0));
    assert_eq!((d.min_duration, d.max_duration), (Some(0.5), Some(4.0)));
    assert_eq!(
        d.first_run.unwrap().to_string(),
        "2026-01-01T00:00:00.000001Z"
    );
    assert_eq!(
        d.last_run.unwrap().to_string(),
        "2026-01-03T00:00:00.000000Z"
    );
    for dataset in ["mnist", "cifar", "unknown"] {
        assert_dataset_exact(&store, &conn, dataset);
    }
    assert_eq!(
        store.get_dataset_stats_cached("mnist").unwrap(),
        store.get_dataset_stats_optimized("mnist").unwrap()
    );
}

#[test]
fn verify_reports_a_tampered_counter_and_refresh_repairs_it() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    store
        .batch_create_executions(&[exec_on("a", "mnist"), exec_on("b", "mnist")])
        .unwrap();
    store.create_variation(&var_on("v", "cifar")).unwrap();
    store
        .batch_update_execution_status(&[upd("a", Status::Training)])
        .unwrap();
    store
        .batch_update_execution_status(&[upd("a", Status::Done)])
        .unwrap();
    let micros = count(
        &conn,
        "SELECT CAST(round(duration_seconds * 1e6) AS INTEGER) FROM executions WHERE job_id = 'a'",
    );
    assert!(store.verify_statistics().unwrap().is_empty());
    let before = store.get_statistics_cached().unwrap();

    // Three kinds of damage by hand: a wrong value, a lost row, a row for
    // jobs that do not exist.
    conn.execute_batch(
        "UPDATE job_counters SET jobs = jobs + 2, duration_micros_sum = duration_micros_sum + 1
             WHERE dataset_name = 'mnist' AND job_type = 'execution' AND status = 'done';
         DELETE FROM job_counters WHERE dataset_name = 'cifar';
         INSERT INTO job_counters VALUES ('ghost', 'execution', 'failed', 1, 0, 1, 0, 0);",
    )
    .unwrap();
    let diffs = store.verify_statistics().unwrap();
    let json = serde_json::to_value(&diffs).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"job_type": "execution", "dataset_name": "ghost", "status": "failed",
             "counted_jobs": 1, "actual_jobs": 0, "counted_successful": 0, "actual_successful": 0,
             "counted_failed": 1, "actual_failed": 0, "counted_duration_count": 0,
             "actual_duration_count": 0, "counted_duration_micros_sum": 0,
             "actual_duration_micros_sum": 0},
            {"job_type": "execution", "dataset_name": "mnist", "status": "done",
             "counted_jobs": 3, "actual_jobs": 1, "counted_successful": 1, "actual_successful": 1,
             "counted_failed": 0, "actual_failed": 0, "counted_duration_count": 1,
             "actual_duration_count": 1, "counted_duration_micros_sum": micros + 1,
             "actual_duration_micros_sum": micros},
            {"job_type": "variation", "dataset_name": "cifar", "status": "pending",
             "counted_jobs": 0, "actual_jobs": 1, "counted_successful": 0, "actual_successful": 0,
             "counted_failed": 0, "actual_failed": 0, "counted_duration_count": 0,
             "actual_duration_count": 0, "counted_duration_micros_sum": 0,
             "actual_duration_micros_sum": 0}
        ])
    );
    // The statistics are read from the counters, damage and all: proof that
    // they do not recount. The cache noticed the commit.
    let damaged = store.get_statistics_cached().unwrap();
    assert_eq!(damaged.total_executions, before.total_executions + 3);
    assert_eq!(damaged.total_variations, 0);

    // Writes go on adding to and subtracting from the damaged rows without
    // failing: the job leaves the lost row (now at -1) for a sound one.
    store
        .update_variation_status("v", Status::Cancelled, None)
        .unwrap();
    let diffs = store.verify_statistics().unwrap();
    assert_eq!(diffs.len(), 3);
    assert_eq!(
        (diffs[2].status, diffs[2].counted_jobs, diffs[2].actual_jobs),
        (Status::Pending, -1, 0)
    );

    assert_eq!(store.refresh_job_cache().unwrap(), 3);
    assert_exact(&store, &conn, "after refresh_job_cache");
    assert_eq!(store.get_statistics_cached().unwrap().total_jobs, 3);
}

#[test]
fn a_version_1_file_is_upgraded_with_counters_from_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../sql/sqlite/migrations/0001_initial.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        for i in 0..300 {
            conn.execute(
                "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status, success, duration_seconds) \
                 VALUES (?1, 'single', ?2, 'p', ?3, ?4, ?5)",
                rusqlite::params![
                    format!("e{i}"),
                    format!("d{}", i % 7),
                    ["done", "failed", "pending"][i % 3],
                    [Some(1), Some(0), None][i % 3],
                    (i % 3 != 2).then_some(i as f64 / 10.0)
                ],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO variations (job_id, variation_id, experiment_name, dataset_name, preset, total_combinations, status) \
                 VALUES (?1, 'a', 'x', ?2, 'p', 1, ?3)",
                rusqlite::params![format!("v{i}"), format!("d{}", i % 5), ["training", "cancelled"][i % 2]],
            )
            .unwrap();
        }
        // Statistics of version 1, from its own full-scan query.
        assert!(conn.prepare("SELECT * FROM job_counters").is_err());
    }
    let store = JobStore::open(&path).unwrap();
    let conn = raw(&path);
    assert_eq!(count(&conn, "PRAGMA user_version"), 8);
    assert_eq!(jobtrack_sqlite::SCHEMA_VERSION, 8);
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM job_counters"),
        7 * 3 + 5 * 2
    );
    assert_exact(&store, &conn, "migrated");
    let s = store.get_statistics_optimized().unwrap();
    assert_eq!((s.total_executions, s.total_variations), (300, 300));
    assert_eq!((s.total_successful, s.total_failed), (100, 100));
    for d in 0..7 {
        assert_dataset_exact(&store, &conn, &format!("d{d}"));
    }
    // The version-1 triggers and indexes are replaced, not doubled.
    let mut names = conn
        .prepare(
            "SELECT type, name FROM sqlite_schema WHERE type IN ('trigger', 'index', 'view') \
             AND name NOT LIKE 'sqlite_%' ORDER BY 1, 2",
        )
        .unwrap();
    let names: Vec<(String, String)> = names
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let triggers: Vec<&str> = names
        .iter()
        .filter(|(t, _)| t == "trigger")
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(
        triggers,
        [
            "executions_after_delete",
            "executions_after_insert",
            "executions_after_update",
            "executions_before_insert",
            "executions_before_update",
            "variations_after_delete",
            "variations_after_insert",
            "variations_after_update",
            "variations_before_insert",
            "variations_before_update"
        ]
    );
    assert!(names.iter().all(|(_, n)| !n.contains("statistics")));
    assert!(names.contains(&("view".into(), "job_counters_recount".into())));

    // And writes keep it exact from there on.
    store
        .batch_update_execution_status(&[upd("e0", Status::Failed), upd("e2", Status::Done)])
        .unwrap();
    conn.execute("DELETE FROM variations WHERE status = 'training'", [])
        .unwrap();
    assert_exact(&store, &conn, "after the upgrade");
    // Reopening does not rebuild or double anything.
    drop(store);
    let store = JobStore::open(&path).unwrap();
    assert_exact(&store, &conn, "reopened");
}

const DATASETS: &[&str] = &["mnist", "cifar", "coco", "imagenet"];
const STATUSES: &[&str] = &[
    "pending",
    "in_queue",
    "training",
    "generating_preview",
    "done",
    "failed",
    "cancelled",
];
/// Ids come from a small space per kind so that writers collide on jobs,
/// and executions and variations never share one (a cross-kind REPLACE is
/// the summary table's business, not the counters').
const IDS: u64 = 300;

/// What the randomized test did, so that it can insist each kind happened.
#[derive(Default)]
struct Done {
    ops: std::sync::Mutex<std::collections::BTreeMap<&'static str, usize>>,
}

impl Done {
    fn note(&self, what: &'static str) {
        *self.ops.lock().unwrap().entry(what).or_default() += 1;
    }
}

/// A statement may fail only on a constraint (a duplicate id, a CHECK);
/// anything else, such as a busy timeout, fails the test.
fn allow_constraint(result: rusqlite::Result<usize>) {
    if let Err(e) = result {
        assert_eq!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ConstraintViolation),
            "{e}"
        );
    }
}

/// One random plain-SQL write of any kind.
fn plain_write(conn: &Connection, rng: &mut Rng, done: &Done) {
    let (table, prefix) = [("executions", "e"), ("variations", "v")][rng.usize(..2)];
    let id = format!("{prefix}{}", rng.u64(..IDS));
    let status = *rng.choice(STATUSES).unwrap();
    let success = [Some(1), Some(0), None][rng.usize(..3)];
    // Whole microseconds, tenths (not binary fractions), and values with
    // more digits than a microsecond.
    let duration = match rng.u8(..4) {
        0 => None,
        1 => Some(rng.u64(..10_000_000_000) as f64 / 1e6),
        2 => Some(rng.u64(..1000) as f64 / 10.0),
        _ => Some(rng.u64(..1_000_000) as f64 / 7.0),
    };
    let dataset = *rng.choice(DATASETS).unwrap();
    let insert_columns = if table == "executions" {
        "(job_id, pipeline_mode, dataset_name, preset, status, success, duration_seconds) \
         VALUES (?1, 'single', ?2, 'p', ?3, ?4, ?5)"
    } else {
        "(job_id, variation_id, experiment_name, dataset_name, preset, total_combinations, \
         status, success, duration_seconds) VALUES (?1, 'a', 'x', ?2, 'p', 1, ?3, ?4, ?5)"
    };
    let params = rusqlite::params![id, dataset, status, success, duration];
    match rng.u8(..10) {
        0..=2 => {
            allow_constraint(conn.execute(
                &format!(
                    "UPDATE {table} SET dataset_name = ?2, status = ?3, success = ?4, \
                     duration_seconds = ?5 WHERE job_id = ?1"
                ),
                params,
            ));
            done.note("plain update");
        }
        3 => {
            allow_constraint(conn.execute(
                &format!(
                    "UPDATE {table} SET duration_seconds = coalesce(duration_seconds, 0) + 0.1 \
                     WHERE dataset_name = ?1"
                ),
                [dataset],
            ));
            done.note("plain multi-row update");
        }
        4 => {
            allow_constraint(
                conn.execute(&format!("DELETE FROM {table} WHERE job_id = ?1"), [&id]),
            );
            done.note("plain delete");
        }
        5 => {
            allow_constraint(conn.execute(
                &format!("DELETE FROM {table} WHERE dataset_name = ?1 AND status = ?2"),
                [dataset, status],
            ));
            done.note("plain multi-row delete");
        }
        6 => {
            allow_constraint(conn.execute(
                &format!("INSERT OR REPLACE INTO {table} {insert_columns}"),
                params,
            ));
            done.note("INSERT OR REPLACE");
        }
        7 => {
            let other = format!("{prefix}{}", rng.u64(..IDS));
            allow_constraint(conn.execute(
                &format!("UPDATE OR REPLACE {table} SET job_id = ?1 WHERE job_id = ?2"),
                [&id, &other],
            ));
            done.note("UPDATE OR REPLACE");
        }
        8 => {
            allow_constraint(conn.execute(
                &format!(
                    "INSERT INTO {table} {insert_columns} ON CONFLICT (job_id) DO UPDATE \
                     SET status = excluded.status, success = excluded.success"
                ),
                params,
            ));
            done.note("UPSERT");
        }
        _ => {
            allow_constraint(
                conn.execute(&format!("INSERT INTO {table} {insert_columns}"), params),
            );
            done.note("plain insert");
        }
    }
}

fn random_status(rng: &mut Rng) -> Status {
    Status::ALL[rng.usize(..Status::ALL.len())]
}

/// One random write through a store.
fn store_write(store: &JobStore, rng: &mut Rng, done: &Done) {
    let e_id = |rng: &mut Rng| format!("e{}", rng.u64(..IDS));
    let v_id = |rng: &mut Rng| format!("v{}", rng.u64(..IDS));
    // A create may collide with an existing id (23505): nothing is applied.
    let allow_duplicate = |r: jobtrack_sqlite::Result<Vec<String>>| {
        if let Err(e) = r {
            assert_eq!(e.sqlstate(), "23505", "{e}");
        }
    };
    match rng.u8(..10) {
        0..=2 => {
            let batch: Vec<_> = (0..1 + rng.u8(..8))
                .map(|_| {
                    let mut e = exec_on(&e_id(rng), rng.choice(DATASETS).unwrap());
                    e.status = random_status(rng);
                    e
                })
                .collect();
            allow_duplicate(store.batch_create_executions(&batch));
            done.note("store create");
        }
        3 => {
            let batch: Vec<_> = (0..1 + rng.u8(..8))
                .map(|_| {
                    let mut v = var_on(&v_id(rng), rng.choice(DATASETS).unwrap());
                    v.status = random_status(rng);
                    v
                })
                .collect();
            allow_duplicate(store.batch_create_variations(&batch));
            done.note("store create");
        }
        4 | 5 => {
            let updates: Vec<_> = (0..1 + rng.u8(..10))
                .map(|_| upd(&e_id(rng), random_status(rng)))
                .collect();
            store.batch_update_execution_status(&updates).unwrap();
            done.note("store batch update");
        }
        6 => {
            let updates: Vec<_> = (0..1 + rng.u8(..10))
                .map(|_| upd(&v_id(rng), random_status(rng)))
                .collect();
            store.batch_update_variation_status(&updates).unwrap();
            done.note("store batch update");
        }
        7 => {
            store.update_progress(&e_id(rng), rng.i32(0..100)).unwrap();
            done.note("store progress");
        }
        8 => {
            store
                .update_variation_status(&v_id(rng), random_status(rng), Some("x"))
                .unwrap();
            store
                .update_execution_status(&e_id(rng), random_status(rng), None)
                .unwrap();
            done.note("store status update");
        }
        _ if rng.u8(..8) == 0 => {
            store.cleanup_old_jobs(0, rng.bool()).unwrap();
            done.note("store cleanup");
        }
        _ => {
            allow_duplicate(
                store
                    .create_execution(&exec_on(&e_id(rng), rng.choice(DATASETS).unwrap()))
                    .map(|j| vec![j.job_id]),
            );
            done.note("store create");
        }
    }
}

#[test]
fn randomized_concurrent_writes_keep_the_counters_exact() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = Arc::new(JobStore::open(&path).unwrap());
    let other = Arc::new(JobStore::open(&path).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(Done::default());
    let mut threads = Vec::new();

    // Two writers through two stores on the file.
    for (seed, s) in [(1u64, &store), (2, &other)] {
        let (s, stop, done) = (Arc::clone(s), Arc::clone(&stop), Arc::clone(&done));
        threads.push(std::thread::spawn(move || {
            let mut rng = Rng::with_seed(seed);
            let mut cleaned = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                if cleaned.elapsed() > Duration::from_millis(500) {
                    s.cleanup_old_jobs(0, rng.bool()).unwrap();
                    done.note("store cleanup");
                    cleaned = Instant::now();
                }
                store_write(&s, &mut rng, &done);
                std::thread::sleep(Duration::from_micros(300));
            }
        }));
    }
    // A plain SQL client in autocommit mode, deleting everything now and
    // then (DELETE without WHERE: SQLite's truncate case).
    {
        let (path, stop, done) = (path.clone(), Arc::clone(&stop), Arc::clone(&done));
        threads.push(std::thread::spawn(move || {
            let conn = raw(&path);
            let mut rng = Rng::with_seed(0xDEAD_BEEF);
            let mut wiped = (Instant::now(), 0);
            while !stop.load(Ordering::Relaxed) {
                if wiped.0.elapsed() > Duration::from_millis(700) {
                    let table = ["executions", "variations"][wiped.1 % 2];
                    conn.execute(&format!("DELETE FROM {table}"), []).unwrap();
                    done.note("delete everything");
                    wiped = (Instant::now(), wiped.1 + 1);
                } else {
                    plain_write(&conn, &mut rng, &done);
                }
                // SQLite's locks are not fair: a connection that writes
                // back to back starves the others' busy handlers.
                std::thread::sleep(Duration::from_micros(500));
            }
        }));
    }
    // A plain SQL client in explicit transactions: committed, rolled back,
    // and with savepoints rolled back and released.
    {
        let (path, stop, done) = (path.clone(), Arc::clone(&stop), Arc::clone(&done));
        threads.push(std::thread::spawn(move || {
            let conn = raw(&path);
            let mut rng = Rng::with_seed(0x0123_4567_89AB_CDEF);
            while !stop.load(Ordering::Relaxed) {
                // IMMEDIATE: a deferred transaction that reads first could
                // not upgrade to writing after another commit.
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                for _ in 0..1 + rng.u8(..4) {
                    plain_write(&conn, &mut rng, &done);
                }
                if rng.bool() {
                    conn.execute_batch("SAVEPOINT a").unwrap();
                    for _ in 0..1 + rng.u8(..4) {
                        plain_write(&conn, &mut rng, &done);
                    }
                    if rng.bool() {
                        conn.execute_batch("ROLLBACK TO a; RELEASE a").unwrap();
                        done.note("savepoint rolled back");
                    } else {
                        conn.execute_batch("RELEASE a").unwrap();
                        done.note("savepoint released");
                    }
                    plain_write(&conn, &mut rng, &done);
                }
                if rng.u8(..3) == 0 {
                    conn.execute_batch("ROLLBACK").unwrap();
                    done.note("transaction rolled back");
                } else {
                    conn.execute_batch("COMMIT").unwrap();
                    done.note("transaction committed");
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        }));
    }
    // A reader: every snapshot, not only the last, must verify.
    {
        let (s, stop, done) = (Arc::clone(&store), Arc::clone(&stop), Arc::clone(&done));
        threads.push(std::thread::spawn(move || {
            let mut rng = Rng::with_seed(42);
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(s.verify_statistics().unwrap(), []);
                let stats = s.get_statistics_cached().unwrap();
                let by_status: i64 = stats
                    .executions_by_status
                    .values()
                    .chain(stats.variations_by_status.values())
                    .sum();
                assert_eq!(by_status, stats.total_jobs);
                let d = s
                    .get_dataset_stats_optimized(rng.choice(DATASETS).unwrap())
                    .unwrap();
                assert_eq!(d.total_jobs, d.executions + d.variations);
                assert!(d.successful_jobs + d.failed_jobs <= d.total_jobs);
                done.note("verified snapshot");
                std::thread::sleep(Duration::from_millis(5));
            }
        }));
    }

    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("a worker thread failed");
    }
    assert!(started.elapsed() < Duration::from_secs(60));

    let ops = done.ops.lock().unwrap().clone();
    eprintln!("operations: {ops:?}");
    for kind in [
        "store create",
        "store batch update",
        "store progress",
        "store status update",
        "store cleanup",
        "plain update",
        "plain multi-row update",
        "plain delete",
        "plain multi-row delete",
        "plain insert",
        "INSERT OR REPLACE",
        "UPDATE OR REPLACE",
        "UPSERT",
        "delete everything",
        "savepoint rolled back",
        "savepoint released",
        "transaction rolled back",
        "transaction committed",
        "verified snapshot",
    ] {
        assert!(
            ops.get(kind).copied().unwrap_or(0) > 0,
            "never ran: {kind}; ran {ops:?}"
        );
    }

    let conn = raw(&path);
    assert!(
        count(&conn, "SELECT COUNT(*) FROM job_counters") > 0,
        "{ops:?}"
    );
    assert_exact(&store, &conn, "after the run");
    assert_exact(&other, &conn, "after the run, second store");
    for dataset in DATASETS {
        assert_dataset_exact(&store, &conn, dataset);
    }
}
