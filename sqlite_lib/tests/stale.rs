//! Heartbeats and stale jobs: `heartbeat` changes only `last_heartbeat`
//! (no trigger work, no summary or counter change), `update_progress`
//! counts as one, the last sign of life is the later of `last_heartbeat`
//! and `updated_at`, `pending` jobs are never stale, `fail_stale_jobs` has
//! the effects of a status update to `failed`, heartbeats racing it from
//! another store are never lost, and a file migrated from version 6.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use jobtrack_sqlite::jobtrack_core::{stale_message, Job};
use jobtrack_sqlite::{
    JobStore, JobStoreOptions, StaleAfter, Status, StatusUpdate, Timestamp, SCHEMA_VERSION,
};
use rusqlite::Connection;

fn hour() -> StaleAfter {
    "1 hour".parse().unwrap()
}

/// Every job the store lists, by job_id.
fn all_jobs(store: &JobStore) -> BTreeMap<String, Job> {
    store
        .get_all_jobs_optimized(10_000, None)
        .unwrap()
        .into_iter()
        .map(|j| (j.job_id.clone(), j))
        .collect()
}

fn ids(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.job_id.as_str()).collect()
}

fn stale_ids(store: &JobStore, after: StaleAfter) -> Vec<String> {
    let jobs = store.get_stale_jobs(after).unwrap();
    ids(&jobs).into_iter().map(str::to_owned).collect()
}

/// `column` of the job `job_id`, from whichever base table holds it.
fn column(conn: &Connection, job_id: &str, column: &str) -> Option<String> {
    conn.query_row(
        &format!(
            "SELECT {column} FROM executions WHERE job_id = ?1 \
             UNION ALL SELECT {column} FROM variations WHERE job_id = ?1"
        ),
        [job_id],
        |r| r.get(0),
    )
    .unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// The counters and the summary match the base tables, by the store's own
/// checks and by the tests' query.
#[track_caller]
fn assert_exact(store: &JobStore, conn: &Connection) {
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.verify_summary().unwrap(), []);
    assert_summary_exact(conn);
}

/// Creates the job `job_id` (an execution when it starts with `e`, else a
/// variation) on `dataset` and moves it to `status` through the API.
fn job_in(store: &JobStore, job_id: &str, dataset: &str, status: Status) {
    let execution = job_id.starts_with('e');
    if execution {
        store.create_execution(&exec_on(job_id, dataset)).unwrap();
    } else {
        store.create_variation(&var_on(job_id, dataset)).unwrap();
    }
    if status != Status::Pending {
        let moved = if execution {
            store.update_execution_status(job_id, status, None)
        } else {
            store.update_variation_status(job_id, status, None)
        };
        assert!(moved.unwrap(), "{job_id}");
    }
}

/// The statuses of jobs that can go stale, from core.
fn expecting_heartbeats() -> Vec<Status> {
    Status::ALL
        .into_iter()
        .filter(|s| s.expects_heartbeats())
        .collect()
}

/// Records every write to the summary table and the counters in
/// `test_derived_writes` (job_id, or `counters`), by triggers of the test:
/// a statement whose base-table triggers stood aside leaves no row there.
fn log_derived_writes(conn: &Connection) {
    conn.execute_batch(
        "CREATE TABLE test_derived_writes (what TEXT);
         CREATE TRIGGER test_summary_insert AFTER INSERT ON job_summary_cache
         BEGIN INSERT INTO test_derived_writes VALUES (NEW.job_id); END;
         CREATE TRIGGER test_summary_delete AFTER DELETE ON job_summary_cache
         BEGIN INSERT INTO test_derived_writes VALUES (OLD.job_id); END;
         CREATE TRIGGER test_summary_update AFTER UPDATE ON job_summary_cache
         BEGIN INSERT INTO test_derived_writes VALUES (NEW.job_id); END;
         CREATE TRIGGER test_counters_insert AFTER INSERT ON job_counters
         BEGIN INSERT INTO test_derived_writes VALUES ('counters'); END;
         CREATE TRIGGER test_counters_update AFTER UPDATE ON job_counters
         BEGIN INSERT INTO test_derived_writes VALUES ('counters'); END;
         CREATE TRIGGER test_counters_delete AFTER DELETE ON job_counters
         BEGIN INSERT INTO test_derived_writes VALUES ('counters'); END;",
    )
    .unwrap();
}

fn derived_writes(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT what FROM test_derived_writes ORDER BY rowid")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A heartbeat sets `last_heartbeat` of its job to now and changes nothing
/// else: not `updated_at`, no other job, no summary row, no counter — the
/// UPDATE triggers stand aside, so the derived tables see no write at all.
/// The job leaves the stale set. A plain SQL update of the column fires the
/// triggers, which rewrite the job's summary row as it was and leave the
/// counters alone.
#[test]
fn a_heartbeat_keeps_its_job_fresh_and_changes_only_last_heartbeat() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    for (i, job_id) in ["e1", "e2", "v1", "v2"].into_iter().enumerate() {
        job_in(&store, job_id, ["a", "b"][i % 2], Status::Training);
        assert!(store.update_progress(job_id, 3).unwrap());
        set_last_heartbeat(&conn, job_id, None);
        set_updated(&conn, job_id, &old_at(i as i64));
    }
    assert_eq!(stale_ids(&store, hour()), ["e1", "e2", "v1", "v2"]);
    let tables = [
        "executions",
        "variations",
        "job_summary_cache",
        "job_counters",
    ];
    let before = fingerprint_except(&conn, &tables, &["last_heartbeat"]);
    let rows_before = all_jobs(&store);
    log_derived_writes(&conn);

    for job_id in ["e2", "v1"] {
        let started = Timestamp::now();
        assert!(store.heartbeat(job_id).unwrap(), "{job_id}");
        let beat = ts(&column(&conn, job_id, "last_heartbeat").unwrap());
        assert!(started <= beat && beat <= Timestamp::now(), "{beat}");
        let mut expected = rows_before[job_id].clone();
        expected.last_heartbeat = Some(beat);
        assert_eq!(all_jobs(&store)[job_id], expected, "only last_heartbeat");
    }
    assert_eq!(derived_writes(&conn), Vec::<String>::new());
    assert_same(
        &fingerprint_except(&conn, &tables, &["last_heartbeat"]),
        &before,
        "everything but last_heartbeat",
    );
    assert_eq!(column(&conn, "e1", "last_heartbeat"), None);
    assert_eq!(column(&conn, "v2", "last_heartbeat"), None);
    assert_eq!(stale_ids(&store, hour()), ["e1", "v2"]);
    assert_exact(&store, &conn);
    let m = &store.get_transaction_metrics()["heartbeat"];
    assert_eq!((m.count, m.success_count, m.last_success), (2, 2, true));

    // Plain SQL: the triggers fire, the summary row is rewritten unchanged.
    conn.execute(
        "UPDATE executions SET last_heartbeat = ?1 WHERE job_id = 'e1'",
        [minutes_ago(1)],
    )
    .unwrap();
    assert_eq!(derived_writes(&conn), ["e1", "e1"]);
    assert_exact(&store, &conn);
    assert_eq!(stale_ids(&store, hour()), ["v2"]);
}

/// A heartbeat for no job, or for a finished one, finds nothing: false,
/// nothing written (a successful call all the same). Every active status
/// takes one, `pending` included.
#[test]
fn heartbeats_of_unknown_and_finished_jobs_find_nothing() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    for status in Status::ALL {
        job_in(&store, &format!("e-{status}"), "a", status);
        job_in(&store, &format!("v-{status}"), "b", status);
    }
    let before = fingerprint(&conn);
    let mut calls = 0;
    for job_id in ["nope", "", "e-done", "v-done", "e-failed", "v-cancelled"] {
        assert!(!store.heartbeat(job_id).unwrap(), "{job_id:?}");
        calls += 1;
    }
    assert_same(&fingerprint(&conn), &before, "after heartbeats of no job");
    for status in Status::ALL {
        for job_id in [format!("e-{status}"), format!("v-{status}")] {
            assert_eq!(store.heartbeat(&job_id).unwrap(), status.is_active());
            assert_eq!(
                column(&conn, &job_id, "last_heartbeat").is_some(),
                status.is_active(),
                "{job_id}"
            );
            calls += 1;
        }
    }
    let m = &store.get_transaction_metrics()["heartbeat"];
    assert_eq!((m.count, m.success_count), (calls, calls));
    assert_exact(&store, &conn);
}

/// A progress report is a heartbeat: `last_heartbeat` gets the time it
/// stamps `updated_at` with, on either kind, and the job is fresh again.
#[test]
fn update_progress_records_a_heartbeat() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    for job_id in ["e1", "v1"] {
        job_in(&store, job_id, "a", Status::Training);
        set_updated(&conn, job_id, &old_at(0));
        assert_eq!(column(&conn, job_id, "last_heartbeat"), None);
    }
    assert_eq!(stale_ids(&store, hour()), ["e1", "v1"]);
    for job_id in ["e1", "v1"] {
        let started = Timestamp::now();
        assert!(store.update_progress(job_id, 7).unwrap());
        let job = &all_jobs(&store)[job_id];
        assert_eq!(job.last_heartbeat, Some(job.updated_at), "{job_id}");
        assert!(job.updated_at >= started);
        assert_eq!(job.current_step, Some(7));
    }
    assert_eq!(stale_ids(&store, hour()), Vec::<String>::new());
    // The running listing shows it too.
    let running = store.get_running_jobs(None, None).unwrap();
    assert!(running
        .iter()
        .all(|r| r.last_heartbeat == Some(all_jobs(&store)[&r.job_id].updated_at)));
    assert_exact(&store, &conn);
}

/// Who is stale: a job in a status that expects heartbeats whose last sign
/// of life — the later of `last_heartbeat` and `updated_at`, a missing
/// heartbeat not hiding `updated_at` — lies more than `stale_after` back.
/// `pending` and finished jobs never are, however old. The listing puts
/// the longest silent first, ties on job_id; fail_stale_jobs fails exactly
/// those.
#[test]
fn the_last_sign_of_life_decides_and_pending_jobs_are_never_stale() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    let statuses = expecting_heartbeats();
    assert_eq!(statuses.len(), 6);
    assert!(!statuses.contains(&Status::Pending));
    // Stale: (job, updated_at, last_heartbeat), last seen at the later.
    let mut stale: Vec<(String, String, Option<String>)> = Vec::new();
    for (i, status) in statuses.iter().enumerate() {
        let i = i as i64;
        for (kind, dataset) in [("e", "a"), ("v", "b")] {
            let job_id = format!("{kind}-{status}");
            job_in(&store, &job_id, dataset, *status);
            // Executions heard from by a heartbeat after their last
            // change; variations never.
            let beat = (kind == "e").then(|| old_at(10 * i + 5));
            stale.push((job_id, old_at(10 * i), beat));
        }
    }
    // A tie on the last sign of life, across the kinds: e-in_queue's
    // heartbeat and v-tie's updated_at.
    job_in(&store, "v-tie", "b", Status::Training);
    stale.push(("v-tie".into(), old_at(5), None));
    // Never stale, however old.
    let mut fresh: Vec<(String, String, Option<String>)> = vec![
        ("e-pending".into(), old_at(0), None),
        ("v-pending".into(), old_at(0), Some(old_at(1))),
        ("e-done".into(), old_at(0), None),
        ("v-failed".into(), old_at(0), None),
        ("e-cancelled".into(), old_at(0), Some(old_at(2))),
        // Recent by either column.
        ("e-recent-change".into(), minutes_ago(2), Some(old_at(0))),
        ("v-recent-beat".into(), old_at(0), Some(minutes_ago(1))),
    ];
    for (job_id, status) in [
        ("e-pending", Status::Pending),
        ("v-pending", Status::Pending),
        ("e-done", Status::Done),
        ("v-failed", Status::Failed),
        ("e-cancelled", Status::Cancelled),
        ("e-recent-change", Status::Training),
        ("v-recent-beat", Status::GeneratingPreview),
    ] {
        job_in(&store, job_id, "c", status);
    }
    for (job_id, updated_at, beat) in stale.iter().chain(&fresh) {
        set_updated(&conn, job_id, updated_at);
        set_last_heartbeat(&conn, job_id, beat.as_deref());
    }
    let last_seen = |(_, updated_at, beat): &(String, String, Option<String>)| {
        beat.iter()
            .map(|b| ts(b))
            .chain([ts(updated_at)])
            .max()
            .unwrap()
    };
    stale.sort_by_key(|j| (last_seen(j), j.0.clone()));
    let expected: Vec<&str> = stale.iter().map(|j| j.0.as_str()).collect();
    assert_eq!(&expected[..3], ["v-in_queue", "e-in_queue", "v-tie"]);

    let listed = store.get_stale_jobs(hour()).unwrap();
    assert_eq!(ids(&listed), expected);
    let rows = all_jobs(&store);
    for job in &listed {
        assert_eq!(job, &rows[&job.job_id], "the Job row");
    }
    // The default, 15 minutes, sees the same; a silence longer than any
    // none; 30 seconds the recent ones too, but never a pending or finished
    // job.
    assert_eq!(stale_ids(&store, StaleAfter::DEFAULT), expected);
    assert_eq!(
        stale_ids(&store, "100000 days".parse().unwrap()),
        Vec::<String>::new()
    );
    fresh.retain(|(id, ..)| id.contains("recent"));
    let half_minute: StaleAfter = "30 seconds".parse().unwrap();
    let mut with_recent = stale_ids(&store, half_minute);
    with_recent.retain(|id| !expected.contains(&id.as_str()));
    assert_eq!(with_recent, ["e-recent-change", "v-recent-beat"]);

    let before = all_jobs(&store);
    assert_eq!(
        store.fail_stale_jobs(hour(), None).unwrap(),
        expected.len() as i32
    );
    let after = all_jobs(&store);
    for (job_id, job) in &after {
        if expected.contains(&job_id.as_str()) {
            assert_eq!(job.status, Status::Failed, "{job_id}");
        } else {
            assert_eq!(job, &before[job_id], "{job_id} untouched");
        }
    }
    assert_eq!(stale_ids(&store, hour()), Vec::<String>::new());
    assert_eq!(store.fail_stale_jobs(hour(), None).unwrap(), 0);
    assert_exact(&store, &conn);
    assert_eq!(
        store.fail_stale_jobs(half_minute, None).unwrap(),
        fresh.len() as i32
    );
    assert_eq!(all_jobs(&store)["e-pending"], before["e-pending"]);
    assert_eq!(all_jobs(&store)["v-pending"], before["v-pending"]);
    let m = &store.get_transaction_metrics()["fail_stale_jobs"];
    assert_eq!((m.count, m.success_count), (3, 3));
    assert_exact(&store, &conn);
}

/// The job ids of `template` (executions start with `e`) that the
/// effects test fails, with their last signs of life; the file holds jobs
/// of every status that expects heartbeats, with histories, `per_status`
/// of each kind per status, aged, and jobs no call may touch.
fn stale_template(template: &Path, per_status: usize) -> Vec<(String, Timestamp)> {
    let store = JobStore::open(template).unwrap();
    let conn = raw(template);
    let mut stale = Vec::new();
    let mut minute = 0;
    for i in 0..per_status {
        for status in expecting_heartbeats() {
            for kind in ["e", "v"] {
                let job_id = format!("{kind}-{status}-{i}");
                let dataset = ["a", "b", "c"][minute as usize % 3];
                job_in(&store, &job_id, dataset, Status::Pending);
                let update = |status: Status, message: Option<&str>| {
                    let done = if kind == "e" {
                        store.update_execution_status(&job_id, status, message)
                    } else {
                        store.update_variation_status(&job_id, status, message)
                    };
                    assert!(done.unwrap());
                };
                // Some have trained (a start time), some failed once (an
                // end, an error message) and were put back.
                if i % 2 == 1 {
                    update(Status::Training, None);
                    assert!(store.update_progress(&job_id, 4).unwrap());
                    update(Status::Failed, Some("boom"));
                }
                update(status, None);
                set_updated(&conn, &job_id, &old_at(minute));
                let beat = match minute % 3 {
                    0 => None,
                    1 => Some(old_at(minute + 1)),
                    _ => Some(old_at(minute - 1)),
                };
                set_last_heartbeat(&conn, &job_id, beat.as_deref());
                let seen = ts(&beat.map_or(old_at(minute), |b| b.max(old_at(minute))));
                stale.push((job_id, seen));
                minute += 1;
            }
        }
    }
    // Jobs of other statuses and fresh ones, which no call changes.
    for (i, status) in Status::ALL.into_iter().enumerate() {
        for kind in ["e", "v"] {
            let job_id = format!("{kind}-other-{i}");
            job_in(&store, &job_id, "a", status);
            if !status.expects_heartbeats() {
                set_updated(&conn, &job_id, &old_at(0));
            }
        }
    }
    stale
}

/// `fail_stale_jobs` changes the rows, the summary and the counters exactly
/// as `batch_update_*_status` to `failed` with the same messages does, on
/// two copies of one file, apart from the columns the clock decides
/// (`updated_at`, `end_time`, `duration_seconds`, their copies in the
/// summary, the duration sums); those are what the status path makes of
/// its own now. Few stale jobs (the triggers' row-by-row path) and many
/// (the set-based one). A given message replaces the default one.
#[test]
fn failing_stale_jobs_has_the_effects_of_a_status_update_to_failed() {
    for per_status in [1, 4] {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("template.db");
        let stale = stale_template(&template, per_status);
        let copies = ["failed.db", "updated.db", "given.db"].map(|name| {
            let path = dir.path().join(name);
            raw(&template)
                .execute("VACUUM INTO ?1", [path.to_str().unwrap()])
                .unwrap();
            path
        });
        let [failing, updating, given] =
            copies.each_ref().map(|path| JobStore::open(path).unwrap());
        let case = format!("{} stale jobs", stale.len());
        let before = all_jobs(&failing);

        let mut expected: Vec<&(String, Timestamp)> = stale.iter().collect();
        expected.sort_by_key(|(id, seen)| (*seen, id.clone()));
        assert_eq!(
            stale_ids(&failing, hour()),
            expected.iter().map(|j| j.0.clone()).collect::<Vec<_>>(),
            "{case}"
        );
        assert_eq!(
            failing.fail_stale_jobs(hour(), None).unwrap() as usize,
            stale.len(),
            "{case}"
        );
        let updates = |kind: &str| -> Vec<StatusUpdate> {
            stale
                .iter()
                .filter(|(id, _)| id.starts_with(kind))
                .map(|(id, seen)| StatusUpdate {
                    job_id: id.clone(),
                    status: Status::Failed,
                    error_message: Some(stale_message(*seen)),
                })
                .collect()
        };
        let executions = updates("e");
        let variations = updates("v");
        assert_eq!(
            updating.batch_update_execution_status(&executions).unwrap() as usize
                + updating.batch_update_variation_status(&variations).unwrap() as usize,
            stale.len()
        );
        assert_eq!(
            given.fail_stale_jobs(hour(), Some("worker lost")).unwrap() as usize,
            stale.len()
        );

        let [failed_conn, updated_conn, given_conn] = copies.each_ref().map(|p| raw(p));
        let clock = ["updated_at", "end_time", "duration_seconds"];
        for (tables, except) in [
            (&["executions", "variations"][..], &clock[..]),
            (
                &["job_summary_cache"],
                &["last_updated", "duration_seconds"],
            ),
            (&["job_counters"], &["duration_micros_sum"]),
        ] {
            assert_same(
                &fingerprint_except(&failed_conn, tables, except),
                &fingerprint_except(&updated_conn, tables, except),
                &format!("{case}: {tables:?}"),
            );
        }
        // The given message, and nothing else, differs.
        assert_same(
            &fingerprint_except(
                &given_conn,
                &["executions", "variations"],
                &[
                    "updated_at",
                    "end_time",
                    "duration_seconds",
                    "error_message",
                ],
            ),
            &fingerprint_except(
                &failed_conn,
                &["executions", "variations"],
                &[
                    "updated_at",
                    "end_time",
                    "duration_seconds",
                    "error_message",
                ],
            ),
            &case,
        );
        let failed_rows = all_jobs(&failing);
        let given_rows = all_jobs(&given);
        for (job_id, seen) in &stale {
            let job = &failed_rows[job_id];
            assert_eq!(job.status, Status::Failed);
            assert_eq!(job.success, Some(false), "{job_id}");
            assert_eq!(job.error_message, Some(stale_message(*seen)), "{job_id}");
            assert!(job.updated_at > before[job_id].updated_at);
            // The status path's end and duration, from its own now.
            let end = ts(&column(&failed_conn, job_id, "end_time").unwrap());
            assert_eq!(end, job.updated_at, "{job_id}");
            assert_eq!(
                job.duration_seconds,
                job.start_time.map(|start| end.seconds_since(start)),
                "{job_id}"
            );
            assert_eq!(job.last_heartbeat, before[job_id].last_heartbeat);
            assert_eq!(
                given_rows[job_id].error_message.as_deref(),
                Some("worker lost")
            );
        }
        for (job_id, job) in &before {
            if !stale.iter().any(|(id, _)| id == job_id) {
                assert_eq!(&failed_rows[job_id], job, "{case}: {job_id} untouched");
                assert_eq!(&given_rows[job_id], job, "{case}: {job_id} untouched");
            }
        }
        assert_exact(&failing, &failed_conn);
        assert_exact(&updating, &updated_conn);
        assert_exact(&given, &given_conn);
        let m = &failing.get_transaction_metrics()["fail_stale_jobs"];
        assert_eq!((m.count, m.success_count, m.last_success), (1, 1, true));
    }
}

/// A message with NUL is 22023 naming `error_message`, refused while
/// another program holds the write lock (so before the store asks for it);
/// a valid call does ask, and waits. Nothing applied, each a failed call.
#[test]
fn a_bad_message_is_22023_and_applies_nothing() {
    let (dir, store) = file_store_with(JobStoreOptions {
        busy_timeout: Duration::from_millis(200),
        ..JobStoreOptions::default()
    });
    let conn = raw(&db_path(&dir));
    job_in(&store, "e1", "a", Status::Training);
    set_updated(&conn, "e1", &old_at(0));
    let before = fingerprint(&conn);
    let holder = raw(&db_path(&dir));
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store.fail_stale_jobs(hour(), Some("a\0b")).unwrap_err();
    assert_eq!(err.sqlstate(), "22023", "{err}");
    assert_eq!(
        err.to_string(),
        "field \"error_message\" must not contain the NUL character"
    );
    let err = store.fail_stale_jobs(hour(), None).unwrap_err();
    assert_eq!(err.sqlstate(), "55P03", "{err}");
    let err = store.heartbeat("e1").unwrap_err();
    assert_eq!(err.sqlstate(), "55P03", "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_same(&fingerprint(&conn), &before, "after the refused calls");
    let metrics = store.get_transaction_metrics();
    let m = &metrics["fail_stale_jobs"];
    assert_eq!((m.count, m.success_count, m.last_success), (2, 0, false));
    let m = &metrics["heartbeat"];
    assert_eq!((m.count, m.success_count), (1, 0));
    assert_eq!(store.fail_stale_jobs(hour(), None).unwrap(), 1);
}

/// What the race below must never see, from the heartbeats' results: a
/// job whose heartbeat found it active (so committed while it was) and that
/// failed all the same, or a job failed other than by a stale judgement of
/// its last change (`updated_at` as set, `last_heartbeat` untouched).
/// Empty when all is well.
fn lost_heartbeats(
    store: &JobStore,
    conn: &Connection,
    outcomes: &[(String, bool)],
    aged: &BTreeMap<String, String>,
) -> Vec<String> {
    let rows = all_jobs(store);
    let mut problems = Vec::new();
    for (job_id, found) in outcomes {
        let job = &rows[job_id];
        let failed = job.status == Status::Failed;
        if *found && failed {
            problems.push(format!("{job_id}: its heartbeat committed, yet it failed"));
        }
        if !*found && !failed {
            problems.push(format!("{job_id}: its heartbeat found no active job"));
        }
        if failed {
            let message = stale_message(ts(&aged[job_id]));
            if job.error_message.as_deref() != Some(&message) {
                problems.push(format!("{job_id}: failed as {:?}", job.error_message));
            }
        }
        let beat = column(conn, job_id, "last_heartbeat");
        if beat.is_some() != *found {
            problems.push(format!("{job_id}: last_heartbeat {beat:?}"));
        }
    }
    problems
}

const RACED: usize = 240;
/// Between one raced job's going stale and the next's.
const STAGGER_MICROS: i64 = 2_500;

/// The race of the issue, on one file: one store fails stale jobs in a
/// loop while a second store sends heartbeats. Each raced job goes stale
/// at its own moment, a few milliseconds after the one before, and its
/// heartbeat is sent at that moment, so that each is a race between the
/// heartbeat and a fail_stale_jobs call. Whatever the order, a heartbeat
/// that found its job active committed before the fail that would have
/// judged it, so that fail saw it: that job must not fail (an hour of
/// silence is far off); one that found none came after the job failed. A
/// fail_stale_jobs that read its stale jobs outside its write transaction
/// would fail jobs whose heartbeats committed in between:
/// `the_race_check_catches_a_lost_heartbeat` shows the check sees that.
#[test]
fn heartbeats_racing_fail_stale_jobs_are_never_lost() {
    let (dir, store) = file_store();
    let path = db_path(&dir);
    let conn = raw(&path);
    let job_ids: Vec<String> = (0..RACED)
        .map(|i| format!("{}{i:03}", ["e", "v"][i % 2]))
        .collect();
    let es: Vec<_> = job_ids
        .iter()
        .filter(|id| id.starts_with('e'))
        .map(|id| exec(id))
        .collect();
    let vs: Vec<_> = job_ids
        .iter()
        .filter(|id| id.starts_with('v'))
        .map(|id| var(id))
        .collect();
    store.batch_create_executions(&es).unwrap();
    store.batch_create_variations(&vs).unwrap();
    let training = |kind: char| -> Vec<StatusUpdate> {
        job_ids
            .iter()
            .filter(|id| id.starts_with(kind))
            .map(|id| upd(id, Status::Training))
            .collect()
    };
    store.batch_update_execution_status(&training('e')).unwrap();
    store.batch_update_variation_status(&training('v')).unwrap();

    // Job i goes stale at start + i × STAGGER: its updated_at is an hour
    // before that.
    let start = Timestamp::now().unix_micros() + 300_000;
    let due = move |i: usize| start + i as i64 * STAGGER_MICROS;
    let mut aged = BTreeMap::new();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    for (i, job_id) in job_ids.iter().enumerate() {
        let updated_at = Timestamp::from_unix_micros(due(i) - hour().micros()).to_string();
        set_updated(&conn, job_id, &updated_at);
        aged.insert(job_id.clone(), updated_at);
    }
    conn.execute_batch("COMMIT").unwrap();

    let barrier = Arc::new(Barrier::new(2));
    let done = Arc::new(AtomicBool::new(false));
    let beating = {
        let (path, barrier, done, job_ids) =
            (path.clone(), barrier.clone(), done.clone(), job_ids.clone());
        std::thread::spawn(move || {
            let other = JobStore::open(&path).unwrap();
            barrier.wait();
            let mut outcomes = Vec::new();
            for (i, job_id) in job_ids.into_iter().enumerate() {
                let wait = due(i) - Timestamp::now().unix_micros();
                if wait > 0 {
                    std::thread::sleep(Duration::from_micros(wait as u64));
                }
                let found = other.heartbeat(&job_id).unwrap();
                outcomes.push((job_id, found));
            }
            done.store(true, Ordering::SeqCst);
            outcomes
        })
    };
    barrier.wait();
    let (mut failed, mut calls) = (0, 0);
    while !done.load(Ordering::SeqCst) {
        failed += store.fail_stale_jobs(hour(), None).unwrap();
        calls += 1;
        // With the lock free for a moment: SQLite queues no waiter, the
        // heartbeats' busy handler tries again after its own sleep.
        std::thread::sleep(Duration::from_millis(1));
    }
    let outcomes = beating.join().unwrap();
    // Every raced job was settled: heartbeated (fresh for an hour) or failed.
    assert_eq!(store.fail_stale_jobs(hour(), None).unwrap(), 0);

    let problems = lost_heartbeats(&store, &conn, &outcomes, &aged);
    assert!(problems.is_empty(), "{problems:#?}");
    let kept = outcomes.iter().filter(|(_, found)| *found).count();
    assert_eq!(failed as usize, RACED - kept);
    eprintln!("{RACED} races: {kept} heartbeats first, {failed} failures first, {calls} calls");
    assert_exact(&store, &conn);
}

/// The check of the race, on what a non-atomic fail_stale_jobs would do:
/// the stale jobs read (outside any write transaction), a heartbeat
/// committed, then the jobs read failed. The check names the job.
#[test]
fn the_race_check_catches_a_lost_heartbeat() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    let mut aged = BTreeMap::new();
    for job_id in ["e1", "e2"] {
        job_in(&store, job_id, "a", Status::Training);
        set_updated(&conn, job_id, &old_at(0));
        aged.insert(job_id.to_owned(), old_at(0));
    }
    let read = store.get_stale_jobs(hour()).unwrap();
    assert!(store.heartbeat("e1").unwrap());
    let late: Vec<StatusUpdate> = read
        .iter()
        .map(|j| StatusUpdate {
            job_id: j.job_id.clone(),
            status: Status::Failed,
            error_message: Some(stale_message(j.updated_at)),
        })
        .collect();
    assert_eq!(store.batch_update_execution_status(&late).unwrap(), 2);
    let outcomes = [("e1".to_owned(), true), ("e2".to_owned(), false)];
    assert_eq!(
        lost_heartbeats(&store, &conn, &outcomes, &aged),
        ["e1: its heartbeat committed, yet it failed"]
    );
}

const V1: &str = include_str!("../../sql/sqlite/migrations/0001_initial.sql");
const V2: &str = include_str!("../../sql/sqlite/migrations/0002_counters.sql");
const V3: &str = include_str!("../../sql/sqlite/migrations/0003_guards.sql");
const V4: &str = include_str!("../../sql/sqlite/migrations/0004_jobs_view.sql");
const V5: &str = include_str!("../../sql/sqlite/migrations/0005_batch_status.sql");
const V6: &str = include_str!("../../sql/sqlite/migrations/0006_worker.sql");

/// A file of version 6 opens as version 7: its rows keep every value, and
/// get no heartbeat (NULL); the Job view has `last_heartbeat` last; its
/// silent jobs are stale by their `updated_at` alone, and take heartbeats
/// at once.
#[test]
fn a_file_migrated_from_version_6_keeps_its_rows_and_has_no_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
        for script in [V1, V2, V3, V4, V5, V6] {
            conn.execute_batch(script).unwrap();
        }
        conn.pragma_update(None, "user_version", 6).unwrap();
        for i in 0..6 {
            conn.execute(
                "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, status, \
                 worker, updated_at) VALUES (?1, 'single', 'd', 'p', ?2, 'w', ?3)",
                rusqlite::params![
                    format!("e{i}"),
                    ["pending", "training", "done"][i % 3],
                    old_at(i as i64)
                ],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO variations (job_id, variation_id, experiment_name, dataset_name, \
                 preset, total_combinations, status, updated_at) \
                 VALUES (?1, 'a', 'x', 'd', 'p', 2, ?2, ?3)",
                rusqlite::params![
                    format!("v{i}"),
                    ["in_queue", "pending"][i % 2],
                    old_at(i as i64)
                ],
            )
            .unwrap();
        }
    }
    let tables = ["executions", "variations", "job_counters"];
    let before = fingerprint_of(&raw(&path), &tables);
    let summary_before = fingerprint_of(&raw(&path), &["job_summary_cache"]);
    let store = JobStore::open(&path).unwrap();
    let conn = raw(&path);
    assert_eq!(count(&conn, "PRAGMA user_version"), 8);
    assert_eq!(SCHEMA_VERSION, 8);
    assert_same(
        &fingerprint_except(&conn, &tables, &["last_heartbeat"]),
        &before,
        "the rows",
    );
    // Version 8 added the summary's experiment columns.
    assert_same(
        &fingerprint_except(
            &conn,
            &["job_summary_cache"],
            &["experiment_name", "total_combinations"],
        ),
        &summary_before,
        "the summary rows",
    );
    assert_eq!(
        count(
            &conn,
            "SELECT (SELECT COUNT(*) FROM executions WHERE last_heartbeat IS NULL) \
                  + (SELECT COUNT(*) FROM variations WHERE last_heartbeat IS NULL)"
        ),
        12
    );
    let view_columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('jobs') ORDER BY cid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(view_columns.len(), 18);
    assert_eq!(
        view_columns.last().map(String::as_str),
        Some("last_heartbeat")
    );
    assert!(all_jobs(&store)
        .values()
        .all(|j| j.last_heartbeat.is_none()));
    assert_exact(&store, &conn);

    // training e1, e4 and in_queue v0, v2, v4; the pending and done ones
    // never.
    assert_eq!(stale_ids(&store, hour()), ["v0", "e1", "v2", "e4", "v4"]);
    assert!(store.heartbeat("e1").unwrap());
    assert!(store.heartbeat("e0").unwrap(), "pending is active");
    assert!(!store.heartbeat("e2").unwrap(), "done is not");
    assert_eq!(store.fail_stale_jobs(hour(), None).unwrap(), 4);
    let rows = all_jobs(&store);
    assert_eq!(rows["e1"].status, Status::Training);
    assert_eq!(rows["e0"].status, Status::Pending);
    assert_eq!(
        rows["e4"].error_message,
        Some(stale_message(ts(&old_at(4))))
    );
    assert_exact(&store, &conn);
}

/// A sign of life never moves last_heartbeat back, as in PostgreSQL: a
/// later time (written here by hand) stays through heartbeat() and
/// update_progress(); a job without one gets one.
#[test]
fn a_heartbeat_never_moves_last_heartbeat_back() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    for id in ["e1", "e2", "v1", "v2"] {
        job_in(&store, id, "mnist", Status::Training);
    }
    let later = "9000-01-01T00:00:00.000000Z";
    for table in ["executions", "variations"] {
        conn.execute(&format!("UPDATE {table} SET last_heartbeat = ?1"), [later])
            .unwrap();
    }
    assert!(store.heartbeat("e1").unwrap());
    assert!(store.heartbeat("v1").unwrap());
    assert!(store.update_progress("e2", 3).unwrap());
    assert!(store.update_progress("v2", 3).unwrap());
    for id in ["e1", "e2", "v1", "v2"] {
        assert_eq!(
            column(&conn, id, "last_heartbeat").as_deref(),
            Some(later),
            "{id}"
        );
    }
    conn.execute(
        "UPDATE executions SET last_heartbeat = NULL WHERE job_id = 'e1'",
        [],
    )
    .unwrap();
    assert!(store.heartbeat("e1").unwrap());
    let now = column(&conn, "e1", "last_heartbeat").expect("a heartbeat");
    assert!(now.as_str() < later, "{now}");
    assert_exact(&store, &conn);
}
