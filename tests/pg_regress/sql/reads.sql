-- get_statistics_optimized, get_dataset_stats_optimized,
-- get_all_jobs_optimized, get_recent_jobs_optimized, get_running_jobs.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;
SET timezone = 'UTC';

-- Empty: zeros, empty objects, nulls.
SELECT jobtrack.get_statistics_optimized();
SELECT jobtrack.get_dataset_stats_optimized('mnist');
SELECT count(*) FROM jobtrack.get_all_jobs_optimized();
SELECT count(*) FROM jobtrack.get_running_jobs();

SELECT jobtrack.batch_create_executions('[
  {"job_id": "e1", "pipeline_mode": "single", "dataset_name": "mnist", "preset": "fast", "total_steps": 200},
  {"job_id": "e2", "pipeline_mode": "batch", "dataset_name": "mnist", "preset": "fast"},
  {"job_id": "e3", "pipeline_mode": "variations", "dataset_name": "cifar", "preset": "slow", "status": "training"},
  {"job_id": "e4", "pipeline_mode": "single", "dataset_name": "mnist", "preset": "fast"}]');
SELECT jobtrack.batch_create_variations('[
  {"job_id": "v1", "variation_id": "lr-0.1", "experiment_name": "sweep", "dataset_name": "mnist", "preset": "fast", "total_combinations": 2, "total_steps": 0},
  {"job_id": "v2", "variation_id": "lr-0.2", "experiment_name": "sweep", "dataset_name": "mnist", "preset": "fast", "total_combinations": 2}]');
SELECT jobtrack.batch_update_execution_status('[{"job_id": "e1", "status": "training"}, {"job_id": "e2", "status": "training"}]');
SELECT jobtrack.update_progress('e1', 50);
SELECT jobtrack.update_progress('v1', 3);
SELECT jobtrack.batch_update_execution_status('[{"job_id": "e2", "status": "done"}, {"job_id": "e4", "status": "failed"}]');
SELECT jobtrack.update_variation_status('v2', 'training');
SELECT jobtrack.update_variation_status('v2', 'completed');

-- Deterministic clocks for the orderings and durations (plain SQL, which
-- the summary table follows).
UPDATE jobtrack.executions SET
    created_at = '2026-01-01 00:00:00+00'::timestamptz + (substr(job_id, 2)::int || ' hours')::interval,
    updated_at = '2026-02-01 00:00:00+00'::timestamptz - (substr(job_id, 2)::int || ' hours')::interval,
    start_time = CASE WHEN start_time IS NOT NULL THEN '2026-01-05 00:00:00+00'::timestamptz END,
    last_heartbeat = CASE WHEN last_heartbeat IS NOT NULL THEN '2026-01-06 00:00:00+00'::timestamptz END,
    duration_seconds = CASE job_id WHEN 'e2' THEN 30 END;
UPDATE jobtrack.variations SET
    created_at = '2026-01-01 00:00:00+00',
    updated_at = '2026-02-01 00:00:00+00',
    start_time = CASE WHEN start_time IS NOT NULL THEN '2026-01-04 12:00:00+00'::timestamptz END,
    last_heartbeat = CASE WHEN last_heartbeat IS NOT NULL THEN '2026-01-06 00:00:00+00'::timestamptz END,
    duration_seconds = CASE job_id WHEN 'v2' THEN 90 END;

SELECT jobtrack.get_statistics_optimized();
SELECT jobtrack.get_dataset_stats_optimized('mnist');
SELECT jobtrack.get_dataset_stats_optimized('cifar');
SELECT jobtrack.get_dataset_stats_optimized('no such dataset');
SELECT jobtrack.get_dataset_stats_optimized(NULL) IS NULL AS strict;

-- Newest created_at first; ties (v1, v2) on job_id descending.
SELECT * FROM jobtrack.get_all_jobs_optimized();
SELECT job_id FROM jobtrack.get_all_jobs_optimized(2) WITH ORDINALITY ORDER BY ordinality;
SELECT count(*) FROM jobtrack.get_all_jobs_optimized(0);
SELECT count(*) FROM jobtrack.get_all_jobs_optimized(10000);
-- Newest updated_at first; ties (v1, v2) on job_id descending.
SELECT job_id, job_type, updated_at FROM jobtrack.get_recent_jobs_optimized() WITH ORDINALITY ORDER BY ordinality;
SELECT job_id FROM jobtrack.get_recent_jobs_optimized(3) WITH ORDINALITY ORDER BY ordinality;
-- Active jobs, newest created_at first, progress in percent (0 when unknown).
SELECT * FROM jobtrack.get_running_jobs() WITH ORDINALITY ORDER BY ordinality;

-- lim is 0..10000.
SELECT * FROM jobtrack.get_all_jobs_optimized(10001);
SELECT * FROM jobtrack.get_all_jobs_optimized(-1);
SELECT * FROM jobtrack.get_recent_jobs_optimized(-1);
SELECT * FROM jobtrack.get_recent_jobs_optimized(10001);
-- lim NULL is an error for all jobs; for running jobs it is every row.
SELECT count(*) FROM jobtrack.get_all_jobs_optimized(NULL);
SELECT count(*) FROM jobtrack.get_running_jobs(NULL);

-- Pages: after is the job_id of the last row of the previous page. Walking
-- with pages of 2 returns every job once, in the order of one big page.
WITH RECURSIVE pages(n, last, ids) AS (
    SELECT 1, NULL::text, ARRAY[]::text[]
    UNION ALL
    SELECT p.n + 1, page.ids[cardinality(page.ids)], p.ids || page.ids
    FROM pages AS p,
         LATERAL (SELECT array_agg(j.job_id ORDER BY o) AS ids
                  FROM jobtrack.get_all_jobs_optimized(2, p.last) WITH ORDINALITY AS j(job_id, job_type, status, dataset_name, preset, mode, experiment_name, variation_id, success, duration_seconds, error_message, output_path, total_steps, current_step, start_time, created_at, updated_at, last_heartbeat, o)) AS page
    WHERE page.ids IS NOT NULL
)
SELECT (SELECT max(n) FROM pages) AS calls,
       (SELECT ids FROM pages ORDER BY n DESC LIMIT 1)
       = (SELECT array_agg(job_id ORDER BY o) FROM jobtrack.get_all_jobs_optimized(10000) WITH ORDINALITY AS j(job_id, job_type, status, dataset_name, preset, mode, experiment_name, variation_id, success, duration_seconds, error_message, output_path, total_steps, current_step, start_time, created_at, updated_at, last_heartbeat, o)) AS same_order;
SELECT job_id FROM jobtrack.get_running_jobs(2) WITH ORDINALITY ORDER BY ordinality;
SELECT job_id FROM jobtrack.get_running_jobs(2, (SELECT job_id FROM jobtrack.get_running_jobs(2) OFFSET 1)) WITH ORDINALITY ORDER BY ordinality;
-- A cursor names a job, active or not, of either kind; an unknown one is
-- an error whatever lim.
SELECT * FROM jobtrack.get_all_jobs_optimized(1, 'no such job');
SELECT * FROM jobtrack.get_running_jobs(0, 'no such job');
SELECT * FROM jobtrack.get_all_jobs_optimized(1, '');
-- Called in a SELECT list, as a set-returning function of the target list
-- rather than FROM: the same rows.
SELECT (jobtrack.get_all_jobs_optimized(2)).job_id;
SELECT (jobtrack.get_running_jobs(1)).job_id;
-- A page after a job that a job shares created_at with: ties continue on
-- job_id descending.
SELECT job_id FROM jobtrack.get_all_jobs_optimized(10, 'v2') WITH ORDINALITY ORDER BY ordinality;
-- After the last job: an empty page, not an error.
SELECT count(*) FROM jobtrack.get_all_jobs_optimized(10, 'v1');
SELECT count(*) FROM jobtrack.get_running_jobs(10, (SELECT job_id FROM jobtrack.get_running_jobs() WITH ORDINALITY ORDER BY ordinality DESC LIMIT 1));
