//! `jobtrack export`: every job, whole, as JSON lines or CSV, in constant
//! memory.
//!
//! The rows come from `JobApi::export_jobs`, which reads them a page at a
//! time from one snapshot; each is written as it arrives, so memory holds
//! one page and one line whatever the number of jobs. The JSON lines are
//! the records `import` restores (on either backend): `jobtrack export |
//! jobtrack --db other import /dev/stdin` copies a store.

use std::io::IsTerminal;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use jobtrack_store::{JobRecord, Store, Timestamp, RECORD_COLUMNS};

use super::error::CliError;
use super::output::Out;

/// How `export` writes the jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line, the keys in column order.
    Jsonl,
    /// RFC 4180 CSV with a header line: a NULL is an empty field, the
    /// parameters are JSON text.
    Csv,
}

/// The CSV fields of a record, in [`RECORD_COLUMNS`] order: text as it
/// is, numbers and booleans as JSON writes them, objects as JSON text, a
/// NULL as an empty field (an empty text cannot be stored, so the two are
/// never confused). Written field by field, not through a JSON value per
/// row: a test checks both give the same fields.
pub fn csv_fields(r: &JobRecord) -> [String; 24] {
    fn text(v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
    fn shown<T: std::fmt::Display>(v: Option<T>) -> String {
        v.map(|v| v.to_string()).unwrap_or_default()
    }
    fn json<T: serde::Serialize>(v: &Option<T>) -> String {
        v.as_ref()
            .map(|v| serde_json::to_string(v).expect("a value serialises"))
            .unwrap_or_default()
    }
    [
        r.job_id.clone(),
        r.job_type.as_str().to_owned(),
        r.status.as_str().to_owned(),
        r.dataset_name.clone(),
        r.preset.clone(),
        r.mode.as_str().to_owned(),
        text(&r.experiment_name),
        text(&r.variation_id),
        shown(r.success),
        json(&r.duration_seconds),
        text(&r.error_message),
        text(&r.output_path),
        shown(r.total_steps),
        shown(r.current_step),
        shown(r.start_time),
        r.created_at.to_string(),
        r.updated_at.to_string(),
        shown(r.last_heartbeat),
        shown(r.end_time),
        shown(r.total_combinations),
        json(&r.varied_parameters),
        json(&r.parameter_values),
        text(&r.parent_experiment_id),
        text(&r.worker),
    ]
}

/// Progress on a terminal (stderr), nothing otherwise: the number of jobs
/// is known up front from the statistics counters (constant time).
fn progress(store: &Store, since: Option<Timestamp>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    // With --since the total is an upper bound: the bar may end early.
    let total = store
        .get_statistics_optimized()
        .map(|s| u64::try_from(s.total_jobs).unwrap_or(0))
        .unwrap_or(0);
    let pb = ProgressBar::new(total);
    let template = if since.is_some() {
        "exporting {human_pos} jobs ({elapsed})"
    } else {
        "exporting [{bar:40}] {human_pos}/{human_len} ({elapsed}, {eta} left)"
    };
    pb.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    pb
}

/// The standard output as an `io::Write`, for the CSV writer.
struct Sink<'a>(&'a mut Out);

impl std::io::Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.write_bytes(buf) {
            Ok(()) => Ok(buf.len()),
            Err(CliError::Output(e)) => Err(e),
            Err(other) => Err(std::io::Error::other(other.to_string())),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `jobtrack export [--format jsonl|csv] [--since TIME]`: returns how many
/// jobs it wrote.
pub fn export(
    store: &Store,
    format: Format,
    since: Option<Timestamp>,
    out: &mut Out,
) -> Result<u64, CliError> {
    let pb = progress(store, since);
    let records = store.export_jobs(since)?;
    let mut written = 0u64;
    let each = |out: &Out, written: u64| {
        if written.is_multiple_of(1024) {
            pb.set_position(written);
        }
        // The reader went away (`jobtrack export | head`): stop reading.
        !out.closed()
    };
    match format {
        Format::Jsonl => {
            for record in records {
                let line = serde_json::to_string(&record?).expect("a record serialises");
                out.line(line)?;
                written += 1;
                if !each(out, written) {
                    break;
                }
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Sink(out));
            w.write_record(RECORD_COLUMNS).map_err(csv_error)?;
            for record in records {
                w.write_record(csv_fields(&record?)).map_err(csv_error)?;
                written += 1;
                if written.is_multiple_of(1024) {
                    w.flush().map_err(CliError::Output)?;
                    if !each(w.get_ref().0, written) {
                        break;
                    }
                }
            }
            w.flush().map_err(CliError::Output)?;
        }
    }
    pb.finish_and_clear();
    Ok(written)
}

fn csv_error(e: csv::Error) -> CliError {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => CliError::Output(e),
        other => CliError::Output(std::io::Error::other(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn csv_fields_follow_the_columns() {
        let record: JobRecord = serde_json::from_value(json!({
            "job_id": "v,1", "job_type": "variation", "status": "done",
            "dataset_name": "d", "preset": "p", "mode": "variations",
            "experiment_name": "e", "variation_id": "a\"b", "success": true,
            "duration_seconds": 1.5, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:01Z", "total_combinations": 2,
            "varied_parameters": {"lr": [1, 2]}, "parameter_values": {"lr": 1}
        }))
        .unwrap();
        let fields = csv_fields(&record);
        // The same fields as the record's JSON, key by key.
        let Value::Object(map) = serde_json::to_value(&record).unwrap() else {
            unreachable!()
        };
        let from_json: Vec<String> = RECORD_COLUMNS
            .iter()
            .map(|column| match &map[*column] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        assert_eq!(fields.to_vec(), from_json);
        assert_eq!(fields[0], "v,1");
        assert_eq!(fields[7], "a\"b");
        assert_eq!(fields[8], "true");
        assert_eq!(fields[9], "1.5");
        assert_eq!(fields[10], "");
        assert_eq!(fields[15], "2026-01-01T00:00:00.000000Z");
        assert_eq!(fields[20], r#"{"lr":[1,2]}"#);
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&fields).unwrap();
        let line = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert!(line.starts_with("\"v,1\",variation,done,"), "{line}");
        assert!(line.contains(",\"a\"\"b\",true,1.5,,"), "{line}");
    }
}
