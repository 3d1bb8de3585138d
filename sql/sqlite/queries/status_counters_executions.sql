-- The counter step of a status-change call on executions, set-based: ?1 = -1
-- before update_execution_status.sql takes the changed jobs out of their
-- counters, ?1 = 1 after it puts them back in with their new values —
-- together what the UPDATE trigger does per row (schema.sql), and the
-- same sums as job_counters_recount. Per (dataset, status) one UPSERT,
-- however many jobs. Returns the keys it touched, so that the caller can
-- drop those that fell to zero (counters_drop_zero.sql). CROSS JOIN: the
-- changes drive primary-key seeks.
INSERT INTO job_counters (dataset_name, job_type, status, jobs, successful, failed,
                          duration_count, duration_micros_sum)
SELECT j.dataset_name, 'execution', j.status,
       ?1 * COUNT(*),
       ?1 * COUNT(*) FILTER (WHERE j.success = 1),
       ?1 * COUNT(*) FILTER (WHERE j.success = 0),
       ?1 * COUNT(j.duration_seconds),
       ?1 * coalesce(SUM(CAST(round(j.duration_seconds * 1e6) AS INTEGER)), 0)
FROM temp.job_status_change AS c
CROSS JOIN executions AS j
WHERE j.job_id = c.job_id
GROUP BY j.dataset_name, j.status
ON CONFLICT (dataset_name, job_type, status) DO UPDATE
SET jobs                = jobs + excluded.jobs,
    successful          = successful + excluded.successful,
    failed              = failed + excluded.failed,
    duration_count      = duration_count + excluded.duration_count,
    duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum
RETURNING dataset_name, status
