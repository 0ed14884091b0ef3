//! [`StepMetrics`] and [`EpochMetrics`]: what the training loop measures, by name. The run
//! folder's rows are built from them in `runlog`; the loop itself writes no file.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::strategy::{Objective, TaskLosses};

/// What one training step measured, read back from the device in one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based global step.
    pub step: usize,
    /// w_fv on the strategy's own scale (e.g. summing to 2 for dwa and gradnorm).
    pub raw_w_fv: f64,
    /// w_ex on the strategy's own scale.
    pub raw_w_ex: f64,
    /// w_fv normalised so that the two weights sum to 1, comparable across strategies.
    pub w_fv: f64,
    /// w_ex normalised like `w_fv`.
    pub w_ex: f64,
    /// L1: identity cross-entropy plus center loss.
    pub loss_fv: f64,
    /// L2: expression cross-entropy.
    pub loss_ex: f64,
    /// Σ w_i L_i with the raw weights.
    pub loss_total: f64,
    /// The strategy's own loss term (L3 for `l3`).
    pub loss_l3: Option<f64>,
}

/// A step's weights and losses still on the device, as one `[5]` tensor (`[6]` with the
/// strategy's own loss term): raw w_fv, raw w_ex, L1, L2, total (, L3).
#[derive(Debug, Clone)]
pub struct StepValues {
    epoch: usize,
    step: usize,
    values: Tensor<1>,
}

impl StepValues {
    /// The logged values of one step's objective and task losses, detached.
    pub fn of(epoch: usize, step: usize, objective: &Objective, task: &TaskLosses) -> Self {
        let mut logged = vec![
            objective.weights.clone().detach(),
            task.fv.clone().detach(),
            task.ex.clone().detach(),
            objective.total.clone().detach(),
        ];
        if let Some(extra) = &objective.extra {
            logged.push(extra.clone().detach());
        }
        Self {
            epoch,
            step,
            values: Tensor::cat(logged, 0),
        }
    }
}

/// Read the values of `steps` back to the host in one transfer (on a GPU, one
/// synchronisation), in order.
pub fn read_back(steps: Vec<StepValues>) -> Result<Vec<StepMetrics>> {
    if steps.is_empty() {
        return Ok(Vec::new());
    }
    let lens: Vec<usize> = steps.iter().map(|s| s.values.dims()[0]).collect();
    let at: Vec<(usize, usize)> = steps.iter().map(|s| (s.epoch, s.step)).collect();
    let mut values: Vec<Tensor<1>> = steps.into_iter().map(|s| s.values).collect();
    let all = if values.len() == 1 {
        values.remove(0)
    } else {
        Tensor::cat(values, 0)
    };
    let v: Vec<f64> = all
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .map_err(|e| Error::Backend(format!("cannot read losses back: {e:?}")))?;
    let mut start = 0;
    Ok(lens
        .iter()
        .zip(at)
        .map(|(&len, (epoch, step))| {
            let m = StepMetrics::from_values(epoch, step, &v[start..start + len]);
            start += len;
            m
        })
        .collect())
}

impl StepMetrics {
    /// A step's metrics from its read-back values (see [`StepValues`]).
    fn from_values(epoch: usize, step: usize, v: &[f64]) -> Self {
        let (raw_w_fv, raw_w_ex) = (v[0], v[1]);
        Self {
            epoch,
            step,
            raw_w_fv,
            raw_w_ex,
            w_fv: raw_w_fv / (raw_w_fv + raw_w_ex),
            w_ex: raw_w_ex / (raw_w_fv + raw_w_ex),
            loss_fv: v[2],
            loss_ex: v[3],
            loss_total: v[4],
            loss_l3: v.get(5).copied(),
        }
    }

    /// The first non-finite value, as a [`Error::NonFinite`] naming its column.
    pub fn check_finite(&self) -> Result<()> {
        let values = [
            ("raw_w_fv", Some(self.raw_w_fv)),
            ("raw_w_ex", Some(self.raw_w_ex)),
            ("w_fv", Some(self.w_fv)),
            ("w_ex", Some(self.w_ex)),
            ("loss_fv", Some(self.loss_fv)),
            ("loss_ex", Some(self.loss_ex)),
            ("loss_total", Some(self.loss_total)),
            ("loss_l3", self.loss_l3),
        ];
        match values
            .iter()
            .find(|(_, v)| v.is_some_and(|v| !v.is_finite()))
        {
            Some((what, _)) => Err(Error::NonFinite {
                what: what.to_string(),
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
    raw_w_fv: f64,
    raw_w_ex: f64,
    w_fv: f64,
    w_ex: f64,
    loss_fv: f64,
    loss_ex: f64,
    loss_total: f64,
    loss_l3: Option<f64>,
}

impl EpochMeans {
    /// Add one step.
    pub fn add(&mut self, m: &StepMetrics) {
        self.steps += 1;
        self.raw_w_fv += m.raw_w_fv;
        self.raw_w_ex += m.raw_w_ex;
        self.w_fv += m.w_fv;
        self.w_ex += m.w_ex;
        self.loss_fv += m.loss_fv;
        self.loss_ex += m.loss_ex;
        self.loss_total += m.loss_total;
        if let Some(l3) = m.loss_l3 {
            self.loss_l3 = Some(self.loss_l3.unwrap_or(0.0) + l3);
        }
    }

    fn n(&self) -> f64 {
        self.steps.max(1) as f64
    }

    /// Mean L1 and L2 over the steps so far (what strategies see at the end of an epoch).
    pub fn mean_losses(&self) -> [f64; 2] {
        [self.loss_fv / self.n(), self.loss_ex / self.n()]
    }

    /// The epoch's metrics, with its evaluation on the test split (`test`: FV, EX accuracy), on
    /// the validation split where there is one, and the job's elapsed seconds.
    pub fn finish(
        &self,
        epoch: usize,
        test: [f64; 2],
        val: Option<[f64; 2]>,
        elapsed_s: f64,
    ) -> EpochMetrics {
        let n = self.n();
        EpochMetrics {
            epoch,
            raw_w_fv: self.raw_w_fv / n,
            raw_w_ex: self.raw_w_ex / n,
            w_fv: self.w_fv / n,
            w_ex: self.w_ex / n,
            loss_fv: self.loss_fv / n,
            loss_ex: self.loss_ex / n,
            loss_total: self.loss_total / n,
            loss_l3: self.loss_l3.map(|s| s / n),
            fv_acc: test[0],
            ex_acc: test[1],
            elapsed_s,
            val_fv_acc: val.map(|v| v[0]),
            val_ex_acc: val.map(|v| v[1]),
        }
    }
}

/// One epoch: the means of its steps' [`StepMetrics`] and the evaluation after it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean raw w_fv.
    pub raw_w_fv: f64,
    /// Mean raw w_ex.
    pub raw_w_ex: f64,
    /// Mean normalised w_fv.
    pub w_fv: f64,
    /// Mean normalised w_ex.
    pub w_ex: f64,
    /// Mean L1.
    pub loss_fv: f64,
    /// Mean L2.
    pub loss_ex: f64,
    /// Mean Σ w_i L_i.
    pub loss_total: f64,
    /// Mean strategy loss term (`l3` only).
    pub loss_l3: Option<f64>,
    /// Face-verification accuracy on the test pairs.
    pub fv_acc: f64,
    /// Expression accuracy on the test images.
    pub ex_acc: f64,
    /// Wall seconds since the job started.
    pub elapsed_s: f64,
    /// Face-verification accuracy on the validation pairs (`None` without a validation split).
    #[serde(default)]
    pub val_fv_acc: Option<f64>,
    /// Expression accuracy on the validation images.
    #[serde(default)]
    pub val_ex_acc: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(k: usize, l3: Option<f64>) -> StepMetrics {
        StepMetrics {
            epoch: 1,
            step: k,
            raw_w_fv: 0.2 * k as f64,
            raw_w_ex: 1.0,
            w_fv: 0.1 * k as f64,
            w_ex: 1.0 - 0.1 * k as f64,
            loss_fv: k as f64,
            loss_ex: 2.0 * k as f64,
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
        let e = m.finish(3, [0.9, 0.8], Some([0.7, 0.6]), 1.5);
        assert_eq!(
            (e.epoch, e.fv_acc, e.ex_acc, e.elapsed_s),
            (3, 0.9, 0.8, 1.5)
        );
        assert_eq!((e.val_fv_acc, e.val_ex_acc), (Some(0.7), Some(0.6)));
        assert!((e.w_fv - 0.25).abs() < 1e-12 && (e.raw_w_fv - 0.5).abs() < 1e-12);
        assert_eq!(e.loss_l3, Some(2.5));
        let mut none = EpochMeans::default();
        none.add(&step(1, None));
        let e = none.finish(1, [0.0, 0.0], None, 0.0);
        assert_eq!((e.loss_l3, e.val_fv_acc), (None, None));
    }

    #[test]
    fn the_first_non_finite_column_is_named() {
        let mut s = step(2, Some(f64::INFINITY));
        assert!(s
            .check_finite()
            .is_err_and(|e| e.to_string().contains("loss_l3")));
        s.loss_ex = f64::NAN;
        let e = s.check_finite().unwrap_err().to_string();
        assert_eq!(e, "non-finite loss_ex at epoch 1, step 2");
        assert!(step(1, None).check_finite().is_ok());
    }
}
