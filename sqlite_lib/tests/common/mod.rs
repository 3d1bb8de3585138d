//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use jobtrack_sqlite::{
    JobStore, JobStoreOptions, NewExecution, NewVariation, PipelineMode, Status, StatusUpdate,
};
use rusqlite::Connection;
use tempfile::TempDir;

/// A store on a fresh file; keep the `TempDir` alive as long as the store.
pub fn file_store() -> (TempDir, JobStore) {
    file_store_with(JobStoreOptions::default())
}

pub fn file_store_with(options: JobStoreOptions) -> (TempDir, JobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open_with(db_path(&dir), options).unwrap();
    (dir, store)
}

pub fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("jobs.db")
}

/// A plain rusqlite connection to the store's file: "another program".
pub fn raw(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn
}

pub fn exec(job_id: &str) -> NewExecution {
    exec_on(job_id, "mnist")
}

pub fn exec_on(job_id: &str, dataset: &str) -> NewExecution {
    NewExecution {
        job_id: job_id.to_owned(),
        pipeline_mode: PipelineMode::Single,
        dataset_name: dataset.to_owned(),
        preset: "fast".to_owned(),
        total_steps: None,
        status: Status::Pending,
    }
}

pub fn var(job_id: &str) -> NewVariation {
    var_on(job_id, "mnist")
}

pub fn var_on(job_id: &str, dataset: &str) -> NewVariation {
    NewVariation {
        job_id: job_id.to_owned(),
        variation_id: format!("{job_id}-v"),
        experiment_name: "sweep".to_owned(),
        dataset_name: dataset.to_owned(),
        preset: "fast".to_owned(),
        total_combinations: 2,
        varied_parameters: serde_json::from_str(r#"{"lr": [0.1, 0.2]}"#).unwrap(),
        parameter_values: serde_json::from_str(r#"{"lr": 0.1}"#).unwrap(),
        parent_experiment_id: None,
        total_steps: None,
        status: Status::Pending,
    }
}

pub fn upd(job_id: &str, status: Status) -> StatusUpdate {
    StatusUpdate {
        job_id: job_id.to_owned(),
        status,
        error_message: None,
    }
}

pub fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The summary table must equal what the base tables say, row for row.
pub fn assert_summary_exact(conn: &Connection) {
    let mismatches = count(
        conn,
        "WITH expected AS (
             SELECT job_id, 'execution' AS job_type, status, dataset_name, preset, start_time,
                    duration_seconds, success, updated_at AS last_updated FROM executions
             UNION ALL
             SELECT job_id, 'variation', status, dataset_name, preset, start_time,
                    duration_seconds, success, updated_at FROM variations)
         SELECT (SELECT COUNT(*) FROM (SELECT * FROM expected EXCEPT SELECT * FROM job_summary_cache))
              + (SELECT COUNT(*) FROM (SELECT * FROM job_summary_cache EXCEPT SELECT * FROM expected))",
    );
    assert_eq!(
        mismatches, 0,
        "job_summary_cache differs from the base tables"
    );
}
