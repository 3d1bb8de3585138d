//! The one error type of jobtrack, with the SQLSTATE each case carries in
//! both backends.

use std::fmt;

/// Result alias used throughout jobtrack.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input a bad value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Index of the element in a batch (0-based, as jsonb subscripts), `None`
    /// for a single-object call or a scalar argument.
    pub element: Option<usize>,
    /// Name of the field or argument, `None` when the element itself is bad.
    pub field: Option<String>,
}

impl Location {
    /// Splits a message written as `{location} {problem}` (the Display of
    /// [`Error::InvalidParameter`]) back into its parts.
    fn split_message(message: &str) -> Option<(Location, &str)> {
        let (element, rest) = match message.strip_prefix("element ") {
            Some(rest) => {
                let digits = rest.find(|c: char| !c.is_ascii_digit())?;
                let element = rest[..digits].parse().ok()?;
                match rest[digits..].strip_prefix(": ") {
                    Some(rest) => (Some(element), rest),
                    None => {
                        let problem = rest[digits..].strip_prefix(' ')?;
                        let location = Location {
                            element: Some(element),
                            field: None,
                        };
                        return Some((location, problem));
                    }
                }
            }
            None => (None, message),
        };
        if let Some(rest) = rest.strip_prefix("field \"") {
            let (field, problem) = rest.split_once("\" ")?;
            let location = Location {
                element,
                field: Some(field.to_owned()),
            };
            return Some((location, problem));
        }
        let problem = rest.strip_prefix("input ")?;
        (element.is_none()).then_some((
            Location {
                element: None,
                field: None,
            },
            problem,
        ))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.element, &self.field) {
            (Some(i), Some(field)) => write!(f, "element {i}: field \"{field}\""),
            (Some(i), None) => write!(f, "element {i}"),
            (None, Some(field)) => write!(f, "field \"{field}\""),
            (None, None) => write!(f, "input"),
        }
    }
}

/// Every error jobtrack reports. `sqlstate()` is stable: the PostgreSQL
/// extension raises exactly that code, the SQLite library returns it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Malformed input: wrong JSON type, missing, unknown or mistyped field,
    /// unknown status or mode, out-of-range number or length.
    #[error("{location} {problem}")]
    InvalidParameter {
        /// The element and field at fault.
        location: Location,
        /// What is wrong, including the accepted values where there is a list.
        problem: String,
        /// The accepted values, when the field takes one of a list.
        accepted: Option<&'static [&'static str]>,
    },
    /// A job_id that already exists (in either kind) or appears twice in one
    /// create batch.
    #[error("job_id \"{job_id}\" already exists")]
    UniqueViolation {
        /// The offending id.
        job_id: String,
        /// Whether the duplicate is inside the batch itself.
        within_batch: bool,
    },
    /// An error of the storage engine underneath (SQLite or SPI).
    #[error("{message}")]
    Database {
        /// SQLSTATE chosen by the backend for this failure.
        sqlstate: String,
        /// The engine's message.
        message: String,
    },
    /// A call refused before it did anything, by the state or a limit of
    /// the server: a read-only transaction or a standby (25006), not enough
    /// memory for the input (53200), a batch over the supported size (54000).
    #[error("{message}")]
    Refused {
        /// Why, which gives the SQLSTATE and the hint.
        reason: Refusal,
        /// What was refused and why.
        message: String,
        /// The figures behind the refusal.
        detail: Option<String>,
    },
}

/// Why a call was refused before it did anything. (A kind rather than the
/// code and hint themselves keeps [`Error`] as small as before it had
/// refusals: it is returned by value everywhere.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A write in a read-only transaction (25006).
    ReadOnlyTransaction,
    /// A write during recovery, on a hot standby (25006).
    Recovery,
    /// Not enough memory for the input (53200).
    OutOfMemory,
    /// A batch over [`MAX_BATCH`] elements (54000).
    BatchTooLarge,
}

impl Refusal {
    /// The SQLSTATE: PostgreSQL's for the same condition.
    pub fn sqlstate(self) -> &'static str {
        match self {
            Refusal::ReadOnlyTransaction | Refusal::Recovery => "25006",
            Refusal::OutOfMemory => "53200",
            Refusal::BatchTooLarge => "54000",
        }
    }

    /// What to do instead.
    pub fn hint(self) -> &'static str {
        match self {
            Refusal::ReadOnlyTransaction => "Call write functions in a read-write transaction.",
            Refusal::Recovery => "Call write functions on the primary server.",
            Refusal::OutOfMemory => {
                "Split the batch into smaller batches; nothing of this one was applied."
            }
            Refusal::BatchTooLarge => {
                "Split the batch into batches of at most 1000000 elements; nothing of this one was applied."
            }
        }
    }
}

/// The largest batch the batch functions accept, in elements. A bigger one
/// is refused with 54000 before any of it is parsed; the PostgreSQL
/// extension also refuses, with 53200, a smaller one whose parse would not
/// fit in the memory the server can still allocate.
pub const MAX_BATCH: usize = 1_000_000;

impl Error {
    /// The SQLSTATE of this error, identical in both backends.
    pub fn sqlstate(&self) -> &str {
        match self {
            Error::InvalidParameter { .. } => "22023",
            Error::UniqueViolation { .. } => "23505",
            Error::Database { sqlstate, .. } => sqlstate,
            Error::Refused { reason, .. } => reason.sqlstate(),
        }
    }

    /// Supplementary detail for the PostgreSQL `DETAIL` line.
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::InvalidParameter {
                accepted: Some(list),
                ..
            } => Some(format!("Accepted values: {}.", list.join(", "))),
            Error::UniqueViolation {
                within_batch: true, ..
            } => Some("The batch names this job_id more than once.".into()),
            Error::UniqueViolation {
                within_batch: false,
                ..
            } => Some("job_id is unique across executions and variations together.".into()),
            Error::Refused { detail, .. } => detail.clone(),
            _ => None,
        }
    }

    /// A hint for the user, for the PostgreSQL `HINT` line.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::InvalidParameter { location, .. } if location.element.is_some() => Some(
                "Nothing of the batch was applied; fix the element and send the batch again."
                    .into(),
            ),
            Error::InvalidParameter { .. } => {
                Some("See the jobtrack README for the accepted input formats.".into())
            }
            Error::UniqueViolation { .. } => {
                Some("Choose another job_id; nothing of the call was applied.".into())
            }
            Error::Database { .. } => None,
            Error::Refused { reason, .. } => Some(reason.hint().to_owned()),
        }
    }

    /// Builds an [`Error::InvalidParameter`] for a field.
    pub fn invalid(element: Option<usize>, field: &str, problem: impl Into<String>) -> Self {
        Error::InvalidParameter {
            location: Location {
                element,
                field: Some(field.to_owned()),
            },
            problem: problem.into(),
            accepted: None,
        }
    }

    /// Builds an [`Error::InvalidParameter`] for a value outside a list.
    pub fn not_in_list(
        element: Option<usize>,
        field: &str,
        got: &str,
        accepted: &'static [&'static str],
    ) -> Self {
        Error::InvalidParameter {
            location: Location {
                element,
                field: Some(field.to_owned()),
            },
            problem: format!(
                "has unknown value \"{got}\"; accepted values: {}",
                accepted.join(", ")
            ),
            accepted: Some(accepted),
        }
    }

    /// Builds an [`Error::InvalidParameter`] for a bad element or argument as a
    /// whole.
    pub fn invalid_element(element: Option<usize>, problem: impl Into<String>) -> Self {
        Error::InvalidParameter {
            location: Location {
                element,
                field: None,
            },
            problem: problem.into(),
            accepted: None,
        }
    }

    /// Builds a [`Error::UniqueViolation`] for an id that exists already.
    pub fn duplicate(job_id: &str) -> Self {
        Error::UniqueViolation {
            job_id: job_id.to_owned(),
            within_batch: false,
        }
    }

    /// A write function called where nothing may be written: in a
    /// read-only transaction, or during recovery (a hot standby). 25006,
    /// PostgreSQL's code and wording for the same refusal of a command.
    pub fn read_only(function: &str, during_recovery: bool) -> Self {
        let (reason, message) = if during_recovery {
            (
                Refusal::Recovery,
                format!("cannot execute {function}() during recovery"),
            )
        } else {
            (
                Refusal::ReadOnlyTransaction,
                format!("cannot execute {function}() in a read-only transaction"),
            )
        };
        Error::Refused {
            reason,
            message,
            detail: None,
        }
    }

    /// An input whose parse needs more memory than can be allocated
    /// (53200).
    pub fn out_of_memory(function: &str, input_bytes: usize, needed_bytes: usize) -> Self {
        Error::Refused {
            reason: Refusal::OutOfMemory,
            message: format!("out of memory for the input of {function}()"),
            detail: Some(format!(
                "Parsing the input of {input_bytes} bytes needs about {needed_bytes} bytes of memory, which could not be allocated."
            )),
        }
    }

    /// A batch over [`MAX_BATCH`] elements (54000).
    pub fn batch_too_large(elements: usize) -> Self {
        Error::Refused {
            reason: Refusal::BatchTooLarge,
            message: format!(
                "a batch of {elements} elements exceeds the maximum of {MAX_BATCH} elements"
            ),
            detail: None,
        }
    }

    /// The error a server reported with `sqlstate`, `message` and `detail`,
    /// as the variant that raised it there: the inverse of how the extension
    /// reports each variant, so that a client of the extension gets the
    /// same `Error` the SQLite library returns for the same failure. What is
    /// not one of jobtrack's own errors stays [`Error::Database`].
    pub fn from_server(sqlstate: &str, message: &str, detail: Option<&str>) -> Self {
        let accepted = detail
            .and_then(|d| d.strip_prefix("Accepted values: "))
            .and_then(|d| d.strip_suffix('.'))
            .and_then(|list| {
                [crate::Status::ACCEPTED, crate::PipelineMode::ACCEPTED]
                    .into_iter()
                    .find(|accepted| accepted.join(", ") == list)
            });
        match sqlstate {
            "22023" => {
                if let Some((location, problem)) = Location::split_message(message) {
                    return Error::InvalidParameter {
                        location,
                        problem: problem.to_owned(),
                        accepted,
                    };
                }
            }
            "23505" => {
                if let Some(job_id) = message
                    .strip_prefix("job_id \"")
                    .and_then(|m| m.strip_suffix("\" already exists"))
                {
                    return Error::UniqueViolation {
                        job_id: job_id.to_owned(),
                        within_batch: detail.is_some_and(|d| d.contains("more than once")),
                    };
                }
            }
            _ => {
                let reason = match sqlstate {
                    "25006" if message.ends_with("during recovery") => Some(Refusal::Recovery),
                    "25006" => Some(Refusal::ReadOnlyTransaction),
                    "53200" if message.starts_with("out of memory for the input of") => {
                        Some(Refusal::OutOfMemory)
                    }
                    "54000" if message.starts_with("a batch of") => Some(Refusal::BatchTooLarge),
                    _ => None,
                };
                if let Some(reason) = reason {
                    return Error::Refused {
                        reason,
                        message: message.to_owned(),
                        detail: detail.map(str::to_owned),
                    };
                }
            }
        }
        Error::database(sqlstate, message)
    }

    /// Builds a [`Error::Database`] error.
    pub fn database(sqlstate: &str, message: impl Into<String>) -> Self {
        Error::Database {
            sqlstate: sqlstate.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_error_comes_back_as_its_variant() {
        let samples = [
            Error::invalid(Some(3), "status", "must be a string, got number"),
            Error::invalid(None, "job_id", "is required"),
            Error::invalid_element(Some(7), "must be a JSON object, got array"),
            Error::invalid_element(None, "must be a JSON array, got object"),
            Error::not_in_list(Some(0), "status", "nope", crate::Status::ACCEPTED),
            Error::not_in_list(None, "pipeline_mode", "x", crate::PipelineMode::ACCEPTED),
            Error::duplicate("e\" 1"),
            Error::UniqueViolation {
                job_id: "twice".into(),
                within_batch: true,
            },
            Error::read_only("jobtrack.create_execution", true),
            Error::read_only("jobtrack.create_execution", false),
            Error::out_of_memory("batch_create_executions", 10, 20),
            Error::batch_too_large(1_000_001),
            Error::database("42501", "permission denied for table executions"),
        ];
        for e in samples {
            let back = Error::from_server(e.sqlstate(), &e.to_string(), e.detail().as_deref());
            assert_eq!(back, e);
        }
    }

    #[test]
    fn messages_name_element_and_field() {
        let e = Error::invalid(Some(3), "dataset_name", "is required");
        assert_eq!(
            e.to_string(),
            "element 3: field \"dataset_name\" is required"
        );
        assert_eq!(e.sqlstate(), "22023");
        assert!(e.hint().unwrap().contains("Nothing of the batch"));
        let e = Error::invalid(None, "lim", "must be an integer from 0 to 10000 (got -1)");
        assert_eq!(
            e.to_string(),
            "field \"lim\" must be an integer from 0 to 10000 (got -1)"
        );
    }

    #[test]
    fn refusals_carry_their_codes() {
        let e = Error::read_only("jobtrack.create_execution", false);
        assert_eq!(e.sqlstate(), "25006");
        assert_eq!(
            e.to_string(),
            "cannot execute jobtrack.create_execution() in a read-only transaction"
        );
        let e = Error::read_only("jobtrack.cleanup_old_jobs", true);
        assert_eq!(
            e.to_string(),
            "cannot execute jobtrack.cleanup_old_jobs() during recovery"
        );
        assert!(e.hint().unwrap().contains("primary"));
        let e = Error::out_of_memory("jobtrack.batch_create_executions", 10, 80);
        assert_eq!(e.sqlstate(), "53200");
        assert!(e
            .detail()
            .unwrap()
            .contains("10 bytes needs about 80 bytes"));
        assert!(e.hint().unwrap().starts_with("Split the batch"));
        let e = Error::batch_too_large(1_000_001);
        assert_eq!(e.sqlstate(), "54000");
        assert_eq!(
            e.to_string(),
            "a batch of 1000001 elements exceeds the maximum of 1000000 elements"
        );
        assert!(e
            .hint()
            .unwrap()
            .contains(&format!("at most {MAX_BATCH} elements")));
        // Returned by value everywhere: no bigger than before it existed.
        assert!(std::mem::size_of::<Error>() <= 80);
    }

    #[test]
    fn duplicate_is_23505() {
        let e = Error::duplicate("job-1");
        assert_eq!(e.sqlstate(), "23505");
        assert_eq!(e.to_string(), "job_id \"job-1\" already exists");
    }
}
