-- get_running_jobs(?1 = lim or -1, after): the page after the cursor job,
-- whose key (?2 = its created_at, ?3 = its job_id) job_cursor.sql looked
-- up; as running_jobs.sql otherwise. Each arm seeks its partial index to
-- the key (row-value comparison in the listing's order) and reads on.
SELECT job_id, 'execution' AS job_type, status, dataset_name, start_time,
       current_step, total_steps, NULL AS experiment_name, NULL AS variation_id,
       created_at, last_heartbeat
FROM executions INDEXED BY idx_executions_active
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
  AND (created_at, job_id) < (?2, ?3)
UNION ALL
SELECT job_id, 'variation' AS job_type, status, dataset_name, start_time,
       current_step, total_steps, experiment_name, variation_id,
       created_at, last_heartbeat
FROM variations INDEXED BY idx_variations_active
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
  AND (created_at, job_id) < (?2, ?3)
ORDER BY created_at DESC, job_id DESC
LIMIT ?1
