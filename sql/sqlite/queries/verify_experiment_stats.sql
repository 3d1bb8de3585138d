-- verify_experiment_stats: the experiment counters and a full recount of
-- the variations (the view experiment_counters_recount), side by side;
-- experiment_stats_differences in jobtrack-core compares them. One
-- statement, so both sides are read from one snapshot. A full scan by
-- design: this is the check, not the fast path.
SELECT 'counted' AS side, experiment_name, total_combinations, status, jobs, successful,
       failed, duration_count, duration_micros_sum
FROM experiment_counters
UNION ALL
SELECT 'actual', experiment_name, total_combinations, status, jobs, successful, failed,
       duration_count, duration_micros_sum
FROM experiment_counters_recount
