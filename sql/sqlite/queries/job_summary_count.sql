-- refresh_job_cache's result: the rows of the rebuilt summary table.
SELECT COUNT(*) FROM job_summary_cache
