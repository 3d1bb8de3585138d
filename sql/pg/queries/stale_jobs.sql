-- get_stale_jobs($1 cutoff): the Job rows of the jobs fail_stale_jobs
-- would fail with that cutoff (lock_stale.sql), the longest silent first,
-- ties on job_id. The status filter (the active index's predicate, then
-- core's Status::expects_heartbeats) reaches each table's active index
-- through the view.
SELECT j.*
FROM jobtrack.jobs AS j
WHERE j.status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                   'ready_for_training', 'training', 'generating_preview')
  AND j.status <> 'pending'
  AND GREATEST(j.last_heartbeat, j.updated_at) < $1
ORDER BY GREATEST(j.last_heartbeat, j.updated_at), j.job_id
