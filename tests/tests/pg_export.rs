//! `export_jobs` and `import_jobs` across the two backends, against a real
//! PostgreSQL server (`JOBTRACK_PG_URL`, set by `make test`): jobs written
//! through the API in a SQLite file (every status, results, heartbeats,
//! claims, parameters, text that needs escaping) are exported as JSON
//! lines, imported into PostgreSQL, exported again — the lines are
//! identical, byte for byte — and back into a second SQLite file, again
//! identical; the statistics of all three agree and verify clean. An export
//! reads one snapshot while writers change the jobs, and one dropped
//! half-way leaves no transaction open.
//!
//! One session's import and export (the SQL surface, its errors, the plan)
//! are in tests/pg_regress/sql/export.sql.

use jobtrack_core::{JobApi, JobRecord, Status, StatusUpdate, Timestamp, EXPORT_PAGE};
use jobtrack_postgres::PgStore;
use jobtrack_sqlite::JobStore;
use jobtrack_tests::dump::connect;
use jobtrack_tests::jobs::{create_executions, one_at_a_time};
use serde_json::json;

/// Every job of `store` as the JSON lines `jobtrack export` writes.
fn export_lines(store: &dyn JobApi, since: Option<Timestamp>) -> Vec<String> {
    store
        .export_jobs(since)
        .expect("start the export")
        .map(|record| serde_json::to_string(&record.expect("an exported row")).unwrap())
        .collect()
}

/// Imports JSON lines into `store`, `chunk` records per call.
fn import_lines(store: &dyn JobApi, lines: &[String], chunk: usize) -> i64 {
    let mut imported = 0;
    for part in lines.chunks(chunk) {
        let records: Vec<JobRecord> = part
            .iter()
            .map(|line| serde_json::from_str(line).expect("a record reads back"))
            .collect();
        imported += i64::from(store.import_jobs(&records).expect("import a chunk"));
    }
    imported
}

/// A SQLite store with jobs of both kinds in every state the API can put
/// them in: statuses with their effects, error messages, progress and
/// heartbeats, claims (worker), parameters with numbers PostgreSQL's
/// numeric keeps exactly, and text that JSON and CSV must escape.
fn sqlite_source(dir: &std::path::Path) -> JobStore {
    let store = JobStore::open(dir.join("source.db")).unwrap();
    let executions: Vec<_> = (0..1500)
        .map(|i| {
            let mode = ["single", "batch", "variations"][i % 3];
            serde_json::from_value(json!({
                "job_id": format!("e{i:05}"),
                "pipeline_mode": mode,
                "dataset_name": format!("data\"set,{}", i % 7),
                "preset": "préset ✓",
                "total_steps": (i % 5 == 0).then_some(i),
            }))
            .unwrap()
        })
        .collect();
    store.batch_create_executions(&executions).unwrap();
    let variations: Vec<_> = (0..1200)
        .map(|i| {
            serde_json::from_value(json!({
                "job_id": format!("v{i:05}"),
                "variation_id": format!("lr={}", i % 10),
                "experiment_name": format!("sweep-{}", i % 4),
                "dataset_name": "mnist",
                "preset": "fast",
                "total_combinations": 10,
                "varied_parameters": {"lr": [0.1, 0.01, 1e-7], "layers": {"n": [2, 4]}},
                "parameter_values": {"lr": 0.1, "note": "line\nbreak \u{1F600}"},
                "parent_experiment_id": (i % 2 == 0).then_some("parent"),
            }))
            .unwrap()
        })
        .collect();
    store.batch_create_variations(&variations).unwrap();
    let statuses = [
        Status::InQueue,
        Status::Training,
        Status::Done,
        Status::Failed,
        Status::Cancelled,
    ];
    let updates = |prefix: &str, n: usize| -> Vec<StatusUpdate> {
        (0..n)
            .filter(|i| i % 6 != 5)
            .map(|i| StatusUpdate {
                job_id: format!("{prefix}{i:05}"),
                status: statuses[i % 5],
                error_message: (i % 5 == 3).then(|| format!("failed: \"{i}\"\t✗")),
            })
            .collect()
    };
    // Training first, so that the finished ones have a start, an end and a
    // duration.
    let training: Vec<StatusUpdate> = updates("e", 1500)
        .into_iter()
        .map(|u| StatusUpdate {
            status: Status::Training,
            error_message: None,
            ..u
        })
        .collect();
    store.batch_update_execution_status(&training).unwrap();
    store
        .batch_update_execution_status(&updates("e", 1500))
        .unwrap();
    store
        .batch_update_variation_status(&updates("v", 1200))
        .unwrap();
    for i in (0..1500).step_by(11) {
        store.update_progress(&format!("e{i:05}"), 3).unwrap();
    }
    for i in (1..1200).step_by(6) {
        store.heartbeat(&format!("v{i:05}")).unwrap();
    }
    // The jobs left pending (every sixth), claimed by a worker.
    let claimed = store.claim_next_jobs(100, "worker-ü").unwrap();
    assert_eq!(claimed.len(), 100);
    store
}

#[test]
fn pg_export_round_trip_sqlite_postgres_sqlite_is_identical() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_source(dir.path());
    let lines = export_lines(&source, None);
    assert_eq!(lines.len(), 2700);

    let url = jobtrack_tests::fresh_database("jobtrack_export_round_trip");
    let pg = PgStore::connect(&url).unwrap();
    assert_eq!(import_lines(&pg, &lines, 1000), 2700);
    let from_pg = export_lines(&pg, None);
    let first_difference = lines
        .iter()
        .zip(&from_pg)
        .position(|(a, b)| a != b)
        .map(|i| {
            format!(
                "line {i}:\n  sqlite:     {}\n  postgresql: {}",
                lines[i], from_pg[i]
            )
        });
    assert_eq!(first_difference, None);
    assert_eq!(from_pg, lines);
    assert_eq!(pg.verify_statistics().unwrap(), []);
    assert_eq!(
        pg.get_statistics_optimized().unwrap(),
        source.get_statistics_optimized().unwrap()
    );
    for dataset in ["mnist", "data\"set,3"] {
        assert_eq!(
            pg.get_dataset_stats_optimized(dataset).unwrap(),
            source.get_dataset_stats_optimized(dataset).unwrap(),
            "{dataset}"
        );
    }
    // What a listing shows of each job is the same too.
    assert_eq!(
        pg.get_all_jobs_optimized(10_000, None).unwrap(),
        source.get_all_jobs_optimized(10_000, None).unwrap()
    );

    let target = JobStore::open(dir.path().join("target.db")).unwrap();
    assert_eq!(import_lines(&target, &from_pg, 700), 2700);
    assert_eq!(export_lines(&target, None), lines);
    assert_eq!(target.verify_statistics().unwrap(), []);
    assert_eq!(target.verify_summary().unwrap(), []);

    // COPY streams the same rows, in the same order, to any client.
    let mut client = connect(&url);
    let mut copied = String::new();
    std::io::Read::read_to_string(
        &mut client
            .copy_out("COPY (SELECT t.job_id FROM jobtrack.export_jobs() AS t) TO STDOUT")
            .unwrap(),
        &mut copied,
    )
    .unwrap();
    let exported_ids: Vec<String> = lines
        .iter()
        .map(|l| serde_json::from_str::<JobRecord>(l).unwrap().job_id)
        .collect();
    assert_eq!(copied.lines().collect::<Vec<_>>(), exported_ids);

    // since: the jobs created at or after a time, on both backends alike.
    // Each batch has one created_at: the variations' is the later one.
    let first_variation: JobRecord = serde_json::from_str(&lines[1500]).unwrap();
    assert_eq!(first_variation.job_id, "v00000");
    let since = Some(first_variation.created_at);
    let tail = export_lines(&pg, since);
    assert_eq!(tail, export_lines(&source, since));
    assert_eq!(tail, lines[1500..]);
}

#[test]
fn pg_export_reads_one_snapshot_while_writers_change_the_jobs() {
    let _serial = one_at_a_time();
    let url = jobtrack_tests::fresh_database("jobtrack_export_snapshot");
    let mut writer = connect(&url);
    create_executions(&mut writer, "s", 3 * EXPORT_PAGE as i32 + 17, "done");
    let before: Vec<String> = writer
        .query(
            "SELECT job_id FROM jobtrack.executions ORDER BY created_at, job_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let pg = PgStore::connect(&url).unwrap();
    let mut export = pg.export_jobs(None).unwrap();
    let first = export.next().unwrap().unwrap();
    // While the export is open: new jobs, deleted jobs, changed jobs.
    create_executions(&mut writer, "t", 500, "pending");
    writer
        .batch_execute(
            "DELETE FROM jobtrack.executions WHERE job_id IN (SELECT job_id FROM jobtrack.executions WHERE job_id LIKE 's%' ORDER BY job_id DESC LIMIT 300);
             UPDATE jobtrack.executions SET status = 'failed', success = false WHERE job_id LIKE 's0001%';",
        )
        .unwrap();
    let mut ids = vec![first.job_id.clone()];
    let mut statuses = vec![first.status];
    for record in export {
        let record = record.unwrap();
        ids.push(record.job_id);
        statuses.push(record.status);
    }
    assert_eq!(ids, before, "the export saw a change made after it started");
    assert!(statuses.iter().all(|s| *s == Status::Done));
    // The export's transaction ended with it.
    let open: i64 = writer
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(open, 0);
}

#[test]
fn pg_export_dropped_half_way_leaves_no_transaction_open() {
    let _serial = one_at_a_time();
    let url = jobtrack_tests::fresh_database("jobtrack_export_dropped");
    let mut writer = connect(&url);
    create_executions(&mut writer, "d", 2 * EXPORT_PAGE as i32 + 1, "done");
    let pg = PgStore::connect(&url).unwrap();
    {
        let mut export = pg.export_jobs(None).unwrap();
        for _ in 0..EXPORT_PAGE + 5 {
            export.next().unwrap().unwrap();
        }
    }
    let in_transaction: i64 = writer
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND (state LIKE 'idle in transaction%' OR backend_xmin IS NOT NULL)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(in_transaction, 0, "a dropped export kept its snapshot");
    // The store's connections are fine: a write and a second export work.
    let created = pg
        .batch_create_executions(&[serde_json::from_value(json!({
            "job_id": "after", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"
        }))
        .unwrap()])
        .unwrap();
    assert_eq!(created, ["after"]);
    assert_eq!(pg.export_jobs(None).unwrap().count(), 2 * EXPORT_PAGE + 2);
    // An export of nothing ends at once.
    let late = Timestamp::LATEST_STORED;
    assert_eq!(pg.export_jobs(Some(late)).unwrap().count(), 0);
}

#[test]
fn pg_import_refuses_a_whole_chunk_for_one_bad_or_existing_job() {
    let _serial = one_at_a_time();
    let url = jobtrack_tests::fresh_database("jobtrack_import_refused");
    let pg = PgStore::connect(&url).unwrap();
    let record = |id: &str| -> JobRecord {
        serde_json::from_value(json!({
            "job_id": id, "job_type": "execution", "status": "done", "dataset_name": "d",
            "preset": "p", "mode": "single", "success": true, "duration_seconds": 2.0,
            "start_time": "2024-02-29T23:59:58.000000Z", "end_time": "2024-03-01T00:00:00.000000Z",
            "created_at": "2024-02-29T23:00:00.000000Z", "updated_at": "2024-03-01T00:00:00.000000Z"
        }))
        .unwrap()
    };
    assert_eq!(pg.import_jobs(&[record("a")]).unwrap(), 1);
    let err = pg.import_jobs(&[record("b"), record("a")]).unwrap_err();
    assert_eq!(err.sqlstate(), "23505");
    assert_eq!(err.to_string(), "job_id \"a\" already exists");
    let mut bad = record("c");
    bad.duration_seconds = Some(f64::MAX);
    let err = pg.import_jobs(&[record("d"), bad]).unwrap_err();
    assert_eq!(err.sqlstate(), "22023");
    assert!(
        err.to_string()
            .starts_with("element 1: field \"duration_seconds\""),
        "{err}"
    );
    let ids: Vec<String> = export_lines(&pg, None)
        .iter()
        .map(|l| serde_json::from_str::<JobRecord>(l).unwrap().job_id)
        .collect();
    assert_eq!(ids, ["a"]);
    assert_eq!(pg.verify_statistics().unwrap(), []);
}
