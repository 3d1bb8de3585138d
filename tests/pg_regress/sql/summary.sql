-- The summary table job_summary_cache stays exact under plain-SQL INSERT,
-- UPDATE, DELETE and TRUNCATE by any client, and refresh_job_cache()
-- rebuilds it.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

-- Rows in which the summary table and a full recount from the base tables
-- differ (0 = exact).
CREATE FUNCTION pg_temp.summary_diff() RETURNS bigint LANGUAGE sql AS $$
    WITH recount AS (
        SELECT job_id, 'execution' AS job_type, status, dataset_name, preset, start_time,
               duration_seconds, success, updated_at AS last_updated
        FROM jobtrack.executions
        UNION ALL
        SELECT job_id, 'variation', status, dataset_name, preset, start_time,
               duration_seconds, success, updated_at
        FROM jobtrack.variations
    ), summary AS (
        SELECT job_id, job_type, status, dataset_name, preset, start_time,
               duration_seconds, success, last_updated
        FROM jobtrack.job_summary_cache
    )
    SELECT count(*) FROM ((TABLE recount EXCEPT ALL TABLE summary)
                          UNION ALL
                          (TABLE summary EXCEPT ALL TABLE recount)) AS d
$$;

INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset, status)
VALUES ('p1', 'single', 'imagenet', 'big', 'training'),
       ('p2', 'batch', 'imagenet', 'big', 'pending'),
       ('p3', 'single', 'coco', 'small', 'done');
INSERT INTO jobtrack.variations (job_id, variation_id, experiment_name, dataset_name, preset,
                                 total_combinations, status)
VALUES ('pv1', 'a', 'exp', 'imagenet', 'big', 3, 'done'),
       ('pv2', 'b', 'exp', 'coco', 'big', 3, 'failed');
SELECT job_id, job_type, status, dataset_name FROM jobtrack.job_summary_cache ORDER BY job_id;
SELECT pg_temp.summary_diff();

UPDATE jobtrack.executions SET status = 'failed', success = false, duration_seconds = 12.5
WHERE dataset_name = 'imagenet';
UPDATE jobtrack.variations SET dataset_name = 'coco2', updated_at = now() + interval '1 hour';
SELECT job_id, status, dataset_name, success, duration_seconds FROM jobtrack.job_summary_cache ORDER BY job_id;
SELECT pg_temp.summary_diff();
-- An UPDATE that changes nothing the summary mirrors leaves it as it is.
UPDATE jobtrack.executions SET output_path = '/tmp/out', current_step = 1;
SELECT pg_temp.summary_diff();

-- A job_id changed with plain SQL moves its summary row.
UPDATE jobtrack.executions SET job_id = 'p1-renamed' WHERE job_id = 'p1';
UPDATE jobtrack.executions SET job_id = job_id || '-x' WHERE job_id IN ('p2', 'p3');
SELECT job_id, job_type FROM jobtrack.job_summary_cache ORDER BY job_id;
SELECT pg_temp.summary_diff();

-- job_id is unique across both kinds, for plain SQL too (the summary's
-- primary key); the failed statement leaves everything as it was.
INSERT INTO jobtrack.variations (job_id, variation_id, experiment_name, dataset_name, preset, total_combinations)
VALUES ('p1-renamed', 'z', 'exp', 'd', 'p', 1);
UPDATE jobtrack.variations SET job_id = 'p2-x' WHERE job_id = 'pv1';
SELECT pg_temp.summary_diff();

-- Rolled back writes leave no trace.
BEGIN;
INSERT INTO jobtrack.executions (job_id, pipeline_mode, dataset_name, preset) VALUES ('tx', 'single', 'd', 'p');
DELETE FROM jobtrack.variations;
SELECT count(*) AS inside FROM jobtrack.job_summary_cache;
ROLLBACK;
SELECT count(*) AS after_rollback FROM jobtrack.job_summary_cache;
SELECT pg_temp.summary_diff();

DELETE FROM jobtrack.executions WHERE job_id = 'p1-renamed';
SELECT job_id FROM jobtrack.job_summary_cache ORDER BY job_id;
SELECT pg_temp.summary_diff();

-- Writes through jobtrack and plain SQL mixed in one transaction.
BEGIN;
SELECT jobtrack.batch_create_executions('[{"job_id": "m1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}]');
UPDATE jobtrack.executions SET status = 'training' WHERE job_id = 'm1';
SELECT jobtrack.update_execution_status('m1', 'done');
COMMIT;
SELECT job_id, status, success FROM jobtrack.job_summary_cache WHERE job_id = 'm1';
SELECT pg_temp.summary_diff();

-- TRUNCATE (a statement-level trigger): only the truncated kind goes.
TRUNCATE jobtrack.executions;
SELECT job_id, job_type FROM jobtrack.job_summary_cache ORDER BY job_id;
SELECT pg_temp.summary_diff();
TRUNCATE jobtrack.executions, jobtrack.variations;
SELECT count(*) FROM jobtrack.job_summary_cache;

-- refresh_job_cache() rebuilds a damaged summary table.
SELECT jobtrack.batch_create_executions('[
  {"job_id": "r1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "r2", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}]');
SELECT jobtrack.create_variation('{"job_id": "r3", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 1}')->>'job_id';
DELETE FROM jobtrack.job_summary_cache WHERE job_id = 'r1';
UPDATE jobtrack.job_summary_cache SET status = 'failed' WHERE job_id = 'r2';
INSERT INTO jobtrack.job_summary_cache (job_id, job_type, status, dataset_name, preset, last_updated)
VALUES ('stray', 'execution', 'done', 'd', 'p', now());
SELECT pg_temp.summary_diff();
SELECT jobtrack.refresh_job_cache();
SELECT pg_temp.summary_diff();
SELECT job_id, job_type, status FROM jobtrack.job_summary_cache ORDER BY job_id;
