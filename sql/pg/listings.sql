-- The listings get_all_jobs_optimized and get_running_jobs: C functions of
-- this library (pg_ext/src/listings.rs) that run one query each,
-- sql/pg/queries/all_jobs.sql and running_jobs.sql, with a generic plan kept
-- for the session, the rows written by the executor straight into the
-- function's result. A call is not planned: the plan cache would plan every
-- call of a LIMIT that is an argument (only a custom plan knows it), and
-- planning a listing costs several times running it.
--
-- Keyset pagination: `after` is the job_id of the last row of the previous
-- page; a page is the rows after that job's (created_at, job_id) in the
-- listing's order, which the created and active indexes hold, so any page
-- costs one index seek plus its rows. A cursor that names no job is 22023
-- naming `after`, whatever `lim`, as in SQLite.
--
-- They run with the caller's rights, like a query of the caller's own on
-- the security_invoker view jobtrack.jobs (get_running_jobs reads the base
-- tables), and resolve names with search_path pinned to jobtrack,
-- pg_catalog, pg_temp (set by the library around its queries, not by a SET
-- clause).

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
