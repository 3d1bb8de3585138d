-- import_jobs: the variations of the call, whole, every column as given
-- (see import_executions.sql). The parameters come as the text core
-- normalised (numbers as numeric prints them), cast to jsonb as for a new
-- variation. One INSERT, in job_id order.
INSERT INTO jobtrack.variations
    (job_id, status, variation_id, experiment_name, dataset_name, preset,
     total_combinations, varied_parameters, parameter_values, parent_experiment_id,
     success, duration_seconds, error_message, output_path, total_steps, current_step,
     start_time, created_at, updated_at, last_heartbeat, end_time, worker)
SELECT u.job_id, u.status, u.variation_id, u.experiment_name, u.dataset_name, u.preset,
       u.total_combinations, u.varied_parameters::jsonb, u.parameter_values::jsonb,
       u.parent_experiment_id, u.success, u.duration_seconds, u.error_message,
       u.output_path, u.total_steps, u.current_step, u.start_time, u.created_at,
       u.updated_at, u.last_heartbeat, u.end_time, u.worker
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::integer[], $8::text[], $9::text[], $10::text[], $11::boolean[],
            $12::double precision[], $13::text[], $14::text[], $15::integer[],
            $16::integer[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[],
            $20::timestamptz[], $21::timestamptz[], $22::text[])
     AS u(job_id, status, variation_id, experiment_name, dataset_name, preset,
          total_combinations, varied_parameters, parameter_values, parent_experiment_id,
          success, duration_seconds, error_message, output_path, total_steps, current_step,
          start_time, created_at, updated_at, last_heartbeat, end_time, worker)
ORDER BY u.job_id
