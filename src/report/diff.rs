//! `report diff`: compare every logged trajectory of two sweep folders, run by run.

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::runlog::{read_frame, RunDir, LOG_FILES};

/// Columns left out of the comparison: wall-clock time differs between any two runs.
pub const TIME_COLUMNS: [&str; 1] = ["elapsed_s"];

/// One compared (run, file, column).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDiff {
    /// The run.
    pub run_id: String,
    /// `epochs.parquet` or `steps.parquet`.
    pub file: String,
    /// The column.
    pub column: String,
    /// Largest absolute difference (infinite when shapes, nulls or strings differ).
    pub max_abs: f64,
}

/// The outcome of a diff.
#[derive(Debug, Clone, Default)]
pub struct DiffReport {
    /// Every compared column.
    pub columns: Vec<ColumnDiff>,
    /// Runs finished in A only.
    pub only_a: Vec<String>,
    /// Runs finished in B only.
    pub only_b: Vec<String>,
}

impl DiffReport {
    /// Whether A and B agree within `tol` and have the same runs.
    pub fn within(&self, tol: f64) -> bool {
        self.only_a.is_empty()
            && self.only_b.is_empty()
            && self.columns.iter().all(|c| c.max_abs <= tol)
    }

    /// A human table: the largest difference per run and column, offenders marked.
    pub fn render(&self, tol: f64) -> String {
        let mut s = String::new();
        for r in &self.only_a {
            s.push_str(&format!("missing in B: {r}\n"));
        }
        for r in &self.only_b {
            s.push_str(&format!("missing in A: {r}\n"));
        }
        for c in &self.columns {
            let mark = if c.max_abs <= tol { "ok  " } else { "DIFF" };
            s.push_str(&format!(
                "{mark} {:<44} {:<15} {:<11} {:.3e}\n",
                c.run_id, c.file, c.column, c.max_abs
            ));
        }
        let bad = self.columns.iter().filter(|c| c.max_abs > tol).count();
        s.push_str(&format!(
            "{} runs compared, {} columns beyond tol {tol:e}, {} runs missing\n",
            self.columns
                .iter()
                .map(|c| &c.run_id)
                .collect::<BTreeSet<_>>()
                .len(),
            bad,
            self.only_a.len() + self.only_b.len()
        ));
        s
    }
}

fn done_runs(dir: &Path) -> Result<BTreeSet<String>> {
    Ok(RunDir::new(dir)
        .done_jobs()?
        .iter()
        .map(|jd| jd.run_id())
        .collect())
}

fn column_diff(a: &Column, b: &Column) -> f64 {
    if a.len() != b.len() || a.dtype() != b.dtype() || a.null_count() != b.null_count() {
        return f64::INFINITY;
    }
    if let (Ok(x), Ok(y)) = (a.f64(), b.f64()) {
        let mut worst = 0f64;
        for (p, q) in x.iter().zip(y.iter()) {
            match (p, q) {
                (Some(p), Some(q)) if p.is_nan() && q.is_nan() => {}
                (Some(p), Some(q)) => worst = worst.max((p - q).abs()),
                (None, None) => {}
                _ => return f64::INFINITY,
            }
        }
        return if worst.is_nan() { f64::INFINITY } else { worst };
    }
    if let (Ok(x), Ok(y)) = (a.i64(), b.i64()) {
        return x
            .iter()
            .zip(y.iter())
            .map(|(p, q)| match (p, q) {
                (Some(p), Some(q)) => (p - q).unsigned_abs() as f64,
                (None, None) => 0.0,
                _ => f64::INFINITY,
            })
            .fold(0.0, f64::max);
    }
    if a.equals_missing(b) {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Compare the finished runs of folders `a` and `b`.
pub fn diff(a: &Path, b: &Path) -> Result<DiffReport> {
    let (ra, rb) = (done_runs(a)?, done_runs(b)?);
    let mut report = DiffReport {
        only_a: ra.difference(&rb).cloned().collect(),
        only_b: rb.difference(&ra).cloned().collect(),
        ..DiffReport::default()
    };
    let (da, db) = (RunDir::new(a), RunDir::new(b));
    for run_id in ra.intersection(&rb) {
        for file in LOG_FILES {
            let fa = read_frame(&da.job(run_id).root().join(file))?;
            let fb = read_frame(&db.job(run_id).root().join(file))?;
            let names: BTreeSet<String> = fa
                .get_column_names()
                .iter()
                .chain(fb.get_column_names().iter())
                .map(|s| s.to_string())
                .filter(|n| !TIME_COLUMNS.contains(&n.as_str()))
                .collect();
            for name in names {
                // A column that one side's version did not write yet equals one of nulls.
                let all_null = |c: &Column| c.null_count() == c.len();
                let max_abs = match (fa.column(&name), fb.column(&name)) {
                    (Ok(x), Ok(y)) => column_diff(x, y),
                    (Ok(x), Err(_)) | (Err(_), Ok(x)) if all_null(x) => 0.0,
                    _ => f64::INFINITY,
                };
                report.columns.push(ColumnDiff {
                    run_id: run_id.clone(),
                    file: file.to_string(),
                    column: name,
                    max_abs,
                });
            }
        }
    }
    Ok(report)
}
