//! The `jobtrack` binary end to end, on a database file of its own.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn jobtrack(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobtrack"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("the jobtrack binary runs")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "jobtrack failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

#[test]
fn import_update_and_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let jobs = dir.path().join("jobs.jsonl");
    std::fs::write(
        &jobs,
        r#"{"job_id":"e1","pipeline_mode":"single","dataset_name":"mnist","preset":"fast","total_steps":10}
{"job_id":"v1","variation_id":"lr=0.1","experiment_name":"sweep","dataset_name":"mnist","preset":"fast","total_combinations":2}

{"job_id":"e2","pipeline_mode":"batch","dataset_name":"cifar","preset":"slow"}
"#,
    )
    .unwrap();
    let ids = json_of(&jobtrack(
        &db,
        &["--json", "import", jobs.to_str().unwrap()],
    ));
    assert_eq!(ids, serde_json::json!(["e1", "e2", "v1"]));

    let updates = dir.path().join("updates.json");
    std::fs::write(
        &updates,
        r#"[{"job_id":"e1","status":"training"},{"job_id":"v1","status":"failed","error_message":"oom"},
            {"job_id":"ghost","status":"done"},{"job_id":"e1","status":"completed"}]"#,
    )
    .unwrap();
    let n = json_of(&jobtrack(
        &db,
        &["--json", "update", updates.to_str().unwrap()],
    ));
    assert_eq!(n, 2);

    let stats = json_of(&jobtrack(&db, &["--json", "stats"]));
    assert_eq!(stats["total_jobs"], 3);
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "verify"])),
        serde_json::json!([])
    );
    assert_eq!(stats["executions_by_status"]["done"], 1);
    assert_eq!(stats["variations_by_status"]["failed"], 1);
    assert_eq!(stats["success_rate"], 50.0);

    let ds = json_of(&jobtrack(&db, &["--json", "dataset", "mnist"]));
    assert_eq!(
        (ds["total_jobs"].as_i64(), ds["failed_jobs"].as_i64()),
        (Some(2), Some(1))
    );

    let recent = json_of(&jobtrack(&db, &["--json", "recent", "-n", "2"]));
    assert_eq!(recent.as_array().unwrap().len(), 2);
    let running = json_of(&jobtrack(&db, &["--json", "running"]));
    assert_eq!(running[0]["job_id"], "e2");

    let table = jobtrack(&db, &["stats"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("success rate 50.0 %"), "{text}");

    let tamper = rusqlite::Connection::open(&db).unwrap();
    tamper
        .execute(
            "UPDATE job_counters SET jobs = jobs + 1 WHERE dataset_name = 'cifar'",
            [],
        )
        .unwrap();
    drop(tamper);
    let out = jobtrack(&db, &["verify"]);
    assert!(
        !out.status.success(),
        "verify must fail on damaged counters"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("differ"));

    let cleaned = json_of(&jobtrack(&db, &["--json", "cleanup", "--days", "0"]));
    assert_eq!(cleaned["executions_deleted"], 1);
    assert_eq!(cleaned["variations_deleted"], 1);
}

#[test]
fn bad_input_fails_with_the_element_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let jobs = dir.path().join("jobs.json");
    std::fs::write(
        &jobs,
        r#"[{"job_id":"e1","pipeline_mode":"single","dataset_name":"d","preset":"p"},
            {"job_id":"e2","pipeline_mode":"sweep","dataset_name":"d","preset":"p"}]"#,
    )
    .unwrap();
    let out = jobtrack(&db, &["import", jobs.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("element 1: field \"pipeline_mode\""), "{err}");
    assert!(err.contains("22023"), "{err}");
    let stats = json_of(&jobtrack(&db, &["--json", "stats"]));
    assert_eq!(stats["total_jobs"], 0);

    let out = jobtrack(&db, &["recent", "-n", "20000"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"lim\""));
}

#[test]
fn demo_runs_small() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = jobtrack(
        &db,
        &[
            "demo",
            "--executions",
            "300",
            "--experiments",
            "3",
            "--combinations",
            "20",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for section in [
        "== statistics",
        "== dataset",
        "== recent jobs",
        "== running jobs",
        "== timings",
    ] {
        assert!(text.contains(section), "missing {section} in:\n{text}");
    }
    assert!(text.contains("360 jobs"), "{text}");
}
