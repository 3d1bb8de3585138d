//! `export_jobs`: every job, whole, a page at a time from one snapshot.
//!
//! An export holds one connection of the store's pool from its call to its
//! end, inside one read transaction: `BEGIN DEFERRED`, whose first SELECT
//! (the first page, read by the call itself) fixes the WAL snapshot that
//! every later page reads, so commits made meanwhile — by this store,
//! another process or plain SQL — change nothing of what the export
//! returns, and writers do not wait for it (WAL). Each page is one index
//! seek after the last row's `(created_at, job_id)` plus its
//! [`EXPORT_PAGE`] rows, and only the current page is in memory. The
//! transaction ends, and the connection goes back to the pool, when the
//! last page has been read, when a page fails (the error is the export's
//! last item) or when the iterator is dropped.

use jobtrack_core::{JobRecord, Result, Timestamp, EXPORT_PAGE};
use rusqlite::params;

use crate::error::DbResultExt;
use crate::pool::ExportLease;
use crate::queries;

/// A read transaction: the snapshot is taken by its first SELECT.
const BEGIN: &str = "BEGIN DEFERRED";
const COMMIT: &str = "COMMIT";
const ROLLBACK: &str = "ROLLBACK";

/// [`EXPORT_PAGE`] as the LIMIT the queries bind.
const PAGE_LIMIT: i64 = EXPORT_PAGE as i64;

/// The rows of one export; see the module.
pub(crate) struct Export<'a> {
    /// The connection inside the export's read transaction; `None` once the
    /// last page has been read or a page failed.
    lease: Option<ExportLease<'a>>,
    /// The page being handed out.
    page: std::vec::IntoIter<JobRecord>,
    /// The key of the page's last row, `(created_at, job_id)` as stored,
    /// where the next page starts.
    last_key: Option<(String, String)>,
}

impl<'a> Export<'a> {
    /// Opens the read transaction on `lease` and reads the first page, the
    /// jobs created at or after `from`. An error ends the transaction and
    /// returns the connection.
    pub(crate) fn start(lease: ExportLease<'a>, from: Timestamp) -> Result<Export<'a>> {
        lease.prepare_cached(BEGIN).db()?.execute([]).db()?;
        let mut export = Export {
            lease: Some(lease),
            page: Vec::new().into_iter(),
            last_key: None,
        };
        // The first page is the page after (from, ''): every job_id is at
        // least one character, so that is every job created at or after
        // `from`, and one query serves every page.
        export.read_page(params![from.to_string(), "", PAGE_LIMIT])?;
        Ok(export)
    }

    /// Reads the page after the key in `params` (`EXPORT_JOBS`) into
    /// memory; a short page is the last one, after which the transaction
    /// ends at once. An error ends it too.
    fn read_page(&mut self, params: &[&dyn rusqlite::ToSql]) -> Result<()> {
        let Some(lease) = &self.lease else {
            return Ok(());
        };
        let read = || -> Result<Vec<JobRecord>> {
            let _reading = lease.reading();
            let mut stmt = lease.prepare_cached(queries::EXPORT_JOBS).db()?;
            let rows = stmt.query_map(params, queries::job_record).db()?;
            let mut page = Vec::with_capacity(EXPORT_PAGE);
            for row in rows {
                page.push(row.db()?);
            }
            Ok(page)
        };
        match read() {
            Ok(page) => {
                if page.len() < EXPORT_PAGE {
                    self.end(true);
                }
                // Display writes the stored fixed-width text back.
                self.last_key = page
                    .last()
                    .map(|r| (r.created_at.to_string(), r.job_id.clone()));
                self.page = page.into_iter();
                Ok(())
            }
            Err(e) => {
                self.end(false);
                Err(e)
            }
        }
    }

    /// Ends the read transaction (committed when the export read all it
    /// had to, else rolled back) and gives the connection back. Nothing to
    /// report on failure: a read transaction has nothing to lose, and one
    /// that SQLite ended by itself is already over.
    fn end(&mut self, read_to_the_end: bool) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        if lease.is_autocommit() {
            return;
        }
        let ended = read_to_the_end && lease.execute_batch(COMMIT).is_ok();
        if !ended {
            let _ = lease.execute_batch(ROLLBACK);
        }
        // A connection left in the transaction would show the next reads
        // this snapshot: it cannot be, both statements end any read
        // transaction that has no statement running (each page's statement
        // is reset when its rows are read). Not checked while unwinding: a
        // second panic would abort.
        debug_assert!(
            std::thread::panicking() || lease.is_autocommit(),
            "the export's transaction is over"
        );
    }
}

impl Iterator for Export<'_> {
    type Item = Result<JobRecord>;

    fn next(&mut self) -> Option<Result<JobRecord>> {
        if let Some(record) = self.page.next() {
            return Some(Ok(record));
        }
        // The page is spent; with the transaction still open, it was full
        // and more may follow.
        self.lease.as_ref()?;
        let (created_at, job_id) = self.last_key.take()?;
        match self.read_page(params![created_at, job_id, PAGE_LIMIT]) {
            Ok(()) => self.page.next().map(Ok),
            Err(e) => Some(Err(e)),
        }
    }
}

impl Drop for Export<'_> {
    fn drop(&mut self) {
        self.end(false);
    }
}
