//! `runs.parquet`: one row per job of the sweep with its state and final and best metrics.

use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};

/// One row of the run index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexRow {
    /// Stable id of the job.
    pub run_id: String,
    /// Dataset label.
    pub dataset: String,
    /// Strategy name.
    pub strategy: String,
    /// The fixed w1 of a static job.
    pub static_w1: Option<f64>,
    /// Training seed.
    pub seed: i64,
    /// pending | running | done | failed.
    pub status: String,
    /// Why the job failed.
    pub reason: Option<String>,
    /// Epochs logged.
    pub epochs: Option<i64>,
    /// Accuracies of the last epoch.
    pub final_fv_acc: Option<f64>,
    /// See `final_fv_acc`.
    pub final_ex_acc: Option<f64>,
    /// Highest accuracy over epochs.
    pub best_fv_acc: Option<f64>,
    /// See `best_fv_acc`.
    pub best_ex_acc: Option<f64>,
    /// Epoch with the highest mean of the two accuracies.
    pub best_epoch: Option<i64>,
    /// Mean w_fv over training.
    pub mean_w_fv: Option<f64>,
    /// Wall seconds of the job.
    pub wall_s: Option<f64>,
}

/// Write the index `rows` to `path` (atomically).
pub fn write_index(path: &Path, rows: &[IndexRow]) -> Result<()> {
    let opt = |name: &str, get: fn(&IndexRow) -> Option<f64>| {
        Column::new(
            name.into(),
            rows.iter().map(get).collect::<Vec<Option<f64>>>(),
        )
    };
    let columns = vec![
        Column::new(
            "run_id".into(),
            rows.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "dataset".into(),
            rows.iter().map(|r| r.dataset.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "strategy".into(),
            rows.iter().map(|r| r.strategy.as_str()).collect::<Vec<_>>(),
        ),
        opt("static_w1", |r| r.static_w1),
        Column::new(
            "seed".into(),
            rows.iter().map(|r| r.seed).collect::<Vec<i64>>(),
        ),
        Column::new(
            "status".into(),
            rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "reason".into(),
            rows.iter()
                .map(|r| r.reason.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            "epochs".into(),
            rows.iter().map(|r| r.epochs).collect::<Vec<Option<i64>>>(),
        ),
        opt("final_fv_acc", |r| r.final_fv_acc),
        opt("final_ex_acc", |r| r.final_ex_acc),
        opt("best_fv_acc", |r| r.best_fv_acc),
        opt("best_ex_acc", |r| r.best_ex_acc),
        Column::new(
            "best_epoch".into(),
            rows.iter()
                .map(|r| r.best_epoch)
                .collect::<Vec<Option<i64>>>(),
        ),
        opt("mean_w_fv", |r| r.mean_w_fv),
        opt("wall_s", |r| r.wall_s),
    ];
    let df = DataFrame::new(rows.len(), columns).map_err(|e| Error::log(path, e))?;
    super::parquet::to_parquet(path, df)
}
