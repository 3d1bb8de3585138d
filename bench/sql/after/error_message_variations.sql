-- AFTER, plain SQL (PostgreSQL): one UPDATE per distinct error message of
-- the batch ($1), for the ids that carry it ($2, text[]); same transaction
-- as update_status_variations.sql.
UPDATE variations SET error_message = $1 WHERE job_id = ANY($2);
