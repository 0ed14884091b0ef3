//! `report noise`: how much of a study's per-seed spread of Δp is test-set sampling and how
//! much is training. Every done job's trained model is scored again on fresh test splits of its
//! synthetic dataset (new test identities drawn with other generator seeds, the same number of
//! them), so that for each seed the spread over draws is the test split's sampling noise and
//! the spread of the per-seed means over seeds is training's. That says whether a larger test
//! split (cheap: evaluation is forward-only) or more seeds (a training run each) narrows the
//! study's intervals.
//!
//! With Δp_{s,k} the paired Δp of seed s on draw k (K draws):
//! - test-sampling variance V_test = mean over seeds of the variance over draws;
//! - training variance V_train = variance over seeds of the per-seed mean − V_test / K;
//! - the variance of one draw, what a study sees, V_train + V_test; with a test split f times
//!   larger, V_train + V_test / f.

use std::collections::BTreeMap;
use std::path::Path;

use super::compare::{delta_p, CompareOptions};
use super::load::SweepLogs;
use crate::config::BackendKind;
use crate::data::{DatasetSource, DatasetSpec, FaceSet, Split};
use crate::error::{Error, Result};
use crate::runlog::RunDir;
use crate::train::{evaluate, evaluation_pairs, EVAL_BATCH};

/// The variance split of one point's paired Δp against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseRow {
    /// Dataset label.
    pub dataset: String,
    /// Point label.
    pub point: String,
    /// Seeds paired with the baseline.
    pub seeds: usize,
    /// Test identities of one draw.
    pub test_identities: usize,
    /// Test draws scored per job (the study's own test split included).
    pub draws: usize,
    /// Mean over seeds and draws of the paired Δp (%).
    pub mean: f64,
    /// Test-sampling variance of the per-seed Δp (%²).
    pub var_test: f64,
    /// Training variance of the per-seed Δp (%²).
    pub var_train: f64,
}

impl NoiseRow {
    /// The standard deviation of the per-seed Δp with a test split `factor` times as large.
    pub fn sd_with(&self, factor: f64) -> f64 {
        (self.var_train + self.var_test / factor).sqrt()
    }

    /// The share of one draw's variance that is test sampling.
    pub fn test_share(&self) -> f64 {
        let total = self.var_train + self.var_test;
        if total > 0.0 {
            self.var_test / total
        } else {
            0.0
        }
    }
}

/// The synthetic dataset `spec` with its generator seed moved by `draw`, so that its test
/// identities are new ones (draw 0 is `spec` itself).
fn redraw(spec: &DatasetSpec, draw: usize) -> Option<DatasetSpec> {
    let DatasetSource::Synthetic(cfg) = &spec.source else {
        return None;
    };
    let mut cfg = cfg.clone();
    cfg.seed = cfg.seed.wrapping_add(1_000_003 * draw as u64);
    Some(DatasetSpec {
        name: spec.name.clone(),
        source: DatasetSource::Synthetic(cfg),
    })
}

/// The variance split of every point of the sweep in `dir` against `baseline` (by default
/// the comparison's, see [`CompareOptions::baseline_label`]), from `draws` test splits per job
/// (the job's own and `draws − 1` fresh ones). Only synthetic datasets can draw fresh test
/// identities; jobs on other datasets are left out.
pub fn noise(
    dir: &Path,
    draws: usize,
    baseline: Option<&str>,
    device: BackendKind,
) -> Result<Vec<NoiseRow>> {
    if draws < 2 {
        return Err(Error::input("--draws", "draws", "must be ≥ 2"));
    }
    let logs = SweepLogs::load(dir)?;
    let opts = CompareOptions {
        baseline: baseline.map(str::to_string),
        ..CompareOptions::default()
    };
    let baseline = opts.baseline_label(&logs.tasks);
    let run_dir = RunDir::new(dir);
    let device = device.device()?;
    // Draws are shared by every job of a dataset: generate each once.
    let mut splits: BTreeMap<(String, usize), (FaceSet, Split)> = BTreeMap::new();
    // (dataset, point label) → seed → accuracies per draw.
    type PerSeed = BTreeMap<i64, Vec<Vec<f64>>>;
    let mut scores: BTreeMap<(String, String), PerSeed> = BTreeMap::new();
    let mut test_ids: BTreeMap<String, usize> = BTreeMap::new();
    let points = logs.points();
    for p in &points {
        for job in &p.jobs {
            let jd = run_dir.job(&job.run_id);
            let Some(record) = jd.read_record()? else {
                continue;
            };
            let spec = &record.job.dataset;
            let DatasetSource::Synthetic(cfg) = &spec.source else {
                continue;
            };
            test_ids.insert(p.dataset.clone(), cfg.test_identities);
            let (net, _, face) = super::rescore::trained_model(&jd, &record, &device)?;
            let mut per_draw = Vec::with_capacity(draws);
            for k in 0..draws {
                let key = (p.dataset.clone(), k);
                if !splits.contains_key(&key) {
                    let drawn = redraw(spec, k).ok_or_else(|| {
                        Error::Failed("only synthetic datasets can be redrawn".into())
                    })?;
                    splits.insert(key.clone(), drawn.load()?);
                }
                let (set, split) = &splits[&key];
                let pairs = evaluation_pairs(set, split);
                per_draw.push(evaluate(
                    &net,
                    set,
                    &split.test,
                    &pairs,
                    EVAL_BATCH,
                    &device,
                    &face,
                ));
            }
            scores
                .entry((p.dataset.clone(), p.label.clone()))
                .or_default()
                .insert(job.seed, per_draw);
            tracing::info!(run_id = %job.run_id, draws, "scored on fresh test splits");
        }
    }
    let mut rows = Vec::new();
    for p in &points {
        let key = (p.dataset.clone(), p.label.clone());
        let (Some(mine), Some(base)) = (
            scores.get(&key),
            scores.get(&(p.dataset.clone(), baseline.to_string())),
        ) else {
            continue;
        };
        if p.label == baseline {
            continue;
        }
        // Per seed: the paired Δp of every draw.
        let per_seed: Vec<Vec<f64>> = mine
            .iter()
            .filter_map(|(seed, m)| {
                base.get(seed).map(|b| {
                    m.iter()
                        .zip(b)
                        .map(|(m, b)| delta_p(m, b, &logs.tasks))
                        .collect()
                })
            })
            .collect();
        if per_seed.len() < 2 {
            continue;
        }
        let var = |v: &[f64]| {
            let n = v.len() as f64;
            let m = v.iter().sum::<f64>() / n;
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
        };
        let var_test = per_seed.iter().map(|d| var(d)).sum::<f64>() / per_seed.len() as f64;
        let means: Vec<f64> = per_seed
            .iter()
            .map(|d| d.iter().sum::<f64>() / d.len() as f64)
            .collect();
        let var_train = (var(&means) - var_test / draws as f64).max(0.0);
        rows.push(NoiseRow {
            dataset: p.dataset.clone(),
            point: p.label.clone(),
            seeds: per_seed.len(),
            test_identities: test_ids.get(&p.dataset).copied().unwrap_or(0),
            draws,
            mean: means.iter().sum::<f64>() / means.len() as f64,
            var_test,
            var_train,
        });
    }
    if rows.is_empty() {
        return Err(Error::input(
            dir.display().to_string(),
            "DIR",
            format!(
                "no synthetic-dataset point with two seeds paired with `{baseline}` and a kept model"
            ),
        ));
    }
    Ok(rows)
}

/// The rows as CSV.
pub fn to_csv(rows: &[NoiseRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "dataset",
        "strategy",
        "seeds",
        "test_identities",
        "draws",
        "delta_p",
        "var_test",
        "var_train",
        "test_share",
        "sd_delta_p",
        "sd_delta_p_test_x2",
        "sd_delta_p_test_x4",
        "sd_delta_p_test_x8",
        "sd_delta_p_train_only",
    ]);
    for r in rows {
        let _ = w.write_record([
            r.dataset.clone(),
            r.point.clone(),
            r.seeds.to_string(),
            r.test_identities.to_string(),
            r.draws.to_string(),
            r.mean.to_string(),
            r.var_test.to_string(),
            r.var_train.to_string(),
            r.test_share().to_string(),
            r.sd_with(1.0).to_string(),
            r.sd_with(2.0).to_string(),
            r.sd_with(4.0).to_string(),
            r.sd_with(8.0).to_string(),
            r.var_train.sqrt().to_string(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The rows as a text table with a closing line on the median point.
pub fn to_table(rows: &[NoiseRow]) -> String {
    let mut s = format!(
        "{:<10} {:<40} {:>5} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
        "dataset", "point", "seeds", "test %", "SD Δp", "SD ×2", "SD ×4", "SD ×8", "SD train"
    );
    for r in rows {
        s.push_str(&format!(
            "{:<10} {:<40} {:>5} {:>7.0}% {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3}\n",
            r.dataset,
            r.point,
            r.seeds,
            100.0 * r.test_share(),
            r.sd_with(1.0),
            r.sd_with(2.0),
            r.sd_with(4.0),
            r.sd_with(8.0),
            r.var_train.sqrt()
        ));
    }
    let mut shares: Vec<f64> = rows.iter().map(NoiseRow::test_share).collect();
    shares.sort_by(f64::total_cmp);
    let median = shares[shares.len() / 2];
    s.push_str(&format!(
        "\nTest sampling is {:.0} % of the per-seed variance of Δp for the median point \
         ({} test identities, {} draws per job); SD ×f: with a test split f times as large.\n",
        100.0 * median,
        rows[0].test_identities,
        rows[0].draws
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variance_split_projects_with_the_test_size() {
        let r = NoiseRow {
            dataset: "d".into(),
            point: "p".into(),
            seeds: 5,
            test_identities: 12,
            draws: 4,
            mean: 0.0,
            var_test: 3.0,
            var_train: 1.0,
        };
        assert_eq!(r.sd_with(1.0), 2.0);
        assert_eq!(r.sd_with(3.0), 2f64.sqrt());
        assert_eq!(r.test_share(), 0.75);
        let spec = DatasetSpec {
            name: "s".into(),
            source: DatasetSource::Synthetic(Default::default()),
        };
        assert_eq!(redraw(&spec, 0), Some(spec.clone()));
        let DatasetSource::Synthetic(moved) = redraw(&spec, 2).unwrap().source else {
            unreachable!()
        };
        assert_ne!(moved.seed, 7);
    }
}
