//! `import` and `update`: a file of any length in one transaction, in
//! bounded memory. `import` takes new jobs and whole jobs as `export`
//! writes them (restored with `import_jobs`) alike.
//!
//! Each command reads its file twice. The first pass parses and validates
//! every element and keeps only the job_ids (and lines): a bad element or a
//! job_id twice in an import is reported before the database is touched.
//! The second pass, inside one `Store::transaction`, parses the file
//! again and writes it in chunks of [`CHUNK`] elements; an error anywhere
//! rolls back everything, and so does a `kill -9`. Memory holds one chunk
//! and the ids, never the file.

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use jobtrack_store::jobtrack_core::JobInput;
use jobtrack_store::{
    Error, JobRecord, JobTransaction, JobType, NewExecution, NewVariation, StatusUpdate, Store,
};
use serde_json::Value;

use super::error::CliError;
use super::output::Out;
use super::reader::{Element, ReadError, Reader};

/// Elements written per batch call inside the transaction.
pub const CHUNK: usize = 10_000;

/// The job_ids of a file in file order, with the line each element starts
/// on, in one string: a few bytes per element beyond the id itself.
#[derive(Default)]
struct Ids {
    text: String,
    ends: Vec<usize>,
    lines: Vec<u64>,
}

impl Ids {
    fn push(&mut self, job_id: &str, line: u64) {
        self.text.push_str(job_id);
        self.ends.push(self.text.len());
        self.lines.push(line);
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn line(&self, i: usize) -> u64 {
        self.lines[i]
    }

    /// Element indexes ordered by job_id, and by position among equal ids.
    fn by_id(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_unstable_by(|&a, &b| self.get(a).cmp(self.get(b)).then(a.cmp(&b)));
        order
    }

    /// The first element, in file order, whose job_id an earlier element
    /// has: (earlier, this).
    fn first_duplicate(&self) -> Option<(usize, usize)> {
        let order = self.by_id();
        let mut found: Option<(usize, usize)> = None;
        let mut group_start = 0;
        for k in 1..order.len() {
            if self.get(order[k]) != self.get(order[k - 1]) {
                group_start = k;
            } else if k == group_start + 1 && found.is_none_or(|(_, second)| order[k] < second) {
                found = Some((order[group_start], order[k]));
            }
        }
        found
    }

    /// For each element, whether it is the last one with its job_id.
    fn last_occurrences(&self) -> Vec<bool> {
        let order = self.by_id();
        let mut last = vec![false; self.len()];
        for (k, &i) in order.iter().enumerate() {
            last[i] = order
                .get(k + 1)
                .is_none_or(|&next| self.get(next) != self.get(i));
        }
        last
    }
}

/// Progress on a terminal; nothing when stderr is not one.
fn progress(len: u64, message: &str, bytes: bool) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let counts = if bytes {
        "{bytes}/{total_bytes}"
    } else {
        "{human_pos}/{human_len}"
    };
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{msg:<9}} [{{bar:40}}] {counts} ({{elapsed}}, {{eta}} left)"
        ))
        .expect("a valid template")
        .progress_chars("=> "),
    );
    pb.set_message(message.to_owned());
    pb
}

/// An input file, read element by element.
struct Input {
    path: PathBuf,
    reader: Reader<BufReader<File>>,
}

impl Input {
    fn open(path: &Path) -> Result<(Input, u64), CliError> {
        let file_error = |error| CliError::File {
            path: path.to_owned(),
            error,
        };
        let file = File::open(path).map_err(file_error)?;
        let len = file.metadata().map_err(file_error)?.len();
        let input = Input {
            path: path.to_owned(),
            reader: Reader::new(BufReader::with_capacity(1 << 16, file)),
        };
        Ok((input, len))
    }

    fn next(&mut self) -> Result<Option<Element>, CliError> {
        self.reader.next_element().map_err(|e| match e {
            ReadError::Syntax {
                line,
                column,
                element,
                message,
            } => CliError::Syntax {
                path: self.path.clone(),
                line,
                column,
                element,
                message,
            },
            ReadError::Invalid { line, error } => self.invalid(line, 0, error),
            ReadError::Io(error) => CliError::File {
                path: self.path.clone(),
                error,
            },
        })
    }

    fn invalid(&self, line: u64, element: usize, error: Error) -> CliError {
        CliError::Input {
            path: self.path.clone(),
            line,
            element,
            error,
        }
    }

    /// Parses an element as `T`, naming its line on error.
    fn parse<T: JobInput>(&self, e: &Element) -> Result<T, CliError> {
        T::from_json(&e.value, Some(e.index)).map_err(|error| self.invalid(e.line, e.index, error))
    }

    fn changed(&self) -> CliError {
        CliError::Changed {
            path: self.path.clone(),
        }
    }
}

/// One element of an import file.
enum NewJob {
    Execution(NewExecution),
    Variation(NewVariation),
    /// A whole job as `export` writes it, restored as it is.
    Record(JobRecord),
}

impl JobInput for NewJob {
    fn job_id(&self) -> &str {
        match self {
            NewJob::Execution(j) => &j.job_id,
            NewJob::Variation(j) => &j.job_id,
            NewJob::Record(j) => &j.job_id,
        }
    }

    fn from_json(value: &Value, element: Option<usize>) -> jobtrack_store::Result<Self> {
        // Only a record has a job_type; then as the CLI has always told
        // the kinds apart.
        if value.get("job_type").is_some() {
            JobRecord::from_json(value, element).map(NewJob::Record)
        } else if value.get("variation_id").is_some() {
            NewVariation::from_json(value, element).map(NewJob::Variation)
        } else {
            NewExecution::from_json(value, element).map(NewJob::Execution)
        }
    }

    fn validate(&self, element: Option<usize>) -> jobtrack_store::Result<()> {
        match self {
            NewJob::Execution(j) => j.validate(element),
            NewJob::Variation(j) => j.validate(element),
            NewJob::Record(j) => j.validate(element),
        }
    }
}

/// The executions and variations of up to [`CHUNK`] elements, with their
/// element indexes.
#[derive(Default)]
struct Chunk {
    executions: Vec<NewExecution>,
    execution_elements: Vec<usize>,
    variations: Vec<NewVariation>,
    variation_elements: Vec<usize>,
    records: Vec<JobRecord>,
    record_elements: Vec<usize>,
}

impl Chunk {
    fn len(&self) -> usize {
        self.executions.len() + self.variations.len() + self.records.len()
    }

    fn push(&mut self, index: usize, job: NewJob) {
        match job {
            NewJob::Execution(j) => {
                self.executions.push(j);
                self.execution_elements.push(index);
            }
            NewJob::Variation(j) => {
                self.variations.push(j);
                self.variation_elements.push(index);
            }
            NewJob::Record(j) => {
                self.records.push(j);
                self.record_elements.push(index);
            }
        }
    }

    /// The element of the chunk with this job_id.
    fn element_of(&self, job_id: &str) -> Option<usize> {
        let e = self.executions.iter().position(|j| j.job_id == job_id);
        let v = self.variations.iter().position(|j| j.job_id == job_id);
        let r = self.records.iter().position(|j| j.job_id == job_id);
        e.map(|k| self.execution_elements[k])
            .or_else(|| v.map(|k| self.variation_elements[k]))
            .or_else(|| r.map(|k| self.record_elements[k]))
    }

    fn clear(&mut self) {
        self.executions.clear();
        self.execution_elements.clear();
        self.variations.clear();
        self.variation_elements.clear();
        self.records.clear();
        self.record_elements.clear();
    }
}

/// The first pass over a file: every element parsed (and passed to
/// `each`), its job_id kept.
fn check_file<T: JobInput>(
    path: &Path,
    parse: impl Fn(&Input, &Element) -> Result<T, CliError>,
    mut each: impl FnMut(&T),
) -> Result<Ids, CliError> {
    let (mut input, len) = Input::open(path)?;
    let pb = progress(len, "checking", true);
    let mut ids = Ids::default();
    while let Some(e) = input.next()? {
        let item = parse(&input, &e)?;
        each(&item);
        ids.push(item.job_id(), e.line);
        if e.index % 1024 == 0 {
            pb.set_position(input.reader.offset());
        }
    }
    pb.finish_and_clear();
    Ok(ids)
}

/// Runs `write` in one transaction; an error of the CLI inside it (the
/// file, a located input error) rolls back and is returned as it is.
fn in_transaction<T>(
    store: &Store,
    write: impl FnOnce(&mut dyn JobTransaction) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let mut failure = None;
    let result = store.transaction(|tx| {
        write(tx).map_err(|e| {
            let code = e.sqlstate().to_owned();
            failure = Some(e);
            // Only makes the transaction roll back; `failure` is reported.
            Error::database(&code, "the command failed")
        })
    });
    result.map_err(|e| failure.unwrap_or(CliError::Jobtrack(e)))
}

/// `jobtrack import FILE`.
pub fn import(
    open: impl FnOnce() -> Result<Store, CliError>,
    path: &Path,
    out: &mut Out,
) -> Result<(), CliError> {
    let (mut executions, mut variations, mut restored) = (0usize, 0usize, 0usize);
    let ids = check_file(path, Input::parse::<NewJob>, |job| match job {
        NewJob::Execution(_) => executions += 1,
        NewJob::Variation(_) => variations += 1,
        NewJob::Record(r) => {
            restored += 1;
            match r.job_type {
                JobType::Execution => executions += 1,
                JobType::Variation => variations += 1,
            }
        }
    })?;
    if let Some((first, second)) = ids.first_duplicate() {
        return Err(CliError::Duplicate {
            path: path.to_owned(),
            line: ids.line(second),
            element: second,
            job_id: ids.get(second).to_owned(),
            first_line: ids.line(first),
            first_element: first,
        });
    }
    let store = open()?;
    if ids.len() > 0 {
        in_transaction(&store, |tx| {
            let (mut input, _) = Input::open(path)?;
            let pb = progress(ids.len() as u64, "importing", false);
            let mut chunk = Chunk::default();
            let mut flush = |chunk: &mut Chunk, input: &Input| {
                let written = tx
                    .batch_create_executions(&chunk.executions)
                    .and_then(|_| tx.batch_create_variations(&chunk.variations))
                    .and_then(|_| tx.import_jobs(&chunk.records));
                let Err(error) = written else {
                    pb.inc(chunk.len() as u64);
                    chunk.clear();
                    return Ok(());
                };
                // A job_id that existed before: name its element.
                let element = match &error {
                    Error::UniqueViolation { job_id, .. } => chunk.element_of(job_id),
                    _ => None,
                };
                Err(match element {
                    Some(i) => input.invalid(ids.line(i), i, error),
                    None => CliError::Jobtrack(error),
                })
            };
            while let Some(e) = input.next()? {
                let job: NewJob = input.parse(&e)?;
                if e.index >= ids.len() || job.job_id() != ids.get(e.index) {
                    return Err(input.changed());
                }
                chunk.push(e.index, job);
                if chunk.len() == CHUNK {
                    flush(&mut chunk, &input)?;
                }
            }
            flush(&mut chunk, &input)?;
            if input.reader.elements() != ids.len() {
                return Err(input.changed());
            }
            pb.finish_and_clear();
            Ok(())
        })?;
    }
    if out.json() {
        // The API's `text[]` of the ids in input order, written as it goes:
        // a million ids need not be one string.
        if ids.len() == 0 {
            return out.line("[]");
        }
        out.write("[\n")?;
        for i in 0..ids.len() {
            let id = serde_json::to_string(ids.get(i)).expect("a string serialises");
            let sep = if i + 1 < ids.len() { "," } else { "" };
            out.line(format_args!("  {id}{sep}"))?;
        }
        out.line("]")
    } else {
        let whole = if restored > 0 {
            format!(" ({restored} restored whole)")
        } else {
            String::new()
        };
        out.line(format_args!(
            "created {executions} executions and {variations} variations{whole}"
        ))
    }
}

/// `jobtrack update FILE`: the file is one batch — for a job_id given more
/// than once only the last element counts, over any distance, as in one
/// `batch_update_*_status` call with the whole file.
pub fn update(
    open: impl FnOnce() -> Result<Store, CliError>,
    path: &Path,
    out: &mut Out,
) -> Result<(), CliError> {
    let ids = check_file(path, |input, e| input.parse::<StatusUpdate>(e), |_| {})?;
    let last = ids.last_occurrences();
    let store = open()?;
    let mut changed = 0i64;
    if ids.len() > 0 {
        changed = in_transaction(&store, |tx| {
            let (mut input, _) = Input::open(path)?;
            let pb = progress(ids.len() as u64, "updating", false);
            let mut changed = 0i64;
            let mut chunk: Vec<StatusUpdate> = Vec::with_capacity(CHUNK);
            let mut flush = |chunk: &mut Vec<StatusUpdate>, seen: usize| {
                // An id is either kind: the function of the other kind skips it.
                changed += i64::from(tx.batch_update_execution_status(chunk)?);
                changed += i64::from(tx.batch_update_variation_status(chunk)?);
                chunk.clear();
                pb.set_position(seen as u64);
                Ok::<(), CliError>(())
            };
            while let Some(e) = input.next()? {
                let update: StatusUpdate = input.parse(&e)?;
                if e.index >= ids.len() || update.job_id != ids.get(e.index) {
                    return Err(input.changed());
                }
                if last[e.index] {
                    chunk.push(update);
                    if chunk.len() == CHUNK {
                        flush(&mut chunk, e.index + 1)?;
                    }
                }
            }
            flush(&mut chunk, ids.len())?;
            if input.reader.elements() != ids.len() {
                return Err(input.changed());
            }
            pb.finish_and_clear();
            Ok(changed)
        })?;
    }
    out.value(&changed, |out| {
        out.line(format_args!("updated {changed} jobs"))
    })
}
