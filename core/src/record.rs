//! Whole jobs: every column a job has in either backend, as `export_jobs`
//! returns them and `import_jobs` takes them back.
//!
//! A [`Job`](crate::Job) row leaves out what only one kind has or what no
//! listing shows (`end_time`, `total_combinations`, the parameters, the
//! parent experiment, the worker), so a Job row cannot restore a job. A
//! [`JobRecord`] is a Job row's 18 columns, in their order, followed by
//! those 6: what one backend exports, the other imports unchanged, and
//! exports again byte for byte. Nothing is recomputed on the way in —
//! status, timestamps, durations and results stay as exported — so an
//! import is a restore, not a creation: the summary table and the
//! counters follow from the rows, as for any write.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{JobType, PipelineMode, Status};
use crate::error::{Error, Result};
use crate::input::{
    check_no_nul, check_opt_int, check_opt_len, check_parameters, json_type, limits,
    stored_parameters, Fields, JobInput,
};
use crate::time::Timestamp;

/// The columns of a [`JobRecord`], in the order of its JSON keys, of the
/// CSV header and of the columns `export_jobs` returns.
pub const RECORD_COLUMNS: [&str; 24] = [
    "job_id",
    "job_type",
    "status",
    "dataset_name",
    "preset",
    "mode",
    "experiment_name",
    "variation_id",
    "success",
    "duration_seconds",
    "error_message",
    "output_path",
    "total_steps",
    "current_step",
    "start_time",
    "created_at",
    "updated_at",
    "last_heartbeat",
    "end_time",
    "total_combinations",
    "varied_parameters",
    "parameter_values",
    "parent_experiment_id",
    "worker",
];

/// The columns only a variation has: null in an execution's record.
const VARIATION_ONLY: [&str; 6] = [
    "experiment_name",
    "variation_id",
    "total_combinations",
    "varied_parameters",
    "parameter_values",
    "parent_experiment_id",
];

/// The largest `|duration_seconds|` either schema stores (the counters sum
/// durations as whole microseconds in an i64).
pub const MAX_DURATION_SECONDS: f64 = 1e12;

/// Every column of one job: a row of `export_jobs`, an element of
/// `import_jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct JobRecord {
    /// The id; [`limits::JOB_ID`].
    pub job_id: String,
    /// `execution` or `variation`.
    pub job_type: JobType,
    /// The status.
    pub status: Status,
    /// [`limits::DATASET_NAME`].
    pub dataset_name: String,
    /// [`limits::PRESET`].
    pub preset: String,
    /// An execution's pipeline mode; `variations` for a variation.
    pub mode: PipelineMode,
    /// Variations only; [`limits::EXPERIMENT_NAME`].
    pub experiment_name: Option<String>,
    /// Variations only; [`limits::VARIATION_ID`].
    pub variation_id: Option<String>,
    /// True once done, false once failed, or as written.
    pub success: Option<bool>,
    /// Seconds from start to end, within ±1e12.
    pub duration_seconds: Option<f64>,
    /// The last error message.
    pub error_message: Option<String>,
    /// Where the result went.
    pub output_path: Option<String>,
    /// Planned steps.
    pub total_steps: Option<i32>,
    /// Steps done.
    pub current_step: Option<i32>,
    /// When training started.
    pub start_time: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// The last heartbeat or progress report.
    pub last_heartbeat: Option<Timestamp>,
    /// When the job reached a terminal status.
    pub end_time: Option<Timestamp>,
    /// Variations only: the combinations of the sweep; at least 1.
    pub total_combinations: Option<i32>,
    /// Variations only: a JSON object.
    pub varied_parameters: Option<Map<String, Value>>,
    /// Variations only: a JSON object.
    pub parameter_values: Option<Map<String, Value>>,
    /// Variations only; [`limits::PARENT_EXPERIMENT_ID`].
    pub parent_experiment_id: Option<String>,
    /// Who claimed the job last; [`limits::WORKER`].
    pub worker: Option<String>,
}

fn timestamp(f: &Fields<'_>, element: Option<usize>, field: &str) -> Result<Option<Timestamp>> {
    let Some(v) = f.get(field) else {
        return Ok(None);
    };
    let text = f.string(field, v)?;
    let t: Timestamp = text.parse().map_err(|_| {
        Error::invalid(
            element,
            field,
            format!(
                "must be a time as RFC 3339 text (2026-01-31T12:00:00.000000Z), got \"{}\"",
                text.chars().take(40).collect::<String>()
            ),
        )
    })?;
    check_storable(t, element, field)?;
    Ok(Some(t))
}

fn check_storable(t: Timestamp, element: Option<usize>, field: &str) -> Result<()> {
    if !t.is_storable() {
        return Err(Error::invalid(
            element,
            field,
            format!("must lie in the years 1 to 9999, got {t}"),
        ));
    }
    Ok(())
}

fn required_timestamp(f: &Fields<'_>, element: Option<usize>, field: &str) -> Result<Timestamp> {
    timestamp(f, element, field)?.ok_or_else(|| Error::invalid(element, field, "is required"))
}

fn boolean(f: &Fields<'_>, element: Option<usize>, field: &str) -> Result<Option<bool>> {
    match f.get(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(Error::invalid(
            element,
            field,
            format!("must be a boolean, got {}", json_type(v)),
        )),
    }
}

fn duration(f: &Fields<'_>, element: Option<usize>) -> Result<Option<f64>> {
    let field = "duration_seconds";
    match f.get(field) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            let d = n.as_f64().filter(|d| d.is_finite());
            match d {
                Some(d) => check_duration(d, element).map(Some),
                None => Err(duration_range(element)),
            }
        }
        Some(v) => Err(Error::invalid(
            element,
            field,
            format!("must be a number, got {}", json_type(v)),
        )),
    }
}

fn duration_range(element: Option<usize>) -> Error {
    Error::invalid(
        element,
        "duration_seconds",
        "must be a number from -1e12 to 1e12",
    )
}

fn check_duration(d: f64, element: Option<usize>) -> Result<f64> {
    if d.is_finite() && d.abs() <= MAX_DURATION_SECONDS {
        Ok(d)
    } else {
        Err(duration_range(element))
    }
}

fn unbounded_text(s: &Option<String>, element: Option<usize>, field: &str) -> Result<()> {
    s.as_deref()
        .map_or(Ok(()), |s| check_no_nul(s, element, field))
}

impl JobInput for JobRecord {
    fn job_id(&self) -> &str {
        &self.job_id
    }

    fn from_json(value: &Value, element: Option<usize>) -> Result<Self> {
        let f = Fields::new(value, element, &RECORD_COLUMNS)?;
        let job_id = f.required_str(limits::JOB_ID)?;
        let job_type = match f.get("job_type") {
            None => return Err(Error::invalid(element, "job_type", "is required")),
            Some(v) => JobType::parse_field(f.string("job_type", v)?, element, "job_type")?,
        };
        let status = f.status("status", None)?;
        let dataset_name = f.required_str(limits::DATASET_NAME)?;
        let preset = f.required_str(limits::PRESET)?;
        let mode = match f.get("mode") {
            None => return Err(Error::invalid(element, "mode", "is required")),
            Some(v) => PipelineMode::parse_field(f.string("mode", v)?, element, "mode")?,
        };
        let record = match job_type {
            JobType::Execution => {
                if let Some(field) = VARIATION_ONLY.iter().find(|c| f.get(c).is_some()) {
                    return Err(Error::invalid(
                        element,
                        field,
                        "must be null for an execution: only variations have it",
                    ));
                }
                JobRecord {
                    experiment_name: None,
                    variation_id: None,
                    total_combinations: None,
                    varied_parameters: None,
                    parameter_values: None,
                    parent_experiment_id: None,
                    ..JobRecord::common(&f, element, job_id, job_type, status, mode)?
                }
            }
            JobType::Variation => {
                if mode != PipelineMode::Variations {
                    return Err(Error::invalid(
                        element,
                        "mode",
                        format!("must be \"variations\" for a variation, got \"{mode}\""),
                    ));
                }
                JobRecord {
                    experiment_name: Some(f.required_str(limits::EXPERIMENT_NAME)?),
                    variation_id: Some(f.required_str(limits::VARIATION_ID)?),
                    total_combinations: Some(f.required_int(limits::TOTAL_COMBINATIONS)?),
                    varied_parameters: Some(f.object("varied_parameters")?),
                    parameter_values: Some(f.object("parameter_values")?),
                    parent_experiment_id: f.optional_str(limits::PARENT_EXPERIMENT_ID)?,
                    ..JobRecord::common(&f, element, job_id, job_type, status, mode)?
                }
            }
        };
        Ok(JobRecord {
            dataset_name,
            preset,
            ..record
        })
    }

    fn validate(&self, e: Option<usize>) -> Result<()> {
        limits::JOB_ID.check(&self.job_id, e)?;
        limits::DATASET_NAME.check(&self.dataset_name, e)?;
        limits::PRESET.check(&self.preset, e)?;
        match self.job_type {
            JobType::Execution => {
                let given = [
                    self.experiment_name.is_some(),
                    self.variation_id.is_some(),
                    self.total_combinations.is_some(),
                    self.varied_parameters.is_some(),
                    self.parameter_values.is_some(),
                    self.parent_experiment_id.is_some(),
                ];
                if let Some(i) = given.iter().position(|g| *g) {
                    return Err(Error::invalid(
                        e,
                        VARIATION_ONLY[i],
                        "must be null for an execution: only variations have it",
                    ));
                }
            }
            JobType::Variation => {
                if self.mode != PipelineMode::Variations {
                    return Err(Error::invalid(
                        e,
                        "mode",
                        format!(
                            "must be \"variations\" for a variation, got \"{}\"",
                            self.mode
                        ),
                    ));
                }
                let required = |given: bool, field: &str| {
                    if given {
                        Ok(())
                    } else {
                        Err(Error::invalid(e, field, "is required"))
                    }
                };
                required(self.experiment_name.is_some(), "experiment_name")?;
                required(self.variation_id.is_some(), "variation_id")?;
                required(self.total_combinations.is_some(), "total_combinations")?;
                check_opt_len(&self.experiment_name, e, limits::EXPERIMENT_NAME)?;
                check_opt_len(&self.variation_id, e, limits::VARIATION_ID)?;
                check_opt_int(self.total_combinations, e, limits::TOTAL_COMBINATIONS)?;
                check_opt_len(&self.parent_experiment_id, e, limits::PARENT_EXPERIMENT_ID)?;
                for (field, map) in [
                    ("varied_parameters", &self.varied_parameters),
                    ("parameter_values", &self.parameter_values),
                ] {
                    if let Some(map) = map {
                        check_parameters(map, e, field)?;
                    }
                }
            }
        }
        if let Some(d) = self.duration_seconds {
            check_duration(d, e)?;
        }
        unbounded_text(&self.error_message, e, "error_message")?;
        unbounded_text(&self.output_path, e, "output_path")?;
        check_opt_int(self.total_steps, e, limits::TOTAL_STEPS)?;
        check_opt_int(self.current_step, e, limits::CURRENT_STEP)?;
        check_opt_len(&self.worker, e, limits::WORKER)?;
        for (field, t) in [
            ("start_time", self.start_time),
            ("created_at", Some(self.created_at)),
            ("updated_at", Some(self.updated_at)),
            ("last_heartbeat", self.last_heartbeat),
            ("end_time", self.end_time),
        ] {
            if let Some(t) = t {
                check_storable(t, e, field)?;
            }
        }
        Ok(())
    }
}

impl JobRecord {
    /// The columns both kinds have, read from `f`; the variation-only ones
    /// left empty for the caller to fill.
    fn common(
        f: &Fields<'_>,
        element: Option<usize>,
        job_id: String,
        job_type: JobType,
        status: Status,
        mode: PipelineMode,
    ) -> Result<JobRecord> {
        Ok(JobRecord {
            job_id,
            job_type,
            status,
            dataset_name: String::new(),
            preset: String::new(),
            mode,
            experiment_name: None,
            variation_id: None,
            success: boolean(f, element, "success")?,
            duration_seconds: duration(f, element)?,
            error_message: f.optional_unbounded_str("error_message")?,
            output_path: f.optional_unbounded_str("output_path")?,
            total_steps: f.optional_int(limits::TOTAL_STEPS)?,
            current_step: f.optional_int(limits::CURRENT_STEP)?,
            start_time: timestamp(f, element, "start_time")?,
            created_at: required_timestamp(f, element, "created_at")?,
            updated_at: required_timestamp(f, element, "updated_at")?,
            last_heartbeat: timestamp(f, element, "last_heartbeat")?,
            end_time: timestamp(f, element, "end_time")?,
            total_combinations: None,
            varied_parameters: None,
            parameter_values: None,
            parent_experiment_id: None,
            worker: f.optional_str(limits::WORKER)?,
        })
    }

    /// A variation's parameter objects as the text both backends store
    /// (numbers in numeric's canonical form, as for a new variation; `{}`
    /// for one left out); `None` for an execution.
    pub fn parameters_json(
        &self,
        element: Option<usize>,
    ) -> Result<Option<crate::usecase::StoredParameters>> {
        if self.job_type == JobType::Execution {
            return Ok(None);
        }
        let text = |m: &Option<Map<String, Value>>, field: &str| match m {
            Some(m) => stored_parameters(m, element, field),
            None => Ok("{}".to_owned()),
        };
        Ok(Some(crate::usecase::StoredParameters {
            varied_parameters: text(&self.varied_parameters, "varied_parameters")?,
            parameter_values: text(&self.parameter_values, "parameter_values")?,
        }))
    }
}

/// The rows of `export_jobs`, one job at a time: a backend reads them in
/// pages from one snapshot, so memory holds one page whatever the number
/// of jobs. An error (a lost connection) ends the export.
pub type JobExport<'a> = Box<dyn Iterator<Item = Result<JobRecord>> + 'a>;

/// Rows a backend reads per page of an export.
pub const EXPORT_PAGE: usize = 1000;

/// Where an export starts, decided once for both backends: a `since`
/// outside the years 1 to 9999 (which no stored job leaves) is read as
/// the edge it lies beyond, so SQLite, which compares timestamps as text,
/// never compares one it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportStart {
    /// Every job.
    All,
    /// The jobs created at or after this time.
    From(Timestamp),
    /// No job: `since` lies after every time a job can have.
    Nothing,
}

/// The [`ExportStart`] of `export_jobs(since)`.
pub fn export_start(since: Option<Timestamp>) -> ExportStart {
    match since {
        None => ExportStart::All,
        Some(t) if t <= Timestamp::EARLIEST_STORED => ExportStart::All,
        Some(t) if t > Timestamp::LATEST_STORED => ExportStart::Nothing,
        Some(t) => ExportStart::From(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn variation() -> Value {
        json!({
            "job_id": "v-1", "job_type": "variation", "status": "failed",
            "dataset_name": "d", "preset": "p", "mode": "variations",
            "experiment_name": "sweep", "variation_id": "lr=0.1", "success": false,
            "duration_seconds": 12.5, "error_message": "oom", "output_path": null,
            "total_steps": 10, "current_step": 3,
            "start_time": "2026-01-01T00:00:00.000000Z",
            "created_at": "2025-12-31T23:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:12.500000Z",
            "last_heartbeat": null, "end_time": "2026-01-01T00:00:12.500000Z",
            "total_combinations": 4, "varied_parameters": {"lr": [0.1, 0.01]},
            "parameter_values": {"lr": 0.1}, "parent_experiment_id": null, "worker": "w1"
        })
    }

    #[test]
    fn a_record_serialises_in_column_order_and_reads_back() {
        let record = JobRecord::from_json(&variation(), None).unwrap();
        let text = serde_json::to_string(&record).unwrap();
        let positions: Vec<usize> = RECORD_COLUMNS
            .iter()
            .map(|c| text.find(&format!("\"{c}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        let back: JobRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, record);
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        back.validate(None).unwrap();
    }

    #[test]
    fn an_export_starts_within_the_stored_years() {
        assert_eq!(export_start(None), ExportStart::All);
        assert_eq!(
            export_start(Some(Timestamp::from_unix_micros(i64::MIN))),
            ExportStart::All
        );
        assert_eq!(
            export_start(Some(Timestamp::EARLIEST_STORED)),
            ExportStart::All
        );
        let t = Timestamp::from_unix_micros(0);
        assert_eq!(export_start(Some(t)), ExportStart::From(t));
        assert_eq!(
            export_start(Some(Timestamp::LATEST_STORED)),
            ExportStart::From(Timestamp::LATEST_STORED)
        );
        assert_eq!(
            export_start(Some(Timestamp::from_unix_micros(i64::MAX))),
            ExportStart::Nothing
        );
    }

    #[test]
    fn bad_records_name_element_and_field() {
        let cases = [
            (
                "job_type",
                json!("trial"),
                "field \"job_type\" has unknown value",
            ),
            (
                "mode",
                json!("single"),
                "must be \"variations\" for a variation",
            ),
            (
                "created_at",
                json!("yesterday"),
                "must be a time as RFC 3339 text",
            ),
            ("created_at", json!(null), "is required"),
            ("end_time", json!("10000-01-01T00:00:00Z"), "must be a time"),
            (
                "start_time",
                json!("0000-06-01T00:00:00Z"),
                "must lie in the years 1 to 9999",
            ),
            ("duration_seconds", json!(2e12), "from -1e12 to 1e12"),
            (
                "duration_seconds",
                json!("1"),
                "must be a number, got string",
            ),
            ("success", json!(1), "must be a boolean, got number"),
            ("worker", json!(""), "must be a string of 1 to 255"),
            ("total_combinations", json!(0), "must be an integer from 1"),
            ("variation_id", json!(null), "is required"),
            ("error_message", json!("a\u{0}b"), "NUL"),
            ("colour", json!("red"), "is not a known field"),
        ];
        for (field, value, expected) in cases {
            let mut v = variation();
            v[field] = value;
            let err = JobRecord::from_json(&v, Some(3)).unwrap_err();
            assert_eq!(err.sqlstate(), "22023", "{field}");
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("element 3: field \"{field}\"")),
                "{field}: {message}"
            );
            assert!(message.contains(expected), "{field}: {message}");
        }
    }

    #[test]
    fn an_execution_has_no_variation_columns() {
        let mut v = variation();
        v["job_type"] = json!("execution");
        v["mode"] = json!("batch");
        let err = JobRecord::from_json(&v, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("field \"experiment_name\" must be null for an execution"),
            "{err}"
        );
        for column in VARIATION_ONLY {
            v[column] = Value::Null;
        }
        let record = JobRecord::from_json(&v, None).unwrap();
        assert_eq!(record.mode, PipelineMode::Batch);
        record.validate(None).unwrap();
        let mut built = record.clone();
        built.total_combinations = Some(2);
        let err = built.validate(Some(1)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("element 1: field \"total_combinations\" must be null"),
            "{err}"
        );
    }

    #[test]
    fn a_record_built_in_rust_is_checked_as_one_parsed() {
        let mut record = JobRecord::from_json(&variation(), None).unwrap();
        record.duration_seconds = Some(f64::NAN);
        assert!(record.validate(None).is_err());
        record.duration_seconds = Some(-1e12);
        record.validate(None).unwrap();
        record.created_at = Timestamp::from_unix_micros(Timestamp::LATEST_STORED.unix_micros() + 1);
        let err = record.validate(None).unwrap_err();
        assert!(err
            .to_string()
            .contains("field \"created_at\" must lie in the years 1 to 9999"));
        record.created_at = Timestamp::LATEST_STORED;
        record.validate(None).unwrap();
        record.varied_parameters = None;
        let stored = record.parameters_json(None).unwrap().unwrap();
        assert_eq!(stored.varied_parameters, "{}");
        // The parameters of a variation default to {} when left out.
        let mut v = variation();
        v.as_object_mut().unwrap().remove("varied_parameters");
        let parsed = JobRecord::from_json(&v, None).unwrap();
        assert_eq!(parsed.varied_parameters, Some(Map::new()));
    }
}
