//! [`Sweep`]: a study's jobs in one folder, run in parallel, resumable, failure-isolated.
//!
//! The runner never prints. It emits [`SweepEvent`]s; the sinks in [`sinks`] render them
//! (progress bars or tracing lines) and record them (the run index).

mod events;
mod job;
mod lock;
pub mod sinks;
pub mod slurm;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use crate::atomic::{atomic_write, remove_temporaries};
use crate::config::{self, BackendKind, Experiment, Job};
use crate::data::{FaceSet, Split};
use crate::error::{Error, Result};
use crate::runlog::{JobState, RunDir};
pub use events::{EventSink, SweepEvent, SweepOutcome};
pub use job::{run_job, JobEnv};
pub use lock::SweepLock;

/// How `sweep run` runs a sweep, whatever the executor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOptions {
    /// Parallel jobs (default: cores ÷ `train.threads`).
    pub jobs: Option<usize>,
    /// Backend override of the experiment's `device`.
    pub device: Option<BackendKind>,
    /// Rerun failed jobs.
    pub retry_failed: bool,
    /// Start the folder over.
    pub fresh: bool,
}

impl RunOptions {
    /// The number of parallel jobs for `threads` compute threads per job.
    pub fn workers(&self, threads: usize) -> usize {
        self.jobs
            .unwrap_or_else(|| (cores() / threads.max(1)).max(1))
            .max(1)
    }

    /// Whether a job in `state` is to run.
    fn selects(&self, state: JobState) -> bool {
        match state {
            JobState::Done => false,
            JobState::Failed => self.retry_failed,
            JobState::Pending | JobState::Running => true,
        }
    }
}

/// A folder made ready by [`Sweep::prepare`].
#[derive(Debug)]
pub struct Prepared {
    /// The folder's lock, held until this value is dropped.
    pub lock: SweepLock,
    /// The jobs to run, marked pending.
    pub run_jobs: Vec<Job>,
    /// The jobs left alone (done, failed, or busy elsewhere).
    pub skipped: Vec<PlannedJob>,
    /// The datasets of `run_jobs`, by name.
    pub data: HashMap<String, Arc<(FaceSet, Split)>>,
}

/// A job with what is on disk for it.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    /// The job.
    pub job: Job,
    /// Its state on disk (`Pending` when it has no status file or an outdated one).
    pub state: JobState,
    /// Failure reason on disk.
    pub reason: Option<String>,
    /// Wall seconds of a finished job.
    pub wall_s: Option<f64>,
}

/// An experiment bound to its folder.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The experiment.
    pub experiment: Experiment,
    /// The YAML text it was read from.
    pub text: String,
    /// The folder.
    pub dir: RunDir,
    /// The jobs.
    pub jobs: Vec<Job>,
}

static STOP: AtomicBool = AtomicBool::new(false);

/// The flag a stop signal raises (`sweep run`, `sweep job`): running jobs finish their step,
/// write a checkpoint and are left pending; no new job starts.
pub fn stop_flag() -> &'static AtomicBool {
    &STOP
}

/// Whether a stop was requested.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Number of cores, as the default for `--jobs`.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Sweep {
    /// Load the experiment at `path`; the folder is `out` or `runs/<name>`.
    pub fn from_experiment(path: &Path, out: Option<PathBuf>) -> Result<Self> {
        Self::with_overrides(path, out, &[])
    }

    /// Load the experiment at `path` with command-line `overrides` applied (see
    /// [`config::Override`]); the folder keeps the overridden experiment, so that it alone says
    /// what ran.
    pub fn with_overrides(path: &Path, out: Option<PathBuf>, overrides: &[String]) -> Result<Self> {
        let (experiment, text) = config::load_with_overrides(path, overrides)?;
        let dir = RunDir::new(out.unwrap_or_else(|| PathBuf::from("runs").join(&experiment.name)));
        let jobs = config::expand(&experiment)?;
        Ok(Self {
            experiment,
            text,
            dir,
            jobs,
        })
    }

    /// Open an existing sweep folder through its copy of the experiment.
    pub fn open(dir: &Path) -> Result<Self> {
        let run_dir = RunDir::new(dir);
        let exp = run_dir.experiment();
        if !exp.is_file() {
            return Err(Error::input(
                dir.display().to_string(),
                "DIR",
                "not a sweep folder (no experiment.yaml); run `weightlab sweep run EXPERIMENT.yaml` first",
            ));
        }
        Self::from_experiment(&exp, Some(dir.to_path_buf()))
    }

    /// Each job with its state on disk (`Pending` without a status file, so also before the
    /// folder exists). A `done` status whose hash differs from the job's is treated as pending:
    /// that folder holds another config's results.
    pub fn plan(&self) -> Result<Vec<PlannedJob>> {
        self.jobs
            .iter()
            .map(|job| {
                let status = self.dir.job(&job.run_id).read_status()?;
                Ok(match status {
                    Some(s) if s.config_hash == job.config_hash => PlannedJob {
                        job: job.clone(),
                        state: s.state,
                        reason: s.reason,
                        wall_s: s.wall_s,
                    },
                    _ => PlannedJob {
                        job: job.clone(),
                        state: JobState::Pending,
                        reason: None,
                        wall_s: None,
                    },
                })
            })
            .collect()
    }

    /// Load every dataset that `jobs` need, once each.
    fn load_datasets(&self, jobs: &[Job]) -> Result<HashMap<String, Arc<(FaceSet, Split)>>> {
        let mut data = HashMap::new();
        for job in jobs {
            if !data.contains_key(&job.dataset.name) {
                tracing::info!(dataset = %job.dataset.name, "loading dataset");
                let loaded = job.dataset.load()?;
                data.insert(job.dataset.name.clone(), Arc::new(loaded));
            }
        }
        Ok(data)
    }

    /// The jobs `opts` selects to run (not done; failed ones with `retry_failed`; none that
    /// `busy` says are running elsewhere), and the others. With `fresh` every job is selected.
    pub fn select(
        &self,
        opts: &RunOptions,
        busy: &dyn Fn(&Job) -> bool,
    ) -> Result<(Vec<PlannedJob>, Vec<PlannedJob>)> {
        let plan = if opts.fresh {
            self.plan()?
                .into_iter()
                .map(|p| PlannedJob {
                    state: JobState::Pending,
                    reason: None,
                    wall_s: None,
                    ..p
                })
                .collect()
        } else {
            self.plan()?
        };
        Ok(plan
            .into_iter()
            .partition(|p| !busy(&p.job) && opts.selects(p.state)))
    }

    /// Ready the folder for a run: wipe it with `fresh`, pick the jobs to run (see
    /// [`Sweep::select`]), load their datasets (bad data is bad input, found before anything is
    /// written), then create the folder, take its lock, copy the experiment and mark the jobs
    /// pending. Setting up either succeeds or leaves nothing behind that this call made.
    pub fn prepare(&self, opts: &RunOptions, busy: &dyn Fn(&Job) -> bool) -> Result<Prepared> {
        if opts.fresh {
            self.wipe()?;
        }
        let (to_run, skipped) = self.select(opts, busy)?;
        let run_jobs: Vec<Job> = to_run.iter().map(|p| p.job.clone()).collect();
        let data = self.load_datasets(&run_jobs)?;

        let created = !self.dir.root().exists();
        let setup = || -> Result<SweepLock> {
            std::fs::create_dir_all(self.dir.root())
                .map_err(|e| Error::io(self.dir.root(), "cannot create sweep folder", e))?;
            let lock = SweepLock::acquire(&self.dir.lock())?;
            let stale = remove_temporaries(self.dir.root());
            if stale > 0 {
                tracing::info!(files = stale, "removed temporary files of a killed sweep");
            }
            atomic_write(&self.dir.experiment(), self.text.as_bytes())?;
            for p in &run_jobs {
                job::mark(&self.dir, p, JobState::Pending, None)?;
            }
            Ok(lock)
        };
        match setup() {
            Ok(lock) => Ok(Prepared {
                lock,
                run_jobs,
                skipped,
                data,
            }),
            Err(e) => {
                if created {
                    let _ = std::fs::remove_dir_all(self.dir.root());
                }
                Err(e)
            }
        }
    }

    /// Run every job that `opts` selects, [`RunOptions::workers`] at a time on its device (the
    /// experiment's unless `opts.device`), in YAML order.
    pub fn run(&self, opts: &RunOptions, sinks: &mut [&mut dyn EventSink]) -> Result<SweepOutcome> {
        let started = Instant::now();
        let workers = opts.workers(self.experiment.train.threads);
        let backend = opts.device.unwrap_or(self.experiment.device);
        let (device, adapter) = backend.open()?;
        let Prepared {
            lock: _lock,
            run_jobs,
            skipped,
            data,
        } = self.prepare(opts, &|_| false)?;
        if let Some(a) = &adapter {
            tracing::info!(adapter = %a.name, driver = %a.driver, api = %a.api, kind = %a.device_type, "GPU adapter");
            let json =
                serde_json::to_vec_pretty(a).map_err(|e| Error::log(&self.dir.adapter(), e))?;
            atomic_write(&self.dir.adapter(), &json)?;
        }

        let emit_all = |sinks: &mut [&mut dyn EventSink], e: SweepEvent| {
            for s in sinks.iter_mut() {
                s.event(&e);
            }
        };
        emit_all(
            sinks,
            SweepEvent::Started {
                name: self.experiment.name.clone(),
                total: self.jobs.len(),
                to_run: run_jobs.len(),
                workers,
            },
        );
        for p in &skipped {
            emit_all(
                sinks,
                SweepEvent::JobSkipped {
                    run_id: p.job.run_id.clone(),
                    state: p.state,
                },
            );
        }

        // Workers are plain threads pulling jobs from a shared counter. Not rayon tasks: a
        // rayon worker that waits on another pool (polars writing parquet, a job's compute
        // pool) steals queued tasks meanwhile, so it would start the next job before it had
        // marked the previous one done, and a kill would lose finished work.
        let (tx, rx) = mpsc::channel::<SweepEvent>();
        let next = AtomicUsize::new(0);
        let interrupted = AtomicUsize::new(0);
        let (dir, data, device, run_jobs, next) = (&self.dir, &data, &device, &run_jobs, &next);
        let interrupted_count = &interrupted;
        std::thread::scope(|scope| {
            for _ in 0..workers.max(1).min(run_jobs.len().max(1)) {
                let tx = tx.clone();
                scope.spawn(move || loop {
                    // After a stop signal no new job starts; the running ones checkpoint.
                    if stop_requested() {
                        break;
                    }
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = run_jobs.get(k) else { break };
                    let set = data[&job.dataset.name].clone();
                    run_job(dir, job, &set, JobEnv::of(device, backend), &mut |e| {
                        if matches!(e, SweepEvent::JobInterrupted { .. }) {
                            interrupted_count.fetch_add(1, Ordering::SeqCst);
                        }
                        let _ = tx.send(e);
                    });
                });
            }
            drop(tx);
            let mut warmup = (backend == BackendKind::Wgpu).then(KernelWarmup::default);
            for event in rx {
                if let Some(w) = warmup.as_mut() {
                    if w.observe(&event) {
                        warmup = None;
                    }
                }
                emit_all(sinks, event);
            }
        });

        let finals = self.plan()?;
        let outcome = SweepOutcome {
            total: finals.len(),
            done: finals.iter().filter(|p| p.state == JobState::Done).count(),
            failed: finals
                .iter()
                .filter(|p| p.state == JobState::Failed)
                .map(|p| (p.job.run_id.clone(), p.reason.clone().unwrap_or_default()))
                .collect(),
            interrupted: interrupted.load(Ordering::SeqCst),
            wall_s: started.elapsed().as_secs_f64(),
        };
        emit_all(sinks, SweepEvent::Finished(outcome.clone()));
        Ok(outcome)
    }

    /// Remove everything weightlab wrote in the folder (`--fresh`). Refuses folders that do
    /// not look like a sweep folder, so a typo in `--out` cannot wipe unrelated files.
    fn wipe(&self) -> Result<()> {
        let root = self.dir.root();
        if !root.exists() {
            return Ok(());
        }
        let is_sweep = self.dir.experiment().is_file()
            || std::fs::read_dir(root)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
        if !is_sweep {
            return Err(Error::input(
                root.display().to_string(),
                "--fresh",
                "refusing to wipe a folder that is not a sweep folder (no experiment.yaml)",
            ));
        }
        let _lock = SweepLock::acquire(&self.dir.lock())?;
        for entry in std::fs::read_dir(root)
            .map_err(|e| Error::io(root, "cannot list", e))?
            .flatten()
        {
            let p = entry.path();
            if p == self.dir.lock() {
                continue;
            }
            let r = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.map_err(|e| Error::io(&p, "cannot remove", e))?;
        }
        Ok(())
    }
}

/// Says how long the GPU spent compiling kernels: the first job's first epoch against its
/// later ones (kernels are compiled on first use and cached for the rest of the process).
#[derive(Debug, Default)]
struct KernelWarmup {
    /// (run id, elapsed seconds at the end of each epoch) of the first job to finish an epoch.
    first: Option<(String, Vec<f64>)>,
}

impl KernelWarmup {
    /// Take one event; true once the note was logged.
    fn observe(&mut self, event: &SweepEvent) -> bool {
        match event {
            SweepEvent::EpochFinished { run_id, metrics } => {
                let (id, times) = self
                    .first
                    .get_or_insert_with(|| (run_id.clone(), Vec::new()));
                if id == run_id {
                    times.push(metrics.elapsed_s);
                }
                false
            }
            SweepEvent::JobFinished { run_id, .. }
                if self.first.as_ref().is_some_and(|(id, _)| id == run_id) =>
            {
                let times = &self.first.as_ref().map(|f| f.1.clone()).unwrap_or_default();
                if times.len() >= 2 {
                    let later = (times[times.len() - 1] - times[0]) / (times.len() - 1) as f64;
                    tracing::info!(
                        run_id = %run_id,
                        first_epoch_s = format!("{:.1}", times[0]),
                        later_epoch_s = format!("{later:.1}"),
                        kernel_compilation_s = format!("{:.1}", (times[0] - later).max(0.0)),
                        "first GPU job: its first epoch includes compiling the kernels, cached for the rest of the sweep"
                    );
                }
                true
            }
            _ => false,
        }
    }
}

/// Run exactly one job of an existing sweep folder (`sweep job DIR --index I`).
pub fn run_single(
    dir: &Path,
    index: usize,
    backend: Option<BackendKind>,
    sinks: &mut [&mut dyn EventSink],
) -> Result<bool> {
    let sweep = Sweep::open(dir)?;
    let job = sweep.jobs.get(index).cloned().ok_or_else(|| {
        Error::input(
            "--index",
            "index",
            format!(
                "the sweep has {} jobs (0..{}); got {index}",
                sweep.jobs.len(),
                sweep.jobs.len()
            ),
        )
    })?;
    let backend = backend.unwrap_or(sweep.experiment.device);
    let device = backend.device()?;
    let data = job.dataset.load()?;
    let mut ok = true;
    run_job(
        &sweep.dir,
        &job,
        &Arc::new(data),
        JobEnv::of(&device, backend),
        &mut |e| {
            if matches!(
                e,
                SweepEvent::JobFailed { .. } | SweepEvent::JobInterrupted { .. }
            ) {
                ok = false;
            }
            for s in sinks.iter_mut() {
                s.event(&e);
            }
        },
    );
    sinks::rebuild_index(&sweep);
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::EpochMetrics;

    fn epoch(run_id: &str, epoch: usize, elapsed_s: f64) -> SweepEvent {
        SweepEvent::EpochFinished {
            run_id: run_id.into(),
            metrics: EpochMetrics {
                epoch,
                raw_w_fv: 0.5,
                raw_w_ex: 0.5,
                w_fv: 0.5,
                w_ex: 0.5,
                loss_fv: 1.0,
                loss_ex: 1.0,
                loss_total: 1.0,
                loss_l3: None,
                fv_acc: 0.5,
                ex_acc: 0.5,
                elapsed_s,
                val_fv_acc: None,
                val_ex_acc: None,
            },
        }
    }

    #[test]
    fn kernel_warmup_follows_the_first_job_to_its_end() {
        let mut w = KernelWarmup::default();
        assert!(!w.observe(&epoch("a", 1, 200.0)));
        assert!(!w.observe(&epoch("b", 1, 150.0)));
        assert!(!w.observe(&epoch("a", 2, 202.0)));
        assert!(!w.observe(&epoch("a", 3, 204.0)));
        let done = |id: &str| SweepEvent::JobFinished {
            run_id: id.into(),
            wall_s: 1.0,
        };
        assert!(!w.observe(&done("b")), "another job's end is not the note");
        assert_eq!(w.first.as_ref().unwrap().1, vec![200.0, 202.0, 204.0]);
        assert!(w.observe(&done("a")));
    }
}
