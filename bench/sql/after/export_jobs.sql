-- AFTER, plain SQL: every job, whole, in the 24 columns of jobtrack's
-- export (RECORD_COLUMNS, in their order), the oldest created_at first,
-- ties on job_id. One UNION ALL over both tables, ordered by the server:
-- each arm reads its (created_at DESC, job_id DESC) index backwards and a
-- Merge Append keeps the order without a sort. The bench sends it wrapped
-- in COPY: `COPY (SELECT row_to_json(t) FROM (…) AS t) TO STDOUT` for JSON
-- lines, `COPY (…) TO STDOUT WITH (FORMAT csv, HEADER)` for CSV.
SELECT job_id, 'execution' AS job_type, status, dataset_name, preset,
       pipeline_mode AS mode, NULL::text AS experiment_name, NULL::text AS variation_id,
       success, duration_seconds, error_message, output_path, total_steps, current_step,
       start_time, created_at, updated_at, last_heartbeat, end_time,
       NULL::integer AS total_combinations, NULL::jsonb AS varied_parameters,
       NULL::jsonb AS parameter_values, NULL::text AS parent_experiment_id, worker
FROM jobtrack.executions
UNION ALL
SELECT job_id, 'variation', status, dataset_name, preset, 'variations', experiment_name,
       variation_id, success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at, last_heartbeat, end_time,
       total_combinations, varied_parameters, parameter_values, parent_experiment_id, worker
FROM jobtrack.variations
ORDER BY created_at, job_id;
