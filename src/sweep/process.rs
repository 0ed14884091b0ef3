//! A job that a process trainer runs (docs/trainer-contract.md): write its spec, start the
//! command in a process group of its own, read its rows as they come, and end it the way the
//! contract says — done after its last epoch row and exit 0; failed with the reason (a bad row,
//! a non-zero exit with the end of its stderr, a timeout, a missing program); stopped with
//! SIGTERM to the group, the grace period, then SIGKILL, leaving the job pending for a resume.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{JobEnv, SweepEvent};
use crate::config::{Job, TrainerConfig};
use crate::error::{Error, Result};
use crate::metrics::{EpochMetrics, StepMetrics};
use crate::runlog::trainer::{cut_torn_line, JobSpec, Row, RowReader};
use crate::runlog::JobDir;

/// How often the rows file and the process are looked at.
const POLL: Duration = Duration::from_millis(50);

/// Lines of the trainer's stderr quoted in a failure's reason.
const STDERR_LINES: usize = 5;

/// What a process job logged: every epoch row and the step rows, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessRows {
    /// Epoch rows.
    pub epochs: Vec<EpochMetrics>,
    /// Step rows.
    pub steps: Vec<StepMetrics>,
}

/// The absolute form of `path` (which exists), for the spec: the trainer may run elsewhere.
fn absolute(path: &Path) -> Result<std::path::PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io(path, "cannot resolve", e))
}

/// The last `n` lines of the file at `path` (empty when unreadable).
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Send `signal` to the process group `pgid`.
fn signal_group(pgid: u32, signal: i32) {
    // SAFETY: kill(2) with a negative pid addresses the process group; it has no memory effects.
    unsafe {
        libc::kill(-(pgid as i32), signal);
    }
}

/// SIGTERM to the trainer's group, up to `grace` seconds for it to exit, then SIGKILL.
fn terminate(child: &mut Child, grace: f64) {
    let pgid = child.id();
    signal_group(pgid, libc::SIGTERM);
    let until = Instant::now() + Duration::from_secs_f64(grace);
    while Instant::now() < until {
        if matches!(child.try_wait(), Ok(Some(_))) {
            signal_group(pgid, libc::SIGKILL);
            return;
        }
        std::thread::sleep(POLL);
    }
    signal_group(pgid, libc::SIGKILL);
    let _ = child.wait();
}

/// How a trainer's exit reads in a failure.
fn exit_text(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "ended".to_string(),
    }
}

/// Run `job` with its trainer `trainer` in its folder `jd`, emitting an `EpochFinished` event
/// per epoch row: the rows, or why the job failed or stopped.
pub(super) fn run(
    jd: &JobDir,
    job: &Job,
    trainer: &TrainerConfig,
    env: &JobEnv<'_>,
    started: Instant,
    emit: &mut dyn FnMut(SweepEvent),
) -> Result<ProcessRows> {
    let create =
        |p: &Path| std::fs::create_dir_all(p).map_err(|e| Error::io(p, "cannot create folder", e));
    create(jd.root())?;
    create(&jd.trainer_state())?;
    cut_torn_line(&jd.trainer_rows())?;
    let rows_path = absolute(jd.root())?.join("rows.jsonl");
    let state_dir = absolute(&jd.trainer_state())?;
    let spec_path = absolute(jd.root())?.join("job.json");
    JobSpec::of(job, rows_path.clone(), state_dir.clone()).write(&spec_path)?;

    let values = BTreeMap::from([
        ("seed", job.seed.to_string()),
        ("epochs", job.train.epochs.to_string()),
        ("strategy", job.strategy.name().to_string()),
        ("run_id", job.run_id.clone()),
        ("job_file", spec_path.display().to_string()),
        ("job_dir", absolute(jd.root())?.display().to_string()),
        ("rows", rows_path.display().to_string()),
        ("state_dir", state_dir.display().to_string()),
    ]);
    let argv = trainer.argv(&values);
    let append = |p: &Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| Error::io(p, "cannot open", e))
    };
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .envs(&trainer.env)
        .env("WEIGHTLAB_JOB", &spec_path)
        .stdin(Stdio::null())
        .stdout(append(&jd.trainer_stdout())?)
        .stderr(append(&jd.trainer_stderr())?);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| Error::Failed(format!("cannot start the trainer `{}`: {e}", argv[0])))?;
    tracing::debug!(run_id = %job.run_id, pid = child.id(), "trainer started");

    let mut reader = RowReader::new(rows_path, job.tasks.clone(), job.train.epochs);
    let mut out = ProcessRows::default();
    let began = Instant::now();
    let stop = || {
        env.stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    };
    loop {
        let exited = child
            .try_wait()
            .map_err(|e| Error::Failed(format!("cannot watch the trainer: {e}")))?;
        match reader.poll() {
            Ok(rows) => {
                for row in rows {
                    match row {
                        Row::Epoch(mut m) => {
                            if !m.elapsed_s.is_finite() {
                                m.elapsed_s = started.elapsed().as_secs_f64();
                            }
                            emit(SweepEvent::EpochFinished {
                                run_id: job.run_id.clone(),
                                metrics: m.clone(),
                            });
                            out.epochs.push(m);
                        }
                        Row::Step(m) => out.steps.push(m),
                    }
                }
            }
            Err(e) => {
                if exited.is_none() {
                    terminate(&mut child, trainer.stop_grace);
                }
                return Err(Error::Failed(e.to_string()));
            }
        }
        if let Some(status) = exited {
            // Whatever the trainer left running in its group goes with it.
            signal_group(child.id(), libc::SIGKILL);
            // A scheduler that stops the job signals every process of it: the trainer may exit
            // on its SIGTERM just before weightlab's own stop is seen. Such a job is stopped,
            // not failed.
            if !status.success()
                && (stop() || {
                    std::thread::sleep(Duration::from_millis(200));
                    stop()
                })
            {
                return Err(Error::Interrupted {
                    epoch: reader.epochs_logged() + 1,
                    step: 0,
                });
            }
            if !status.success() {
                let said = tail(&jd.trainer_stderr(), STDERR_LINES);
                return Err(Error::Failed(format!(
                    "the trainer {}{}",
                    exit_text(status),
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!(": {said}")
                    }
                )));
            }
            if reader.torn() {
                return Err(Error::Failed(
                    "the trainer exited 0 in the middle of a row (rows.jsonl ends without a newline)"
                        .into(),
                ));
            }
            if !reader.complete() {
                return Err(Error::Failed(format!(
                    "the trainer exited 0 after logging {} of {} epochs",
                    reader.epochs_logged(),
                    job.train.epochs
                )));
            }
            return Ok(out);
        }
        if stop() {
            terminate(&mut child, trainer.stop_grace);
            return Err(Error::Interrupted {
                epoch: reader.epochs_logged() + 1,
                step: 0,
            });
        }
        if began.elapsed().as_secs_f64() > trainer.timeout {
            terminate(&mut child, trainer.stop_grace);
            return Err(Error::Failed(format!(
                "timed out after {} s (trainer.timeout) at epoch {} of {}",
                trainer.timeout,
                reader.epochs_logged() + 1,
                job.train.epochs
            )));
        }
        std::thread::sleep(POLL);
    }
}
