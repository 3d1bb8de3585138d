-- AFTER, plain SQL (PostgreSQL): a whole batch of executions in one INSERT
-- from parallel arrays, one transaction.
INSERT INTO executions (job_id, status, pipeline_mode, dataset_name, preset, total_steps)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[]);
