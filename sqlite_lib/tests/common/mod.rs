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

/// The summary table must equal what the base tables say, row for row, and
/// so must the experiment counters (which `verify_statistics` does not
/// cover) their recount.
pub fn assert_summary_exact(conn: &Connection) {
    let mismatches = count(
        conn,
        "WITH expected AS (
             SELECT job_id, 'execution' AS job_type, status, dataset_name, preset, start_time,
                    duration_seconds, success, updated_at AS last_updated,
                    NULL AS experiment_name, NULL AS total_combinations FROM executions
             UNION ALL
             SELECT job_id, 'variation', status, dataset_name, preset, start_time,
                    duration_seconds, success, updated_at, experiment_name, total_combinations
             FROM variations)
         SELECT (SELECT COUNT(*) FROM (SELECT * FROM expected EXCEPT SELECT * FROM job_summary_cache))
              + (SELECT COUNT(*) FROM (SELECT * FROM job_summary_cache EXCEPT SELECT * FROM expected))",
    );
    assert_eq!(
        mismatches, 0,
        "job_summary_cache differs from the base tables"
    );
    let mismatches = count(
        conn,
        "SELECT (SELECT COUNT(*) FROM (SELECT * FROM experiment_counters
                                       EXCEPT SELECT * FROM experiment_counters_recount))
              + (SELECT COUNT(*) FROM (SELECT * FROM experiment_counters_recount
                                       EXCEPT SELECT * FROM experiment_counters))",
    );
    assert_eq!(
        mismatches, 0,
        "experiment_counters differ from their recount"
    );
}

/// A command running this test binary's ignored test `name` alone, as a
/// child process: the way the tests get a second process on a file. The
/// child prints its progress on stdout (`--nocapture`).
pub fn child_test(name: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        name,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd
}

/// What a child process prints before each of its messages, to tell them
/// from the test harness's lines (which may precede a message on its line).
pub const CHILD_SAYS: &str = "jobtrack-child: ";

/// Prints a message of a child process for its parent, at once.
pub fn child_says(message: &str) {
    use std::io::Write;
    println!("{CHILD_SAYS}{message}");
    std::io::stdout().flush().unwrap();
}

/// The messages of a child process in its output.
pub fn child_messages(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter_map(|l| l.split_once(CHILD_SAYS).map(|(_, m)| m))
        .collect()
}

/// Reads the child's stdout until it says `message`; panics if the child
/// ends first.
pub fn wait_for_line(lines: &mut impl Iterator<Item = std::io::Result<String>>, message: &str) {
    for line in lines {
        let line = line.unwrap();
        if child_messages(&line) == [message] {
            return;
        }
    }
    panic!("the child process ended before saying {message:?}");
}

/// The schema of a file as `(type, name, sql)`, the SQL normalised: comments
/// dropped, whitespace collapsed, identifier quotes removed.
pub fn normalised_schema(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_schema \
             WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<Vec<(String, String, String)>>>()
        .unwrap();
    rows.into_iter()
        .map(|(t, n, sql)| (t, n, normalise_sql(&sql)))
        .collect()
}

fn normalise_sql(sql: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\'' {
                in_string = false;
            }
            continue;
        }
        match c {
            '\'' => {
                in_string = true;
                out.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                out.push(' ');
            }
            '"' => {}
            c if c.is_whitespace() => out.push(' '),
            c => out.push(c),
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
}

/// A fingerprint of every row of the base and derived tables the file has
/// (an old version's file lacks the later ones; a table that appears
/// changes the fingerprint), to tell "exactly as before".
pub fn fingerprint(conn: &Connection) -> String {
    let tables: Vec<&str> = [
        "executions",
        "variations",
        "job_summary_cache",
        "job_counters",
        "experiment_counters",
    ]
    .into_iter()
    .filter(|t| {
        count(
            conn,
            &format!("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = '{t}'"),
        ) == 1
    })
    .collect();
    fingerprint_of(conn, &tables)
}

/// [`fingerprint`] of some tables.
pub fn fingerprint_of(conn: &Connection, tables: &[&str]) -> String {
    fingerprint_except(conn, tables, &[])
}

/// [`fingerprint_of`] without the columns `except` (those a migration
/// adds, say).
pub fn fingerprint_except(conn: &Connection, tables: &[&str], except: &[&str]) -> String {
    let mut all = String::new();
    for table in tables {
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap()
            .query_map([table], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<String>>>()
            .unwrap()
            .into_iter()
            .filter(|c| !except.contains(&c.as_str()))
            .collect();
        let row = columns
            .iter()
            .map(|c| format!("quote({c})"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let mut stmt = conn
            .prepare(&format!("SELECT {row} FROM {table} ORDER BY 1"))
            .unwrap();
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        all.push_str(&format!("{table}: {} rows\n", rows.len()));
        for r in rows {
            all.push_str(&r);
            all.push('\n');
        }
    }
    all
}

/// Asserts that two fingerprints (or other long texts) are equal, showing
/// the line counts and the first line that differs rather than both texts.
#[track_caller]
pub fn assert_same(actual: &str, expected: &str, what: &str) {
    if actual == expected {
        return;
    }
    let (a, e): (Vec<_>, Vec<_>) = (actual.lines().collect(), expected.lines().collect());
    let at = a
        .iter()
        .zip(&e)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(e.len()));
    panic!(
        "{what}: {} lines, expected {}; first difference at line {at}:\n  got      {:?}\n  expected {:?}",
        a.len(),
        e.len(),
        a.get(at),
        e.get(at)
    );
}

/// 2020-01-01T00:00:00Z: older than any job the tests create, and "old"
/// for any `days` the tests use but 0.
pub const OLD_MICROS: i64 = 1_577_836_800_000_000;

/// The `created_at` text `minute` minutes after [`OLD_MICROS`].
pub fn old_at(minute: i64) -> String {
    jobtrack_sqlite::Timestamp::from_unix_micros(OLD_MICROS + minute * 60_000_000).to_string()
}

/// Sets a job's `created_at` by plain SQL, as another program could.
pub fn set_created(conn: &Connection, job_id: &str, created_at: &str) {
    set_timestamp(conn, job_id, "created_at", Some(created_at));
}

/// Sets a job's `updated_at` by plain SQL (its triggers copy it into the
/// summary), to make the job's last status change or progress look old.
pub fn set_updated(conn: &Connection, job_id: &str, updated_at: &str) {
    set_timestamp(conn, job_id, "updated_at", Some(updated_at));
}

/// Sets (or clears) a job's `last_heartbeat` by plain SQL.
pub fn set_last_heartbeat(conn: &Connection, job_id: &str, last_heartbeat: Option<&str>) {
    set_timestamp(conn, job_id, "last_heartbeat", last_heartbeat);
}

/// `column` (a timestamp column of both base tables) of the job `job_id`
/// set to `value` by plain SQL.
fn set_timestamp(conn: &Connection, job_id: &str, column: &str, value: Option<&str>) {
    let n: usize = ["executions", "variations"]
        .iter()
        .map(|table| {
            conn.execute(
                &format!("UPDATE {table} SET {column} = ?1 WHERE job_id = ?2"),
                rusqlite::params![value, job_id],
            )
            .unwrap()
        })
        .sum();
    assert_eq!(n, 1, "no job {job_id}");
}

/// The timestamp text `minutes` minutes before now (after it when
/// negative).
pub fn minutes_ago(minutes: i64) -> String {
    let now = jobtrack_sqlite::Timestamp::now().unix_micros();
    jobtrack_sqlite::Timestamp::from_unix_micros(now - minutes * 60_000_000).to_string()
}
