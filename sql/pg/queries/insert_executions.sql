-- batch_create_executions / create_execution: one INSERT of the validated,
-- normalised batch (parallel arrays), in job_id order so that concurrent
-- batches take key locks in one order. Status effects of the initial status
-- come precomputed from jobtrack-core.
INSERT INTO jobtrack.executions
    (job_id, status, pipeline_mode, dataset_name, preset, total_steps,
     start_time, end_time, success, created_at, updated_at)
SELECT u.job_id, u.status, u.pipeline_mode, u.dataset_name, u.preset, u.total_steps,
       CASE WHEN u.starts_clock THEN statement_timestamp() END,
       CASE WHEN u.terminal THEN statement_timestamp() END,
       u.success, statement_timestamp(), statement_timestamp()
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[],
            $7::boolean[], $8::boolean[], $9::boolean[])
     AS u(job_id, status, pipeline_mode, dataset_name, preset, total_steps,
          starts_clock, terminal, success)
ORDER BY u.job_id
