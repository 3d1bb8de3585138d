-- update_progress on executions: ?1 job_id, ?2 current_step, ?3 now. A
-- progress report is a heartbeat as well: last_heartbeat gets the same now
-- as updated_at.
UPDATE executions
SET current_step   = ?2,
    updated_at     = ?3,
    last_heartbeat = CASE WHEN last_heartbeat > ?3 THEN last_heartbeat ELSE ?3 END
WHERE job_id = ?1
