//! `equal`: w_i = 1/T for every task, the "EW" baseline of LibMTL (Lin & Zhang, "LibMTL: A
//! Python Library for Multi-Task Learning", JMLR 2023). With two tasks it trains exactly as
//! `static: { w1: 0.5 }`; it is here so that studies can name the baseline they mean.

use serde::{Deserialize, Serialize};

use super::{
    constant_objective, BuildContext, Objective, Settings, SettingsError, StepContext, Strategy,
};

/// Settings of `equal` (none: `equal: {}` in the YAML).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EqualConfig {}

impl Settings for EqualConfig {
    fn name(&self) -> &'static str {
        "equal"
    }

    fn check(&self) -> Result<(), SettingsError> {
        Ok(())
    }

    fn build(&self, _: &BuildContext) -> Box<dyn Strategy> {
        Box::new(EqualWeights)
    }

    fn detail(&self) -> String {
        String::new()
    }
}

/// Equal weights, 1/T each.
#[derive(Debug, Clone, Copy)]
pub struct EqualWeights;

impl Strategy for EqualWeights {
    fn unit_lr(&self) -> Option<f64> {
        None
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        let n = ctx.losses.len();
        constant_objective(&vec![1.0 / n as f64; n], &ctx.losses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{no_probe, step};

    #[test]
    fn weights_are_one_half_and_the_loss_their_mean() {
        let (obj, w) = step(&mut EqualWeights, 3.0, 1.0, &no_probe);
        assert_eq!(w, [0.5, 0.5]);
        let loss = obj.loss.into_scalar::<f32>() as f64;
        assert!((loss - 2.0).abs() < 1e-6, "{loss}");
    }
}
