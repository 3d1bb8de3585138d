-- One prune_jobs batch, step 2: its cache_entries_deleted, the summary rows
-- the delete triggers will remove with the chosen jobs. Counted before the
-- deletes, as cleanup_summary_count.sql does, since the triggers change the
-- counters too.
SELECT COUNT(*)
FROM temp.job_prune_batch AS b
CROSS JOIN job_summary_cache AS s
WHERE s.job_id = b.job_id AND s.job_type = b.job_type
