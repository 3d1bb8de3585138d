-- update_execution_status, update_variation_status, update_progress,
-- batch_update_execution_status, batch_update_variation_status: the effects
-- of a status change, good and bad input.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jobtrack;
RESET client_min_messages;
CREATE EXTENSION jobtrack;

SELECT jobtrack.batch_create_executions('[
  {"job_id": "e1", "pipeline_mode": "single", "dataset_name": "d", "preset": "p", "total_steps": 10},
  {"job_id": "e2", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"},
  {"job_id": "e3", "pipeline_mode": "single", "dataset_name": "d", "preset": "p"}]');
SELECT jobtrack.batch_create_variations('[
  {"job_id": "v1", "variation_id": "a", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2},
  {"job_id": "v2", "variation_id": "b", "experiment_name": "s", "dataset_name": "d", "preset": "p", "total_combinations": 2}]');

-- The state of a job, clock values as booleans.
CREATE FUNCTION pg_temp.state(id text)
RETURNS TABLE (status text, started boolean, ended boolean, has_duration boolean,
               duration_matches boolean, success boolean, error_message text, current_step integer)
LANGUAGE sql AS $$
    SELECT status, start_time IS NOT NULL, end_time IS NOT NULL, duration_seconds IS NOT NULL,
           duration_seconds IS NULL
           OR duration_seconds = EXTRACT(EPOCH FROM end_time - start_time)::double precision,
           success, error_message, current_step
    FROM jobtrack.executions WHERE job_id = id
    UNION ALL
    SELECT status, start_time IS NOT NULL, end_time IS NOT NULL, duration_seconds IS NOT NULL,
           duration_seconds IS NULL
           OR duration_seconds = EXTRACT(EPOCH FROM end_time - start_time)::double precision,
           success, error_message, current_step
    FROM jobtrack.variations WHERE job_id = id
$$;

-- Entering training starts the clock.
SELECT jobtrack.update_execution_status('e1', 'training');
SELECT * FROM pg_temp.state('e1');
CREATE TEMP TABLE started AS SELECT start_time FROM jobtrack.executions WHERE job_id = 'e1';
-- Entering training again keeps the first start_time.
SELECT jobtrack.update_execution_status('e1', 'training');
SELECT e.start_time = s.start_time AS start_kept FROM jobtrack.executions AS e, started AS s WHERE e.job_id = 'e1';
SELECT jobtrack.update_progress('e1', 5);
-- Entering failed: end_time, duration = end - start, success false, message.
SELECT jobtrack.update_execution_status('e1', 'failed', 'CUDA out of memory');
SELECT * FROM pg_temp.state('e1');
SELECT updated_at >= created_at AS updated FROM jobtrack.executions WHERE job_id = 'e1';
-- Back to an active status: end, duration and success cleared, message kept.
SELECT jobtrack.update_execution_status('e1', 'in_queue');
SELECT * FROM pg_temp.state('e1');
-- completed = done: success true, the message cleared even when one is given.
SELECT jobtrack.update_execution_status('e1', 'completed', 'ignored on done');
SELECT * FROM pg_temp.state('e1');
-- cancelled: success null, duration kept from the start.
SELECT jobtrack.update_execution_status('e1', 'cancelled', 'by user');
SELECT * FROM pg_temp.state('e1');
-- Terminal without a start: no duration.
SELECT jobtrack.update_execution_status('e2', 'done');
SELECT * FROM pg_temp.state('e2');
-- Any status may follow any status.
SELECT jobtrack.update_execution_status('e2', 'pending');
SELECT * FROM pg_temp.state('e2');

-- Unknown ids and the wrong kind: false, nothing changed.
SELECT jobtrack.update_execution_status('ghost', 'done');
SELECT jobtrack.update_variation_status('e3', 'done');
SELECT jobtrack.update_execution_status('v1', 'done');
SELECT jobtrack.update_progress('ghost', 3);
SELECT * FROM pg_temp.state('e3');

-- Variations follow the same rules.
SELECT jobtrack.update_variation_status('v1', 'training');
SELECT jobtrack.update_progress('v1', 1);
SELECT jobtrack.update_variation_status('v1', 'done');
SELECT * FROM pg_temp.state('v1');

-- Bad input.
SELECT jobtrack.update_execution_status('e3', 'finished');
SELECT jobtrack.update_execution_status('e3', 'DONE');
SELECT jobtrack.update_execution_status(NULL, 'done');
SELECT jobtrack.update_execution_status('e3', NULL);
SELECT jobtrack.update_variation_status(repeat('x', 65), 'done');
SELECT jobtrack.update_progress('e3', -1);
SELECT jobtrack.update_progress('e3', NULL) IS NULL AS strict;
SELECT * FROM pg_temp.state('e3');

-- Batches: unknown ids skipped and not counted; the later element wins.
SELECT jobtrack.batch_update_execution_status('[
  {"job_id": "e3", "status": "training"},
  {"job_id": "ghost", "status": "done"},
  {"job_id": "e2", "status": "failed", "error_message": "boom"},
  {"job_id": "e3", "status": "completed"}]');
SELECT * FROM pg_temp.state('e2');
SELECT * FROM pg_temp.state('e3');
SELECT jobtrack.batch_update_variation_status('[
  {"job_id": "v2", "status": "training"},
  {"job_id": "e3", "status": "done"}]');
SELECT * FROM pg_temp.state('v2');
SELECT jobtrack.batch_update_execution_status('[]');
SELECT jobtrack.batch_update_execution_status(NULL) IS NULL AS strict;

-- A bad element anywhere: 22023 naming it, nothing of the batch applied.
SELECT jobtrack.batch_update_execution_status('[
  {"job_id": "e2", "status": "training"},
  {"job_id": "e3", "status": "finished"}]');
SELECT jobtrack.batch_update_execution_status('[{"job_id": "e2", "status": "training"}, {"status": "done"}]');
SELECT jobtrack.batch_update_execution_status('[{"job_id": "e2", "status": "training", "error": "x"}]');
SELECT jobtrack.batch_update_execution_status('[{"job_id": "e2", "status": "training", "error_message": 5}]');
SELECT jobtrack.batch_update_execution_status('[{"job_id": "e2", "status": 1}]');
SELECT jobtrack.batch_update_execution_status('{"job_id": "e2", "status": "training"}');
SELECT jobtrack.batch_update_variation_status('[{"job_id": "v2", "status": "done"}, null]');
SELECT * FROM pg_temp.state('e2');
SELECT * FROM pg_temp.state('v2');

-- The summary table followed every change.
SELECT s.job_id, s.status, s.success, s.duration_seconds IS NOT DISTINCT FROM j.duration_seconds AS duration_mirrored
FROM jobtrack.job_summary_cache AS s
JOIN (SELECT job_id, duration_seconds FROM jobtrack.executions
      UNION ALL SELECT job_id, duration_seconds FROM jobtrack.variations) AS j USING (job_id)
ORDER BY s.job_id;
