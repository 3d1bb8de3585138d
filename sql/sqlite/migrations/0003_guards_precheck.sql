-- Runs before 0003_guards.sql, which it stops (changing nothing) when it
-- returns a row: (SQLSTATE, problem) for each row of a version-2 file that
-- version 3 refuses. Such rows could be stored by plain SQL before version 3.
WITH stamps AS (
    SELECT 'execution' AS kind, job_id, 'start_time' AS column_name, start_time AS value FROM executions WHERE start_time IS NOT NULL
    UNION ALL
    SELECT 'execution' AS kind, job_id, 'end_time' AS column_name, end_time AS value FROM executions WHERE end_time IS NOT NULL
    UNION ALL
    SELECT 'execution' AS kind, job_id, 'created_at' AS column_name, created_at AS value FROM executions WHERE created_at IS NOT NULL
    UNION ALL
    SELECT 'execution' AS kind, job_id, 'updated_at' AS column_name, updated_at AS value FROM executions WHERE updated_at IS NOT NULL
    UNION ALL
    SELECT 'variation' AS kind, job_id, 'start_time' AS column_name, start_time AS value FROM variations WHERE start_time IS NOT NULL
    UNION ALL
    SELECT 'variation' AS kind, job_id, 'end_time' AS column_name, end_time AS value FROM variations WHERE end_time IS NOT NULL
    UNION ALL
    SELECT 'variation' AS kind, job_id, 'created_at' AS column_name, created_at AS value FROM variations WHERE created_at IS NOT NULL
    UNION ALL
    SELECT 'variation' AS kind, job_id, 'updated_at' AS column_name, updated_at AS value FROM variations WHERE updated_at IS NOT NULL
)
SELECT '23505', 'job_id ' || quote(e.job_id) || ' is both an execution and a variation'
FROM executions AS e JOIN variations AS v ON v.job_id = e.job_id
UNION ALL
SELECT '23514', kind || ' ' || quote(job_id) || ' has ' || column_name || ' = ' || quote(value)
       || ', not a time of the form YYYY-MM-DDTHH:MM:SS.ffffffZ in the years 1 to 9999'
FROM stamps
WHERE NOT (value GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
           AND value >= '0001'
           AND strftime('%Y-%m-%dT%H:%M:%S', unixepoch(substr(value, 1, 19)), 'unixepoch')
               IS substr(value, 1, 19))
UNION ALL
SELECT '22003', 'execution ' || quote(job_id) || ' has duration_seconds = ' || duration_seconds
       || ', beyond ±1e12'
FROM executions WHERE abs(duration_seconds) > 1e12
UNION ALL
SELECT '22003', 'variation ' || quote(job_id) || ' has duration_seconds = ' || duration_seconds
       || ', beyond ±1e12'
FROM variations WHERE abs(duration_seconds) > 1e12
