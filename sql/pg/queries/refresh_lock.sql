-- refresh_job_cache(), first: SHARE locks keep writers out (readers go on)
-- so that the rebuild is exact. A call of its own, before refresh.sql: SPI
-- runs the statements of one string under one snapshot, and a snapshot
-- taken before the lock was granted would miss what writers committed while
-- it waited (the DELETE would keep summary rows the INSERT then duplicates).
LOCK TABLE jobtrack.executions, jobtrack.variations IN SHARE MODE
