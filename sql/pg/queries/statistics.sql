-- get_statistics_optimized(): per kind and status, the counts and duration
-- sums Statistics::from_counters needs, summed over datasets and shards from
-- the counters the summary triggers keep (schema.sql, job_counters). The
-- table holds at most one row per (dataset, kind, status, shard) that has
-- jobs, however many jobs there are: this is the whole cost of the
-- statistics.
SELECT c.job_type,
       c.status,
       sum(c.jobs)::bigint AS jobs,
       sum(c.successful)::bigint AS successful,
       sum(c.failed)::bigint AS failed,
       sum(c.duration_count)::bigint AS duration_count,
       sum(c.duration_micros_sum)::bigint AS duration_micros_sum
FROM jobtrack.job_counters AS c
GROUP BY c.job_type, c.status
