//! `gradnorm`: gradient normalisation of Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm:
//! Gradient Normalization for Adaptive Loss Balancing in Deep Multitask Networks" (ICML 2018).
//!
//! Learnable weights w_i (1 at the start) scale the task losses for Θ (w constant there).
//! On the last shared layer's weights W, G_i = w_i ‖∇_W L_i‖ is pulled towards
//! Ḡ · r_i^α, with Ḡ the mean G_i, r_i = L̃_i / mean(L̃) and L̃_i = L_i(t) / L_i(0): a task that
//! trains slower (higher L̃) is given a larger gradient. The GradNorm loss Σ |G_i − Ḡ r_i^α|
//! (target constant) has ∂/∂w_i = sign(G_i − Ḡ r_i^α) · ‖∇_W L_i‖, so w is stepped from plain
//! numbers (Adam, as LibMTL trains the weights with the model's optimiser), kept ≥ 0.001 so no
//! weight changes sign, and renormalised to sum T after each step.

use serde::{Deserialize, Serialize};

use super::scalar_adam::ScalarAdam;
use super::{
    constant_objective, non_default, BuildContext, Objective, Settings, SettingsError, StepContext,
    Strategy,
};

/// Settings of `gradnorm` (`gradnorm: { alpha: 1.5 }` in the YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradNormConfig {
    /// Asymmetry α: 0 pulls every task to the same gradient norm, larger favours slow tasks.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Learning rate of the weights (Adam); Θ's `train.lr` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
}

fn default_alpha() -> f64 {
    1.5
}

impl Default for GradNormConfig {
    fn default() -> Self {
        Self {
            alpha: default_alpha(),
            lr: None,
        }
    }
}

impl Settings for GradNormConfig {
    fn name(&self) -> &'static str {
        "gradnorm"
    }

    fn check(&self) -> Result<(), SettingsError> {
        SettingsError::ensure(
            self.alpha.is_finite() && self.alpha >= 0.0,
            "alpha",
            format!("must be a number ≥ 0 (got {})", self.alpha),
        )?;
        if let Some(lr) = self.lr {
            SettingsError::positive(lr, "lr")?;
        }
        Ok(())
    }

    fn build(&self, ctx: &BuildContext) -> Box<dyn Strategy> {
        Box::new(GradNorm::new(self, ctx.theta_lr, ctx.tasks.len()))
    }

    fn detail(&self) -> String {
        non_default(self)
    }
}

/// The floor of a weight before renormalisation.
const MIN_WEIGHT: f64 = 1e-3;

/// GradNorm weighting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GradNorm {
    alpha: f64,
    weights: Vec<f64>,
    initial_losses: Option<Vec<f64>>,
    optim: ScalarAdam,
}

impl GradNorm {
    /// GradNorm with `config`; weights are trained at `theta_lr` unless `config.lr` is set.
    pub fn new(config: &GradNormConfig, theta_lr: f64, tasks: usize) -> Self {
        Self {
            alpha: config.alpha,
            weights: vec![1.0; tasks],
            initial_losses: None,
            optim: ScalarAdam::new(tasks, config.lr.unwrap_or(theta_lr)),
        }
    }
}

impl Strategy for GradNorm {
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
        let objective = constant_objective(&self.weights, &ctx.losses);

        let n = self.weights.len();
        let measured = (ctx.shared_gradients)();
        let initial = self
            .initial_losses
            .get_or_insert_with(|| measured.losses.clone())
            .clone();
        let relative: Vec<f64> = (0..n).map(|i| measured.losses[i] / initial[i]).collect();
        let mean_relative = relative.iter().sum::<f64>() / n as f64;
        let g: Vec<f64> = (0..n)
            .map(|i| self.weights[i] * measured.norms[i])
            .collect();
        let mean_g = g.iter().sum::<f64>() / n as f64;
        let grads: Vec<f64> = (0..n)
            .map(|i| {
                let target = mean_g * (relative[i] / mean_relative).powf(self.alpha);
                sign(g[i] - target) * measured.norms[i]
            })
            .collect();
        self.optim.step(&mut self.weights, &grads);
        for w in &mut self.weights {
            *w = w.max(MIN_WEIGHT);
        }
        let sum: f64 = self.weights.iter().sum();
        for w in &mut self.weights {
            *w *= n as f64 / sum;
        }
        objective
    }
}

/// The derivative of |x| (0 at 0).
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{step, step_n};
    use crate::strategy::SharedGradients;

    fn probe(losses: [f64; 2], norms: [f64; 2]) -> impl Fn() -> SharedGradients {
        move || SharedGradients {
            losses: losses.to_vec(),
            norms: norms.to_vec(),
        }
    }

    fn close(a: [f64; 2], b: [f64; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6
    }

    #[test]
    fn weights_follow_hand_computed_updates() {
        let config = GradNormConfig {
            alpha: 1.5,
            lr: Some(0.01),
        };
        let mut gn = GradNorm::new(&config, 0.001, 2);
        // Step 1: L̃ = 1, r = 1; G = (3, 1), Ḡ = 2, target 2: signs (+, −), gradients (3, −1).
        // Adam's first step moves by lr against each sign: w = (0.99, 1.01), sum 2 already.
        let (_, w) = step(&mut gn, 2.0, 1.0, &probe([2.0, 1.0], [3.0, 1.0]));
        assert_eq!(w, [1.0, 1.0]);
        // Step 2: L̃ = (0.5, 0.8), r = (0.769, 1.231); G = (2.97, 1.01), Ḡ = 1.99, targets
        // (1.343, 2.717): signs (+, −) again; Adam's second step with unchanged gradients is lr
        // again: w = (0.98, 1.02).
        let (_, w) = step(&mut gn, 1.0, 0.8, &probe([1.0, 0.8], [3.0, 1.0]));
        assert!(close(w, [0.99, 1.01]), "{w:?}");
        let (_, w) = step(&mut gn, 1.0, 0.8, &probe([1.0, 0.8], [3.0, 1.0]));
        assert!(close(w, [0.98, 1.02]), "{w:?}");
    }

    #[test]
    fn weights_are_renormalised_to_sum_two() {
        let config = GradNormConfig {
            alpha: 1.5,
            lr: Some(0.01),
        };
        let mut gn = GradNorm::new(&config, 0.001, 2);
        // Step 1: G = (0.3, 1.7), target 1: gradients (−0.3, +1.7) → w = (1.01, 0.99).
        step(&mut gn, 1.0, 1.0, &probe([1.0, 1.0], [0.3, 1.7]));
        // Step 2: L̃ = r = (0.5, 1.5); G = (0.303, 1.683), Ḡ = 0.993, targets
        // (0.993 · 0.5^1.5, 0.993 · 1.5^1.5) = (0.351, 1.824): both G below target, gradients
        // (−0.3, −1.7). Adam by hand, then the floor and the renormalisation.
        let (_, w) = step(&mut gn, 0.5, 1.5, &probe([0.5, 1.5], [0.3, 1.7]));
        assert!(close(w, [1.01, 0.99]), "{w:?}");
        let adam2 = |g1: f64, g2: f64| {
            let m = 0.9 * 0.1 * g1 + 0.1 * g2;
            let v = 0.999 * 0.001 * g1 * g1 + 0.001 * g2 * g2;
            0.01 * (m / (1.0 - 0.81)) / ((v / (1.0 - 0.999f64.powi(2))).sqrt() + 1e-8)
        };
        let raw = [1.01 - adam2(-0.3, -0.3), 0.99 - adam2(1.7, -1.7)];
        let s = raw[0] + raw[1];
        let expected = [2.0 * raw[0] / s, 2.0 * raw[1] / s];
        let (_, w) = step(&mut gn, 0.5, 1.5, &probe([0.5, 1.5], [0.3, 1.7]));
        assert!(close(w, expected), "{w:?} vs {expected:?}");
        assert!((w[0] + w[1] - 2.0).abs() < 1e-6);
    }

    #[test]
    fn three_tasks_renormalise_to_sum_three() {
        let config = GradNormConfig {
            alpha: 1.5,
            lr: Some(0.01),
        };
        let mut gn = GradNorm::new(&config, 0.001, 3);
        let probe = || SharedGradients {
            losses: vec![1.0, 1.0, 1.0],
            norms: vec![3.0, 1.0, 2.0],
        };
        // Step 1: G = (3, 1, 2), Ḡ = 2: gradients (+3, −1, 0) → w = (0.99, 1.01, 1.0).
        step_n(&mut gn, &[1.0, 1.0, 1.0], &probe);
        let (_, w) = step_n(&mut gn, &[1.0, 1.0, 1.0], &probe);
        let want = [0.99, 1.01, 1.0];
        for i in 0..3 {
            assert!((w[i] - want[i]).abs() < 1e-6, "{w:?}");
        }
        assert!((w.iter().sum::<f64>() - 3.0).abs() < 1e-9);
    }
}
