-- get_recent_jobs_optimized(?1 = lim): the top ?1 ids by last_updated come
-- from the summary table's index; only those rows are fetched from the Job
-- view, by primary key in the table of their kind (SQLite flattens the view
-- into each arm of the join). last_updated equals updated_at (the triggers
-- copy it). CROSS JOIN fixes the join order: the few ids drive primary-key
-- lookups, whatever the planner's statistics say.
WITH recent AS MATERIALIZED (
    SELECT job_id, job_type
    FROM job_summary_cache
    ORDER BY last_updated DESC, job_id DESC
    LIMIT ?1
)
SELECT j.*
FROM recent AS r
CROSS JOIN jobs AS j
WHERE j.job_type = r.job_type AND j.job_id = r.job_id
ORDER BY j.updated_at DESC, j.job_id DESC
