//! `jobtrack`: the command line of the embedded (SQLite) backend.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use jobtrack_sqlite::jobtrack_core::JobInput;
use jobtrack_sqlite::{
    CacheStats, DatasetStats, Error, Job, JobStore, NewExecution, NewVariation, PipelineMode,
    PoolStatus, RunningJob, Statistics, Status, StatusUpdate, TransactionMetrics,
};
use serde::Serialize;
use serde_json::Value;

/// Track ML training jobs in an embedded SQLite database.
#[derive(Parser)]
#[command(name = "jobtrack", version, about)]
struct Cli {
    /// The database file (created when missing).
    #[arg(long, global = true, default_value = "jobtrack.db")]
    db: PathBuf,
    /// Print the API contract's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a training pipeline and show what jobtrack answers about it.
    Demo {
        /// Executions to create.
        #[arg(long, default_value_t = 4000)]
        executions: usize,
        /// Experiments of the hyper-parameter sweep.
        #[arg(long, default_value_t = 40)]
        experiments: usize,
        /// Combinations per experiment.
        #[arg(long, default_value_t = 50)]
        combinations: usize,
    },
    /// Statistics over all jobs.
    Stats,
    /// Statistics of one dataset.
    Dataset {
        /// The dataset name.
        name: String,
    },
    /// The most recently updated jobs.
    Recent {
        /// How many.
        #[arg(short = 'n', default_value_t = 10)]
        n: i32,
    },
    /// Every job in an active status.
    Running,
    /// Delete terminal jobs created more than DAYS days ago.
    Cleanup {
        /// Age in days.
        #[arg(long)]
        days: i32,
        /// Keep failed jobs.
        #[arg(long)]
        keep_failed: bool,
    },
    /// Create jobs from a file: a JSON array or JSON lines; elements with a
    /// `variation_id` are variations, the others executions.
    Import {
        /// The file.
        file: PathBuf,
    },
    /// Apply status updates from a file (JSON array or JSON lines of
    /// `{"job_id","status","error_message"?}`), to jobs of either kind.
    Update {
        /// The file.
        file: PathBuf,
    },
    /// Compare the statistics counters with a full recount (a scan) and list
    /// the differences; none when all is well.
    Verify,
}

/// Errors of the CLI: the library's, or reading the input.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0} (SQLSTATE {code})", code = .0.sqlstate())]
    Jobtrack(#[from] Error),
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("{0} statistics counter rows differ from a full recount")]
    CountersDiffer(usize),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobtrack: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), CliError> {
    let store = JobStore::open(&cli.db)?;
    let out = Output { json: cli.json };
    match &cli.command {
        Command::Demo {
            executions,
            experiments,
            combinations,
        } => demo(&store, &out, *executions, *experiments, *combinations)?,
        Command::Stats => out.statistics(&store.get_statistics_optimized()?),
        Command::Dataset { name } => out.dataset(&store.get_dataset_stats_optimized(name)?),
        Command::Recent { n } => out.jobs(&store.get_recent_jobs_optimized(*n)?),
        Command::Running => out.running(&store.get_running_jobs()?),
        Command::Cleanup { days, keep_failed } => {
            let report = store.cleanup_old_jobs(*days, *keep_failed)?;
            out.value(&report, || {
                println!(
                    "deleted {} executions, {} variations ({} summary rows)",
                    report.executions_deleted,
                    report.variations_deleted,
                    report.cache_entries_deleted
                )
            });
        }
        Command::Import { file } => {
            let items = read_elements(file)?;
            let (variations, executions): (Vec<_>, Vec<_>) = items
                .into_iter()
                .enumerate()
                .partition(|(_, v)| v.get("variation_id").is_some());
            // Parse everything before writing anything, so that a bad element
            // anywhere in the file leaves the database untouched.
            let executions: Vec<NewExecution> = parse_indexed(file, executions)?;
            let variations: Vec<NewVariation> = parse_indexed(file, variations)?;
            let mut ids = store.batch_create_executions(&executions)?;
            ids.extend(store.batch_create_variations(&variations)?);
            out.value(&ids, || {
                println!(
                    "created {} executions and {} variations",
                    executions.len(),
                    variations.len()
                )
            });
        }
        Command::Update { file } => {
            let items = read_elements(file)?;
            let updates: Vec<StatusUpdate> =
                parse_indexed(file, items.into_iter().enumerate().collect())?;
            let n = store.batch_update_execution_status(&updates)?
                + store.batch_update_variation_status(&updates)?;
            out.value(&n, || println!("updated {n} jobs"));
        }
        Command::Verify => {
            let diffs = store.verify_statistics()?;
            out.value(&diffs, || {
                if diffs.is_empty() {
                    println!("the statistics counters match a full recount");
                } else {
                    println!("the statistics counters differ; refresh_job_cache() rebuilds them:");
                }
                for d in &diffs {
                    println!(
                        "{} {} {}: jobs/successful/failed/durations/microseconds \
                         counted {}/{}/{}/{}/{}, actual {}/{}/{}/{}/{}",
                        d.job_type,
                        d.dataset_name,
                        d.status,
                        d.counted_jobs,
                        d.counted_successful,
                        d.counted_failed,
                        d.counted_duration_count,
                        d.counted_duration_micros_sum,
                        d.actual_jobs,
                        d.actual_successful,
                        d.actual_failed,
                        d.actual_duration_count,
                        d.actual_duration_micros_sum
                    );
                }
            });
            // Scripts and monitoring act on the exit status.
            if !diffs.is_empty() {
                return Err(CliError::CountersDiffer(diffs.len()));
            }
        }
    }
    Ok(())
}

/// Reads a JSON array or JSON lines.
fn read_elements(path: &Path) -> Result<Vec<Value>, CliError> {
    let input_err = |message: String| CliError::Input {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| input_err(e.to_string()))?;
    if text.trim_start().starts_with('[') {
        let v: Value = serde_json::from_str(&text).map_err(|e| input_err(e.to_string()))?;
        return Ok(v.as_array().cloned().unwrap_or_default());
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| input_err(format!("line {}: {e}", n + 1)))
        })
        .collect()
}

/// Parses elements keeping their index in the file, so errors name it.
fn parse_indexed<T: JobInput>(path: &Path, items: Vec<(usize, Value)>) -> Result<Vec<T>, CliError> {
    items
        .iter()
        .map(|(i, v)| T::from_json(v, Some(*i)))
        .collect::<Result<_, _>>()
        .map_err(|e| CliError::Input {
            path: path.to_owned(),
            message: format!("{e} (SQLSTATE {}); nothing was written", e.sqlstate()),
        })
}

// ------------------------------------------------------------------ output

struct Output {
    json: bool,
}

impl Output {
    fn value<T: Serialize>(&self, v: &T, table: impl FnOnce()) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(v).expect("results serialise")
            );
        } else {
            table();
        }
    }

    fn statistics(&self, s: &Statistics) {
        self.value(s, || {
            let opt = |v: Option<f64>| v.map_or("-".into(), |d| format!("{d:.1} s"));
            print_table(
                &["", "executions", "variations"],
                &[
                    vec![
                        "total".into(),
                        s.total_executions.to_string(),
                        s.total_variations.to_string(),
                    ],
                    vec![
                        "avg duration".into(),
                        opt(s.avg_execution_duration),
                        opt(s.avg_variation_duration),
                    ],
                ],
            );
            let rows: Vec<Vec<String>> = Status::ALL
                .iter()
                .filter_map(|st| {
                    let e = s.executions_by_status.get(st).copied().unwrap_or(0);
                    let v = s.variations_by_status.get(st).copied().unwrap_or(0);
                    (e + v > 0).then(|| vec![st.to_string(), e.to_string(), v.to_string()])
                })
                .collect();
            println!();
            print_table(&["status", "executions", "variations"], &rows);
            println!(
                "\n{} jobs, {} successful, {} failed, success rate {:.1} %",
                s.total_jobs, s.total_successful, s.total_failed, s.success_rate
            );
        });
    }

    fn dataset(&self, d: &DatasetStats) {
        self.value(d, || {
            let opt = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.1} s"));
            let ts =
                |t: Option<jobtrack_sqlite::Timestamp>| t.map_or("-".into(), |t| t.to_string());
            print_table(
                &[
                    "dataset",
                    "jobs",
                    "executions",
                    "variations",
                    "ok",
                    "failed",
                    "rate",
                ],
                &[vec![
                    d.dataset_name.clone(),
                    d.total_jobs.to_string(),
                    d.executions.to_string(),
                    d.variations.to_string(),
                    d.successful_jobs.to_string(),
                    d.failed_jobs.to_string(),
                    format!("{:.1} %", d.success_rate),
                ]],
            );
            println!(
                "duration avg {} min {} max {}; first run {}, last run {}",
                opt(d.average_duration),
                opt(d.min_duration),
                opt(d.max_duration),
                ts(d.first_run),
                ts(d.last_run)
            );
        });
    }

    fn jobs(&self, jobs: &[Job]) {
        self.value(&jobs, || {
            let rows: Vec<Vec<String>> = jobs
                .iter()
                .map(|j| {
                    vec![
                        j.job_id.clone(),
                        j.job_type.to_string(),
                        j.status.to_string(),
                        j.dataset_name.clone(),
                        j.mode.clone(),
                        j.duration_seconds
                            .map_or("-".into(), |d| format!("{d:.2} s")),
                        j.updated_at.to_string(),
                        j.error_message.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "job_id",
                    "type",
                    "status",
                    "dataset",
                    "mode",
                    "duration",
                    "updated_at",
                    "error",
                ],
                &rows,
            );
        });
    }

    fn running(&self, jobs: &[RunningJob]) {
        self.value(&jobs, || {
            let rows: Vec<Vec<String>> = jobs
                .iter()
                .map(|j| {
                    vec![
                        j.job_id.clone(),
                        j.job_type.to_string(),
                        j.status.to_string(),
                        j.dataset_name.clone(),
                        format!("{:.0} %", j.progress),
                        j.experiment_name.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "job_id",
                    "type",
                    "status",
                    "dataset",
                    "progress",
                    "experiment",
                ],
                &rows,
            );
        });
    }

    fn cache(&self, c: &CacheStats) {
        self.value(c, || {
            println!(
                "cache: {}/{} entries, {} hits, {} misses ({:.1} % hit rate), {} evictions, {} invalidations",
                c.size, c.capacity, c.hits, c.misses, c.hit_rate, c.evictions, c.invalidations
            )
        });
    }

    fn pool(&self, p: &PoolStatus) {
        self.value(p, || {
            println!(
                "pool ({}): {} of at most {} connections open, {} active, {} idle, {} waiting",
                p.backend, p.total, p.max_connections, p.active, p.idle, p.waiting
            )
        });
    }

    fn metrics(&self, m: &TransactionMetrics) {
        self.value(m, || {
            let rows: Vec<Vec<String>> = m
                .iter()
                .map(|(op, o)| {
                    vec![
                        op.clone(),
                        o.count.to_string(),
                        format!("{:.0} %", o.success_rate),
                        format!("{:.2} ms", o.avg_duration * 1e3),
                        format!("{:.2} ms", o.max_duration * 1e3),
                    ]
                })
                .collect();
            print_table(&["operation", "calls", "success", "avg", "max"], &rows);
        });
    }
}

fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    if rows.is_empty() {
        println!("(none)");
    }
    for row in rows {
        line(row.clone());
    }
}

// -------------------------------------------------------------------- demo

/// A small deterministic generator (xorshift64*), so every demo run makes
/// the same pipeline without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

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
    let mut r = rng.below(total);
    for (name, weight) in DATASETS {
        if r < *weight {
            return name;
        }
        r -= weight;
    }
    DATASETS[0].0
}

fn step<T>(title: &str, timings: &mut Vec<(String, Duration)>, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let v = f();
    timings.push((title.to_owned(), start.elapsed()));
    v
}

fn bar(len: usize, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:<28} [{bar:40}] {pos}/{len} ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    pb.set_message(msg.to_owned());
    pb
}

fn demo(
    store: &JobStore,
    out: &Output,
    n_executions: usize,
    experiments: usize,
    combinations: usize,
) -> Result<(), CliError> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut timings = Vec::new();
    let modes = [
        PipelineMode::Single,
        PipelineMode::Batch,
        PipelineMode::Variations,
    ];

    let executions: Vec<NewExecution> = (0..n_executions)
        .map(|i| NewExecution {
            job_id: format!("exec-{i:06}"),
            pipeline_mode: modes[rng.below(3) as usize],
            dataset_name: pick_dataset(&mut rng).to_owned(),
            preset: PRESETS[rng.below(3) as usize].to_owned(),
            total_steps: Some(1000 + 500 * rng.below(8) as i32),
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

    let db = store
        .path()
        .map_or("memory".into(), |p| p.display().to_string());
    eprintln!(
        "jobtrack demo on {db}: {} executions, {} variations in batches of {BATCH}",
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
        .map(|_| (rng.below(100) < 3).then(|| rng.below(stages.len() as u64) as usize))
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
                        let roll = rng.below(100);
                        let (status, error_message) = match roll {
                            0..=8 => (
                                Status::Failed,
                                Some(ERRORS[rng.below(ERRORS.len() as u64) as usize].to_owned()),
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
                store.update_progress(id, 100 * rng.below(15) as i32)?;
            }
            Ok(())
        },
    )?;

    println!("\n== statistics");
    let stats = step("statistics (uncached)", &mut timings, || {
        store.get_statistics_optimized()
    })?;
    out.statistics(&stats);
    step("statistics (cache miss)", &mut timings, || {
        store.get_statistics_cached()
    })?;
    step("statistics (cache hit)", &mut timings, || {
        store.get_statistics_cached()
    })?;

    println!("\n== dataset {}", DATASETS[0].0);
    let ds = step("dataset stats", &mut timings, || {
        store.get_dataset_stats_cached(DATASETS[0].0)
    })?;
    out.dataset(&ds);

    println!("\n== recent jobs");
    let recent = step("recent jobs", &mut timings, || {
        store.get_recent_jobs_cached(8)
    })?;
    out.jobs(&recent);

    println!("\n== running jobs");
    let running = step("running jobs", &mut timings, || store.get_running_jobs())?;
    let shown = running.len().min(8);
    out.running(&running[..shown]);
    if running.len() > shown {
        println!("… and {} more", running.len() - shown);
    }

    println!("\n== cache, pool and transaction metrics");
    out.cache(&store.get_cache_stats());
    out.pool(&store.get_pool_status());
    out.metrics(&store.get_transaction_metrics());

    println!("\n== timings");
    let rows: Vec<Vec<String>> = timings
        .iter()
        .map(|(t, d)| vec![t.clone(), format!("{:.3} ms", d.as_secs_f64() * 1e3)])
        .collect();
    print_table(&["step", "time"], &rows);
    Ok(())
}

/// Sends one chunk's updates, each flagged "is a variation", to the batch
/// function of its kind.
fn apply(store: &JobStore, updates: Vec<(bool, StatusUpdate)>) -> Result<(), Error> {
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
