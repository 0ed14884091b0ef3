//! The convolution the trunks run: on flex, an im2col + GEMM convolution with its own backward
//! pass; elsewhere, burn's.
//!
//! Flex's built-in convolution computes the weight gradient as a convolution whose kernel is the
//! whole output map (a 32×32 "kernel" for the first layer), which made the weight gradient of
//! the first layer cost six times its forward pass. Here the forward pass and the weight
//! gradient are one GEMM per group of images against the group's column matrix (rebuilt in the
//! backward pass rather than kept), and the input gradient is one GEMM into a column matrix that
//! is folded back onto the input.

mod kernels;
mod ops;

use burn::backend::Dispatch;
use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;

pub use kernels::Geometry;
pub use ops::Im2colConv;

/// `conv.forward(x)` with the same parameters and result, through [`Im2colConv`] on flex.
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    apply(conv, x, false)
}

/// `relu(conv.forward(x))`, with the ReLU applied as the convolution writes its output on flex
/// (one pass over the output instead of two, and no second tensor).
pub fn forward_relu(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    apply(conv, x, true)
}

fn apply(conv: &Conv2d, x: Tensor<4>, relu: bool) -> Tensor<4> {
    let padding = match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => Some([(top, bottom), (left, right)]),
        PaddingConfig2d::Valid => Some([(0, 0), (0, 0)]),
        // "Same" padding depends on the input size; burn's layer works it out.
        PaddingConfig2d::Same => None,
    };
    let on_flex = x.device().inner() == Device::flex();
    match (padding, &conv.bias) {
        (Some(padding), Some(bias)) if on_flex => {
            let options =
                ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups);
            Tensor::from_dispatch(<Dispatch as Im2colConv>::im2col_conv2d(
                x.into_dispatch(),
                conv.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                options,
                relu,
            ))
        }
        _ if relu => burn::tensor::activation::relu(conv.forward(x)),
        _ => conv.forward(x),
    }
}
