//! Helpers shared by the cross-backend tests.
#![warn(missing_docs)]

pub mod cluster;
pub mod dump;

/// The connection string of the PostgreSQL server the PostgreSQL tests run
/// against, from `JOBTRACK_PG_URL` (set by `make test`). `None` when unset:
/// those tests then say so and do nothing, which `make test` never allows.
pub fn pg_url() -> Option<String> {
    std::env::var("JOBTRACK_PG_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A small deterministic generator (xorshift64*) for the randomized tests:
/// one per session, so that a failing run can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    /// The generator of session `n` of a test.
    pub fn for_session(n: u64) -> Self {
        Rng(0x9E37_79B9_7F4A_7C15 ^ ((n + 1) * 0x1234_5678_9ABC))
    }

    /// A generator from any nonzero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Creates database `name` afresh (dropping an old one) with the extension
/// installed, on the server of [`pg_url`]; returns its connection string.
/// `None`, after saying so for `test`, when no server is configured.
pub fn fresh_database(test: &str, name: &str) -> Option<String> {
    if pg_url().is_none() {
        eprintln!("{test}: JOBTRACK_PG_URL is not set; skipped (make test sets it)");
        return None;
    }
    Some(dump::create_database(name, true))
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
    if pg_url().is_some() {
        dump::drop_database(name);
    }
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
