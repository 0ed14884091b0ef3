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
use crate::runlog::{atomic_write, write_epochs, write_steps, JobState, RunDir, Status};
use crate::train::{train_job, TrainEvent};

/// Write `state` for `job` (with its resolved config in `run.yaml`).
pub(super) fn mark(dir: &RunDir, job: &Job, state: JobState, reason: Option<String>) -> Result<()> {
    let jd = dir.job(&job.run_id);
    std::fs::create_dir_all(jd.root())
        .map_err(|e| Error::io(jd.root(), "cannot create job folder", e))?;
    if !jd.run_yaml().exists() {
        let mut yaml =
            serde_yaml::to_string(&job.resolved()).map_err(|e| Error::log(&jd.run_yaml(), e))?;
        yaml.push_str(&format!(
            "run_id: {}\nconfig_hash: {}\n",
            job.run_id, job.config_hash
        ));
        atomic_write(&jd.run_yaml(), yaml.as_bytes())?;
    }
    Status {
        state,
        reason,
        config_hash: job.config_hash.clone(),
        wall_s: None,
    }
    .write(&jd.status())
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
        for stale in [jd.epochs(), jd.steps(), jd.pairs()] {
            let _ = std::fs::remove_file(stale);
        }
        mark(dir, job, JobState::Running, None)?;
        let steps_per_epoch = data.1.train.len().div_ceil(job.train.batch_size);
        emit(SweepEvent::JobStarted {
            run_id: job.run_id.clone(),
            epochs: job.train.epochs,
            total_steps: steps_per_epoch * job.train.epochs,
        });
        let output = catch_unwind(AssertUnwindSafe(|| {
            train_job(job, data, device, &mut |e| match e {
                TrainEvent::Step {
                    epoch,
                    step,
                    w_fv,
                    loss_fv,
                    loss_ex,
                    ..
                } => emit(SweepEvent::Step {
                    run_id: job.run_id.clone(),
                    epoch,
                    step,
                    w_fv,
                    loss_fv,
                    loss_ex,
                }),
                TrainEvent::Epoch(row) => emit(SweepEvent::EpochFinished { row }),
            })
        }))
        .map_err(|p| Error::Failed(format!("panic: {}", panic_message(p.as_ref()))))??;

        // Logs first, status last: `done` implies complete logs.
        write_epochs(&jd.epochs(), &output.epochs)?;
        write_steps(&jd.steps(), &job.run_id, &output.steps)?;
        let (set, _) = data.as_ref();
        let mut pairs = String::from("reference,probe,same,reference_subject,probe_subject\n");
        for p in &output.pairs {
            pairs.push_str(&format!(
                "{},{},{},{},{}\n",
                set.paths[p.reference],
                set.paths[p.probe],
                p.same as u8,
                set.subject_names[set.subjects[p.reference] as usize],
                set.subject_names[set.subjects[p.probe] as usize]
            ));
        }
        atomic_write(&jd.pairs(), pairs.as_bytes())?;
        Status {
            state: JobState::Done,
            reason: None,
            config_hash: job.config_hash.clone(),
            wall_s: Some(started.elapsed().as_secs_f64()),
        }
        .write(&jd.status())
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
