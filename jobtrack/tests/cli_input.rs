//! Input files of `import` and `update`: the formats accepted, and errors
//! that name the line and the element, each with a SQLSTATE.

mod cli_common;

use cli_common::*;

fn import_fails(contents: &str, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("in.db");
    let file = write(dir.path(), name, contents);
    let err = failed(&jobtrack(&db, &["import", p(&file)]));
    assert!(err.contains("nothing was written"), "{err}");
    // Nothing was created either: the file did not exist before.
    assert!(!db.exists() || rows(&db, "job_summary_cache") == 0);
    // The message starts with the file and line, as compilers do.
    err.replace(p(&file), "FILE")
}

/// Validation errors and syntax errors name the line (1-based, blank lines
/// counted) and the element (0-based, as the API's batch errors), in the
/// same words, each with its SQLSTATE.
#[test]
fn errors_name_line_and_element() {
    let ok = exec_line("a");
    let bad_mode = r#"{"job_id":"b","pipeline_mode":"sweep","dataset_name":"d","preset":"p"}"#;

    let err = import_fails(&format!("{ok}\n\n{ok}x\n"), "syntax.jsonl");
    assert!(err.starts_with("jobtrack: FILE:3: element 1 "), "{err}");
    assert!(err.contains("is not valid JSON"), "{err}");
    assert!(err.contains("(SQLSTATE 22P02)"), "{err}");

    let err = import_fails(&format!("\n{}\n\n{bad_mode}\n", exec_line("x")), "v.jsonl");
    assert!(
        err.starts_with(
            "jobtrack: FILE:4: element 1: field \"pipeline_mode\" has unknown value \"sweep\""
        ),
        "{err}"
    );
    assert!(err.contains("(SQLSTATE 22023)"), "{err}");

    // An array over several lines: the line where the element starts.
    let array = format!("[\n  {ok},\n\n  {bad_mode}\n]\n");
    let err = import_fails(&array, "v.json");
    assert!(
        err.starts_with("jobtrack: FILE:4: element 1: field \"pipeline_mode\""),
        "{err}"
    );
    // ... and for a syntax error, the line of the error.
    let array = format!("[\n  {ok},\n  {{\"job_id\": \"c\",\n    \"preset\" \"p\"}}\n]");
    let err = import_fails(&array, "s.json");
    assert!(
        err.starts_with("jobtrack: FILE:4: element 1 is not valid JSON"),
        "{err}"
    );
    assert!(err.contains("22P02"), "{err}");
    let err = import_fails(&format!("[{ok} {ok}]"), "comma.json");
    assert!(
        err.starts_with("jobtrack: FILE:1: element 1 is not valid JSON"),
        "{err}"
    );
    assert!(err.contains("expected `,` or `]`"), "{err}");
    let err = import_fails(&format!("[{ok}]\n[{ok}]"), "two.json");
    assert!(err.starts_with("jobtrack: FILE:2: "), "{err}");
    assert!(err.contains("22P02"), "{err}");
    let err = import_fails(&format!("[{ok},\n"), "open.json");
    assert!(err.contains("22P02") && err.contains("FILE:2:"), "{err}");
    let err = import_fails(
        &format!("{ok}\n{{\"job_id\": \"unterminated\n"),
        "eof.jsonl",
    );
    assert!(err.starts_with("jobtrack: FILE:"), "{err}");
    assert!(
        err.contains("element 1 is not valid JSON") && err.contains("22P02"),
        "{err}"
    );
    let err = import_fails("[1, 2]", "nums.json");
    assert!(
        err.starts_with("jobtrack: FILE:1: element 0 must be a JSON object, got number"),
        "{err}"
    );
    assert!(err.contains("22023"), "{err}");
    let err = import_fails("\"job\"\n", "str.jsonl");
    assert!(
        err.contains("element 0 must be a JSON object, got string"),
        "{err}"
    );
    let err = import_fails(&format!("{ok} ]"), "stray.jsonl");
    assert!(
        err.contains("FILE:1: element 1 is not valid JSON") && err.contains("22P02"),
        "{err}"
    );
    // Deeper than the parser takes: 22023 naming the field, as the API.
    let deep = format!(
        "{{\"job_id\":\"v\",\"variation_id\":\"x\",\"experiment_name\":\"e\",\"dataset_name\":\"d\",\
         \"preset\":\"p\",\"total_combinations\":1,\"parameter_values\":{{\"k\":{}1{}}}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let err = import_fails(&deep, "deep.jsonl");
    assert!(
        err.starts_with("jobtrack: FILE:1: element 0: field \"parameter_values\""),
        "{err}"
    );
    assert!(err.contains("22023"), "{err}");
}

#[test]
fn not_utf8_and_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("in.db");
    let file = write(dir.path(), "latin1.jsonl", b"{\"job_id\":\"caf\xe9\"}\n");
    let err = failed(&jobtrack(&db, &["import", p(&file)]));
    assert!(
        err.contains(":1: element 0 is not valid JSON") && err.contains("22P02"),
        "{err}"
    );
    let utf16 = write(dir.path(), "utf16.json", b"\xff\xfe[\x00]\x00");
    let err = failed(&jobtrack(&db, &["import", p(&utf16)]));
    assert!(err.contains("UTF-16") && err.contains("22P02"), "{err}");
    let missing = dir.path().join("missing.jsonl");
    let err = failed(&jobtrack(&db, &["import", p(&missing)]));
    assert!(err.contains(p(&missing)) && err.contains("58P01"), "{err}");
    let err = failed(&jobtrack(&db, &["import", p(dir.path())]));
    assert!(err.contains("SQLSTATE"), "{err}");
}

/// A UTF-8 byte order mark, a single pretty-printed object, JSON lines
/// with CRLF, an empty file.
#[test]
fn formats_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("formats.db");
    let bom = write(
        dir.path(),
        "bom.jsonl",
        format!("\u{FEFF}{}\r\n{}\r\n", exec_line("bom1"), var_line("bom2")),
    );
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "import", p(&bom)])),
        serde_json::json!(["bom1", "bom2"])
    );
    let bom_array = write(
        dir.path(),
        "bom.json",
        format!("\u{FEFF}[{}]", exec_line("bom3")),
    );
    json_of(&jobtrack(&db, &["--json", "import", p(&bom_array)]));
    let pretty = serde_json::to_string_pretty(&serde_json::json!({
        "job_id": "pretty", "variation_id": "v", "experiment_name": "e",
        "dataset_name": "d", "preset": "p", "total_combinations": 2,
        "parameter_values": {"lr": 0.5, "layers": [1, 2]}
    }))
    .unwrap();
    assert!(pretty.lines().count() > 5);
    let pretty = write(dir.path(), "pretty.json", pretty);
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "import", p(&pretty)])),
        serde_json::json!(["pretty"])
    );
    let empty = write(dir.path(), "empty.jsonl", "\n  \n");
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "import", p(&empty)])),
        serde_json::json!([])
    );
    let empty = write(dir.path(), "empty.json", " [ ] ");
    json_of(&jobtrack(&db, &["--json", "import", p(&empty)]));
    let stats = json_of(&jobtrack(&db, &["--json", "stats"]));
    assert_eq!(stats["total_executions"], 2);
    assert_eq!(stats["total_variations"], 2);
    // Numbers in parameters are kept as written.
    let recent = json_of(&jobtrack(&db, &["--json", "recent", "-n", "1"]));
    assert_eq!(recent[0]["job_id"], "pretty");

    // Updates accept the same formats.
    let upd = write(
        dir.path(),
        "u.json",
        "\u{FEFF}{\n  \"job_id\": \"pretty\",\n  \"status\": \"done\"\n}\n",
    );
    assert_eq!(json_of(&jobtrack(&db, &["--json", "update", p(&upd)])), 1);
}

/// Ids come back in the order of the file, kinds mixed.
#[test]
fn import_json_lists_ids_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("order.db");
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for i in 0..25_000 {
        let id = format!("job-{i}");
        lines.push(if i % 3 == 0 {
            var_line(&id)
        } else {
            exec_line(&id)
        });
        expected.push(id);
    }
    let file = write(dir.path(), "mixed.jsonl", lines.join("\n"));
    let ids = json_of(&jobtrack(&db, &["--json", "import", p(&file)]));
    let ids: Vec<String> = serde_json::from_value(ids).unwrap();
    let first_difference = ids.iter().zip(&expected).position(|(a, b)| a != b);
    assert_eq!(first_difference, None);
    assert_eq!(ids.len(), expected.len());
    let out = jobtrack(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A job_id twice in one file: the error names the second element, its
/// line and the id, and the first one.
#[test]
fn a_duplicate_inside_the_file_names_both_places() {
    let lines = [
        exec_line("a"),
        exec_line("b"),
        String::new(),
        var_line("c"),
        exec_line("b"),
    ];
    let err = import_fails(&lines.join("\n"), "dup.jsonl");
    assert!(
        err.starts_with(
            "jobtrack: FILE:5: element 3: job_id \"b\" is already at line 2 (element 1)"
        ),
        "{err}"
    );
    assert!(err.contains("(SQLSTATE 23505)"), "{err}");
    // Across kinds, far apart (beyond one write chunk).
    let mut lines: Vec<String> = (0..30_000).map(|i| exec_line(&format!("e{i}"))).collect();
    lines.push(var_line("e7"));
    let err = import_fails(&lines.join("\n"), "far.jsonl");
    assert!(
        err.starts_with(
            "jobtrack: FILE:30001: element 30000: job_id \"e7\" is already at line 8 (element 7)"
        ),
        "{err}"
    );
}

/// An `update` file is one batch call: for an id given twice the later
/// element wins, over any distance, exactly as `batch_update_*_status` with
/// the whole file.
#[test]
fn update_file_equals_one_batch() {
    use jobtrack_sqlite::{JobStore, Status, StatusUpdate};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("u.db");
    let n = 12_000;
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let id = format!("j{i}");
            if i % 2 == 0 {
                exec_line(&id)
            } else {
                var_line(&id)
            }
        })
        .collect();
    let jobs = write(dir.path(), "jobs.jsonl", lines.join("\n"));
    json_of(&jobtrack(&db, &["--json", "import", p(&jobs)]));

    let mut updates = Vec::new();
    for i in 0..n {
        updates.push(StatusUpdate {
            job_id: format!("j{i}"),
            status: Status::Training,
            error_message: None,
        });
    }
    for i in (0..n).step_by(7) {
        updates.push(StatusUpdate {
            job_id: format!("j{i}"),
            status: Status::Failed,
            error_message: Some(format!("late {i}")),
        });
    }
    updates.push(StatusUpdate {
        job_id: "ghost".into(),
        status: Status::Done,
        error_message: None,
    });
    let file = write(
        dir.path(),
        "updates.json",
        serde_json::to_string_pretty(&updates).unwrap(),
    );
    let changed = json_of(&jobtrack(&db, &["--json", "update", p(&file)]));

    // The same through the library, in one call per kind.
    let reference = dir.path().join("ref.db");
    json_of(&jobtrack(&reference, &["--json", "import", p(&jobs)]));
    let store = JobStore::open(&reference).unwrap();
    let expected = store.batch_update_execution_status(&updates).unwrap()
        + store.batch_update_variation_status(&updates).unwrap();
    drop(store);
    assert_eq!(changed, expected);
    assert_eq!(changed, n);
    let shape = |db: &std::path::Path| {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT job_id, status, start_time IS NULL, end_time IS NULL, error_message \
                 FROM executions UNION ALL \
                 SELECT job_id, status, start_time IS NULL, end_time IS NULL, error_message \
                 FROM variations ORDER BY job_id",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(format!(
                "{:?}",
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, Option<String>>(4)?
                )
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
    };
    let (got, want) = (shape(&db), shape(&reference));
    assert_eq!(got.len(), n as usize);
    assert_eq!(got, want);

    // A bad update element: its line and element, nothing applied.
    let before = snapshot(&db);
    let bad = write(
        dir.path(),
        "bad.jsonl",
        "{\"job_id\":\"j1\",\"status\":\"done\"}\n{\"job_id\":\"j2\",\"status\":\"finished\"}\n",
    );
    let err = failed(&jobtrack(&db, &["update", p(&bad)]));
    assert!(
        err.contains("bad.jsonl:2: element 1: field \"status\""),
        "{err}"
    );
    assert!(
        err.contains("22023") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(snapshot(&db), before);
}
