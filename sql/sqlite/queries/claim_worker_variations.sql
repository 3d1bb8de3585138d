-- claim_next_jobs, step 3: ?2 recorded as the worker of the claimed
-- variations, ?1 a JSON array of their job_ids. Run with the UPDATE
-- triggers standing aside (status.rs): worker is in no index, no view and
-- no derived table, so there is nothing for them to keep.
UPDATE variations
SET worker = ?2
WHERE job_id IN (SELECT value FROM json_each(?1))
