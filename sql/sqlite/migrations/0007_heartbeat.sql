-- jobtrack schema, version 7, for SQLite: migrates a version-6 file.
--
-- Version 7 records when a job's process last showed it was alive
-- (heartbeat(), and update_progress(), which counts as one), so that
-- fail_stale_jobs() and get_stale_jobs() can tell the jobs whose worker
-- went away: a nullable column last_heartbeat on both base tables, last, as
-- ADD COLUMN puts it, a timestamp stored and CHECKed as the other
-- timestamp columns are (../schema.sql says why), in no index and no
-- derived table; and the view jobs, recreated with it as its last column,
-- as a Job row has it. Every existing row gets NULL (no heartbeat yet),
-- which the CHECK accepts, so no row can be refused and there is no
-- precheck. The result is exactly ../schema.sql, which a test checks.

ALTER TABLE executions ADD COLUMN last_heartbeat TEXT CONSTRAINT last_heartbeat_is_a_timestamp
    CHECK (last_heartbeat IS NULL
           OR (last_heartbeat GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
               AND last_heartbeat >= '0001'
               AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(last_heartbeat, 1, 19)), 'unixepoch')
                   IS substr(last_heartbeat, 1, 19)));
ALTER TABLE variations ADD COLUMN last_heartbeat TEXT CONSTRAINT last_heartbeat_is_a_timestamp
    CHECK (last_heartbeat IS NULL
           OR (last_heartbeat GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
               AND last_heartbeat >= '0001'
               AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(last_heartbeat, 1, 19)), 'unixepoch')
                   IS substr(last_heartbeat, 1, 19)));

DROP VIEW IF EXISTS jobs;
CREATE VIEW jobs AS
SELECT job_id, 'execution' AS job_type, status, dataset_name, preset,
       pipeline_mode AS mode, CAST(NULL AS TEXT) AS experiment_name,
       CAST(NULL AS TEXT) AS variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at, last_heartbeat
FROM executions
UNION ALL
SELECT job_id, 'variation', status, dataset_name, preset,
       CAST('variations' AS TEXT), experiment_name, variation_id,
       success, duration_seconds, error_message, output_path, total_steps,
       current_step, start_time, created_at, updated_at, last_heartbeat
FROM variations;
