//! # jobtrack — the PostgreSQL extension
//!
//! `CREATE EXTENSION jobtrack` installs, in schema `jobtrack`, the tables
//! `executions`, `variations` and the summary table `job_summary_cache` (kept
//! exact by statement-level triggers), the indexes the runtime queries use,
//! and the functions of the API. The schema is hand-written SQL
//! (`sql/pg/schema.sql`), as are the runtime queries (`sql/pg/queries/`);
//! validation, errors and result types come from `jobtrack-core`, shared with
//! the SQLite library, so both backends behave identically.

use pgrx::prelude::*;

mod cache;
mod counters;
mod error;
mod json_input;
mod listings;
mod maintenance;
mod memory;
mod metrics;
mod monitoring;
mod queries;
mod reads;
mod rows;
mod settings;
mod shared;
mod statement_read;
mod writes;

// The module name PostgreSQL 18 reports (pg_get_loaded_modules) is the
// extension's, not the cargo package's (`jobtrack-pg`) that `name` alone takes.
::pgrx::pg_module_magic!(name = c"jobtrack", version);

extension_sql_file!("../../sql/pg/schema.sql", name = "schema", bootstrap);

/// Schema `jobtrack`, where every function goes (`schema = "jobtrack"`).
/// Declared for pgrx's SQL generator; `sql/pg/schema.sql` creates it.
#[pg_schema]
mod jobtrack {}
// The listings, C functions of `listings` declared by hand: pgrx does not
// generate materialize-mode set-returning functions.
extension_sql_file!("../../sql/pg/listings.sql", name = "listings");
// export_jobs, a LANGUAGE sql function the planner inlines, so that its rows
// stream from the index scans (pgrx generates C functions only).
extension_sql_file!("../../sql/pg/export.sql", name = "export");
// prune_jobs, a procedure (pgrx generates functions only) that commits
// between the batches of writes::_prune_batch.
extension_sql_file!(
    "../../sql/pg/prune.sql",
    name = "prune",
    requires = [writes::_prune_cutoff, writes::_prune_batch]
);
extension_sql_file!("../../sql/pg/comments.sql", name = "comments", finalize);

/// Library initialisation. Safe whether the library is preloaded
/// (`shared_preload_libraries`, in the postmaster) or loaded by a backend on
/// first use: shared memory is requested only when preloading.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // No Rust backtrace may reach a client: pgrx's panic hook captures one
    // for every panic and every PostgreSQL ERROR that crosses Rust code,
    // and adds it to the ERROR's DETAIL whenever capturing is enabled —
    // which RUST_BACKTRACE=1 in the server's environment does. The standard
    // library reads RUST_LIB_BACKTRACE before RUST_BACKTRACE, once, at the
    // first capture, which cannot have happened before this library's
    // initialisation; "0" disables capturing in this process and, when
    // preloading, in every backend the postmaster forks.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    cache::init();
    maintenance::init();
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;
    use serde_json::json;

    fn exec(id: &str) -> serde_json::Value {
        json!({"job_id": id, "pipeline_mode": "single", "dataset_name": "d", "preset": "p"})
    }

    #[pg_test]
    fn batch_create_then_update_keeps_summary_exact() {
        let ids = Spi::get_one_with_args::<Vec<String>>(
            "SELECT jobtrack.batch_create_executions($1)",
            &[pgrx::JsonB(json!([exec("t-a"), exec("t-b"), exec("t-c")])).into()],
        )
        .unwrap()
        .unwrap();
        assert_eq!(ids, ["t-a", "t-b", "t-c"]);
        let n = Spi::get_one_with_args::<i32>(
            "SELECT jobtrack.batch_update_execution_status($1)",
            &[pgrx::JsonB(json!([
                {"job_id": "t-b", "status": "training"},
                {"job_id": "t-a", "status": "failed", "error_message": "oom"},
                {"job_id": "ghost", "status": "done"},
                {"job_id": "t-b", "status": "completed"}
            ]))
            .into()],
        )
        .unwrap()
        .unwrap();
        assert_eq!(n, 2);
        let mismatches = Spi::get_one::<i64>(
            "SELECT count(*) FROM (
                 SELECT job_id, status, success, duration_seconds FROM jobtrack.job_summary_cache
                 EXCEPT
                 SELECT job_id, status, success, duration_seconds FROM jobtrack.executions) AS d",
        )
        .unwrap()
        .unwrap();
        assert_eq!(mismatches, 0);
        let status = Spi::get_one::<String>(
            "SELECT status FROM jobtrack.job_summary_cache WHERE job_id = 't-b'",
        )
        .unwrap()
        .unwrap();
        assert_eq!(status, "done");
    }

    #[pg_test(error = "element 1: field \"dataset_name\" is required")]
    fn bad_element_raises_core_message() {
        let mut bad = exec("t-y");
        bad.as_object_mut().unwrap().remove("dataset_name");
        Spi::get_one_with_args::<Vec<String>>(
            "SELECT jobtrack.batch_create_executions($1)",
            &[pgrx::JsonB(json!([exec("t-x"), bad])).into()],
        )
        .unwrap();
    }

    #[pg_test]
    fn failed_call_is_recorded_and_raises_23505() {
        Spi::run("SELECT jobtrack.reset_transaction_metrics()").unwrap();
        // The second create fails with unique_violation; the handler (a
        // subtransaction) catches only that code, so any other error fails
        // the test.
        Spi::run(&format!(
            "DO $$
             BEGIN
                 PERFORM jobtrack.create_execution('{job}');
                 PERFORM jobtrack.create_execution('{job}');
                 RAISE 'the duplicate was accepted';
             EXCEPTION WHEN unique_violation THEN
                 NULL;
             END $$",
            job = exec("t-dup")
        ))
        .unwrap();
        let metrics = Spi::get_one::<pgrx::JsonB>("SELECT jobtrack.get_transaction_metrics()")
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(metrics["create_execution"]["count"], 2);
        assert_eq!(metrics["create_execution"]["success_count"], 1);
        assert_eq!(metrics["create_execution"]["last_success"], false);
    }

    #[pg_test]
    fn cached_call_is_counted_in_shared_memory() {
        let stats = || {
            Spi::get_one::<pgrx::JsonB>("SELECT jobtrack.get_cache_stats()")
                .unwrap()
                .unwrap()
                .0
        };
        let before = stats();
        Spi::run("SELECT jobtrack.get_statistics_cached()").unwrap();
        let after = stats();
        // The test server preloads the library.
        assert_eq!(after["shared"], true);
        assert!(
            after["total_requests"].as_u64().unwrap() > before["total_requests"].as_u64().unwrap()
        );
    }
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    /// One-off initialisation when the test framework starts.
    pub fn setup(_options: Vec<&str>) {}

    /// The server runs with the library preloaded, as a production server
    /// with the shared cache would; pg-test's second pass covers the other
    /// case.
    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'jobtrack'"]
    }
}
