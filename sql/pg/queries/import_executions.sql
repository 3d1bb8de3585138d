-- import_jobs: the executions of the call, whole, as export_jobs returned
-- them. Every column is given (parallel arrays of the checked records) and
-- stored as it is: status, timestamps, success, duration, error, worker and
-- heartbeat stay what they were; nothing is stamped or derived, so an
-- import is a restore. One INSERT, in job_id order as every create, so that
-- concurrent writers take key locks in one order. The summary triggers
-- mirror and count the rows as for any insert.
INSERT INTO jobtrack.executions
    (job_id, status, pipeline_mode, dataset_name, preset, success, duration_seconds,
     error_message, output_path, total_steps, current_step, start_time, created_at,
     updated_at, last_heartbeat, end_time, worker)
SELECT u.job_id, u.status, u.pipeline_mode, u.dataset_name, u.preset, u.success,
       u.duration_seconds, u.error_message, u.output_path, u.total_steps, u.current_step,
       u.start_time, u.created_at, u.updated_at, u.last_heartbeat, u.end_time, u.worker
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[],
            $7::double precision[], $8::text[], $9::text[], $10::integer[], $11::integer[],
            $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[],
            $16::timestamptz[], $17::text[])
     AS u(job_id, status, pipeline_mode, dataset_name, preset, success,
          duration_seconds, error_message, output_path, total_steps, current_step,
          start_time, created_at, updated_at, last_heartbeat, end_time, worker)
ORDER BY u.job_id
