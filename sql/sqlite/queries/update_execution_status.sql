-- update_execution_status: ?1 job_id, ?2 status (canonical spelling),
-- ?3 error_message or NULL, ?4 now. The effects of the contract; SET
-- expressions see the row as it was, so start_time below is the old one.
-- The duration is computed in whole microseconds, then scaled, exactly as
-- Timestamp::seconds_since does. unixepoch() sees only the whole seconds:
-- SQLite's date functions round the fraction to milliseconds, which would
-- turn .999999 into the next second.
UPDATE executions
SET status           = ?2,
    updated_at       = ?4,
    start_time       = CASE WHEN ?2 = 'training' THEN coalesce(start_time, ?4)
                            ELSE start_time END,
    end_time         = CASE WHEN ?2 IN ('done', 'failed', 'cancelled') THEN ?4 END,
    duration_seconds = CASE WHEN ?2 IN ('done', 'failed', 'cancelled') AND start_time IS NOT NULL
                            THEN ((unixepoch(substr(?4, 1, 19)) - unixepoch(substr(start_time, 1, 19))) * 1000000
                                  + (CAST(substr(?4, 21, 6) AS INTEGER)
                                     - CAST(substr(start_time, 21, 6) AS INTEGER))) / 1e6
                            END,
    success          = CASE ?2 WHEN 'done' THEN 1 WHEN 'failed' THEN 0 END,
    error_message    = CASE WHEN ?2 = 'done' THEN NULL
                            ELSE coalesce(?3, error_message) END
WHERE job_id = ?1
