//! Statistics, dataset statistics and job listings.

mod common;

use common::*;
use jobtrack_sqlite::{JobStore, JobType, Status};

fn ids(jobs: &[jobtrack_sqlite::Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.job_id.as_str()).collect()
}

#[test]
fn statistics_count_and_average() {
    let store = JobStore::open_in_memory().unwrap();
    let empty = store.get_statistics_optimized().unwrap();
    assert_eq!(empty.total_jobs, 0);
    assert_eq!(empty.success_rate, 0.0);
    assert_eq!(
        (empty.avg_execution_duration, empty.avg_variation_duration),
        (None, None)
    );
    assert!(empty.executions_by_status.is_empty());

    store
        .batch_create_executions(&[exec("a"), exec("b"), exec("c")])
        .unwrap();
    store
        .batch_create_variations(&[var("v1"), var("v2")])
        .unwrap();
    store
        .batch_update_execution_status(&[upd("a", Status::Training), upd("b", Status::Training)])
        .unwrap();
    store
        .batch_update_execution_status(&[upd("a", Status::Done), upd("b", Status::Failed)])
        .unwrap();
    store
        .update_variation_status("v1", Status::Done, None)
        .unwrap();
    let s = store.get_statistics_optimized().unwrap();
    assert_eq!(
        (s.total_executions, s.total_variations, s.total_jobs),
        (3, 2, 5)
    );
    assert_eq!(
        s.executions_by_status.into_iter().collect::<Vec<_>>(),
        [(Status::Pending, 1), (Status::Done, 1), (Status::Failed, 1)]
    );
    assert_eq!(
        s.variations_by_status.into_iter().collect::<Vec<_>>(),
        [(Status::Pending, 1), (Status::Done, 1)]
    );
    assert_eq!((s.total_successful, s.total_failed), (2, 1));
    assert!((s.success_rate - 200.0 / 3.0).abs() < 1e-9);
    let jobs = store.get_all_jobs_optimized(10, None).unwrap();
    let durations: Vec<f64> = jobs
        .iter()
        .filter(|j| j.job_type == JobType::Execution)
        .filter_map(|j| j.duration_seconds)
        .collect();
    assert_eq!(durations.len(), 2);
    let avg = s.avg_execution_duration.unwrap();
    assert!((avg - durations.iter().sum::<f64>() / 2.0).abs() < 1e-12);
    // v1 went to done without a start: no duration to average.
    assert_eq!(s.avg_variation_duration, None);
}

#[test]
fn dataset_stats_cover_both_kinds() {
    let store = JobStore::open_in_memory().unwrap();
    store
        .batch_create_executions(&[
            exec_on("a", "mnist"),
            exec_on("b", "mnist"),
            exec_on("c", "cifar"),
        ])
        .unwrap();
    store.create_variation(&var_on("v", "mnist")).unwrap();
    store
        .batch_update_execution_status(&[upd("a", Status::Training), upd("b", Status::Training)])
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    store
        .update_variation_status("v", Status::Training, None)
        .unwrap();
    store
        .batch_update_execution_status(&[upd("a", Status::Done), upd("b", Status::Failed)])
        .unwrap();
    let d = store.get_dataset_stats_optimized("mnist").unwrap();
    assert_eq!((d.total_jobs, d.executions, d.variations), (3, 2, 1));
    assert_eq!(
        (d.successful_jobs, d.failed_jobs, d.success_rate),
        (1, 1, 50.0)
    );
    let all = store.get_all_jobs_optimized(10, None).unwrap();
    let get = |id: &str| all.iter().find(|j| j.job_id == id).unwrap().clone();
    let (a, b, v) = (get("a"), get("b"), get("v"));
    let min = a.duration_seconds.unwrap().min(b.duration_seconds.unwrap());
    let max = a.duration_seconds.unwrap().max(b.duration_seconds.unwrap());
    assert_eq!((d.min_duration, d.max_duration), (Some(min), Some(max)));
    assert!((d.average_duration.unwrap() - (min + max) / 2.0).abs() < 1e-12);
    assert_eq!(d.first_run, a.start_time);
    assert_eq!(d.last_run, v.start_time);
    assert!(d.first_run < d.last_run);

    let unknown = store.get_dataset_stats_optimized("nothing here").unwrap();
    assert_eq!(unknown.dataset_name, "nothing here");
    assert_eq!((unknown.total_jobs, unknown.success_rate), (0, 0.0));
    assert_eq!(
        (
            unknown.average_duration,
            unknown.first_run,
            unknown.last_run
        ),
        (None, None, None)
    );
    // Names are data, never SQL.
    let odd = "'; DELETE FROM executions; --";
    assert_eq!(
        store.get_dataset_stats_optimized(odd).unwrap().total_jobs,
        0
    );
    assert_eq!(
        store.get_statistics_optimized().unwrap().total_executions,
        3
    );
}

#[test]
fn listings_order_and_limits() {
    let store = JobStore::open_in_memory().unwrap();
    // One batch shares created_at: ties break on job_id descending.
    store
        .batch_create_executions(&[exec("e1"), exec("e3"), exec("e2")])
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    store.create_variation(&var("v1")).unwrap();
    let all = store.get_all_jobs_optimized(100, None).unwrap();
    assert_eq!(ids(&all), ["v1", "e3", "e2", "e1"]);
    assert_eq!(
        ids(&store.get_all_jobs_optimized(2, None).unwrap()),
        ["v1", "e3"]
    );
    assert!(store.get_all_jobs_optimized(0, None).unwrap().is_empty());

    std::thread::sleep(std::time::Duration::from_millis(2));
    store.update_progress("e1", 1).unwrap();
    let recent = store.get_recent_jobs_optimized(10).unwrap();
    assert_eq!(ids(&recent), ["e1", "v1", "e3", "e2"]);
    assert_eq!(ids(&store.get_recent_jobs_optimized(1).unwrap()), ["e1"]);
    assert_eq!(recent[1].mode, "variations");
    assert_eq!(recent[1].variation_id.as_deref(), Some("v1-v"));

    for lim in [-1, 10_001, i32::MIN, i32::MAX] {
        for result in [
            store.get_all_jobs_optimized(lim, None),
            store.get_recent_jobs_optimized(lim),
            store.get_recent_jobs_cached(lim),
        ] {
            let err = result.unwrap_err();
            assert_eq!(err.sqlstate(), "22023");
            assert_eq!(
                err.to_string(),
                format!("field \"lim\" must be an integer from 0 to 10000, got {lim}")
            );
        }
    }
    assert_eq!(store.get_all_jobs_optimized(10_000, None).unwrap().len(), 4);
}

#[test]
fn running_jobs_are_the_active_ones() {
    let store = JobStore::open_in_memory().unwrap();
    let mut e = exec("e");
    e.total_steps = Some(200);
    store.batch_create_executions(&[e, exec("done")]).unwrap();
    store.create_variation(&var("v")).unwrap();
    store
        .update_execution_status("e", Status::Training, None)
        .unwrap();
    store.update_progress("e", 50).unwrap();
    store
        .update_execution_status("done", Status::Done, None)
        .unwrap();
    let running = store.get_running_jobs(None, None).unwrap();
    assert_eq!(
        running
            .iter()
            .map(|r| r.job_id.as_str())
            .collect::<Vec<_>>(),
        ["v", "e"]
    );
    let e = &running[1];
    assert_eq!(
        (e.job_type, e.status, e.progress),
        (JobType::Execution, Status::Training, 25.0)
    );
    assert!(e.start_time.is_some());
    let v = &running[0];
    assert_eq!(
        (v.progress, v.experiment_name.as_deref()),
        (0.0, Some("sweep"))
    );
    for status in Status::ALL {
        store.update_execution_status("e", status, None).unwrap();
        let listed = store
            .get_running_jobs(None, None)
            .unwrap()
            .iter()
            .any(|r| r.job_id == "e");
        assert_eq!(listed, status.is_active(), "{status}");
    }
}

#[test]
fn json_of_results_matches_the_readme() {
    let store = JobStore::open_in_memory().unwrap();
    let job = store.create_execution(&exec("e")).unwrap();
    let v = serde_json::to_value(&job).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec![
        "job_id",
        "job_type",
        "status",
        "dataset_name",
        "preset",
        "mode",
        "experiment_name",
        "variation_id",
        "success",
        "duration_seconds",
        "error_message",
        "output_path",
        "total_steps",
        "current_step",
        "start_time",
        "created_at",
        "updated_at",
        "last_heartbeat",
    ];
    let mut keys = keys.clone();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let created = v["created_at"].as_str().unwrap();
    assert_eq!(created.len(), 27);
    assert!(created.ends_with('Z'));
    let pool = serde_json::to_value(store.get_pool_status()).unwrap();
    assert_eq!(pool["backend"], "sqlite");
}
