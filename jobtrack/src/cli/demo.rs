//! `jobtrack demo`: a simulated training pipeline, and what jobtrack
//! answers about it.

use std::io::{IsTerminal, Write as _};
use std::time::{Duration, Instant};

use fastrand::Rng;
use indicatif::{ProgressBar, ProgressStyle};
use jobtrack_store::{
    Error, NewExecution, NewVariation, PipelineMode, Status, StatusUpdate, Store, Target,
};

use super::error::CliError;
use super::output::Out;

const DATASETS: &[(&str, u64)] = &[
    ("imagenet-1k", 40),
    ("cifar-10", 25),
    ("mnist", 15),
    ("coco-2017", 10),
    ("librispeech", 6),
    ("wikitext-103", 4),
];
const PRESETS: &[&str] = &["fast", "balanced", "quality"];
const ERRORS: &[&str] = &[
    "CUDA out of memory",
    "loss became NaN at step 1200",
    "dataset shard 7 is corrupt",
    "worker lost heartbeat",
];
const BATCH: usize = 500;

fn pick_dataset(rng: &mut Rng) -> &'static str {
    let total: u64 = DATASETS.iter().map(|d| d.1).sum();
    let mut r = rng.u64(..total);
    for (name, weight) in DATASETS {
        if r < *weight {
            return name;
        }
        r -= weight;
    }
    DATASETS[0].0
}

/// Runs and times one step; its error names the step.
fn step<T>(
    title: &str,
    timings: &mut Vec<(String, Duration)>,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, CliError> {
    let start = Instant::now();
    let v = f().map_err(|error| CliError::Step {
        step: title.to_owned(),
        error,
    })?;
    timings.push((title.to_owned(), start.elapsed()));
    Ok(v)
}

fn bar(len: usize, msg: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:<28} [{bar:40}] {pos}/{len} ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    pb.set_message(msg.to_owned());
    pb
}

pub fn demo(
    store: &Store,
    target: &Target,
    out: &mut Out,
    n_executions: usize,
    experiments: usize,
    combinations: usize,
) -> Result<(), CliError> {
    // A fixed seed: every demo run makes the same pipeline.
    let mut rng = Rng::with_seed(0x9E37_79B9_7F4A_7C15);
    let mut timings = Vec::new();
    let modes = [
        PipelineMode::Single,
        PipelineMode::Batch,
        PipelineMode::Variations,
    ];

    let executions: Vec<NewExecution> = (0..n_executions)
        .map(|i| NewExecution {
            job_id: format!("exec-{i:06}"),
            pipeline_mode: modes[rng.usize(..modes.len())],
            dataset_name: pick_dataset(&mut rng).to_owned(),
            preset: PRESETS[rng.usize(..PRESETS.len())].to_owned(),
            total_steps: Some(1000 + 500 * rng.i32(0..8)),
            status: Status::Pending,
        })
        .collect();
    let variations: Vec<NewVariation> = (0..experiments)
        .flat_map(|e| (0..combinations).map(move |c| (e, c)))
        .map(|(e, c)| {
            let lr = [1e-4, 3e-4, 1e-3, 3e-3][c % 4];
            let batch = [16, 32, 64][c % 3];
            NewVariation {
                job_id: format!("var-{e:03}-{c:04}"),
                variation_id: format!("lr={lr}/bs={batch}"),
                experiment_name: format!("sweep-{e:03}"),
                dataset_name: pick_dataset(&mut rng).to_owned(),
                preset: PRESETS[e % 3].to_owned(),
                total_combinations: combinations as i32,
                varied_parameters: serde_json::from_value(serde_json::json!({
                    "learning_rate": [1e-4, 3e-4, 1e-3, 3e-3], "batch_size": [16, 32, 64]
                }))
                .expect("an object"),
                parameter_values: serde_json::from_value(
                    serde_json::json!({"learning_rate": lr, "batch_size": batch}),
                )
                .expect("an object"),
                parent_experiment_id: Some(format!("sweep-{e:03}")),
                total_steps: Some(2000),
                status: Status::Pending,
            }
        })
        .collect();

    // Information, not output: a failed write to stderr changes nothing.
    let _ = writeln!(
        std::io::stderr(),
        "jobtrack demo on {target}: {} executions, {} variations in batches of {BATCH}",
        executions.len(),
        variations.len()
    );

    step(
        "create jobs (batches)",
        &mut timings,
        || -> Result<(), Error> {
            let pb = bar(executions.len() + variations.len(), "creating jobs");
            for chunk in executions.chunks(BATCH) {
                store.batch_create_executions(chunk)?;
                pb.inc(chunk.len() as u64);
            }
            for chunk in variations.chunks(BATCH) {
                store.batch_create_variations(chunk)?;
                pb.inc(chunk.len() as u64);
            }
            pb.finish();
            Ok(())
        },
    )?;

    // Every job walks the pipeline; a few stay active so that the running
    // view has something to show.
    let ids: Vec<(String, bool)> = executions
        .iter()
        .map(|e| (e.job_id.clone(), false))
        .chain(variations.iter().map(|v| (v.job_id.clone(), true)))
        .collect();
    let stages = [
        Status::InQueue,
        Status::PreparingDataset,
        Status::ConfiguringPreset,
        Status::ReadyForTraining,
        Status::Training,
    ];
    // About 3 % of the jobs stay active, each stopping at a stage of its own.
    let stops_at: Vec<Option<usize>> = ids
        .iter()
        .map(|_| (rng.u8(..100) < 3).then(|| rng.usize(..stages.len())))
        .collect();
    step(
        "move through the pipeline",
        &mut timings,
        || -> Result<(), Error> {
            let pb = bar(ids.len() * (stages.len() + 1), "batch status updates");
            for (s, stage) in stages.iter().enumerate() {
                for (k, chunk) in ids.chunks(BATCH).enumerate() {
                    let updates = chunk
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| stops_at[k * BATCH + j].is_none_or(|stop| s <= stop))
                        .map(|(_, (id, is_variation))| {
                            let update = StatusUpdate {
                                job_id: id.clone(),
                                status: *stage,
                                error_message: None,
                            };
                            (*is_variation, update)
                        })
                        .collect();
                    apply(store, updates)?;
                    pb.inc(chunk.len() as u64);
                }
            }
            for (k, chunk) in ids.chunks(BATCH).enumerate() {
                let updates = chunk
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| stops_at[k * BATCH + j].is_none())
                    .map(|(_, (id, is_variation))| {
                        let roll = rng.u8(..100);
                        let (status, error_message) = match roll {
                            0..=8 => (
                                Status::Failed,
                                Some(ERRORS[rng.usize(..ERRORS.len())].to_owned()),
                            ),
                            9..=12 => (Status::Cancelled, None),
                            _ => (Status::Done, None),
                        };
                        let update = StatusUpdate {
                            job_id: id.clone(),
                            status,
                            error_message,
                        };
                        (*is_variation, update)
                    })
                    .collect();
                apply(store, updates)?;
                pb.inc(chunk.len() as u64);
            }
            pb.finish();
            Ok(())
        },
    )?;

    step(
        "report progress of active jobs",
        &mut timings,
        || -> Result<(), Error> {
            let training = ids
                .iter()
                .zip(&stops_at)
                .filter(|(_, stop)| **stop == Some(stages.len() - 1));
            for ((id, _), _) in training {
                store.update_progress(id, 100 * rng.i32(0..15))?;
            }
            Ok(())
        },
    )?;

    out.line("\n== statistics")?;
    let stats = step("statistics (uncached)", &mut timings, || {
        store.get_statistics_optimized()
    })?;
    out.statistics(&stats)?;
    step("statistics (cache miss)", &mut timings, || {
        store.get_statistics_cached()
    })?;
    step("statistics (cache hit)", &mut timings, || {
        store.get_statistics_cached()
    })?;

    out.line(format_args!("\n== dataset {}", DATASETS[0].0))?;
    let ds = step("dataset stats", &mut timings, || {
        store.get_dataset_stats_cached(DATASETS[0].0)
    })?;
    out.dataset(&ds)?;

    out.line("\n== recent jobs")?;
    let recent = step("recent jobs", &mut timings, || {
        store.get_recent_jobs_cached(8)
    })?;
    out.jobs(&recent)?;

    out.line("\n== running jobs")?;
    let running = step("running jobs", &mut timings, || {
        store.get_running_jobs(None, None)
    })?;
    let shown = running.len().min(8);
    out.running(&running[..shown])?;
    if running.len() > shown {
        out.line(format_args!("… and {} more", running.len() - shown))?;
    }

    out.line("\n== cache, pool and transaction metrics")?;
    out.cache(&store.get_cache_stats()?)?;
    out.pool(&store.get_pool_status()?)?;
    out.metrics(&store.get_transaction_metrics()?)?;

    out.line("\n== timings")?;
    let rows: Vec<Vec<String>> = timings
        .iter()
        .map(|(t, d)| vec![t.clone(), format!("{:.3} ms", d.as_secs_f64() * 1e3)])
        .collect();
    out.table(&["step", "time"], &rows)
}

/// Sends one chunk's updates, each flagged "is a variation", to the batch
/// function of its kind.
fn apply(store: &Store, updates: Vec<(bool, StatusUpdate)>) -> Result<(), Error> {
    let (vars, execs): (Vec<_>, Vec<_>) = updates.into_iter().partition(|(v, _)| *v);
    let vars: Vec<StatusUpdate> = vars.into_iter().map(|(_, u)| u).collect();
    let execs: Vec<StatusUpdate> = execs.into_iter().map(|(_, u)| u).collect();
    if !execs.is_empty() {
        store.batch_update_execution_status(&execs)?;
    }
    if !vars.is_empty() {
        store.batch_update_variation_status(&vars)?;
    }
    Ok(())
}
