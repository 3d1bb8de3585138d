-- get_experiment_stats(?1 = experiment_name): one row per (total_combinations,
-- status) of the experiment's counters (a primary-key seek to its few
-- rows), each with the four extremes, each the first or last entry of the
-- experiment in idx_variations_experiment_duration or
-- idx_variations_experiment_start — logarithmic, not a scan; the scalar
-- subqueries depend on ?1 only, so SQLite runs each once. Always at least
-- one row: the LEFT JOIN gives an experiment without counters one row with
-- NULL counter columns and its extremes. One statement, so every part is
-- read from one snapshot.
SELECT c.total_combinations, c.status, c.jobs, c.successful, c.failed, c.duration_count,
       c.duration_micros_sum, x.min_duration, x.max_duration, x.first_run, x.last_run
FROM (SELECT (SELECT duration_seconds FROM variations
              WHERE experiment_name = ?1 AND duration_seconds IS NOT NULL
              ORDER BY duration_seconds LIMIT 1) AS min_duration,
             (SELECT duration_seconds FROM variations
              WHERE experiment_name = ?1 AND duration_seconds IS NOT NULL
              ORDER BY duration_seconds DESC LIMIT 1) AS max_duration,
             (SELECT start_time FROM variations
              WHERE experiment_name = ?1 AND start_time IS NOT NULL
              ORDER BY start_time LIMIT 1) AS first_run,
             (SELECT start_time FROM variations
              WHERE experiment_name = ?1 AND start_time IS NOT NULL
              ORDER BY start_time DESC LIMIT 1) AS last_run) AS x
LEFT JOIN experiment_counters AS c ON c.experiment_name = ?1
