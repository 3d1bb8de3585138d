//! The runtime SQL (hand-written files under `sql/sqlite/queries/`) and the
//! mapping of its rows to result types.

use std::str::FromStr;

use jobtrack_core::{
    progress, CounterRow, Counts, DatasetAggregate, ExperimentCounterRow, Extremes, Job, JobRecord,
    JobType, PipelineMode, RunningJob, StaleJob, Status, Timestamp,
};
use serde_json::{Map, Value};

use crate::store::SummaryProblem;
use rusqlite::types::{Type, ValueRef};
use rusqlite::Row;

// One constant per file of `sql/sqlite/queries/`, named after it (written
// by `build.rs`).
include!(concat!(env!("OUT_DIR"), "/queries.rs"));

/// The summary columns `VERIFY_SUMMARY` compares, in the order of its flags.
pub(crate) const SUMMARY_COLUMNS: [&str; 9] = [
    "status",
    "dataset_name",
    "preset",
    "start_time",
    "duration_seconds",
    "success",
    "last_updated",
    "experiment_name",
    "total_combinations",
];

fn conversion_failure(
    idx: usize,
    e: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

/// Reads a text column through `FromStr` without copying it, reporting a
/// value the schema should have refused as a conversion failure.
fn parsed<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text = row.get_ref(idx)?.as_str()?;
    text.parse().map_err(|e| conversion_failure(idx, e))
}

/// A timestamp column. The schema's CHECKs keep every stored timestamp in
/// one fixed-width form, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, which is read here
/// digit by digit; the general parser (`Timestamp::from_str`, built on the
/// `time` crate's format descriptions) costs several times as much, and a
/// listing reads three per row. Any other text goes to the general parser,
/// which refuses it.
fn timestamp(row: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    let text = row.get_ref(idx)?.as_str()?;
    match fixed_width_timestamp(text) {
        Some(t) => Ok(t),
        None => text.parse().map_err(|e| conversion_failure(idx, e)),
    }
}

fn timestamp_opt(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    match row.get_ref(idx)? {
        ValueRef::Null => Ok(None),
        _ => timestamp(row, idx).map(Some),
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (a real date, hour below 24, minute and
/// second below 60), or `None`.
pub(crate) fn fixed_width_timestamp(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() != 27
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[26] != b'Z'
    {
        return None;
    }
    let number = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let micros = number(20, 26)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(Timestamp::from_unix_micros(seconds * 1_000_000 + micros))
}

/// A row of the Job view (`ALL_JOBS`, `RECENT_JOBS`, `GET_JOB`,
/// `STALE_JOBS`, …).
pub(crate) fn job(row: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        job_id: row.get(0)?,
        job_type: parsed::<JobType>(row, 1)?,
        status: parsed::<Status>(row, 2)?,
        dataset_name: row.get(3)?,
        preset: row.get(4)?,
        mode: row.get(5)?,
        experiment_name: row.get(6)?,
        variation_id: row.get(7)?,
        success: row.get(8)?,
        duration_seconds: row.get(9)?,
        error_message: row.get(10)?,
        output_path: row.get(11)?,
        total_steps: row.get(12)?,
        current_step: row.get(13)?,
        start_time: timestamp_opt(row, 14)?,
        created_at: timestamp(row, 15)?,
        updated_at: timestamp(row, 16)?,
        last_heartbeat: timestamp_opt(row, 17)?,
    })
}

/// A parameters column of a variation (`varied_parameters`,
/// `parameter_values`): JSON object text, which the schema CHECKs; `None`
/// for an execution's NULL.
fn parameters_opt(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Map<String, Value>>> {
    match row.get_ref(idx)? {
        ValueRef::Null => Ok(None),
        value => serde_json::from_str(value.as_str()?)
            .map(Some)
            .map_err(|e| conversion_failure(idx, e)),
    }
}

/// A row of `EXPORT_JOBS`: a whole job, its columns
/// in the order of [`RECORD_COLUMNS`](jobtrack_core::RECORD_COLUMNS).
pub(crate) fn job_record(row: &Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        job_id: row.get(0)?,
        job_type: parsed::<JobType>(row, 1)?,
        status: parsed::<Status>(row, 2)?,
        dataset_name: row.get(3)?,
        preset: row.get(4)?,
        mode: parsed::<PipelineMode>(row, 5)?,
        experiment_name: row.get(6)?,
        variation_id: row.get(7)?,
        success: row.get(8)?,
        duration_seconds: row.get(9)?,
        error_message: row.get(10)?,
        output_path: row.get(11)?,
        total_steps: row.get(12)?,
        current_step: row.get(13)?,
        start_time: timestamp_opt(row, 14)?,
        created_at: timestamp(row, 15)?,
        updated_at: timestamp(row, 16)?,
        last_heartbeat: timestamp_opt(row, 17)?,
        end_time: timestamp_opt(row, 18)?,
        total_combinations: row.get(19)?,
        varied_parameters: parameters_opt(row, 20)?,
        parameter_values: parameters_opt(row, 21)?,
        parent_experiment_id: row.get(22)?,
        worker: row.get(23)?,
    })
}

/// A row of `RUNNING_JOBS` or `RUNNING_JOBS_AFTER`.
pub(crate) fn running_job(row: &Row<'_>) -> rusqlite::Result<RunningJob> {
    let current_step: Option<i32> = row.get(5)?;
    let total_steps: Option<i32> = row.get(6)?;
    Ok(RunningJob {
        job_id: row.get(0)?,
        job_type: parsed::<JobType>(row, 1)?,
        status: parsed::<Status>(row, 2)?,
        dataset_name: row.get(3)?,
        start_time: timestamp_opt(row, 4)?,
        current_step,
        total_steps,
        progress: progress(current_step, total_steps),
        experiment_name: row.get(7)?,
        variation_id: row.get(8)?,
        // 9 is created_at, the listing's order.
        last_heartbeat: timestamp_opt(row, 10)?,
    })
}

fn counts(row: &Row<'_>, first: usize) -> rusqlite::Result<Counts> {
    Counts::from_columns(first, |i| row.get(i))
}

/// One row of `claim_pending.sql`: the kind and id of a pending job.
pub(crate) fn pending_job(row: &Row<'_>) -> rusqlite::Result<(JobType, String)> {
    Ok((parsed::<JobType>(row, 0)?, row.get(1)?))
}

/// One row of `lock_stale.sql`: a stale job and its last sign of life.
pub(crate) fn stale_job(row: &Row<'_>) -> rusqlite::Result<StaleJob> {
    Ok(StaleJob {
        job_type: parsed::<JobType>(row, 0)?,
        job_id: row.get(1)?,
        last_seen: timestamp(row, 2)?,
    })
}

/// A row of `STATISTICS`: the job kind, the status, their counters summed
/// over datasets.
pub(crate) fn statistics_row(row: &Row<'_>) -> rusqlite::Result<(JobType, Status, Counts)> {
    Ok((
        parsed::<JobType>(row, 0)?,
        parsed::<Status>(row, 1)?,
        counts(row, 2)?,
    ))
}

/// The one row of `DATASET_STATS`.
pub(crate) fn dataset_row(row: &Row<'_>) -> rusqlite::Result<DatasetAggregate> {
    Ok(DatasetAggregate {
        min_duration: row.get(10)?,
        max_duration: row.get(11)?,
        first_run: timestamp_opt(row, 12)?,
        last_run: timestamp_opt(row, 13)?,
        ..DatasetAggregate::from_counters(counts(row, 0)?, counts(row, 5)?)
    })
}

/// A row of `EXPERIMENT_STATS`: one counter row of the experiment, `None`
/// in the one row of an experiment without counters (the LEFT JOIN's NULL
/// columns).
pub(crate) fn experiment_counter_row(
    row: &Row<'_>,
) -> rusqlite::Result<Option<ExperimentCounterRow>> {
    if let ValueRef::Null = row.get_ref(0)? {
        return Ok(None);
    }
    Ok(Some(ExperimentCounterRow {
        total_combinations: row.get(0)?,
        status: parsed::<Status>(row, 1)?,
        counts: counts(row, 2)?,
    }))
}

/// The extremes of an `EXPERIMENT_STATS` row (every row repeats them).
pub(crate) fn experiment_extremes(row: &Row<'_>) -> rusqlite::Result<Extremes> {
    Ok(Extremes {
        min_duration: row.get(7)?,
        max_duration: row.get(8)?,
        first_run: timestamp_opt(row, 9)?,
        last_run: timestamp_opt(row, 10)?,
    })
}

/// A row of `VERIFY_STATISTICS`: whether it is a counter (true) or the
/// recount (false), and the row.
pub(crate) fn verify_row(row: &Row<'_>) -> rusqlite::Result<(bool, CounterRow)> {
    let side: String = row.get(0)?;
    Ok((
        side == "counted",
        CounterRow {
            job_type: parsed::<JobType>(row, 1)?,
            dataset_name: row.get(2)?,
            status: parsed::<Status>(row, 3)?,
            counts: counts(row, 4)?,
        },
    ))
}

/// A row of `VERIFY_EXPERIMENT_STATS`: whether it is a counter (true) or
/// the recount (false), and the row with its experiment.
pub(crate) fn verify_experiment_row(
    row: &Row<'_>,
) -> rusqlite::Result<(bool, (String, ExperimentCounterRow))> {
    let side: String = row.get(0)?;
    Ok((
        side == "counted",
        (
            row.get(1)?,
            ExperimentCounterRow {
                total_combinations: row.get(2)?,
                status: parsed::<Status>(row, 3)?,
                counts: counts(row, 4)?,
            },
        ),
    ))
}

/// A row of `VERIFY_SUMMARY`: the job, its kind, the problem and, per
/// summary column, whether it differs.
pub(crate) fn summary_difference(
    row: &Row<'_>,
) -> rusqlite::Result<(
    String,
    JobType,
    SummaryProblem,
    [bool; SUMMARY_COLUMNS.len()],
)> {
    let problem = match row.get_ref(2)?.as_str()? {
        "missing" => SummaryProblem::Missing,
        "extra" => SummaryProblem::Extra,
        _ => SummaryProblem::Differs,
    };
    let mut differing = [false; SUMMARY_COLUMNS.len()];
    for (i, flag) in differing.iter_mut().enumerate() {
        *flag = row.get(3 + i)?;
    }
    Ok((row.get(0)?, parsed::<JobType>(row, 1)?, problem, differing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, ToSql};

    fn plan(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(params, |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        rows.join("\n")
    }

    /// Every runtime query with its parameters and the indexes its plan must
    /// use.
    /// (name, SQL, parameters, plan lines that must appear).
    type Case = (
        &'static str,
        &'static str,
        Vec<&'static dyn ToSql>,
        Vec<&'static str>,
    );

    fn cases() -> Vec<Case> {
        const NOW: &str = "2026-01-01T00:00:00.000000Z";
        const STATUSES: &str = r#"["in_queue", "training"]"#;
        vec![
            (
                // The counters: one row per (dataset, kind, status), however
                // many jobs; the only full scan allowed on the fast path.
                "statistics",
                STATISTICS,
                vec![],
                vec!["SCAN job_counters"],
            ),
            (
                // Counters by primary key; each extreme the first entry of
                // the dataset in an index range (ORDER BY … LIMIT 1 with no
                // sort step: logarithmic).
                "dataset_stats",
                DATASET_STATS,
                vec![&"mnist"],
                vec![
                    "SEARCH job_counters USING PRIMARY KEY (dataset_name=?)",
                    "SEARCH job_summary_cache USING COVERING INDEX idx_job_summary_dataset_duration (dataset_name=? AND duration_seconds>?)",
                    "SEARCH job_summary_cache USING COVERING INDEX idx_job_summary_dataset_start (dataset_name=? AND start_time>?)",
                ],
            ),
            (
                // The experiment's counters by primary key; each extreme the
                // first entry of the experiment in an index range of
                // variations, as for a dataset. "SCAN x" reads the one row
                // of the extremes.
                "experiment_stats",
                EXPERIMENT_STATS,
                vec![&"sweep"],
                vec![
                    "SEARCH c USING PRIMARY KEY (experiment_name=?) LEFT-JOIN",
                    "SEARCH variations USING COVERING INDEX idx_variations_experiment_duration (experiment_name=? AND duration_seconds>?)",
                    "SEARCH variations USING COVERING INDEX idx_variations_experiment_start (experiment_name=? AND start_time>?)",
                    "SCAN x",
                ],
            ),
            (
                "cleanup_summary_count",
                CLEANUP_SUMMARY_COUNT,
                vec![&NOW, &true],
                vec![
                    "SEARCH executions USING INDEX idx_executions_cleanup (created_at<?)",
                    "SEARCH variations USING INDEX idx_variations_cleanup (created_at<?)",
                    "SEARCH job_summary_cache USING PRIMARY KEY (job_id=?)",
                ],
            ),
            (
                // The check recounts everything: full scans by design.
                "verify_statistics",
                VERIFY_STATISTICS,
                vec![],
                vec!["SCAN job_counters", "SCAN executions", "SCAN variations"],
            ),
            (
                "verify_experiment_stats",
                VERIFY_EXPERIMENT_STATS,
                vec![],
                // The recount walks an experiment_name index to group.
                vec![
                    "SCAN experiment_counters",
                    "SCAN variations USING INDEX idx_variations_experiment_start",
                    "SCAN experiment_counters_recount",
                ],
            ),
            (
                "all_jobs",
                ALL_JOBS,
                vec![&10],
                vec![
                    "SCAN executions USING INDEX idx_executions_created",
                    "SCAN variations USING INDEX idx_variations_created",
                ],
            ),
            (
                "recent_jobs",
                RECENT_JOBS,
                vec![&10],
                vec![
                    "SCAN job_summary_cache USING COVERING INDEX idx_job_summary_recent",
                    "SEARCH executions USING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                    "SEARCH variations USING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                ],
            ),
            (
                // A deeper page: each arm seeks its index to the cursor's
                // key instead of reading from the top.
                "all_jobs_after",
                ALL_JOBS_AFTER,
                vec![&10, &NOW, &"a"],
                vec![
                    "SEARCH executions USING INDEX idx_executions_created ((created_at,job_id)<(?,?))",
                    "SEARCH variations USING INDEX idx_variations_created ((created_at,job_id)<(?,?))",
                ],
            ),
            (
                // An export reads both kinds in (created_at, job_id) order
                // from their idx_*_created indexes, merged without a sort:
                // every page one seek per arm to the last row's key.
                "export_jobs",
                EXPORT_JOBS,
                vec![&NOW, &"a", &1000],
                vec![
                    "SEARCH executions USING INDEX idx_executions_created ((created_at,job_id)>(?,?))",
                    "SEARCH variations USING INDEX idx_variations_created ((created_at,job_id)>(?,?))",
                ],
            ),
            (
                "running_jobs",
                RUNNING_JOBS,
                vec![&-1],
                vec![
                    "SCAN executions USING INDEX idx_executions_active",
                    "SCAN variations USING INDEX idx_variations_active",
                ],
            ),
            (
                "running_jobs_after",
                RUNNING_JOBS_AFTER,
                vec![&10, &NOW, &"a"],
                vec![
                    "SEARCH executions USING INDEX idx_executions_active ((created_at,job_id)<(?,?))",
                    "SEARCH variations USING INDEX idx_variations_active ((created_at,job_id)<(?,?))",
                ],
            ),
            (
                "job_cursor",
                JOB_CURSOR,
                vec![&"a"],
                vec![
                    "SEARCH executions USING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                    "SEARCH variations USING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                ],
            ),
            (
                "cleanup_executions",
                CLEANUP_EXECUTIONS,
                vec![&NOW, &true],
                vec!["SEARCH executions USING INDEX idx_executions_cleanup (created_at<?)"],
            ),
            (
                "cleanup_variations",
                CLEANUP_VARIATIONS,
                vec![&NOW, &true],
                vec!["SEARCH variations USING INDEX idx_variations_cleanup (created_at<?)"],
            ),
            (
                "get_job",
                GET_JOB,
                vec![&"a"],
                vec![
                    "SEARCH executions USING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                    "SEARCH variations USING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                ],
            ),
            (
                "job_exists",
                JOB_EXISTS,
                vec![&"a"],
                vec![
                    "SEARCH executions USING COVERING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                    "SEARCH variations USING COVERING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                ],
            ),
            (
                // A status change costs seeks by primary key for its jobs,
                // however many jobs the tables hold: the working table
                // drives every step.
                "update_execution_status",
                UPDATE_EXECUTION_STATUS,
                vec![&NOW],
                vec![
                    "SEARCH executions USING COVERING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                    "USING INDEX sqlite_autoindex_job_status_change_1 FOR IN-OPERATOR",
                    "SEARCH c USING PRIMARY KEY (job_id=?)",
                ],
            ),
            (
                "update_variation_status",
                UPDATE_VARIATION_STATUS,
                vec![&NOW],
                vec![
                    "SEARCH variations USING COVERING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                    "USING INDEX sqlite_autoindex_job_status_change_1 FOR IN-OPERATOR",
                    "SEARCH c USING PRIMARY KEY (job_id=?)",
                ],
            ),
            (
                "status_counters_executions",
                STATUS_COUNTERS_EXECUTIONS,
                vec![&-1],
                vec![
                    "SCAN c",
                    "SEARCH j USING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                ],
            ),
            (
                "status_counters_variations",
                STATUS_COUNTERS_VARIATIONS,
                vec![&1],
                vec![
                    "SCAN c",
                    "SEARCH j USING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                ],
            ),
            (
                "status_summary_executions",
                STATUS_SUMMARY_EXECUTIONS,
                vec![],
                vec![
                    "SCAN c",
                    "SEARCH j USING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                ],
            ),
            (
                "status_summary_variations",
                STATUS_SUMMARY_VARIATIONS,
                vec![],
                vec![
                    "SCAN c",
                    "SEARCH j USING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                ],
            ),
            (
                "counters_drop_zero",
                COUNTERS_DROP_ZERO,
                vec![&"mnist", &"execution", &"done"],
                vec!["SEARCH job_counters USING PRIMARY KEY (dataset_name=? AND job_type=? AND status=?)"],
            ),
            (
                // A prune batch reads its rows in created_at order from the
                // two partial indexes, merged, and stops after ?3 of them.
                "prune_choose",
                PRUNE_CHOOSE,
                vec![&NOW, &true, &10],
                vec![
                    "SEARCH executions USING INDEX idx_executions_cleanup (created_at<?)",
                    "SEARCH variations USING INDEX idx_variations_cleanup (created_at<?)",
                ],
            ),
            (
                // Claiming reads the pending jobs in created_at order from
                // the two partial active indexes, merged, and stops after
                // ?1 of them.
                "claim_pending",
                CLAIM_PENDING,
                vec![&10],
                vec![
                    "SCAN executions USING INDEX idx_executions_active",
                    "SCAN variations USING INDEX idx_variations_active",
                ],
            ),
            (
                "jobs_by_id",
                JOBS_BY_ID,
                vec![&"[\"a\"]"],
                vec![
                    "SEARCH executions USING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                    "SEARCH variations USING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                    // The ids themselves, read from the JSON array.
                    "SCAN json_each VIRTUAL TABLE INDEX 1:",
                ],
            ),
            (
                "prune_summary_count",
                PRUNE_SUMMARY_COUNT,
                vec![],
                vec![
                    "SCAN b",
                    "SEARCH s USING PRIMARY KEY (job_id=?)",
                ],
            ),
            (
                "prune_executions",
                PRUNE_EXECUTIONS,
                vec![],
                vec![
                    "SEARCH executions USING COVERING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                    "SCAN temp.job_prune_batch",
                ],
            ),
            (
                "prune_variations",
                PRUNE_VARIATIONS,
                vec![],
                vec![
                    "SEARCH variations USING COVERING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                    "SCAN temp.job_prune_batch",
                ],
            ),
            (
                "update_execution_progress",
                UPDATE_EXECUTION_PROGRESS,
                vec![&"a", &1, &NOW],
                vec!["SEARCH executions USING INDEX sqlite_autoindex_executions_1 (job_id=?)"],
            ),
            (
                "update_variation_progress",
                UPDATE_VARIATION_PROGRESS,
                vec![&"a", &1, &NOW],
                vec!["SEARCH variations USING INDEX sqlite_autoindex_variations_1 (job_id=?)"],
            ),
            (
                "heartbeat_execution",
                HEARTBEAT_EXECUTION,
                vec![&"a", &NOW],
                vec!["SEARCH executions USING INDEX sqlite_autoindex_executions_1 (job_id=?)"],
            ),
            (
                "heartbeat_variation",
                HEARTBEAT_VARIATION,
                vec![&"a", &NOW],
                vec!["SEARCH variations USING INDEX sqlite_autoindex_variations_1 (job_id=?)"],
            ),
            (
                // Stale jobs are looked for among the active jobs only, read
                // from the partial indexes; the few stale ones are sorted.
                "lock_stale",
                LOCK_STALE,
                vec![&NOW, &STATUSES],
                vec![
                    "SCAN executions USING INDEX idx_executions_active",
                    "SCAN variations USING INDEX idx_variations_active",
                    // The statuses, read from the JSON array core binds.
                    "SCAN json_each VIRTUAL TABLE INDEX 1:",
                ],
            ),
            (
                "stale_jobs",
                STALE_JOBS,
                vec![&NOW, &STATUSES],
                vec![
                    "SCAN executions USING INDEX idx_executions_active",
                    "SCAN variations USING INDEX idx_variations_active",
                    "SEARCH executions USING INDEX sqlite_autoindex_executions_1 (job_id=?)",
                    "SEARCH variations USING INDEX sqlite_autoindex_variations_1 (job_id=?)",
                    "SCAN json_each VIRTUAL TABLE INDEX 1:",
                    // The stale ids, and their rows, sorted apart.
                    "SCAN s",
                    "SCAN stale_rows",
                ],
            ),
        ]
    }

    fn schema() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::configure(&conn, Default::default()).unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn every_query_uses_its_index() {
        let conn = schema();
        for (name, sql, params, expected) in cases() {
            let plan = plan(&conn, sql, &params);
            for line in &expected {
                assert!(
                    plan.lines().any(|l| l == *line),
                    "{name}: plan lacks {line:?}:\n{plan}"
                );
            }
            // A full scan of a table (not of an index) would mean a lost
            // index, unless the case expects it. A sort step would mean an
            // index that does not deliver the order.
            for l in plan.lines() {
                let full_scan = l.starts_with("SCAN ")
                    && !l.contains(" USING ")
                    && l != "SCAN r"
                    && !l.starts_with("SCAN CONSTANT")
                    && !l.starts_with("SCAN job_counters_recount")
                    && !expected.contains(&l);
                assert!(!full_scan, "{name}: full table scan {l:?}:\n{plan}");
                // The listings deliver their order from the indexes: a page
                // costs a seek plus its rows, never a sort of every match
                // (recent_jobs sorts only the ?1 rows it fetched).
                let ordered = [
                    "claim_pending",
                    "prune_choose",
                    "dataset_stats",
                    "experiment_stats",
                    "all_jobs",
                    "all_jobs_after",
                    "export_jobs",
                    "running_jobs",
                    "running_jobs_after",
                ];
                if ordered.contains(&name) {
                    assert!(!l.contains("TEMP B-TREE"), "{name}: sorts {l:?}:\n{plan}");
                }
            }
        }
    }

    #[test]
    fn the_plans_hold_with_data_and_statistics() {
        // After ANALYZE the planner weighs real numbers; with mostly finished
        // jobs it must still choose the same indexes.
        let conn = schema();
        let now = "2026-01-01T00:00:00.000000Z";
        for i in 0..2000 {
            let status = if i % 50 == 0 { "training" } else { "done" };
            conn.execute(
                "INSERT INTO executions (job_id, status, pipeline_mode, dataset_name, preset, created_at, updated_at) \
                 VALUES (?1, ?2, 'single', ?3, 'p', ?4, ?4)",
                rusqlite::params![format!("e{i}"), status, format!("d{}", i % 20), now],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO variations (job_id, status, variation_id, experiment_name, dataset_name, preset, \
                 total_combinations, created_at, updated_at) VALUES (?1, ?2, 'v', ?5, ?3, 'p', 1, ?4, ?4)",
                rusqlite::params![
                    format!("v{i}"),
                    status,
                    format!("d{}", i % 20),
                    now,
                    format!("x{}", i % 20)
                ],
            )
            .unwrap();
        }
        conn.execute_batch("ANALYZE").unwrap();
        for (name, sql, params, expected) in cases() {
            let plan = plan(&conn, sql, &params);
            for line in expected {
                assert!(
                    plan.lines().any(|l| l == line),
                    "{name}: plan lacks {line:?}:\n{plan}"
                );
            }
        }
    }

    #[test]
    fn the_fixed_width_reader_agrees_with_the_general_parser() {
        let mut rng = fastrand::Rng::with_seed(7);
        // The years the schema stores, 0001 to 9999, and the year 0 that
        // Display writes in the same width.
        let first = "0000-01-01T00:00:00.000000Z"
            .parse::<Timestamp>()
            .unwrap()
            .unix_micros();
        let last = "9999-12-31T23:59:59.999999Z"
            .parse::<Timestamp>()
            .unwrap()
            .unix_micros();
        let mut texts: Vec<String> = (0..20_000)
            .map(|_| Timestamp::from_unix_micros(rng.i64(first..=last)).to_string())
            .collect();
        texts.extend(
            [
                "1970-01-01T00:00:00.000000Z",
                "1969-12-31T23:59:59.999999Z",
                "0001-01-01T00:00:00.000000Z",
                "2000-02-29T12:00:00.000001Z",
                "2024-02-29T23:59:59.999999Z",
                "1900-02-28T00:00:00.000000Z",
            ]
            .map(str::to_owned),
        );
        for text in &texts {
            assert_eq!(text.len(), 27, "{text}");
            let general: Timestamp = text.parse().unwrap();
            assert_eq!(fixed_width_timestamp(text), Some(general), "{text}");
        }
        // Impossible dates and times, and every other spelling: none from
        // the fixed-width reader (the general one refuses the impossible
        // and reads the rest).
        for text in [
            "2023-02-29T00:00:00.000000Z",
            "1900-02-29T00:00:00.000000Z",
            "2024-02-30T00:00:00.000000Z",
            "2024-04-31T00:00:00.000000Z",
            "2024-13-01T00:00:00.000000Z",
            "2024-00-01T00:00:00.000000Z",
            "2024-01-00T00:00:00.000000Z",
            "2024-01-01T24:00:00.000000Z",
            "2024-01-01T23:60:00.000000Z",
            "2024-01-01T23:59:60.000000Z",
            "2024-01-01T23:59:5x.000000Z",
            "2024-01-01 23:59:59.000000Z",
            "2024-01-01T23:59:59.000000+",
            "2024-01-01T23:59:59.00000Z",
            "2024-01-01T23:59:59.0000000Z",
            "2024-01-01T23:59:59Z",
            "+2024-01-01T23:59:59.000000Z",
            "2024-01-01T23:59:59.000000",
            "",
        ] {
            assert_eq!(fixed_width_timestamp(text), None, "{text}");
        }
        for impossible in ["2023-02-29T00:00:00.000000Z", "2024-01-01T24:00:00.000000Z"] {
            assert!(impossible.parse::<Timestamp>().is_err(), "{impossible}");
        }
    }

    #[test]
    fn duration_is_exact_to_the_microsecond() {
        let conn = schema();
        let cases = [
            ("2026-01-01T23:59:59.999999Z", "2026-01-02T00:00:00.000001Z"),
            ("2024-02-28T12:00:00.500000Z", "2024-03-01T12:00:00.250000Z"),
            ("2026-06-30T10:00:00.000000Z", "2026-06-30T10:00:00.000000Z"),
            ("1999-12-31T23:59:59.123456Z", "2030-01-01T00:00:00.654321Z"),
        ];
        for (start, end) in cases {
            conn.execute("DELETE FROM executions", []).unwrap();
            conn.execute(
                "INSERT INTO executions (job_id, pipeline_mode, dataset_name, preset, start_time) \
                 VALUES ('d', 'single', 'd', 'p', ?1)",
                [start],
            )
            .unwrap();
            conn.execute(
                STATUS_CHANGE_ADD,
                rusqlite::params!["d", "done", None::<String>, false, true, true, true],
            )
            .unwrap();
            conn.execute(UPDATE_EXECUTION_STATUS, [end]).unwrap();
            conn.execute(STATUS_CHANGE_CLEAR, []).unwrap();
            let got: f64 = conn
                .query_row("SELECT duration_seconds FROM executions", [], |r| r.get(0))
                .unwrap();
            let start: Timestamp = start.parse().unwrap();
            let end: Timestamp = end.parse().unwrap();
            assert_eq!(got, end.seconds_since(start), "{start} .. {end}");
        }
    }

    #[test]
    fn no_index_without_a_query() {
        let conn = schema();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name")
            .unwrap();
        let indexes: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let used: std::collections::BTreeSet<String> = cases()
            .into_iter()
            .flat_map(|(_, _, _, lines)| lines)
            // A virtual table's "index" (json_each's) is no index of ours.
            .filter(|l| !l.contains(" VIRTUAL TABLE "))
            .filter_map(|l| l.split(" INDEX ").nth(1))
            .map(|rest| rest.split(' ').next().unwrap().to_owned())
            .filter(|name| !name.starts_with("sqlite_autoindex_"))
            .collect();
        assert_eq!(indexes, used.into_iter().collect::<Vec<_>>());
        assert_eq!(indexes.len(), 11);
    }
}
