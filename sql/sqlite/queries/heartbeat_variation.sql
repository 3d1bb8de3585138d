-- heartbeat on variations: ?2 (now) recorded as the last_heartbeat of the
-- variation ?1 while it is active; a finished job has no process left to be
-- alive. The list is core's active statuses (core/tests/sql_value_lists.rs
-- holds it to them). Run with the UPDATE triggers standing aside
-- (status.rs): last_heartbeat is in no index and no derived table, and
-- updated_at, which the summary copies, stays as it is, so there is
-- nothing for them to keep.
UPDATE variations
-- Never back in time, as in PostgreSQL (a later time written by hand stays).
SET last_heartbeat = CASE WHEN last_heartbeat > ?2 THEN last_heartbeat ELSE ?2 END
WHERE job_id = ?1
  AND status IN ('pending', 'in_queue', 'preparing_dataset', 'configuring_preset',
                 'ready_for_training', 'training', 'generating_preview')
