-- get_experiment_stats($1 experiment_name): one row per (total_combinations,
-- status) of the experiment's counters, their delta rows summed (a range
-- scan of the experiment's few rows in experiment_counters_key_idx), each
-- row with the four extremes, each the first or last entry of the
-- experiment in variations_experiment_duration_idx or
-- variations_experiment_start_idx — logarithmic, not a scan. Always at
-- least one row (the counter columns NULL for an experiment without
-- counters). One statement, so every part is read from one snapshot.
SELECT k.total_combinations, k.status, k.jobs, k.successful, k.failed, k.duration_count,
       k.duration_micros_sum, e.min_duration, e.max_duration, e.first_run, e.last_run
FROM (SELECT (SELECT v.duration_seconds FROM jobtrack.variations AS v
              WHERE v.experiment_name = $1 AND v.duration_seconds IS NOT NULL
              ORDER BY v.duration_seconds LIMIT 1) AS min_duration,
             (SELECT v.duration_seconds FROM jobtrack.variations AS v
              WHERE v.experiment_name = $1 AND v.duration_seconds IS NOT NULL
              ORDER BY v.duration_seconds DESC LIMIT 1) AS max_duration,
             (SELECT v.start_time FROM jobtrack.variations AS v
              WHERE v.experiment_name = $1 AND v.start_time IS NOT NULL
              ORDER BY v.start_time LIMIT 1) AS first_run,
             (SELECT v.start_time FROM jobtrack.variations AS v
              WHERE v.experiment_name = $1 AND v.start_time IS NOT NULL
              ORDER BY v.start_time DESC LIMIT 1) AS last_run) AS e
LEFT JOIN LATERAL (
    SELECT c.total_combinations, c.status,
           sum(c.jobs)::bigint AS jobs, sum(c.successful)::bigint AS successful,
           sum(c.failed)::bigint AS failed, sum(c.duration_count)::bigint AS duration_count,
           sum(c.duration_micros_sum)::bigint AS duration_micros_sum
    FROM jobtrack.experiment_counters AS c
    WHERE c.experiment_name = $1
    GROUP BY c.total_combinations, c.status
) AS k ON true
