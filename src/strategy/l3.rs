//! `l3`: the dynamic weights of Ming et al., "Dynamic Multi-Task Learning for Face Recognition
//! with Facial Expression" (arXiv 1911.03281).
//!
//! Θ is updated by Σ w_i L_i with w detached (the paper's semantics); Ψ alone is updated by
//! L3 = Σ w_i / (L_i + ε) with the losses detached and Z detached, so no L3 gradient reaches Θ.
//! Since ∂L3/∂a_j = w_j (1/L_j − Σ w_i/L_i), descent raises the weight of the task with the
//! larger loss: the hard task gets the larger weight.
//!
//! `flow: official` follows the authors' TensorFlow code instead, which does not stop the
//! total loss's gradient at w: Θ also receives ∂(Σ w_i L_i)/∂w · ∂w/∂Z through the trunk.
//! Ψ is still trained by L3 alone there (the code gives each optimiser its own variables).
//!
//! Both are defined for any number of tasks as written: the unit has one output per task.

use serde::{Deserialize, Serialize};

use super::{
    non_default, weighted_sum, BuildContext, Objective, Settings, SettingsError, StepContext,
    Strategy,
};
use crate::model::WeightUnitConfig;

/// Whether the total loss's gradient may flow through w into Θ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// w is a constant for Θ's update (the paper).
    #[default]
    Paper,
    /// w is not detached for Θ's update (the authors' code).
    Official,
}

impl Flow {
    fn is_paper(&self) -> bool {
        *self == Flow::Paper
    }
}

/// Settings of `l3` (`l3: { lr: 0.1, epsilon: 0.01 }` in the YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L3Config {
    /// Learning rate of the weight unit.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// ε in w_i / (L_i + ε); keeps L3 finite when a loss reaches zero.
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// Unit-length logits before the softmax.
    #[serde(default)]
    pub normalize_logits: bool,
    /// Unit-length Z before the weight unit. Left out of the resolved config when off, so that
    /// run ids from before this setting existed stay the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub normalize_z: bool,
    /// `paper` (w detached for Θ) or `official` (as the authors' code). Left out of the
    /// resolved config when `paper`, for the same reason.
    #[serde(default, skip_serializing_if = "Flow::is_paper")]
    pub flow: Flow,
}

fn default_lr() -> f64 {
    0.1
}
fn default_epsilon() -> f64 {
    0.01
}

impl Default for L3Config {
    fn default() -> Self {
        Self {
            lr: default_lr(),
            epsilon: default_epsilon(),
            normalize_logits: false,
            normalize_z: false,
            flow: Flow::Paper,
        }
    }
}

impl Settings for L3Config {
    fn name(&self) -> &'static str {
        "l3"
    }

    fn check(&self) -> Result<(), SettingsError> {
        SettingsError::positive(self.lr, "lr")?;
        SettingsError::positive(self.epsilon, "epsilon")
    }

    fn build(&self, _: &BuildContext) -> Box<dyn Strategy> {
        Box::new(L3::new(self.clone()))
    }

    fn detail(&self) -> String {
        non_default(self)
    }

    fn unit_config(&self) -> WeightUnitConfig {
        WeightUnitConfig {
            normalize_logits: self.normalize_logits,
            normalize_z: self.normalize_z,
        }
    }
}

/// L3 weighting.
#[derive(Debug, Clone)]
pub struct L3 {
    config: L3Config,
}

impl L3 {
    /// An L3 strategy with `config`.
    pub fn new(config: L3Config) -> Self {
        Self { config }
    }
}

impl Strategy for L3 {
    fn unit_lr(&self) -> Option<f64> {
        Some(self.config.lr)
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        // Z detached: L3 trains Ψ only.
        let weights = ctx.unit.forward(ctx.z.clone().detach()).weights; // [T]
        let total = match self.config.flow {
            // w detached: the total loss trains Θ only.
            Flow::Paper => weighted_sum(weights.clone().detach(), &ctx.losses),
            // w recomputed with Ψ frozen: the same values, differentiable in Z but not in Ψ.
            Flow::Official => weighted_sum(ctx.unit.forward_frozen(ctx.z).weights, &ctx.losses),
        };
        let losses = ctx.losses.detached();
        let l3 = (weights.clone() / losses.add_scalar(self.config.epsilon)).sum(); // [1]
        Objective {
            loss: total.clone() + l3.clone(),
            weights,
            total,
            extra: Some(l3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::drive;

    #[test]
    fn one_step_matches_the_hand_computed_update() {
        use crate::strategy::testing::{one_step_from_zero, sigmoid};
        // w = (0.5, 0.5), L = (3, 1), ε = 0.01: ∂L3/∂a_j = w_j (1/(L_j+ε) − Σ w_i/(L_i+ε));
        // the total loss never reaches Ψ. After one step at lr 0.1,
        // a_1 − a_2 = −6 · 0.1 · (g_1 − g_2).
        let (i1, i2) = (1.0 / 3.01, 1.0 / 1.01);
        let mean = 0.5 * (i1 + i2);
        let (g1, g2) = (0.5 * (i1 - mean), 0.5 * (i2 - mean));
        let expected = sigmoid(-0.6 * (g1 - g2));
        for flow in [Flow::Paper, Flow::Official] {
            let mut l3 = L3::new(L3Config {
                flow,
                ..L3Config::default()
            });
            let w = one_step_from_zero(&mut l3, 3.0, 1.0);
            assert!((w - expected).abs() < 1e-6, "{flow:?}: {w} vs {expected}");
        }
    }

    #[test]
    fn hard_task_gains_weight() {
        let mut l3 = L3::new(L3Config::default());
        let (before, after) = drive(&mut l3, 3.0, 1.0, 20);
        assert!(after > before + 0.01, "w_fv {before} -> {after}");
        let (before, after) = drive(&mut l3, 1.0, 3.0, 20);
        assert!(after < before - 0.01, "w_fv {before} -> {after}");
    }

    #[test]
    fn normalized_logits_keep_weights_inside_the_bound() {
        use crate::model::WeightUnitConfig;
        use crate::strategy::testing::{device, features, losses};
        use burn::optim::{GradientsParams, SgdConfig};
        let device = device();
        // From the zero start (where ‖a‖ has no gradient) with a large step: the weights stay
        // finite and inside [σ(−√2), σ(√2)].
        let mut unit = WeightUnitConfig {
            normalize_logits: true,
            ..WeightUnitConfig::default()
        }
        .init(8, 2, &device);
        let z = features(16, 8, 3, &device).mul_scalar(5.0);
        let mut l3 = L3::new(L3Config {
            lr: 10.0,
            normalize_logits: true,
            ..L3Config::default()
        });
        let mut optim = SgdConfig::new().init();
        let bound = 1.0 / (1.0 + (-(2f64.sqrt())).exp());
        let mut highest = 0f64;
        for step in 0..60 {
            // Swap which task is harder half way, so both vertices are pushed against.
            let (fv, ex) = if step < 30 { (3.0, 1.0) } else { (1.0, 3.0) };
            let obj = l3.objective(StepContext {
                z: z.clone(),
                unit: &unit,
                losses: losses(fv, ex, &device),
                tasks: &crate::strategy::testing::two(),
                shared_gradients: &crate::strategy::testing::no_probe,
            });
            let w = obj.weights.clone().into_data().try_to_vec::<f32>().unwrap();
            for x in &w {
                assert!(x.is_finite(), "step {step}: {w:?}");
                assert!(
                    (*x as f64) <= bound + 1e-6 && (*x as f64) >= 1.0 - bound - 1e-6,
                    "step {step}: {w:?}"
                );
                highest = highest.max(*x as f64);
            }
            let grads = GradientsParams::from_grads(obj.loss.backward(), &unit);
            unit = optim.step(10.0, unit, grads);
        }
        assert!(
            highest > 0.7,
            "the weights never approached the bound: {highest}"
        );
    }

    #[test]
    fn l3_finite_when_a_loss_is_zero() {
        let device = crate::strategy::testing::device();
        let unit = crate::strategy::testing::unit(4, 1, &device);
        let obj = L3::new(L3Config::default()).objective(StepContext {
            z: crate::strategy::testing::features(4, 4, 1, &device),
            unit: &unit,
            losses: crate::strategy::testing::losses(0.0, 0.0, &device),
            tasks: &crate::strategy::testing::two(),
            shared_gradients: &crate::strategy::testing::no_probe,
        });
        let v = obj.extra.unwrap().into_scalar::<f32>();
        assert!(v.is_finite() && (v - 100.0).abs() < 1e-3, "{v}");
    }

    #[test]
    fn three_tasks_the_hardest_gains_weight() {
        use crate::strategy::testing::{device, losses_of, three};
        use burn::optim::{GradientsParams, SgdConfig};
        let device = device();
        let z = crate::strategy::testing::features(16, 8, 3, &device);
        let mut unit = crate::model::WeightUnitConfig::default().init(8, 3, &device);
        let mut l3 = L3::new(L3Config::default());
        let mut optim = SgdConfig::new().init();
        let mut w = Vec::new();
        for _ in 0..50 {
            let obj = l3.objective(StepContext {
                z: z.clone(),
                unit: &unit,
                losses: losses_of(&[3.0, 1.0, 0.5], &device),
                tasks: &three(),
                shared_gradients: &crate::strategy::testing::no_probe,
            });
            w = crate::strategy::testing::obj_weights(&obj);
            let grads = GradientsParams::from_grads(obj.loss.backward(), &unit);
            unit = optim.step(0.1, unit, grads);
        }
        assert!(w[0] > w[1] && w[1] > w[2], "{w:?}");
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    }
}
