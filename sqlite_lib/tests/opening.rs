//! Opening a file: no write lock unless a migration is needed, concurrent
//! first opens, foreign and newer files refused before anything is written,
//! missing files not created on request, migrations that end with exactly
//! the schema of a new file.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use jobtrack_sqlite::{JobStore, JobStoreOptions, Status, SCHEMA_VERSION};
use rusqlite::Connection;

const V1: &str = include_str!("../../sql/sqlite/migrations/0001_initial.sql");
const V2: &str = include_str!("../../sql/sqlite/migrations/0002_counters.sql");
const V3: &str = include_str!("../../sql/sqlite/migrations/0003_guards.sql");
const V4: &str = include_str!("../../sql/sqlite/migrations/0004_jobs_view.sql");
const V5: &str = include_str!("../../sql/sqlite/migrations/0005_batch_status.sql");
const V6: &str = include_str!("../../sql/sqlite/migrations/0006_worker.sql");
const V7: &str = include_str!("../../sql/sqlite/migrations/0007_heartbeat.sql");
const V8: &str = include_str!("../../sql/sqlite/migrations/0008_experiment_counters.sql");

fn quick(busy_timeout: Duration) -> JobStoreOptions {
    JobStoreOptions {
        busy_timeout,
        ..JobStoreOptions::default()
    }
}

/// Child process: takes the write lock of the file in `JOBTRACK_TEST_DB`
/// with `BEGIN IMMEDIATE`, writes a job it has not committed, says
/// `locked`, and holds the lock until a line arrives on its stdin; then
/// rolls back.
#[test]
#[ignore = "a child process of reads_work_while_another_process_holds_the_write_lock"]
fn child_holds_the_write_lock() {
    let path = std::env::var("JOBTRACK_TEST_DB").expect("run by another test");
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE; INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) \
         VALUES ('uncommitted', 'single', 'mnist', 'p');",
    )
    .unwrap();
    child_says("locked");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    conn.execute_batch("ROLLBACK").unwrap();
    child_says("released");
}

#[test]
fn reads_work_while_another_process_holds_the_write_lock() {
    let (dir, store) = file_store();
    store
        .batch_create_executions(&[exec("a"), exec("b")])
        .unwrap();
    store.create_variation(&var("v")).unwrap();
    store
        .update_execution_status("a", Status::Training, None)
        .unwrap();
    drop(store);
    let path = db_path(&dir);

    let mut holder = child_test("child_holds_the_write_lock")
        .env("JOBTRACK_TEST_DB", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    wait_for_line(&mut lines, "locked");

    // Opening a current file only reads it: no wait, even with a zero
    // busy timeout; nor does any read.
    let store = JobStore::open_with(&path, quick(Duration::ZERO)).unwrap();
    let s = store.get_statistics_optimized().unwrap();
    assert_eq!((s.total_executions, s.total_variations), (2, 1));
    assert_eq!(store.get_statistics_cached().unwrap().total_jobs, 3);
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.verify_summary().unwrap(), []);
    assert_eq!(store.get_recent_jobs_optimized(10).unwrap().len(), 3);
    assert_eq!(store.get_all_jobs_optimized(10, None).unwrap().len(), 3);
    assert_eq!(store.get_running_jobs(None, None).unwrap().len(), 3);
    assert_eq!(
        store
            .get_dataset_stats_optimized("mnist")
            .unwrap()
            .total_jobs,
        3
    );
    // A writer cannot have the lock: 55P03 once its busy timeout is over.
    let err = store.create_execution(&exec("c")).unwrap_err();
    assert_eq!(err.sqlstate(), "55P03", "{err}");
    let err = store
        .transaction(|tx| tx.batch_create_executions(&[exec("c")]))
        .unwrap_err();
    assert_eq!(err.sqlstate(), "55P03", "{err}");

    // A writer with a longer busy timeout gets the lock once the holder
    // lets go.
    let patient = JobStore::open_with(&path, quick(Duration::from_secs(60))).unwrap();
    let writer = std::thread::spawn(move || patient.create_execution(&exec("c")).map(|_| ()));
    writeln!(holder.stdin.as_mut().unwrap()).unwrap();
    wait_for_line(&mut lines, "released");
    writer.join().unwrap().unwrap();
    assert!(holder.wait().unwrap().success());
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 4);
}

#[test]
fn opening_a_current_file_takes_no_write_lock() {
    let (dir, store) = file_store();
    drop(store);
    let path = db_path(&dir);
    let other = raw(&path);
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    for _ in 0..3 {
        let store = JobStore::open_with(&path, quick(Duration::ZERO)).unwrap();
        assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 0);
    }
    other.execute_batch("COMMIT").unwrap();
}

#[test]
fn concurrent_first_opens_never_fail() {
    const ROUNDS: usize = 60;
    const THREADS: usize = 12;
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(db_path(&dir));
        let barrier = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    let store = JobStore::open_with(&*path, quick(Duration::from_secs(30)))?;
                    store.create_execution(&exec(&format!("t{t}")))?;
                    Ok::<_, jobtrack_sqlite::Error>(())
                })
            })
            .collect();
        for t in threads {
            if let Err(e) = t.join().unwrap() {
                failures.push(format!("round {round}: {e} ({})", e.sqlstate()));
            }
        }
        let conn = raw(&path);
        assert_eq!(
            count(&conn, "PRAGMA user_version"),
            i64::from(SCHEMA_VERSION)
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM executions"),
            (THREADS - failures.len().min(THREADS)) as i64
        );
        assert_eq!(failures, Vec::<String>::new());
    }
    eprintln!("{ROUNDS} rounds of {THREADS} threads opening a new file: 0 failures");
}

/// Child process: opens the file in `JOBTRACK_TEST_DB` when its stdin
/// says `go`, creates the job `JOBTRACK_TEST_JOB`, prints `ok` or the
/// error.
#[test]
#[ignore = "a child process of concurrent_first_opens_in_processes_never_fail"]
fn child_opens_and_writes() {
    let path = std::env::var("JOBTRACK_TEST_DB").expect("run by another test");
    let job = std::env::var("JOBTRACK_TEST_JOB").unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let result = JobStore::open_with(&path, quick(Duration::from_secs(30)))
        .and_then(|store| store.create_execution(&exec(&job)));
    match result {
        Ok(_) => child_says("ok"),
        Err(e) => child_says(&format!("error {}: {e}", e.sqlstate())),
    }
}

#[test]
fn concurrent_first_opens_in_processes_never_fail() {
    const ROUNDS: usize = 8;
    const PROCESSES: usize = 10;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let mut children: Vec<_> = (0..PROCESSES)
            .map(|p| {
                child_test("child_opens_and_writes")
                    .env("JOBTRACK_TEST_DB", &path)
                    .env("JOBTRACK_TEST_JOB", format!("p{p}"))
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // All started; release them together.
        for c in &mut children {
            writeln!(c.stdin.as_mut().unwrap(), "go").unwrap();
        }
        for c in children {
            let out = c.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                child_messages(&text),
                ["ok"],
                "round {round}: a process failed: {text}"
            );
        }
        let conn = raw(&path);
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM executions"),
            PROCESSES as i64
        );
    }
}

#[test]
fn a_missing_file_is_not_created_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let options = JobStoreOptions {
        create_if_missing: false,
        ..JobStoreOptions::default()
    };
    let err = JobStore::open_with(&path, options.clone()).unwrap_err();
    assert_eq!(err.sqlstate(), "58P01");
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be created"
    );
    // An existing file opens as usual with the option off.
    drop(JobStore::open(&path).unwrap());
    let store = JobStore::open_with(&path, options).unwrap();
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 0);
}

/// Every file next to `path` (the database, its journal, WAL and shared
/// memory): its name, length and a hash of its bytes (FNV-1a).
fn files_of(path: &Path) -> Vec<(String, usize, u64)> {
    let dir = path.parent().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).unwrap();
            let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
            });
            (
                e.file_name().to_string_lossy().into_owned(),
                bytes.len(),
                hash,
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn foreign_and_newer_files_are_refused_before_anything_is_written() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "another program's tables",
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); \
             INSERT INTO notes (body) VALUES ('keep me');",
            "refusing to add jobtrack's tables",
        ),
        (
            "another program's tables and a user_version jobtrack knows",
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); PRAGMA user_version = 2;",
            "its table executions is missing",
        ),
        (
            "a negative user_version",
            "CREATE TABLE notes (id INTEGER PRIMARY KEY); PRAGMA user_version = -1;",
            "user_version = -1",
        ),
        (
            "an empty file with a negative user_version",
            "PRAGMA user_version = -1;",
            "user_version = -1",
        ),
        (
            "a newer jobtrack file",
            "CREATE TABLE executions (job_id TEXT); PRAGMA user_version = 99;",
            "newer than the version",
        ),
    ];
    for (what, setup, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(setup).unwrap();
            let mode: String = conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "delete");
        }
        let before = files_of(&path);
        for options in [
            JobStoreOptions::default(),
            JobStoreOptions {
                create_if_missing: false,
                reader_connections: 0,
                cache_enabled: false,
                ..JobStoreOptions::default()
            },
        ] {
            let err = JobStore::open_with(&path, options).unwrap_err();
            assert_eq!(err.sqlstate(), "0A000", "{what}: {err}");
            assert!(err.to_string().contains(message), "{what}: {err}");
            assert_eq!(files_of(&path), before, "{what}: the files changed");
        }
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete", "{what}");
    }
}

/// A file at `version` as the release of that version made it, with jobs
/// written by plain SQL (a version's own triggers keep its derived tables).
fn old_file(path: &Path, version: i32) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
    for script in [V1, V2, V3, V4, V5, V6, V7, V8]
        .iter()
        .take(version as usize)
    {
        conn.execute_batch(script).unwrap();
    }
    conn.pragma_update(None, "user_version", version).unwrap();
    for i in 0..40 {
        conn.execute(
            "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status, \
             success, duration_seconds, start_time) VALUES (?1, 'single', ?2, 'p', ?3, ?4, ?5, \
             '2026-01-02T03:04:05.000006Z')",
            rusqlite::params![
                format!("e{i}"),
                format!("d{}", i % 3),
                ["done", "failed", "training"][i % 3],
                [Some(1), Some(0), None][i % 3],
                (i % 3 != 2).then_some(i as f64 / 4.0)
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO variations (job_id, variation_id, experiment_name, dataset_name, \
             preset, total_combinations, status, parameter_values) \
             VALUES (?1, 'a', 'x', ?2, 'p', 2, ?3, '{\"lr\": 0.10}')",
            rusqlite::params![
                format!("v{i}"),
                format!("d{}", i % 2),
                ["pending", "cancelled"][i % 2]
            ],
        )
        .unwrap();
    }
    conn
}

/// The base tables' rows, without rowids: what a migration must keep (the
/// columns a migration adds left out; they are checked apart).
fn base_rows(conn: &Connection) -> String {
    fingerprint_except(
        conn,
        &["executions", "variations"],
        &["worker", "last_heartbeat"],
    )
}

#[test]
fn a_file_migrated_from_every_version_has_the_schema_of_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let fresh_path = dir.path().join("fresh.db");
    drop(JobStore::open(&fresh_path).unwrap());
    let fresh = normalised_schema(&raw(&fresh_path));
    assert!(fresh.len() > 20, "{fresh:?}");

    // Every script in order from an empty file, as a release that ran them
    // all would have.
    let chain_path = dir.path().join("chain.db");
    {
        let conn = Connection::open(&chain_path).unwrap();
        for script in [V1, V2, V3, V4, V5, V6, V7, V8] {
            conn.execute_batch(script).unwrap();
        }
    }
    assert_eq!(normalised_schema(&raw(&chain_path)), fresh, "0001..0008");

    for version in 1..SCHEMA_VERSION {
        let path = dir.path().join(format!("v{version}.db"));
        let before = {
            let conn = old_file(&path, version);
            base_rows(&conn)
        };
        let store = JobStore::open(&path).unwrap();
        let conn = raw(&path);
        assert_eq!(
            count(&conn, "PRAGMA user_version"),
            i64::from(SCHEMA_VERSION)
        );
        assert_eq!(normalised_schema(&conn), fresh, "migrated from {version}");
        assert_same(
            &base_rows(&conn),
            &before,
            &format!("rows migrated from {version}"),
        );
        assert_eq!(
            count(
                &conn,
                "SELECT (SELECT COUNT(worker) FROM executions) + (SELECT COUNT(worker) FROM variations)"
            ),
            0,
            "no worker recorded by the migration from {version}"
        );
        assert_eq!(
            count(
                &conn,
                "SELECT (SELECT COUNT(last_heartbeat) FROM executions) \
                      + (SELECT COUNT(last_heartbeat) FROM variations)"
            ),
            0,
            "no heartbeat recorded by the migration from {version}"
        );
        assert_summary_exact(&conn);
        assert_eq!(store.verify_statistics().unwrap(), [], "from {version}");
        assert_eq!(store.verify_summary().unwrap(), [], "from {version}");
        let s = store.get_statistics_optimized().unwrap();
        assert_eq!((s.total_executions, s.total_variations), (40, 40));
        // Opening again changes nothing.
        drop(store);
        drop(JobStore::open(&path).unwrap());
        assert_eq!(normalised_schema(&raw(&path)), fresh);
    }
}

#[test]
fn a_version_1_file_that_lost_objects_to_hand_edits_still_upgrades() {
    let dir = tempfile::tempdir().unwrap();
    let fresh_path = dir.path().join("fresh.db");
    drop(JobStore::open(&fresh_path).unwrap());
    let fresh = normalised_schema(&raw(&fresh_path));

    let path = db_path(&dir);
    {
        let conn = old_file(&path, 1);
        conn.execute_batch(
            "DROP INDEX idx_executions_statistics; DROP INDEX idx_job_summary_recent; \
             DROP INDEX idx_job_summary_dataset; DROP TRIGGER variations_summary_update;",
        )
        .unwrap();
        // The summary drifts without its trigger.
        conn.execute("UPDATE variations SET status = 'failed'", [])
            .unwrap();
    }
    let store = JobStore::open(&path).unwrap();
    let conn = raw(&path);
    assert_eq!(normalised_schema(&conn), fresh);
    assert_summary_exact(&conn);
    assert_eq!(store.verify_statistics().unwrap(), []);
    let s = store.get_statistics_optimized().unwrap();
    assert_eq!(s.variations_by_status.get(&Status::Failed), Some(&40));
}

#[test]
fn a_migration_refuses_rows_the_new_version_would_refuse_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    {
        let conn = old_file(&path, 2);
        // Version 2's triggers let OR IGNORE put a job_id in both kinds and
        // its CHECKs let hour 24 through.
        conn.execute(
            "INSERT OR IGNORE INTO executions (job_id, pipeline_mode, dataset_name, preset) \
             VALUES ('v1', 'single', 'd', 'p')",
            [],
        )
        .unwrap();
        conn.execute(
            "UPDATE executions SET created_at = '2026-01-01T24:00:00.000000Z' WHERE job_id = 'e5'",
            [],
        )
        .unwrap();
    }
    let before = fingerprint(&raw(&path));
    let err = JobStore::open(&path).unwrap_err();
    assert_eq!(err.sqlstate(), "23505", "{err}");
    assert!(
        err.to_string()
            .contains("job_id 'v1' is both an execution and a variation (and 1 more)"),
        "{err}"
    );
    let conn = raw(&path);
    assert_eq!(count(&conn, "PRAGMA user_version"), 2);
    assert_same(&fingerprint(&conn), &before, "the file");

    conn.execute("DELETE FROM executions WHERE job_id = 'v1'", [])
        .unwrap();
    let err = JobStore::open(&path).unwrap_err();
    assert_eq!(err.sqlstate(), "23514", "{err}");
    assert!(
        err.to_string()
            .contains("execution 'e5' has created_at = '2026-01-01T24:00:00.000000Z', not a time"),
        "{err}"
    );
    conn.execute(
        "UPDATE executions SET created_at = '2026-01-02T00:00:00.000000Z' WHERE job_id = 'e5'",
        [],
    )
    .unwrap();
    let store = JobStore::open(&path).unwrap();
    assert_eq!(
        count(&conn, "PRAGMA user_version"),
        i64::from(SCHEMA_VERSION)
    );
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.verify_summary().unwrap(), []);
}
