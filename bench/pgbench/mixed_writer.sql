-- Mixed workload, writer: a scheduler reporting a batch of 100 status
-- changes of executions (ids exec-00000000 … from the bench's dataset; -D
-- executions=N gives their number), 80 % done, 20 % failed.
\set first random(0, :executions - 1)
SELECT jobtrack.batch_update_execution_status(
    (SELECT jsonb_agg(jsonb_build_object(
                'job_id', 'exec-' || lpad(((:first + g) % :executions)::text, 8, '0'),
                'status', CASE WHEN g % 5 = 0 THEN 'failed' ELSE 'done' END))
     FROM generate_series(0, 99) AS g));
