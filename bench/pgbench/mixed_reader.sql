-- Mixed workload, reader: a dashboard polling the statistics.
SELECT jobtrack.get_statistics_cached();
