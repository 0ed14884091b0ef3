//! `epochs.parquet` and `steps.parquet`: the contract's columns, written with polars.

use std::path::Path;

use polars::prelude::*;

use super::atomic_write;
use crate::error::{Error, Result};

/// One row of `epochs.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRow {
    /// Stable id of the job.
    pub run_id: String,
    /// Dataset label.
    pub dataset: String,
    /// Strategy name.
    pub strategy: String,
    /// The fixed w1 of a static job; `None` for dynamic strategies.
    pub static_w1: Option<f64>,
    /// Training seed.
    pub seed: i64,
    /// 1-based epoch.
    pub epoch: i64,
    /// Mean w_fv over the epoch's steps, the weights normalised to sum 1.
    pub w_fv: f64,
    /// Mean w_ex over the epoch's steps, the weights normalised to sum 1.
    pub w_ex: f64,
    /// Mean L1.
    pub loss_fv: f64,
    /// Mean L2.
    pub loss_ex: f64,
    /// Mean Σ w_i L_i.
    pub loss_total: f64,
    /// Mean L3 (`l3` only).
    pub loss_l3: Option<f64>,
    /// Face-verification accuracy on the test pairs.
    pub fv_acc: f64,
    /// Expression accuracy on the test images.
    pub ex_acc: f64,
    /// Wall seconds since the job started.
    pub elapsed_s: f64,
    /// Mean w_fv on the strategy's own scale (e.g. summing to 2 for dwa and gradnorm).
    pub raw_w_fv: f64,
    /// Mean w_ex on the strategy's own scale.
    pub raw_w_ex: f64,
}

/// The epoch with the highest sum of the two accuracies (the first on ties).
pub fn best_epoch(rows: &[EpochRow]) -> Option<i64> {
    rows.iter()
        .max_by(|a, b| (a.fv_acc + a.ex_acc).total_cmp(&(b.fv_acc + b.ex_acc)))
        .map(|r| r.epoch)
}

/// One row of `steps.parquet` (the run id is added when writing).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRow {
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based global step.
    pub step: usize,
    /// This step's w_fv.
    pub w_fv: f64,
    /// This step's w_ex.
    pub w_ex: f64,
    /// This step's L1.
    pub loss_fv: f64,
    /// This step's L2.
    pub loss_ex: f64,
    /// This step's w_fv on the strategy's own scale.
    pub raw_w_fv: f64,
    /// This step's w_ex on the strategy's own scale.
    pub raw_w_ex: f64,
}

/// Encode `df` as parquet and write it to `path` atomically.
pub(super) fn to_parquet(path: &Path, mut df: DataFrame) -> Result<()> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .finish(&mut df)
        .map_err(|e| Error::log(path, format!("cannot encode parquet: {e}")))?;
    atomic_write(path, &bytes)
}

fn frame(path: &Path, height: usize, columns: Vec<Column>) -> Result<DataFrame> {
    DataFrame::new(height, columns).map_err(|e| Error::log(path, e))
}

/// Write `rows` to `path` (atomically).
pub fn write_epochs(path: &Path, rows: &[EpochRow]) -> Result<()> {
    let f64s = |name: &str, get: fn(&EpochRow) -> f64| {
        Column::new(name.into(), rows.iter().map(get).collect::<Vec<f64>>())
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
        Column::new(
            "static_w1".into(),
            rows.iter()
                .map(|r| r.static_w1)
                .collect::<Vec<Option<f64>>>(),
        ),
        Column::new(
            "seed".into(),
            rows.iter().map(|r| r.seed).collect::<Vec<i64>>(),
        ),
        Column::new(
            "epoch".into(),
            rows.iter().map(|r| r.epoch).collect::<Vec<i64>>(),
        ),
        f64s("w_fv", |r| r.w_fv),
        f64s("w_ex", |r| r.w_ex),
        f64s("loss_fv", |r| r.loss_fv),
        f64s("loss_ex", |r| r.loss_ex),
        f64s("loss_total", |r| r.loss_total),
        Column::new(
            "loss_l3".into(),
            rows.iter().map(|r| r.loss_l3).collect::<Vec<Option<f64>>>(),
        ),
        f64s("fv_acc", |r| r.fv_acc),
        f64s("ex_acc", |r| r.ex_acc),
        f64s("elapsed_s", |r| r.elapsed_s),
        f64s("raw_w_fv", |r| r.raw_w_fv),
        f64s("raw_w_ex", |r| r.raw_w_ex),
    ];
    let df = frame(path, rows.len(), columns)?;
    to_parquet(path, df)
}

/// Write the step `rows` of job `run_id` to `path` (atomically).
pub fn write_steps(path: &Path, run_id: &str, rows: &[StepRow]) -> Result<()> {
    let f64s = |name: &str, get: fn(&StepRow) -> f64| {
        Column::new(name.into(), rows.iter().map(get).collect::<Vec<f64>>())
    };
    let columns = vec![
        Column::new("run_id".into(), vec![run_id; rows.len()]),
        Column::new(
            "epoch".into(),
            rows.iter().map(|r| r.epoch as i64).collect::<Vec<i64>>(),
        ),
        Column::new(
            "step".into(),
            rows.iter().map(|r| r.step as i64).collect::<Vec<i64>>(),
        ),
        f64s("w_fv", |r| r.w_fv),
        f64s("w_ex", |r| r.w_ex),
        f64s("loss_fv", |r| r.loss_fv),
        f64s("loss_ex", |r| r.loss_ex),
        f64s("raw_w_fv", |r| r.raw_w_fv),
        f64s("raw_w_ex", |r| r.raw_w_ex),
    ];
    let df = frame(path, rows.len(), columns)?;
    to_parquet(path, df)
}

/// Read a parquet file written by weightlab.
pub fn read_frame(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    ParquetReader::new(file)
        .finish()
        .map_err(|e| Error::log(path, format!("unreadable parquet: {e}")))
}

fn f64_col(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Option<f64>>> {
    let col = df
        .column(name)
        .map_err(|_| Error::log(path, format!("missing column {name}")))?;
    let ca = col
        .f64()
        .map_err(|e| Error::log(path, format!("column {name}: {e}")))?;
    Ok(ca.iter().collect())
}

/// A column that logs written before it existed lack: `fallback` then.
fn f64_col_or(
    df: &DataFrame,
    path: &Path,
    name: &str,
    fallback: &[Option<f64>],
) -> Result<Vec<Option<f64>>> {
    if df.column(name).is_ok() {
        f64_col(df, path, name)
    } else {
        Ok(fallback.to_vec())
    }
}

fn i64_col(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<i64>> {
    let col = df
        .column(name)
        .map_err(|_| Error::log(path, format!("missing column {name}")))?;
    let ca = col
        .i64()
        .map_err(|e| Error::log(path, format!("column {name}: {e}")))?;
    Ok(ca.iter().map(|v| v.unwrap_or_default()).collect())
}

fn str_col(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<String>> {
    let col = df
        .column(name)
        .map_err(|_| Error::log(path, format!("missing column {name}")))?;
    let ca = col
        .str()
        .map_err(|e| Error::log(path, format!("column {name}: {e}")))?;
    Ok(ca
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

/// Read `epochs.parquet` back into rows.
pub fn read_epochs(path: &Path) -> Result<Vec<EpochRow>> {
    let df = read_frame(path)?;
    let run_id = str_col(&df, path, "run_id")?;
    let dataset = str_col(&df, path, "dataset")?;
    let strategy = str_col(&df, path, "strategy")?;
    let static_w1 = f64_col(&df, path, "static_w1")?;
    let seed = i64_col(&df, path, "seed")?;
    let epoch = i64_col(&df, path, "epoch")?;
    let g = |n: &str| f64_col(&df, path, n);
    let (w_fv, w_ex, loss_fv, loss_ex) = (g("w_fv")?, g("w_ex")?, g("loss_fv")?, g("loss_ex")?);
    // Logs from before the raw columns hold static, yin and l3 runs, whose raw weights are the
    // normalised ones.
    let raw_w_fv = f64_col_or(&df, path, "raw_w_fv", &w_fv)?;
    let raw_w_ex = f64_col_or(&df, path, "raw_w_ex", &w_ex)?;
    let (loss_total, loss_l3, fv_acc, ex_acc, elapsed_s) = (
        g("loss_total")?,
        g("loss_l3")?,
        g("fv_acc")?,
        g("ex_acc")?,
        g("elapsed_s")?,
    );
    Ok((0..df.height())
        .map(|i| EpochRow {
            run_id: run_id[i].clone(),
            dataset: dataset[i].clone(),
            strategy: strategy[i].clone(),
            static_w1: static_w1[i],
            seed: seed[i],
            epoch: epoch[i],
            w_fv: w_fv[i].unwrap_or(f64::NAN),
            w_ex: w_ex[i].unwrap_or(f64::NAN),
            loss_fv: loss_fv[i].unwrap_or(f64::NAN),
            loss_ex: loss_ex[i].unwrap_or(f64::NAN),
            loss_total: loss_total[i].unwrap_or(f64::NAN),
            loss_l3: loss_l3[i],
            fv_acc: fv_acc[i].unwrap_or(f64::NAN),
            ex_acc: ex_acc[i].unwrap_or(f64::NAN),
            elapsed_s: elapsed_s[i].unwrap_or(f64::NAN),
            raw_w_fv: raw_w_fv[i].unwrap_or(f64::NAN),
            raw_w_ex: raw_w_ex[i].unwrap_or(f64::NAN),
        })
        .collect())
}

/// Read `steps.parquet` back into rows.
pub fn read_steps(path: &Path) -> Result<Vec<StepRow>> {
    let df = read_frame(path)?;
    let epoch = i64_col(&df, path, "epoch")?;
    let step = i64_col(&df, path, "step")?;
    let g = |n: &str| f64_col(&df, path, n);
    let (w_fv, w_ex, loss_fv, loss_ex) = (g("w_fv")?, g("w_ex")?, g("loss_fv")?, g("loss_ex")?);
    let raw_w_fv = f64_col_or(&df, path, "raw_w_fv", &w_fv)?;
    let raw_w_ex = f64_col_or(&df, path, "raw_w_ex", &w_ex)?;
    Ok((0..df.height())
        .map(|i| StepRow {
            epoch: epoch[i] as usize,
            step: step[i] as usize,
            w_fv: w_fv[i].unwrap_or(f64::NAN),
            w_ex: w_ex[i].unwrap_or(f64::NAN),
            loss_fv: loss_fv[i].unwrap_or(f64::NAN),
            loss_ex: loss_ex[i].unwrap_or(f64::NAN),
            raw_w_fv: raw_w_fv[i].unwrap_or(f64::NAN),
            raw_w_ex: raw_w_ex[i].unwrap_or(f64::NAN),
        })
        .collect())
}
