//! Input types and their validation.
//!
//! Inputs are parsed from `serde_json::Value` by hand rather than by derived
//! `Deserialize`, so that every error names the element index and the field
//! the way the README documents, identically in both backends. The derived-looking
//! `Deserialize` impls go through the same parser.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{PipelineMode, Status};
use crate::error::{Error, Result, MAX_BATCH};
use crate::number::{abbreviate, canonical_numeric, canonicalize_numbers, NumberError};

/// Largest `lim` a listing function accepts.
pub const MAX_LIMIT: i32 = 10_000;

/// How deeply the value of a field may nest arrays and objects (`[1]` is
/// one level, `{"a": [1]}` two). Deeper values are refused naming the
/// field, in both backends; the PostgreSQL extension checks the text of its
/// input for it before parsing, so that no parser meets a deeper value.
pub const MAX_NESTING: usize = 64;

/// The bounds of every text and integer field, stated once: the parsers and
/// [`JobInput::validate`] both read them here, and
/// `core/tests/sql_value_lists.rs` checks every length and range CHECK of
/// both SQL dialects against them.
pub mod limits {
    use crate::error::Result;

    /// A text field of 1 to `max` characters (not bytes), without NUL.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Text {
        /// The field's name, which is also its column's.
        pub field: &'static str,
        /// The most characters it may have.
        pub max: usize,
    }

    impl Text {
        /// Checks `s` as the value of this field.
        pub fn check(self, s: &str, element: Option<usize>) -> Result<()> {
            super::check_len(s, element, self.field, self.max)
        }
    }

    /// An integer field from `min` to `i32::MAX`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Int {
        /// The field's name, which is also its column's.
        pub field: &'static str,
        /// The smallest value it may have.
        pub min: i32,
    }

    impl Int {
        /// Checks `n` as the value of this field.
        pub fn check(self, n: i64, element: Option<usize>) -> Result<i32> {
            super::check_int(n, element, self.field, self.min)
        }
    }

    /// `job_id`, of either kind of job.
    pub const JOB_ID: Text = Text {
        field: "job_id",
        max: 64,
    };
    /// `dataset_name`.
    pub const DATASET_NAME: Text = Text {
        field: "dataset_name",
        max: 255,
    };
    /// `preset`.
    pub const PRESET: Text = Text {
        field: "preset",
        max: 100,
    };
    /// `variation_id`.
    pub const VARIATION_ID: Text = Text {
        field: "variation_id",
        max: 100,
    };
    /// `experiment_name`.
    pub const EXPERIMENT_NAME: Text = Text {
        field: "experiment_name",
        max: 255,
    };
    /// The `worker` of `claim_next_jobs`, recorded with the jobs it claims.
    pub const WORKER: Text = Text {
        field: "worker",
        max: 255,
    };
    /// `parent_experiment_id`, when given.
    pub const PARENT_EXPERIMENT_ID: Text = Text {
        field: "parent_experiment_id",
        max: 255,
    };
    /// Every bounded text field of the inputs. (`error_message` has no
    /// bound.)
    pub const TEXT: [Text; 6] = [
        JOB_ID,
        DATASET_NAME,
        PRESET,
        VARIATION_ID,
        EXPERIMENT_NAME,
        PARENT_EXPERIMENT_ID,
    ];
    /// Every bounded text argument that is no field of an input object: a
    /// column too, so the schemas' bounds are checked against it.
    pub const ARGUMENTS: [Text; 1] = [WORKER];

    /// `total_steps`, when given.
    pub const TOTAL_STEPS: Int = Int {
        field: "total_steps",
        min: 0,
    };
    /// `current_step` (the argument of `update_progress`).
    pub const CURRENT_STEP: Int = Int {
        field: "current_step",
        min: 0,
    };
    /// `total_combinations`.
    pub const TOTAL_COMBINATIONS: Int = Int {
        field: "total_combinations",
        min: 1,
    };
    /// Every bounded integer field.
    pub const INT: [Int; 3] = [TOTAL_STEPS, CURRENT_STEP, TOTAL_COMBINATIONS];
}

/// A new execution: one element of `batch_create_executions`, or the argument
/// of `create_execution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct NewExecution {
    /// Unique across executions and variations; [`limits::JOB_ID`].
    pub job_id: String,
    /// `single`, `batch` or `variations`.
    pub pipeline_mode: PipelineMode,
    /// [`limits::DATASET_NAME`].
    pub dataset_name: String,
    /// [`limits::PRESET`].
    pub preset: String,
    /// [`limits::TOTAL_STEPS`] when given.
    pub total_steps: Option<i32>,
    /// Initial status; `pending` when absent.
    pub status: Status,
}

/// A new variation: one element of `batch_create_variations`, or the argument
/// of `create_variation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct NewVariation {
    /// Unique across executions and variations; [`limits::JOB_ID`].
    pub job_id: String,
    /// [`limits::VARIATION_ID`].
    pub variation_id: String,
    /// [`limits::EXPERIMENT_NAME`].
    pub experiment_name: String,
    /// [`limits::DATASET_NAME`].
    pub dataset_name: String,
    /// [`limits::PRESET`].
    pub preset: String,
    /// [`limits::TOTAL_COMBINATIONS`].
    pub total_combinations: i32,
    /// A JSON object; `{}` when absent.
    pub varied_parameters: Map<String, Value>,
    /// A JSON object; `{}` when absent.
    pub parameter_values: Map<String, Value>,
    /// [`limits::PARENT_EXPERIMENT_ID`] when given.
    pub parent_experiment_id: Option<String>,
    /// [`limits::TOTAL_STEPS`] when given.
    pub total_steps: Option<i32>,
    /// Initial status; `pending` when absent.
    pub status: Status,
}

/// One element of `batch_update_*_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct StatusUpdate {
    /// The job to change; unknown ids are skipped.
    pub job_id: String,
    /// The new status.
    pub status: Status,
    /// Replaces the job's error message (cleared when entering `done`).
    pub error_message: Option<String>,
}

/// What every input element type offers: parsing from JSON with
/// element-indexed errors, and validation of an already typed value.
pub trait JobInput: Sized {
    /// The job the element is about.
    fn job_id(&self) -> &str;
    /// Parses one element; `element` is its index in a batch.
    fn from_json(value: &Value, element: Option<usize>) -> Result<Self>;
    /// Checks lengths and ranges of a value built in Rust.
    fn validate(&self, element: Option<usize>) -> Result<()>;
}

/// Reads the fields of one JSON object, remembering which were consumed so
/// that unknown (often misspelt) fields are reported.
pub(crate) struct Fields<'a> {
    obj: &'a Map<String, Value>,
    element: Option<usize>,
    known: &'static [&'static str],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(
        value: &'a Value,
        element: Option<usize>,
        known: &'static [&'static str],
    ) -> Result<Self> {
        let obj = value.as_object().ok_or_else(|| {
            Error::invalid_element(
                element,
                format!("must be a JSON object, got {}", json_type(value)),
            )
        })?;
        // Before anything else about the fields, as the PostgreSQL
        // extension's scan of its input reports it.
        if let Some((field, _)) = obj.iter().find(|(_, v)| nested_deeper(v, MAX_NESTING)) {
            return Err(too_deep(element, field));
        }
        if let Some(unknown) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(Error::InvalidParameter {
                location: crate::error::Location {
                    element,
                    field: Some(unknown.clone()),
                },
                problem: format!(
                    "is not a known field; accepted fields: {}",
                    known.join(", ")
                ),
                accepted: Some(known),
            });
        }
        Ok(Fields {
            obj,
            element,
            known,
        })
    }

    pub(crate) fn get(&self, field: &str) -> Option<&'a Value> {
        debug_assert!(self.known.contains(&field));
        self.obj.get(field).filter(|v| !v.is_null())
    }

    pub(crate) fn required_str(&self, limit: limits::Text) -> Result<String> {
        match self.get(limit.field) {
            None => Err(Error::invalid(self.element, limit.field, "is required")),
            Some(v) => {
                let s = self.string(limit.field, v)?;
                limit.check(s, self.element)?;
                Ok(s.to_owned())
            }
        }
    }

    pub(crate) fn optional_str(&self, limit: limits::Text) -> Result<Option<String>> {
        match self.get(limit.field) {
            None => Ok(None),
            Some(v) => {
                let s = self.string(limit.field, v)?;
                limit.check(s, self.element)?;
                Ok(Some(s.to_owned()))
            }
        }
    }

    /// An optional string of any length (no NUL).
    pub(crate) fn optional_unbounded_str(&self, field: &str) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => {
                let s = self.string(field, v)?;
                check_no_nul(s, self.element, field)?;
                Ok(Some(s.to_owned()))
            }
        }
    }

    pub(crate) fn string(&self, field: &str, v: &'a Value) -> Result<&'a str> {
        v.as_str().ok_or_else(|| {
            Error::invalid(
                self.element,
                field,
                format!("must be a string, got {}", json_type(v)),
            )
        })
    }

    pub(crate) fn required_int(&self, limit: limits::Int) -> Result<i32> {
        match self.get(limit.field) {
            None => Err(Error::invalid(self.element, limit.field, "is required")),
            Some(v) => int_in_range(v, self.element, limit),
        }
    }

    pub(crate) fn optional_int(&self, limit: limits::Int) -> Result<Option<i32>> {
        self.get(limit.field)
            .map(|v| int_in_range(v, self.element, limit))
            .transpose()
    }

    pub(crate) fn status(&self, field: &str, default: Option<Status>) -> Result<Status> {
        match (self.get(field), default) {
            (None, Some(d)) => Ok(d),
            (None, None) => Err(Error::invalid(self.element, field, "is required")),
            (Some(Value::String(s)), _) => Status::parse_field(s, self.element, field),
            (Some(v), _) => Err(Error::invalid(
                self.element,
                field,
                format!("must be a string, got {}", json_type(v)),
            )),
        }
    }

    /// A free-form JSON object (the parameters): numbers in numeric's
    /// canonical form, as PostgreSQL stores them; no NUL anywhere, since
    /// PostgreSQL's jsonb cannot hold one.
    pub(crate) fn object(&self, field: &str) -> Result<Map<String, Value>> {
        match self.get(field) {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => {
                let mut m = m.clone();
                canonicalize_map(&mut m, self.element, field)?;
                check_no_nul_in_map(&m, self.element, field)?;
                Ok(m)
            }
            Some(v) => Err(Error::invalid(
                self.element,
                field,
                format!("must be a JSON object, got {}", json_type(v)),
            )),
        }
    }
}

/// The JSON type name of a value, for error messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether `v` nests arrays and objects more than `limit` levels deep. Stops
/// descending past the limit, so the recursion is bounded whatever `v` is.
fn nested_deeper(v: &Value, limit: usize) -> bool {
    match v {
        Value::Array(items) => limit == 0 || items.iter().any(|x| nested_deeper(x, limit - 1)),
        Value::Object(map) => limit == 0 || map.values().any(|x| nested_deeper(x, limit - 1)),
        _ => false,
    }
}

/// The error for a field nested deeper than [`MAX_NESTING`].
pub fn too_deep(element: Option<usize>, field: &str) -> Error {
    Error::invalid(
        element,
        field,
        format!("is nested deeper than {MAX_NESTING} levels"),
    )
}

/// Refuses a NUL in any string inside `v`, keys included.
fn check_no_nul_in(v: &Value, element: Option<usize>, field: &str) -> Result<()> {
    match v {
        Value::String(s) => check_no_nul(s, element, field),
        Value::Array(items) => items
            .iter()
            .try_for_each(|x| check_no_nul_in(x, element, field)),
        Value::Object(map) => check_no_nul_in_map(map, element, field),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

fn check_no_nul_in_map(
    map: &Map<String, Value>,
    element: Option<usize>,
    field: &str,
) -> Result<()> {
    map.iter().try_for_each(|(k, v)| {
        check_no_nul(k, element, field)?;
        check_no_nul_in(v, element, field)
    })
}

/// The first number inside `v` that has no numeric form.
fn first_bad_number(v: &Value) -> Option<&str> {
    match v {
        Value::Number(n) => canonical_numeric(n.as_str()).is_err().then_some(n.as_str()),
        Value::Array(items) => items.iter().find_map(first_bad_number),
        Value::Object(map) => map.values().find_map(first_bad_number),
        Value::Null | Value::Bool(_) | Value::String(_) => None,
    }
}

fn number_error(e: NumberError, v: &Value, element: Option<usize>, field: &str) -> Error {
    let shown = first_bad_number(v).map_or_else(String::new, |n| format!(": {}", abbreviate(n)));
    Error::invalid(element, field, format!("has a number that {e}{shown}"))
}

/// Rewrites the numbers of a free-form object to numeric's canonical form.
pub(crate) fn canonicalize_map(
    map: &mut Map<String, Value>,
    element: Option<usize>,
    field: &str,
) -> Result<()> {
    map.values_mut()
        .try_for_each(|v| canonicalize_numbers(v).map_err(|e| number_error(e, v, element, field)))
}

/// Checks a free-form object built in Rust as [`Fields::object`] checks one
/// parsed from JSON (the object itself is the first level).
pub(crate) fn check_parameters(
    map: &Map<String, Value>,
    element: Option<usize>,
    field: &str,
) -> Result<()> {
    if map.values().any(|v| nested_deeper(v, MAX_NESTING - 1)) {
        return Err(too_deep(element, field));
    }
    if let Some((v, e)) = map.values().find_map(|v| {
        first_bad_number(v).map(|n| (v, canonical_numeric(n).expect_err("a bad number")))
    }) {
        return Err(number_error(e, v, element, field));
    }
    check_no_nul_in_map(map, element, field)
}

/// Refuses a NUL character in a text value: no PostgreSQL text can hold one.
pub fn check_no_nul(s: &str, element: Option<usize>, field: &str) -> Result<()> {
    if s.contains('\0') {
        return Err(Error::invalid(
            element,
            field,
            "must not contain the NUL character",
        ));
    }
    Ok(())
}

/// Checks a text field: 1 to `max` characters, no NUL.
pub fn check_len(s: &str, element: Option<usize>, field: &str, max: usize) -> Result<()> {
    let n = s.chars().count();
    if n == 0 || n > max {
        return Err(Error::invalid(
            element,
            field,
            format!("must be a string of 1 to {max} characters, got {n}"),
        ));
    }
    check_no_nul(s, element, field)
}

/// An integer field. Decided on the number's digits, never through `f64`:
/// `10.0` and `1e1` are 10 (numeric's `10.0 = 10`), `2147483647.0000000001`
/// is not an integer, `1e400` is out of range.
fn int_in_range(v: &Value, element: Option<usize>, limit: limits::Int) -> Result<i32> {
    let limits::Int { field, min } = limit;
    let n = match v {
        Value::Number(n) => {
            let problem = |shown: &str| {
                Error::invalid(
                    element,
                    field,
                    format!("must be an integer from {min} to {}, got {shown}", i32::MAX),
                )
            };
            let canonical =
                canonical_numeric(n.as_str()).map_err(|_| problem(&abbreviate(n.as_str())))?;
            let (int, fraction) = canonical
                .split_once('.')
                .unwrap_or((canonical.as_str(), ""));
            if !fraction.bytes().all(|c| c == b'0') {
                return Err(problem(&abbreviate(&canonical)));
            }
            int.parse::<i64>()
                .map_err(|_| problem(&abbreviate(&canonical)))?
        }
        other => {
            return Err(Error::invalid(
                element,
                field,
                format!("must be an integer, got {}", json_type(other)),
            ))
        }
    };
    limit.check(n, element)
}

/// Checks an integer against `min..=i32::MAX`.
pub fn check_int(n: i64, element: Option<usize>, field: &str, min: i32) -> Result<i32> {
    if n < i64::from(min) || n > i64::from(i32::MAX) {
        return Err(Error::invalid(
            element,
            field,
            format!("must be an integer from {min} to {}, got {n}", i32::MAX),
        ));
    }
    Ok(n as i32)
}

/// Checks the `lim` argument of the listing functions (0..=10000).
pub fn check_limit(lim: i64) -> Result<i32> {
    if !(0..=i64::from(MAX_LIMIT)).contains(&lim) {
        return Err(Error::invalid(
            None,
            "lim",
            format!("must be an integer from 0 to {MAX_LIMIT}, got {lim}"),
        ));
    }
    Ok(lim as i32)
}

/// A page of a listing: up to `lim` rows after the row of job `after` in
/// the listing's order (`created_at` descending, then `job_id` descending),
/// from the first row when `after` is `None`. The cursor is the job_id of
/// the last row of the previous page, so a client pages with nothing but
/// the rows it received; each page costs one index seek plus its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Page<'a> {
    /// At most this many rows (0..=10000); `None`: every row (only
    /// `get_running_jobs`, which returned every active job before it had
    /// pages).
    pub lim: Option<i32>,
    /// The job_id of the last row of the previous page.
    pub after: Option<&'a str>,
}

impl<'a> Page<'a> {
    /// Checks `lim` (0..=10000, when given) and the cursor's length.
    pub fn new(lim: Option<i64>, after: Option<&'a str>) -> Result<Page<'a>> {
        let lim = lim.map(check_limit).transpose()?;
        if let Some(after) = after {
            check_len(after, None, "after", limits::JOB_ID.max)?;
        }
        Ok(Page { lim, after })
    }
}

/// 22023 for a cursor that names no job of either kind.
pub fn unknown_cursor(after: &str) -> Error {
    Error::invalid(
        None,
        "after",
        format!("names no job: no execution or variation has job_id \"{after}\"; start again without after"),
    )
}

/// Checks the `days` argument of `cleanup_old_jobs` (≥ 0).
pub fn check_days(days: i64) -> Result<i32> {
    check_int(days, None, "days", 0)
}

/// Checks the `current_step` argument of `update_progress` (≥ 0).
pub fn check_current_step(step: i64) -> Result<i32> {
    limits::CURRENT_STEP.check(step, None)
}

pub(crate) fn check_opt_len(
    s: &Option<String>,
    e: Option<usize>,
    limit: limits::Text,
) -> Result<()> {
    s.as_deref().map_or(Ok(()), |s| limit.check(s, e))
}

pub(crate) fn check_opt_int(n: Option<i32>, e: Option<usize>, limit: limits::Int) -> Result<()> {
    n.map_or(Ok(()), |n| limit.check(n.into(), e).map(drop))
}

const EXECUTION_FIELDS: &[&str] = &[
    "job_id",
    "pipeline_mode",
    "dataset_name",
    "preset",
    "total_steps",
    "status",
];

const VARIATION_FIELDS: &[&str] = &[
    "job_id",
    "variation_id",
    "experiment_name",
    "dataset_name",
    "preset",
    "total_combinations",
    "varied_parameters",
    "parameter_values",
    "parent_experiment_id",
    "total_steps",
    "status",
];

const STATUS_UPDATE_FIELDS: &[&str] = &["job_id", "status", "error_message"];

impl JobInput for NewExecution {
    fn job_id(&self) -> &str {
        &self.job_id
    }

    fn from_json(value: &Value, element: Option<usize>) -> Result<Self> {
        let f = Fields::new(value, element, EXECUTION_FIELDS)?;
        let job_id = f.required_str(limits::JOB_ID)?;
        let pipeline_mode = match f.get("pipeline_mode") {
            None => return Err(Error::invalid(element, "pipeline_mode", "is required")),
            Some(Value::String(s)) => PipelineMode::parse_field(s, element, "pipeline_mode")?,
            Some(v) => {
                return Err(Error::invalid(
                    element,
                    "pipeline_mode",
                    format!("must be a string, got {}", json_type(v)),
                ))
            }
        };
        Ok(NewExecution {
            job_id,
            pipeline_mode,
            dataset_name: f.required_str(limits::DATASET_NAME)?,
            preset: f.required_str(limits::PRESET)?,
            total_steps: f.optional_int(limits::TOTAL_STEPS)?,
            status: f.status("status", Some(Status::Pending))?,
        })
    }

    fn validate(&self, e: Option<usize>) -> Result<()> {
        limits::JOB_ID.check(&self.job_id, e)?;
        limits::DATASET_NAME.check(&self.dataset_name, e)?;
        limits::PRESET.check(&self.preset, e)?;
        check_opt_int(self.total_steps, e, limits::TOTAL_STEPS)
    }
}

impl JobInput for NewVariation {
    fn job_id(&self) -> &str {
        &self.job_id
    }

    fn from_json(value: &Value, element: Option<usize>) -> Result<Self> {
        let f = Fields::new(value, element, VARIATION_FIELDS)?;
        let job_id = f.required_str(limits::JOB_ID)?;
        let variation_id = f.required_str(limits::VARIATION_ID)?;
        let experiment_name = f.required_str(limits::EXPERIMENT_NAME)?;
        let dataset_name = f.required_str(limits::DATASET_NAME)?;
        let preset = f.required_str(limits::PRESET)?;
        let total_combinations = f.required_int(limits::TOTAL_COMBINATIONS)?;
        Ok(NewVariation {
            job_id,
            variation_id,
            experiment_name,
            dataset_name,
            preset,
            total_combinations,
            varied_parameters: f.object("varied_parameters")?,
            parameter_values: f.object("parameter_values")?,
            parent_experiment_id: f.optional_str(limits::PARENT_EXPERIMENT_ID)?,
            total_steps: f.optional_int(limits::TOTAL_STEPS)?,
            status: f.status("status", Some(Status::Pending))?,
        })
    }

    fn validate(&self, e: Option<usize>) -> Result<()> {
        limits::JOB_ID.check(&self.job_id, e)?;
        limits::VARIATION_ID.check(&self.variation_id, e)?;
        limits::EXPERIMENT_NAME.check(&self.experiment_name, e)?;
        limits::DATASET_NAME.check(&self.dataset_name, e)?;
        limits::PRESET.check(&self.preset, e)?;
        limits::TOTAL_COMBINATIONS.check(self.total_combinations.into(), e)?;
        check_opt_len(&self.parent_experiment_id, e, limits::PARENT_EXPERIMENT_ID)?;
        check_opt_int(self.total_steps, e, limits::TOTAL_STEPS)?;
        check_parameters(&self.varied_parameters, e, "varied_parameters")?;
        check_parameters(&self.parameter_values, e, "parameter_values")
    }
}

impl NewVariation {
    /// `varied_parameters` and `parameter_values` as the JSON text to store:
    /// numbers in numeric's canonical form, whether the value was parsed
    /// from JSON (where [`JobInput::from_json`] made them so) or built in
    /// Rust (`json!(1e300)` is stored as PostgreSQL stores it, all digits).
    pub fn parameters_json(&self, element: Option<usize>) -> Result<(String, String)> {
        Ok((
            stored_parameters(&self.varied_parameters, element, "varied_parameters")?,
            stored_parameters(&self.parameter_values, element, "parameter_values")?,
        ))
    }
}

/// A parameters object (`varied_parameters`, `parameter_values`) as the
/// JSON text both backends store: checked as parsed input is, its numbers
/// in numeric's canonical form.
pub(crate) fn stored_parameters(
    map: &Map<String, Value>,
    element: Option<usize>,
    field: &str,
) -> Result<String> {
    check_parameters(map, element, field)?;
    let mut map = map.clone();
    canonicalize_map(&mut map, element, field)?;
    Ok(Value::Object(map).to_string())
}

impl JobInput for StatusUpdate {
    fn job_id(&self) -> &str {
        &self.job_id
    }

    fn from_json(value: &Value, element: Option<usize>) -> Result<Self> {
        let f = Fields::new(value, element, STATUS_UPDATE_FIELDS)?;
        Ok(StatusUpdate {
            job_id: f.required_str(limits::JOB_ID)?,
            status: f.status("status", None)?,
            error_message: f.optional_unbounded_str("error_message")?,
        })
    }

    fn validate(&self, e: Option<usize>) -> Result<()> {
        limits::JOB_ID.check(&self.job_id, e)?;
        match &self.error_message {
            Some(m) => check_no_nul(m, e, "error_message"),
            None => Ok(()),
        }
    }
}

macro_rules! try_from_value {
    ($($t:ty),*) => {$(
        impl TryFrom<Value> for $t {
            type Error = Error;

            fn try_from(value: Value) -> Result<Self> {
                <$t as JobInput>::from_json(&value, None)
            }
        }
    )*};
}

try_from_value!(
    NewExecution,
    NewVariation,
    StatusUpdate,
    crate::record::JobRecord
);

/// Parses a batch: a JSON array of at most [`MAX_BATCH`] elements, each
/// parsed with its index.
pub fn parse_batch<T: JobInput>(value: &Value) -> Result<Vec<T>> {
    let items = value.as_array().ok_or_else(|| {
        Error::invalid_element(
            None,
            format!("must be a JSON array, got {}", json_type(value)),
        )
    })?;
    check_batch_size(items.len())?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| T::from_json(v, Some(i)))
        .collect()
}

/// Refuses a batch of more than [`MAX_BATCH`] elements (54000).
pub fn check_batch_size(elements: usize) -> Result<()> {
    if elements > MAX_BATCH {
        return Err(Error::batch_too_large(elements));
    }
    Ok(())
}

/// What a JSON text holds: one input object (`create_*`), or a batch, an
/// array of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One object.
    Object,
    /// An array of objects.
    Batch,
}

/// serde_json's recursion limit lets a parse open at most this many arrays
/// and objects inside each other.
const PARSER_DEPTH: usize = 127;

/// Refuses, before any parse, a JSON text that nests deeper than the
/// parsers take, with the error parsing would give: a field value of an
/// input object nested deeper than [`MAX_NESTING`] is 22023 naming the
/// element and the field, as [`JobInput::from_json`] reports it; anything
/// else too deep for serde_json (its limit is 127 levels) names the element
/// alone. One pass over the bytes, no allocation but for the field name.
/// `text` must be JSON (PostgreSQL's jsonb_out gives nothing else); on
/// anything else the answer means nothing, and the parse that follows
/// reports the syntax error.
///
/// Counts on the way what the parse will hold as `Value`s beyond the text's
/// own strings (see [`Nesting`]).
pub fn check_nesting(text: &[u8], shape: Shape) -> Result<Nesting> {
    // Level of the input objects: 1 for a single object, 2 in a batch.
    let base = match shape {
        Shape::Object => 1,
        Shape::Batch => 2,
    };
    // The opening bracket of each level open (levels beyond PARSER_DEPTH
    // are refused as soon as they open).
    let mut open = [0u8; PARSER_DEPTH + 1];
    let mut depth = 0usize;
    let mut element = 0usize;
    // The key, with its quotes, of the field of the input object being read.
    let mut key: Option<(usize, usize)> = None;
    let mut expect_key = false;
    let mut nesting = Nesting::default();
    // A container was just opened: its first entry, if any, is next.
    let mut first_pending = false;
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if first_pending && !c.is_ascii_whitespace() {
            first_pending = false;
            if c != b']' && c != b'}' {
                nesting.count_entry(depth, &open, shape);
            }
        }
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                if expect_key && depth == base {
                    key = Some((start, i + 1));
                }
                expect_key = false;
            }
            c @ (b'[' | b'{') => {
                depth += 1;
                if depth <= PARSER_DEPTH {
                    open[depth - 1] = c;
                }
                let in_batch = shape == Shape::Batch && open[0] == b'[';
                let element_at = in_batch.then_some(element);
                let in_object = open[base - 1] == b'{' && (shape == Shape::Object || in_batch);
                if depth > base && in_object && depth - base > MAX_NESTING {
                    let field = key.map_or_else(String::new, |(a, b)| {
                        let raw = text.get(a..b).unwrap_or_default();
                        serde_json::from_slice(raw)
                            .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
                    });
                    return Err(too_deep(element_at, &field));
                }
                if depth > PARSER_DEPTH {
                    return Err(Error::invalid_element(
                        element_at,
                        format!("is nested deeper than {MAX_NESTING} levels"),
                    ));
                }
                expect_key = c == b'{' && depth == base;
                first_pending = true;
                if !structural(depth, &open, shape) {
                    match c {
                        b'{' => nesting.objects += 1,
                        _ => nesting.arrays += 1,
                    }
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth < base {
                    key = None;
                }
                expect_key = false;
                first_pending = false;
            }
            b',' => {
                if depth == 1 && shape == Shape::Batch && open[0] == b'[' {
                    element += 1;
                }
                expect_key = depth == base && open[base - 1] == b'{';
                nesting.count_entry(depth, &open, shape);
            }
            _ => {}
        }
        i += 1;
    }
    Ok(nesting)
}

/// What of a JSON text the parse keeps as `serde_json` values: the arrays
/// and objects inside the fields of the input objects (the parameters, in
/// practice), and their entries (an object's key and value are one entry).
/// The batch array and the input objects themselves are not counted: they
/// become typed elements, one element's `Value` at a time. Each counted
/// value costs far more memory than its text (a one-key object is a whole
/// B-tree node of several hundred bytes), which is why an estimate of the
/// parse's memory needs these counts besides the text's length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nesting {
    /// Objects.
    pub objects: usize,
    /// Arrays.
    pub arrays: usize,
    /// Entries of those objects.
    pub object_entries: usize,
    /// Elements of those arrays.
    pub array_entries: usize,
}

impl Nesting {
    fn count_entry(&mut self, depth: usize, open: &[u8], shape: Shape) {
        if depth == 0 || structural(depth, open, shape) {
            return;
        }
        match open.get(depth - 1) {
            Some(b'{') => self.object_entries += 1,
            _ => self.array_entries += 1,
        }
    }
}

/// Whether the container open at `depth` is the batch array or an input
/// object, which become typed values, not `Value`s.
fn structural(depth: usize, open: &[u8], shape: Shape) -> bool {
    match (shape, depth) {
        (Shape::Object, 1) => open[0] == b'{',
        (Shape::Batch, 1) => open[0] == b'[',
        (Shape::Batch, 2) => open[0] == b'[' && open[1] == b'{',
        _ => false,
    }
}

fn syntax_error(e: &serde_json::Error) -> Error {
    Error::invalid_element(None, format!("is not valid JSON: {e}"))
}

/// Parses one input object from JSON text. Call [`check_nesting`] first
/// when the text may nest deeper than serde_json takes.
pub fn parse_text<T: JobInput>(text: &[u8]) -> Result<T> {
    let value: Value = serde_json::from_slice(text).map_err(|e| syntax_error(&e))?;
    T::from_json(&value, None)
}

/// Parses a batch from JSON text as [`parse_batch`] parses it from a
/// `Value`, with the same errors, but element by element: only one
/// element's `Value` exists at a time, beside the typed elements, where
/// [`parse_batch`] needs the whole batch's tree (several times the size of
/// the text) first. `capacity`: the element count when known. Call
/// [`check_nesting`] first when the text may nest deeper than serde_json
/// takes.
pub fn parse_batch_text<T: JobInput>(text: &[u8], capacity: usize) -> Result<Vec<T>> {
    use serde::de::{Deserializer as _, Error as _, IgnoredAny, SeqAccess, Visitor};

    struct Elements<'a, T> {
        items: Vec<T>,
        error: &'a mut Option<Error>,
    }

    impl<'de, T: JobInput> Visitor<'de> for Elements<'_, T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON array")
        }

        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Vec<T>, A::Error> {
            while let Some(value) = seq.next_element::<Value>()? {
                let index = self.items.len();
                let outcome = if index == MAX_BATCH {
                    Err(Error::batch_too_large(index + 1))
                } else {
                    T::from_json(&value, Some(index))
                };
                match outcome {
                    Ok(item) => self.items.push(item),
                    Err(e) => {
                        // As parse_batch: a batch over the maximum is refused
                        // as such, whatever its elements.
                        let mut n = index + 1;
                        while seq.next_element::<IgnoredAny>()?.is_some() {
                            n += 1;
                        }
                        *self.error = Some(if n > MAX_BATCH {
                            Error::batch_too_large(n)
                        } else {
                            e
                        });
                        return Err(A::Error::custom("jobtrack"));
                    }
                }
            }
            Ok(self.items)
        }
    }

    let first = text.iter().find(|c| !c.is_ascii_whitespace());
    if first != Some(&b'[') {
        // Not an array: parse_batch names what it is (or the syntax error).
        let value: Value = serde_json::from_slice(text).map_err(|e| syntax_error(&e))?;
        return parse_batch(&value);
    }
    let mut error = None;
    let mut de = serde_json::Deserializer::from_slice(text);
    let parsed = de.deserialize_seq(Elements {
        items: Vec::with_capacity(capacity.min(MAX_BATCH)),
        error: &mut error,
    });
    if let Some(e) = error {
        return Err(e);
    }
    let items = parsed.map_err(|e| syntax_error(&e))?;
    de.end().map_err(|e| syntax_error(&e))?;
    Ok(items)
}

/// Validates every element of a typed batch (at most [`MAX_BATCH`]).
pub fn validate_batch<T: JobInput>(items: &[T]) -> Result<()> {
    check_batch_size(items.len())?;
    items
        .iter()
        .enumerate()
        .try_for_each(|(i, item)| item.validate(Some(i)))
}

/// Rejects a create batch that names a job_id twice (23505).
pub fn check_unique_ids<T: JobInput>(items: &[T]) -> Result<()> {
    let mut seen = HashSet::with_capacity(items.len());
    for item in items {
        if !seen.insert(item.job_id()) {
            return Err(Error::UniqueViolation {
                job_id: item.job_id().to_owned(),
                within_batch: true,
            });
        }
    }
    Ok(())
}

/// Keeps, for each job_id, only the last update of a batch — "the later
/// element wins" — in the order of those last elements.
pub fn last_update_wins(updates: &[StatusUpdate]) -> Vec<&StatusUpdate> {
    let mut last = std::collections::HashMap::with_capacity(updates.len());
    for (i, u) in updates.iter().enumerate() {
        last.insert(u.job_id.as_str(), i);
    }
    updates
        .iter()
        .enumerate()
        .filter(|(i, u)| last[u.job_id.as_str()] == *i)
        .map(|(_, u)| u)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exec(id: &str) -> Value {
        json!({"job_id": id, "pipeline_mode": "single", "dataset_name": "mnist", "preset": "fast"})
    }

    #[test]
    fn execution_defaults() {
        let e = NewExecution::from_json(&exec("a"), None).unwrap();
        assert_eq!(e.status, Status::Pending);
        assert_eq!(e.total_steps, None);
        let e: NewExecution = serde_json::from_value(
            json!({"job_id":"b","pipeline_mode":"batch","dataset_name":"d","preset":"p","total_steps":10,"status":"completed"}),
        )
        .unwrap();
        assert_eq!(e.status, Status::Done);
        assert_eq!(e.total_steps, Some(10));
    }

    fn err_of(v: Value) -> String {
        parse_batch::<NewExecution>(&v).unwrap_err().to_string()
    }

    fn text_of<'a>(v: &'a mut NewVariation, field: &str) -> &'a mut String {
        match field {
            "job_id" => &mut v.job_id,
            "variation_id" => &mut v.variation_id,
            "experiment_name" => &mut v.experiment_name,
            "dataset_name" => &mut v.dataset_name,
            "preset" => &mut v.preset,
            "parent_experiment_id" => v.parent_experiment_id.get_or_insert_with(String::new),
            other => panic!("NewVariation has no text field {other}"),
        }
    }

    /// Each bound of the table holds on both paths, the JSON parse and
    /// `validate()`, for every input that has the field, at exactly its
    /// value: the paths cannot state a bound of their own.
    #[test]
    fn every_limit_binds_parse_and_validate() {
        let inputs: [(&[&str], Value); 3] = [
            (EXECUTION_FIELDS, exec("x")),
            (VARIATION_FIELDS, variation(json!({}))),
            (
                STATUS_UPDATE_FIELDS,
                json!({"job_id": "x", "status": "done"}),
            ),
        ];
        let parse = |fields: &[&str], v: &Value| {
            if fields == EXECUTION_FIELDS {
                NewExecution::from_json(v, Some(1)).map(drop)
            } else if fields == VARIATION_FIELDS {
                NewVariation::from_json(v, Some(1)).map(drop)
            } else {
                StatusUpdate::from_json(v, Some(1)).map(drop)
            }
        };
        let mut checked = 0;
        for limit in limits::TEXT {
            let longest = "é".repeat(limit.max);
            let too_long = "é".repeat(limit.max + 1);
            let refusal = format!(
                "element 1: field \"{}\" must be a string of 1 to {} characters, got {}",
                limit.field,
                limit.max,
                limit.max + 1
            );
            for (fields, base) in &inputs {
                if !fields.contains(&limit.field) {
                    continue;
                }
                checked += 1;
                let mut v = base.clone();
                v[limit.field] = json!(longest);
                assert!(parse(fields, &v).is_ok(), "{}", limit.field);
                v[limit.field] = json!(too_long);
                assert_eq!(parse(fields, &v).unwrap_err().to_string(), refusal);
            }
            let mut typed = NewVariation::from_json(&variation(json!({})), None).unwrap();
            *text_of(&mut typed, limit.field) = longest;
            assert!(typed.validate(Some(1)).is_ok(), "{}", limit.field);
            *text_of(&mut typed, limit.field) = too_long;
            assert_eq!(typed.validate(Some(1)).unwrap_err().to_string(), refusal);
        }
        // job_id three times, dataset_name and preset twice, the rest once.
        assert_eq!(checked, 10);
        for limit in limits::INT {
            let refusal = format!(
                "element 1: field \"{}\" must be an integer from {} to 2147483647, got {}",
                limit.field,
                limit.min,
                i64::from(limit.min) - 1
            );
            for (fields, base) in &inputs {
                if fields.contains(&limit.field) {
                    let mut v = base.clone();
                    v[limit.field] = json!(limit.min);
                    assert!(parse(fields, &v).is_ok(), "{}", limit.field);
                    v[limit.field] = json!(limit.min - 1);
                    assert_eq!(parse(fields, &v).unwrap_err().to_string(), refusal);
                }
            }
        }
        let mut typed = NewVariation::from_json(&variation(json!({})), None).unwrap();
        typed.total_combinations = limits::TOTAL_COMBINATIONS.min - 1;
        assert!(typed.validate(None).is_err());
        typed.total_combinations = limits::TOTAL_COMBINATIONS.min;
        typed.total_steps = Some(limits::TOTAL_STEPS.min - 1);
        assert!(typed.validate(None).is_err());
        assert!(check_current_step(limits::CURRENT_STEP.min.into()).is_ok());
        assert!(check_current_step(i64::from(limits::CURRENT_STEP.min) - 1).is_err());
    }

    #[test]
    fn batch_errors_name_element_and_field() {
        let mut bad = exec("x");
        bad["dataset_name"] = json!("");
        assert_eq!(
            err_of(json!([exec("a"), bad])),
            "element 1: field \"dataset_name\" must be a string of 1 to 255 characters, got 0"
        );
        let mut bad = exec("x");
        bad["total_steps"] = json!(-1);
        assert!(err_of(json!([bad]))
            .starts_with("element 0: field \"total_steps\" must be an integer from 0"));
        let mut bad = exec("x");
        bad["total_steps"] = json!("10");
        assert_eq!(
            err_of(json!([bad])),
            "element 0: field \"total_steps\" must be an integer, got string"
        );
        let mut bad = exec("x");
        bad["pipeline_mode"] = json!("sweep");
        assert!(err_of(json!([bad])).contains("accepted values: single, batch, variations"));
        let mut bad = exec("x");
        bad.as_object_mut().unwrap().remove("preset");
        assert_eq!(
            err_of(json!([bad])),
            "element 0: field \"preset\" is required"
        );
        let mut bad = exec("x");
        bad["stauts"] = json!("done");
        assert!(
            err_of(json!([bad])).starts_with("element 0: field \"stauts\" is not a known field")
        );
        assert_eq!(
            err_of(json!([1])),
            "element 0 must be a JSON object, got number"
        );
        assert_eq!(err_of(json!({})), "input must be a JSON array, got object");
        let long = "x".repeat(65);
        assert!(
            err_of(json!([exec(&long)])).contains("field \"job_id\" must be a string of 1 to 64")
        );
        let mut bad = exec("x");
        bad["total_steps"] = json!(3_000_000_000i64);
        assert!(err_of(json!([bad])).contains("total_steps"));
        let mut bad = exec("x");
        bad["preset"] = json!("a\u{0}b");
        assert!(err_of(json!([bad])).contains("NUL"));
        for e in [json!([1]), json!({})] {
            assert_eq!(
                parse_batch::<NewExecution>(&e).unwrap_err().sqlstate(),
                "22023"
            );
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let id = "é".repeat(64);
        assert!(NewExecution::from_json(&exec(&id), None).is_ok());
    }

    #[test]
    fn variation_parsing() {
        let v = json!({"job_id":"v1","variation_id":"lr-0.1","experiment_name":"sweep","dataset_name":"d",
            "preset":"p","total_combinations":4,"varied_parameters":{"lr":[0.1,0.2]},"parameter_values":{"lr":0.1}});
        let parsed = NewVariation::from_json(&v, None).unwrap();
        assert_eq!(parsed.varied_parameters["lr"], json!([0.1, 0.2]));
        assert!(parsed.parent_experiment_id.is_none());
        let mut bad = v.clone();
        bad["total_combinations"] = json!(0);
        let err = NewVariation::from_json(&bad, Some(5)).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("element 5: field \"total_combinations\" must be an integer from 1"));
        let mut bad = v.clone();
        bad["parameter_values"] = json!([1]);
        let err = NewVariation::from_json(&bad, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"parameter_values\" must be a JSON object, got array"
        );
    }

    #[test]
    fn typed_validation_matches_json_validation() {
        let mut e = NewExecution::from_json(&exec("a"), None).unwrap();
        e.dataset_name = String::new();
        let err = validate_batch(&[e]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 0: field \"dataset_name\" must be a string of 1 to 255 characters, got 0"
        );
    }

    #[test]
    fn duplicates_within_batch() {
        let items: Vec<NewExecution> =
            parse_batch(&json!([exec("a"), exec("b"), exec("a")])).unwrap();
        let err = check_unique_ids(&items).unwrap_err();
        assert_eq!(err.sqlstate(), "23505");
        assert!(err.to_string().contains("\"a\""));
    }

    #[test]
    fn later_update_wins() {
        let ups: Vec<StatusUpdate> = parse_batch(&json!([
            {"job_id":"a","status":"training"},
            {"job_id":"b","status":"failed","error_message":"oom"},
            {"job_id":"a","status":"done"}
        ]))
        .unwrap();
        let kept = last_update_wins(&ups);
        assert_eq!(kept.len(), 2);
        assert_eq!(
            (kept[0].job_id.as_str(), kept[0].status),
            ("b", Status::Failed)
        );
        assert_eq!(
            (kept[1].job_id.as_str(), kept[1].status),
            ("a", Status::Done)
        );
    }

    #[test]
    fn update_requires_status() {
        let err = parse_batch::<StatusUpdate>(&json!([{"job_id":"a"}])).unwrap_err();
        assert_eq!(err.to_string(), "element 0: field \"status\" is required");
        let err =
            parse_batch::<StatusUpdate>(&json!([{"job_id":"a","status":"nope"}])).unwrap_err();
        assert!(err.to_string().contains("completed"));
    }

    fn variation(extra: Value) -> Value {
        let mut v = json!({"job_id":"v1","variation_id":"a","experiment_name":"s","dataset_name":"d",
            "preset":"p","total_combinations":2});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn parameters_keep_every_digit_in_numeric_form() {
        let v = parsed(
            r#"{"job_id":"v1","variation_id":"a","experiment_name":"s","dataset_name":"d",
                "preset":"p","total_combinations":2,
                "varied_parameters":{"big":123456789012345678901234567890,"tiny":1e-400},
                "parameter_values":{"lr":0.1,"n":[1e2,1.50,-0.0,{"x":1E+3,"y":2.5e-3}]}}"#,
        );
        let parsed = NewVariation::from_json(&v, None).unwrap();
        let (varied, values) = parsed.parameters_json(None).unwrap();
        assert_eq!(
            varied,
            format!(
                r#"{{"big":123456789012345678901234567890,"tiny":0.{}1}}"#,
                "0".repeat(399)
            )
        );
        assert_eq!(
            values,
            r#"{"lr":0.1,"n":[100,1.50,0.0,{"x":1000,"y":0.0025}]}"#
        );
        // Built in Rust, from f64: stored as PostgreSQL would store it.
        let mut built = parsed.clone();
        built.parameter_values = json!({"x": 1e21, "y": 0.5}).as_object().unwrap().clone();
        assert_eq!(
            built.parameters_json(None).unwrap().1,
            r#"{"x":1000000000000000000000,"y":0.5}"#
        );
    }

    #[test]
    fn parameters_refuse_what_jsonb_refuses() {
        let err = NewVariation::from_json(
            &variation(json!({"parameter_values": {"a\u{0}b": 1}})),
            Some(2),
        );
        let err = err.unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 2: field \"parameter_values\" must not contain the NUL character"
        );
        assert_eq!(err.sqlstate(), "22023");
        let err = NewVariation::from_json(
            &variation(json!({"varied_parameters": {"a": ["x", {"b": "c\u{0}"}]}})),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"varied_parameters\" must not contain the NUL character"
        );
        let err = NewVariation::from_json(
            &variation(parsed(r#"{"parameter_values": {"a": [1, 1e-16384]}}"#)),
            Some(0),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 0: field \"parameter_values\" has a number that is outside the range of PostgreSQL's numeric: 1e-16384"
        );
        // The typed API refuses the same.
        let mut typed = NewVariation::from_json(&variation(json!({})), None).unwrap();
        typed.parameter_values = json!({"k\u{0}": 1}).as_object().unwrap().clone();
        assert!(typed
            .validate(Some(4))
            .unwrap_err()
            .to_string()
            .contains("NUL"));
    }

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn nesting_is_limited_per_field() {
        let ok = variation(json!({"parameter_values": {"a": nested(MAX_NESTING - 1)}}));
        assert!(NewVariation::from_json(&ok, None).is_ok());
        let deep = variation(json!({"parameter_values": {"a": nested(MAX_NESTING)}}));
        let err = parse_batch::<NewVariation>(&json!([variation(json!({})), deep])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 1: field \"parameter_values\" is nested deeper than 64 levels"
        );
        assert_eq!(err.sqlstate(), "22023");
        // Reported before an unknown field, as the extension's scan does.
        let mut e = exec("x");
        e["status"] = nested(MAX_NESTING + 1);
        e["bogus"] = json!(1);
        assert_eq!(
            err_of(json!([e])),
            "element 0: field \"status\" is nested deeper than 64 levels"
        );
        let mut typed = NewVariation::from_json(&variation(json!({})), None).unwrap();
        typed.varied_parameters = json!({"a": nested(MAX_NESTING)})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            typed.validate(None).unwrap_err().to_string(),
            "field \"varied_parameters\" is nested deeper than 64 levels"
        );
    }

    #[test]
    fn integers_are_read_from_their_digits() {
        let steps = |text: &str| {
            let mut e = exec("x");
            e["total_steps"] = parsed(text);
            NewExecution::from_json(&e, Some(3)).map(|e| e.total_steps.unwrap())
        };
        assert_eq!(steps("10").unwrap(), 10);
        assert_eq!(steps("10.0").unwrap(), 10);
        assert_eq!(steps("1e1").unwrap(), 10);
        assert_eq!(steps("2147483647").unwrap(), i32::MAX);
        assert_eq!(steps("-0").unwrap(), 0);
        for (text, got) in [
            ("2147483647.0000000001", "2147483647.0000000001"),
            ("1.5", "1.5"),
            ("2147483648", "2147483648"),
            ("-1", "-1"),
            (
                "1e400",
                "100000000000000000000000… (a number of 401 characters)",
            ),
            (
                "1e-400",
                "0.0000000000000000000000… (a number of 402 characters)",
            ),
        ] {
            let err = steps(text).unwrap_err();
            assert_eq!(err.sqlstate(), "22023");
            assert_eq!(
                err.to_string(),
                format!(
                    "element 3: field \"total_steps\" must be an integer from 0 to 2147483647, got {got}"
                ),
                "{text}"
            );
        }
        let err = steps("1e-20000").unwrap_err();
        assert!(err.to_string().contains("got 1e-20000"));
    }

    #[test]
    fn nesting_scan_agrees_with_the_parse() {
        let deep = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        let ok = format!(
            r#"[{{"job_id":"a"}},{{"x":"[[[\"","parameter_values":{{"p":{}}}}}]"#,
            deep(63)
        );
        assert!(check_nesting(ok.as_bytes(), Shape::Batch).is_ok());
        // Element 3, field parameter_values: 65 levels (the object and 64
        // arrays). Keys and strings holding brackets, commas and escaped
        // quotes are skipped.
        let text = format!(
            r#"[{{}}, {{"a": "],[,{{\"\\"}}, [], {{"job_id": "x,y", "k\"ey": [1, [2]], "parameter_values": {{"p": {}}}}}]"#,
            deep(64)
        );
        let err = check_nesting(text.as_bytes(), Shape::Batch).unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 3: field \"parameter_values\" is nested deeper than 64 levels"
        );
        assert_eq!(err.sqlstate(), "22023");
        let value: Value = serde_json::from_str(&text).unwrap();
        let elem = value[3].clone();
        assert_eq!(
            NewVariation::from_json(&elem, Some(3)).unwrap_err(),
            err,
            "the scan and the parse report the same"
        );
        // One object; an escaped key is named decoded.
        let text = format!(r#"{{"job_id": "x", "st\u0061tus": {}}}"#, deep(65));
        assert_eq!(
            check_nesting(text.as_bytes(), Shape::Object)
                .unwrap_err()
                .to_string(),
            "field \"status\" is nested deeper than 64 levels"
        );
        // Not an input object, but too deep for serde_json: the element.
        let text = format!("[{{}}, {}]", deep(127));
        assert_eq!(
            check_nesting(text.as_bytes(), Shape::Batch)
                .unwrap_err()
                .to_string(),
            "element 1 is nested deeper than 64 levels"
        );
        // As deep as serde_json takes: parsed, then refused by type.
        let text = format!("[{{}}, {}]", deep(126));
        assert!(check_nesting(text.as_bytes(), Shape::Batch).is_ok());
        assert_eq!(
            parse_batch_text::<NewExecution>(text.as_bytes(), 2)
                .unwrap_err()
                .to_string(),
            "element 0: field \"job_id\" is required"
        );
        assert!(serde_json::from_str::<Value>(&deep(127)).is_ok());
        assert!(serde_json::from_str::<Value>(&deep(128)).is_err());
        let err = check_nesting(deep(128).as_bytes(), Shape::Object).unwrap_err();
        assert_eq!(err.to_string(), "input is nested deeper than 64 levels");
    }

    #[test]
    fn nesting_counts_what_becomes_values() {
        let count = |text: &str, shape| check_nesting(text.as_bytes(), shape).unwrap();
        assert_eq!(
            count(&json!([exec("a"), exec("b")]).to_string(), Shape::Batch),
            Nesting::default()
        );
        assert_eq!(
            count(
                r#"[{"a": 1, "p": {"x": [1, 2, []], "y": {}}}, {"p": [ ]}, [1, {"k": "v"}]]"#,
                Shape::Batch
            ),
            // Containers: {x, y}, [1, 2, []], [], {}, [ ], the third
            // element (not an input object) and the object in it. Entries:
            // x, y, 1, 2, [], then the third element's 1, {..} and "k".
            Nesting {
                objects: 3,
                arrays: 4,
                object_entries: 3,
                array_entries: 5
            }
        );
        assert_eq!(
            count(
                r#"{"job_id": "a", "parameter_values": {"a,b": "[", "c": [1]}}"#,
                Shape::Object
            ),
            Nesting {
                objects: 1,
                arrays: 1,
                object_entries: 2,
                array_entries: 1
            }
        );
    }

    #[test]
    fn batch_text_parses_as_the_value_does() {
        let batch = json!([exec("a"), exec("b"), {"job_id": "c", "pipeline_mode": "x"}]);
        let text = batch.to_string();
        assert_eq!(
            parse_batch_text::<NewExecution>(text.as_bytes(), 3).unwrap_err(),
            parse_batch::<NewExecution>(&batch).unwrap_err()
        );
        let good = json!([exec("a"), exec("b")]);
        assert_eq!(
            parse_batch_text::<NewExecution>(good.to_string().as_bytes(), 0).unwrap(),
            parse_batch::<NewExecution>(&good).unwrap()
        );
        for not_array in [json!({}), json!("x"), json!(1)] {
            assert_eq!(
                parse_batch_text::<NewExecution>(not_array.to_string().as_bytes(), 0).unwrap_err(),
                parse_batch::<NewExecution>(&not_array).unwrap_err()
            );
        }
        let err = parse_batch_text::<NewExecution>(b" [{]", 0).unwrap_err();
        assert!(err.to_string().starts_with("input is not valid JSON"));
        let one: NewExecution = parse_text(exec("z").to_string().as_bytes()).unwrap();
        assert_eq!(one.job_id, "z");
        let text = format!("[{}]", vec!["{}"; crate::MAX_BATCH + 2].join(","));
        // The cap comes before the elements' own errors and counts them all.
        let err = parse_batch_text::<StatusUpdate>(text.as_bytes(), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a batch of 1000002 elements exceeds the maximum of 1000000 elements"
        );
    }

    #[test]
    fn batches_are_capped() {
        let many = Value::Array(vec![Value::Null; crate::MAX_BATCH + 1]);
        let err = parse_batch::<StatusUpdate>(&many).unwrap_err();
        assert_eq!(err.sqlstate(), "54000");
        assert_eq!(
            err.to_string(),
            "a batch of 1000001 elements exceeds the maximum of 1000000 elements"
        );
        assert!(check_batch_size(crate::MAX_BATCH).is_ok());
    }

    #[test]
    fn pages_check_lim_and_the_cursor() {
        assert_eq!(
            Page::new(Some(0), Some("e1")).unwrap(),
            Page {
                lim: Some(0),
                after: Some("e1")
            }
        );
        assert_eq!(Page::new(None, None).unwrap(), Page::default());
        let e = Page::new(Some(10_001), None).unwrap_err();
        assert_eq!(
            (e.sqlstate(), e.to_string().contains("\"lim\"")),
            ("22023", true)
        );
        let e = Page::new(Some(5), Some("")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field \"after\" must be a string of 1 to 64 characters, got 0"
        );
        assert!(Page::new(Some(5), Some(&"x".repeat(64))).is_ok());
        assert!(Page::new(Some(5), Some(&"x".repeat(65))).is_err());
        let e = unknown_cursor("gone");
        assert_eq!(e.sqlstate(), "22023");
        assert!(
            e.to_string().starts_with("field \"after\" names no job"),
            "{e}"
        );
    }

    #[test]
    fn scalar_arguments() {
        assert!(check_limit(10_000).is_ok());
        assert_eq!(
            check_limit(10_001).unwrap_err().to_string(),
            "field \"lim\" must be an integer from 0 to 10000, got 10001"
        );
        assert!(check_days(-1).is_err());
        assert!(check_current_step(-5).is_err());
    }
}
