//! `report compare`: one [`CompareRow`] per (dataset, strategy point) with each task's metric
//! over seeds and its confidence interval, and the point against a reference of the same
//! dataset and seeds: the per-seed paired Δp and per-task differences, each with its interval,
//! a paired test with Holm's correction over the dataset's points and a verdict; the power of
//! that test (paired SD, minimum detectable Δp, seeds needed); and whether some static point
//! dominates the point (better on one task after the paired tests, worse on none). Sorted by
//! Δp within each dataset.
//!
//! Jobs with the same seed are pairs: every strategy of one seed starts from the same
//! parameters and sees the same batches in the same order (common random numbers), so the
//! per-seed difference removes the seed's own luck from the comparison.
//!
//! The stages, one file each: `reference` (what a point is measured against), `judge` (Holm,
//! verdicts, power, what the study can detect), `dominance`, `render` (Markdown, CSV and the
//! power table), and `seeds` (the per-seed values behind every row, `report seeds`).

mod dominance;
mod judge;
mod reference;
mod render;
mod seeds;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use super::load::{mean_std, Metric, Point, SweepLogs};
use super::stats::{PairedTest, Summary, TestKind};
use crate::error::{Error, Result};
use crate::task::Tasks;
pub use judge::detectability;
use reference::ReferenceSeeds;
pub use render::{
    csv_header, dominance_text, effect_text, power_table, sequential_sentences, to_csv,
    to_markdown, verdict_text, warnings, CSV_FIXED,
};
pub use seeds::{per_seed, seeds_csv, SeedRow};

/// The most seeds `seeds_needed` looks for; beyond it the answer is "more than this".
pub const SEEDS_CAP: usize = 100_000;

/// What Δp and the per-task differences are measured against (`--reference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Reference {
    /// One point of the same dataset: `--baseline`, by default `static w1=0.5`.
    #[default]
    Baseline,
    /// Each task trained alone on the same seeds, LibMTL's convention: a task against the
    /// static point that gives it all the weight (for two tasks, FV against w1 = 1.0 and EX
    /// against w1 = 0.0).
    SingleTask,
}

/// How `compare` compares.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Which epoch stands for a job.
    pub metric: Metric,
    /// The baseline point's label; `None`: the study's default (see
    /// [`crate::strategy::default_baseline`]) where a dataset has it.
    pub baseline: Option<String>,
    /// What the differences are measured against.
    pub reference: Reference,
    /// Significance level of the verdicts, after Holm's correction.
    pub alpha: f64,
    /// Level of the confidence intervals.
    pub level: f64,
    /// The |Δp| (in %) that `seeds_needed` sizes the study for (`--effect`).
    pub effect: f64,
    /// The power that the minimum detectable Δp and `seeds_needed` refer to (`--power`).
    pub power: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            metric: Metric::Selected,
            baseline: None,
            reference: Reference::Baseline,
            alpha: 0.05,
            level: 0.95,
            effect: 1.0,
            power: 0.8,
        }
    }
}

impl CompareOptions {
    /// The baseline's label in a study of `tasks`.
    pub fn baseline_label(&self, tasks: &Tasks) -> String {
        self.baseline
            .clone()
            .unwrap_or_else(|| crate::strategy::default_baseline(tasks.len()))
    }

    /// How the reference of a study of `tasks` reads in a table header.
    pub fn reference_label(&self, tasks: &Tasks) -> String {
        match self.reference {
            Reference::Baseline => self.baseline_label(tasks),
            Reference::SingleTask if tasks.len() == 2 => format!(
                "single-task ({}: w1=1, {}: w1=0)",
                tasks[0].name.to_uppercase(),
                tasks[1].name.to_uppercase()
            ),
            Reference::SingleTask => "single-task (each task at weight 1)".to_string(),
        }
    }
}

/// What the paired test says about a point against the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Δp > 0 and the Holm-adjusted p-value below α.
    Better,
    /// Δp < 0 and the Holm-adjusted p-value below α.
    Worse,
    /// Tested, not significant: not separated at this power, which is not "equal".
    Tie,
    /// A sequential study's point whose interval lies inside ±margin: equivalent to the
    /// reference within the margin.
    Equivalent,
    /// A sequential study's point still undecided after its last look.
    Open,
    /// The baseline itself.
    Baseline,
    /// No test; [`CompareRow::untested`] says why.
    Untested,
}

impl Verdict {
    /// Lower-case name; empty for [`Verdict::Untested`].
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Tie => "tie",
            Verdict::Equivalent => "equivalent",
            Verdict::Open => "open",
            Verdict::Baseline => "baseline",
            Verdict::Untested => "",
        }
    }
}

/// A per-task paired difference against the reference, in the task's display unit
/// (accuracy points for accuracies, the metric's own unit otherwise; see
/// [`crate::task::Metric::display_factor`]), as M − M_ref: for a lower-is-better metric a
/// negative difference is a gain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskEffect {
    /// The per-seed differences' mean, spread and confidence interval.
    pub summary: Summary,
    /// Two-sided p-value of the paired test.
    pub p_value: f64,
    /// `p_value` after Holm's correction over the dataset's points tested on this task.
    pub p_holm: Option<f64>,
    /// The test behind `p_value`.
    pub test: TestKind,
}

impl TaskEffect {
    /// Significant at `alpha` after Holm: +1 when the point gains on the task (a higher
    /// higher-is-better metric, a lower lower-is-better one), −1 when it loses.
    pub fn gain(&self, alpha: f64, sign: f64) -> Option<f64> {
        self.p_holm
            .filter(|&p| p < alpha && self.summary.mean != 0.0)
            .map(|_| (sign * self.summary.mean).signum())
    }
}

/// The power of a point's Δp test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Power {
    /// Sample standard deviation of the per-seed paired Δp (%).
    pub sd: f64,
    /// Holm's first level, α / m over the dataset's m tested points: a point whose p-value is
    /// below it gets a verdict whatever the other points' p-values.
    pub holm_level: f64,
    /// The smallest |Δp| detected with the options' power at `holm_level` (`None` without
    /// spread).
    pub mde_holm: Option<f64>,
    /// The same at α, without the correction.
    pub mde_alpha: Option<f64>,
    /// Seeds for which the options' effect is detected with their power at `holm_level`
    /// (`None` without spread or beyond [`SEEDS_CAP`]).
    pub seeds_needed: Option<usize>,
    /// The same at α.
    pub seeds_needed_alpha: Option<usize>,
}

/// How a sequential study reached a point's verdict (`sequential:` in its experiment).
#[derive(Debug, Clone, PartialEq)]
pub struct SequentialOutcome {
    /// better | worse | equivalent | open.
    pub decision: weightlab_stats::Decision,
    /// The look (from 1) at which it was decided.
    pub decided_at: Option<usize>,
    /// The paired seeds its verdict rests on.
    pub seeds: usize,
    /// Its repeated confidence interval (or confidence sequence) of Δp at its last look.
    pub interval: Option<(f64, f64)>,
    /// The design's name.
    pub design: &'static str,
    /// The looks, in paired seeds.
    pub looks: Vec<usize>,
    /// The equivalence margin on Δp (%).
    pub margin: f64,
    /// The family-wise level over the dataset's points.
    pub alpha: f64,
}

/// One row of the comparison. Per-task values are in the order of `tasks`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    /// The sweep folder(s) the point comes from, as given on the command line.
    pub folder: String,
    /// Dataset label.
    pub dataset: String,
    /// Strategy point label.
    pub point: String,
    /// Strategy name.
    pub strategy: String,
    /// The weights of a static point.
    pub static_w: Option<Vec<f64>>,
    /// The study's tasks.
    pub tasks: Tasks,
    /// Number of seeds.
    pub seeds: usize,
    /// Seeds that the reference has too: the pairs behind every test of the row.
    pub paired_seeds: usize,
    /// Seeds of the reference (of every task's for the single-task reference).
    pub reference_seeds: usize,
    /// Each task's metric over seeds: mean, std, confidence interval (inside [0, 1] for
    /// fractions).
    pub metrics: Vec<Summary>,
    /// Mean over seeds of the epoch with the best selection score on the test split.
    pub best_epoch: f64,
    /// Mean over seeds of the epoch that model selection picked on the validation split
    /// (`None` without one).
    pub selected_epoch: Option<f64>,
    /// Epochs each job trained.
    pub epochs: i64,
    /// Each task's mean normalised weight over training (all epochs, all seeds).
    pub mean_w: Vec<f64>,
    /// Mean wall seconds per job.
    pub wall_s: Option<f64>,
    /// Per-seed paired Δp in percent against the reference (LibMTL's definition, see
    /// [`delta_p`]; higher is better): its mean, spread and interval over the paired seeds.
    /// `None` without a reference or a shared seed.
    pub delta_p: Option<Summary>,
    /// Two-sided p-value of the paired test of the per-seed Δp.
    pub p_value: Option<f64>,
    /// `p_value` after Holm's correction over the tested points of the dataset.
    pub p_holm: Option<f64>,
    /// The test behind `p_value`.
    pub test: Option<TestKind>,
    /// The verdict at the options' α.
    pub verdict: Verdict,
    /// Why there is no verdict ([`Verdict::Untested`]).
    pub untested: Option<String>,
    /// Each task's paired difference against the reference (`None` where the point is the
    /// task's own reference, or untested).
    pub deltas: Vec<Option<TaskEffect>>,
    /// The power of the Δp test.
    pub power: Option<Power>,
    /// A static point that dominates this one: better on one task after the paired test and
    /// Holm's correction over the static points, and worse on none (unadjusted).
    pub dominated_by: Option<String>,
    /// Whether any static point could be tested against this one (two paired seeds or more).
    pub dominance_tested: bool,
    /// A tie on Δp that hides per-task effects of opposite sign, significant after Holm.
    pub opposite_effects: bool,
    /// In a sequential study compared with its own reference: how the verdict was reached
    /// (the verdict is then the design's, not the fixed-seed test's).
    pub sequential: Option<SequentialOutcome>,
}

impl CompareRow {
    /// The first task's weight of a two-task static point.
    pub fn static_w1(&self) -> Option<f64> {
        match self.static_w.as_deref() {
            Some([w1, _]) => Some(*w1),
            _ => None,
        }
    }
}

/// Δp in percent of metrics `m` against `base`, LibMTL's definition:
/// 100 · 1/T Σ_t (−1)^{s_t} (M_t − M_ref,t) / M_ref,t, with s_t = 1 for a lower-is-better
/// metric (so higher Δp is better whatever the directions).
pub fn delta_p(m: &[f64], base: &[f64], tasks: &Tasks) -> f64 {
    let sum: f64 = m
        .iter()
        .zip(base)
        .zip(tasks.iter())
        .map(|((m, b), t)| t.metric.direction().sign() * ((m - b) / b))
        .sum();
    100.0 * sum / m.len() as f64
}

/// Each task's metric of a point's jobs, by seed.
fn by_seed(p: &Point<'_>, metric: Metric) -> BTreeMap<i64, Vec<f64>> {
    p.jobs.iter().map(|j| (j.seed, j.metrics(metric))).collect()
}

/// The comparison rows of one sweep (or pool of sweeps), labelled `folder`. An explicit
/// baseline that no dataset has is an input error naming `--baseline` and the labels there are.
pub fn compare(logs: &SweepLogs, folder: &str, opts: &CompareOptions) -> Result<Vec<CompareRow>> {
    let points = logs.points();
    let label = opts.baseline_label(&logs.tasks);
    if opts.reference == Reference::Baseline
        && opts.baseline.is_some()
        && !points.iter().any(|p| p.label == label)
    {
        let mut labels: Vec<&str> = points.iter().map(|p| p.label.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        return Err(Error::input(
            "--baseline",
            "baseline",
            format!(
                "no point `{label}` in {folder}; use one of: {}",
                labels.join(", ")
            ),
        ));
    }
    let mut rows: Vec<CompareRow> = Vec::new();
    for dataset in logs.datasets() {
        let mine: Vec<&Point<'_>> = points.iter().filter(|p| p.dataset == dataset).collect();
        let reference = ReferenceSeeds::of(&mine, &logs.tasks, opts, folder, &dataset)?;
        let first = rows.len();
        for p in &mine {
            rows.push(row(p, &logs.tasks, reference.as_ref(), folder, opts));
        }
        judge::judge(&mut rows[first..], opts);
        dominance::dominance(&mut rows[first..], &mine, opts);
        sequential_verdicts(&mut rows[first..], logs, &dataset, opts)?;
        rows[first..].sort_by(|a, b| {
            let key = |r: &CompareRow| r.delta_p.map_or(f64::NEG_INFINITY, |d| d.mean);
            key(b).total_cmp(&key(a))
        });
    }
    Ok(rows)
}

/// A point's row before Holm's correction: its metrics, paired differences and tests.
fn row(
    p: &Point<'_>,
    tasks: &Tasks,
    reference: Option<&ReferenceSeeds>,
    folder: &str,
    opts: &CompareOptions,
) -> CompareRow {
    let acc = by_seed(p, opts.metric);
    let pairs: Vec<(&Vec<f64>, &Vec<f64>)> = reference
        .map(|r| {
            acc.iter()
                .filter_map(|(seed, m)| r.metrics.get(seed).map(|b| (m, b)))
                .collect()
        })
        .unwrap_or_default();
    let is_baseline =
        opts.reference == Reference::Baseline && p.label == opts.baseline_label(tasks);
    let untested = if is_baseline {
        None
    } else if reference.is_none() {
        Some(format!(
            "no point `{}` in this dataset",
            opts.baseline_label(tasks)
        ))
    } else if pairs.is_empty() {
        Some("no seed shared with the reference".to_string())
    } else if pairs.len() < 2 {
        Some("one paired seed: no test".to_string())
    } else {
        None
    };
    let level = opts.level;
    let paired: Vec<f64> = pairs.iter().map(|(m, b)| delta_p(m, b, tasks)).collect();
    let test = (!is_baseline)
        .then(|| PairedTest::of(&paired, level))
        .flatten();
    // A task is not tested against itself: under the single-task reference, the point that
    // gives a task all the weight is that task's reference.
    let task = |k: usize| -> Option<TaskEffect> {
        if reference.is_some_and(|r| r.labels[k] == p.label) {
            return None;
        }
        let factor = tasks[k].metric.display_factor();
        let d: Vec<f64> = pairs.iter().map(|(m, b)| factor * (m[k] - b[k])).collect();
        PairedTest::of(&d, level).map(|t| TaskEffect {
            summary: t.summary,
            p_value: t.p,
            p_holm: None,
            test: t.kind,
        })
    };
    let metrics = (0..tasks.len())
        .map(|k| {
            let values: Vec<f64> = acc.values().map(|a| a[k]).collect();
            if tasks[k].metric.is_fraction() {
                Summary::of_fraction(&values, level)
            } else {
                Summary::of(&values, level)
            }
        })
        .collect();
    let mean_w = (0..tasks.len())
        .map(|k| {
            let w: Vec<f64> = p
                .jobs
                .iter()
                .flat_map(|j| j.epochs.iter().map(|r| r.w[k]))
                .collect();
            mean_std(&w).0
        })
        .collect();
    let best: Vec<f64> = p.jobs.iter().map(|j| j.summary.best_epoch as f64).collect();
    let selected: Vec<f64> = p
        .jobs
        .iter()
        .filter_map(|j| j.summary.selected_epoch.map(|e| e as f64))
        .collect();
    let walls: Vec<f64> = p.jobs.iter().filter_map(|j| j.wall_s).collect();
    CompareRow {
        folder: folder.to_string(),
        dataset: p.dataset.clone(),
        point: p.label.clone(),
        strategy: p.strategy.clone(),
        static_w: p.static_w.clone(),
        tasks: tasks.clone(),
        seeds: p.jobs.len(),
        paired_seeds: pairs.len(),
        reference_seeds: reference.map_or(0, |r| r.metrics.len()),
        metrics,
        best_epoch: mean_std(&best).0,
        selected_epoch: (!selected.is_empty()).then(|| mean_std(&selected).0),
        epochs: p.jobs.iter().map(|j| j.summary.epochs).max().unwrap_or(0),
        mean_w,
        wall_s: (!walls.is_empty()).then(|| mean_std(&walls).0),
        delta_p: (!paired.is_empty()).then(|| Summary::of(&paired, level)),
        p_value: test.map(|t| t.p),
        p_holm: None,
        test: test.map(|t| t.kind),
        verdict: if is_baseline {
            Verdict::Baseline
        } else {
            Verdict::Untested
        },
        untested,
        deltas: (0..tasks.len()).map(task).collect(),
        power: None,
        dominated_by: None,
        dominance_tested: false,
        opposite_effects: false,
        sequential: None,
    }
}

/// In a sequential study compared with its own reference, each row's verdict is the design's
/// decision, with how it was reached.
fn sequential_verdicts(
    rows: &mut [CompareRow],
    logs: &SweepLogs,
    dataset: &str,
    opts: &CompareOptions,
) -> Result<()> {
    let Some(seq) = &logs.sequential else {
        return Ok(());
    };
    let reference = seq
        .reference
        .clone()
        .unwrap_or_else(|| crate::strategy::default_baseline(logs.tasks.len()));
    if opts.reference != Reference::Baseline || opts.baseline_label(&logs.tasks) != reference {
        return Ok(());
    }
    let states = super::sequential::states_of(logs, seq, opts.metric)?;
    let Some(state) = states.iter().find(|s| s.dataset == dataset) else {
        return Ok(());
    };
    let plan = state.monitor.plan();
    for r in rows.iter_mut() {
        let Some(trace) = state.trace(&r.point) else {
            continue;
        };
        let last = trace.last();
        r.verdict = super::sequential::verdict_of(trace.decision());
        r.sequential = Some(SequentialOutcome {
            decision: trace.decision(),
            decided_at: trace.decided_at(),
            seeds: trace.seeds_used(),
            interval: last.map(|l| l.interval),
            design: plan.design().as_str(),
            looks: plan.looks().to_vec(),
            margin: plan.margin(),
            alpha: plan.alpha(),
        });
    }
    Ok(())
}
