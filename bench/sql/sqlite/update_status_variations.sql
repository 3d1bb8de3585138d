-- SQLite, BEFORE and AFTER: one status change of one job of variations (the
-- dialect's version of before/update_status_variations.sql). BEFORE runs it once
-- per job in autocommit, AFTER for the whole batch in one transaction.
-- ?1 job_id, ?2 status, ?3 error_message (NULL keeps it).
UPDATE variations
SET status = ?2,
    updated_at = strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z',
    start_time = CASE WHEN ?2 = 'training'
                      THEN COALESCE(start_time, strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
                      ELSE start_time END,
    end_time = CASE WHEN ?2 IN ('done', 'failed', 'cancelled')
                    THEN strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z' END,
    duration_seconds = CASE WHEN ?2 IN ('done', 'failed', 'cancelled')
                            THEN round((julianday('now') - julianday(start_time)) * 86400.0, 6) END,
    success = CASE ?2 WHEN 'done' THEN 1 WHEN 'failed' THEN 0 END,
    error_message = CASE WHEN ?2 = 'done' THEN NULL ELSE COALESCE(?3, error_message) END
WHERE job_id = ?1;
