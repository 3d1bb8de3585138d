-- verify_summary: every job on which job_summary_cache disagrees with the
-- base tables — a missing row, an extra one, or differing columns (one flag
-- per column, in SUMMARY_COLUMNS order: status, dataset_name, preset,
-- start_time, duration_seconds, success, last_updated, experiment_name,
-- total_combinations; the last two NULL for an execution). Joined on the
-- job and its kind, so a summary row of the wrong kind shows as one missing
-- and one extra. One statement, one snapshot; a full scan by design.
WITH expected AS (
    SELECT job_id, 'execution' AS job_type, status, dataset_name, preset,
           start_time, duration_seconds, success, updated_at AS last_updated,
           NULL AS experiment_name, NULL AS total_combinations
    FROM executions
    UNION ALL
    SELECT job_id, 'variation', status, dataset_name, preset,
           start_time, duration_seconds, success, updated_at,
           experiment_name, total_combinations
    FROM variations
)
SELECT coalesce(x.job_id, s.job_id) AS job_id,
       coalesce(x.job_type, s.job_type) AS job_type,
       CASE WHEN s.job_id IS NULL THEN 'missing'
            WHEN x.job_id IS NULL THEN 'extra'
            ELSE 'differs' END AS problem,
       x.job_id IS NOT NULL AND s.job_id IS NOT NULL AND x.status IS NOT s.status,
       x.job_id IS NOT NULL AND s.job_id IS NOT NULL AND x.dataset_name IS NOT s.dataset_name,
       x.job_id IS NOT NULL AND s.job_id IS NOT NULL AND x.preset IS NOT s.preset,
       x.job_id IS NOT NULL AND s.job_id IS NOT NULL AND x.start_time IS NOT s.start_time,
       x.job_id IS NOT NULL AND s.job_id IS NOT NULL AND x.duration_seconds IS NOT s.duration_seconds,
       x.job_id IS NOT NULL AND s.job_id IS NOT NULL AND x.success IS NOT s.success,
       x.job_id IS NOT NULL AND s.job_id IS NOT NULL AND x.last_updated IS NOT s.last_updated,
       x.job_id IS NOT NULL AND s.job_id IS NOT NULL AND x.experiment_name IS NOT s.experiment_name,
       x.job_id IS NOT NULL AND s.job_id IS NOT NULL AND x.total_combinations IS NOT s.total_combinations
FROM expected AS x
FULL JOIN job_summary_cache AS s ON s.job_id = x.job_id AND s.job_type = x.job_type
WHERE s.job_id IS NULL OR x.job_id IS NULL
   OR x.status IS NOT s.status OR x.dataset_name IS NOT s.dataset_name
   OR x.preset IS NOT s.preset OR x.start_time IS NOT s.start_time
   OR x.duration_seconds IS NOT s.duration_seconds OR x.success IS NOT s.success
   OR x.last_updated IS NOT s.last_updated
   OR x.experiment_name IS NOT s.experiment_name
   OR x.total_combinations IS NOT s.total_combinations
ORDER BY 1, 2
