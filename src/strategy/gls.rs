//! `gls`: the geometric loss strategy of Chennupati, Sistu, Yogamani & Rawashdeh, "MultiNet++:
//! Multi-Stream Feature Aggregation and Geometric Loss Strategy for Multi-Task Learning"
//! (CVPR Workshops 2019): Θ minimises (Π_i (L_i + ε))^{1/T}. Its gradient is Σ_i w_i ∇L_i with
//! w_i = L / (T (L_i + ε)), so these are the weights logged: the task with the smaller loss is
//! given the larger weight.
//!
//! ε is weightlab's: LibMTL has none, and a task whose loss reaches exactly 0 in f32 (a
//! confident expression classifier does) makes the gradient 0/0. Measured: without it, all three
//! gls jobs of `experiments/strategies.yaml` failed with a NaN weight at epoch 9.

use serde::{Deserialize, Serialize};

use super::{non_default, BuildContext, Objective, Settings, SettingsError, StepContext, Strategy};

/// Settings of `gls` (`gls: { epsilon: 1.0e-8 }` in the YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlsConfig {
    /// Added to every loss, so that a loss of 0 leaves the gradient finite.
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
}

fn default_epsilon() -> f64 {
    1e-8
}

impl Default for GlsConfig {
    fn default() -> Self {
        Self {
            epsilon: default_epsilon(),
        }
    }
}

impl Settings for GlsConfig {
    fn name(&self) -> &'static str {
        "gls"
    }

    fn check(&self) -> Result<(), SettingsError> {
        SettingsError::positive(self.epsilon, "epsilon")
    }

    fn build(&self, _: &BuildContext) -> Box<dyn Strategy> {
        Box::new(Gls {
            epsilon: self.epsilon,
        })
    }

    fn detail(&self) -> String {
        non_default(self)
    }
}

/// Geometric loss strategy.
#[derive(Debug, Clone, Copy)]
pub struct Gls {
    epsilon: f64,
}

impl Strategy for Gls {
    fn unit_lr(&self) -> Option<f64> {
        None
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        let n = ctx.losses.len() as f64;
        let losses = ctx.losses.stacked().add_scalar(self.epsilon); // [T]
        let loss = losses.clone().prod().powf_scalar(1.0 / n); // [1]
        let weights = (loss.clone() / losses.mul_scalar(n)).detach();
        Objective {
            loss: loss.clone(),
            weights,
            total: loss,
            extra: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{device, features, no_probe, step, step_n, unit};
    use crate::strategy::TaskLosses;
    use burn::prelude::*;
    use burn::tensor::TensorData;

    fn gls() -> Gls {
        Gls { epsilon: 1e-8 }
    }

    #[test]
    fn loss_is_the_geometric_mean_and_weights_its_gradient() {
        let (obj, w) = step(&mut gls(), 4.0, 1.0, &no_probe);
        // √(4 · 1) = 2; w = 2 / (2 · 4), 2 / (2 · 1).
        assert!((obj.loss.into_scalar::<f32>() - 2.0).abs() < 1e-6);
        assert!(
            (w[0] - 0.25).abs() < 1e-6 && (w[1] - 1.0).abs() < 1e-6,
            "{w:?}"
        );

        // The logged weights are ∂L/∂L_i, checked by autodiff on loss leaves.
        let device = device();
        let leaf = |v: f32| {
            Tensor::<1>::from_data(TensorData::new(vec![v], vec![1]), &device).require_grad()
        };
        let (fv, ex) = (leaf(4.0), leaf(1.0));
        let obj = gls().objective(StepContext {
            z: features(2, 4, 1, &device),
            unit: &unit(4, 1, &device),
            losses: TaskLosses(vec![fv.clone(), ex.clone()]),
            tasks: &crate::strategy::testing::two(),
            shared_gradients: &no_probe,
        });
        let grads = obj.loss.backward();
        let g_fv = fv.grad(&grads).unwrap().into_scalar::<f32>();
        let g_ex = ex.grad(&grads).unwrap().into_scalar::<f32>();
        assert!((g_fv - 0.25).abs() < 1e-6 && (g_ex - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_zero_loss_leaves_weights_and_gradient_finite() {
        let (obj, w) = step(&mut gls(), 0.5, 0.0, &no_probe);
        assert!(w.iter().all(|x| x.is_finite()), "{w:?}");
        // The zero-loss task is given (almost) all of the weight.
        assert!(w[1] > 1000.0 * w[0], "{w:?}");
        assert!(obj.loss.into_scalar::<f32>().is_finite());
    }

    #[test]
    fn three_tasks_take_the_cube_root() {
        let (obj, w) = step_n(&mut gls(), &[8.0, 1.0, 1.0], &no_probe);
        // ∛8 = 2; w_i = 2 / (3 L_i).
        assert!((obj.loss.into_scalar::<f32>() - 2.0).abs() < 1e-5);
        let want = [2.0 / 24.0, 2.0 / 3.0, 2.0 / 3.0];
        for i in 0..3 {
            assert!((w[i] - want[i]).abs() < 1e-6, "{w:?}");
        }
    }
}
