-- update_progress($1 job_id, $2 current_step): either kind, one statement.
-- A progress report is a sign of life too: it records a heartbeat, never
-- moving last_heartbeat back (heartbeat.sql says why).
WITH e AS (
    UPDATE jobtrack.executions
    SET current_step = $2, updated_at = statement_timestamp(),
        last_heartbeat = GREATEST(last_heartbeat, statement_timestamp())
    WHERE job_id = $1
    RETURNING 1
), v AS (
    UPDATE jobtrack.variations
    SET current_step = $2, updated_at = statement_timestamp(),
        last_heartbeat = GREATEST(last_heartbeat, statement_timestamp())
    WHERE job_id = $1
    RETURNING 1
)
SELECT (SELECT count(*) FROM e) + (SELECT count(*) FROM v)
