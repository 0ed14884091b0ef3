//! [`SweepLogs`]: what researchers take away from a sweep folder, read with polars from its
//! parquet files (no sweep process needed): Figure-2 style plots ([`figures`]), a comparison
//! table with confidence intervals, seed-paired tests and verdicts against a baseline point
//! ([`compare`], on [`stats`]) and trajectory diffs between two folders ([`diff`]).

pub mod compare;
pub mod diff;
pub mod figures;
pub mod html;
mod load;
pub mod noise;
pub mod rescore;
pub mod stats;

pub use load::{mean_std, JobLogs, Metric, Point, SweepLogs};

use std::path::PathBuf;

/// Everything `report plot` and `report html` write for the sweep folder `dirs[0]` (or the
/// pool of `dirs`' seeds) into `out` (default `reports/<sweep name>`): the figures and, beside
/// them, the page `report.html`. Returns the files written.
pub fn publish(
    dirs: &[PathBuf],
    out: Option<PathBuf>,
    opts: &compare::CompareOptions,
) -> crate::error::Result<Vec<PathBuf>> {
    let logs = if dirs.len() == 1 {
        SweepLogs::load(&dirs[0])?
    } else {
        SweepLogs::load_pooled(dirs)?
    };
    let folder = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let out = out.unwrap_or_else(|| PathBuf::from("reports").join(&logs.name));
    let opts = &compare::CompareOptions {
        metric: logs.effective(opts.metric),
        ..opts.clone()
    };
    let mut written = figures::plot_all(&logs, &out, opts)?;
    let rows = compare::compare(&logs, &folder, opts)?;
    written.push(html::write(dirs, &out, &logs.name, &rows, opts)?);
    Ok(written)
}
