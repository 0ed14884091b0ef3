//! The sinks of [`SweepEvent`]s: progress bars on a terminal, tracing lines elsewhere, and the
//! run index `runs.parquet`.

use std::collections::HashMap;
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{EventSink, Sweep, SweepEvent};
use crate::error::Result;
use crate::runlog::{IndexRow, JobState, JobSummary};

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
                ..
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
            SweepEvent::Step { run_id, metrics: m } => {
                if let Some((bar, epochs)) = self.jobs.get(run_id) {
                    bar.set_position(m.step as u64);
                    bar.set_message(format!(
                        "epoch {}/{epochs} step {}  w_fv {:.3}  L1 {:.3}  L2 {:.3}",
                        m.epoch, m.step, m.w_fv, m.loss_fv, m.loss_ex
                    ));
                }
            }
            SweepEvent::JobFinished { run_id, .. }
            | SweepEvent::JobFailed { run_id, .. }
            | SweepEvent::JobInterrupted { run_id, .. } => {
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
            SweepEvent::EpochFinished { run_id, metrics: m } => tracing::info!(
                run_id = %run_id,
                epoch = m.epoch,
                w_fv = format!("{:.3}", m.w_fv),
                loss_fv = format!("{:.3}", m.loss_fv),
                loss_ex = format!("{:.3}", m.loss_ex),
                fv_acc = format!("{:.3}", m.fv_acc),
                ex_acc = format!("{:.3}", m.ex_acc),
                "epoch finished"
            ),
            SweepEvent::JobFinished { run_id, wall_s } => {
                tracing::info!(run_id = %run_id, wall_s = format!("{wall_s:.1}"), "job done")
            }
            SweepEvent::JobFailed { run_id, reason } => {
                tracing::warn!(run_id = %run_id, reason = %reason, "job failed")
            }
            SweepEvent::Finished(o) => tracing::info!(
                done = o.done,
                failed = o.failed.len(),
                wall_s = format!("{:.1}", o.wall_s),
                "sweep finished"
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
                    Some(s) => Some(*s),
                    None => {
                        let s = sweep.dir.job(&p.job.run_id).summary().ok().flatten()?;
                        done.insert(p.job.run_id.clone(), s);
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
    if let Err(e) = index_rows(sweep, done).and_then(|rows| sweep.dir.write_index(&rows)) {
        tracing::error!(error = %e, "cannot update the run index");
    }
}
