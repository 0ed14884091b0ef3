//! [`Strategy`]: how a training step weighs the two task losses, and which parameters each
//! loss term may reach. One file per strategy; the registry ([`StrategySpec`] →
//! [`StrategyPoint`] → `Box<dyn Strategy>`) is the only place that names them all.
//!
//! The training loop asks the strategy for an [`Objective`] (the scalar to backpropagate, the
//! weights it applied, the logged loss terms) and steps Ψ only when [`Strategy::unit_lr`] says
//! so. Gradient routing is expressed in the objective itself with `detach()`: a term that must
//! not reach Θ sees detached losses and detached features, a weight that must not receive the
//! total loss's gradient is detached where it multiplies the losses.

mod l3;
mod static_weights;
mod yin;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::WeightUnit;
pub use l3::{L3Config, L3};
pub use static_weights::{format_w1, StaticWeights, W1Spec};
pub use yin::{Yin, YinConfig};

/// The two task losses of one step, each a `[1]` tensor attached to Θ's graph.
#[derive(Debug, Clone)]
pub struct TaskLosses {
    /// L1: identity cross-entropy + α · center loss.
    pub fv: Tensor<1>,
    /// L2: expression cross-entropy.
    pub ex: Tensor<1>,
}

/// What a strategy sees at one training step.
pub struct StepContext<'a> {
    /// Shared features Z, `[batch, z_dim]`, attached to Θ's graph.
    pub z: Tensor<2>,
    /// The dynamic-weight unit Ψ.
    pub unit: &'a WeightUnit,
    /// The task losses.
    pub losses: TaskLosses,
}

/// What a strategy returns for one step.
#[derive(Debug, Clone)]
pub struct Objective {
    /// The scalar to backpropagate, `[1]`.
    pub loss: Tensor<1>,
    /// The task weights applied to the losses this step, `[2]` (w_fv, w_ex).
    pub weights: Tensor<1>,
    /// Σ w_i L_i, `[1]`, logged as `loss_total`.
    pub total: Tensor<1>,
    /// The strategy's own loss term, logged as `loss_l3` for `l3`.
    pub extra: Option<Tensor<1>>,
}

/// A loss-weighting strategy.
pub trait Strategy: Send {
    /// The strategy's name in logs (`static`, `yin`, `l3`, …).
    fn name(&self) -> &'static str;

    /// The learning rate of Ψ, or `None` when this strategy does not train the weight unit.
    fn unit_lr(&self) -> Option<f64>;

    /// This step's objective.
    fn objective(&mut self, ctx: StepContext<'_>) -> Objective;
}

/// Σ w_i L_i for two tasks with weights `w` (`[2]`).
pub fn weighted_sum(w: Tensor<1>, losses: &TaskLosses) -> Tensor<1> {
    let l = Tensor::cat(vec![losses.fv.clone(), losses.ex.clone()], 0); // [2]
    (w * l).sum()
}

/// One entry of `strategies:` in the experiment YAML; a static grid expands to many points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategySpec {
    /// Fixed weights w1 (face verification) and 1 − w1 (expression).
    Static {
        /// A list of values or a `{from, to, step}` grid.
        w1: W1Spec,
    },
    /// Yin & Liu's total-loss weights.
    Yin(YinConfig),
    /// The paper's L3 dynamic weights.
    L3(L3Config),
}

/// One concrete strategy of one job: what a `run_id` is derived from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyPoint {
    /// Static weights at one w1.
    Static {
        /// The fixed w1.
        w1: f64,
    },
    /// See [`Yin`].
    Yin(YinConfig),
    /// See [`L3`].
    L3(L3Config),
}

impl StrategySpec {
    /// The concrete points this entry stands for (one, or one per w1 of a static grid).
    pub fn points(&self) -> Vec<StrategyPoint> {
        match self {
            StrategySpec::Static { w1 } => w1
                .values()
                .into_iter()
                .map(|w1| StrategyPoint::Static { w1 })
                .collect(),
            StrategySpec::Yin(c) => vec![StrategyPoint::Yin(c.clone())],
            StrategySpec::L3(c) => vec![StrategyPoint::L3(c.clone())],
        }
    }
}

impl StrategyPoint {
    /// The strategy's name in logs.
    pub fn name(&self) -> &'static str {
        match self {
            StrategyPoint::Static { .. } => "static",
            StrategyPoint::Yin(_) => "yin",
            StrategyPoint::L3(_) => "l3",
        }
    }

    /// The fixed w1 of a static point.
    pub fn static_w1(&self) -> Option<f64> {
        match self {
            StrategyPoint::Static { w1 } => Some(*w1),
            _ => None,
        }
    }

    /// Whether the weight unit should scale its logits to unit length.
    pub fn normalize_logits(&self) -> bool {
        match self {
            StrategyPoint::Yin(c) => c.normalize_logits,
            StrategyPoint::L3(c) => c.normalize_logits,
            StrategyPoint::Static { .. } => false,
        }
    }

    /// The strategy this point runs.
    pub fn build(&self) -> Box<dyn Strategy> {
        match self {
            StrategyPoint::Static { w1 } => Box::new(StaticWeights::new(*w1)),
            StrategyPoint::Yin(c) => Box::new(Yin::new(c.clone())),
            StrategyPoint::L3(c) => Box::new(L3::new(c.clone())),
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Fixtures shared by the strategies' tests.
    use super::*;
    use crate::model::WeightUnitConfig;
    use crate::rng::Rng;
    use burn::tensor::TensorData;

    /// An autodiff CPU device.
    pub fn device() -> Device {
        Device::flex().autodiff()
    }

    /// A `[batch, dim]` feature tensor drawn from `seed`.
    pub fn features(batch: usize, dim: usize, seed: u64, device: &Device) -> Tensor<2> {
        let mut rng = Rng::new(seed);
        let v: Vec<f32> = (0..batch * dim).map(|_| rng.normal() as f32).collect();
        Tensor::from_data(TensorData::new(v, vec![batch, dim]), device)
    }

    /// A weight unit with small random parameters, so that per-sample weights differ.
    pub fn unit(dim: usize, seed: u64, device: &Device) -> WeightUnit {
        let u = WeightUnitConfig::default().init(dim, 2, device);
        let u = crate::model::seeded_init(u, seed);
        // seeded_init leaves biases at zero; that is fine, the weights make samples differ.
        u
    }

    /// Constant task losses.
    pub fn losses(fv: f32, ex: f32, device: &Device) -> TaskLosses {
        TaskLosses {
            fv: Tensor::from_data(TensorData::new(vec![fv], vec![1]), device),
            ex: Tensor::from_data(TensorData::new(vec![ex], vec![1]), device),
        }
    }

    /// Run `steps` SGD steps on the unit alone with fixed losses; return w_fv before and after.
    pub fn drive(strategy: &mut dyn Strategy, fv: f32, ex: f32, steps: usize) -> (f32, f32) {
        use burn::optim::{GradientsParams, SgdConfig};
        let device = device();
        let z = features(16, 8, 3, &device);
        let mut unit = unit(8, 5, &device);
        let mut optim = SgdConfig::new().init();
        let w_fv = |u: &WeightUnit| {
            u.forward(z.clone())
                .weights
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()[0]
        };
        let before = w_fv(&unit);
        for _ in 0..steps {
            let obj = strategy.objective(StepContext {
                z: z.clone(),
                unit: &unit,
                losses: losses(fv, ex, &device),
            });
            let grads = GradientsParams::from_grads(obj.loss.backward(), &unit);
            unit = optim.step(strategy.unit_lr().unwrap(), unit, grads);
        }
        (before, w_fv(&unit))
    }
}
