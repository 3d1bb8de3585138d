//! Creating and changing jobs: good and bad input, atomicity, status effects.

mod common;

use common::*;
use jobtrack_sqlite::{Error, JobStore, JobType, Status, StatusUpdate, Timestamp};

fn job_row(store: &JobStore, job_id: &str) -> jobtrack_sqlite::Job {
    store
        .get_all_jobs_optimized(10_000, None)
        .unwrap()
        .into_iter()
        .find(|j| j.job_id == job_id)
        .unwrap_or_else(|| panic!("no job {job_id}"))
}

#[test]
fn create_execution_returns_the_job() {
    let store = JobStore::open_in_memory().unwrap();
    let before = Timestamp::now();
    let mut e = exec("e1");
    e.total_steps = Some(10);
    let job = store.create_execution(&e).unwrap();
    assert_eq!(job.job_id, "e1");
    assert_eq!(job.job_type, JobType::Execution);
    assert_eq!(job.status, Status::Pending);
    assert_eq!(job.mode, "single");
    assert_eq!(job.total_steps, Some(10));
    assert_eq!(
        (job.experiment_name.as_deref(), job.variation_id.as_deref()),
        (None, None)
    );
    assert_eq!(
        (job.success, job.duration_seconds, job.start_time),
        (None, None, None)
    );
    assert!(job.created_at >= before && job.created_at <= Timestamp::now());
    assert_eq!(job.created_at, job.updated_at);
}

#[test]
fn create_variation_stores_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(db_path(&dir)).unwrap();
    let mut v = var("v1");
    v.parent_experiment_id = Some("parent".into());
    let job = store.create_variation(&v).unwrap();
    assert_eq!(job.job_type, JobType::Variation);
    assert_eq!(job.mode, "variations");
    assert_eq!(job.experiment_name.as_deref(), Some("sweep"));
    assert_eq!(job.variation_id.as_deref(), Some("v1-v"));
    let conn = raw(&db_path(&dir));
    let (varied, values, parent): (String, String, String) = conn
        .query_row(
            "SELECT varied_parameters, parameter_values, parent_experiment_id FROM variations",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&varied).unwrap(),
        serde_json::json!({"lr": [0.1, 0.2]})
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&values).unwrap(),
        serde_json::json!({"lr": 0.1})
    );
    assert_eq!(parent, "parent");
}

#[test]
fn initial_status_has_its_effects() {
    let store = JobStore::open_in_memory().unwrap();
    let mut training = exec("t");
    training.status = Status::Training;
    let mut failed = var("f");
    failed.status = Status::Failed;
    let t = store.create_execution(&training).unwrap();
    let f = store.create_variation(&failed).unwrap();
    assert_eq!(t.start_time, Some(t.created_at));
    assert_eq!(
        (f.success, f.start_time, f.duration_seconds),
        (Some(false), None, None)
    );
}

#[test]
fn bad_element_applies_nothing_and_names_index_and_field() {
    let store = JobStore::open_in_memory().unwrap();
    let mut bad = exec("c");
    bad.preset = "p".repeat(101);
    let err = store
        .batch_create_executions(&[exec("a"), exec("b"), bad])
        .unwrap_err();
    assert_eq!(err.sqlstate(), "22023");
    assert_eq!(
        err.to_string(),
        "element 2: field \"preset\" must be a string of 1 to 100 characters, got 101"
    );
    let mut bad = var("y");
    bad.total_combinations = 0;
    let err = store.batch_create_variations(&[var("x"), bad]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("element 1: field \"total_combinations\""),
        "{err}"
    );
    let mut bad = exec("z");
    bad.job_id = String::new();
    let err = store.create_execution(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field \"job_id\" must be a string of 1 to 64 characters, got 0"
    );
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 0);
}

#[test]
fn duplicate_ids_give_23505_and_create_nothing() {
    let store = JobStore::open_in_memory().unwrap();
    let err = store
        .batch_create_executions(&[exec("a"), exec("b"), exec("a")])
        .unwrap_err();
    assert_eq!(err.sqlstate(), "23505");
    assert_eq!(err.to_string(), "job_id \"a\" already exists");
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 0);

    store.create_execution(&exec("e1")).unwrap();
    // e1 exists: the whole batch fails, the new ids before it included.
    let err = store
        .batch_create_executions(&[exec("new1"), exec("e1"), exec("new2")])
        .unwrap_err();
    assert_eq!(err, Error::duplicate("e1"));
    let err = store.create_execution(&exec("e1")).unwrap_err();
    assert_eq!(err.sqlstate(), "23505");
    assert_eq!(store.get_statistics_optimized().unwrap().total_jobs, 1);
}

#[test]
fn id_of_the_other_kind_is_a_duplicate() {
    let store = JobStore::open_in_memory().unwrap();
    store.create_execution(&exec("shared")).unwrap();
    let err = store
        .batch_create_variations(&[var("v1"), var("shared")])
        .unwrap_err();
    assert_eq!(err, Error::duplicate("shared"));
    store.create_variation(&var("v2")).unwrap();
    let err = store.create_execution(&exec("v2")).unwrap_err();
    assert_eq!(err, Error::duplicate("v2"));
    let stats = store.get_statistics_optimized().unwrap();
    assert_eq!((stats.total_executions, stats.total_variations), (1, 1));
}

#[test]
fn empty_batches_do_nothing() {
    let store = JobStore::open_in_memory().unwrap();
    assert!(store.batch_create_executions(&[]).unwrap().is_empty());
    assert!(store.batch_create_variations(&[]).unwrap().is_empty());
    assert_eq!(store.batch_update_execution_status(&[]).unwrap(), 0);
}

#[test]
fn ids_come_back_in_input_order() {
    let store = JobStore::open_in_memory().unwrap();
    let ids = store
        .batch_create_executions(&[exec("z"), exec("a"), exec("m")])
        .unwrap();
    assert_eq!(ids, ["z", "a", "m"]);
}

#[test]
fn status_change_effects() {
    let store = JobStore::open_in_memory().unwrap();
    store.create_execution(&exec("e")).unwrap();

    assert!(store
        .update_execution_status("e", Status::Training, None)
        .unwrap());
    let j = job_row(&store, "e");
    let started = j.start_time.expect("training sets start_time");
    assert_eq!(j.updated_at, started);
    assert_eq!((j.success, j.duration_seconds), (None, None));

    // Entering training again keeps the first start.
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert!(store
        .update_execution_status("e", Status::Training, None)
        .unwrap());
    let j = job_row(&store, "e");
    assert_eq!(j.start_time, Some(started));
    assert!(j.updated_at > started);

    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(store
        .update_execution_status("e", Status::Failed, Some("oom"))
        .unwrap());
    let j = job_row(&store, "e");
    assert_eq!(j.success, Some(false));
    assert_eq!(j.error_message.as_deref(), Some("oom"));
    let d = j.duration_seconds.unwrap();
    // Exact to the microsecond: end − start as Rust computes it.
    assert_eq!(d, j.updated_at.seconds_since(started));
    assert!(d >= 0.02, "{d}");

    // Active again: end, duration and success cleared; the message stays.
    assert!(store
        .update_execution_status("e", Status::InQueue, None)
        .unwrap());
    let j = job_row(&store, "e");
    assert_eq!((j.success, j.duration_seconds), (None, None));
    assert_eq!(j.error_message.as_deref(), Some("oom"));
    assert_eq!(j.start_time, Some(started));

    // A new message replaces the old one.
    assert!(store
        .update_execution_status("e", Status::Cancelled, Some("by user"))
        .unwrap());
    let j = job_row(&store, "e");
    assert_eq!(j.error_message.as_deref(), Some("by user"));
    assert_eq!(j.success, None);
    assert!(j.duration_seconds.is_some());

    // done clears the message even when one is given.
    assert!(store
        .update_execution_status("e", Status::Done, Some("ignored"))
        .unwrap());
    let j = job_row(&store, "e");
    assert_eq!(j.error_message, None);
    assert_eq!(j.success, Some(true));
    assert_eq!(
        j.duration_seconds,
        Some(j.updated_at.seconds_since(started))
    );

    // Terminal without a start: no duration.
    store.create_variation(&var("v")).unwrap();
    assert!(store
        .update_variation_status("v", Status::Done, None)
        .unwrap());
    let v = job_row(&store, "v");
    assert_eq!(
        (v.success, v.duration_seconds, v.start_time),
        (Some(true), None, None)
    );
}

#[test]
fn end_time_is_set_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(db_path(&dir)).unwrap();
    store.create_execution(&exec("e")).unwrap();
    let conn = raw(&db_path(&dir));
    let end = |conn: &rusqlite::Connection| -> Option<String> {
        conn.query_row("SELECT end_time FROM executions", [], |r| r.get(0))
            .unwrap()
    };
    store
        .update_execution_status("e", Status::Done, None)
        .unwrap();
    let t: Timestamp = end(&conn).unwrap().parse().unwrap();
    assert_eq!(t, job_row(&store, "e").updated_at);
    store
        .update_execution_status("e", Status::Pending, None)
        .unwrap();
    assert_eq!(end(&conn), None);
}

#[test]
fn update_of_unknown_or_wrong_kind_is_false() {
    let store = JobStore::open_in_memory().unwrap();
    store.create_execution(&exec("e")).unwrap();
    assert!(!store
        .update_execution_status("ghost", Status::Done, None)
        .unwrap());
    assert!(!store
        .update_variation_status("e", Status::Done, None)
        .unwrap());
    assert_eq!(job_row(&store, "e").status, Status::Pending);
    let err = store
        .update_execution_status("", Status::Done, None)
        .unwrap_err();
    assert_eq!(err.sqlstate(), "22023");
}

#[test]
fn update_progress_on_either_kind() {
    let store = JobStore::open_in_memory().unwrap();
    store.create_execution(&exec("e")).unwrap();
    store.create_variation(&var("v")).unwrap();
    let before = job_row(&store, "v").updated_at;
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert!(store.update_progress("e", 3).unwrap());
    assert!(store.update_progress("v", 7).unwrap());
    assert!(!store.update_progress("ghost", 1).unwrap());
    assert_eq!(job_row(&store, "e").current_step, Some(3));
    let v = job_row(&store, "v");
    assert_eq!(v.current_step, Some(7));
    assert!(v.updated_at > before);
    let err = store.update_progress("e", -1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field \"current_step\" must be an integer from 0 to 2147483647, got -1"
    );
    assert_eq!(job_row(&store, "e").current_step, Some(3));
}

#[test]
fn batch_status_skips_unknown_and_later_element_wins() {
    let store = JobStore::open_in_memory().unwrap();
    store
        .batch_create_executions(&[exec("a"), exec("b")])
        .unwrap();
    store.create_variation(&var("v")).unwrap();
    let mut failed = upd("b", Status::Failed);
    failed.error_message = Some("boom".into());
    let n = store
        .batch_update_execution_status(&[
            upd("a", Status::Training),
            upd("ghost", Status::Done),
            failed,
            upd("v", Status::Done), // a variation: unknown to this function
            upd("a", Status::Done),
        ])
        .unwrap();
    assert_eq!(n, 2);
    let a = job_row(&store, "a");
    assert_eq!(a.status, Status::Done);
    // Only the later element applied: a never entered training.
    assert_eq!((a.start_time, a.success), (None, Some(true)));
    assert_eq!(job_row(&store, "b").error_message.as_deref(), Some("boom"));
    assert_eq!(job_row(&store, "v").status, Status::Pending);
    assert_eq!(
        store
            .batch_update_variation_status(&[upd("v", Status::Training), upd("a", Status::Failed)])
            .unwrap(),
        1
    );
}

#[test]
fn bad_status_update_applies_nothing() {
    let store = JobStore::open_in_memory().unwrap();
    store
        .batch_create_executions(&[exec("a"), exec("b")])
        .unwrap();
    let err = store
        .batch_update_execution_status(&[
            upd("a", Status::Done),
            upd(&"x".repeat(65), Status::Done),
        ])
        .unwrap_err();
    assert!(
        err.to_string().starts_with("element 1: field \"job_id\""),
        "{err}"
    );
    assert_eq!(job_row(&store, "a").status, Status::Pending);
    let bad = StatusUpdate {
        job_id: "b".into(),
        status: Status::Failed,
        error_message: Some("nul\0inside".into()),
    };
    let err = store
        .batch_update_execution_status(&[upd("a", Status::Done), bad])
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("element 1: field \"error_message\""),
        "{err}"
    );
    assert_eq!(
        store
            .get_statistics_optimized()
            .unwrap()
            .executions_by_status[&Status::Pending],
        2
    );
}

#[test]
fn ten_thousand_elements_in_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(db_path(&dir)).unwrap();
    let jobs: Vec<_> = (0..10_000).map(|i| exec(&format!("job-{i:05}"))).collect();
    let ids = store.batch_create_executions(&jobs).unwrap();
    assert_eq!(ids.len(), 10_000);
    assert_eq!(ids[9_999], "job-09999");
    let updates: Vec<_> = (0..10_000)
        .map(|i| {
            upd(
                &format!("job-{i:05}"),
                if i % 2 == 0 {
                    Status::Done
                } else {
                    Status::Failed
                },
            )
        })
        .collect();
    assert_eq!(
        store.batch_update_execution_status(&updates).unwrap(),
        10_000
    );
    let stats = store.get_statistics_optimized().unwrap();
    assert_eq!((stats.total_successful, stats.total_failed), (5_000, 5_000));
    let vars: Vec<_> = (0..10_000).map(|i| var(&format!("var-{i:05}"))).collect();
    assert_eq!(store.batch_create_variations(&vars).unwrap().len(), 10_000);
    assert_summary_exact(&raw(&db_path(&dir)));
    let m = &store.get_transaction_metrics()["batch_create_executions"];
    assert_eq!((m.count, m.success_count), (1, 1));
}

#[test]
fn cleanup_deletes_only_old_terminal_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(db_path(&dir)).unwrap();
    let statuses = [
        ("done", Status::Done),
        ("failed", Status::Failed),
        ("cancelled", Status::Cancelled),
        ("training", Status::Training),
        ("pending", Status::Pending),
        ("fresh-done", Status::Done),
    ];
    for (id, status) in statuses {
        let mut e = exec(&format!("e-{id}"));
        e.status = status;
        store.create_execution(&e).unwrap();
        let mut v = var(&format!("v-{id}"));
        v.status = status;
        store.create_variation(&v).unwrap();
    }
    let conn = raw(&db_path(&dir));
    for table in ["executions", "variations"] {
        conn.execute(
            &format!("UPDATE {table} SET created_at = '2020-01-01T00:00:00.000000Z' WHERE job_id NOT LIKE '%fresh%'"),
            [],
        )
        .unwrap();
    }
    let err = store.cleanup_old_jobs(-1, true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field \"days\" must be an integer from 0 to 2147483647, got -1"
    );

    let r = store.cleanup_old_jobs(30, true).unwrap();
    assert_eq!(
        (
            r.executions_deleted,
            r.variations_deleted,
            r.cache_entries_deleted
        ),
        (2, 2, 4)
    );
    let left: Vec<String> = store
        .get_all_jobs_optimized(100, None)
        .unwrap()
        .into_iter()
        .map(|j| j.job_id)
        .collect();
    for id in [
        "e-failed",
        "v-failed",
        "e-training",
        "v-pending",
        "e-fresh-done",
    ] {
        assert!(left.contains(&id.to_owned()), "{id} deleted: {left:?}");
    }
    let r = store.cleanup_old_jobs(30, false).unwrap();
    assert_eq!(
        (
            r.executions_deleted,
            r.variations_deleted,
            r.cache_entries_deleted
        ),
        (1, 1, 2)
    );
    // days = 0: everything terminal goes, however new; active jobs never.
    let r = store.cleanup_old_jobs(0, false).unwrap();
    assert_eq!((r.executions_deleted, r.variations_deleted), (1, 1));
    let mut left: Vec<String> = store
        .get_all_jobs_optimized(100, None)
        .unwrap()
        .into_iter()
        .map(|j| j.job_id)
        .collect();
    left.sort();
    assert_eq!(left, ["e-pending", "e-training", "v-pending", "v-training"]);
    assert_summary_exact(&conn);
}

#[test]
fn refresh_job_cache_rebuilds_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(db_path(&dir)).unwrap();
    store
        .batch_create_executions(&[exec("a"), exec("b")])
        .unwrap();
    store.create_variation(&var("v")).unwrap();
    let conn = raw(&db_path(&dir));
    // Someone damages the summary by hand.
    conn.execute_batch("DELETE FROM job_summary_cache WHERE job_id = 'a'; UPDATE job_summary_cache SET status = 'failed' WHERE job_id = 'v';").unwrap();
    assert_eq!(store.refresh_job_cache().unwrap(), 3);
    assert_summary_exact(&conn);
}

#[test]
fn metrics_count_every_write_with_failures() {
    let store = JobStore::open_in_memory().unwrap();
    assert!(store.get_transaction_metrics().is_empty());
    store.create_execution(&exec("a")).unwrap();
    store.create_execution(&exec("a")).unwrap_err();
    store.update_progress("a", -1).unwrap_err();
    store.update_progress("a", 1).unwrap();
    store
        .batch_update_execution_status(&[upd("a", Status::Done)])
        .unwrap();
    store.cleanup_old_jobs(1, true).unwrap();
    store.refresh_job_cache().unwrap();
    store.get_statistics_cached().unwrap(); // reads are not measured
    let m = store.get_transaction_metrics();
    let names: Vec<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "batch_update_execution_status",
            "cleanup_old_jobs",
            "create_execution",
            "refresh_job_cache",
            "update_progress"
        ]
    );
    let c = &m["create_execution"];
    assert_eq!((c.count, c.success_count, c.last_success), (2, 1, false));
    assert_eq!(c.success_rate, 50.0);
    assert!(c.min_duration <= c.max_duration && c.total_duration >= c.max_duration);
    let p = &m["update_progress"];
    assert_eq!((p.count, p.success_count, p.last_success), (2, 1, true));
    store.reset_transaction_metrics();
    assert!(store.get_transaction_metrics().is_empty());
}
