//! `report compare`: one row per (dataset, strategy point) with accuracies over seeds and their
//! confidence intervals, and the point against a reference of the same dataset and seeds: the
//! per-seed paired Δp and per-task differences (FV, EX in accuracy points), each with its
//! interval, a paired test with Holm's correction over the dataset's points and a verdict; the
//! power of that test (paired SD, minimum detectable Δp, seeds needed); and whether some static
//! point dominates the point (better on one task after the paired test, not worse on the other).
//! Sorted by Δp within each dataset.
//!
//! Jobs with the same seed are pairs: every strategy of one seed starts from the same
//! parameters and sees the same batches in the same order (common random numbers), so the
//! per-seed difference removes the seed's own luck from the comparison.

use std::collections::BTreeMap;

use super::load::{mean_std, Metric, Point, SweepLogs};
use super::stats::{holm, minimum_detectable_effect, pairs_needed, PairedTest, Summary, TestKind};
use crate::error::{Error, Result};

/// The point every other is compared with unless `--baseline` names another.
pub const DEFAULT_BASELINE: &str = "static w1=0.5";

/// The most seeds `seeds_needed` looks for; beyond it the answer is "more than this".
pub const SEEDS_CAP: usize = 100_000;

/// What Δp and the per-task differences are measured against (`--reference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Reference {
    /// One point of the same dataset: `--baseline`, by default `static w1=0.5`.
    #[default]
    Baseline,
    /// The single-task ends of the same seeds, LibMTL's convention: FV against static
    /// w1 = 1.0 (FV alone), EX against static w1 = 0.0 (EX alone).
    SingleTask,
}

/// How `compare` compares.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Which epoch stands for a job.
    pub metric: Metric,
    /// The baseline point's label; `None`: [`DEFAULT_BASELINE`] where a dataset has it.
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
    /// The baseline's label.
    pub fn baseline_label(&self) -> &str {
        self.baseline.as_deref().unwrap_or(DEFAULT_BASELINE)
    }

    /// How the reference reads in a table header.
    pub fn reference_label(&self) -> String {
        match self.reference {
            Reference::Baseline => self.baseline_label().to_string(),
            Reference::SingleTask => "single-task (FV: w1=1, EX: w1=0)".to_string(),
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
            Verdict::Baseline => "baseline",
            Verdict::Untested => "",
        }
    }
}

/// A per-task paired difference against the reference, in accuracy points (accuracy × 100).
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
    /// Significant at `alpha` after Holm, with the sign of the mean.
    fn significant(&self, alpha: f64) -> Option<f64> {
        self.p_holm
            .filter(|&p| p < alpha && self.summary.mean != 0.0)
            .map(|_| self.summary.mean.signum())
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

/// One row of the comparison.
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
    /// Fixed w1 of a static point.
    pub static_w1: Option<f64>,
    /// Number of seeds.
    pub seeds: usize,
    /// Seeds that the reference has too: the pairs behind every test of the row.
    pub paired_seeds: usize,
    /// Seeds of the reference (of both ends for the single-task reference).
    pub reference_seeds: usize,
    /// FV accuracy over seeds: mean, std, confidence interval inside [0, 1].
    pub fv: Summary,
    /// EX accuracy over seeds.
    pub ex: Summary,
    /// Mean over seeds of the epoch with the best FV + EX test accuracy.
    pub best_epoch: f64,
    /// Mean over seeds of the epoch that model selection picked on the validation split
    /// (`None` without one).
    pub selected_epoch: Option<f64>,
    /// Epochs each job trained.
    pub epochs: i64,
    /// Mean w_fv over training (all epochs, all seeds).
    pub mean_w_fv: f64,
    /// Mean wall seconds per job.
    pub wall_s: Option<f64>,
    /// Per-seed paired Δp in percent against the reference (LibMTL's definition: mean over
    /// tasks of (M − M_ref) / M_ref; higher is better): its mean, spread and interval over
    /// the paired seeds. `None` without a reference or a shared seed.
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
    /// The paired FV difference against the reference, in accuracy points.
    pub fv_delta: Option<TaskEffect>,
    /// The paired EX difference against the reference, in accuracy points.
    pub ex_delta: Option<TaskEffect>,
    /// The power of the Δp test.
    pub power: Option<Power>,
    /// A static point that dominates this one: better on one task after the paired test and
    /// Holm's correction over the static points, and not worse on the other (unadjusted).
    pub dominated_by: Option<String>,
    /// Whether any static point could be tested against this one (two paired seeds or more).
    pub dominance_tested: bool,
    /// A tie on Δp that hides per-task effects of opposite sign, both significant after Holm.
    pub opposite_effects: bool,
}

/// Δp in percent of accuracies `m` against `base` (both tasks higher-is-better).
pub fn delta_p(m: [f64; 2], base: [f64; 2]) -> f64 {
    100.0 * ((m[0] - base[0]) / base[0] + (m[1] - base[1]) / base[1]) / 2.0
}

/// Accuracies of a point's jobs by seed.
fn by_seed(p: &Point<'_>, metric: Metric) -> BTreeMap<i64, [f64; 2]> {
    p.jobs
        .iter()
        .map(|j| {
            let (fv, ex) = j.accuracy(metric);
            (j.seed, [fv, ex])
        })
        .collect()
}

/// The reference accuracies of one dataset by seed, and which point is the reference of
/// which task: `[FV's, EX's]` labels.
struct ReferenceSeeds {
    acc: BTreeMap<i64, [f64; 2]>,
    labels: [String; 2],
}

fn reference_seeds(
    mine: &[&Point<'_>],
    opts: &CompareOptions,
    folder: &str,
    dataset: &str,
) -> Result<Option<ReferenceSeeds>> {
    match opts.reference {
        Reference::Baseline => {
            let label = opts.baseline_label();
            Ok(mine
                .iter()
                .find(|p| p.label == label)
                .map(|p| ReferenceSeeds {
                    acc: by_seed(p, opts.metric),
                    labels: [label.to_string(), label.to_string()],
                }))
        }
        Reference::SingleTask => {
            let end = |w: f64| mine.iter().find(|p| p.static_w1 == Some(w));
            let (Some(fv_end), Some(ex_end)) = (end(1.0), end(0.0)) else {
                let missing: Vec<&str> = [(1.0, "static w1=1.0"), (0.0, "static w1=0.0")]
                    .iter()
                    .filter(|(w, _)| end(*w).is_none())
                    .map(|(_, l)| *l)
                    .collect();
                return Err(Error::input(
                    "--reference",
                    "reference",
                    format!(
                        "single-task needs the static points w1=1.0 and w1=0.0 in every \
                         dataset; dataset `{dataset}` of {folder} lacks {}",
                        missing.join(" and ")
                    ),
                ));
            };
            let ex_acc = by_seed(ex_end, opts.metric);
            let acc = by_seed(fv_end, opts.metric)
                .into_iter()
                .filter_map(|(seed, fv)| ex_acc.get(&seed).map(|ex| (seed, [fv[0], ex[1]])))
                .collect();
            Ok(Some(ReferenceSeeds {
                acc,
                labels: [fv_end.label.clone(), ex_end.label.clone()],
            }))
        }
    }
}

/// The comparison rows of one sweep (or pool of sweeps), labelled `folder`. An explicit
/// baseline that no dataset has is an input error naming `--baseline` and the labels there are.
pub fn compare(logs: &SweepLogs, folder: &str, opts: &CompareOptions) -> Result<Vec<CompareRow>> {
    let points = logs.points();
    let label = opts.baseline_label();
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
        let reference = reference_seeds(&mine, opts, folder, &dataset)?;
        let first = rows.len();
        for p in &mine {
            rows.push(row(p, reference.as_ref(), folder, opts));
        }
        judge(&mut rows[first..], opts);
        dominance(&mut rows[first..], &mine, opts);
        rows[first..].sort_by(|a, b| {
            let key = |r: &CompareRow| r.delta_p.map_or(f64::NEG_INFINITY, |d| d.mean);
            key(b).total_cmp(&key(a))
        });
    }
    Ok(rows)
}

/// A point's row before Holm's correction: its accuracies, paired differences and tests.
fn row(
    p: &Point<'_>,
    reference: Option<&ReferenceSeeds>,
    folder: &str,
    opts: &CompareOptions,
) -> CompareRow {
    let acc = by_seed(p, opts.metric);
    let fv: Vec<f64> = acc.values().map(|a| a[0]).collect();
    let ex: Vec<f64> = acc.values().map(|a| a[1]).collect();
    let pairs: Vec<([f64; 2], [f64; 2])> = reference
        .map(|r| {
            acc.iter()
                .filter_map(|(seed, m)| r.acc.get(seed).map(|b| (*m, *b)))
                .collect()
        })
        .unwrap_or_default();
    let is_baseline = opts.reference == Reference::Baseline && p.label == opts.baseline_label();
    let untested = if is_baseline {
        None
    } else if reference.is_none() {
        Some(format!(
            "no point `{}` in this dataset",
            opts.baseline_label()
        ))
    } else if pairs.is_empty() {
        Some("no seed shared with the reference".to_string())
    } else if pairs.len() < 2 {
        Some("one paired seed: no test".to_string())
    } else {
        None
    };
    let level = opts.level;
    let paired: Vec<f64> = pairs.iter().map(|(m, b)| delta_p(*m, *b)).collect();
    let test = (!is_baseline)
        .then(|| PairedTest::of(&paired, level))
        .flatten();
    // A task is not tested against itself: under the single-task reference, w1 = 1 is FV's
    // reference and w1 = 0 is EX's.
    let task = |k: usize| -> Option<TaskEffect> {
        let own = reference.is_some_and(|r| r.labels[k] == p.label);
        if own {
            return None;
        }
        let d: Vec<f64> = pairs.iter().map(|(m, b)| 100.0 * (m[k] - b[k])).collect();
        PairedTest::of(&d, level).map(|t| TaskEffect {
            summary: t.summary,
            p_value: t.p,
            p_holm: None,
            test: t.kind,
        })
    };
    let w: Vec<f64> = p
        .jobs
        .iter()
        .flat_map(|j| j.epochs.iter().map(|r| r.w_fv))
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
        static_w1: p.static_w1,
        seeds: p.jobs.len(),
        paired_seeds: pairs.len(),
        reference_seeds: reference.map_or(0, |r| r.acc.len()),
        fv: Summary::of_fraction(&fv, level),
        ex: Summary::of_fraction(&ex, level),
        best_epoch: mean_std(&best).0,
        selected_epoch: (!selected.is_empty()).then(|| mean_std(&selected).0),
        epochs: p.jobs.iter().map(|j| j.summary.epochs).max().unwrap_or(0),
        mean_w_fv: mean_std(&w).0,
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
        fv_delta: task(0),
        ex_delta: task(1),
        power: None,
        dominated_by: None,
        dominance_tested: false,
        opposite_effects: false,
    }
}

/// Holm's correction over one dataset's tested rows (Δp and each task separately), then the
/// verdicts, the flags and the power of each test.
fn judge(rows: &mut [CompareRow], opts: &CompareOptions) {
    let tested: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].p_value.is_some())
        .collect();
    let p: Vec<f64> = tested.iter().filter_map(|&i| rows[i].p_value).collect();
    for (&i, adjusted) in tested.iter().zip(holm(&p)) {
        rows[i].p_holm = Some(adjusted);
    }
    type Pick = fn(&mut CompareRow) -> Option<&mut TaskEffect>;
    let fv: Pick = |r| r.fv_delta.as_mut();
    let ex: Pick = |r| r.ex_delta.as_mut();
    for pick in [fv, ex] {
        let idx: Vec<usize> = (0..rows.len())
            .filter(|&i| pick(&mut rows[i]).is_some())
            .collect();
        let p: Vec<f64> = idx
            .iter()
            .filter_map(|&i| pick(&mut rows[i]).map(|t| t.p_value))
            .collect();
        for (&i, adjusted) in idx.iter().zip(holm(&p)) {
            if let Some(t) = pick(&mut rows[i]) {
                t.p_holm = Some(adjusted);
            }
        }
    }
    let holm_level = opts.alpha / tested.len().max(1) as f64;
    for &i in &tested {
        let r = &mut rows[i];
        let mean = r.delta_p.map_or(0.0, |d| d.mean);
        let significant = r.p_holm.is_some_and(|p| p < opts.alpha);
        r.verdict = if significant && mean > 0.0 {
            Verdict::Better
        } else if significant && mean < 0.0 {
            Verdict::Worse
        } else {
            Verdict::Tie
        };
        let sign = |t: &Option<TaskEffect>| t.and_then(|t| t.significant(opts.alpha));
        r.opposite_effects = r.verdict == Verdict::Tie
            && matches!((sign(&r.fv_delta), sign(&r.ex_delta)), (Some(a), Some(b)) if a != b);
        let sd = r.delta_p.and_then(|d| d.std).unwrap_or(f64::NAN);
        let n = r.paired_seeds;
        r.power = Some(Power {
            sd,
            holm_level,
            mde_holm: minimum_detectable_effect(sd, n, holm_level, opts.power),
            mde_alpha: minimum_detectable_effect(sd, n, opts.alpha, opts.power),
            seeds_needed: pairs_needed(opts.effect, sd, holm_level, opts.power, SEEDS_CAP),
            seeds_needed_alpha: pairs_needed(opts.effect, sd, opts.alpha, opts.power, SEEDS_CAP),
        });
    }
}

/// For each row, the static point of the same dataset that dominates it, if any: better on one
/// task (paired by seed, Holm over the 2 × (static points) tests of that row, at α) and not
/// worse on the other (its paired test, unadjusted, not significantly below 0). Among several,
/// the one with the smallest adjusted p-value.
fn dominance(rows: &mut [CompareRow], mine: &[&Point<'_>], opts: &CompareOptions) {
    let statics: Vec<&&Point<'_>> = mine.iter().filter(|p| p.static_w1.is_some()).collect();
    for r in rows.iter_mut() {
        let Some(x) = mine.iter().find(|p| p.label == r.point) else {
            continue;
        };
        let x_acc = by_seed(x, opts.metric);
        // (static label, task, test) for every static point but the row's own.
        let mut tests: Vec<(String, usize, PairedTest)> = Vec::new();
        for s in statics.iter().filter(|s| s.label != x.label) {
            let s_acc = by_seed(s, opts.metric);
            for k in 0..2 {
                let d: Vec<f64> = x_acc
                    .iter()
                    .filter_map(|(seed, a)| s_acc.get(seed).map(|b| 100.0 * (b[k] - a[k])))
                    .collect();
                if let Some(t) = PairedTest::of(&d, opts.level) {
                    tests.push((s.label.clone(), k, t));
                }
            }
        }
        r.dominance_tested = !tests.is_empty();
        let adjusted = holm(&tests.iter().map(|t| t.2.p).collect::<Vec<_>>());
        let worse = |label: &str, k: usize| {
            tests.iter().any(|(l, kk, t)| {
                l == label && *kk == k && t.p < opts.alpha && t.summary.mean < 0.0
            })
        };
        r.dominated_by = tests
            .iter()
            .zip(&adjusted)
            .filter(|((l, k, t), &adj)| {
                adj < opts.alpha && t.summary.mean > 0.0 && !worse(l, 1 - k)
            })
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|((l, _, _), _)| l.clone());
    }
}

/// What one dataset's study can detect, in one sentence: the paired SD of Δp over its static
/// points (all tested points when it has none), the minimum detectable |Δp| of the median one
/// at α and at Holm's first level, and the seeds that the options' effect needs.
pub fn detectability(rows: &[CompareRow], opts: &CompareOptions) -> Vec<(String, String)> {
    let mut datasets: Vec<&str> = rows.iter().map(|r| r.dataset.as_str()).collect();
    datasets.dedup();
    let mut out = Vec::new();
    for dataset in datasets {
        // A point whose every paired difference is zero (the reference itself under another
        // name, such as static 0.5 against equal) says nothing about the noise.
        let tested: Vec<&CompareRow> = rows
            .iter()
            .filter(|r| {
                r.dataset == dataset && r.power.is_some_and(|p| p.sd.is_finite() && p.sd > 0.0)
            })
            .collect();
        let statics: Vec<&CompareRow> = tested
            .iter()
            .filter(|r| r.static_w1.is_some())
            .copied()
            .collect();
        let (over, which) = if statics.is_empty() {
            (tested, "tested points")
        } else {
            (statics, "static points")
        };
        if over.is_empty() {
            out.push((
                dataset.to_string(),
                format!(
                    "{dataset}: no point has two paired seeds with spread, so this study cannot \
                     tell a difference from noise; run more seeds."
                ),
            ));
            continue;
        }
        let mut sds: Vec<f64> = over.iter().filter_map(|r| r.power.map(|p| p.sd)).collect();
        sds.sort_by(f64::total_cmp);
        let median = median_of(&sds);
        let mut ns: Vec<usize> = over.iter().map(|r| r.paired_seeds).collect();
        ns.sort_unstable();
        let n = ns[(ns.len() - 1) / 2];
        let power = over[0].power.map_or(opts.alpha, |p| p.holm_level);
        let m = (opts.alpha / power).round();
        let pct = (opts.power * 100.0).round();
        let mde = |alpha: f64| {
            minimum_detectable_effect(median, n, alpha, opts.power)
                .map_or("—".to_string(), |v| format!("{v:.2} %"))
        };
        let needed = |sd: f64| {
            pairs_needed(opts.effect, sd, power, opts.power, SEEDS_CAP)
                .map_or(format!("more than {SEEDS_CAP}"), |n| n.to_string())
        };
        out.push((
            dataset.to_string(),
            format!(
                "{dataset}: with {n} paired seeds (paired SD of Δp {:.2}–{:.2} %, median {median:.2} % \
                 over the {which}), this study detects a |Δp| of {} at α = {} and {} at Holm's \
                 first level (α/{m} = {power:.4}) with {pct} % power for the median point; a \
                 smaller difference reads as a tie: not separated at this power, not equal. \
                 Separating {} % at Holm's level takes {} seeds for the median point ({} for \
                 every one of them).",
                sds[0],
                sds[sds.len() - 1],
                mde(opts.alpha),
                opts.alpha,
                mde(power),
                opts.effect,
                needed(median),
                needed(sds[sds.len() - 1]),
            ),
        ));
    }
    out
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median_of(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

/// Warnings about the rows: points with fewer paired seeds than their reference has.
pub fn warnings(rows: &[CompareRow]) -> Vec<String> {
    rows.iter()
        .filter(|r| r.verdict != Verdict::Baseline && r.paired_seeds < r.reference_seeds)
        .map(|r| {
            format!(
                "{} {}: {} of the reference's {} seeds paired (a job missing, failed or still \
                 running); its tests use those {} only",
                r.dataset, r.point, r.paired_seeds, r.reference_seeds, r.paired_seeds
            )
        })
        .collect()
}

fn acc_cell(s: &Summary) -> String {
    match (s.std, s.ci) {
        (Some(std), Some((lo, hi))) => format!("{:.4} ± {std:.4} [{lo:.4}, {hi:.4}]", s.mean),
        _ => format!("{:.4}", s.mean),
    }
}

fn delta_cell(d: &Option<Summary>) -> String {
    match d {
        Some(Summary {
            mean,
            ci: Some((lo, hi)),
            ..
        }) => format!("{mean:+.2} [{lo:+.2}, {hi:+.2}]"),
        Some(s) => format!("{:+.2}", s.mean),
        None => String::new(),
    }
}

fn task_cell(t: &Option<TaskEffect>) -> String {
    match t {
        Some(t) => format!(
            "{} (p_H {})",
            delta_cell(&Some(t.summary)),
            p_cell(t.p_holm.or(Some(t.p_value)))
        ),
        None => String::new(),
    }
}

fn p_cell(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 0.001 => format!("{p:.1e}"),
        Some(p) => format!("{p:.3}"),
        None => String::new(),
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or(String::new(), |x| format!("{x:.digits$}"))
}

/// The dominance outcome as a table reads it: the dominating static point, or `not dominated`
/// (empty for a point with no other static point to compare with).
pub fn dominance_text(r: &CompareRow) -> String {
    match (&r.dominated_by, r.dominance_tested) {
        (Some(s), _) => s.clone(),
        (None, true) => "not dominated".to_string(),
        (None, false) => String::new(),
    }
}

/// The verdict as a table reads it: a tie says what it means, an untested row why.
pub fn verdict_text(r: &CompareRow) -> String {
    match r.verdict {
        Verdict::Tie => {
            let mde = r
                .power
                .and_then(|p| p.mde_holm)
                .map_or(String::new(), |m| format!(" (MDE {m:.2} %)"));
            let mut s = format!("tie: not separated at this power{mde}");
            if r.opposite_effects {
                let sign = |t: &Option<TaskEffect>| {
                    if t.is_some_and(|t| t.summary.mean > 0.0) {
                        "+"
                    } else {
                        "−"
                    }
                };
                s.push_str(&format!(
                    "; hides opposite task effects (FV {}, EX {} after Holm)",
                    sign(&r.fv_delta),
                    sign(&r.ex_delta)
                ));
            }
            s
        }
        Verdict::Untested => format!("untested: {}", r.untested.as_deref().unwrap_or("no test")),
        v => v.as_str().to_string(),
    }
}

/// A Markdown table of `rows`, with a folder column when they come from several folders,
/// what the study can detect, warnings, and a note that says how to read it.
pub fn to_markdown(rows: &[CompareRow], opts: &CompareOptions) -> String {
    let folders = {
        let mut f: Vec<&str> = rows.iter().map(|r| r.folder.as_str()).collect();
        f.dedup();
        f.len() > 1
    };
    let m = opts.metric.as_str();
    let mut s = String::new();
    if folders {
        s.push_str("| folder ");
    }
    s.push_str(&format!(
        "| dataset | strategy | seeds (paired) | FV acc ({m}) | EX acc ({m}) | Δp vs {} (%) | p | p (Holm) | verdict | ΔFV (points) | ΔEX (points) | dominated by | SD of Δp | best epoch | selected epoch | mean w_fv | wall s |\n",
        opts.reference_label()
    ));
    if folders {
        s.push_str("|---");
    }
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        if folders {
            s.push_str(&format!("| {} ", r.folder));
        }
        s.push_str(&format!(
            "| {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {:.3} | {} |\n",
            r.dataset,
            r.point,
            r.seeds,
            r.paired_seeds,
            acc_cell(&r.fv),
            acc_cell(&r.ex),
            delta_cell(&r.delta_p),
            p_cell(r.p_value),
            p_cell(r.p_holm),
            verdict_text(r),
            task_cell(&r.fv_delta),
            task_cell(&r.ex_delta),
            dominance_text(r),
            opt(r.power.map(|p| p.sd), 2),
            r.best_epoch,
            opt(r.selected_epoch, 1),
            r.mean_w_fv,
            opt(r.wall_s, 1)
        ));
    }
    s.push('\n');
    for (_, sentence) in detectability(rows, opts) {
        s.push_str(&format!("**What this study can detect.** {sentence}\n\n"));
    }
    for w in warnings(rows) {
        s.push_str(&format!("**Warning:** {w}.\n\n"));
    }
    let level = (opts.level * 100.0).round();
    let pct = (opts.power * 100.0).round();
    s.push_str(&format!(
        "Accuracy: mean ± std over seeds [{level} % confidence interval, Student t, cut to [0, 1]]. \
         Δp: mean over the seeds shared with {} of the per-seed Δp (mean over tasks of \
         (M − M_ref) / M_ref), [{level} % CI]. ΔFV, ΔEX: per-seed paired differences in accuracy \
         points (accuracy × 100) [{level} % CI], p_H after Holm over the dataset's points. p: \
         two-sided paired t-test (the exact sign test where every paired difference is the same); \
         Holm over the tested points of each dataset; verdict at α = {} after Holm. A tie is not \
         separated at this power; MDE: the |Δp| detected with {pct} % power at Holm's first level \
         (α / number of tested points). Dominated by: a static point better on one task (paired, \
         Holm over the static points) and not worse on the other. Best epoch: the highest sum of \
         the test accuracies; selected epoch: the highest mean validation accuracy, which \
         `selected` reports.\n",
        opts.reference_label(),
        opts.alpha
    ));
    s
}

/// The CSV header: the first columns as in earlier versions, new ones after `folder`.
pub const CSV_COLUMNS: [&str; 45] = [
    "dataset",
    "strategy",
    "seeds",
    "fv_acc_mean",
    "fv_acc_std",
    "ex_acc_mean",
    "ex_acc_std",
    "delta_p",
    "best_epoch",
    "mean_w_fv",
    "wall_s",
    "fv_acc_ci_low",
    "fv_acc_ci_high",
    "ex_acc_ci_low",
    "ex_acc_ci_high",
    "delta_p_ci_low",
    "delta_p_ci_high",
    "p_value",
    "p_holm",
    "verdict",
    "folder",
    "paired_seeds",
    "sd_delta_p",
    "mde_delta_p",
    "mde_level",
    "mde_delta_p_alpha",
    "seeds_needed",
    "seeds_needed_alpha",
    "effect",
    "fv_delta",
    "fv_delta_ci_low",
    "fv_delta_ci_high",
    "fv_p_value",
    "fv_p_holm",
    "ex_delta",
    "ex_delta_ci_low",
    "ex_delta_ci_high",
    "ex_p_value",
    "ex_p_holm",
    "dominated_by",
    "opposite_effects",
    "test",
    "reference",
    "selected_epoch",
    "epochs",
];

/// A CSV table of `rows` (full precision, empty cells for missing values).
pub fn to_csv(rows: &[CompareRow], opts: &CompareOptions) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CSV_COLUMNS);
    let f = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    let n = |v: Option<usize>| v.map_or(String::new(), |x| x.to_string());
    for r in rows {
        let d_ci = r.delta_p.and_then(|d| d.ci);
        let pw = r.power;
        let task = |t: &Option<TaskEffect>| {
            let ci = t.and_then(|t| t.summary.ci);
            [
                f(t.map(|t| t.summary.mean)),
                f(ci.map(|c| c.0)),
                f(ci.map(|c| c.1)),
                f(t.map(|t| t.p_value)),
                f(t.and_then(|t| t.p_holm)),
            ]
        };
        let mut record = vec![
            r.dataset.clone(),
            r.point.clone(),
            r.seeds.to_string(),
            r.fv.mean.to_string(),
            f(r.fv.std),
            r.ex.mean.to_string(),
            f(r.ex.std),
            f(r.delta_p.map(|d| d.mean)),
            r.best_epoch.to_string(),
            r.mean_w_fv.to_string(),
            f(r.wall_s),
            f(r.fv.ci.map(|c| c.0)),
            f(r.fv.ci.map(|c| c.1)),
            f(r.ex.ci.map(|c| c.0)),
            f(r.ex.ci.map(|c| c.1)),
            f(d_ci.map(|c| c.0)),
            f(d_ci.map(|c| c.1)),
            f(r.p_value),
            f(r.p_holm),
            r.verdict.as_str().to_string(),
            r.folder.clone(),
            r.paired_seeds.to_string(),
            f(pw.map(|p| p.sd).filter(|s| s.is_finite())),
            f(pw.and_then(|p| p.mde_holm)),
            f(pw.map(|p| p.holm_level)),
            f(pw.and_then(|p| p.mde_alpha)),
            n(pw.and_then(|p| p.seeds_needed)),
            n(pw.and_then(|p| p.seeds_needed_alpha)),
            opts.effect.to_string(),
        ];
        record.extend(task(&r.fv_delta));
        record.extend(task(&r.ex_delta));
        record.extend([
            r.dominated_by.clone().unwrap_or_default(),
            r.opposite_effects.to_string(),
            r.test.map_or(String::new(), |t| t.as_str().to_string()),
            if r.delta_p.is_some() {
                opts.reference_label()
            } else {
                String::new()
            },
            f(r.selected_epoch),
            r.epochs.to_string(),
        ]);
        let _ = w.write_record(record);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `report power`: per tested point the paired SD of Δp, the minimum detectable |Δp| at α and
/// at Holm's first level, and the seeds the options' effect needs at each; then what the
/// study can detect.
pub fn power_table(rows: &[CompareRow], opts: &CompareOptions) -> String {
    let pct = (opts.power * 100.0).round();
    let e = opts.effect;
    let mut s = String::new();
    let mut datasets: Vec<&str> = rows.iter().map(|r| r.dataset.as_str()).collect();
    datasets.dedup();
    for dataset in datasets {
        let mine: Vec<&CompareRow> = rows
            .iter()
            .filter(|r| r.dataset == dataset && r.power.is_some())
            .collect();
        let level = mine
            .first()
            .and_then(|r| r.power)
            .map_or(opts.alpha, |p| p.holm_level);
        s.push_str(&format!(
            "{dataset}: Δp against {}, {} tested points, power {pct} %, Holm's first level α/{} = {level:.5}\n",
            opts.reference_label(),
            mine.len(),
            mine.len()
        ));
        s.push_str(&format!(
            "{:<44} {:>6} {:>9} {:>12} {:>12} {:>14} {:>14}\n",
            "point",
            "paired",
            "SD Δp %",
            format!("MDE α={}", opts.alpha),
            "MDE Holm",
            format!("seeds {e}% α"),
            format!("seeds {e}% Holm")
        ));
        let num = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.2}"));
        let cnt = |v: Option<usize>| v.map_or("—".to_string(), |x| x.to_string());
        for r in &mine {
            let p = r.power.expect("filtered");
            s.push_str(&format!(
                "{:<44} {:>6} {:>9} {:>12} {:>12} {:>14} {:>14}\n",
                r.point,
                r.paired_seeds,
                num(Some(p.sd).filter(|s| s.is_finite())),
                num(p.mde_alpha),
                num(p.mde_holm),
                cnt(p.seeds_needed_alpha),
                cnt(p.seeds_needed)
            ));
        }
        s.push('\n');
    }
    for (_, sentence) in detectability(rows, opts) {
        s.push_str(&sentence);
        s.push('\n');
    }
    for w in warnings(rows) {
        s.push_str(&format!("warning: {w}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::load::test_job;

    #[test]
    fn delta_p_is_libmtl_mean_relative_gain() {
        assert_eq!(delta_p([0.9, 0.8], [0.9, 0.8]), 0.0);
        // +10 % on one task, −5 % on the other → +2.5 %
        assert!((delta_p([0.99, 0.76], [0.9, 0.8]) - 2.5).abs() < 1e-9);
    }

    fn logs(jobs: Vec<crate::report::JobLogs>) -> SweepLogs {
        SweepLogs {
            name: "t".into(),
            jobs,
        }
    }

    #[test]
    fn a_copy_of_the_reference_does_not_count_as_noise() {
        // w1=0.3 repeats the reference on every seed (zero spread); only w1=0.7's spread may
        // size what the study detects.
        let acc = |v: f64| [(v, v)];
        let mut jobs = Vec::new();
        for (seed, v) in [(1, 0.88), (2, 0.72), (3, 0.808)] {
            jobs.push(test_job(seed, Some(0.5), &acc(0.8), &[]));
            jobs.push(test_job(seed, Some(0.3), &acc(0.8), &[]));
            jobs.push(test_job(seed, Some(0.7), &acc(v), &[]));
        }
        let opts = CompareOptions::default();
        let rows = compare(&logs(jobs), "r", &opts).unwrap();
        let noisy = rows.iter().find(|r| r.point == "static w1=0.7").unwrap();
        let sd = noisy.power.unwrap().sd;
        let sentence = &detectability(&rows, &opts)[0].1;
        assert!(
            sentence.contains(&format!("paired SD of Δp {sd:.2}–{sd:.2} %")),
            "{sentence}"
        );
        assert!(!sentence.contains("—"), "{sentence}");
    }

    #[test]
    fn points_are_paired_by_seed_and_judged_after_holm() {
        // Baseline: FV 0.80, EX 0.80 on seeds 1..3. `good` is 0.88 on seeds 1..3 (Δp +10 %
        // on each: no spread, so the exact sign test, p = 2 · 2⁻³ = 0.25), `noisy` is +10,
        // −10, +1 % (a tie), `lone` has a seed the baseline lacks (no pair, no test).
        let acc = |v: f64| [(v, v)];
        let mut jobs = Vec::new();
        for seed in 1..=3 {
            jobs.push(test_job(seed, Some(0.5), &acc(0.8), &[]));
            jobs.push(test_job(seed, Some(0.3), &acc(0.88), &[]));
        }
        for (seed, v) in [(1, 0.88), (2, 0.72), (3, 0.808)] {
            jobs.push(test_job(seed, Some(0.7), &acc(v), &[]));
        }
        jobs.push(test_job(9, Some(0.9), &acc(0.9), &[]));
        let logs = logs(jobs);
        let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
        let row = |l: &str| rows.iter().find(|r| r.point == l).unwrap();
        let good = row("static w1=0.3");
        assert!((good.delta_p.unwrap().mean - 10.0).abs() < 1e-9);
        assert_eq!(good.p_value, Some(0.25));
        assert_eq!(good.test, Some(TestKind::ExactSign));
        assert_eq!(good.verdict, Verdict::Tie);
        let noisy = row("static w1=0.7");
        assert!((noisy.delta_p.unwrap().mean - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(noisy.verdict, Verdict::Tie);
        assert_eq!(noisy.test, Some(TestKind::PairedT));
        // Two tested points: Holm doubles the smaller p (0.25 → 0.5) and keeps the larger,
        // made monotone.
        assert_eq!(good.p_holm, Some(0.5));
        assert_eq!(row("static w1=0.5").verdict, Verdict::Baseline);
        let lone = row("static w1=0.9");
        assert_eq!(lone.verdict, Verdict::Untested);
        assert_eq!(lone.delta_p, None);
        assert_eq!(lone.paired_seeds, 0);
        assert!(verdict_text(lone).contains("no seed shared"));
        assert_eq!(noisy.paired_seeds, 3);
        // The sign of a tie reads as "not separated", never "equal".
        assert!(verdict_text(noisy).starts_with("tie: not separated at this power (MDE "));
        // Best Δp first.
        assert_eq!(rows[0].point, "static w1=0.3");
        let csv = to_csv(&rows, &CompareOptions::default());
        let header = csv.lines().next().unwrap();
        assert!(header.starts_with("dataset,strategy,seeds,fv_acc_mean"));
        assert!(header.contains("p_value,p_holm,verdict,folder,paired_seeds,sd_delta_p"));
        for col in [
            "fv_delta",
            "ex_p_holm",
            "dominated_by",
            "seeds_needed",
            "mde_delta_p",
        ] {
            assert!(header.split(',').any(|c| c == col), "{col}");
        }
        assert_eq!(header.split(',').count(), CSV_COLUMNS.len());
        // An explicit baseline that does not exist is an input error naming the flag.
        let opts = CompareOptions {
            baseline: Some("no such point".into()),
            ..CompareOptions::default()
        };
        let err = compare(&logs, "r", &opts).unwrap_err().to_string();
        assert!(
            err.contains("--baseline") && err.contains("static w1=0.3"),
            "{err}"
        );
    }

    /// Jobs of static points whose (FV, EX) on seed s is `f(w1, s)`.
    fn grid(ws: &[f64], seeds: i64, f: impl Fn(f64, i64) -> (f64, f64)) -> SweepLogs {
        let mut jobs = Vec::new();
        for &w in ws {
            for s in 1..=seeds {
                jobs.push(test_job(s, Some(w), &[f(w, s)], &[]));
            }
        }
        logs(jobs)
    }

    /// Seed noise shared by every point of a seed, and a little of each point's own.
    fn noise(w: f64, s: i64) -> f64 {
        let own = ((w * 37.0 + s as f64 * 11.0).sin() * 1e4).fract() * 0.004;
        0.01 * ((s as f64) * 1.7).sin() + own
    }

    #[test]
    fn per_task_effects_and_opposite_signs_under_a_tie() {
        // w1 = 0.8 gains 4 FV points and loses 4 EX points on every seed against 0.5: Δp
        // about 0 (a tie), both task effects significant, in opposite directions.
        let logs = grid(&[0.5, 0.8], 8, |w, s| {
            let d = if w == 0.8 { 0.04 } else { 0.0 };
            (0.80 + d + noise(w, s), 0.80 - d + noise(w + 1.0, s))
        });
        let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
        let r = rows.iter().find(|r| r.point == "static w1=0.8").unwrap();
        assert_eq!(r.verdict, Verdict::Tie, "{r:?}");
        let (fv, ex) = (r.fv_delta.unwrap(), r.ex_delta.unwrap());
        assert!((fv.summary.mean - 4.0).abs() < 0.5 && (ex.summary.mean + 4.0).abs() < 0.5);
        assert!(fv.p_holm.unwrap() < 0.05 && ex.p_holm.unwrap() < 0.05);
        assert!(r.opposite_effects);
        assert!(verdict_text(r).contains("hides opposite task effects (FV +, EX −"));
        // Without the EX loss the point is simply better.
        let logs = grid(&[0.5, 0.8], 8, |w, s| {
            let d = if w == 0.8 { 0.04 } else { 0.0 };
            (0.80 + d + noise(w, s), 0.80 + noise(w + 1.0, s))
        });
        let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
        let r = rows.iter().find(|r| r.point == "static w1=0.8").unwrap();
        assert_eq!(r.verdict, Verdict::Better);
        assert!(!r.opposite_effects);
    }

    #[test]
    fn single_task_reference_uses_each_tasks_end() {
        // FV rises with w1 up to 0.7 and falls beyond; EX falls with w1.
        let fv = |w: f64| 0.80 + 0.1 * w - 0.2 * (w - 0.7).max(0.0);
        let logs = grid(&[0.0, 0.5, 0.7, 1.0], 6, |w, s| {
            (fv(w) + noise(w, s), 0.95 - 0.2 * w + noise(w + 2.0, s))
        });
        let opts = CompareOptions {
            reference: Reference::SingleTask,
            ..CompareOptions::default()
        };
        let rows = compare(&logs, "r", &opts).unwrap();
        let row = |l: &str| rows.iter().find(|r| r.point == l).unwrap();
        // FV against w1 = 1 (0.84): +3 points at 0.7; EX against w1 = 0 (0.95): −14 points.
        let r = row("static w1=0.7");
        assert!(
            (r.fv_delta.unwrap().summary.mean - 3.0).abs() < 0.5,
            "{r:?}"
        );
        assert!((r.ex_delta.unwrap().summary.mean + 14.0).abs() < 0.5);
        // Each end is the reference of its own task: not tested on it, tested on the other.
        assert!(row("static w1=1.0").fv_delta.is_none() && row("static w1=1.0").ex_delta.is_some());
        assert!(row("static w1=0.0").ex_delta.is_none() && row("static w1=0.0").fv_delta.is_some());
        // No point is the baseline; every point is tested on Δp.
        assert!(rows
            .iter()
            .all(|r| r.verdict != Verdict::Baseline && r.p_value.is_some()));
        // Δp of w1 = 0.7 against the ends: mean of +3/0.84·… and −14/95·…
        let want = delta_p([fv(0.7), 0.95 - 0.14], [fv(1.0), 0.95]);
        assert!((r.delta_p.unwrap().mean - want).abs() < 0.3);
        // Without an end the reference is an input error naming the flag.
        let logs = grid(&[0.5, 1.0], 3, |w, s| (0.8 + noise(w, s), 0.8));
        let err = compare(&logs, "r", &opts).unwrap_err().to_string();
        assert!(
            err.contains("--reference") && err.contains("static w1=0.0"),
            "{err}"
        );
    }

    #[test]
    fn a_static_point_dominates_what_it_beats_on_one_task_without_losing_the_other() {
        // w1 = 0.6 beats 0.9 on EX by 10 points and ties it on FV: it dominates 0.9. 0.3 is
        // better on EX than 0.6 but worse on FV: no domination between them.
        let logs = grid(&[0.3, 0.6, 0.9], 6, |w, s| {
            let (fv, ex) = match w {
                0.3 => (0.80, 0.95),
                0.6 => (0.90, 0.90),
                _ => (0.90, 0.80),
            };
            (fv + noise(w, s), ex + noise(w + 3.0, s))
        });
        let opts = CompareOptions {
            baseline: Some("static w1=0.6".into()),
            ..CompareOptions::default()
        };
        let rows = compare(&logs, "r", &opts).unwrap();
        let row = |l: &str| rows.iter().find(|r| r.point == l).unwrap();
        assert_eq!(
            row("static w1=0.9").dominated_by.as_deref(),
            Some("static w1=0.6")
        );
        assert_eq!(row("static w1=0.6").dominated_by, None);
        assert_eq!(dominance_text(row("static w1=0.6")), "not dominated");
        assert_eq!(row("static w1=0.3").dominated_by, None);
    }

    #[test]
    fn power_columns_follow_the_noncentral_t() {
        // Seven static points on 5 seeds; the tested points' Holm level is α/6.
        let logs = grid(&[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], 5, |w, s| {
            (0.8 + noise(w, s), 0.8 + noise(w + 5.0, s))
        });
        let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
        for r in rows.iter().filter(|r| r.verdict != Verdict::Baseline) {
            let p = r.power.unwrap();
            assert!((p.holm_level - 0.05 / 6.0).abs() < 1e-15);
            let sd = r.delta_p.unwrap().std.unwrap();
            assert_eq!(p.sd, sd);
            let want = minimum_detectable_effect(sd, 5, 0.05 / 6.0, 0.8).unwrap();
            assert_eq!(p.mde_holm, Some(want));
            // At the MDE the power is 80 %; the seeds for 1 % reach it, one fewer does not.
            let n = p.seeds_needed.unwrap();
            let pw = |n| crate::report::stats::paired_power(1.0, sd, n, 0.05 / 6.0).unwrap();
            assert!(pw(n) >= 0.8 && (n == 2 || pw(n - 1) < 0.8));
        }
        let text = power_table(&rows, &CompareOptions::default());
        assert!(text.contains("Holm's first level α/6"), "{text}");
        assert!(
            text.contains("Separating 1 % at Holm's level takes"),
            "{text}"
        );
    }

    #[test]
    fn missing_pairs_are_counted_and_warned_about() {
        let mut logs = grid(&[0.5, 0.7], 4, |w, s| {
            (0.8 + noise(w, s), 0.8 + noise(w, s))
        });
        logs.jobs
            .retain(|j| !(j.static_w1 == Some(0.7) && j.seed == 2));
        let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
        let r = rows.iter().find(|r| r.point == "static w1=0.7").unwrap();
        assert_eq!((r.paired_seeds, r.reference_seeds, r.seeds), (3, 4, 3));
        let w = warnings(&rows);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("3 of the reference's 4 seeds paired"));
        assert!(to_markdown(&rows, &CompareOptions::default()).contains("**Warning:**"));
    }
}
