//! Jobs made in bulk by the server, for the concurrency tests of one
//! feature each (tests/tests/pg_prune.rs, pg_claim.rs), and the lock that
//! runs such a test binary's tests one at a time.

use std::sync::{Mutex, MutexGuard};

use postgres::Client;

use crate::dump::describe;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Held for a test's whole run: tests that load tens of thousands of jobs
/// and run several sessions then do not share two cores with another
/// such test of the same binary (what they assert holds either way; what
/// they print would mean little). A test that failed poisons the lock;
/// the next one still runs.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Creates `n` executions `<prefix>000001…` with `status` in one batch
/// call whose JSON the server builds (30,000 elements cost a second, not a
/// megabyte over the wire), in the datasets ds0…ds2, `total_steps` 1 to 7.
pub fn create_executions(client: &mut Client, prefix: &str, n: i32, status: &str) {
    let created: i32 = client
        .query_one(
            "SELECT cardinality(jobtrack.batch_create_executions(
                 (SELECT jsonb_agg(jsonb_build_object(
                             'job_id', $1 || lpad(g::text, 6, '0'), 'pipeline_mode', 'batch',
                             'dataset_name', 'ds' || (g % 3), 'preset', 'p', 'status', $3::text,
                             'total_steps', g % 7 + 1)
                         ORDER BY g)
                  FROM generate_series(1, $2) AS g)))",
            &[&prefix, &n, &status],
        )
        .unwrap_or_else(|e| panic!("create executions {prefix}: {}", describe(&e)))
        .get(0);
    assert_eq!(created, n);
}

/// As [`create_executions`], variations, of the experiments s0 and s1.
pub fn create_variations(client: &mut Client, prefix: &str, n: i32, status: &str) {
    let created: i32 = client
        .query_one(
            "SELECT cardinality(jobtrack.batch_create_variations(
                 (SELECT jsonb_agg(jsonb_build_object(
                             'job_id', $1 || lpad(g::text, 6, '0'), 'variation_id', 'x' || g,
                             'experiment_name', 's' || (g % 2), 'dataset_name', 'ds' || (g % 3),
                             'preset', 'p', 'total_combinations', $2, 'status', $3::text)
                         ORDER BY g)
                  FROM generate_series(1, $2) AS g)))",
            &[&prefix, &n, &status],
        )
        .unwrap_or_else(|e| panic!("create variations {prefix}: {}", describe(&e)))
        .get(0);
    assert_eq!(created, n);
}
