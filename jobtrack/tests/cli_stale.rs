//! `jobtrack heartbeat`, `stale` and `fail-stale` on a SQLite file: their
//! output as text and JSON, their defaults, the intervals they refuse, and
//! the listings of Job rows with the heartbeat in them.

mod cli_common;

use std::path::Path;

use cli_common::*;
use serde_json::{json, Value};

/// Moves the last change of every job of the file back to 2020, one minute
/// apart in job_id order, executions from 00:00, variations from 01:40,
/// without a heartbeat: silent for years.
fn make_silent(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    for (table, first) in [("executions", 0), ("variations", 100)] {
        conn.execute(
            &format!(
                "UPDATE {table} SET last_heartbeat = NULL, updated_at = \
                 strftime('%Y-%m-%dT%H:%M:%S', '2020-01-01', \
                          ({first} + (SELECT COUNT(*) FROM {table} AS o \
                                      WHERE o.job_id < {table}.job_id)) || ' minutes') \
                 || '.000000Z'"
            ),
            [],
        )
        .unwrap();
    }
}

/// `seeded` (20 executions, seed-e0…9 done, 20 pending variations) with
/// seed-e10…12 in training, seed-v0 and seed-v1 in the queue, every job
/// silent since 2020.
fn silent_jobs(dir: &Path) -> std::path::PathBuf {
    let db = seeded(dir);
    let updates: Vec<String> = ["seed-e10", "seed-e11", "seed-e12"]
        .iter()
        .map(|id| json!({"job_id": id, "status": "training"}).to_string())
        .chain(
            ["seed-v0", "seed-v1"]
                .iter()
                .map(|id| json!({"job_id": id, "status": "in_queue"}).to_string()),
        )
        .collect();
    let updates = write(dir, "to-active.jsonl", updates.join("\n"));
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "update", p(&updates)])),
        5
    );
    make_silent(&db);
    db
}

fn job_ids(rows: &Value) -> Vec<&str> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_id"].as_str().unwrap())
        .collect()
}

/// Every job as the CLI lists it (`--json jobs`), by job_id.
fn jobs_by_id(db: &Path) -> std::collections::BTreeMap<String, Value> {
    json_of(&jobtrack(db, &["--json", "jobs", "-n", "10000"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["job_id"].as_str().unwrap().to_owned(), j.clone()))
        .collect()
}

#[test]
fn heartbeat_stale_and_fail_stale() {
    let dir = tempfile::tempdir().unwrap();
    let db = silent_jobs(dir.path());
    // The longest silent first: the executions (00:02 to 00:04: seed-e0
    // and seed-e1 come first), then the variations (01:40, 01:41); no
    // pending or finished job.
    let all_stale = ["seed-e10", "seed-e11", "seed-e12", "seed-v0", "seed-v1"];
    let listed = json_of(&jobtrack(&db, &["--json", "stale"]));
    assert_eq!(job_ids(&listed), all_stale);
    // Job rows, as every listing prints them, with their heartbeat.
    let rows = jobs_by_id(&db);
    for row in listed.as_array().unwrap() {
        assert_eq!(row, &rows[row["job_id"].as_str().unwrap()]);
        assert_eq!(row["last_heartbeat"], Value::Null);
    }

    // A heartbeat: found, or not (no such job, a finished one, status 0
    // either way).
    let out = jobtrack(&db, &["heartbeat", "seed-e11"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "recorded a heartbeat of seed-e11\n");
    let out = jobtrack(&db, &["heartbeat", "seed-e0"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "no active job seed-e0: nothing recorded\n");
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "heartbeat", "ghost"])),
        json!(false)
    );
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "heartbeat", "seed-v1"])),
        json!(true)
    );
    let beat = jobs_by_id(&db)["seed-e11"]["last_heartbeat"].clone();
    assert!(beat.is_string(), "{beat}");
    let running = json_of(&jobtrack(&db, &["--json", "running"]));
    let e11 = running
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["job_id"] == "seed-e11")
        .unwrap();
    assert_eq!(e11["last_heartbeat"], beat);

    // The table: one row per stale job, when it was last seen.
    let out = jobtrack(&db, &["stale", "--after", "1 hour"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "job_id",
            "type",
            "status",
            "dataset",
            "progress",
            "last_seen",
            "last_heartbeat"
        ]
    );
    let first: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        first,
        [
            "seed-e10",
            "execution",
            "training",
            "mnist",
            "0",
            "%",
            "2020-01-01T00:02:00.000000Z",
            "-"
        ]
    );
    assert!(lines[4].starts_with("seed-v0 "), "{text}");
    // Long enough and nothing is stale.
    let out = jobtrack(&db, &["stale", "--after", "100000 days"]);
    assert!(stdout(&out).ends_with("(none)\n"), "{}", stdout(&out));

    // Bad intervals are usage errors with core's message; nothing changes.
    let before = snapshot(&db);
    for args in [
        &["stale", "--after", "1 month"][..],
        &["stale", "--after", "0 seconds"],
        &["--json", "stale", "--after", ""],
        &["fail-stale", "--after=-5 minutes"],
        &["fail-stale", "--after", "100001 days"],
        &["fail-stale", "--after", "soon", "--message", "x"],
    ] {
        let out = jobtrack(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("field \"stale_after\" must be an interval"),
            "{args:?}: {err}"
        );
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    assert_eq!(
        snapshot(&db),
        before,
        "the refused commands changed the file"
    );

    // fail-stale: the stale jobs fail, with the message given.
    let out = jobtrack(
        &db,
        &[
            "fail-stale",
            "--after",
            "1 hour",
            "--message",
            "worker lost",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "failed 3 stale jobs\n");
    let rows = jobs_by_id(&db);
    for job_id in ["seed-e10", "seed-e12", "seed-v0"] {
        let row = &rows[job_id];
        assert_eq!(
            (&row["status"], &row["success"], &row["error_message"]),
            (&json!("failed"), &json!(false), &json!("worker lost")),
            "{job_id}"
        );
    }
    for job_id in ["seed-e11", "seed-v1"] {
        assert_ne!(
            rows[job_id]["status"], "failed",
            "{job_id}: its heartbeat kept it"
        );
    }
    assert_eq!(rows["seed-v5"]["status"], "pending");
    // Nothing left for the default, 15 minutes; as JSON, the count.
    assert_eq!(json_of(&jobtrack(&db, &["--json", "fail-stale"])), json!(0));
    assert_eq!(json_of(&jobtrack(&db, &["--json", "stale"])), json!([]));

    // Without a message: one naming the last sign of life.
    make_silent(&db);
    let out = jobtrack(&db, &["fail-stale"]);
    assert_eq!(stdout(&out), "failed 2 stale jobs\n", "{}", stderr(&out));
    let message = jobs_by_id(&db)["seed-e11"]["error_message"].clone();
    assert_eq!(
        message,
        json!(
            "jobtrack: failed as stale: no heartbeat, progress or status change since \
             2020-01-01T00:03:00.000000Z"
        )
    );
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "verify"])),
        json!({"statistics": [], "experiments": [], "summary": []})
    );
    let again = jobtrack(&db, &["fail-stale", "--after", "1 hour"]);
    assert_eq!(stdout(&again), "failed 0 stale jobs\n");
}

/// One job failed is one job.
#[test]
fn fail_stale_says_job_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("one.db");
    let jobs = write(
        dir.path(),
        "one.jsonl",
        json!({"job_id": "e1", "pipeline_mode": "single", "dataset_name": "mnist",
               "preset": "fast", "status": "training"})
        .to_string(),
    );
    json_of(&jobtrack(&db, &["--json", "import", p(&jobs)]));
    make_silent(&db);
    let out = jobtrack(&db, &["fail-stale"]);
    assert_eq!(stdout(&out), "failed 1 stale job\n", "{}", stderr(&out));
}

#[test]
fn heartbeat_commands_on_a_missing_file_fail_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.db");
    for args in [
        &["heartbeat", "e1"][..],
        &["stale"],
        &["fail-stale", "--after", "1 hour"],
    ] {
        let err = failed(&jobtrack(&typo, args));
        assert!(
            err.contains(p(&typo)) && err.contains("58P01"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
