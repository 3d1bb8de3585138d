//! The shared-memory segment of a preloaded jobtrack: the result cache's
//! entries, the writer logs that decide whether an entry is exact for a
//! caller (see `jobtrack_core::writer_log`), the cache counters and the
//! server-wide transaction metrics.
//!
//! # Layout
//! One segment (`ShmemInitStruct("jobtrack")`), sized at server start from
//! the postmaster settings `jobtrack.cache_capacity` and
//! `jobtrack.cache_max_entry_size`: a [`Header`], then `capacity` key hashes
//! (scanned contiguously; 0 = free slot), then `capacity` entry slots of one
//! stride (an [`EntryHead`] and up to `max_entry_size` bytes of value).
//!
//! # Locks
//! Two LWLocks of tranche `jobtrack`: `cache` over the hashes, entries and
//! writer logs, `metrics` over the metrics. Lookups copy out under the
//! shared lock; stores, publications and evictions (CLOCK) take it
//! exclusively. Nothing runs SPI, allocates PostgreSQL memory or raises an
//! error while holding either lock, and no code path holds both.
//!
//! Without preload none of this exists: [`header`] is `None` and callers
//! fall back (see `cache`).

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering::SeqCst};

use jobtrack_core::writer_log::{SnapshotXids, WriterLog};
use jobtrack_core::{OperationTotals, MEASURED_COUNT};
use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Longest cache key stored (`dataset_stats:` and a dataset name of 255
/// four-byte characters).
pub const MAX_KEY: usize = 1040;
/// Hash buckets of dataset names, each with its own writer log, so that a
/// change in one dataset leaves the others' entries valid.
pub const DATASET_BUCKETS: usize = 64;
/// The writer log of every change of the statistics' data: the summary
/// table and the counters (the statistics).
pub const ALL_JOBS: usize = DATASET_BUCKETS;
/// The writer log of every change of any job's row, the statistics' data
/// included (the recent jobs, whose rows hold every column). A heartbeat,
/// which changes only `last_heartbeat`, is recorded here alone.
pub const JOB_ROWS: usize = DATASET_BUCKETS + 1;
/// How many writer logs there are.
const LOGS: usize = DATASET_BUCKETS + 2;

const TRANCHE: &CStr = c"jobtrack";
const SEGMENT: &CStr = c"jobtrack";

static CACHE_CAPACITY: GucSetting<i32> = GucSetting::<i32>::new(256);
static CACHE_MAX_ENTRY_SIZE: GucSetting<i32> = GucSetting::<i32>::new(16 * 1024);

/// The start of the segment.
#[repr(C)]
pub struct Header {
    capacity: u32,
    max_value: u32,
    stride: u32,
    /// CLOCK hand; under the exclusive cache lock.
    hand: UnsafeCell<u32>,
    cache_lock: *mut pg_sys::LWLock,
    metrics_lock: *mut pg_sys::LWLock,
    /// The writer logs assume every transaction before the first use may be
    /// a writer (see `WriterLog::assume_writers_before`).
    logs_started: AtomicBool,
    /// Cache hits, server-wide.
    pub hits: AtomicU64,
    /// Cache misses (computed calls), server-wide.
    pub misses: AtomicU64,
    /// Valid entries dropped to make room.
    pub evictions: AtomicU64,
    /// Entries dropped because their data changed, or by
    /// `invalidate_cache()`.
    pub invalidations: AtomicU64,
    /// Under the cache lock.
    logs: UnsafeCell<[WriterLog; LOGS]>,
    /// Under the metrics lock; in the order of `Operation::measured()`.
    metrics: UnsafeCell<[OperationTotals; MEASURED_COUNT]>,
}

/// The fixed part of an entry slot; the value follows it.
#[repr(C)]
struct EntryHead {
    referenced: AtomicBool,
    /// The writer log the value depends on.
    log: u8,
    key_len: u16,
    value_len: u32,
    database: pg_sys::Oid,
    /// The OID of `jobtrack.executions`: a re-created extension starts
    /// afresh.
    scope: pg_sys::Oid,
    /// The log's `seq` when stored.
    seq: u64,
    /// `GetCurrentTimestamp()` after which the entry is not served.
    expires: i64,
    key: [u8; MAX_KEY],
}

/// What identifies an entry besides its key.
#[derive(Clone, Copy)]
pub struct Scope {
    /// `MyDatabaseId`.
    pub database: pg_sys::Oid,
    /// The OID of `jobtrack.executions`.
    pub relation: pg_sys::Oid,
}

/// The segment in this process; null until the startup hook ran (never,
/// without preload). Set in the postmaster, inherited by every backend.
static SHARED: AtomicPtr<Header> = AtomicPtr::new(ptr::null_mut());

static mut PREV_SHMEM_REQUEST: pg_sys::shmem_request_hook_type = None;
static mut PREV_SHMEM_STARTUP: pg_sys::shmem_startup_hook_type = None;

const fn align(n: usize) -> usize {
    (n + 63) & !63
}

fn layout() -> (usize, usize, usize) {
    let capacity = CACHE_CAPACITY.get().max(1) as usize;
    let max_value = CACHE_MAX_ENTRY_SIZE.get().max(1024) as usize;
    let stride = align(size_of::<EntryHead>() + max_value);
    (capacity, max_value, stride)
}

fn segment_size() -> usize {
    let (capacity, _, stride) = layout();
    align(size_of::<Header>()) + align(capacity * 8) + capacity * stride
}

/// Called from `_PG_init` while preloading: the postmaster settings and the
/// shared-memory hooks.
pub fn init_preloaded() {
    GucRegistry::define_int_guc(
        c"jobtrack.cache_capacity",
        c"Entries of the shared result cache.",
        c"Each entry takes cache_max_entry_size plus about 1 kB of shared memory. Set at server start.",
        &CACHE_CAPACITY,
        1,
        1 << 20,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"jobtrack.cache_max_entry_size",
        c"Largest result the shared cache stores; larger ones are computed every call.",
        c"Set at server start.",
        &CACHE_MAX_ENTRY_SIZE,
        1024,
        16 << 20,
        GucContext::Postmaster,
        GucFlags::UNIT_BYTE,
    );
    // SAFETY: hooks are chained in _PG_init of a preloaded library, in the
    // postmaster, before any backend exists.
    unsafe {
        #[cfg(any(feature = "pg15", feature = "pg16", feature = "pg17", feature = "pg18"))]
        {
            PREV_SHMEM_REQUEST = pg_sys::shmem_request_hook;
            pg_sys::shmem_request_hook = Some(shmem_request);
        }
        #[cfg(any(feature = "pg13", feature = "pg14"))]
        request_shmem();
        PREV_SHMEM_STARTUP = pg_sys::shmem_startup_hook;
        pg_sys::shmem_startup_hook = Some(shmem_startup);
    }
}

unsafe fn request_shmem() {
    // SAFETY: called while shared memory is being sized.
    unsafe {
        pg_sys::RequestAddinShmemSpace(segment_size());
        pg_sys::RequestNamedLWLockTranche(TRANCHE.as_ptr(), 2);
    }
}

#[cfg(any(feature = "pg15", feature = "pg16", feature = "pg17", feature = "pg18"))]
#[pg_guard]
unsafe extern "C-unwind" fn shmem_request() {
    // SAFETY: PostgreSQL's shmem_request_hook protocol.
    unsafe {
        if let Some(prev) = PREV_SHMEM_REQUEST {
            prev();
        }
        request_shmem();
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn shmem_startup() {
    // SAFETY: PostgreSQL's shmem_startup_hook protocol; the segment is
    // initialised once under AddinShmemInitLock (also after a crash
    // restart, which re-creates shared memory).
    unsafe {
        if let Some(prev) = PREV_SHMEM_STARTUP {
            prev();
        }
        let (capacity, max_value, stride) = layout();
        let size = segment_size();
        let init_lock = &raw mut (*pg_sys::MainLWLockArray.add(21)).lock;
        pg_sys::LWLockAcquire(init_lock, pg_sys::LWLockMode::LW_EXCLUSIVE);
        let mut found = false;
        let base = pg_sys::ShmemInitStruct(SEGMENT.as_ptr(), size, &mut found).cast::<u8>();
        if !found {
            // All zero: no entry, empty logs, counters and metrics 0.
            ptr::write_bytes(base, 0, size);
            let header = base.cast::<Header>();
            (*header).capacity = capacity as u32;
            (*header).max_value = max_value as u32;
            (*header).stride = stride as u32;
            let locks = pg_sys::GetNamedLWLockTranche(TRANCHE.as_ptr());
            (*header).cache_lock = &raw mut (*locks).lock;
            (*header).metrics_lock = &raw mut (*locks.add(1)).lock;
        }
        pg_sys::LWLockRelease(init_lock);
        SHARED.store(base.cast(), SeqCst);
    }
}

/// The segment, when the library was preloaded.
pub fn header() -> Option<&'static Header> {
    // SAFETY: the segment lives as long as the server.
    unsafe { SHARED.load(SeqCst).as_ref() }
}

/// An acquired LWLock, released on drop.
struct Held(*mut pg_sys::LWLock);

impl Held {
    fn acquire(lock: *mut pg_sys::LWLock, mode: pg_sys::LWLockMode::Type) -> Held {
        // SAFETY: the locks were set up with the segment.
        unsafe { pg_sys::LWLockAcquire(lock, mode) };
        Held(lock)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: acquired in `acquire`. During an ERROR unwind PostgreSQL's
        // LWLockReleaseAll may have released it already.
        unsafe {
            if pg_sys::LWLockHeldByMe(self.0) {
                pg_sys::LWLockRelease(self.0);
            }
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The writer log of a dataset's statistics.
pub fn dataset_log(dataset_name: &str) -> usize {
    (fnv(dataset_name.as_bytes()) % DATASET_BUCKETS as u64) as usize
}

/// What a lookup found.
pub enum Lookup {
    /// An exact entry: its value.
    Hit(Vec<u8>),
    /// No entry, or one that is not exact for this caller.
    Miss,
}

impl Header {
    /// The segment's start, with provenance over all of it (the header is
    /// only its first part).
    fn base(&self) -> *mut u8 {
        SHARED.load(SeqCst).cast()
    }

    fn hash_slot(&self, i: usize) -> *mut u64 {
        debug_assert!(i < self.capacity as usize);
        // SAFETY: i < capacity: within the segment.
        unsafe {
            self.base()
                .add(align(size_of::<Header>()))
                .cast::<u64>()
                .add(i)
        }
    }

    fn entry(&self, i: usize) -> *mut EntryHead {
        debug_assert!(i < self.capacity as usize);
        let entries = align(size_of::<Header>()) + align(self.capacity as usize * 8);
        // SAFETY: i < capacity: within the segment.
        unsafe {
            self.base()
                .add(entries + i * self.stride as usize)
                .cast::<EntryHead>()
        }
    }

    fn value(&self, i: usize) -> *mut u8 {
        // SAFETY: the value area follows the head within the stride.
        unsafe { self.entry(i).cast::<u8>().add(size_of::<EntryHead>()) }
    }

    fn logs(&self) -> *mut WriterLog {
        self.logs.get().cast()
    }

    fn lock_cache(&self, mode: pg_sys::LWLockMode::Type) -> Held {
        Held::acquire(self.cache_lock, mode)
    }

    /// The largest value stored.
    pub fn max_value(&self) -> usize {
        self.max_value as usize
    }

    /// Slots.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Starts the writer logs on first use after a server (re)start: every
    /// transaction before `next_xid` counts as a writer, since a prepared
    /// transaction from before the start may still commit.
    pub fn start_logs(&self, next_xid: u64) {
        if self.logs_started.load(SeqCst) {
            return;
        }
        let _held = self.lock_cache(pg_sys::LWLockMode::LW_EXCLUSIVE);
        if !self.logs_started.load(SeqCst) {
            for i in 0..=DATASET_BUCKETS {
                // SAFETY: exclusive lock held.
                unsafe { (*self.logs().add(i)).assume_writers_before(next_xid) };
            }
            self.logs_started.store(true, SeqCst);
        }
    }

    /// Records writer `xid` (0: none) in the log of job rows and, when it
    /// changed the statistics' data (`counted`), in the log of all jobs and
    /// the dataset logs of `datasets` (a bit per bucket), or in every
    /// dataset log. Called at pre-commit / pre-prepare, before the writer is
    /// visible.
    pub fn record_writer(&self, xid: u64, counted: bool, datasets: u64, every_dataset: bool) {
        let _held = self.lock_cache(pg_sys::LWLockMode::LW_EXCLUSIVE);
        // Whether the writer a new one pushes out of a ring is still running
        // (WriterLog::record). Reads the process array under its own lock,
        // which is never held while this one is taken, and raises no error.
        // An id far enough back to be ambiguous in 32 bits can only be
        // judged running, which costs hits, never exactness.
        let running = |old: u64| {
            // SAFETY: a lookup in the process array, in a transaction.
            unsafe {
                pg_sys::TransactionIdIsInProgress(pg_sys::TransactionId::from_inner(old as u32))
            }
        };
        // SAFETY: exclusive lock held; indexes within the array.
        unsafe {
            (*self.logs().add(JOB_ROWS)).record(xid, running);
            if !counted {
                return;
            }
            (*self.logs().add(ALL_JOBS)).record(xid, running);
            for b in 0..DATASET_BUCKETS {
                if every_dataset || datasets & (1 << b) != 0 {
                    (*self.logs().add(b)).record(xid, running);
                }
            }
        }
    }

    fn find(&self, hash: u64, scope: Scope, key: &[u8]) -> Option<usize> {
        (0..self.capacity as usize).find(|&i| {
            // SAFETY: under the cache lock; i < capacity.
            unsafe {
                *self.hash_slot(i) == hash && {
                    let e = &*self.entry(i);
                    e.database == scope.database
                        && e.scope == scope.relation
                        && usize::from(e.key_len) == key.len()
                        && &e.key[..key.len()] == key
                }
            }
        })
    }

    /// The entry `key`, when it is exact for `snapshot` and not expired at
    /// `now`.
    pub fn lookup(
        &self,
        scope: Scope,
        key: &[u8],
        snapshot: &SnapshotXids<'_>,
        now: i64,
    ) -> Lookup {
        let hash = fnv(key) | 1;
        let _held = self.lock_cache(pg_sys::LWLockMode::LW_SHARED);
        let Some(i) = self.find(hash, scope, key) else {
            return Lookup::Miss;
        };
        // SAFETY: under the shared lock (slots and logs change only under
        // the exclusive one); `referenced` is atomic.
        unsafe {
            let e = &*self.entry(i);
            let log = &*self.logs().add(usize::from(e.log));
            if e.expires <= now || e.seq != log.seq || !log.all_finished(snapshot) {
                return Lookup::Miss;
            }
            e.referenced.store(true, SeqCst);
            Lookup::Hit(std::slice::from_raw_parts(self.value(i), e.value_len as usize).to_vec())
        }
    }

    /// Stores `value` under `key`, computed from `snapshot`, when that
    /// snapshot sees every writer recorded in log `log` as finished (else
    /// the value may already be superseded, and nothing is stored).
    #[allow(clippy::too_many_arguments)]
    pub fn store(
        &self,
        scope: Scope,
        key: &[u8],
        log: usize,
        snapshot: &SnapshotXids<'_>,
        value: &[u8],
        now: i64,
        ttl_secs: i32,
    ) {
        if ttl_secs <= 0 || key.len() > MAX_KEY || value.len() > self.max_value() {
            return;
        }
        let hash = fnv(key) | 1;
        let expires = now.saturating_add(i64::from(ttl_secs) * 1_000_000);
        let capacity = self.capacity as usize;
        let _held = self.lock_cache(pg_sys::LWLockMode::LW_EXCLUSIVE);
        // SAFETY: exclusive lock held for every slot and log access below.
        unsafe {
            let writers = &*self.logs().add(log);
            if !writers.all_finished(snapshot) {
                return;
            }
            let changed = |i: usize| {
                let e = &*self.entry(i);
                e.seq != (*self.logs().add(usize::from(e.log))).seq
            };
            let expired = |i: usize| (*self.entry(i)).expires <= now;
            let slot = if let Some(i) = self.find(hash, scope, key) {
                // The same key: replaced; an outdated value counts as
                // invalidated, a concurrent store's as nothing.
                if changed(i) {
                    self.invalidations.fetch_add(1, SeqCst);
                }
                i
            } else if let Some(i) = (0..capacity).find(|&i| *self.hash_slot(i) == 0) {
                i
            } else if let Some(i) = (0..capacity).find(|&i| changed(i) || expired(i)) {
                if changed(i) {
                    self.invalidations.fetch_add(1, SeqCst);
                }
                i
            } else {
                self.evictions.fetch_add(1, SeqCst);
                self.clock_victim()
            };
            let e = &mut *self.entry(slot);
            e.referenced.store(false, SeqCst);
            e.log = log as u8;
            e.key_len = key.len() as u16;
            e.value_len = value.len() as u32;
            e.database = scope.database;
            e.scope = scope.relation;
            e.seq = writers.seq;
            e.expires = expires;
            e.key[..key.len()].copy_from_slice(key);
            ptr::copy_nonoverlapping(value.as_ptr(), self.value(slot), value.len());
            *self.hash_slot(slot) = hash;
        }
    }

    /// CLOCK: the first slot from the hand on whose reference bit is clear,
    /// clearing the bits passed over.
    ///
    /// # Safety
    /// The exclusive cache lock is held and every slot is in use.
    unsafe fn clock_victim(&self) -> usize {
        let capacity = self.capacity as usize;
        // SAFETY: exclusive lock held: `hand` is ours to move.
        unsafe {
            let hand = self.hand.get();
            let mut i = *hand as usize % capacity;
            for _ in 0..2 * capacity {
                if !(*self.entry(i)).referenced.swap(false, SeqCst) {
                    break;
                }
                i = (i + 1) % capacity;
            }
            *hand = ((i + 1) % capacity) as u32;
            i
        }
    }

    /// Drops the entries of `database` whose key contains `pattern` (all
    /// when `None`); returns how many.
    pub fn invalidate(&self, database: pg_sys::Oid, pattern: Option<&str>) -> u64 {
        let _held = self.lock_cache(pg_sys::LWLockMode::LW_EXCLUSIVE);
        let mut dropped = 0;
        for i in 0..self.capacity as usize {
            // SAFETY: exclusive lock held; i < capacity.
            unsafe {
                if *self.hash_slot(i) == 0 {
                    continue;
                }
                let e = &*self.entry(i);
                let key = &e.key[..usize::from(e.key_len)];
                if e.database == database
                    && pattern.is_none_or(|p| std::str::from_utf8(key).is_ok_and(|k| k.contains(p)))
                {
                    *self.hash_slot(i) = 0;
                    dropped += 1;
                }
            }
        }
        self.invalidations.fetch_add(dropped, SeqCst);
        dropped
    }

    /// Slots in use.
    pub fn size(&self) -> u64 {
        let _held = self.lock_cache(pg_sys::LWLockMode::LW_SHARED);
        // SAFETY: shared lock held; i < capacity.
        (0..self.capacity as usize)
            .filter(|&i| unsafe { *self.hash_slot(i) != 0 })
            .count() as u64
    }

    fn metrics_ptr(&self) -> *mut OperationTotals {
        self.metrics.get().cast()
    }

    /// Applies `f` to the totals in metrics slot `index`
    /// (`Operation::metrics_slot`).
    pub fn update_metrics(&self, index: usize, f: impl FnOnce(&mut OperationTotals)) {
        if index >= MEASURED_COUNT {
            return;
        }
        let _held = Held::acquire(self.metrics_lock, pg_sys::LWLockMode::LW_EXCLUSIVE);
        // SAFETY: exclusive metrics lock held; index checked.
        unsafe { f(&mut *self.metrics_ptr().add(index)) }
    }

    /// A copy of every operation's totals.
    pub fn metrics(&self) -> [OperationTotals; MEASURED_COUNT] {
        let _held = Held::acquire(self.metrics_lock, pg_sys::LWLockMode::LW_SHARED);
        // SAFETY: shared metrics lock held.
        unsafe {
            *self
                .metrics_ptr()
                .cast::<[OperationTotals; MEASURED_COUNT]>()
        }
    }

    /// Forgets the metrics.
    pub fn reset_metrics(&self) {
        let _held = Held::acquire(self.metrics_lock, pg_sys::LWLockMode::LW_EXCLUSIVE);
        // SAFETY: exclusive metrics lock held.
        unsafe {
            *self
                .metrics_ptr()
                .cast::<[OperationTotals; MEASURED_COUNT]>() = Default::default();
        }
    }
}
