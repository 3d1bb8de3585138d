-- BEFORE: one new variation per INSERT, each in its own (autocommit)
-- transaction. $8 and $9 are JSON objects (jsonb in PostgreSQL, text in
-- SQLite).
INSERT INTO variations (job_id, status, variation_id, experiment_name, dataset_name, preset,
                        total_combinations, varied_parameters, parameter_values,
                        parent_experiment_id, total_steps)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);
