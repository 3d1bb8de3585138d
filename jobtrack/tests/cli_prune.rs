//! `jobtrack prune` on a SQLite file: its output as text and JSON, its
//! batches, its default batch size, and what it refuses.

mod cli_common;

use cli_common::*;
use serde_json::json;

/// Moves every job of the file back to 2020: older than any `--days` but 0.
fn make_old(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "UPDATE executions SET created_at = '2020-01-01T00:00:00.000000Z';
         UPDATE variations SET created_at = '2020-01-02T00:00:00.000000Z';",
    )
    .unwrap();
}

#[test]
fn prune_deletes_in_batches_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    // 20 executions (seed-e0..9 done) and 20 variations, of which 5 fail
    // and 5 are cancelled here.
    let db = seeded(dir.path());
    let updates: Vec<String> = (0..10)
        .map(|i| {
            let status = if i < 5 { "failed" } else { "cancelled" };
            json!({"job_id": format!("seed-v{i}"), "status": status}).to_string()
        })
        .collect();
    let updates = write(dir.path(), "v-updates.jsonl", updates.join("\n"));
    json_of(&jobtrack(&db, &["--json", "update", p(&updates)]));
    make_old(&db);

    // Refused: 22023 naming the argument, status 3, nothing deleted.
    let before = snapshot(&db);
    for (args, message) in [
        (
            &["prune", "--days=-1"][..],
            "field \"days\" must be an integer from 0 to 2147483647, got -1 (SQLSTATE 22023)",
        ),
        (
            &["prune", "--days", "1", "--batch-size", "0"],
            "field \"batch_size\" must be an integer from 1 to 2147483647, got 0 (SQLSTATE 22023)",
        ),
        (
            &["--json", "prune", "--days", "1", "--batch-size=-5"],
            "field \"batch_size\" must be an integer from 1 to 2147483647, got -5 (SQLSTATE 22023)",
        ),
    ] {
        let err = failed(&jobtrack(&db, args));
        assert!(err.contains(message), "{args:?}: {err}");
    }
    // Usage errors: status 2.
    for args in [
        &["prune"][..],
        &["prune", "--days", "1", "--batch-size", "many"],
        &["prune", "--days", "1", "--batch-size", "3000000000"],
    ] {
        let out = jobtrack(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(snapshot(&db), before, "the refused prunes changed the file");

    // With --keep-failed: the 10 done executions and the 5 cancelled
    // variations, 4 + 4 + 4 + 3.
    let out = jobtrack(
        &db,
        &[
            "prune",
            "--days",
            "30",
            "--keep-failed",
            "--batch-size",
            "4",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "deleted 10 executions, 5 variations (15 summary rows) in 4 batches\n"
    );
    // Without: the 5 failed variations, 3 + 2; the API's report as JSON.
    assert_eq!(
        json_of(&jobtrack(
            &db,
            &["--json", "prune", "--days", "30", "--batch-size", "3"]
        )),
        json!({"executions_deleted": 0, "variations_deleted": 5,
               "cache_entries_deleted": 5, "batches": 2})
    );
    // Nothing left to prune: one batch that finds nothing.
    let out = jobtrack(&db, &["prune", "--days", "0"]);
    assert_eq!(
        stdout(&out),
        "deleted 0 executions, 0 variations (0 summary rows) in 1 batch\n",
        "{}",
        stderr(&out)
    );
    assert_eq!(rows(&db, "executions"), 10);
    assert_eq!(rows(&db, "variations"), 10);
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "verify"])),
        json!({"statistics": [], "experiments": [], "summary": []})
    );
}

/// Without --batch-size a batch is 10,000 jobs: 9,999 take one batch,
/// 10,000 two (the second finds none).
#[test]
fn prune_batch_size_defaults_to_10000() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    let import = |from: usize, n: usize| {
        let lines: Vec<String> = (from..from + n)
            .map(|i| {
                json!({"job_id": format!("e{i:05}"), "pipeline_mode": "single",
                       "dataset_name": "mnist", "preset": "fast", "status": "done"})
                .to_string()
            })
            .collect();
        let file = write(dir.path(), &format!("jobs-{from}.jsonl"), lines.join("\n"));
        json_of(&jobtrack(&db, &["--json", "import", p(&file)]));
    };
    import(0, 10_000);
    let pruned = json_of(&jobtrack(&db, &["--json", "prune", "--days", "0"]));
    assert_eq!(
        (&pruned["executions_deleted"], &pruned["batches"]),
        (&json!(10_000), &json!(2))
    );
    import(10_000, 9_999);
    let pruned = json_of(&jobtrack(&db, &["--json", "prune", "--days", "0"]));
    assert_eq!(
        (&pruned["executions_deleted"], &pruned["batches"]),
        (&json!(9_999), &json!(1))
    );
    assert_eq!(rows(&db, "executions"), 0);
}

#[test]
fn prune_on_a_missing_file_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.db");
    let err = failed(&jobtrack(&typo, &["prune", "--days", "1"]));
    assert!(err.contains(p(&typo)) && err.contains("58P01"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
