-- get_all_jobs_optimized(?1 = lim) without a cursor: the first page,
-- newest created_at first, ties on job_id descending. SQLite merges the two
-- kinds of the Job view, each read in index order (idx_*_created), and
-- stops after ?1 rows.
SELECT *
FROM jobs
ORDER BY created_at DESC, job_id DESC
LIMIT ?1
