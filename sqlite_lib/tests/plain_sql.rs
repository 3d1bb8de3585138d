//! Other programs on the same file: plain SQL and a second JobStore. The
//! summary table, the statistics and the cache must all stay exact.

mod common;

use common::*;
use jobtrack_sqlite::{JobStore, Status};

#[test]
fn summary_and_statistics_follow_plain_sql() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    conn.execute(
        "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status) \
         VALUES ('p1', 'single', 'imagenet', 'big', 'training')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO variations (job_id, variation_id, experiment_name, dataset_name, preset, \
         total_combinations, status) VALUES ('pv1', 'a', 'exp', 'imagenet', 'big', 3, 'done')",
        [],
    )
    .unwrap();
    assert_summary_exact(&conn);
    let s = store.get_statistics_optimized().unwrap();
    assert_eq!((s.total_executions, s.total_variations), (1, 1));
    let d = store.get_dataset_stats_optimized("imagenet").unwrap();
    assert_eq!((d.executions, d.variations), (1, 1));

    conn.execute(
        "UPDATE executions SET status = 'failed', success = FALSE, dataset_name = 'coco' WHERE job_id = 'p1'",
        [],
    )
    .unwrap();
    assert_summary_exact(&conn);
    assert_eq!(
        store
            .get_dataset_stats_optimized("coco")
            .unwrap()
            .failed_jobs,
        1
    );
    assert_eq!(
        store
            .get_dataset_stats_optimized("imagenet")
            .unwrap()
            .total_jobs,
        1
    );

    conn.execute("DELETE FROM variations WHERE job_id = 'pv1'", [])
        .unwrap();
    assert_summary_exact(&conn);
    assert_eq!(
        store
            .get_dataset_stats_optimized("imagenet")
            .unwrap()
            .total_jobs,
        0
    );
    let recent = store.get_recent_jobs_optimized(10).unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(
        (recent[0].job_id.as_str(), recent[0].status),
        ("p1", Status::Failed)
    );

    // A plain-SQL id clash across kinds is refused by the trigger.
    let err = conn
        .execute(
            "INSERT INTO variations (job_id, variation_id, experiment_name, dataset_name, preset, \
             total_combinations) VALUES ('p1', 'a', 'exp', 'd', 'p', 1)",
            [],
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("23505: job_id exists as an execution"),
        "{err}"
    );
    // Renaming a job moves its summary row.
    conn.execute(
        "UPDATE executions SET job_id = 'p2' WHERE job_id = 'p1'",
        [],
    )
    .unwrap();
    assert_summary_exact(&conn);
    // Bad values are refused by the CHECKs.
    for bad in [
        "UPDATE executions SET status = 'running'",
        "UPDATE executions SET pipeline_mode = 'sweep'",
        "UPDATE executions SET total_steps = -1",
        "UPDATE executions SET dataset_name = ''",
        "UPDATE executions SET success = 2",
        "UPDATE executions SET start_time = '2026-01-01 00:00:00'",
    ] {
        let err = conn.execute(bad, []).unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{bad}: {err}");
    }
    conn.execute("DELETE FROM executions", []).unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM job_summary_cache"), 0);
}

#[test]
fn cached_reads_see_plain_sql_commits() {
    let (dir, store) = file_store();
    store
        .batch_create_executions(&[exec("a"), exec("b")])
        .unwrap();
    assert_eq!(store.get_statistics_cached().unwrap().total_executions, 2);
    assert_eq!(
        store.get_dataset_stats_cached("mnist").unwrap().executions,
        2
    );
    assert_eq!(store.get_recent_jobs_cached(10).unwrap().len(), 2);
    // Cached now: the second read is a hit.
    let hits = store.get_cache_stats().hits;
    assert_eq!(store.get_statistics_cached().unwrap().total_executions, 2);
    assert_eq!(store.get_cache_stats().hits, hits + 1);

    let conn = raw(&db_path(&dir));
    conn.execute(
        "UPDATE executions SET status = 'failed', success = 0 WHERE job_id = 'a'",
        [],
    )
    .unwrap();
    let s = store.get_statistics_cached().unwrap();
    assert_eq!(s.total_failed, 1);
    assert_eq!(s, store.get_statistics_optimized().unwrap());
    assert_eq!(
        store.get_dataset_stats_cached("mnist").unwrap().failed_jobs,
        1
    );
    conn.execute("DELETE FROM executions WHERE job_id = 'b'", [])
        .unwrap();
    assert_eq!(store.get_recent_jobs_cached(10).unwrap().len(), 1);
    assert_eq!(store.get_statistics_cached().unwrap().total_executions, 1);
    assert!(store.get_cache_stats().invalidations >= 3);

    // An explicit transaction from another program counts at its commit.
    conn.execute_batch("BEGIN; INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) VALUES ('c', 'batch', 'mnist', 'p');").unwrap();
    assert_eq!(store.get_statistics_cached().unwrap().total_executions, 1);
    conn.execute_batch("COMMIT").unwrap();
    assert_eq!(store.get_statistics_cached().unwrap().total_executions, 2);
}

#[test]
fn cached_reads_see_a_second_store() {
    let (dir, first) = file_store();
    let second = JobStore::open(db_path(&dir)).unwrap();
    first.create_execution(&exec("a")).unwrap();
    assert_eq!(first.get_statistics_cached().unwrap().total_jobs, 1);
    assert_eq!(first.get_recent_jobs_cached(5).unwrap().len(), 1);
    assert_eq!(
        first.get_dataset_stats_cached("mnist").unwrap().total_jobs,
        1
    );

    second.create_variation(&var("v")).unwrap();
    assert_eq!(first.get_statistics_cached().unwrap().total_jobs, 2);
    assert_eq!(first.get_recent_jobs_cached(5).unwrap()[0].job_id, "v");
    assert_eq!(
        first.get_dataset_stats_cached("mnist").unwrap().total_jobs,
        2
    );

    second
        .update_variation_status("v", Status::Done, None)
        .unwrap();
    assert_eq!(first.get_statistics_cached().unwrap().total_successful, 1);
    // And the other way round.
    assert_eq!(second.get_statistics_cached().unwrap().total_successful, 1);
    first
        .update_execution_status("a", Status::Failed, None)
        .unwrap();
    assert_eq!(second.get_statistics_cached().unwrap().total_failed, 1);
    // A duplicate across stores is caught as well.
    let err = second.create_execution(&exec("a")).unwrap_err();
    assert_eq!(err.sqlstate(), "23505");
}

#[test]
fn reopening_keeps_data_and_schema_version() {
    let (dir, store) = file_store();
    store.create_execution(&exec("a")).unwrap();
    drop(store);
    let store = JobStore::open(db_path(&dir)).unwrap();
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 1);
    let conn = raw(&db_path(&dir));
    assert_eq!(
        count(&conn, "PRAGMA user_version"),
        i64::from(jobtrack_sqlite::SCHEMA_VERSION)
    );
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(store.path(), Some(db_path(&dir).as_path()));
}

#[test]
fn verify_summary_reports_hand_damage_and_refresh_repairs_it() {
    use jobtrack_sqlite::{JobType, SummaryDifference, SummaryProblem};

    let (dir, store) = file_store();
    store
        .batch_create_executions(&[exec("a"), exec("b"), exec("c")])
        .unwrap();
    store
        .batch_create_variations(&[var("v"), var("w")])
        .unwrap();
    assert_eq!(store.verify_summary().unwrap(), []);
    let conn = raw(&db_path(&dir));
    conn.execute_batch(
        "DELETE FROM job_summary_cache WHERE job_id = 'a';
         UPDATE job_summary_cache SET status = 'done', success = 1 WHERE job_id = 'b';
         UPDATE job_summary_cache SET job_type = 'variation' WHERE job_id = 'c';
         UPDATE job_summary_cache SET last_updated = '2000-01-01T00:00:00.000000Z' WHERE job_id = 'v';
         INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset, last_updated)
         VALUES ('ghost', 'execution', 'done', 'mnist', 'p', '2026-01-01T00:00:00.000000Z');",
    )
    .unwrap();
    let diff = |job_id: &str, job_type, problem, columns: &[&'static str]| SummaryDifference {
        job_id: job_id.into(),
        job_type,
        problem,
        columns: columns.to_vec(),
    };
    assert_eq!(
        store.verify_summary().unwrap(),
        [
            diff("a", JobType::Execution, SummaryProblem::Missing, &[]),
            diff(
                "b",
                JobType::Execution,
                SummaryProblem::Differs,
                &["status", "success"]
            ),
            diff("c", JobType::Execution, SummaryProblem::Missing, &[]),
            diff("c", JobType::Variation, SummaryProblem::Extra, &[]),
            diff("ghost", JobType::Execution, SummaryProblem::Extra, &[]),
            diff(
                "v",
                JobType::Variation,
                SummaryProblem::Differs,
                &["last_updated"]
            ),
        ]
    );
    // As JSON, for the CLI.
    let json = serde_json::to_value(&store.verify_summary().unwrap()[1]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"job_id": "b", "job_type": "execution", "problem": "differs",
                           "columns": ["status", "success"]})
    );
    // The counters were never touched.
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.refresh_job_cache().unwrap(), 5);
    assert_eq!(store.verify_summary().unwrap(), []);
    assert_summary_exact(&conn);
}

/// The environment variable naming the file of [`child_process_writer`].
const CHILD_DB: &str = "JOBTRACK_TEST_CHILD_DB";

/// The other process of [`cached_reads_see_another_process`]: runs each
/// line of its standard input as SQL on the file, and answers `committed`
/// on a line of its own after each. Skipped when run as a test of its own.
#[test]
#[ignore = "run as a child process by cached_reads_see_another_process"]
fn child_process_writer() {
    use std::io::{BufRead, Write};
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let conn = raw(std::path::Path::new(&path));
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        conn.execute_batch(&line.unwrap()).unwrap();
        // The harness's "test child_process_writer ... " has no newline.
        writeln!(out, "\ncommitted").unwrap();
        out.flush().unwrap();
    }
}

/// Commits by a process of its own — whose WAL-index header the cache
/// reads through the `-shm` file to spare `PRAGMA data_version` while
/// nobody commits — are seen by the next cached read, through WAL resets
/// after full checkpoints and rolled-back transactions too.
#[test]
fn cached_reads_see_another_process() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let (dir, store) = file_store();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, db_path(&dir))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = BufReader::new(child.stdout.take().unwrap());
    let mut run = |sql: &str| {
        writeln!(to_child, "{sql}").unwrap();
        to_child.flush().unwrap();
        let mut line = String::new();
        // The test harness prints its own lines around the test's.
        loop {
            line.clear();
            assert_ne!(
                from_child.read_line(&mut line).unwrap(),
                0,
                "the child ended"
            );
            if line.trim() == "committed" {
                break;
            }
        }
    };
    let mut expected = 0;
    for i in 0..60 {
        let sql = match i % 6 {
            0..=2 => {
                expected += 1;
                format!(
                    "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) \
                     VALUES ('x{i}', 'batch', 'mnist', 'p')"
                )
            }
            3 => "PRAGMA wal_checkpoint(TRUNCATE)".to_string(),
            4 => {
                expected -= 1;
                format!(
                    "BEGIN; DELETE FROM executions WHERE job_id = 'x{}'; COMMIT;",
                    i - 4
                )
            }
            _ => "BEGIN; DELETE FROM executions; ROLLBACK;".to_string(),
        };
        run(&sql);
        let cached = store.get_statistics_cached().unwrap();
        assert_eq!(cached.total_executions, expected, "after {sql}");
        assert_eq!(cached, store.get_statistics_optimized().unwrap());
        assert_eq!(
            store.get_dataset_stats_cached("mnist").unwrap().executions,
            expected
        );
        // And a hit while nothing changes.
        let hits = store.get_cache_stats().hits;
        assert_eq!(store.get_statistics_cached().unwrap(), cached);
        assert_eq!(store.get_cache_stats().hits, hits + 1);
    }
    drop(to_child);
    assert!(child.wait().unwrap().success());
}
