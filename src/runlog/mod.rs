//! [`RunDir`] and [`JobDir`]: the on-disk layout of a sweep, and every file in it (parquet
//! logs, status, resolved configs, verification pairs, the run index, the Slurm files). This
//! module alone knows file names and formats; the sweep writes and the reports read through it.
//!
//! ```text
//! runs/<name>/
//!   experiment.yaml   runs.parquet   .lock
//!   <run_id>/run.yaml  epochs.parquet  steps.parquet  status.json  pairs.csv  checkpoint.bin
//!            model-theta.bpk  model-psi.bpk  model.json
//!            job.json  rows.jsonl  trainer-state/  trainer.out  trainer.err   (a process trainer's)
//!   slurm/sweep.sbatch  slurm/submissions.json  slurm/<job>_<task>.out
//! ```

mod index;
mod pairs;
mod parquet;
pub mod progress;
mod record;
mod status;
pub mod table;
pub mod trainer;

use std::path::{Path, PathBuf};

pub use index::IndexRow;
pub use pairs::PairRow;
pub use parquet::{selection_score, static_columns, EpochRow, JobSummary, StepRow};
pub use record::RunRecord;
pub use status::{JobState, Status};
pub use table::{read_frame, write_frame, FrameBuilder, FrameReader};

use crate::error::{Error, Result};
use crate::task::Tasks;

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

    /// The copy of the experiment YAML (with any command-line overrides applied).
    pub fn experiment(&self) -> PathBuf {
        self.root.join("experiment.yaml")
    }

    /// The run index.
    pub fn index(&self) -> PathBuf {
        self.root.join("runs.parquet")
    }

    /// The GPU adapter a wgpu sweep ran on (JSON; absent on flex).
    pub fn adapter(&self) -> PathBuf {
        self.root.join("adapter.json")
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

    /// The job folders on disk (those holding a status or a resolved config), sorted by run id.
    /// Errors when `root` is not a folder.
    pub fn job_dirs(&self) -> Result<Vec<JobDir>> {
        if !self.root.is_dir() {
            return Err(Error::input(
                self.root.display().to_string(),
                "DIR",
                "no such sweep folder",
            ));
        }
        let mut dirs: Vec<JobDir> = std::fs::read_dir(&self.root)
            .map_err(|e| Error::io(&self.root, "cannot list", e))?
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| JobDir { root: e.path() })
            .filter(|j| j.status().is_file() || j.run_yaml().is_file())
            .collect();
        dirs.sort_by(|a, b| a.root.cmp(&b.root));
        Ok(dirs)
    }

    /// The job folders whose status is `done`.
    pub fn done_jobs(&self) -> Result<Vec<JobDir>> {
        let mut done = Vec::new();
        for jd in self.job_dirs()? {
            if jd.read_status()?.is_some_and(|s| s.state == JobState::Done) {
                done.push(jd);
            }
        }
        Ok(done)
    }

    /// Write the run index of a sweep of `tasks`.
    pub fn write_index(&self, rows: &[IndexRow], tasks: &Tasks) -> Result<()> {
        IndexRow::to_parquet(&self.index(), rows, tasks)
    }

    /// The Slurm folder: array script, submissions, task output.
    pub fn slurm(&self) -> PathBuf {
        self.root.join("slurm")
    }

    /// The array script of the last submission.
    pub fn slurm_script(&self) -> PathBuf {
        self.slurm().join("sweep.sbatch")
    }

    /// The record of submissions (JSON).
    pub fn slurm_submissions(&self) -> PathBuf {
        self.slurm().join("submissions.json")
    }

    /// The output file pattern of array tasks, in sbatch's `%A_%a` notation, under `root`.
    pub fn slurm_output_pattern(root: &Path) -> String {
        format!("{}/slurm/%A_%a.out", root.display())
    }
}

/// The folder of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDir {
    root: PathBuf,
}

/// File names of the two trajectory logs of a job: per epoch, per step.
pub const LOG_FILES: [&str; 2] = ["epochs.parquet", "steps.parquet"];

impl JobDir {
    /// The job folder at `root` (`RUN_DIR/<run_id>`).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run id (the folder's name).
    pub fn run_id(&self) -> String {
        self.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Resolved job config and its hash.
    pub fn run_yaml(&self) -> PathBuf {
        self.root.join("run.yaml")
    }
    /// Per-epoch log.
    pub fn epochs(&self) -> PathBuf {
        self.root.join(LOG_FILES[0])
    }
    /// Per-step log.
    pub fn steps(&self) -> PathBuf {
        self.root.join(LOG_FILES[1])
    }
    /// Job state.
    pub fn status(&self) -> PathBuf {
        self.root.join("status.json")
    }
    /// The verification pairs used for evaluation.
    pub fn pairs(&self) -> PathBuf {
        self.root.join("pairs.csv")
    }
    /// The last complete checkpoint (see `train::Checkpoint`).
    pub fn checkpoint(&self) -> PathBuf {
        self.root.join("checkpoint.bin")
    }
    /// The rows a running job logged up to its last checkpoint (see [`progress`]); removed
    /// when the job is done.
    pub fn progress(&self) -> PathBuf {
        self.root.join("progress.log")
    }
    /// The trained Θ of a done job (burn's record format).
    pub fn model_theta(&self) -> PathBuf {
        self.root.join("model-theta.bpk")
    }
    /// The trained Ψ of a done job (burn's record format).
    pub fn model_psi(&self) -> PathBuf {
        self.root.join("model-psi.bpk")
    }
    /// The shapes the trained model was built with (JSON), so that it can be rebuilt.
    pub fn model_shape(&self) -> PathBuf {
        self.root.join("model.json")
    }
    /// A process trainer's spec of the job (see [`trainer::JobSpec`]).
    pub fn job_spec(&self) -> PathBuf {
        self.root.join("job.json")
    }
    /// The rows a process trainer appends (see [`trainer::RowReader`]).
    pub fn trainer_rows(&self) -> PathBuf {
        self.root.join("rows.jsonl")
    }
    /// The folder a process trainer keeps its own checkpoint in.
    pub fn trainer_state(&self) -> PathBuf {
        self.root.join("trainer-state")
    }
    /// A process trainer's standard output.
    pub fn trainer_stdout(&self) -> PathBuf {
        self.root.join("trainer.out")
    }
    /// A process trainer's standard error.
    pub fn trainer_stderr(&self) -> PathBuf {
        self.root.join("trainer.err")
    }

    /// The checkpoint's bytes; `None` when there is none.
    pub fn read_checkpoint(&self) -> Result<Option<Vec<u8>>> {
        match std::fs::read(self.checkpoint()) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&self.checkpoint(), "cannot read", e)),
        }
    }

    /// The status file; `None` when there is none.
    pub fn read_status(&self) -> Result<Option<Status>> {
        Status::read(&self.status())
    }

    /// Write the status file, creating the folder.
    pub fn write_status(&self, status: &Status) -> Result<()> {
        self.create()?;
        status.write(&self.status())
    }

    /// The resolved config in `run.yaml`; `None` when there is none.
    pub fn read_record(&self) -> Result<Option<RunRecord>> {
        RunRecord::read(&self.run_yaml())
    }

    /// Write `run.yaml` unless it exists (it never changes for a run id), creating the folder.
    pub fn ensure_record(&self, record: &RunRecord) -> Result<()> {
        self.create()?;
        if self.run_yaml().exists() {
            return Ok(());
        }
        record.write(&self.run_yaml())
    }

    /// The tasks of the job: from its `run.yaml`, the paper's two where it has none.
    pub fn tasks(&self) -> Result<Tasks> {
        Ok(self.read_record()?.map(|r| r.job.tasks).unwrap_or_default())
    }

    /// The epoch log of a job of `tasks`.
    pub fn read_epochs(&self, tasks: &Tasks) -> Result<Vec<EpochRow>> {
        EpochRow::read(&self.epochs(), tasks)
    }

    /// The step log of a job of `tasks`.
    pub fn read_steps(&self, tasks: &Tasks) -> Result<Vec<StepRow>> {
        StepRow::read(&self.steps(), tasks)
    }

    /// The summary of the epoch log of a job of `tasks`; `None` when it is empty.
    pub fn summary(&self, tasks: &Tasks) -> Result<Option<JobSummary>> {
        Ok(JobSummary::of(&self.read_epochs(tasks)?, tasks))
    }

    /// Write a finished job's logs: epochs, steps (of `tasks`) and the verification pairs
    /// (none for a trainer that scores itself).
    pub fn write_logs(
        &self,
        tasks: &Tasks,
        epochs: &[EpochRow],
        steps: &[StepRow],
        pairs: Option<&[PairRow]>,
    ) -> Result<()> {
        EpochRow::to_parquet(&self.epochs(), epochs, tasks)?;
        StepRow::to_parquet(&self.steps(), steps, tasks)?;
        match pairs {
            Some(pairs) => PairRow::write_csv(&self.pairs(), pairs),
            None => Ok(()),
        }
    }

    /// Remove the progress log (a job that starts over, or is done).
    pub fn clear_progress(&self) -> Result<()> {
        match std::fs::remove_file(self.progress()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io(&self.progress(), "cannot remove", e))
            }
            _ => Ok(()),
        }
    }

    /// Remove the logs of an earlier, interrupted attempt.
    pub fn clear_logs(&self) {
        for stale in [self.epochs(), self.steps(), self.pairs()] {
            let _ = std::fs::remove_file(stale);
        }
    }

    fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root)
            .map_err(|e| Error::io(&self.root, "cannot create job folder", e))
    }
}
