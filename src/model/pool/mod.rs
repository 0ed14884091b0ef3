//! The max pooling the trunks run: on flex, plain window loops with a backward pass that
//! finds each window's maximum again; elsewhere, burn's.
//!
//! Flex's pooling tracks an index tensor with a division per element and scatters the gradient
//! through it one scalar at a time, which in the `small` trunk's training step costs as much as
//! a convolution layer.

mod ops;

use weightlab_kernels::pool as kernels;

use burn::backend::Dispatch;
use burn::nn::pool::MaxPool2d;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;

pub use kernels::{plane_max, Window};
pub use ops::WindowMaxPool;

/// `pool.forward(x)` with the same result, through [`WindowMaxPool`] on flex when the layer
/// has no padding, dilation 1 and floor mode.
pub fn forward(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    if plain(pool) && x.device().inner() == Device::flex() {
        Tensor::from_dispatch(<Dispatch as WindowMaxPool>::window_max_pool2d(
            x.into_dispatch(),
            pool.kernel_size,
            pool.stride,
        ))
    } else {
        pool.forward(x)
    }
}

/// Whether the layer is one [`WindowMaxPool`] runs: no padding, dilation 1, floor mode.
pub fn plain(pool: &MaxPool2d) -> bool {
    matches!(
        pool.padding,
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
    ) && pool.dilation == [1, 1]
        && !pool.ceil_mode
}
