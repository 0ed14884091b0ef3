//! `runs.parquet`: one row per job of the sweep with its state and final, best and selected
//! metrics, one column per task and figure (`final_fv_acc`, `best_pose_mae`,
//! `selected_ex_acc`, `mean_w_pose`).

use std::path::Path;

use super::parquet::{static_columns, JobSummary};
use super::status::JobState;
use super::table::{read_frame, transpose, FrameBuilder, FrameReader};
use crate::config::Job;
use crate::error::Result;
use crate::task::Tasks;

/// One row of the run index. Per-task values are in task order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexRow {
    /// Stable id of the job.
    pub run_id: String,
    /// Dataset label.
    pub dataset: String,
    /// Strategy name.
    pub strategy: String,
    /// The weights of a static job.
    pub static_w: Option<Vec<f64>>,
    /// Training seed.
    pub seed: i64,
    /// pending | running | done | failed.
    pub status: String,
    /// Why the job failed.
    pub reason: Option<String>,
    /// Wall seconds of the job.
    pub wall_s: Option<f64>,
    /// What the epoch log sums up to (a done job).
    pub summary: Option<JobSummary>,
}

/// The figures of the index, in column order: (prefix of the per-task columns, getter).
type Figure = (&'static str, fn(&JobSummary) -> Option<&Vec<f64>>);

const FIGURES: [Figure; 4] = [
    ("final", |s| Some(&s.final_metrics)),
    ("best", |s| Some(&s.best_metrics)),
    ("mean_w", |s| Some(&s.mean_w)),
    ("selected", |s| s.selected_metrics.as_ref()),
];

/// The per-task columns of figure `prefix`: `final_fv_acc`, …, `mean_w_fv`.
fn figure_columns(prefix: &str, tasks: &Tasks) -> Vec<String> {
    tasks
        .iter()
        .map(|t| match prefix {
            "mean_w" => format!("mean_w_{}", t.name),
            _ => format!("{prefix}_{}", t.metric_column()),
        })
        .collect()
}

impl IndexRow {
    /// The row of `job` in `state`, with its failure reason and wall time from its status
    /// file, and the summary of its epoch log when it is done.
    pub fn new(
        job: &Job,
        state: JobState,
        reason: Option<&str>,
        wall_s: Option<f64>,
        summary: Option<&JobSummary>,
    ) -> Self {
        Self {
            run_id: job.run_id.clone(),
            dataset: job.dataset.name.clone(),
            strategy: job.strategy.name().to_string(),
            static_w: job.strategy.static_weights(),
            seed: job.seed as i64,
            status: state.as_str().to_string(),
            reason: reason.map(str::to_string),
            wall_s,
            summary: summary.cloned(),
        }
    }

    /// Write the index `rows` of a sweep of `tasks` to `path`, atomically.
    pub fn to_parquet(path: &Path, rows: &[Self], tasks: &Tasks) -> Result<()> {
        let mut f = FrameBuilder::new(rows.len());
        f.push("run_id", rows.iter().map(|r| r.run_id.clone()).collect());
        f.push("dataset", rows.iter().map(|r| r.dataset.clone()).collect());
        f.push(
            "strategy",
            rows.iter().map(|r| r.strategy.clone()).collect(),
        );
        for (k, name) in static_columns(tasks).iter().enumerate() {
            let cell = |r: &Self| match (&r.static_w, tasks.len()) {
                (Some(w), 2) => Some(w[0]),
                (Some(w), _) => Some(w[k]),
                (None, _) => None,
            };
            f.push(name, rows.iter().map(cell).collect::<Vec<Option<f64>>>());
        }
        f.push("seed", rows.iter().map(|r| r.seed).collect());
        f.push("status", rows.iter().map(|r| r.status.clone()).collect());
        f.push("reason", rows.iter().map(|r| r.reason.clone()).collect());
        fn summary(r: &IndexRow) -> Option<&JobSummary> {
            r.summary.as_ref()
        }
        f.push(
            "epochs",
            rows.iter()
                .map(|r| summary(r).map(|s| s.epochs))
                .collect::<Vec<Option<i64>>>(),
        );
        for (prefix, get) in FIGURES {
            for (k, name) in figure_columns(prefix, tasks).iter().enumerate() {
                f.push(
                    name,
                    rows.iter()
                        .map(|r| summary(r).and_then(get).map(|v| v[k]))
                        .collect::<Vec<Option<f64>>>(),
                );
            }
        }
        f.push(
            "best_epoch",
            rows.iter()
                .map(|r| summary(r).map(|s| s.best_epoch))
                .collect::<Vec<Option<i64>>>(),
        );
        f.push(
            "selected_epoch",
            rows.iter()
                .map(|r| summary(r).and_then(|s| s.selected_epoch))
                .collect::<Vec<Option<i64>>>(),
        );
        f.push("wall_s", rows.iter().map(|r| r.wall_s).collect());
        f.write(path)
    }

    /// The rows of the index at `path` of a sweep of `tasks`.
    pub fn read(path: &Path, tasks: &Tasks) -> Result<Vec<Self>> {
        let df = read_frame(path)?;
        let f = FrameReader::new(&df, path);
        let h = f.height();
        let run_id = f.get::<String>("run_id")?;
        let dataset = f.get::<String>("dataset")?;
        let strategy = f.get::<String>("strategy")?;
        let statics = f.rows_of::<Option<f64>>(&static_columns(tasks))?;
        let seed = f.get::<i64>("seed")?;
        let status = f.get::<String>("status")?;
        let reason = f.get::<Option<String>>("reason")?;
        let epochs = f.get::<Option<i64>>("epochs")?;
        let best_epoch = f.get::<Option<i64>>("best_epoch")?;
        let selected_epoch = f.get_or::<Option<i64>>("selected_epoch", || Ok(vec![None; h]))?;
        let wall_s = f.get::<Option<f64>>("wall_s")?;
        let mut figures: Vec<Vec<Vec<Option<f64>>>> = Vec::new();
        for (prefix, _) in FIGURES {
            let columns = figure_columns(prefix, tasks)
                .iter()
                .map(|n| f.get_or::<Option<f64>>(n, || Ok(vec![None; h])))
                .collect::<Result<Vec<_>>>()?;
            figures.push(transpose(columns, h));
        }
        let all = |v: &Vec<Option<f64>>| v.iter().copied().collect::<Option<Vec<f64>>>();
        Ok((0..h)
            .map(|r| {
                let summary = epochs[r].map(|e| JobSummary {
                    epochs: e,
                    final_metrics: all(&figures[0][r]).unwrap_or_default(),
                    best_metrics: all(&figures[1][r]).unwrap_or_default(),
                    best_epoch: best_epoch[r].unwrap_or_default(),
                    mean_w: all(&figures[2][r]).unwrap_or_default(),
                    selected_epoch: selected_epoch[r],
                    selected_metrics: all(&figures[3][r]),
                });
                let cells = &statics[r];
                let static_w = match cells[..] {
                    [Some(w1)] => Some(vec![w1, 1.0 - w1]),
                    _ if cells.len() > 1 => cells.iter().copied().collect(),
                    _ => None,
                };
                Self {
                    run_id: run_id[r].clone(),
                    dataset: dataset[r].clone(),
                    strategy: strategy[r].clone(),
                    static_w,
                    seed: seed[r],
                    status: status[r].clone(),
                    reason: reason[r].clone(),
                    wall_s: wall_s[r],
                    summary,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_round_trips_and_names_a_column_per_task() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("runs.parquet");
        let three: Tasks = serde_yaml::from_str("[fv, ex, pose]").unwrap();
        let done = IndexRow {
            run_id: "a".into(),
            dataset: "d".into(),
            strategy: "static".into(),
            static_w: Some(vec![0.2, 0.3, 0.5]),
            seed: 1,
            status: "done".into(),
            reason: None,
            wall_s: Some(2.0),
            summary: Some(JobSummary {
                epochs: 3,
                final_metrics: vec![0.8, 0.7, 2.5],
                best_metrics: vec![0.9, 0.8, 2.0],
                best_epoch: 2,
                mean_w: vec![0.2, 0.3, 0.5],
                selected_epoch: Some(2),
                selected_metrics: Some(vec![0.85, 0.75, 2.2]),
            }),
        };
        let failed = IndexRow {
            run_id: "b".into(),
            status: "failed".into(),
            reason: Some("why".into()),
            ..IndexRow::default()
        };
        let rows = vec![done, failed];
        IndexRow::to_parquet(&p, &rows, &three).unwrap();
        assert_eq!(IndexRow::read(&p, &three).unwrap(), rows);
        let names: Vec<String> = read_frame(&p)
            .unwrap()
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        for c in [
            "final_pose_mae",
            "best_fv_acc",
            "mean_w_pose",
            "selected_ex_acc",
            "static_w_pose",
        ] {
            assert!(names.iter().any(|n| n == c), "{c}: {names:?}");
        }
    }
}
