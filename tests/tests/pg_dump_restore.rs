//! Backups of a jobtrack database with PostgreSQL's own tools, against the
//! server of `make test` (`JOBTRACK_PG_URL`; without it every test fails).
//!
//! One source database is filled through the jobtrack functions and plain
//! SQL: both kinds, several datasets (one with non-ASCII characters), every
//! status, terminal jobs with durations, progress, renamed, moved, deleted
//! and cleaned-up jobs, variations with nested parameters and numbers that
//! a float would change (123456789012345678901234567890, 0.10, 1e-400), and
//! text with tabs, quotes, backslashes and newlines. It is then dumped in
//! each format of `pg_dump` (custom, plain, directory with a parallel
//! restore, tar) and restored into an empty database, and dumped with
//! `--data-only` and restored into a database where `CREATE EXTENSION
//! jobtrack` ran first. Each restored database must equal the source: every
//! row of both base tables and of the summary table, the counters summed per
//! key, the statistics of every dataset, the recent jobs; verify_statistics()
//! empty; job_id still unique across the kinds; and writes after the restore
//! keep it all exact. A test reports every difference it finds, not just the
//! first.
//!
//! Also: `CREATE EXTENSION jobtrack` in a LATIN1 database is refused with
//! 0A000 naming the encoding.

use std::path::Path;
use std::sync::OnceLock;

use jobtrack_core::Status;
use jobtrack_tests::dump::{self, describe, sqlstate};
use postgres::Client;
use serde_json::{json, Value};

const SOURCE_DB: &str = "jobtrack_dump_source";
const DATASETS: [&str; 3] = ["imagenet-1k", "cifar-10", "speech/äöü"];
/// Jobs of each kind per dataset and status.
const PER_STATUS: usize = 3;

/// Everything the tests compare, read in one database.
#[derive(Debug, PartialEq)]
struct Snapshot {
    executions: Vec<String>,
    variations: Vec<String>,
    summary: Vec<String>,
    counters: Vec<String>,
    statistics: String,
    dataset_stats: Vec<String>,
    recent: Vec<String>,
}

fn texts(client: &mut Client, sql: &str) -> Vec<String> {
    client
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
        .iter()
        .map(|row| row.get(0))
        .collect()
}

impl Snapshot {
    fn take(client: &mut Client, datasets: &[String]) -> Snapshot {
        let dataset_stats = datasets
            .iter()
            .map(|d| {
                let stats: String = client
                    .query_one(
                        "SELECT jobtrack.get_dataset_stats_optimized($1)::text",
                        &[d],
                    )
                    .unwrap_or_else(|e| panic!("dataset stats of {d}: {}", describe(&e)))
                    .get(0);
                format!("{d}: {stats}")
            })
            .collect();
        Snapshot {
            executions: texts(
                client,
                "SELECT e::text FROM jobtrack.executions AS e ORDER BY e.job_id",
            ),
            variations: texts(
                client,
                "SELECT v::text FROM jobtrack.variations AS v ORDER BY v.job_id",
            ),
            summary: texts(
                client,
                "SELECT s::text FROM jobtrack.job_summary_cache AS s ORDER BY s.job_id",
            ),
            // Summed per key: how the counters are stored (shards, deltas)
            // is the extension's business; what they add up to is not.
            counters: texts(
                client,
                "SELECT concat_ws(' | ', dataset_name, job_type, status, sum(jobs), sum(successful), \
                        sum(failed), sum(duration_count), sum(duration_micros_sum)) \
                 FROM jobtrack.job_counters \
                 GROUP BY dataset_name, job_type, status \
                 HAVING (sum(jobs), sum(successful), sum(failed), sum(duration_count), \
                         sum(duration_micros_sum)) <> (0, 0, 0, 0, 0) \
                 ORDER BY dataset_name COLLATE \"C\", job_type, status",
            ),
            statistics: texts(client, "SELECT jobtrack.get_statistics_optimized()::text")
                .remove(0),
            dataset_stats,
            recent: texts(
                client,
                "SELECT r::text FROM jobtrack.get_recent_jobs_optimized(50) WITH ORDINALITY AS r \
                 ORDER BY r.ordinality",
            ),
        }
    }

    /// Every difference from `source`, one line (or a few) each.
    fn differences(&self, source: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        let lists = [
            ("executions", &source.executions, &self.executions),
            ("variations", &source.variations, &self.variations),
            ("job_summary_cache", &source.summary, &self.summary),
            (
                "job_counters (summed per key)",
                &source.counters,
                &self.counters,
            ),
            (
                "get_dataset_stats_optimized",
                &source.dataset_stats,
                &self.dataset_stats,
            ),
            (
                "get_recent_jobs_optimized(50)",
                &source.recent,
                &self.recent,
            ),
        ];
        for (what, expected, actual) in lists {
            if expected == actual {
                continue;
            }
            let first = (0..expected.len().max(actual.len()))
                .find(|&i| expected.get(i) != actual.get(i))
                .unwrap_or(0);
            out.push(format!(
                "{what}: {} rows restored, {} in the source; first difference at row {first}:\n      \
                 source:   {:?}\n      restored: {:?}",
                actual.len(),
                expected.len(),
                expected.get(first),
                actual.get(first),
            ));
        }
        if source.statistics != self.statistics {
            out.push(format!(
                "get_statistics_optimized():\n      source:   {}\n      restored: {}",
                source.statistics, self.statistics
            ));
        }
        out
    }
}

struct Source {
    url: String,
    datasets: Vec<String>,
    snapshot: Snapshot,
    execution_id: String,
    variation_id: String,
}

static SOURCE: OnceLock<Source> = OnceLock::new();

/// The source database, built once for all the tests (they only read it).
fn source() -> &'static Source {
    SOURCE.get_or_init(build_source)
}

fn exec(client: &mut Client, sql: &str) {
    client
        .batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}\n→ {}", describe(&e)));
}

fn call(client: &mut Client, sql: &str, arg: &str) {
    client
        .query_one(sql, &[&arg])
        .unwrap_or_else(|e| panic!("{sql} with {arg}\n→ {}", describe(&e)));
}

/// A variation element as JSON text: serde_json would turn the parameters'
/// numbers into floats, which is exactly what must not happen on their way
/// to the server.
fn variation_element(id: &str, d: usize, s: usize, k: usize) -> String {
    let dataset = Value::from(DATASETS[d]);
    let parent = if k == 1 {
        String::new()
    } else {
        format!(r#", "parent_experiment_id": "exp-{d}""#)
    };
    let steps = if k == 1 {
        ""
    } else {
        r#", "total_steps": 500"#
    };
    let status = if k == 2 { "in_queue" } else { "pending" };
    format!(
        r#"{{"job_id": "{id}", "variation_id": "var-{s}-{k}", "experiment_name": "sweep-{d}",
            "dataset_name": {dataset}, "preset": "p{k}", "total_combinations": 3,
            "status": "{status}"{parent}{steps},
            "varied_parameters": {{"lr": {{"values": [0.10, 0.001, 123456789012345678901234567890]}},
                                   "schedule": {{"warmup": {{"steps": [100, 200], "ratio": 0.10}}}}}},
            "parameter_values": {{"lr": 0.10, "seed": 123456789012345678901234567890,
                                  "layers": [1, {{"width": 2.50, "act": "gelu"}}],
                                  "tag": "ü{k}", "flag": true, "none": null}}}}"#
    )
}

fn build_source() -> Source {
    let url = dump::create_database(SOURCE_DB, true);
    let mut c = dump::connect(&url);

    // Created pending or in_queue, then (for the later statuses) through
    // training, so that terminal jobs get a start_time and a duration, then
    // to their status. Jobs with k = 2 skip training: terminal without a
    // duration.
    let mut executions = Vec::new();
    let mut variations = Vec::new();
    let mut to_training = Vec::new();
    let mut to_final = Vec::new();
    for (d, dataset) in DATASETS.iter().enumerate() {
        for (s, status) in Status::ALL.iter().map(|s| s.as_str()).enumerate() {
            for k in 0..PER_STATUS {
                let e = format!("e{d}-{s}-{k}");
                let v = format!("v{d}-{s}-{k}");
                let mode = ["single", "batch", "variations"][k];
                executions.push(json!({
                    "job_id": e,
                    "pipeline_mode": mode,
                    "dataset_name": dataset,
                    "preset": format!("p{k}"),
                    "total_steps": if k == 1 { Value::Null } else { json!(1000) },
                    "status": if k == 2 { "in_queue" } else { "pending" },
                }));
                variations.push(variation_element(&v, d, s, k));
                for id in [e, v] {
                    if s >= 5 && k != 2 {
                        to_training.push(json!({"job_id": id, "status": "training"}));
                    }
                    let mut update = json!({"job_id": id, "status": status});
                    if status == "failed" || (status == "cancelled" && k == 1) {
                        update["error_message"] = json!(format!("CUDA out of memory on rank {k}"));
                    }
                    to_final.push(update);
                }
            }
        }
    }
    call(
        &mut c,
        "SELECT jobtrack.batch_create_executions($1::text::jsonb)",
        &Value::Array(executions).to_string(),
    );
    call(
        &mut c,
        "SELECT jobtrack.batch_create_variations($1::text::jsonb)",
        &format!("[{}]", variations.join(",")),
    );
    // Each kind's update function takes only its own ids (others are skipped).
    for batch in [to_training, to_final] {
        let batch = Value::Array(batch).to_string();
        call(
            &mut c,
            "SELECT jobtrack.batch_update_execution_status($1::text::jsonb)",
            &batch,
        );
        call(
            &mut c,
            "SELECT jobtrack.batch_update_variation_status($1::text::jsonb)",
            &batch,
        );
    }
    for d in 0..DATASETS.len() {
        for s in [5, 6, 7] {
            for k in 0..PER_STATUS {
                for kind in ["e", "v"] {
                    c.query_one(
                        "SELECT jobtrack.update_progress($1, $2)",
                        &[&format!("{kind}{d}-{s}-{k}"), &(100 * k as i32 + 7)],
                    )
                    .unwrap_or_else(|e| panic!("update_progress: {}", describe(&e)));
                }
            }
        }
    }
    call(
        &mut c,
        "SELECT jobtrack.update_execution_status($1, 'failed', 'disk full')",
        "e1-6-0",
    );

    // Plain SQL, as any client may write: exact timestamps and durations
    // below the microsecond, awkward text, exact JSON numbers; a move to
    // another dataset, a rename, a status change, a delete.
    exec(
        &mut c,
        r#"
        INSERT INTO jobtrack.executions
            (job_id, status, pipeline_mode, dataset_name, preset, total_steps, current_step,
             start_time, end_time, duration_seconds, success, error_message, output_path,
             created_at, updated_at)
        VALUES
            ('sql-e1', 'done', 'batch', 'mnist', 'large', 100, 100,
             '2025-03-01 10:00:00.000001+00', '2025-03-01 11:00:00.5+00', 3600.4999995, true,
             NULL, '/models/sql-e1', '2025-03-01 09:59:00+00', '2025-03-01 11:00:00.5+00'),
            ('sql-e2', 'failed', 'single', 'mnist', 'large', NULL, 3,
             '2025-03-02 10:00:00+00', '2025-03-02 10:00:01.25+00', 1.25, false,
             E'OOM:\t"quoted", back\\slash\nsecond line', NULL,
             '2025-03-02 09:00:00+00', '2025-03-02 10:00:01.25+00'),
            ('sql-e3', 'cancelled', 'variations', 'mnist', 'small', 10, NULL,
             NULL, '2025-03-03 00:00:00+00', NULL, NULL, NULL, NULL,
             '2025-03-03 00:00:00+00', '2025-03-03 00:00:00+00'),
            ('sql-e4', 'training', 'single', 'imagenet-1k', 'small', 1000, 250,
             '2025-03-04 00:00:00+00', NULL, NULL, NULL, NULL, NULL, DEFAULT, DEFAULT);
        INSERT INTO jobtrack.variations
            (job_id, status, variation_id, experiment_name, dataset_name, preset,
             total_combinations, varied_parameters, parameter_values, parent_experiment_id,
             total_steps, current_step, start_time, end_time, duration_seconds, success,
             created_at, updated_at)
        VALUES
            ('sql-v1', 'done', 'exact', 'sweep-exact', 'mnist', 'p', 2,
             '{"lr": [0.10, 0.100, 1e-400], "big": 123456789012345678901234567890}',
             '{"lr": 0.10, "big": 123456789012345678901234567890,
               "deep": {"a": {"b": {"c": [1.000, -0.0, 2.5e+30]}}}}',
             NULL, 10, 10, '2025-03-05 00:00:00+00', '2025-03-05 00:00:00.000001+00',
             0.000001, true, '2025-03-05 00:00:00+00', '2025-03-05 00:00:00.000001+00');
        UPDATE jobtrack.executions SET output_path = '/models/' || job_id WHERE status = 'done';
        UPDATE jobtrack.variations SET duration_seconds = duration_seconds + 0.0000004
            WHERE status = 'failed' AND duration_seconds IS NOT NULL;
        UPDATE jobtrack.executions SET dataset_name = 'mnist' WHERE job_id = 'e1-7-0';
        UPDATE jobtrack.variations SET job_id = 'v-renamed' WHERE job_id = 'v1-1-1';
        UPDATE jobtrack.variations
            SET status = 'done', success = true, end_time = now(), duration_seconds = 42.5
            WHERE job_id = 'v0-4-0';
        DELETE FROM jobtrack.executions WHERE job_id = 'e2-9-1';
        UPDATE jobtrack.executions SET created_at = now() - interval '40 days'
            WHERE job_id LIKE 'e0-7-%' OR job_id LIKE 'e0-8-%';
        UPDATE jobtrack.variations SET created_at = now() - interval '40 days'
            WHERE job_id LIKE 'v0-7-%';
        "#,
    );
    // Deletes the old done jobs and keeps the old failed ones.
    exec(&mut c, "SELECT jobtrack.cleanup_old_jobs(30, true)");

    let differences = texts(
        &mut c,
        "SELECT d::text FROM jobtrack.verify_statistics() AS d",
    );
    assert!(
        differences.is_empty(),
        "the source database itself is inexact: {differences:?}"
    );
    let mut datasets = texts(
        &mut c,
        "SELECT dataset_name FROM jobtrack.executions UNION SELECT dataset_name FROM jobtrack.variations \
         ORDER BY 1",
    );
    datasets.push("no-such-dataset".to_owned());
    let snapshot = Snapshot::take(&mut c, &datasets);
    assert!(
        snapshot.executions.len() > 80 && snapshot.variations.len() > 80,
        "the source has too few jobs: {} executions, {} variations",
        snapshot.executions.len(),
        snapshot.variations.len()
    );
    Source {
        url,
        datasets,
        snapshot,
        execution_id: "e0-0-0".to_owned(),
        variation_id: "v0-0-0".to_owned(),
    }
}

#[derive(Clone, Copy, Debug)]
enum Format {
    Custom,
    Plain,
    Directory,
    Tar,
    DataOnly,
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// Dumps the source in `format` and restores it into a new database
/// `target`; returns the target's connection string.
fn dump_and_restore(format: Format, target: &str, dir: &Path) -> String {
    let source = &source().url;
    let file = dir.join("dump");
    let file = path_str(&file);
    let psql = |target_url: &str| {
        dump::run_tool(
            "psql",
            &[
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                target_url,
                "-f",
                file,
            ],
        );
    };
    let (flags, extension_first): (&[&str], bool) = match format {
        Format::Custom => (&["-Fc"], false),
        Format::Plain => (&["-Fp"], false),
        Format::Directory => (&["-Fd"], false),
        Format::Tar => (&["-Ft"], false),
        Format::DataOnly => (&["-Fp", "--data-only"], true),
    };
    let mut args = flags.to_vec();
    args.extend(["-f", file, "-d", source.as_str()]);
    dump::run_tool("pg_dump", &args);
    let target_url = dump::create_database(target, extension_first);
    match format {
        Format::Plain | Format::DataOnly => psql(&target_url),
        Format::Custom | Format::Tar => {
            dump::run_tool("pg_restore", &["--exit-on-error", "-d", &target_url, file]);
        }
        Format::Directory => {
            dump::run_tool(
                "pg_restore",
                &["--exit-on-error", "-j", "2", "-d", &target_url, file],
            );
        }
    }
    target_url
}

fn verify_statistics(client: &mut Client, when: &str, problems: &mut Vec<String>) {
    let differences = texts(
        client,
        "SELECT d::text FROM jobtrack.verify_statistics() AS d",
    );
    if !differences.is_empty() {
        problems.push(format!(
            "verify_statistics() {when}: {} rows, e.g. {}",
            differences.len(),
            differences[0]
        ));
    }
}

/// A job_id of one kind must still be refused for the other kind, through
/// the functions and plain SQL alike (each try rolled back).
fn cross_kind_uniqueness(client: &mut Client, problems: &mut Vec<String>) {
    let source = source();
    let tries = [
        (
            "create_variation with an execution's job_id",
            "SELECT jobtrack.create_variation(jsonb_build_object('job_id', $1::text, \
             'variation_id', 'x', 'experiment_name', 'x', 'dataset_name', 'x', 'preset', 'x', \
             'total_combinations', 1))::text",
            &source.execution_id,
        ),
        (
            "plain-SQL INSERT of an execution with a variation's job_id",
            "INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset) \
             VALUES ($1, 'single', 'x', 'x') RETURNING job_id",
            &source.variation_id,
        ),
    ];
    for (what, sql, id) in tries {
        let mut tx = client.transaction().expect("begin");
        match tx.query_one(sql, &[id]) {
            Ok(_) => problems.push(format!(
                "{what} ({id}) succeeded after the restore: job_id is no longer unique across \
                 the kinds (expected 23505)"
            )),
            Err(e) if sqlstate(&e) == "23505" => {}
            Err(e) => problems.push(format!("{what} ({id}): {} (expected 23505)", describe(&e))),
        }
        tx.rollback().expect("rollback");
    }
}

/// Writes of every kind on the restored jobs and new ones; the derived
/// tables must stay exact.
fn writes_after_restore(client: &mut Client, problems: &mut Vec<String>) {
    let steps: &[(&str, &str)] = &[
        (
            "create_execution",
            r#"SELECT jobtrack.create_execution('{"job_id": "after-e1", "pipeline_mode": "single",
                 "dataset_name": "imagenet-1k", "preset": "p", "total_steps": 10}')::text"#,
        ),
        (
            "batch_create_variations",
            r#"SELECT jobtrack.batch_create_variations('[{"job_id": "after-v1", "variation_id": "a",
                 "experiment_name": "after", "dataset_name": "speech/äöü", "preset": "p",
                 "total_combinations": 2, "parameter_values": {"lr": 0.10}}]')::text"#,
        ),
        (
            "batch_update_execution_status to training",
            r#"SELECT jobtrack.batch_update_execution_status(
                 '[{"job_id": "after-e1", "status": "training"}]')::text"#,
        ),
        (
            "update_progress",
            "SELECT jobtrack.update_progress('after-e1', 5)::text",
        ),
        (
            "update_execution_status to done",
            "SELECT jobtrack.update_execution_status('after-e1', 'done')::text",
        ),
        (
            "update_variation_status to failed",
            "SELECT jobtrack.update_variation_status('after-v1', 'failed', 'x')::text",
        ),
        (
            "batch_update_variation_status of restored jobs",
            "SELECT jobtrack.batch_update_variation_status(COALESCE(jsonb_agg(jsonb_build_object(\
                 'job_id', job_id, 'status', 'failed', 'error_message', 'after the restore')), \
                 '[]'))::text \
             FROM jobtrack.variations WHERE dataset_name = 'cifar-10' AND status = 'training'",
        ),
        (
            "plain-SQL UPDATE of restored jobs",
            "UPDATE jobtrack.executions SET status = 'cancelled', end_time = now() \
             WHERE dataset_name = 'imagenet-1k' AND status = 'pending' RETURNING job_id",
        ),
        (
            "plain-SQL DELETE of restored jobs",
            "DELETE FROM jobtrack.variations WHERE dataset_name = 'mnist' RETURNING job_id",
        ),
        (
            "cleanup_old_jobs(0, false)",
            "SELECT jobtrack.cleanup_old_jobs(0, false)::text",
        ),
    ];
    for (what, sql) in steps {
        if let Err(e) = client.query(*sql, &[]) {
            problems.push(format!("write after the restore, {what}: {}", describe(&e)));
        }
    }
    verify_statistics(client, "after writes on the restored database", problems);
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM jobtrack.executions) \
                    + (SELECT count(*) FROM jobtrack.variations), \
                    (SELECT count(*) FROM jobtrack.job_summary_cache), \
                    (SELECT COALESCE(sum(jobs), 0)::bigint FROM jobtrack.job_counters), \
                    (jobtrack.get_statistics_optimized()->>'total_jobs')::bigint",
            &[],
        )
        .expect("count the jobs");
    let (jobs, summary, counted, statistics): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if (summary, counted, statistics) != (jobs, jobs, jobs) {
        problems.push(format!(
            "after writes on the restored database: {jobs} jobs, {summary} summary rows, \
             {counted} counted, get_statistics_optimized total_jobs {statistics}"
        ));
    }
}

fn round_trip(format: Format, target: &str) {
    let source = source();
    let dir = tempfile::tempdir().expect("a temporary directory for the dump");
    let target_url = dump_and_restore(format, target, dir.path());
    let mut client = dump::connect(&target_url);
    let mut problems = Snapshot::take(&mut client, &source.datasets).differences(&source.snapshot);
    verify_statistics(&mut client, "right after the restore", &mut problems);
    cross_kind_uniqueness(&mut client, &mut problems);
    writes_after_restore(&mut client, &mut problems);
    assert!(
        problems.is_empty(),
        "{format:?} dump restored into {target}: {} problems:\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
    drop(client);
    dump::drop_database(target);
}

#[test]
fn pg_dump_custom_format_round_trip() {
    round_trip(Format::Custom, "jobtrack_dump_custom");
}

#[test]
fn pg_dump_plain_format_round_trip() {
    round_trip(Format::Plain, "jobtrack_dump_plain");
}

#[test]
fn pg_dump_directory_format_parallel_restore_round_trip() {
    round_trip(Format::Directory, "jobtrack_dump_directory");
}

#[test]
fn pg_dump_tar_format_round_trip() {
    round_trip(Format::Tar, "jobtrack_dump_tar");
}

#[test]
fn pg_dump_data_only_into_a_created_extension_round_trip() {
    round_trip(Format::DataOnly, "jobtrack_dump_data_only");
}

#[test]
fn create_extension_refuses_a_non_utf8_database() {
    const NAME: &str = "jobtrack_dump_latin1";
    let url = dump::server_url();
    let mut admin = dump::connect(&url);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {NAME} WITH (FORCE)"))
        .expect("drop the LATIN1 database");
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {NAME} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        ))
        .expect("create the LATIN1 database");
    let mut client = dump::connect(&dump::with_database(&url, NAME));
    let result =
        client.batch_execute("SET client_min_messages = warning; CREATE EXTENSION jobtrack");
    let outcome = match &result {
        Ok(()) => {
            // What a user would meet next, for the report.
            let read = client
                .batch_execute(
                    "SELECT jobtrack.create_execution('{\"job_id\": \"é\", \"pipeline_mode\": \
                     \"single\", \"dataset_name\": \"ü\", \"preset\": \"p\"}'); \
                     SELECT * FROM jobtrack.get_recent_jobs_optimized(10)",
                )
                .map_err(|e| describe(&e));
            format!(
                "CREATE EXTENSION jobtrack succeeded in a LATIN1 database (expected 0A000 naming \
                 the encoding); a non-ASCII create and read then gave: {read:?}"
            )
        }
        Err(e) => describe(e),
    };
    let installed: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_extension WHERE extname = 'jobtrack'",
            &[],
        )
        .expect("look for the extension")
        .get(0);
    drop(client);
    dump::drop_database(NAME);
    let error = result.as_ref().err();
    assert_eq!(
        error.map(sqlstate).as_deref(),
        Some("0A000"),
        "CREATE EXTENSION in a LATIN1 database: {outcome}"
    );
    let message = error
        .and_then(|e| e.as_db_error())
        .map(|db| db.message().to_owned())
        .unwrap_or_default();
    assert!(
        message.to_uppercase().contains("LATIN1"),
        "the error must name the encoding: {message:?}"
    );
    assert_eq!(installed, 0, "the refused extension must not be installed");
}
