//! Bounded retention (issue 15): how long writers wait while old jobs are
//! deleted, in one transaction (`cleanup_old_jobs`) and in batches that
//! commit one by one (`CALL prune_jobs`).
//!
//! Both variants start from the same database: the jobs are loaded once
//! into a database of their own and each variant runs on a fresh copy of
//! it (`CREATE DATABASE … TEMPLATE`), so that the other phases' data stay
//! as they are and both delete exactly the same jobs. While the deletion
//! runs, two writer threads loop over `batch_update_execution_status` calls
//! of 100 executions each, half of them jobs the deletion removes, half
//! active ones it never touches, and time every call.
//!
//! The writers must not change which jobs qualify, or the two variants
//! would delete different jobs and the check below could not hold: a
//! qualifying job only ever moves between `done` and `cancelled` (both
//! deleted with keep_failed), an active one between `training` and
//! `generating_preview`; `created_at`, the other half of the condition, is
//! never written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use jobtrack_core::{Status, Timestamp};
use postgres::{Client, NoTls};
use serde_json::{json, Value};

use crate::data::{Common, Workload};
use crate::pg;
use crate::report::{Latency, RetentionReport, RetentionRun};
use crate::Res;

/// The database each variant runs in, copied afresh from `LOADED`.
const DATABASE: &str = "jobtrack_bench_retention";
/// The loaded jobs, never written after the load: the template of both
/// variants' databases.
const LOADED: &str = "jobtrack_bench_retention_loaded";
/// `days` of both calls.
const DAYS: i32 = 30;
/// The batch size of a full run, the procedure's default.
const BATCH_SIZE: i32 = 10_000;
/// A smoke run's batch size: small enough that a few hundred jobs still
/// take several batches.
const SMOKE_BATCH_SIZE: i32 = 50;
const WRITERS: usize = 2;
const JOBS_PER_CALL: usize = 100;
/// Between two calls of one writer: an application's writers, not a load
/// test, so that on a small machine the deletion keeps a core and a
/// writer's time is its wait, not its turn for a CPU.
const PAUSE: Duration = Duration::from_millis(5);

const DAY: i64 = 86_400_000_000;

/// Moves every job that qualifies for nothing yet to the ages this phase
/// needs, moving all of a job's timestamps together: most terminal jobs of
/// the generated 180 days' history are older than `DAYS` (three of four
/// terminal jobs of the last 28 days go back 150 days), and no job lies
/// within two days of the cutoff (those go back 5 days), so that the
/// cutoff, fixed by the server when each call starts, minutes or hours
/// after `now`, selects the same jobs in both variants and in `qualifies`.
pub fn age_for_retention(w: &mut Workload, now: Timestamp) {
    let commons = w
        .executions
        .iter_mut()
        .map(|e| &mut e.common)
        .chain(w.variations.iter_mut().map(|v| &mut v.common));
    for (i, c) in commons.enumerate() {
        let age = now.unix_micros() - c.created_at.unix_micros();
        if ((i64::from(DAYS) - 2) * DAY..(i64::from(DAYS) + 2) * DAY).contains(&age) {
            shift(c, 5 * DAY);
        } else if age < (i64::from(DAYS) - 2) * DAY && c.status.is_terminal() && i % 4 != 0 {
            shift(c, 150 * DAY);
        }
    }
}

fn shift(c: &mut Common, micros: i64) {
    let back = |t: Timestamp| Timestamp::from_unix_micros(t.unix_micros() - micros);
    c.created_at = back(c.created_at);
    c.updated_at = back(c.updated_at);
    c.start_time = c.start_time.map(back);
    c.end_time = c.end_time.map(back);
}

/// Whether `cleanup_old_jobs(DAYS, true)` deletes the job (after
/// `age_for_retention`, at any time within two days after `now`).
pub fn qualifies(c: &Common, now: Timestamp) -> bool {
    matches!(c.status, Status::Done | Status::Cancelled)
        && c.created_at.unix_micros() < now.minus_days(i64::from(DAYS)).unix_micros()
}

/// The batches `prune_jobs` takes for `jobs` qualifying jobs: full ones,
/// then one that finds fewer than `batch_size` (none, when `jobs` is a
/// multiple) and ends the call.
pub fn expected_batches(jobs: usize, batch_size: usize) -> usize {
    jobs / batch_size + 1
}

/// The `p`-th percentile of `sorted` (ascending), nearest rank: the
/// smallest value with at least p % of the values at or below it. None for
/// no values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Count, median, 99th percentile and longest of call times (ms).
pub fn latency(mut ms: Vec<f64>) -> Latency {
    ms.sort_by(f64::total_cmp);
    Latency {
        calls: ms.len(),
        median_ms: percentile(&ms, 50.0),
        p99_ms: percentile(&ms, 99.0),
        max_ms: ms.last().copied(),
    }
}

/// Each writer's own jobs, so that writers never wait on each other: the
/// executions the deletion removes and the active ones, every other one.
struct Pool {
    doomed: Vec<String>,
    active: Vec<String>,
}

fn pools(w: &Workload, now: Timestamp) -> Vec<Pool> {
    let mut pools: Vec<Pool> = (0..WRITERS)
        .map(|_| Pool {
            doomed: Vec::new(),
            active: Vec::new(),
        })
        .collect();
    let (mut d, mut a) = (0, 0);
    for e in &w.executions {
        let c = &e.common;
        if qualifies(c, now) {
            pools[d % WRITERS].doomed.push(c.job_id.clone());
            d += 1;
        } else if !c.status.is_terminal() {
            pools[a % WRITERS].active.push(c.job_id.clone());
            a += 1;
        }
    }
    pools
}

/// The `call`-th batch of a writer: up to half of `JOBS_PER_CALL` active
/// jobs and the rest from `doomed`, each list walked round, a job's status
/// flipping at each pass so that every visit changes it. The doomed ones
/// are in generation order, which is random in age: a call names jobs of
/// every batch the prune will take. Returns the batch and its number of
/// active jobs.
fn writer_batch(doomed: &[String], active: &[String], call: usize) -> (Value, usize) {
    let n_active = (JOBS_PER_CALL / 2).min(active.len());
    let n_doomed = (JOBS_PER_CALL - n_active).min(doomed.len());
    let mut items = Vec::with_capacity(n_active + n_doomed);
    for (ids, n, statuses) in [
        (active, n_active, ["training", "generating_preview"]),
        (doomed, n_doomed, ["cancelled", "done"]),
    ] {
        for j in 0..n {
            let k = call * n + j;
            items.push(json!({
                "job_id": ids[k % ids.len()],
                "status": statuses[(k / ids.len()) % 2],
            }));
        }
    }
    (Value::Array(items), n_active)
}

/// One writer call: when it started and how long it took.
struct Call {
    start: Instant,
    ms: f64,
}

/// What one writer thread did.
struct WriterOut {
    calls: Vec<Call>,
    faults: Vec<String>,
}

/// One variant: which call, and how it deletes.
#[derive(Clone, Copy)]
enum Variant {
    OneTransaction,
    Batches,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::OneTransaction => "one transaction",
            Variant::Batches => "batches",
        }
    }

    fn metric(self) -> &'static str {
        match self {
            Variant::OneTransaction => "cleanup_old_jobs",
            Variant::Batches => "prune_jobs",
        }
    }
}

/// What one deletion reported.
struct Deleted {
    executions: i64,
    variations: i64,
    cache_entries: i64,
    batches: i64,
}

fn field(v: &Value, key: &str) -> Res<i64> {
    v.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("no integer {key} in {v}").into())
}

/// Measures both variants on `w` (aged here, hence taken whole). Returns
/// the section and the checks that failed.
pub fn run(
    url: &str,
    mut w: Workload,
    now: Timestamp,
    smoke: bool,
) -> Res<(RetentionReport, Vec<String>)> {
    age_for_retention(&mut w, now);
    let batch_size = if smoke { SMOKE_BATCH_SIZE } else { BATCH_SIZE };
    let expected_e = w
        .executions
        .iter()
        .filter(|e| qualifies(&e.common, now))
        .count();
    let expected_v = w
        .variations
        .iter()
        .filter(|v| qualifies(&v.common, now))
        .count();
    let expected = expected_e + expected_v;
    let active = w
        .executions
        .iter()
        .map(|e| &e.common)
        .chain(w.variations.iter().map(|v| &v.common))
        .filter(|c| !c.status.is_terminal())
        .count();
    let jobs = w.len();
    let pools = pools(&w, now);

    let mut admin = Client::connect(url, NoTls)?;
    for db in [DATABASE, LOADED] {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    }
    admin.batch_execute(&format!("CREATE DATABASE {LOADED}"))?;
    {
        let mut c = pg::connect(url, LOADED)?;
        c.batch_execute("SET client_min_messages = warning; CREATE EXTENSION jobtrack")?;
        pg::copy_jobs(&mut c, &w)?;
        c.batch_execute("VACUUM ANALYZE")?;
    }
    drop(w);

    let baseline = if smoke {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(2)
    };
    let mut runs = Vec::new();
    let mut alone = Vec::new();
    let mut mismatches = Vec::new();
    for variant in [Variant::OneTransaction, Variant::Batches] {
        eprintln!("  retention: {} with {WRITERS} writers", variant.name());
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))?;
        admin.batch_execute(&format!("CREATE DATABASE {DATABASE} TEMPLATE {LOADED}"))?;
        let mut c = pg::connect(url, DATABASE)?;
        let sql = match variant {
            Variant::OneTransaction => "SELECT jobtrack.cleanup_old_jobs($1, true)",
            Variant::Batches => "CALL jobtrack.prune_jobs($1, true, $2)",
        };
        let st = c.prepare(sql)?;
        c.batch_execute("SELECT jobtrack.reset_transaction_metrics()")?;

        let stop = AtomicBool::new(false);
        let barrier = Barrier::new(WRITERS + 1);
        let db_url = format!("{url} dbname={DATABASE}");
        let (outcome, window, outs) = std::thread::scope(|scope| {
            let handles: Vec<_> = pools
                .iter()
                .map(|pool| {
                    let (stop, barrier, db_url) = (&stop, &barrier, &db_url);
                    scope.spawn(move || writer(db_url, pool, barrier, stop))
                })
                .collect();
            barrier.wait();
            let warm = Instant::now() + baseline / 2;
            std::thread::sleep(baseline);
            let start = Instant::now();
            let outcome = match variant {
                Variant::OneTransaction => c.query_one(&st, &[&DAYS]),
                Variant::Batches => c.query_one(&st, &[&DAYS, &batch_size]),
            };
            let end = Instant::now();
            stop.store(true, Ordering::Relaxed);
            let outs: Vec<Result<WriterOut, String>> = handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("writer thread panicked".to_owned()))
                })
                .collect();
            (outcome, (warm, start, end), outs)
        });
        let value: Value = outcome?.get(0);
        let deleted = Deleted {
            executions: field(&value, "executions_deleted")?,
            variations: field(&value, "variations_deleted")?,
            cache_entries: field(&value, "cache_entries_deleted")?,
            batches: match variant {
                Variant::OneTransaction => 1,
                Variant::Batches => field(&value, "batches")?,
            },
        };
        let (warm, start, end) = window;
        let mut during = Vec::new();
        for out in outs {
            let out = out?;
            mismatches.extend(
                out.faults
                    .into_iter()
                    .map(|f| format!("retention, {}: {f}", variant.name())),
            );
            for call in out.calls {
                if call.start + Duration::from_secs_f64(call.ms / 1e3) <= start {
                    // The first half warms the fresh copy's caches up.
                    if call.start >= warm {
                        alone.push(call.ms);
                    }
                } else if call.start < end {
                    during.push(call.ms);
                }
            }
        }
        let metrics: Value = c
            .query_one("SELECT jobtrack.get_transaction_metrics()", &[])?
            .get(0);
        let metric = &metrics[variant.metric()];
        let longest_batch_ms = metric["max_duration"]
            .as_f64()
            .ok_or_else(|| format!("no {} in the transaction metrics", variant.metric()))?
            * 1e3;
        let mut check = |what: &str, got: i64, want: usize| {
            if usize::try_from(got).ok() != Some(want) {
                mismatches.push(format!(
                    "retention, {}: {what} {got}, expected {want}",
                    variant.name()
                ));
            }
        };
        check("executions deleted", deleted.executions, expected_e);
        check("variations deleted", deleted.variations, expected_v);
        check("summary rows deleted", deleted.cache_entries, expected);
        let want_batches = match variant {
            Variant::OneTransaction => 1,
            Variant::Batches => expected_batches(expected, batch_size as usize),
        };
        check("batches", deleted.batches, want_batches);
        let calls = metric["count"].as_i64().unwrap_or(-1);
        check("measured calls", calls, want_batches);
        let left: i64 = c
            .query_one(
                "SELECT (SELECT count(*) FROM jobtrack.executions) \
                      + (SELECT count(*) FROM jobtrack.variations)",
                &[],
            )?
            .get(0);
        check("jobs left", left, jobs - expected);
        let old: i64 = c
            .query_one(
                "SELECT (SELECT count(*) FROM jobtrack.executions \
                         WHERE status IN ('done', 'cancelled') \
                           AND created_at < now() - make_interval(days => $1)) \
                      + (SELECT count(*) FROM jobtrack.variations \
                         WHERE status IN ('done', 'cancelled') \
                           AND created_at < now() - make_interval(days => $1))",
                &[&DAYS],
            )?
            .get(0);
        check("qualifying jobs left", old, 0);
        let differences: i64 = c
            .query_one("SELECT count(*) FROM jobtrack.verify_statistics()", &[])?
            .get(0);
        check("statistics differences", differences, 0);
        drop(c);

        let writers = latency(during);
        let longest_wait_vs_batch = writers.max_ms.map(|m| m / longest_batch_ms);
        runs.push(RetentionRun {
            variant: variant.name().to_owned(),
            call: match variant {
                Variant::OneTransaction => format!("cleanup_old_jobs({DAYS}, true)"),
                Variant::Batches => format!("CALL prune_jobs({DAYS}, true, {batch_size})"),
            },
            duration_ms: (end - start).as_secs_f64() * 1e3,
            jobs_deleted: deleted.executions + deleted.variations,
            batches: deleted.batches,
            longest_batch_ms,
            writers,
            longest_wait_vs_batch,
        });
    }
    for db in [DATABASE, LOADED] {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    }
    let longest_wait_ratio = match (runs[0].writers.max_ms, runs[1].writers.max_ms) {
        (Some(a), Some(b)) => Some(a / b),
        _ => None,
    };
    Ok((
        RetentionReport {
            jobs,
            qualifying: expected,
            active,
            days: DAYS,
            batch_size,
            writers: WRITERS,
            jobs_per_call: JOBS_PER_CALL,
            pause_ms: PAUSE.as_secs_f64() * 1e3,
            alone: latency(alone),
            runs,
            longest_wait_ratio,
        },
        mismatches,
    ))
}

/// One writer: connects, waits for the others, then calls until `stop`,
/// timing each call. A failed call (a deadlock, say) is a fault and ends
/// this writer; so is a call that changed fewer jobs than its active ones
/// (which no deletion takes) or more than it named.
fn writer(
    db_url: &str,
    pool: &Pool,
    barrier: &Barrier,
    stop: &AtomicBool,
) -> Result<WriterOut, String> {
    let setup = || -> Result<(Client, postgres::Statement), String> {
        let mut c = Client::connect(db_url, NoTls).map_err(|e| e.to_string())?;
        let st = c
            .prepare("SELECT jobtrack.batch_update_execution_status($1)")
            .map_err(|e| e.to_string())?;
        Ok((c, st))
    };
    let conn = setup();
    // Every writer reaches the barrier, even one whose setup failed: the
    // main thread waits for all of them.
    barrier.wait();
    let (mut c, st) = conn?;
    let mut out = WriterOut {
        calls: Vec::new(),
        faults: Vec::new(),
    };
    let mut call = 0;
    while !stop.load(Ordering::Relaxed) {
        let (batch, n_active) = writer_batch(&pool.doomed, &pool.active, call);
        let named = batch.as_array().map_or(0, Vec::len);
        let start = Instant::now();
        let result = c.query_one(&st, &[&batch]);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        match result {
            Ok(row) => {
                out.calls.push(Call { start, ms });
                let changed: i32 = row.get(0);
                let fits = usize::try_from(changed).is_ok_and(|n| (n_active..=named).contains(&n));
                if !fits && out.faults.len() < 3 {
                    out.faults.push(format!(
                        "a writer call of {named} jobs ({n_active} active) changed {changed}"
                    ));
                }
            }
            Err(e) => {
                out.faults.push(format!("a writer call failed: {e}"));
                break;
            }
        }
        call += 1;
        std::thread::sleep(PAUSE);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_unix_micros(1_790_000_000_000_000)
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(100.0));
        assert_eq!(percentile(&v, 99.0), Some(198.0));
        assert_eq!(percentile(&v, 100.0), Some(200.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        let l = latency(vec![3.0, 1.0, 2.0, 40.0]);
        assert_eq!(l.calls, 4);
        assert_eq!(l.median_ms, Some(2.0));
        assert_eq!(l.p99_ms, Some(40.0));
        assert_eq!(l.max_ms, Some(40.0));
        assert_eq!(latency(Vec::new()).max_ms, None);
    }

    #[test]
    fn batches_end_with_a_short_one() {
        assert_eq!(expected_batches(0, 10), 1);
        assert_eq!(expected_batches(9, 10), 1);
        assert_eq!(expected_batches(10, 10), 2);
        assert_eq!(expected_batches(815_000, 10_000), 82);
    }

    #[test]
    fn aging_leaves_the_cutoff_clear_and_most_jobs_qualifying() {
        let mut w = Workload::generate(10_000, 3, now());
        let before = w.clone();
        age_for_retention(&mut w, now());
        let all: Vec<(&Common, &Common)> = w
            .executions
            .iter()
            .map(|e| &e.common)
            .chain(w.variations.iter().map(|v| &v.common))
            .zip(
                before
                    .executions
                    .iter()
                    .map(|e| &e.common)
                    .chain(before.variations.iter().map(|v| &v.common)),
            )
            .collect();
        let qualifying = all.iter().filter(|(c, _)| qualifies(c, now())).count();
        assert!(qualifying > 7_500, "{qualifying} qualify");
        // Not all old: some terminal jobs of the last month are kept.
        assert!(all
            .iter()
            .any(|(c, _)| c.status == Status::Done && !qualifies(c, now())));
        for (c, was) in &all {
            let age = now().unix_micros() - c.created_at.unix_micros();
            assert!(
                !(28 * DAY..32 * DAY).contains(&age),
                "{} is {age} µs old",
                c.job_id
            );
            // Only ages move, every timestamp of a job alike.
            assert_eq!((&c.job_id, c.status), (&was.job_id, was.status));
            let moved = was.created_at.unix_micros() - c.created_at.unix_micros();
            assert_eq!(
                was.updated_at.unix_micros() - c.updated_at.unix_micros(),
                moved
            );
            if let (Some(a), Some(b)) = (c.end_time, was.end_time) {
                assert_eq!(b.unix_micros() - a.unix_micros(), moved);
            }
        }
        // Well within the two days' margin: a later cutoff selects the same.
        let later = Timestamp::from_unix_micros(now().unix_micros() + DAY);
        assert_eq!(
            all.iter().filter(|(c, _)| qualifies(c, later)).count(),
            qualifying
        );
    }

    #[test]
    fn writers_keep_to_their_own_jobs_and_their_statuses() {
        let mut w = Workload::generate(10_000, 3, now());
        age_for_retention(&mut w, now());
        let pools = pools(&w, now());
        let mut seen = std::collections::HashSet::new();
        for p in &pools {
            assert!(p.active.len() > 50 && p.doomed.len() > 50);
            for id in p.doomed.iter().chain(&p.active) {
                assert!(seen.insert(id.clone()), "{id} belongs to two writers");
            }
        }
        let p = &pools[0];
        let status_of = |batch: &Value, id: &str| {
            batch
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["job_id"] == id)
                .map(|u| u["status"].as_str().unwrap().to_owned())
        };
        let (first, n_active) = writer_batch(&p.doomed, &p.active, 0);
        let items = first.as_array().unwrap();
        assert_eq!((items.len(), n_active), (JOBS_PER_CALL, JOBS_PER_CALL / 2));
        let ids: std::collections::HashSet<&str> = items
            .iter()
            .map(|u| u["job_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), items.len(), "a job named twice in one call");
        for (i, u) in items.iter().enumerate() {
            let allowed: &[&str] = if i < n_active {
                &["training", "generating_preview"]
            } else {
                &["done", "cancelled"]
            };
            assert!(allowed.contains(&u["status"].as_str().unwrap()), "{u}");
        }
        // The next pass over the active jobs flips each one's status.
        let passes = p.active.len().div_ceil(JOBS_PER_CALL / 2);
        let id = &p.active[0];
        let again = (1..=passes)
            .map(|k| writer_batch(&p.doomed, &p.active, k).0)
            .find_map(|b| status_of(&b, id))
            .expect("visited again");
        assert_ne!(Some(again), status_of(&first, id));

        // Tiny data: fewer jobs than a call, none named twice.
        let tiny = writer_batch(&["a".into(), "b".into()], &["c".into()], 5).0;
        assert_eq!(tiny.as_array().unwrap().len(), 3);
    }
}
