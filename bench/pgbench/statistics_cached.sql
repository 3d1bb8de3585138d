SELECT jobtrack.get_statistics_cached();
