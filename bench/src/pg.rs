//! PostgreSQL: every operation as the original design did it (before), as
//! plain SQL written well (after), through jobtrack's functions and their
//! cached versions, against SELECT 1 — one client connection, prepared
//! statements, the same data.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, SystemTime};

use jobtrack_core::{DatasetStats, Job, RunningJob, Statistics, Status, Timestamp};
use postgres::{Client, NoTls, Row as PgRow, Statement};
use serde_json::Value;

use crate::data::{self, Kind, Workload};
use crate::measure::{measure, timed, Budget, Summary};
use crate::report::{Row, WriteCost};
use crate::{statements, Res};

/// The bench's own database, dropped and created for each size.
pub const DATABASE: &str = "jobtrack_bench";

const BEFORE_STATISTICS: &str = include_str!("../sql/before/statistics.sql");
const BEFORE_DATASET: &str = include_str!("../sql/before/dataset_stats.sql");
const BEFORE_ALL: &str = include_str!("../sql/before/all_jobs.sql");
const BEFORE_RECENT: &str = include_str!("../sql/before/recent_jobs.sql");
const BEFORE_RUNNING: &str = include_str!("../sql/before/running_jobs.sql");
const BEFORE_UPDATE_E: &str = include_str!("../sql/before/update_status_executions.sql");
const BEFORE_UPDATE_V: &str = include_str!("../sql/before/update_status_variations.sql");
const BEFORE_CREATE_E: &str = include_str!("../sql/before/create_execution.sql");
const BEFORE_CREATE_V: &str = include_str!("../sql/before/create_variation.sql");
const BEFORE_CLEANUP: &str = include_str!("../sql/before/cleanup.sql");
const AFTER_STATISTICS: &str = include_str!("../sql/after/statistics.sql");
const AFTER_DATASET: &str = include_str!("../sql/after/dataset_stats.sql");
const AFTER_ALL: &str = include_str!("../sql/after/all_jobs.sql");
const AFTER_RECENT: &str = include_str!("../sql/after/recent_jobs.sql");
const AFTER_RUNNING: &str = include_str!("../sql/after/running_jobs.sql");
const AFTER_RUNNING_PAGE: &str = include_str!("../sql/after/running_page.sql");
const AFTER_UPDATE_E: &str = include_str!("../sql/after/update_status_executions.sql");
const AFTER_UPDATE_V: &str = include_str!("../sql/after/update_status_variations.sql");
const AFTER_MESSAGE_E: &str = include_str!("../sql/after/error_message_executions.sql");
const AFTER_MESSAGE_V: &str = include_str!("../sql/after/error_message_variations.sql");
const AFTER_CREATE_E: &str = include_str!("../sql/after/create_executions.sql");
const AFTER_CREATE_V: &str = include_str!("../sql/after/create_variations.sql");
const AFTER_CLEANUP: &str = include_str!("../sql/after/cleanup.sql");

/// Connects to `url` with `dbname` overriding the URL's database.
pub fn connect(url: &str, dbname: &str) -> Res<Client> {
    Ok(Client::connect(&format!("{url} dbname={dbname}"), NoTls)?)
}

/// Creates the bench database afresh with the extension, loads `w` and
/// returns a client on it with search_path = jobtrack (the before and after
/// SQL name tables without schema, as the original client did).
pub fn setup(url: &str, w: &Workload) -> Res<Client> {
    let mut admin = Client::connect(url, NoTls)?;
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))?;
    admin.batch_execute(&format!("CREATE DATABASE {DATABASE}"))?;
    let mut c = connect(url, DATABASE)?;
    c.batch_execute("SET client_min_messages = warning; CREATE EXTENSION jobtrack")?;
    copy_jobs(&mut c, w)?;
    c.batch_execute("VACUUM ANALYZE")?;
    c.batch_execute("SET search_path = jobtrack, public")?;
    Ok(c)
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "\\N".to_owned(), |v| esc(&v.to_string()))
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn bool_opt(b: Option<bool>) -> &'static str {
    match b {
        None => "\\N",
        Some(true) => "t",
        Some(false) => "f",
    }
}

/// Loads jobs with COPY, timestamps as generated (the summary triggers fire
/// as for any write).
pub fn copy_jobs(c: &mut Client, w: &Workload) -> Res<()> {
    use std::io::Write;
    let mut tx = c.transaction()?;
    {
        let mut wr = tx.copy_in(
            "COPY jobtrack.executions (job_id, status, pipeline_mode, dataset_name, preset, \
             total_steps, current_step, start_time, end_time, duration_seconds, success, \
             error_message, output_path, created_at, updated_at) FROM STDIN",
        )?;
        let mut buf = String::new();
        for e in &w.executions {
            let j = &e.common;
            buf.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                esc(&j.job_id),
                j.status.as_str(),
                e.pipeline_mode.as_str(),
                esc(&j.dataset_name),
                esc(&j.preset),
                opt(&j.total_steps),
                opt(&j.current_step),
                opt(&j.start_time),
                opt(&j.end_time),
                opt(&j.duration_seconds),
                bool_opt(j.success),
                opt(&j.error_message),
                opt(&j.output_path),
                j.created_at,
                j.updated_at
            ));
            if buf.len() > 1 << 20 {
                wr.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        wr.write_all(buf.as_bytes())?;
        wr.finish()?;
    }
    {
        let mut wr = tx.copy_in(
            "COPY jobtrack.variations (job_id, status, variation_id, experiment_name, \
             dataset_name, preset, total_combinations, varied_parameters, parameter_values, \
             parent_experiment_id, total_steps, current_step, start_time, end_time, \
             duration_seconds, success, error_message, output_path, created_at, updated_at) \
             FROM STDIN",
        )?;
        let mut buf = String::new();
        for v in &w.variations {
            let j = &v.common;
            buf.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                esc(&j.job_id),
                j.status.as_str(),
                esc(&v.variation_id),
                esc(&v.experiment_name),
                esc(&j.dataset_name),
                esc(&j.preset),
                v.total_combinations,
                esc(&v.varied_parameters.to_string()),
                esc(&v.parameter_values.to_string()),
                opt(&v.parent_experiment_id),
                opt(&j.total_steps),
                opt(&j.current_step),
                opt(&j.start_time),
                opt(&j.end_time),
                opt(&j.duration_seconds),
                bool_opt(j.success),
                opt(&j.error_message),
                opt(&j.output_path),
                j.created_at,
                j.updated_at
            ));
            if buf.len() > 1 << 20 {
                wr.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        wr.write_all(buf.as_bytes())?;
        wr.finish()?;
    }
    tx.commit()?;
    Ok(())
}

fn prepare_all(c: &mut Client, sql: &str) -> Res<Vec<Statement>> {
    statements(sql).iter().map(|s| Ok(c.prepare(s)?)).collect()
}

/// A job row as a client keeps it for merging: id and sort key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Keyed {
    key: SystemTime,
    job_id: String,
}

fn keyed(rows: &[PgRow], key_col: &str) -> Vec<Keyed> {
    rows.iter()
        .map(|r| Keyed {
            key: r.get(key_col),
            job_id: r.get("job_id"),
        })
        .collect()
}

/// The client's merge of two sorted listings: newest first, ties on job_id
/// descending, cut to `lim`.
fn merge(mut a: Vec<Keyed>, b: Vec<Keyed>, lim: Option<usize>) -> Vec<String> {
    a.extend(b);
    a.sort_by(|x, y| y.cmp(x));
    if let Some(lim) = lim {
        a.truncate(lim);
    }
    a.into_iter().map(|k| k.job_id).collect()
}

/// What one variant answered, reduced to what all variants must agree on.
type Answer = String;

/// One timed run of a variant: its duration and its answer.
type PgRun<'a> = Box<dyn FnMut(&mut Client, usize) -> Res<(Duration, Answer)> + 'a>;

struct Op<'a> {
    operation: &'static str,
    variants: Vec<Variant<'a>>,
}

struct Variant<'a> {
    variant: &'static str,
    label: &'static str,
    run: PgRun<'a>,
}

fn read<'a>(
    variant: &'static str,
    label: &'static str,
    mut f: impl FnMut(&mut Client) -> Res<Answer> + 'a,
) -> Variant<'a> {
    Variant {
        variant,
        label,
        run: Box::new(move |c, _| {
            let start = std::time::Instant::now();
            let a = f(c)?;
            Ok((start.elapsed(), a))
        }),
    }
}

/// Counts per status keyed by the status's SQL name, as the plain-SQL
/// variants see them.
fn by_name(counts: &jobtrack_core::StatusCounts) -> BTreeMap<String, i64> {
    counts
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), *v))
        .collect()
}

fn statistics_answer(s: &Statistics) -> Answer {
    format!(
        "{} {} {:?} {:?} {} {}",
        s.total_executions,
        s.total_variations,
        by_name(&s.executions_by_status),
        by_name(&s.variations_by_status),
        s.total_successful,
        s.total_failed
    )
}

fn dataset_answer(executions: i64, variations: i64, ok: i64, failed: i64) -> Answer {
    format!("{executions} {variations} {ok} {failed}")
}

/// Runs the per-call benchmarks; returns the rows and the disagreements
/// between variants.
pub fn operations(c: &mut Client, w: &Workload, smoke: bool) -> Res<(Vec<Row>, Vec<String>)> {
    let reads = Budget::reads(smoke);
    let writes = Budget::writes(smoke);
    let dataset = w.busiest_dataset();
    let mut ops: Vec<Op> = Vec::new();

    // ----- statistics
    let bs = prepare_all(c, BEFORE_STATISTICS)?;
    let as_ = prepare_all(c, AFTER_STATISTICS)?;
    let js = c.prepare("SELECT jobtrack.get_statistics_optimized()")?;
    let jsc = c.prepare("SELECT jobtrack.get_statistics_cached()")?;
    ops.push(Op {
        operation: "statistics",
        variants: vec![
            read("before", "10 COUNT queries", move |c| {
                let mut kinds = Vec::new();
                for k in 0..2 {
                    let total: i64 = c.query_one(&bs[k], &[])?.get(0);
                    let by_status: BTreeMap<String, i64> = c
                        .query(&bs[2 + k], &[])?
                        .iter()
                        .map(|r| (r.get(0), r.get(1)))
                        .collect();
                    let ok: i64 = c.query_one(&bs[4 + k], &[])?.get(0);
                    let failed: i64 = c.query_one(&bs[6 + k], &[])?.get(0);
                    let avg: Option<f64> = c.query_one(&bs[8 + k], &[])?.get(0);
                    kinds.push((total, by_status, ok, failed, avg));
                }
                let (e, v) = (&kinds[0], &kinds[1]);
                let rate = 100.0 * (e.2 + v.2) as f64 / ((e.2 + v.2 + e.3 + v.3).max(1)) as f64;
                black_box((rate, e.4, v.4));
                Ok(format!(
                    "{} {} {:?} {:?} {} {}",
                    e.0,
                    v.0,
                    e.1,
                    v.1,
                    e.2 + v.2,
                    e.3 + v.3
                ))
            }),
            read("after", "2 aggregate queries with CASE", move |c| {
                let mut kinds = Vec::new();
                for st in &as_ {
                    let r = c.query_one(st, &[])?;
                    let by_status: BTreeMap<String, i64> = Status::ALL
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (s.as_str().to_owned(), r.get::<_, i64>(1 + i)))
                        .filter(|(_, n)| *n > 0)
                        .collect();
                    let total: i64 = r.get(0);
                    let ok: i64 = r.get(11);
                    let failed: i64 = r.get(12);
                    let avg: Option<f64> = r.get(13);
                    kinds.push((total, by_status, ok, failed, avg));
                }
                let (e, v) = (&kinds[0], &kinds[1]);
                black_box((e.4, v.4));
                Ok(format!(
                    "{} {} {:?} {:?} {} {}",
                    e.0,
                    v.0,
                    e.1,
                    v.1,
                    e.2 + v.2,
                    e.3 + v.3
                ))
            }),
            read("jobtrack", "get_statistics_optimized()", move |c| {
                let v: Value = c.query_one(&js, &[])?.get(0);
                Ok(statistics_answer(&serde_json::from_value(v)?))
            }),
            read("cached", "get_statistics_cached()", move |c| {
                let v: Value = c.query_one(&jsc, &[])?.get(0);
                Ok(statistics_answer(&serde_json::from_value(v)?))
            }),
        ],
    });

    // ----- dataset stats
    let bd = prepare_all(c, BEFORE_DATASET)?;
    let ad = prepare_all(c, AFTER_DATASET)?;
    let jd = c.prepare("SELECT jobtrack.get_dataset_stats_optimized($1)")?;
    let jdc = c.prepare("SELECT jobtrack.get_dataset_stats_cached($1)")?;
    let ds_answer = |v: Value| -> Res<Answer> {
        let d: DatasetStats = serde_json::from_value(v)?;
        Ok(dataset_answer(
            d.executions,
            d.variations,
            d.successful_jobs,
            d.failed_jobs,
        ))
    };
    ops.push(Op {
        operation: "dataset stats",
        variants: vec![
            read("before", "8 queries", move |c| {
                let n: Vec<i64> = bd[..6]
                    .iter()
                    .map(|st| Ok(c.query_one(st, &[&dataset])?.get(0)))
                    .collect::<Res<_>>()?;
                let mut agg = Vec::new();
                for st in &bd[6..] {
                    let r = c.query_one(st, &[&dataset])?;
                    let avg: Option<f64> = r.get(0);
                    let count: i64 = r.get(1);
                    let min: Option<f64> = r.get(2);
                    let max: Option<f64> = r.get(3);
                    let first: Option<SystemTime> = r.get(4);
                    let last: Option<SystemTime> = r.get(5);
                    agg.push((
                        avg.unwrap_or(0.0) * count as f64,
                        count,
                        min,
                        max,
                        first,
                        last,
                    ));
                }
                let avg = (agg[0].0 + agg[1].0) / ((agg[0].1 + agg[1].1).max(1)) as f64;
                black_box((avg, agg));
                Ok(dataset_answer(n[0], n[1], n[2] + n[3], n[4] + n[5]))
            }),
            read("after", "1 query, UNION ALL + CASE", move |c| {
                let r = c.query_one(&ad[0], &[&dataset])?;
                let avg: Option<f64> = r.get(4);
                let first: Option<SystemTime> = r.get(7);
                black_box((avg, first));
                Ok(dataset_answer(r.get(0), r.get(1), r.get(2), r.get(3)))
            }),
            read("jobtrack", "get_dataset_stats_optimized()", move |c| {
                ds_answer(c.query_one(&jd, &[&dataset])?.get(0))
            }),
            read("cached", "get_dataset_stats_cached()", move |c| {
                ds_answer(c.query_one(&jdc, &[&dataset])?.get(0))
            }),
        ],
    });

    // ----- all jobs (100), recent jobs (10), running jobs
    for (operation, before_sql, after_sql, key, lim, function, cached) in [
        (
            "all jobs (100)",
            BEFORE_ALL,
            AFTER_ALL,
            "created_at",
            100i64,
            "SELECT * FROM jobtrack.get_all_jobs_optimized($1)",
            None,
        ),
        (
            "recent jobs (10)",
            BEFORE_RECENT,
            AFTER_RECENT,
            "updated_at",
            10,
            "SELECT * FROM jobtrack.get_recent_jobs_optimized($1)",
            Some("SELECT * FROM jobtrack.get_recent_jobs_cached($1)"),
        ),
    ] {
        let b = prepare_all(c, before_sql)?;
        let a = prepare_all(c, after_sql)?;
        let j = c.prepare(function)?;
        let lim32 = lim as i32;
        let mut variants = vec![
            read("before", "2 queries, merged in the client", move |c| {
                let e = c.query(&b[0], &[&lim])?;
                let v = c.query(&b[1], &[&lim])?;
                Ok(merge(keyed(&e, key), keyed(&v, key), Some(lim as usize)).join(","))
            }),
            read("after", "UNION ALL … ORDER BY … LIMIT", move |c| {
                Ok(job_ids(&c.query(&a[0], &[&lim])?)?.join(","))
            }),
            read("jobtrack", function_name(function), move |c| {
                let rows = c.query(&j, &[&lim32])?;
                Ok(job_ids(&rows)?.join(","))
            }),
        ];
        if let Some(cached) = cached {
            let jc = c.prepare(cached)?;
            variants.push(read("cached", function_name(cached), move |c| {
                let rows = c.query(&jc, &[&lim32])?;
                Ok(job_ids(&rows)?.join(","))
            }));
        }
        ops.push(Op {
            operation,
            variants,
        });
    }
    let br = prepare_all(c, BEFORE_RUNNING)?;
    let ar = prepare_all(c, AFTER_RUNNING)?;
    let jr = c.prepare("SELECT * FROM jobtrack.get_running_jobs()")?;
    ops.push(Op {
        operation: "running jobs",
        variants: vec![
            read("before", "2 queries, merged in the client", move |c| {
                let e = c.query(&br[0], &[])?;
                let v = c.query(&br[1], &[])?;
                Ok(merge(keyed(&e, "created_at"), keyed(&v, "created_at"), None).join(","))
            }),
            read("after", "UNION ALL … ORDER BY", move |c| {
                Ok(running_job_ids(&c.query(&ar[0], &[])?)?.join(","))
            }),
            read("jobtrack", "get_running_jobs()", move |c| {
                Ok(running_job_ids(&c.query(&jr, &[])?)?.join(","))
            }),
        ],
    });

    // ----- a page of running jobs after a cursor, halfway down the list
    // (keyset pagination: the cost of one page, wherever it is)
    let middle = c.query(
        "SELECT j.job_id, j.created_at
         FROM jobtrack.jobs AS j
         WHERE j.job_id = (SELECT r.job_id FROM jobtrack.get_running_jobs() AS r
                           OFFSET (SELECT count(*) / 2 FROM jobtrack.get_running_jobs())
                           LIMIT 1)",
        &[],
    )?;
    if let Some(cursor) = middle.first() {
        let (cursor_id, cursor_at): (String, std::time::SystemTime) =
            (cursor.get(0), cursor.get(1));
        let ap = prepare_all(c, AFTER_RUNNING_PAGE)?;
        let jp = c.prepare("SELECT * FROM jobtrack.get_running_jobs($1, $2)")?;
        let id = cursor_id.clone();
        ops.push(Op {
            operation: "running jobs, a page (100)",
            variants: vec![
                read(
                    "after",
                    "keyset page, cursor kept by the client",
                    move |c| {
                        let rows = c.query(&ap[0], &[&cursor_at, &id, &100i64])?;
                        Ok(running_job_ids(&rows)?.join(","))
                    },
                ),
                read("jobtrack", "get_running_jobs(100, after)", move |c| {
                    Ok(running_job_ids(&c.query(&jp, &[&100i32, &cursor_id])?)?.join(","))
                }),
            ],
        });
    }

    // ----- status updates
    let bue = c.prepare(strip(BEFORE_UPDATE_E))?;
    let buv = c.prepare(strip(BEFORE_UPDATE_V))?;
    let aue = c.prepare(strip(AFTER_UPDATE_E))?;
    let auv = c.prepare(strip(AFTER_UPDATE_V))?;
    let ame = c.prepare(strip(AFTER_MESSAGE_E))?;
    let amv = c.prepare(strip(AFTER_MESSAGE_V))?;
    let jue = c.prepare("SELECT jobtrack.batch_update_execution_status($1)")?;
    let juv = c.prepare("SELECT jobtrack.batch_update_variation_status($1)")?;
    let sizes: &[usize] = if smoke { &[100] } else { &[1000, 10_000] };
    for &n in sizes {
        let operation: &'static str = match n {
            1000 => "status update, 1k jobs",
            10_000 => "status update, 10k jobs",
            _ => "status update (smoke)",
        };
        let (bue, buv, aue, auv, ame, amv, jue, juv) = (
            bue.clone(),
            buv.clone(),
            aue.clone(),
            auv.clone(),
            ame.clone(),
            amv.clone(),
            jue.clone(),
            juv.clone(),
        );
        ops.push(Op {
            operation,
            variants: vec![
                Variant {
                    variant: "before",
                    label: "1 UPDATE per job, each its own transaction",
                    run: Box::new(move |c, round| {
                        let batch = data::status_batch(w, n, round);
                        let mut changed = 0;
                        let d = timed(|| -> Res<()> {
                            for (kind, u) in &batch {
                                let st = if *kind == Kind::Execution { &bue } else { &buv };
                                changed += c.execute(
                                    st,
                                    &[&u.job_id, &u.status.as_str(), &u.error_message],
                                )?;
                            }
                            Ok(())
                        })?;
                        Ok((d, format!("{changed} jobs changed")))
                    }),
                },
                Variant {
                    variant: "after",
                    label: "1 UPDATE per status (IN list) + 1 per error message, 1 transaction",
                    run: Box::new(move |c, round| {
                        let batch = data::status_batch(w, n, round);
                        let mut groups: BTreeMap<(bool, &str), Vec<&str>> = BTreeMap::new();
                        let mut messages: BTreeMap<(bool, &str), Vec<&str>> = BTreeMap::new();
                        for (kind, u) in &batch {
                            let e = *kind == Kind::Execution;
                            groups
                                .entry((e, u.status.as_str()))
                                .or_default()
                                .push(&u.job_id);
                            if let Some(m) = &u.error_message {
                                messages.entry((e, m)).or_default().push(&u.job_id);
                            }
                        }
                        let mut changed = 0;
                        let d = timed(|| -> Res<()> {
                            let mut tx = c.transaction()?;
                            for ((e, status), ids) in &groups {
                                changed +=
                                    tx.execute(if *e { &aue } else { &auv }, &[status, ids])?;
                            }
                            for ((e, message), ids) in &messages {
                                tx.execute(if *e { &ame } else { &amv }, &[message, ids])?;
                            }
                            tx.commit()?;
                            Ok(())
                        })?;
                        Ok((d, format!("{changed} jobs changed")))
                    }),
                },
                Variant {
                    variant: "jobtrack",
                    label: "batch_update_{execution,variation}_status(jsonb)",
                    run: Box::new(move |c, round| {
                        let batch = data::status_batch(w, n, round);
                        let (e, v) = status_json(&batch);
                        let mut changed = 0;
                        let d = timed(|| -> Res<()> {
                            changed += c.query_one(&jue, &[&e])?.get::<_, i32>(0);
                            changed += c.query_one(&juv, &[&v])?.get::<_, i32>(0);
                            Ok(())
                        })?;
                        Ok((d, format!("{changed} jobs changed")))
                    }),
                },
            ],
        });
    }

    // ----- batch create of 10k
    let n_create = if smoke { 100 } else { 10_000 };
    let bce = c.prepare(strip(BEFORE_CREATE_E))?;
    let bcv = c.prepare(strip(BEFORE_CREATE_V))?;
    let ace = c.prepare(strip(AFTER_CREATE_E))?;
    let acv = c.prepare(strip(AFTER_CREATE_V))?;
    let jce = c.prepare("SELECT jobtrack.batch_create_executions($1)")?;
    let jcv = c.prepare("SELECT jobtrack.batch_create_variations($1)")?;
    let create_op: &'static str = if smoke {
        "batch create (smoke)"
    } else {
        "batch create, 10k jobs"
    };
    ops.push(Op {
        operation: create_op,
        variants: vec![
            Variant {
                variant: "before",
                label: "1 INSERT per job, each its own transaction",
                run: Box::new(move |c, round| {
                    let (es, vs) = data::new_jobs(n_create, &format!("b{round}"));
                    let d = timed(|| -> Res<()> {
                        for e in &es {
                            c.execute(
                                &bce,
                                &[
                                    &e.job_id,
                                    &e.status.as_str(),
                                    &e.pipeline_mode.as_str(),
                                    &e.dataset_name,
                                    &e.preset,
                                    &e.total_steps,
                                ],
                            )?;
                        }
                        for v in &vs {
                            let varied = Value::Object(v.varied_parameters.clone());
                            let values = Value::Object(v.parameter_values.clone());
                            c.execute(
                                &bcv,
                                &[
                                    &v.job_id,
                                    &v.status.as_str(),
                                    &v.variation_id,
                                    &v.experiment_name,
                                    &v.dataset_name,
                                    &v.preset,
                                    &v.total_combinations,
                                    &varied,
                                    &values,
                                    &v.parent_experiment_id,
                                    &v.total_steps,
                                ],
                            )?;
                        }
                        Ok(())
                    })?;
                    let created = remove_new_jobs(c)?;
                    Ok((d, created))
                }),
            },
            Variant {
                variant: "after",
                label: "1 INSERT … SELECT FROM unnest(arrays) per kind, 1 transaction",
                run: Box::new(move |c, round| {
                    let (es, vs) = data::new_jobs(n_create, &format!("a{round}"));
                    let col = |f: &dyn Fn(&jobtrack_core::NewExecution) -> String| {
                        es.iter().map(f).collect::<Vec<String>>()
                    };
                    let e_ids = col(&|e| e.job_id.clone());
                    let e_status = col(&|e| e.status.as_str().to_owned());
                    let e_mode = col(&|e| e.pipeline_mode.as_str().to_owned());
                    let e_ds = col(&|e| e.dataset_name.clone());
                    let e_preset = col(&|e| e.preset.clone());
                    let e_steps: Vec<Option<i32>> = es.iter().map(|e| e.total_steps).collect();
                    let vcol = |f: &dyn Fn(&jobtrack_core::NewVariation) -> String| {
                        vs.iter().map(f).collect::<Vec<String>>()
                    };
                    let v_ids = vcol(&|v| v.job_id.clone());
                    let v_status = vcol(&|v| v.status.as_str().to_owned());
                    let v_vid = vcol(&|v| v.variation_id.clone());
                    let v_exp = vcol(&|v| v.experiment_name.clone());
                    let v_ds = vcol(&|v| v.dataset_name.clone());
                    let v_preset = vcol(&|v| v.preset.clone());
                    let v_combos: Vec<i32> = vs.iter().map(|v| v.total_combinations).collect();
                    let v_varied: Vec<Value> = vs
                        .iter()
                        .map(|v| Value::Object(v.varied_parameters.clone()))
                        .collect();
                    let v_values: Vec<Value> = vs
                        .iter()
                        .map(|v| Value::Object(v.parameter_values.clone()))
                        .collect();
                    let v_parent: Vec<Option<String>> =
                        vs.iter().map(|v| v.parent_experiment_id.clone()).collect();
                    let v_steps: Vec<Option<i32>> = vs.iter().map(|v| v.total_steps).collect();
                    let d = timed(|| -> Res<()> {
                        let mut tx = c.transaction()?;
                        tx.execute(
                            &ace,
                            &[&e_ids, &e_status, &e_mode, &e_ds, &e_preset, &e_steps],
                        )?;
                        tx.execute(
                            &acv,
                            &[
                                &v_ids, &v_status, &v_vid, &v_exp, &v_ds, &v_preset, &v_combos,
                                &v_varied, &v_values, &v_parent, &v_steps,
                            ],
                        )?;
                        tx.commit()?;
                        Ok(())
                    })?;
                    let created = remove_new_jobs(c)?;
                    Ok((d, created))
                }),
            },
            Variant {
                variant: "jobtrack",
                label: "batch_create_{executions,variations}(jsonb)",
                run: Box::new(move |c, round| {
                    let (es, vs) = data::new_jobs(n_create, &format!("j{round}"));
                    let e = serde_json::to_value(&es)?;
                    let v = serde_json::to_value(&vs)?;
                    let d = timed(|| -> Res<()> {
                        c.query_one(&jce, &[&e])?;
                        c.query_one(&jcv, &[&v])?;
                        Ok(())
                    })?;
                    let created = remove_new_jobs(c)?;
                    Ok((d, created))
                }),
            },
        ],
    });

    // ----- cleanup of old jobs (injected, untimed, before each run)
    let n_old = (w.len() / 20).clamp(50, 20_000);
    let bcl = prepare_all(c, BEFORE_CLEANUP)?;
    let acl = c.prepare(strip(AFTER_CLEANUP))?;
    let jcl = c.prepare("SELECT jobtrack.cleanup_old_jobs($1, true)")?;
    let now = Timestamp::now();
    let cleanup_op: &'static str =
        Box::leak(format!("cleanup ({} old of {} jobs)", n_old, w.len() + n_old).into_boxed_str());
    let days = 365i32;
    ops.push(Op {
        operation: cleanup_op,
        variants: vec![
            Variant {
                variant: "before",
                label: "2 DELETEs, each its own transaction",
                run: Box::new(move |c, round| {
                    copy_jobs(c, &data::old_jobs(n_old, &format!("b{round}"), now))?;
                    let d = timed(|| -> Res<()> {
                        for st in &bcl {
                            c.execute(st, &[&days])?;
                        }
                        Ok(())
                    })?;
                    Ok((d, old_left(c)?))
                }),
            },
            Variant {
                variant: "after",
                label: "1 statement, 2 DELETE CTEs",
                run: Box::new(move |c, round| {
                    copy_jobs(c, &data::old_jobs(n_old, &format!("a{round}"), now))?;
                    let d = timed(|| -> Res<()> {
                        c.query_one(&acl, &[&days])?;
                        Ok(())
                    })?;
                    Ok((d, old_left(c)?))
                }),
            },
            Variant {
                variant: "jobtrack",
                label: "cleanup_old_jobs(365, true)",
                run: Box::new(move |c, round| {
                    copy_jobs(c, &data::old_jobs(n_old, &format!("j{round}"), now))?;
                    let d = timed(|| -> Res<()> {
                        c.query_one(&jcl, &[&days])?;
                        Ok(())
                    })?;
                    Ok((d, old_left(c)?))
                }),
            },
        ],
    });

    // ----- run them all, then the ceiling
    let mut rows = Vec::new();
    let mut mismatches = Vec::new();
    for mut op in ops {
        let is_write = op.operation.starts_with("status")
            || op.operation.starts_with("batch")
            || op.operation.starts_with("cleanup");
        let budget = if is_write { writes } else { reads };
        let mut answers: Vec<(&str, Answer)> = Vec::new();
        for v in &mut op.variants {
            eprintln!("  postgres: {} / {}", op.operation, v.variant);
            let mut answer = String::new();
            let summary = measure(budget, |i| {
                let (d, a) = (v.run)(c, i)?;
                answer = a;
                Ok::<_, Box<dyn std::error::Error>>(d)
            })?;
            answers.push((v.variant, answer));
            rows.push(Row {
                operation: op.operation.to_owned(),
                variant: v.variant.to_owned(),
                label: v.label.to_owned(),
                summary,
                vs_before: None,
                vs_after: None,
            });
        }
        check_answers(op.operation, &answers, &mut mismatches);
    }
    let one = c.prepare("SELECT 1")?;
    let summary = measure(reads, |_| {
        timed(|| -> Res<()> {
            c.query_one(&one, &[])?;
            Ok(())
        })
    })?;
    for op in rows
        .iter()
        .filter(|r| r.variant == "before")
        .map(|r| r.operation.clone())
        .collect::<Vec<_>>()
    {
        let at = rows.iter().rposition(|r| r.operation == op).expect("row") + 1;
        rows.insert(
            at,
            Row {
                operation: op,
                variant: "ceiling".to_owned(),
                label: "SELECT 1 (one round trip)".to_owned(),
                summary: summary.clone(),
                vs_before: None,
                vs_after: None,
            },
        );
    }
    Ok((rows, mismatches))
}

/// Records where variants of one operation answered differently.
pub fn check_answers(operation: &str, answers: &[(&str, Answer)], out: &mut Vec<String>) {
    let Some((first, expected)) = answers.first() else {
        return;
    };
    for (variant, a) in &answers[1..] {
        if a != expected {
            // From a little before the first difference: long answers
            // differ far from their start.
            let at = a
                .chars()
                .zip(expected.chars())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            let from = at.saturating_sub(40);
            let cut = |s: &str| {
                let part: String = s.chars().skip(from).take(160).collect();
                if from > 0 {
                    format!("…{part}")
                } else {
                    part
                }
            };
            let msg = format!(
                "{operation}: {variant} answered `{}`, {first} `{}`",
                cut(a),
                cut(expected)
            );
            eprintln!("MISMATCH {msg}");
            out.push(msg);
        }
    }
}

fn function_name(sql: &'static str) -> &'static str {
    let start = sql.find("jobtrack.").map_or(0, |i| i + "jobtrack.".len());
    let end = sql.rfind('(').unwrap_or(sql.len());
    Box::leak(format!("{}()", &sql[start..end]).into_boxed_str())
}

fn job_ids(rows: &[PgRow]) -> Res<Vec<String>> {
    rows.iter()
        .map(|r| {
            let job = Job {
                job_id: r.get("job_id"),
                job_type: serde_json::from_value(Value::String(r.get("job_type")))?,
                status: serde_json::from_value(Value::String(r.get("status")))?,
                dataset_name: r.get("dataset_name"),
                preset: r.get("preset"),
                mode: r.get("mode"),
                experiment_name: r.get("experiment_name"),
                variation_id: r.get("variation_id"),
                success: r.get("success"),
                duration_seconds: r.get("duration_seconds"),
                error_message: r.get("error_message"),
                output_path: r.get("output_path"),
                total_steps: r.get("total_steps"),
                current_step: r.get("current_step"),
                start_time: r.get::<_, Option<SystemTime>>("start_time").map(ts),
                created_at: ts(r.get("created_at")),
                updated_at: ts(r.get("updated_at")),
                last_heartbeat: last_heartbeat(r),
            };
            Ok(job.job_id)
        })
        .collect()
}

/// The ids of rows of the shape of get_running_jobs, each decoded whole as
/// a client would use it, whichever variant sent it: `progress` as the
/// function computes it, or computed here from the steps when a plain query
/// leaves it to the client.
fn running_job_ids(rows: &[PgRow]) -> Res<Vec<String>> {
    rows.iter()
        .map(|r| {
            let (current_step, total_steps) = (r.get("current_step"), r.get("total_steps"));
            let job = RunningJob {
                job_id: r.get("job_id"),
                job_type: serde_json::from_value(Value::String(r.get("job_type")))?,
                status: serde_json::from_value(Value::String(r.get("status")))?,
                dataset_name: r.get("dataset_name"),
                start_time: r.get::<_, Option<SystemTime>>("start_time").map(ts),
                current_step,
                total_steps,
                progress: match r.columns().iter().any(|c| c.name() == "progress") {
                    true => r.get("progress"),
                    false => jobtrack_core::progress(current_step, total_steps),
                },
                experiment_name: r.get("experiment_name"),
                variation_id: r.get("variation_id"),
                last_heartbeat: last_heartbeat(r),
            };
            Ok(job.job_id)
        })
        .collect()
}

/// `last_heartbeat` when the row has it: the plain-SQL variants, written
/// before 0.6.0, do not select it (a column less for them to send).
fn last_heartbeat(r: &PgRow) -> Option<Timestamp> {
    r.columns()
        .iter()
        .any(|c| c.name() == "last_heartbeat")
        .then(|| r.get::<_, Option<SystemTime>>("last_heartbeat").map(ts))
        .flatten()
}

fn ts(t: SystemTime) -> Timestamp {
    let micros = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_micros() as i64,
        Err(e) => -(e.duration().as_micros() as i64),
    };
    Timestamp::from_unix_micros(micros)
}

/// The batch as the two jsonb arrays of jobtrack's batch functions.
fn status_json(batch: &[(Kind, jobtrack_core::StatusUpdate)]) -> (Value, Value) {
    let pick = |k: Kind| {
        Value::Array(
            batch
                .iter()
                .filter(|(kind, _)| *kind == k)
                .map(|(_, u)| {
                    let mut m = serde_json::Map::new();
                    m.insert("job_id".into(), Value::String(u.job_id.clone()));
                    m.insert("status".into(), Value::String(u.status.as_str().into()));
                    if let Some(msg) = &u.error_message {
                        m.insert("error_message".into(), Value::String(msg.clone()));
                    }
                    Value::Object(m)
                })
                .collect(),
        )
    };
    (pick(Kind::Execution), pick(Kind::Variation))
}

/// Deletes the jobs a create run made; says how many there were.
fn remove_new_jobs(c: &mut Client) -> Res<Answer> {
    let e = c.execute(
        "DELETE FROM jobtrack.executions WHERE job_id LIKE 'new-%'",
        &[],
    )?;
    let v = c.execute(
        "DELETE FROM jobtrack.variations WHERE job_id LIKE 'new-%'",
        &[],
    )?;
    Ok(format!("{e} executions and {v} variations created"))
}

/// How many injected old jobs a cleanup left (done or cancelled ones must
/// all be gone).
fn old_left(c: &mut Client) -> Res<Answer> {
    let n: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM jobtrack.executions WHERE job_id LIKE 'old-%') \
                  + (SELECT count(*) FROM jobtrack.variations WHERE job_id LIKE 'old-%')",
            &[],
        )?
        .get(0);
    Ok(format!("{n} old jobs left"))
}

/// Removes `--` comment lines: one statement for `prepare`.
fn strip(sql: &str) -> &str {
    Box::leak(
        statements(sql)
            .into_iter()
            .next()
            .unwrap_or_default()
            .into_boxed_str(),
    )
}

/// Write cost: the same status updates on jobtrack's tables (every index,
/// the summary triggers) and on copies with only a primary key.
pub fn write_cost(url: &str, c: &mut Client, w: &Workload, smoke: bool) -> Res<Vec<WriteCost>> {
    c.batch_execute(
        "DROP SCHEMA IF EXISTS bench_plain CASCADE; CREATE SCHEMA bench_plain;
         CREATE TABLE bench_plain.executions
             (LIKE jobtrack.executions INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
         CREATE TABLE bench_plain.variations
             (LIKE jobtrack.variations INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
         INSERT INTO bench_plain.executions SELECT * FROM jobtrack.executions;
         INSERT INTO bench_plain.variations SELECT * FROM jobtrack.variations;
         ALTER TABLE bench_plain.executions ADD PRIMARY KEY (job_id);
         ALTER TABLE bench_plain.variations ADD PRIMARY KEY (job_id);",
    )?;
    c.batch_execute("VACUUM ANALYZE bench_plain.executions, bench_plain.variations")?;
    let mut plain = connect(url, DATABASE)?;
    plain.batch_execute("SET search_path = bench_plain")?;
    let budget = Budget::writes(smoke);
    let mut out = Vec::new();
    let cases: &[(&str, usize)] = if smoke {
        &[
            ("batch (after SQL)", 100),
            ("1 per transaction (before SQL)", 50),
        ]
    } else {
        &[
            ("batch (after SQL)", 10_000.min(w.len())),
            ("1 per transaction (before SQL)", 1000.min(w.len())),
        ]
    };
    for &(update, n) in cases {
        let mut pair = Vec::new();
        for (table, client) in [
            ("jobtrack: all indexes + summary triggers", &mut *c),
            ("primary key only", &mut plain),
        ] {
            eprintln!("  write cost: {update} / {table}");
            let batched = update.starts_with("batch");
            let (ue, uv, me, mv) = if batched {
                (
                    client.prepare(strip(AFTER_UPDATE_E))?,
                    client.prepare(strip(AFTER_UPDATE_V))?,
                    client.prepare(strip(AFTER_MESSAGE_E))?,
                    client.prepare(strip(AFTER_MESSAGE_V))?,
                )
            } else {
                let e = client.prepare(strip(BEFORE_UPDATE_E))?;
                let v = client.prepare(strip(BEFORE_UPDATE_V))?;
                (e.clone(), v.clone(), e, v)
            };
            let summary: Summary = measure(budget, |round| {
                let batch = data::status_batch(w, n, round);
                timed(|| -> Res<()> {
                    if batched {
                        let mut groups: BTreeMap<(bool, &str), Vec<&str>> = BTreeMap::new();
                        let mut messages: BTreeMap<(bool, &str), Vec<&str>> = BTreeMap::new();
                        for (kind, u) in &batch {
                            let e = *kind == Kind::Execution;
                            groups
                                .entry((e, u.status.as_str()))
                                .or_default()
                                .push(&u.job_id);
                            if let Some(m) = &u.error_message {
                                messages.entry((e, m)).or_default().push(&u.job_id);
                            }
                        }
                        let mut tx = client.transaction()?;
                        for ((e, status), ids) in &groups {
                            tx.execute(if *e { &ue } else { &uv }, &[status, ids])?;
                        }
                        for ((e, message), ids) in &messages {
                            tx.execute(if *e { &me } else { &mv }, &[message, ids])?;
                        }
                        tx.commit()?;
                    } else {
                        for (kind, u) in &batch {
                            let st = if *kind == Kind::Execution { &ue } else { &uv };
                            client
                                .execute(st, &[&u.job_id, &u.status.as_str(), &u.error_message])?;
                        }
                    }
                    Ok(())
                })
            })?;
            pair.push((table, summary));
        }
        let pk_median = pair[1].1.median_ms;
        for (table, summary) in pair {
            out.push(WriteCost {
                update: update.to_owned(),
                table: table.to_owned(),
                jobs: n,
                jobs_per_second: n as f64 / (summary.median_ms / 1e3),
                cost_vs_pk_only: summary.median_ms / pk_median,
                summary,
            });
        }
    }
    c.batch_execute("DROP SCHEMA bench_plain CASCADE")?;
    Ok(out)
}
