//! A sequential study (`sequential:` in the experiment; docs/sequential.md): rounds of the
//! sweep, each followed by a look at the logs. After a look every point is better, worse,
//! equivalent within the margin, or open; decided points get no more seeds, open ones (and the
//! reference, up to the largest seed count an open point needs) the next round's. The state is
//! the folder's logs alone, so a stopped study resumes where it was, and the Slurm executor
//! submits one round as one array.
//!
//! This sits above the pipeline: it runs [`crate::sweep`] and reads [`crate::report`] between
//! rounds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::SequentialConfig;
use crate::error::{Error, Result};
use crate::report::compare::delta_p;
use crate::report::sequential::{assess, next_round, DatasetState, SeedValue};
use crate::report::{Metric, SweepLogs};
use crate::runlog::JobState;
use crate::sweep::{EventSink, RunOptions, Sweep, SweepOutcome};

/// Where a sequential study stands: the jobs its next round needs and every dataset's state.
#[derive(Debug, Clone)]
pub struct Round {
    /// Run ids the next look needs that are not done (empty: the study is over).
    pub needed: BTreeSet<String>,
    /// Jobs done so far.
    pub done: usize,
    /// Jobs failed so far (their seeds are left out and replaced by the next ones).
    pub failed: usize,
    /// The summed wall seconds of the jobs done or failed so far (those that logged one).
    pub job_seconds: f64,
    /// How many jobs `job_seconds` sums.
    pub timed: usize,
    /// Every dataset's points and verdicts after the looks taken.
    pub states: Vec<DatasetState>,
}

impl Round {
    /// How the points stand, e.g. `synth: 3 better, 1 worse, 0 equivalent, 9 open after 2 looks`.
    pub fn summary(&self) -> String {
        self.states
            .iter()
            .map(|s| {
                let count = |d: weightlab_stats::Decision| {
                    s.assessment
                        .points
                        .iter()
                        .filter(|p| p.decision() == d)
                        .count()
                };
                format!(
                    "{}: {} better, {} worse, {} equivalent, {} open after {} look(s)",
                    s.dataset,
                    count(weightlab_stats::Decision::Better),
                    count(weightlab_stats::Decision::Worse),
                    count(weightlab_stats::Decision::Equivalent),
                    count(weightlab_stats::Decision::Open),
                    s.assessment.looks_done
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Round {
    /// The study's line under `sweep status`: how the points stand and what is left to run.
    pub fn status(&self) -> String {
        let next = if self.needed.is_empty() {
            "the study is over: its pending jobs are not needed".to_string()
        } else {
            format!("the next round needs {} job(s)", self.needed.len())
        };
        format!("sequential: {}; {next}", self.summary())
    }
}

/// The study's design (an input error when the experiment has none).
fn design(sweep: &Sweep) -> Result<&SequentialConfig> {
    sweep.experiment.sequential.as_ref().ok_or_else(|| {
        Error::input(
            sweep.dir.experiment().display().to_string(),
            "sequential",
            "the experiment has no `sequential:` design",
        )
    })
}

/// Where the study in `sweep`'s folder stands, from its jobs' states and logs.
pub fn round(sweep: &Sweep) -> Result<Round> {
    let seq = design(sweep)?;
    let tasks = &sweep.experiment.tasks;
    let names = tasks.names();
    let plan = sweep.plan()?;
    // (dataset, label, seed) → (state, run id).
    let mut jobs: HashMap<(String, String, u64), (JobState, String)> = HashMap::new();
    let mut labels: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &plan {
        let label = p.job.strategy.label(&names);
        let mine = labels.entry(p.job.dataset.name.clone()).or_default();
        if !mine.contains(&label) {
            mine.push(label.clone());
        }
        jobs.insert(
            (p.job.dataset.name.clone(), label, p.job.seed),
            (p.state, p.job.run_id.clone()),
        );
    }
    let done = plan.iter().filter(|p| p.state == JobState::Done).count();
    let failed = plan.iter().filter(|p| p.state == JobState::Failed).count();
    let walls: Vec<f64> = plan
        .iter()
        .filter(|p| matches!(p.state, JobState::Done | JobState::Failed))
        .filter_map(|p| p.wall_s)
        .collect();
    let logs = if done > 0 {
        Some(SweepLogs::load(sweep.dir.root())?)
    } else {
        None
    };
    let metrics = logs.as_ref().map_or_else(BTreeMap::new, |l| {
        crate::report::sequential::metrics_by_seed(l, l.effective(Metric::Selected))
    });
    let reference = seq
        .reference
        .clone()
        .unwrap_or_else(|| crate::strategy::default_baseline(tasks.len()));
    let state = |d: &str, l: &str, s: u64| {
        jobs.get(&(d.to_string(), l.to_string(), s))
            .map_or(JobState::Pending, |j| j.0)
    };
    let value = |d: &str, l: &str, s: u64| match (state(d, l, s), state(d, &reference, s)) {
        (JobState::Done, JobState::Done) => {
            let m = metrics.get(&(d.to_string(), l.to_string(), s));
            let r = metrics.get(&(d.to_string(), reference.clone(), s));
            match (m, r) {
                (Some(m), Some(r)) => SeedValue::Value(delta_p(m, r, tasks)),
                _ => SeedValue::Skip,
            }
        }
        (JobState::Failed, _) | (_, JobState::Failed) => SeedValue::Skip,
        _ => SeedValue::Stop,
    };
    let seeds = &sweep.experiment.seeds;
    let states = assess(seq, seeds, &reference, &labels, &value)?;
    let mut needed = BTreeSet::new();
    for s in &states {
        let skipped = |l: &str, seed: u64| {
            state(&s.dataset, l, seed) == JobState::Failed
                || state(&s.dataset, &reference, seed) == JobState::Failed
        };
        for (label, want) in next_round(s, seeds, &skipped) {
            for seed in want {
                if let Some((st, id)) = jobs.get(&(s.dataset.clone(), label.clone(), seed)) {
                    if *st != JobState::Done && *st != JobState::Failed {
                        needed.insert(id.clone());
                    }
                }
            }
        }
    }
    Ok(Round {
        needed,
        done,
        failed,
        job_seconds: walls.iter().sum(),
        timed: walls.len(),
        states,
    })
}

/// Which limit of `budget` the next round of `r` would pass, if any.
fn over_budget(budget: &crate::config::Budget, r: &Round) -> Option<String> {
    let spent = r.done + r.failed;
    if let Some(jobs) = budget.jobs {
        if spent + r.needed.len() > jobs {
            return Some(format!("{jobs} jobs"));
        }
    }
    if let (Some(hours), true) = (budget.hours, r.timed > 0) {
        let mean = r.job_seconds / r.timed as f64;
        let after = (r.job_seconds + mean * r.needed.len() as f64) / 3600.0;
        if after > hours {
            return Some(format!(
                "{hours} job-hours; the round would end near {after:.2}"
            ));
        }
    }
    None
}

/// Run the sequential study of `sweep`: round after round until every point is decided or
/// past its last look, the budget would be passed, or `opts.stop` is raised.
pub fn run(
    sweep: &Sweep,
    opts: &RunOptions,
    sinks: &mut [&mut dyn EventSink],
) -> Result<SweepOutcome> {
    let seq = design(sweep)?;
    let started = std::time::Instant::now();
    let mut last = SweepOutcome::default();
    loop {
        let r = round(sweep)?;
        if r.needed.is_empty() {
            tracing::info!(summary = %r.summary(), "sequential study finished");
            break;
        }
        if let Some(why) = seq.budget.as_ref().and_then(|b| over_budget(b, &r)) {
            tracing::warn!(
                spent_jobs = r.done + r.failed,
                spent_job_hours = format!("{:.2}", r.job_seconds / 3600.0),
                next_round = r.needed.len(),
                summary = %r.summary(),
                "the next round would pass the budget ({why}): the open points stay open"
            );
            break;
        }
        tracing::info!(jobs = r.needed.len(), summary = %r.summary(), "sequential round");
        let round_opts = RunOptions {
            only: Some(r.needed.clone()),
            ..opts.clone()
        };
        last = sweep.run(&round_opts, sinks)?;
        if opts.stop.raised() {
            return Ok(last);
        }
    }
    let plan = sweep.plan()?;
    Ok(SweepOutcome {
        total: plan
            .iter()
            .filter(|p| matches!(p.state, JobState::Done | JobState::Failed))
            .count(),
        done: plan.iter().filter(|p| p.state == JobState::Done).count(),
        failed: plan
            .iter()
            .filter(|p| p.state == JobState::Failed)
            .map(|p| (p.job.run_id.clone(), p.reason.clone().unwrap_or_default()))
            .collect(),
        interrupted: last.interrupted,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Budget;

    fn round(done: usize, needed: usize, job_seconds: f64) -> Round {
        Round {
            needed: (0..needed).map(|i| format!("job{i}")).collect(),
            done,
            failed: 0,
            job_seconds,
            timed: done,
            states: Vec::new(),
        }
    }

    #[test]
    fn a_round_that_would_pass_the_budget_does_not_start() {
        let jobs = Budget {
            jobs: Some(100),
            hours: None,
        };
        assert_eq!(over_budget(&jobs, &round(80, 20, 0.0)), None);
        assert!(over_budget(&jobs, &round(80, 21, 0.0)).is_some());
        // 60 jobs of 60 s: one job-hour spent; 30 more at that rate end at 1.5.
        let hours = Budget {
            jobs: None,
            hours: Some(1.5),
        };
        assert_eq!(over_budget(&hours, &round(60, 30, 3600.0)), None);
        assert!(over_budget(&hours, &round(60, 31, 3600.0)).is_some());
        // Before any job has a time, the first round runs.
        assert_eq!(over_budget(&hours, &round(0, 1000, 0.0)), None);
    }
}
