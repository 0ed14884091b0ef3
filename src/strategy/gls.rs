//! `gls`: the geometric loss strategy of Chennupati, Sistu, Yogamani & Rawashdeh, "MultiNet++:
//! Multi-Stream Feature Aggregation and Geometric Loss Strategy for Multi-Task Learning"
//! (CVPR Workshops 2019): Θ minimises (Π_i L_i)^{1/T}. Its gradient is Σ_i w_i ∇L_i with
//! w_i = L / (T L_i), so these are the weights logged: the task with the smaller loss is given
//! the larger weight, and Σ w_i L_i is the geometric mean itself.

use serde::{Deserialize, Serialize};

use super::{
    stacked, BuildContext, Objective, Settings, SettingsError, StepContext, Strategy, TASKS,
};

/// Settings of `gls` (none: `gls: {}` in the YAML).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlsConfig {}

impl Settings for GlsConfig {
    fn name(&self) -> &'static str {
        "gls"
    }

    fn check(&self) -> Result<(), SettingsError> {
        Ok(())
    }

    fn build(&self, _: &BuildContext) -> Box<dyn Strategy> {
        Box::new(Gls)
    }

    fn detail(&self) -> String {
        String::new()
    }
}

/// Geometric loss strategy.
#[derive(Debug, Clone, Copy)]
pub struct Gls;

impl Strategy for Gls {
    fn name(&self) -> &'static str {
        "gls"
    }

    fn unit_lr(&self) -> Option<f64> {
        None
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        let losses = stacked(&ctx.losses); // [2]
        let loss = losses.clone().prod().powf_scalar(1.0 / TASKS as f64); // [1]
        let weights = (loss.clone() / losses.mul_scalar(TASKS as f64)).detach();
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
    use crate::strategy::testing::{device, features, no_probe, step, unit};
    use crate::strategy::TaskLosses;
    use burn::prelude::*;
    use burn::tensor::TensorData;

    #[test]
    fn loss_is_the_geometric_mean_and_weights_its_gradient() {
        let (obj, w) = step(&mut Gls, 4.0, 1.0, &no_probe);
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
        let obj = Gls.objective(StepContext {
            z: features(2, 4, 1, &device),
            unit: &unit(4, 1, &device),
            losses: TaskLosses {
                fv: fv.clone(),
                ex: ex.clone(),
            },
            shared_gradients: &no_probe,
        });
        let grads = obj.loss.backward();
        let g_fv = fv.grad(&grads).unwrap().into_scalar::<f32>();
        let g_ex = ex.grad(&grads).unwrap().into_scalar::<f32>();
        assert!((g_fv - 0.25).abs() < 1e-6 && (g_ex - 1.0).abs() < 1e-6);
    }
}
