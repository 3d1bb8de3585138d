-- refresh_job_cache(), first: SHARE ROW EXCLUSIVE locks keep writers out
-- (readers go on) so that the rebuild is exact, and — unlike SHARE, which
-- does not conflict with itself — keep a second refresh out too: two
-- rebuilds interleaved would each delete the old rows and insert new ones,
-- and the second insert would hit the summary's primary key. A call of its
-- own, before refresh_job_cache.sql: a snapshot taken before the lock was granted
-- would miss what writers committed while it waited.
LOCK TABLE jobtrack.executions, jobtrack.variations IN SHARE ROW EXCLUSIVE MODE
