-- ?1 job_id, ?2 status, ?3 pipeline_mode, ?4 dataset_name, ?5 preset,
-- ?6 total_steps, ?7 start_time, ?8 end_time, ?9 success, ?10 now.
INSERT INTO executions (job_id, status, pipeline_mode, dataset_name, preset, total_steps,
                        start_time, end_time, success, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
