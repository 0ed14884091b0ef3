//! The per-seed values behind the comparison (`report seeds`): for every job, the epoch that
//! stands for it and each task's metric there, and its paired Δp against the reference of the
//! same seed. A report's sentences about single seeds ("at chance on 13 of 40 seeds") are
//! counted from this table.

use std::collections::BTreeMap;

use super::reference::ReferenceSeeds;
use super::{delta_p, CompareOptions};
use crate::error::Result;
use crate::report::load::{Point, SweepLogs};

/// One job's row.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRow {
    /// The sweep folder(s).
    pub folder: String,
    /// Dataset label.
    pub dataset: String,
    /// Strategy point label.
    pub point: String,
    /// Training seed.
    pub seed: i64,
    /// The job's run id.
    pub run_id: String,
    /// The epoch that stands for the job under the options' metric.
    pub epoch: i64,
    /// Each task's metric at that epoch, in task order.
    pub metrics: Vec<f64>,
    /// Each task's mean normalised weight over the job's epochs.
    pub mean_w: Vec<f64>,
    /// Δp (%) against the reference of the same seed; `None` without one.
    pub delta_p: Option<f64>,
    /// The job's wall seconds, as its status logged them.
    pub wall_s: Option<f64>,
}

/// The rows of every job of `logs` (labelled `folder`), by dataset, point and seed.
pub fn per_seed(logs: &SweepLogs, folder: &str, opts: &CompareOptions) -> Result<Vec<SeedRow>> {
    let points = logs.points();
    let mut rows = Vec::new();
    for dataset in logs.datasets() {
        let mine: Vec<&Point<'_>> = points.iter().filter(|p| p.dataset == dataset).collect();
        let reference = ReferenceSeeds::of(&mine, &logs.tasks, opts, folder, &dataset)?;
        let empty = BTreeMap::new();
        let base = reference.as_ref().map_or(&empty, |r| &r.metrics);
        for p in &mine {
            for j in &p.jobs {
                let metrics = j.metrics(opts.metric);
                rows.push(SeedRow {
                    folder: folder.to_string(),
                    dataset: dataset.clone(),
                    point: p.label.clone(),
                    seed: j.seed,
                    run_id: j.run_id.clone(),
                    epoch: j.epoch(opts.metric),
                    delta_p: base.get(&j.seed).map(|b| delta_p(&metrics, b, &logs.tasks)),
                    mean_w: j.summary.mean_w.clone(),
                    wall_s: j.wall_s,
                    metrics,
                });
            }
        }
    }
    Ok(rows)
}

/// The rows as CSV (full precision): folder, dataset, point, seed, run id, epoch, one column
/// per task's metric and mean weight, Δp and the job's wall seconds.
pub fn seeds_csv(rows: &[SeedRow], tasks: &crate::task::Tasks) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["folder", "dataset", "strategy", "seed", "run_id", "epoch"]
        .map(String::from)
        .to_vec();
    header.extend(tasks.iter().map(|t| t.metric_column()));
    header.extend(tasks.iter().map(|t| format!("mean_w_{}", t.name)));
    header.extend(["delta_p".into(), "wall_s".into()]);
    let _ = w.write_record(&header);
    for r in rows {
        let mut record = vec![
            r.folder.clone(),
            r.dataset.clone(),
            r.point.clone(),
            r.seed.to_string(),
            r.run_id.clone(),
            r.epoch.to_string(),
        ];
        record.extend(r.metrics.iter().map(|m| m.to_string()));
        record.extend(r.mean_w.iter().map(|m| m.to_string()));
        record.push(r.delta_p.map_or(String::new(), |d| d.to_string()));
        record.push(r.wall_s.map_or(String::new(), |d| d.to_string()));
        let _ = w.write_record(&record);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
