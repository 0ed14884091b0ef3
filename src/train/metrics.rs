//! A step's logged values on the device ([`StepValues`]) and their transfer to the host as
//! [`StepMetrics`] ([`read_back`]). The metric types themselves are declared in
//! [`crate::metrics`]; the loop writes no file.

use burn::prelude::*;

use crate::error::{Error, Result};
use crate::metrics::StepMetrics;
use crate::strategy::{Objective, TaskLosses};

/// A step's weights and losses still on the device, as one `[2T + 1]` tensor (`[2T + 2]` with
/// the strategy's own loss term): the T raw weights, the T losses, the total (, L3).
#[derive(Debug, Clone)]
pub struct StepValues {
    epoch: usize,
    step: usize,
    tasks: usize,
    values: Tensor<1>,
}

impl StepValues {
    /// The logged values of one step's objective and task losses, detached.
    pub fn of(epoch: usize, step: usize, objective: &Objective, task: &TaskLosses) -> Self {
        let mut logged = vec![objective.weights.clone().detach()];
        logged.extend(task.0.iter().map(|l| l.clone().detach()));
        logged.push(objective.total.clone().detach());
        if let Some(extra) = &objective.extra {
            logged.push(extra.clone().detach());
        }
        Self {
            epoch,
            step,
            tasks: task.len(),
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
    let at: Vec<(usize, usize, usize)> = steps.iter().map(|s| (s.epoch, s.step, s.tasks)).collect();
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
        .map(|(&len, (epoch, step, tasks))| {
            let m = from_values(epoch, step, tasks, &v[start..start + len]);
            start += len;
            m
        })
        .collect())
}

/// A step's metrics from its read-back values, in the layout of [`StepValues`].
fn from_values(epoch: usize, step: usize, tasks: usize, v: &[f64]) -> StepMetrics {
    StepMetrics::new(
        epoch,
        step,
        v[..tasks].to_vec(),
        v[tasks..2 * tasks].to_vec(),
        v[2 * tasks],
        v.get(2 * tasks + 1).copied(),
    )
}
