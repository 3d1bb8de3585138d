-- SQLite, BEFORE (autocommit each) and AFTER (one transaction): the two
-- cleanup DELETEs, terminal jobs older than $1 days, failed ones kept.
DELETE FROM executions
WHERE status IN ('done', 'cancelled')
  AND created_at < strftime('%Y-%m-%dT%H:%M:%f', 'now', '-' || $1 || ' days') || '000Z';
DELETE FROM variations
WHERE status IN ('done', 'cancelled')
  AND created_at < strftime('%Y-%m-%dT%H:%M:%f', 'now', '-' || $1 || ' days') || '000Z';
