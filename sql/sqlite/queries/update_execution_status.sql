-- update_execution_status and batch_update_execution_status, one job per
-- execution: ?1 job_id, ?2 status, ?3 error_message or NULL, ?4 now, and
-- the effects of the new status from jobtrack-core (Status::effects):
-- ?5 starts_clock, ?6 terminal, ?7 success, ?8 clears_error_message. SET
-- expressions see the row as it was, so start_time below is the old one.
-- The duration is computed in whole microseconds, then scaled, exactly as
-- Timestamp::seconds_since does. unixepoch() sees only the whole seconds:
-- SQLite's date functions round the fraction to milliseconds, which would
-- turn .999999 into the next second.
UPDATE executions
SET status           = ?2,
    updated_at       = ?4,
    start_time       = CASE WHEN ?5 THEN coalesce(start_time, ?4) ELSE start_time END,
    end_time         = CASE WHEN ?6 THEN ?4 END,
    duration_seconds = CASE WHEN ?6 AND start_time IS NOT NULL
                            THEN ((unixepoch(substr(?4, 1, 19)) - unixepoch(substr(start_time, 1, 19))) * 1000000
                                  + (CAST(substr(?4, 21, 6) AS INTEGER)
                                     - CAST(substr(start_time, 21, 6) AS INTEGER))) / 1e6
                            END,
    success          = ?7,
    error_message    = CASE WHEN ?8 THEN NULL ELSE coalesce(?3, error_message) END
WHERE job_id = ?1
