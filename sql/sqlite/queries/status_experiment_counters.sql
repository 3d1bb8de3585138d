-- The experiment counter step of a status-change call on variations,
-- set-based, as status_counters_variations.sql is for job_counters: ?1 = -1
-- before update_variation_status.sql takes the changed variations out of
-- their experiment counters, ?1 = 1 after it puts them back in with their
-- new values — together what the UPDATE trigger does per row (schema.sql),
-- and the same sums as experiment_counters_recount. Per (experiment,
-- total_combinations, status) one UPSERT, however many jobs. Returns the
-- keys it touched, so that the caller can drop those that fell to zero
-- (experiment_counters_drop_zero.sql). CROSS JOIN: the changes drive
-- primary-key seeks.
INSERT INTO experiment_counters (experiment_name, total_combinations, status, jobs, successful,
                                 failed, duration_count, duration_micros_sum)
SELECT j.experiment_name, j.total_combinations, j.status,
       ?1 * COUNT(*),
       ?1 * COUNT(*) FILTER (WHERE j.success = 1),
       ?1 * COUNT(*) FILTER (WHERE j.success = 0),
       ?1 * COUNT(j.duration_seconds),
       ?1 * coalesce(SUM(CAST(round(j.duration_seconds * 1e6) AS INTEGER)), 0)
FROM temp.job_status_change AS c
CROSS JOIN variations AS j
WHERE j.job_id = c.job_id
GROUP BY j.experiment_name, j.total_combinations, j.status
ON CONFLICT (experiment_name, total_combinations, status) DO UPDATE
SET jobs                = jobs + excluded.jobs,
    successful          = successful + excluded.successful,
    failed              = failed + excluded.failed,
    duration_count      = duration_count + excluded.duration_count,
    duration_micros_sum = duration_micros_sum + excluded.duration_micros_sum
RETURNING experiment_name, total_combinations, status
