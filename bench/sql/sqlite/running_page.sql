-- SQLite, AFTER: one page of the active jobs after a cursor the client
-- kept from the previous page ($1 created_at, $2 job_id; $3 rows), in the
-- columns of running_jobs.sql: the row-value comparison seeks each partial
-- index to the cursor, and the merge of the two stops after $3 rows.
SELECT job_id, 'execution' AS job_type, status, dataset_name, start_time, current_step,
       total_steps, NULL AS experiment_name, NULL AS variation_id, created_at
FROM executions
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
  AND (created_at, job_id) < ($1, $2)
UNION ALL
SELECT job_id, 'variation', status, dataset_name, start_time, current_step, total_steps,
       experiment_name, variation_id, created_at
FROM variations
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
  AND (created_at, job_id) < ($1, $2)
ORDER BY created_at DESC, job_id DESC
LIMIT $3;
