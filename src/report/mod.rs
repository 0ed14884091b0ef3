//! [`SweepLogs`]: what researchers take away from a sweep folder, read with polars from its
//! parquet files (no sweep process needed): Figure-2 style plots ([`figures`]), a comparison
//! table with confidence intervals, seed-paired tests and verdicts against a baseline point
//! ([`compare`], on [`stats`]) and trajectory diffs between two folders ([`diff`]).

pub mod claims;
pub mod compare;
pub mod diff;
pub mod figures;
pub mod html;
mod load;
pub mod noise;
pub mod rescore;
pub mod sequential;
pub mod stats;

pub use load::{mean_std, JobLogs, Metric, Point, SweepLogs};

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Everything `report plot` and `report html` write for the sweep folder `dirs[0]` (or the
/// pool of `dirs`' seeds) into `out` (default `reports/<sweep name>`): the figures and, beside
/// them, the page `report.html`. Returns the files written.
pub fn publish(
    dirs: &[PathBuf],
    out: Option<PathBuf>,
    opts: &compare::CompareOptions,
) -> Result<Vec<PathBuf>> {
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

/// The sweep logs of the folders `dirs`, each labelled by its path, or with `pool` one entry
/// that pools their seeds (labelled by the paths joined with ` + `).
pub fn load_folders(dirs: &[PathBuf], pool: bool) -> Result<Vec<(String, SweepLogs)>> {
    if pool {
        let label = dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ");
        return Ok(vec![(label, SweepLogs::load_pooled(dirs)?)]);
    }
    dirs.iter()
        .map(|d| Ok((d.display().to_string(), SweepLogs::load(d)?)))
        .collect()
}

/// The comparison rows of every folder of `dirs` (pooled into one with `pool`) in one table,
/// and `opts` with the metric the logs can answer (`selected` reads `final` when no job has a
/// validation split). Folders of other tasks cannot share one table: an input error names
/// them.
pub fn compare_folders(
    dirs: &[PathBuf],
    pool: bool,
    opts: &compare::CompareOptions,
) -> Result<(Vec<compare::CompareRow>, compare::CompareOptions)> {
    let all = load_folders(dirs, pool)?;
    if let Some((first, rest)) = all.split_first() {
        if let Some((other, logs)) = rest.iter().find(|(_, l)| l.tasks != first.1.tasks) {
            return Err(Error::input(
                "DIR",
                "DIR",
                format!(
                    "{} has the tasks {} and {other} has {}: compare them one by one",
                    first.0,
                    first.1.tasks.names().join(", "),
                    logs.tasks.names().join(", ")
                ),
            ));
        }
    }
    let mut opts = opts.clone();
    if all
        .iter()
        .all(|(_, logs)| logs.effective(opts.metric) != opts.metric)
    {
        opts.metric = Metric::Final;
    }
    let mut rows = Vec::new();
    for (label, logs) in &all {
        rows.extend(compare::compare(logs, label, &opts)?);
    }
    for w in compare::warnings(&rows) {
        tracing::warn!("{w}");
    }
    Ok((rows, opts))
}
