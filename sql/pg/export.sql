-- export_jobs(since): every job of either kind created at or after since
-- (every job when since is NULL), whole — the 24 columns of core's
-- JobRecord, in RECORD_COLUMNS order, which import_jobs takes back —
-- oldest created_at first, ties on job_id.
--
-- A LANGUAGE sql function that the planner inlines: its SELECT replaces the
-- call in the caller's query, so `SELECT * FROM jobtrack.export_jobs()`,
-- a cursor over it or `COPY (SELECT * FROM jobtrack.export_jobs()) TO
-- STDOUT` stream the rows from a Merge Append of the two created indexes,
-- read backward (no Sort, no Function Scan, no tuplestore of the whole
-- result): memory stays constant whatever the number of jobs, and one
-- query reads one snapshot. A constant since folds into an index condition,
-- a NULL one away. Inlining requires what this declaration keeps: a single
-- SELECT, not STRICT, not VOLATILE, not SECURITY DEFINER and no SET clause
-- — so search_path is not pinned and the body is parsed in the caller's:
-- every name in it is schema-qualified, operators and types included, so
-- that no object in a schema of the caller's search_path can stand in for
-- one of them. It runs with the caller's rights, like a query of the
-- caller's own on the two tables (row-level security applies), and reads
-- nothing else.
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
