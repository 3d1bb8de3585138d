//! `jobtrack export` on a SQLite file: JSON lines that `import` restores
//! into a new file holding exactly the same data, CSV with a header, the
//! `--since` filter, a reader that goes away, and the usage errors.

mod cli_common;

use cli_common::*;
use serde_json::{json, Value};

/// `seeded` with every kind of state: finished jobs, a failed one with a
/// message that needs escaping, a heartbeat, progress, a claim.
fn lived_in(dir: &std::path::Path) -> std::path::PathBuf {
    let db = seeded(dir);
    let updates = [
        json!({"job_id": "seed-e10", "status": "training"}),
        json!({"job_id": "seed-e11", "status": "failed", "error_message": "oom, \"again\"\nline 2"}),
        json!({"job_id": "seed-v3", "status": "training"}),
        json!({"job_id": "seed-v4", "status": "cancelled"}),
    ]
    .map(|v| v.to_string());
    let updates = write(dir, "lived.jsonl", updates.join("\n"));
    json_of(&jobtrack(&db, &["--json", "update", p(&updates)]));
    assert!(jobtrack(&db, &["heartbeat", "seed-v3"]).status.success());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE executions SET output_path = '/out/é', current_step = 7 WHERE job_id = 'seed-e10'",
        [],
    )
    .unwrap();
    db
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    assert!(out.status.success(), "{}", stderr(out));
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn exported_lines_restore_a_file_with_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = lived_in(dir.path());
    let out = jobtrack(&db, &["export"]);
    let exported = lines(&out);
    assert_eq!(exported.len(), 40);
    // Every column, in column order, oldest created first.
    let first = exported[0].as_object().unwrap();
    assert_eq!(first.len(), 24);
    assert!(stdout(&out).starts_with("{\"job_id\":"));
    let created: Vec<&str> = exported
        .iter()
        .map(|r| r["created_at"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]));
    let failed_job = exported.iter().find(|r| r["job_id"] == "seed-e11").unwrap();
    assert_eq!(failed_job["error_message"], "oom, \"again\"\nline 2");
    assert_eq!(failed_job["success"], false);

    let file = write(dir.path(), "export.jsonl", stdout(&out));
    let copy = dir.path().join("copy.db");
    let imported = jobtrack(&copy, &["import", p(&file)]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert_eq!(
        stdout(&imported).trim(),
        "created 20 executions and 20 variations (40 restored whole)"
    );
    assert_eq!(stdout(&jobtrack(&copy, &["export"])), stdout(&out));
    // The file holds the same rows: jobs, summary table, counters.
    let data = |db| {
        snapshot(db)
            .into_iter()
            .filter(|l| !l.starts_with("table ") && !l.starts_with("index "))
            .filter(|l| !l.contains("metrics"))
            .collect::<Vec<_>>()
    };
    assert_eq!(data(&copy), data(&db));
    let verified = jobtrack(&copy, &["verify"]);
    assert!(verified.status.success(), "{}", stdout(&verified));

    // Importing the export again: every job exists, nothing is written.
    let err = failed(&jobtrack(&copy, &["import", p(&file)]));
    assert!(err.contains("already exists (SQLSTATE 23505)"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
}

#[test]
fn csv_has_a_header_and_one_quoted_row_per_job() {
    let dir = tempfile::tempdir().unwrap();
    let db = lived_in(dir.path());
    let out = jobtrack(&db, &["export", "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header.len(), 24);
    assert_eq!(header[0], "job_id");
    assert_eq!(header[23], "worker");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 40);
    let failed_job = rows.iter().find(|r| &r[0] == "seed-e11").unwrap();
    assert_eq!(&failed_job[10], "oom, \"again\"\nline 2");
    assert_eq!(&failed_job[8], "false");
    let variation = rows.iter().find(|r| &r[0] == "seed-v0").unwrap();
    assert_eq!(&variation[20], r#"{"lr":[0.1,0.2]}"#);
    // A NULL is an empty field.
    assert_eq!(&variation[23], "");
}

#[test]
fn since_keeps_the_jobs_created_from_then_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE executions SET created_at = '2020-01-01T00:00:00.000000Z';
         UPDATE variations SET created_at = '2021-01-01T00:00:00.000000Z' WHERE job_id < 'seed-v2';",
    )
    .unwrap();
    let ids = |args: &[&str]| -> Vec<String> {
        lines(&jobtrack(&db, args))
            .iter()
            .map(|r| r["job_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&["export"]).len(), 40);
    let since_2021 = ids(&["export", "--since", "2021-01-01T00:00:00Z"]);
    assert_eq!(since_2021.len(), 20);
    assert_eq!(since_2021[..2], ["seed-v0", "seed-v1"]);
    // seed-v0, seed-v1 and seed-v10 to seed-v19 are from 2021: 8 are later.
    assert_eq!(
        ids(&["export", "--since", "2021-01-01 00:00:00.000001"]).len(),
        8
    );
    assert_eq!(ids(&["export", "--since", "9999-12-31T23:59:59Z"]).len(), 0);
    let bad = jobtrack(&db, &["export", "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("2026-01-31T12:00:00Z"),
        "{}",
        stderr(&bad)
    );
    let bad = jobtrack(&db, &["export", "--format", "xml"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_reader_that_goes_away_ends_the_export_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .arg("export")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    // A missing file is refused, not created.
    let missing = dir.path().join("missing.db");
    let err = failed(&jobtrack(&missing, &["export"]));
    assert!(err.contains("58P01"), "{err}");
    assert!(!missing.exists());
}
