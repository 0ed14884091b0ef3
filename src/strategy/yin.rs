//! `yin`: total-loss dynamic weights (Yin & Liu, "Multi-task CNN for pose-invariant face
//! recognition", IEEE TIP 2018, arXiv 1702.04710), the baseline Ming et al. criticise.
//!
//! The total loss Σ w_i L_i updates every parameter, the weight unit included, and the weights
//! are not detached, so Θ also receives gradient through w. Since ∂L/∂a_j = w_j (L_j − Σ w_i L_i),
//! descent lowers the weight of the task with the larger loss: the hard task gets the smaller
//! weight. As in the authors' baseline, w1 is clipped to [0.01, 0.99] and w2 = 1 − w1.
//!
//! With more tasks the unit's softmax gives one weight per task, as in Yin & Liu's own
//! multi-task network (their side tasks share softmax weights): each weight is clipped to the
//! same bounds and the clipped weights are divided by their sum, so they stay on the simplex.
//! For two tasks and bounds symmetric about ½ that is the rule above; the two-task path
//! computes it as the authors do.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::{
    non_default, weighted_sum, BuildContext, Objective, Settings, SettingsError, StepContext,
    Strategy,
};
use crate::model::WeightUnitConfig;

/// Settings of `yin` (`yin: { lr: 0.1 }` in the YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YinConfig {
    /// Learning rate of the weight unit.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Bounds of w1 (two tasks), of every weight before renormalising (more tasks).
    #[serde(default = "default_clip")]
    pub clip: [f64; 2],
    /// Unit-length logits before the softmax.
    #[serde(default)]
    pub normalize_logits: bool,
    /// Unit-length Z before the weight unit. Left out of the resolved config when off, so that
    /// run ids from before this setting existed stay the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub normalize_z: bool,
}

fn default_lr() -> f64 {
    0.1
}
fn default_clip() -> [f64; 2] {
    [0.01, 0.99]
}

impl Default for YinConfig {
    fn default() -> Self {
        Self {
            lr: default_lr(),
            clip: default_clip(),
            normalize_logits: false,
            normalize_z: false,
        }
    }
}

impl Settings for YinConfig {
    fn name(&self) -> &'static str {
        "yin"
    }

    fn check(&self) -> Result<(), SettingsError> {
        SettingsError::positive(self.lr, "lr")?;
        let [lo, hi] = self.clip;
        SettingsError::ensure(
            (0.0..hi).contains(&lo) && hi <= 1.0,
            "clip",
            format!("needs 0 ≤ low < high ≤ 1 (got [{lo}, {hi}])"),
        )
    }

    fn build(&self, _: &BuildContext) -> Box<dyn Strategy> {
        Box::new(Yin::new(self.clone()))
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

/// Yin-style weighting.
#[derive(Debug, Clone)]
pub struct Yin {
    config: YinConfig,
}

impl Yin {
    /// A Yin strategy with `config`.
    pub fn new(config: YinConfig) -> Self {
        Self { config }
    }
}

impl Strategy for Yin {
    fn unit_lr(&self) -> Option<f64> {
        Some(self.config.lr)
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        let out = ctx.unit.forward(ctx.z);
        let [lo, hi] = self.config.clip;
        let weights = if ctx.losses.len() == 2 {
            let w1 = out.weights.narrow(0, 0, 1).clamp(lo, hi); // [1]
            let w2 = w1.clone().neg().add_scalar(1.0);
            Tensor::cat(vec![w1, w2], 0) // [2]
        } else {
            let clipped = out.weights.clamp(lo, hi); // [T]
            clipped.clone() / clipped.sum()
        };
        let total = weighted_sum(weights.clone(), &ctx.losses);
        Objective {
            loss: total.clone(),
            weights,
            total,
            extra: None,
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
        // w = (0.5, 0.5), L = (3, 1): ∂L/∂a_j = w_j (L_j − Σ w_i L_i) = (0.5, −0.5); after one
        // step at lr 0.1, a_1 − a_2 = −6 · 0.1 · (0.5 + 0.5) = −0.6, so w_fv = σ(−0.6).
        let w = one_step_from_zero(&mut Yin::new(YinConfig::default()), 3.0, 1.0);
        assert!((w - sigmoid(-0.6)).abs() < 1e-6, "{w} vs {}", sigmoid(-0.6));
    }

    #[test]
    fn hard_task_loses_weight() {
        let mut yin = Yin::new(YinConfig::default());
        let (before, after) = drive(&mut yin, 3.0, 1.0, 20);
        assert!(after < before - 0.01, "w_fv {before} -> {after}");
        let (before, after) = drive(&mut yin, 1.0, 3.0, 20);
        assert!(after > before + 0.01, "w_fv {before} -> {after}");
    }

    #[test]
    fn three_tasks_clip_every_weight_and_stay_on_the_simplex() {
        use crate::strategy::testing::{device, losses_of, three};
        use burn::optim::{GradientsParams, SgdConfig};
        let device = device();
        let z = crate::strategy::testing::features(16, 8, 3, &device);
        let mut unit = crate::model::WeightUnitConfig::default().init(8, 3, &device);
        let mut yin = Yin::new(YinConfig {
            lr: 5.0,
            ..YinConfig::default()
        });
        let mut optim = SgdConfig::new().init();
        let mut last = Vec::new();
        for _ in 0..200 {
            let obj = yin.objective(StepContext {
                z: z.clone(),
                unit: &unit,
                losses: losses_of(&[3.0, 1.0, 0.5], &device),
                tasks: &three(),
                shared_gradients: &crate::strategy::testing::no_probe,
            });
            last = crate::strategy::testing::obj_weights(&obj);
            let grads = GradientsParams::from_grads(obj.loss.backward(), &unit);
            unit = optim.step(5.0, unit, grads);
        }
        assert!((last.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{last:?}");
        // The hardest task is pushed to the lower bound, the easiest up.
        assert!(last[0] < 0.02 && last[2] > last[1], "{last:?}");
        assert!(
            last.iter().all(|w| *w >= 0.0099 / (1.0 + 0.0198)),
            "{last:?}"
        );
    }
}
