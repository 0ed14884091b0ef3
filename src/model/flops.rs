//! Arithmetic cost of the network, from its layers' shapes: what `make bench` divides its
//! timings by to report GFLOP/s and the fraction of the CPU's peak.
//!
//! Only the convolutions and dense layers count (multiply–adds, two FLOPs each); pooling,
//! activations, losses and optimiser updates are left out, as is usual for FLOP counts.

use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};

/// One convolution or dense layer applied to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerCost {
    /// Multiply–adds of the forward pass.
    pub macs: u64,
    /// Whether the training step computes the gradient of the layer's input (not for the
    /// first layer, whose input is the image).
    pub input_grad: bool,
}

/// The costs of a network's layers for one image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Costs(pub Vec<LayerCost>);

impl Costs {
    /// FLOPs of the forward pass (evaluation).
    pub fn forward_flops(&self) -> u64 {
        self.0.iter().map(|l| 2 * l.macs).sum()
    }

    /// FLOPs of a training step: the forward pass, the weight gradient (as many as the
    /// forward) and the input gradient where it is needed.
    pub fn training_flops(&self) -> u64 {
        self.0
            .iter()
            .map(|l| 2 * l.macs * (2 + u64::from(l.input_grad)))
            .sum()
    }

    /// Appends a convolution over an `input`-sized map; returns its output size.
    pub(crate) fn conv(&mut self, conv: &Conv2d, input: [usize; 2]) -> [usize; 2] {
        let [c_out, c_in, kh, kw] = conv.weight.dims();
        let kernel = [kh, kw];
        let pad = match conv.padding {
            PaddingConfig2d::Explicit(top, left, bottom, right) => [top + bottom, left + right],
            // "Same" keeps the size at stride 1.
            PaddingConfig2d::Same => [kh - 1, kw - 1],
            PaddingConfig2d::Valid => [0, 0],
        };
        let out: [usize; 2] = std::array::from_fn(|d| {
            let span = conv.dilation[d] * (kernel[d] - 1) + 1;
            (input[d] + pad[d] - span) / conv.stride[d] + 1
        });
        let macs = (c_out * c_in / conv.groups * kh * kw * out[0] * out[1]) as u64;
        self.push(macs);
        out
    }

    /// Appends a dense layer.
    pub(crate) fn linear(&mut self, linear: &Linear) {
        let [d_in, d_out] = linear.weight.dims();
        self.push((d_in * d_out) as u64);
    }

    fn push(&mut self, macs: u64) {
        let input_grad = !self.0.is_empty();
        self.0.push(LayerCost { macs, input_grad });
    }
}
