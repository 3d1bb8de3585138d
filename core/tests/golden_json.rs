//! Pins the JSON of every result type to the README's keys and formats:
//! a renamed field or a changed timestamp format fails here first.

use std::collections::BTreeMap;
use std::time::Duration;

use jobtrack_core::*;
use serde_json::{json, Value};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

/// The set of keys of an object, sorted.
fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn sorted(mut k: Vec<&str>) -> Vec<&str> {
    k.sort_unstable();
    k
}

#[test]
fn statistics() {
    let mut by = BTreeMap::new();
    by.insert(Status::Done, 3);
    by.insert(Status::Failed, 1);
    by.insert(Status::Training, 0);
    let executions = KindAggregate {
        by_status: by,
        successful: 3,
        failed: 1,
        duration_sum: 30.0,
        duration_count: 4,
    };
    let stats = Statistics::from_parts(executions, KindAggregate::default());
    assert_eq!(
        to_json(&stats),
        json!({
            "total_executions": 4, "total_variations": 0, "total_jobs": 4,
            "executions_by_status": {"done": 3, "failed": 1},
            "variations_by_status": {},
            "total_successful": 3, "total_failed": 1, "success_rate": 75.0,
            "avg_execution_duration": 7.5, "avg_variation_duration": null
        })
    );
    let empty = Statistics::from_parts(KindAggregate::default(), KindAggregate::default());
    assert_eq!(serde_json::to_string(&empty.success_rate).unwrap(), "0.0");
}

#[test]
fn dataset_stats() {
    let d = DatasetStats::from_parts(
        "mnist",
        DatasetAggregate {
            executions: 2,
            variations: 1,
            successful: 1,
            failed: 1,
            duration_sum: 3.0,
            duration_count: 2,
            min_duration: Some(1.0),
            max_duration: Some(2.0),
            first_run: Some(ts("2026-11-26T16:32:21.123456Z")),
            last_run: Some(ts("2026-11-26T17:00:00Z")),
        },
    );
    let v = to_json(&d);
    assert_eq!(
        keys(&v),
        sorted(vec![
            "dataset_name",
            "total_jobs",
            "executions",
            "variations",
            "successful_jobs",
            "failed_jobs",
            "success_rate",
            "average_duration",
            "min_duration",
            "max_duration",
            "first_run",
            "last_run"
        ])
    );
    assert_eq!(v["first_run"], "2026-11-26T16:32:21.123456Z");
    assert_eq!(v["last_run"], "2026-11-26T17:00:00.000000Z");
    assert_eq!(v["total_jobs"], 3);
    assert_eq!(v["success_rate"], 50.0);
    assert_eq!(v["average_duration"], 1.5);
    let unknown = to_json(&DatasetStats::from_parts(
        "none",
        DatasetAggregate::default(),
    ));
    assert_eq!(
        unknown,
        json!({"dataset_name": "none", "total_jobs": 0, "executions": 0, "variations": 0,
               "successful_jobs": 0, "failed_jobs": 0, "success_rate": 0.0,
               "average_duration": null, "min_duration": null, "max_duration": null,
               "first_run": null, "last_run": null})
    );
}

#[test]
fn job_row() {
    let job = Job {
        job_id: "v-1".into(),
        job_type: JobType::Variation,
        status: Status::Done,
        dataset_name: "d".into(),
        preset: "p".into(),
        mode: PipelineMode::Variations.as_str().into(),
        experiment_name: Some("sweep".into()),
        variation_id: Some("lr-1".into()),
        success: Some(true),
        duration_seconds: Some(12.5),
        error_message: None,
        output_path: None,
        total_steps: Some(100),
        current_step: Some(100),
        start_time: Some(ts("2026-11-26T16:32:21.000001Z")),
        created_at: ts("2026-11-26T16:00:00Z"),
        updated_at: ts("2026-11-26T16:32:33.500001Z"),
        last_heartbeat: Some(ts("2026-11-26T16:32:30Z")),
    };
    assert_eq!(
        to_json(&job),
        json!({
            "job_id": "v-1", "job_type": "variation", "status": "done", "dataset_name": "d",
            "preset": "p", "mode": "variations", "experiment_name": "sweep",
            "variation_id": "lr-1", "success": true, "duration_seconds": 12.5,
            "error_message": null, "output_path": null, "total_steps": 100,
            "current_step": 100, "start_time": "2026-11-26T16:32:21.000001Z",
            "created_at": "2026-11-26T16:00:00.000000Z",
            "updated_at": "2026-11-26T16:32:33.500001Z",
            "last_heartbeat": "2026-11-26T16:32:30.000000Z"
        })
    );
}

#[test]
fn running_job_row() {
    let r = RunningJob {
        job_id: "e-1".into(),
        job_type: JobType::Execution,
        status: Status::Training,
        dataset_name: "d".into(),
        start_time: None,
        current_step: Some(25),
        total_steps: Some(200),
        progress: progress(Some(25), Some(200)),
        experiment_name: None,
        variation_id: None,
        last_heartbeat: None,
    };
    assert_eq!(
        to_json(&r),
        json!({"job_id": "e-1", "job_type": "execution", "status": "training",
               "dataset_name": "d", "start_time": null, "current_step": 25,
               "total_steps": 200, "progress": 12.5, "experiment_name": null,
               "variation_id": null, "last_heartbeat": null})
    );
    assert_eq!(progress(None, Some(10)), 0.0);
    assert_eq!(progress(Some(5), Some(0)), 0.0);
    assert_eq!(progress(Some(5), None), 0.0);
}

#[test]
fn cleanup_cache_and_pool() {
    let c = CleanupReport {
        executions_deleted: 2,
        variations_deleted: 1,
        cache_entries_deleted: 3,
    };
    assert_eq!(
        to_json(&c),
        json!({"executions_deleted": 2, "variations_deleted": 1, "cache_entries_deleted": 3})
    );
    let s = CacheStats::new(2, 1000, 3, 1, 0, 5, true);
    assert_eq!(
        to_json(&s),
        json!({"size": 2, "capacity": 1000, "hits": 3, "misses": 1, "total_requests": 4,
               "hit_rate": 75.0, "evictions": 0, "invalidations": 5, "shared": true})
    );
    assert_eq!(CacheStats::new(0, 10, 0, 0, 0, 0, false).hit_rate, 0.0);
    let p = PoolStatus {
        backend: "sqlite".into(),
        max_connections: 5,
        total: 5,
        active: 1,
        idle: 4,
        idle_in_transaction: 0,
        waiting: 0,
        pool: None,
    };
    assert_eq!(
        to_json(&p),
        json!({"backend": "sqlite", "max_connections": 5, "total": 5, "active": 1,
               "idle": 4, "idle_in_transaction": 0, "waiting": 0})
    );
}

#[test]
fn transaction_metrics() {
    let mut r = MetricsRecorder::default();
    let at = ts("2026-11-26T16:32:21.123456Z");
    r.record(
        Operation::UpdateProgress,
        Duration::from_millis(250),
        true,
        at,
    );
    let v = to_json(&r.snapshot());
    assert_eq!(
        v,
        json!({"update_progress": {"count": 1, "success_count": 1, "success_rate": 100.0,
               "total_duration": 0.25, "avg_duration": 0.25, "min_duration": 0.25,
               "max_duration": 0.25, "last_duration": 0.25, "last_success": true,
               "last_timestamp": "2026-11-26T16:32:21.123456Z"}})
    );
}

#[test]
fn error_sqlstates() {
    let bad = parse_batch::<NewExecution>(&json!([{"job_id": "a"}])).unwrap_err();
    assert_eq!(bad.sqlstate(), "22023");
    let dup = check_unique_ids(
        &parse_batch::<StatusUpdate>(&json!([
            {"job_id": "a", "status": "done"}, {"job_id": "a", "status": "done"}
        ]))
        .unwrap(),
    )
    .unwrap_err();
    assert_eq!(dup.sqlstate(), "23505");
}

#[test]
fn statistics_difference_row() {
    let row = |dataset: &str, jobs: i64, micros: i64| CounterRow {
        job_type: JobType::Execution,
        dataset_name: dataset.into(),
        status: Status::Done,
        counts: Counts {
            jobs,
            successful: jobs,
            failed: 0,
            duration_count: jobs,
            duration_micros_sum: micros,
        },
    };
    let diffs = statistics_differences([row("mnist", 3, 4_500_000)], [row("mnist", 2, 3_000_001)]);
    assert_eq!(
        to_json(&diffs),
        json!([{"job_type": "execution", "dataset_name": "mnist", "status": "done",
                "counted_jobs": 3, "actual_jobs": 2,
                "counted_successful": 3, "actual_successful": 2,
                "counted_failed": 0, "actual_failed": 0,
                "counted_duration_count": 3, "actual_duration_count": 2,
                "counted_duration_micros_sum": 4_500_000, "actual_duration_micros_sum": 3_000_001}])
    );
    let back: Vec<StatisticsDifference> = serde_json::from_value(to_json(&diffs)).unwrap();
    assert_eq!(back, diffs);
    assert_eq!(
        to_json(&statistics_differences([row("a", 1, 1)], [row("a", 1, 1)])),
        json!([])
    );
}
