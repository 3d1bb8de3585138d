-- export_jobs(since), the first page: up to ?2 whole jobs of either kind
-- created at or after ?1, the oldest created_at first, ties on job_id, in
-- the 24 columns of a JobRecord (RECORD_COLUMNS). Without `since` ?1 is the
-- earliest time the schema stores, which every created_at's CHECK keeps
-- the row at or after: no bound at all. The constants standing for a
-- column of the other kind are CAST to its type, as in the view jobs, so
-- that SQLite flattens the UNION ALL and each arm seeks its idx_*_created
-- index to ?1; the two are merged in index order, no sort, and the read
-- stops after ?2 rows.
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
WHERE created_at >= ?1
ORDER BY created_at, job_id
LIMIT ?2
