-- get_recent_jobs_optimized(?1 = lim): the top ?1 ids by last_updated come
-- from the summary table's index; only those rows are fetched from the base
-- tables. last_updated equals updated_at (the triggers copy it). CROSS JOIN
-- fixes the join order: the few ids drive primary-key lookups, whatever
-- the planner's statistics say.
WITH recent AS MATERIALIZED (
    SELECT job_id, job_type
    FROM job_summary_cache
    ORDER BY last_updated DESC, job_id DESC
    LIMIT ?1
)
SELECT e.job_id AS job_id, 'execution' AS job_type, e.status, e.dataset_name, e.preset,
       e.pipeline_mode AS mode, NULL AS experiment_name, NULL AS variation_id,
       e.success, e.duration_seconds, e.error_message, e.output_path, e.total_steps,
       e.current_step, e.start_time, e.created_at, e.updated_at AS updated_at
FROM recent AS r
CROSS JOIN executions AS e
WHERE r.job_type = 'execution' AND e.job_id = r.job_id
UNION ALL
SELECT v.job_id AS job_id, 'variation' AS job_type, v.status, v.dataset_name, v.preset,
       'variations' AS mode, v.experiment_name, v.variation_id,
       v.success, v.duration_seconds, v.error_message, v.output_path, v.total_steps,
       v.current_step, v.start_time, v.created_at, v.updated_at AS updated_at
FROM recent AS r
CROSS JOIN variations AS v
WHERE r.job_type = 'variation' AND v.job_id = r.job_id
ORDER BY updated_at DESC, job_id DESC
