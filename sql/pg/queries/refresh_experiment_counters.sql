-- refresh_job_cache(), after refresh_job_cache.sql under the same lock:
-- rebuild the experiment counters from the variations, one counter row per
-- key. A query of its own, run only when the catalog has the table (0.8.0
-- and later), so that the new library's refresh_job_cache() works on an
-- older catalog until ALTER EXTENSION UPDATE.
DELETE FROM jobtrack.experiment_counters;
INSERT INTO jobtrack.experiment_counters
    (experiment_name, total_combinations, status, jobs, successful, failed,
     duration_count, duration_micros_sum)
SELECT experiment_name, total_combinations, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM jobtrack.experiment_counters_recount
ORDER BY experiment_name, total_combinations, status
