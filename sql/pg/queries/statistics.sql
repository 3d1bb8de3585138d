-- get_statistics_optimized(): per kind and status, the counts and duration
-- sums Statistics::from_counters needs, summed over datasets and delta rows
-- from the counters the summary triggers keep (schema.sql, job_counters).
-- The table holds a handful of rows per (dataset, kind, status) that has
-- jobs, however many jobs there are (the triggers fold them): this is the
-- whole cost of the statistics. A key whose rows add up to nothing has no
-- jobs and is left out, as if its rows were already folded away.
SELECT c.job_type,
       c.status,
       sum(c.jobs)::bigint AS jobs,
       sum(c.successful)::bigint AS successful,
       sum(c.failed)::bigint AS failed,
       sum(c.duration_count)::bigint AS duration_count,
       sum(c.duration_micros_sum)::bigint AS duration_micros_sum
FROM jobtrack.job_counters AS c
GROUP BY c.job_type, c.status
HAVING (sum(c.jobs), sum(c.successful), sum(c.failed), sum(c.duration_count),
        sum(c.duration_micros_sum)) <> (0, 0, 0, 0, 0)
