//! The sinks of [`SweepEvent`]s: progress bars on a terminal, tracing lines elsewhere (one of
//! them is [`for_stderr`]), and those [`Sweep::run`] keeps itself: the run index
//! `runs.parquet` and the GPU's kernel-compilation note.

use std::collections::HashMap;
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{EventSink, Sweep, SweepEvent};
use crate::error::Result;
use crate::metrics::per_task_text;
use crate::runlog::{IndexRow, JobState, JobSummary};
use crate::task::Tasks;

/// Whether stderr is a terminal (progress bars) or not (tracing lines).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// What a person or a log file on stderr reads: progress bars on a terminal, plain tracing
/// lines otherwise.
pub fn for_stderr() -> Box<dyn EventSink> {
    if stderr_is_terminal() {
        Box::new(ProgressSink::new())
    } else {
        Box::new(TracingSink::default())
    }
}

/// indicatif bars: one for the sweep (jobs done / total, ETA), one per running job (epoch,
/// step, current weights and losses).
pub struct ProgressSink {
    multi: MultiProgress,
    sweep: Option<ProgressBar>,
    jobs: HashMap<String, (ProgressBar, usize, Tasks)>,
}

impl Default for ProgressSink {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressSink {
    /// Bars drawn on stderr.
    pub fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            sweep: None,
            jobs: HashMap::new(),
        }
    }
}

impl EventSink for ProgressSink {
    fn event(&mut self, event: &SweepEvent) {
        match event {
            SweepEvent::Started { name, to_run, .. } => {
                let bar = self.multi.add(ProgressBar::new(*to_run as u64));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:.bold} [{bar:30}] {pos}/{len} jobs  {elapsed} (ETA {eta})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(name.clone());
                self.sweep = Some(bar);
            }
            SweepEvent::JobStarted {
                run_id,
                epochs,
                total_steps,
                tasks,
                ..
            } => {
                let bar = self.multi.add(ProgressBar::new(*total_steps as u64));
                bar.set_style(
                    ProgressStyle::with_template("  {prefix} [{bar:20}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix(run_id.clone());
                self.jobs
                    .insert(run_id.clone(), (bar, *epochs, tasks.clone()));
            }
            SweepEvent::Step { run_id, metrics: m } => {
                if let Some((bar, epochs, tasks)) = self.jobs.get(run_id) {
                    bar.set_position(m.step as u64);
                    bar.set_message(format!(
                        "epoch {}/{epochs} step {}  w {}  L {}",
                        m.epoch,
                        m.step,
                        per_task_text(&m.w, tasks),
                        per_task_text(&m.loss, tasks)
                    ));
                }
            }
            SweepEvent::JobFinished { run_id, .. }
            | SweepEvent::JobFailed { run_id, .. }
            | SweepEvent::JobInterrupted { run_id, .. } => {
                if let Some((bar, _, _)) = self.jobs.remove(run_id) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if let SweepEvent::JobFailed { reason, .. } = event {
                    let _ = self.multi.println(format!("failed: {run_id}: {reason}"));
                }
                if let Some(bar) = &self.sweep {
                    bar.inc(1);
                }
            }
            SweepEvent::Finished { .. } => {
                if let Some(bar) = &self.sweep {
                    bar.finish();
                }
            }
            SweepEvent::Adapter(a) => {
                let _ = self.multi.println(format!(
                    "GPU adapter: {} ({}, {}, {})",
                    a.name, a.driver, a.api, a.device_type
                ));
            }
            _ => {}
        }
    }
}

/// Plain `tracing` lines, for logs and non-terminal stderr.
#[derive(Debug, Default)]
pub struct TracingSink {
    /// The tasks of each running job, which name its per-task values.
    tasks: HashMap<String, Tasks>,
}

impl EventSink for TracingSink {
    fn event(&mut self, event: &SweepEvent) {
        if let SweepEvent::JobStarted { run_id, tasks, .. } = event {
            self.tasks.insert(run_id.clone(), tasks.clone());
        }
        match event {
            SweepEvent::Started {
                name,
                total,
                to_run,
                workers,
            } => {
                tracing::info!(sweep = %name, total, to_run, workers, "sweep started")
            }
            SweepEvent::JobSkipped { run_id, state } => {
                tracing::debug!(run_id = %run_id, state = state.as_str(), "job skipped")
            }
            SweepEvent::JobStarted {
                run_id,
                epochs,
                resumed_at: None,
                ..
            } => tracing::info!(run_id = %run_id, epochs, "job started"),
            SweepEvent::JobStarted {
                run_id,
                epochs,
                resumed_at: Some((done, step)),
                ..
            } => tracing::info!(
                run_id = %run_id,
                epochs,
                from_epoch = done + 1,
                after_step = step,
                "job resumed from its checkpoint"
            ),
            SweepEvent::JobInterrupted { run_id, reason } => {
                tracing::warn!(run_id = %run_id, reason = %reason, "job stopped; checkpoint written")
            }
            SweepEvent::Step { run_id, metrics: m } => {
                tracing::trace!(run_id = %run_id, epoch = m.epoch, step = m.step, "step")
            }
            SweepEvent::EpochFinished { run_id, metrics: m } => {
                let default = Tasks::default();
                let tasks = self.tasks.get(run_id).unwrap_or(&default);
                let metrics: Vec<String> = tasks
                    .iter()
                    .zip(&m.test)
                    .map(|(t, v)| format!("{} {v:.3}", t.metric_column()))
                    .collect();
                tracing::info!(
                    run_id = %run_id,
                    epoch = m.epoch,
                    w = per_task_text(&m.w, tasks),
                    loss = per_task_text(&m.loss, tasks),
                    test = metrics.join(" "),
                    "epoch finished"
                )
            }
            SweepEvent::JobFinished { run_id, wall_s } => {
                self.tasks.remove(run_id);
                tracing::info!(run_id = %run_id, wall_s = format!("{wall_s:.1}"), "job done")
            }
            SweepEvent::JobFailed { run_id, reason } => {
                self.tasks.remove(run_id);
                tracing::warn!(run_id = %run_id, reason = %reason, "job failed")
            }
            SweepEvent::Finished(o) => tracing::info!(
                done = o.done,
                failed = o.failed.len(),
                wall_s = format!("{:.1}", o.wall_s),
                "sweep finished"
            ),
            SweepEvent::Adapter(a) => tracing::info!(
                adapter = %a.name,
                driver = %a.driver,
                api = %a.api,
                kind = %a.device_type,
                "GPU adapter"
            ),
        }
    }
}

/// Keeps `runs.parquet` in step with the folder: rebuilt from the files on disk whenever a
/// job changes state, so it is right even when several processes (Slurm tasks) share it.
pub struct IndexSink<'a> {
    sweep: &'a Sweep,
    /// Summaries of done jobs: their logs never change, so their parquet files are read once.
    done: HashMap<String, JobSummary>,
}

impl<'a> IndexSink<'a> {
    /// The index of `sweep`.
    pub fn new(sweep: &'a Sweep) -> Self {
        Self {
            sweep,
            done: HashMap::new(),
        }
    }
}

impl EventSink for IndexSink<'_> {
    fn event(&mut self, event: &SweepEvent) {
        if matches!(
            event,
            SweepEvent::Started { .. }
                | SweepEvent::JobStarted { .. }
                | SweepEvent::JobFinished { .. }
                | SweepEvent::JobFailed { .. }
                | SweepEvent::JobInterrupted { .. }
                | SweepEvent::Finished(_)
        ) {
            write_index(self.sweep, &mut self.done);
        }
    }
}

/// The index rows of `sweep`: its plan, with the summary of each done job's epoch log
/// (taken from `done`, or read and added to it).
fn index_rows(sweep: &Sweep, done: &mut HashMap<String, JobSummary>) -> Result<Vec<IndexRow>> {
    Ok(sweep
        .plan()?
        .iter()
        .map(|p| {
            let summary = (p.state == JobState::Done)
                .then(|| match done.get(&p.job.run_id) {
                    Some(s) => Some(s.clone()),
                    None => {
                        let jd = sweep.dir.job(&p.job.run_id);
                        let s = jd.summary(&p.job.tasks).ok().flatten()?;
                        done.insert(p.job.run_id.clone(), s.clone());
                        Some(s)
                    }
                })
                .flatten();
            IndexRow::new(
                &p.job,
                p.state,
                p.reason.as_deref(),
                p.wall_s,
                summary.as_ref(),
            )
        })
        .collect())
}

/// Rewrite `runs.parquet` of `sweep` from disk; problems are logged, never fatal.
pub fn rebuild_index(sweep: &Sweep) {
    write_index(sweep, &mut HashMap::new());
}

fn write_index(sweep: &Sweep, done: &mut HashMap<String, JobSummary>) {
    if !sweep.dir.root().exists() {
        return;
    }
    let tasks = &sweep.experiment.tasks;
    if let Err(e) = index_rows(sweep, done).and_then(|rows| sweep.dir.write_index(&rows, tasks)) {
        tracing::error!(error = %e, "cannot update the run index");
    }
}

/// GPU diagnostics: how long the GPU spent compiling kernels, from the first job's first epoch
/// against its later ones (kernels are compiled on first use and cached for the rest of the
/// process), logged once when that job ends. [`Sweep::run`] attaches it on wgpu.
#[derive(Debug, Default)]
pub struct GpuWarmupSink {
    /// (run id, elapsed seconds at the end of each epoch) of the first job to finish an epoch.
    first: Option<(String, Vec<f64>)>,
    /// The note was logged.
    noted: bool,
}

impl EventSink for GpuWarmupSink {
    fn event(&mut self, event: &SweepEvent) {
        if !self.noted && self.observe(event) {
            self.noted = true;
        }
    }
}

impl GpuWarmupSink {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::EpochMetrics;

    fn epoch(run_id: &str, epoch: usize, elapsed_s: f64) -> SweepEvent {
        SweepEvent::EpochFinished {
            run_id: run_id.into(),
            metrics: EpochMetrics {
                epoch,
                raw_w: vec![0.5, 0.5],
                w: vec![0.5, 0.5],
                loss: vec![1.0, 1.0],
                loss_total: 1.0,
                loss_l3: None,
                test: vec![0.5, 0.5],
                elapsed_s,
                val: None,
            },
        }
    }

    #[test]
    fn kernel_warmup_follows_the_first_job_to_its_end() {
        let mut w = GpuWarmupSink::default();
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

    /// What `sinks` print for `events` through tracing, without times or colours.
    fn printed(sinks: &mut [&mut dyn EventSink], events: &[SweepEvent]) -> String {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || out.clone())
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for e in events {
                for s in sinks.iter_mut() {
                    s.event(e);
                }
            }
        });
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_tracing_sink_prints_one_line_per_event() {
        let events = [
            SweepEvent::Started {
                name: "s".into(),
                total: 3,
                to_run: 2,
                workers: 2,
            },
            SweepEvent::JobSkipped {
                run_id: "a".into(),
                state: JobState::Done,
            },
            SweepEvent::JobStarted {
                run_id: "b".into(),
                epochs: 2,
                total_steps: 10,
                resumed_at: Some((1, 5)),
                tasks: Tasks::default(),
            },
            epoch("b", 2, 3.0),
            SweepEvent::JobFinished {
                run_id: "b".into(),
                wall_s: 4.25,
            },
            SweepEvent::JobFailed {
                run_id: "c".into(),
                reason: "non-finite loss_fv at epoch 1, step 3".into(),
            },
            SweepEvent::Finished(super::super::SweepOutcome {
                total: 3,
                done: 2,
                failed: vec![("c".into(), "x".into())],
                interrupted: 0,
                wall_s: 9.0,
            }),
        ];
        let text = printed(&mut [&mut TracingSink::default()], &events);
        let want = " INFO sweep started sweep=s total=3 to_run=2 workers=2
DEBUG job skipped run_id=a state=\"done\"
 INFO job resumed from its checkpoint run_id=b epochs=2 from_epoch=2 after_step=5
 INFO epoch finished run_id=b epoch=2 w=\"fv 0.500 ex 0.500\" loss=\"fv 1.000 ex 1.000\" test=\"fv_acc 0.500 ex_acc 0.500\"
 INFO job done run_id=b wall_s=\"4.2\"
 WARN job failed run_id=c reason=non-finite loss_fv at epoch 1, step 3
 INFO sweep finished done=2 failed=1 wall_s=\"9.0\"
";
        assert_eq!(text, want, "\n{text}");
    }

    #[test]
    fn the_gpu_warmup_sink_prints_its_note_once() {
        let done = |id: &str| SweepEvent::JobFinished {
            run_id: id.into(),
            wall_s: 1.0,
        };
        let events = [
            epoch("a", 1, 150.0),
            epoch("a", 2, 152.0),
            epoch("a", 3, 154.0),
            done("a"),
            epoch("b", 1, 3.0),
            done("b"),
        ];
        let text = printed(&mut [&mut GpuWarmupSink::default()], &events);
        let want =
            " INFO first GPU job: its first epoch includes compiling the kernels, cached for \
the rest of the sweep run_id=a first_epoch_s=\"150.0\" later_epoch_s=\"2.0\" \
kernel_compilation_s=\"148.0\"\n";
        assert_eq!(text, want, "\n{text}");
    }
}
