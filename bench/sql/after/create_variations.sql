-- AFTER, plain SQL (PostgreSQL): a whole batch of variations in one INSERT
-- from parallel arrays, one transaction.
INSERT INTO variations (job_id, status, variation_id, experiment_name, dataset_name, preset,
                        total_combinations, varied_parameters, parameter_values,
                        parent_experiment_id, total_steps)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::integer[], $8::jsonb[], $9::jsonb[], $10::text[], $11::integer[]);
