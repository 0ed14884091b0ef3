//! A step's logged values on the device ([`StepValues`]) and their transfer to the host as
//! [`StepMetrics`] ([`read_back`]). The metric types themselves are declared in
//! [`crate::metrics`]; the loop writes no file.

use burn::prelude::*;

use crate::error::{Error, Result};
use crate::metrics::StepMetrics;
use crate::strategy::{Objective, TaskLosses};

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
            let m = from_values(epoch, step, &v[start..start + len]);
            start += len;
            m
        })
        .collect())
}

/// A step's metrics from its read-back values, in the layout of [`StepValues`].
fn from_values(epoch: usize, step: usize, v: &[f64]) -> StepMetrics {
    let (raw_w_fv, raw_w_ex) = (v[0], v[1]);
    StepMetrics {
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
