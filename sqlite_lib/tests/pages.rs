//! Keyset pagination of `get_all_jobs_optimized` and `get_running_jobs`:
//! `lim` rows after the job `after`, in the listing's order (`created_at`
//! descending, then `job_id` descending).

mod common;

use common::*;
use jobtrack_sqlite::{Error, Job, JobStore, RunningJob, Status};

/// A walk that returns more rows than the store holds repeats rows: stop
/// it rather than loop for ever.
const MOST_ROWS: usize = 1000;

/// The ids `page` returns, one page of `lim` at a time, each page starting
/// after the last row of the previous one, until a page is not full.
fn walk(lim: i32, mut page: impl FnMut(Option<&str>) -> Vec<String>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    loop {
        let ids = page(seen.last().map(String::as_str));
        assert!(ids.len() <= lim as usize);
        let full = ids.len() == lim as usize;
        seen.extend(ids);
        assert!(seen.len() <= MOST_ROWS, "the pages repeat rows: {seen:?}");
        if !full {
            return seen;
        }
    }
}

/// Every job of `store` in listing order, walked in pages of `lim`.
fn walk_all(store: &JobStore, lim: i32) -> Vec<String> {
    walk(lim, |after| {
        all_ids(&store.get_all_jobs_optimized(lim, after).unwrap())
    })
}

/// Every active job of `store` in listing order, walked in pages of `lim`.
fn walk_running(store: &JobStore, lim: i32) -> Vec<String> {
    walk(lim, |after| {
        running_ids(&store.get_running_jobs(Some(lim), after).unwrap())
    })
}

fn all_ids(jobs: &[Job]) -> Vec<String> {
    jobs.iter().map(|j| j.job_id.clone()).collect()
}

fn running_ids(jobs: &[RunningJob]) -> Vec<String> {
    jobs.iter().map(|j| j.job_id.clone()).collect()
}

/// Batches of both kinds: each batch shares one created_at, so most rows
/// tie on it with others and are ordered by job_id; the ids are chosen so
/// that the job_id order differs from the creation order within a batch.
/// About a third end up done, so that the active jobs are a subset with
/// gaps.
fn populate(store: &JobStore) -> usize {
    let mut n = 0;
    for batch in 0..6 {
        let es: Vec<_> = (0..5)
            .map(|i| exec(&format!("e{}-{batch}", (i * 7) % 5)))
            .collect();
        store.batch_create_executions(&es).unwrap();
        let vs: Vec<_> = (0..4)
            .map(|i| var(&format!("v{}-{batch}", (i * 3) % 4)))
            .collect();
        store.batch_create_variations(&vs).unwrap();
        n += es.len() + vs.len();
        let done: Vec<_> = es
            .iter()
            .step_by(3)
            .map(|e| upd(&e.job_id, Status::Done))
            .collect();
        store.batch_update_execution_status(&done).unwrap();
        store
            .update_variation_status(&vs[1].job_id, Status::Failed, Some("boom"))
            .unwrap();
        // A new millisecond for the next batch, so that there are distinct
        // created_at values as well as ties.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    n
}

#[test]
fn pages_walk_every_job_once_in_order() {
    let store = JobStore::open_in_memory().unwrap();
    let n = populate(&store);
    let everything = store.get_all_jobs_optimized(10_000, None).unwrap();
    assert_eq!(everything.len(), n);
    for pair in everything.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            (a.created_at, &a.job_id) > (b.created_at, &b.job_id),
            "{} then {}",
            a.job_id,
            b.job_id
        );
    }
    assert!(
        everything
            .windows(2)
            .any(|p| p[0].created_at == p[1].created_at),
        "the data must have ties on created_at"
    );
    let expected = all_ids(&everything);
    for lim in [1, 3, n as i32 + 5] {
        assert_eq!(walk_all(&store, lim), expected, "pages of {lim}");
    }

    let running = store.get_running_jobs(None, None).unwrap();
    assert!(running.len() > 3 && running.len() < n);
    let expected = running_ids(&running);
    // The active jobs in the order of the listing of all jobs.
    let active: Vec<String> = everything
        .iter()
        .filter(|j| j.status.is_active())
        .map(|j| j.job_id.clone())
        .collect();
    assert_eq!(expected, active);
    for lim in [1, 3, n as i32 + 5] {
        assert_eq!(walk_running(&store, lim), expected, "pages of {lim}");
    }
    // lim without a cursor is the first page; lim 0 an empty one.
    assert_eq!(
        running_ids(&store.get_running_jobs(Some(2), None).unwrap()),
        expected[..2]
    );
    assert!(store.get_running_jobs(Some(0), None).unwrap().is_empty());
    assert!(store
        .get_all_jobs_optimized(0, Some(&expected[0]))
        .unwrap()
        .is_empty());
    // After the last row: an empty page, not an error.
    let last = everything.last().unwrap();
    assert!(store
        .get_all_jobs_optimized(10, Some(&last.job_id))
        .unwrap()
        .is_empty());
}

#[test]
fn a_cursor_of_the_other_kind_or_no_longer_active() {
    let store = JobStore::open_in_memory().unwrap();
    populate(&store);
    let everything = all_ids(&store.get_all_jobs_optimized(10_000, None).unwrap());
    let position = |id: &str| everything.iter().position(|x| x == id).unwrap();

    // A finished execution as the cursor of the running listing: the page
    // is the active jobs after its place in the order.
    let done = store
        .get_all_jobs_optimized(10_000, None)
        .unwrap()
        .into_iter()
        .find(|j| j.status == Status::Done && j.job_id.starts_with('e'))
        .unwrap();
    let after_done: Vec<String> = store
        .get_all_jobs_optimized(10_000, None)
        .unwrap()
        .into_iter()
        .skip(position(&done.job_id) + 1)
        .filter(|j| j.status.is_active())
        .map(|j| j.job_id)
        .collect();
    assert_eq!(
        running_ids(&store.get_running_jobs(None, Some(&done.job_id)).unwrap()),
        after_done
    );

    // Paging the running jobs while the cursor's job finishes: the next
    // page goes on from where the finished job stood.
    let running = running_ids(&store.get_running_jobs(None, None).unwrap());
    let first = running_ids(&store.get_running_jobs(Some(3), None).unwrap());
    let cursor = first.last().unwrap().clone();
    if cursor.starts_with('e') {
        store
            .update_execution_status(&cursor, Status::Done, None)
            .unwrap();
    } else {
        store
            .update_variation_status(&cursor, Status::Cancelled, None)
            .unwrap();
    }
    let next = running_ids(&store.get_running_jobs(Some(3), Some(&cursor)).unwrap());
    assert_eq!(next, running[3..6]);
    // It is no longer listed itself.
    assert!(!running_ids(&store.get_running_jobs(None, None).unwrap()).contains(&cursor));

    // Either kind as the cursor of either listing: a variation followed by
    // an execution and the other way round.
    let all = store.get_all_jobs_optimized(10_000, None).unwrap();
    for (kind, other) in [('v', 'e'), ('e', 'v')] {
        let i = all
            .windows(2)
            .position(|p| p[0].job_id.starts_with(kind) && p[1].job_id.starts_with(other))
            .unwrap_or_else(|| panic!("no {kind} followed by {other}"));
        let page = store
            .get_all_jobs_optimized(2, Some(&all[i].job_id))
            .unwrap();
        assert_eq!(all_ids(&page), all_ids(&all[i + 1..i + 3]));
    }
}

#[test]
fn ties_across_kinds_on_one_created_at() {
    // Plain SQL gives an execution and variations the very same created_at;
    // the order is then job_id descending across both tables.
    let (dir, store) = file_store();
    store
        .batch_create_executions(&[exec("b"), exec("d"), exec("f")])
        .unwrap();
    store
        .batch_create_variations(&[var("a"), var("c"), var("e")])
        .unwrap();
    let conn = raw(&db_path(&dir));
    conn.execute(
        "UPDATE variations SET created_at = (SELECT created_at FROM executions WHERE job_id = 'b')",
        [],
    )
    .unwrap();
    let expected = ["f", "e", "d", "c", "b", "a"];
    assert_eq!(
        all_ids(&store.get_all_jobs_optimized(10, None).unwrap()),
        expected
    );
    for lim in [1, 2, 4] {
        assert_eq!(walk_all(&store, lim), expected, "pages of {lim}");
        assert_eq!(walk_running(&store, lim), expected, "pages of {lim}");
    }
    assert_eq!(
        all_ids(&store.get_all_jobs_optimized(2, Some("d")).unwrap()),
        ["c", "b"]
    );
    assert_eq!(
        running_ids(&store.get_running_jobs(None, Some("c")).unwrap()),
        ["b", "a"]
    );
}

fn assert_invalid(err: Error, field: &str, problem: &str) {
    assert_eq!(err.sqlstate(), "22023", "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("\"{field}\"")) && text.contains(problem),
        "{text}"
    );
}

#[test]
fn bad_cursors_and_limits_are_22023() {
    let store = JobStore::open_in_memory().unwrap();
    store.batch_create_executions(&[exec("e")]).unwrap();
    store.create_variation(&var("v")).unwrap();
    for unknown in ["nope", "E", "e ", "'; DROP TABLE executions; --"] {
        assert_invalid(
            store.get_all_jobs_optimized(10, Some(unknown)).unwrap_err(),
            "after",
            "names no job",
        );
        assert_invalid(
            store.get_running_jobs(Some(10), Some(unknown)).unwrap_err(),
            "after",
            "names no job",
        );
        assert_invalid(
            store.get_running_jobs(None, Some(unknown)).unwrap_err(),
            "after",
            "names no job",
        );
    }
    // A job deleted since it ended a page: its id is no cursor any more.
    store.batch_create_executions(&[exec("gone")]).unwrap();
    assert!(store
        .get_all_jobs_optimized(10, Some("gone"))
        .unwrap()
        .iter()
        .any(|j| j.job_id == "e"));
    store
        .update_execution_status("gone", Status::Done, None)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert_eq!(
        store.cleanup_old_jobs(0, false).unwrap().executions_deleted,
        1
    );
    assert_invalid(
        store.get_all_jobs_optimized(10, Some("gone")).unwrap_err(),
        "after",
        "names no job",
    );

    let too_long = "x".repeat(65);
    assert_invalid(
        store
            .get_all_jobs_optimized(10, Some(&too_long))
            .unwrap_err(),
        "after",
        "got 65",
    );
    assert_invalid(
        store.get_running_jobs(None, Some("")).unwrap_err(),
        "after",
        "got 0",
    );
    for lim in [-1, 10_001, i32::MIN, i32::MAX] {
        // lim is checked before the cursor is looked up.
        assert_invalid(
            store.get_all_jobs_optimized(lim, Some("nope")).unwrap_err(),
            "lim",
            &lim.to_string(),
        );
        assert_invalid(
            store.get_running_jobs(Some(lim), Some("nope")).unwrap_err(),
            "lim",
            &lim.to_string(),
        );
    }
}
