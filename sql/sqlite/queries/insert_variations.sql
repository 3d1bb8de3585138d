-- ?1 job_id, ?2 status, ?3 variation_id, ?4 experiment_name, ?5 dataset_name,
-- ?6 preset, ?7 total_combinations, ?8 varied_parameters, ?9 parameter_values,
-- ?10 parent_experiment_id, ?11 total_steps, ?12 start_time, ?13 end_time,
-- ?14 success, ?15 now.
INSERT INTO variations (job_id, status, variation_id, experiment_name, dataset_name, preset,
                        total_combinations, varied_parameters, parameter_values,
                        parent_experiment_id, total_steps, start_time, end_time, success,
                        created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)
