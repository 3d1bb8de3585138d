-- jobtrack 0.2.0 -> 0.3.0: safe in operations.
--
-- Run by ALTER EXTENSION jobtrack UPDATE after installing the 0.3.0
-- package. Released scripts are never edited; the next change goes into a
-- new jobtrack--0.3.0--<next>.sql. Each change below says why; the upgrade
-- test (tests/upgrade) proves that a database updated with this script (from
-- 0.2.0, and from 0.1.0 through jobtrack--0.1.0--0.2.0.sql) and a fresh
-- 0.3.0 install have identical objects, and that no job or count changes on
-- the way.

\echo Use "ALTER EXTENSION jobtrack UPDATE TO '0.3.0'" to load this file. \quit

-- The Job projection as a view, read by every listing (get_all_jobs_optimized,
-- get_recent_jobs_optimized and the cached form, and the job that
-- create_execution and create_variation return): 0.2.0 wrote the same 17
-- columns out in each of those queries. Only a view is added, no table is
-- touched: the update takes no lock that writers wait for. The 0.3.0
-- library runs the listings without the view until this script has run.
-- security_invoker, so that a read through it is checked as the caller on
-- both tables, row-level security included (a plain view would read them
-- with the rights of the superuser who owns it).
CREATE VIEW jobtrack.jobs WITH (security_invoker = true) AS
SELECT e.job_id, 'execution'::text AS job_type, e.status, e.dataset_name, e.preset,
       e.pipeline_mode AS mode, NULL::text AS experiment_name, NULL::text AS variation_id,
       e.success, e.duration_seconds, e.error_message, e.output_path, e.total_steps,
       e.current_step, e.start_time, e.created_at, e.updated_at
FROM jobtrack.executions AS e
UNION ALL
SELECT v.job_id, 'variation'::text, v.status, v.dataset_name, v.preset,
       'variations'::text, v.experiment_name, v.variation_id,
       v.success, v.duration_seconds, v.error_message, v.output_path, v.total_steps,
       v.current_step, v.start_time, v.created_at, v.updated_at
FROM jobtrack.variations AS v;

-- SELECT for PUBLIC, so that the view adds no privilege to what reading
-- jobs needed in 0.2.0 (SELECT on executions and variations): a role granted
-- those two tables alone keeps its listings. Safe only because of
-- security_invoker: the grant lets a role past the view, never past the
-- tables (42501 without SELECT on them; their row-level security applies).
GRANT SELECT ON jobtrack.jobs TO PUBLIC;

COMMENT ON VIEW jobtrack.jobs IS
    'jobtrack: every job of either kind as a Job row (the columns of get_all_jobs_optimized), read with the caller''s privileges and row-level security on executions and variations (security_invoker)';
