//! `report compare`: one row per (dataset, strategy point) with accuracies over seeds and Δp
//! against equal static weights, sorted by Δp within each dataset.

use super::load::{mean_std, Metric, SweepLogs};

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
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
    /// Mean FV accuracy over seeds.
    pub fv_mean: f64,
    /// Its sample standard deviation (None for one seed).
    pub fv_std: Option<f64>,
    /// Mean EX accuracy over seeds.
    pub ex_mean: f64,
    /// Its sample standard deviation.
    pub ex_std: Option<f64>,
    /// Mean over seeds of the epoch with the best FV + EX accuracy.
    pub best_epoch: f64,
    /// Mean w_fv over training (all epochs, all seeds).
    pub mean_w_fv: f64,
    /// Mean wall seconds per job.
    pub wall_s: Option<f64>,
    /// Δp in percent against static w1 = 0.5 of the same dataset (LibMTL's definition:
    /// mean over tasks of (M − M_base) / M_base; higher is better). None without a baseline.
    pub delta_p: Option<f64>,
}

/// Δp in percent of accuracies `m` against `base` (both tasks higher-is-better).
pub fn delta_p(m: [f64; 2], base: [f64; 2]) -> f64 {
    100.0 * ((m[0] - base[0]) / base[0] + (m[1] - base[1]) / base[1]) / 2.0
}

/// The comparison rows of `logs` under `metric`.
pub fn compare(logs: &SweepLogs, metric: Metric) -> Vec<CompareRow> {
    let mut rows: Vec<CompareRow> = logs
        .points()
        .iter()
        .map(|p| {
            let acc: Vec<(f64, f64)> = p.jobs.iter().map(|j| j.accuracy(metric)).collect();
            let (fv_mean, fv_std) = mean_std(&acc.iter().map(|a| a.0).collect::<Vec<_>>());
            let (ex_mean, ex_std) = mean_std(&acc.iter().map(|a| a.1).collect::<Vec<_>>());
            let best: Vec<f64> = p.jobs.iter().map(|j| j.summary.best_epoch as f64).collect();
            let w: Vec<f64> = p
                .jobs
                .iter()
                .flat_map(|j| j.epochs.iter().map(|r| r.w_fv))
                .collect();
            let walls: Vec<f64> = p.jobs.iter().filter_map(|j| j.wall_s).collect();
            CompareRow {
                dataset: p.dataset.clone(),
                point: p.label.clone(),
                strategy: p.strategy.clone(),
                static_w1: p.static_w1,
                seeds: p.jobs.len(),
                fv_mean,
                fv_std,
                ex_mean,
                ex_std,
                best_epoch: mean_std(&best).0,
                mean_w_fv: mean_std(&w).0,
                wall_s: (!walls.is_empty()).then(|| mean_std(&walls).0),
                delta_p: None,
            }
        })
        .collect();
    let bases: Vec<(String, [f64; 2])> = rows
        .iter()
        .filter(|r| r.static_w1 == Some(0.5))
        .map(|r| (r.dataset.clone(), [r.fv_mean, r.ex_mean]))
        .collect();
    for r in rows.iter_mut() {
        if let Some((_, base)) = bases.iter().find(|b| b.0 == r.dataset) {
            r.delta_p = Some(delta_p([r.fv_mean, r.ex_mean], *base));
        }
    }
    let order: Vec<String> = logs.datasets();
    rows.sort_by(|a, b| {
        let da = order.iter().position(|d| *d == a.dataset);
        let db = order.iter().position(|d| *d == b.dataset);
        da.cmp(&db).then_with(|| {
            b.delta_p
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.delta_p.unwrap_or(f64::NEG_INFINITY))
        })
    });
    rows
}

fn pm(mean: f64, std: Option<f64>) -> String {
    match std {
        Some(s) => format!("{mean:.4} ± {s:.4}"),
        None => format!("{mean:.4}"),
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or(String::new(), |x| format!("{x:.digits$}"))
}

/// A Markdown table of `rows`.
pub fn to_markdown(rows: &[CompareRow], metric: Metric) -> String {
    let mut s = format!(
        "| dataset | strategy | seeds | FV acc ({m}) | EX acc ({m}) | Δp vs w1=0.5 (%) | best epoch | mean w_fv | wall s |\n|---|---|---|---|---|---|---|---|---|\n",
        m = metric.as_str()
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.3} | {} |\n",
            r.dataset,
            r.point,
            r.seeds,
            pm(r.fv_mean, r.fv_std),
            pm(r.ex_mean, r.ex_std),
            r.delta_p.map_or("".into(), |d| format!("{d:+.2}")),
            r.best_epoch,
            r.mean_w_fv,
            opt(r.wall_s, 1)
        ));
    }
    s
}

/// A CSV table of `rows` (full precision, empty cells for missing values).
pub fn to_csv(rows: &[CompareRow]) -> String {
    let mut s = String::from(
        "dataset,strategy,seeds,fv_acc_mean,fv_acc_std,ex_acc_mean,ex_acc_std,delta_p,best_epoch,mean_w_fv,wall_s\n",
    );
    let f = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r.dataset,
            r.point,
            r.seeds,
            r.fv_mean,
            f(r.fv_std),
            r.ex_mean,
            f(r.ex_std),
            f(r.delta_p),
            r.best_epoch,
            r.mean_w_fv,
            f(r.wall_s)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_p_is_libmtl_mean_relative_gain() {
        assert_eq!(delta_p([0.9, 0.8], [0.9, 0.8]), 0.0);
        // +10 % on one task, −5 % on the other → +2.5 %
        assert!((delta_p([0.99, 0.76], [0.9, 0.8]) - 2.5).abs() < 1e-9);
    }
}
