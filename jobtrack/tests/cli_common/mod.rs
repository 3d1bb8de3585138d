//! Helpers of the CLI tests: run the `jobtrack` binary, write input files,
//! take a snapshot of a database file.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::Value;

/// Exit status of a command that failed (documented in `--help`).
pub const FAILURE: i32 = 3;

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jobtrack"))
}

/// Runs `jobtrack --db DB ARGS…` to completion.
pub fn jobtrack(db: &Path, args: &[&str]) -> Output {
    jobtrack_on(db, args)
}

/// [`jobtrack`] with any `--db`: a path or a URL.
pub fn jobtrack_on(db: impl AsRef<OsStr>, args: &[&str]) -> Output {
    bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("the jobtrack binary runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON a successful `--json` command printed.
pub fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "jobtrack failed ({:?}): {}",
        out.status,
        stderr(out)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

/// Asserts that the command failed with the failure status, and returns its
/// stderr.
pub fn failed(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(FAILURE),
        "expected a failure; stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    err
}

pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// One JSON line of an execution.
pub fn exec_line(job_id: &str) -> String {
    serde_json::json!({
        "job_id": job_id, "pipeline_mode": "single", "dataset_name": "mnist", "preset": "fast"
    })
    .to_string()
}

/// One JSON line of a variation.
pub fn var_line(job_id: &str) -> String {
    serde_json::json!({
        "job_id": job_id, "variation_id": format!("{job_id}-v"), "experiment_name": "sweep",
        "dataset_name": "cifar", "preset": "fast", "total_combinations": 4,
        "varied_parameters": {"lr": [0.1, 0.2]}, "parameter_values": {"lr": 0.1}
    })
    .to_string()
}

/// A database with a few jobs of both kinds, some of them finished, created
/// by the CLI itself.
pub fn seeded(dir: &Path) -> PathBuf {
    let db = dir.join("seeded.db");
    let mut lines = Vec::new();
    for i in 0..20 {
        lines.push(exec_line(&format!("seed-e{i}")));
        lines.push(var_line(&format!("seed-v{i}")));
    }
    let jobs = write(dir, "seed.jsonl", lines.join("\n"));
    json_of(&jobtrack(&db, &["--json", "import", p(&jobs)]));
    let updates: Vec<String> = (0..10)
        .map(|i| serde_json::json!({"job_id": format!("seed-e{i}"), "status": "done"}).to_string())
        .collect();
    let updates = write(dir, "seed-updates.jsonl", updates.join("\n"));
    json_of(&jobtrack(&db, &["--json", "update", p(&updates)]));
    db
}

/// Every row of every jobtrack table and the schema, as text: two
/// snapshots are equal when the file holds exactly the same data.
pub fn snapshot(db: &Path) -> Vec<String> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("the database opens read-only");
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    tables.retain(|t| !t.starts_with("sqlite_"));
    let mut out: Vec<String> = conn
        .prepare("SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_schema")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let mut line = format!("{table}:");
            for i in 0..columns {
                match row.get_ref(i).unwrap() {
                    ValueRef::Null => line.push_str(" NULL"),
                    ValueRef::Integer(n) => write!(line, " {n}").unwrap(),
                    ValueRef::Real(x) => write!(line, " {x:?}").unwrap(),
                    ValueRef::Text(t) => write!(line, " {:?}", String::from_utf8_lossy(t)).unwrap(),
                    ValueRef::Blob(b) => write!(line, " x{b:02x?}").unwrap(),
                }
            }
            out.push(line);
        }
    }
    out.sort();
    out
}

/// Number of rows of `table`.
pub fn rows(db: &Path, table: &str) -> i64 {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// What two runs of `demo` with the same options print alike on any
/// backend: the statistics and the running jobs, without the lines that
/// the clock decides (durations).
pub fn demo_figures(text: &str) -> Vec<String> {
    let section = |title: &str| {
        let start = text.find(title).expect(title);
        let end = text[start + 1..]
            .find("\n== ")
            .map_or(text.len(), |e| start + 1 + e);
        text[start..end].to_owned()
    };
    [section("== statistics"), section("== running jobs")]
        .iter()
        .flat_map(|s| s.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| !line.contains("duration"))
        .collect()
}
