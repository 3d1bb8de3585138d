-- The summary step of a status-change call on variations, set-based: each
-- changed job's summary row replaced by one from its new values, as the
-- UPDATE trigger does per row (schema.sql; it deletes the row of that
-- job_id, whatever its kind, and inserts the new one — REPLACE here,
-- job_summary_cache having no triggers), experiment_name and
-- total_combinations included. CROSS JOIN: the changes drive primary-key
-- seeks.
INSERT OR REPLACE INTO job_summary_cache (job_id, job_type, status, dataset_name, preset,
                                          start_time, duration_seconds, success, last_updated,
                                          experiment_name, total_combinations)
SELECT j.job_id, 'variation', j.status, j.dataset_name, j.preset,
       j.start_time, j.duration_seconds, j.success, j.updated_at,
       j.experiment_name, j.total_combinations
FROM temp.job_status_change AS c
CROSS JOIN variations AS j
WHERE j.job_id = c.job_id
