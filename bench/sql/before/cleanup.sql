-- BEFORE (PostgreSQL): cleanup as two DELETEs, each its own (autocommit)
-- transaction: terminal jobs older than $1 days, failed ones kept.
DELETE FROM executions
WHERE status IN ('done', 'cancelled')
  AND created_at < now() - make_interval(days => $1);
DELETE FROM variations
WHERE status IN ('done', 'cancelled')
  AND created_at < now() - make_interval(days => $1);
