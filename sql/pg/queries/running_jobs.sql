-- get_running_jobs(): every job in an active status, newest created_at first,
-- ties on job_id descending; a Merge Append of the partial indexes
-- executions_active_idx and variations_active_idx.
SELECT e.job_id, 'execution'::text AS job_type, e.status, e.dataset_name, e.start_time,
       e.current_step, e.total_steps, NULL::text AS experiment_name,
       NULL::text AS variation_id, e.created_at
FROM jobtrack.executions AS e
WHERE e.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                   'ready_for_training', 'training', 'generating_preview')
UNION ALL
SELECT v.job_id, 'variation'::text, v.status, v.dataset_name, v.start_time,
       v.current_step, v.total_steps, v.experiment_name, v.variation_id, v.created_at
FROM jobtrack.variations AS v
WHERE v.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                   'ready_for_training', 'training', 'generating_preview')
ORDER BY created_at DESC, job_id DESC
