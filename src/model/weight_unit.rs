//! [`WeightUnit`] (Ψ): the paper's dynamic-weight unit, a linear layer on the shared features
//! followed by a softmax over tasks, averaged over the batch.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

/// Settings of the weight unit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WeightUnitConfig {
    /// Scale each sample's task logits to at most unit length before the softmax (the authors'
    /// variant, which bounds two-task weights to [σ(−√2), σ(√2)] ≈ [0.2, 0.8]).
    pub normalize_logits: bool,
    /// Scale each sample's shared features Z to unit length before the linear layer, so that
    /// the logits' size follows Ψ alone, not the trunk's growing activations.
    pub normalize_z: bool,
}

/// Ψ: `w = mean_batch softmax(ψ·Z + b)`. No ReLU: it would shrink the weights' range.
#[derive(Module, Debug)]
pub struct WeightUnit {
    linear: Linear,
    normalize_logits: bool,
    normalize_z: bool,
}

/// The unit's output for one batch.
#[derive(Debug, Clone)]
pub struct UnitOutput {
    /// Per-sample task probabilities, `[batch, tasks]`.
    pub per_sample: Tensor<2>,
    /// Batch-mean task weights, `[tasks]`; they sum to 1.
    pub weights: Tensor<1>,
}

impl WeightUnitConfig {
    /// A unit over `z_dim` features for `tasks` tasks. All parameters start at zero, so every
    /// dynamic strategy starts from equal weights.
    pub fn init(&self, z_dim: usize, tasks: usize, device: &Device) -> WeightUnit {
        let linear = LinearConfig::new(z_dim, tasks)
            .with_initializer(burn::nn::Initializer::Zeros)
            .init(device);
        WeightUnit {
            linear,
            normalize_logits: self.normalize_logits,
            normalize_z: self.normalize_z,
        }
    }
}

impl WeightUnit {
    /// `[batch, z_dim]` features → [`UnitOutput`].
    pub fn forward(&self, z: Tensor<2>) -> UnitOutput {
        let z = self.prepare(z);
        self.finish(self.linear.forward(z))
    }

    /// Like [`forward`](Self::forward) with Ψ's parameters taken as constants: the output still
    /// depends on `z`, so a loss on it reaches Θ through Z but never Ψ.
    pub fn forward_frozen(&self, z: Tensor<2>) -> UnitOutput {
        let z = self.prepare(z);
        let weight = self.linear.weight.val().detach();
        let bias = self.linear.bias.as_ref().map(|b| b.val().detach());
        self.finish(burn::tensor::module::linear(z, weight, bias))
    }

    fn prepare(&self, z: Tensor<2>) -> Tensor<2> {
        if self.normalize_z {
            crate::model::l2_normalize(z)
        } else {
            z
        }
    }

    fn finish(&self, mut logits: Tensor<2>) -> UnitOutput {
        if self.normalize_logits {
            // Divide by max(‖a‖, 1), clamping the squared norm before the square root: the unit
            // starts at a = 0, where d‖a‖ is infinite, and a plain ‖a‖ would give a NaN
            // gradient there. Logits shorter than 1 already respect the bound.
            let scale = (logits.clone() * logits.clone())
                .sum_dim(1)
                .clamp_min(1.0)
                .sqrt(); // [batch, 1]
            logits = logits / scale;
        }
        let per_sample = softmax(logits, 1);
        let weights = per_sample.clone().mean_dim(0).flatten::<1>(0, 1); // [tasks]
        UnitOutput {
            per_sample,
            weights,
        }
    }
}
