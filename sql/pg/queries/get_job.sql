-- The Job row of one id ($1), either kind: the result of create_execution
-- and create_variation.
SELECT e.job_id, 'execution'::text AS job_type, e.status, e.dataset_name, e.preset,
       e.pipeline_mode AS mode, NULL::text AS experiment_name, NULL::text AS variation_id,
       e.success, e.duration_seconds, e.error_message, e.output_path, e.total_steps,
       e.current_step, e.start_time, e.created_at, e.updated_at
FROM jobtrack.executions AS e
WHERE e.job_id = $1
UNION ALL
SELECT v.job_id, 'variation'::text, v.status, v.dataset_name, v.preset,
       'variations'::text, v.experiment_name, v.variation_id,
       v.success, v.duration_seconds, v.error_message, v.output_path, v.total_steps,
       v.current_step, v.start_time, v.created_at, v.updated_at
FROM jobtrack.variations AS v
WHERE v.job_id = $1
