SELECT jobtrack.get_statistics_optimized();
