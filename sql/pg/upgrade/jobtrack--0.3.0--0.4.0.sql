-- jobtrack 0.3.0 -> 0.4.0: listings as fast as the plain query, in pages.
--
-- Run by ALTER EXTENSION jobtrack UPDATE after installing the 0.4.0
-- package. Released scripts are never edited; the next change goes into a
-- new jobtrack--0.4.0--<next>.sql. Each change below says why; the upgrade
-- test (tests/upgrade) proves that a database updated with this script (from
-- 0.3.0, and from 0.1.0 and 0.2.0 through the earlier scripts) and a fresh
-- 0.4.0 install have identical objects, and that no job or count changes on
-- the way.

\echo Use "ALTER EXTENSION jobtrack UPDATE TO '0.4.0'" to load this file. \quit

-- get_all_jobs_optimized and get_running_jobs gain keyset pagination
-- (`after`, and `lim` for get_running_jobs), and run their query with a
-- generic plan kept for the session, the executor writing the rows straight
-- into the result (in 0.3.0 every row went through Rust values; a plain
-- prepared query is planned at every call, its LIMIT being a parameter).
-- Calls written for 0.3.0 keep working: both new arguments have defaults,
-- and get_running_jobs() still returns every active job. The old functions
-- are dropped rather than replaced because their argument lists change (a
-- second overload would make get_all_jobs_optimized(100) ambiguous).
-- Nothing of the tables is touched: the update takes no lock writers wait
-- for. Until this script has run, the 0.4.0 library still serves the old
-- catalog's functions.
DROP FUNCTION jobtrack.get_all_jobs_optimized(integer);
DROP FUNCTION jobtrack.get_running_jobs();

-- The listings, as in sql/pg/listings.sql of 0.4.0 (why each property is
-- chosen is written there).
CREATE FUNCTION jobtrack.get_all_jobs_optimized(lim integer DEFAULT 100, after text DEFAULT NULL)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text, preset text, mode text,
    experiment_name text, variation_id text, success boolean,
    duration_seconds double precision, error_message text, output_path text,
    total_steps integer, current_step integer, start_time timestamptz,
    created_at timestamptz, updated_at timestamptz
)
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'get_all_jobs_optimized_page';

-- lim NULL (the default): every active job, as get_running_jobs() returned
-- before it had pages.
CREATE FUNCTION jobtrack.get_running_jobs(lim integer DEFAULT NULL, after text DEFAULT NULL)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text,
    start_time timestamptz, current_step integer, total_steps integer,
    progress double precision, experiment_name text, variation_id text
)
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'get_running_jobs_wrapper';

COMMENT ON FUNCTION jobtrack.get_all_jobs_optimized(integer, text) IS
    'Up to lim (0..10000) jobs of both kinds, newest created_at first, ties on job_id descending; after: the job_id of the last row of the previous page';
COMMENT ON FUNCTION jobtrack.get_running_jobs(integer, text) IS
    'Jobs in an active status with their progress, newest created_at first, ties on job_id descending: up to lim (every one when NULL) after the job_id after';

-- The shared result cache bypassed every transaction that had a transaction
-- id, including one that had written only other tables, or had run CREATE
-- TEMP TABLE … AS. From 0.4.0 only a transaction that changed jobs itself
-- bypasses it. The change is therefore noted BEFORE each writing statement,
-- before its first row is written (the AFTER triggers noted it only at the
-- end of the statement, which the transaction-id test covered until now):
-- the base tables' AFTER trigger becomes a BEFORE trigger, and the derived
-- tables get one for statements of the user's own (trigger depth 0; their
-- AFTER triggers stay, to say which datasets changed). The function keeps
-- its body, privileges and OID under its new name.
ALTER FUNCTION jobtrack.cache_after_write() RENAME TO cache_before_write;
DROP TRIGGER cache_after_write ON jobtrack.executions;
DROP TRIGGER cache_after_write ON jobtrack.variations;
CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.executions
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_before_write();
CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.variations
    FOR EACH STATEMENT EXECUTE FUNCTION jobtrack.cache_before_write();
CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.job_summary_cache
    FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION jobtrack.cache_before_write();
CREATE TRIGGER cache_before_write BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON jobtrack.job_counters
    FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION jobtrack.cache_before_write();
COMMENT ON FUNCTION jobtrack.cache_before_write() IS
    'Trigger: notes, before a statement writes, that the transaction changes jobs, for the shared result cache (its own cached reads compute from then on)';

-- The *_cached functions lose their SET search_path clause: a hit runs no
-- SQL, and the clause cost a GUC save and restore on every call and made the
-- plan cache recheck the caller's path, about a tenth of a hit (measured
-- with perf). A miss runs its queries with the same path pinned by the
-- library itself (pg_ext/src/cache.rs), because their result is stored for
-- every role.
ALTER FUNCTION jobtrack.get_statistics_cached() RESET search_path;
ALTER FUNCTION jobtrack.get_dataset_stats_cached(text) RESET search_path;
ALTER FUNCTION jobtrack.get_recent_jobs_cached(integer) RESET search_path;
