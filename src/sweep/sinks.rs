//! The sinks of [`SweepEvent`]s: progress bars on a terminal, tracing lines elsewhere, and the
//! run index `runs.parquet`.

use std::collections::HashMap;
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{EventSink, Sweep, SweepEvent};
use crate::runlog::{best_epoch, read_epochs, write_index, IndexRow, JobState, Status};

/// Whether stderr is a terminal (progress bars) or not (tracing lines).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// indicatif bars: one for the sweep (jobs done / total, ETA), one per running job (epoch,
/// step, current w_fv and losses).
pub struct ProgressSink {
    multi: MultiProgress,
    sweep: Option<ProgressBar>,
    jobs: HashMap<String, (ProgressBar, usize)>,
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
            } => {
                let bar = self.multi.add(ProgressBar::new(*total_steps as u64));
                bar.set_style(
                    ProgressStyle::with_template("  {prefix} [{bar:20}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix(run_id.clone());
                self.jobs.insert(run_id.clone(), (bar, *epochs));
            }
            SweepEvent::Step {
                run_id,
                epoch,
                step,
                w_fv,
                loss_fv,
                loss_ex,
            } => {
                if let Some((bar, epochs)) = self.jobs.get(run_id) {
                    bar.set_position(*step as u64);
                    bar.set_message(format!(
                        "epoch {epoch}/{epochs} step {step}  w_fv {w_fv:.3}  L1 {loss_fv:.3}  L2 {loss_ex:.3}"
                    ));
                }
            }
            SweepEvent::JobFinished { run_id, .. } | SweepEvent::JobFailed { run_id, .. } => {
                if let Some((bar, _)) = self.jobs.remove(run_id) {
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
            _ => {}
        }
    }
}

/// Plain `tracing` lines, for logs and non-terminal stderr.
#[derive(Debug, Default)]
pub struct TracingSink;

impl EventSink for TracingSink {
    fn event(&mut self, event: &SweepEvent) {
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
            SweepEvent::JobStarted { run_id, epochs, .. } => {
                tracing::info!(run_id = %run_id, epochs, "job started")
            }
            SweepEvent::Step { .. } => {}
            SweepEvent::EpochFinished { row } => tracing::info!(
                run_id = %row.run_id,
                epoch = row.epoch,
                w_fv = format!("{:.3}", row.w_fv),
                loss_fv = format!("{:.3}", row.loss_fv),
                loss_ex = format!("{:.3}", row.loss_ex),
                fv_acc = format!("{:.3}", row.fv_acc),
                ex_acc = format!("{:.3}", row.ex_acc),
                "epoch finished"
            ),
            SweepEvent::JobFinished { run_id, wall_s } => {
                tracing::info!(run_id = %run_id, wall_s = format!("{wall_s:.1}"), "job done")
            }
            SweepEvent::JobFailed { run_id, reason } => {
                tracing::warn!(run_id = %run_id, reason = %reason, "job failed")
            }
            SweepEvent::Finished {
                done,
                failed,
                wall_s,
            } => tracing::info!(
                done,
                failed = failed.len(),
                wall_s = format!("{wall_s:.1}"),
                "sweep finished"
            ),
        }
    }
}

/// Keeps `runs.parquet` in step with the folder: rebuilt from the files on disk whenever a
/// job changes state, so it is right even when several processes (Slurm tasks) share it.
pub struct IndexSink<'a> {
    sweep: &'a Sweep,
    /// Rows of done jobs: their logs never change, so their parquet files are read once.
    done: HashMap<String, IndexRow>,
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
                | SweepEvent::Finished { .. }
        ) {
            write_rows(self.sweep, &mut self.done);
        }
    }
}

/// The index rows of `sweep`, from its status files and epoch logs.
pub fn index_rows(sweep: &Sweep) -> Vec<IndexRow> {
    index_rows_cached(sweep, &mut HashMap::new())
}

/// [`index_rows`], reusing and filling `done`, the rows of jobs already seen done.
fn index_rows_cached(sweep: &Sweep, done: &mut HashMap<String, IndexRow>) -> Vec<IndexRow> {
    sweep
        .jobs
        .iter()
        .map(|job| {
            let jd = sweep.dir.job(&job.run_id);
            let status = Status::read(&jd.status())
                .ok()
                .flatten()
                .filter(|s| s.config_hash == job.config_hash);
            let mut row = IndexRow {
                run_id: job.run_id.clone(),
                dataset: job.dataset.name.clone(),
                strategy: job.strategy.name().to_string(),
                static_w1: job.strategy.static_w1(),
                seed: job.seed as i64,
                status: status
                    .as_ref()
                    .map_or(JobState::Pending, |s| s.state)
                    .as_str()
                    .to_string(),
                reason: status.as_ref().and_then(|s| s.reason.clone()),
                wall_s: status.as_ref().and_then(|s| s.wall_s),
                ..IndexRow::default()
            };
            if row.status == "done" {
                if let Some(cached) = done.get(&job.run_id) {
                    return cached.clone();
                }
                if let Ok(epochs) = read_epochs(&jd.epochs()) {
                    if let Some(last) = epochs.last() {
                        row.epochs = Some(last.epoch);
                        row.final_fv_acc = Some(last.fv_acc);
                        row.final_ex_acc = Some(last.ex_acc);
                    }
                    row.best_fv_acc = epochs.iter().map(|r| r.fv_acc).reduce(f64::max);
                    row.best_ex_acc = epochs.iter().map(|r| r.ex_acc).reduce(f64::max);
                    row.best_epoch = best_epoch(&epochs);
                    if !epochs.is_empty() {
                        row.mean_w_fv =
                            Some(epochs.iter().map(|r| r.w_fv).sum::<f64>() / epochs.len() as f64);
                    }
                }
                done.insert(job.run_id.clone(), row.clone());
            }
            row
        })
        .collect()
}

/// Rewrite `runs.parquet` of `sweep` from disk; problems are logged, never fatal.
pub fn rebuild_index(sweep: &Sweep) {
    write_rows(sweep, &mut HashMap::new());
}

fn write_rows(sweep: &Sweep, done: &mut HashMap<String, IndexRow>) {
    if !sweep.dir.root().exists() {
        return;
    }
    if let Err(e) = write_index(&sweep.dir.index(), &index_rows_cached(sweep, done)) {
        tracing::error!(error = %e, "cannot update the run index");
    }
}
