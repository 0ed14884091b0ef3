//! [`SweepLogs`]: what researchers take away from a sweep folder, read with polars from its
//! parquet files (no sweep process needed): Figure-2 style plots ([`figures`]), a comparison
//! table with confidence intervals, seed-paired tests and verdicts against a baseline point
//! ([`compare`], on [`stats`]) and trajectory diffs between two folders ([`diff`]).

pub mod compare;
pub mod diff;
pub mod eval;
pub mod figures;
pub mod html;
mod load;
pub mod stats;

pub use load::{mean_std, JobLogs, Metric, Point, SweepLogs};

use std::path::{Path, PathBuf};

/// Everything `report plot` and `report html` write for the sweep folder `dir` into `out`
/// (default `reports/<sweep name>`): the figures and, beside them, the page `report.html`.
/// Returns the files written.
pub fn publish(
    dir: &Path,
    out: Option<PathBuf>,
    opts: &compare::CompareOptions,
) -> crate::error::Result<Vec<PathBuf>> {
    let logs = SweepLogs::load(dir)?;
    let out = out.unwrap_or_else(|| PathBuf::from("reports").join(&logs.name));
    let mut written = figures::plot_all(&logs, &out, opts)?;
    let rows = compare::compare(&logs, &dir.display().to_string(), opts)?;
    written.push(html::write(dir, &out, &logs.name, &rows, opts)?);
    Ok(written)
}
