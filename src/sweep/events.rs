//! [`SweepEvent`]: what a sweep reports while it runs, and the [`EventSink`] trait of the
//! things that render or record it (progress bars, tracing lines, the run index).

use crate::runlog::{EpochRow, JobState};

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
    },
    /// A training step finished.
    Step {
        /// The job.
        run_id: String,
        /// 1-based epoch.
        epoch: usize,
        /// 1-based global step.
        step: usize,
        /// This step's w_fv.
        w_fv: f64,
        /// This step's L1.
        loss_fv: f64,
        /// This step's L2.
        loss_ex: f64,
    },
    /// An epoch finished and was evaluated.
    EpochFinished {
        /// The row written to `epochs.parquet`.
        row: EpochRow,
    },
    /// A job finished and its logs are on disk.
    JobFinished {
        /// The job.
        run_id: String,
        /// Wall seconds.
        wall_s: f64,
    },
    /// A job failed; the sweep goes on.
    JobFailed {
        /// The job.
        run_id: String,
        /// Why.
        reason: String,
    },
    /// Every job has been attempted.
    Finished {
        /// Jobs done in this sweep (ran now or before).
        done: usize,
        /// Jobs failed.
        failed: Vec<(String, String)>,
        /// Wall seconds of this invocation.
        wall_s: f64,
    },
}

/// A consumer of sweep events.
pub trait EventSink {
    /// Handle one event. Sinks must not fail the sweep; they log their own problems.
    fn event(&mut self, event: &SweepEvent);
}
