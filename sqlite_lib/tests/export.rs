//! `export_jobs` and `import_jobs`: a round trip gives the same records and
//! the same tables, the export is ordered by (created_at, job_id) across
//! its pages, reads one snapshot whatever commits meanwhile, and gives its
//! connection back however it ends; an import is all or none.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use jobtrack_sqlite::jobtrack_core::{call, Operation, EXPORT_PAGE};
use jobtrack_sqlite::{
    Error, JobRecord, JobStore, JobStoreOptions, JobType, NewVariation, PipelineMode, Status,
    Timestamp,
};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

/// Every record of `export_jobs(since)`, failing on an error.
fn export(store: &JobStore, since: Option<Timestamp>) -> Vec<JobRecord> {
    store
        .export_jobs(since)
        .unwrap()
        .collect::<Result<_, Error>>()
        .unwrap()
}

/// The export as JSON lines, the way a file of it is written.
fn json_lines(records: &[JobRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect()
}

fn keys(records: &[JobRecord]) -> Vec<(Timestamp, String)> {
    records
        .iter()
        .map(|r| (r.created_at, r.job_id.clone()))
        .collect()
}

fn at_minute(minute: i64) -> Timestamp {
    old_at(minute).parse().unwrap()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// A finished job of `job_type` created at `created_at`, every column set
/// that its kind has.
fn record(job_id: &str, job_type: JobType, created_at: Timestamp) -> JobRecord {
    let variation = job_type == JobType::Variation;
    let later = Timestamp::from_unix_micros(created_at.unix_micros() + 90_500_000);
    JobRecord {
        job_id: job_id.to_owned(),
        job_type,
        status: Status::Done,
        dataset_name: "mnist".to_owned(),
        preset: "fast".to_owned(),
        mode: if variation {
            PipelineMode::Variations
        } else {
            PipelineMode::Batch
        },
        experiment_name: variation.then(|| "sweep".to_owned()),
        variation_id: variation.then(|| format!("{job_id}-v")),
        success: Some(true),
        duration_seconds: Some(90.5),
        error_message: None,
        output_path: Some(format!("/out/{job_id}")),
        total_steps: Some(10),
        current_step: Some(10),
        start_time: Some(created_at),
        created_at,
        updated_at: later,
        last_heartbeat: Some(later),
        end_time: Some(later),
        total_combinations: variation.then_some(4),
        varied_parameters: variation.then(|| object(json!({"lr": [0.1, 0.01]}))),
        parameter_values: variation.then(|| object(json!({"lr": 0.1}))),
        parent_experiment_id: None,
        worker: Some("w1".to_owned()),
    }
}

/// `n` jobs, executions and variations alternating, created at only a few
/// distinct times (so that ties on created_at straddle page boundaries),
/// their ids in no order.
fn many(n: usize, prefix: &str) -> Vec<JobRecord> {
    let mut rng = fastrand::Rng::with_seed(n as u64);
    (0..n)
        .map(|i| {
            let job_type = if i % 2 == 0 {
                JobType::Execution
            } else {
                JobType::Variation
            };
            let id = format!("{prefix}{:08x}-{i}", rng.u32(..));
            record(&id, job_type, at_minute(rng.i64(0..7)))
        })
        .collect()
}

/// The counters and the summary match the base tables, by the store's own
/// checks and by the tests' query.
#[track_caller]
fn assert_exact(store: &JobStore, conn: &Connection) {
    assert_eq!(store.verify_statistics().unwrap(), []);
    assert_eq!(store.verify_summary().unwrap(), []);
    assert_summary_exact(conn);
}

/// Whether a connection of another program can checkpoint every frame of
/// the WAL without waiting: no connection holds a snapshot older than the
/// last commit. Meaningful after a commit made since the snapshot in
/// question.
fn no_snapshot_held(conn: &Connection) -> bool {
    let (busy, log, checkpointed): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    busy == 0 && log == checkpointed
}

/// Jobs of both kinds through their whole life in `source`: statuses with
/// their effects, an error message, progress, heartbeats, a claim with a
/// worker, parameters with numbers to canonicalise, a parent experiment,
/// an output path written by another program.
fn busy_life(store: &JobStore, conn: &Connection) {
    let mut execution = exec_on("e-claimed", "cifar");
    execution.total_steps = Some(100);
    store.create_execution(&execution).unwrap();
    for (i, status) in Status::ALL.into_iter().enumerate() {
        store
            .create_execution(&exec_on(&format!("e-{i}"), ["mnist", "cifar"][i % 2]))
            .unwrap();
        let mut variation = NewVariation {
            parent_experiment_id: (i % 3 == 0).then(|| "parent".to_owned()),
            total_steps: Some(50),
            // As a JSON text has them: numbers as written, canonicalised
            // when stored.
            varied_parameters: serde_json::from_str(r#"{"lr": [1.50, 1e-3], "layers": {"n": 2}}"#)
                .unwrap(),
            parameter_values: serde_json::from_str(r#"{"lr": 1.50, "tag": "é\"x"}"#).unwrap(),
            ..var_on(&format!("v-{i}"), ["mnist", "imagenet"][i % 2])
        };
        variation.status = if i % 4 == 0 {
            Status::Training
        } else {
            Status::Pending
        };
        store.create_variation(&variation).unwrap();
        for (job_id, variation) in [(format!("e-{i}"), false), (format!("v-{i}"), true)] {
            if status != Status::Pending {
                let message = (status == Status::Failed).then_some("out of memory");
                let changed = if variation {
                    store.update_variation_status(&job_id, status, message)
                } else {
                    store.update_execution_status(&job_id, status, message)
                };
                assert!(changed.unwrap(), "{job_id}");
            }
            if status.is_active() {
                assert!(store.update_progress(&job_id, 3).unwrap());
                assert!(store.heartbeat(&job_id).unwrap());
            }
        }
    }
    // The oldest pending jobs, e-claimed among them.
    assert_eq!(store.claim_next_jobs(2, "worker-7").unwrap().len(), 2);
    conn.execute(
        "UPDATE executions SET output_path = '/models/e-7' WHERE job_id = 'e-7'",
        [],
    )
    .unwrap();
}

/// Export, import into a new store, export again: the same JSON lines, the
/// same rows in every table (base, summary, counters), the same
/// statistics, exact derived tables, and the target's cached statistics
/// retired by the import's commit.
#[test]
fn a_round_trip_gives_the_same_records_and_tables() {
    let (source_dir, source) = file_store();
    let source_conn = raw(&db_path(&source_dir));
    busy_life(&source, &source_conn);
    let exported = export(&source, None);
    assert_eq!(exported.len(), 21);
    let lines = json_lines(&exported);
    // Every column is there, the ones no Job row has included.
    let claimed = exported.iter().find(|r| r.job_id == "e-claimed").unwrap();
    assert_eq!(claimed.worker.as_deref(), Some("worker-7"));
    assert_eq!(claimed.status, Status::InQueue);
    let failed = exported.iter().find(|r| r.job_id == "v-8").unwrap();
    assert_eq!(
        (
            failed.status,
            failed.success,
            failed.error_message.as_deref()
        ),
        (Status::Failed, Some(false), Some("out of memory"))
    );
    assert!(failed.end_time.is_some() && failed.duration_seconds.is_some());
    assert_eq!(failed.total_combinations, Some(2));
    assert_eq!(
        serde_json::to_string(&failed.parameter_values).unwrap(),
        r#"{"lr":1.50,"tag":"é\"x"}"#
    );

    let (target_dir, target) = file_store();
    let target_conn = raw(&db_path(&target_dir));
    assert_eq!(target.get_statistics_cached().unwrap().total_jobs, 0);
    // Read back from the JSON lines, as a file of them would be.
    let parsed: Vec<JobRecord> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, exported);
    assert_eq!(target.import_jobs(&parsed).unwrap(), 21);

    assert_eq!(json_lines(&export(&target, None)), lines);
    assert_exact(&target, &target_conn);
    assert_same(
        &fingerprint(&target_conn),
        &fingerprint(&source_conn),
        "the target's tables",
    );
    let statistics = source.get_statistics_optimized().unwrap();
    assert_eq!(target.get_statistics_optimized().unwrap(), statistics);
    assert_eq!(target.get_statistics_cached().unwrap(), statistics);
    for dataset in ["mnist", "cifar", "imagenet"] {
        assert_eq!(
            target.get_dataset_stats_optimized(dataset).unwrap(),
            source.get_dataset_stats_optimized(dataset).unwrap(),
            "{dataset}"
        );
    }
    assert_eq!(
        target.get_all_jobs_optimized(100, None).unwrap(),
        source.get_all_jobs_optimized(100, None).unwrap()
    );
    let m = &target.get_transaction_metrics()["import_jobs"];
    assert_eq!((m.count, m.success_count, m.last_success), (1, 1, true));
    // The imported jobs go on living: a claim takes the pending ones.
    let pending = exported
        .iter()
        .filter(|r| r.status == Status::Pending)
        .count();
    assert_eq!(target.claim_next_jobs(100, "w").unwrap().len(), pending);
    assert_exact(&target, &target_conn);
}

/// The same through the API by name, with JSON in and out, as the
/// conformance scenarios and SQL callers use it; on an in-memory store.
#[test]
fn export_and_import_by_name_take_and_give_json() {
    let source = JobStore::open_in_memory().unwrap();
    let records = vec![
        record("b", JobType::Variation, at_minute(1)),
        record("a", JobType::Execution, at_minute(2)),
    ];
    assert_eq!(
        call(&source, Operation::ImportJobs, &[json!(records)]).unwrap(),
        json!(2)
    );
    let all = call(&source, Operation::ExportJobs, &[]).unwrap();
    assert_eq!(all, json!(records));
    let since = call(&source, Operation::ExportJobs, &[json!(old_at(2))]).unwrap();
    assert_eq!(since, json!([records[1]]));
    let err = call(&source, Operation::ExportJobs, &[json!("soon")]).unwrap_err();
    assert_eq!(err.sqlstate(), "22023", "{err}");
    assert!(err.to_string().contains("\"since\""), "{err}");
}

/// `since` keeps the jobs created at or after it, bound included; one
/// before the year 1 keeps every job, one after the year 9999 none.
#[test]
fn since_keeps_the_jobs_created_at_or_after_it() {
    let (_dir, store) = file_store();
    let records: Vec<JobRecord> = (0..10)
        .map(|i| {
            let job_type = [JobType::Execution, JobType::Variation][i % 2];
            record(&format!("j{i}"), job_type, at_minute(i as i64))
        })
        .collect();
    store.import_jobs(&records).unwrap();
    for minute in [0, 1, 4, 9] {
        let got = export(&store, Some(at_minute(minute)));
        assert_eq!(got, records[minute as usize..], "since minute {minute}");
    }
    let just_after = Timestamp::from_unix_micros(at_minute(4).unix_micros() + 1);
    assert_eq!(export(&store, Some(just_after)), records[5..]);
    assert_eq!(export(&store, Some(at_minute(10))), []);
    for all in [
        Timestamp::EARLIEST_STORED,
        Timestamp::from_unix_micros(i64::MIN),
    ] {
        assert_eq!(export(&store, Some(all)), records, "{all:?}");
    }
    for none in [
        Timestamp::LATEST_STORED,
        Timestamp::from_unix_micros(i64::MAX),
    ] {
        assert_eq!(export(&store, Some(none)), [], "{none:?}");
    }
    // Nothing to read takes no connection.
    let open = store
        .export_jobs(Some(Timestamp::from_unix_micros(i64::MAX)))
        .unwrap();
    assert_eq!(store.get_pool_status().active, 0);
    drop(open);
}

/// Jobs created at the same time come in job_id order (binary, as SQLite
/// compares text), whatever their kind and the order they were written in.
#[test]
fn ties_on_created_at_are_ordered_by_job_id() {
    let (_dir, store) = file_store();
    let ids = ["b", "a", "B", "é", "a1", "Z", "ab", "_", "0"];
    let records: Vec<JobRecord> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let job_type = [JobType::Variation, JobType::Execution][i % 2];
            // One earlier job and one later, the rest tied.
            let minute = match *id {
                "é" => 0,
                "0" => 2,
                _ => 1,
            };
            record(id, job_type, at_minute(minute))
        })
        .collect();
    store.import_jobs(&records).unwrap();
    let got: Vec<String> = export(&store, None).into_iter().map(|r| r.job_id).collect();
    assert_eq!(got, ["é", "B", "Z", "_", "a", "a1", "ab", "b", "0"]);
}

/// Across pages of 1000: every job once, in (created_at, job_id) order,
/// with ties straddling the boundaries, also when the last page is full.
#[test]
fn pages_join_without_a_gap_or_a_repeat() {
    for n in [
        EXPORT_PAGE - 1,
        EXPORT_PAGE,
        EXPORT_PAGE + 1,
        2 * EXPORT_PAGE,
        2_500,
    ] {
        let (_dir, store) = file_store();
        let mut records = many(n, "job-");
        store.import_jobs(&records).unwrap();
        records.sort_by(|a, b| (a.created_at, &a.job_id).cmp(&(b.created_at, &b.job_id)));
        let got = export(&store, None);
        assert_eq!(got.len(), n);
        assert_eq!(keys(&got), keys(&records), "{n} jobs");
        assert_eq!(got, records, "{n} jobs");
        // A bound inside the ties: the tied jobs all in, none before.
        let since = at_minute(3);
        let expected: Vec<_> = records
            .iter()
            .filter(|r| r.created_at >= since)
            .cloned()
            .collect();
        assert_eq!(
            export(&store, Some(since)),
            expected,
            "{n} jobs since minute 3"
        );
    }
}

/// Commits while an export is read — new jobs before and after the cursor,
/// status changes, deletions, by the store and by another program — change
/// nothing of what it returns, and do not wait for it. The next export
/// sees them.
#[test]
fn an_export_reads_one_snapshot() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    let records = many(2_500, "job-");
    store.import_jobs(&records).unwrap();
    let before = export(&store, None);

    let mut reading = store.export_jobs(None).unwrap();
    let mut got: Vec<JobRecord> = reading.by_ref().take(10).map(Result::unwrap).collect();
    // Behind the cursor, in the pages to come and after every job.
    store
        .import_jobs(&[
            record("aaa-early", JobType::Execution, at_minute(0)),
            record("zzz-middle", JobType::Variation, at_minute(4)),
        ])
        .unwrap();
    store.create_execution(&exec("new-now")).unwrap();
    let last = &before[2_400];
    let update = upd(&last.job_id, Status::Failed);
    let changed = match last.job_type {
        JobType::Execution => store.batch_update_execution_status(&[update]),
        JobType::Variation => store.batch_update_variation_status(&[update]),
    };
    assert_eq!(changed.unwrap(), 1);
    let gone = &before[1_500].job_id;
    let deleted: usize = ["executions", "variations"]
        .iter()
        .map(|t| {
            conn.execute(&format!("DELETE FROM {t} WHERE job_id = ?1"), [gone])
                .unwrap()
        })
        .sum();
    assert_eq!(deleted, 1);
    got.extend(reading.map(Result::unwrap));
    assert_eq!(got, before);

    let after = export(&store, None);
    assert_eq!(after.len(), 2_500 + 3 - 1);
    assert!(after.iter().all(|r| &r.job_id != gone));
    assert_eq!(after.last().unwrap().job_id, "new-now");
    let failed = after.iter().find(|r| r.job_id == last.job_id).unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_exact(&store, &conn);
}

/// The export's connection counts as idle in transaction between pages,
/// and is back in the pool, its snapshot let go, as soon as the last page
/// is read or the iterator dropped half-way; a write and a checkpoint of
/// the whole WAL then succeed.
#[test]
fn an_export_gives_its_connection_back_however_it_ends() {
    let (dir, store) = file_store_with(JobStoreOptions {
        reader_connections: 1,
        ..JobStoreOptions::default()
    });
    let conn = raw(&db_path(&dir));
    store.import_jobs(&many(2_500, "job-")).unwrap();
    assert!(no_snapshot_held(&conn));

    // Dropped in the middle of the second page.
    let mut reading = store.export_jobs(None).unwrap();
    assert_eq!(reading.by_ref().take(1_500).count(), 1_500);
    let status = store.get_pool_status();
    assert_eq!(
        (
            status.total,
            status.active,
            status.idle_in_transaction,
            status.idle
        ),
        (2, 0, 1, 1)
    );
    store.create_execution(&exec("during")).unwrap();
    assert!(!no_snapshot_held(&conn), "the export holds its snapshot");
    drop(reading);
    let status = store.get_pool_status();
    assert_eq!(
        (status.active, status.idle_in_transaction, status.idle),
        (0, 0, 2)
    );
    store.create_execution(&exec("after-drop")).unwrap();
    assert!(no_snapshot_held(&conn));

    // Read to the end: the transaction is over with the last page, before
    // the iterator is dropped.
    let mut reading = store.export_jobs(None).unwrap();
    assert_eq!(reading.by_ref().count(), 2_502);
    assert!(reading.next().is_none());
    assert_eq!(store.get_pool_status().idle_in_transaction, 0);
    store.create_execution(&exec("after-end")).unwrap();
    assert!(no_snapshot_held(&conn));
    drop(reading);
    assert_exact(&store, &conn);
}

/// A row the export cannot read (a status someone forced past the CHECKs)
/// ends it: the pages before the one that holds it, the error, then
/// nothing; the connection is back in the pool.
#[test]
fn an_error_ends_the_export() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    let records = many(1_200, "job-");
    store.import_jobs(&records).unwrap();
    conn.execute_batch(
        "PRAGMA ignore_check_constraints = ON;
         INSERT INTO executions (job_id, status, pipeline_mode, dataset_name, preset,
                                 created_at, updated_at)
         VALUES ('zz-broken', 'running', 'single', 'mnist', 'fast',
                 '2020-01-01T00:05:00.000000Z', '2020-01-01T00:05:00.000000Z');
         PRAGMA ignore_check_constraints = OFF;",
    )
    .unwrap();
    let ahead = records
        .iter()
        .filter(|r| (r.created_at, r.job_id.as_str()) < (at_minute(5), "zz-broken"))
        .count();
    assert!(
        ahead > EXPORT_PAGE,
        "the broken row lies in the second page"
    );
    let items: Vec<Result<JobRecord, Error>> = store.export_jobs(None).unwrap().collect();
    assert_eq!(items.len(), EXPORT_PAGE + 1);
    assert!(items[..EXPORT_PAGE].iter().all(Result::is_ok));
    let err = items[EXPORT_PAGE].as_ref().unwrap_err();
    assert!(err.to_string().contains("running"), "{err}");
    let status = store.get_pool_status();
    assert_eq!((status.active, status.idle_in_transaction), (0, 0));
    conn.execute(
        "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) \
         VALUES ('later', 'single', 'mnist', 'fast')",
        [],
    )
    .unwrap();
    assert!(no_snapshot_held(&conn));
}

/// On a store without readers (in memory) the export reads through the one
/// connection: a call on the same thread fails with 25001 instead of
/// waiting for itself, and works again once the export is dropped. With
/// one reader, held by an export, the same thread's reads use the writer
/// instead of waiting.
#[test]
fn a_thread_never_waits_for_its_own_export() {
    let (done, finished) = mpsc::channel();
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let thread = std::thread::spawn(move || {
        let memory = JobStore::open_in_memory().unwrap();
        memory.import_jobs(&many(1_500, "m-")).unwrap();
        let mut reading = memory.export_jobs(None).unwrap();
        reading.next().unwrap().unwrap();
        let err = memory.create_execution(&exec("x")).unwrap_err();
        assert_eq!(err.sqlstate(), "25001", "{err}");
        assert!(err.to_string().contains("export_jobs"), "{err}");
        assert_eq!(
            memory.get_statistics_optimized().unwrap_err().sqlstate(),
            "25001"
        );
        assert_eq!(memory.get_pool_status().idle_in_transaction, 1);
        drop(reading);
        memory.create_execution(&exec("x")).unwrap();

        let one_reader = JobStore::open_with(
            &path,
            JobStoreOptions {
                reader_connections: 1,
                ..JobStoreOptions::default()
            },
        )
        .unwrap();
        one_reader.import_jobs(&many(1_500, "f-")).unwrap();
        let mut first = one_reader.export_jobs(None).unwrap();
        first.next().unwrap().unwrap();
        assert_eq!(
            one_reader.get_statistics_optimized().unwrap().total_jobs,
            1_500
        );
        // A second export of the thread reads through the writer.
        let second: Vec<_> = one_reader.export_jobs(None).unwrap().collect();
        assert_eq!(second.len(), 1_500);
        assert_eq!(first.count(), 1_499);
        done.send(()).unwrap();
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => thread.join().unwrap(),
        // It panicked: its message.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(thread.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the thread waits for itself"),
    }
}

/// A job_id that exists, in either kind, or that the batch names twice is
/// 23505 naming it, and nothing of the batch is imported; the call counts
/// as a failed one.
#[test]
fn an_existing_or_repeated_id_imports_nothing() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    store.create_execution(&exec("taken-e")).unwrap();
    store.create_variation(&var("taken-v")).unwrap();
    let before = fingerprint(&conn);
    for (batch, named) in [
        (
            vec![
                record("new-1", JobType::Execution, at_minute(1)),
                record("taken-e", JobType::Variation, at_minute(2)),
            ],
            "taken-e",
        ),
        (
            vec![
                record("new-1", JobType::Variation, at_minute(1)),
                record("taken-v", JobType::Execution, at_minute(2)),
                record("taken-e", JobType::Execution, at_minute(2)),
            ],
            "taken-v",
        ),
        (
            vec![
                record("twice", JobType::Execution, at_minute(1)),
                record("new-2", JobType::Execution, at_minute(1)),
                record("twice", JobType::Variation, at_minute(1)),
            ],
            "twice",
        ),
    ] {
        let err = store.import_jobs(&batch).unwrap_err();
        assert_eq!(err.sqlstate(), "23505", "{err}");
        assert!(err.to_string().contains(&format!("\"{named}\"")), "{err}");
        assert_same(&fingerprint(&conn), &before, "after a refused import");
    }
    let m = &store.get_transaction_metrics()["import_jobs"];
    assert_eq!((m.count, m.success_count, m.last_success), (3, 0, false));
    assert_eq!(store.import_jobs(&[]).unwrap(), 0);
    assert_exact(&store, &conn);
}

/// A bad element is 22023 naming its index and field — from JSON and from
/// a record built in Rust — refused before the write lock is asked for;
/// nothing of the batch is imported.
#[test]
fn a_bad_element_is_refused_naming_element_and_field() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    store.create_execution(&exec("existing")).unwrap();
    let before = fingerprint(&conn);
    // Another program holds the write lock: a wait would end in 55P03.
    let locker = raw(&db_path(&dir));
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let good = json!(record("good", JobType::Execution, at_minute(1)));
    let mut bad_time = json!(record("bad", JobType::Variation, at_minute(2)));
    bad_time["created_at"] = json!("yesterday");
    let err = call(
        &store,
        Operation::ImportJobs,
        &[json!([good.clone(), good.clone(), bad_time])],
    )
    .unwrap_err();
    assert_eq!(err.sqlstate(), "22023", "{err}");
    assert!(
        err.to_string()
            .starts_with("element 2: field \"created_at\""),
        "{err}"
    );

    let mut not_a_variation = json!(record("bad", JobType::Execution, at_minute(2)));
    not_a_variation["total_combinations"] = json!(3);
    let err = call(
        &store,
        Operation::ImportJobs,
        &[json!([good, not_a_variation])],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("element 1: field \"total_combinations\" must be null for an execution"),
        "{err}"
    );

    let mut built = vec![
        record("good", JobType::Variation, at_minute(1)),
        record("bad", JobType::Execution, at_minute(2)),
    ];
    built[1].duration_seconds = Some(f64::INFINITY);
    let err = store.import_jobs(&built).unwrap_err();
    assert_eq!(err.sqlstate(), "22023", "{err}");
    assert!(
        err.to_string()
            .starts_with("element 1: field \"duration_seconds\""),
        "{err}"
    );
    built[1].duration_seconds = None;
    built[1].worker = Some(String::new());
    let err = store.import_jobs(&built).unwrap_err();
    assert!(
        err.to_string().starts_with("element 1: field \"worker\""),
        "{err}"
    );

    locker.execute_batch("ROLLBACK").unwrap();
    assert_same(&fingerprint(&conn), &before, "after refused imports");
    // The JSON refused as it was read never reached the store's method.
    let m = &store.get_transaction_metrics()["import_jobs"];
    assert_eq!((m.count, m.success_count), (2, 0));
}

/// A failure in the middle of the inserts — here a summary row someone
/// left for a job that does not exist, which the insert trigger refuses
/// (55000) — undoes the whole import, also inside a transaction that goes
/// on after it and commits; the import's rows there are all or none, the
/// transaction's other work stays.
#[test]
fn an_import_failing_half_way_leaves_nothing_even_in_a_transaction() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    conn.execute(
        "INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset, \
         last_updated) VALUES ('orphan', 'variation', 'done', 'mnist', 'fast', ?1)",
        [old_at(0)],
    )
    .unwrap();
    let batch = [
        record("first", JobType::Execution, at_minute(1)),
        record("second", JobType::Variation, at_minute(1)),
        record("orphan", JobType::Variation, at_minute(2)),
    ];
    let before = fingerprint(&conn);
    let err = store.import_jobs(&batch).unwrap_err();
    assert_eq!(err.sqlstate(), "55000", "{err}");
    assert_same(&fingerprint(&conn), &before, "after a failed import");

    store
        .transaction(|tx| {
            tx.batch_create_executions(&[exec("kept")])?;
            let err = tx.import_jobs(&batch).unwrap_err();
            assert_eq!(err.sqlstate(), "55000", "{err}");
            assert_eq!(tx.import_jobs(&batch[..2])?, 2);
            Ok(())
        })
        .unwrap();
    let ids: Vec<String> = export(&store, None).into_iter().map(|r| r.job_id).collect();
    assert_eq!(ids, ["first", "second", "kept"]);
    let m = &store.get_transaction_metrics()["import_jobs"];
    assert_eq!((m.count, m.success_count), (3, 1));
    store.refresh_job_cache().unwrap();
    assert_exact(&store, &conn);
}

/// The same for a create batch: its rows are inserted one by one, so a row
/// refused half-way (the orphan summary row again) must take the rows
/// before it along, also inside a transaction that goes on and commits.
#[test]
fn a_create_batch_failing_half_way_leaves_nothing_even_in_a_transaction() {
    let (dir, store) = file_store();
    let conn = raw(&db_path(&dir));
    conn.execute(
        "INSERT INTO job_summary_cache (job_id, job_type, status, dataset_name, preset, \
         last_updated) VALUES ('orphan', 'execution', 'done', 'mnist', 'fast', ?1)",
        [old_at(0)],
    )
    .unwrap();
    store
        .transaction(|tx| {
            let err = tx
                .batch_create_executions(&[exec("a-first"), exec("orphan")])
                .unwrap_err();
            assert_eq!(err.sqlstate(), "55000", "{err}");
            tx.batch_create_executions(&[exec("kept")])?;
            Ok(())
        })
        .unwrap();
    let ids: Vec<String> = export(&store, None).into_iter().map(|r| r.job_id).collect();
    assert_eq!(ids, ["kept"]);
    store.refresh_job_cache().unwrap();
    assert_exact(&store, &conn);
}
