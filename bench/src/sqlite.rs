//! SQLite: the same operations in process — plain SQL as the original
//! design ran it (before), plain SQL written well (after), `JobStore`'s
//! functions, its cache, and a HashMap lookup as the ceiling of a cache hit.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use jobtrack_core::{Statistics, Status, Timestamp};
use jobtrack_sqlite::JobStore;
use rusqlite::types::Value;
use rusqlite::{params, Connection};

use crate::data::{self, Kind, Workload};
use crate::export::Exporter;
use crate::measure::{measure, timed, Budget};
use crate::pg::check_answers;
use crate::report::{ExportRun, Row};
use crate::{statements, Res};

const BEFORE_STATISTICS: &str = include_str!("../sql/before/statistics.sql");
const BEFORE_DATASET: &str = include_str!("../sql/before/dataset_stats.sql");
const BEFORE_ALL: &str = include_str!("../sql/before/all_jobs.sql");
const BEFORE_RECENT: &str = include_str!("../sql/before/recent_jobs.sql");
const BEFORE_RUNNING: &str = include_str!("../sql/before/running_jobs.sql");
const BEFORE_CREATE_E: &str = include_str!("../sql/before/create_execution.sql");
const BEFORE_CREATE_V: &str = include_str!("../sql/before/create_variation.sql");
const AFTER_STATISTICS: &str = include_str!("../sql/after/statistics.sql");
const AFTER_DATASET: &str = include_str!("../sql/after/dataset_stats.sql");
const AFTER_ALL: &str = include_str!("../sql/after/all_jobs.sql");
const AFTER_RECENT: &str = include_str!("../sql/after/recent_jobs.sql");
const AFTER_RUNNING: &str = include_str!("../sql/after/running_jobs.sql");
const UPDATE_E: &str = include_str!("../sql/sqlite/update_status_executions.sql");
const UPDATE_V: &str = include_str!("../sql/sqlite/update_status_variations.sql");
const CLEANUP: &str = include_str!("../sql/sqlite/cleanup.sql");
const RUNNING_PAGE: &str = include_str!("../sql/sqlite/running_page.sql");

type Answer = String;
type Run<'a> = Box<dyn FnMut(usize) -> Res<(Duration, Answer)> + 'a>;
/// A variant: its name, how it works, and its run.
type Variant<'a> = (&'static str, &'static str, Run<'a>);

/// Loads jobs with plain INSERTs in one transaction (the triggers keep the
/// summary and the counters as for any write).
fn insert_jobs(conn: &mut Connection, w: &Workload) -> Res<()> {
    let tx = conn.transaction()?;
    {
        let mut e = tx.prepare(
            "INSERT INTO executions (job_id, status, pipeline_mode, dataset_name, preset, \
             total_steps, current_step, start_time, end_time, duration_seconds, success, \
             error_message, output_path, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        for x in &w.executions {
            let j = &x.common;
            e.execute(params![
                j.job_id,
                j.status.as_str(),
                x.pipeline_mode.as_str(),
                j.dataset_name,
                j.preset,
                j.total_steps,
                j.current_step,
                j.start_time.map(|t| t.to_string()),
                j.end_time.map(|t| t.to_string()),
                j.duration_seconds,
                j.success,
                j.error_message,
                j.output_path,
                j.created_at.to_string(),
                j.updated_at.to_string(),
            ])?;
        }
        let mut v = tx.prepare(
            "INSERT INTO variations (job_id, status, variation_id, experiment_name, \
             dataset_name, preset, total_combinations, varied_parameters, parameter_values, \
             parent_experiment_id, total_steps, current_step, start_time, end_time, \
             duration_seconds, success, error_message, output_path, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
             ?17, ?18, ?19, ?20)",
        )?;
        for x in &w.variations {
            let j = &x.common;
            v.execute(params![
                j.job_id,
                j.status.as_str(),
                x.variation_id,
                x.experiment_name,
                j.dataset_name,
                j.preset,
                x.total_combinations,
                x.varied_parameters.to_string(),
                x.parameter_values.to_string(),
                x.parent_experiment_id,
                j.total_steps,
                j.current_step,
                j.start_time.map(|t| t.to_string()),
                j.end_time.map(|t| t.to_string()),
                j.duration_seconds,
                j.success,
                j.error_message,
                j.output_path,
                j.created_at.to_string(),
                j.updated_at.to_string(),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn sql(conn: &Connection, text: &str) -> Res<Vec<String>> {
    let all = statements(text);
    for s in &all {
        conn.prepare_cached(s)?;
    }
    Ok(all)
}

/// A read timed as the mean of `calls` calls (fast calls are timed in
/// loops: one call can be shorter than the clock's resolution).
fn read<'a>(calls: usize, mut f: impl FnMut() -> Res<Answer> + 'a) -> Run<'a> {
    Box::new(move |_| {
        let start = Instant::now();
        let mut a = String::new();
        for _ in 0..calls {
            a = f()?;
        }
        Ok((start.elapsed() / calls as u32, a))
    })
}

/// A fast read timed alone: the mean of `calls` calls of `f`, its result
/// kept from the optimiser; the answer is made from the last result after
/// the clock stops, so that formatting it is not part of a cache hit's
/// time (nor of the HashMap's).
fn read_hits<'a, T>(
    calls: usize,
    mut f: impl FnMut() -> Res<T> + 'a,
    answer: impl Fn(&T) -> Answer + 'a,
) -> Run<'a> {
    Box::new(move |_| {
        let start = Instant::now();
        let mut last = None;
        for _ in 0..calls {
            last = Some(black_box(f()?));
        }
        let elapsed = start.elapsed() / calls as u32;
        Ok((elapsed, last.as_ref().map(&answer).unwrap_or_default()))
    })
}

fn job_ids(jobs: &[jobtrack_core::Job]) -> Answer {
    jobs.iter()
        .map(|j| j.job_id.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn stats_answer(
    e: (i64, &BTreeMap<String, i64>, i64, i64),
    v: (i64, &BTreeMap<String, i64>, i64, i64),
) -> Answer {
    format!(
        "{} {} {:?} {:?} {} {}",
        e.0,
        v.0,
        e.1,
        v.1,
        e.2 + v.2,
        e.3 + v.3
    )
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

/// Most columns a listing's plain SQL selects (the Job row's 17).
const MOST_COLUMNS: usize = 17;

/// A row as a plain-SQL client holds it: every column it selected decoded
/// into an owned value (text copied out of SQLite), as jobtrack decodes
/// its rows into `Job`s — otherwise the baseline would read one column
/// where jobtrack reads seventeen.
fn owned_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Value; MOST_COLUMNS]> {
    let mut row: [Value; MOST_COLUMNS] = std::array::from_fn(|_| Value::Null);
    for (i, v) in row.iter_mut().enumerate().take(r.as_ref().column_count()) {
        *v = r.get(i)?;
    }
    Ok(row)
}

fn text(v: &Value) -> Res<&str> {
    match v {
        Value::Text(t) => Ok(t),
        other => Err(format!("not text: {other:?}").into()),
    }
}

/// The client's merge of two sorted listings (text timestamps sort as
/// times): newest first, ties on job_id descending.
fn merged(conn: &Connection, sqls: &[String], key: &str, lim: Option<i64>) -> Res<Answer> {
    let mut rows: Vec<(String, String, [Value; MOST_COLUMNS])> = Vec::new();
    for s in sqls {
        let mut st = conn.prepare_cached(s)?;
        let (k, id) = (st.column_index(key)?, st.column_index("job_id")?);
        let mut q = match lim {
            Some(l) => st.query(params![l])?,
            None => st.query([])?,
        };
        while let Some(r) = q.next()? {
            let row = owned_row(r)?;
            rows.push((text(&row[k])?.to_owned(), text(&row[id])?.to_owned(), row));
        }
    }
    rows.sort_by(|a, b| (&b.0, &b.1).cmp(&(&a.0, &a.1)));
    if let Some(l) = lim {
        rows.truncate(l as usize);
    }
    Ok(rows.into_iter().map(|r| r.1).collect::<Vec<_>>().join(","))
}

fn listed(conn: &Connection, sql: &str, lim: Option<i64>) -> Res<Answer> {
    let mut st = conn.prepare_cached(sql)?;
    let id = st.column_index("job_id")?;
    let mut q = match lim {
        Some(l) => st.query(params![l])?,
        None => st.query([])?,
    };
    let mut rows = Vec::new();
    while let Some(r) = q.next()? {
        rows.push(owned_row(r)?);
    }
    let ids = rows.iter().map(|r| text(&r[id])).collect::<Res<Vec<_>>>()?;
    Ok(ids.join(","))
}

/// What the SQLite half measured: the per-call rows, the differences
/// between variants, and the exports.
pub type SqliteResults = (Vec<Row>, Vec<String>, Vec<ExportRun>);

/// Runs the SQLite benchmarks on a temporary file under `dir`; with
/// `exporter`, every job is exported first, right after the load.
pub fn run(
    dir: &Path,
    w: &Workload,
    smoke: bool,
    exporter: Option<&Exporter>,
) -> Res<SqliteResults> {
    let path = dir.join(format!("jobtrack-bench-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let result = run_on(&path, w, smoke, exporter);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    result
}

fn run_on(
    path: &Path,
    w: &Workload,
    smoke: bool,
    exporter: Option<&Exporter>,
) -> Res<SqliteResults> {
    let store = JobStore::open(path)?;
    // The plain-SQL client: a connection set up as JobStore's writer is
    // (WAL, synchronous = NORMAL, statement journals in memory).
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(64);
    insert_jobs(&mut conn, w)?;
    conn.execute_batch("ANALYZE")?;
    // Every job out while the file holds just the loaded jobs (the
    // operations below write).
    let (export, export_faults) = match exporter {
        Some(ex) => crate::export::sqlite(path, ex)?,
        None => (Vec::new(), Vec::new()),
    };
    let conn = std::cell::RefCell::new(conn);
    let dataset = w.busiest_dataset();
    let reads = Budget::reads(smoke);
    let writes = Budget::writes(smoke);
    let (k_cached, k_ceiling) = if smoke { (5, 100) } else { (2_000, 100_000) };

    let bs = sql(&conn.borrow(), BEFORE_STATISTICS)?;
    let as_ = sql(&conn.borrow(), AFTER_STATISTICS)?;
    let bd = sql(&conn.borrow(), BEFORE_DATASET)?;
    let ad = sql(&conn.borrow(), AFTER_DATASET)?;
    let ba = sql(&conn.borrow(), BEFORE_ALL)?;
    let aa = sql(&conn.borrow(), AFTER_ALL)?;
    let br = sql(&conn.borrow(), BEFORE_RECENT)?;
    let ar = sql(&conn.borrow(), AFTER_RECENT)?;
    let bru = sql(&conn.borrow(), BEFORE_RUNNING)?;
    let aru = sql(&conn.borrow(), AFTER_RUNNING)?;
    let rp = sql(&conn.borrow(), RUNNING_PAGE)?;

    // The ceiling: what a cache hit cannot beat — a HashMap lookup and a
    // clone of the value.
    let mut map_stats = HashMap::new();
    map_stats.insert("statistics".to_owned(), store.get_statistics_optimized()?);
    let mut map_ds = HashMap::new();
    map_ds.insert(
        format!("dataset_stats:{dataset}"),
        store.get_dataset_stats_optimized(dataset)?,
    );
    let mut map_recent = HashMap::new();
    map_recent.insert(
        "recent_jobs:10".to_owned(),
        store.get_recent_jobs_optimized(10)?,
    );
    let ds_key = format!("dataset_stats:{dataset}");

    // The cursor of the page below (before `ops`: nothing may return
    // early while it borrows the closures' captures).
    let running = store.get_running_jobs(None, None)?;
    let middle_running = match running.get(running.len() / 2) {
        None => None,
        Some(middle) => {
            let created_at: String = conn.borrow().query_row(
                "SELECT created_at FROM executions WHERE job_id = ?1 \
                 UNION ALL SELECT created_at FROM variations WHERE job_id = ?1",
                [&middle.job_id],
                |r| r.get(0),
            )?;
            Some((middle.job_id.clone(), created_at))
        }
    };

    let mut ops: Vec<(&str, Vec<Variant>)> = Vec::new();
    ops.push((
        "statistics",
        vec![
            (
                "before",
                "10 COUNT queries",
                read(1, || {
                    let c = conn.borrow();
                    let mut kinds = Vec::new();
                    for k in 0..2 {
                        let total: i64 = c.prepare_cached(&bs[k])?.query_row([], |r| r.get(0))?;
                        let mut st = c.prepare_cached(&bs[2 + k])?;
                        let by_status: BTreeMap<String, i64> = st
                            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                            .collect::<Result<_, _>>()?;
                        let ok: i64 = c.prepare_cached(&bs[4 + k])?.query_row([], |r| r.get(0))?;
                        let failed: i64 =
                            c.prepare_cached(&bs[6 + k])?.query_row([], |r| r.get(0))?;
                        let avg: Option<f64> =
                            c.prepare_cached(&bs[8 + k])?.query_row([], |r| r.get(0))?;
                        kinds.push((total, by_status, ok, failed, avg));
                    }
                    let (e, v) = (&kinds[0], &kinds[1]);
                    black_box((e.4, v.4));
                    Ok(stats_answer((e.0, &e.1, e.2, e.3), (v.0, &v.1, v.2, v.3)))
                }),
            ),
            (
                "after",
                "2 aggregate queries with CASE",
                read(1, || {
                    let c = conn.borrow();
                    let mut kinds = Vec::new();
                    for s in &as_ {
                        let (total, by_status, ok, failed, avg) =
                            c.prepare_cached(s)?.query_row([], |r| {
                                let mut m = BTreeMap::new();
                                for (i, st) in Status::ALL.iter().enumerate() {
                                    let n: i64 = r.get(1 + i)?;
                                    if n > 0 {
                                        m.insert(st.as_str().to_owned(), n);
                                    }
                                }
                                Ok((
                                    r.get::<_, i64>(0)?,
                                    m,
                                    r.get::<_, i64>(11)?,
                                    r.get::<_, i64>(12)?,
                                    r.get::<_, Option<f64>>(13)?,
                                ))
                            })?;
                        kinds.push((total, by_status, ok, failed, avg));
                    }
                    let (e, v) = (&kinds[0], &kinds[1]);
                    black_box((e.4, v.4));
                    Ok(stats_answer((e.0, &e.1, e.2, e.3), (v.0, &v.1, v.2, v.3)))
                }),
            ),
            (
                "jobtrack",
                "get_statistics_optimized()",
                read(1, || {
                    Ok(statistics_answer(&store.get_statistics_optimized()?))
                }),
            ),
            (
                "cached",
                "get_statistics_cached()",
                read_hits(
                    k_cached,
                    || Ok(store.get_statistics_cached()?),
                    statistics_answer,
                ),
            ),
            (
                "ceiling",
                "HashMap get + clone",
                read_hits(
                    k_ceiling,
                    || Ok(map_stats.get("statistics").cloned().ok_or("no entry")?),
                    |_| String::new(),
                ),
            ),
        ],
    ));
    let ds_answer = |e: i64, v: i64, ok: i64, f: i64| format!("{e} {v} {ok} {f}");
    ops.push((
        "dataset stats",
        vec![
            (
                "before",
                "8 queries",
                read(1, || {
                    let c = conn.borrow();
                    let mut n = Vec::new();
                    for s in &bd[..6] {
                        n.push(
                            c.prepare_cached(s)?
                                .query_row([dataset], |r| r.get::<_, i64>(0))?,
                        );
                    }
                    for s in &bd[6..] {
                        let agg = c.prepare_cached(s)?.query_row([dataset], |r| {
                            Ok((
                                r.get::<_, Option<f64>>(0)?,
                                r.get::<_, i64>(1)?,
                                r.get::<_, Option<f64>>(2)?,
                                r.get::<_, Option<f64>>(3)?,
                                r.get::<_, Option<String>>(4)?,
                                r.get::<_, Option<String>>(5)?,
                            ))
                        })?;
                        black_box(agg);
                    }
                    Ok(ds_answer(n[0], n[1], n[2] + n[3], n[4] + n[5]))
                }),
            ),
            (
                "after",
                "1 query, UNION ALL + CASE",
                read(1, || {
                    let c = conn.borrow();
                    let r = c.prepare_cached(&ad[0])?.query_row([dataset], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<f64>>(4)?,
                            r.get::<_, Option<String>>(7)?,
                        ))
                    })?;
                    black_box((r.4, &r.5));
                    Ok(ds_answer(r.0, r.1, r.2, r.3))
                }),
            ),
            (
                "jobtrack",
                "get_dataset_stats_optimized()",
                read(1, || {
                    let d = store.get_dataset_stats_optimized(dataset)?;
                    Ok(ds_answer(
                        d.executions,
                        d.variations,
                        d.successful_jobs,
                        d.failed_jobs,
                    ))
                }),
            ),
            (
                "cached",
                "get_dataset_stats_cached()",
                read_hits(
                    k_cached,
                    || Ok(store.get_dataset_stats_cached(dataset)?),
                    move |d| {
                        ds_answer(d.executions, d.variations, d.successful_jobs, d.failed_jobs)
                    },
                ),
            ),
            (
                "ceiling",
                "HashMap get + clone",
                read_hits(
                    k_ceiling,
                    || Ok(map_ds.get(&ds_key).cloned().ok_or("no entry")?),
                    |_| String::new(),
                ),
            ),
        ],
    ));
    ops.push((
        "all jobs (100)",
        vec![
            (
                "before",
                "2 queries, merged in the client",
                read(1, || merged(&conn.borrow(), &ba, "created_at", Some(100))),
            ),
            (
                "after",
                "UNION ALL … ORDER BY … LIMIT",
                read(1, || listed(&conn.borrow(), &aa[0], Some(100))),
            ),
            (
                "jobtrack",
                "get_all_jobs_optimized(100)",
                read(1, || {
                    Ok(store
                        .get_all_jobs_optimized(100, None)?
                        .into_iter()
                        .map(|j| j.job_id)
                        .collect::<Vec<_>>()
                        .join(","))
                }),
            ),
        ],
    ));
    ops.push((
        "recent jobs (10)",
        vec![
            (
                "before",
                "2 queries, merged in the client",
                read(1, || merged(&conn.borrow(), &br, "updated_at", Some(10))),
            ),
            (
                "after",
                "UNION ALL … ORDER BY … LIMIT",
                read(1, || listed(&conn.borrow(), &ar[0], Some(10))),
            ),
            (
                "jobtrack",
                "get_recent_jobs_optimized()",
                read(1, || {
                    Ok(store
                        .get_recent_jobs_optimized(10)?
                        .into_iter()
                        .map(|j| j.job_id)
                        .collect::<Vec<_>>()
                        .join(","))
                }),
            ),
            (
                "cached",
                "get_recent_jobs_cached()",
                read_hits(
                    k_cached,
                    || Ok(store.get_recent_jobs_cached(10)?),
                    |jobs| job_ids(jobs),
                ),
            ),
            (
                "ceiling",
                "HashMap get + clone",
                read_hits(
                    k_ceiling,
                    || {
                        Ok(map_recent
                            .get("recent_jobs:10")
                            .cloned()
                            .ok_or("no entry")?)
                    },
                    |_| String::new(),
                ),
            ),
        ],
    ));
    ops.push((
        "running jobs",
        vec![
            (
                "before",
                "2 queries, merged in the client",
                read(1, || merged(&conn.borrow(), &bru, "created_at", None)),
            ),
            (
                "after",
                "UNION ALL … ORDER BY",
                read(1, || listed(&conn.borrow(), &aru[0], None)),
            ),
            (
                "jobtrack",
                "get_running_jobs()",
                read(1, || {
                    Ok(store
                        .get_running_jobs(None, None)?
                        .into_iter()
                        .map(|j| j.job_id)
                        .collect::<Vec<_>>()
                        .join(","))
                }),
            ),
        ],
    ));

    // A page of running jobs after a cursor halfway down the list: keyset
    // pagination costs one page wherever it is.
    if let Some((cursor_id, cursor_at)) = middle_running {
        let id = cursor_id.clone();
        let conn = &conn;
        let store = &store;
        ops.push((
            "running jobs, a page (100)",
            vec![
                (
                    "after",
                    "keyset page, cursor kept by the client",
                    read(1, move || {
                        let c = conn.borrow();
                        let mut st = c.prepare_cached(&rp[0])?;
                        let mut q = st.query(params![cursor_at, id, 100i64])?;
                        let mut rows = Vec::new();
                        while let Some(r) = q.next()? {
                            rows.push(owned_row(r)?);
                        }
                        let ids = rows.iter().map(|r| text(&r[0])).collect::<Res<Vec<_>>>()?;
                        Ok(ids.join(","))
                    }),
                ),
                (
                    "jobtrack",
                    "get_running_jobs(100, after)",
                    read(1, move || {
                        Ok(store
                            .get_running_jobs(Some(100), Some(&cursor_id))?
                            .into_iter()
                            .map(|j| j.job_id)
                            .collect::<Vec<_>>()
                            .join(","))
                    }),
                ),
            ],
        ));
    }

    // ----- writes
    let update_e: &'static str = Box::leak(statements(UPDATE_E).remove(0).into_boxed_str());
    let update_v: &'static str = Box::leak(statements(UPDATE_V).remove(0).into_boxed_str());
    let update_sizes: &[usize] = if smoke { &[100] } else { &[1000, 10_000] };
    for &n in update_sizes {
        let name = match n {
            1000 => "status update, 1k jobs",
            10_000 => "status update, 10k jobs",
            _ => "status update (smoke)",
        };
        let (ue, uv) = (update_e, update_v);
        let apply =
            move |c: &Connection, batch: &[(Kind, jobtrack_core::StatusUpdate)]| -> Res<usize> {
                let mut changed = 0;
                for (kind, u) in batch {
                    let s = if *kind == Kind::Execution { ue } else { uv };
                    changed += c.prepare_cached(s)?.execute(params![
                        u.job_id,
                        u.status.as_str(),
                        u.error_message
                    ])?;
                }
                Ok(changed)
            };
        let conn_ref = &conn;
        let store_ref = &store;
        ops.push((
            name,
            vec![
                (
                    "before",
                    "1 UPDATE per job, each its own transaction",
                    Box::new(move |round| {
                        let batch = data::status_batch(w, n, round);
                        let mut changed = 0;
                        let d = timed(|| -> Res<()> {
                            changed = apply(&conn_ref.borrow(), &batch)?;
                            Ok(())
                        })?;
                        Ok((d, format!("{changed} jobs changed")))
                    }),
                ),
                (
                    "after",
                    "1 UPDATE per job, 1 transaction",
                    Box::new(move |round| {
                        let batch = data::status_batch(w, n, round);
                        let mut changed = 0;
                        let d = timed(|| -> Res<()> {
                            let mut c = conn_ref.borrow_mut();
                            let tx = c.transaction()?;
                            changed = apply(&tx, &batch)?;
                            tx.commit()?;
                            Ok(())
                        })?;
                        Ok((d, format!("{changed} jobs changed")))
                    }),
                ),
                (
                    // Both kinds in one transaction, as "after" does: the
                    // two one-shot methods would commit twice.
                    "jobtrack",
                    "batch_update_{execution,variation}_status(), 1 transaction",
                    Box::new(move |round| {
                        let batch = data::status_batch(w, n, round);
                        let (e, v): (Vec<_>, Vec<_>) =
                            batch.into_iter().partition(|(k, _)| *k == Kind::Execution);
                        let e: Vec<_> = e.into_iter().map(|x| x.1).collect();
                        let v: Vec<_> = v.into_iter().map(|x| x.1).collect();
                        let mut changed = 0;
                        let d = timed(|| -> Res<()> {
                            changed = store_ref.transaction(|tx| {
                                Ok(tx.batch_update_execution_status(&e)?
                                    + tx.batch_update_variation_status(&v)?)
                            })?;
                            Ok(())
                        })?;
                        Ok((d, format!("{changed} jobs changed")))
                    }),
                ),
            ],
        ));
    }

    let n_create = if smoke { 100 } else { 10_000 };
    let create_e: &'static str = Box::leak(statements(BEFORE_CREATE_E).remove(0).into_boxed_str());
    let create_v: &'static str = Box::leak(statements(BEFORE_CREATE_V).remove(0).into_boxed_str());
    let insert_new = {
        let (ce, cv) = (create_e, create_v);
        move |c: &Connection,
              es: &[jobtrack_core::NewExecution],
              vs: &[jobtrack_core::NewVariation]|
              -> Res<()> {
            for e in es {
                c.prepare_cached(ce)?.execute(params![
                    e.job_id,
                    e.status.as_str(),
                    e.pipeline_mode.as_str(),
                    e.dataset_name,
                    e.preset,
                    e.total_steps
                ])?;
            }
            for v in vs {
                c.prepare_cached(cv)?.execute(params![
                    v.job_id,
                    v.status.as_str(),
                    v.variation_id,
                    v.experiment_name,
                    v.dataset_name,
                    v.preset,
                    v.total_combinations,
                    serde_json::Value::Object(v.varied_parameters.clone()).to_string(),
                    serde_json::Value::Object(v.parameter_values.clone()).to_string(),
                    v.parent_experiment_id,
                    v.total_steps
                ])?;
            }
            Ok(())
        }
    };
    // Deletes the jobs a create run made; says how many there were.
    let remove_new = |c: &Connection| -> Res<Answer> {
        let e = c.execute("DELETE FROM executions WHERE job_id LIKE 'new-%'", [])?;
        let v = c.execute("DELETE FROM variations WHERE job_id LIKE 'new-%'", [])?;
        Ok(format!("{e} executions and {v} variations created"))
    };
    let conn_ref = &conn;
    let store_ref = &store;
    let insert_new = &insert_new;
    let create_name = if smoke {
        "batch create (smoke)"
    } else {
        "batch create, 10k jobs"
    };
    ops.push((
        create_name,
        vec![
            (
                "before",
                "1 INSERT per job, each its own transaction",
                Box::new(move |round| {
                    let (es, vs) = data::new_jobs(n_create, &format!("b{round}"));
                    let d = timed(|| insert_new(&conn_ref.borrow(), &es, &vs))?;
                    let created = remove_new(&conn_ref.borrow())?;
                    Ok((d, created))
                }),
            ),
            (
                "after",
                "1 INSERT per job, 1 transaction",
                Box::new(move |round| {
                    let (es, vs) = data::new_jobs(n_create, &format!("a{round}"));
                    let d = timed(|| -> Res<()> {
                        let mut c = conn_ref.borrow_mut();
                        let tx = c.transaction()?;
                        insert_new(&tx, &es, &vs)?;
                        tx.commit()?;
                        Ok(())
                    })?;
                    let created = remove_new(&conn_ref.borrow())?;
                    Ok((d, created))
                }),
            ),
            (
                "jobtrack",
                "batch_create_{executions,variations}()",
                Box::new(move |round| {
                    let (es, vs) = data::new_jobs(n_create, &format!("j{round}"));
                    let d = timed(|| -> Res<()> {
                        store_ref.batch_create_executions(&es)?;
                        store_ref.batch_create_variations(&vs)?;
                        Ok(())
                    })?;
                    let created = remove_new(&conn_ref.borrow())?;
                    Ok((d, created))
                }),
            ),
        ],
    ));

    let n_old = (w.len() / 20).clamp(50, 20_000);
    let now = Timestamp::now();
    let cleanup_ref: &'static [String] = Box::leak(statements(CLEANUP).into_boxed_slice());
    let inject = move |tag: String| -> Res<()> {
        insert_jobs(
            &mut conn_ref.borrow_mut(),
            &data::old_jobs(n_old, &tag, now),
        )
    };
    let old_left = move || -> Res<Answer> {
        let n: i64 = conn_ref.borrow().query_row(
            "SELECT (SELECT count(*) FROM executions WHERE job_id LIKE 'old-%') \
                  + (SELECT count(*) FROM variations WHERE job_id LIKE 'old-%')",
            [],
            |r| r.get(0),
        )?;
        Ok(format!("{n} old jobs left"))
    };
    let cleanup_name: &str =
        Box::leak(format!("cleanup ({} old of {} jobs)", n_old, w.len() + n_old).into_boxed_str());
    ops.push((
        cleanup_name,
        vec![
            (
                "before",
                "2 DELETEs, each its own transaction",
                Box::new(move |round| {
                    inject(format!("b{round}"))?;
                    let d = timed(|| -> Res<()> {
                        let c = conn_ref.borrow();
                        for s in cleanup_ref {
                            c.prepare_cached(s)?.execute([365])?;
                        }
                        Ok(())
                    })?;
                    Ok((d, old_left()?))
                }),
            ),
            (
                "after",
                "2 DELETEs, 1 transaction",
                Box::new(move |round| {
                    inject(format!("a{round}"))?;
                    let d = timed(|| -> Res<()> {
                        let mut c = conn_ref.borrow_mut();
                        let tx = c.transaction()?;
                        for s in cleanup_ref {
                            tx.prepare_cached(s)?.execute([365])?;
                        }
                        tx.commit()?;
                        Ok(())
                    })?;
                    Ok((d, old_left()?))
                }),
            ),
            (
                "jobtrack",
                "cleanup_old_jobs(365, true)",
                Box::new(move |round| {
                    inject(format!("j{round}"))?;
                    let d = timed(|| store_ref.cleanup_old_jobs(365, true))?;
                    Ok((d, old_left()?))
                }),
            ),
        ],
    ));

    let mut rows = Vec::new();
    let mut mismatches = Vec::new();
    for (operation, variants) in ops {
        let is_write = operation.starts_with("status")
            || operation.starts_with("batch")
            || operation.starts_with("cleanup");
        let budget = if is_write { writes } else { reads };
        let mut answers = Vec::new();
        for (variant, label, mut run) in variants {
            eprintln!("  sqlite: {operation} / {variant}");
            let mut answer = String::new();
            let summary = measure(budget, |i| {
                let (d, a) = run(i)?;
                answer = a;
                Ok::<_, Box<dyn std::error::Error>>(d)
            })?;
            if variant != "ceiling" {
                answers.push((variant, answer));
            }
            rows.push(Row {
                operation: operation.to_owned(),
                variant: variant.to_owned(),
                label: label.to_owned(),
                summary,
                vs_before: None,
                vs_after: None,
            });
        }
        check_answers(operation, &answers, &mut mismatches);
    }
    mismatches.extend(export_faults);
    Ok((rows, mismatches, export))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQLite half of the bench alone, without PostgreSQL: prints its
    /// rows and fails on an answer that differs between variants. A
    /// measurement run by hand (release build), not part of `make test`:
    ///
    /// ```sh
    /// JOBTRACK_BENCH_JOBS=100000 cargo test --release -p jobtrack-bench \
    ///     sqlite_only -- --ignored --nocapture
    /// ```
    #[test]
    #[ignore = "a measurement: run it by hand in a release build"]
    fn sqlite_only() {
        let jobs = std::env::var("JOBTRACK_BENCH_JOBS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000);
        let w = Workload::generate(jobs, 20261127, Timestamp::now());
        let (mut rows, mismatches, _) = run(&std::env::temp_dir(), &w, false, None).unwrap();
        crate::report::add_ratios(&mut rows);
        println!("SQLite, {jobs} jobs");
        for r in &rows {
            println!(
                "{:<34} {:<9} {:>10} {:>8} {:>8}  {}",
                r.operation,
                r.variant,
                crate::report::human_ms(r.summary.median_ms),
                crate::report::ratio(r.vs_before),
                crate::report::ratio(r.vs_after),
                r.label
            );
        }
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }
}
