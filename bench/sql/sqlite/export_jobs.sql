-- SQLite, AFTER: every job, whole, the oldest created_at first, ties on
-- job_id, as plain SQL read with rusqlite. Two statements: the 24 columns
-- of jobtrack's export (RECORD_COLUMNS, in their order), which the client
-- writes as CSV; and the same rows as one JSON object each, built by SQLite
-- (json_object, the parameters embedded with json()), which the client
-- writes as JSON lines (its first column; the sort key follows it), as
-- PostgreSQL's row_to_json does for COPY. In both the ORDER BY belongs to
-- the compound itself, so SQLite merges the two arms, each read in the
-- order of its idx_*_created index, instead of sorting every row in a
-- temporary B-tree (which an outer ORDER BY over the UNION ALL as a
-- subquery would do).
SELECT job_id, 'execution' AS job_type, status, dataset_name, preset,
       pipeline_mode AS mode, NULL AS experiment_name, NULL AS variation_id, success,
       duration_seconds, error_message, output_path, total_steps, current_step, start_time,
       created_at, updated_at, last_heartbeat, end_time, NULL AS total_combinations,
       NULL AS varied_parameters, NULL AS parameter_values, NULL AS parent_experiment_id,
       worker
FROM executions
UNION ALL
SELECT job_id, 'variation', status, dataset_name, preset, 'variations', experiment_name,
       variation_id, success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at, last_heartbeat, end_time,
       total_combinations, varied_parameters, parameter_values, parent_experiment_id, worker
FROM variations
ORDER BY created_at, job_id;

SELECT json_object('job_id', job_id, 'job_type', 'execution', 'status', status,
                   'dataset_name', dataset_name, 'preset', preset, 'mode', pipeline_mode,
                   'experiment_name', NULL, 'variation_id', NULL,
                   'success', json(CASE success WHEN 1 THEN 'true' WHEN 0 THEN 'false' END),
                   'duration_seconds', duration_seconds, 'error_message', error_message,
                   'output_path', output_path, 'total_steps', total_steps,
                   'current_step', current_step, 'start_time', start_time,
                   'created_at', created_at, 'updated_at', updated_at,
                   'last_heartbeat', last_heartbeat, 'end_time', end_time,
                   'total_combinations', NULL, 'varied_parameters', NULL,
                   'parameter_values', NULL, 'parent_experiment_id', NULL,
                   'worker', worker) AS line,
       created_at, job_id
FROM executions
UNION ALL
SELECT json_object('job_id', job_id, 'job_type', 'variation', 'status', status,
                   'dataset_name', dataset_name, 'preset', preset, 'mode', 'variations',
                   'experiment_name', experiment_name, 'variation_id', variation_id,
                   'success', json(CASE success WHEN 1 THEN 'true' WHEN 0 THEN 'false' END),
                   'duration_seconds', duration_seconds, 'error_message', error_message,
                   'output_path', output_path, 'total_steps', total_steps,
                   'current_step', current_step, 'start_time', start_time,
                   'created_at', created_at, 'updated_at', updated_at,
                   'last_heartbeat', last_heartbeat, 'end_time', end_time,
                   'total_combinations', total_combinations,
                   'varied_parameters', json(varied_parameters),
                   'parameter_values', json(parameter_values),
                   'parent_experiment_id', parent_experiment_id, 'worker', worker),
       created_at, job_id
FROM variations
ORDER BY created_at, job_id;
