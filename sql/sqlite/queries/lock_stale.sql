-- fail_stale_jobs, step 1: the jobs that expect heartbeats, their status
-- one of ?2 (a JSON array: core's Status::expects_heartbeats), whose last
-- sign of life lies before ?1, the cut-off; in job_id order, with that last
-- sign of life. In the call's write transaction (BEGIN IMMEDIATE), so no
-- other writer runs between this and the status change: a heartbeat either
-- committed before and is seen here, or waits for the commit and finds its
-- job failed.
--
-- The last sign of life is the later of last_heartbeat and updated_at.
-- SQLite's max() of several arguments is NULL when one is, hence the
-- coalesce: a job without heartbeat was last seen at updated_at. The
-- fixed-width timestamps compare as text in time order. The active list
-- repeats the partial indexes' WHERE clause word for word, so that only
-- the active jobs are read, not the finished ones (INDEXED BY, as in
-- running_jobs.sql).
SELECT 'execution' AS job_type, job_id,
       max(updated_at, coalesce(last_heartbeat, updated_at)) AS last_seen
FROM executions INDEXED BY idx_executions_active
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
  AND status IN (SELECT value FROM json_each(?2))
  AND max(updated_at, coalesce(last_heartbeat, updated_at)) < ?1
UNION ALL
SELECT 'variation', job_id,
       max(updated_at, coalesce(last_heartbeat, updated_at))
FROM variations INDEXED BY idx_variations_active
WHERE status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
  AND status IN (SELECT value FROM json_each(?2))
  AND max(updated_at, coalesce(last_heartbeat, updated_at)) < ?1
ORDER BY 2
