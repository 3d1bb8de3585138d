-- get_all_jobs_optimized(?1 = lim, after): the page after the cursor job,
-- whose key (?2 = its created_at, ?3 = its job_id) job_cursor.sql looked
-- up. The row-value comparison is the order of the listing, so each arm
-- seeks its idx_*_created index to the key and reads on from there: one
-- seek plus the page's rows, however deep the page. Text timestamps
-- compare as times (fixed width, CHECKed), job_ids in binary order, as
-- ORDER BY sorts them.
SELECT *
FROM jobs
WHERE (created_at, job_id) < (?2, ?3)
ORDER BY created_at DESC, job_id DESC
LIMIT ?1
