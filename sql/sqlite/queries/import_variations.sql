-- import_jobs: one whole variation as export_jobs returned it, every column
-- as given, as import_executions.sql does for an execution (its mode is
-- always 'variations', which the table does not store).
-- ?1 job_id, ?2 status, ?3 variation_id, ?4 experiment_name,
-- ?5 dataset_name, ?6 preset, ?7 total_combinations, ?8 varied_parameters,
-- ?9 parameter_values, ?10 parent_experiment_id, ?11 total_steps,
-- ?12 current_step, ?13 start_time, ?14 end_time, ?15 duration_seconds,
-- ?16 success, ?17 error_message, ?18 output_path, ?19 created_at,
-- ?20 updated_at, ?21 worker, ?22 last_heartbeat.
INSERT INTO variations (job_id, status, variation_id, experiment_name, dataset_name, preset,
                        total_combinations, varied_parameters, parameter_values,
                        parent_experiment_id, total_steps, current_step, start_time,
                        end_time, duration_seconds, success, error_message, output_path,
                        created_at, updated_at, worker, last_heartbeat)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
        ?19, ?20, ?21, ?22)
