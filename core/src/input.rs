//! Input types and their validation.
//!
//! Inputs are parsed from `serde_json::Value` by hand rather than by derived
//! `Deserialize`, so that every error names the element index and the field
//! the way the contract asks, identically in both backends. The derived-looking
//! `Deserialize` impls go through the same parser.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{PipelineMode, Status};
use crate::error::{Error, Result};

/// Largest `lim` a listing function accepts.
pub const MAX_LIMIT: i32 = 10_000;

/// A new execution: one element of `batch_create_executions`, or the argument
/// of `create_execution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct NewExecution {
    /// Unique across executions and variations, 1–64 characters.
    pub job_id: String,
    /// `single`, `batch` or `variations`.
    pub pipeline_mode: PipelineMode,
    /// 1–255 characters.
    pub dataset_name: String,
    /// 1–100 characters.
    pub preset: String,
    /// ≥ 0 when given.
    pub total_steps: Option<i32>,
    /// Initial status; `pending` when absent.
    pub status: Status,
}

/// A new variation: one element of `batch_create_variations`, or the argument
/// of `create_variation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct NewVariation {
    /// Unique across executions and variations, 1–64 characters.
    pub job_id: String,
    /// 1–100 characters.
    pub variation_id: String,
    /// 1–255 characters.
    pub experiment_name: String,
    /// 1–255 characters.
    pub dataset_name: String,
    /// 1–100 characters.
    pub preset: String,
    /// ≥ 1.
    pub total_combinations: i32,
    /// A JSON object; `{}` when absent.
    pub varied_parameters: Map<String, Value>,
    /// A JSON object; `{}` when absent.
    pub parameter_values: Map<String, Value>,
    /// 1–255 characters when given.
    pub parent_experiment_id: Option<String>,
    /// ≥ 0 when given.
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
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    element: Option<usize>,
    known: &'static [&'static str],
}

impl<'a> Fields<'a> {
    fn new(
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

    fn get(&self, field: &str) -> Option<&'a Value> {
        debug_assert!(self.known.contains(&field));
        self.obj.get(field).filter(|v| !v.is_null())
    }

    fn required_str(&self, field: &str, max: usize) -> Result<String> {
        match self.get(field) {
            None => Err(Error::invalid(self.element, field, "is required")),
            Some(v) => self.string(field, v, max),
        }
    }

    fn optional_str(&self, field: &str, max: Option<usize>) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => match max {
                Some(max) => self.string(field, v, max).map(Some),
                None => {
                    let s = v.as_str().ok_or_else(|| {
                        Error::invalid(
                            self.element,
                            field,
                            format!("must be a string, got {}", json_type(v)),
                        )
                    })?;
                    check_no_nul(s, self.element, field)?;
                    Ok(Some(s.to_owned()))
                }
            },
        }
    }

    fn string(&self, field: &str, v: &Value, max: usize) -> Result<String> {
        let s = v.as_str().ok_or_else(|| {
            Error::invalid(
                self.element,
                field,
                format!("must be a string, got {}", json_type(v)),
            )
        })?;
        check_len(s, self.element, field, max)?;
        Ok(s.to_owned())
    }

    fn optional_int(&self, field: &str, min: i32) -> Result<Option<i32>> {
        self.get(field)
            .map(|v| int_in_range(v, self.element, field, min))
            .transpose()
    }

    fn status(&self, field: &str, default: Option<Status>) -> Result<Status> {
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

    fn object(&self, field: &str) -> Result<Map<String, Value>> {
        match self.get(field) {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
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

fn check_no_nul(s: &str, element: Option<usize>, field: &str) -> Result<()> {
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

fn int_in_range(v: &Value, element: Option<usize>, field: &str, min: i32) -> Result<i32> {
    let problem = || format!("must be an integer from {min} to {}, got {v}", i32::MAX);
    let n = match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| Error::invalid(element, field, problem()))?,
        other => {
            return Err(Error::invalid(
                element,
                field,
                format!("must be an integer, got {}", json_type(other)),
            ))
        }
    };
    check_int(n, element, field, min)
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

/// Checks the `days` argument of `cleanup_old_jobs` (≥ 0).
pub fn check_days(days: i64) -> Result<i32> {
    check_int(days, None, "days", 0)
}

/// Checks the `current_step` argument of `update_progress` (≥ 0).
pub fn check_current_step(step: i64) -> Result<i32> {
    check_int(step, None, "current_step", 0)
}

fn check_opt_len(s: &Option<String>, e: Option<usize>, field: &str, max: usize) -> Result<()> {
    s.as_deref().map_or(Ok(()), |s| check_len(s, e, field, max))
}

fn check_opt_steps(n: Option<i32>, e: Option<usize>) -> Result<()> {
    n.map_or(Ok(()), |n| {
        check_int(n.into(), e, "total_steps", 0).map(drop)
    })
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
        let job_id = f.required_str("job_id", 64)?;
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
            dataset_name: f.required_str("dataset_name", 255)?,
            preset: f.required_str("preset", 100)?,
            total_steps: f.optional_int("total_steps", 0)?,
            status: f.status("status", Some(Status::Pending))?,
        })
    }

    fn validate(&self, e: Option<usize>) -> Result<()> {
        check_len(&self.job_id, e, "job_id", 64)?;
        check_len(&self.dataset_name, e, "dataset_name", 255)?;
        check_len(&self.preset, e, "preset", 100)?;
        check_opt_steps(self.total_steps, e)
    }
}

impl JobInput for NewVariation {
    fn job_id(&self) -> &str {
        &self.job_id
    }

    fn from_json(value: &Value, element: Option<usize>) -> Result<Self> {
        let f = Fields::new(value, element, VARIATION_FIELDS)?;
        let job_id = f.required_str("job_id", 64)?;
        let variation_id = f.required_str("variation_id", 100)?;
        let experiment_name = f.required_str("experiment_name", 255)?;
        let dataset_name = f.required_str("dataset_name", 255)?;
        let preset = f.required_str("preset", 100)?;
        let total_combinations = match f.get("total_combinations") {
            None => return Err(Error::invalid(element, "total_combinations", "is required")),
            Some(v) => int_in_range(v, element, "total_combinations", 1)?,
        };
        Ok(NewVariation {
            job_id,
            variation_id,
            experiment_name,
            dataset_name,
            preset,
            total_combinations,
            varied_parameters: f.object("varied_parameters")?,
            parameter_values: f.object("parameter_values")?,
            parent_experiment_id: f.optional_str("parent_experiment_id", Some(255))?,
            total_steps: f.optional_int("total_steps", 0)?,
            status: f.status("status", Some(Status::Pending))?,
        })
    }

    fn validate(&self, e: Option<usize>) -> Result<()> {
        check_len(&self.job_id, e, "job_id", 64)?;
        check_len(&self.variation_id, e, "variation_id", 100)?;
        check_len(&self.experiment_name, e, "experiment_name", 255)?;
        check_len(&self.dataset_name, e, "dataset_name", 255)?;
        check_len(&self.preset, e, "preset", 100)?;
        check_int(self.total_combinations.into(), e, "total_combinations", 1)?;
        check_opt_len(&self.parent_experiment_id, e, "parent_experiment_id", 255)?;
        check_opt_steps(self.total_steps, e)
    }
}

impl JobInput for StatusUpdate {
    fn job_id(&self) -> &str {
        &self.job_id
    }

    fn from_json(value: &Value, element: Option<usize>) -> Result<Self> {
        let f = Fields::new(value, element, STATUS_UPDATE_FIELDS)?;
        Ok(StatusUpdate {
            job_id: f.required_str("job_id", 64)?,
            status: f.status("status", None)?,
            error_message: f.optional_str("error_message", None)?,
        })
    }

    fn validate(&self, e: Option<usize>) -> Result<()> {
        check_len(&self.job_id, e, "job_id", 64)?;
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

try_from_value!(NewExecution, NewVariation, StatusUpdate);

/// Parses a batch: a JSON array whose elements are parsed with their index.
pub fn parse_batch<T: JobInput>(value: &Value) -> Result<Vec<T>> {
    let items = value.as_array().ok_or_else(|| {
        Error::invalid_element(
            None,
            format!("must be a JSON array, got {}", json_type(value)),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| T::from_json(v, Some(i)))
        .collect()
}

/// Validates every element of a typed batch.
pub fn validate_batch<T: JobInput>(items: &[T]) -> Result<()> {
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
