//! The sweep's plan and state as text tables: what `sweep run --dry-run` and `sweep status`
//! print.

use std::collections::BTreeMap;

use super::{PlannedJob, Sweep};
use crate::runlog::JobState;
use crate::strategy::format_w1;

/// The static weights of a planned job as the table shows them: `0.3` (its w1) with two tasks,
/// `0.2/0.3/0.5` with more, `-` for a dynamic strategy.
fn weights(p: &PlannedJob) -> String {
    match p.job.strategy.static_weights() {
        Some(w) if w.len() == 2 => format_w1(w[0]),
        Some(w) => w
            .iter()
            .map(|x| format_w1(*x))
            .collect::<Vec<_>>()
            .join("/"),
        None => "-".to_string(),
    }
}

/// One line per job of `plan` (index, run id, dataset, strategy, static weights, seed, what a
/// run would do), then the count, the parallel workers and the folder of `sweep`.
pub fn plan_table(sweep: &Sweep, plan: &[PlannedJob], workers: usize) -> String {
    let head = if sweep.experiment.tasks.len() == 2 {
        "w1".to_string()
    } else {
        "weights".to_string()
    };
    let mut s = format!(
        "{:<5} {:<44} {:<10} {:<8} {:>5} {:>6}  state\n",
        "index", "run_id", "dataset", "strategy", head, "seed"
    );
    for p in plan {
        s.push_str(&format!(
            "{:<5} {:<44} {:<10} {:<8} {:>5} {:>6}  {}\n",
            p.job.index,
            p.job.run_id,
            p.job.dataset.name,
            p.job.strategy.name(),
            weights(p),
            p.job.seed,
            p.plan_label()
        ));
    }
    s.push_str(&format!(
        "{} jobs, {} parallel, folder {}\n",
        plan.len(),
        workers,
        sweep.dir.root().display()
    ));
    s
}

/// The counts by state, then one line per job of `plan`: its state, run id, progress of an
/// unfinished job, its Slurm task's state (`slurm`, by job index) and why it failed.
pub fn status_table(sweep: &Sweep, plan: &[PlannedJob], slurm: &BTreeMap<usize, String>) -> String {
    let count = |s: JobState| plan.iter().filter(|p| p.state == s).count();
    let mut s = format!(
        "{}: {} jobs — {} done, {} failed, {} running, {} pending\n",
        sweep.experiment.name,
        plan.len(),
        count(JobState::Done),
        count(JobState::Failed),
        count(JobState::Running),
        count(JobState::Pending)
    );
    for p in plan {
        let reason = p
            .reason
            .as_deref()
            .map(|r| format!("  ({r})"))
            .unwrap_or_default();
        let task = slurm
            .get(&p.job.index)
            .map(|s| format!("  slurm {s}"))
            .unwrap_or_default();
        let progress = p
            .progress(&sweep.dir)
            .map(|g| format!("  {g}"))
            .unwrap_or_default();
        s.push_str(&format!(
            "{:>4}  {:<8} {}{progress}{task}{reason}\n",
            p.job.index,
            p.state.as_str(),
            p.job.run_id
        ));
    }
    s
}
