//! The `jobtrack` binary end to end, on a database file of its own: the
//! commands, exit statuses, options, and output to terminals and pipes.

mod cli_common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use cli_common::*;

#[test]
fn import_update_and_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let jobs = write(
        dir.path(),
        "jobs.jsonl",
        r#"{"job_id":"e1","pipeline_mode":"single","dataset_name":"mnist","preset":"fast","total_steps":10}
{"job_id":"v1","variation_id":"lr=0.1","experiment_name":"sweep","dataset_name":"mnist","preset":"fast","total_combinations":2}

{"job_id":"e2","pipeline_mode":"batch","dataset_name":"cifar","preset":"slow"}
"#,
    );
    let ids = json_of(&jobtrack(&db, &["--json", "import", p(&jobs)]));
    assert_eq!(ids, serde_json::json!(["e1", "v1", "e2"]), "file order");

    let updates = write(
        dir.path(),
        "updates.json",
        r#"[{"job_id":"e1","status":"training"},{"job_id":"v1","status":"failed","error_message":"oom"},
            {"job_id":"ghost","status":"done"},{"job_id":"e1","status":"completed"}]"#,
    );
    let n = json_of(&jobtrack(&db, &["--json", "update", p(&updates)]));
    assert_eq!(n, 2);

    let stats = json_of(&jobtrack(&db, &["--json", "stats"]));
    assert_eq!(stats["total_jobs"], 3);
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "verify"])),
        serde_json::json!({"statistics": [], "experiments": [], "summary": []})
    );
    assert_eq!(stats["executions_by_status"]["done"], 1);
    assert_eq!(stats["variations_by_status"]["failed"], 1);
    assert_eq!(stats["success_rate"], 50.0);

    let ds = json_of(&jobtrack(&db, &["--json", "dataset", "mnist"]));
    assert_eq!(
        (ds["total_jobs"].as_i64(), ds["failed_jobs"].as_i64()),
        (Some(2), Some(1))
    );

    let sweep = json_of(&jobtrack(&db, &["--json", "experiment", "sweep"]));
    assert_eq!(
        (
            sweep["declared_combinations"].as_i64(),
            sweep["total_variations"].as_i64(),
            sweep["finished_variations"].as_i64(),
            sweep["failed_variations"].as_i64(),
        ),
        (Some(2), Some(1), Some(1), Some(1))
    );
    assert_eq!(sweep["progress"], 50.0);
    assert_eq!(
        sweep["variations_by_status"],
        serde_json::json!({"failed": 1})
    );
    let table = stdout(&jobtrack(&db, &["experiment", "sweep"]));
    assert!(table.contains("50.0 %"), "{table}");
    assert!(table.contains("failed  1"), "{table}");

    let recent = json_of(&jobtrack(&db, &["--json", "recent", "-n", "2"]));
    assert_eq!(recent.as_array().unwrap().len(), 2);
    let running = json_of(&jobtrack(&db, &["--json", "running"]));
    assert_eq!(running[0]["job_id"], "e2");

    let table = jobtrack(&db, &["stats"]);
    assert!(stdout(&table).contains("success rate 50.0 %"), "{table:?}");

    let cleaned = json_of(&jobtrack(&db, &["--json", "cleanup", "--days", "0"]));
    assert_eq!(cleaned["executions_deleted"], 1);
    assert_eq!(cleaned["variations_deleted"], 1);
}

/// 0 when all is well, 1 for differences found, 2 for a usage error, 3 for
/// a failure — and `refresh` repairs what `verify` finds.
#[test]
fn exit_statuses_verify_and_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let out = jobtrack(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for line in [
        "the statistics counters match a full recount",
        "the experiment counters match a full recount",
    ] {
        assert!(
            stdout(&out).lines().any(|l| l == line),
            "{line}: {}",
            stdout(&out)
        );
    }

    let tamper = rusqlite::Connection::open(&db).unwrap();
    tamper
        .execute(
            "UPDATE job_counters SET jobs = jobs + 1 WHERE dataset_name = 'cifar'",
            [],
        )
        .unwrap();
    tamper
        .execute(
            "UPDATE experiment_counters SET failed = failed + 1 \
             WHERE (experiment_name, total_combinations, status) = \
                   (SELECT experiment_name, total_combinations, status \
                    FROM experiment_counters LIMIT 1)",
            [],
        )
        .unwrap();
    drop(tamper);
    let out = jobtrack(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "differences found: {out:?}");
    assert!(stderr(&out).contains("differ"), "{}", stderr(&out));
    // Both counter checks report, each with its table.
    for line in [
        "the statistics counters differ from a full recount:",
        "(jobs/successful/failed/durations/microseconds)",
        "the experiment counters differ from a full recount:",
        "(variations/successful/failed/durations/microseconds)",
        "the summary table matches the base tables",
    ] {
        assert!(
            stdout(&out).lines().any(|l| l == line),
            "{line}: {}",
            stdout(&out)
        );
    }
    assert!(
        stdout(&out).contains("jobtrack refresh"),
        "{}",
        stdout(&out)
    );
    let diffs = jobtrack(&db, &["--json", "verify"]);
    assert_eq!(diffs.status.code(), Some(1));
    let diffs: serde_json::Value = serde_json::from_slice(&diffs.stdout).unwrap();
    assert_eq!(diffs["statistics"].as_array().unwrap().len(), 1, "{diffs}");
    let experiments = diffs["experiments"].as_array().unwrap();
    assert_eq!(experiments.len(), 1, "{diffs}");
    assert_eq!(
        experiments[0]["counted_failed"].as_i64().unwrap(),
        experiments[0]["actual_failed"].as_i64().unwrap() + 1,
        "{diffs}"
    );
    assert_eq!(diffs["summary"], serde_json::json!([]), "{diffs}");

    // The API's result: the summary table's row count.
    let refreshed = json_of(&jobtrack(&db, &["--json", "refresh"]));
    assert_eq!(refreshed, 40);
    let out = jobtrack(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = jobtrack(&db, &["refresh"]);
    assert!(stdout(&out).contains("40"), "{}", stdout(&out));

    // Usage errors are clap's: status 2.
    for args in [
        &["frobnicate"][..],
        &["recent", "-n", "many"],
        &["--busy-timeout", "soon", "stats"],
        &["--synchronous", "sometimes", "stats"],
    ] {
        let out = jobtrack(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    // A failure: status 3, with a SQLSTATE.
    let err = failed(&jobtrack(&db, &["recent", "-n", "20000"]));
    assert!(err.contains("\"lim\"") && err.contains("22023"), "{err}");

    let help = bin().arg("--help").output().unwrap();
    let help = stdout(&help);
    for documented in ["Exit status", "0 ", "1 ", "2 ", "3 "] {
        assert!(help.contains(documented), "{documented:?} in {help}");
    }
}

/// `verify` compares the summary table with the base tables too, and
/// `refresh` repairs it.
#[test]
fn verify_sees_summary_damage() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let tamper = rusqlite::Connection::open(&db).unwrap();
    tamper
        .execute_batch("UPDATE job_summary_cache SET status = 'failed' WHERE job_id = 'seed-e15';")
        .unwrap();
    drop(tamper);
    let out = jobtrack(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout(&out).contains("seed-e15"), "{}", stdout(&out));
    json_of(&jobtrack(&db, &["--json", "refresh"]));
    let out = jobtrack(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Commands that read (and those that only change existing jobs) refuse a
/// missing file and create nothing: a typo in `--db` must not show zeros.
#[test]
fn commands_on_a_missing_file_fail_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.db");
    let updates = write(dir.path(), "u.jsonl", r#"{"job_id":"a","status":"done"}"#);
    for args in [
        &["stats"][..],
        &["dataset", "mnist"],
        &["experiment", "sweep"],
        &["recent"],
        &["running"],
        &["verify"],
        &["refresh"],
        &["cleanup", "--days", "1"],
        &["update", p(&updates)],
        &["--json", "stats"],
    ] {
        let err = failed(&jobtrack(&typo, args));
        assert!(err.contains(p(&typo)), "{args:?}: {err}");
        assert!(err.contains("58P01"), "{args:?}: {err}");
        let created: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("typo"))
            .collect();
        assert!(created.is_empty(), "{args:?} created {created:?}");
    }
    // import creates the file.
    let jobs = write(dir.path(), "j.jsonl", exec_line("a"));
    json_of(&jobtrack(&typo, &["--json", "import", p(&jobs)]));
    assert_eq!(
        json_of(&jobtrack(&typo, &["--json", "stats"]))["total_jobs"],
        1
    );
}

/// Readers never wait for a writer: another process holds the write lock
/// (BEGIN IMMEDIATE, with an uncommitted insert) while every read command
/// succeeds at once; a writer gets 55P03 after its busy timeout, or waits
/// for the lock with a long one.
#[test]
fn reads_work_while_another_process_writes_and_writers_wait_their_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    holder
        .execute(
            "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset) \
             VALUES ('uncommitted', 'single', 'mnist', 'fast')",
            [],
        )
        .unwrap();
    for args in [
        &["--busy-timeout", "0", "stats"][..],
        &["--busy-timeout", "0", "verify"],
        &["--busy-timeout", "0", "recent"],
        &["--busy-timeout", "0", "running"],
        &["--busy-timeout", "0", "dataset", "mnist"],
    ] {
        let out = jobtrack(&db, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
    let stats = json_of(&jobtrack(&db, &["--json", "stats"]));
    assert_eq!(
        stats["total_jobs"], 40,
        "the uncommitted insert is not seen"
    );

    let jobs = write(dir.path(), "j.jsonl", exec_line("late"));
    let err = failed(&jobtrack(
        &db,
        &["--busy-timeout", "100ms", "import", p(&jobs)],
    ));
    assert!(err.contains("55P03"), "{err}");

    // A patient writer: the lock is released while it waits.
    let child = bin()
        .arg("--db")
        .arg(&db)
        .args(["--busy-timeout", "10min", "--json", "import", p(&jobs)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    holder.execute_batch("COMMIT").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(json_of(&out), serde_json::json!(["late"]));
    assert_eq!(
        json_of(&jobtrack(&db, &["--json", "stats"]))["total_jobs"],
        42
    );
}

#[test]
fn durability_option() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("full.db");
    let jobs = write(dir.path(), "j.jsonl", exec_line("a"));
    for mode in ["full", "normal", "FULL"] {
        let out = jobtrack(&db, &["--synchronous", mode, "--json", "stats"]);
        // The file does not exist before the import: only an option error
        // would be status 2.
        assert_ne!(out.status.code(), Some(2), "{mode}: {}", stderr(&out));
    }
    json_of(&jobtrack(
        &db,
        &["--synchronous", "full", "--json", "import", p(&jobs)],
    ));
    let stats = json_of(&jobtrack(
        &db,
        &["--synchronous", "full", "--json", "stats"],
    ));
    assert_eq!(stats["total_jobs"], 1);
}

#[test]
fn busy_timeout_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    for ok in ["0", "250", "250ms", "2s", "1.5s", "3m", "1h", "10 s"] {
        let out = jobtrack(&db, &["--busy-timeout", ok, "stats"]);
        assert_eq!(out.status.code(), Some(0), "{ok}: {}", stderr(&out));
    }
    for bad in ["", "-1", "5x", "s", "1e3", "99999999999h"] {
        let out = jobtrack(&db, &[&format!("--busy-timeout={bad}"), "stats"]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("busy-timeout"), "{}", stderr(&out));
    }
}

/// A cell as long as a whole error message is cut with an ellipsis, and a
/// control character cannot break the table's lines.
#[test]
fn tables_truncate_long_cells() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let long = "x".repeat(70_000);
    let update = serde_json::json!([
        {"job_id": "seed-e3", "status": "failed", "error_message": long},
        {"job_id": "seed-e4", "status": "failed", "error_message": "line one\nline two\ttab"},
    ]);
    let updates = write(dir.path(), "u.json", update.to_string());
    json_of(&jobtrack(&db, &["--json", "update", p(&updates)]));
    let out = jobtrack(&db, &["recent", "-n", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("xxx…"), "{text}");
    assert!(text.contains("line one\\nline two\\ttab"), "{text}");
    assert_eq!(text.lines().count(), 5, "headers, rule, 3 rows: {text}");
    for line in text.lines() {
        assert!(line.chars().count() < 300, "{line}");
    }
    // JSON has the whole message.
    let recent = json_of(&jobtrack(&db, &["--json", "recent", "-n", "3"]));
    let full = recent
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_id"] == "seed-e3")
        .unwrap();
    assert_eq!(full["error_message"].as_str().unwrap().len(), 70_000);
}

/// Columns line up by the width a terminal shows, not by characters: a CJK
/// character takes two columns.
#[test]
fn tables_align_wide_characters() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wide.db");
    let jobs = write(
        dir.path(),
        "j.jsonl",
        r#"{"job_id":"e1","pipeline_mode":"single","dataset_name":"数据集","preset":"fast"}
{"job_id":"e2","pipeline_mode":"single","dataset_name":"mnist","preset":"fast"}"#,
    );
    json_of(&jobtrack(&db, &["--json", "import", p(&jobs)]));
    let out = jobtrack(&db, &["recent"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("job_id  type       status   dataset  mode "),
        "{text}"
    );
    let row = |id: &str| *lines.iter().find(|l| l.starts_with(id)).expect(id);
    assert!(
        row("e1 ").starts_with("e1      execution  pending  数据集   single  "),
        "{text}"
    );
    assert!(
        row("e2 ").starts_with("e2      execution  pending  mnist    single  "),
        "{text}"
    );
}

/// `jobtrack recent | head -1`: the reader goes away, jobtrack stops
/// quietly (status 0, or 141 = killed by SIGPIPE, as other Unix tools).
#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("many.db");
    let lines: Vec<String> = (0..10_000)
        .map(|i| exec_line(&format!("job-{i:05}")))
        .collect();
    let jobs = write(dir.path(), "j.jsonl", lines.join("\n"));
    json_of(&jobtrack(&db, &["--json", "import", p(&jobs)]));
    for args in [
        &["recent", "-n", "10000"][..],
        &["--json", "recent", "-n", "10000"],
        &["running"],
    ] {
        let mut child = bin()
            .arg("--db")
            .arg(&db)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        // The reader is gone: the pipe is closed.
        let out = child.wait_with_output().unwrap();
        let quiet = out.status.code() == Some(0) || out.status.signal() == Some(13);
        assert!(quiet, "{args:?}: {:?}", out.status);
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

/// No progress bar when stderr is not a terminal: a successful import
/// prints nothing there.
#[test]
fn no_progress_output_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quiet.db");
    let lines: Vec<String> = (0..3000).map(|i| exec_line(&format!("q{i}"))).collect();
    let jobs = write(dir.path(), "j.jsonl", lines.join("\n"));
    let out = jobtrack(&db, &["import", p(&jobs)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert_eq!(stdout(&out), "created 3000 executions and 0 variations\n");
}

#[test]
fn demo_runs_small() {
    let dir = tempfile::tempdir().unwrap();
    let demo = |name: &str| {
        let db = dir.path().join(name);
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
        assert!(out.status.success(), "{}", stderr(&out));
        (db, stdout(&out))
    };
    let (db, text) = demo("demo.db");
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
    let out = jobtrack(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A fixed seed: a second run makes the same pipeline. Only what the
    // clock decides differs (timestamps, durations, timings).
    let (_, again) = demo("again.db");
    assert_eq!(demo_figures(&text), demo_figures(&again));
    assert!(
        demo_figures(&text).iter().any(|l| l.starts_with("done ")),
        "{text}"
    );
}

/// `--db` takes a path, a sqlite:// URL or a postgres:// URL; any other
/// scheme is a usage error naming the option, and so are the SQLite-only
/// options with a PostgreSQL database (refused before connecting: no
/// server needed).
#[test]
fn database_urls_and_sqlite_only_options() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let url = format!("sqlite://{}", p(&db));
    assert!(url.starts_with("sqlite:///"), "{url}");
    assert_eq!(
        json_of(&jobtrack_on(&url, &["--json", "stats"])),
        json_of(&jobtrack(&db, &["--json", "stats"]))
    );
    let jobs = write(dir.path(), "j.jsonl", exec_line("by-url"));
    let fresh = format!("sqlite://{}", p(&dir.path().join("fresh.db")));
    json_of(&jobtrack_on(&fresh, &["--json", "import", p(&jobs)]));
    assert!(dir.path().join("fresh.db").exists());
    let err = failed(&jobtrack_on(
        format!("sqlite://{}", p(&dir.path().join("typo.db"))),
        &["stats"],
    ));
    assert!(
        err.contains("typo.db does not exist") && err.contains("58P01"),
        "{err}"
    );

    for bad in ["mysql://h/jobs", "sqlite://", "file:///x.db"] {
        let out = jobtrack_on(bad, &["stats"]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("--db"), "{bad}: {}", stderr(&out));
    }
    // Nothing listens on port 1: these would fail to connect, but are
    // refused first.
    let pg = "postgres://nobody:secret@127.0.0.1:1/jobs";
    for args in [
        &["--busy-timeout", "1s", "stats"][..],
        &["stats", "--busy-timeout=0"],
        &["--synchronous", "full", "import", p(&jobs)],
        &["verify", "--synchronous", "normal"],
    ] {
        let out = jobtrack_on(pg, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("SQLite files only"), "{args:?}: {err}");
        assert!(!err.contains("secret"), "{err}");
    }
}

/// `jobs` and `running` in pages: walking with `-n 7 --after <last id>`
/// yields every job once, in the order of one big page; an unknown cursor
/// fails naming `after`.
#[test]
fn pages_of_jobs_and_running_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    for (command, total) in [("jobs", 40), ("running", 30)] {
        let all = json_of(&jobtrack(&db, &["--json", command, "-n", "1000"]));
        let all: Vec<String> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["job_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(all.len(), total, "{command}");
        let mut walked: Vec<String> = Vec::new();
        loop {
            let mut args = vec!["--json", command, "-n", "7"];
            let last = walked.last().cloned();
            if let Some(last) = &last {
                args.extend(["--after", last.as_str()]);
            }
            let page = json_of(&jobtrack(&db, &args));
            let page = page.as_array().unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 7);
            walked.extend(
                page.iter()
                    .map(|j| j["job_id"].as_str().unwrap().to_owned()),
            );
        }
        assert_eq!(walked, all, "{command}: the pages, one after another");
        let err = failed(&jobtrack(&db, &[command, "--after", "no-such-job"]));
        assert!(err.contains("after") && err.contains("22023"), "{err}");
    }
}
