//! `epochs.parquet` and `steps.parquet`: the contract's columns, per-task ones named after the
//! tasks (see [`crate::metrics`]), and [`JobSummary`], the per-job figures that the run index
//! and the reports share.
//!
//! Files written before a column existed read with its fallback: the raw weights read as the
//! normalised ones (those logs hold static, yin and l3 runs, whose raw weights are the
//! normalised ones), validation metrics as nulls.

use std::path::Path;

use super::table::{read_frame, transpose, FrameBuilder, FrameReader};
use crate::config::Job;
use crate::error::Result;
use crate::metrics::{column, EpochMetrics, PerTask, StepMetrics, STEP_SCALARS};
use crate::task::Tasks;

/// The columns that hold a static point's weights: `static_w1` for two tasks (the first
/// task's weight, as the paper's grid names it), `static_w_<task>` for more.
pub fn static_columns(tasks: &Tasks) -> Vec<String> {
    if tasks.len() == 2 {
        vec!["static_w1".to_string()]
    } else {
        tasks
            .iter()
            .map(|t| format!("static_w_{}", t.name))
            .collect()
    }
}

/// `static_w` as its columns hold it (see [`static_columns`]).
fn static_cells(static_w: &Option<Vec<f64>>, tasks: &Tasks) -> Vec<Option<f64>> {
    match static_w {
        Some(w) if tasks.len() == 2 => vec![Some(w[0])],
        Some(w) => w.iter().map(|x| Some(*x)).collect(),
        None => vec![None; static_columns(tasks).len()],
    }
}

/// The static weights of one row back from its columns.
fn static_weights(cells: &[Option<f64>]) -> Option<Vec<f64>> {
    match cells {
        [Some(w1)] => Some(vec![*w1, 1.0 - *w1]),
        _ if cells.len() > 1 && cells.iter().all(Option::is_some) => {
            Some(cells.iter().flatten().copied().collect())
        }
        _ => None,
    }
}

/// The columns of one per-task quantity, in task order.
fn per_task(quantity: PerTask, tasks: &Tasks) -> Vec<String> {
    tasks.iter().map(|t| column(quantity, t)).collect()
}

/// One row of `epochs.parquet`. Per-task values are in task order.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRow {
    /// Stable id of the job.
    pub run_id: String,
    /// Dataset label.
    pub dataset: String,
    /// Strategy name.
    pub strategy: String,
    /// The weights of a static job; `None` for dynamic strategies.
    pub static_w: Option<Vec<f64>>,
    /// Training seed.
    pub seed: i64,
    /// 1-based epoch.
    pub epoch: i64,
    /// Mean normalised weights over the epoch's steps (`w_<task>`).
    pub w: Vec<f64>,
    /// Mean task losses (`loss_<task>`).
    pub loss: Vec<f64>,
    /// Mean Σ w_i L_i.
    pub loss_total: f64,
    /// Mean L3 (`l3` only).
    pub loss_l3: Option<f64>,
    /// Each task's metric on the test split (`<task>_<metric>`; NaN where a trainer gave none).
    pub test: Vec<f64>,
    /// Wall seconds since the job started.
    pub elapsed_s: f64,
    /// Mean weights on the strategy's own scale (`raw_w_<task>`).
    pub raw_w: Vec<f64>,
    /// Each task's metric on the validation split (`val_<task>_<metric>`; null without one).
    pub val: Vec<Option<f64>>,
}

impl EpochRow {
    /// The row of `job` for one epoch's metrics.
    pub fn new(job: &Job, m: &EpochMetrics) -> Self {
        Self {
            run_id: job.run_id.clone(),
            dataset: job.dataset.name.clone(),
            strategy: job.strategy.name().to_string(),
            static_w: job.strategy.static_weights(),
            seed: job.seed as i64,
            epoch: m.epoch as i64,
            w: m.w.clone(),
            loss: m.loss.clone(),
            loss_total: m.loss_total,
            loss_l3: m.loss_l3,
            test: m.test.clone(),
            elapsed_s: m.elapsed_s,
            raw_w: m.raw_w.clone(),
            val: match &m.val {
                Some(v) => v.iter().map(|x| Some(*x)).collect(),
                None => vec![None; m.test.len()],
            },
        }
    }

    /// The first task's weight of a two-task static job.
    pub fn static_w1(&self) -> Option<f64> {
        match self.static_w.as_deref() {
            Some([w1, _]) => Some(*w1),
            _ => None,
        }
    }

    /// The column names of a log of `tasks`, in file order.
    pub fn columns(tasks: &Tasks) -> Vec<String> {
        let mut c: Vec<String> = ["run_id", "dataset", "strategy"].map(String::from).to_vec();
        c.extend(static_columns(tasks));
        c.extend(["seed", "epoch"].map(String::from));
        c.extend(per_task(PerTask::Weight, tasks));
        c.extend(per_task(PerTask::Loss, tasks));
        c.extend(STEP_SCALARS.map(String::from));
        c.extend(per_task(PerTask::Test, tasks));
        c.push("elapsed_s".into());
        c.extend(per_task(PerTask::RawWeight, tasks));
        c.extend(per_task(PerTask::Val, tasks));
        c
    }

    /// Write `rows` of a job of `tasks` to `path`, atomically.
    pub fn to_parquet(path: &Path, rows: &[Self], tasks: &Tasks) -> Result<()> {
        let mut f = FrameBuilder::new(rows.len());
        let col = |get: &dyn Fn(&Self) -> f64| rows.iter().map(get).collect::<Vec<f64>>();
        f.push("run_id", rows.iter().map(|r| r.run_id.clone()).collect());
        f.push("dataset", rows.iter().map(|r| r.dataset.clone()).collect());
        f.push(
            "strategy",
            rows.iter().map(|r| r.strategy.clone()).collect(),
        );
        for (k, name) in static_columns(tasks).iter().enumerate() {
            f.push(
                name,
                rows.iter()
                    .map(|r| static_cells(&r.static_w, tasks)[k])
                    .collect::<Vec<Option<f64>>>(),
            );
        }
        f.push("seed", rows.iter().map(|r| r.seed).collect());
        f.push("epoch", rows.iter().map(|r| r.epoch).collect());
        for (k, name) in per_task(PerTask::Weight, tasks).iter().enumerate() {
            f.push(name, col(&|r| r.w[k]));
        }
        for (k, name) in per_task(PerTask::Loss, tasks).iter().enumerate() {
            f.push(name, col(&|r| r.loss[k]));
        }
        f.push(STEP_SCALARS[0], col(&|r| r.loss_total));
        f.push(STEP_SCALARS[1], rows.iter().map(|r| r.loss_l3).collect());
        for (k, name) in per_task(PerTask::Test, tasks).iter().enumerate() {
            f.push(name, col(&|r| r.test[k]));
        }
        f.push("elapsed_s", col(&|r| r.elapsed_s));
        for (k, name) in per_task(PerTask::RawWeight, tasks).iter().enumerate() {
            f.push(name, col(&|r| r.raw_w[k]));
        }
        for (k, name) in per_task(PerTask::Val, tasks).iter().enumerate() {
            f.push(
                name,
                rows.iter().map(|r| r.val[k]).collect::<Vec<Option<f64>>>(),
            );
        }
        f.write(path)
    }

    /// The rows of the epoch log at `path` of a job of `tasks`.
    pub fn read(path: &Path, tasks: &Tasks) -> Result<Vec<Self>> {
        let df = read_frame(path)?;
        let f = FrameReader::new(&df, path);
        let h = f.height();
        let w = f.rows_of::<f64>(&per_task(PerTask::Weight, tasks))?;
        let raw_columns = per_task(PerTask::RawWeight, tasks)
            .iter()
            .zip(tasks.iter())
            .map(|(name, t)| f.get_or(name, || f.get(&column(PerTask::Weight, t))))
            .collect::<Result<Vec<Vec<f64>>>>()?;
        let val_columns = per_task(PerTask::Val, tasks)
            .iter()
            .map(|name| f.get_or(name, || Ok(vec![None; h])))
            .collect::<Result<Vec<Vec<Option<f64>>>>>()?;
        let statics = f.rows_of::<Option<f64>>(&static_columns(tasks))?;
        let run_id = f.get::<String>("run_id")?;
        let dataset = f.get::<String>("dataset")?;
        let strategy = f.get::<String>("strategy")?;
        let seed = f.get::<i64>("seed")?;
        let epoch = f.get::<i64>("epoch")?;
        let loss = f.rows_of::<f64>(&per_task(PerTask::Loss, tasks))?;
        let loss_total = f.get::<f64>(STEP_SCALARS[0])?;
        let loss_l3 = f.get::<Option<f64>>(STEP_SCALARS[1])?;
        let test = f.rows_of::<f64>(&per_task(PerTask::Test, tasks))?;
        let elapsed = f.get::<f64>("elapsed_s")?;
        let raw_w = transpose(raw_columns, h);
        let val = transpose(val_columns, h);
        Ok((0..h)
            .map(|r| Self {
                run_id: run_id[r].clone(),
                dataset: dataset[r].clone(),
                strategy: strategy[r].clone(),
                static_w: static_weights(&statics[r]),
                seed: seed[r],
                epoch: epoch[r],
                w: w[r].clone(),
                loss: loss[r].clone(),
                loss_total: loss_total[r],
                loss_l3: loss_l3[r],
                test: test[r].clone(),
                elapsed_s: elapsed[r],
                raw_w: raw_w[r].clone(),
                val: val[r].clone(),
            })
            .collect())
    }
}

/// One row of `steps.parquet`. Per-task values are in task order.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// Stable id of the job.
    pub run_id: String,
    /// 1-based epoch.
    pub epoch: i64,
    /// 1-based global step.
    pub step: i64,
    /// This step's normalised weights (`w_<task>`).
    pub w: Vec<f64>,
    /// This step's task losses (`loss_<task>`).
    pub loss: Vec<f64>,
    /// This step's weights on the strategy's own scale (`raw_w_<task>`).
    pub raw_w: Vec<f64>,
}

impl StepRow {
    /// The row of job `run_id` for one step's metrics.
    pub fn new(run_id: &str, m: &StepMetrics) -> Self {
        Self {
            run_id: run_id.to_string(),
            epoch: m.epoch as i64,
            step: m.step as i64,
            w: m.w.clone(),
            loss: m.loss.clone(),
            raw_w: m.raw_w.clone(),
        }
    }

    /// The column names of a log of `tasks`, in file order.
    pub fn columns(tasks: &Tasks) -> Vec<String> {
        let mut c: Vec<String> = ["run_id", "epoch", "step"].map(String::from).to_vec();
        c.extend(per_task(PerTask::Weight, tasks));
        c.extend(per_task(PerTask::Loss, tasks));
        c.extend(per_task(PerTask::RawWeight, tasks));
        c
    }

    /// Write `rows` of a job of `tasks` to `path`, atomically.
    pub fn to_parquet(path: &Path, rows: &[Self], tasks: &Tasks) -> Result<()> {
        let mut f = FrameBuilder::new(rows.len());
        f.push("run_id", rows.iter().map(|r| r.run_id.clone()).collect());
        f.push("epoch", rows.iter().map(|r| r.epoch).collect());
        f.push("step", rows.iter().map(|r| r.step).collect());
        type Values = fn(&StepRow) -> &Vec<f64>;
        let groups: [(PerTask, Values); 3] = [
            (PerTask::Weight, |r| &r.w),
            (PerTask::Loss, |r| &r.loss),
            (PerTask::RawWeight, |r| &r.raw_w),
        ];
        for (quantity, get) in groups {
            for (k, name) in per_task(quantity, tasks).iter().enumerate() {
                f.push(name, rows.iter().map(|r| get(r)[k]).collect::<Vec<f64>>());
            }
        }
        f.write(path)
    }

    /// The rows of the step log at `path` of a job of `tasks`.
    pub fn read(path: &Path, tasks: &Tasks) -> Result<Vec<Self>> {
        let df = read_frame(path)?;
        let f = FrameReader::new(&df, path);
        let h = f.height();
        let run_id = f.get::<String>("run_id")?;
        let epoch = f.get::<i64>("epoch")?;
        let step = f.get::<i64>("step")?;
        let w = f.rows_of::<f64>(&per_task(PerTask::Weight, tasks))?;
        let loss = f.rows_of::<f64>(&per_task(PerTask::Loss, tasks))?;
        let raw_columns = per_task(PerTask::RawWeight, tasks)
            .iter()
            .zip(tasks.iter())
            .map(|(name, t)| f.get_or(name, || f.get(&column(PerTask::Weight, t))))
            .collect::<Result<Vec<Vec<f64>>>>()?;
        let raw_w = transpose(raw_columns, h);
        Ok((0..h)
            .map(|r| Self {
                run_id: run_id[r].clone(),
                epoch: epoch[r],
                step: step[r],
                w: w[r].clone(),
                loss: loss[r].clone(),
                raw_w: raw_w[r].clone(),
            })
            .collect())
    }
}

/// What a finished job's epoch log sums up to: the figures of the run index, which the
/// reports read too. Per-task values are in task order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobSummary {
    /// Epochs logged.
    pub epochs: i64,
    /// Each task's metric at the last epoch.
    pub final_metrics: Vec<f64>,
    /// Each task's best metric over the epochs (highest or lowest, by its direction).
    pub best_metrics: Vec<f64>,
    /// The epoch with the best selection score of the test metrics (the last on ties; see
    /// [`selection_score`]).
    pub best_epoch: i64,
    /// Mean normalised weight of each task over the epochs.
    pub mean_w: Vec<f64>,
    /// The epoch that model selection picks: the best selection score of the validation
    /// metrics (the first on ties); `None` without a validation split.
    pub selected_epoch: Option<i64>,
    /// Each task's test metric at the selected epoch.
    pub selected_metrics: Option<Vec<f64>>,
}

/// The score by which model selection compares epochs: Σ_t ± M_t / scale_t over the tasks,
/// each metric turned so that higher is better and divided by its task's scale (for two
/// accuracies, their sum).
pub fn selection_score(metrics: &[f64], tasks: &Tasks) -> f64 {
    metrics
        .iter()
        .zip(tasks.iter())
        .map(|(m, t)| t.metric.direction().sign() * m / t.scale)
        .sum()
}

impl JobSummary {
    /// The summary of `rows` of a job of `tasks`; `None` for an empty log.
    pub fn of(rows: &[EpochRow], tasks: &Tasks) -> Option<Self> {
        let last = rows.last()?;
        let best = rows.iter().max_by(|a, b| {
            selection_score(&a.test, tasks).total_cmp(&selection_score(&b.test, tasks))
        })?;
        let selected = rows
            .iter()
            .filter_map(|r| {
                let val: Option<Vec<f64>> = r.val.iter().copied().collect();
                Some((r, selection_score(&val?, tasks)))
            })
            .fold(None::<(&EpochRow, f64)>, |best, (r, score)| match best {
                Some((_, b)) if b >= score => best,
                _ => Some((r, score)),
            })
            .map(|(r, _)| r);
        let n = rows.len() as f64;
        Some(Self {
            epochs: last.epoch,
            final_metrics: last.test.clone(),
            best_metrics: tasks
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    let values = rows.iter().map(|r| r.test[k]);
                    match t.metric.direction() {
                        crate::task::Direction::Higher => values.fold(f64::NAN, f64::max),
                        crate::task::Direction::Lower => values.fold(f64::NAN, f64::min),
                    }
                })
                .collect(),
            best_epoch: best.epoch,
            mean_w: (0..tasks.len())
                .map(|k| rows.iter().map(|r| r.w[k]).sum::<f64>() / n)
                .collect(),
            selected_epoch: selected.map(|r| r.epoch),
            selected_metrics: selected.map(|r| r.test.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runlog::table::write_frame;

    fn row(epoch: i64, fv: f64, ex: f64) -> EpochRow {
        EpochRow {
            run_id: "r".into(),
            dataset: "d".into(),
            strategy: "dynamic".into(),
            static_w: None,
            seed: 1,
            epoch,
            w: vec![0.25 * epoch as f64, 1.0 - 0.25 * epoch as f64],
            loss: vec![1.0, 2.0],
            loss_total: 3.0,
            loss_l3: Some(0.5),
            test: vec![fv, ex],
            elapsed_s: 1.0,
            raw_w: vec![0.1, 0.9],
            val: vec![None, None],
        }
    }

    fn names(p: &Path) -> Vec<String> {
        read_frame(p)
            .unwrap()
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// The two-task face log keeps the column names and order of every earlier version.
    #[test]
    fn two_task_columns_are_the_papers() {
        let two = Tasks::default();
        assert_eq!(
            EpochRow::columns(&two),
            [
                "run_id",
                "dataset",
                "strategy",
                "static_w1",
                "seed",
                "epoch",
                "w_fv",
                "w_ex",
                "loss_fv",
                "loss_ex",
                "loss_total",
                "loss_l3",
                "fv_acc",
                "ex_acc",
                "elapsed_s",
                "raw_w_fv",
                "raw_w_ex",
                "val_fv_acc",
                "val_ex_acc"
            ]
        );
        assert_eq!(
            StepRow::columns(&two),
            [
                "run_id", "epoch", "step", "w_fv", "w_ex", "loss_fv", "loss_ex", "raw_w_fv",
                "raw_w_ex"
            ]
        );
    }

    #[test]
    fn rows_round_trip_and_columns_follow_the_declaration() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("epochs.parquet");
        let two = Tasks::default();
        let mut rows = vec![row(1, 0.5, 0.6), row(2, 0.7, 0.4)];
        rows[1].static_w = Some(vec![0.3, 0.7]);
        rows[1].val = vec![Some(0.1), Some(0.2)];
        EpochRow::to_parquet(&p, &rows, &two).unwrap();
        assert_eq!(EpochRow::read(&p, &two).unwrap(), rows);
        assert_eq!(names(&p), EpochRow::columns(&two));
        // Three tasks: one column per task and quantity.
        let three: Tasks = serde_yaml::from_str("[fv, ex, pose]").unwrap();
        let mut r3 = row(1, 0.5, 0.6);
        r3.static_w = Some(vec![0.2, 0.3, 0.5]);
        r3.w.push(0.5);
        r3.loss.push(0.3);
        r3.test.push(2.5);
        r3.raw_w.push(0.5);
        r3.val.push(Some(3.0));
        EpochRow::to_parquet(&p, std::slice::from_ref(&r3), &three).unwrap();
        assert_eq!(EpochRow::read(&p, &three).unwrap(), vec![r3]);
        let cols = names(&p);
        for c in [
            "static_w_pose",
            "w_pose",
            "loss_pose",
            "pose_mae",
            "raw_w_pose",
            "val_pose_mae",
        ] {
            assert!(cols.iter().any(|x| x == c), "{c}: {cols:?}");
        }
        assert_eq!(cols, EpochRow::columns(&three));
        let steps = dir.path().join("steps.parquet");
        let s = StepRow {
            run_id: "r".into(),
            epoch: 1,
            step: 2,
            w: vec![0.2, 0.3, 0.5],
            loss: vec![1.0, 2.0, 3.0],
            raw_w: vec![0.4, 0.6, 1.0],
        };
        StepRow::to_parquet(&steps, std::slice::from_ref(&s), &three).unwrap();
        assert_eq!(StepRow::read(&steps, &three).unwrap(), vec![s]);
        assert_eq!(names(&steps), StepRow::columns(&three));
    }

    #[test]
    fn old_logs_without_raw_columns_read_the_normalised_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("steps.parquet");
        let two = Tasks::default();
        let rows = vec![StepRow::new(
            "r",
            &StepMetrics::new(1, 1, vec![0.6, 1.4], vec![1.0, 1.0], 2.0, None),
        )];
        StepRow::to_parquet(&p, &rows, &two).unwrap();
        let df = read_frame(&p)
            .unwrap()
            .drop("raw_w_fv")
            .unwrap()
            .drop("raw_w_ex")
            .unwrap();
        write_frame(&p, df).unwrap();
        let back = StepRow::read(&p, &two).unwrap();
        assert!((back[0].raw_w[0] - 0.3).abs() < 1e-12 && (back[0].raw_w[1] - 0.7).abs() < 1e-12);
    }

    #[test]
    fn summary_takes_last_best_and_mean() {
        let two = Tasks::default();
        let s = JobSummary::of(
            &[row(1, 0.5, 0.9), row(2, 0.8, 0.7), row(3, 0.6, 0.6)],
            &two,
        )
        .unwrap();
        assert_eq!((s.epochs, s.final_metrics.clone()), (3, vec![0.6, 0.6]));
        assert_eq!((s.best_metrics.clone(), s.best_epoch), (vec![0.8, 0.9], 2));
        assert!((s.mean_w[0] - 0.5).abs() < 1e-12);
        assert_eq!(s.selected_epoch, None);
        assert_eq!(JobSummary::of(&[], &two), None);
    }

    #[test]
    fn selection_takes_the_first_epoch_with_the_best_validation_score() {
        let two = Tasks::default();
        let val = |epoch, fv, ex, vf, ve| EpochRow {
            val: vec![Some(vf), Some(ve)],
            ..row(epoch, fv, ex)
        };
        // Validation peaks at epochs 2 and 4 (1.5 each); test accuracy peaks at 3.
        let rows = [
            val(1, 0.5, 0.5, 0.6, 0.6),
            val(2, 0.6, 0.7, 0.8, 0.7),
            val(3, 0.9, 0.9, 0.7, 0.7),
            val(4, 0.7, 0.8, 0.7, 0.8),
        ];
        let s = JobSummary::of(&rows, &two).unwrap();
        assert_eq!(s.selected_epoch, Some(2));
        assert_eq!(s.selected_metrics, Some(vec![0.6, 0.7]));
        assert_eq!(s.best_epoch, 3);
    }

    /// A lower-is-better metric counts against an epoch, in units of its task's scale.
    #[test]
    fn selection_reads_each_metric_in_its_direction_and_scale() {
        let three: Tasks =
            serde_yaml::from_str("[fv, ex, {name: pose, kind: regression, scale: 2.0}]").unwrap();
        let r = |epoch, pose_err: f64| EpochRow {
            static_w: None,
            w: vec![0.3, 0.3, 0.4],
            loss: vec![1.0; 3],
            test: vec![0.8, 0.8, pose_err],
            raw_w: vec![0.3, 0.3, 0.4],
            val: vec![Some(0.8), Some(0.8), Some(pose_err)],
            ..row(epoch, 0.0, 0.0)
        };
        // Epoch 2 has the smaller tilt error; equal accuracies.
        let s = JobSummary::of(&[r(1, 3.0), r(2, 1.0), r(3, 2.0)], &three).unwrap();
        assert_eq!((s.selected_epoch, s.best_epoch), (Some(2), 2));
        assert_eq!(s.best_metrics[2], 1.0);
        assert!((selection_score(&[0.8, 0.8, 1.0], &three) - (1.6 - 0.5)).abs() < 1e-12);
    }

    #[test]
    fn old_logs_without_validation_columns_read_as_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("epochs.parquet");
        let two = Tasks::default();
        let mut rows = vec![row(1, 0.5, 0.6)];
        rows[0].val = vec![Some(0.4), None];
        EpochRow::to_parquet(&p, &rows, &two).unwrap();
        let df = read_frame(&p)
            .unwrap()
            .drop("val_fv_acc")
            .unwrap()
            .drop("val_ex_acc")
            .unwrap();
        write_frame(&p, df).unwrap();
        let back = EpochRow::read(&p, &two).unwrap();
        assert_eq!(back[0].val, vec![None, None]);
        assert_eq!(back[0].test[0], 0.5);
    }
}
