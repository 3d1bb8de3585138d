-- export_jobs(since), a page: up to ?3 whole jobs — the 24 columns of
-- core's JobRecord, in RECORD_COLUMNS order (the constants CAST, as in the
-- jobs view, so that the UNION ALL flattens) — after the key (?1, ?2): the
-- last row's created_at and job_id, or (since, '') for the first page,
-- which is every job created at or after since (no job_id is empty). Every
-- page is read in one transaction, so from one snapshot. The row-value comparison is the
-- order of the export, so each arm seeks its idx_*_created index to the
-- key and reads on from there: one seek plus the page's rows, however deep
-- the page. Text timestamps compare as times (fixed width, CHECKed),
-- job_ids in binary order, as ORDER BY sorts them.
SELECT *
FROM (SELECT job_id, 'execution' AS job_type, status, dataset_name, preset,
             pipeline_mode AS mode, CAST(NULL AS TEXT) AS experiment_name,
             CAST(NULL AS TEXT) AS variation_id, success, duration_seconds,
             error_message, output_path, total_steps, current_step, start_time,
             created_at, updated_at, last_heartbeat, end_time,
             CAST(NULL AS INTEGER) AS total_combinations,
             CAST(NULL AS TEXT) AS varied_parameters, CAST(NULL AS TEXT) AS parameter_values,
             CAST(NULL AS TEXT) AS parent_experiment_id, worker
      FROM executions
      UNION ALL
      SELECT job_id, 'variation', status, dataset_name, preset,
             CAST('variations' AS TEXT), experiment_name, variation_id, success,
             duration_seconds, error_message, output_path, total_steps, current_step,
             start_time, created_at, updated_at, last_heartbeat, end_time,
             total_combinations, varied_parameters, parameter_values,
             parent_experiment_id, worker
      FROM variations)
WHERE (created_at, job_id) > (?1, ?2)
ORDER BY created_at, job_id
LIMIT ?3
