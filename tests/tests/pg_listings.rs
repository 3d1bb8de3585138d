//! The plans the listings run, on data where a generic plan goes wrong
//! unless it is made with care: jobs whose listing order is not the order
//! of the table, and enough of them that a tenth of the rows (a generic
//! plan's estimate of a LIMIT that is an argument) costs more to read
//! through an index than sorting every row, and more than JIT's threshold.
//! auto_explain reports the plans of the statements the functions run
//! (log_nested_statements) to the client as NOTICEs. With the planner's
//! defaults instead of the listings' settings, the recent jobs sort the
//! whole summary and compile it with JIT at every call on this data (seen
//! failing so); at this size the other listings keep their indexes anyway,
//! and are checked to stay so.

use std::sync::{Arc, Mutex};

use postgres::{Client, NoTls};

const DATABASE: &str = "jobtrack_listing_plans";

/// Jobs per kind, created_at in an order unrelated to the insertion order
/// (a multiplicative hash of the number), a third of them active.
const LOAD: &str = "
    INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset, status, created_at)
    SELECT 'e' || g, 'single', 'd' || g % 20, 'p',
           CASE WHEN g % 3 = 0 THEN 'training' ELSE 'done' END,
           timestamptz '2026-01-01' + make_interval(secs => (g::bigint * 7919) % 100003)
    FROM generate_series(1, 60000) AS g;
    INSERT INTO jobtrack.variations (job_id, variation_id, experiment_name, dataset_name, preset,
                                     total_combinations, status, created_at)
    SELECT 'v' || g, 'x', 's', 'd' || g % 20, 'p', 1,
           CASE WHEN g % 3 = 0 THEN 'pending' ELSE 'failed' END,
           timestamptz '2026-01-01' + make_interval(secs => (g::bigint * 6037) % 100019)
    FROM generate_series(1, 60000) AS g;
    -- updated_at (the summary's last_updated, which the recent jobs order
    -- by) likewise.
    UPDATE jobtrack.executions
    SET updated_at = timestamptz '2026-06-01' + make_interval(secs => (substr(job_id, 2)::bigint * 104729) % 100043);
";

/// The plans auto_explain reported for the statements run inside `call`.
fn nested_plans(client: &mut Client, notices: &Mutex<Vec<String>>, call: &str) -> Vec<String> {
    notices.lock().unwrap().clear();
    client
        .batch_execute(call)
        .unwrap_or_else(|e| panic!("{call}: {e}"));
    notices
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n.contains("Query Text:") && !n.contains(call))
        .cloned()
        .collect()
}

#[test]
fn listings_read_their_indexes_in_order_whatever_the_data() {
    let url = jobtrack_tests::fresh_database(DATABASE);
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&notices);
    let mut client = url
        .parse::<postgres::Config>()
        .unwrap()
        .notice_callback(move |notice| sink.lock().unwrap().push(notice.message().to_owned()))
        .connect(NoTls)
        .expect("connect");
    client.batch_execute(LOAD).expect("load");
    client.batch_execute("VACUUM ANALYZE").expect("vacuum");
    client
        .batch_execute(
            "LOAD 'auto_explain';
             SET auto_explain.log_min_duration = 0;
             SET auto_explain.log_nested_statements = on;
             SET auto_explain.log_level = notice;
             SET jit = on;
             SET jit_above_cost = 100000;",
        )
        .unwrap();
    let cursor: String = client
        .query_one(
            "SELECT job_id FROM jobtrack.get_running_jobs(NULL) OFFSET 5000 LIMIT 1",
            &[],
        )
        .unwrap()
        .get(0);
    // Each call, the first line of its query's file (which the reported
    // query text begins with), and the indexes its plan must read.
    let all = "-- get_all_jobs_optimized($1 lim";
    let running = "-- get_running_jobs($1 lim";
    let created = &["executions_created_idx", "variations_created_idx"][..];
    let active = &["executions_active_idx", "variations_active_idx"][..];
    let cases = [
        (
            "SELECT count(*) FROM jobtrack.get_all_jobs_optimized(100)".to_owned(),
            all,
            created,
        ),
        (
            format!("SELECT count(*) FROM jobtrack.get_all_jobs_optimized(100, '{cursor}')"),
            all,
            created,
        ),
        (
            "SELECT count(*) FROM jobtrack.get_running_jobs()".to_owned(),
            running,
            active,
        ),
        (
            format!("SELECT count(*) FROM jobtrack.get_running_jobs(50, '{cursor}')"),
            running,
            active,
        ),
        (
            "SELECT count(*) FROM jobtrack.get_recent_jobs_optimized(10)".to_owned(),
            "-- get_recent_jobs_optimized($1 lim)",
            &["job_summary_cache_recent_idx"][..],
        ),
    ];
    let mut failures = Vec::new();
    for (call, query, indexes) in &cases {
        // Twice: the second call runs the plan kept by the first.
        for round in 1..=2 {
            let plans = nested_plans(&mut client, &notices, call);
            let Some(plan) = plans.iter().find(|p| p.contains(query)) else {
                failures.push(format!(
                    "{call} (call {round}): no plan of its query reported: {plans:#?}"
                ));
                continue;
            };
            for index in *indexes {
                if !plan.contains(&format!("Index Scan using {index}")) {
                    failures.push(format!("{call} (call {round}): {index} not read:\n{plan}"));
                }
            }
            // A Sort node (not the Merge Append's "Sort Key"), or JIT
            // compiling the plan at every execution.
            if plan.contains("Sort  (cost") || plan.contains("JIT:") {
                failures.push(format!("{call} (call {round}): sorts or uses JIT:\n{plan}"));
            }
        }
    }
    drop(client);
    jobtrack_tests::drop_database(DATABASE);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
