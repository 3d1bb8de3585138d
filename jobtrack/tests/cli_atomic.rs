//! Every CLI command is one transaction: a file with both kinds is imported
//! or updated entirely or not at all.

mod cli_common;

use cli_common::*;

/// A variation whose job_id is an execution earlier in the same file.
#[test]
fn cross_kind_duplicate_in_the_file_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let before = snapshot(&db);
    let lines = [
        exec_line("new-e1"),
        exec_line("new-e2"),
        var_line("new-v1"),
        var_line("new-e2"),
    ];
    let file = write(dir.path(), "mixed.jsonl", lines.join("\n"));
    let out = jobtrack(&db, &["import", p(&file)]);
    assert_eq!(snapshot(&db), before);
    let err = failed(&out);
    assert!(
        err.contains("mixed.jsonl:4: element 3: job_id \"new-e2\""),
        "{err}"
    );
    assert!(
        err.contains("23505") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(snapshot(&db), before);
}

/// A variation (late in the file, after many executions) whose job_id is an
/// existing execution: the executions before it are not committed.
#[test]
fn duplicate_of_an_existing_job_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let before = snapshot(&db);
    let mut lines: Vec<String> = (0..15_000)
        .map(|i| {
            let id = format!("n{i}");
            if i % 4 == 0 {
                var_line(&id)
            } else {
                exec_line(&id)
            }
        })
        .collect();
    lines.push(var_line("seed-e3"));
    lines.push(exec_line("after"));
    let file = write(dir.path(), "mixed.jsonl", lines.join("\n"));
    let out = jobtrack(&db, &["import", p(&file)]);
    assert_eq!(snapshot(&db), before);
    let err = failed(&out);
    assert!(
        err.contains("mixed.jsonl:15001: element 15000: job_id \"seed-e3\" already exists"),
        "{err}"
    );
    assert!(err.contains("(SQLSTATE 23505)"), "{err}");
    assert_eq!(snapshot(&db), before);
    let out = jobtrack(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// An update file whose variation part fails (here a trigger another
/// program installed refuses one of its rows): the executions' updates are
/// rolled back with it.
#[test]
fn update_failing_on_a_variation_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let other = rusqlite::Connection::open(&db).unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER refuse_v7 BEFORE UPDATE OF status ON variations \
             WHEN NEW.job_id = 'seed-v7' BEGIN SELECT RAISE(ABORT, 'seed-v7 is frozen'); END;",
        )
        .unwrap();
    drop(other);
    let before = snapshot(&db);
    let updates: Vec<String> = (0..20)
        .flat_map(|i| {
            [
                serde_json::json!({"job_id": format!("seed-e{i}"), "status": "failed"}),
                serde_json::json!({"job_id": format!("seed-v{i}"), "status": "training"}),
            ]
        })
        .map(|v| v.to_string())
        .collect();
    let file = write(dir.path(), "u.jsonl", updates.join("\n"));
    let out = jobtrack(&db, &["update", p(&file)]);
    assert_eq!(snapshot(&db), before);
    let err = failed(&out);
    assert!(err.contains("seed-v7 is frozen"), "{err}");
    assert!(
        err.contains("SQLSTATE") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(snapshot(&db), before);
}

/// The same for an import: the database refuses the last variation, after
/// executions and variations of the same file were written.
#[test]
fn import_failing_on_a_variation_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let other = rusqlite::Connection::open(&db).unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER refuse_x BEFORE INSERT ON variations \
             WHEN NEW.job_id = 'x-v' BEGIN SELECT RAISE(ABORT, 'no x-v here'); END;",
        )
        .unwrap();
    drop(other);
    let before = snapshot(&db);
    let lines = [
        exec_line("x-e1"),
        var_line("x-v1"),
        exec_line("x-e2"),
        var_line("x-v"),
    ];
    let file = write(dir.path(), "x.jsonl", lines.join("\n"));
    let out = jobtrack(&db, &["import", p(&file)]);
    assert_eq!(snapshot(&db), before);
    let err = failed(&out);
    assert!(
        err.contains("no x-v here") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(snapshot(&db), before);
}
