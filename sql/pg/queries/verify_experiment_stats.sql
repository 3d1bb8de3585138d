-- verify_experiment_stats(): the experiment counters (every delta row) and
-- a full recount of the variations (the view experiment_counters_recount),
-- side by side; experiment_stats_differences in jobtrack-core adds up the
-- rows of each key and compares. One statement, so both sides are read
-- from one snapshot. A full scan by design: this is the check, not the fast
-- path.
SELECT 'counted' AS side, c.experiment_name, c.total_combinations, c.status, c.jobs,
       c.successful, c.failed, c.duration_count, c.duration_micros_sum
FROM jobtrack.experiment_counters AS c
UNION ALL
SELECT 'actual', r.experiment_name, r.total_combinations, r.status, r.jobs, r.successful,
       r.failed, r.duration_count, r.duration_micros_sum
FROM jobtrack.experiment_counters_recount AS r
