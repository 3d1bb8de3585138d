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
    /// The thread holding the writer: a second call for it from the same
    /// thread (a store method inside `JobStore::transaction`) would wait for
    /// itself forever.
    writer_holder: Mutex<Option<ThreadId>>,
    writer_busy: AtomicBool,
    writer_waiting: AtomicI64,
    reader_returned: Condvar,
    reader_count: usize,
    readers_busy: AtomicI64,
    reader_waiting: AtomicI64,
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
        }
    }

    /// Runs `f` on the writer connection, waiting for it if needed; 25001
    /// when this thread holds it already.
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let me = std::thread::current().id();
        if *lock(&self.writer_holder) == Some(me) {
            return Err(Error::database(
                "25001",
                "this thread is inside JobStore::transaction on this store: call the \
                 StoreTransaction's methods instead of the store's",
            ));
        }
        let mut conn = {
            let _waiting = CountGuard::new(&self.writer_waiting);
            lock(&self.writer)
        };
        self.writer_busy.store(true, Ordering::SeqCst);
        *lock(&self.writer_holder) = Some(me);
        struct Idle<'a>(&'a ConnectionPool);
        impl Drop for Idle<'_> {
            fn drop(&mut self) {
                *lock(&self.0.writer_holder) = None;
                self.0.writer_busy.store(false, Ordering::SeqCst);
            }
        }
        let _idle = Idle(self);
        f(&mut conn)
    }

    /// Checks a reader out, waiting while all are busy. `None` when the pool
    /// has no readers.
    pub(crate) fn reader(&self) -> Option<ReaderGuard<'_>> {
        if self.reader_count == 0 {
            return None;
        }
        let mut idle = lock(&self.idle_readers);
        if idle.is_empty() {
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

    /// Runs `f` on a reader, or on the writer when there are no readers.
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match self.reader() {
            Some(conn) => f(&conn),
            None => self.with_writer(|conn| f(conn)),
        }
    }

    /// The pool's numbers. `idle_in_transaction` is always 0: a call never
    /// leaves a transaction open when it returns its connection.
    pub(crate) fn status(&self) -> PoolStatus {
        let total = self.reader_count as i64 + 1;
        let active = self.readers_busy.load(Ordering::SeqCst)
            + i64::from(self.writer_busy.load(Ordering::SeqCst));
        PoolStatus {
            backend: "sqlite".to_owned(),
            max_connections: total,
            total,
            active,
            idle: total - active,
            idle_in_transaction: 0,
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
