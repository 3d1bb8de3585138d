-- Deletes the experiment counter row ?1 experiment_name, ?2
-- total_combinations, ?3 status if all its values are zero, as the
-- triggers do after taking a variation out, so that experiment_counters
-- holds only the keys that have jobs.
DELETE FROM experiment_counters
WHERE experiment_name = ?1 AND total_combinations = ?2 AND status = ?3
  AND jobs = 0 AND successful = 0 AND failed = 0
  AND duration_count = 0 AND duration_micros_sum = 0
