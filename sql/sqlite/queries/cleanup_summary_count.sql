-- cleanup_old_jobs' cache_entries_deleted: the summary rows that the delete
-- triggers will remove with the jobs cleanup_executions.sql and
-- cleanup_variations.sql are about to delete (?1 cutoff, ?2 keep_failed;
-- the same conditions word for word). Counted beforehand because the
-- triggers also change the counters, so total_changes() no longer tells.
SELECT (SELECT COUNT(*) FROM job_summary_cache
        WHERE job_type = 'execution'
          AND job_id IN (SELECT job_id FROM executions INDEXED BY idx_executions_cleanup
                         WHERE status IN ('done', 'failed', 'cancelled')
                           AND created_at < ?1
                           AND NOT (?2 AND status = 'failed')))
     + (SELECT COUNT(*) FROM job_summary_cache
        WHERE job_type = 'variation'
          AND job_id IN (SELECT job_id FROM variations INDEXED BY idx_variations_cleanup
                         WHERE status IN ('done', 'failed', 'cancelled')
                           AND created_at < ?1
                           AND NOT (?2 AND status = 'failed')))
