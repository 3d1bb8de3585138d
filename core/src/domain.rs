//! Statuses, pipeline modes and job kinds, with their SQL spellings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The status of a job. Seven active statuses, three terminal ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created, not yet queued.
    Pending,
    /// Waiting for a worker.
    InQueue,
    /// Preparing its dataset.
    PreparingDataset,
    /// Configuring its preset.
    ConfiguringPreset,
    /// Ready to start training.
    ReadyForTraining,
    /// Training.
    Training,
    /// Generating a preview of the result.
    GeneratingPreview,
    /// Finished successfully (input also accepts `completed`).
    #[serde(alias = "completed")]
    Done,
    /// Finished with an error.
    Failed,
    /// Stopped by a user.
    Cancelled,
}

impl Status {
    /// Every status, active ones first, in the order of the lifecycle.
    pub const ALL: [Status; 10] = [
        Status::Pending,
        Status::InQueue,
        Status::PreparingDataset,
        Status::ConfiguringPreset,
        Status::ReadyForTraining,
        Status::Training,
        Status::GeneratingPreview,
        Status::Done,
        Status::Failed,
        Status::Cancelled,
    ];

    /// The spellings accepted on input, `completed` included.
    pub const ACCEPTED: &'static [&'static str] = &[
        "pending",
        "in_queue",
        "preparing_dataset",
        "configuring_preset",
        "ready_for_training",
        "training",
        "generating_preview",
        "done",
        "failed",
        "cancelled",
        "completed",
    ];

    /// The SQL spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::InQueue => "in_queue",
            Status::PreparingDataset => "preparing_dataset",
            Status::ConfiguringPreset => "configuring_preset",
            Status::ReadyForTraining => "ready_for_training",
            Status::Training => "training",
            Status::GeneratingPreview => "generating_preview",
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// `done`, `failed` and `cancelled`.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Status::Done | Status::Failed | Status::Cancelled)
    }

    /// Every status that is not terminal.
    pub const fn is_active(self) -> bool {
        !self.is_terminal()
    }

    /// Whether a job in this status has a process that shows signs of life
    /// (heartbeats, progress, status changes), so that it can go stale:
    /// every active status but `pending`, which waits for a claim.
    pub const fn expects_heartbeats(self) -> bool {
        self.is_active() && !matches!(self, Status::Pending)
    }

    /// The `success` a job gets on entering this status: true for `done`,
    /// false for `failed`, null otherwise.
    pub const fn success(self) -> Option<bool> {
        match self {
            Status::Done => Some(true),
            Status::Failed => Some(false),
            _ => None,
        }
    }

    /// Whether entering this status starts the job's clock: `start_time` is
    /// set to now when it was null (only `training`).
    pub const fn starts_clock(self) -> bool {
        matches!(self, Status::Training)
    }

    /// Whether entering this status clears `error_message` (only `done`);
    /// otherwise a given message replaces it and an absent one keeps it.
    pub const fn clears_error_message(self) -> bool {
        matches!(self, Status::Done)
    }

    /// What entering this status does to a job, as the data both backends
    /// bind into their status statements: no SQL statement knows which
    /// status does what.
    pub const fn effects(self) -> StatusEffects {
        StatusEffects {
            status: self.as_str(),
            starts_clock: self.starts_clock(),
            terminal: self.is_terminal(),
            success: self.success(),
            clears_error_message: self.clears_error_message(),
        }
    }

    /// Parses a status given as the value of `field`, mapping `completed` to
    /// `done`; the error names the field and element.
    pub fn parse_field(s: &str, element: Option<usize>, field: &str) -> Result<Status> {
        if s == "completed" {
            return Ok(Status::Done);
        }
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::not_in_list(element, field, s, Status::ACCEPTED))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Status::parse_field(s, None, "status")
    }
}

/// What entering a status does to a job ([`Status::effects`]): the
/// parameters of the status statements of both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusEffects {
    /// The status's SQL spelling, stored in `status`.
    pub status: &'static str,
    /// `start_time` is set to now when it is null.
    pub starts_clock: bool,
    /// `end_time` is set to now and `duration_seconds` to the time since
    /// `start_time`; otherwise both become null.
    pub terminal: bool,
    /// The job's `success`.
    pub success: Option<bool>,
    /// `error_message` is cleared; otherwise a given message replaces it and
    /// an absent one keeps it.
    pub clears_error_message: bool,
}

/// How an execution runs its pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineMode {
    /// One training run.
    Single,
    /// Several runs of one configuration.
    Batch,
    /// A hyper-parameter sweep; also the `mode` reported for variations.
    Variations,
}

impl PipelineMode {
    /// Every mode.
    pub const ALL: [PipelineMode; 3] = [
        PipelineMode::Single,
        PipelineMode::Batch,
        PipelineMode::Variations,
    ];

    /// The accepted spellings.
    pub const ACCEPTED: &'static [&'static str] = &["single", "batch", "variations"];

    /// The SQL spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            PipelineMode::Single => "single",
            PipelineMode::Batch => "batch",
            PipelineMode::Variations => "variations",
        }
    }

    /// Parses a mode given as the value of `field`.
    pub fn parse_field(s: &str, element: Option<usize>, field: &str) -> Result<PipelineMode> {
        PipelineMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| Error::not_in_list(element, field, s, PipelineMode::ACCEPTED))
    }
}

impl fmt::Display for PipelineMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PipelineMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        PipelineMode::parse_field(s, None, "pipeline_mode")
    }
}

/// The two kinds of job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// A training pipeline run (table `executions`).
    Execution,
    /// One combination of a sweep (table `variations`).
    Variation,
}

impl JobType {
    /// Both kinds.
    pub const ALL: [JobType; 2] = [JobType::Execution, JobType::Variation];

    /// The accepted spellings.
    pub const ACCEPTED: &'static [&'static str] = &["execution", "variation"];

    /// The SQL spelling, as in `job_summary_cache.job_type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobType::Execution => "execution",
            JobType::Variation => "variation",
        }
    }

    /// Parses a kind given as the value of `field`.
    pub fn parse_field(s: &str, element: Option<usize>, field: &str) -> Result<JobType> {
        JobType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::not_in_list(element, field, s, JobType::ACCEPTED))
    }
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        JobType::parse_field(s, None, "job_type")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_is_done() {
        assert_eq!("completed".parse::<Status>().unwrap(), Status::Done);
        let s: Status = serde_json::from_str("\"completed\"").unwrap();
        assert_eq!(s, Status::Done);
        assert_eq!(serde_json::to_string(&Status::Done).unwrap(), "\"done\"");
    }

    #[test]
    fn unknown_status_lists_accepted_values() {
        let err = Status::parse_field("runing", Some(2), "status").unwrap_err();
        assert_eq!(err.sqlstate(), "22023");
        let msg = err.to_string();
        assert!(msg.starts_with("element 2: field \"status\""), "{msg}");
        assert!(msg.contains("\"runing\""), "{msg}");
        for s in Status::ALL {
            assert!(msg.contains(s.as_str()), "{msg}");
        }
    }

    #[test]
    fn every_status_round_trips_and_classifies() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.is_active(), !s.is_terminal());
        }
        let terminal: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, [Status::Done, Status::Failed, Status::Cancelled]);
        assert_eq!(Status::Done.success(), Some(true));
        assert_eq!(Status::Failed.success(), Some(false));
        assert_eq!(Status::Cancelled.success(), None);
        let clocks: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| s.starts_clock())
            .collect();
        assert_eq!(clocks, [Status::Training]);
        let clears: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| s.clears_error_message())
            .collect();
        assert_eq!(clears, [Status::Done]);
    }

    #[test]
    fn modes_parse() {
        for m in PipelineMode::ALL {
            assert_eq!(m.as_str().parse::<PipelineMode>().unwrap(), m);
        }
        let err = "sweep".parse::<PipelineMode>().unwrap_err();
        assert!(err.to_string().contains("single, batch, variations"));
    }
}
