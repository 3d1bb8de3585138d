//! Standard output: tables, or the API's JSON with `--json`.
//!
//! A reader that goes away (`jobtrack recent | head -1`) closes the pipe:
//! the rest of the output is dropped quietly and the command ends with its
//! own status, as Unix tools do. Any other write error is a failure.

use std::fmt::Display;
use std::io::{self, BufWriter, StdoutLock, Write};

use comfy_table::{presets, Table, TableComponent};
use jobtrack_store::{
    jobtrack_core::progress, CacheStats, DatasetStats, ExperimentStats, Job, PoolStatus,
    RunningJob, Statistics, Status, Timestamp, TransactionMetrics,
};
use serde::Serialize;

use super::error::CliError;

/// The widest a table cell gets, in characters: a job_id (at most 64) is
/// never cut; longer cells (error messages, long names) end with `…`, and
/// `--json` has them whole.
const MAX_CELL: usize = 64;

pub struct Out {
    json: bool,
    w: BufWriter<StdoutLock<'static>>,
    closed: bool,
}

impl Out {
    pub fn new(json: bool) -> Out {
        Out {
            json,
            w: BufWriter::new(io::stdout().lock()),
            closed: false,
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    /// Whether the reader went away: what is written now is dropped.
    pub fn closed(&self) -> bool {
        self.closed
    }

    fn io(&mut self, result: io::Result<()>) -> Result<(), CliError> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other.map_err(CliError::Output),
        }
    }

    pub fn write(&mut self, text: &str) -> Result<(), CliError> {
        self.write_bytes(text.as_bytes())
    }

    /// Writes bytes (a CSV writer's buffer, which may end inside a
    /// character).
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        if self.closed {
            return Ok(());
        }
        let result = self.w.write_all(bytes);
        self.io(result)
    }

    pub fn line(&mut self, text: impl Display) -> Result<(), CliError> {
        self.write(&format!("{text}\n"))
    }

    /// Writes everything still buffered.
    pub fn finish(mut self) -> Result<(), CliError> {
        if self.closed {
            return Ok(());
        }
        let result = self.w.flush();
        self.io(result)
    }

    /// The API's JSON of `v` with `--json`, else the table `table` writes.
    pub fn value<T: Serialize + ?Sized>(
        &mut self,
        v: &T,
        table: impl FnOnce(&mut Out) -> Result<(), CliError>,
    ) -> Result<(), CliError> {
        if self.json {
            let text = serde_json::to_string_pretty(v).expect("results serialise");
            self.line(text)
        } else {
            table(self)
        }
    }

    pub fn table(&mut self, headers: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
        // No borders; the header underlined; columns two spaces apart.
        let mut table = Table::new();
        table
            .load_preset(presets::NOTHING)
            .set_style(TableComponent::HeaderLines, '-')
            .set_style(TableComponent::MiddleHeaderIntersections, ' ')
            .set_style(TableComponent::VerticalLines, ' ')
            .set_header(headers)
            .add_rows(rows.iter().map(|row| row.iter().map(|c| cell(c))));
        for column in table.column_iter_mut() {
            column.set_padding((0, 1));
        }
        self.line(table.trim_fmt())?;
        if rows.is_empty() {
            self.line("(none)")?;
        }
        Ok(())
    }

    pub fn statistics(&mut self, s: &Statistics) -> Result<(), CliError> {
        self.value(s, |out| {
            let opt = |v: Option<f64>| v.map_or("-".into(), |d| format!("{d:.1} s"));
            out.table(
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
            )?;
            let rows: Vec<Vec<String>> = Status::ALL
                .iter()
                .filter_map(|st| {
                    let e = s.executions_by_status.get(st).copied().unwrap_or(0);
                    let v = s.variations_by_status.get(st).copied().unwrap_or(0);
                    (e + v > 0).then(|| vec![st.to_string(), e.to_string(), v.to_string()])
                })
                .collect();
            out.line("")?;
            out.table(&["status", "executions", "variations"], &rows)?;
            out.line(format_args!(
                "\n{} jobs, {} successful, {} failed, success rate {:.1} %",
                s.total_jobs, s.total_successful, s.total_failed, s.success_rate
            ))
        })
    }

    pub fn dataset(&mut self, d: &DatasetStats) -> Result<(), CliError> {
        self.value(d, |out| {
            let opt = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.1} s"));
            let ts = |t: Option<Timestamp>| t.map_or("-".into(), |t| t.to_string());
            out.table(
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
            )?;
            out.line(format_args!(
                "duration avg {} min {} max {}; first run {}, last run {}",
                opt(d.average_duration),
                opt(d.min_duration),
                opt(d.max_duration),
                ts(d.first_run),
                ts(d.last_run)
            ))
        })
    }

    pub fn experiment(&mut self, x: &ExperimentStats) -> Result<(), CliError> {
        self.value(x, |out| {
            let opt = |v: Option<f64>| v.map_or("-".into(), |d| format!("{d:.1} s"));
            let ts = |t: Option<Timestamp>| t.map_or("-".into(), |t| t.to_string());
            out.table(
                &[
                    "experiment",
                    "declared",
                    "variations",
                    "finished",
                    "progress",
                    "ok",
                    "failed",
                    "rate",
                ],
                &[vec![
                    x.experiment_name.clone(),
                    x.declared_combinations.to_string(),
                    x.total_variations.to_string(),
                    x.finished_variations.to_string(),
                    format!("{:.1} %", x.progress),
                    x.successful_variations.to_string(),
                    x.failed_variations.to_string(),
                    format!("{:.1} %", x.success_rate),
                ]],
            )?;
            let rows: Vec<Vec<String>> = Status::ALL
                .iter()
                .filter_map(|st| {
                    let n = x.variations_by_status.get(st).copied().unwrap_or(0);
                    (n > 0).then(|| vec![st.to_string(), n.to_string()])
                })
                .collect();
            if !rows.is_empty() {
                out.line("")?;
                out.table(&["status", "variations"], &rows)?;
            }
            out.line(format_args!(
                "duration avg {} min {} max {}; first run {}, last run {}",
                opt(x.average_duration),
                opt(x.min_duration),
                opt(x.max_duration),
                ts(x.first_run),
                ts(x.last_run)
            ))
        })
    }

    pub fn jobs(&mut self, jobs: &[Job]) -> Result<(), CliError> {
        self.value(jobs, |out| {
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
            out.table(
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
            )
        })
    }

    pub fn running(&mut self, jobs: &[RunningJob]) -> Result<(), CliError> {
        self.value(jobs, |out| {
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
            out.table(
                &[
                    "job_id",
                    "type",
                    "status",
                    "dataset",
                    "progress",
                    "experiment",
                ],
                &rows,
            )
        })
    }

    /// The rows of `get_stale_jobs`, as `running` shows jobs, with when
    /// each was last seen: the later of its heartbeat and its last change.
    pub fn stale(&mut self, jobs: &[Job]) -> Result<(), CliError> {
        self.value(jobs, |out| {
            let rows: Vec<Vec<String>> = jobs
                .iter()
                .map(|j| {
                    let last_seen = j
                        .last_heartbeat
                        .map_or(j.updated_at, |h| h.max(j.updated_at));
                    vec![
                        j.job_id.clone(),
                        j.job_type.to_string(),
                        j.status.to_string(),
                        j.dataset_name.clone(),
                        format!("{:.0} %", progress(j.current_step, j.total_steps)),
                        last_seen.to_string(),
                        j.last_heartbeat.map_or("-".into(), |h| h.to_string()),
                    ]
                })
                .collect();
            out.table(
                &[
                    "job_id",
                    "type",
                    "status",
                    "dataset",
                    "progress",
                    "last_seen",
                    "last_heartbeat",
                ],
                &rows,
            )
        })
    }

    pub fn cache(&mut self, c: &CacheStats) -> Result<(), CliError> {
        self.value(c, |out| {
            out.line(format_args!(
                "cache: {}/{} entries, {} hits, {} misses ({:.1} % hit rate), {} evictions, {} invalidations",
                c.size, c.capacity, c.hits, c.misses, c.hit_rate, c.evictions, c.invalidations
            ))
        })
    }

    pub fn pool(&mut self, p: &PoolStatus) -> Result<(), CliError> {
        self.value(p, |out| {
            out.line(format_args!(
                "pool ({}): {} of at most {} connections open, {} active, {} idle, {} waiting",
                p.backend, p.total, p.max_connections, p.active, p.idle, p.waiting
            ))?;
            match &p.pool {
                Some(c) => out.line(format_args!(
                    "client pool: {} open (size {}, {} more on overflow), {} checked out, \
                     {} idle, {} waiting",
                    c.open, c.size, c.max_overflow, c.checked_out, c.idle, c.waiting
                )),
                None => Ok(()),
            }
        })
    }

    pub fn metrics(&mut self, m: &TransactionMetrics) -> Result<(), CliError> {
        self.value(m, |out| {
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
            out.table(&["operation", "calls", "success", "avg", "max"], &rows)
        })
    }
}

/// A value as a table cell: control characters escaped, so that a cell is
/// one line, and at most [`MAX_CELL`] characters.
fn cell(value: &str) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let piece: String = if c.is_control() {
            c.escape_default().collect()
        } else {
            c.to_string()
        };
        let n = piece.chars().count();
        let more = chars.peek().is_some();
        // Room for the ellipsis when more follows.
        if count + n > MAX_CELL - usize::from(more) {
            out.push('…');
            return out;
        }
        out.push_str(&piece);
        count += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_one_line_and_bounded() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a\nb\tc\u{7}"), "a\\nb\\tc\\u{7}");
        let long = "é".repeat(100_000);
        let c = cell(&long);
        assert_eq!(c.chars().count(), MAX_CELL);
        assert!(c.ends_with("é…"));
        let exact = "x".repeat(MAX_CELL);
        assert_eq!(cell(&exact), exact);
        let over = "x".repeat(MAX_CELL + 1);
        assert_eq!(cell(&over).chars().count(), MAX_CELL);
        assert!(cell(&over).ends_with('…'));
    }
}
