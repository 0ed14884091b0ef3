//! The convolution the trunks run: on flex, an im2col + GEMM convolution with its own backward
//! pass; elsewhere, burn's.
//!
//! Flex's built-in convolution computes the weight gradient as a convolution whose kernel is the
//! whole output map (a 32×32 "kernel" for the first layer), which made the weight gradient of
//! the first layer cost six times its forward pass. Here the forward pass and the weight
//! gradient are one GEMM per group of images against the group's column matrix (rebuilt in the
//! backward pass rather than kept), and the input gradient is one GEMM into a column matrix that
//! is folded back onto the input. Without autodiff a block's convolution, ReLU and max pooling
//! are one operation ([`forward_relu_pool`]), so its full-size output never leaves the cache.

mod ops;

use weightlab_kernels::conv as kernels;

use burn::backend::Dispatch;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;

pub use kernels::Geometry;
pub use ops::Im2colConv;

use super::pool;

/// `conv.forward(x)` with the same parameters and result, through [`Im2colConv`] on flex.
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    apply(conv, x, false)
}

/// `relu(conv.forward(x))`, with the ReLU applied as the convolution writes its output on flex
/// (one pass over the output instead of two, and no second tensor).
pub fn forward_relu(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    apply(conv, x, true)
}

/// `pool.forward(relu(conv.forward(x)))`: on flex without autodiff (evaluation), each group of
/// images is pooled while its convolution output is in the cache; under autodiff, the two
/// operations of [`forward_relu`] and [`pool::forward`].
pub fn forward_relu_pool(conv: &Conv2d, pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    match im2col_options(conv, &x) {
        Some((options, bias)) if pool::plain(pool) => {
            Tensor::from_dispatch(<Dispatch as Im2colConv>::im2col_conv2d_relu_pool(
                x.into_dispatch(),
                conv.weight.val().into_dispatch(),
                bias.into_dispatch(),
                options,
                pool.kernel_size,
                pool.stride,
            ))
        }
        _ => pool::forward(pool, forward_relu(conv, x)),
    }
}

fn apply(conv: &Conv2d, x: Tensor<4>, relu: bool) -> Tensor<4> {
    match im2col_options(conv, &x) {
        Some((options, bias)) => Tensor::from_dispatch(<Dispatch as Im2colConv>::im2col_conv2d(
            x.into_dispatch(),
            conv.weight.val().into_dispatch(),
            bias.into_dispatch(),
            options,
            relu,
        )),
        None if relu => burn::tensor::activation::relu(conv.forward(x)),
        None => conv.forward(x),
    }
}

/// The layer's options and bias where [`Im2colConv`] runs it (on flex, with a bias and a
/// padding known before the input is seen); `None` where burn's own layer does.
fn im2col_options(conv: &Conv2d, x: &Tensor<4>) -> Option<(ConvOptions<2>, Tensor<1>)> {
    let padding = match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        // "Same" padding depends on the input size; burn's layer works it out.
        PaddingConfig2d::Same => return None,
    };
    let bias = conv.bias.as_ref()?;
    (x.device().inner() == Device::flex()).then(|| {
        let options =
            ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups);
        (options, bias.val())
    })
}
