//! The exactness test of the PostgreSQL shared result cache, as plain data
//! and pure functions (the extension keeps [`WriterLog`]s in shared memory
//! and builds a [`SnapshotXids`] from the caller's snapshot).
//!
//! A cached result is exact for a caller when the caller's snapshot sees the
//! same committed changes of the data behind it as the snapshot that
//! computed it. Every transaction that changed that data records its
//! transaction id in the data's [`WriterLog`] *before* it becomes visible
//! (PostgreSQL's pre-commit and pre-prepare events), which advances
//! [`WriterLog::seq`]. Then:
//!
//! - an entry is stored only when the computing snapshot sees every recorded
//!   writer as finished ([`WriterLog::all_finished`]), and is tagged with
//!   `seq` at that moment;
//! - it is served only while `seq` is unchanged (no writer recorded since)
//!   and the caller's snapshot, too, sees every recorded writer as finished.
//!
//! Both snapshots then see exactly the recorded writers' changes — all of
//! them — and no others: a writer not yet recorded has not committed, so
//! neither snapshot sees it. "Finished" means committed or aborted; an
//! aborted writer changed nothing, so both agree on it as well. No commit
//! callback is needed, and a reader whose snapshot predates a commit can
//! neither store nor be served a result that lacks it.
//!
//! A store may split its data into parts, each with its own log, as long
//! as every writer is recorded in the log of every part it changed, and an
//! entry depends on the parts of one log only: the argument below holds for
//! each log on its own. (The extension keeps one for the statistics' data,
//! one per bucket of dataset names, and one for every job row, which every
//! writer of jobs is recorded in; a heartbeat changes only job rows.)
//!
//! A log names only its latest [`RECENT_WRITERS`] writers. An older writer
//! leaves the ring when a newer one is recorded, and is then covered in one
//! of two ways:
//!
//! - it had finished by then (the usual case): a snapshot that sees the
//!   newer writer as finished was taken after the newer writer committed,
//!   so after the older one had finished, and sees it as finished too. The
//!   newer writer is in the ring, or left it the same way, and so on up to
//!   a writer in the ring, which every check tests. Nothing more is kept;
//! - it was still running (a prepared transaction, or a commit slower than
//!   eight others): [`WriterLog::floor`] keeps the highest such id, and a
//!   snapshot passes only when every id up to it had finished before the
//!   snapshot's `xmin`.
//!
//! So a transaction that stays open elsewhere — which holds every
//! snapshot's `xmin` back — stops hits only while it is itself one of the
//! recorded writers.
//!
//! Transaction ids are 64-bit ("full") here so that comparisons hold across
//! wraparound; a snapshot's 32-bit ids are widened with [`widen`].

/// Writers remembered by id per log; older ones are summarised by
/// [`WriterLog::floor`].
pub const RECENT_WRITERS: usize = 8;

/// The writers recorded for one part of the data (all jobs, or one hash
/// bucket of dataset names). Plain data, all-zero when empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct WriterLog {
    /// How many writers were recorded: the tag of entries stored now.
    pub seq: u64,
    /// Every writer id dropped from `recent` while it was still running is
    /// at most this (0: none).
    pub floor: u64,
    /// The latest writer ids (0: empty slot), a ring.
    pub recent: [u64; RECENT_WRITERS],
    /// The ring's next slot.
    pub next: u32,
}

/// What a snapshot says about transaction ids, widened to 64 bits.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotXids<'a> {
    /// Every id below this had finished when the snapshot was taken.
    pub xmin: u64,
    /// No id at or above this had finished.
    pub xmax: u64,
    /// Ids in `[xmin, xmax)` still running then (32-bit, as PostgreSQL keeps
    /// them).
    pub running: &'a [u32],
}

impl SnapshotXids<'_> {
    /// Whether transaction `xid` had finished (committed or aborted) when
    /// the snapshot was taken.
    pub fn finished(&self, xid: u64) -> bool {
        xid < self.xmin || (xid < self.xmax && !self.running.contains(&(xid as u32)))
    }
}

impl WriterLog {
    /// Records a writer that is about to commit (or prepare). `xid` 0: a
    /// change noted without a transaction id, which only retires the
    /// entries stored so far. `running` says whether a transaction id is
    /// still running now (for the writer the new one pushes out of the
    /// ring; see the module documentation).
    pub fn record(&mut self, xid: u64, running: impl FnOnce(u64) -> bool) {
        self.seq += 1;
        if xid == 0 {
            return;
        }
        let slot = &mut self.recent[self.next as usize % RECENT_WRITERS];
        if *slot != 0 && running(*slot) {
            self.floor = self.floor.max(*slot);
        }
        *slot = xid;
        self.next = (self.next + 1) % RECENT_WRITERS as u32;
    }

    /// Treats every transaction below `next_xid` as a possible writer: after
    /// a server (re)start the log is empty, while prepared transactions from
    /// before it may still commit.
    pub fn assume_writers_before(&mut self, next_xid: u64) {
        self.floor = self.floor.max(next_xid.saturating_sub(1));
    }

    /// Whether `snapshot` sees every recorded writer as finished.
    pub fn all_finished(&self, snapshot: &SnapshotXids<'_>) -> bool {
        (self.floor == 0 || self.floor < snapshot.xmin)
            && self
                .recent
                .iter()
                .all(|&xid| xid == 0 || snapshot.finished(xid))
    }
}

/// The 64-bit id of the 32-bit `xid`, which is at most 2^31 transactions
/// before `next_full` (the next id to be assigned), as every id in a live
/// snapshot is.
pub fn widen(xid: u32, next_full: u64) -> u64 {
    next_full.wrapping_sub(u64::from((next_full as u32).wrapping_sub(xid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(xmin: u64, xmax: u64, running: &[u32]) -> SnapshotXids<'_> {
        SnapshotXids {
            xmin,
            xmax,
            running,
        }
    }

    #[test]
    fn finished_follows_xmin_xmax_and_running() {
        let s = snap(100, 110, &[103, 105]);
        assert!(s.finished(99));
        assert!(s.finished(100));
        assert!(!s.finished(103));
        assert!(s.finished(104));
        assert!(!s.finished(110));
        assert!(!s.finished(200));
    }

    #[test]
    fn empty_log_is_seen_by_any_snapshot() {
        assert!(WriterLog::default().all_finished(&snap(3, 3, &[])));
    }

    /// No writer is still running when it leaves the ring.
    fn done(_: u64) -> bool {
        false
    }

    #[test]
    fn a_running_or_later_writer_is_not_finished() {
        let mut log = WriterLog::default();
        log.record(105, done);
        assert_eq!(log.seq, 1);
        assert!(!log.all_finished(&snap(100, 110, &[105])));
        assert!(!log.all_finished(&snap(100, 105, &[])));
        assert!(log.all_finished(&snap(100, 110, &[103])));
        assert!(log.all_finished(&snap(106, 106, &[])));
    }

    #[test]
    fn a_writer_still_running_when_it_leaves_the_ring_is_kept_by_the_floor() {
        let mut log = WriterLog::default();
        // 500, a prepared transaction, is recorded first and pushed out of
        // the ring by the eighth writer after it while still running.
        log.record(500, done);
        for xid in 1000..1000 + RECENT_WRITERS as u64 {
            log.record(xid, |old| old == 500);
        }
        assert_eq!(log.floor, 500);
        assert_eq!(log.seq, RECENT_WRITERS as u64 + 1);
        // 500 still running: not finished, although no ring slot names it.
        assert!(!log.all_finished(&snap(500, 2000, &[500])));
        assert!(log.all_finished(&snap(501, 2000, &[])));
    }

    #[test]
    fn a_long_transaction_elsewhere_does_not_stop_hits() {
        // Transaction 90 stays open (never a writer): every snapshot's xmin
        // is 90 and lists it as running. Writers 100.. commit one after
        // another, far more than the ring holds.
        let mut log = WriterLog::default();
        let mut committed = Vec::new();
        for xid in 100..100 + 3 * RECENT_WRITERS as u64 {
            log.record(xid, |old| !committed.contains(&old));
            committed.push(xid);
        }
        assert_eq!(log.floor, 0);
        let after_all = 100 + 3 * RECENT_WRITERS as u64;
        assert!(log.all_finished(&snap(90, after_all, &[90])));
        // A snapshot taken before the last writer committed sees it running.
        assert!(!log.all_finished(&snap(90, after_all, &[90, after_all as u32 - 1])));
        assert!(!log.all_finished(&snap(90, after_all - 1, &[90])));
    }

    #[test]
    fn a_snapshot_that_sees_the_newest_writer_sees_every_evicted_one() {
        // The argument of the module documentation, exhaustively on small
        // histories: writers commit in the order recorded, each evicted one
        // had finished. A snapshot taken after k commits sees exactly the
        // first k writers finished; the check must pass exactly when k is
        // every writer recorded.
        let n = 3 * RECENT_WRITERS as u64;
        let mut log = WriterLog::default();
        for (i, xid) in (10..10 + n).enumerate() {
            log.record(xid, |old| old >= 10 + i as u64);
        }
        for k in 0..=n {
            let running: Vec<u32> = (10 + k..10 + n).map(|x| x as u32).collect();
            let s = snap(10, 10 + n, &running);
            assert_eq!(log.all_finished(&s), k == n, "after {k} commits");
        }
    }

    #[test]
    fn a_note_without_xid_only_advances_seq() {
        let mut log = WriterLog::default();
        log.record(0, done);
        assert_eq!(log.seq, 1);
        assert_eq!(log.recent, [0; RECENT_WRITERS]);
    }

    #[test]
    fn restart_floor_requires_older_transactions_finished() {
        let mut log = WriterLog::default();
        log.assume_writers_before(1000);
        assert!(!log.all_finished(&snap(998, 1000, &[998])));
        assert!(log.all_finished(&snap(1000, 1000, &[])));
    }

    #[test]
    fn widen_crosses_the_epoch() {
        let next = (5u64 << 32) | 10;
        assert_eq!(widen(10, next), next);
        assert_eq!(widen(3, next), (5u64 << 32) | 3);
        assert_eq!(
            widen(u32::MAX - 5, next),
            (4u64 << 32) | u64::from(u32::MAX - 5)
        );
    }
}
