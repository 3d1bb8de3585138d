-- claim_next_jobs, step 3: the worker recorded on the claimed executions
-- ($1) and variations ($2), rows this transaction has locked and just
-- moved to in_queue. worker is in no index and no derived table: the
-- summary triggers find nothing to change.
WITH e AS (
    UPDATE jobtrack.executions AS x
    SET worker = $3
    WHERE x.job_id = ANY ($1::text[])
    RETURNING 1
), v AS (
    UPDATE jobtrack.variations AS x
    SET worker = $3
    WHERE x.job_id = ANY ($2::text[])
    RETURNING 1
)
SELECT (SELECT count(*) FROM e) + (SELECT count(*) FROM v)
