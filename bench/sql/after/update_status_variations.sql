-- AFTER, plain SQL (PostgreSQL): the status changes of a batch grouped by
-- status, one UPDATE per status with the group's ids as an IN list ($2, a
-- text[]: PostgreSQL turns "job_id IN (a, b, …)" into "job_id = ANY(…)"
-- anyway), all in one transaction together with error_message.sql.
UPDATE variations
SET status = $1,
    updated_at = now(),
    start_time = CASE WHEN $1 = 'training' THEN COALESCE(start_time, now()) ELSE start_time END,
    end_time = CASE WHEN $1 IN ('done', 'failed', 'cancelled') THEN now() END,
    duration_seconds = CASE WHEN $1 IN ('done', 'failed', 'cancelled')
                            THEN EXTRACT(EPOCH FROM now() - start_time)::double precision END,
    success = CASE $1 WHEN 'done' THEN true WHEN 'failed' THEN false END,
    error_message = CASE WHEN $1 = 'done' THEN NULL ELSE error_message END
WHERE job_id = ANY($2);
