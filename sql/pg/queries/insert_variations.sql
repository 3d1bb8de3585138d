-- batch_create_variations / create_variation: one INSERT of the validated,
-- normalised batch (parallel arrays), in job_id order.
INSERT INTO jobtrack.variations
    (job_id, status, variation_id, experiment_name, dataset_name, preset,
     total_combinations, varied_parameters, parameter_values, parent_experiment_id,
     total_steps, start_time, end_time, success, created_at, updated_at)
SELECT u.job_id, u.status, u.variation_id, u.experiment_name, u.dataset_name, u.preset,
       u.total_combinations, u.varied_parameters::jsonb, u.parameter_values::jsonb,
       u.parent_experiment_id, u.total_steps,
       CASE WHEN u.starts_clock THEN statement_timestamp() END,
       CASE WHEN u.terminal THEN statement_timestamp() END,
       u.success, statement_timestamp(), statement_timestamp()
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::integer[], $8::text[], $9::text[], $10::text[], $11::integer[],
            $12::boolean[], $13::boolean[], $14::boolean[])
     AS u(job_id, status, variation_id, experiment_name, dataset_name, preset,
          total_combinations, varied_parameters, parameter_values, parent_experiment_id,
          total_steps, starts_clock, terminal, success)
ORDER BY u.job_id
