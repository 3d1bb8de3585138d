//! The write operations, written once for both backends.
//!
//! Each operation is two steps. The *check* needs no database: it validates
//! the whole input (element-indexed 22023, nothing applied), rejects an id
//! named twice in a create batch (23505), keeps the later of two updates of
//! one job, and turns every status into its [`StatusEffects`]. The *apply*
//! runs inside the backend's write transaction, against a [`WriteBackend`]:
//! the existence check of new ids across both kinds, then the statements.
//! A backend only runs statements and converts rows; what an operation
//! means is decided here.
//!
//! The split lets a backend do the check before it waits for its write lock
//! (SQLite), and keeps the apply free of anything but statements.

use crate::domain::{JobType, Status, StatusEffects};
use crate::error::{Error, Result};
use crate::input::check_no_nul;
use crate::input::{
    check_current_step, check_days, check_int, check_unique_ids, last_update_wins, limits,
    validate_batch, JobInput, NewExecution, NewVariation, StatusUpdate, MAX_LIMIT,
};
use crate::output::{CleanupReport, Job, PruneReport};
use crate::record::JobRecord;
use crate::stale::{stale_message, StaleAfter, StaleJob};
use crate::time::Timestamp;

/// One job's status change, ready to bind: the job, the effects of its new
/// status and the message given with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange<'a> {
    /// The job to change.
    pub job_id: &'a str,
    /// What its new status does.
    pub effects: StatusEffects,
    /// The message given with the change.
    pub error_message: Option<&'a str>,
}

/// A new variation's parameter objects as the text both backends store:
/// numbers in PostgreSQL numeric's canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredParameters {
    /// `varied_parameters`.
    pub varied_parameters: String,
    /// `parameter_values`.
    pub parameter_values: String,
}

/// The statements a backend runs for the write operations, inside one
/// transaction it holds. Each takes input this module has checked.
pub trait WriteBackend {
    /// The first of `ids`, in their order, that names a job of either kind.
    fn first_existing_id(&mut self, ids: &[&str]) -> Result<Option<String>>;

    /// Inserts new executions, each with the effects of its initial status
    /// as if it had just entered it; no id exists yet.
    fn insert_executions(&mut self, jobs: &[NewExecution]) -> Result<()>;

    /// Inserts new variations, `parameters[i]` being those of `jobs[i]`.
    fn insert_variations(
        &mut self,
        jobs: &[NewVariation],
        parameters: &[StoredParameters],
    ) -> Result<()>;

    /// Inserts whole executions as they are (`import_jobs`): every column
    /// as the record gives it, nothing stamped or derived; no id exists yet.
    fn import_executions(&mut self, records: &[&JobRecord]) -> Result<()>;

    /// Inserts whole variations as they are, `parameters[i]` being those of
    /// `records[i]`.
    fn import_variations(
        &mut self,
        records: &[&JobRecord],
        parameters: &[StoredParameters],
    ) -> Result<()>;

    /// Applies one change per job (no job twice) to the jobs of
    /// `job_type`, skipping unknown ids; returns how many jobs changed.
    fn update_status(&mut self, job_type: JobType, changes: &[StatusChange<'_>]) -> Result<u64>;

    /// Sets `current_step` of the job of either kind; false when there is
    /// none.
    fn update_progress(&mut self, job_id: &str, current_step: i32) -> Result<bool>;

    /// The time the transaction's changes are stamped with.
    fn now(&mut self) -> Timestamp;

    /// Deletes the jobs in a terminal status created before `cutoff`,
    /// keeping failed ones when `keep_failed`.
    fn delete_finished_before(
        &mut self,
        cutoff: Timestamp,
        keep_failed: bool,
    ) -> Result<CleanupReport>;

    /// One batch of `prune_jobs`: deletes the `batch_size` jobs created
    /// first among those [`delete_finished_before`] would delete (or fewer,
    /// when a concurrent change takes a job out of the set before it is
    /// locked). Returns what was deleted and how many jobs were chosen.
    ///
    /// [`delete_finished_before`]: WriteBackend::delete_finished_before
    fn delete_finished_batch(
        &mut self,
        cutoff: Timestamp,
        keep_failed: bool,
        batch_size: i32,
    ) -> Result<PruneBatch>;

    /// Up to `n` pending jobs of either kind, the oldest `created_at` first
    /// (ties on job_id), locked for this transaction; jobs another
    /// transaction holds are passed over, never waited for.
    fn lock_pending(&mut self, n: i32) -> Result<Vec<(JobType, String)>>;

    /// The jobs that expect heartbeats ([`Status::expects_heartbeats`])
    /// whose last sign of life — the later of `last_heartbeat` and
    /// `updated_at` — lies before `cutoff`, locked for this transaction, in
    /// job_id order; jobs another transaction holds are passed over, never
    /// waited for, and a job changed since the statement's snapshot is
    /// judged again on its new version (a heartbeat that committed first
    /// keeps its job).
    fn lock_stale(&mut self, cutoff: Timestamp) -> Result<Vec<StaleJob>>;

    /// Records a heartbeat of the active job `job_id` of either kind (its
    /// `last_heartbeat` set to now); false when no active job has that id.
    fn heartbeat(&mut self, job_id: &str) -> Result<bool>;

    /// Records `worker` on the executions and variations named (locked by
    /// this transaction).
    fn set_worker(&mut self, executions: &[&str], variations: &[&str], worker: &str) -> Result<()>;

    /// The Job rows of `job_ids` that exist, in any order.
    fn get_jobs(&mut self, job_ids: &[&str]) -> Result<Vec<Job>>;

    /// Rebuilds the derived tables; returns the summary table's row count.
    fn rebuild_derived_tables(&mut self) -> Result<i64>;

    /// The Job row of `job_id`, either kind.
    fn get_job(&mut self, job_id: &str) -> Result<Option<Job>>;
}

/// What a new job of one kind needs from its backend.
pub trait NewJob: JobInput {
    /// Inserts `jobs` of this kind.
    fn insert(backend: &mut dyn WriteBackend, jobs: &[Self]) -> Result<()>;
}

impl NewJob for NewExecution {
    fn insert(backend: &mut dyn WriteBackend, jobs: &[Self]) -> Result<()> {
        backend.insert_executions(jobs)
    }
}

impl NewJob for NewVariation {
    fn insert(backend: &mut dyn WriteBackend, jobs: &[Self]) -> Result<()> {
        let parameters = jobs
            .iter()
            .enumerate()
            .map(|(i, job)| {
                let (varied_parameters, parameter_values) = job.parameters_json(Some(i))?;
                Ok(StoredParameters {
                    varied_parameters,
                    parameter_values,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        backend.insert_variations(jobs, &parameters)
    }
}

/// The check of `create_*`: the job valid (errors name no element).
pub fn check_create<T: JobInput>(job: &T) -> Result<()> {
    job.validate(None)
}

/// The check of `batch_create_*`: every element valid, no id twice.
pub fn check_creates<T: JobInput>(jobs: &[T]) -> Result<()> {
    validate_batch(jobs)?;
    check_unique_ids(jobs)
}

/// The ids of `jobs`, in input order; 23505 naming the first that a job
/// of either kind has already.
fn refuse_existing<'a, T: JobInput>(
    backend: &mut dyn WriteBackend,
    jobs: &'a [T],
) -> Result<Vec<&'a str>> {
    let ids: Vec<&str> = jobs.iter().map(JobInput::job_id).collect();
    if let Some(existing) = backend.first_existing_id(&ids)? {
        return Err(Error::duplicate(&existing));
    }
    Ok(ids)
}

/// Creates checked jobs ([`check_creates`]); returns their ids in input
/// order. 23505 naming the first id, in input order, that a job of either
/// kind has already.
pub fn create<T: NewJob>(backend: &mut dyn WriteBackend, jobs: &[T]) -> Result<Vec<String>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let ids = refuse_existing(backend, jobs)?;
    T::insert(backend, jobs)?;
    Ok(ids.into_iter().map(str::to_owned).collect())
}

/// Restores checked whole jobs ([`check_creates`] checks records too):
/// both kinds, every column as given, all or none; returns how many. 23505
/// naming the first id, in input order, that a job of either kind has
/// already.
pub fn import_jobs(backend: &mut dyn WriteBackend, records: &[JobRecord]) -> Result<i32> {
    if records.is_empty() {
        return Ok(0);
    }
    refuse_existing(backend, records)?;
    // Each variation's parameters name its element in the whole call.
    let mut executions = Vec::new();
    let mut variations = Vec::new();
    let mut parameters = Vec::new();
    for (i, record) in records.iter().enumerate() {
        match record.parameters_json(Some(i))? {
            None => executions.push(record),
            Some(stored) => {
                variations.push(record);
                parameters.push(stored);
            }
        }
    }
    if !executions.is_empty() {
        backend.import_executions(&executions)?;
    }
    if !variations.is_empty() {
        backend.import_variations(&variations, &parameters)?;
    }
    // At most MAX_BATCH (1,000,000) records: check_creates refused more.
    Ok(i32::try_from(records.len()).unwrap_or(i32::MAX))
}

/// Creates one checked job ([`check_create`]) and returns its row.
pub fn create_one<T: NewJob>(backend: &mut dyn WriteBackend, job: &T) -> Result<Job> {
    create(backend, std::slice::from_ref(job))?;
    backend
        .get_job(job.job_id())?
        .ok_or_else(|| Error::database("XX000", "jobtrack: the created job is not visible"))
}

fn change(update: &StatusUpdate) -> StatusChange<'_> {
    StatusChange {
        job_id: &update.job_id,
        effects: update.status.effects(),
        error_message: update.error_message.as_deref(),
    }
}

/// The check of `update_*_status`: the update valid (errors name no
/// element), its status turned into its effects.
pub fn check_status_update(update: &StatusUpdate) -> Result<StatusChange<'_>> {
    update.validate(None)?;
    Ok(change(update))
}

/// The check of `batch_update_*_status`: every element valid; of two
/// updates of one job the later wins; each status turned into its effects.
pub fn check_status_updates(updates: &[StatusUpdate]) -> Result<Vec<StatusChange<'_>>> {
    validate_batch(updates)?;
    Ok(last_update_wins(updates).into_iter().map(change).collect())
}

/// Applies checked status changes ([`check_status_updates`]) to the jobs of
/// `job_type`; returns how many jobs changed.
pub fn update_status(
    backend: &mut dyn WriteBackend,
    job_type: JobType,
    changes: &[StatusChange<'_>],
) -> Result<i32> {
    if changes.is_empty() {
        return Ok(0);
    }
    let changed = backend.update_status(job_type, changes)?;
    // At most MAX_BATCH jobs change.
    i32::try_from(changed).map_err(|_| Error::database("XX000", "jobtrack: row count out of range"))
}

/// The check of `update_progress`: the step in range (22023).
pub fn check_progress(current_step: i32) -> Result<i32> {
    check_current_step(current_step.into())
}

/// Sets a job's progress (checked by [`check_progress`]).
pub fn update_progress(
    backend: &mut dyn WriteBackend,
    job_id: &str,
    current_step: i32,
) -> Result<bool> {
    backend.update_progress(job_id, current_step)
}

/// The check of `cleanup_old_jobs`: `days` not negative (22023).
pub fn check_cleanup(days: i32) -> Result<i32> {
    check_days(days.into())
}

/// The earliest time either schema stores (their CHECKs refuse the year 0
/// and before).
pub(crate) const EARLIEST_STORED_MICROS: i64 = Timestamp::EARLIEST_STORED.unix_micros();

/// The `created_at` before which `cleanup_old_jobs(days)` deletes: `days`
/// days of 86,400 seconds before `now`. `None` when that lies before every
/// timestamp the schemas store, so that nothing can be deleted. Checked
/// arithmetic: a cutoff that wrapped round would lie in the future and
/// delete new jobs.
pub fn cleanup_cutoff(now: Timestamp, days: i32) -> Option<Timestamp> {
    now.checked_minus_days(days.into())
        .filter(|cutoff| cutoff.unix_micros() >= EARLIEST_STORED_MICROS)
}

/// Deletes the finished jobs older than `days` (checked by
/// [`check_cleanup`]); a `days` reaching back before the year 1 deletes
/// nothing and runs no statement.
pub fn cleanup_old_jobs(
    backend: &mut dyn WriteBackend,
    days: i32,
    keep_failed: bool,
) -> Result<CleanupReport> {
    let now = backend.now();
    match cleanup_cutoff(now, days) {
        Some(cutoff) => backend.delete_finished_before(cutoff, keep_failed),
        None => Ok(CleanupReport {
            executions_deleted: 0,
            variations_deleted: 0,
            cache_entries_deleted: 0,
        }),
    }
}

/// What one batch of `prune_jobs` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneBatch {
    /// The jobs it deleted.
    pub deleted: CleanupReport,
    /// The jobs it chose to delete: fewer than `batch_size` when it took the
    /// last of them.
    pub chosen: i64,
}

/// The check of `prune_jobs`: `days` not negative and `batch_size` at least
/// 1 (22023 naming the argument).
pub fn check_prune(days: i32, batch_size: i32) -> Result<(i32, i32)> {
    Ok((
        check_days(days.into())?,
        check_int(batch_size.into(), None, "batch_size", 1)?,
    ))
}

/// The `created_at` before which `prune_jobs(days)` deletes, fixed when it
/// starts so that every batch works towards the same end: as
/// [`cleanup_cutoff`].
pub fn prune_cutoff(now: Timestamp, days: i32) -> Option<Timestamp> {
    cleanup_cutoff(now, days)
}

/// One batch of `prune_jobs`, in a transaction of its own (checked by
/// [`check_prune`], `cutoff` from [`prune_cutoff`]): `report` with this
/// batch added, and whether another batch is due (this one found
/// `batch_size` jobs, so more may be left). With no cutoff nothing can be
/// old enough: no statement runs and no batch is counted.
pub fn prune_batch(
    backend: &mut dyn WriteBackend,
    cutoff: Option<Timestamp>,
    keep_failed: bool,
    batch_size: i32,
    report: PruneReport,
) -> Result<(PruneReport, bool)> {
    let Some(cutoff) = cutoff else {
        return Ok((report, false));
    };
    // Checked before anything is deleted: `report` comes from the caller
    // (the procedure passes back what the last batch returned).
    if !report.is_possible() {
        return Err(Error::invalid(
            None,
            "report",
            "must hold no negative figure: it is what the previous batch returned",
        ));
    }
    let batch = backend.delete_finished_batch(cutoff, keep_failed, batch_size)?;
    let total = report.plus(batch.deleted).ok_or_else(|| {
        Error::invalid(
            None,
            "report",
            "has figures too large to add this batch to: it is not what a batch returned",
        )
    })?;
    Ok((total, batch.chosen >= i64::from(batch_size)))
}

/// The check of `claim_next_jobs`: `n` from 1 to [`MAX_LIMIT`], `worker`
/// 1 to 255 characters (22023 naming the argument).
pub fn check_claim(n: i32, worker: &str) -> Result<i32> {
    if !(1..=MAX_LIMIT).contains(&n) {
        return Err(Error::invalid(
            None,
            "n",
            format!("must be an integer from 1 to {MAX_LIMIT}, got {n}"),
        ));
    }
    limits::WORKER.check(worker, None)?;
    Ok(n)
}

/// Claims up to `n` pending jobs (checked by [`check_claim`]), the oldest
/// first: each moves to `in_queue` with that status's effects, as a status
/// update would, and records `worker`. Returns their Job rows in the order
/// claimed. Jobs a concurrent claim holds are passed over, so two claims
/// never return the same job and never wait for each other.
pub fn claim_next_jobs(backend: &mut dyn WriteBackend, n: i32, worker: &str) -> Result<Vec<Job>> {
    let claimed = backend.lock_pending(n)?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let of = |job_type: JobType| -> Vec<&str> {
        claimed
            .iter()
            .filter(|(t, _)| *t == job_type)
            .map(|(_, id)| id.as_str())
            .collect()
    };
    let (executions, variations) = (of(JobType::Execution), of(JobType::Variation));
    let effects = Status::InQueue.effects();
    for (job_type, ids) in [
        (JobType::Execution, &executions),
        (JobType::Variation, &variations),
    ] {
        let changes: Vec<StatusChange<'_>> = ids
            .iter()
            .map(|job_id| StatusChange {
                job_id,
                effects,
                error_message: None,
            })
            .collect();
        if !changes.is_empty() {
            backend.update_status(job_type, &changes)?;
        }
    }
    backend.set_worker(&executions, &variations, worker)?;
    let ids: Vec<&str> = claimed.iter().map(|(_, id)| id.as_str()).collect();
    let mut jobs = backend.get_jobs(&ids)?;
    // In the order claimed: created_at, then job_id.
    jobs.sort_by(|a, b| (a.created_at, &a.job_id).cmp(&(b.created_at, &b.job_id)));
    Ok(jobs)
}

/// Records a heartbeat of the active job `job_id`: true when there is one.
pub fn heartbeat(backend: &mut dyn WriteBackend, job_id: &str) -> Result<bool> {
    backend.heartbeat(job_id)
}

/// The check of `fail_stale_jobs`: `error_message` without NUL (22023).
pub fn check_fail_stale(error_message: Option<&str>) -> Result<()> {
    match error_message {
        Some(m) => check_no_nul(m, None, "error_message"),
        None => Ok(()),
    }
}

/// Fails every job that expects heartbeats and has shown no sign of life
/// for longer than `stale_after`: each moves to `failed` with that status's
/// effects, as a status update would, with `error_message` or, when none is
/// given, one naming its last sign of life ([`stale_message`]). Returns how
/// many jobs failed. Jobs other transactions hold are passed over (the next
/// call judges them again); a heartbeat that commits first keeps its job.
pub fn fail_stale_jobs(
    backend: &mut dyn WriteBackend,
    stale_after: StaleAfter,
    error_message: Option<&str>,
) -> Result<i32> {
    let now = backend.now();
    let Some(cutoff) = stale_after.cutoff(now) else {
        return Ok(0);
    };
    let stale = backend.lock_stale(cutoff)?;
    let messages: Vec<String> = match error_message {
        Some(_) => Vec::new(),
        None => stale.iter().map(|j| stale_message(j.last_seen)).collect(),
    };
    let effects = Status::Failed.effects();
    let mut failed = 0;
    for job_type in [JobType::Execution, JobType::Variation] {
        let changes: Vec<StatusChange<'_>> = stale
            .iter()
            .enumerate()
            .filter(|(_, j)| j.job_type == job_type)
            .map(|(i, j)| StatusChange {
                job_id: &j.job_id,
                effects,
                error_message: error_message.or(messages.get(i).map(String::as_str)),
            })
            .collect();
        failed += update_status(backend, job_type, &changes)?;
    }
    Ok(failed)
}

/// Rebuilds the summary table and the counters from the base tables.
pub fn refresh_job_cache(backend: &mut dyn WriteBackend) -> Result<i64> {
    backend.rebuild_derived_tables()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PipelineMode, Status};

    /// A backend that records what it is asked, to show what the use cases
    /// decide before any statement runs.
    #[derive(Default)]
    struct Recorder {
        existing: Vec<String>,
        inserted: Vec<String>,
        changes: Vec<(JobType, String, StatusEffects, Option<String>)>,
        deleted_before: Option<Timestamp>,
        now: i64,
        prunable: i64,
        pending: Vec<(JobType, String)>,
        workers: Vec<(JobType, String, String)>,
        stale: Vec<StaleJob>,
        stale_cutoff: Option<Timestamp>,
    }

    impl WriteBackend for Recorder {
        fn first_existing_id(&mut self, ids: &[&str]) -> Result<Option<String>> {
            Ok(ids
                .iter()
                .find(|id| self.existing.iter().any(|e| e == *id))
                .map(|id| (*id).to_owned()))
        }
        fn insert_executions(&mut self, jobs: &[NewExecution]) -> Result<()> {
            self.inserted.extend(jobs.iter().map(|j| j.job_id.clone()));
            Ok(())
        }
        fn insert_variations(
            &mut self,
            jobs: &[NewVariation],
            parameters: &[StoredParameters],
        ) -> Result<()> {
            assert_eq!(jobs.len(), parameters.len());
            self.inserted.extend(jobs.iter().map(|j| j.job_id.clone()));
            Ok(())
        }
        fn import_executions(&mut self, records: &[&JobRecord]) -> Result<()> {
            assert!(records.iter().all(|r| r.job_type == JobType::Execution));
            self.inserted
                .extend(records.iter().map(|r| r.job_id.clone()));
            Ok(())
        }
        fn import_variations(
            &mut self,
            records: &[&JobRecord],
            parameters: &[StoredParameters],
        ) -> Result<()> {
            assert_eq!(records.len(), parameters.len());
            assert!(records.iter().all(|r| r.job_type == JobType::Variation));
            self.inserted
                .extend(records.iter().map(|r| r.job_id.clone()));
            Ok(())
        }
        fn update_status(
            &mut self,
            job_type: JobType,
            changes: &[StatusChange<'_>],
        ) -> Result<u64> {
            for c in changes {
                self.changes.push((
                    job_type,
                    c.job_id.to_owned(),
                    c.effects,
                    c.error_message.map(str::to_owned),
                ));
            }
            Ok(changes.len() as u64)
        }
        fn update_progress(&mut self, _: &str, _: i32) -> Result<bool> {
            Ok(true)
        }
        fn now(&mut self) -> Timestamp {
            Timestamp::from_unix_micros(self.now)
        }
        fn delete_finished_before(&mut self, cutoff: Timestamp, _: bool) -> Result<CleanupReport> {
            self.deleted_before = Some(cutoff);
            Ok(CleanupReport {
                executions_deleted: 1,
                variations_deleted: 0,
                cache_entries_deleted: 1,
            })
        }
        fn delete_finished_batch(
            &mut self,
            cutoff: Timestamp,
            _: bool,
            batch_size: i32,
        ) -> Result<PruneBatch> {
            self.deleted_before = Some(cutoff);
            // Jobs left to prune: three, then none.
            let chosen = self.prunable.min(batch_size.into());
            self.prunable -= chosen;
            Ok(PruneBatch {
                deleted: CleanupReport {
                    executions_deleted: chosen,
                    variations_deleted: 0,
                    cache_entries_deleted: chosen,
                },
                chosen,
            })
        }
        fn lock_pending(&mut self, n: i32) -> Result<Vec<(JobType, String)>> {
            let n = usize::try_from(n).unwrap().min(self.pending.len());
            Ok(self.pending.drain(..n).collect())
        }
        fn set_worker(
            &mut self,
            executions: &[&str],
            variations: &[&str],
            worker: &str,
        ) -> Result<()> {
            for (job_type, ids) in [
                (JobType::Execution, executions),
                (JobType::Variation, variations),
            ] {
                self.workers.extend(
                    ids.iter()
                        .map(|id| (job_type, (*id).to_owned(), worker.to_owned())),
                );
            }
            Ok(())
        }
        fn lock_stale(&mut self, cutoff: Timestamp) -> Result<Vec<StaleJob>> {
            self.stale_cutoff = Some(cutoff);
            Ok(self.stale.clone())
        }
        fn heartbeat(&mut self, _: &str) -> Result<bool> {
            Ok(true)
        }
        fn get_jobs(&mut self, job_ids: &[&str]) -> Result<Vec<Job>> {
            // Newest first, so that the use case's ordering shows.
            Ok(job_ids
                .iter()
                .enumerate()
                .rev()
                .map(|(i, id)| Job {
                    job_id: (*id).to_owned(),
                    job_type: JobType::Execution,
                    status: Status::InQueue,
                    dataset_name: "d".into(),
                    preset: "p".into(),
                    mode: "single".into(),
                    experiment_name: None,
                    variation_id: None,
                    success: None,
                    duration_seconds: None,
                    error_message: None,
                    output_path: None,
                    total_steps: None,
                    current_step: None,
                    start_time: None,
                    created_at: Timestamp::from_unix_micros(i as i64),
                    updated_at: Timestamp::from_unix_micros(0),
                    last_heartbeat: None,
                })
                .collect())
        }
        fn rebuild_derived_tables(&mut self) -> Result<i64> {
            Ok(0)
        }
        fn get_job(&mut self, _: &str) -> Result<Option<Job>> {
            Ok(None)
        }
    }

    fn execution(id: &str) -> NewExecution {
        NewExecution {
            job_id: id.into(),
            pipeline_mode: PipelineMode::Single,
            dataset_name: "d".into(),
            preset: "p".into(),
            total_steps: None,
            status: Status::Pending,
        }
    }

    fn update(id: &str, status: Status, message: Option<&str>) -> StatusUpdate {
        StatusUpdate {
            job_id: id.into(),
            status,
            error_message: message.map(str::to_owned),
        }
    }

    #[test]
    fn a_create_batch_is_refused_whole() {
        let mut b = Recorder {
            existing: vec!["b".into()],
            ..Recorder::default()
        };
        let jobs = [execution("a"), execution("b"), execution("c")];
        check_creates(&jobs).unwrap();
        let e = create(&mut b, &jobs).unwrap_err();
        assert_eq!(
            (e.sqlstate(), e.to_string().contains("\"b\"")),
            ("23505", true)
        );
        assert!(b.inserted.is_empty());
        let twice = [execution("x"), execution("x")];
        assert_eq!(check_creates(&twice).unwrap_err().sqlstate(), "23505");
        let bad = [execution("ok"), execution("")];
        assert_eq!(check_creates(&bad).unwrap_err().sqlstate(), "22023");
        let ids = create(&mut b, &[execution("a"), execution("c")]).unwrap();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(b.inserted, ["a", "c"]);
    }

    fn record(id: &str, job_type: &str) -> JobRecord {
        let mut v = serde_json::json!({
            "job_id": id, "job_type": job_type, "status": "done", "dataset_name": "d",
            "preset": "p", "mode": "single",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01Z"
        });
        if job_type == "variation" {
            v["mode"] = "variations".into();
            v["experiment_name"] = "e".into();
            v["variation_id"] = id.into();
            v["total_combinations"] = 2.into();
        }
        JobRecord::from_json(&v, None).unwrap()
    }

    #[test]
    fn an_import_splits_the_kinds_and_refuses_an_existing_id_whole() {
        let records = [
            record("a", "variation"),
            record("b", "execution"),
            record("c", "variation"),
        ];
        check_creates(&records).unwrap();
        let mut backend = Recorder::default();
        assert_eq!(import_jobs(&mut backend, &records).unwrap(), 3);
        assert_eq!(backend.inserted, ["b", "a", "c"]);
        let twice = [record("x", "execution"), record("x", "variation")];
        assert_eq!(check_creates(&twice).unwrap_err().sqlstate(), "23505");
        let mut backend = Recorder {
            existing: vec!["c".into()],
            ..Recorder::default()
        };
        let err = import_jobs(&mut backend, &records).unwrap_err();
        assert_eq!(err.sqlstate(), "23505");
        assert!(err.to_string().contains("\"c\""), "{err}");
        assert!(backend.inserted.is_empty());
        assert_eq!(import_jobs(&mut Recorder::default(), &[]).unwrap(), 0);
    }

    #[test]
    fn the_later_update_wins_and_carries_its_effects() {
        let updates = [
            update("a", Status::Training, None),
            update("b", Status::Failed, Some("oom")),
            update("a", Status::Done, Some("ignored")),
        ];
        let changes = check_status_updates(&updates).unwrap();
        let mut b = Recorder::default();
        assert_eq!(
            update_status(&mut b, JobType::Variation, &changes).unwrap(),
            2
        );
        let seen: Vec<_> = b
            .changes
            .iter()
            .map(|(t, id, fx, m)| (*t, id.as_str(), fx.status, fx.terminal, m.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                (JobType::Variation, "b", "failed", true, Some("oom")),
                (JobType::Variation, "a", "done", true, Some("ignored")),
            ]
        );
        assert!(b.changes[1].2.clears_error_message);
        assert_eq!(b.changes[0].2.success, Some(false));
        // Nothing to change runs no statement.
        let mut idle = Recorder::default();
        assert_eq!(
            update_status(&mut idle, JobType::Execution, &[]).unwrap(),
            0
        );
    }

    #[test]
    fn every_status_has_consistent_effects() {
        for status in Status::ALL {
            let fx = status.effects();
            assert_eq!(fx.status, status.as_str());
            assert_eq!(fx.terminal, status.is_terminal());
            // Only a terminal status decides success, and only done clears
            // the message; the clock starts in an active status.
            assert!(fx.success.is_none() || fx.terminal, "{status}");
            assert!(!fx.clears_error_message || fx.success == Some(true));
            assert!(!(fx.starts_clock && fx.terminal));
        }
    }

    #[test]
    fn stale_jobs_fail_with_a_message_naming_their_last_sign_of_life() {
        let now = Timestamp::from_unix_micros(1_764_000_000_000_000);
        let seen = |m: i64| Timestamp::from_unix_micros(m);
        let job = |t, id: &str, m| StaleJob {
            job_type: t,
            job_id: id.into(),
            last_seen: seen(m),
        };
        let stale = vec![
            job(JobType::Variation, "a", 5),
            job(JobType::Execution, "b", 7),
        ];
        let mut b = Recorder {
            now: now.unix_micros(),
            stale: stale.clone(),
            ..Recorder::default()
        };
        let after = StaleAfter::DEFAULT;
        assert_eq!(fail_stale_jobs(&mut b, after, None).unwrap(), 2);
        assert_eq!(b.stale_cutoff, after.cutoff(now));
        let seen_by_change: Vec<_> = b
            .changes
            .iter()
            .map(|(t, id, fx, m)| (*t, id.as_str(), fx.status, m.clone()))
            .collect();
        assert_eq!(
            seen_by_change,
            [
                (
                    JobType::Execution,
                    "b",
                    "failed",
                    Some(stale_message(seen(7)))
                ),
                (
                    JobType::Variation,
                    "a",
                    "failed",
                    Some(stale_message(seen(5)))
                ),
            ]
        );
        assert!(stale_message(seen(7)).contains("1970-01-01T00:00:00.000007Z"));
        // A given message replaces the default one.
        let mut given = Recorder {
            now: now.unix_micros(),
            stale,
            ..Recorder::default()
        };
        fail_stale_jobs(&mut given, after, Some("worker lost")).unwrap();
        assert!(given
            .changes
            .iter()
            .all(|(_, _, _, m)| m.as_deref() == Some("worker lost")));
        // A cut-off before the year 1 locks nothing.
        let mut early = Recorder {
            now: EARLIEST_STORED_MICROS,
            ..Recorder::default()
        };
        assert_eq!(fail_stale_jobs(&mut early, after, None).unwrap(), 0);
        assert_eq!(early.stale_cutoff, None);
        assert_eq!(
            check_fail_stale(Some("a\0b")).unwrap_err().sqlstate(),
            "22023"
        );
        // Only jobs a worker has taken can go stale.
        let watched: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| s.expects_heartbeats())
            .collect();
        assert_eq!(watched.len(), 6);
        assert!(!watched.contains(&Status::Pending));
        assert!(watched.iter().all(|s| s.is_active()));
    }

    #[test]
    fn a_cleanup_before_the_year_1_runs_nothing() {
        let now = Timestamp::from_unix_micros(1_764_000_000_000_000);
        let mut b = Recorder {
            now: now.unix_micros(),
            ..Recorder::default()
        };
        let report = cleanup_old_jobs(&mut b, 30, true).unwrap();
        assert_eq!(report.executions_deleted, 1);
        assert_eq!(
            b.deleted_before.unwrap().unix_micros(),
            now.unix_micros() - 30 * 86_400_000_000
        );
        let mut far = Recorder {
            now: now.unix_micros(),
            ..Recorder::default()
        };
        let report = cleanup_old_jobs(&mut far, i32::MAX, true).unwrap();
        assert_eq!(report.executions_deleted, 0);
        assert_eq!(far.deleted_before, None);
        // Exactly back to the year 1 is still a cutoff.
        let days = (now.unix_micros() - EARLIEST_STORED_MICROS) / 86_400_000_000;
        let days = i32::try_from(days).unwrap();
        assert!(cleanup_cutoff(now, days).is_some());
        assert!(cleanup_cutoff(now, days + 1).is_none());
        assert_eq!(check_cleanup(-1).unwrap_err().sqlstate(), "22023");
    }

    #[test]
    fn a_prune_runs_batches_until_one_finds_fewer_than_batch_size() {
        let now = Timestamp::from_unix_micros(1_764_000_000_000_000);
        let mut b = Recorder {
            now: now.unix_micros(),
            prunable: 5,
            ..Recorder::default()
        };
        let cutoff = prune_cutoff(now, 7);
        let mut report = PruneReport::default();
        let mut more = true;
        let mut calls = 0;
        while more {
            (report, more) = prune_batch(&mut b, cutoff, true, 2, report).unwrap();
            calls += 1;
        }
        // 2 + 2 + 1: the third batch finds fewer than 2 and is the last.
        assert_eq!(calls, 3);
        assert_eq!(report.executions_deleted, 5);
        assert_eq!(report.cache_entries_deleted, 5);
        assert_eq!(report.batches, 3);
        assert_eq!(
            b.deleted_before.unwrap().unix_micros(),
            now.unix_micros() - 7 * 86_400_000_000
        );
        // An exact multiple takes one more batch, which finds nothing.
        let mut even = Recorder {
            now: now.unix_micros(),
            prunable: 4,
            ..Recorder::default()
        };
        let (r, more) = prune_batch(&mut even, cutoff, true, 2, PruneReport::default()).unwrap();
        let (r, more_after) = prune_batch(&mut even, cutoff, true, 2, r).unwrap();
        assert!(more && more_after);
        let (r, last) = prune_batch(&mut even, cutoff, true, 2, r).unwrap();
        assert!(!last);
        assert_eq!((r.executions_deleted, r.batches), (4, 3));
        // No cutoff: nothing runs, no batch is counted.
        let mut none = Recorder::default();
        let (r, more) = prune_batch(&mut none, None, true, 2, PruneReport::default()).unwrap();
        assert_eq!((r, more), (PruneReport::default(), false));
        assert_eq!(none.deleted_before, None);
    }

    #[test]
    fn a_prune_checks_days_and_batch_size() {
        assert_eq!(check_prune(0, 1).unwrap(), (0, 1));
        assert_eq!(check_prune(30, i32::MAX).unwrap(), (30, i32::MAX));
        for (days, batch_size, field) in [
            (-1, 10, "days"),
            (1, 0, "batch_size"),
            (1, -5, "batch_size"),
        ] {
            let e = check_prune(days, batch_size).unwrap_err();
            assert_eq!(e.sqlstate(), "22023");
            assert!(e.to_string().contains(field), "{e}");
        }
    }

    #[test]
    fn a_prune_batch_refuses_a_report_no_batch_returned() {
        let now = Timestamp::from_unix_micros(1_764_000_000_000_000);
        let cutoff = prune_cutoff(now, 1);
        let mut b = Recorder {
            prunable: 3,
            ..Recorder::default()
        };
        let negative = PruneReport {
            executions_deleted: -5,
            ..PruneReport::default()
        };
        let e = prune_batch(&mut b, cutoff, true, 2, negative).unwrap_err();
        assert_eq!(e.sqlstate(), "22023");
        assert!(e.to_string().contains("report"), "{e}");
        // Refused before anything is deleted.
        assert_eq!((b.prunable, b.deleted_before), (3, None));
        let huge = PruneReport {
            executions_deleted: i64::MAX,
            ..PruneReport::default()
        };
        let e = prune_batch(&mut b, cutoff, true, 2, huge).unwrap_err();
        assert_eq!(e.sqlstate(), "22023");
        assert!(e.to_string().contains("too large"), "{e}");
    }

    #[test]
    fn a_claim_moves_the_oldest_pending_jobs_to_in_queue_for_its_worker() {
        let mut b = Recorder {
            pending: vec![
                (JobType::Variation, "v1".into()),
                (JobType::Execution, "e1".into()),
                (JobType::Execution, "e2".into()),
            ],
            ..Recorder::default()
        };
        let jobs = claim_next_jobs(&mut b, 2, "w-7").unwrap();
        let ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
        assert_eq!(ids, ["v1", "e1"], "in the order claimed");
        let changed: Vec<(JobType, &str, StatusEffects)> = b
            .changes
            .iter()
            .map(|(t, id, fx, _)| (*t, id.as_str(), *fx))
            .collect();
        let fx = Status::InQueue.effects();
        assert_eq!(
            changed,
            [
                (JobType::Execution, "e1", fx),
                (JobType::Variation, "v1", fx)
            ]
        );
        // Each claimed job, under its own kind, and only those.
        assert_eq!(
            b.workers,
            [
                (JobType::Execution, "e1".to_owned(), "w-7".to_owned()),
                (JobType::Variation, "v1".to_owned(), "w-7".to_owned())
            ]
        );
        // Nothing pending: nothing changed, no row read.
        let mut none = Recorder::default();
        assert!(claim_next_jobs(&mut none, 5, "w").unwrap().is_empty());
        assert!(none.changes.is_empty() && none.workers.is_empty());
    }

    #[test]
    fn a_claim_checks_n_and_worker() {
        assert_eq!(check_claim(1, "w").unwrap(), 1);
        assert_eq!(check_claim(MAX_LIMIT, &"w".repeat(255)).unwrap(), MAX_LIMIT);
        for (n, worker, field) in [
            (0, "w", "n"),
            (-1, "w", "n"),
            (MAX_LIMIT + 1, "w", "n"),
            (1, "", "worker"),
            (1, &*"w".repeat(256), "worker"),
        ] {
            let e = check_claim(n, worker).unwrap_err();
            assert_eq!(e.sqlstate(), "22023");
            assert!(e.to_string().contains(field), "{e}");
        }
    }
}
