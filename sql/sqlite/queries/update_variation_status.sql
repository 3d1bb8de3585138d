-- update_variation_status and batch_update_variation_status: every change in
-- temp.job_status_change (status_change_add.sql) applied to the variations
-- of those job_ids, in one statement; ?1 now. Each job's SET values come
-- from its change through one row-value subquery (evaluated once per
-- row), and the IN list drives primary-key seeks. SET expressions see the
-- row as it was, so start_time below is the old one. The duration is
-- computed in whole microseconds, then scaled, exactly as
-- Timestamp::seconds_since does. unixepoch() sees only the whole seconds:
-- SQLite's date functions round the fraction to milliseconds, which would
-- turn .999999 into the next second.
UPDATE variations
SET (status, updated_at, start_time, end_time, duration_seconds, success, error_message) = (
    SELECT c.status,
           ?1,
           CASE WHEN c.starts_clock THEN coalesce(variations.start_time, ?1) ELSE variations.start_time END,
           CASE WHEN c.terminal THEN ?1 END,
           CASE WHEN c.terminal AND variations.start_time IS NOT NULL
                THEN ((unixepoch(substr(?1, 1, 19)) - unixepoch(substr(variations.start_time, 1, 19))) * 1000000
                      + (CAST(substr(?1, 21, 6) AS INTEGER)
                         - CAST(substr(variations.start_time, 21, 6) AS INTEGER))) / 1e6
                END,
           c.success,
           CASE WHEN c.clears_error_message THEN NULL ELSE coalesce(c.error_message, variations.error_message) END
    FROM temp.job_status_change AS c
    WHERE c.job_id = variations.job_id
)
WHERE job_id IN (SELECT job_id FROM temp.job_status_change)
