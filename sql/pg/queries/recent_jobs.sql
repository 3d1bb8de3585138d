-- get_recent_jobs_optimized($1 lim): the newest updated_at first (the
-- summary's last_updated mirrors it), ties on job_id descending; the first $1
-- entries of job_summary_cache_recent_idx, each completed from the Job view
-- by one primary-key lookup in its own table. OFFSET 0 keeps the lateral
-- subquery a subquery of its own, planned once with r's columns as
-- parameters: the job_type condition is then constant in each branch of the
-- view, a one-time filter that skips the other table. Pulled up into the
-- join instead, it becomes a per-row filter after a lookup in both tables.
SELECT j.*
FROM (SELECT s.job_id, s.job_type, s.last_updated
      FROM jobtrack.job_summary_cache AS s
      ORDER BY s.last_updated DESC, s.job_id DESC
      LIMIT $1) AS r
CROSS JOIN LATERAL (
    SELECT j.*
    FROM jobtrack.jobs AS j
    WHERE r.job_type = j.job_type AND j.job_id = r.job_id
    OFFSET 0
) AS j
ORDER BY r.last_updated DESC, r.job_id DESC
