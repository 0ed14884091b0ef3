//! [`Sweep`]: a study's jobs in one folder, run in parallel, resumable, failure-isolated.
//!
//! The runner never prints. It emits [`SweepEvent`]s; the sinks in [`sinks`] render them
//! (progress bars or tracing lines) and record them (the run index).

mod events;
mod job;
mod lock;
mod process;
pub mod sinks;
pub mod slurm;
pub mod tables;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use crate::config::{self, BackendKind, Experiment, Job};
use crate::data::{FaceSet, Split};
use crate::error::{Error, Result};
use crate::files::{atomic_write, remove_temporaries};
use crate::runlog::{JobState, RunDir};
use crate::train::Parts;
pub use events::{EventSink, SweepEvent, SweepOutcome};
pub use job::{progress, run_job, JobEnv, Progress};
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
    /// Raised to stop: running jobs finish their step, write a checkpoint and are left
    /// pending; no new job starts.
    pub stop: StopSignal,
    /// Run only the jobs with these run ids (a sequential study's round); `None`: every job.
    pub only: Option<std::collections::BTreeSet<String>>,
}

/// A stop request, shared between whoever raises it (a signal handler, a test) and the jobs
/// that watch it.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// Ask to stop.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The flag itself, for a signal handler (storing to an atomic is async-signal-safe) and
    /// for the training loop.
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// Two signals are equal when they are the same signal.
impl PartialEq for StopSignal {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
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

impl PlannedJob {
    /// How `--dry-run` names the job's state: `new` for a job that will train (pending, or
    /// left running by a killed sweep), else its state.
    pub fn plan_label(&self) -> &'static str {
        match self.state {
            JobState::Pending | JobState::Running => "new",
            state => state.as_str(),
        }
    }

    /// How far the job got, when it is not done (see [`Progress`]).
    pub fn progress(&self, dir: &RunDir) -> Option<Progress> {
        (self.state != JobState::Done)
            .then(|| progress(&dir.job(&self.job.run_id), &self.job))
            .flatten()
    }
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
    /// The parts its jobs are built from.
    parts: Parts,
}

/// Number of cores, as the default for `--jobs`.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Sweep {
    /// Load the experiment at `path`, with built-in parts only; the folder is `out` or
    /// `runs/<name>`.
    pub fn load(path: &Path, out: Option<PathBuf>) -> Result<Self> {
        Self::load_with_parts(path, out, &[], Parts::new())
    }

    /// Load the experiment at `path` with command-line `overrides` applied (see
    /// [`config::Override`]), with built-in parts only; the folder keeps the overridden
    /// experiment, so that it alone says what ran.
    pub fn with_overrides(path: &Path, out: Option<PathBuf>, overrides: &[String]) -> Result<Self> {
        Self::load_with_parts(path, out, overrides, Parts::new())
    }

    /// Load the experiment at `path` with `overrides`, able to run the trunks, strategies and
    /// data sources that `parts` registers. A registered part the experiment names but
    /// `parts` lacks, or settings its builder refuses, are bad input.
    pub fn load_with_parts(
        path: &Path,
        out: Option<PathBuf>,
        overrides: &[String],
        parts: Parts,
    ) -> Result<Self> {
        let sweep = Self::read(path, out, overrides, parts)?;
        sweep.check_parts(&path.display().to_string())?;
        Ok(sweep)
    }

    fn read(path: &Path, out: Option<PathBuf>, overrides: &[String], parts: Parts) -> Result<Self> {
        let (experiment, text) = config::load_with_overrides(path, overrides)?;
        let dir = RunDir::new(out.unwrap_or_else(|| PathBuf::from("runs").join(&experiment.name)));
        let jobs = config::expand(&experiment)?;
        Ok(Self {
            experiment,
            text,
            dir,
            jobs,
            parts,
        })
    }

    /// Whether this sweep's parts can build every job, as an input error on `file`.
    fn check_parts(&self, file: &str) -> Result<()> {
        self.parts
            .check(&self.jobs)
            .map_err(|e| Error::input(file.to_string(), e.field, e.message))
    }

    /// Open an existing sweep folder through its copy of the experiment, to read it (status,
    /// plans). Running its jobs needs the parts it names: a folder of registered parts runs
    /// from [`Sweep::load_with_parts`].
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
        Self::read(&exp, Some(dir.to_path_buf()), &[], Parts::new())
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
                    Some(s) if job.owns(&s.config_hash) => PlannedJob {
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

    /// Load every dataset that `jobs` need, once each (none for a process trainer's jobs, which
    /// read their own).
    fn load_datasets(&self, jobs: &[Job]) -> Result<HashMap<String, Arc<(FaceSet, Split)>>> {
        let mut data = HashMap::new();
        for job in jobs.iter().filter(|j| j.trainer.is_none()) {
            if !data.contains_key(&job.dataset.name) {
                tracing::info!(dataset = %job.dataset.name, "loading dataset");
                let loaded = self.parts.load(&job.dataset)?;
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
        Ok(plan.into_iter().partition(|p| {
            !busy(&p.job)
                && opts.selects(p.state)
                && opts
                    .only
                    .as_ref()
                    .is_none_or(|only| only.contains(&p.job.run_id))
        }))
    }

    /// Ready the folder for a run: wipe it with `fresh`, pick the jobs to run (see
    /// [`Sweep::select`]), load their datasets (bad data is bad input, found before anything is
    /// written), then create the folder, take its lock, copy the experiment and mark the jobs
    /// pending. Setting up either succeeds or leaves nothing behind that this call made.
    pub fn prepare(&self, opts: &RunOptions, busy: &dyn Fn(&Job) -> bool) -> Result<Prepared> {
        self.check_parts(&self.dir.experiment().display().to_string())?;
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
    /// experiment's unless `opts.device`), in YAML order. `sinks` render the events; the run
    /// index (`runs.parquet`) and, on a GPU, the kernel-compilation note are kept here.
    pub fn run(&self, opts: &RunOptions, sinks: &mut [&mut dyn EventSink]) -> Result<SweepOutcome> {
        let started = Instant::now();
        let threads = self.experiment.train.threads;
        let workers = opts.workers(threads);
        if workers * threads > cores() {
            tracing::warn!(
                jobs = workers,
                threads,
                cores = cores(),
                "jobs × threads exceeds the cores; jobs will compete for them"
            );
        }
        let backend = opts.device.unwrap_or(self.experiment.device);
        let (device, adapter) = backend.open()?;
        let Prepared {
            lock: _lock,
            run_jobs,
            skipped,
            data,
        } = self.prepare(opts, &|_| false)?;
        let mut index = sinks::IndexSink::new(self);
        let mut warmup = sinks::GpuWarmupSink::default();
        let emit_all = |sinks: &mut [&mut dyn EventSink], e: SweepEvent| {
            index.event(&e);
            if backend == BackendKind::Wgpu {
                warmup.event(&e);
            }
            for s in sinks.iter_mut() {
                s.event(&e);
            }
        };
        let mut emit_all = emit_all;
        if let Some(a) = &adapter {
            let json =
                serde_json::to_vec_pretty(a).map_err(|e| Error::log(&self.dir.adapter(), e))?;
            atomic_write(&self.dir.adapter(), &json)?;
            emit_all(sinks, SweepEvent::Adapter(a.clone()));
        }
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
        let parts = &self.parts;
        let stop = &opts.stop;
        let interrupted_count = &interrupted;
        std::thread::scope(|scope| {
            for _ in 0..workers.max(1).min(run_jobs.len().max(1)) {
                let tx = tx.clone();
                scope.spawn(move || loop {
                    // After a stop signal no new job starts; the running ones checkpoint.
                    if stop.raised() {
                        break;
                    }
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = run_jobs.get(k) else { break };
                    let set = data.get(&job.dataset.name).cloned();
                    run_job(
                        dir,
                        job,
                        set.as_ref(),
                        JobEnv::of(device, backend, stop, parts),
                        &mut |e| {
                            if matches!(e, SweepEvent::JobInterrupted { .. }) {
                                interrupted_count.fetch_add(1, Ordering::SeqCst);
                            }
                            let _ = tx.send(e);
                        },
                    );
                });
            }
            drop(tx);
            for event in rx {
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

/// Run exactly one job of an existing sweep folder (`sweep job DIR --index I`).
pub fn run_single(
    dir: &Path,
    index: usize,
    backend: Option<BackendKind>,
    stop: &StopSignal,
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
    sweep.check_parts(&sweep.dir.experiment().display().to_string())?;
    let backend = backend.unwrap_or(sweep.experiment.device);
    let device = backend.device()?;
    let data = match job.trainer {
        Some(_) => None,
        None => Some(Arc::new(sweep.parts.load(&job.dataset)?)),
    };
    let mut ok = true;
    run_job(
        &sweep.dir,
        &job,
        data.as_ref(),
        JobEnv::of(&device, backend, stop, &sweep.parts),
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
