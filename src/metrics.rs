//! What training measures: [`StepMetrics`] for one step, [`EpochMeans`] over an epoch's steps,
//! [`EpochMetrics`] for one epoch with its evaluation, and the names of their log columns.
//!
//! The logged quantities are declared once here: per task, the raw and the normalised weight
//! and the loss of every step, and the task's metric on the test and the validation split
//! after every epoch; per step, the total loss and the strategy's own term. The column of a
//! per-task quantity is named after its task ([`column`]): `w_fv`, `loss_pose`, `fv_acc`,
//! `val_pose_mae`. Training fills these types and `runlog` stores them, so neither depends on
//! the other.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::task::{Task, Tasks};

/// A per-task quantity, one column per task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerTask {
    /// The task's weight on the strategy's own scale (e.g. summing to T for dwa and gradnorm).
    RawWeight,
    /// The weight normalised so that the weights sum to 1, comparable across strategies.
    Weight,
    /// The task's training loss (for `fv`, identity cross-entropy plus center loss).
    Loss,
    /// The task's metric on the test split.
    Test,
    /// The task's metric on the validation split (null without one).
    Val,
}

/// The column of `quantity` for `task`: `raw_w_fv`, `w_fv`, `loss_fv`, `fv_acc`, `val_fv_acc`.
pub fn column(quantity: PerTask, task: &Task) -> String {
    match quantity {
        PerTask::RawWeight => format!("raw_w_{}", task.name),
        PerTask::Weight => format!("w_{}", task.name),
        PerTask::Loss => format!("loss_{}", task.name),
        PerTask::Test => task.metric_column(),
        PerTask::Val => task.val_column(),
    }
}

/// The per-task quantities of every step, in the order of [`StepMetrics`]' log columns.
pub const STEP_QUANTITIES: [PerTask; 3] = [PerTask::Weight, PerTask::Loss, PerTask::RawWeight];

/// The scalar columns of a step: the total loss and the strategy's own term (`l3` only).
pub const STEP_SCALARS: [&str; 2] = ["loss_total", "loss_l3"];

/// What one training step measured, read back from the device in one transfer. Per-task values
/// are in task order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based global step.
    pub step: usize,
    /// Weights on the strategy's own scale.
    pub raw_w: Vec<f64>,
    /// Weights normalised to sum 1.
    pub w: Vec<f64>,
    /// Task losses.
    pub loss: Vec<f64>,
    /// Σ w_i L_i with the raw weights.
    pub loss_total: f64,
    /// The strategy's own loss term (L3 for `l3`).
    pub loss_l3: Option<f64>,
}

impl StepMetrics {
    /// The metrics of a step from its raw weights (normalised here), losses and scalars.
    pub fn new(
        epoch: usize,
        step: usize,
        raw_w: Vec<f64>,
        loss: Vec<f64>,
        loss_total: f64,
        loss_l3: Option<f64>,
    ) -> Self {
        let sum: f64 = raw_w.iter().sum();
        let w = raw_w.iter().map(|r| r / sum).collect();
        Self {
            epoch,
            step,
            raw_w,
            w,
            loss,
            loss_total,
            loss_l3,
        }
    }

    /// The first non-finite value, as a [`Error::NonFinite`] naming its column (`tasks` name
    /// the per-task ones).
    pub fn check_finite(&self, tasks: &Tasks) -> Result<()> {
        let per_task = [
            (PerTask::RawWeight, &self.raw_w),
            (PerTask::Weight, &self.w),
            (PerTask::Loss, &self.loss),
        ];
        let bad = per_task
            .iter()
            .flat_map(|(q, values)| {
                values
                    .iter()
                    .zip(tasks.iter())
                    .map(move |(v, t)| (Some(*v), column(*q, t)))
            })
            .chain([
                (Some(self.loss_total), STEP_SCALARS[0].to_string()),
                (self.loss_l3, STEP_SCALARS[1].to_string()),
            ])
            .find(|(v, _)| v.is_some_and(|v| !v.is_finite()));
        match bad {
            Some((_, what)) => Err(Error::NonFinite {
                what,
                epoch: self.epoch,
                step: self.step,
            }),
            None => Ok(()),
        }
    }
}

/// Running sums of an epoch's steps, turned into means when it ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMeans {
    steps: usize,
    raw_w: Vec<f64>,
    w: Vec<f64>,
    loss: Vec<f64>,
    loss_total: f64,
    loss_l3: Option<f64>,
}

/// `sum += add`, element by element (an empty sum takes `add`'s length).
fn accumulate(sum: &mut Vec<f64>, add: &[f64]) {
    if sum.is_empty() {
        sum.resize(add.len(), 0.0);
    }
    for (s, a) in sum.iter_mut().zip(add) {
        *s += a;
    }
}

impl EpochMeans {
    /// Add one step.
    pub fn add(&mut self, m: &StepMetrics) {
        self.steps += 1;
        accumulate(&mut self.raw_w, &m.raw_w);
        accumulate(&mut self.w, &m.w);
        accumulate(&mut self.loss, &m.loss);
        self.loss_total += m.loss_total;
        if let Some(v) = m.loss_l3 {
            self.loss_l3 = Some(self.loss_l3.unwrap_or(0.0) + v);
        }
    }

    fn n(&self) -> f64 {
        self.steps.max(1) as f64
    }

    /// Mean task losses over the steps so far (what strategies see at the end of an epoch).
    pub fn mean_losses(&self) -> Vec<f64> {
        self.loss.iter().map(|l| l / self.n()).collect()
    }

    /// The epoch's metrics, with its evaluation on the test split (`test`: one metric per
    /// task), on the validation split where there is one, and the job's elapsed seconds.
    pub fn finish(
        &self,
        epoch: usize,
        test: Vec<f64>,
        val: Option<Vec<f64>>,
        elapsed_s: f64,
    ) -> EpochMetrics {
        let n = self.n();
        let mean = |v: &[f64]| v.iter().map(|x| x / n).collect();
        EpochMetrics {
            epoch,
            raw_w: mean(&self.raw_w),
            w: mean(&self.w),
            loss: mean(&self.loss),
            loss_total: self.loss_total / n,
            loss_l3: self.loss_l3.map(|s| s / n),
            test,
            elapsed_s,
            val,
        }
    }
}

/// One epoch: the means of its steps' [`StepMetrics`] and the evaluation after it. Per-task
/// values are in task order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean weights on the strategy's own scale.
    pub raw_w: Vec<f64>,
    /// Mean normalised weights.
    pub w: Vec<f64>,
    /// Mean task losses.
    pub loss: Vec<f64>,
    /// Mean Σ w_i L_i.
    pub loss_total: f64,
    /// Mean of the strategy's own term.
    pub loss_l3: Option<f64>,
    /// Each task's metric on the test split.
    pub test: Vec<f64>,
    /// Wall seconds since the job started.
    pub elapsed_s: f64,
    /// Each task's metric on the validation split (`None` without one).
    pub val: Option<Vec<f64>>,
}

/// `values` with the names of `tasks`, to three decimals: `fv 0.500 ex 0.500`.
pub fn per_task_text(values: &[f64], tasks: &Tasks) -> String {
    values
        .iter()
        .zip(tasks.iter())
        .map(|(v, t)| format!("{} {v:.3}", t.name))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rows a job logged: its epochs and the steps `log.every_steps` keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Epoch rows, in order.
    pub epochs: Vec<EpochMetrics>,
    /// Step rows, in order.
    pub steps: Vec<StepMetrics>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(k: usize, l3: Option<f64>) -> StepMetrics {
        StepMetrics {
            epoch: 1,
            step: k,
            raw_w: vec![0.2 * k as f64, 1.0],
            w: vec![0.1 * k as f64, 1.0 - 0.1 * k as f64],
            loss: vec![k as f64, 2.0 * k as f64],
            loss_total: 3.0,
            loss_l3: l3,
        }
    }

    #[test]
    fn epoch_means_are_per_column_means() {
        let mut m = EpochMeans::default();
        for k in 1..=4 {
            m.add(&step(k, Some(k as f64)));
        }
        assert_eq!(m.mean_losses(), [2.5, 5.0]);
        let e = m.finish(3, vec![0.9, 0.8], Some(vec![0.7, 0.6]), 1.5);
        assert_eq!(
            (e.epoch, e.test.clone(), e.elapsed_s),
            (3, vec![0.9, 0.8], 1.5)
        );
        assert_eq!(e.val, Some(vec![0.7, 0.6]));
        assert!((e.w[0] - 0.25).abs() < 1e-12 && (e.raw_w[0] - 0.5).abs() < 1e-12);
        assert_eq!(e.loss_total, 3.0);
        assert_eq!(e.loss_l3, Some(2.5));
        let mut none = EpochMeans::default();
        none.add(&step(1, None));
        let e = none.finish(1, vec![0.0, 0.0], None, 0.0);
        assert_eq!((e.loss_l3, e.val), (None, None));
    }

    #[test]
    fn the_first_non_finite_column_is_named_after_its_task() {
        let tasks: Tasks = serde_yaml::from_str("[fv, ex, pose]").unwrap();
        let mut s = StepMetrics::new(1, 2, vec![1.0, 1.0, 2.0], vec![1.0, 1.0, 1.0], 3.0, None);
        assert_eq!(s.w, [0.25, 0.25, 0.5]);
        assert!(s.check_finite(&tasks).is_ok());
        s.loss_l3 = Some(f64::INFINITY);
        assert!(s
            .check_finite(&tasks)
            .is_err_and(|e| e.to_string().contains("loss_l3")));
        s.loss[2] = f64::NAN;
        let e = s.check_finite(&tasks).unwrap_err().to_string();
        assert_eq!(e, "non-finite loss_pose at epoch 1, step 2");
        let t = &tasks[2];
        assert_eq!(
            [
                PerTask::RawWeight,
                PerTask::Weight,
                PerTask::Loss,
                PerTask::Test,
                PerTask::Val
            ]
            .map(|q| column(q, t)),
            [
                "raw_w_pose",
                "w_pose",
                "loss_pose",
                "pose_mae",
                "val_pose_mae"
            ]
        );
    }
}
