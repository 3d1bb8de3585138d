//! The result cache of the `*_cached` functions: bounded (LRU), with a TTL
//! per entry, and exact.
//!
//! Exactness rests on three rules:
//!
//! 1. Every commit through this store drops all entries and bumps the
//!    generation before the writer connection is released.
//! 2. Commits by anyone else (another `JobStore`, another process, plain SQL)
//!    are detected at each cached read, before the lookup, with
//!    `PRAGMA data_version` on a dedicated connection: its value changes
//!    whenever a connection other than itself commits. A change drops all
//!    entries and bumps the generation.
//! 3. A result is stored only if the generation it was computed under (read
//!    before its snapshot began) is still current. A commit that the snapshot
//!    missed therefore either bumped the generation before the store (no
//!    store) or will drop the entry when it is noticed — at the latest at the
//!    next read's check, which precedes its lookup.
//!
//! Every entry depends on every job (statistics and recent jobs do; a dataset
//! or experiment entry depends on each job's dataset or experiment, which
//! plain SQL may change), so a commit drops all entries rather than guessing
//! which survive.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jobtrack_core::{CacheStats, DatasetStats, ExperimentStats, Job, Result, Statistics};
use lru::LruCache;
use rusqlite::Connection;

use crate::error::DbResultExt;
use crate::pool::lock;

/// Changes whenever a connection other than the one asking commits.
const DATA_VERSION: &str = "PRAGMA data_version";

/// A cached result.
#[derive(Debug, Clone)]
pub(crate) enum CachedValue {
    Statistics(Statistics),
    DatasetStats(DatasetStats),
    ExperimentStats(ExperimentStats),
    Jobs(Vec<Job>),
}

/// Converts a result type to and from [`CachedValue`].
pub(crate) trait Cacheable: Sized + Clone {
    fn into_cached(self) -> CachedValue;
    fn from_cached(value: &CachedValue) -> Option<Self>;
}

impl Cacheable for Statistics {
    fn into_cached(self) -> CachedValue {
        CachedValue::Statistics(self)
    }
    fn from_cached(value: &CachedValue) -> Option<Self> {
        match value {
            CachedValue::Statistics(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl Cacheable for DatasetStats {
    fn into_cached(self) -> CachedValue {
        CachedValue::DatasetStats(self)
    }
    fn from_cached(value: &CachedValue) -> Option<Self> {
        match value {
            CachedValue::DatasetStats(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl Cacheable for ExperimentStats {
    fn into_cached(self) -> CachedValue {
        CachedValue::ExperimentStats(self)
    }
    fn from_cached(value: &CachedValue) -> Option<Self> {
        match value {
            CachedValue::ExperimentStats(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl Cacheable for Vec<Job> {
    fn into_cached(self) -> CachedValue {
        CachedValue::Jobs(self)
    }
    fn from_cached(value: &CachedValue) -> Option<Self> {
        match value {
            CachedValue::Jobs(j) => Some(j.clone()),
            _ => None,
        }
    }
}

struct Entry {
    value: CachedValue,
    expires_at: Instant,
}

struct State {
    /// `None` when the cache is disabled.
    entries: Option<LruCache<String, Entry>>,
    generation: u64,
    /// Watches for other connections' commits; `None` for an in-memory
    /// store, whose database no other connection can reach.
    monitor: Option<Connection>,
    data_version: i64,
    hits: u64,
    misses: u64,
    evictions: u64,
    invalidations: u64,
}

impl State {
    fn drop_all(&mut self) {
        self.generation += 1;
        if let Some(entries) = &mut self.entries {
            self.invalidations += entries.len() as u64;
            entries.clear();
        }
    }

    /// Rule 2: notices commits by other connections.
    fn check_external_commits(&mut self) -> Result<()> {
        let Some(monitor) = &self.monitor else {
            return Ok(());
        };
        // A kept statement: preparing the pragma anew would cost more
        // than the whole rest of a hit.
        let version: i64 = monitor
            .prepare_cached(DATA_VERSION)
            .db()?
            .query_row([], |row| row.get(0))
            .db()?;
        if version != self.data_version {
            self.data_version = version;
            self.drop_all();
        }
        Ok(())
    }
}

/// What a lookup found.
pub(crate) enum Lookup<T> {
    /// A current entry.
    Hit(T),
    /// No entry; compute, then [`ResultCache::store`] with this generation.
    Miss(u64),
    /// The cache is off; compute and do not store.
    Disabled,
}

pub(crate) struct ResultCache {
    state: Mutex<State>,
    capacity: usize,
}

impl ResultCache {
    /// A cache of `capacity` entries (0 or `enabled == false`: off).
    pub(crate) fn new(enabled: bool, capacity: usize, monitor: Option<Connection>) -> Result<Self> {
        let entries = NonZeroUsize::new(capacity)
            .filter(|_| enabled)
            .map(LruCache::new);
        let capacity = if entries.is_some() { capacity } else { 0 };
        let monitor = if entries.is_some() { monitor } else { None };
        let data_version = match &monitor {
            Some(m) => m
                .pragma_query_value(None, "data_version", |row| row.get(0))
                .db()?,
            None => 0,
        };
        Ok(ResultCache {
            state: Mutex::new(State {
                entries,
                generation: 0,
                monitor,
                data_version,
                hits: 0,
                misses: 0,
                evictions: 0,
                invalidations: 0,
            }),
            capacity,
        })
    }

    /// Looks `key` up after checking for other connections' commits.
    pub(crate) fn lookup<T: Cacheable>(&self, key: &str) -> Result<Lookup<T>> {
        let mut state = lock(&self.state);
        if state.entries.is_none() {
            state.misses += 1;
            return Ok(Lookup::Disabled);
        }
        state.check_external_commits()?;
        let generation = state.generation;
        let entries = state.entries.as_mut().expect("enabled");
        let found = match entries.get(key) {
            Some(entry) if entry.expires_at > Instant::now() => T::from_cached(&entry.value),
            Some(_) => {
                // Expired: neither an eviction nor an invalidation.
                entries.pop(key);
                None
            }
            None => None,
        };
        match found {
            Some(value) => {
                state.hits += 1;
                Ok(Lookup::Hit(value))
            }
            None => {
                state.misses += 1;
                Ok(Lookup::Miss(generation))
            }
        }
    }

    /// Rule 3: stores a result computed under `generation` if no commit has
    /// been seen since.
    pub(crate) fn store(&self, key: String, value: CachedValue, ttl: Duration, generation: u64) {
        let mut state = lock(&self.state);
        if state.generation != generation || ttl.is_zero() {
            return;
        }
        let Some(expires_at) = Instant::now().checked_add(ttl) else {
            return;
        };
        let entries = state
            .entries
            .as_mut()
            .expect("a generation implies enabled");
        let evicted = entries.push(key.clone(), Entry { value, expires_at });
        if matches!(evicted, Some((old_key, _)) if old_key != key) {
            state.evictions += 1;
        }
    }

    /// Rule 1: called after each commit of this store's writer.
    pub(crate) fn note_commit(&self) {
        lock(&self.state).drop_all();
    }

    /// Drops the entries whose key contains `pattern` (all for `None`).
    pub(crate) fn invalidate(&self, pattern: Option<&str>) -> i32 {
        let mut state = lock(&self.state);
        let Some(entries) = state.entries.as_mut() else {
            return 0;
        };
        let doomed: Vec<String> = entries
            .iter()
            .map(|(k, _)| k)
            .filter(|k| pattern.is_none_or(|p| k.contains(p)))
            .cloned()
            .collect();
        for k in &doomed {
            entries.pop(k);
        }
        state.invalidations += doomed.len() as u64;
        i32::try_from(doomed.len()).unwrap_or(i32::MAX)
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let state = lock(&self.state);
        let size = state.entries.as_ref().map_or(0, |e| e.len() as u64);
        CacheStats::new(
            size,
            self.capacity as u64,
            state.hits,
            state.misses,
            state.evictions,
            state.invalidations,
            state.entries.is_some(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobtrack_core::{DatasetAggregate, Statistics};

    fn stats_value(n: i64) -> Statistics {
        let mut s = Statistics::from_parts(Default::default(), Default::default());
        s.total_jobs = n;
        s
    }

    fn ds(name: &str) -> DatasetStats {
        DatasetStats::from_parts(name, DatasetAggregate::default())
    }

    #[test]
    fn stale_result_is_not_stored_after_a_commit() {
        let cache = ResultCache::new(true, 10, None).unwrap();
        let Lookup::<Statistics>::Miss(generation) = cache.lookup("statistics").unwrap() else {
            panic!("empty cache hit");
        };
        // A commit lands while the result is being computed.
        cache.note_commit();
        cache.store(
            "statistics".into(),
            stats_value(1).into_cached(),
            Duration::from_secs(60),
            generation,
        );
        assert!(matches!(
            cache.lookup::<Statistics>("statistics").unwrap(),
            Lookup::Miss(_)
        ));
        let s = cache.stats();
        assert_eq!((s.size, s.hits, s.misses), (0, 0, 2));
    }

    #[test]
    fn lru_evicts_and_counts() {
        let cache = ResultCache::new(true, 2, None).unwrap();
        for name in ["a", "b", "c"] {
            let key = format!("dataset_stats:{name}");
            let Lookup::<DatasetStats>::Miss(g) = cache.lookup(&key).unwrap() else {
                panic!()
            };
            cache.store(key, ds(name).into_cached(), Duration::from_secs(60), g);
        }
        let s = cache.stats();
        assert_eq!((s.size, s.capacity, s.evictions), (2, 2, 1));
        assert!(matches!(
            cache.lookup::<DatasetStats>("dataset_stats:a").unwrap(),
            Lookup::Miss(_)
        ));
        match cache.lookup::<DatasetStats>("dataset_stats:c").unwrap() {
            Lookup::Hit(v) => assert_eq!(v.dataset_name, "c"),
            _ => panic!("expected a hit"),
        }
        // Replacing a key is not an eviction.
        let Lookup::<Statistics>::Miss(g) = cache.lookup("statistics").unwrap() else {
            panic!()
        };
        cache.store(
            "statistics".into(),
            stats_value(1).into_cached(),
            Duration::from_secs(60),
            g,
        );
        let before = cache.stats().evictions;
        cache.store(
            "statistics".into(),
            stats_value(2).into_cached(),
            Duration::from_secs(60),
            g,
        );
        assert_eq!(cache.stats().evictions, before);
    }

    #[test]
    fn disabled_cache_counts_misses_and_stores_nothing() {
        let cache = ResultCache::new(false, 10, None).unwrap();
        assert!(matches!(
            cache.lookup::<Statistics>("statistics").unwrap(),
            Lookup::Disabled
        ));
        let s = cache.stats();
        assert_eq!((s.misses, s.capacity, s.shared), (1, 0, false));
        assert_eq!(cache.invalidate(None), 0);
    }
}
