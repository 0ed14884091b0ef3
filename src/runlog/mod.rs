//! [`RunDir`]: the on-disk layout of a sweep, and every file in it (parquet logs, status,
//! resolved configs, the run index), written atomically.
//!
//! ```text
//! runs/<name>/
//!   experiment.yaml   runs.parquet   .lock
//!   <run_id>/run.yaml  epochs.parquet  steps.parquet  status.json  pairs.csv
//! ```

mod atomic;
mod index;
mod parquet;
mod status;

use std::path::{Path, PathBuf};

pub use atomic::{atomic_write, remove_temporaries, TMP_SUFFIX};
pub use index::{write_index, IndexRow};
pub use parquet::{
    best_epoch, read_epochs, read_frame, read_steps, write_epochs, write_steps, EpochRow, StepRow,
};
pub use status::{JobState, Status};

/// A sweep folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The sweep folder at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The copy of the experiment YAML.
    pub fn experiment(&self) -> PathBuf {
        self.root.join("experiment.yaml")
    }

    /// The run index.
    pub fn index(&self) -> PathBuf {
        self.root.join("runs.parquet")
    }

    /// The lock file of a live sweep.
    pub fn lock(&self) -> PathBuf {
        self.root.join(".lock")
    }

    /// The folder of one job.
    pub fn job(&self, run_id: &str) -> JobDir {
        JobDir {
            root: self.root.join(run_id),
        }
    }
}

/// The folder of one job.
#[derive(Debug, Clone)]
pub struct JobDir {
    root: PathBuf,
}

impl JobDir {
    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Resolved job config and its hash.
    pub fn run_yaml(&self) -> PathBuf {
        self.root.join("run.yaml")
    }
    /// Per-epoch log.
    pub fn epochs(&self) -> PathBuf {
        self.root.join("epochs.parquet")
    }
    /// Per-step log.
    pub fn steps(&self) -> PathBuf {
        self.root.join("steps.parquet")
    }
    /// Job state.
    pub fn status(&self) -> PathBuf {
        self.root.join("status.json")
    }
    /// The verification pairs used for evaluation.
    pub fn pairs(&self) -> PathBuf {
        self.root.join("pairs.csv")
    }
}
