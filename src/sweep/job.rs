//! One job inside a sweep folder: mark it running, train, write its logs, mark it done or
//! failed. Errors and panics become a `failed` status; they never stop the sweep.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use burn::prelude::Device;

use super::SweepEvent;
use crate::config::Job;
use crate::data::{FaceSet, Split};
use crate::error::{Error, Result};
use crate::runlog::{EpochRow, JobState, PairRow, RunDir, RunRecord, Status, StepRow};
use crate::train::{train_job, TrainEvent};

/// Write `state` for `job` (with its resolved config in `run.yaml`).
pub(super) fn mark(dir: &RunDir, job: &Job, state: JobState, reason: Option<String>) -> Result<()> {
    let jd = dir.job(&job.run_id);
    jd.ensure_record(&RunRecord::of(job))?;
    jd.write_status(&Status {
        state,
        reason,
        config_hash: job.config_hash.clone(),
        wall_s: None,
    })
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".to_string())
}

/// Train `job` and record the outcome in its folder. Emits JobStarted, Step, EpochFinished and
/// JobFinished or JobFailed.
pub fn run_job(
    dir: &RunDir,
    job: &Job,
    data: &Arc<(FaceSet, Split)>,
    device: &Device,
    emit: &mut dyn FnMut(SweepEvent),
) {
    let started = Instant::now();
    let outcome = (|| -> Result<()> {
        let jd = dir.job(&job.run_id);
        // A rerun starts from a clean folder: logs of an interrupted attempt must not survive.
        jd.clear_logs();
        mark(dir, job, JobState::Running, None)?;
        let steps_per_epoch = data.1.train.len().div_ceil(job.train.batch_size);
        emit(SweepEvent::JobStarted {
            run_id: job.run_id.clone(),
            epochs: job.train.epochs,
            total_steps: steps_per_epoch * job.train.epochs,
        });
        let output = catch_unwind(AssertUnwindSafe(|| {
            train_job(job, data, device, &mut |e| match e {
                TrainEvent::Step(metrics) => emit(SweepEvent::Step {
                    run_id: job.run_id.clone(),
                    metrics,
                }),
                TrainEvent::Epoch(metrics) => emit(SweepEvent::EpochFinished {
                    run_id: job.run_id.clone(),
                    metrics,
                }),
            })
        }))
        .map_err(|p| Error::Failed(format!("panic: {}", panic_message(p.as_ref()))))??;

        // Logs first, status last: `done` implies complete logs.
        let (set, _) = data.as_ref();
        let epochs: Vec<EpochRow> = output
            .epochs
            .iter()
            .map(|m| EpochRow::new(job, m))
            .collect();
        let steps: Vec<StepRow> = output
            .steps
            .iter()
            .map(|m| StepRow::new(&job.run_id, m))
            .collect();
        let pairs: Vec<PairRow> = output.pairs.iter().map(|p| PairRow::new(set, p)).collect();
        jd.write_logs(&epochs, &steps, &pairs)?;
        jd.write_status(&Status {
            state: JobState::Done,
            reason: None,
            config_hash: job.config_hash.clone(),
            wall_s: Some(started.elapsed().as_secs_f64()),
        })
    })();
    match outcome {
        Ok(()) => emit(SweepEvent::JobFinished {
            run_id: job.run_id.clone(),
            wall_s: started.elapsed().as_secs_f64(),
        }),
        Err(e) => {
            let reason = e.to_string();
            if let Err(w) = mark(dir, job, JobState::Failed, Some(reason.clone())) {
                tracing::error!(run_id = %job.run_id, error = %w, "cannot record the failure");
            }
            emit(SweepEvent::JobFailed {
                run_id: job.run_id.clone(),
                reason,
            });
        }
    }
}
