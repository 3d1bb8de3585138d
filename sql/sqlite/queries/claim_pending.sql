-- claim_next_jobs, step 1: up to ?1 pending jobs of either kind, the oldest
-- created_at first, ties on job_id, in the claim's write transaction
-- (BEGIN IMMEDIATE: no other writer runs, so nothing is passed over). The
-- status list repeats the partial active indexes' WHERE clause word for
-- word so that they can be used; the compound ORDER BY merges the two, each
-- read in order, and stops after ?1 rows.
SELECT 'execution' AS job_type, job_id, created_at
FROM executions INDEXED BY idx_executions_active
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
  AND status = 'pending'
UNION ALL
SELECT 'variation', job_id, created_at
FROM variations INDEXED BY idx_variations_active
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
  AND status = 'pending'
ORDER BY 3, 2
LIMIT ?1
