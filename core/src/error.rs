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
}

impl Error {
    /// The SQLSTATE of this error, identical in both backends.
    pub fn sqlstate(&self) -> &str {
        match self {
            Error::InvalidParameter { .. } => "22023",
            Error::UniqueViolation { .. } => "23505",
            Error::Database { sqlstate, .. } => sqlstate,
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
    fn duplicate_is_23505() {
        let e = Error::duplicate("job-1");
        assert_eq!(e.sqlstate(), "23505");
        assert_eq!(e.to_string(), "job_id \"job-1\" already exists");
    }
}
