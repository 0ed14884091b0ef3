//! `uncertainty`: homoscedastic-uncertainty weights of Kendall, Gal & Cipolla, "Multi-Task
//! Learning Using Uncertainty to Weigh Losses for Scene Geometry and Semantics" (CVPR 2018), in
//! LibMTL's form: L = Σ_i L_i / (2 e^{s_i}) + s_i / 2 with learnable log-variances s_i, −0.5
//! at the start.
//!
//! Θ sees Σ w_i L_i with w_i = 1 / (2 e^{s_i}); s is trained by the same objective, whose
//! gradient ∂L/∂s_i = 1/2 − w_i L_i is closed-form, so s is stepped from the step's loss values
//! (Adam, as LibMTL trains s with the model's optimiser). Each s_i tends to ln L_i, where the
//! task's weight becomes 1 / (2 L_i): the task with the larger loss gets the smaller weight.

use serde::{Deserialize, Serialize};

use super::scalar_adam::ScalarAdam;
use super::{
    constant_weights, non_default, weighted_sum, BuildContext, Objective, Settings, SettingsError,
    StepContext, Strategy,
};

/// Settings of `uncertainty` (`uncertainty: { init: -0.5 }` in the YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UncertaintyConfig {
    /// Learning rate of s (Adam); Θ's `train.lr` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Initial value of every s_i.
    #[serde(default = "default_init")]
    pub init: f64,
}

fn default_init() -> f64 {
    -0.5
}

impl Default for UncertaintyConfig {
    fn default() -> Self {
        Self {
            lr: None,
            init: default_init(),
        }
    }
}

impl Settings for UncertaintyConfig {
    fn name(&self) -> &'static str {
        "uncertainty"
    }

    fn check(&self) -> Result<(), SettingsError> {
        if let Some(lr) = self.lr {
            SettingsError::positive(lr, "lr")?;
        }
        SettingsError::ensure(
            self.init.is_finite(),
            "init",
            format!("must be a finite number (got {})", self.init),
        )
    }

    fn build(&self, ctx: &BuildContext) -> Box<dyn Strategy> {
        Box::new(Uncertainty::new(self, ctx.theta_lr, ctx.tasks.len()))
    }

    fn detail(&self) -> String {
        non_default(self)
    }
}

/// Uncertainty weighting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Uncertainty {
    log_var: Vec<f64>,
    optim: ScalarAdam,
}

impl Uncertainty {
    /// Uncertainty weighting with `config`; s is trained at `theta_lr` unless `config.lr` is set.
    pub fn new(config: &UncertaintyConfig, theta_lr: f64, tasks: usize) -> Self {
        Self {
            log_var: vec![config.init; tasks],
            optim: ScalarAdam::new(tasks, config.lr.unwrap_or(theta_lr)),
        }
    }

    fn weights(&self) -> Vec<f64> {
        self.log_var.iter().map(|s| 0.5 * (-s).exp()).collect()
    }
}

impl Strategy for Uncertainty {
    fn state(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&mut self, state: &serde_json::Value) -> crate::error::Result<()> {
        let state = Self::deserialize(state)
            .map_err(|e| crate::error::Error::Checkpoint(format!("the strategy's state: {e}")))?;
        super::same_task_count(self.log_var.len(), state.log_var.len())?;
        *self = state;
        Ok(())
    }

    fn unit_lr(&self) -> Option<f64> {
        None
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        let weights = constant_weights(&self.weights(), &ctx.losses.device());
        let total = weighted_sum(weights.clone(), &ctx.losses);
        // The s_i / 2 term is constant for Θ; it is added so that `loss` is Kendall's objective.
        let regulariser: f64 = self.log_var.iter().sum::<f64>() / 2.0;
        Objective {
            loss: total.clone().add_scalar(regulariser),
            weights,
            total,
            extra: None,
        }
    }

    fn needs_step_losses(&self) -> bool {
        true
    }

    fn after_step(&mut self, losses: &[f64]) {
        let w = self.weights();
        let grads: Vec<f64> = (0..w.len()).map(|i| 0.5 - w[i] * losses[i]).collect();
        self.optim.step(&mut self.log_var, &grads);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{no_probe, step, step_n};

    #[test]
    fn first_steps_match_hand_values() {
        let mut u = Uncertainty::new(&UncertaintyConfig::default(), 0.01, 2);
        let (obj, w) = step(&mut u, 3.0, 1.0, &no_probe);
        // s = −0.5: w = e^{0.5} / 2 for both; L = Σ w L_i + Σ s_i / 2.
        let w0 = 0.5f64.exp() / 2.0;
        assert!(
            (w[0] - w0).abs() < 1e-6 && (w[1] - w0).abs() < 1e-6,
            "{w:?}"
        );
        let loss = obj.loss.into_scalar::<f32>() as f64;
        assert!((loss - (w0 * 4.0 - 0.5)).abs() < 1e-5, "{loss}");
        // ∂L/∂s = 1/2 − w L_i is negative for both tasks (w L = 2.47, 0.82): Adam's first step
        // moves each s by +lr, so s = −0.49 and w = e^{0.49} / 2.
        let (_, w) = step(&mut u, 3.0, 1.0, &no_probe);
        let w1 = 0.49f64.exp() / 2.0;
        assert!(
            (w[0] - w1).abs() < 1e-6 && (w[1] - w1).abs() < 1e-6,
            "{w:?}"
        );
    }

    #[test]
    fn weights_settle_at_one_over_twice_the_loss() {
        let mut u = Uncertainty::new(
            &UncertaintyConfig {
                lr: Some(0.05),
                init: -0.5,
            },
            0.001,
            2,
        );
        for _ in 0..3000 {
            step(&mut u, 3.0, 1.0, &no_probe);
        }
        let (_, w) = step(&mut u, 3.0, 1.0, &no_probe);
        assert!((w[0] - 1.0 / 6.0).abs() < 1e-3, "{w:?}");
        assert!((w[1] - 0.5).abs() < 1e-3, "{w:?}");
    }

    #[test]
    fn three_tasks_each_settle_at_one_over_twice_their_loss() {
        let config = UncertaintyConfig {
            lr: Some(0.05),
            init: -0.5,
        };
        let mut u = Uncertainty::new(&config, 0.001, 3);
        for _ in 0..3000 {
            step_n(&mut u, &[3.0, 1.0, 0.5], &no_probe);
        }
        let (_, w) = step_n(&mut u, &[3.0, 1.0, 0.5], &no_probe);
        for (w, l) in w.iter().zip([3.0, 1.0, 0.5]) {
            assert!((w - 1.0 / (2.0 * l)).abs() < 1e-3, "{w} for loss {l}");
        }
        // A checkpoint of another task count does not fit.
        let two = Uncertainty::new(&config, 0.001, 2).state();
        assert!(u.restore(&two).is_err());
    }
}
