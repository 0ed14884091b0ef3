//! `run.yaml`: a job's resolved config with its run id and config hash, typed both ways.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{Job, ResolvedJob};
use crate::error::{Error, Result};
use crate::files::atomic_write;

/// Contents of `run.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Everything that determines the job's results.
    #[serde(flatten)]
    pub job: ResolvedJob,
    /// Stable id of the job.
    pub run_id: String,
    /// Hex SHA-256 of the resolved config.
    pub config_hash: String,
}

impl RunRecord {
    /// The record of `job`.
    pub fn of(job: &Job) -> Self {
        Self {
            job: job.resolved(),
            run_id: job.run_id.clone(),
            config_hash: job.config_hash.clone(),
        }
    }

    /// The YAML text of the record.
    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml::to_string(self)
            .map_err(|e| Error::Failed(format!("cannot write run.yaml of {}: {e}", self.run_id)))
    }

    /// Read `path`; `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_yaml::from_str(&text)
                .map(Some)
                .map_err(|e| Error::log(path, format!("unreadable run.yaml: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, "cannot read", e)),
        }
    }

    /// Write `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        atomic_write(path, self.to_yaml()?.as_bytes())
    }
}
