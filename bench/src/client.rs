//! The Rust client on PostgreSQL: each call through
//! `jobtrack_postgres::PgStore` (its pool, with pre-ping and without)
//! against the same SQL function called over one raw `postgres::Client`,
//! and eight threads sharing one `Arc<PgStore>` against eight threads with
//! a raw connection each.
//!
//! The raw connection runs the call in two ways: as a statement prepared
//! once (what a hand-written data layer does) and as SQL text sent with
//! every call, which the `postgres` crate parses on the server first, one
//! round trip more — as `PgStore` does. Together with the pre-ping rows
//! this splits the client's overhead into its parts.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use jobtrack_core::{DatasetStats, Job, JobApi, Statistics, Status, StatusUpdate};
use jobtrack_postgres::{PgStore, PoolOptions};
use postgres::types::ToSql;
use postgres::{Client, Statement};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::data::Workload;
use crate::measure::{measure, Budget};
use crate::pg::{self, check_answers};
use crate::report::{CallRow, ClientReport, PoolThroughput};
use crate::Res;

/// Threads of the throughput runs.
pub const THREADS: usize = 8;

/// Jobs per batch status update.
const BATCH: usize = 100;

/// In the mixed workload, one call in this many is a batch update.
const WRITE_EVERY: u64 = 10;

/// The calls measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Statistics,
    DatasetStats,
    RecentJobs,
    Progress,
    BatchStatus,
}

impl Call {
    /// Reads first: the writes change `updated_at`, which the recent-jobs
    /// answer depends on.
    const ALL: [Call; 5] = [
        Call::Statistics,
        Call::DatasetStats,
        Call::RecentJobs,
        Call::Progress,
        Call::BatchStatus,
    ];

    fn operation(self) -> &'static str {
        match self {
            Call::Statistics => "get_statistics_cached()",
            Call::DatasetStats => "get_dataset_stats_optimized(name)",
            Call::RecentJobs => "get_recent_jobs_optimized(10)",
            Call::Progress => "update_progress(id, n)",
            Call::BatchStatus => "batch_update_execution_status(100 jobs)",
        }
    }

    /// The SQL of the raw connection. Table functions come back as one JSON
    /// object per row, as `PgStore` reads them.
    fn sql(self) -> &'static str {
        match self {
            Call::Statistics => "SELECT jobtrack.get_statistics_cached()",
            Call::DatasetStats => "SELECT jobtrack.get_dataset_stats_optimized($1)",
            Call::RecentJobs => {
                "SELECT row_to_json(t) FROM jobtrack.get_recent_jobs_optimized($1) AS t"
            }
            Call::Progress => "SELECT jobtrack.update_progress($1, $2)",
            Call::BatchStatus => "SELECT jobtrack.batch_update_execution_status($1)",
        }
    }
}

/// How a call reaches the server.
enum Path<'a> {
    /// One raw connection, the statement prepared once.
    Prepared(&'a Statement),
    /// One raw connection, the SQL text sent (and parsed) with every call.
    Text,
    /// The Rust client.
    Store(&'a PgStore),
}

fn raw_rows(
    raw: &mut Client,
    path: &Path<'_>,
    call: Call,
    params: &[&(dyn ToSql + Sync)],
) -> Res<Vec<postgres::Row>> {
    Ok(match path {
        Path::Prepared(st) => raw.query(*st, params)?,
        _ => raw.query(call.sql(), params)?,
    })
}

/// The one JSON value of a raw call, decoded into core's type as the
/// client decodes its own.
fn raw_value<T: DeserializeOwned>(
    raw: &mut Client,
    path: &Path<'_>,
    call: Call,
    params: &[&(dyn ToSql + Sync)],
) -> Res<T> {
    let rows = raw_rows(raw, path, call, params)?;
    let row = rows.first().ok_or("no row")?;
    Ok(serde_json::from_value(row.get::<_, Value>(0))?)
}

fn json<T: Serialize>(v: &T) -> Res<String> {
    Ok(serde_json::to_string(v)?)
}

/// `BATCH` (or fewer, on tiny data) status changes of the executions of
/// `slice` of `slices` (indices ≡ slice mod slices, so that concurrent
/// writers never touch the same rows), for repetition `round`: each round
/// moves on to the next jobs of the slice and shifts the statuses.
fn execution_batch(w: &Workload, slice: usize, slices: usize, round: usize) -> Vec<StatusUpdate> {
    let owned: Vec<&str> = w
        .executions
        .iter()
        .skip(slice)
        .step_by(slices)
        .map(|e| e.common.job_id.as_str())
        .collect();
    let n = BATCH.min(owned.len());
    (0..n)
        .map(|k| {
            let job_id = owned[(round * BATCH + k) % owned.len()].to_owned();
            let (status, error_message) = match (k * 7 + round * 3) % 20 {
                0..=13 => (Status::Done, None),
                14..=16 => (Status::Failed, Some("NaN loss detected".to_owned())),
                17..=18 => (Status::Training, None),
                _ => (Status::Cancelled, None),
            };
            StatusUpdate {
                job_id,
                status,
                error_message,
            }
        })
        .collect()
}

/// How many of `batch`'s jobs now have the status it sent (untimed).
fn read_back(raw: &mut Client, batch: &[StatusUpdate]) -> Res<i64> {
    let ids: Vec<&str> = batch.iter().map(|u| u.job_id.as_str()).collect();
    let statuses: Vec<&str> = batch.iter().map(|u| u.status.as_str()).collect();
    Ok(raw
        .query_one(
            "SELECT count(*) FROM jobtrack.executions AS e
             JOIN unnest($1::text[], $2::text[]) AS u (job_id, status) USING (job_id)
             WHERE e.status = u.status",
            &[&ids, &statuses],
        )?
        .get(0))
}

/// One call of `call` along `path`: its time (the call and the decoding of
/// its result into core's type) and its answer.
fn once(
    call: Call,
    path: &Path<'_>,
    raw: &mut Client,
    w: &Workload,
    round: usize,
) -> Res<(Duration, String)> {
    let start = Instant::now();
    match call {
        Call::Statistics => {
            let s: Statistics = match path {
                Path::Store(store) => store.get_statistics_cached()?,
                _ => raw_value(raw, path, call, &[])?,
            };
            Ok((start.elapsed(), json(&s)?))
        }
        Call::DatasetStats => {
            let dataset = w.busiest_dataset();
            let d: DatasetStats = match path {
                Path::Store(store) => store.get_dataset_stats_optimized(dataset)?,
                _ => raw_value(raw, path, call, &[&dataset])?,
            };
            Ok((start.elapsed(), json(&d)?))
        }
        Call::RecentJobs => {
            let jobs: Vec<Job> = match path {
                Path::Store(store) => store.get_recent_jobs_optimized(10)?,
                _ => raw_rows(raw, path, call, &[&10i32])?
                    .iter()
                    .map(|r| Ok(serde_json::from_value(r.get::<_, Value>(0))?))
                    .collect::<Res<_>>()?,
            };
            Ok((start.elapsed(), json(&jobs)?))
        }
        Call::Progress => {
            let job_id = w.executions[0].common.job_id.as_str();
            let step = (round % 1_000_000) as i32;
            let updated = match path {
                Path::Store(store) => store.update_progress(job_id, step)?,
                _ => raw_rows(raw, path, call, &[&job_id, &step])?
                    .first()
                    .ok_or("no row")?
                    .get::<_, bool>(0),
            };
            let d = start.elapsed();
            let stored: Option<i32> = raw
                .query_one(
                    "SELECT current_step FROM jobtrack.executions WHERE job_id = $1",
                    &[&job_id],
                )?
                .get(0);
            Ok((
                d,
                format!(
                    "updated {updated}, current_step read back {}",
                    if stored == Some(step) {
                        "as sent"
                    } else {
                        "wrong"
                    }
                ),
            ))
        }
        Call::BatchStatus => {
            let batch = execution_batch(w, 0, 1, round);
            let start = Instant::now();
            let changed: i32 = match path {
                Path::Store(store) => store.batch_update_execution_status(&batch)?,
                _ => {
                    // The JSON is built inside the timing, as the client
                    // builds its own.
                    let updates = serde_json::to_value(&batch)?;
                    raw_rows(raw, path, call, &[&updates])?
                        .first()
                        .ok_or("no row")?
                        .get(0)
                }
            };
            let d = start.elapsed();
            let matching = read_back(raw, &batch)?;
            Ok((
                d,
                format!(
                    "{changed} changed, {matching} of {} read back with the status sent",
                    batch.len()
                ),
            ))
        }
    }
}

fn pool_options(pre_ping: bool) -> PoolOptions {
    PoolOptions {
        pre_ping,
        ..PoolOptions::default()
    }
}

/// Runs the section on the bench database (loaded with `w`); returns the
/// report and the disagreements between paths.
pub fn run(url: &str, w: &Workload, smoke: bool, seconds: u32) -> Res<(ClientReport, Vec<String>)> {
    let db_url = format!("{url} dbname={}", pg::DATABASE);
    let mut raw = pg::connect(url, pg::DATABASE)?;
    // The session setting PgStore makes, so that both paths render
    // timestamps alike.
    raw.batch_execute("SET TimeZone = 'UTC'")?;
    let store = Arc::new(PgStore::connect_with(&db_url, pool_options(true))?);
    let no_ping = Arc::new(PgStore::connect_with(&db_url, pool_options(false))?);
    let budget = Budget::reads(smoke);
    let mut mismatches = Vec::new();
    let mut calls = Vec::new();
    // One counter over every variant, so that each write changes the rows
    // the previous one left.
    let mut round = 0usize;
    for call in Call::ALL {
        let prepared = raw.prepare(call.sql())?;
        let paths = [
            (
                "raw",
                "one postgres::Client, prepared once",
                Path::Prepared(&prepared),
            ),
            (
                "raw, unprepared",
                "one postgres::Client, SQL text each call",
                Path::Text,
            ),
            (
                "client",
                "PgStore, pre-ping on (default)",
                Path::Store(&store),
            ),
            (
                "client, no pre-ping",
                "PgStore, pre_ping = false",
                Path::Store(&no_ping),
            ),
        ];
        let mut answers = Vec::new();
        let first = calls.len();
        for (variant, label, path) in &paths {
            eprintln!("  client: {} / {variant}", call.operation());
            let mut answer = String::new();
            let summary = measure(budget, |_| {
                let (d, a) = once(call, path, &mut raw, w, round)?;
                round += 1;
                answer = a;
                Ok::<_, Box<dyn std::error::Error>>(d)
            })?;
            answers.push((*variant, answer));
            calls.push(CallRow {
                operation: call.operation().to_owned(),
                variant: (*variant).to_owned(),
                label: (*label).to_owned(),
                summary,
                vs_raw: 1.0,
            });
        }
        let raw_median = calls[first].summary.median_ms;
        for row in &mut calls[first..] {
            row.vs_raw = row.summary.median_ms / raw_median;
        }
        check_answers(call.operation(), &answers, &mut mismatches);
    }

    let seconds = if smoke { 1.0 } else { f64::from(seconds) };
    let total_jobs =
        raw_value::<Statistics>(&mut raw, &Path::Text, Call::Statistics, &[])?.total_jobs;
    let mut throughput = Vec::new();
    for load in [Load::Statistics, Load::Mixed] {
        let mut answers = Vec::new();
        let first = throughput.len();
        let paths: [(&str, Option<&Arc<PgStore>>); 3] = [
            ("8 threads, a raw connection each (prepared)", None),
            ("8 threads, one Arc<PgStore> (pool size 20)", Some(&store)),
            ("8 threads, one Arc<PgStore>, no pre-ping", Some(&no_ping)),
        ];
        for (path, shared) in paths {
            eprintln!("  client: {} / {path}, {seconds} s", load.name());
            let out = threads(&db_url, w, load, shared, seconds, total_jobs)?;
            mismatches.extend(
                out.faults
                    .iter()
                    .map(|f| format!("{}, {path}: {f}", load.name())),
            );
            answers.push((path, out.answer));
            throughput.push(PoolThroughput {
                workload: load.name().to_owned(),
                path: path.to_owned(),
                threads: THREADS,
                seconds: out.elapsed.as_secs_f64(),
                calls: out.calls,
                calls_per_second: out.calls as f64 / out.elapsed.as_secs_f64(),
                vs_raw: 1.0,
            });
        }
        let raw_rate = throughput[first].calls_per_second;
        for t in &mut throughput[first..] {
            t.vs_raw = t.calls_per_second / raw_rate;
        }
        check_answers(load.name(), &answers, &mut mismatches);
    }
    Ok((ClientReport { calls, throughput }, mismatches))
}

/// The workloads of the throughput runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    Statistics,
    Mixed,
}

impl Load {
    fn name(self) -> &'static str {
        match self {
            Load::Statistics => "get_statistics_cached()",
            Load::Mixed => "mixed: 90 % get_statistics_cached(), 10 % batch update of 100",
        }
    }
}

/// What the threads of one run did.
struct Threads {
    calls: u64,
    elapsed: Duration,
    /// The statistics of the first read (read-only workload) or a summary
    /// of the checks (mixed): the same on every path.
    answer: String,
    /// Answers that broke the checks.
    faults: Vec<String>,
}

/// One thread's way to the server.
enum Conn {
    Raw {
        client: Box<Client>,
        statistics: Statement,
        batch: Statement,
    },
    Store(Arc<PgStore>),
}

impl Conn {
    fn statistics(&mut self) -> Result<Statistics, String> {
        match self {
            Conn::Store(s) => s.get_statistics_cached().map_err(|e| e.to_string()),
            Conn::Raw {
                client, statistics, ..
            } => {
                let v: Value = client
                    .query_one(&*statistics, &[])
                    .map_err(|e| e.to_string())?
                    .get(0);
                serde_json::from_value(v).map_err(|e| e.to_string())
            }
        }
    }

    fn batch(&mut self, updates: &[StatusUpdate]) -> Result<i32, String> {
        match self {
            Conn::Store(s) => s
                .batch_update_execution_status(updates)
                .map_err(|e| e.to_string()),
            Conn::Raw { client, batch, .. } => {
                let v = serde_json::to_value(updates).map_err(|e| e.to_string())?;
                Ok(client
                    .query_one(&*batch, &[&v])
                    .map_err(|e| e.to_string())?
                    .get(0))
            }
        }
    }
}

/// What one thread did.
struct ThreadOut {
    calls: u64,
    first: Option<Statistics>,
    faults: Vec<String>,
}

/// `THREADS` threads calling for `seconds`, each on a raw connection of its
/// own (`shared` = None) or all on one `PgStore`. Reads must all give the
/// same statistics (read-only) or `total_jobs` jobs (mixed: the writes
/// change statuses, not the number of jobs); every write must change all
/// the jobs of its batch.
fn threads(
    db_url: &str,
    w: &Workload,
    load: Load,
    shared: Option<&Arc<PgStore>>,
    seconds: f64,
    total_jobs: i64,
) -> Res<Threads> {
    if let Some(store) = shared {
        // Open the connections the threads will use before the clock
        // starts: held at once, they are THREADS distinct ones, kept idle.
        let held = (0..THREADS)
            .map(|_| store.pool().get())
            .collect::<Result<Vec<_>, _>>()?;
        drop(held);
    }
    let barrier = Barrier::new(THREADS + 1);
    let duration = Duration::from_secs_f64(seconds);
    let (outs, elapsed) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let barrier = &barrier;
                let shared = shared.map(Arc::clone);
                scope.spawn(move || -> Result<ThreadOut, String> {
                    let setup = || -> Result<Conn, String> {
                        Ok(match shared {
                            Some(store) => Conn::Store(store),
                            None => {
                                let mut client = postgres::Client::connect(db_url, postgres::NoTls)
                                    .map_err(|e| e.to_string())?;
                                let statistics = client
                                    .prepare(Call::Statistics.sql())
                                    .map_err(|e| e.to_string())?;
                                let batch = client
                                    .prepare(Call::BatchStatus.sql())
                                    .map_err(|e| e.to_string())?;
                                Conn::Raw {
                                    client: Box::new(client),
                                    statistics,
                                    batch,
                                }
                            }
                        })
                    };
                    let conn = setup().and_then(|mut c| c.statistics().map(|_| c));
                    // Every thread reaches the barrier, even one whose setup
                    // failed: the others wait for it.
                    barrier.wait();
                    let mut conn = conn?;
                    let deadline = Instant::now() + duration;
                    let mut out = ThreadOut {
                        calls: 0,
                        first: None,
                        faults: Vec::new(),
                    };
                    let mut round = 0;
                    while Instant::now() < deadline {
                        if load == Load::Mixed && out.calls % WRITE_EVERY == WRITE_EVERY - 1 {
                            let batch = execution_batch(w, t, THREADS, round);
                            round += 1;
                            let changed = conn.batch(&batch)?;
                            if usize::try_from(changed).ok() != Some(batch.len())
                                && out.faults.len() < 3
                            {
                                out.faults.push(format!(
                                    "a batch of {} changed {changed} jobs",
                                    batch.len()
                                ));
                            }
                        } else {
                            let s = conn.statistics()?;
                            let fault = match load {
                                Load::Statistics => out
                                    .first
                                    .as_ref()
                                    .is_some_and(|first| *first != s)
                                    .then(|| "the statistics changed".to_owned()),
                                Load::Mixed => (s.total_jobs != total_jobs).then(|| {
                                    format!("statistics of {} jobs, not {total_jobs}", s.total_jobs)
                                }),
                            };
                            if let Some(fault) = fault {
                                if out.faults.len() < 3 {
                                    out.faults.push(fault);
                                }
                            }
                            if out.first.is_none() {
                                out.first = Some(s);
                            }
                        }
                        out.calls += 1;
                    }
                    Ok(out)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let outs: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("thread panicked".to_owned()))
            })
            .collect();
        (outs, start.elapsed())
    });
    let mut result = Threads {
        calls: 0,
        elapsed,
        answer: String::new(),
        faults: Vec::new(),
    };
    for out in outs {
        let out = out?;
        result.calls += out.calls;
        result.faults.extend(out.faults);
        if result.answer.is_empty() {
            if let Some(first) = &out.first {
                result.answer = match load {
                    Load::Statistics => json(first)?,
                    Load::Mixed => format!("reads of {total_jobs} jobs"),
                };
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobtrack_core::Timestamp;

    #[test]
    fn concurrent_batches_touch_disjoint_jobs() {
        let w = Workload::generate(10_000, 1, Timestamp::now());
        let mut seen = std::collections::HashSet::new();
        for t in 0..THREADS {
            let batch = execution_batch(&w, t, THREADS, 3);
            assert_eq!(batch.len(), BATCH);
            for u in batch {
                assert!(seen.insert(u.job_id), "two threads write one job");
            }
        }
    }

    #[test]
    fn successive_batches_move_on_and_fit_tiny_data() {
        let w = Workload::generate(100, 1, Timestamp::now());
        let a = execution_batch(&w, 0, 1, 0);
        assert_eq!(a.len(), w.executions.len().min(BATCH));
        let big = Workload::generate(10_000, 1, Timestamp::now());
        let first = execution_batch(&big, 0, 1, 0);
        let second = execution_batch(&big, 0, 1, 1);
        assert_ne!(first[0].job_id, second[0].job_id);
    }
}
