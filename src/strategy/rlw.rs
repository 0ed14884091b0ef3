//! `rlw`: random loss weighting of Lin, Ye, Xu, Shi & Zhang, "Reasonable Effectiveness of
//! Random Weighting: A Litmus Test for Multi-Task Learning" (TMLR 2022): every step draws
//! z ~ N(0, I) and weighs the losses with softmax(z). The draws come from the job's seed, so a
//! rerun draws the same weights.

use serde::{Deserialize, Serialize};

use super::{
    constant_objective, BuildContext, Objective, Settings, SettingsError, StepContext, Strategy,
};
use crate::rng::Rng;

/// Settings of `rlw` (none: `rlw: {}` in the YAML).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlwConfig {}

impl Settings for RlwConfig {
    fn name(&self) -> &'static str {
        "rlw"
    }

    fn check(&self) -> Result<(), SettingsError> {
        Ok(())
    }

    fn build(&self, ctx: &BuildContext) -> Box<dyn Strategy> {
        Box::new(Rlw::new(ctx.seed))
    }

    fn detail(&self) -> String {
        String::new()
    }
}

/// The random stream of RLW's draws, apart from the job's other uses of its seed.
const RLW_STREAM: u64 = 0x524C57;

/// Random loss weighting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rlw {
    rng: Rng,
}

impl Rlw {
    /// RLW drawing from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::derive(seed, RLW_STREAM),
        }
    }
}

/// softmax of `z`.
fn softmax(z: &[f64]) -> Vec<f64> {
    let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|x| (x - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|x| x / sum).collect()
}

impl Strategy for Rlw {
    fn state(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&mut self, state: &serde_json::Value) -> crate::error::Result<()> {
        *self = Self::deserialize(state)
            .map_err(|e| crate::error::Error::Checkpoint(format!("the strategy's state: {e}")))?;
        Ok(())
    }

    fn unit_lr(&self) -> Option<f64> {
        None
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        let z: Vec<f64> = (0..ctx.losses.len()).map(|_| self.rng.normal()).collect();
        constant_objective(&softmax(&z), &ctx.losses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{no_probe, step, step_n};

    #[test]
    fn each_step_is_the_softmax_of_the_seeded_normal_draws() {
        let mut rlw = Rlw::new(7);
        let mut rng = Rng::derive(7, RLW_STREAM);
        let mut seen = Vec::new();
        for _ in 0..5 {
            let (a, b) = (rng.normal(), rng.normal());
            let expected = 1.0 / (1.0 + (b - a).exp());
            let w = step(&mut rlw, 1.0, 1.0, &no_probe).1;
            assert!((w[0] - expected).abs() < 1e-6, "{w:?} vs {expected}");
            assert!((w[0] + w[1] - 1.0).abs() < 1e-6);
            seen.push(w[0]);
        }
        // The draws differ from step to step and from seed to seed.
        assert!(seen.windows(2).all(|p| p[0] != p[1]), "{seen:?}");
        let other = step(&mut Rlw::new(8), 1.0, 1.0, &no_probe).1;
        assert_ne!(other[0], seen[0]);
    }

    #[test]
    fn three_tasks_draw_three_normals_a_step() {
        let mut rlw = Rlw::new(7);
        let mut rng = Rng::derive(7, RLW_STREAM);
        let z: Vec<f64> = (0..3).map(|_| rng.normal()).collect();
        let e: Vec<f64> = z.iter().map(|x| x.exp()).collect();
        let s: f64 = e.iter().sum();
        let w = step_n(&mut rlw, &[1.0, 1.0, 1.0], &no_probe).1;
        for i in 0..3 {
            assert!((w[i] - e[i] / s).abs() < 1e-6, "{w:?}");
        }
    }
}
