-- get_all_jobs_optimized($1 lim, $2 created_at, $3 job_id): the jobs after
-- the cursor ($2, $3), newest created_at first, ties on job_id descending; a
-- Merge Append of executions_created_idx and variations_created_idx (through
-- the Job view), each scan starting at the cursor, that stops after $1 rows.
-- The first page is the page after ('infinity', ''), which every job
-- precedes: created_at is checked to lie in the years 1 to 9999.
SELECT j.*
FROM jobtrack.jobs AS j
WHERE (j.created_at, j.job_id) < ($2, $3 COLLATE "C")
ORDER BY j.created_at DESC, j.job_id DESC
LIMIT $1
