-- 100,000 elements in one call, created, updated and cleaned up set-based;
-- the summary table stays exact.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

SELECT cardinality(jobtrack.batch_create_executions(
    (SELECT jsonb_agg(jsonb_build_object('job_id', 'e' || g, 'pipeline_mode', 'batch',
                                         'dataset_name', 'ds' || (g % 10), 'preset', 'p',
                                         'total_steps', 1000))
     FROM generate_series(1, 100000) AS g))) AS created;
SELECT cardinality(jobtrack.batch_create_variations(
    (SELECT jsonb_agg(jsonb_build_object('job_id', 'v' || g, 'variation_id', 'x' || g,
                                         'experiment_name', 's', 'dataset_name', 'ds' || (g % 10),
                                         'preset', 'p', 'total_combinations', 100000,
                                         'parameter_values', jsonb_build_object('i', g)))
     FROM generate_series(1, 100000) AS g))) AS created;
-- In reverse order, every job twice: the later element wins.
SELECT jobtrack.batch_update_execution_status(
    (SELECT jsonb_agg(u ORDER BY o)
     FROM (SELECT jsonb_build_object('job_id', 'e' || g, 'status', 'training') AS u, -g AS o
           FROM generate_series(1, 100000) AS g
           UNION ALL
           SELECT jsonb_build_object('job_id', 'e' || g,
                                     'status', CASE WHEN g % 4 = 0 THEN 'failed' ELSE 'done' END),
                  g
           FROM generate_series(1, 100000) AS g) AS t)) AS updated;
SELECT jobtrack.batch_update_variation_status(
    (SELECT jsonb_agg(jsonb_build_object('job_id', 'v' || g, 'status', 'training'))
     FROM generate_series(1, 100000) AS g)) AS updated;
-- A bad last element: nothing of the 100,000 applied.
SELECT jobtrack.batch_update_variation_status(
    (SELECT jsonb_agg(jsonb_build_object('job_id', 'v' || g, 'status', CASE WHEN g = 100000 THEN 'nope' ELSE 'done' END))
     FROM generate_series(1, 100000) AS g)) AS updated;
SELECT s - 'avg_execution_duration' AS statistics, (s->>'avg_execution_duration')::float8 >= 0 AS has_avg
FROM jobtrack.get_statistics_optimized() AS s;
SELECT jobtrack.get_dataset_stats_optimized('ds3') - 'first_run' - 'last_run' - 'average_duration'
       - 'min_duration' - 'max_duration' AS ds3;
SELECT count(*) FROM jobtrack.get_all_jobs_optimized(10000);
SELECT count(*) FROM jobtrack.get_running_jobs();
SELECT jobtrack.cleanup_old_jobs(0, false);
SELECT count(*) FROM jobtrack.job_summary_cache;
SELECT count(*) AS summary_diff FROM (
    (SELECT job_id, status, success FROM jobtrack.job_summary_cache
     EXCEPT ALL SELECT job_id, status, success FROM jobtrack.variations)
    UNION ALL
    (SELECT job_id, status, success FROM jobtrack.variations
     EXCEPT ALL SELECT job_id, status, success FROM jobtrack.job_summary_cache)) AS d;
SELECT jobtrack.refresh_job_cache();
