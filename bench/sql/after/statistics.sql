-- AFTER, plain SQL: the statistics as two aggregate queries, one scan of
-- each base table, counting every status with CASE. Shared by PostgreSQL
-- (search_path = jobtrack) and SQLite.
SELECT count(*),
       count(CASE WHEN status = 'pending' THEN 1 END),
       count(CASE WHEN status = 'in_queue' THEN 1 END),
       count(CASE WHEN status = 'preparing_dataset' THEN 1 END),
       count(CASE WHEN status = 'configuring_preset' THEN 1 END),
       count(CASE WHEN status = 'ready_for_training' THEN 1 END),
       count(CASE WHEN status = 'training' THEN 1 END),
       count(CASE WHEN status = 'generating_preview' THEN 1 END),
       count(CASE WHEN status = 'done' THEN 1 END),
       count(CASE WHEN status = 'failed' THEN 1 END),
       count(CASE WHEN status = 'cancelled' THEN 1 END),
       count(CASE WHEN success = true THEN 1 END),
       count(CASE WHEN success = false THEN 1 END),
       avg(duration_seconds)
FROM executions;
SELECT count(*),
       count(CASE WHEN status = 'pending' THEN 1 END),
       count(CASE WHEN status = 'in_queue' THEN 1 END),
       count(CASE WHEN status = 'preparing_dataset' THEN 1 END),
       count(CASE WHEN status = 'configuring_preset' THEN 1 END),
       count(CASE WHEN status = 'ready_for_training' THEN 1 END),
       count(CASE WHEN status = 'training' THEN 1 END),
       count(CASE WHEN status = 'generating_preview' THEN 1 END),
       count(CASE WHEN status = 'done' THEN 1 END),
       count(CASE WHEN status = 'failed' THEN 1 END),
       count(CASE WHEN status = 'cancelled' THEN 1 END),
       count(CASE WHEN success = true THEN 1 END),
       count(CASE WHEN success = false THEN 1 END),
       avg(duration_seconds)
FROM variations;
