-- jobtrack schema, version 4, for SQLite: migrates a version-3 file.
--
-- Version 4 adds the view `jobs`, the Job projection that every listing
-- reads (all_jobs.sql, recent_jobs.sql, get_job.sql); version 3 wrote the
-- same 17 columns out in each of those queries. No table changes, so no
-- row can be refused and there is no precheck. The view is created anew,
-- so that the step may run again without harm. The result is exactly
-- ../schema.sql, which a test checks; the comment there says why the
-- constants are CAST.

DROP VIEW IF EXISTS jobs;
CREATE VIEW jobs AS
SELECT job_id, 'execution' AS job_type, status, dataset_name, preset,
       pipeline_mode AS mode, CAST(NULL AS TEXT) AS experiment_name,
       CAST(NULL AS TEXT) AS variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at
FROM executions
UNION ALL
SELECT job_id, 'variation', status, dataset_name, preset,
       CAST('variations' AS TEXT), experiment_name, variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at
FROM variations;
