-- cleanup_old_jobs on executions: ?1 cutoff (created_at before it goes),
-- ?2 keep_failed. The status list repeats the partial index's WHERE clause
-- word for word so that the index can be used; INDEXED BY so that the
-- planner never prefers an index that visits every terminal job, old or not
-- (schema version 1 had one on status). Active jobs are never matched.
DELETE FROM executions INDEXED BY idx_executions_cleanup
WHERE status IN ('done', 'failed', 'cancelled')
  AND created_at < ?1
  AND NOT (?2 AND status = 'failed')
