//! `report compare`: one row per (dataset, strategy point) with accuracies over seeds, their
//! confidence intervals, and the point against a baseline point of the same dataset: the
//! per-seed paired Δp, its mean and interval, a paired t-test with Holm's correction over the
//! dataset's points, and a verdict. Sorted by Δp within each dataset.
//!
//! Jobs with the same seed are pairs: every strategy of one seed starts from the same
//! parameters and sees the same batches in the same order (common random numbers), so the
//! per-seed difference removes the seed's own luck from the comparison.

use std::collections::BTreeMap;

use super::load::{mean_std, Metric, Point, SweepLogs};
use super::stats::{holm, PairedTest, Summary};
use crate::error::{Error, Result};

/// The point every other is compared with unless `--baseline` names another.
pub const DEFAULT_BASELINE: &str = "static w1=0.5";

/// How `compare` compares.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Which epoch stands for a job.
    pub metric: Metric,
    /// The baseline point's label; `None`: [`DEFAULT_BASELINE`] where a dataset has it.
    pub baseline: Option<String>,
    /// Significance level of the verdicts, after Holm's correction.
    pub alpha: f64,
    /// Level of the confidence intervals.
    pub level: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            metric: Metric::Final,
            baseline: None,
            alpha: 0.05,
            level: 0.95,
        }
    }
}

impl CompareOptions {
    /// The baseline's label.
    pub fn baseline_label(&self) -> &str {
        self.baseline.as_deref().unwrap_or(DEFAULT_BASELINE)
    }
}

/// What the paired test says about a point against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Δp > 0 and the Holm-adjusted p-value below α.
    Better,
    /// Δp < 0 and the Holm-adjusted p-value below α.
    Worse,
    /// Tested, not significant.
    Tie,
    /// The baseline itself.
    Baseline,
    /// Fewer than two seeds paired with the baseline (or no baseline): no test.
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

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    /// The sweep folder the point comes from, as given on the command line.
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
    /// FV accuracy over seeds: mean, std, confidence interval.
    pub fv: Summary,
    /// EX accuracy over seeds.
    pub ex: Summary,
    /// Mean over seeds of the epoch with the best FV + EX accuracy.
    pub best_epoch: f64,
    /// Mean w_fv over training (all epochs, all seeds).
    pub mean_w_fv: f64,
    /// Mean wall seconds per job.
    pub wall_s: Option<f64>,
    /// Per-seed paired Δp in percent against the baseline (LibMTL's definition: mean over
    /// tasks of (M − M_base) / M_base; higher is better): its mean, spread and interval over
    /// the paired seeds. `None` without a baseline or a shared seed.
    pub delta_p: Option<Summary>,
    /// Two-sided paired t-test p-value of the per-seed Δp.
    pub p_value: Option<f64>,
    /// `p_value` after Holm's correction over the tested points of the dataset.
    pub p_holm: Option<f64>,
    /// The verdict at the options' α.
    pub verdict: Verdict,
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

/// The comparison rows of one sweep folder, labelled `folder`. An explicit baseline that no
/// dataset has is an input error naming `--baseline` and the labels there are.
pub fn compare(logs: &SweepLogs, folder: &str, opts: &CompareOptions) -> Result<Vec<CompareRow>> {
    let points = logs.points();
    let label = opts.baseline_label();
    if opts.baseline.is_some() && !points.iter().any(|p| p.label == label) {
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
        let base = mine
            .iter()
            .find(|p| p.label == label)
            .map(|p| by_seed(p, opts.metric));
        let first = rows.len();
        for p in &mine {
            let acc = by_seed(p, opts.metric);
            let fv: Vec<f64> = acc.values().map(|a| a[0]).collect();
            let ex: Vec<f64> = acc.values().map(|a| a[1]).collect();
            let paired: Vec<f64> = base
                .as_ref()
                .map(|b| {
                    acc.iter()
                        .filter_map(|(seed, m)| b.get(seed).map(|b| delta_p(*m, *b)))
                        .collect()
                })
                .unwrap_or_default();
            let is_base = p.label == label;
            let test = (!is_base)
                .then(|| PairedTest::of(&paired, opts.level))
                .flatten();
            let w: Vec<f64> = p
                .jobs
                .iter()
                .flat_map(|j| j.epochs.iter().map(|r| r.w_fv))
                .collect();
            let best: Vec<f64> = p.jobs.iter().map(|j| j.summary.best_epoch as f64).collect();
            let walls: Vec<f64> = p.jobs.iter().filter_map(|j| j.wall_s).collect();
            rows.push(CompareRow {
                folder: folder.to_string(),
                dataset: dataset.clone(),
                point: p.label.clone(),
                strategy: p.strategy.clone(),
                static_w1: p.static_w1,
                seeds: p.jobs.len(),
                fv: Summary::of(&fv, opts.level),
                ex: Summary::of(&ex, opts.level),
                best_epoch: mean_std(&best).0,
                mean_w_fv: mean_std(&w).0,
                wall_s: (!walls.is_empty()).then(|| mean_std(&walls).0),
                delta_p: (!paired.is_empty()).then(|| Summary::of(&paired, opts.level)),
                p_value: test.map(|t| t.p),
                p_holm: None,
                verdict: if is_base {
                    Verdict::Baseline
                } else {
                    Verdict::Untested
                },
            });
        }
        // Holm over the dataset's tested points, then the verdicts.
        let tested: Vec<usize> = (first..rows.len())
            .filter(|&i| rows[i].p_value.is_some())
            .collect();
        let p: Vec<f64> = tested.iter().filter_map(|&i| rows[i].p_value).collect();
        for (&i, adjusted) in tested.iter().zip(holm(&p)) {
            let r = &mut rows[i];
            r.p_holm = Some(adjusted);
            let mean = r.delta_p.map_or(0.0, |d| d.mean);
            r.verdict = if adjusted < opts.alpha && mean > 0.0 {
                Verdict::Better
            } else if adjusted < opts.alpha && mean < 0.0 {
                Verdict::Worse
            } else {
                Verdict::Tie
            };
        }
        rows[first..].sort_by(|a, b| {
            let key = |r: &CompareRow| r.delta_p.map_or(f64::NEG_INFINITY, |d| d.mean);
            key(b).total_cmp(&key(a))
        });
    }
    Ok(rows)
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

/// A Markdown table of `rows`, with a folder column when they come from several folders, and
/// a note that says how to read it.
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
        "| dataset | strategy | seeds | FV acc ({m}) | EX acc ({m}) | Δp vs {} (%) | p | p (Holm) | verdict | best epoch | mean w_fv | wall s |\n",
        opts.baseline_label()
    ));
    if folders {
        s.push_str("|---");
    }
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        if folders {
            s.push_str(&format!("| {} ", r.folder));
        }
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.3} | {} |\n",
            r.dataset,
            r.point,
            r.seeds,
            acc_cell(&r.fv),
            acc_cell(&r.ex),
            delta_cell(&r.delta_p),
            p_cell(r.p_value),
            p_cell(r.p_holm),
            r.verdict.as_str(),
            r.best_epoch,
            r.mean_w_fv,
            opt(r.wall_s, 1)
        ));
    }
    let level = (opts.level * 100.0).round();
    s.push_str(&format!(
        "\nAccuracy: mean ± std over seeds [{level} % confidence interval, Student t]. Δp: mean over \
         the seeds shared with {} of the per-seed Δp (mean over tasks of (M − M_base) / M_base), \
         [{level} % CI]. p: two-sided paired t-test; Holm over the tested points of each dataset; \
         verdict at α = {} after Holm (blank: fewer than two paired seeds).\n",
        opts.baseline_label(),
        opts.alpha
    ));
    s
}

/// A CSV table of `rows` (full precision, empty cells for missing values).
pub fn to_csv(rows: &[CompareRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
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
    ]);
    let f = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for r in rows {
        let d_ci = r.delta_p.and_then(|d| d.ci);
        let _ = w.write_record([
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
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
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

    #[test]
    fn points_are_paired_by_seed_and_judged_after_holm() {
        // Baseline: FV 0.80, EX 0.80 on seeds 1..3. `good` is 0.88 on every task and seed
        // (Δp +10 % each seed: certain), `noisy` is +10, −10, +1 % (a tie), `lone` has a
        // seed the baseline lacks (no pair, no test).
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
        let logs = SweepLogs {
            name: "t".into(),
            jobs,
        };
        let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
        let row = |l: &str| rows.iter().find(|r| r.point == l).unwrap();
        let good = row("static w1=0.3");
        assert!((good.delta_p.unwrap().mean - 10.0).abs() < 1e-9);
        assert_eq!(good.p_value, Some(0.0));
        assert_eq!(good.verdict, Verdict::Better);
        let noisy = row("static w1=0.7");
        assert!((noisy.delta_p.unwrap().mean - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(noisy.verdict, Verdict::Tie);
        // Two tested points: the smallest p is doubled (0 stays 0), the other kept.
        assert!((noisy.p_holm.unwrap() - noisy.p_value.unwrap()).abs() < 1e-12);
        assert_eq!(row("static w1=0.5").verdict, Verdict::Baseline);
        assert_eq!(row("static w1=0.9").verdict, Verdict::Untested);
        assert_eq!(row("static w1=0.9").delta_p, None);
        // Best Δp first.
        assert_eq!(rows[0].point, "static w1=0.3");
        let csv = to_csv(&rows);
        assert!(csv
            .lines()
            .next()
            .unwrap()
            .ends_with("p_value,p_holm,verdict,folder"));
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
}
