-- One prune_jobs batch, step 1: the ?3 (batch_size) jobs created first
-- among those cleanup_old_jobs would delete (?1 cutoff, ?2 keep_failed; the
-- conditions of cleanup_executions.sql word for word), of either kind. The
-- compound ORDER BY merges the two partial indexes, each read in created_at
-- order, and stops after ?3 rows: a batch costs its own rows, not the
-- table's.
INSERT INTO temp.job_prune_batch (job_id, job_type, created_at)
SELECT job_id, 'execution', created_at
FROM executions INDEXED BY idx_executions_cleanup
WHERE status IN ('done', 'failed', 'cancelled')
  AND created_at < ?1
  AND NOT (?2 AND status = 'failed')
UNION ALL
SELECT job_id, 'variation', created_at
FROM variations INDEXED BY idx_variations_cleanup
WHERE status IN ('done', 'failed', 'cancelled')
  AND created_at < ?1
  AND NOT (?2 AND status = 'failed')
ORDER BY 3
LIMIT ?3
