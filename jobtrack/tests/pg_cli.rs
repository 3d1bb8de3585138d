//! The `jobtrack` binary on PostgreSQL (`--db postgres://…`), against the
//! server of `JOBTRACK_PG_URL` (`make pg-test` runs this file inside
//! tests/pg_regress/with-cluster.sh; `cargo test -p jobtrack` leaves it
//! out): the same files give the same output as on a SQLite file, and a
//! server restart during `demo` costs the run nothing. Without the server
//! these tests fail; they never skip.

mod cli_common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};

use cli_common::*;
use serde_json::{json, Value};

/// Held by every test of this file: the restart takes the server away from
/// everyone using it.
static SERVER: Mutex<()> = Mutex::new(());

fn server() -> MutexGuard<'static, ()> {
    SERVER.lock().unwrap_or_else(|p| p.into_inner())
}

/// `%`-encodes what a URL's query value may not hold as it is.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `postgresql://` URL of a libpq connection string such as
/// [`jobtrack_tests::fresh_database`] returns (`host=/tmp/… port=… user=…
/// dbname=…`): what a user gives `--db`.
fn url_of(conninfo: &str) -> String {
    let config: postgres::Config = conninfo.parse().expect("a connection string");
    let host = match &config.get_hosts()[0] {
        postgres::config::Host::Unix(dir) => dir.to_str().expect("a UTF-8 socket dir").to_owned(),
        postgres::config::Host::Tcp(host) => host.clone(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgresql://{}@/{}?host={}&port={port}",
        config.get_user().expect("a user"),
        config.get_dbname().expect("a database"),
        encode(&host),
    )
}

/// A fresh database with the extension, as a `postgresql://` URL.
fn fresh(name: &str) -> String {
    url_of(&jobtrack_tests::fresh_database(name))
}

/// The `--json` output of a successful command, normalised as the
/// conformance suite compares the backends: clock values as "set or not",
/// numbers as floats.
fn normalized(out: &std::process::Output) -> Value {
    let mut value = json_of(out);
    jobtrack_core::conformance::normalize(&mut value);
    value
}

/// A file of jobs of both kinds over three datasets, and updates that move
/// them through every kind of status, with messages, unknown ids and ids
/// given twice (the later wins).
fn files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let datasets = ["mnist", "cifar-10", "imagenet-1k"];
    let modes = ["single", "batch", "variations"];
    let presets = ["fast", "quality"];
    let mut jobs = Vec::new();
    for i in 0..120 {
        let dataset = datasets[i % 3];
        let line = if i % 4 == 3 {
            json!({
                "job_id": format!("v{i:03}"), "variation_id": format!("lr={}", i % 5),
                "experiment_name": format!("sweep-{}", i % 2), "dataset_name": dataset,
                "preset": "fast", "total_combinations": 5, "total_steps": 100 * (i % 7 + 1),
                "varied_parameters": {"lr": [0.1, 0.2, 0.3]}, "parameter_values": {"lr": 0.1},
                "parent_experiment_id": format!("sweep-{}", i % 2)
            })
        } else {
            json!({
                "job_id": format!("e{i:03}"),
                "pipeline_mode": modes[i % 3],
                "dataset_name": dataset, "preset": presets[i % 2],
                "total_steps": 1000
            })
        };
        jobs.push(line.to_string());
    }
    let id = |i: usize| {
        if i % 4 == 3 {
            format!("v{i:03}")
        } else {
            format!("e{i:03}")
        }
    };
    let mut updates = Vec::new();
    for i in 0..120 {
        let status = match i % 6 {
            0 => "training",
            1 => "in_queue",
            2 => "preparing_dataset",
            _ => "training",
        };
        updates.push(json!({"job_id": id(i), "status": status}));
    }
    for i in (0..120).filter(|i| i % 6 >= 3) {
        let (status, message) = match i % 5 {
            0 => ("failed", Some("CUDA out of memory")),
            1 => ("cancelled", None),
            _ => ("done", None),
        };
        updates.push(json!({"job_id": id(i), "status": status, "error_message": message}));
    }
    updates.push(json!({"job_id": "ghost", "status": "done"}));
    let jobs = write(dir, "jobs.jsonl", jobs.join("\n"));
    let updates = write(
        dir,
        "updates.jsonl",
        updates
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    (jobs, updates)
}

#[test]
fn pg_cli_gives_the_output_of_sqlite_for_the_same_files() {
    let _server = server();
    let pg = fresh("jobtrack_cli_same");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("same.db");
    let lite = file.to_str().unwrap().to_owned();
    let (jobs, updates) = files(dir.path());
    let both = |args: &[&str]| (jobtrack_on(&lite, args), jobtrack_on(&pg, args));

    let (a, b) = both(&["--json", "import", p(&jobs)]);
    let ids = json_of(&a);
    assert_eq!(ids.as_array().unwrap().len(), 120);
    assert_eq!(json_of(&b), ids, "the ids in file order");
    let (a, b) = both(&["--json", "update", p(&updates)]);
    assert_eq!(json_of(&a), 120);
    assert_eq!(json_of(&b), 120);

    for args in [
        &["--json", "stats"][..],
        &["--json", "dataset", "mnist"],
        &["--json", "dataset", "cifar-10"],
        &["--json", "dataset", "no-such-dataset"],
        &["--json", "recent"],
        &["--json", "recent", "-n", "200"],
        &["--json", "running"],
        &["--json", "cleanup", "--days", "1"],
        &["--json", "prune", "--days", "1"],
    ] {
        let (a, b) = both(args);
        assert_eq!(normalized(&a), normalized(&b), "{args:?}");
    }
    let running = json_of(&jobtrack_on(&pg, &["--json", "running"]));
    assert!(running.as_array().unwrap().len() > 20, "{running}");
    let stats = json_of(&jobtrack_on(&pg, &["--json", "stats"]));
    assert!(stats["total_failed"].as_i64().unwrap() > 0, "{stats}");

    // Tables: byte for byte, where no clock value shows.
    let (a, b) = both(&["running"]);
    assert_eq!(stdout(&a), stdout(&b));
    let (a, b) = both(&["stats"]);
    let unclocked = |out: &std::process::Output| -> Vec<String> {
        stdout(out)
            .lines()
            .filter(|l| !l.starts_with("avg duration"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(unclocked(&a), unclocked(&b));

    // Failures: the same message and status. An import whose element 2
    // exists already writes nothing on either.
    let again = write(
        dir.path(),
        "again.jsonl",
        [exec_line("new-1"), exec_line("new-2"), exec_line("e000")].join("\n"),
    );
    for args in [
        &["import", p(&again)][..],
        &["recent", "-n", "20000"],
        &["cleanup", "--days=-1"],
        &["prune", "--days=-1"],
        &["prune", "--days", "1", "--batch-size", "0"],
    ] {
        let (a, b) = both(args);
        assert_eq!(failed(&a), failed(&b), "{args:?}");
    }
    let (a, b) = both(&["--json", "stats"]);
    assert_eq!(normalized(&a), normalized(&b));
    assert_eq!(json_of(&b)["total_jobs"], json_of(&a)["total_jobs"]);

    // prune: every terminal job, 7 a batch, the same batches on both, the
    // same jobs left, and the same text.
    let (a, b) = both(&["--json", "prune", "--days", "0", "--batch-size", "7"]);
    assert_eq!(normalized(&a), normalized(&b));
    assert!(
        json_of(&b)["batches"].as_i64().unwrap() > 2,
        "{}",
        stdout(&b)
    );
    let (a, b) = both(&["--json", "stats"]);
    assert_eq!(normalized(&a), normalized(&b));
    let (a, b) = both(&["prune", "--days", "0"]);
    assert_eq!(stdout(&a), stdout(&b));
    assert!(stdout(&b).ends_with(" in 1 batch\n"), "{}", stdout(&b));

    // verify: the counters on both; the summary check is SQLite's only.
    let (a, b) = both(&["--json", "verify"]);
    assert_eq!(
        json_of(&a),
        json!({"statistics": [], "experiments": [], "summary": []})
    );
    assert_eq!(
        json_of(&b),
        json!({"statistics": [], "experiments": [], "summary": null})
    );
    let table = jobtrack_on(&pg, &["verify"]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    assert!(
        stdout(&table).contains("not checked on PostgreSQL"),
        "{}",
        stdout(&table)
    );
    let (a, b) = both(&["--json", "refresh"]);
    assert_eq!(json_of(&a), json_of(&b));
    jobtrack_tests::drop_database("jobtrack_cli_same");
}

/// What goes wrong with the database itself says which database, with its
/// password hidden: no extension, no database, and damaged counters found by
/// verify (exit status 1) and repaired by refresh.
#[test]
fn pg_cli_database_errors_and_verify() {
    let _server = server();
    let url = jobtrack_tests::dump::create_database("jobtrack_cli_plain", false);
    let plain = url_of(&url);
    let err = failed(&jobtrack_on(&plain, &["stats"]));
    assert!(
        err.contains("jobtrack_cli_plain") && err.contains("CREATE EXTENSION jobtrack"),
        "{err}"
    );
    assert!(
        err.contains("58P01") && !err.contains("database file"),
        "{err}"
    );
    let missing = plain.replace("jobtrack_cli_plain", "jobtrack_cli_missing");
    let err = failed(&jobtrack_on(&missing, &["stats"]));
    assert!(err.contains("3D000"), "{err}");
    let with_password = missing.replacen("postgres@", "postgres:hunter2@", 1);
    let err = failed(&jobtrack_on(&with_password, &["stats"]));
    assert!(
        err.contains("postgres:***@") && !err.contains("hunter2"),
        "{err}"
    );
    jobtrack_tests::drop_database("jobtrack_cli_plain");

    let conninfo = jobtrack_tests::fresh_database("jobtrack_cli_verify");
    let pg = url_of(&conninfo);
    let dir = tempfile::tempdir().unwrap();
    let (jobs, updates) = files(dir.path());
    json_of(&jobtrack_on(&pg, &["--json", "import", p(&jobs)]));
    json_of(&jobtrack_on(&pg, &["--json", "update", p(&updates)]));
    let mut admin = jobtrack_tests::dump::connect(&conninfo);
    // An edit by hand, as the superuser may make one.
    admin
        .batch_execute(
            "UPDATE jobtrack.job_counters SET jobs = jobs + 1 WHERE dataset_name = 'mnist'; \
             INSERT INTO jobtrack.experiment_counters (experiment_name, total_combinations, \
                 status, jobs, successful, failed, duration_count, duration_micros_sum) \
             VALUES ('ghost-sweep', 4, 'done', 1, 1, 0, 0, 0)",
        )
        .expect("damage the counters");
    let out = jobtrack_on(&pg, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("jobtrack refresh"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("differ"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("summary"), "{}", stderr(&out));
    let diffs = jobtrack_on(&pg, &["--json", "verify"]);
    assert_eq!(diffs.status.code(), Some(1));
    let diffs: Value = serde_json::from_slice(&diffs.stdout).unwrap();
    assert!(
        !diffs["statistics"].as_array().unwrap().is_empty(),
        "{diffs}"
    );
    assert_eq!(
        diffs["experiments"],
        json!([{"experiment_name": "ghost-sweep", "total_combinations": 4, "status": "done",
                "counted_jobs": 1, "actual_jobs": 0, "counted_successful": 1,
                "actual_successful": 0, "counted_failed": 0, "actual_failed": 0,
                "counted_duration_count": 0, "actual_duration_count": 0,
                "counted_duration_micros_sum": 0, "actual_duration_micros_sum": 0}]),
        "{diffs}"
    );
    assert_eq!(json_of(&jobtrack_on(&pg, &["--json", "refresh"])), 120);
    let out = jobtrack_on(&pg, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    drop(admin);
    jobtrack_tests::drop_database("jobtrack_cli_verify");
}

/// The time the server started, to tell that it restarted.
fn started_at(conninfo: &str) -> String {
    jobtrack_tests::dump::connect(conninfo)
        .query_one("SELECT pg_postmaster_start_time()::text", &[])
        .expect("the server's start time")
        .get(0)
}

/// `pg_ctl restart` of the test cluster while `jobtrack demo` runs: the
/// demo's connections are terminated (57P01) mid-run; the run completes
/// with status 0, prints no error, and shows the figures of the same demo
/// on SQLite — no write lost or applied twice — and verify finds the
/// counters exact.
#[test]
fn pg_cli_demo_survives_a_server_restart() {
    let _server = server();
    let pg_ctl = std::env::var("JOBTRACK_PG_CTL").unwrap_or_else(|_| {
        panic!(
            "JOBTRACK_PG_CTL is not set: run this test inside tests/pg_regress/with-cluster.sh \
             (make pg-test does), which sets it to restart its cluster"
        )
    });
    let conninfo = jobtrack_tests::fresh_database("jobtrack_cli_restart");
    let pg = url_of(&conninfo);
    let args = [
        "demo",
        "--executions",
        "20000",
        "--experiments",
        "40",
        "--combinations",
        "100",
    ];
    let dir = tempfile::tempdir().unwrap();
    let reference = jobtrack(&dir.path().join("demo.db"), &args);
    assert!(reference.status.success(), "{}", stderr(&reference));

    let before = started_at(&conninfo);
    let mut child = bin()
        .arg("--db")
        .arg(&pg)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut errors = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    errors.read_line(&mut first).unwrap();
    // Printed once the store is open, before the first write.
    assert!(
        first.starts_with("jobtrack demo on postgresql://"),
        "{first:?}"
    );

    let restart = Command::new(&pg_ctl).arg("restart").output().unwrap();
    assert!(
        restart.status.success(),
        "pg_ctl restart: {}",
        String::from_utf8_lossy(&restart.stderr)
    );
    let still_running = child.try_wait().unwrap().is_none();
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    errors.read_to_string(&mut rest).unwrap();
    assert_eq!(out.status.code(), Some(0), "the demo failed: {rest}");
    assert!(
        still_running,
        "the demo ended before the restart was over, so it proves nothing: give it more jobs"
    );
    assert_eq!(rest, "", "the demo reported something after its first line");
    assert_ne!(started_at(&conninfo), before, "the server did not restart");

    let text = stdout(&out);
    assert!(text.contains("24000 jobs"), "{text}");
    assert_eq!(demo_figures(&text), demo_figures(&stdout(&reference)));
    let verify = jobtrack_on(&pg, &["verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    jobtrack_tests::drop_database("jobtrack_cli_restart");
}

/// `jobtrack export` of a SQLite file, imported with `jobtrack import` into
/// PostgreSQL and exported from there: the same bytes, as JSON lines and as
/// CSV; and imported back into a new SQLite file, the same data.
#[test]
fn pg_cli_export_moves_a_store_between_backends_unchanged() {
    let _server = server();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = seeded(dir.path());
    let updates = write(
        dir.path(),
        "more.jsonl",
        [
            json!({"job_id": "seed-e12", "status": "training"}),
            json!({"job_id": "seed-v5", "status": "failed", "error_message": "nan loss, \"again\""}),
        ]
        .map(|v| v.to_string())
        .join("\n"),
    );
    json_of(&jobtrack(&sqlite, &["--json", "update", p(&updates)]));
    let exported = jobtrack(&sqlite, &["export"]);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let file = write(dir.path(), "export.jsonl", &exported.stdout);

    let pg = fresh("jobtrack_cli_export");
    let imported = jobtrack_on(&pg, &["import", p(&file)]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert_eq!(
        stdout(&imported).trim(),
        "created 20 executions and 20 variations (40 restored whole)"
    );
    let again = jobtrack_on(&pg, &["export"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), stdout(&exported));
    let csv_sqlite = jobtrack(&sqlite, &["export", "--format", "csv"]);
    let csv_pg = jobtrack_on(&pg, &["export", "--format", "csv"]);
    assert!(csv_pg.status.success(), "{}", stderr(&csv_pg));
    assert_eq!(stdout(&csv_pg), stdout(&csv_sqlite));
    let verified = jobtrack_on(&pg, &["verify"]);
    assert!(verified.status.success(), "{}", stdout(&verified));

    let back = dir.path().join("back.db");
    let file = write(dir.path(), "from-pg.jsonl", &again.stdout);
    assert!(jobtrack(&back, &["import", p(&file)]).status.success());
    assert_eq!(stdout(&jobtrack(&back, &["export"])), stdout(&exported));
}
