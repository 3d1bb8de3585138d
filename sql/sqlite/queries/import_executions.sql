-- import_jobs: one whole execution as export_jobs returned it, every column
-- as given, nothing stamped or derived. A plain INSERT: the insert
-- triggers keep job_summary_cache and job_counters exact, as for a new job.
-- ?1 job_id, ?2 status, ?3 pipeline_mode, ?4 dataset_name, ?5 preset,
-- ?6 total_steps, ?7 current_step, ?8 start_time, ?9 end_time,
-- ?10 duration_seconds, ?11 success, ?12 error_message, ?13 output_path,
-- ?14 created_at, ?15 updated_at, ?16 worker, ?17 last_heartbeat.
INSERT INTO executions (job_id, status, pipeline_mode, dataset_name, preset, total_steps,
                        current_step, start_time, end_time, duration_seconds, success,
                        error_message, output_path, created_at, updated_at, worker,
                        last_heartbeat)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
