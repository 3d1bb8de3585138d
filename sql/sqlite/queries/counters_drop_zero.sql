-- Deletes the counter row ?1 dataset_name, ?2 job_type, ?3 status if all
-- its values are zero, as the triggers do after taking a job out, so that
-- job_counters holds only the keys that have jobs.
DELETE FROM job_counters
WHERE dataset_name = ?1 AND job_type = ?2 AND status = ?3
  AND jobs = 0 AND successful = 0 AND failed = 0
  AND duration_count = 0 AND duration_micros_sum = 0
