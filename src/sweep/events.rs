//! [`SweepEvent`]: what a sweep reports while it runs, and the [`EventSink`] trait of the
//! things that render or record it (progress bars, tracing lines, the run index).

use crate::config::Adapter;
use crate::metrics::{EpochMetrics, StepMetrics};
use crate::runlog::JobState;
use crate::task::Tasks;

/// Something that happened in a sweep.
#[derive(Debug, Clone)]
pub enum SweepEvent {
    /// The sweep starts: `to_run` of `total` jobs will train.
    Started {
        /// Sweep name.
        name: String,
        /// Jobs in the sweep.
        total: usize,
        /// Jobs that will train now.
        to_run: usize,
        /// Parallel workers.
        workers: usize,
    },
    /// A job is skipped (already done, or failed without `--retry-failed`).
    JobSkipped {
        /// The job.
        run_id: String,
        /// Its state on disk.
        state: JobState,
    },
    /// A job starts training.
    JobStarted {
        /// The job.
        run_id: String,
        /// Epochs it will train.
        epochs: usize,
        /// Steps per epoch × epochs.
        total_steps: usize,
        /// The (epochs done, step) of the checkpoint it resumes from.
        resumed_at: Option<(usize, usize)>,
        /// Its tasks: the order of the per-task values of its metrics.
        tasks: Tasks,
    },
    /// A training step finished.
    Step {
        /// The job.
        run_id: String,
        /// What the step measured.
        metrics: StepMetrics,
    },
    /// An epoch finished and was evaluated.
    EpochFinished {
        /// The job.
        run_id: String,
        /// The epoch's means and evaluation.
        metrics: EpochMetrics,
    },
    /// A job finished and its logs are on disk.
    JobFinished {
        /// The job.
        run_id: String,
        /// Wall seconds.
        wall_s: f64,
    },
    /// A stop signal interrupted a job; it is pending again, with a checkpoint.
    JobInterrupted {
        /// The job.
        run_id: String,
        /// Where it stopped, e.g. `interrupted at epoch 3, step 40`.
        reason: String,
    },
    /// A job failed; the sweep goes on.
    JobFailed {
        /// The job.
        run_id: String,
        /// Why.
        reason: String,
    },
    /// Every job has been attempted.
    Finished(SweepOutcome),
    /// The GPU adapter the sweep runs on (wgpu only), as the driver reports it.
    Adapter(Adapter),
}

/// A consumer of sweep events.
pub trait EventSink {
    /// Handle one event. Sinks must not fail the sweep; they log their own problems.
    fn event(&mut self, event: &SweepEvent);
}

/// How a sweep ended: what `sweep run` reports and its exit code depends on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SweepOutcome {
    /// Jobs in the sweep.
    pub total: usize,
    /// Jobs done (ran now or before).
    pub done: usize,
    /// Failed jobs with their reasons, as (run id, reason).
    pub failed: Vec<(String, String)>,
    /// Jobs a stop signal interrupted (pending again, resumable).
    pub interrupted: usize,
    /// Wall seconds of this invocation.
    pub wall_s: f64,
}
