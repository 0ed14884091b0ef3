//! `dwa`: dynamic weight average of Liu, Johns & Davison, "End-to-End Multi-Task Learning with
//! Attention" (CVPR 2019), as LibMTL defines it: from the third epoch on,
//! w_i(t) = T · softmax_i(r_i / temp) with r_i = L̄_i(t−1) / L̄_i(t−2), the ratio of the task's
//! last two epoch-mean training losses; w_i = 1 before. A task whose loss fell less gets more
//! weight. The weights are constant within an epoch.

use serde::{Deserialize, Serialize};

use super::{
    constant_objective, non_default, BuildContext, Objective, Settings, SettingsError, StepContext,
    Strategy,
};

/// Settings of `dwa` (`dwa: { temp: 2.0 }` in the YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DwaConfig {
    /// Softmax temperature; larger is closer to equal weights.
    #[serde(default = "default_temp")]
    pub temp: f64,
}

fn default_temp() -> f64 {
    2.0
}

impl Default for DwaConfig {
    fn default() -> Self {
        Self {
            temp: default_temp(),
        }
    }
}

impl Settings for DwaConfig {
    fn name(&self) -> &'static str {
        "dwa"
    }

    fn check(&self) -> Result<(), SettingsError> {
        SettingsError::positive(self.temp, "temp")
    }

    fn build(&self, ctx: &BuildContext) -> Box<dyn Strategy> {
        Box::new(Dwa::new(self.temp, ctx.tasks.len()))
    }

    fn detail(&self) -> String {
        non_default(self)
    }
}

/// Dynamic weight average.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dwa {
    temp: f64,
    /// Epoch-mean losses of the last two epochs, oldest first.
    history: Vec<Vec<f64>>,
    weights: Vec<f64>,
}

impl Dwa {
    /// DWA with temperature `temp`.
    pub fn new(temp: f64, tasks: usize) -> Self {
        Self {
            temp,
            history: Vec::new(),
            weights: vec![1.0; tasks],
        }
    }
}

/// T · softmax(r / temp) for r_i = last_i / before_i.
pub fn dwa_weights(before: &[f64], last: &[f64], temp: f64) -> Vec<f64> {
    let n = last.len();
    let e: Vec<f64> = (0..n).map(|i| (last[i] / before[i] / temp).exp()).collect();
    let sum: f64 = e.iter().sum();
    (0..n).map(|i| n as f64 * e[i] / sum).collect()
}

impl Strategy for Dwa {
    fn state(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&mut self, state: &serde_json::Value) -> crate::error::Result<()> {
        let state = Self::deserialize(state)
            .map_err(|e| crate::error::Error::Checkpoint(format!("the strategy's state: {e}")))?;
        super::same_task_count(self.weights.len(), state.weights.len())?;
        *self = state;
        Ok(())
    }

    fn unit_lr(&self) -> Option<f64> {
        None
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        constant_objective(&self.weights, &ctx.losses)
    }

    fn end_epoch(&mut self, mean_losses: &[f64]) {
        self.history.push(mean_losses.to_vec());
        if self.history.len() > 2 {
            self.history.remove(0);
        }
        if let [before, last] = &self.history[..] {
            self.weights = dwa_weights(before, last, self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{no_probe, step, step_n};

    #[test]
    fn equal_for_two_epochs_then_softmax_of_loss_ratios() {
        let mut dwa = Dwa::new(2.0, 2);
        assert_eq!(step(&mut dwa, 2.0, 1.0, &no_probe).1, [1.0, 1.0]);
        dwa.end_epoch(&[2.0, 1.0]);
        assert_eq!(step(&mut dwa, 1.0, 0.9, &no_probe).1, [1.0, 1.0]);
        dwa.end_epoch(&[1.0, 0.9]);
        // r = (0.5, 0.9); r / 2 = (0.25, 0.45); 2 · softmax by hand.
        let (a, b) = (0.25f64.exp(), 0.45f64.exp());
        let expected = [2.0 * a / (a + b), 2.0 * b / (a + b)];
        let w = step(&mut dwa, 1.0, 1.0, &no_probe).1;
        assert!((w[0] - 0.900332).abs() < 1e-6, "{w:?}");
        for i in 0..2 {
            assert!((w[i] - expected[i]).abs() < 1e-6, "{w:?} vs {expected:?}");
        }
        // Epoch 4 uses epochs 2 and 3 only.
        dwa.end_epoch(&[0.5, 0.9]);
        let w = step(&mut dwa, 1.0, 1.0, &no_probe).1;
        let (a, b) = (0.25f64.exp(), 0.5f64.exp());
        assert!((w[0] - 2.0 * a / (a + b)).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn three_tasks_sum_to_three() {
        let mut dwa = Dwa::new(2.0, 3);
        assert_eq!(step_n(&mut dwa, &[1.0, 1.0, 1.0], &no_probe).1, [1.0; 3]);
        dwa.end_epoch(&[2.0, 1.0, 1.0]);
        dwa.end_epoch(&[1.0, 0.9, 1.0]);
        let w = step_n(&mut dwa, &[1.0, 1.0, 1.0], &no_probe).1;
        let e = [0.25f64.exp(), 0.45f64.exp(), 0.5f64.exp()];
        let s: f64 = e.iter().sum();
        for i in 0..3 {
            assert!((w[i] - 3.0 * e[i] / s).abs() < 1e-6, "{w:?}");
        }
    }
}
