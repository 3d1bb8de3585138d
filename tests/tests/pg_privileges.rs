//! Privileges against the server of `make test` (`JOBTRACK_PG_URL`; without
//! it every test fails), connecting as login roles without superuser.
//!
//! - PUBLIC, and a role with no grants at all, may not execute the admin
//!   functions (refresh_job_cache, invalidate_cache, reset_transaction_metrics),
//!   any internal helper (a leading underscore) or any trigger function. The
//!   functions are found in the catalog (pg_depend on the extension), so a
//!   helper added later is covered without touching this test; every
//!   function of the extension must be documented API, admin, internal or a
//!   trigger. SECURITY DEFINER functions pin their search_path.
//! - The documented roles, with exactly the README's grants: a reader calls
//!   every read function, cached ones included, and gets 42501 for writes
//!   and administration; a writer creates, updates (batches, progress, plain
//!   SQL), cleans up and imports whole jobs with no privilege on the derived
//!   tables but SELECT, and is refused (42501) when it writes them
//!   directly; an admin also rebuilds the derived tables, invalidates the
//!   cache and resets the metrics. A role granted DML on `executions`
//!   alone writes it with plain SQL without 42501 on a derived table, and
//!   still meets the cross-kind job_id uniqueness (23505).
//! - The Job view `jobtrack.jobs` (security_invoker, SELECT for PUBLIC)
//!   adds no access and needs no grant of its own: a role without SELECT on
//!   the tables gets 42501, not rows, from the view, from every listing
//!   (the cached one too, with the cache warm) and from export_jobs, a role
//!   with SELECT on one of the two tables gets 42501 as well, a role with
//!   SELECT on both tables alone reads every job through them, and
//!   row-level security on a table filters the view, the listings and the
//!   export as it filters the table.
//! - Afterwards verify_statistics() is empty.
//!
//! Each test reports every failed check, not just the first. Roles are
//! cluster-wide, so their names are this test's own (`jt_priv_…`); they are
//! dropped at the end, with the test's database.

use jobtrack_tests::dump::{self, describe, sqlstate};
use postgres::{Client, Row};

/// The API that stays executable by PUBLIC (the README's table).
const PUBLIC_API: &[&str] = &[
    "create_execution",
    "create_variation",
    "update_execution_status",
    "update_variation_status",
    "update_progress",
    "heartbeat",
    "batch_create_executions",
    "batch_create_variations",
    "batch_update_execution_status",
    "batch_update_variation_status",
    "import_jobs",
    "claim_next_jobs",
    "fail_stale_jobs",
    "cleanup_old_jobs",
    "prune_jobs",
    "verify_statistics",
    "verify_experiment_stats",
    "get_statistics_optimized",
    "get_statistics_cached",
    "get_dataset_stats_optimized",
    "get_dataset_stats_cached",
    "get_experiment_stats",
    "get_experiment_stats_cached",
    "get_all_jobs_optimized",
    "get_recent_jobs_optimized",
    "get_recent_jobs_cached",
    "get_running_jobs",
    "get_stale_jobs",
    "export_jobs",
    "get_cache_stats",
    "get_pool_status",
    "get_transaction_metrics",
];

/// The steps of the public procedure prune_jobs, internal by name but
/// executable by PUBLIC: the procedure runs with its caller's rights (one
/// that commits may be neither SECURITY DEFINER nor have a SET clause), so
/// whoever may CALL it must be able to run them. They give no more than
/// prune_jobs and cleanup_old_jobs do: _prune_batch deletes, as the
/// caller, only jobs cleanup_old_jobs(0) would delete.
const PUBLIC_STEPS: &[&str] = &["_prune_cutoff", "_prune_batch"];

/// Administration: not for PUBLIC, granted to the admin role.
const ADMIN_FUNCTIONS: &[(&str, &str)] = &[
    (
        "refresh_job_cache",
        "SELECT jobtrack.refresh_job_cache()::text",
    ),
    (
        "invalidate_cache",
        "SELECT jobtrack.invalidate_cache(NULL)::text",
    ),
    (
        "reset_transaction_metrics",
        "SELECT jobtrack.reset_transaction_metrics()::text",
    ),
];
/// An internal helper the design names; its presence keeps the check of
/// the underscore helpers from passing on an empty set.
const KNOWN_INTERNAL: &str = "jobtrack._cache_note_change(text[])";

/// Failed checks, collected so that one run reports all of them.
#[derive(Default)]
struct Checks {
    failures: Vec<String>,
    total: usize,
}

impl Checks {
    fn check(&mut self, ok: bool, failure: impl FnOnce() -> String) {
        self.total += 1;
        if !ok {
            self.failures.push(failure());
        }
    }

    /// `sql` must succeed; returns its rows.
    fn succeeds(&mut self, client: &mut Client, who: &str, sql: &str) -> Option<Vec<Row>> {
        let result = client.query(sql, &[]);
        self.total += 1;
        match result {
            Ok(rows) => Some(rows),
            Err(e) => {
                self.failures.push(format!(
                    "{who}: {sql}\n      → {} (must succeed)",
                    describe(&e)
                ));
                None
            }
        }
    }

    /// `sql` must return one row whose first column, as text, is `expected`.
    fn returns(&mut self, client: &mut Client, who: &str, sql: &str, expected: &str) {
        if let Some(rows) = self.succeeds(client, who, sql) {
            let got: Vec<Option<String>> = rows.iter().map(|r| r.get(0)).collect();
            self.check(got == [Some(expected.to_owned())], || {
                format!("{who}: {sql}\n      → {got:?} (expected {expected:?})")
            });
        }
    }

    /// `sql` must fail with `state`, and when `message` is given, with a
    /// message containing it. Run in a transaction that is rolled back, so
    /// that a statement wrongly allowed changes nothing for later checks.
    fn refused(
        &mut self,
        client: &mut Client,
        who: &str,
        sql: &str,
        state: &str,
        message: Option<&str>,
    ) {
        let mut tx = client.transaction().expect("begin");
        let result = tx.query(sql, &[]);
        tx.rollback().expect("rollback");
        self.total += 1;
        let failure = match result {
            Ok(_) => format!("{who}: {sql}\n      → succeeded (expected {state})"),
            Err(e) => {
                let text = e.as_db_error().map(|db| db.message()).unwrap_or_default();
                if sqlstate(&e) == state && message.is_none_or(|m| text.contains(m)) {
                    return;
                }
                format!(
                    "{who}: {sql}\n      → {} (expected {state}{})",
                    describe(&e),
                    message.map(|m| format!(" with {m:?}")).unwrap_or_default()
                )
            }
        };
        self.failures.push(failure);
    }

    fn assert_all_passed(&self, test: &str) {
        assert!(
            self.failures.is_empty(),
            "{test}: {} of {} checks failed:\n  - {}",
            self.failures.len(),
            self.total,
            self.failures.join("\n  - ")
        );
    }
}

/// The test's database and roles, dropped when the test ends, passed or
/// not (database first: the roles' privileges live in it).
struct Fixture {
    database: &'static str,
    roles: &'static [&'static str],
    url: String,
}

impl Fixture {
    fn new(database: &'static str, roles: &'static [&'static str]) -> Fixture {
        let server = dump::server_url();
        let mut admin = dump::connect(&server);
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .unwrap_or_else(|e| panic!("drop database {database}: {}", describe(&e)));
        for role in roles {
            admin
                .batch_execute(&format!(
                    "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB \
                     NOCREATEROLE"
                ))
                .unwrap_or_else(|e| panic!("create role {role}: {}", describe(&e)));
        }
        let url = dump::create_database(database, true);
        Fixture {
            database,
            roles,
            url,
        }
    }

    /// A connection as the superuser of the test cluster.
    fn superuser(&self) -> Client {
        dump::connect(&self.url)
    }

    /// A connection as `role`.
    fn login(&self, role: &str) -> Client {
        dump::connect(&dump::as_user(&self.url, role))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // No panic here: it may run while a failed test unwinds.
        let result = postgres::Client::connect(&dump::server_url(), postgres::NoTls).and_then(
            |mut admin| {
                admin.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.database
                ))?;
                for role in self.roles {
                    admin.batch_execute(&format!("DROP ROLE IF EXISTS {role}"))?;
                }
                Ok(())
            },
        );
        if let Err(e) = result {
            eprintln!("cleanup of {}: {e}", self.database);
        }
    }
}

/// A function of the extension, from the catalog.
struct Function {
    name: String,
    signature: String,
    trigger: bool,
    security_definer: bool,
    search_path: Option<String>,
    /// `SELECT` calling it with NULL arguments.
    call: String,
}

impl Function {
    fn internal(&self) -> bool {
        self.name.starts_with('_') && !self.public()
    }

    /// Executable by PUBLIC: the API, and the steps of its procedure.
    fn public(&self) -> bool {
        PUBLIC_API.contains(&self.name.as_str()) || PUBLIC_STEPS.contains(&self.name.as_str())
    }

    fn admin(&self) -> bool {
        ADMIN_FUNCTIONS.iter().any(|(name, _)| *name == self.name)
    }
}

/// Every function that is a member of the extension (pg_depend, deptype
/// 'e'), by signature.
fn extension_functions(client: &mut Client) -> Vec<Function> {
    client
        .query(
            "SELECT p.proname::text, p.oid::regprocedure::text, \
                    p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype, p.prosecdef, \
                    (SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) AS c \
                     WHERE c LIKE 'search\\_path=%'), \
                    format('SELECT %s(%s)', p.oid::regproc, \
                           (SELECT string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY n) \
                            FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, n))) \
             FROM pg_catalog.pg_proc AS p \
             JOIN pg_catalog.pg_depend AS d \
               ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid \
              AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass \
              AND d.deptype = 'e' \
             JOIN pg_catalog.pg_extension AS x ON x.oid = d.refobjid \
             WHERE x.extname = 'jobtrack' \
             ORDER BY 2",
            &[],
        )
        .expect("list the extension's functions")
        .iter()
        .map(|r| Function {
            name: r.get(0),
            signature: r.get(1),
            trigger: r.get(2),
            security_definer: r.get(3),
            search_path: r.get(4),
            call: r.get(5),
        })
        .collect()
}

/// Which functions of the extension `grantee` may execute, by signature
/// (`grantee` a role name or `public`).
fn executable_by(client: &mut Client, grantee: &str) -> Vec<(String, bool)> {
    client
        .query(
            "SELECT p.oid::regprocedure::text, has_function_privilege($1, p.oid, 'EXECUTE') \
             FROM pg_catalog.pg_proc AS p \
             JOIN pg_catalog.pg_depend AS d \
               ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid \
              AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass \
              AND d.deptype = 'e' \
             JOIN pg_catalog.pg_extension AS x ON x.oid = d.refobjid \
             WHERE x.extname = 'jobtrack' \
             ORDER BY 1",
            &[&grantee],
        )
        .expect("read the EXECUTE privileges")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The EXECUTE privileges of `grantee` (PUBLIC or a role that is not the
/// admin): nothing of administration, internals or triggers; all of the
/// public API. `admin`: the admin functions as well.
fn check_execute_privileges(
    checks: &mut Checks,
    functions: &[Function],
    privileges: &[(String, bool)],
    grantee: &str,
    admin: bool,
) {
    for f in functions {
        let Some((_, may)) = privileges.iter().find(|(sig, _)| *sig == f.signature) else {
            checks.check(false, || {
                format!("{grantee}: no privilege row for {}", f.signature)
            });
            continue;
        };
        let may = *may;
        if f.internal() || f.trigger {
            checks.check(!may, || {
                format!(
                    "{grantee} may EXECUTE {} ({}): internal helpers and trigger functions must \
                     not be executable by PUBLIC",
                    f.signature,
                    if f.trigger { "trigger" } else { "internal" }
                )
            });
        } else if f.admin() {
            checks.check(may == admin, || {
                format!(
                    "{grantee} {} EXECUTE {}",
                    if may { "may" } else { "may not" },
                    f.signature
                )
            });
        } else if f.public() {
            checks.check(may, || {
                format!(
                    "{grantee} may not EXECUTE {}: it is public API",
                    f.signature
                )
            });
        }
    }
}

fn catalog_checks(checks: &mut Checks, functions: &[Function]) {
    for f in functions {
        let known = f.internal() || f.trigger || f.admin() || f.public();
        checks.check(known, || {
            format!(
                "{} is neither documented API, nor an admin function, nor named as internal \
                 (leading underscore), nor a trigger function",
                f.signature
            )
        });
        if f.security_definer {
            let pinned = f
                .search_path
                .as_deref()
                .is_some_and(|p| p.trim_end().ends_with("pg_temp"));
            checks.check(pinned, || {
                format!(
                    "{} is SECURITY DEFINER without a pinned search_path ending in pg_temp: {:?}",
                    f.signature, f.search_path
                )
            });
        }
    }
    for name in PUBLIC_API
        .iter()
        .chain(ADMIN_FUNCTIONS.iter().map(|(name, _)| name))
    {
        checks.check(functions.iter().any(|f| f.name == *name), || {
            format!("jobtrack.{name} is missing")
        });
    }
    checks.check(
        functions.iter().any(|f| f.signature == KNOWN_INTERNAL),
        || format!("{KNOWN_INTERNAL} is missing (the design's internal helper)"),
    );
    checks.check(functions.iter().any(|f| f.trigger), || {
        "the extension has no trigger function".to_owned()
    });
}

const NOBODY: &str = "jt_priv_nobody";

#[test]
fn pg_privileges_public_cannot_run_admin_internal_or_trigger_functions() {
    let fixture = Fixture::new("jobtrack_privileges_public", &[NOBODY]);
    let mut checks = Checks::default();
    let mut superuser = fixture.superuser();
    let functions = extension_functions(&mut superuser);
    catalog_checks(&mut checks, &functions);
    let public = executable_by(&mut superuser, "public");
    check_execute_privileges(&mut checks, &functions, &public, "PUBLIC", false);

    // The role with no grants, asking for itself.
    let mut nobody = fixture.login(NOBODY);
    let own = executable_by(&mut nobody, NOBODY);
    check_execute_privileges(&mut checks, &functions, &own, NOBODY, false);
    checks.assert_all_passed("PUBLIC and a role without grants");
}

const READER: &str = "jt_priv_reader";
const WRITER: &str = "jt_priv_writer";
const ADMIN: &str = "jt_priv_admin";
/// DML on jobtrack.executions and nothing else.
const EXECUTIONS_DML: &str = "jt_priv_executions_dml";
const ROLES: &[&str] = &[READER, WRITER, ADMIN, EXECUTIONS_DML];

/// The grants of the README, verbatim but for the role names.
fn documented_grants() -> String {
    let writer_grants = |role: &str| {
        format!(
            "GRANT USAGE ON SCHEMA jobtrack TO {role};
             GRANT SELECT ON ALL TABLES IN SCHEMA jobtrack TO {role};
             GRANT INSERT, UPDATE, DELETE ON jobtrack.executions, jobtrack.variations TO {role};"
        )
    };
    format!(
        "GRANT USAGE ON SCHEMA jobtrack TO {READER};
         GRANT SELECT ON ALL TABLES IN SCHEMA jobtrack TO {READER};
         {writer}
         {admin}
         GRANT EXECUTE ON FUNCTION jobtrack.refresh_job_cache(), jobtrack.invalidate_cache(text),
             jobtrack.reset_transaction_metrics() TO {ADMIN};
         GRANT USAGE ON SCHEMA jobtrack TO {EXECUTIONS_DML};
         GRANT SELECT, INSERT, UPDATE, DELETE ON jobtrack.executions TO {EXECUTIONS_DML};",
        writer = writer_grants(WRITER),
        admin = writer_grants(ADMIN),
    )
}

/// Jobs written by the superuser, for the roles to read, update and clean
/// up: s-e5 and s-v5 are terminal and 40 days old.
const SEED: &str = r#"
    SELECT jobtrack.batch_create_executions('[
      {"job_id": "s-e1", "pipeline_mode": "single", "dataset_name": "priv-a", "preset": "p", "total_steps": 100},
      {"job_id": "s-e2", "pipeline_mode": "batch", "dataset_name": "priv-a", "preset": "p"},
      {"job_id": "s-e3", "pipeline_mode": "single", "dataset_name": "priv-b", "preset": "p", "status": "in_queue"},
      {"job_id": "s-e4", "pipeline_mode": "single", "dataset_name": "priv-b", "preset": "p", "status": "training"},
      {"job_id": "s-e5", "pipeline_mode": "single", "dataset_name": "priv-b", "preset": "p", "status": "done"}
    ]');
    SELECT jobtrack.batch_create_variations('[
      {"job_id": "s-v1", "variation_id": "a", "experiment_name": "x", "dataset_name": "priv-a", "preset": "p", "total_combinations": 2},
      {"job_id": "s-v2", "variation_id": "b", "experiment_name": "x", "dataset_name": "priv-a", "preset": "p", "total_combinations": 2},
      {"job_id": "s-v3", "variation_id": "c", "experiment_name": "x", "dataset_name": "priv-b", "preset": "p", "total_combinations": 2, "status": "training"},
      {"job_id": "s-v5", "variation_id": "d", "experiment_name": "x", "dataset_name": "priv-b", "preset": "p", "total_combinations": 2, "status": "failed"}
    ]');
    UPDATE jobtrack.executions SET created_at = now() - interval '40 days' WHERE job_id = 's-e5';
    UPDATE jobtrack.variations SET created_at = now() - interval '40 days' WHERE job_id = 's-v5';
"#;

/// What every role with the reader's grants may call.
const READS: &[&str] = &[
    "SELECT jobtrack.get_statistics_optimized()::text",
    "SELECT jobtrack.get_statistics_cached()::text",
    "SELECT jobtrack.get_dataset_stats_optimized('priv-a')::text",
    "SELECT jobtrack.get_dataset_stats_cached('priv-a')::text",
    "SELECT count(*)::text FROM jobtrack.get_all_jobs_optimized(100)",
    "SELECT count(*)::text FROM jobtrack.get_recent_jobs_optimized(10)",
    "SELECT count(*)::text FROM jobtrack.get_recent_jobs_cached(10)",
    "SELECT count(*)::text FROM jobtrack.get_running_jobs()",
    "SELECT count(*)::text FROM jobtrack.get_stale_jobs()",
    "SELECT count(*)::text FROM jobtrack.export_jobs()",
    "SELECT count(*)::text FROM jobtrack.jobs",
    "SELECT jobtrack.get_cache_stats()::text",
    "SELECT jobtrack.get_pool_status()::text",
    "SELECT jobtrack.get_transaction_metrics()::text",
    "SELECT count(*)::text FROM jobtrack.verify_statistics()",
    "SELECT jobtrack.get_experiment_stats('x')::text",
    "SELECT jobtrack.get_experiment_stats_cached('x')::text",
    "SELECT count(*)::text FROM jobtrack.verify_experiment_stats()",
];

/// Writes a reader may not do (each must be 42501).
const WRITES: &[&str] = &[
    r#"SELECT jobtrack.create_execution('{"job_id": "r-e1", "pipeline_mode": "single", "dataset_name": "priv-a", "preset": "p"}')::text"#,
    r#"SELECT jobtrack.batch_create_variations('[{"job_id": "r-v1", "variation_id": "a", "experiment_name": "x", "dataset_name": "priv-a", "preset": "p", "total_combinations": 1}]')::text"#,
    "SELECT jobtrack.update_execution_status('s-e1', 'training')::text",
    r#"SELECT jobtrack.batch_update_variation_status('[{"job_id": "s-v1", "status": "done"}]')::text"#,
    "SELECT jobtrack.update_progress('s-e4', 3)::text",
    "SELECT jobtrack.heartbeat('s-e4')::text",
    "SELECT jobtrack.fail_stale_jobs('1 microsecond')::text",
    "SELECT jobtrack.cleanup_old_jobs(0, false)::text",
    r#"SELECT jobtrack.import_jobs('[{"job_id": "r-i1", "job_type": "execution", "status": "done", "dataset_name": "priv-a", "preset": "p", "mode": "single", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}]')::text"#,
    "INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset) VALUES ('r-e2', 'single', 'priv-a', 'p')",
];

/// Direct writes of the derived tables (each must be 42501 for a writer).
const DERIVED_WRITES: &[&str] = &[
    "INSERT INTO jobtrack.job_summary_cache (job_id, job_type, status, dataset_name, preset, last_updated) \
     VALUES ('forged', 'execution', 'done', 'priv-a', 'p', now())",
    "UPDATE jobtrack.job_summary_cache SET status = 'done'",
    "DELETE FROM jobtrack.job_summary_cache",
    "TRUNCATE jobtrack.job_summary_cache",
    "INSERT INTO jobtrack.job_counters (dataset_name, job_type, status, jobs, successful, failed, \
     duration_count, duration_micros_sum) VALUES ('priv-a', 'execution', 'done', 1000, 1000, 0, 0, 0)",
    "UPDATE jobtrack.job_counters SET jobs = jobs + 1",
    "DELETE FROM jobtrack.job_counters",
    "TRUNCATE jobtrack.job_counters",
    "INSERT INTO jobtrack.experiment_counters (experiment_name, total_combinations, status, jobs, \
     successful, failed, duration_count, duration_micros_sum) VALUES ('x', 2, 'done', 1000, 1000, 0, 0, 0)",
    "UPDATE jobtrack.experiment_counters SET jobs = jobs + 1",
    "DELETE FROM jobtrack.experiment_counters",
    "TRUNCATE jobtrack.experiment_counters",
];

/// Administration must be refused to `role` as a missing EXECUTE privilege
/// (not as a side effect of a missing table privilege).
fn admin_refused(checks: &mut Checks, client: &mut Client, role: &str) {
    for (name, sql) in ADMIN_FUNCTIONS {
        checks.refused(
            client,
            role,
            sql,
            "42501",
            Some(&format!("permission denied for function {name}")),
        );
    }
}

/// The internal helpers and trigger functions, called directly by `role`:
/// 42501 for want of EXECUTE.
fn internals_refused(checks: &mut Checks, client: &mut Client, role: &str, functions: &[Function]) {
    for f in functions.iter().filter(|f| f.internal() || f.trigger) {
        checks.refused(
            client,
            role,
            &f.call,
            "42501",
            Some(&format!("permission denied for function {}", f.name)),
        );
    }
}

fn reader_checks(checks: &mut Checks, fixture: &Fixture, functions: &[Function]) {
    let mut reader = fixture.login(READER);
    let privileges = executable_by(&mut reader, READER);
    check_execute_privileges(checks, functions, &privileges, READER, false);
    for sql in READS {
        checks.succeeds(&mut reader, READER, sql);
    }
    // What the reader is served equals what the superuser reads.
    let mut superuser = fixture.superuser();
    // Each read, and the name of its cached twin in place of its own.
    let optimized = ("_optimized(", "_cached(");
    for (sql, (name, cached_name)) in [
        (
            "SELECT jobtrack.get_statistics_optimized()::text",
            optimized,
        ),
        (
            "SELECT jobtrack.get_dataset_stats_optimized('priv-b')::text",
            optimized,
        ),
        (
            "SELECT string_agg(r::text, ';' ORDER BY r.ordinality) \
             FROM jobtrack.get_recent_jobs_optimized(10) WITH ORDINALITY AS r",
            optimized,
        ),
        (
            "SELECT jobtrack.get_experiment_stats('x')::text",
            ("get_experiment_stats(", "get_experiment_stats_cached("),
        ),
    ] {
        let expected: Option<String> = superuser.query_one(sql, &[]).expect(sql).get(0);
        let cached = sql.replace(name, cached_name);
        assert_ne!(cached, sql);
        for sql in [sql, cached.as_str()] {
            checks.returns(
                &mut reader,
                READER,
                sql,
                expected.as_deref().unwrap_or("NULL"),
            );
        }
    }
    for sql in WRITES {
        checks.refused(&mut reader, READER, sql, "42501", None);
    }
    admin_refused(checks, &mut reader, READER);
}

fn writer_checks(checks: &mut Checks, fixture: &Fixture, functions: &[Function]) {
    let mut writer = fixture.login(WRITER);
    let privileges = executable_by(&mut writer, WRITER);
    check_execute_privileges(checks, functions, &privileges, WRITER, false);
    let steps: &[(&str, &str)] = &[
        (
            r#"SELECT jobtrack.create_execution('{"job_id": "w-e1", "pipeline_mode": "single",
               "dataset_name": "priv-a", "preset": "p", "total_steps": 10}')->>'job_id'"#,
            "w-e1",
        ),
        (
            r#"SELECT jobtrack.create_variation('{"job_id": "w-v1", "variation_id": "a",
               "experiment_name": "x", "dataset_name": "priv-a", "preset": "p",
               "total_combinations": 2, "parameter_values": {"lr": 0.10}}')->>'job_id'"#,
            "w-v1",
        ),
        (
            r#"SELECT array_length(jobtrack.batch_create_executions('[
               {"job_id": "w-e2", "pipeline_mode": "batch", "dataset_name": "priv-b", "preset": "p"},
               {"job_id": "w-e3", "pipeline_mode": "batch", "dataset_name": "priv-b", "preset": "p"}]'), 1)::text"#,
            "2",
        ),
        (
            r#"SELECT array_length(jobtrack.batch_create_variations('[
               {"job_id": "w-v2", "variation_id": "b", "experiment_name": "x", "dataset_name": "priv-b",
                "preset": "p", "total_combinations": 3, "varied_parameters": {"lr": [0.1, 0.2]}}]'), 1)::text"#,
            "1",
        ),
        (
            r#"SELECT jobtrack.batch_update_execution_status('[
               {"job_id": "w-e1", "status": "training"},
               {"job_id": "w-e2", "status": "failed", "error_message": "x"}]')::text"#,
            "2",
        ),
        (
            r#"SELECT jobtrack.batch_update_variation_status('[{"job_id": "w-v2", "status": "done"}]')::text"#,
            "1",
        ),
        (
            "SELECT jobtrack.update_execution_status('w-e1', 'done')::text",
            "true",
        ),
        (
            "SELECT jobtrack.update_variation_status('w-v1', 'training')::text",
            "true",
        ),
        ("SELECT jobtrack.update_progress('w-v1', 7)::text", "true"),
        (
            r#"WITH i AS (INSERT INTO jobtrack.variations
               (job_id, variation_id, experiment_name, dataset_name, preset, total_combinations,
                parameter_values)
               VALUES ('w-v3', 'c', 'x', 'priv-b', 'p', 1, '{"seed": 123456789012345678901234567890}')
               RETURNING 1) SELECT count(*)::text FROM i"#,
            "1",
        ),
        (
            "WITH d AS (DELETE FROM jobtrack.executions WHERE job_id = 'w-e3' \
             RETURNING 1) SELECT count(*)::text FROM d",
            "1",
        ),
        // The superuser's jobs.
        (
            r#"SELECT jobtrack.batch_update_execution_status('[
               {"job_id": "s-e1", "status": "training"}, {"job_id": "s-e2", "status": "done"},
               {"job_id": "s-e3", "status": "cancelled"}]')::text"#,
            "3",
        ),
        ("SELECT jobtrack.update_progress('s-e1', 42)::text", "true"),
        ("SELECT jobtrack.heartbeat('s-e1')::text", "true"),
        // Nothing has been silent for an hour.
        ("SELECT jobtrack.fail_stale_jobs('1 hour')::text", "0"),
        (
            "WITH u AS (UPDATE jobtrack.executions SET output_path = '/models/s-e2' \
             WHERE job_id = 's-e2' RETURNING 1) SELECT count(*)::text FROM u",
            "1",
        ),
        (
            "WITH d AS (DELETE FROM jobtrack.variations WHERE job_id = 's-v2' \
             RETURNING 1) SELECT count(*)::text FROM d",
            "1",
        ),
        // s-e5 (done) and s-v5 (failed) are 40 days old.
        (
            "SELECT (r->>'executions_deleted') || ',' || (r->>'variations_deleted') \
             FROM jobtrack.cleanup_old_jobs(30, false) AS r",
            "1,1",
        ),
        // Whole jobs back in (after the cleanup: they are older than 30
        // days), and out.
        (
            r#"SELECT jobtrack.import_jobs('[
               {"job_id": "w-i1", "job_type": "execution", "status": "done", "dataset_name": "priv-a",
                "preset": "p", "mode": "batch", "success": true, "duration_seconds": 2.5,
                "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:02.5Z",
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:02.5Z",
                "worker": "w"},
               {"job_id": "w-i2", "job_type": "variation", "status": "pending", "dataset_name": "priv-b",
                "preset": "p", "mode": "variations", "experiment_name": "x", "variation_id": "e",
                "total_combinations": 2, "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z"}]')::text"#,
            "2",
        ),
        (
            "SELECT string_agg(job_id || ':' || status, ',' ORDER BY job_id) \
             FROM jobtrack.export_jobs('2026-01-01 00:00:00+00') WHERE job_id LIKE 'w-i%'",
            "w-i1:done,w-i2:pending",
        ),
    ];
    for (sql, expected) in steps {
        checks.returns(&mut writer, WRITER, sql, expected);
    }
    for sql in DERIVED_WRITES {
        checks.refused(&mut writer, WRITER, sql, "42501", None);
    }
    internals_refused(checks, &mut writer, WRITER, functions);
    admin_refused(checks, &mut writer, WRITER);
}

fn executions_dml_checks(checks: &mut Checks, fixture: &Fixture, functions: &[Function]) {
    let mut role = fixture.login(EXECUTIONS_DML);
    let who = EXECUTIONS_DML;
    let privileges = executable_by(&mut role, who);
    check_execute_privileges(checks, functions, &privileges, who, false);
    checks.returns(
        &mut role,
        who,
        "WITH i AS (INSERT INTO jobtrack.executions \
         (job_id, pipeline_mode, dataset_name, preset, total_steps) \
         VALUES ('x-e1', 'single', 'priv-b', 'p', 10), ('x-e2', 'batch', 'priv-b', 'p', NULL) \
         RETURNING 1) SELECT count(*)::text FROM i",
        "2",
    );
    checks.returns(
        &mut role,
        who,
        "WITH u AS (UPDATE jobtrack.executions \
         SET status = 'done', success = true, start_time = now() - interval '1 minute', \
             end_time = now(), duration_seconds = 60.25, current_step = 10 \
         WHERE job_id = 'x-e1' RETURNING 1) SELECT count(*)::text FROM u",
        "1",
    );
    checks.returns(
        &mut role,
        who,
        "WITH d AS (DELETE FROM jobtrack.executions WHERE job_id = 'x-e2' \
         RETURNING 1) SELECT count(*)::text FROM d",
        "1",
    );
    // A variation's id: the cross-kind uniqueness answers, not a privilege.
    checks.refused(
        &mut role,
        who,
        "INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset) \
         VALUES ('s-v1', 'single', 'priv-b', 'p')",
        "23505",
        None,
    );
    checks.refused(
        &mut role,
        who,
        "INSERT INTO jobtrack.variations (job_id, variation_id, experiment_name, dataset_name, \
         preset, total_combinations) VALUES ('x-v1', 'a', 'x', 'priv-b', 'p', 1)",
        "42501",
        Some("permission denied for table variations"),
    );
}

fn admin_checks(checks: &mut Checks, fixture: &Fixture, functions: &[Function]) {
    let mut admin = fixture.login(ADMIN);
    let privileges = executable_by(&mut admin, ADMIN);
    check_execute_privileges(checks, functions, &privileges, ADMIN, true);
    // An admin is a writer too.
    checks.returns(
        &mut admin,
        ADMIN,
        r#"SELECT jobtrack.create_execution('{"job_id": "a-e1", "pipeline_mode": "single",
           "dataset_name": "priv-b", "preset": "p", "status": "training"}')->>'job_id'"#,
        "a-e1",
    );
    checks.returns(
        &mut admin,
        ADMIN,
        "SELECT jobtrack.update_execution_status('a-e1', 'failed', 'x')::text",
        "true",
    );
    let jobs: i64 = fixture
        .superuser()
        .query_one(
            "SELECT (SELECT count(*) FROM jobtrack.executions) + (SELECT count(*) FROM jobtrack.variations)",
            &[],
        )
        .expect("count the jobs")
        .get(0);
    checks.returns(
        &mut admin,
        ADMIN,
        "SELECT jobtrack.refresh_job_cache()::text",
        &jobs.to_string(),
    );
    checks.succeeds(&mut admin, ADMIN, "SELECT jobtrack.invalidate_cache(NULL)");
    checks.succeeds(
        &mut admin,
        ADMIN,
        "SELECT jobtrack.invalidate_cache('statistics')",
    );
    checks.succeeds(
        &mut admin,
        ADMIN,
        "SELECT jobtrack.reset_transaction_metrics()::text",
    );
    for sql in READS {
        checks.succeeds(&mut admin, ADMIN, sql);
    }
}

#[test]
fn pg_privileges_documented_roles() {
    let fixture = Fixture::new("jobtrack_privileges_roles", ROLES);
    let mut checks = Checks::default();
    let mut superuser = fixture.superuser();
    superuser
        .batch_execute(&documented_grants())
        .expect("grant the documented privileges");
    superuser.batch_execute(SEED).expect("seed the jobs");
    let functions = extension_functions(&mut superuser);

    reader_checks(&mut checks, &fixture, &functions);
    writer_checks(&mut checks, &fixture, &functions);
    executions_dml_checks(&mut checks, &fixture, &functions);
    admin_checks(&mut checks, &fixture, &functions);

    // After all of it (refused writes included) the counters are exact and
    // the summary holds every job once.
    let differences: Vec<String> = superuser
        .query("SELECT d::text FROM jobtrack.verify_statistics() AS d", &[])
        .expect("verify_statistics")
        .iter()
        .map(|r| r.get(0))
        .collect();
    checks.check(differences.is_empty(), || {
        format!("verify_statistics() is not empty at the end: {differences:?}")
    });
    let row = superuser
        .query_one(
            "SELECT (SELECT count(*) FROM jobtrack.executions) + (SELECT count(*) FROM jobtrack.variations), \
                    (SELECT count(*) FROM jobtrack.job_summary_cache)",
            &[],
        )
        .expect("count the jobs");
    let (jobs, summary): (i64, i64) = (row.get(0), row.get(1));
    checks.check(jobs == summary, || {
        format!("{jobs} jobs but {summary} rows in job_summary_cache at the end")
    });
    drop(superuser);
    checks.assert_all_passed("the documented roles");
}

/// USAGE on the schema, no SELECT on any table.
const NO_TABLES: &str = "jt_priv_no_tables";
/// SELECT on executions, not on variations.
const EXECUTIONS_ONLY: &str = "jt_priv_executions_only";
/// SELECT on executions and variations, nothing on the view itself.
const BASE_TABLES: &str = "jt_priv_base_tables";
/// SELECT on every table; a row-level security policy on executions shows
/// it the executions of dataset priv-a only.
const RLS: &str = "jt_priv_rls";
const VIEW_ROLES: &[&str] = &[NO_TABLES, EXECUTIONS_ONLY, BASE_TABLES, RLS];

/// The Job view and the listings that read it (the cached one last), and
/// export_jobs, inlined into the caller's query on the base tables.
const LISTINGS: &[&str] = &[
    "SELECT count(*)::text FROM jobtrack.jobs",
    "SELECT count(*)::text FROM jobtrack.get_all_jobs_optimized(100)",
    "SELECT count(*)::text FROM jobtrack.export_jobs()",
    "SELECT count(*)::text FROM jobtrack.get_recent_jobs_optimized(100)",
    "SELECT count(*)::text FROM jobtrack.get_recent_jobs_cached(100)",
];

/// The newest jobs, every column, in the listing's order.
const ALL_JOBS_ROWS: &str = "SELECT string_agg(r::text, ';' ORDER BY r.ordinality) \
                             FROM jobtrack.get_all_jobs_optimized(100) WITH ORDINALITY AS r";

/// The one text value `sql` returns.
fn text(client: &mut Client, sql: &str) -> String {
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
        .get(0)
}

#[test]
fn pg_privileges_job_view_adds_no_access() {
    let fixture = Fixture::new("jobtrack_privileges_view", VIEW_ROLES);
    let mut checks = Checks::default();
    let mut superuser = fixture.superuser();
    superuser
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA jobtrack TO {NO_TABLES}, {EXECUTIONS_ONLY}, {BASE_TABLES}, {RLS};
             GRANT SELECT ON jobtrack.executions TO {EXECUTIONS_ONLY};
             GRANT SELECT ON jobtrack.executions, jobtrack.variations TO {BASE_TABLES};
             GRANT SELECT ON ALL TABLES IN SCHEMA jobtrack TO {RLS};"
        ))
        .expect("grant the privileges of the view test");
    superuser.batch_execute(SEED).expect("seed the jobs");
    // Warm caches: a cached listing that answered from the cache without
    // the caller's privileges would show here.
    for sql in LISTINGS {
        superuser.query_one(*sql, &[]).expect(sql);
    }

    let mut role = fixture.login(NO_TABLES);
    for sql in LISTINGS {
        checks.refused(
            &mut role,
            NO_TABLES,
            sql,
            "42501",
            Some("permission denied for table"),
        );
    }
    checks.refused(
        &mut role,
        NO_TABLES,
        LISTINGS[0],
        "42501",
        Some("permission denied for table executions"),
    );

    let mut role = fixture.login(EXECUTIONS_ONLY);
    for sql in &LISTINGS[..3] {
        checks.refused(
            &mut role,
            EXECUTIONS_ONLY,
            sql,
            "42501",
            Some("permission denied for table variations"),
        );
    }

    // No grant on the view: PUBLIC's suffices, and every job is there.
    let jobs = text(
        &mut superuser,
        "SELECT ((SELECT count(*) FROM jobtrack.executions) \
                 + (SELECT count(*) FROM jobtrack.variations))::text",
    );
    let all_jobs = text(&mut superuser, ALL_JOBS_ROWS);
    let mut role = fixture.login(BASE_TABLES);
    checks.returns(&mut role, BASE_TABLES, LISTINGS[0], &jobs);
    checks.returns(&mut role, BASE_TABLES, LISTINGS[1], &jobs);
    checks.returns(&mut role, BASE_TABLES, LISTINGS[2], &jobs);
    checks.returns(&mut role, BASE_TABLES, ALL_JOBS_ROWS, &all_jobs);

    // Row-level security on executions filters the view and every listing
    // (the cached one computes: the cache serves no role under RLS).
    superuser
        .batch_execute(&format!(
            "ALTER TABLE jobtrack.executions ENABLE ROW LEVEL SECURITY;
             CREATE POLICY priv_a ON jobtrack.executions FOR SELECT TO {RLS}
                 USING (dataset_name = 'priv-a');"
        ))
        .expect("a row-level security policy on executions");
    let visible = text(
        &mut superuser,
        "SELECT ((SELECT count(*) FROM jobtrack.executions WHERE dataset_name = 'priv-a') \
                 + (SELECT count(*) FROM jobtrack.variations))::text",
    );
    checks.check(visible != jobs, || {
        format!("the seed has no execution outside priv-a ({visible} of {jobs} jobs visible)")
    });
    let mut role = fixture.login(RLS);
    for sql in LISTINGS {
        checks.returns(&mut role, RLS, sql, &visible);
    }
    checks.returns(
        &mut role,
        RLS,
        "SELECT count(*)::text FROM jobtrack.jobs \
         WHERE job_type = 'execution' AND dataset_name <> 'priv-a'",
        "0",
    );
    // The listings keep their plans for the session: in one session, the
    // plans made for the superuser, whom row-level security passes over,
    // must not serve the role it applies to after SET ROLE.
    for sql in LISTINGS {
        text(&mut superuser, sql);
    }
    superuser
        .batch_execute(&format!("SET ROLE {RLS}"))
        .expect("SET ROLE");
    for sql in LISTINGS {
        checks.returns(&mut superuser, RLS, sql, &visible);
    }
    superuser.batch_execute("RESET ROLE").expect("RESET ROLE");
    drop(superuser);
    checks.assert_all_passed("the Job view");
}

const INSERT_ONLY: &str = "jt_priv_insert_only";
const NO_DELETE: &str = "jt_priv_no_delete";

/// The writes that change or remove jobs run with the caller's rights: a
/// role that may only insert and read gets 42501 from claim_next_jobs,
/// fail_stale_jobs, cleanup_old_jobs and CALL prune_jobs, one that may
/// update but not delete from the last two, and nothing of a refused call
/// is applied (no job claimed, failed or deleted).
#[test]
fn pg_privileges_claim_stale_and_prune_need_update_and_delete() {
    let fixture = Fixture::new("jobtrack_privileges_writes", &[INSERT_ONLY, NO_DELETE]);
    let mut checks = Checks::default();
    let mut superuser = fixture.superuser();
    superuser
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA jobtrack TO {INSERT_ONLY}, {NO_DELETE};
             GRANT SELECT, INSERT ON jobtrack.executions, jobtrack.variations TO {INSERT_ONLY};
             GRANT SELECT, INSERT, UPDATE ON jobtrack.executions, jobtrack.variations
                 TO {NO_DELETE};
             SELECT jobtrack.batch_create_executions(
                 (SELECT jsonb_agg(jsonb_build_object(
                             'job_id', 'w' || g, 'pipeline_mode', 'single', 'dataset_name', 'd',
                             'preset', 'p',
                             'status', (ARRAY['pending', 'training', 'done'])[g % 3 + 1]))
                  FROM generate_series(1, 30) AS g));
             UPDATE jobtrack.executions
             SET created_at = now() - interval '40 days', updated_at = now() - interval '40 days';"
        ))
        .expect("grant and seed");
    let state = "SELECT string_agg(status || ':' || count, ',' ORDER BY status) \
                 FROM (SELECT status, count(*) FROM jobtrack.executions GROUP BY status) AS s";
    let before = text(&mut superuser, state);
    let writes = [
        "SELECT count(*)::text FROM jobtrack.claim_next_jobs(5, 'w-1')",
        "SELECT jobtrack.fail_stale_jobs('1 day')::text",
        "SELECT jobtrack.cleanup_old_jobs(30, false)",
        "CALL jobtrack.prune_jobs(30, false, 4)",
    ];
    let mut role = fixture.login(INSERT_ONLY);
    for sql in writes {
        checks.refused(
            &mut role,
            INSERT_ONLY,
            sql,
            "42501",
            Some("permission denied for table executions"),
        );
    }
    // Outside a transaction block, where the procedure could commit a
    // batch: still refused, still nothing deleted.
    let called = role.batch_execute(writes[3]);
    checks.check(
        called.as_ref().is_err_and(|e| sqlstate(e) == "42501"),
        || {
            format!(
                "{INSERT_ONLY}: {} outside a transaction → {called:?}",
                writes[3]
            )
        },
    );
    let after = text(&mut superuser, state);
    checks.check(after == before, || {
        format!("a refused write changed the jobs: {before} → {after}")
    });

    let mut role = fixture.login(NO_DELETE);
    checks.returns(&mut role, NO_DELETE, writes[0], "5");
    checks.returns(&mut role, NO_DELETE, writes[1], "10");
    for sql in &writes[2..] {
        checks.refused(
            &mut role,
            NO_DELETE,
            sql,
            "42501",
            Some("permission denied for table executions"),
        );
    }
    let done = text(
        &mut superuser,
        "SELECT count(*)::text FROM jobtrack.executions WHERE status IN ('done', 'failed')",
    );
    checks.check(done == "20", || {
        format!("{done} finished jobs, expected the 10 done and the 10 failed as stale")
    });
    checks.returns(
        &mut superuser,
        "superuser",
        "SELECT count(*)::text FROM jobtrack.verify_statistics()",
        "0",
    );
    checks.assert_all_passed("pg_privileges_claim_stale_and_prune_need_update_and_delete");
}
