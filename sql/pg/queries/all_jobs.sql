-- get_all_jobs_optimized($1 lim): newest created_at first, ties on job_id
-- descending; a Merge Append of executions_created_idx and
-- variations_created_idx (through the Job view) that stops after $1 rows.
SELECT j.*
FROM jobtrack.jobs AS j
ORDER BY j.created_at DESC, j.job_id DESC
LIMIT $1
