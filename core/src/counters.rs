//! Exact statistics counters: what both backends keep per
//! (job type, dataset, status) in the writing transaction, how the results
//! are built from them, and how `verify_statistics()` reports a counter that
//! disagrees with a full recount.
//!
//! Durations are counted as a sum of whole **microseconds** (each
//! `duration_seconds` rounded to the nearest microsecond), an integer: adding
//! a job and subtracting it again restores the sum bit for bit, where a
//! floating-point sum would drift after millions of updates. Durations
//! written by jobtrack are whole microseconds already, so for them the
//! averages are exact; a duration written with plain SQL counts to the
//! nearest microsecond.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{JobType, Status};
use crate::output::{
    average, progress_of, success_rate, DatasetAggregate, ExperimentStats, Extremes, KindAggregate,
    Statistics,
};

/// The values of one counter row, or of a recount of the same jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Counts {
    /// Jobs.
    pub jobs: i64,
    /// Jobs with `success = true`.
    pub successful: i64,
    /// Jobs with `success = false`.
    pub failed: i64,
    /// Jobs with a non-null `duration_seconds`.
    pub duration_count: i64,
    /// Sum of their `duration_seconds` in whole microseconds.
    pub duration_micros_sum: i64,
}

impl Counts {
    /// Reads the five counter values from the columns `first` to
    /// `first + 4` of a row, in the order every counter query selects them
    /// (jobs, successful, failed, duration_count, duration_micros_sum);
    /// `column` reads one column of the backend's row.
    pub fn from_columns<E>(
        first: usize,
        mut column: impl FnMut(usize) -> std::result::Result<i64, E>,
    ) -> std::result::Result<Counts, E> {
        Ok(Counts {
            jobs: column(first)?,
            successful: column(first + 1)?,
            failed: column(first + 2)?,
            duration_count: column(first + 3)?,
            duration_micros_sum: column(first + 4)?,
        })
    }

    /// Whether every value is zero: such a counter row says nothing, and the
    /// backends delete it.
    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// Adds these values to the accumulator `acc` (i128, so that a sum over
    /// many rows cannot overflow before it is clamped into a result).
    fn add_to(&self, acc: &mut [i128; 5]) {
        acc[0] += i128::from(self.jobs);
        acc[1] += i128::from(self.successful);
        acc[2] += i128::from(self.failed);
        acc[3] += i128::from(self.duration_count);
        acc[4] += i128::from(self.duration_micros_sum);
    }
}

/// Seconds from a whole number of microseconds (`micros / 1e6`, as
/// [`Timestamp::seconds_since`](crate::Timestamp::seconds_since) computes
/// durations).
pub fn seconds_from_micros(micros: i128) -> f64 {
    micros as f64 / 1e6
}

/// Saturates an i128 sum into the i64 of a result field.
fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// One counter row: the key and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRow {
    /// `execution` or `variation`.
    pub job_type: JobType,
    /// The dataset.
    pub dataset_name: String,
    /// The status.
    pub status: Status,
    /// The counted values.
    pub counts: Counts,
}

impl Statistics {
    /// Builds `get_statistics_optimized()`'s result from counters, given per
    /// (job type, status) — summed over datasets, or per dataset: rows with
    /// the same key add up. Averages are `sum of microseconds / 1e6 / count`.
    pub fn from_counters(rows: impl IntoIterator<Item = (JobType, Status, Counts)>) -> Statistics {
        let mut sums: BTreeMap<(JobType, Status), [i128; 5]> = BTreeMap::new();
        for (job_type, status, counts) in rows {
            counts.add_to(sums.entry((job_type, status)).or_default());
        }
        let mut kinds = [KindAggregate::default(), KindAggregate::default()];
        let mut micros = [0i128; 2];
        for ((job_type, status), s) in sums {
            let k = match job_type {
                JobType::Execution => 0,
                JobType::Variation => 1,
            };
            kinds[k].by_status.insert(status, clamp(s[0]));
            kinds[k].successful += clamp(s[1]);
            kinds[k].failed += clamp(s[2]);
            kinds[k].duration_count += clamp(s[3]);
            micros[k] += s[4];
        }
        let [mut executions, mut variations] = kinds;
        executions.duration_sum = seconds_from_micros(micros[0]);
        variations.duration_sum = seconds_from_micros(micros[1]);
        Statistics::from_parts(executions, variations)
    }
}

impl DatasetAggregate {
    /// The counted part of one dataset's aggregate from the counters of its
    /// executions and of its variations (each summed over statuses). The
    /// extremes (`min_duration`, `max_duration`, `first_run`, `last_run`)
    /// are left empty: the backends read them from indexes.
    pub fn from_counters(executions: Counts, variations: Counts) -> DatasetAggregate {
        let mut s = [0i128; 5];
        executions.add_to(&mut s);
        variations.add_to(&mut s);
        DatasetAggregate {
            executions: executions.jobs,
            variations: variations.jobs,
            successful: clamp(s[1]),
            failed: clamp(s[2]),
            duration_sum: seconds_from_micros(s[4]),
            duration_count: clamp(s[3]),
            ..DatasetAggregate::default()
        }
    }
}

/// One row of the experiment counters: per experiment, the variations of
/// one (`total_combinations`, status) and their values. Keyed by
/// `total_combinations` too, so that the declared size of a sweep stays
/// exact when variations are deleted: it is the largest key with jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentCounterRow {
    /// The `total_combinations` of these variations.
    pub total_combinations: i32,
    /// Their status.
    pub status: Status,
    /// The counted values.
    pub counts: Counts,
}

impl ExperimentStats {
    /// Builds `get_experiment_stats(experiment_name)`'s result from the
    /// experiment's counter rows (rows with the same key add up, as delta
    /// rows do) and the extremes read from indexes. Zeros and nulls for an
    /// unknown experiment.
    pub fn from_counters(
        experiment_name: &str,
        rows: impl IntoIterator<Item = ExperimentCounterRow>,
        extremes: Extremes,
    ) -> ExperimentStats {
        let mut sums: BTreeMap<(i32, Status), [i128; 5]> = BTreeMap::new();
        for row in rows {
            row.counts.add_to(
                sums.entry((row.total_combinations, row.status))
                    .or_default(),
            );
        }
        let mut by_status: BTreeMap<Status, i128> = BTreeMap::new();
        let mut total = [0i128; 5];
        let mut declared = 0;
        for ((combinations, status), s) in sums {
            if s[0] > 0 {
                declared = declared.max(combinations);
            }
            *by_status.entry(status).or_default() += s[0];
            for (t, v) in total.iter_mut().zip(s) {
                *t += v;
            }
        }
        let variations_by_status: crate::output::StatusCounts = by_status
            .into_iter()
            .map(|(status, n)| (status, clamp(n)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let total_variations = variations_by_status.values().sum();
        let finished_variations = variations_by_status
            .iter()
            .filter(|(s, _)| s.is_terminal())
            .map(|(_, n)| n)
            .sum();
        let (successful, failed) = (clamp(total[1]), clamp(total[2]));
        ExperimentStats {
            experiment_name: experiment_name.to_owned(),
            declared_combinations: i64::from(declared),
            total_variations,
            variations_by_status,
            finished_variations,
            progress: progress_of(finished_variations, i64::from(declared)),
            successful_variations: successful,
            failed_variations: failed,
            success_rate: success_rate(successful, failed),
            average_duration: average(seconds_from_micros(total[4]), clamp(total[3])),
            min_duration: extremes.min_duration,
            max_duration: extremes.max_duration,
            first_run: extremes.first_run,
            last_run: extremes.last_run,
        }
    }
}

/// One row of `verify_statistics()`: a (job type, dataset, status) whose
/// counter disagrees with a full recount of the base tables. `counted_*` is
/// what the counter says (0 when there is no counter row), `actual_*` what
/// the recount finds (0 when there are no such jobs).
///
/// JSON keys are the field names; in PostgreSQL `jobtrack.verify_statistics()`
/// returns a TABLE with these columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatisticsDifference {
    /// `execution` or `variation`.
    pub job_type: JobType,
    /// The dataset.
    pub dataset_name: String,
    /// The status.
    pub status: Status,
    /// Jobs according to the counter.
    pub counted_jobs: i64,
    /// Jobs in the base table.
    pub actual_jobs: i64,
    /// `success = true` according to the counter.
    pub counted_successful: i64,
    /// `success = true` in the base table.
    pub actual_successful: i64,
    /// `success = false` according to the counter.
    pub counted_failed: i64,
    /// `success = false` in the base table.
    pub actual_failed: i64,
    /// Non-null durations according to the counter.
    pub counted_duration_count: i64,
    /// Non-null durations in the base table.
    pub actual_duration_count: i64,
    /// Sum of durations in whole microseconds according to the counter.
    pub counted_duration_micros_sum: i64,
    /// Sum of durations in whole microseconds in the base table.
    pub actual_duration_micros_sum: i64,
}

/// Sums the counted and the actual rows of each key (delta rows add up; a
/// side without rows is all zeros, so an all-zero counter row left behind
/// is no difference) and keeps the keys whose sums differ, in key order,
/// each with its identity `V` and both sums.
fn differing<K: Ord, V>(
    counted: impl IntoIterator<Item = (K, V, Counts)>,
    actual: impl IntoIterator<Item = (K, V, Counts)>,
) -> Vec<(V, Counts, Counts)> {
    let mut both: BTreeMap<K, (V, [[i128; 5]; 2])> = BTreeMap::new();
    let sides = counted
        .into_iter()
        .map(|row| (0, row))
        .chain(actual.into_iter().map(|row| (1, row)));
    for (side, (key, identity, counts)) in sides {
        let entry = both.entry(key).or_insert((identity, [[0; 5]; 2]));
        counts.add_to(&mut entry.1[side]);
    }
    let counts = |s: [i128; 5]| Counts {
        jobs: clamp(s[0]),
        successful: clamp(s[1]),
        failed: clamp(s[2]),
        duration_count: clamp(s[3]),
        duration_micros_sum: clamp(s[4]),
    };
    both.into_values()
        .filter(|(_, [c, a])| c != a)
        .map(|(identity, [c, a])| (identity, counts(c), counts(a)))
        .collect()
}

/// The differences between counter rows and a recount of the same keys:
/// one [`StatisticsDifference`] per key whose values differ, a missing row
/// counting as all zeros (so an all-zero counter row left behind is no
/// difference). Sorted by job type, dataset name and status, each compared
/// as its SQL text byte by byte (PostgreSQL: `COLLATE "C"`), so that both
/// backends list them in the same order. Empty when all is well.
pub fn statistics_differences(
    counted: impl IntoIterator<Item = CounterRow>,
    actual: impl IntoIterator<Item = CounterRow>,
) -> Vec<StatisticsDifference> {
    let keyed = |row: CounterRow| {
        let key = (
            row.job_type.as_str(),
            row.dataset_name.clone(),
            row.status.as_str(),
        );
        (
            key,
            (row.job_type, row.dataset_name, row.status),
            row.counts,
        )
    };
    differing(
        counted.into_iter().map(keyed),
        actual.into_iter().map(keyed),
    )
    .into_iter()
    .map(
        |((job_type, dataset_name, status), c, a)| StatisticsDifference {
            job_type,
            dataset_name,
            status,
            counted_jobs: c.jobs,
            actual_jobs: a.jobs,
            counted_successful: c.successful,
            actual_successful: a.successful,
            counted_failed: c.failed,
            actual_failed: a.failed,
            counted_duration_count: c.duration_count,
            actual_duration_count: a.duration_count,
            counted_duration_micros_sum: c.duration_micros_sum,
            actual_duration_micros_sum: a.duration_micros_sum,
        },
    )
    .collect()
}

/// One row of `verify_experiment_stats()`: an (experiment,
/// total_combinations, status) whose experiment counter disagrees with a
/// full recount of the variations; `counted_*` and `actual_*` as in
/// [`StatisticsDifference`].
///
/// JSON keys are the field names; in PostgreSQL
/// `jobtrack.verify_experiment_stats()` returns a TABLE with these columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentStatsDifference {
    /// The experiment.
    pub experiment_name: String,
    /// The `total_combinations` of these variations.
    pub total_combinations: i32,
    /// Their status.
    pub status: Status,
    /// Variations according to the counter.
    pub counted_jobs: i64,
    /// Variations in the base table.
    pub actual_jobs: i64,
    /// `success = true` according to the counter.
    pub counted_successful: i64,
    /// `success = true` in the base table.
    pub actual_successful: i64,
    /// `success = false` according to the counter.
    pub counted_failed: i64,
    /// `success = false` in the base table.
    pub actual_failed: i64,
    /// Non-null durations according to the counter.
    pub counted_duration_count: i64,
    /// Non-null durations in the base table.
    pub actual_duration_count: i64,
    /// Sum of durations in whole microseconds according to the counter.
    pub counted_duration_micros_sum: i64,
    /// Sum of durations in whole microseconds in the base table.
    pub actual_duration_micros_sum: i64,
}

/// [`statistics_differences`] for the experiment counters: each row is an
/// experiment name and its [`ExperimentCounterRow`]. Sorted by experiment
/// name (byte by byte), total_combinations and status text.
pub fn experiment_stats_differences(
    counted: impl IntoIterator<Item = (String, ExperimentCounterRow)>,
    actual: impl IntoIterator<Item = (String, ExperimentCounterRow)>,
) -> Vec<ExperimentStatsDifference> {
    let keyed = |(name, row): (String, ExperimentCounterRow)| {
        let key = (name.clone(), row.total_combinations, row.status.as_str());
        (key, (name, row.total_combinations, row.status), row.counts)
    };
    differing(
        counted.into_iter().map(keyed),
        actual.into_iter().map(keyed),
    )
    .into_iter()
    .map(
        |((experiment_name, total_combinations, status), c, a)| ExperimentStatsDifference {
            experiment_name,
            total_combinations,
            status,
            counted_jobs: c.jobs,
            actual_jobs: a.jobs,
            counted_successful: c.successful,
            actual_successful: a.successful,
            counted_failed: c.failed,
            actual_failed: a.failed,
            counted_duration_count: c.duration_count,
            actual_duration_count: a.duration_count,
            counted_duration_micros_sum: c.duration_micros_sum,
            actual_duration_micros_sum: a.duration_micros_sum,
        },
    )
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(jobs: i64, successful: i64, failed: i64, dc: i64, micros: i64) -> Counts {
        Counts {
            jobs,
            successful,
            failed,
            duration_count: dc,
            duration_micros_sum: micros,
        }
    }

    fn row(job_type: JobType, dataset: &str, status: Status, c: Counts) -> CounterRow {
        CounterRow {
            job_type,
            dataset_name: dataset.into(),
            status,
            counts: c,
        }
    }

    fn experiment_row(total_combinations: i32, status: Status, c: Counts) -> ExperimentCounterRow {
        ExperimentCounterRow {
            total_combinations,
            status,
            counts: c,
        }
    }

    #[test]
    fn experiment_stats_add_delta_rows_and_declare_the_largest_sweep_with_jobs() {
        let s = ExperimentStats::from_counters(
            "sweep",
            [
                experiment_row(12, Status::Done, counts(3, 3, 0, 3, 6_000_000)),
                experiment_row(12, Status::Done, counts(1, 1, 0, 1, 500_000)),
                experiment_row(12, Status::Failed, counts(1, 0, 1, 1, 1_500_000)),
                experiment_row(12, Status::Training, counts(2, 0, 0, 0, 0)),
                // a larger sweep whose variations were all deleted again
                experiment_row(50, Status::Pending, counts(1, 0, 0, 0, 0)),
                experiment_row(50, Status::Pending, counts(-1, 0, 0, 0, 0)),
            ],
            Extremes {
                min_duration: Some(0.5),
                ..Extremes::default()
            },
        );
        assert_eq!(s.declared_combinations, 12);
        assert_eq!(s.total_variations, 7);
        assert_eq!(
            s.variations_by_status.into_iter().collect::<Vec<_>>(),
            [
                (Status::Training, 2),
                (Status::Done, 4),
                (Status::Failed, 1)
            ]
        );
        assert_eq!(s.finished_variations, 5);
        assert_eq!(s.progress, 100.0 * 5.0 / 12.0);
        assert_eq!((s.successful_variations, s.failed_variations), (4, 1));
        assert_eq!(s.success_rate, 80.0);
        assert_eq!(s.average_duration, Some(8.0 / 5.0));
        assert_eq!(s.min_duration, Some(0.5));
        assert_eq!(s.last_run, None);
    }

    #[test]
    fn an_unknown_experiment_is_zeros_and_nulls() {
        let s = ExperimentStats::from_counters("nothing", [], Extremes::default());
        assert_eq!(
            (
                s.declared_combinations,
                s.total_variations,
                s.finished_variations
            ),
            (0, 0, 0)
        );
        assert!(s.variations_by_status.is_empty());
        assert_eq!(
            (s.progress, s.success_rate, s.average_duration),
            (0.0, 0.0, None)
        );
    }

    #[test]
    fn statistics_from_counters_sum_datasets_and_average_in_micros() {
        let s = Statistics::from_counters([
            (
                JobType::Execution,
                Status::Done,
                counts(2, 2, 0, 2, 3_000_001),
            ),
            (
                JobType::Execution,
                Status::Done,
                counts(1, 1, 0, 1, 1_000_000),
            ),
            (JobType::Execution, Status::Failed, counts(1, 0, 1, 0, 0)),
            (JobType::Execution, Status::Training, Counts::default()),
            (JobType::Variation, Status::Pending, counts(4, 0, 0, 0, 0)),
        ]);
        assert_eq!(s.total_executions, 4);
        assert_eq!(s.total_variations, 4);
        assert_eq!(s.executions_by_status.len(), 2, "zero counts are dropped");
        assert_eq!(s.executions_by_status[&Status::Done], 3);
        assert_eq!((s.total_successful, s.total_failed), (3, 1));
        assert_eq!(s.success_rate, 75.0);
        assert_eq!(s.avg_execution_duration, Some(4.000001 / 3.0));
        assert_eq!(s.avg_variation_duration, None);
        // One job's average is its duration, bit for bit.
        let one = Statistics::from_counters([(
            JobType::Variation,
            Status::Done,
            counts(1, 1, 0, 1, 86_399_999_999),
        )]);
        assert_eq!(one.avg_variation_duration, Some(86_399.999_999));
    }

    #[test]
    fn dataset_aggregate_from_counters() {
        let a =
            DatasetAggregate::from_counters(counts(3, 1, 1, 2, 3_000_000), counts(1, 1, 0, 1, 0));
        assert_eq!((a.executions, a.variations), (3, 1));
        assert_eq!((a.successful, a.failed), (2, 1));
        assert_eq!((a.duration_sum, a.duration_count), (3.0, 3));
        assert_eq!((a.min_duration, a.first_run), (None, None));
        assert_eq!(
            DatasetAggregate::from_counters(Counts::default(), Counts::default()),
            DatasetAggregate::default()
        );
    }

    #[test]
    fn differences_name_each_disagreeing_key_in_a_fixed_order() {
        let ok = counts(2, 1, 0, 1, 1_500_000);
        let counted = vec![
            row(JobType::Variation, "b", Status::Done, ok),
            row(
                JobType::Execution,
                "b",
                Status::Training,
                counts(1, 0, 0, 0, 0),
            ),
            row(JobType::Execution, "a", Status::Pending, Counts::default()),
            row(
                JobType::Execution,
                "a",
                Status::Done,
                counts(2, 1, 0, 1, 1_500_001),
            ),
        ];
        let actual = vec![
            row(JobType::Variation, "b", Status::Done, ok),
            row(JobType::Execution, "a", Status::Done, ok),
            row(
                JobType::Execution,
                "a",
                Status::Failed,
                counts(1, 0, 1, 0, 0),
            ),
        ];
        assert!(statistics_differences(counted.clone(), counted.clone()).is_empty());
        let d = statistics_differences(counted, actual);
        let keys: Vec<_> = d
            .iter()
            .map(|d| (d.job_type, d.dataset_name.as_str(), d.status))
            .collect();
        // "done" < "failed" < "training" as text; the all-zero row is no
        // difference.
        assert_eq!(
            keys,
            [
                (JobType::Execution, "a", Status::Done),
                (JobType::Execution, "a", Status::Failed),
                (JobType::Execution, "b", Status::Training),
            ]
        );
        assert_eq!(
            (
                d[0].counted_duration_micros_sum,
                d[0].actual_duration_micros_sum
            ),
            (1_500_001, 1_500_000)
        );
        assert_eq!(
            (d[1].counted_jobs, d[1].actual_jobs, d[1].actual_failed),
            (0, 1, 1)
        );
        assert_eq!((d[2].counted_jobs, d[2].actual_jobs), (1, 0));
    }

    #[test]
    fn experiment_differences_sum_delta_rows_and_sort_by_name_size_and_status() {
        let named =
            |name: &str, total, status, c| (name.to_owned(), experiment_row(total, status, c));
        let counted = vec![
            named("sweep-b", 9, Status::Done, counts(2, 2, 0, 2, 4_000_000)),
            named(
                "sweep-b",
                9,
                Status::Done,
                counts(-1, -1, 0, -1, -2_000_000),
            ),
            named("sweep-a", 12, Status::Pending, counts(3, 0, 0, 0, 0)),
            named("sweep-a", 9, Status::Pending, Counts::default()),
        ];
        let actual = vec![
            named("sweep-b", 9, Status::Done, counts(1, 1, 0, 1, 2_000_000)),
            named("sweep-a", 12, Status::Pending, counts(2, 0, 0, 0, 0)),
            named("sweep-a", 4, Status::Failed, counts(1, 0, 1, 0, 0)),
        ];
        assert!(experiment_stats_differences(counted.clone(), counted.clone()).is_empty());
        let d = experiment_stats_differences(counted, actual);
        let keys: Vec<_> = d
            .iter()
            .map(|d| (d.experiment_name.as_str(), d.total_combinations, d.status))
            .collect();
        // sweep-b's two delta rows add up to the recount; the all-zero row
        // is no difference; 4 < 12 as numbers.
        assert_eq!(
            keys,
            [
                ("sweep-a", 4, Status::Failed),
                ("sweep-a", 12, Status::Pending)
            ]
        );
        assert_eq!((d[0].counted_failed, d[0].actual_failed), (0, 1));
        assert_eq!((d[1].counted_jobs, d[1].actual_jobs), (3, 2));
    }
}
