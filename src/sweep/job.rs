//! One job inside a sweep folder: mark it running, train (from its last checkpoint when it has
//! a usable one), store its checkpoints as they come, write its logs and model, mark it done or
//! failed. Errors and panics become a `failed` status; they never stop the sweep. A stop signal
//! leaves the job `pending` with a checkpoint of the step it stopped at.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use burn::prelude::Device;

use super::SweepEvent;
use crate::config::{BackendKind, Job};
use crate::data::{FaceSet, Split};
use crate::error::{Error, Result};
use crate::files::atomic_write;
use crate::runlog::{
    progress, EpochRow, JobDir, JobState, PairRow, RunDir, RunRecord, Status, StepRow,
};
use crate::train::{
    train_job, Checkpoint, Parts, Resume, Rows, TrainControl, TrainEvent, TrainOutput,
};

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

/// The job's last checkpoint when it can be resumed, with the rows it counts: a file that
/// decodes whole, belongs to this config, and whose rows the progress log holds (anything the
/// log holds after them, from an attempt that did not reach its next checkpoint, is cut off).
/// Anything else is set aside with a warning that says why (the job restarts).
pub fn usable_checkpoint(jd: &JobDir, job: &Job) -> Option<Resume> {
    let bytes = match jd.read_checkpoint() {
        Ok(Some(b)) => b,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(run_id = %job.run_id, error = %e, "checkpoint unreadable; the job restarts");
            return None;
        }
    };
    let checkpoint = match Checkpoint::from_bytes(&bytes) {
        Ok(ck) if job.owns(&ck.header.config_hash) => ck,
        Ok(_) => {
            tracing::warn!(run_id = %job.run_id, "checkpoint of another config; the job restarts");
            return None;
        }
        Err(why) => {
            tracing::warn!(run_id = %job.run_id, reason = %why, "checkpoint ignored; the job restarts");
            return None;
        }
    };
    let h = &checkpoint.header;
    let Some((rows, len)) = progress::read_prefix(&jd.progress(), h.logged_epochs, h.logged_steps)
    else {
        tracing::warn!(run_id = %job.run_id, "the progress log lacks the checkpoint's rows; the job restarts");
        return None;
    };
    if let Err(e) = progress::truncate(&jd.progress(), len) {
        tracing::warn!(run_id = %job.run_id, error = %e, "cannot cut the progress log; the job restarts");
        return None;
    }
    Some(Resume { checkpoint, rows })
}

/// How far an unfinished job got: the epochs (and steps after a stop signal) of its last
/// checkpoint, when that checkpoint is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Epochs done.
    pub epoch: usize,
    /// Epochs in all.
    pub epochs_total: usize,
    /// Steps done into the next epoch (a checkpoint taken on a stop signal).
    pub steps: Option<usize>,
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "epoch {}/{}", self.epoch, self.epochs_total)?;
        if let Some(steps) = self.steps {
            write!(f, " + {steps} steps")?;
        }
        Ok(())
    }
}

/// The [`Progress`] of `job` from its checkpoint header (the header alone is read).
pub fn progress(jd: &JobDir, job: &Job) -> Option<Progress> {
    let h = Checkpoint::read_header(&jd.checkpoint())?;
    job.owns(&h.config_hash).then(|| Progress {
        epoch: h.epoch,
        epochs_total: h.epochs_total,
        steps: h.partial.map(|p| p.batches_done),
    })
}

/// Where and how a job runs.
#[derive(Debug, Clone, Copy)]
pub struct JobEnv<'a> {
    /// The compute device.
    pub device: &'a Device,
    /// The sweep's stop request.
    pub stop: Option<&'a AtomicBool>,
    /// Read step values back once per epoch instead of every step (for a GPU; see
    /// [`TrainControl::deferred_read_back`]).
    pub deferred_read_back: bool,
    /// The parts jobs are built from.
    pub parts: &'a Parts,
}

impl<'a> JobEnv<'a> {
    /// The environment of a job on `device` of kind `backend`, stopped by `stop`: read-backs
    /// are deferred on a GPU, where each one is a synchronisation.
    pub fn of(
        device: &'a Device,
        backend: BackendKind,
        stop: &'a super::StopSignal,
        parts: &'a Parts,
    ) -> Self {
        Self {
            device,
            stop: Some(stop.flag()),
            deferred_read_back: backend == BackendKind::Wgpu,
            parts,
        }
    }
}

/// Train `job` and record the outcome in its folder: with weightlab's own trainer on `data`,
/// or with the experiment's process trainer (which reads its own data: `data` is `None`).
/// Emits JobStarted, Step, EpochFinished and JobFinished, JobFailed or JobInterrupted.
pub fn run_job(
    dir: &RunDir,
    job: &Job,
    data: Option<&Arc<(FaceSet, Split)>>,
    env: JobEnv<'_>,
    emit: &mut dyn FnMut(SweepEvent),
) {
    let started = Instant::now();
    let jd = dir.job(&job.run_id);
    let outcome = match (&job.trainer, data) {
        (Some(trainer), _) => run_process_job(dir, &jd, job, trainer, &env, started, emit),
        (None, Some(data)) => run_own_job(dir, &jd, job, data, &env, started, emit),
        (None, None) => Err(Error::Failed(format!(
            "no data loaded for dataset `{}`",
            job.dataset.name
        ))),
    };
    finish(dir, job, outcome, started, emit);
}

/// A job of a process trainer: its rows become the same logs as a built-in job's.
fn run_process_job(
    dir: &RunDir,
    jd: &JobDir,
    job: &Job,
    trainer: &crate::config::TrainerConfig,
    env: &JobEnv<'_>,
    started: Instant,
    emit: &mut dyn FnMut(SweepEvent),
) -> Result<()> {
    jd.clear_logs();
    mark(dir, job, JobState::Running, None)?;
    emit(SweepEvent::JobStarted {
        run_id: job.run_id.clone(),
        epochs: job.train.epochs,
        total_steps: job.train.epochs,
        resumed_at: None,
        tasks: job.tasks.clone(),
    });
    let rows = super::process::run(jd, job, trainer, env, started, emit)?;
    let epochs: Vec<EpochRow> = rows.epochs.iter().map(|m| EpochRow::new(job, m)).collect();
    let steps: Vec<StepRow> = rows
        .steps
        .iter()
        .map(|m| StepRow::new(&job.run_id, m))
        .collect();
    jd.write_logs(&job.tasks, &epochs, &steps, None)?;
    jd.write_status(&Status {
        state: JobState::Done,
        reason: None,
        config_hash: job.config_hash.clone(),
        wall_s: Some(started.elapsed().as_secs_f64()),
    })
}

/// A job of weightlab's own trainer on `data`.
fn run_own_job(
    dir: &RunDir,
    jd: &JobDir,
    job: &Job,
    data: &Arc<(FaceSet, Split)>,
    env: &JobEnv<'_>,
    started: Instant,
    emit: &mut dyn FnMut(SweepEvent),
) -> Result<()> {
    let device = env.device;
    let jd = jd.clone();
    (|| -> Result<()> {
        // Logs are written whole at the end: those of an interrupted attempt must not survive
        // (the progress log holds the rows its checkpoint counts).
        jd.clear_logs();
        let resume = usable_checkpoint(&jd, job);
        if resume.is_none() {
            jd.clear_progress()?;
        }
        mark(dir, job, JobState::Running, None)?;
        let steps_per_epoch = data.1.train.len().div_ceil(job.train.batch_size);
        emit(SweepEvent::JobStarted {
            run_id: job.run_id.clone(),
            epochs: job.train.epochs,
            total_steps: steps_per_epoch * job.train.epochs,
            resumed_at: resume
                .as_ref()
                .map(|r| (r.checkpoint.header.epoch, r.checkpoint.header.step)),
            tasks: job.tasks.clone(),
        });
        let resumed = resume.is_some();
        let mut attempt = |resume: Option<Resume>| -> Result<TrainOutput> {
            let control = TrainControl {
                resume,
                stop: env.stop,
                deferred_read_back: env.deferred_read_back,
            };
            let mut stored: Result<()> = Ok(());
            let output = catch_unwind(AssertUnwindSafe(|| {
                train_job(job, env.parts, data, device, control, &mut |e| match e {
                    TrainEvent::Step(metrics) => emit(SweepEvent::Step {
                        run_id: job.run_id.clone(),
                        metrics,
                    }),
                    TrainEvent::Epoch(metrics) => emit(SweepEvent::EpochFinished {
                        run_id: job.run_id.clone(),
                        metrics,
                    }),
                    TrainEvent::Checkpoint(ck, rows) => {
                        if stored.is_ok() {
                            stored = store_checkpoint(&jd, &ck, &rows);
                        }
                    }
                })
            }))
            .map_err(|p| Error::Panic(panic_message(p.as_ref())));
            stored?;
            output?
        };
        let output = match attempt(resume) {
            // A checkpoint that decodes but does not load (a record of another shape, a
            // strategy state that does not fit) costs the job its progress, not its run.
            Err(Error::Checkpoint(why)) if resumed => {
                tracing::warn!(run_id = %job.run_id, reason = %why, "checkpoint set aside; the job restarts");
                jd.clear_progress()?;
                attempt(None)?
            }
            other => other?,
        };

        // Logs and model first, status last: `done` implies complete logs.
        let set = &data.as_ref().0;
        let shape_json = serde_json::to_vec_pretty(&output.shape)
            .map_err(|e| Error::log(&jd.model_shape(), e))?;
        atomic_write(&jd.model_shape(), &shape_json)?;
        atomic_write(&jd.model_theta(), &output.model.theta)?;
        atomic_write(&jd.model_psi(), &output.model.psi)?;
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
        jd.write_logs(&job.tasks, &epochs, &steps, Some(&pairs))?;
        jd.write_status(&Status {
            state: JobState::Done,
            reason: None,
            config_hash: job.config_hash.clone(),
            wall_s: Some(started.elapsed().as_secs_f64()),
        })?;
        // The logs hold every row now.
        jd.clear_progress()
    })()
}

/// Record how a job ended (done, failed with its reason, or stopped and pending) and emit it.
fn finish(
    dir: &RunDir,
    job: &Job,
    outcome: Result<()>,
    started: Instant,
    emit: &mut dyn FnMut(SweepEvent),
) {
    match outcome {
        Ok(()) => emit(SweepEvent::JobFinished {
            run_id: job.run_id.clone(),
            wall_s: started.elapsed().as_secs_f64(),
        }),
        Err(e) => {
            // A stop leaves the job pending (it resumes); anything else fails it.
            let interrupted = matches!(e, Error::Interrupted { .. });
            let reason = e.to_string();
            let state = if interrupted {
                JobState::Pending
            } else {
                JobState::Failed
            };
            if let Err(w) = mark(dir, job, state, Some(reason.clone())) {
                tracing::error!(run_id = %job.run_id, error = %w, "cannot record why the job stopped");
            }
            let run_id = job.run_id.clone();
            emit(if interrupted {
                SweepEvent::JobInterrupted { run_id, reason }
            } else {
                SweepEvent::JobFailed { run_id, reason }
            });
        }
    }
}

/// Append the checkpoint's new rows to the progress log (synced), then write the checkpoint
/// atomically over the previous one: a checkpoint on disk never counts rows the log lacks.
fn store_checkpoint(jd: &JobDir, ck: &Checkpoint, rows: &Rows) -> Result<()> {
    let started = Instant::now();
    progress::append(&jd.progress(), &rows.epochs, &rows.steps)?;
    let bytes = ck.to_bytes().map_err(|e| Error::log(&jd.checkpoint(), e))?;
    atomic_write(&jd.checkpoint(), &bytes)?;
    tracing::debug!(
        run_id = %jd.run_id(),
        epoch = ck.header.epoch,
        bytes = bytes.len(),
        seconds = started.elapsed().as_secs_f64(),
        "checkpoint stored"
    );
    Ok(())
}
