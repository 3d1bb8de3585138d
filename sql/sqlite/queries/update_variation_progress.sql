-- update_progress on variations: ?1 job_id, ?2 current_step, ?3 now.
UPDATE variations
SET current_step = ?2,
    updated_at   = ?3
WHERE job_id = ?1
