//! The deterministic synthetic workload: the same seed and size give the
//! same jobs, in both backends.
//!
//! Shape, as a training pipeline's history looks: 60 % executions, 40 %
//! variations in sweeps of 4–64 combinations with parameter objects;
//! datasets of uneven size (Zipf-like weights over 24 names); about 80 %
//! done, 10 % failed with an error message, 5 % cancelled and 5 % active;
//! `created_at` spread over the 180 days before the run's day.

use fastrand::Rng;
use jobtrack_core::{PipelineMode, Status, StatusUpdate, Timestamp};
use serde_json::{json, Map, Value};

/// Dataset names; weights fall off as 1/(k+1)^1.1, so a few datasets hold
/// most jobs and many hold few.
pub const DATASETS: [&str; 24] = [
    "imagenet-1k",
    "coco-2017",
    "librispeech-960h",
    "openwebtext",
    "cifar-100",
    "wikitext-103",
    "laion-400m-subset",
    "squad-v2",
    "mnist",
    "kinetics-400",
    "cityscapes",
    "common-voice-en",
    "pile-subset",
    "ade20k",
    "voc-2012",
    "glue-mnli",
    "celeba-hq",
    "ms-marco",
    "audioset",
    "fashion-mnist",
    "tiny-shakespeare",
    "svhn",
    "stl-10",
    "caltech-101",
];

const PRESETS: [&str; 6] = ["fast", "balanced", "quality", "debug", "large-batch", "fp8"];

const ERRORS: [&str; 8] = [
    "CUDA out of memory",
    "NaN loss detected",
    "dataset shard missing",
    "NCCL timeout in all_reduce",
    "checkpoint write failed: disk full",
    "preempted by scheduler",
    "gradient overflow in fp16",
    "worker exited with signal 9",
];

const ACTIVE: [Status; 7] = [
    Status::Pending,
    Status::InQueue,
    Status::PreparingDataset,
    Status::ConfiguringPreset,
    Status::ReadyForTraining,
    Status::Training,
    Status::GeneratingPreview,
];

/// The columns both kinds share, with the values of a job that has lived.
#[derive(Debug, Clone)]
pub struct Common {
    pub job_id: String,
    pub status: Status,
    pub dataset_name: String,
    pub preset: String,
    pub total_steps: Option<i32>,
    pub current_step: Option<i32>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub duration_seconds: Option<f64>,
    pub success: Option<bool>,
    pub error_message: Option<String>,
    pub output_path: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One execution.
#[derive(Debug, Clone)]
pub struct Execution {
    pub common: Common,
    pub pipeline_mode: PipelineMode,
}

/// One variation.
#[derive(Debug, Clone)]
pub struct Variation {
    pub common: Common,
    pub variation_id: String,
    pub experiment_name: String,
    pub total_combinations: i32,
    pub varied_parameters: Value,
    pub parameter_values: Value,
    pub parent_experiment_id: Option<String>,
}

/// A generated history of `executions.len() + variations.len()` jobs.
#[derive(Debug, Clone)]
pub struct Workload {
    pub executions: Vec<Execution>,
    pub variations: Vec<Variation>,
}

/// The id of execution `i`; the pgbench writer script builds the same ids.
pub fn execution_id(i: usize) -> String {
    format!("exec-{i:08}")
}

fn variation_job_id(i: usize) -> String {
    format!("var-{i:08}")
}

fn pick_dataset(rng: &mut Rng, cumulative: &[f64]) -> &'static str {
    let total = *cumulative.last().expect("datasets");
    let r = rng.f64() * total;
    let k = cumulative.iter().position(|c| r < *c).unwrap_or(0);
    DATASETS[k]
}

fn life(rng: &mut Rng, job_id: String, dataset: &str, now: Timestamp) -> Common {
    const DAY: i64 = 86_400_000_000;
    let created_at = Timestamp::from_unix_micros(now.unix_micros() - DAY - rng.i64(0..180 * DAY));
    let r = rng.f64();
    let status = if r < 0.80 {
        Status::Done
    } else if r < 0.90 {
        Status::Failed
    } else if r < 0.95 {
        Status::Cancelled
    } else if rng.f64() < 0.4 {
        Status::Training
    } else {
        ACTIVE[rng.usize(..ACTIVE.len())]
    };
    let total_steps = (rng.f64() < 0.9).then(|| 1000 * (1 + rng.i32(0..100)));
    let started = match status {
        Status::Pending | Status::InQueue | Status::PreparingDataset => false,
        Status::Cancelled => rng.f64() < 0.7,
        _ => true,
    };
    let start_time = started
        .then(|| Timestamp::from_unix_micros(created_at.unix_micros() + rng.i64(0..600_000_000)));
    // Log-uniform from one minute to ten hours, whole microseconds.
    let duration_micros = (60e6 * 600f64.powf(rng.f64())).round() as i64;
    let terminal = status.is_terminal();
    let end_time = terminal.then(|| match start_time {
        Some(s) => Timestamp::from_unix_micros(s.unix_micros() + duration_micros),
        None => Timestamp::from_unix_micros(created_at.unix_micros() + 1_000_000),
    });
    let duration_seconds = match (terminal, start_time) {
        (true, Some(_)) => Some(duration_micros as f64 / 1e6),
        _ => None,
    };
    let current_step = match (status, total_steps) {
        (Status::Done, Some(t)) => Some(t),
        (_, Some(t)) if started => Some((t as f64 * rng.f64()) as i32),
        _ => None,
    };
    let error_message = (status == Status::Failed).then(|| {
        format!(
            "{} at step {}",
            ERRORS[rng.usize(..ERRORS.len())],
            rng.u32(..100_000)
        )
    });
    let output_path =
        (status == Status::Done).then(|| format!("s3://models/{dataset}/{job_id}/final.pt"));
    let updated_at = end_time.or(start_time).unwrap_or(created_at);
    Common {
        status,
        dataset_name: dataset.to_owned(),
        preset: PRESETS[rng.usize(..PRESETS.len())].to_owned(),
        total_steps,
        current_step,
        start_time,
        end_time,
        duration_seconds,
        success: status.success(),
        error_message,
        output_path,
        created_at,
        updated_at,
        job_id,
    }
}

impl Workload {
    /// `jobs` jobs from `seed`; timestamps relative to `now` (the run's day,
    /// so that cleanup's "older than N days" means the same in every run).
    pub fn generate(jobs: usize, seed: u64, now: Timestamp) -> Workload {
        let mut rng = Rng::with_seed(seed ^ jobs as u64);
        let mut cumulative = Vec::with_capacity(DATASETS.len());
        let mut acc = 0.0;
        for k in 0..DATASETS.len() {
            acc += 1.0 / ((k + 1) as f64).powf(1.1);
            cumulative.push(acc);
        }
        let n_exec = jobs * 6 / 10;
        let n_var = jobs - n_exec;
        let executions = (0..n_exec)
            .map(|i| {
                let dataset = pick_dataset(&mut rng, &cumulative);
                let common = life(&mut rng, execution_id(i), dataset, now);
                let pipeline_mode = match rng.u8(..10) {
                    0..=5 => PipelineMode::Single,
                    6..=8 => PipelineMode::Batch,
                    _ => PipelineMode::Variations,
                };
                Execution {
                    common,
                    pipeline_mode,
                }
            })
            .collect();
        let mut variations = Vec::with_capacity(n_var);
        let mut experiment = 0usize;
        while variations.len() < n_var {
            let combos = (4 + rng.usize(..61)).min(n_var - variations.len());
            let dataset = pick_dataset(&mut rng, &cumulative);
            let experiment_name = format!("sweep-{experiment:06}-{dataset}");
            let parent = (rng.f64() < 0.3).then(|| format!("exp-{:06}", experiment / 2));
            let varied = json!({
                "learning_rate": [1e-5, 3e-5, 1e-4, 3e-4],
                "batch_size": [32, 64, 128, 256],
                "warmup_steps": [0, 500, 2000],
            });
            for c in 0..combos {
                let i = variations.len();
                let common = life(&mut rng, variation_job_id(i), dataset, now);
                let mut values = Map::new();
                values.insert(
                    "learning_rate".into(),
                    json!([1e-5, 3e-5, 1e-4, 3e-4][c % 4]),
                );
                values.insert("batch_size".into(), json!(32 << (c / 4 % 4)));
                values.insert("warmup_steps".into(), json!([0, 500, 2000][c / 16 % 3]));
                variations.push(Variation {
                    common,
                    variation_id: format!("v{c:03}"),
                    experiment_name: experiment_name.clone(),
                    total_combinations: combos as i32,
                    varied_parameters: varied.clone(),
                    parameter_values: Value::Object(values),
                    parent_experiment_id: parent.clone(),
                });
            }
            experiment += 1;
        }
        Workload {
            executions,
            variations,
        }
    }

    /// Number of jobs.
    pub fn len(&self) -> usize {
        self.executions.len() + self.variations.len()
    }

    /// The dataset with the most jobs (the dashboard's usual question).
    pub fn busiest_dataset(&self) -> &'static str {
        DATASETS[0]
    }
}

/// Which table a status update goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Execution,
    Variation,
}

/// A batch of `n` status changes spread evenly over the existing jobs of
/// both kinds, for repetition `round`: about 70 % done, 15 % failed with one
/// of a few error messages, 10 % training, 5 % cancelled. Each round shifts
/// the statuses so every round really changes rows.
pub fn status_batch(w: &Workload, n: usize, round: usize) -> Vec<(Kind, StatusUpdate)> {
    let total = w.len();
    let n = n.min(total);
    (0..n)
        .map(|k| {
            let i = k * total / n;
            let (kind, job_id) = if i < w.executions.len() {
                (Kind::Execution, w.executions[i].common.job_id.clone())
            } else {
                let v = i - w.executions.len();
                (Kind::Variation, w.variations[v].common.job_id.clone())
            };
            let slot = (k * 7 + round * 3) % 20;
            let (status, error_message) = match slot {
                0..=13 => (Status::Done, None),
                14..=16 => (Status::Failed, Some(ERRORS[(k + round) % 3].to_owned())),
                17..=18 => (Status::Training, None),
                _ => (Status::Cancelled, None),
            };
            (
                kind,
                StatusUpdate {
                    job_id,
                    status,
                    error_message,
                },
            )
        })
        .collect()
}

/// `n` new jobs (60 % executions) with ids unique to `tag`, for the create
/// benchmarks: the inputs of `batch_create_*`.
pub fn new_jobs(
    n: usize,
    tag: &str,
) -> (
    Vec<jobtrack_core::NewExecution>,
    Vec<jobtrack_core::NewVariation>,
) {
    let n_exec = n * 6 / 10;
    let execs = (0..n_exec)
        .map(|i| jobtrack_core::NewExecution {
            job_id: format!("new-{tag}-e{i:07}"),
            pipeline_mode: PipelineMode::Single,
            dataset_name: DATASETS[i % 7].to_owned(),
            preset: PRESETS[i % PRESETS.len()].to_owned(),
            total_steps: Some(10_000),
            status: Status::Pending,
        })
        .collect();
    let vars = (0..n - n_exec)
        .map(|i| {
            let mut values = Map::new();
            values.insert("learning_rate".into(), json!([1e-5, 1e-4, 1e-3][i % 3]));
            values.insert("batch_size".into(), json!(32 << (i / 3 % 3)));
            let mut varied = Map::new();
            varied.insert("learning_rate".into(), json!([1e-5, 1e-4, 1e-3]));
            varied.insert("batch_size".into(), json!([32, 64, 128]));
            jobtrack_core::NewVariation {
                job_id: format!("new-{tag}-v{i:07}"),
                variation_id: format!("v{:03}", i % 9),
                experiment_name: format!("new-sweep-{tag}-{}", i / 9),
                dataset_name: DATASETS[i % 5].to_owned(),
                preset: "balanced".to_owned(),
                total_combinations: 9,
                varied_parameters: varied,
                parameter_values: values,
                parent_experiment_id: None,
                total_steps: Some(5_000),
                status: Status::Pending,
            }
        })
        .collect();
    (execs, vars)
}

/// `n` old terminal jobs (done or cancelled, created 400 days ago) for the
/// cleanup benchmark to delete, unique to `tag`.
pub fn old_jobs(n: usize, tag: &str, now: Timestamp) -> Workload {
    let mut w = Workload::generate(n.max(2), 7, now);
    let old = now.minus_days(400);
    for (i, e) in w.executions.iter_mut().enumerate() {
        age(&mut e.common, format!("old-{tag}-e{i:07}"), old, i);
    }
    for (i, v) in w.variations.iter_mut().enumerate() {
        age(&mut v.common, format!("old-{tag}-v{i:07}"), old, i);
    }
    w
}

fn age(c: &mut Common, job_id: String, old: Timestamp, i: usize) {
    c.job_id = job_id;
    c.status = if i.is_multiple_of(10) {
        Status::Cancelled
    } else {
        Status::Done
    };
    c.success = c.status.success();
    c.error_message = None;
    c.created_at = old;
    c.start_time = Some(old);
    c.end_time = Some(Timestamp::from_unix_micros(old.unix_micros() + 60_000_000));
    c.duration_seconds = Some(60.0);
    c.updated_at = c.end_time.expect("set");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_realistic() {
        let now = Timestamp::from_unix_micros(1_790_000_000_000_000);
        let a = Workload::generate(5000, 1, now);
        let b = Workload::generate(5000, 1, now);
        assert_eq!(a.len(), 5000);
        // Every field, not only the ids: both backends load the same jobs.
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        let other = Workload::generate(5000, 2, now);
        assert_ne!(format!("{a:?}"), format!("{other:?}"));
        let all: Vec<&Common> = a
            .executions
            .iter()
            .map(|e| &e.common)
            .chain(a.variations.iter().map(|v| &v.common))
            .collect();
        let active = all.iter().filter(|c| !c.status.is_terminal()).count();
        let failed = all.iter().filter(|c| c.status == Status::Failed).count();
        assert!((100..500).contains(&active), "active {active}");
        assert!(all
            .iter()
            .filter(|c| c.status == Status::Failed)
            .all(|c| c.error_message.is_some()));
        assert!(failed > 300);
        let busiest = all
            .iter()
            .filter(|c| c.dataset_name == a.busiest_dataset())
            .count();
        let rarest = all
            .iter()
            .filter(|c| c.dataset_name == DATASETS[23])
            .count();
        assert!(busiest > 5 * rarest);
    }

    #[test]
    fn status_batches_change_rows() {
        let now = Timestamp::now();
        let w = Workload::generate(1000, 1, now);
        let a = status_batch(&w, 100, 0);
        let b = status_batch(&w, 100, 1);
        assert_eq!(a.len(), 100);
        assert!(a.iter().any(|(k, _)| *k == Kind::Variation));
        assert!(a.iter().zip(&b).any(|(x, y)| x.1.status != y.1.status));
    }
}
