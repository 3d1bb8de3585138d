//! The errors of the CLI, each with a SQLSTATE.

use std::fmt;
use std::io;
use std::path::PathBuf;

use jobtrack_store::{Error, Target};

/// Everything a command can fail with. Input errors name the file, the
/// 1-based line and the 0-based element (as the API's batch errors do).
#[derive(Debug)]
pub enum CliError {
    /// The library's error.
    Jobtrack(Error),
    /// A step of `demo` failed.
    Step { step: String, error: Error },
    /// Opening the database (file or server) failed.
    Open { target: Target, error: Error },
    /// An element that is valid JSON but not a valid job or update, or whose
    /// job_id exists already; `line` is where the element starts.
    Input {
        path: PathBuf,
        line: u64,
        element: usize,
        error: Error,
    },
    /// Not JSON (22P02, PostgreSQL's code for text that is not valid input
    /// of its type, as for the same text given to a `jsonb` argument).
    Syntax {
        path: PathBuf,
        line: u64,
        column: u64,
        element: Option<usize>,
        message: String,
    },
    /// A job_id given twice in one import file (23505).
    Duplicate {
        path: PathBuf,
        line: u64,
        element: usize,
        job_id: String,
        first_line: u64,
        first_element: usize,
    },
    /// The input file cannot be read.
    File { path: PathBuf, error: io::Error },
    /// The input file is not what it was when it was checked.
    Changed { path: PathBuf },
    /// Standard output cannot be written (other than a closed pipe).
    Output(io::Error),
    /// A failed `import` or `update`: nothing of it was written.
    NothingWritten(Box<CliError>),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Jobtrack(e)
    }
}

/// The SQLSTATE PostgreSQL reports for a failed file access (as its
/// `errcode_for_file_access`).
fn io_sqlstate(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::NotFound => "58P01",
        io::ErrorKind::PermissionDenied => "42501",
        io::ErrorKind::AlreadyExists => "58P02",
        io::ErrorKind::StorageFull => "53100",
        io::ErrorKind::OutOfMemory => "53200",
        _ => "58030",
    }
}

impl CliError {
    pub fn sqlstate(&self) -> &str {
        match self {
            CliError::Jobtrack(e)
            | CliError::Open { error: e, .. }
            | CliError::Step { error: e, .. } => e.sqlstate(),
            CliError::Input { error, .. } => error.sqlstate(),
            CliError::Syntax { .. } => "22P02",
            CliError::Duplicate { .. } => "23505",
            CliError::File { error, .. } | CliError::Output(error) => io_sqlstate(error),
            CliError::Changed { .. } => "55000",
            CliError::NothingWritten(inner) => inner.sqlstate(),
        }
    }

    /// Further lines for the user: the library's detail and hint of a
    /// refusal.
    pub fn notes(&self) -> Vec<String> {
        match self {
            CliError::NothingWritten(inner) => {
                let mut notes = inner.notes();
                notes.push("nothing was written".into());
                notes
            }
            CliError::Jobtrack(e @ Error::Refused { .. })
            | CliError::Step {
                error: e @ Error::Refused { .. },
                ..
            } => e.detail().into_iter().chain(e.hint()).collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Jobtrack(e) => write!(f, "{e}"),
            CliError::Step { step, error } => write!(f, "demo: {step}: {error}"),
            CliError::Open {
                target: Target::Sqlite(path),
                error,
            } if error.sqlstate() == "58P01" => write!(
                f,
                "database file {} does not exist (only import and demo create one)",
                path.display()
            ),
            // The target shows without its password.
            CliError::Open { target, error } => write!(f, "{target}: {error}"),
            CliError::Input {
                path,
                line,
                element,
                error,
            } => {
                write!(f, "{}:{line}: ", path.display())?;
                // Validation errors name their element themselves.
                match error {
                    Error::InvalidParameter { location, .. } if location.element.is_some() => {
                        write!(f, "{error}")
                    }
                    _ => write!(f, "element {element}: {error}"),
                }
            }
            CliError::Syntax {
                path,
                line,
                column,
                element,
                message,
            } => {
                write!(f, "{}:{line}: ", path.display())?;
                match element {
                    Some(i) => write!(f, "element {i} is not valid JSON: {message}")?,
                    None => write!(f, "not valid JSON: {message}")?,
                }
                if *column > 0 {
                    write!(f, " at column {column}")?;
                }
                Ok(())
            }
            CliError::Duplicate {
                path,
                line,
                element,
                job_id,
                first_line,
                first_element,
            } => write!(
                f,
                "{}:{line}: element {element}: job_id \"{job_id}\" is already at line \
                 {first_line} (element {first_element})",
                path.display()
            ),
            CliError::File { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            CliError::Changed { path } => write!(
                f,
                "{} changed while it was read; run the command again",
                path.display()
            ),
            CliError::Output(e) => write!(f, "cannot write the output: {e}"),
            CliError::NothingWritten(inner) => write!(f, "{inner}"),
        }
    }
}
