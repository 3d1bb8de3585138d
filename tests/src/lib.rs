//! Helpers shared by the cross-backend tests.
#![warn(missing_docs)]

pub mod bouncer;
pub mod cluster;
pub mod conformance;
pub mod dump;
pub mod jobs;

/// The connection string of the PostgreSQL server the PostgreSQL tests run
/// against, from `JOBTRACK_PG_URL` (set by `make test`); `None` when unset,
/// which [`dump::server_url`] turns into a failure naming the cure.
pub fn pg_url() -> Option<String> {
    std::env::var("JOBTRACK_PG_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Creates database `name` afresh (dropping an old one) with the extension
/// installed, on the server of [`pg_url`]; returns its connection string.
/// Panics when no server is configured: a PostgreSQL test never passes
/// without its server.
pub fn fresh_database(name: &str) -> String {
    dump::create_database(name, true)
}

/// Creates a shared pool of jobs with one batch call per kind, then makes
/// the ids below `old_below` (per kind: `e…`, `v…`) two days old, so that
/// `cleanup_old_jobs(1)` finds them once they are finished.
pub fn seed_pool(
    client: &mut postgres::Client,
    executions: Vec<serde_json::Value>,
    variations: Vec<serde_json::Value>,
    old_below: &str,
) {
    client
        .query_one(
            "SELECT jobtrack.batch_create_executions($1::text::jsonb), \
                    jobtrack.batch_create_variations($2::text::jsonb)",
            &[
                &serde_json::Value::Array(executions).to_string(),
                &serde_json::Value::Array(variations).to_string(),
            ],
        )
        .expect("create the pool");
    client
        .execute(
            "UPDATE jobtrack.executions SET created_at = now() - interval '2 days' WHERE job_id < 'e' || $1",
            &[&old_below],
        )
        .expect("age the executions");
    client
        .execute(
            "UPDATE jobtrack.variations SET created_at = now() - interval '2 days' WHERE job_id < 'v' || $1",
            &[&old_below],
        )
        .expect("age the variations");
}

/// Drops database `name` of the server of [`pg_url`] (a test's own, when it
/// is done with it).
pub fn drop_database(name: &str) {
    dump::drop_database(name);
}

/// The jobs that the summary table and the base tables disagree on, either
/// way (EXCEPT ALL both ways, in one snapshot).
pub const SUMMARY_MISMATCHES: &str = "
    WITH base AS (
        SELECT job_id, 'execution'::text AS job_type, status, dataset_name, preset, start_time,
               duration_seconds, success, updated_at AS last_updated
        FROM jobtrack.executions
        UNION ALL
        SELECT job_id, 'variation', status, dataset_name, preset, start_time,
               duration_seconds, success, updated_at
        FROM jobtrack.variations
    ), summary AS (
        SELECT job_id, job_type, status, dataset_name, preset, start_time,
               duration_seconds, success, last_updated
        FROM jobtrack.job_summary_cache
    )
    SELECT 'only in the base tables: ' || d::text FROM (TABLE base EXCEPT ALL TABLE summary) AS d
    UNION ALL
    SELECT 'only in the summary: ' || d::text FROM (TABLE summary EXCEPT ALL TABLE base) AS d";

/// The rows of [`SUMMARY_MISMATCHES`]: empty when the summary is exact.
pub fn summary_mismatches(client: &mut postgres::Client) -> Vec<String> {
    client
        .query(SUMMARY_MISMATCHES, &[])
        .expect("compare the summary with the base tables")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Panics, naming `when`, unless the summary table equals the base tables
/// row for row ([`summary_mismatches`]) and the counters equal a recount
/// (`verify_statistics()` returns no row); shows the first differences.
pub fn assert_exact(client: &mut postgres::Client, when: &str) {
    let mismatches = summary_mismatches(client);
    assert!(
        mismatches.is_empty(),
        "{when}: the summary table differs from the base tables: {:#?}",
        &mismatches[..mismatches.len().min(10)]
    );
    let differences: Vec<String> = client
        .query(
            "SELECT row_to_json(d)::text FROM jobtrack.verify_statistics() AS d",
            &[],
        )
        .expect("verify_statistics()")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(
        differences.is_empty(),
        "{when}: the counters differ from a recount: {differences:#?}"
    );
}
