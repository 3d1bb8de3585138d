//! The store's connections: one writer behind a mutex (SQLite allows one
//! writer at a time anyway, and queuing in-process writers on a mutex is
//! cheaper and fairer than spinning on SQLITE_BUSY) and a fixed pool of
//! read-only connections that, in WAL mode, read concurrently with the
//! writer and each other.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use jobtrack_core::{Error, PoolStatus, Result};
use rusqlite::Connection;

/// Locks a mutex, ignoring poisoning: a panic inside a call leaves the
/// connection usable (rusqlite rolls the open transaction back on drop).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct ConnectionPool {
    // Readers first: they close before the writer (see JobStore).
    idle_readers: Mutex<Vec<Connection>>,
    writer: Mutex<Connection>,
    /// The thread holding the writer, and why: a second call for it from
    /// the same thread (a store method inside `JobStore::transaction`, or
    /// during an export that holds it) would wait for itself forever.
    writer_holder: Mutex<Option<(ThreadId, WriterUse)>>,
    writer_busy: AtomicBool,
    writer_waiting: AtomicI64,
    reader_returned: Condvar,
    reader_count: usize,
    readers_busy: AtomicI64,
    reader_waiting: AtomicI64,
    /// The thread of each open export that holds a reader, once per export:
    /// a thread whose exports hold every reader would wait for itself if it
    /// waited for one.
    reader_exports: Mutex<Vec<ThreadId>>,
    /// Open exports between two pages: inside their read transaction, not
    /// running a statement.
    exports_idle: AtomicI64,
}

/// What the writer connection is held for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriterUse {
    /// One call: a write, a transaction, or a read on a store without
    /// readers.
    Call,
    /// An export on a store without a reader for it: held until the export
    /// ends.
    Export,
}

/// Decrements a counter when dropped, so that a panic cannot leave it high.
struct CountGuard<'a>(&'a AtomicI64);

impl<'a> CountGuard<'a> {
    fn new(counter: &'a AtomicI64) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        CountGuard(counter)
    }
}

impl Drop for CountGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A reader checked out of the pool; goes back on drop.
pub(crate) struct ReaderGuard<'a> {
    pool: &'a ConnectionPool,
    conn: Option<Connection>,
}

impl std::ops::Deref for ReaderGuard<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("reader present until drop")
    }
}

impl Drop for ReaderGuard<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            lock(&self.pool.idle_readers).push(conn);
            self.pool.readers_busy.fetch_sub(1, Ordering::SeqCst);
            self.pool.reader_returned.notify_one();
        }
    }
}

/// The writer checked out; free again on drop.
pub(crate) struct WriterGuard<'a> {
    pool: &'a ConnectionPool,
    conn: MutexGuard<'a, Connection>,
}

impl std::ops::Deref for WriterGuard<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriterGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        // Before the mutex is unlocked (the field drops after this).
        *lock(&self.pool.writer_holder) = None;
        self.pool.writer_busy.store(false, Ordering::SeqCst);
    }
}

/// The connection an export reads through, from its call to its end: a
/// reader, or the writer on a store without one free for it.
pub(crate) enum ExportConnection<'a> {
    Reader(ReaderGuard<'a>),
    Writer(WriterGuard<'a>),
}

/// An export's connection, counted as idle in transaction while the export
/// is open and not reading a page ([`ExportLease::reading`]).
pub(crate) struct ExportLease<'a> {
    pool: &'a ConnectionPool,
    conn: ExportConnection<'a>,
}

impl std::ops::Deref for ExportLease<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match &self.conn {
            ExportConnection::Reader(r) => r,
            ExportConnection::Writer(w) => w,
        }
    }
}

impl ExportLease<'_> {
    /// Counts the connection as active, not idle in transaction, until the
    /// returned guard drops: while a page is read.
    pub(crate) fn reading(&self) -> impl Drop + '_ {
        struct Reading<'a>(&'a AtomicI64);
        impl Drop for Reading<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.pool.exports_idle.fetch_sub(1, Ordering::SeqCst);
        Reading(&self.pool.exports_idle)
    }
}

impl Drop for ExportLease<'_> {
    fn drop(&mut self) {
        self.pool.exports_idle.fetch_sub(1, Ordering::SeqCst);
        if matches!(self.conn, ExportConnection::Reader(_)) {
            let me = std::thread::current().id();
            let mut exports = lock(&self.pool.reader_exports);
            if let Some(i) = exports.iter().position(|t| *t == me) {
                exports.swap_remove(i);
            }
        }
        // The connection goes back when the field drops, after this.
    }
}

impl ConnectionPool {
    /// A pool of `writer` and `readers`; without readers, reads use the
    /// writer.
    pub(crate) fn new(writer: Connection, readers: Vec<Connection>) -> Self {
        ConnectionPool {
            writer: Mutex::new(writer),
            writer_holder: Mutex::new(None),
            writer_busy: AtomicBool::new(false),
            writer_waiting: AtomicI64::new(0),
            reader_count: readers.len(),
            idle_readers: Mutex::new(readers),
            reader_returned: Condvar::new(),
            readers_busy: AtomicI64::new(0),
            reader_waiting: AtomicI64::new(0),
            reader_exports: Mutex::new(Vec::new()),
            exports_idle: AtomicI64::new(0),
        }
    }

    /// Checks the writer out for `purpose`, waiting for it if needed; 25001
    /// when this thread holds it already.
    pub(crate) fn writer(&self, purpose: WriterUse) -> Result<WriterGuard<'_>> {
        let me = std::thread::current().id();
        match *lock(&self.writer_holder) {
            Some((holder, WriterUse::Call)) if holder == me => {
                return Err(Error::database(
                    "25001",
                    "this thread is inside JobStore::transaction on this store: call the \
                     StoreTransaction's methods instead of the store's",
                ))
            }
            Some((holder, WriterUse::Export)) if holder == me => {
                return Err(Error::database(
                    "25001",
                    "this thread is reading an export_jobs of this store, which holds its only \
                     connection until it ends: read the export to its end or drop it first",
                ))
            }
            _ => {}
        }
        let conn = {
            let _waiting = CountGuard::new(&self.writer_waiting);
            lock(&self.writer)
        };
        self.writer_busy.store(true, Ordering::SeqCst);
        *lock(&self.writer_holder) = Some((me, purpose));
        Ok(WriterGuard { pool: self, conn })
    }

    /// Runs `f` on the writer connection, waiting for it if needed; 25001
    /// when this thread holds it already.
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.writer(WriterUse::Call)?;
        f(&mut conn)
    }

    /// The connection for an export, held until the lease drops: a reader,
    /// waiting while all are busy, or the writer when the pool has no
    /// readers or this thread's open exports hold all of them.
    pub(crate) fn export_connection(&self) -> Result<ExportLease<'_>> {
        let conn = match self.reader() {
            Some(reader) => {
                lock(&self.reader_exports).push(std::thread::current().id());
                ExportConnection::Reader(reader)
            }
            None => ExportConnection::Writer(self.writer(WriterUse::Export)?),
        };
        self.exports_idle.fetch_add(1, Ordering::SeqCst);
        Ok(ExportLease { pool: self, conn })
    }

    /// Checks a reader out, waiting while all are busy. `None` when the pool
    /// has no readers, or when this thread's open exports hold every one of
    /// them: it would wait for itself.
    pub(crate) fn reader(&self) -> Option<ReaderGuard<'_>> {
        if self.reader_count == 0 {
            return None;
        }
        let mut idle = lock(&self.idle_readers);
        if idle.is_empty() {
            let me = std::thread::current().id();
            let mine = lock(&self.reader_exports)
                .iter()
                .filter(|t| **t == me)
                .count();
            if mine == self.reader_count {
                return None;
            }
            let _waiting = CountGuard::new(&self.reader_waiting);
            while idle.is_empty() {
                idle = self
                    .reader_returned
                    .wait(idle)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        let conn = idle.pop().expect("checked non-empty");
        self.readers_busy.fetch_add(1, Ordering::SeqCst);
        Some(ReaderGuard {
            pool: self,
            conn: Some(conn),
        })
    }

    /// Runs `f` on a reader, or on the writer when there is none for it
    /// ([`ConnectionPool::reader`]).
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match self.reader() {
            Some(conn) => f(&conn),
            None => self.with_writer(|conn| f(conn)),
        }
    }

    /// The pool's numbers. `idle_in_transaction` counts the open exports
    /// between two pages: a call never leaves a transaction open when it
    /// returns its connection, an export keeps its read transaction until
    /// it ends.
    pub(crate) fn status(&self) -> PoolStatus {
        let total = self.reader_count as i64 + 1;
        let busy = self.readers_busy.load(Ordering::SeqCst)
            + i64::from(self.writer_busy.load(Ordering::SeqCst));
        // The counters are read one after the other while exports come and
        // go: an export counted idle is one counted busy.
        let idle_in_transaction = self.exports_idle.load(Ordering::SeqCst).clamp(0, busy);
        let active = busy - idle_in_transaction;
        PoolStatus {
            backend: "sqlite".to_owned(),
            max_connections: total,
            total,
            active,
            idle: total - active - idle_in_transaction,
            idle_in_transaction,
            waiting: self.writer_waiting.load(Ordering::SeqCst)
                + self.reader_waiting.load(Ordering::SeqCst),
            pool: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn pool(readers: usize) -> ConnectionPool {
        let conns = (0..readers)
            .map(|_| Connection::open_in_memory().unwrap())
            .collect();
        ConnectionPool::new(Connection::open_in_memory().unwrap(), conns)
    }

    fn wait_for(pool: &ConnectionPool, pred: impl Fn(&PoolStatus) -> bool) -> PoolStatus {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let s = pool.status();
            if pred(&s) || Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn counts_busy_idle_and_waiting() {
        let pool = Arc::new(pool(2));
        let s = pool.status();
        assert_eq!(
            (
                s.backend.as_str(),
                s.max_connections,
                s.total,
                s.active,
                s.idle,
                s.waiting
            ),
            ("sqlite", 3, 3, 0, 3, 0)
        );
        let a = pool.reader().unwrap();
        let b = pool.reader().unwrap();
        let s = pool.status();
        assert_eq!((s.active, s.idle, s.waiting), (2, 1, 0));

        // A third reader must wait until one is returned.
        let p = Arc::clone(&pool);
        let waiter = std::thread::spawn(move || {
            let r = p.reader().unwrap();
            r.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
                .unwrap()
        });
        let s = wait_for(&pool, |s| s.waiting == 1);
        assert_eq!(s.waiting, 1);
        drop(a);
        assert_eq!(waiter.join().unwrap(), 1);
        drop(b);
        let s = wait_for(&pool, |s| s.active == 0);
        assert_eq!((s.active, s.idle, s.waiting), (0, 3, 0));

        // The writer counts as active while a call holds it, and a second
        // caller as waiting.
        let p = Arc::clone(&pool);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let holder = pool.with_writer(|_| {
            let s = pool.status();
            assert_eq!(s.active, 1);
            let second = std::thread::spawn(move || {
                p.with_writer(|_| Ok(())).unwrap();
                tx.send(()).unwrap();
            });
            let s = wait_for(&pool, |s| s.waiting == 1);
            assert_eq!(s.waiting, 1);
            assert!(
                rx.try_recv().is_err(),
                "second writer ran while the first held it"
            );
            Ok(second)
        });
        holder.unwrap().join().unwrap();
        rx.recv().unwrap();
        assert_eq!(pool.status().active, 0);
    }

    #[test]
    fn an_export_is_idle_in_transaction_and_never_waits_for_its_own_thread() {
        let pool = Arc::new(pool(1));
        let export = pool.export_connection().unwrap();
        assert!(matches!(export.conn, ExportConnection::Reader(_)));
        let s = pool.status();
        assert_eq!((s.active, s.idle_in_transaction, s.idle), (0, 1, 1));
        {
            let _reading = export.reading();
            let s = pool.status();
            assert_eq!((s.active, s.idle_in_transaction, s.idle), (1, 0, 1));
        }
        assert_eq!(pool.status().idle_in_transaction, 1);

        // The only reader is this thread's export's: waiting for it would
        // never end, so reads and a second export use the writer.
        assert!(pool.reader().is_none());
        let second = pool.export_connection().unwrap();
        assert!(matches!(second.conn, ExportConnection::Writer(_)));
        let s = pool.status();
        assert_eq!((s.active, s.idle_in_transaction, s.idle), (0, 2, 0));
        let err = pool.with_writer(|_| Ok(())).unwrap_err();
        assert_eq!(err.sqlstate(), "25001");
        assert!(err.to_string().contains("export_jobs"), "{err}");
        drop(second);
        pool.with_writer(|_| Ok(())).unwrap();

        // Another thread waits for the reader: the export will end.
        let p = Arc::clone(&pool);
        let waiter = std::thread::spawn(move || p.reader().is_some());
        let s = wait_for(&pool, |s| s.waiting == 1);
        assert_eq!(s.waiting, 1);
        drop(export);
        assert!(waiter.join().unwrap());
        let s = wait_for(&pool, |s| s.active == 0);
        assert_eq!((s.active, s.idle_in_transaction, s.idle), (0, 0, 2));
        assert!(pool.reader().is_some());
    }

    #[test]
    fn without_readers_reads_use_the_writer() {
        let pool = pool(0);
        assert!(pool.reader().is_none());
        let v: i64 = pool
            .with_reader(|c| Ok(c.query_row("SELECT 7", [], |r| r.get(0)).unwrap()))
            .unwrap();
        assert_eq!(v, 7);
        assert_eq!(pool.status().total, 1);
    }
}
