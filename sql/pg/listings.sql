-- The listings get_all_jobs_optimized, get_running_jobs and
-- get_recent_jobs_optimized: C functions of this library
-- (pg_ext/src/listings.rs) that run one query each, sql/pg/queries/
-- all_jobs.sql, running_jobs.sql and recent_jobs.sql, with a generic plan
-- kept for the session, the rows written by the executor straight into the
-- function's result. A call is not planned, which the plan cache would do
-- at every call for a LIMIT that is an argument (only a custom plan knows
-- it): planning a listing costs several times running it. The generic plan
-- is made with sorts and JIT off, so that it reads the indexes in order
-- whatever lim (pg_ext/src/listings.rs says why).
--
-- Keyset pagination (the first two): `after` is the job_id of the last row of the previous
-- page; a page is the rows after that job's (created_at, job_id) in the
-- listing's order, which the created and active indexes hold, so any page
-- costs one index seek plus its rows. A cursor that names no job is 22023
-- naming `after`, whatever `lim`, as in SQLite.
--
-- They run with the caller's rights, like a query of the caller's own on
-- the security_invoker view jobtrack.jobs (get_running_jobs reads the base
-- tables), and resolve names with search_path pinned to jobtrack,
-- pg_catalog, pg_temp, which the library sets around its queries (the SET
-- clause of get_recent_jobs_optimized is the one it always had).

CREATE FUNCTION jobtrack.get_all_jobs_optimized(lim integer DEFAULT 100, after text DEFAULT NULL)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text, preset text, mode text,
    experiment_name text, variation_id text, success boolean,
    duration_seconds double precision, error_message text, output_path text,
    total_steps integer, current_step integer, start_time timestamptz,
    created_at timestamptz, updated_at timestamptz, last_heartbeat timestamptz
)
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'get_all_jobs_optimized_page';

-- lim NULL (the default): every active job, as get_running_jobs() returned
-- before it had pages.
CREATE FUNCTION jobtrack.get_running_jobs(lim integer DEFAULT NULL, after text DEFAULT NULL)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text,
    start_time timestamptz, current_step integer, total_steps integer,
    progress double precision, experiment_name text, variation_id text,
    last_heartbeat timestamptz
)
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'get_running_jobs_wrapper';

-- Declared as pgrx declared it up to 0.3.0 (STRICT, with SET search_path),
-- so that its catalog entry is unchanged.
CREATE FUNCTION jobtrack.get_recent_jobs_optimized(lim integer DEFAULT 10)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text, preset text, mode text,
    experiment_name text, variation_id text, success boolean,
    duration_seconds double precision, error_message text, output_path text,
    total_steps integer, current_step integer, start_time timestamptz,
    created_at timestamptz, updated_at timestamptz, last_heartbeat timestamptz
)
LANGUAGE c STABLE STRICT PARALLEL SAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'get_recent_jobs_optimized_wrapper';
