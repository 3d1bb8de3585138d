-- jobtrack 0.6.0 -> 0.7.0: whole jobs out and back in.
--
-- Run by ALTER EXTENSION jobtrack UPDATE after installing the 0.7.0
-- package. Released scripts are never edited; the next change goes into a
-- new jobtrack--0.7.0--<next>.sql. The upgrade test (tests/upgrade) proves
-- that a database updated with this script (from 0.6.0, and from the
-- earlier releases through their scripts) and a fresh 0.7.0 install have
-- identical objects, and that no job or count changes on the way.

\echo Use "ALTER EXTENSION jobtrack UPDATE TO '0.7.0'" to load this file. \quit

-- No listing returns a job whole (a Job row leaves out end_time, the
-- worker and a variation's sweep columns), so jobs could not be moved
-- between databases or backends through the API. 0.7.0 adds the pair:
-- export_jobs(since) returns every column of every job, import_jobs(jobs)
-- stores such records as they are, nothing stamped or derived — a restore,
-- not a creation; the summary and counter triggers follow from the rows as
-- for any insert. No table, index or trigger changes: both functions are
-- new, the existing ones keep their definitions, and the 0.7.0 library
-- serves the 0.6.0 catalog unchanged until this script has run.

-- As the 0.7.0 install script declares it (pgrx); sql/pg/queries/
-- import_executions.sql and import_variations.sql say how it works.
CREATE FUNCTION jobtrack."import_jobs"(
	"jobs" jsonb
) RETURNS INT
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO jobtrack, pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'import_jobs_wrapper';

-- As in sql/pg/export.sql of 0.7.0, which says why it is a LANGUAGE sql
-- function without a SET clause (the planner inlines it, so its rows
-- stream), every name in its body schema-qualified. Its privileges are the
-- defaults, as in a fresh install.
CREATE FUNCTION jobtrack.export_jobs(since timestamptz DEFAULT NULL)
RETURNS TABLE (
    job_id text, job_type text, status text, dataset_name text, preset text, mode text,
    experiment_name text, variation_id text, success boolean,
    duration_seconds double precision, error_message text, output_path text,
    total_steps integer, current_step integer, start_time timestamptz,
    created_at timestamptz, updated_at timestamptz, last_heartbeat timestamptz,
    end_time timestamptz, total_combinations integer, varied_parameters jsonb,
    parameter_values jsonb, parent_experiment_id text, worker text
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT j.*
FROM (SELECT e.job_id, 'execution'::pg_catalog.text AS job_type, e.status,
             e.dataset_name, e.preset, e.pipeline_mode AS mode,
             NULL::pg_catalog.text AS experiment_name, NULL::pg_catalog.text AS variation_id,
             e.success, e.duration_seconds, e.error_message, e.output_path, e.total_steps,
             e.current_step, e.start_time, e.created_at, e.updated_at, e.last_heartbeat,
             e.end_time, NULL::pg_catalog.int4 AS total_combinations,
             NULL::pg_catalog.jsonb AS varied_parameters,
             NULL::pg_catalog.jsonb AS parameter_values,
             NULL::pg_catalog.text AS parent_experiment_id, e.worker
      FROM jobtrack.executions AS e
      UNION ALL
      SELECT v.job_id, 'variation'::pg_catalog.text, v.status,
             v.dataset_name, v.preset, 'variations'::pg_catalog.text,
             v.experiment_name, v.variation_id,
             v.success, v.duration_seconds, v.error_message, v.output_path, v.total_steps,
             v.current_step, v.start_time, v.created_at, v.updated_at, v.last_heartbeat,
             v.end_time, v.total_combinations, v.varied_parameters, v.parameter_values,
             v.parent_experiment_id, v.worker
      FROM jobtrack.variations AS v) AS j
WHERE since IS NULL OR j.created_at OPERATOR(pg_catalog.>=) since
ORDER BY j.created_at, j.job_id
$$;

-- As in sql/pg/comments.sql of 0.7.0.
COMMENT ON FUNCTION jobtrack.import_jobs(jsonb) IS
    'Restores whole jobs of either kind from a JSON array of the records export_jobs returns, every column as given (nothing stamped or derived), all or none; returns how many';
COMMENT ON FUNCTION jobtrack.export_jobs(timestamptz) IS
    'Every job of either kind created at or after since (all when NULL), with every column import_jobs takes back, oldest created_at first, ties on job_id; inlined into the caller''s query, so the rows stream (COPY, cursors)';
