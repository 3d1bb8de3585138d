-- get_recent_jobs_optimized($1 lim): the newest updated_at first (the
-- summary's last_updated mirrors it), ties on job_id descending; the first $1
-- entries of job_summary_cache_recent_idx, each completed by a primary-key
-- lookup in its own table.
SELECT j.*
FROM (SELECT s.job_id, s.job_type, s.last_updated
      FROM jobtrack.job_summary_cache AS s
      ORDER BY s.last_updated DESC, s.job_id DESC
      LIMIT $1) AS r
CROSS JOIN LATERAL (
    SELECT e.job_id, 'execution'::text AS job_type, e.status, e.dataset_name, e.preset,
           e.pipeline_mode AS mode, NULL::text AS experiment_name, NULL::text AS variation_id,
           e.success, e.duration_seconds, e.error_message, e.output_path, e.total_steps,
           e.current_step, e.start_time, e.created_at, e.updated_at
    FROM jobtrack.executions AS e
    WHERE r.job_type = 'execution' AND e.job_id = r.job_id
    UNION ALL
    SELECT v.job_id, 'variation'::text, v.status, v.dataset_name, v.preset,
           'variations'::text, v.experiment_name, v.variation_id,
           v.success, v.duration_seconds, v.error_message, v.output_path, v.total_steps,
           v.current_step, v.start_time, v.created_at, v.updated_at
    FROM jobtrack.variations AS v
    WHERE r.job_type = 'variation' AND v.job_id = r.job_id
) AS j
ORDER BY r.last_updated DESC, r.job_id DESC
