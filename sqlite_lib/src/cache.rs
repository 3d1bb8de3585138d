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
//!    entries and bumps the generation. The pragma opens and closes a read
//!    transaction (two `fcntl` calls on the `-shm` file, about 2 µs, ten
//!    times the rest of a hit), so it runs only when the WAL-index header
//!    has changed since the last time it ran ([`WalIndexHeader`]).
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

use std::fs::File;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jobtrack_core::{CacheStats, DatasetStats, ExperimentStats, Job, Result, Statistics};
use lru::LruCache;
use rusqlite::Connection;

use crate::error::DbResultExt;
use crate::pool::lock;

/// Changes whenever a connection other than the one asking commits.
const DATA_VERSION: &str = "PRAGMA data_version";

/// The two copies of the WAL-index header at the start of a WAL database's
/// `-shm` file, read with one `pread` ([the WAL-index
/// format](https://sqlite.org/walformat.html#the_wal_index_file_format)).
///
/// A header names the committed state: its salts name one generation of
/// the WAL (a restart after a checkpoint adds one to the first salt and
/// draws the second), its last valid frame a prefix of that generation's
/// frames, which are only ever appended, and the database file holds what
/// checkpoints copied from earlier frames. Every commit moves the last
/// frame (and counts in `iChange`); a recovery after a crashed writer
/// rebuilds the header from the WAL file, counting the frames of a commit
/// the writer did not get to announce. So while both copies read the same
/// bytes as just before `PRAGMA data_version` last ran, nobody has
/// committed since, and the pragma would answer what it answered then. A
/// read torn by a commit in progress differs, or sees the header from
/// before that commit, which is what a read that began a moment earlier
/// would see. Copies that differ from each other (a writer stopped between
/// them) never match, so the pragma runs and SQLite recovers the index.
///
/// The header speaks for the database only while the file stays in WAL
/// mode. It is read only if the monitor found the file in WAL mode, and it
/// stays there: leaving WAL mode takes an exclusive lock on the database,
/// which SQLite refuses while any connection that has read it in WAL mode
/// is open, and the monitor is one (its first pragma reads it).
struct WalIndexHeader {
    shm: File,
    /// The copies as read just before the pragma last ran.
    at_last_check: Option<[u8; WAL_INDEX_HEADER_COPIES]>,
}

/// Two copies of the 48-byte `WalIndexHdr`.
const WAL_INDEX_HEADER_COPIES: usize = 96;

impl WalIndexHeader {
    /// The `-shm` file of the WAL database `monitor` has open; `None` when
    /// the database is not in WAL mode or the file cannot be opened (the
    /// pragma then runs at every read).
    fn open(monitor: &Connection) -> Result<Option<Self>> {
        let Some(path) = monitor.path().filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        let mode: String = monitor
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .db()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Ok(None);
        }
        let mut shm = Path::new(path).as_os_str().to_owned();
        shm.push("-shm");
        Ok(File::open(shm).ok().map(|shm| WalIndexHeader {
            shm,
            at_last_check: None,
        }))
    }

    /// Both copies now, when the file holds them.
    fn read(&self) -> Option<[u8; WAL_INDEX_HEADER_COPIES]> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            let mut copies = [0u8; WAL_INDEX_HEADER_COPIES];
            match self.shm.read_at(&mut copies, 0) {
                Ok(n) if n == copies.len() => Some(copies),
                _ => None,
            }
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

/// `PRAGMA data_version` on `monitor`, keeping in `wal_index` the header
/// `read_before` it, as the WAL index stood when the pragma answered.
fn ask_data_version(
    monitor: &Connection,
    wal_index: &mut Option<WalIndexHeader>,
    read_before: Option<[u8; WAL_INDEX_HEADER_COPIES]>,
) -> Result<i64> {
    // A kept statement: preparing the pragma anew would cost more than the
    // whole rest of a hit.
    let version = monitor
        .prepare_cached(DATA_VERSION)
        .db()?
        .query_row([], |row| row.get(0))
        .db()?;
    if let Some(index) = wal_index {
        index.at_last_check = read_before;
    }
    Ok(version)
}

/// Whether two header copies are one header (SQLite's own readers retry
/// otherwise).
fn copies_agree(copies: &[u8; WAL_INDEX_HEADER_COPIES]) -> bool {
    let (first, second) = copies.split_at(WAL_INDEX_HEADER_COPIES / 2);
    first == second
}

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
    /// Spares the pragma while nobody commits; `None` without a monitor or
    /// outside WAL mode.
    wal_index: Option<WalIndexHeader>,
    /// How many times the pragma ran.
    version_checks: u64,
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
        // Read before the pragma, so that a commit between the two makes
        // the next read differ from what is kept.
        let header = self.wal_index.as_ref().and_then(WalIndexHeader::read);
        if let (Some(now), Some(index)) = (&header, &self.wal_index) {
            if copies_agree(now) && index.at_last_check.as_ref() == Some(now) {
                return Ok(());
            }
        }
        let version = ask_data_version(monitor, &mut self.wal_index, header)?;
        self.version_checks += 1;
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
        let mut wal_index = match &monitor {
            Some(m) => WalIndexHeader::open(m)?,
            None => None,
        };
        let data_version = match &monitor {
            Some(m) => {
                let header = wal_index.as_ref().and_then(WalIndexHeader::read);
                ask_data_version(m, &mut wal_index, header)?
            }
            None => 0,
        };
        Ok(ResultCache {
            state: Mutex::new(State {
                entries,
                generation: 0,
                monitor,
                data_version,
                wal_index,
                version_checks: 0,
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

    /// A file in `journal_mode` with one table, and a writer on it
    /// ("another program").
    fn file_with_table(journal_mode: &str) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let writer = Connection::open(dir.path().join("t.db")).unwrap();
        writer
            .execute_batch(&format!(
                "PRAGMA journal_mode = {journal_mode}; CREATE TABLE t (x INTEGER);"
            ))
            .unwrap();
        (dir, writer)
    }

    /// A cache watching the file of [`file_with_table`] through a
    /// read-only monitor.
    fn watching(dir: &tempfile::TempDir) -> ResultCache {
        let monitor = Connection::open_with_flags(
            dir.path().join("t.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        ResultCache::new(true, 10, Some(monitor)).unwrap()
    }

    /// A WAL file, its writer and a cache watching it by its header.
    fn watched_file() -> (tempfile::TempDir, Connection, ResultCache) {
        let (dir, writer) = file_with_table("WAL");
        let cache = watching(&dir);
        assert!(
            lock(&cache.state).wal_index.is_some(),
            "a WAL file is watched by its header"
        );
        (dir, writer, cache)
    }

    /// Stores `n` under "statistics" if the lookup misses; whether it hit.
    fn read_through(cache: &ResultCache, n: i64) -> bool {
        match cache.lookup::<Statistics>("statistics").unwrap() {
            Lookup::Hit(_) => true,
            Lookup::Miss(g) => {
                let value = stats_value(n).into_cached();
                cache.store("statistics".into(), value, Duration::from_secs(60), g);
                false
            }
            Lookup::Disabled => panic!("enabled"),
        }
    }

    fn version_checks(cache: &ResultCache) -> u64 {
        lock(&cache.state).version_checks
    }

    #[test]
    fn the_pragma_runs_only_when_someone_has_committed() {
        let (_dir, writer, cache) = watched_file();
        assert!(!read_through(&cache, 0));
        let checks = version_checks(&cache);
        for _ in 0..100 {
            assert!(read_through(&cache, 0));
        }
        assert_eq!(version_checks(&cache), checks, "no commit, no pragma");

        // Plain commits, commits after a full checkpoint truncated the WAL
        // (its frames start again at 0, with new salts), and one inside an
        // explicit transaction: each is noticed at the next read. (The
        // checkpoint itself changes data_version: SQLite's answer is
        // conservative there, and so is the cache's.)
        let writes = [
            "INSERT INTO t VALUES (1)",
            "PRAGMA wal_checkpoint(TRUNCATE); INSERT INTO t VALUES (2)",
            "INSERT INTO t VALUES (3)",
            "PRAGMA wal_checkpoint(TRUNCATE); INSERT INTO t VALUES (4)",
            "BEGIN; UPDATE t SET x = x + 1; COMMIT;",
            "DELETE FROM t",
        ];
        for (i, sql) in writes.iter().enumerate() {
            writer.execute_batch(sql).unwrap();
            assert!(!read_through(&cache, i as i64), "after {sql}");
            assert!(read_through(&cache, i as i64), "then cached again");
        }
        // A transaction that rolls back commits nothing.
        writer
            .execute_batch("BEGIN; INSERT INTO t VALUES (3); ROLLBACK;")
            .unwrap();
        assert!(read_through(&cache, 9));
    }

    #[test]
    #[cfg(unix)]
    fn header_copies_that_disagree_make_the_pragma_run() {
        use std::os::unix::fs::FileExt;
        let (dir, writer, cache) = watched_file();
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert!(!read_through(&cache, 1));
        assert!(read_through(&cache, 1));
        let checks = version_checks(&cache);
        // A writer that stopped between its two copies: the second copy's
        // change counter (bytes 8..12 of it) no longer matches the first.
        let shm = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.path().join("t.db-shm"))
            .unwrap();
        let mut counter = [0u8; 4];
        shm.read_at(&mut counter, 48 + 8).unwrap();
        counter[0] ^= 0xff;
        shm.write_at(&counter, 48 + 8).unwrap();
        // The pragma runs, and SQLite recovers the index, rewriting the
        // header (its change counter starts again at 0), which the next
        // read finds changed once more; then reads hit without it.
        read_through(&cache, 1);
        assert_eq!(version_checks(&cache), checks + 1);
        read_through(&cache, 1);
        let checks = version_checks(&cache);
        assert!(read_through(&cache, 1));
        assert_eq!(version_checks(&cache), checks);
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert!(!read_through(&cache, 2));
    }

    #[test]
    fn a_file_outside_wal_mode_is_not_watched_by_a_stale_shm_file() {
        let (dir, writer) = file_with_table("DELETE");
        // Left over from a time in WAL mode: commits in rollback mode never
        // touch it, so reading it would miss every one of them.
        std::fs::write(dir.path().join("t.db-shm"), [7u8; 4096]).unwrap();
        let cache = watching(&dir);
        assert!(lock(&cache.state).wal_index.is_none());
        assert!(!read_through(&cache, 0));
        assert!(read_through(&cache, 0));
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert!(!read_through(&cache, 1), "the pragma sees the commit");
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
