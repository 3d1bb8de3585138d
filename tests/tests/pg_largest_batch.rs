//! The largest batch jobtrack supports, 1,000,000 elements (54000 beyond:
//! tests/pg_regress/sql/errors.sql), works on a server with ordinary
//! memory: created, status-updated and counted exactly, in one call each.

use jobtrack_tests::{drop_database, fresh_database};

const DATABASE: &str = "jobtrack_largest_batch";
const LARGEST: i64 = 1_000_000;

#[test]
fn a_batch_of_the_largest_size_is_created_and_updated_exactly() {
    let url = fresh_database(DATABASE);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let created: i64 = client
        .query_one(
            "SELECT cardinality(jobtrack.batch_create_executions(
                 (SELECT jsonb_agg(jsonb_build_object(
                             'job_id', 'big-' || g, 'pipeline_mode', 'batch',
                             'dataset_name', 'ds' || (g % 7), 'preset', 'p'))
                  FROM generate_series(1, $1::bigint) AS g)))::bigint",
            &[&LARGEST],
        )
        .expect("create the largest batch")
        .get(0);
    assert_eq!(created, LARGEST);
    let updated: i32 = client
        .query_one(
            "SELECT jobtrack.batch_update_execution_status(
                 (SELECT jsonb_agg(jsonb_build_object(
                             'job_id', 'big-' || g,
                             'status', (ARRAY['training', 'done', 'failed'])[1 + g % 3]))
                  FROM generate_series(1, $1::bigint) AS g))",
            &[&LARGEST],
        )
        .expect("update the largest batch")
        .get(0);
    assert_eq!(i64::from(updated), LARGEST);
    let (jobs, differences): (i64, i64) = {
        let row = client
            .query_one(
                "SELECT (jobtrack.get_statistics_optimized()->>'total_executions')::bigint,
                        (SELECT count(*) FROM jobtrack.verify_statistics())",
                &[],
            )
            .expect("read the statistics");
        (row.get(0), row.get(1))
    };
    assert_eq!(jobs, LARGEST, "total_executions after the largest batch");
    assert_eq!(
        differences, 0,
        "verify_statistics() after the largest batch"
    );
    drop(client);
    drop_database(DATABASE);
}
