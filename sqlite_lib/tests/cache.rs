//! The result cache: hits, TTLs, invalidation, statistics.

mod common;

use std::time::Duration;

use common::*;
use jobtrack_sqlite::{JobStore, JobStoreOptions, Status};

#[test]
fn own_writes_invalidate_at_commit() {
    let store = JobStore::open_in_memory().unwrap();
    assert_eq!(store.get_statistics_cached().unwrap().total_jobs, 0);
    assert_eq!(store.get_statistics_cached().unwrap().total_jobs, 0);
    let s = store.get_cache_stats();
    assert_eq!((s.hits, s.misses, s.size, s.shared), (1, 1, 1, true));
    store.create_execution(&exec("a")).unwrap();
    assert_eq!(store.get_cache_stats().size, 0);
    assert_eq!(store.get_statistics_cached().unwrap().total_jobs, 1);
    store
        .update_execution_status("a", Status::Done, None)
        .unwrap();
    assert_eq!(store.get_statistics_cached().unwrap().total_successful, 1);
    // A failed write changes nothing and keeps the entry.
    store.create_execution(&exec("a")).unwrap_err();
    let hits = store.get_cache_stats().hits;
    assert_eq!(store.get_statistics_cached().unwrap().total_successful, 1);
    assert_eq!(store.get_cache_stats().hits, hits + 1);
    let s = store.get_cache_stats();
    assert_eq!(s.total_requests, s.hits + s.misses);
    assert!((s.hit_rate - 100.0 * s.hits as f64 / s.total_requests as f64).abs() < 1e-9);
}

#[test]
fn entries_expire_after_their_ttl() {
    let options = JobStoreOptions {
        statistics_ttl: Duration::from_millis(500),
        recent_jobs_ttl: Duration::from_secs(60),
        ..JobStoreOptions::default()
    };
    let (_dir, store) = file_store_with(options);
    store.get_statistics_cached().unwrap();
    store.get_recent_jobs_cached(3).unwrap();
    store.get_statistics_cached().unwrap();
    assert_eq!(store.get_cache_stats().hits, 1);
    std::thread::sleep(Duration::from_millis(700));
    store.get_statistics_cached().unwrap();
    store.get_recent_jobs_cached(3).unwrap();
    let s = store.get_cache_stats();
    // Statistics expired (a miss), recent jobs did not (a hit).
    assert_eq!((s.hits, s.misses), (2, 3));
}

#[test]
fn invalidate_by_pattern() {
    let store = JobStore::open_in_memory().unwrap();
    store.get_statistics_cached().unwrap();
    store.get_dataset_stats_cached("mnist").unwrap();
    store.get_dataset_stats_cached("cifar").unwrap();
    store.get_recent_jobs_cached(5).unwrap();
    store.get_recent_jobs_cached(10).unwrap();
    assert_eq!(store.get_cache_stats().size, 5);
    assert_eq!(store.invalidate_cache(Some("dataset_stats:mni")), 1);
    assert_eq!(store.invalidate_cache(Some("recent_jobs")), 2);
    assert_eq!(store.invalidate_cache(Some("no such key")), 0);
    let s = store.get_cache_stats();
    assert_eq!((s.size, s.invalidations), (2, 3));
    // Only the dropped entries are computed again.
    let misses = s.misses;
    store.get_dataset_stats_cached("cifar").unwrap();
    store.get_dataset_stats_cached("mnist").unwrap();
    assert_eq!(store.get_cache_stats().misses, misses + 1);
    assert_eq!(store.invalidate_cache(None), 3);
    assert_eq!(store.get_cache_stats().size, 0);
}

#[test]
fn capacity_bounds_the_cache() {
    let options = JobStoreOptions {
        cache_capacity: 3,
        ..JobStoreOptions::default()
    };
    let (_dir, store) = file_store_with(options);
    for name in ["a", "b", "c", "d", "e"] {
        store.get_dataset_stats_cached(name).unwrap();
    }
    let s = store.get_cache_stats();
    assert_eq!((s.size, s.capacity, s.evictions), (3, 3, 2));
}

#[test]
fn disabled_cache_computes_every_call() {
    let options = JobStoreOptions {
        cache_enabled: false,
        ..JobStoreOptions::default()
    };
    let (_dir, store) = file_store_with(options);
    store.create_execution(&exec("a")).unwrap();
    for _ in 0..3 {
        assert_eq!(store.get_statistics_cached().unwrap().total_jobs, 1);
    }
    let s = store.get_cache_stats();
    assert_eq!((s.hits, s.misses, s.size, s.shared), (0, 3, 0, false));
}

#[test]
fn cached_equals_uncached_after_every_kind_of_write() {
    let (_dir, store) = file_store();
    let check = |store: &JobStore| {
        assert_eq!(
            store.get_statistics_cached().unwrap(),
            store.get_statistics_optimized().unwrap()
        );
        assert_eq!(
            store.get_dataset_stats_cached("mnist").unwrap(),
            store.get_dataset_stats_optimized("mnist").unwrap()
        );
        assert_eq!(
            store.get_recent_jobs_cached(3).unwrap(),
            store.get_recent_jobs_optimized(3).unwrap()
        );
    };
    check(&store);
    store
        .batch_create_executions(&[exec("a"), exec("b")])
        .unwrap();
    check(&store);
    store.batch_create_variations(&[var("v")]).unwrap();
    check(&store);
    store.update_progress("v", 2).unwrap();
    check(&store);
    store
        .batch_update_variation_status(&[upd("v", Status::Done)])
        .unwrap();
    check(&store);
    store.cleanup_old_jobs(0, false).unwrap();
    check(&store);
    store.refresh_job_cache().unwrap();
    check(&store);
}
